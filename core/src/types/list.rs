//! List storage in the spirit of Redis's quicklist: a `VecDeque` of chunks, each chunk one
//! packed byte buffer of elements, so that small elements cost a few bytes of overhead and
//! both ends push and pop in amortised O(1).
//!
//! An element is stored as `len` (LEB128 varint), its bytes, then `len` again as a varint
//! written backwards (as listpack's `backlen`), so a chunk can be walked from either end. A
//! chunk's live bytes are `buf[head..tail]`; the free space on both sides of them lets
//! pushes at either end go in place. A chunk is bounded as Redis bounds a quicklist node
//! (`list-max-listpack-size`, the list's *fill*, fixed when the list is created): a negative
//! fill -1..-5 caps a chunk at 4/8/16/32/64 KiB, a positive one at that many elements (and
//! 8 KiB, Redis's `SIZE_SAFETY_LIMIT`); an element larger than the cap gets a chunk of its
//! own. A chunk never stays empty, so a list of n elements has at most n chunks and a walk
//! to an index costs O(chunks) plus one chunk.
//!
//! Redis 7.0 keeps every list in a quicklist, so OBJECT ENCODING always answers
//! `quicklist`. Compression of inner nodes (`list-compress-depth`) is not done.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// The default fill (`list-max-listpack-size -2`: chunks of at most 8 KiB).
pub const DEFAULT_FILL: i32 = -2;

/// Redis's `SIZE_SAFETY_LIMIT`: the byte cap of a chunk under a positive (count) fill.
pub const SIZE_SAFETY_LIMIT: usize = 8192;

/// Redis's `FILL_MAX`: the largest element count a positive fill asks for.
const FILL_MAX: usize = 1 << 15;

/// The first allocation of a chunk's buffer (it then grows by half up to the chunk's cap).
const MIN_CHUNK_BYTES: usize = 16;

/// A chunk whose buffer holds more than this many bytes shrinks when less than a quarter of
/// it is live.
const SHRINK_ABOVE_BYTES: usize = 64;

/// The bounds of one chunk, from a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fill {
    /// Most encoded bytes of a chunk holding more than one element.
    bytes: usize,
    /// Most elements of a chunk.
    count: usize,
}

impl Fill {
    fn new(fill: i32) -> Fill {
        if fill < 0 {
            let level = fill.unsigned_abs().min(5);
            Fill {
                bytes: 4096 << (level - 1),
                count: usize::MAX,
            }
        } else {
            Fill {
                bytes: SIZE_SAFETY_LIMIT,
                count: (fill as usize).clamp(1, FILL_MAX),
            }
        }
    }
}

/// Bytes of `n` as a LEB128 varint.
fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    n >>= 7;
    while n > 0 {
        k += 1;
        n >>= 7;
    }
    k
}

/// Bytes an element takes in a chunk.
fn encoded_len(e: &[u8]) -> usize {
    e.len() + 2 * varint_len(e.len())
}

/// Writes `e` encoded into `dst` (exactly [`encoded_len`] bytes).
fn write_element(dst: &mut [u8], e: &[u8]) {
    let k = varint_len(e.len());
    let mut v = [0u8; 10];
    let mut n = e.len();
    for slot in v.iter_mut().take(k) {
        *slot = (n & 0x7f) as u8 | if n >= 0x80 { 0x80 } else { 0 };
        n >>= 7;
    }
    let (prefix, rest) = dst.split_at_mut(k.min(dst.len()));
    prefix.copy_from_slice(v.get(..prefix.len()).unwrap_or_default());
    let (body, suffix) = rest.split_at_mut(e.len().min(rest.len()));
    body.copy_from_slice(e.get(..body.len()).unwrap_or_default());
    for (d, s) in suffix.iter_mut().rev().zip(v.iter()) {
        *d = *s;
    }
}

/// One chunk: elements packed in `buf[head..tail]`.
#[derive(Clone, Debug)]
struct Chunk {
    buf: Box<[u8]>,
    head: usize,
    tail: usize,
    count: usize,
}

