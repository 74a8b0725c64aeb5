//! Single-threaded tests of the map (also run under Miri by `ci/miri`). The interleaving
//! tests are in `shuttle_tests.rs`.

use super::table::{HopTable, Slot, MIN_CAPACITY, NEIGHBORHOOD};
use super::{Compute, HopMap};
use crate::testutil::{Rng, Tracked};
use alloc::boxed::Box;
use alloc::vec::Vec;
use std::collections::HashMap as StdMap;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

/// Fewer steps under Miri, which is ~1000x slower.
fn scale(n: usize) -> usize {
    if cfg!(miri) {
        (n / 100).max(20)
    } else {
        n
    }
}

fn check_all<K: super::KeyHash + Eq, V, X>(m: &HopMap<K, V, X>) {
    for i in 0..m.segment_count() {
        m.read_segment(i).check().unwrap();
    }
}

#[test]
fn differential_against_a_std_hashmap_with_forced_resizes() {
    for seed in 1..=4u64 {
        let live = Arc::new(AtomicIsize::new(0));
        {
            // Few segments and a small key space: many collisions of homes, growth and
            // shrinking all the time.
            let m: HopMap<Box<[u8]>, Tracked> = HopMap::with_segments(seed, 1 << (seed % 3));
            let mut model: StdMap<Vec<u8>, u64> = StdMap::new();
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for step in 0..scale(40_000) {
                let range = if step % 5000 < 2500 { 64 } else { 3000 };
                let k = std::format!("k{}", rng.below(range)).into_bytes();
                let v = rng.next();
                match rng.below(100) {
                    0..=34 => {
                        let old = m.insert(k.clone().into(), Tracked::new(v, &live));
                        assert_eq!(old.map(|t| t.n), model.insert(k, v));
                    }
                    35..=59 => {
                        assert_eq!(m.get(&k[..], |t| t.n), model.get(&k).copied());
                    }
                    60..=79 => {
                        assert_eq!(m.remove(&k[..]).map(|t| t.n), model.remove(&k));
                    }
                    80..=96 => {
                        // compute: add to a present value, insert 1 if absent, remove at 0 mod 7.
                        let got = m.compute(k.clone().into(), |cur| match cur {
                            Some(t) if t.n % 7 == 0 => (Compute::Remove, None),
                            Some(t) => {
                                t.n = t.n.wrapping_add(v % 1000);
                                (Compute::Keep, Some(t.n))
                            }
                            None => (Compute::Put(Tracked::new(1, &live)), Some(1)),
                        });
                        let want = match model.get(&k).copied() {
                            Some(n) if n % 7 == 0 => {
                                model.remove(&k);
                                None
                            }
                            Some(n) => {
                                let n = n.wrapping_add(v % 1000);
                                model.insert(k.clone(), n);
                                Some(n)
                            }
                            None => {
                                model.insert(k.clone(), 1);
                                Some(1)
                            }
                        };
                        assert_eq!(got, want);
                    }
                    97..=98 => {
                        // A forced resize of one segment.
                        let i = rng.below(m.segment_count() as u64) as usize;
                        m.write_segment(i).reserve(rng.below(500) as usize);
                    }
                    _ => {
                        if rng.below(10) == 0 {
                            assert_eq!(m.clear(), model.len());
                            model.clear();
                        }
                    }
                }
                if step % 997 == 0 {
                    check_all(&m);
                    assert_eq!(m.len(), model.len());
                    assert_eq!(live.load(Ordering::SeqCst), model.len() as isize);
                }
            }
            check_all(&m);
            assert_eq!(m.len(), model.len());
            for (k, v) in &model {
                assert_eq!(m.get(&k[..], |t| t.n), Some(*v));
            }
            let mut seen = 0;
            m.for_each(|k, t| {
                assert_eq!(model.get(&k[..]), Some(&t.n));
                seen += 1;
            });
            assert_eq!(seen, model.len());
        }
        // The map is dropped: every value with it.
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }
}

