//! The concurrent map alone, against the alternatives: kv-core's hopscotch `HopMap`, the
//! foundation's baseline (256 shards of `RwLock<hashbrown::HashTable>`, XXH3, the same
//! locks as kv-core), `dashmap` (its default SipHash hasher, and again with one-shot XXH3
//! so that the hasher is not the difference), and `papaya` (its default hasher).
//!
//! Workloads on 1M `u64 -> u64` keys, at 1 and 2 threads (and 4 and 8 where the machine has
//! the cores: `KV_MAP_THREADS=1,2,4,8`):
//! - `read-heavy`: 90% get / 10% upsert of random keys in a map prefilled with 1M keys;
//! - `write-heavy`: 50% get / 50% upsert, same map;
//! - `insert-growth`: 1M distinct inserts into an empty map (threads take disjoint keys);
//! - `remove-heavy`: removing all 1M keys of a prefilled map (disjoint keys per thread;
//!   every removal must find its key).
//!
//! Before the timings it prints bytes per entry for 1M entries of a 16-byte key and a
//! 16-byte value, measured by a counting allocator (what each map allocates, in total).
//!
//! Run: `cargo bench -p kv-benches --bench map` (criterion options after `--`, e.g.
//! `-- read-heavy`), then `benches/map_table.py` for the table; `KV_MAP_KEYS` changes the
//! key count, `KV_MAP_MEMORY=0` skips the memory table.
#![allow(missing_docs)]

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode, Throughput};
use kv_core::map::{HopMap, KeyHash};
use kv_core::sync::RwLock;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::hash::{BuildHasher, Hasher};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Counts heap bytes, for the memory table.
#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SEED: u64 = 0x5EED_1234_ABCD_0042;

fn keys() -> u64 {
    std::env::var("KV_MAP_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn thread_counts() -> Vec<usize> {
    std::env::var("KV_MAP_THREADS")
        .ok()
        .map(|s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2])
}

/// What every map offers the workloads.
trait Map<K, V>: Send + Sync + 'static {
    const NAME: &'static str;
    fn make() -> Self;
    fn get(&self, k: &K) -> Option<V>;
    fn upsert(&self, k: K, v: V);
    fn remove(&self, k: &K) -> bool;
}

impl<K: KeyHash + Eq + Send + Sync + 'static, V: Copy + Send + Sync + 'static> Map<K, V>
    for HopMap<K, V>
{
    const NAME: &'static str = "hopscotch";
    fn make() -> Self {
        HopMap::new(SEED)
    }
    fn get(&self, k: &K) -> Option<V> {
        HopMap::get(self, k, |v| *v)
    }
    fn upsert(&self, k: K, v: V) {
        self.insert(k, v);
    }
    fn remove(&self, k: &K) -> bool {
        HopMap::remove(self, k).is_some()
    }
}

/// One shard of the baseline.
type BaselineShard<K, V> = RwLock<hashbrown::HashTable<(K, V)>>;

/// The foundation's keyspace design: shards of hashbrown tables under kv-core's locks.
struct Baseline<K, V> {
    shards: Box<[BaselineShard<K, V>]>,
}

impl<K: KeyHash, V> Baseline<K, V> {
    fn hash(k: &K) -> u64 {
        k.key_hash(SEED)
    }
    fn shard(&self, h: u64) -> &BaselineShard<K, V> {
        &self.shards[(h >> 32) as usize & (self.shards.len() - 1)]
    }
}

impl<K: KeyHash + Eq + Send + Sync + 'static, V: Copy + Send + Sync + 'static> Map<K, V>
    for Baseline<K, V>
{
    const NAME: &'static str = "baseline";
    fn make() -> Self {
        Baseline {
            shards: (0..256)
                .map(|_| RwLock::new(hashbrown::HashTable::new()))
                .collect(),
        }
    }
    fn get(&self, k: &K) -> Option<V> {
        let h = Self::hash(k);
        self.shard(h)
            .read()
            .find(h, |(x, _)| x == k)
            .map(|(_, v)| *v)
    }
    fn upsert(&self, k: K, v: V) {
        let h = Self::hash(&k);
        let mut g = self.shard(h).write();
        match g.entry(h, |(x, _)| *x == k, |(x, _)| Self::hash(x)) {
            hashbrown::hash_table::Entry::Occupied(mut o) => o.get_mut().1 = v,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert((k, v));
            }
        }
    }
    fn remove(&self, k: &K) -> bool {
        let h = Self::hash(k);
        let mut g = self.shard(h).write();
        match g.find_entry(h, |(x, _)| x == k) {
            Ok(o) => {
                o.remove();
                true
            }
            Err(_) => false,
        }
    }
}