impl Chunk {
    /// An empty chunk of `cap` bytes whose free space is at its back (or front).
    fn new(cap: usize, space_at_front: bool) -> Chunk {
        let at = if space_at_front { cap } else { 0 };
        Chunk {
            buf: alloc::vec![0u8; cap].into_boxed_slice(),
            head: at,
            tail: at,
            count: 0,
        }
    }

    fn used(&self) -> usize {
        self.tail - self.head
    }

    fn cap(&self) -> usize {
        self.buf.len()
    }

    /// The element starting at `at`, and where the next one starts.
    fn read_fwd(&self, at: usize) -> Option<(&[u8], usize)> {
        let mut len = 0usize;
        let mut i = at;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(i)?;
            i += 1;
            len |= usize::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift >= usize::BITS {
                return None;
            }
        }
        let k = i - at;
        let e = self.buf.get(i..i.checked_add(len)?)?;
        Some((e, i + len + k))
    }

    /// The element ending at `end`, and where it starts.
    fn read_back(&self, end: usize) -> Option<(&[u8], usize)> {
        let mut len = 0usize;
        let mut i = end;
        let mut shift = 0u32;
        loop {
            i = i.checked_sub(1)?;
            let b = *self.buf.get(i)?;
            len |= usize::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift >= usize::BITS {
                return None;
            }
        }
        let k = end - i;
        let start = i.checked_sub(len)?;
        let e = self.buf.get(start..i)?;
        Some((e, start.checked_sub(k)?))
    }

    /// Whether the fill lets `n` more encoded bytes in.
    fn allows(&self, n: usize, fill: Fill) -> bool {
        self.count < fill.count && self.used() + n <= fill.bytes
    }

    /// Whether `n` bytes can go at the back without an expensive move: there is room, the
    /// buffer may still grow, or the live bytes are few enough to move cheaply.
    fn cheap_back(&self, n: usize, fill: Fill) -> bool {
        self.tail + n <= self.cap() || self.cap() < fill.bytes || self.used() + n <= self.cap() / 2
    }

    fn cheap_front(&self, n: usize, fill: Fill) -> bool {
        self.head >= n || self.cap() < fill.bytes || self.used() + n <= self.cap() / 2
    }

    /// Moves the live bytes into a buffer of `cap` bytes (or within this one), leaving
    /// `front` free bytes before them.
    fn relocate(&mut self, cap: usize, front: usize) {
        let used = self.used();
        if cap == self.cap() {
            self.buf.copy_within(self.head..self.tail, front);
        } else {
            let mut buf = alloc::vec![0u8; cap].into_boxed_slice();
            if let (Some(d), Some(s)) = (
                buf.get_mut(front..front + used),
                self.buf.get(self.head..self.tail),
            ) {
                d.copy_from_slice(s);
            }
            self.buf = buf;
        }
        self.head = front;
        self.tail = front + used;
    }

    /// The capacity to grow to for `n` more bytes, bounded by the fill's cap unless one
    /// element alone is larger.
    fn grown_cap(&self, n: usize, fill: Fill) -> usize {
        let need = self.used() + n;
        if need <= self.cap() / 2 {
            return self.cap();
        }
        // 1.5x: geometric (amortised O(1) per byte) with less slack than doubling.
        let grown = self.cap().saturating_add(self.cap() / 2);
        need.max(grown.min(fill.bytes)).max(MIN_CHUNK_BYTES)
    }

    fn push_back(&mut self, e: &[u8], n: usize, fill: Fill) {
        if self.tail + n > self.cap() {
            let cap = self.grown_cap(n, fill);
            self.relocate(cap, 0);
        }
        if let Some(dst) = self.buf.get_mut(self.tail..self.tail + n) {
            write_element(dst, e);
            self.tail += n;
            self.count += 1;
        }
    }

    fn push_front(&mut self, e: &[u8], n: usize, fill: Fill) {
        if self.head < n {
            let cap = self.grown_cap(n, fill);
            let front = cap - self.used();
            self.relocate(cap, front);
        }
        if let Some(dst) = self.buf.get_mut(self.head - n..self.head) {
            write_element(dst, e);
            self.head -= n;
            self.count += 1;
        }
    }

    /// Gives the buffer back when most of it is free (after pops and trims).
    fn maybe_shrink(&mut self) {
        let used = self.used();
        if self.cap() > SHRINK_ABOVE_BYTES && used * 4 < self.cap() {
            let cap = (used * 2).max(MIN_CHUNK_BYTES);
            self.relocate(cap, (cap - used) / 2);
        }
    }

    /// The elements, front to back.
    fn elements(&self) -> ChunkIter<'_> {
        ChunkIter {
            chunk: self,
            at: self.head,
        }
    }
}