/// Predecessor bug 1: an insert that looped forever when the neighbourhood was full.
/// Every key here has the same hash, so no growth can ever help; inserts must still end,
/// find everything, and keep memory proportional to the entries.
#[test]
fn identical_hashes_end_and_stay_bounded() {
    let n = scale(3000);
    let mut t: HopTable<u64> = HopTable::new();
    let hash = 0xDEAD_BEEF_u64;
    for i in 0..n as u64 {
        assert!(t.find(hash, |v| *v == i).is_none());
        t.insert_unique(hash, i, |_| hash);
    }
    assert_eq!(t.len(), n);
    t.check(|_| hash).unwrap();
    for i in 0..n as u64 {
        assert!(t.find(hash, |v| *v == i).is_some(), "{i} lost");
    }
    // At most 4 buckets per entry (MIN_LOAD_TO_GROW) plus the minimum, whatever the hashes.
    assert!(t.capacity() <= 4 * n + MIN_CAPACITY, "{t:?}");
    assert!(t.stashed() >= n.saturating_sub(NEIGHBORHOOD), "{t:?}");
    // Removing them all empties the stash and the table.
    for i in 0..n as u64 {
        let s = t.find(hash, |v| *v == i).unwrap();
        assert_eq!(t.remove(s), Some(i));
        t.maybe_shrink(|_| hash);
    }
    assert!(t.is_empty());
    assert_eq!(t.stashed(), 0);
    t.check(|_| hash).unwrap();
}

/// Hashes that share a home bucket but differ elsewhere: the displacement logic runs at
/// its limits (full neighbourhoods, long displacement chains) and must neither lose an
/// entry nor loop.
#[test]
fn crowded_homes_and_long_displacements() {
    let mut rng = Rng(77);
    let mut t: HopTable<u64> = HopTable::new();
    // Half the keys crowd 4 home values (low 32 bits), half are spread.
    let hash_of = |v: &u64| {
        if v % 2 == 0 {
            (v << 32) | (v % 4)
        } else {
            v.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        }
    };
    let mut keys = Vec::new();
    for _ in 0..scale(5000) {
        let v = rng.next() >> 8;
        if t.find(hash_of(&v), |x| *x == v).is_none() {
            t.insert_unique(hash_of(&v), v, hash_of);
            keys.push(v);
        }
    }
    t.check(hash_of).unwrap();
    for v in &keys {
        assert!(t.find(hash_of(v), |x| x == v).is_some());
    }
    assert!(t.capacity() <= 4 * keys.len() + MIN_CAPACITY);
}