struct Dash<K, V>(dashmap::DashMap<K, V>);

impl<K: std::hash::Hash + Eq + Send + Sync + 'static, V: Copy + Send + Sync + 'static> Map<K, V>
    for Dash<K, V>
{
    const NAME: &'static str = "dashmap";
    fn make() -> Self {
        Dash(dashmap::DashMap::new())
    }
    fn get(&self, k: &K) -> Option<V> {
        self.0.get(k).map(|r| *r)
    }
    fn upsert(&self, k: K, v: V) {
        self.0.insert(k, v);
    }
    fn remove(&self, k: &K) -> bool {
        self.0.remove(k).is_some()
    }
}

/// XXH3-64 of the bytes a key writes, in one shot (as kv-core hashes): the bytes are
/// buffered (keys here write at most 24) and hashed in `finish`. xxhash-rust's own
/// streaming `Xxh3` hasher costs several times more per small key.
#[derive(Clone, Copy)]
struct OneShotXxh3;

struct OneShotHasher {
    buf: [u8; 64],
    len: usize,
    seed: u64,
}

impl BuildHasher for OneShotXxh3 {
    type Hasher = OneShotHasher;
    fn build_hasher(&self) -> OneShotHasher {
        OneShotHasher {
            buf: [0; 64],
            len: 0,
            seed: SEED,
        }
    }
}

impl Hasher for OneShotHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(64) {
            if self.len + chunk.len() > 64 {
                // Longer keys: fold the buffer into the seed and start again.
                self.seed = xxh3_64_with_seed(&self.buf[..self.len], self.seed);
                self.len = 0;
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
    }
    fn finish(&self) -> u64 {
        xxh3_64_with_seed(&self.buf[..self.len], self.seed)
    }
}

struct DashXxh3<K, V>(dashmap::DashMap<K, V, OneShotXxh3>);

impl<K: std::hash::Hash + Eq + Send + Sync + 'static, V: Copy + Send + Sync + 'static> Map<K, V>
    for DashXxh3<K, V>
{
    const NAME: &'static str = "dashmap-xxh3";
    fn make() -> Self {
        DashXxh3(dashmap::DashMap::with_hasher(OneShotXxh3))
    }
    fn get(&self, k: &K) -> Option<V> {
        self.0.get(k).map(|r| *r)
    }
    fn upsert(&self, k: K, v: V) {
        self.0.insert(k, v);
    }
    fn remove(&self, k: &K) -> bool {
        self.0.remove(k).is_some()
    }
}

struct Papaya<K, V>(papaya::HashMap<K, V>);

impl<K: std::hash::Hash + Eq + Send + Sync + 'static, V: Copy + Send + Sync + 'static> Map<K, V>
    for Papaya<K, V>
{
    const NAME: &'static str = "papaya";
    fn make() -> Self {
        Papaya(papaya::HashMap::new())
    }
    fn get(&self, k: &K) -> Option<V> {
        self.0.pin().get(k).copied()
    }
    fn upsert(&self, k: K, v: V) {
        self.0.pin().insert(k, v);
    }
    fn remove(&self, k: &K) -> bool {
        self.0.pin().remove(k).is_some()
    }
}

/// xorshift64*: a cheap per-thread generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Runs `work(thread, ops)` on `threads` threads at once; returns the wall time from the
/// common start to the last finish.
fn timed<M: Send + Sync + 'static>(
    map: &Arc<M>,
    threads: usize,
    work: impl Fn(&M, usize) + Send + Sync + Clone + 'static,
) -> Duration {
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (map, start, work) = (map.clone(), start.clone(), work.clone());
            std::thread::spawn(move || {
                start.wait();
                work(&map, t);
            })
        })
        .collect();
    start.wait();
    let t0 = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    t0.elapsed()
}

/// The `i`-th key of the bulk workloads: scrambled, so that inserts do not arrive in hash
/// order.
fn bulk_key(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 4
}

/// A map holding `key(0) .. key(n - 1)`.
fn prefilled<M: Map<u64, u64>>(n: u64, key: fn(u64) -> u64) -> Arc<M> {
    let m = M::make();
    for i in 0..n {
        m.upsert(key(i), i);
    }
    Arc::new(m)
}

