//! A single-threaded hopscotch hash table (Herlihy, Shavit and Tzafrir, 2008).
//!
//! Every entry lives within [`NEIGHBORHOOD`] buckets of its *home* bucket (chosen from the
//! low 32 bits of its hash), and the home bucket's hop bitmap records which of those buckets
//! hold its entries, so a lookup reads one bitmap and at most [`NEIGHBORHOOD`] buckets, each
//! filtered by a 4-bit tag (from the hash's top bits) before the key is compared.
//!
//! Layout: two parallel arrays, one `u32` of metadata a bucket (the bucket's hop bitmap in
//! the low [`NEIGHBORHOOD`] bits, the tag of the entry it holds in the top 4, 0 = empty),
//! and the entries (`Option<T>`). A lookup reads the home's word, the words of the candidate
//! buckets (usually on the same cache line) and then only the entry whose tag matches: the
//! metadata is small enough to stay in cache more often than the entries, as hashbrown's
//! control bytes do. An insert takes
//! the nearest free bucket within [`ADD_RANGE`] and, while it is too far from home, swaps it
//! backwards with an entry that may legally move there.
//!
//! Limits and what happens at them, so that no insert loops forever and no input grows
//! memory without bound:
//! - the table grows (by [`GROWTH`], 1.125x: to a load of about 0.83) when an insert would
//!   pass a load of [`MAX_LOAD`], or when no free bucket can be brought home, the stash
//!   holds [`STASH_BEFORE_GROWTH`] entries already and the load is at least
//!   [`MIN_LOAD_TO_GROW`] (in tables of thousands of buckets displacements fail from a load
//!   of about 0.85 on, mostly between 0.88 and 0.96);
//! - otherwise (a stash not yet that full, or keys whose hashes crowd one neighbourhood in
//!   a sparse table) the entry goes to a small overflow *stash*, searched only when it is
//!   not empty. Every resize re-places stashed entries, and an entry that still finds no
//!   place goes to the new stash, so a resize never recurses. A displacement failure grows the table only if the grown
//!   table would still be loaded to [`MIN_LOAD_TO_GROW`], so the table never has more than
//!   `len / MIN_LOAD_TO_GROW` home buckets (or [`MIN_CAPACITY`]), whatever the hashes;
//! - it shrinks to a load of 0.5 when a removal leaves it below [`MIN_LOAD`].
//!
//! The table stores whatever `T` the caller likes and never hashes anything itself: every
//! call that may move entries to a new array takes a `hasher` that recomputes an entry's
//! hash.
//!
//! Entries are stored as `MaybeUninit<T>`, initialised exactly where the bucket's tag is not
//! `EMPTY` (the one invariant the `unsafe` blocks here rely on): an `Option<T>` would cost
//! up to 8 bytes a bucket for types without a niche, which is a third of a `(u64, u64)`
//! entry. Only four small functions touch the entries' initialisation (`HopTable::entry`,
//! `HopTable::entry_mut`, `HopTable::take_entry` and `iter_mut`); everything else goes
//! through them. Miri runs the unit tests (`ci/miri`).
#![allow(unsafe_code)]

use crate::sync::{AtomicUsize, Ordering};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::{size_of, MaybeUninit};

