//! The keyspace's concurrent hash map: hopscotch tables ([`table::HopTable`]) behind lock
//! striping.
//!
//! A [`HopMap`] is a fixed power-of-two number of *segments*, each a [`crate::sync::RwLock`]
//! around one hopscotch table and a caller-chosen `X` of per-segment state (the keyspace
//! keeps its expiry heap and counters there). Keys are hashed once with XXH3-64 under a seed
//! the caller injects ([`KeyHash`]); bits 32.. pick the segment, the low 32 bits the home
//! bucket, the top 8 the bucket tag, so the three never correlate.
//!
//! Concurrency: any number of readers of a segment at once, one writer; operations on
//! different segments never wait for each other. A read runs a closure under the segment's
//! read lock, so a GET copies the value straight into the reply without cloning it, and no
//! memory is read after it may have been freed (nothing is freed while a reader holds the
//! lock). Growth is per segment and happens entirely under that segment's write lock: an
//! insert re-checks for growth *inside* the lock, a removal and a growth of one segment are
//! serialized, and there is no migration state to help along, so none of the classic
//! concurrent-resize races (a write landing in the old array, a deleted key reappearing, a
//! table swapped twice) can occur; the shuttle tests in this module exercise exactly those
//! interleavings anyway. No operation takes two segment locks, except callers that lock
//! several on purpose ([`HopMap::write_segment`] in ascending index order).
//!
//! Iteration for KEYS and SCAN: [`HopMap::scan`] orders keys by their hash with the segment
//! bits rotated to the top, which depends on nothing but the key and the seed; so a scan
//! returns every key present for its whole length at least once, however tables grow or
//! shrink in between.

pub mod table;

#[cfg(all(test, not(kv_shuttle)))]
mod tests;

#[cfg(all(test, kv_shuttle))]
mod shuttle_tests;

pub use table::{freed_array_bytes, HopTable, Slot};

use crate::sync::{CachePadded, RwLock, RwLockReadGuard, RwLockWriteGuard};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::mem::size_of;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Segments a map has by default.
pub const DEFAULT_SEGMENTS: usize = 256;
/// The most segments a map may have (segment bits are taken from hash bits 32..48).
pub const MAX_SEGMENTS: usize = 1 << 16;

/// A key the map can hash: XXH3-64 of its bytes under the map's seed. A key type and the
/// types it borrows as must hash alike (`Box<[u8]>` and `[u8]` do).
pub trait KeyHash {
    /// The key's hash under `seed`.
    fn key_hash(&self, seed: u64) -> u64;
}

impl KeyHash for [u8] {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        xxh3_64_with_seed(self, seed)
    }
}

impl<const N: usize> KeyHash for [u8; N] {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        xxh3_64_with_seed(self, seed)
    }
}

impl KeyHash for Box<[u8]> {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        xxh3_64_with_seed(self, seed)
    }
}

impl KeyHash for Vec<u8> {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        xxh3_64_with_seed(self, seed)
    }
}

impl KeyHash for u64 {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        xxh3_64_with_seed(&self.to_le_bytes(), seed)
    }
}

impl KeyHash for u32 {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        xxh3_64_with_seed(&self.to_le_bytes(), seed)
    }
}

/// What a [`HopMap::compute`] closure decides.
#[derive(Debug)]
pub enum Compute<V> {
    /// Leave the entry as the closure left it (changed in place, or absent).
    Keep,
    /// Remove the entry.
    Remove,
    /// Store this value, replacing any old one.
    Put(V),
}

/// One segment: a hopscotch table of `(key, value)` and the caller's per-segment state.
/// Reached through [`HopMap::read_segment`] and [`HopMap::write_segment`].
pub struct Segment<K, V, X = ()> {
    table: HopTable<(K, V)>,
    seed: u64,
    /// Per-segment state of the caller's, guarded by the same lock.
    pub extra: X,
}

impl<K, V, X: core::fmt::Debug> core::fmt::Debug for Segment<K, V, X> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Segment")
            .field("table", &self.table)
            .field("extra", &self.extra)
            .finish()
    }
}

impl<K: KeyHash, V, X> Segment<K, V, X> {
    fn new(seed: u64, capacity: usize, extra: X) -> Self {
        Segment {
            table: HopTable::with_capacity(capacity),
            seed,
            extra,
        }
    }

