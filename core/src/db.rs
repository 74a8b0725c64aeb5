//! The keyspace: values, TTLs, lazy expiry and memory accounting, behind a small API that
//! the commands use ([`Db::read`], [`Db::write`], [`Db::remove`], [`Db::exists`], [`Db::len`],
//! [`Db::clear`], [`Db::for_each_key`]).
//!
//! This is the *baseline* store: N shards of `spin::RwLock<hashbrown::HashTable>`, keys
//! hashed once with XXH3-64 under a per-process seed that the caller injects. The hash picks
//! the shard from bits 32.. and hashbrown uses the low bits and the top 7, so the two never
//! correlate. The concurrent hopscotch map replaces it later; this one stays selectable for
//! benchmarks.
//!
//! Expiry is lazy here: a key whose time has passed is invisible to every call from that
//! moment (`now > expire_at`, as Redis's `keyIsExpired`), and is removed (and counted in
//! `expired_keys`) by the first call that meets it. Work under a lock is bounded by the
//! operation: no call walks more than one shard at a time.

use crate::sync::{AtomicU32, AtomicUsize, CachePadded, Ordering, RwLock, RwLockWriteGuard};
use crate::time::UnixMillis;
use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::mem::size_of;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A value stored under a key.
#[derive(Clone, Debug)]
pub enum Value {
    /// A string (binary-safe bytes).
    Str(Vec<u8>),
    /// A sorted set.
    ZSet(Box<crate::zset::ZSet>),
}

impl Value {
    /// Bytes this value holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(v) => v.capacity(),
            Value::ZSet(z) => core::mem::size_of::<crate::zset::ZSet>() + z.heap_bytes(),
        }
    }

    /// The name TYPE answers for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::ZSet(_) => "zset",
        }
    }

    /// The bytes of a string value; `None` for other types (WRONGTYPE).
    pub fn as_str(&self) -> Option<&Vec<u8>> {
        match self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes of a string value, to change in place; `None` for other types.
    pub fn as_str_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }
}

/// A value and its expiry time.
#[derive(Clone, Debug)]
pub struct Item {
    /// The value.
    pub value: Value,
    /// When the key expires (absolute Unix milliseconds), if it has a TTL.
    pub expire_at: Option<UnixMillis>,
}

impl Item {
    /// A value without a TTL.
    pub fn new(value: Value) -> Self {
        Item {
            value,
            expire_at: None,
        }
    }

    /// Moves the value and TTL out, leaving an empty string behind (for RENAME and MOVE,
    /// which then remove the old key): no copy of the value.
    pub fn take(&mut self) -> Item {
        Item {
            value: core::mem::replace(&mut self.value, Value::Str(Vec::new())),
            expire_at: self.expire_at,
        }
    }

    /// Whether the key is logically gone at `now`.
    #[inline]
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        self.expire_at.is_some_and(|t| now > t)
    }
}

/// Figures about one key that OBJECT and MEMORY USAGE report.
#[derive(Clone, Copy, Debug)]
pub struct KeyStats {
    /// Seconds since the key was last read or written.
    pub idle_secs: u64,
    /// Bytes the key holds: its table slot, key and value.
    pub bytes: usize,
}

/// What a [`Db::write`] closure decides to do with the key.
#[derive(Debug)]
pub enum Write {
    /// Leave the key as the closure left it (possibly modified in place), or absent.
    Keep,
    /// Delete the key.
    Remove,
    /// Store this item under the key, replacing any old one.
    Put(Item),
}

struct Entry {
    key: Box<[u8]>,
    item: Item,
    /// When the key was last read or written, in Unix seconds (OBJECT IDLETIME); atomic so
    /// that reads under the shared lock can record it.
    access: AtomicU32,
}

/// Unix seconds as the access clock stores them (wraps in 2106).
fn access_secs(now: UnixMillis) -> u32 {
    now.0.div_euclid(1000) as u32
}