/// The elements of one chunk, front to back.
struct ChunkIter<'a> {
    chunk: &'a Chunk,
    at: usize,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at >= self.chunk.tail {
            return None;
        }
        let (e, next) = self.chunk.read_fwd(self.at)?;
        self.at = next;
        Some(e)
    }
}

/// A list of binary-safe elements, in order from head to tail.
#[derive(Clone, Debug)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
    /// Bytes of all chunk buffers, kept as they grow and go (O(1) accounting).
    buf_bytes: usize,
    fill: Fill,
}

impl Default for List {
    fn default() -> Self {
        List::new()
    }
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Front,
    Back,
}

impl List {
    /// An empty list with the default fill ([`DEFAULT_FILL`]).
    pub fn new() -> Self {
        List::with_fill(DEFAULT_FILL)
    }

    /// An empty list whose chunks follow `fill` (`list-max-listpack-size`).
    pub fn with_fill(fill: i32) -> Self {
        List {
            chunks: VecDeque::new(),
            len: 0,
            buf_bytes: 0,
            fill: Fill::new(fill),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True without elements (a key never holds an empty list).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of chunks (for tests and diagnostics).
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    fn new_chunk(&mut self, side: Side, n: usize) -> Chunk {
        let cap = if n > self.fill.bytes {
            n
        } else {
            MIN_CHUNK_BYTES.max(n)
        };
        self.buf_bytes += cap;
        if self.chunks.capacity() == 0 {
            self.chunks.reserve_exact(1);
        }
        Chunk::new(cap, side == Side::Front)
    }

    fn push(&mut self, e: &[u8], side: Side) {
        let n = encoded_len(e);
        let fill = self.fill;
        let end = match side {
            Side::Front => self.chunks.front_mut(),
            Side::Back => self.chunks.back_mut(),
        };
        if let Some(c) = end {
            let cheap = match side {
                Side::Front => c.cheap_front(n, fill),
                Side::Back => c.cheap_back(n, fill),
            };
            if c.allows(n, fill) && cheap {
                let before = c.cap();
                match side {
                    Side::Front => c.push_front(e, n, fill),
                    Side::Back => c.push_back(e, n, fill),
                }
                self.buf_bytes = self.buf_bytes + c.cap() - before;
                self.len += 1;
                return;
            }
        }
        let mut c = self.new_chunk(side, n);
        let before = c.cap();
        match side {
            Side::Front => c.push_front(e, n, fill),
            Side::Back => c.push_back(e, n, fill),
        }
        self.buf_bytes = self.buf_bytes + c.cap() - before;
        match side {
            Side::Front => self.chunks.push_front(c),
            Side::Back => self.chunks.push_back(c),
        }
        self.len += 1;
    }

    /// Inserts `element` at the head.
    pub fn push_front(&mut self, element: &[u8]) {
        self.push(element, Side::Front);
    }

    /// Appends `element` at the tail.
    pub fn push_back(&mut self, element: &[u8]) {
        self.push(element, Side::Back);
    }

    /// Removes the end chunk if it is empty, else shrinks it if it is mostly free.
    fn tidy_end(&mut self, side: Side) {
        let c = match side {
            Side::Front => self.chunks.front_mut(),
            Side::Back => self.chunks.back_mut(),
        };
        let Some(c) = c else { return };
        if c.count == 0 {
            self.buf_bytes -= c.cap();
            match side {
                Side::Front => self.chunks.pop_front(),
                Side::Back => self.chunks.pop_back(),
            };
        } else {
            let before = c.cap();
            c.maybe_shrink();
            self.buf_bytes = self.buf_bytes + c.cap() - before;
        }
    }

    /// Removes the head element, handing it to `f` before its bytes go; false if empty.
    pub fn pop_front_with(&mut self, f: impl FnOnce(&[u8])) -> bool {
        let Some(c) = self.chunks.front_mut() else {
            return false;
        };
        let Some((e, next)) = c.read_fwd(c.head) else {
            return false;
        };
        f(e);
        c.head = next;
        c.count -= 1;
        self.len -= 1;
        self.tidy_end(Side::Front);
        true
    }

    /// Removes the tail element, handing it to `f` before its bytes go; false if empty.
    pub fn pop_back_with(&mut self, f: impl FnOnce(&[u8])) -> bool {
        let Some(c) = self.chunks.back_mut() else {
            return false;
        };
        let Some((e, start)) = c.read_back(c.tail) else {
            return false;
        };
        f(e);
        c.tail = start;
        c.count -= 1;
        self.len -= 1;
        self.tidy_end(Side::Back);
        true
    }

    /// Removes and returns the head element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let mut out = None;
        self.pop_front_with(|e| out = Some(e.to_vec()));
        out
    }

    /// Removes and returns the tail element.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let mut out = None;
        self.pop_back_with(|e| out = Some(e.to_vec()));
        out
    }