    /// Entries in this segment.
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the segment is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The seed this segment's keys are hashed with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The segment's table (capacity, resizes, invariant checks).
    pub fn table(&self) -> &HopTable<(K, V)> {
        &self.table
    }

    /// Finds `key` (whose hash is `hash`).
    #[inline]
    pub fn find<Q>(&self, hash: u64, key: &Q) -> Option<Slot>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.table.find(hash, |(k, _)| k.borrow() == key)
    }

    /// Finds an entry with this hash for which `f` holds.
    #[inline]
    pub fn find_with(&self, hash: u64, mut f: impl FnMut(&K, &V) -> bool) -> Option<Slot> {
        self.table.find(hash, |(k, v)| f(k, v))
    }

    /// Finds an entry for which `f` holds among those whose hashes' low 32 bits begin with
    /// `prefix` ([`HopTable::find_by_prefix`]).
    pub fn find_by_prefix(&self, prefix: u32, mut f: impl FnMut(&K, &V) -> bool) -> Option<Slot> {
        self.table.find_by_prefix(prefix, |(k, v)| f(k, v))
    }

    /// The entry at `slot`.
    #[inline]
    pub fn get(&self, slot: Slot) -> Option<(&K, &V)> {
        self.table.get(slot).map(|(k, v)| (k, v))
    }

    /// The value at `slot`, to change in place.
    #[inline]
    pub fn value_mut(&mut self, slot: Slot) -> Option<&mut V> {
        self.table.get_mut(slot).map(|(_, v)| v)
    }

    /// The key at `slot`, to change in place. The change must leave the key's hash as it
    /// was (the keyspace keeps its whole entry in the key, with `()` for the value).
    #[inline]
    pub fn key_mut(&mut self, slot: Slot) -> Option<&mut K> {
        self.table.get_mut(slot).map(|(k, _)| k)
    }

    /// Every key of this segment, to change in place (without changing its hash).
    pub fn keys_mut(&mut self) -> impl Iterator<Item = &mut K> + '_ {
        self.table.iter_mut().map(|(k, _)| k)
    }

    /// Inserts a key the caller knows is absent (it just looked under this same lock).
    /// May grow this segment's table.
    #[inline]
    pub fn insert_new(&mut self, hash: u64, key: K, value: V) -> Slot {
        let seed = self.seed;
        self.table
            .insert_unique(hash, (key, value), |(k, _)| k.key_hash(seed))
    }

    /// Removes the entry at `slot` (and shrinks the table if that left it nearly empty).
    pub fn remove(&mut self, slot: Slot) -> Option<(K, V)> {
        let kv = self.table.remove(slot)?;
        let seed = self.seed;
        self.table.maybe_shrink(|(k, _)| k.key_hash(seed));
        Some(kv)
    }

    /// An entry picked at random with the numbers `next` gives ([`HopTable::random`]).
    pub fn random(&self, next: impl FnMut() -> u64) -> Option<(&K, &V)> {
        self.table.random(next).map(|(k, v)| (k, v))
    }

    /// Every entry of this segment.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.table.iter().map(|(k, v)| (k, v))
    }

    /// Every entry of this segment, values to change in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> + '_ {
        self.table.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Empties the segment and returns its old table, to drop outside the lock.
    pub fn take(&mut self) -> HopTable<(K, V)> {
        self.table.take()
    }

    /// Grows the table so that `additional` more entries fit without another growth.
    pub fn reserve(&mut self, additional: usize) {
        let want = self.table.len() + additional;
        if want * table::MAX_LOAD.1 > self.table.capacity() * table::MAX_LOAD.0 {
            let mut new = HopTable::with_capacity(want);
            let seed = self.seed;
            for kv in self.table.take().into_entries() {
                let h = kv.0.key_hash(seed);
                new.insert_unique(h, kv, |(k, _)| k.key_hash(seed));
            }
            self.table = new;
        }
    }

    /// Checks the table's invariants (tests and debugging).
    pub fn check(&self) -> Result<(), &'static str> {
        let seed = self.seed;
        self.table.check(|(k, _)| k.key_hash(seed))
    }
}

/// A segment behind its lock, alone on its cache lines.
type Locked<K, V, X> = CachePadded<RwLock<Segment<K, V, X>>>;