/// `get_percent`% gets, the rest upserts, of random keys among `n`; criterion's `iters`
/// operations split over the threads.
fn mixed<M: Map<u64, u64>>(c: &mut Criterion, workload: &str, get_percent: u64) {
    let n = keys();
    let mut g = c.benchmark_group(workload);
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    // Filled on first use, so that benchmarks filtered out cost nothing.
    let mut map: Option<Arc<M>> = None;
    for threads in thread_counts() {
        g.bench_with_input(
            BenchmarkId::new(M::NAME, threads),
            &threads,
            |b, &threads| {
                let map = map.get_or_insert_with(|| prefilled::<M>(n, |i| i));
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(threads as u64);
                    timed(map, threads, move |m: &M, t| {
                        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 7919) ^ per);
                        for _ in 0..per {
                            let r = rng.next();
                            let k = (r >> 8) % n;
                            if r & 0xFF < get_percent * 256 / 100 {
                                black_box(m.get(&k));
                            } else {
                                m.upsert(k, r);
                            }
                        }
                    })
                })
            },
        );
    }
    g.finish();
}

/// `n` inserts into an empty map, or `n` removals from a full one, per iteration.
fn bulk<M: Map<u64, u64>>(c: &mut Criterion, workload: &str, insert: bool) {
    let n = keys();
    let mut g = c.benchmark_group(workload);
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(n));
    for threads in thread_counts() {
        g.bench_with_input(
            BenchmarkId::new(M::NAME, threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let map = if insert {
                            Arc::new(M::make())
                        } else {
                            // The same keys the removals take: every removal hits.
                            prefilled::<M>(n, bulk_key)
                        };
                        // Thread t takes keys t, t + threads, ... (scrambled so that inserts do
                        // not arrive in hash order).
                        total += timed(&map, threads, move |m: &M, t| {
                            let (mut k, mut missed) = (t as u64, 0u64);
                            while k < n {
                                let key = bulk_key(k);
                                if insert {
                                    m.upsert(key, k);
                                } else if !m.remove(&key) {
                                    missed += 1;
                                }
                                k += threads as u64;
                            }
                            // A removal that finds nothing measures a lookup, not a removal.
                            assert_eq!(missed, 0, "{} removals missed", M::NAME);
                        });
                        if insert {
                            assert_eq!(map.get(&bulk_key(n - 1)), Some(n - 1));
                        }
                        // Dropping a full map is not part of the measurement.
                        drop(map);
                    }
                    total
                })
            },
        );
    }
    g.finish();
}

fn all<M: Map<u64, u64>>(c: &mut Criterion) {
    mixed::<M>(c, "read-heavy", 90);
    mixed::<M>(c, "write-heavy", 50);
    bulk::<M>(c, "insert-growth", true);
    bulk::<M>(c, "remove-heavy", false);
}

fn maps(c: &mut Criterion) {
    all::<HopMap<u64, u64>>(c);
    all::<Baseline<u64, u64>>(c);
    all::<Dash<u64, u64>>(c);
    all::<DashXxh3<u64, u64>>(c);
    all::<Papaya<u64, u64>>(c);
}

/// Bytes per entry with 1M entries of 16-byte keys and 16-byte values.
fn memory<M: Map<[u8; 16], [u8; 16]>>(n: u64) -> f64 {
    let region = Region::new(ALLOC);
    let m = M::make();
    for i in 0..n {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&i.to_le_bytes());
        k[8..].copy_from_slice(&xxh3_64_with_seed(&i.to_le_bytes(), 1).to_le_bytes());
        m.upsert(k, k);
    }
    let st = region.change();
    black_box(&m);
    let used =
        st.bytes_allocated as f64 - st.bytes_deallocated as f64 + st.bytes_reallocated as f64;
    used / n as f64
}

fn print_memory() {
    type K = [u8; 16];
    let n = keys();
    println!("memory: bytes per entry, {n} entries of 16-byte key + 16-byte value");
    type Measure = fn(u64) -> f64;
    let rows: [(&str, Measure); 5] = [
        ("hopscotch", memory::<HopMap<K, K>>),
        ("baseline", memory::<Baseline<K, K>>),
        ("dashmap", memory::<Dash<K, K>>),
        ("dashmap-xxh3", memory::<DashXxh3<K, K>>),
        ("papaya", memory::<Papaya<K, K>>),
    ];
    for (name, measure) in rows {
        println!("  {name:<14} {:>8.1}", measure(n));
    }
}

criterion_group!(benches, maps);

fn main() {
    // KV_MAP_MEMORY=0 skips the memory table (when profiling one benchmark, say).
    if std::env::var("KV_MAP_MEMORY").map_or(true, |v| v != "0") {
        print_memory();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