impl Entry {
    /// Records an access at `now`, writing only when the second changed.
    #[inline]
    fn touch(&self, now: UnixMillis) {
        let s = access_secs(now);
        if self.access.load(Ordering::Relaxed) != s {
            self.access.store(s, Ordering::Relaxed);
        }
    }
}

impl Entry {
    /// Heap bytes this entry owns (the table slot itself is counted by capacity).
    fn heap(&self) -> usize {
        self.key.len() + self.item.value.heap_bytes()
    }
}

/// One shard: a hash table plus a min-heap of (expire time, key hash) for active expiry.
///
/// The heap is lazy: when a key's TTL changes or the key goes, its old heap entry stays
/// and is dropped when it reaches the top and no longer matches the key. The heap is
/// rebuilt from the table when stale entries outnumber live ones
/// ([`HEAP_REBUILD_SLACK`]), so it stays within a constant factor of the keys with a TTL.
#[derive(Default)]
struct Shard {
    table: HashTable<Entry>,
    deadlines: BinaryHeap<Reverse<(i64, u64)>>,
    /// Keys with a TTL.
    expires: usize,
    /// Heap bytes of keys and values.
    bytes: usize,
    /// Keys removed because their TTL passed.
    expired: usize,
}

/// Stale deadline entries a shard tolerates beyond twice its live TTL count before it
/// rebuilds its deadline heap.
pub const HEAP_REBUILD_SLACK: usize = 1024;

impl Shard {
    fn find(&self, key: &[u8], hash: u64) -> Option<&Entry> {
        self.table.find(hash, |e| *e.key == *key)
    }

    fn write<R>(
        &mut self,
        seed: u64,
        key: &[u8],
        hash: u64,
        now: UnixMillis,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        let Shard {
            table,
            deadlines: _,
            expires,
            bytes,
            expired,
        } = self;
        let entry = table.entry(
            hash,
            |e| *e.key == *key,
            |e| xxh3_64_with_seed(&e.key, seed),
        );
        let entry = match entry {
            TableEntry::Occupied(o) if o.get().item.is_expired(now) => {
                let (old, vacant) = o.remove();
                *bytes -= old.heap();
                *expires -= 1;
                *expired += 1;
                TableEntry::Vacant(vacant)
            }
            other => other,
        };
        let (r, deadline) = match entry {
            TableEntry::Occupied(mut o) => {
                let old_ttl = o.get().item.expire_at;
                let before = o.get().heap();
                o.get().touch(now);
                let (w, r) = f(Some(&mut o.get_mut().item));
                match w {
                    Write::Keep => {}
                    Write::Remove => {
                        o.remove();
                        *bytes -= before;
                        *expires -= usize::from(old_ttl.is_some());
                        return r;
                    }
                    Write::Put(item) => o.get_mut().item = item,
                }
                let e = o.get();
                *bytes = *bytes - before + e.heap();
                let new_ttl = e.item.expire_at;
                *expires =
                    *expires - usize::from(old_ttl.is_some()) + usize::from(new_ttl.is_some());
                (r, new_ttl.filter(|t| Some(*t) != old_ttl))
            }
            TableEntry::Vacant(v) => {
                let (w, r) = f(None);
                let Write::Put(item) = w else {
                    return r;
                };
                let e = Entry {
                    key: Box::from(key),
                    item,
                    access: AtomicU32::new(access_secs(now)),
                };
                *bytes += e.heap();
                let ttl = e.item.expire_at;
                *expires += usize::from(ttl.is_some());
                v.insert(e);
                (r, ttl)
            }
        };
        if let Some(t) = deadline {
            self.deadlines.push(Reverse((t.0, hash)));
            if self.deadlines.len() > 2 * self.expires + HEAP_REBUILD_SLACK {
                self.rebuild_deadlines(seed);
            }
        }
        r
    }

    fn rebuild_deadlines(&mut self, seed: u64) {
        self.deadlines = self
            .table
            .iter()
            .filter_map(|e| {
                Some(Reverse((
                    e.item.expire_at?.0,
                    xxh3_64_with_seed(&e.key, seed),
                )))
            })
            .collect();
    }