/// Buckets in a neighbourhood: an entry is at most `NEIGHBORHOOD - 1` buckets after its home.
/// The hop bitmap shares a `u32` with the tag, a word every target has (and no atomics are
/// needed at all: the segment lock guards the table). 28, not 24: a wider neighbourhood
/// lets tables of a few thousand buckets fill to about 0.93 before a displacement fails
/// (0.90 at 24), for a 4-bit tag that sends 1 in 15 non-matching candidates to a key
/// comparison instead of 1 in 255 (a lookup has about one candidate).
pub const NEIGHBORHOOD: usize = 28;
/// The hop-bitmap bits of a metadata word.
const HOP_MASK: u32 = (1 << NEIGHBORHOOD) - 1;
/// Bits of a metadata word that hold the tag (the hash's top bits; 0 is [`EMPTY`]).
const TAG_BITS: usize = 32 - NEIGHBORHOOD;
/// The farthest an insert looks for a free bucket, in buckets from home.
pub const ADD_RANGE: usize = 512;
/// The fewest home buckets an allocated table has.
pub const MIN_CAPACITY: usize = 16;
/// The most home buckets one table has (homes are computed from 32 hash bits). Past it,
/// inserts that find no place go to the stash.
pub const MAX_CAPACITY: usize = 1 << 31;
/// The table grows before an insert would take its load past this fraction (97/100; most
/// growths come earlier, from a failed displacement between 0.88 and 0.96).
pub const MAX_LOAD: (usize, usize) = (97, 100);
/// A growth multiplies the home buckets by this fraction (9/8): the load goes from about
/// 0.93 to about 0.83, so it averages 0.89 with [`STASH_BEFORE_GROWTH`] (256 segments of
/// random keys, 500k to 2M entries, `benches/examples/table_load.rs`; 0.80 with 5/4,
/// 24-bucket neighbourhoods and no stash before growing, which cost a 16-byte key with a
/// 16-byte value 6 more bytes). The price: each entry is moved about 8 times per doubling
/// of the keys instead of 4, which inserting new keys pays (server CPU for 1M pipelined
/// SETs of new keys about a fifth more; lookups unchanged).
pub const GROWTH: (usize, usize) = (9, 8);
/// Entries a table stashes after failed displacements before the next failure grows it
/// (8): most growths come from a failed displacement, and a few stashed entries delay
/// them, raising the average load from 0.864 to 0.888 (about one byte a key of a 16-byte
/// key with a 16-byte value). A lookup that misses compares its hash with each stashed
/// entry's (a hit is found in the buckets first).
pub const STASH_BEFORE_GROWTH: usize = 8;
/// A failed displacement grows the table only at this load or more (1/4); below it the
/// entry goes to the stash instead, which bounds memory when hashes crowd together.
pub const MIN_LOAD_TO_GROW: (usize, usize) = (1, 4);
/// Positions [`HopTable::random`] draws before it picks by rank (the load stays above
/// [`MIN_LOAD`], so 64 draws almost never all miss).
pub const RANDOM_PROBES: usize = 64;
/// The low bits of a hash's low 32 that [`HopTable::find_by_prefix`] does without (16: a
/// prefix is 16 bits, what a 6-byte deadline of the keyspace keeps, and the entries it may
/// name have their homes within one bucket of each other while a table has fewer than 2^16
/// home buckets: 14 million keys in the keyspace's 256 segments; 2^k times that many, 2^k
/// + 1 buckets).
pub const PREFIX_SHIFT: u32 = 16;
/// Entries a rebuild hashes before it places them (see `HopTable::rebuild`).
pub const REHASH_BATCH: usize = 16;
/// A removal that leaves the load below this fraction (1/8) shrinks the table.
pub const MIN_LOAD: (usize, usize) = (1, 8);

/// Bytes of bucket arrays that rebuilds have let go, all tables of the process together,
/// since it started (wrapping): see [`freed_array_bytes`].
static FREED_ARRAY_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of bucket arrays that table rebuilds have freed so far, process-wide (a counter
/// that wraps). A growing keyspace frees far more than it keeps (a 9/8 growth frees the
/// whole old array to keep an eighth more), so a frontend that gives free memory back to
/// the system watches this as well as `used_memory` (kv_server's `malloc::Trimmer`).
pub fn freed_array_bytes() -> usize {
    FREED_ARRAY_BYTES.load(Ordering::Relaxed)
}

/// The tag of an empty bucket; the tags of entries are never 0.
const EMPTY: u8 = 0;

/// The tag in a metadata word.
#[inline]
fn tag_in(meta: u32) -> u8 {
    (meta >> NEIGHBORHOOD) as u8
}

/// A metadata word with its tag replaced.
#[inline]
fn with_tag(meta: u32, tag: u8) -> u32 {
    (meta & HOP_MASK) | (u32::from(tag) << NEIGHBORHOOD)
}

impl<T> Drop for HopTable<T> {
    fn drop(&mut self) {
        if core::mem::needs_drop::<T>() {
            for i in 0..self.vals.len() {
                drop(self.take_entry(i));
            }
        }
    }
}

/// Where an entry is: a position that stays valid until the table is next changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// In bucket `idx`, whose home bucket is `home`.
    Table {
        /// The home bucket (whose hop bitmap has the entry's bit).
        home: usize,
        /// The bucket holding the entry.
        idx: usize,
    },
    /// In the overflow stash, at this index.
    Stash(usize),
}

