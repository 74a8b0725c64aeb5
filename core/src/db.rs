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

use crate::sync::{CachePadded, RwLock};
use crate::time::UnixMillis;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::size_of;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A value stored under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string (binary-safe bytes).
    Str(Vec<u8>),
}

impl Value {
    /// Bytes this value holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(v) => v.capacity(),
        }
    }

    /// The name TYPE answers for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }
}

/// A value and its expiry time.
#[derive(Clone, Debug, PartialEq, Eq)]
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

    /// Whether the key is logically gone at `now`.
    #[inline]
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        self.expire_at.is_some_and(|t| now > t)
    }
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
}

impl Entry {
    /// Heap bytes this entry owns (the table slot itself is counted by capacity).
    fn heap(&self) -> usize {
        self.key.len() + self.item.value.heap_bytes()
    }
}

#[derive(Default)]
struct Shard {
    table: HashTable<Entry>,
    /// Keys with a TTL.
    expires: usize,
    /// Heap bytes of keys and values.
    heap: usize,
    /// Keys removed because their TTL passed.
    expired: usize,
}

/// Default number of shards (a power of two).
pub const DEFAULT_SHARDS: usize = 256;

/// The keyspace. See the module documentation.
pub struct Db {
    shards: Box<[CachePadded<RwLock<Shard>>]>,
    seed: u64,
    mask: usize,
}

impl core::fmt::Debug for Db {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Db")
            .field("shards", &self.shards.len())
            .finish()
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
        }
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        xxh3_64_with_seed(key, self.seed)
    }

    #[inline]
    #[allow(clippy::indexing_slicing)] // `mask` is `len - 1` with `len` a power of two.
    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[(hash >> 32) as usize & self.mask]
    }

    /// Reads `key` under the shard's read lock: `f` sees the live item, and its result is
    /// returned; `None` if the key is absent or expired.
    pub fn read<R>(&self, key: &[u8], now: UnixMillis, f: impl FnOnce(&Item) -> R) -> Option<R> {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        {
            let guard = shard.read();
            match guard.table.find(hash, |e| *e.key == *key) {
                None => return None,
                Some(e) if !e.item.is_expired(now) => return Some(f(&e.item)),
                Some(_) => {}
            }
        }
        // Expired: remove it now, as Redis's lazy expiry does.
        self.write_hashed(key, hash, now, |_| (Write::Keep, ()));
        None
    }

    /// Whether `key` exists (and has not expired) at `now`.
    pub fn exists(&self, key: &[u8], now: UnixMillis) -> bool {
        self.read(key, now, |_| ()).is_some()
    }

    /// Reads, changes, inserts or removes `key` under the shard's write lock, in one step:
    /// `f` gets the live item (`None` if absent or expired) and says what to do.
    pub fn write<R>(
        &self,
        key: &[u8],
        now: UnixMillis,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        self.write_hashed(key, self.hash(key), now, f)
    }

    fn write_hashed<R>(
        &self,
        key: &[u8],
        hash: u64,
        now: UnixMillis,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        let seed = self.seed;
        let mut guard = self.shard(hash).write();
        let Shard {
            table,
            expires,
            heap,
            expired,
        } = &mut *guard;
        let entry = table.entry(
            hash,
            |e| *e.key == *key,
            |e| xxh3_64_with_seed(&e.key, seed),
        );
        let entry = match entry {
            TableEntry::Occupied(o) if o.get().item.is_expired(now) => {
                let (old, vacant) = o.remove();
                *heap -= old.heap();
                *expires -= 1;
                *expired += 1;
                TableEntry::Vacant(vacant)
            }
            other => other,
        };
        match entry {
            TableEntry::Occupied(mut o) => {
                let had_ttl = usize::from(o.get().item.expire_at.is_some());
                let before = o.get().heap();
                let (w, r) = f(Some(&mut o.get_mut().item));
                match w {
                    Write::Keep => {}
                    Write::Remove => {
                        o.remove();
                        *heap -= before;
                        *expires -= had_ttl;
                        return r;
                    }
                    Write::Put(item) => o.get_mut().item = item,
                }
                let e = o.get();
                *heap = *heap - before + e.heap();
                *expires = *expires - had_ttl + usize::from(e.item.expire_at.is_some());
                r
            }
            TableEntry::Vacant(v) => {
                let (w, r) = f(None);
                if let Write::Put(item) = w {
                    let e = Entry {
                        key: Box::from(key),
                        item,
                    };
                    *heap += e.heap();
                    *expires += usize::from(e.item.expire_at.is_some());
                    v.insert(e);
                }
                r
            }
        }
    }

    /// Deletes `key`; true if it existed (and had not expired).
    pub fn remove(&self, key: &[u8], now: UnixMillis) -> bool {
        self.write(key, now, |item| match item {
            Some(_) => (Write::Remove, true),
            None => (Write::Keep, false),
        })
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

    /// Keys removed so far because their TTL passed.
    pub fn expired_total(&self) -> usize {
        self.shards.iter().map(|s| s.read().expired).sum()
    }

    /// An estimate of the bytes the keyspace holds: table slots plus keys and values.
    pub fn mem_bytes(&self) -> usize {
        let slot = size_of::<Entry>() + 1;
        let shards = self.shards.len() * size_of::<CachePadded<RwLock<Shard>>>();
        shards
            + self
                .shards
                .iter()
                .map(|s| {
                    let g = s.read();
                    g.table.capacity() * slot + g.heap
                })
                .sum::<usize>()
    }

    /// Removes every key; returns how many there were. Each shard is emptied under its own
    /// lock, one at a time.
    pub fn clear(&self) -> usize {
        let mut n = 0;
        for s in self.shards.iter() {
            let old = core::mem::take(&mut *s.write());
            n += old.table.len();
            drop(old);
        }
        n
    }

    /// Calls `f` with every live key, one shard at a time under its read lock.
    pub fn for_each_key(&self, now: UnixMillis, mut f: impl FnMut(&[u8])) {
        for s in self.shards.iter() {
            let g = s.read();
            for e in g.table.iter() {
                if !e.item.is_expired(now) {
                    f(&e.key);
                }
            }
        }
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
        let heap: usize = db.shards.iter().map(|s| s.read().heap).sum();
        assert_eq!(heap, 0);
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
        let heap: usize = db.shards.iter().map(|s| s.read().heap).sum();
        let expect: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert_eq!(heap, expect);
    }
}