    /// Removes keys whose time has passed, earliest first, looking at no more than `max`
    /// deadline entries. Returns how many keys it removed.
    fn reap(&mut self, now: UnixMillis, max: usize) -> usize {
        let mut removed = 0;
        for _ in 0..max {
            let Some(&Reverse((t, hash))) = self.deadlines.peek() else {
                break;
            };
            if now.0 <= t {
                break;
            }
            self.deadlines.pop();
            // The entry is live only if a key with this hash still expires at exactly `t`.
            if let Ok(o) = self
                .table
                .find_entry(hash, |e| e.item.expire_at == Some(UnixMillis(t)))
            {
                let (old, _) = o.remove();
                self.bytes -= old.heap();
                self.expires -= 1;
                self.expired += 1;
                removed += 1;
            }
        }
        removed
    }
}

/// Default number of shards (a power of two).
pub const DEFAULT_SHARDS: usize = 256;

/// The keyspace. See the module documentation.
pub struct Db {
    shards: Box<[CachePadded<RwLock<Shard>>]>,
    seed: u64,
    mask: usize,
    /// Where the next active-expiry pass starts (shards are visited round-robin).
    reap_cursor: AtomicUsize,
}

impl core::fmt::Debug for Db {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Db")
            .field("shards", &self.shards.len())
            .finish()
    }
}

/// Write access to a set of keys whose shards are all locked at once: what multi-key
/// commands (MSET, MSETNX, RENAME, COPY) use to act atomically. See [`Db::multi`].
pub struct Multi<'a> {
    db: &'a Db,
    now: UnixMillis,
    guards: Vec<(usize, RwLockWriteGuard<'a, Shard>)>,
}

impl Multi<'_> {
    fn shard(&mut self, key: &[u8]) -> Option<(&mut Shard, u64)> {
        let hash = self.db.hash(key);
        let i = self.db.shard_index(hash);
        let pos = self.guards.binary_search_by_key(&i, |(j, _)| *j).ok()?;
        let (_, g) = self.guards.get_mut(pos)?;
        Some((&mut **g, hash))
    }

    /// As [`Db::write`], for one of the keys given to [`Db::multi`]; `None` (and `f` not
    /// called) for any other key.
    pub fn write<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> Option<R> {
        let (seed, now) = (self.db.seed, self.now);
        let (shard, hash) = self.shard(key)?;
        Some(shard.write(seed, key, hash, now, f))
    }

    /// A copy of the live item under `key` (one of the declared keys), if any.
    pub fn get(&mut self, key: &[u8]) -> Option<Item> {
        let now = self.now;
        let (shard, hash) = self.shard(key)?;
        shard
            .find(key, hash)
            .filter(|e| !e.item.is_expired(now))
            .map(|e| e.item.clone())
    }
}

