//! Interleaving tests of the map under shuttle (`ci/shuttle`, `--cfg kv_shuttle`).
//!
//! Each scenario starts threads that run a fixed list of operations on one map while its
//! tables grow, records every result, and then checks that the results are linearizable:
//! some order of all the operations that keeps each thread's own order gives exactly
//! these results on a sequential model (`BTreeMap`), and leaves exactly the map's final
//! contents. Every scenario runs `KV_SHUTTLE_ITERS` iterations (default 10,000) of both
//! `check_random` and `check_pct`.
//!
//! The scenarios are the bugs of this map's predecessors: an insert racing a growth and
//! landing in the old array (lost); a remove during a growth letting the key reappear (and
//! its value be freed twice: values here count their drops); two threads growing the same
//! table (swapped twice: entries lost); a find-or-insert racing itself (the loser's new
//! value leaked or the value made twice).

use super::{Compute, HopMap};
use crate::testutil::Tracked;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use shuttle::thread;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;

fn iterations() -> usize {
    std::env::var("KV_SHUTTLE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// PCT's bug depth: how many forced preemptions a schedule has.
const PCT_DEPTH: usize = 3;

#[derive(Clone, Copy, Debug)]
enum Op {
    Insert(u64, u64),
    Get(u64),
    Remove(u64),
    /// compute: add to the value, or insert it if absent; returns the new value.
    Add(u64, u64),
    /// get_or_insert_with; returns the value found or inserted.
    GetOrInsert(u64, u64),
    /// Grows segment 0 so that this many more entries fit (a forced migration).
    Reserve(usize),
}

fn run_op(
    m: &HopMap<u64, Tracked>,
    op: Op,
    live: &Arc<AtomicIsize>,
    made: &AtomicUsize,
) -> Option<u64> {
    match op {
        Op::Insert(k, v) => m.insert(k, Tracked::new(v, live)).map(|t| t.n),
        Op::Get(k) => m.get(&k, |t| t.n),
        Op::Remove(k) => m.remove(&k).map(|t| t.n),
        Op::Add(k, d) => m.compute(k, |cur| match cur {
            Some(t) => {
                t.n += d;
                (Compute::Keep, Some(t.n))
            }
            None => (Compute::Put(Tracked::new(d, live)), Some(d)),
        }),
        Op::GetOrInsert(k, v) => Some(m.get_or_insert_with(
            k,
            || {
                made.fetch_add(1, Ordering::SeqCst);
                Tracked::new(v, live)
            },
            |t| t.n,
        )),
        Op::Reserve(n) => {
            m.write_segment(0).reserve(n);
            None
        }
    }
}

fn model_op(model: &mut BTreeMap<u64, u64>, op: Op) -> Option<u64> {
    match op {
        Op::Insert(k, v) => model.insert(k, v),
        Op::Get(k) => model.get(&k).copied(),
        Op::Remove(k) => model.remove(&k),
        Op::Add(k, d) => {
            let e = model.entry(k).or_insert(0);
            *e += d;
            Some(*e)
        }
        Op::GetOrInsert(k, v) => Some(*model.entry(k).or_insert(v)),
        Op::Reserve(_) => None,
    }
}

/// Whether some interleaving of `histories` (each thread's order kept) reproduces every
/// recorded result and ends in `end`.
fn linearizable(
    model: &BTreeMap<u64, u64>,
    histories: &[Vec<(Op, Option<u64>)>],
    pos: &mut Vec<usize>,
    end: &BTreeMap<u64, u64>,
) -> bool {
    let mut progressed = false;
    for t in 0..histories.len() {
        let Some(&(op, result)) = histories[t].get(pos[t]) else {
            continue;
        };
        progressed = true;
        let mut next = model.clone();
        if model_op(&mut next, op) != result {
            continue;
        }
        pos[t] += 1;
        let ok = linearizable(&next, histories, pos, end);
        pos[t] -= 1;
        if ok {
            return true;
        }
    }
    !progressed && model == end
}

/// Runs one scenario: `prefill` entries, then each list of `threads` on its own thread.
fn scenario(segments: usize, prefill: &[(u64, u64)], threads: &[Vec<Op>]) {
    let live = Arc::new(AtomicIsize::new(0));
    let made = Arc::new(AtomicUsize::new(0));
    let map = Arc::new(HopMap::<u64, Tracked>::with_segments(1, segments));
    let mut model = BTreeMap::new();
    for &(k, v) in prefill {
        map.insert(k, Tracked::new(v, &live));
        model.insert(k, v);
    }
    let handles: Vec<_> = threads
        .iter()
        .map(|ops| {
            let (map, live, made, ops) = (map.clone(), live.clone(), made.clone(), ops.clone());
            thread::spawn(move || {
                ops.iter()
                    .map(|&op| (op, run_op(&map, op, &live, &made)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let histories: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let mut end = BTreeMap::new();
    map.for_each(|k, t| {
        assert!(end.insert(*k, t.n).is_none(), "key {k} twice");
    });
    for i in 0..map.segment_count() {
        map.read_segment(i).check().unwrap();
    }
    assert_eq!(map.len(), end.len());
    // No value leaked or dropped twice: exactly the stored ones are alive.
    assert_eq!(live.load(Ordering::SeqCst), end.len() as isize);
    let mut pos = alloc::vec![0; histories.len()];
    assert!(
        linearizable(&model, &histories, &mut pos, &end),
        "not linearizable: prefill {prefill:?}\nhistories {histories:?}\nend {end:?}"
    );
    // A find-or-insert makes a value only when it inserts one.
    let inserted_by_goi = threads
        .iter()
        .flatten()
        .filter_map(|op| match op {
            Op::GetOrInsert(k, _) => Some(*k),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>();
    if threads.iter().flatten().all(|op| {
        matches!(
            op,
            Op::GetOrInsert(..) | Op::Get(_) | Op::Reserve(_) | Op::Insert(..)
        )
    }) && inserted_by_goi
        .iter()
        .all(|k| !prefill.iter().any(|(p, _)| p == k))
        && !threads
            .iter()
            .flatten()
            .any(|op| matches!(op, Op::Insert(k, _) if inserted_by_goi.contains(k)))
    {
        assert_eq!(made.load(Ordering::SeqCst), inserted_by_goi.len());
    }
    drop(map);
    assert_eq!(live.load(Ordering::SeqCst), 0, "values leaked");
}

fn check(segments: usize, prefill: &[(u64, u64)], threads: &[Vec<Op>]) {
    let (p, t) = (prefill.to_vec(), threads.to_vec());
    shuttle::check_random(move || scenario(segments, &p, &t), iterations());
    let (p, t) = (prefill.to_vec(), threads.to_vec());
    shuttle::check_pct(move || scenario(segments, &p, &t), iterations(), PCT_DEPTH);
}

/// 13 entries in one segment: its first table (16 home buckets) grows at the 15th.
fn near_growth() -> Vec<(u64, u64)> {
    (1000..1013).map(|k| (k, k)).collect()
}

#[test]
fn inserts_racing_a_growth_are_not_lost() {
    use Op::*;
    check(
        1,
        &near_growth(),
        &[
            alloc::vec![Insert(1, 1), Insert(2, 2), Insert(3, 3)],
            alloc::vec![Insert(4, 4), Insert(5, 5), Get(1)],
            alloc::vec![Get(3), Insert(6, 6), Get(4)],
        ],
    );
}

#[test]
fn same_key_from_three_threads() {
    use Op::*;
    check(
        2,
        &near_growth(),
        &[
            alloc::vec![Insert(7, 1), Get(7), Insert(8, 8)],
            alloc::vec![Insert(7, 2), Remove(7), Insert(9, 9)],
            alloc::vec![Add(7, 10), Get(7), Insert(10, 10)],
        ],
    );
}

#[test]
fn removes_during_a_growth_stay_removed() {
    use Op::*;
    check(
        1,
        &near_growth(),
        &[
            alloc::vec![Remove(1000), Remove(1001), Get(1000)],
            alloc::vec![Insert(1, 1), Insert(2, 2), Insert(3, 3), Insert(4, 4)],
            alloc::vec![Get(1001), Remove(1002), Get(1002)],
        ],
    );
}

#[test]
fn computes_and_inserts_while_growing() {
    use Op::*;
    check(
        1,
        &near_growth(),
        &[
            alloc::vec![Add(1, 1), Add(1, 1), Add(1, 1)],
            alloc::vec![Add(1, 1), Insert(2, 2), Add(1, 1)],
            alloc::vec![Insert(3, 3), Get(1), Remove(1000)],
        ],
    );
}

#[test]
fn two_growers_of_one_table_do_not_lose_entries() {
    use Op::*;
    check(
        1,
        &near_growth(),
        &[
            alloc::vec![Reserve(40), Insert(1, 1), Get(2)],
            alloc::vec![Reserve(100), Insert(2, 2), Remove(1005)],
            alloc::vec![Insert(3, 3), Reserve(60), Get(1)],
        ],
    );
}

#[test]
fn find_or_insert_races_make_one_value_and_leak_none() {
    use Op::*;
    check(
        2,
        &near_growth(),
        &[
            alloc::vec![GetOrInsert(5, 1), GetOrInsert(6, 1)],
            alloc::vec![GetOrInsert(5, 2), Insert(7, 7)],
            alloc::vec![GetOrInsert(6, 3), GetOrInsert(5, 3)],
        ],
    );
}
