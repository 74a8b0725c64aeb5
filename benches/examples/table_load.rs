//! How full the keyspace's hopscotch tables are, and what inserting and finding cost.
//!
//!     cargo run --release -p kv-benches --example table_load [keys]
//!
//! Inserts `keys` (default 2,000,000) random hashes into 256 tables (the keyspace's
//! segments), each entry 48 bytes as the keyspace's, and prints the load (entries per home
//! bucket) averaged over every 10,000 keys from a quarter of them on, the load at a million
//! keys (and at 981,684, what `redis-benchmark -r 1000000 -n 4000000` leaves), the time of
//! all the inserts, and the time of as many hits and as many misses. Memory per key is
//! `HopTable::bucket_bytes() / load`. Times are of one run on a noisy machine: compare
//! medians of several.

use kv_core::map::HopTable;
use std::time::Instant;
use xxhash_rust::xxh3::xxh3_64;

/// Segments of the keyspace's map (`kv_core::map::DEFAULT_SEGMENTS`).
const SEGMENTS: usize = 256;

/// The hash of key number `n`: XXH3 of the number, as random as the keyspace's hashes and
/// the same every run.
fn hash(n: usize) -> u64 {
    xxh3_64(&(n as u64).to_le_bytes())
}

fn segment(h: u64) -> usize {
    ((h >> 32) as usize) % SEGMENTS
}

fn main() {
    let keys: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000)
        .max(1);
    let mut tables: Vec<HopTable<[u64; 6]>> = (0..SEGMENTS).map(|_| HopTable::new()).collect();
    let mut loads = Vec::new();
    let (mut at_1m, mut at_bench) = (None, None);
    let start = Instant::now();
    for n in 1..=keys {
        let h = hash(n);
        tables[segment(h)].insert_unique(h, [h, 0, 0, 0, 0, 0], |v| v[0]);
        let sample = n >= keys / 4 && n % 10_000 == 0;
        if sample || n == 1_000_000 || n == 981_684 {
            let cap: usize = tables.iter().map(|t| t.capacity()).sum();
            let load = n as f64 / cap as f64;
            if sample {
                loads.push(load);
            }
            if n == 1_000_000 {
                at_1m = Some(load);
            }
            if n == 981_684 {
                at_bench = Some(load);
            }
        }
    }
    let insert = start.elapsed();
    let start = Instant::now();
    let (mut hits, mut misses) = (0usize, 0usize);
    for n in 1..=keys {
        let h = hash(n);
        hits += usize::from(tables[segment(h)].find(h, |v| v[0] == h).is_some());
        let m = hash(keys + n);
        misses += usize::from(tables[segment(m)].find(m, |v| v[0] == m).is_none());
    }
    let find = start.elapsed();
    assert_eq!((hits, misses), (keys, keys), "every key found, no other");
    let avg = loads.iter().sum::<f64>() / loads.len().max(1) as f64;
    let bucket = HopTable::<[u64; 6]>::bucket_bytes();
    let show = |l: Option<f64>| l.map_or("-".to_string(), |l| format!("{l:.3}"));
    println!(
        "{keys} keys: load avg {avg:.3} ({:.1} bytes a key), at 1M {}, at 981,684 {}; \
         stashed {}; {} inserts in {insert:.2?}, {keys} hits + {keys} misses in {find:.2?}",
        bucket as f64 / avg,
        show(at_1m),
        show(at_bench),
        tables.iter().map(|t| t.stashed()).sum::<usize>(),
        keys,
    );
}