/// A concurrent hash map of hopscotch tables behind lock striping; see the module docs.
pub struct HopMap<K, V, X = ()> {
    seed: u64,
    mask: usize,
    segments: Box<[Locked<K, V, X>]>,
}

impl<K, V, X> core::fmt::Debug for HopMap<K, V, X> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HopMap")
            .field("segments", &self.segments.len())
            .finish()
    }
}

impl<K: KeyHash + Eq, V, X: Default> HopMap<K, V, X> {
    /// A map of [`DEFAULT_SEGMENTS`] segments hashing with `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_segments(seed, DEFAULT_SEGMENTS)
    }

    /// A map of `segments` segments (rounded up to a power of two, 1 to [`MAX_SEGMENTS`]).
    pub fn with_segments(seed: u64, segments: usize) -> Self {
        Self::with_capacity(seed, segments, 0)
    }

    /// A map of `segments` segments with room for about `capacity` entries before any
    /// segment grows.
    pub fn with_capacity(seed: u64, segments: usize, capacity: usize) -> Self {
        let n = segments.clamp(1, MAX_SEGMENTS).next_power_of_two();
        let per = capacity.div_ceil(n);
        HopMap {
            seed,
            mask: n - 1,
            segments: (0..n)
                .map(|_| CachePadded(RwLock::new(Segment::new(seed, per, X::default()))))
                .collect(),
        }
    }
}

impl<K: KeyHash + Eq, V, X> HopMap<K, V, X> {
    /// The seed keys are hashed with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The number of segments (a power of two).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The hash of `key`.
    #[inline]
    pub fn hash<Q: KeyHash + ?Sized>(&self, key: &Q) -> u64 {
        key.key_hash(self.seed)
    }

    /// The segment that holds keys of this hash.
    #[inline]
    pub fn segment_of(&self, hash: u64) -> usize {
        ((hash >> 32) as usize) & self.mask
    }

    #[inline]
    #[allow(clippy::indexing_slicing)] // `i & mask < len`: the length is `mask + 1`.
    fn lock(&self, i: usize) -> &RwLock<Segment<K, V, X>> {
        &self.segments[i & self.mask]
    }