/// A hopscotch hash table of `T`, hashed by the caller.
pub struct HopTable<T> {
    /// Per bucket: bit `i` (`i < NEIGHBORHOOD`) set when bucket `b + i` holds an entry whose
    /// home is `b`; the top [`TAG_BITS`] bits are the tag of the entry in `b` ([`EMPTY`] if
    /// none). Both arrays have `cap + NEIGHBORHOOD - 1` buckets (the last ones only ever
    /// hold entries whose homes are near the end), or none before the first insert.
    meta: Box<[u32]>,
    /// The entries: initialised exactly where the tag is not [`EMPTY`].
    vals: Box<[MaybeUninit<T>]>,
    /// Home buckets: homes are `0..cap`.
    cap: usize,
    /// Entries, in buckets and in the stash.
    len: usize,
    /// Entries that found no bucket, with their hashes.
    stash: Vec<(u64, T)>,
    /// Times the table was rebuilt (grown or shrunk).
    resizes: usize,
}

impl<T> Default for HopTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> core::fmt::Debug for HopTable<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HopTable")
            .field("len", &self.len)
            .field("capacity", &self.cap)
            .field("stash", &self.stash.len())
            .finish()
    }
}

/// Hints the CPU to start loading the cache line at `p` (nothing on targets without a
/// prefetch instruction). Never dereferences `p`.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing the program can
    // observe, whatever the address (SSE, which provides it, is part of x86_64's baseline).
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The hash's top [`TAG_BITS`] bits, with 0 (the empty tag) mapped to 1.
#[inline]
fn tag_of(hash: u64) -> u8 {
    ((hash >> (64 - TAG_BITS)) as u8).max(1)
}

impl<T> HopTable<T> {
    /// An empty table; it allocates on the first insert.
    pub fn new() -> Self {
        HopTable {
            meta: Vec::new().into_boxed_slice(),
            vals: Vec::new().into_boxed_slice(),
            cap: 0,
            len: 0,
            stash: Vec::new(),
            resizes: 0,
        }
    }