impl Db {
    /// A keyspace of [`DEFAULT_SHARDS`] shards hashing with `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_shards(seed, DEFAULT_SHARDS)
    }

    /// A keyspace with `shards` shards (rounded up to a power of two, at least 1).
    pub fn with_shards(seed: u64, shards: usize) -> Self {
        let n = shards.max(1).next_power_of_two();
        Db {
            shards: (0..n)
                .map(|_| CachePadded(RwLock::new(Shard::default())))
                .collect(),
            seed,
            mask: n - 1,
            reap_cursor: AtomicUsize::new(0),
        }
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        xxh3_64_with_seed(key, self.seed)
    }

    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        (hash >> 32) as usize & self.mask
    }

    #[inline]
    #[allow(clippy::indexing_slicing)] // `shard_index` masks with `len - 1`, `len` a power of two.
    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[self.shard_index(hash)]
    }

    /// Reads `key` under the shard's read lock: `f` sees the live item, and its result is
    /// returned; `None` if the key is absent or expired.
    pub fn read<R>(&self, key: &[u8], now: UnixMillis, f: impl FnOnce(&Item) -> R) -> Option<R> {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        {
            let guard = shard.read();
            match guard.find(key, hash) {
                None => return None,
                Some(e) if !e.item.is_expired(now) => {
                    e.touch(now);
                    return Some(f(&e.item));
                }
                Some(_) => {}
            }
        }
        // Expired: remove it now, as Redis's lazy expiry does.
        shard
            .write()
            .write(self.seed, key, hash, now, |_| (Write::Keep, ()));
        None
    }

    /// Whether `key` exists (and has not expired) at `now`. Does not count as an access.
    pub fn exists(&self, key: &[u8], now: UnixMillis) -> bool {
        self.peek(key, now, |_, _| ()).is_some()
    }

    /// Reads `key` without counting an access (TYPE, TTL, EXISTS, OBJECT, MEMORY USAGE):
    /// `f` sees the live item and the entry's figures.
    pub fn peek<R>(
        &self,
        key: &[u8],
        now: UnixMillis,
        f: impl FnOnce(&Item, KeyStats) -> R,
    ) -> Option<R> {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        {
            let guard = shard.read();
            let e = guard.find(key, hash)?;
            if !e.item.is_expired(now) {
                let stats = KeyStats {
                    idle_secs: u64::from(
                        access_secs(now).wrapping_sub(e.access.load(Ordering::Relaxed)),
                    ),
                    bytes: size_of::<Entry>() + 1 + e.heap(),
                };
                return Some(f(&e.item, stats));
            }
        }
        // Expired: remove it now, as Redis's lazy expiry does.
        shard
            .write()
            .write(self.seed, key, hash, now, |_| (Write::Keep, ()));
        None
    }

    /// Reads, changes, inserts or removes `key` under the shard's write lock, in one step:
    /// `f` gets the live item (`None` if absent or expired) and says what to do.
    pub fn write<R>(
        &self,
        key: &[u8],
        now: UnixMillis,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        let hash = self.hash(key);
        self.shard(hash).write().write(self.seed, key, hash, now, f)
    }

    /// Locks the shards of all `keys` (each once, in index order, so two callers never
    /// deadlock) and runs `f` with write access to those keys: the multi-key commands'
    /// atomicity. At most [`DEFAULT_SHARDS`] locks are held.
    pub fn multi<R>(
        &self,
        keys: &[&[u8]],
        now: UnixMillis,
        f: impl FnOnce(&mut Multi<'_>) -> R,
    ) -> R {
        let mut idx: Vec<usize> = keys
            .iter()
            .map(|k| self.shard_index(self.hash(k)))
            .collect();
        idx.sort_unstable();
        idx.dedup();
        let guards = idx
            .into_iter()
            .filter_map(|i| Some((i, self.shards.get(i)?.write())))
            .collect();
        f(&mut Multi {
            db: self,
            now,
            guards,
        })
    }

    /// Swaps the whole contents of two keyspaces, atomically for every other caller: all
    /// shards of `first` are locked, then all of `second` (callers pass the lower database
    /// index first, which keeps one global lock order), then the shards are exchanged.
    pub fn swap_contents(first: &Db, second: &Db) {
        let mut a: Vec<_> = first.shards.iter().map(|s| s.write()).collect();
        let mut b: Vec<_> = second.shards.iter().map(|s| s.write()).collect();
        for (x, y) in a.iter_mut().zip(b.iter_mut()) {
            core::mem::swap(&mut **x, &mut **y);
        }
    }

    /// Moves `key` with its TTL from `src` to `dst` if it exists in `src` and not in `dst`
    /// (MOVE); both shards are held together, `lower` (the database with the lower index)
    /// locked first. Both keyspaces must share a seed and shard count.
    pub fn move_key(src: &Db, dst: &Db, src_is_lower: bool, key: &[u8], now: UnixMillis) -> bool {
        let hash = src.hash(key);
        let (mut gs, mut gd) = if src_is_lower {
            let gs = src.shard(hash).write();
            (gs, dst.shard(hash).write())
        } else {
            let gd = dst.shard(hash).write();
            (src.shard(hash).write(), gd)
        };
        if gd.find(key, hash).is_some_and(|e| !e.item.is_expired(now)) {
            return false;
        }
        let taken = gs.write(src.seed, key, hash, now, |item| match item {
            Some(item) => (Write::Remove, Some(item.take())),
            None => (Write::Keep, None),
        });
        match taken {
            Some(item) => {
                gd.write(dst.seed, key, hash, now, |_| (Write::Put(item), ()));
                true
            }
            None => false,
        }
    }

    /// Deletes `key`; true if it existed (and had not expired).
    pub fn remove(&self, key: &[u8], now: UnixMillis) -> bool {
        self.write(key, now, |item| match item {
            Some(_) => (Write::Remove, true),
            None => (Write::Keep, false),
        })
    }

    /// Active expiry: visits up to `shards` shards round-robin (shared by all callers) and
    /// removes from each the keys whose time has passed, earliest first, examining at most
    /// `per_shard` deadlines per shard. Returns the keys removed. Shards with nothing due
    /// cost a read lock and a peek.
    pub fn reap(&self, now: UnixMillis, shards: usize, per_shard: usize) -> usize {
        let mut removed = 0;
        for _ in 0..shards.min(self.shards.len()) {
            let i = self.reap_cursor.fetch_add(1, Ordering::Relaxed) & self.mask;
            let Some(shard) = self.shards.get(i) else {
                continue;
            };
            let due = shard
                .read()
                .deadlines
                .peek()
                .is_some_and(|Reverse((t, _))| now.0 > *t);
            if due {
                removed += shard.write().reap(now, per_shard);
            }
        }
        removed
    }

    /// Number of keys, counting expired keys not yet removed (as Redis's DBSIZE does).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().table.len()).sum()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys with a TTL.
    pub fn expires_len(&self) -> usize {
        self.shards.iter().map(|s| s.read().expires).sum()
    }

    /// The average time to live of the keys with a TTL, in milliseconds (0 without any):
    /// INFO keyspace's `avg_ttl`, computed exactly by walking the keys (Redis estimates it).
    pub fn avg_ttl(&self, now: UnixMillis) -> i64 {
        let (mut sum, mut n) = (0i128, 0i128);
        for s in self.shards.iter() {
            let g = s.read();
            if g.expires == 0 {
                continue;
            }
            for e in g.table.iter() {
                if let Some(t) = e.item.expire_at.filter(|t| *t >= now) {
                    sum += i128::from(t.0 - now.0);
                    n += 1;
                }
            }
        }
        if n == 0 {
            0
        } else {
            i64::try_from(sum / n).unwrap_or(i64::MAX)
        }
    }

    /// Keys removed so far because their TTL passed.
    pub fn expired_total(&self) -> usize {
        self.shards.iter().map(|s| s.read().expired).sum()
    }

    /// An estimate of the bytes the keyspace holds: table slots, deadline heaps, keys and
    /// values.
    pub fn mem_bytes(&self) -> usize {
        let slot = size_of::<Entry>() + 1;
        let deadline = size_of::<Reverse<(i64, u64)>>();
        let shards = self.shards.len() * size_of::<CachePadded<RwLock<Shard>>>();
        shards
            + self
                .shards
                .iter()
                .map(|s| {
                    let g = s.read();
                    g.table.capacity() * slot + g.deadlines.capacity() * deadline + g.bytes
                })
                .sum::<usize>()
    }

    /// Removes every key; returns how many there were. Each shard is emptied under its own
    /// lock, one at a time; counters of expired keys are kept.
    pub fn clear(&self) -> usize {
        let mut n = 0;
        for s in self.shards.iter() {
            let old = {
                let mut g = s.write();
                let expired = g.expired;
                core::mem::replace(
                    &mut *g,
                    Shard {
                        expired,
                        ..Shard::default()
                    },
                )
            };
            n += old.table.len();
            drop(old);
        }
        n
    }

    /// Calls `f` with every live key and item, one shard at a time under its read lock.
    pub fn for_each(&self, now: UnixMillis, mut f: impl FnMut(&[u8], &Item)) {
        for s in self.shards.iter() {
            let g = s.read();
            for e in g.table.iter() {
                if !e.item.is_expired(now) {
                    f(&e.key, &e.item);
                }
            }
        }
    }

    /// Calls `f` with every live key, one shard at a time under its read lock.
    pub fn for_each_key(&self, now: UnixMillis, mut f: impl FnMut(&[u8])) {
        self.for_each(now, |k, _| f(k));
    }

    /// The SCAN order of a key: its hash with the shard bits rotated to the top, so that a
    /// cursor walks the shards in turn and each shard in hash order. The order depends on
    /// nothing but the key and the seed, so a scan returns every key present for its whole
    /// length at least once, however the tables grow.
    fn scan_order(&self, hash: u64) -> u64 {
        let bits = self.mask.count_ones();
        hash.rotate_right(32 + bits)
    }

    /// One SCAN step: calls `f` with live keys whose scan order is at least `cursor`, in
    /// order, at least `count` of them unless the keyspace ends (keys of equal order always
    /// go together); returns the next cursor, 0 when the scan is complete. A step reads one
    /// shard at a time (under its read lock) and moves to the next only while it has found
    /// fewer than `count` keys.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: UnixMillis,
        mut f: impl FnMut(&[u8], &Item),
    ) -> u64 {
        let bits = self.mask.count_ones();
        let shard_of = |order: u64| {
            if bits == 0 {
                0
            } else {
                (order >> (64 - bits)) as usize
            }
        };
        let mut cursor = cursor;
        let mut found = 0usize;
        loop {
            let si = shard_of(cursor);
            let Some(shard) = self.shards.get(si) else {
                return 0;
            };
            let g = shard.read();
            // The `count` smallest scan orders >= cursor in this shard, plus ties.
            let mut picked: Vec<(u64, &Entry)> = g
                .table
                .iter()
                .filter(|e| !e.item.is_expired(now))
                .map(|e| (self.scan_order(self.hash(&e.key)), e))
                .filter(|(o, _)| *o >= cursor)
                .collect();
            picked.sort_unstable_by_key(|(o, _)| *o);
            let want = count.saturating_sub(found).max(1);
            let mut last = None;
            for (o, e) in &picked {
                if found >= want && last != Some(*o) {
                    // Stop at an order boundary so equal orders stay together.
                    return *o;
                }
                f(&e.key, &e.item);
                found += 1;
                last = Some(*o);
            }
            // This shard is done: continue from the next one.
            let next_shard = si + 1;
            if next_shard > self.mask {
                return 0;
            }
            cursor = (next_shard as u64) << (64 - bits);
            if found >= count {
                return cursor;
            }
        }
    }

    /// A key chosen at random with `r` (any 64-bit number): a random non-empty shard, then
    /// a random key in it. `None` when the keyspace holds no live key.
    pub fn random_key(&self, now: UnixMillis, mut r: u64) -> Option<Vec<u8>> {
        let n = self.shards.len();
        let start = (r as usize) & self.mask;
        for step in 0..n {
            let Some(shard) = self.shards.get((start + step) & self.mask) else {
                continue;
            };
            let g = shard.read();
            let live = g.table.iter().filter(|e| !e.item.is_expired(now)).count();
            if live == 0 {
                continue;
            }
            r = r.rotate_left(17) ^ 0x9E37_79B9_7F4A_7C15;
            let pick = (r % live as u64) as usize;
            return g
                .table
                .iter()
                .filter(|e| !e.item.is_expired(now))
                .nth(pick)
                .map(|e| e.key.to_vec());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use std::collections::HashMap;

    const T0: UnixMillis = UnixMillis(1_000_000);

    fn put(db: &Db, k: &[u8], v: &[u8], ttl: Option<i64>) {
        db.write(k, T0, |_| {
            (
                Write::Put(Item {
                    value: Value::Str(v.to_vec()),
                    expire_at: ttl.map(UnixMillis),
                }),
                (),
            )
        });
    }

    fn get(db: &Db, k: &[u8], now: UnixMillis) -> Option<Vec<u8>> {
        db.read(k, now, |i| match &i.value {
            Value::Str(s) => s.clone(),
            Value::ZSet(_) => Vec::new(),
        })
    }

    #[test]
    fn set_get_remove_and_accounting() {
        let db = Db::with_shards(7, 4);
        put(&db, b"a", b"1", None);
        put(&db, b"", b"empty key", None);
        put(&db, b"b\0\r\n", b"", Some(T0.0 + 10));
        assert_eq!(db.len(), 3);
        assert_eq!(db.expires_len(), 1);
        assert_eq!(get(&db, b"a", T0), Some(b"1".to_vec()));
        assert_eq!(get(&db, b"", T0), Some(b"empty key".to_vec()));
        // Overwriting without a TTL clears it.
        put(&db, b"b\0\r\n", b"x", None);
        assert_eq!(db.expires_len(), 0);
        assert!(db.remove(b"a", T0));
        assert!(!db.remove(b"a", T0));
        assert_eq!(db.len(), 2);
        assert_eq!(db.clear(), 2);
        assert!(db.is_empty());
        let bytes: usize = db.shards.iter().map(|s| s.read().bytes).sum();
        assert_eq!(bytes, 0);
    }

    #[test]
    fn expired_keys_are_invisible_and_removed_on_access() {
        let db = Db::with_shards(1, 2);
        put(&db, b"k", b"v", Some(T0.0 + 100));
        assert!(
            db.exists(b"k", UnixMillis(T0.0 + 100)),
            "not expired at its exact time"
        );
        assert!(!db.exists(b"k", UnixMillis(T0.0 + 101)));
        assert_eq!(db.len(), 0);
        assert_eq!(db.expired_total(), 1);
        assert_eq!(db.expires_len(), 0);
        // A write to an expired key sees it absent.
        put(&db, b"j", b"v", Some(T0.0 + 1));
        let seen = db.write(b"j", UnixMillis(T0.0 + 2), |i| (Write::Keep, i.is_some()));
        assert!(!seen);
        let mut keys = vec![];
        put(&db, b"x", b"v", Some(T0.0 + 1));
        put(&db, b"y", b"v", None);
        db.for_each_key(UnixMillis(T0.0 + 5), |k| keys.push(k.to_vec()));
        assert_eq!(keys, vec![b"y".to_vec()]);
    }

    /// Differential check against std's HashMap over a seeded random sequence.
    #[test]
    fn matches_a_model_over_random_operations() {
        let db = Db::with_shards(42, 8);
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = std::format!("k{}", x % 500).into_bytes();
            match (x >> 20) % 4 {
                0 | 1 => {
                    let v = std::format!("{}", x >> 30).into_bytes();
                    put(&db, &key, &v, None);
                    model.insert(key, v);
                }
                2 => assert_eq!(db.remove(&key, T0), model.remove(&key).is_some()),
                _ => assert_eq!(get(&db, &key, T0), model.get(&key).cloned()),
            }
        }
        assert_eq!(db.len(), model.len());
        let heap: usize = db.shards.iter().map(|s| s.read().bytes).sum();
        let expect: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert_eq!(heap, expect);
    }

    #[test]
    fn active_expiry_has_no_head_of_line_blocking() {
        // One shard, so every key shares one deadline heap: a short TTL inserted after
        // many long ones must still be reaped first.
        let db = Db::with_shards(5, 1);
        for i in 0..1000 {
            put(
                &db,
                std::format!("long{i}").as_bytes(),
                b"v",
                Some(T0.0 + 1_000_000),
            );
        }
        put(&db, b"short", b"v", Some(T0.0 + 500));
        assert_eq!(
            db.reap(UnixMillis(T0.0 + 500), 1, 10),
            0,
            "not due at its exact time"
        );
        assert_eq!(db.reap(UnixMillis(T0.0 + 501), 1, 10), 1);
        assert_eq!(db.len(), 1000);
        assert_eq!(db.expired_total(), 1);
        // Everything due goes, in bounded slices.
        let later = UnixMillis(T0.0 + 1_000_001);
        let mut removed = 0;
        for _ in 0..100 {
            removed += db.reap(later, 1, 64);
        }
        assert_eq!(removed, 1000);
        assert!(db.is_empty());
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn stale_deadlines_do_not_remove_live_keys_and_are_compacted() {
        let db = Db::with_shards(5, 1);
        // The TTL moves later many times: old heap entries must not delete the key.
        for i in 0..5000 {
            put(&db, b"k", b"v", Some(T0.0 + 10 + i));
        }
        assert!(db.shards[0].read().deadlines.len() <= 2 + HEAP_REBUILD_SLACK + 1);
        assert_eq!(db.reap(UnixMillis(T0.0 + 100), 1, 10_000), 0);
        assert!(db.exists(b"k", UnixMillis(T0.0 + 100)));
        // A key whose TTL was removed is never reaped.
        put(&db, b"p", b"v", Some(T0.0 + 5));
        db.write(b"p", T0, |i| {
            if let Some(i) = i {
                i.expire_at = None;
            }
            (Write::Keep, ())
        });
        assert_eq!(db.reap(UnixMillis(T0.0 + 6), 1, 100), 0);
        assert!(db.exists(b"p", UnixMillis(T0.0 + 1_000_000)));
    }

    #[test]
    fn multi_key_writes_are_atomic_per_call() {
        let db = Db::with_shards(9, 16);
        put(&db, b"a", b"1", None);
        let keys: [&[u8]; 3] = [b"a", b"b", b"c"];
        let seen = db.multi(&keys, T0, |m| {
            assert!(m.get(b"a").is_some());
            assert!(m.get(b"b").is_none());
            m.write(b"b", |_| {
                (Write::Put(Item::new(Value::Str(b"2".to_vec()))), ())
            });
            m.write(b"a", |_| (Write::Remove, ()));
            // A key outside the declared set is refused, not locked behind our back.
            m.write(b"undeclared-key-zzz", |_| (Write::Keep, ()))
                .is_none()
                || db.shard_index(db.hash(b"undeclared-key-zzz")) == db.shard_index(db.hash(b"a"))
        });
        assert!(seen);
        assert!(!db.exists(b"a", T0));
        assert!(db.exists(b"b", T0));
    }

    #[test]
    fn scan_returns_every_key_present_throughout_even_while_tables_grow() {
        let db = Db::with_shards(11, 8);
        for i in 0..500 {
            put(&db, std::format!("old{i}").as_bytes(), b"v", None);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = db.scan(cursor, 7, T0, |k, _| {
                seen.insert(k.to_vec());
            });
            // Grow the tables between steps (slower than the scan advances).
            for j in 0..3 {
                put(&db, std::format!("new{step}-{j}").as_bytes(), b"v", None);
            }
            step += 1;
            if cursor == 0 {
                break;
            }
            assert!(step < 10_000, "scan does not terminate");
        }
        for i in 0..500 {
            assert!(
                seen.contains(std::format!("old{i}").as_bytes()),
                "old{i} missed"
            );
        }
    }

    #[test]
    fn random_key_finds_live_keys_only() {
        let db = Db::with_shards(3, 8);
        assert_eq!(db.random_key(T0, 1), None);
        put(&db, b"dead", b"v", Some(T0.0 - 1));
        assert_eq!(db.random_key(T0, 1), None);
        put(&db, b"live", b"v", None);
        for r in 0..50 {
            assert_eq!(db.random_key(T0, r), Some(b"live".to_vec()));
        }
    }
}