    /// The chunk holding element `index` (< len) and the element's place in it.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut left = index;
            for (ci, c) in self.chunks.iter().enumerate() {
                if left < c.count {
                    return Some((ci, left));
                }
                left -= c.count;
            }
        } else {
            let mut after = self.len - 1 - index;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                if after < c.count {
                    return Some((ci, c.count - 1 - after));
                }
                after -= c.count;
            }
        }
        None
    }

    /// Byte offset where element `local` of chunk `ci` starts.
    fn offset_of(&self, ci: usize, local: usize) -> Option<usize> {
        let c = self.chunks.get(ci)?;
        if local <= c.count / 2 {
            let mut at = c.head;
            for _ in 0..local {
                at = c.read_fwd(at)?.1;
            }
            Some(at)
        } else {
            let mut end = c.tail;
            for _ in 0..(c.count - local) {
                end = c.read_back(end)?.1;
            }
            Some(end)
        }
    }

    /// The element at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (ci, local) = self.locate(index)?;
        let at = self.offset_of(ci, local)?;
        Some(self.chunks.get(ci)?.read_fwd(at)?.0)
    }

    /// The head element.
    pub fn front(&self) -> Option<&[u8]> {
        let c = self.chunks.front()?;
        Some(c.read_fwd(c.head)?.0)
    }

    /// The tail element.
    pub fn back(&self) -> Option<&[u8]> {
        let c = self.chunks.back()?;
        Some(c.read_back(c.tail)?.0)
    }

    /// The elements from head to tail.
    pub fn iter(&self) -> Iter<'_> {
        let front = self.chunks.front().map_or(0, |c| c.head);
        let back = self.chunks.back().map_or(0, |c| c.tail);
        Iter {
            chunks: &self.chunks,
            front: (0, front),
            back: (self.chunks.len().saturating_sub(1), back),
            left: self.len,
        }
    }

    /// The elements at indexes `start..end` (clamped to the list), head to tail; finding
    /// the start costs O(chunks) plus one chunk.
    pub fn range(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.len);
        let empty = Iter {
            chunks: &self.chunks,
            front: (0, 0),
            back: (0, 0),
            left: 0,
        };
        if start >= end {
            return empty;
        }
        let first = self
            .locate(start)
            .and_then(|(ci, l)| Some((ci, self.offset_of(ci, l)?)));
        let last = self.locate(end - 1).and_then(|(ci, l)| {
            let at = self.offset_of(ci, l)?;
            Some((ci, self.chunks.get(ci)?.read_fwd(at)?.1))
        });
        match (first, last) {
            (Some(front), Some(back)) => Iter {
                chunks: &self.chunks,
                front,
                back,
                left: end - start,
            },
            _ => empty,
        }
    }

    /// Replaces the element at `index` with `element`; false if `index` is out of range.
    pub fn set(&mut self, index: usize, element: &[u8]) -> bool {
        let Some((ci, local)) = self.locate(index) else {
            return false;
        };
        let Some(at) = self.offset_of(ci, local) else {
            return false;
        };
        let n = encoded_len(element);
        if let Some(c) = self.chunks.get_mut(ci) {
            if let Some((old, _)) = c.read_fwd(at) {
                if encoded_len(old) == n {
                    if let Some(dst) = c.buf.get_mut(at..at + n) {
                        write_element(dst, element);
                        return true;
                    }
                }
            }
        }
        self.rebuild_chunk(ci, |c, out| {
            for (i, e) in c.elements().enumerate() {
                out.push_back(if i == local { element } else { e });
            }
        });
        true
    }

    /// Inserts `element` so that it becomes element `index` (`index <= len`).
    pub fn insert(&mut self, index: usize, element: &[u8]) {
        if index == 0 {
            self.push_front(element);
            return;
        }
        if index >= self.len {
            self.push_back(element);
            return;
        }
        let Some((ci, local)) = self.locate(index) else {
            return;
        };
        self.rebuild_chunk(ci, |c, out| {
            for (i, e) in c.elements().enumerate() {
                if i == local {
                    out.push_back(element);
                }
                out.push_back(e);
            }
        });
    }

    /// Replaces chunk `ci` by the chunks `f` packs (from that chunk's elements).
    fn rebuild_chunk(&mut self, ci: usize, f: impl FnOnce(&Chunk, &mut List)) {
        let Some(old) = self.chunks.get(ci) else {
            return;
        };
        let mut out = List {
            chunks: VecDeque::new(),
            len: 0,
            buf_bytes: 0,
            fill: self.fill,
        };
        f(old, &mut out);
        let (old_count, old_cap) = (old.count, old.cap());
        self.chunks.remove(ci);
        self.len = self.len - old_count + out.len;
        self.buf_bytes = self.buf_bytes - old_cap + out.buf_bytes;
        for (i, c) in out.chunks.into_iter().enumerate() {
            self.chunks.insert(ci + i, c);
        }
    }

    /// Removes elements equal to `element`: the first `count` from the head (`from_tail`
    /// false) or the last `count` from the tail, all of them when `count` is 0. Returns how
    /// many went. O(len).
    pub fn remove_matching(&mut self, element: &[u8], count: usize, from_tail: bool) -> usize {
        let total = self.iter().filter(|e| *e == element).count();
        let limit = if count == 0 { total } else { count.min(total) };
        if limit == 0 {
            return 0;
        }
        // Matches with ordinals in `skip..skip + limit` (head to tail) go.
        let skip = if from_tail { total - limit } else { 0 };
        let old = core::mem::take(&mut self.chunks);
        let mut out = List {
            chunks: VecDeque::with_capacity(old.len()),
            len: 0,
            buf_bytes: 0,
            fill: self.fill,
        };
        let mut seen = 0usize;
        for c in old {
            let hits = c.elements().filter(|e| *e == element).count();
            let first = seen;
            seen += hits;
            let goes = |ordinal: usize| ordinal >= skip && ordinal < skip + limit;
            if hits == 0 || (first + hits <= skip) || first >= skip + limit {
                out.len += c.count;
                out.buf_bytes += c.cap();
                out.chunks.push_back(c);
                continue;
            }
            let mut ordinal = first;
            for e in c.elements() {
                if e == element {
                    let drop = goes(ordinal);
                    ordinal += 1;
                    if drop {
                        continue;
                    }
                }
                out.push_back(e);
            }
        }
        *self = out;
        limit
    }

    /// Removes `n` elements from the head.
    pub fn drop_front(&mut self, n: usize) {
        self.drop_end(n, Side::Front);
    }

    /// Removes `n` elements from the tail.
    pub fn drop_back(&mut self, n: usize) {
        self.drop_end(n, Side::Back);
    }

    fn drop_end(&mut self, mut n: usize, side: Side) {
        n = n.min(self.len);
        while n > 0 {
            let c = match side {
                Side::Front => self.chunks.front_mut(),
                Side::Back => self.chunks.back_mut(),
            };
            let Some(c) = c else { break };
            let k = n.min(c.count);
            for _ in 0..k {
                match side {
                    Side::Front => match c.read_fwd(c.head) {
                        Some((_, next)) => c.head = next,
                        None => break,
                    },
                    Side::Back => match c.read_back(c.tail) {
                        Some((_, start)) => c.tail = start,
                        None => break,
                    },
                }
                c.count -= 1;
                self.len -= 1;
            }
            n -= k;
            if c.count == 0 || k == 0 {
                // A whole chunk goes (or a corrupt one: drop it whole).
                self.len -= c.count;
                c.count = 0;
            }
            self.tidy_end(side);
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
        self.buf_bytes = 0;
    }

    /// Bytes this list holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * core::mem::size_of::<Chunk>() + self.buf_bytes
    }

    /// The bounds of one chunk under the list's fill: (most encoded bytes, most elements),
    /// which are also Redis's quicklist node bounds (the RDB writer splits nodes by them).
    pub fn fill_bounds(&self) -> (usize, usize) {
        (self.fill.bytes, self.fill.count)
    }

    /// The encoding OBJECT ENCODING names (`quicklist`, as every list in Redis 7.0).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }
}