    /// An empty table with room for `n` entries before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let mut t = Self::new();
        if n > 0 {
            t.alloc(Self::cap_for(n));
        }
        t
    }

    /// Home buckets for `n` entries at a load of 0.6.
    fn cap_for(n: usize) -> usize {
        n.saturating_mul(5)
            .div_euclid(3)
            .clamp(MIN_CAPACITY, MAX_CAPACITY)
    }

    fn alloc(&mut self, cap: usize) {
        let n = cap + NEIGHBORHOOD - 1;
        self.meta = alloc::vec![0; n].into_boxed_slice();
        let mut vals = Vec::new();
        vals.resize_with(n, MaybeUninit::uninit);
        self.vals = vals.into_boxed_slice();
        self.cap = cap;
    }

    /// Entries stored.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Home buckets (entries fit up to [`MAX_LOAD`] of this before a growth).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Entries in the overflow stash.
    pub fn stashed(&self) -> usize {
        self.stash.len()
    }

    /// Times the table was rebuilt into a new array.
    pub fn resizes(&self) -> usize {
        self.resizes
    }

    /// Bytes one bucket takes (an entry, its tag and a hop bitmap).
    pub const fn bucket_bytes() -> usize {
        size_of::<u32>() + size_of::<T>()
    }

    /// Bytes the table has allocated (buckets and stash), not counting what entries own.
    pub fn allocated_bytes(&self) -> usize {
        self.vals.len() * Self::bucket_bytes() + self.stash.capacity() * size_of::<(u64, T)>()
    }

    /// The home bucket of `hash`: a multiply-shift of its low 32 bits into `0..cap`.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        ((u64::from(hash as u32) * self.cap as u64) >> 32) as usize
    }

    /// Finds an entry with this hash for which `eq` holds.
    #[inline]
    pub fn find(&self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<Slot> {
        let mut eq = eq;
        if self.cap != 0 {
            let home = self.home(hash);
            // Start loading the home's entry while the metadata word is fetched: most
            // entries sit at their home or within a few buckets of it, so the two cache
            // misses of a lookup overlap instead of following each other.
            prefetch(self.vals.as_ptr().wrapping_add(home));
            let tag = tag_of(hash);
            let mut hop = self.meta.get(home).map_or(0, |m| m & HOP_MASK);
            while hop != 0 {
                let idx = home + hop.trailing_zeros() as usize;
                hop &= hop - 1;
                if self.meta.get(idx).map(|&m| tag_in(m)) == Some(tag) {
                    if let Some(v) = self.entry(idx) {
                        if eq(v) {
                            return Some(Slot::Table { home, idx });
                        }
                    }
                }
            }
        }
        if self.stash.is_empty() {
            return None;
        }
        self.stash
            .iter()
            .position(|(h, v)| *h == hash && eq(v))
            .map(Slot::Stash)
    }

    /// Finds an entry for which `eq` holds among those whose hashes' low 32 bits, shifted
    /// right by [`PREFIX_SHIFT`], equal `prefix` (what a caller that keeps only those bits
    /// of a hash can ask). Their home buckets are within `cap >> (32 - PREFIX_SHIFT)` + 1
    /// of each other, and `eq` sees every entry of those homes (entries of neighbouring
    /// prefixes too: it decides).
    pub fn find_by_prefix(&self, prefix: u32, mut eq: impl FnMut(&T) -> bool) -> Option<Slot> {
        let low = u64::from(prefix) << PREFIX_SHIFT;
        let high = low | ((1 << PREFIX_SHIFT) - 1);
        if self.cap != 0 {
            for home in self.home(low)..=self.home(high) {
                let mut hop = self.meta.get(home).map_or(0, |m| m & HOP_MASK);
                while hop != 0 {
                    let idx = home + hop.trailing_zeros() as usize;
                    hop &= hop - 1;
                    if let Some(v) = self.entry(idx) {
                        if eq(v) {
                            return Some(Slot::Table { home, idx });
                        }
                    }
                }
            }
        }
        self.stash
            .iter()
            .position(|(h, v)| (*h as u32) >> PREFIX_SHIFT == prefix && eq(v))
            .map(Slot::Stash)
    }

    /// The entry at `slot`.
    #[inline]
    pub fn get(&self, slot: Slot) -> Option<&T> {
        match slot {
            Slot::Table { idx, .. } => self.entry(idx),
            Slot::Stash(i) => self.stash.get(i).map(|(_, v)| v),
        }
    }

    /// The entry at `slot`, to change in place (not in a way that changes its hash).
    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut T> {
        match slot {
            Slot::Table { idx, .. } => self.entry_mut(idx),
            Slot::Stash(i) => self.stash.get_mut(i).map(|(_, v)| v),
        }
    }

    /// Removes and returns the entry at `slot`. The table does not shrink here (see
    /// [`HopTable::maybe_shrink`]), so other slots stay valid except a later stash slot.
    pub fn remove(&mut self, slot: Slot) -> Option<T> {
        let v = match slot {
            Slot::Table { home, idx } => {
                let v = self.take_entry(idx)?;
                if let Some(h) = self.meta.get_mut(home) {
                    *h &= !(1u32 << (idx - home));
                }
                v
            }
            Slot::Stash(i) => {
                if i >= self.stash.len() {
                    return None;
                }
                self.stash.swap_remove(i).1
            }
        };
        self.len -= 1;
        Some(v)
    }

    /// Shrinks the table when its load fell below [`MIN_LOAD`]; returns whether it did.
    pub fn maybe_shrink(&mut self, hasher: impl Fn(&T) -> u64) -> bool {
        if self.cap > MIN_CAPACITY && self.len * MIN_LOAD.1 < self.cap * MIN_LOAD.0 {
            let cap = if self.len == 0 {
                0
            } else {
                (self.len * 2).max(MIN_CAPACITY)
            };
            self.rebuild(cap, &hasher);
            return true;
        }
        false
    }

    /// Inserts an entry the caller knows is not in the table yet; returns where it went.
    /// Grows the table as the module documentation says; never loops more than once per
    /// growth, and growths are bounded by [`MAX_CAPACITY`] and [`MIN_LOAD_TO_GROW`].
    pub fn insert_unique(&mut self, hash: u64, value: T, hasher: impl Fn(&T) -> u64) -> Slot {
        if self.cap == 0 {
            self.rebuild(MIN_CAPACITY, &hasher);
        } else if (self.len + 1) * MAX_LOAD.1 > self.cap * MAX_LOAD.0 {
            self.grow(&hasher);
        }
        let mut value = value;
        loop {
            match self.place(hash, value) {
                Ok(slot) => {
                    self.len += 1;
                    return slot;
                }
                Err(v) => {
                    value = v;
                    // The first few failures go to the stash; then grow, but only if the
                    // grown table would still be loaded to at least MIN_LOAD_TO_GROW:
                    // crowded hashes then go to the stash instead.
                    let cap = self.grown_capacity();
                    let sparse = (self.len + 1) * MIN_LOAD_TO_GROW.1 < cap * MIN_LOAD_TO_GROW.0;
                    if sparse || cap <= self.cap || self.stash.len() < STASH_BEFORE_GROWTH {
                        self.stash.push((hash, value));
                        self.len += 1;
                        return Slot::Stash(self.stash.len() - 1);
                    }
                    // Strictly larger each time: the loop ends.
                    self.rebuild(cap, &hasher);
                }
            }
        }
    }

    /// The capacity a growth goes to: [`GROWTH`] times the current one, and a load of at
    /// most 8/9 (after a displacement failure at a low load).
    fn grown_capacity(&self) -> usize {
        let by = self.cap.saturating_mul(GROWTH.0) / GROWTH.1;
        let room = (self.len + 1).saturating_mul(GROWTH.0) / GROWTH.1;
        by.max(room).max(self.cap + 1).min(MAX_CAPACITY)
    }

    fn grow(&mut self, hasher: &impl Fn(&T) -> u64) {
        let cap = self.grown_capacity();
        if cap > self.cap {
            self.rebuild(cap, hasher);
        }
    }

    /// Moves every entry to a new array of `cap` home buckets (none when `cap` is 0).
    /// Entries that find no place there go to the new stash: a rebuild never recurses.
    fn rebuild(&mut self, cap: usize, hasher: &impl Fn(&T) -> u64) {
        let mut new = HopTable::new();
        if cap > 0 {
            new.alloc(cap);
        }
        new.resizes = self.resizes + 1;
        let mut old = core::mem::replace(self, new);
        let stash = core::mem::take(&mut old.stash);
        // Entries are hashed REHASH_BATCH at a time where they are, then moved straight
        // to their new buckets: a hasher that reads memory outside the entry (a boxed key)
        // then has that many independent reads in flight instead of one miss after
        // another, and an entry is copied once (through a batch of taken entries it was
        // copied twice, and the copies of 48-byte entries through the stack stalled on
        // store forwarding: a fifth of the time of rebuilds).
        let mut batch = [(0usize, 0u64); REHASH_BATCH];
        let mut next = 0;
        while next < old.vals.len() {
            let mut n = 0;
            while n < REHASH_BATCH && next < old.vals.len() {
                if let (Some(v), Some(slot)) = (old.entry(next), batch.get_mut(n)) {
                    *slot = (next, hasher(v));
                    n += 1;
                }
                next += 1;
            }
            for &(i, hash) in batch.iter().take(n) {
                if let Some(v) = old.take_entry(i) {
                    self.put_rehashed(hash, v);
                }
            }
        }
        for (hash, v) in stash {
            self.put_rehashed(hash, v);
        }
        FREED_ARRAY_BYTES.fetch_add(old.vals.len() * Self::bucket_bytes(), Ordering::Relaxed);
    }

    /// Places an entry during a rebuild (in the stash if it finds no bucket).
    #[inline]
    fn put_rehashed(&mut self, hash: u64, v: T) {
        if self.cap == 0 {
            self.stash.push((hash, v));
        } else if let Err(v) = self.place(hash, v) {
            self.stash.push((hash, v));
        }
        self.len += 1;
    }

    /// Puts `value` in a bucket within its neighbourhood, displacing entries backwards as
    /// needed; gives the value back when there is no free bucket within [`ADD_RANGE`] or no
    /// displacement can bring one home. Does not count the entry in `len`.
    fn place(&mut self, hash: u64, value: T) -> Result<Slot, T> {
        if self.cap == 0 {
            return Err(value);
        }
        let home = self.home(hash);
        let end = (home + ADD_RANGE).min(self.meta.len());
        let Some(mut free) = self
            .meta
            .get(home..end)
            .and_then(|m| m.iter().position(|&m| tag_in(m) == EMPTY))
            .map(|i| home + i)
        else {
            return Err(value);
        };
        while free - home >= NEIGHBORHOOD {
            match self.hop_back(free) {
                Some(j) => free = j,
                None => return Err(value),
            }
        }
        let (Some(val), Some(&m)) = (self.vals.get_mut(free), self.meta.get(free)) else {
            return Err(value);
        };
        // `free` is empty (its tag is EMPTY): nothing is overwritten without a drop.
        *val = MaybeUninit::new(value);
        if let Some(mf) = self.meta.get_mut(free) {
            *mf = with_tag(m, tag_of(hash));
        }
        if let Some(mh) = self.meta.get_mut(home) {
            *mh |= 1u32 << (free - home);
        }
        Ok(Slot::Table { home, idx: free })
    }

    /// One displacement step: moves an entry into the free bucket `free` from a bucket
    /// before it, and returns that bucket (now free). It picks the farthest bucket `b` in
    /// `free - H + 1 .. free` with an entry at or after itself and before `free`: that entry
    /// may move to `free` and still be within its neighbourhood. `None` if there is none.
    fn hop_back(&mut self, free: usize) -> Option<usize> {
        if free >= self.vals.len() {
            return None;
        }
        for b in (free + 1 - NEIGHBORHOOD)..free {
            let hop = *self.meta.get(b)? & HOP_MASK;
            let candidates = hop & ((1u32 << (free - b)) - 1);
            if candidates == 0 {
                continue;
            }
            let off = candidates.trailing_zeros() as usize;
            let j = b + off;
            self.vals.swap(j, free);
            let tag = tag_in(*self.meta.get(j)?);
            let mj = self.meta.get_mut(j)?;
            *mj = with_tag(*mj, EMPTY);
            let mf = self.meta.get_mut(free)?;
            *mf = with_tag(*mf, tag);
            let mb = self.meta.get_mut(b)?;
            *mb = (*mb & !(1u32 << off)) | (1u32 << (free - b));
            return Some(j);
        }
        None
    }

    /// The entry in bucket `idx`, if the bucket holds one.
    #[inline]
    fn entry(&self, idx: usize) -> Option<&T> {
        if tag_in(*self.meta.get(idx)?) == EMPTY {
            return None;
        }
        let v = self.vals.get(idx)?;
        // SAFETY: the tag of `idx` is not EMPTY, so `vals[idx]` is initialised (the
        // module's invariant), and `&self` keeps it so while the reference lives.
        Some(unsafe { v.assume_init_ref() })
    }

    /// The entry in bucket `idx`, to change in place.
    #[inline]
    fn entry_mut(&mut self, idx: usize) -> Option<&mut T> {
        if tag_in(*self.meta.get(idx)?) == EMPTY {
            return None;
        }
        let v = self.vals.get_mut(idx)?;
        // SAFETY: as in `entry`: the tag says `vals[idx]` is initialised.
        Some(unsafe { v.assume_init_mut() })
    }

    /// Moves the entry out of bucket `idx` and marks the bucket empty (its hop bit, in its
    /// home's word, is the caller's to clear).
    #[inline]
    fn take_entry(&mut self, idx: usize) -> Option<T> {
        let m = self.meta.get_mut(idx)?;
        if tag_in(*m) == EMPTY {
            return None;
        }
        let v = self.vals.get(idx)?;
        *m = with_tag(*m, EMPTY);
        // SAFETY: the tag was not EMPTY, so `vals[idx]` is initialised; the tag is EMPTY
        // now, so nothing reads or drops this copy again (no double drop).
        Some(unsafe { v.assume_init_read() })
    }

    /// An entry picked uniformly with the random numbers `next` gives: draws positions
    /// (every bucket, then every stash entry) until one holds an entry, at most
    /// [`RANDOM_PROBES`] times (each entry holds exactly one position, so a hit is
    /// uniform), then picks by rank. `None` when the table is empty.
    pub fn random(&self, mut next: impl FnMut() -> u64) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let positions = (self.vals.len() + self.stash.len()).max(1) as u64;
        for _ in 0..RANDOM_PROBES {
            let i = (next() % positions) as usize;
            let hit = match i.checked_sub(self.vals.len()) {
                None => self.entry(i),
                Some(j) => self.stash.get(j).map(|(_, v)| v),
            };
            if hit.is_some() {
                return hit;
            }
        }
        self.iter().nth((next() % self.len as u64) as usize)
    }

    /// Every entry, in bucket order then the stash.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.vals.len())
            .filter_map(move |i| self.entry(i))
            .chain(self.stash.iter().map(|(_, v)| v))
    }

    /// Every entry, to change in place (not in a way that changes its hash).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.meta
            .iter()
            .zip(self.vals.iter_mut())
            .filter(|(m, _)| tag_in(**m) != EMPTY)
            // SAFETY: the tag is not EMPTY, so the entry is initialised; each bucket is
            // yielded once, so the mutable references never alias.
            .map(|(_, v)| unsafe { v.assume_init_mut() })
            .chain(self.stash.iter_mut().map(|(_, v)| v))
    }

    /// One cursor step of a scan in the order of the hashes' low 32 bits (the order of home
    /// buckets, whatever the capacity): calls `f` with every entry whose low 32 hash bits lie
    /// in `[cursor, next)` and returns `next`, 0 when the scan is complete. A step covers
    /// whole home buckets until it has found `count` entries or walked `10 * count` homes
    /// (at least one). Every entry present from the first step (cursor 0) to the last is
    /// returned at least once however the table grows or shrinks between steps, as each
    /// step covers a range of hash values, not of buckets. `hasher` recomputes an entry's
    /// hash (only for the first home, to skip entries before `cursor`).
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        hasher: impl Fn(&T) -> u64,
        mut f: impl FnMut(&'a T),
    ) -> u64 {
        let low = |h: u64| u64::from(h as u32);
        if cursor > u64::from(u32::MAX) {
            return 0;
        }
        let mut next = 0;
        if self.cap != 0 {
            let mut h = self.home(cursor);
            let (mut found, mut walked) = (0usize, 0usize);
            let max_walk = count.saturating_mul(10).max(1);
            while h < self.cap && found < count.max(1) && walked < max_walk {
                let mut hop = self.meta.get(h).map_or(0, |m| m & HOP_MASK);
                while hop != 0 {
                    let idx = h + hop.trailing_zeros() as usize;
                    hop &= hop - 1;
                    if let Some(v) = self.entry(idx) {
                        if walked > 0 || low(hasher(v)) >= cursor {
                            f(v);
                            found += 1;
                        }
                    }
                }
                h += 1;
                walked += 1;
            }
            if h < self.cap {
                // The least 32-bit value whose home is `h`: ceil(h * 2^32 / cap).
                next = ((h as u64) << 32).div_ceil(self.cap as u64);
            }
        }
        for (hash, v) in &self.stash {
            let l = low(*hash);
            if l >= cursor && (next == 0 || l < next) {
                f(v);
            }
        }
        next
    }

    /// Consumes the table, yielding every entry (those not consumed are dropped with the
    /// iterator).
    pub fn into_entries(mut self) -> impl Iterator<Item = T> {
        let stash = core::mem::take(&mut self.stash);
        (0..self.vals.len())
            .filter_map(move |i| self.take_entry(i))
            .chain(stash.into_iter().map(|(_, v)| v))
    }

    /// Removes every entry and frees the array; returns the old table (drop it outside any
    /// lock).
    pub fn take(&mut self) -> HopTable<T> {
        let resizes = self.resizes;
        let old = core::mem::take(self);
        self.resizes = resizes;
        old
    }

    /// Checks the table's invariants (tests): every entry is in its home's neighbourhood
    /// and recorded in the home's hop bitmap, every bitmap bit points at such an entry,
    /// and `len` counts them all.
    pub fn check(&self, hasher: impl Fn(&T) -> u64) -> Result<(), &'static str> {
        let mut n = 0;
        for (i, &m) in self.meta.iter().enumerate() {
            let (mut hop, tag) = (m & HOP_MASK, tag_in(m));
            let val = self.entry(i);
            while hop != 0 {
                let j = i + hop.trailing_zeros() as usize;
                hop &= hop - 1;
                let v = self.entry(j).ok_or("hop bit points at an empty bucket")?;
                if self.home(hasher(v)) != i {
                    return Err("hop bit points at an entry of another home");
                }
            }
            if let Some(v) = val {
                n += 1;
                let h = hasher(v);
                let home = self.home(h);
                if i < home || i - home >= NEIGHBORHOOD {
                    return Err("entry outside its neighbourhood");
                }
                if tag != tag_of(h) {
                    return Err("wrong tag");
                }
                let recorded = self
                    .meta
                    .get(home)
                    .is_some_and(|hb| hb & (1u32 << (i - home)) != 0);
                if !recorded {
                    return Err("entry missing from its home's hop bitmap");
                }
            }
        }
        if n + self.stash.len() != self.len {
            return Err("len does not count the entries");
        }
        Ok(())
    }
}