    /// Locks segment `i` (masked into range) for reading.
    #[inline]
    pub fn read_segment(&self, i: usize) -> RwLockReadGuard<'_, Segment<K, V, X>> {
        self.lock(i).read()
    }

    /// Locks segment `i` (masked into range) for writing. A caller that holds several
    /// segments at once must lock them in ascending index order.
    #[inline]
    pub fn write_segment(&self, i: usize) -> RwLockWriteGuard<'_, Segment<K, V, X>> {
        self.lock(i).write()
    }

    /// Runs `f` on the value of `key` under the segment's read lock.
    #[inline]
    pub fn get<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: KeyHash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let g = self.read_segment(self.segment_of(hash));
        let slot = g.find(hash, key)?;
        g.get(slot).map(|(_, v)| f(v))
    }

    /// Whether `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: KeyHash + Eq + ?Sized,
    {
        self.get(key, |_| ()).is_some()
    }

    /// Inserts or replaces; returns the old value.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        let hash = self.hash(&key);
        let mut g = self.write_segment(self.segment_of(hash));
        match g.find(hash, &key) {
            Some(slot) => g.value_mut(slot).map(|v| core::mem::replace(v, value)),
            None => {
                g.insert_new(hash, key, value);
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: KeyHash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut g = self.write_segment(self.segment_of(hash));
        let slot = g.find(hash, key)?;
        g.remove(slot).map(|(_, v)| v)
    }

    /// Reads, changes, inserts or removes `key` in one step under the segment's write
    /// lock: `f` sees the value (or `None`) and says what to do; its result is returned.
    /// `key` is stored only if `f` puts a value under an absent key.
    pub fn compute<R>(&self, key: K, f: impl FnOnce(Option<&mut V>) -> (Compute<V>, R)) -> R {
        let hash = self.hash(&key);
        let mut g = self.write_segment(self.segment_of(hash));
        match g.find(hash, &key) {
            Some(slot) => {
                let (what, r) = f(g.value_mut(slot));
                match what {
                    Compute::Keep => {}
                    Compute::Remove => {
                        g.remove(slot);
                    }
                    Compute::Put(v) => {
                        if let Some(old) = g.value_mut(slot) {
                            *old = v;
                        }
                    }
                }
                r
            }
            None => {
                let (what, r) = f(None);
                if let Compute::Put(v) = what {
                    g.insert_new(hash, key, v);
                }
                r
            }
        }
    }

    /// Find-or-insert: runs `f` on the value of `key`, first inserting `make()` if the key
    /// is absent. When the key is present, `make` is not called and `key` is dropped.
    pub fn get_or_insert_with<R>(
        &self,
        key: K,
        make: impl FnOnce() -> V,
        f: impl FnOnce(&mut V) -> R,
    ) -> R {
        let hash = self.hash(&key);
        let mut g = self.write_segment(self.segment_of(hash));
        if let Some(v) = g.find(hash, &key).and_then(|slot| g.value_mut(slot)) {
            return f(v);
        }
        // Absent: `f` runs on the new value before it goes in, under the same lock.
        let mut v = make();
        let r = f(&mut v);
        g.insert_new(hash, key, v);
        r
    }

    /// Entries in the map (each segment read in turn: a moving figure under writes).
    pub fn len(&self) -> usize {
        self.segments.iter().map(|s| s.read().len()).sum()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.read().is_empty())
    }

    /// Removes every entry, one segment at a time (old tables are dropped outside the
    /// locks); returns how many there were.
    pub fn clear(&self) -> usize {
        let mut n = 0;
        for s in self.segments.iter() {
            let old = s.write().take();
            n += old.len();
            drop(old);
        }
        n
    }

    /// Calls `f` with every entry, one segment at a time under its read lock.
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for s in self.segments.iter() {
            let g = s.read();
            for (k, v) in g.iter() {
                f(k, v);
            }
        }
    }

    /// Bytes of one segment itself (its lock and state, not its table).
    pub fn segment_overhead(&self) -> usize {
        size_of::<Locked<K, V, X>>()
    }

    /// Bytes the map has allocated: segments and tables, not what keys and values own.
    pub fn allocated_bytes(&self) -> usize {
        self.segments.len() * size_of::<Locked<K, V, X>>()
            + self
                .segments
                .iter()
                .map(|s| s.read().table.allocated_bytes())
                .sum::<usize>()
    }

    /// The scan order of a hash: the segment bits rotated to the top, so a cursor walks
    /// the segments in turn and each segment in hash order.
    #[inline]
    pub fn scan_order(&self, hash: u64) -> u64 {
        hash.rotate_right(32 + self.mask.count_ones())
    }

    /// One cursor step: calls `f` with entries whose scan order is at least `cursor`, in
    /// order, at least `count` of them unless the map ends (entries of equal order always go
    /// together), skipping those `skip` rejects (they do not count); returns the next
    /// cursor, 0 when the iteration is complete. Reads one segment at a time under its read
    /// lock, and moves to the next only while it has found fewer than `count`. Every key
    /// present from the first step (cursor 0) to the last is returned at least once.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        mut skip: impl FnMut(&K, &V) -> bool,
        mut f: impl FnMut(&K, &V),
    ) -> u64 {
        let bits = self.mask.count_ones();
        let segment_of = |order: u64| {
            if bits == 0 {
                0
            } else {
                (order >> (64 - bits)) as usize
            }
        };
        let mut cursor = cursor;
        let mut found = 0usize;
        loop {
            let si = segment_of(cursor);
            let Some(seg) = self.segments.get(si) else {
                return 0;
            };
            let g = seg.read();
            let mut picked: Vec<(u64, &K, &V)> = g
                .iter()
                .filter(|(k, v)| !skip(k, v))
                .map(|(k, v)| (self.scan_order(k.key_hash(self.seed)), k, v))
                .filter(|(o, _, _)| *o >= cursor)
                .collect();
            picked.sort_unstable_by_key(|(o, _, _)| *o);
            let want = count.saturating_sub(found).max(1);
            let mut taken = 0usize;
            let mut last = None;
            for (o, k, v) in &picked {
                if taken >= want && last != Some(*o) {
                    // Stop at an order boundary so equal orders stay together.
                    return *o;
                }
                f(k, v);
                taken += 1;
                last = Some(*o);
            }
            found += taken;
            let next = si + 1;
            if next > self.mask {
                return 0;
            }
            cursor = (next as u64) << (64 - bits);
            if found >= count {
                return cursor;
            }
        }
    }
}