/// Predecessor bug 5: a find-or-insert that leaked the new node when the key existed.
/// Also: overwriting and removing free the old value; `make` runs only for absent keys.
#[test]
fn no_value_is_leaked_or_dropped_twice() {
    const N: usize = 300;
    let live = Arc::new(AtomicIsize::new(0));
    let made = core::cell::Cell::new(0);
    {
        let m: HopMap<u64, Tracked> = HopMap::with_segments(3, 4);
        for i in 0..N as u64 {
            m.get_or_insert_with(
                i,
                || {
                    made.set(made.get() + 1);
                    Tracked::new(i, &live)
                },
                |t| t.n += 1,
            );
        }
        let n = N as isize;
        assert_eq!(live.load(Ordering::SeqCst), n);
        // Existing keys: `make` is not called, nothing is allocated or leaked.
        for i in 0..N as u64 {
            let got = m.get_or_insert_with(
                i,
                || {
                    made.set(made.get() + 1);
                    Tracked::new(0, &live)
                },
                |t| t.n,
            );
            assert_eq!(got, i + 1);
        }
        assert_eq!(made.get(), N);
        assert_eq!(live.load(Ordering::SeqCst), n);
        // Overwrite: the old value is handed back and freed by the caller.
        for i in 0..100u64 {
            let old = m.insert(i, Tracked::new(7, &live));
            assert!(old.is_some());
        }
        assert_eq!(live.load(Ordering::SeqCst), n);
        // compute Put over an existing value frees the old one.
        for i in 100..200u64 {
            let v = Tracked::new(9, &live);
            m.compute(i, |_| (Compute::Put(v), ()));
        }
        assert_eq!(live.load(Ordering::SeqCst), n);
        // Remove frees; shrinking moves the rest without copies or losses.
        for i in 0..(N as u64 - 10) {
            assert!(m.remove(&i).is_some());
        }
        assert_eq!(live.load(Ordering::SeqCst), 10);
        check_all(&m);
        assert_eq!(m.len(), 10);
    }
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// Predecessor bug 3's single-threaded half: a key removed while its table is rebuilt
/// (grown or shrunk right after) never comes back.
#[test]
fn removed_keys_stay_removed_across_resizes() {
    let m: HopMap<u64, u64> = HopMap::with_segments(5, 1);
    for i in 0..scale(1000) as u64 {
        m.insert(i, i);
    }
    for i in (0..scale(1000) as u64).step_by(2) {
        assert_eq!(m.remove(&i), Some(i));
        // Force rebuilds in between removals.
        m.write_segment(0)
            .reserve(if i % 64 == 0 { 5000 } else { 0 });
    }
    // Grow well past the old size, then shrink by removing almost everything.
    for i in 10_000..(10_000 + scale(3000) as u64) {
        m.insert(i, i);
    }
    for i in 10_000..(10_000 + scale(3000) as u64) {
        m.remove(&i);
    }
    check_all(&m);
    for i in 0..scale(1000) as u64 {
        assert_eq!(m.get(&i, |v| *v), (i % 2 == 1).then_some(i));
    }
    let resizes = m.read_segment(0).table().resizes();
    assert!(resizes >= 2, "{resizes} rebuilds");
}

#[test]
fn scan_returns_every_key_present_throughout_while_tables_resize() {
    let m: HopMap<u64, ()> = HopMap::with_segments(11, 8);
    let stable: Vec<u64> = (0..scale(2000) as u64).collect();
    for k in &stable {
        m.insert(*k, ());
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    let mut extra = 1_000_000u64;
    let mut steps = 0;
    loop {
        cursor = m.scan(
            cursor,
            37,
            |_, _| false,
            |k, _| {
                seen.insert(*k);
            },
        );
        steps += 1;
        // Grow and shrink the tables between steps: add a burst, remove the last burst.
        for _ in 0..200 {
            m.insert(extra, ());
            extra += 1;
        }
        if steps % 2 == 0 {
            for k in (extra - 400)..extra {
                m.remove(&k);
            }
        }
        if cursor == 0 {
            break;
        }
        assert!(steps < 100_000);
    }
    for k in &stable {
        assert!(seen.contains(k), "key {k} missed");
    }
}

#[test]
fn slots_point_at_entries_until_the_table_changes() {
    let mut t: HopTable<u64> = HopTable::with_capacity(10);
    let h = |v: &u64| v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let s = t.insert_unique(h(&5), 5, h);
    assert!(matches!(s, Slot::Table { .. }));
    assert_eq!(t.get(s), Some(&5));
    *t.get_mut(s).unwrap() = 5;
    assert_eq!(t.remove(s), Some(5));
    assert_eq!(t.remove(s), None);
    assert!(t.is_empty());
}

#[test]
fn find_by_prefix_finds_every_entry_by_the_top_of_its_low_hash_bits() {
    use super::table::PREFIX_SHIFT;
    let mut rng = Rng(0x5EED);
    // Hashes that share prefixes (and so neighbouring homes), in a table that grows, with
    // a few crowded enough to land in the stash.
    let mut t: HopTable<u64> = HopTable::new();
    let mut hashes = Vec::new();
    for i in 0..scale(6000) as u64 {
        let h = if i % 7 == 0 {
            // Same prefix as an earlier hash, other low bits.
            let j = rng.below(hashes.len().max(1) as u64) as usize;
            hashes.get(j).copied().unwrap_or(1) ^ (i & 0xFFF)
        } else {
            rng.next()
        };
        hashes.push(h);
        t.insert_unique(h, i, |&v| hashes_of(v, &hashes));
    }
    fn hashes_of(v: u64, hashes: &[u64]) -> u64 {
        hashes[v as usize]
    }
    for (i, &h) in hashes.iter().enumerate() {
        let prefix = (h as u32) >> PREFIX_SHIFT;
        let slot = t.find_by_prefix(prefix, |&v| v == i as u64);
        assert_eq!(slot.and_then(|s| t.get(s)), Some(&(i as u64)), "entry {i}");
    }
    assert!(HopTable::<u64>::new().find_by_prefix(7, |_| true).is_none());
}