/// Elements of a [`List`] (or of a range of it), in order; double-ended.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    chunks: &'a VecDeque<Chunk>,
    /// Chunk index and byte offset of the next element from the front.
    front: (usize, usize),
    /// Chunk index and byte offset just past the next element from the back.
    back: (usize, usize),
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let mut c = self.chunks.get(self.front.0)?;
        if self.front.1 >= c.tail {
            self.front.0 += 1;
            c = self.chunks.get(self.front.0)?;
            self.front.1 = c.head;
        }
        let (e, next) = c.read_fwd(self.front.1)?;
        self.front.1 = next;
        self.left -= 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let mut c = self.chunks.get(self.back.0)?;
        if self.back.1 <= c.head {
            self.back.0 = self.back.0.checked_sub(1)?;
            c = self.chunks.get(self.back.0)?;
            self.back.1 = c.tail;
        }
        let (e, start) = c.read_back(self.back.1)?;
        self.back.1 = start;
        self.left -= 1;
        Some(e)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque as Model;
    use std::vec::Vec;

    fn check(l: &List, m: &Model<Vec<u8>>) {
        assert_eq!(l.len(), m.len());
        let got: Vec<&[u8]> = l.iter().collect();
        let want: Vec<&[u8]> = m.iter().map(|e| e.as_slice()).collect();
        assert_eq!(got, want);
        let back: Vec<&[u8]> = l.iter().rev().collect();
        let want_back: Vec<&[u8]> = m.iter().rev().map(|e| e.as_slice()).collect();
        assert_eq!(back, want_back);
        assert_eq!(l.iter().len(), m.len());
        let caps: usize = l.chunks.iter().map(Chunk::cap).sum();
        assert_eq!(l.buf_bytes, caps);
        assert_eq!(l.chunks.iter().map(|c| c.count).sum::<usize>(), l.len());
        assert!(l.chunks.iter().all(|c| c.count > 0 && c.head <= c.tail));
        for c in &l.chunks {
            assert_eq!(c.elements().count(), c.count);
        }
        assert_eq!(l.is_empty(), m.is_empty());
        assert_eq!(l.front(), m.front().map(|e| e.as_slice()));
        assert_eq!(l.back(), m.back().map(|e| e.as_slice()));
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn element(r: &mut Rng, i: usize) -> Vec<u8> {
        match r.below(10) {
            0 => Vec::new(),
            1 => std::vec![b'L'; 5000 + r.below(20000)],
            2 => std::vec![b'm'; 100 + r.below(200)],
            _ => std::format!("e{i}").into_bytes(),
        }
    }

    #[test]
    fn keeps_order_and_counts_bytes() {
        let mut l = List::new();
        assert!(l.is_empty());
        l.push_back(b"a");
        l.push_back(b"");
        l.push_back(b"ccc\0");
        assert_eq!(l.len(), 3);
        let v: Vec<&[u8]> = l.iter().collect();
        assert_eq!(v, [&b"a"[..], b"", b"ccc\0"]);
        let back: Vec<&[u8]> = l.iter().rev().collect();
        assert_eq!(back.first(), Some(&&b"ccc\0"[..]));
        assert!(l.heap_bytes() >= 5);
        assert_eq!(l.clone().len(), 3);
        assert_eq!(l.encoding(), "quicklist");
    }

    #[test]
    fn varints_round_trip_at_every_width() {
        for len in [0usize, 1, 127, 128, 129, 16383, 16384, 70000] {
            let e = std::vec![7u8; len];
            let mut c = Chunk::new(encoded_len(&e), false);
            c.push_back(&e, encoded_len(&e), Fill::new(-2));
            assert_eq!(c.read_fwd(c.head).map(|x| x.0.len()), Some(len));
            assert_eq!(c.read_back(c.tail).map(|x| x.0.len()), Some(len));
            assert_eq!(c.read_back(c.tail).map(|x| x.1), Some(c.head));
        }
    }

    #[test]
    fn chunks_split_at_the_fill_both_ends() {
        for fill in [-1, -2, -5, 1, 3, 128, 0, -9, 100_000] {
            let mut l = List::with_fill(fill);
            let mut m = Model::new();
            for i in 0..3000 {
                let e = std::format!("element-{i:05}").into_bytes();
                if i % 3 == 0 {
                    l.push_front(&e);
                    m.push_front(e);
                } else {
                    l.push_back(&e);
                    m.push_back(e);
                }
            }
            check(&l, &m);
            let f = Fill::new(fill);
            for c in &l.chunks {
                assert!(c.count <= f.count, "fill {fill}");
                assert!(c.used() <= f.bytes, "fill {fill}");
            }
            assert!(l.chunks() > 1);
            for (i, e) in m.iter().enumerate() {
                assert_eq!(l.get(i), Some(e.as_slice()));
            }
            assert_eq!(l.get(m.len()), None);
            while !m.is_empty() {
                assert_eq!(l.pop_back(), m.pop_back());
                assert_eq!(l.pop_front(), m.pop_front());
            }
            check(&l, &m);
            assert_eq!(
                l.heap_bytes(),
                l.chunks.capacity() * core::mem::size_of::<Chunk>()
            );
        }
    }

    #[test]
    fn elements_larger_than_a_chunk_and_empty_ones() {
        let mut l = List::with_fill(-1);
        let big = std::vec![b'x'; 100_000];
        l.push_back(b"");
        l.push_back(&big);
        l.push_front(&big);
        l.push_back(b"");
        l.push_front(b"");
        let m: Model<Vec<u8>> = [&b""[..], &big, b"", &big, b""]
            .iter()
            .map(|e| e.to_vec())
            .collect();
        check(&l, &m);
        assert_eq!(l.get(1).map(<[u8]>::len), Some(100_000));
        assert!(l.chunks() >= 3);
    }

    #[test]
    fn ranges_from_any_start() {
        let mut l = List::with_fill(4);
        let m: Vec<Vec<u8>> = (0..50).map(|i| std::format!("{i}").into_bytes()).collect();
        for e in &m {
            l.push_back(e);
        }
        for s in 0..=51 {
            for e in s..=52 {
                let got: Vec<&[u8]> = l.range(s, e).collect();
                let want: Vec<&[u8]> = m
                    .iter()
                    .skip(s)
                    .take(e.min(50).saturating_sub(s))
                    .map(|x| x.as_slice())
                    .collect();
                assert_eq!(got, want, "{s}..{e}");
                let back: Vec<&[u8]> = l.range(s, e).rev().collect();
                let want_back: Vec<&[u8]> = want.iter().rev().copied().collect();
                assert_eq!(back, want_back);
            }
        }
        // Meeting in the middle.
        let mut it = l.range(10, 14);
        assert_eq!(it.next(), Some(&b"10"[..]));
        assert_eq!(it.next_back(), Some(&b"13"[..]));
        assert_eq!(it.next(), Some(&b"11"[..]));
        assert_eq!(it.next_back(), Some(&b"12"[..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
    }

    #[test]
    fn random_operations_match_a_model() {
        for (seed, fill) in [(1u64, -2), (7, 3), (99, -1), (12345, 1), (5, -5)] {
            let mut r = Rng(seed);
            let mut l = List::with_fill(fill);
            let mut m: Model<Vec<u8>> = Model::new();
            for i in 0..4000 {
                match r.below(14) {
                    0..=2 => {
                        let e = element(&mut r, i);
                        l.push_back(&e);
                        m.push_back(e);
                    }
                    3..=5 => {
                        let e = element(&mut r, i);
                        l.push_front(&e);
                        m.push_front(e);
                    }
                    6 => assert_eq!(l.pop_front(), m.pop_front()),
                    7 => assert_eq!(l.pop_back(), m.pop_back()),
                    8 if !m.is_empty() => {
                        let at = r.below(m.len());
                        let e = element(&mut r, i);
                        assert!(l.set(at, &e));
                        m[at] = e;
                    }
                    9 => {
                        let at = r.below(m.len() + 1);
                        let e = element(&mut r, i);
                        l.insert(at, &e);
                        m.insert(at, e);
                    }
                    10 if !m.is_empty() => {
                        let target = m[r.below(m.len())].clone();
                        let count = r.below(3);
                        let from_tail = r.below(2) == 0;
                        let got = l.remove_matching(&target, count, from_tail);
                        let mut removed = 0;
                        if from_tail {
                            let mut i = m.len();
                            while i > 0 && (count == 0 || removed < count) {
                                i -= 1;
                                if m[i] == target {
                                    m.remove(i);
                                    removed += 1;
                                }
                            }
                        } else {
                            let mut i = 0;
                            while i < m.len() && (count == 0 || removed < count) {
                                if m[i] == target {
                                    m.remove(i);
                                    removed += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        }
                        assert_eq!(got, removed);
                    }
                    11 if r.below(4) == 0 => {
                        let n = r.below(m.len() / 2 + 2);
                        l.drop_front(n);
                        m.drain(..n.min(m.len()));
                    }
                    12 if r.below(4) == 0 => {
                        let n = r.below(m.len() / 2 + 2);
                        l.drop_back(n);
                        let keep = m.len().saturating_sub(n);
                        m.truncate(keep);
                    }
                    _ => {
                        if !m.is_empty() {
                            let at = r.below(m.len());
                            assert_eq!(l.get(at), Some(m[at].as_slice()));
                        }
                    }
                }
                if i % 97 == 0 {
                    check(&l, &m);
                }
            }
            check(&l, &m);
            let clone = l.clone();
            check(&clone, &m);
            l.clear();
            assert!(l.is_empty());
        }
    }

    #[test]
    fn a_queue_keeps_its_chunks_small() {
        // RPUSH + LPOP through one list: chunks drain and go, memory stays bounded.
        let mut l = List::new();
        for i in 0..200_000u32 {
            l.push_back(&i.to_le_bytes());
            if i >= 1000 {
                assert_eq!(l.pop_front(), Some((i - 1000).to_le_bytes().to_vec()));
            }
        }
        assert_eq!(l.len(), 1000);
        assert!(l.heap_bytes() < 64 * 1024, "{}", l.heap_bytes());
    }
}
