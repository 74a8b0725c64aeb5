//! Differential tests of SORT, SORT_RO, ZINTERCARD, ZMPOP, ZSCAN and the sorted-set
//! encoding thresholds against redis-server (see `differential.rs`): hand-written cases,
//! a seeded random mix, a ZSCAN walk over big sets that change between steps, and the cases
//! over sets and hashes (BY/GET patterns reading hash fields).

use crate::differential::{cases, cmp_for, run_both, run_both_with, seed_and_count, Cmp};
use crate::support::{self, Kind, Rng};

/// Hand-written cases for every command, option and error text of the family.
const CASES: &str = include_str!("diff_sort_cases.txt");
/// Cases that need sets and hashes (SADD, HSET: other issues).
const SETS_HASHES_CASES: &str = include_str!("diff_sort_sets_hashes_cases.txt");

#[test]
fn sort_hand_written_cases_match_redis() {
    let cmds = cases(CASES);
    assert!(cmds.len() > 250, "the case list is loaded");
    let diffs = run_both(&cmds, 20);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn sort_over_sets_and_hashes_matches_redis() {
    let diffs = run_both(&cases(SETS_HASHES_CASES), 20);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// How the random mix compares: ALPHA with a BY pattern leaves ties in an order Redis does
/// not define (the mix gives such sorts no LIMIT and no STORE), so their replies are
/// compared as multisets; ZSCAN (COUNT large enough to finish in one step) as pairs.
fn cmp(args: &[Vec<u8>]) -> Cmp {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let has = |w: &str| args.iter().any(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    let by_star = args
        .windows(2)
        .any(|w| w[0].eq_ignore_ascii_case(b"BY") && w[1].contains(&b'*'));
    match name.as_str() {
        "sort" | "sort_ro" if has("ALPHA") && by_star => Cmp::Check(same_multiset),
        "zscan" => Cmp::Check(same_scan),
        _ => cmp_for(args),
    }
}

/// Arrays of bulk strings and nils compared as multisets; anything else exactly.
fn same_multiset(a: &[u8], b: &[u8]) -> bool {
    if !(a.starts_with(b"*") && b.starts_with(b"*")) {
        return a == b;
    }
    let (mut x, mut y) = (
        support::bulk_or_nil_elements(a),
        support::bulk_or_nil_elements(b),
    );
    x.sort();
    y.sort();
    x == y
}

/// ZSCAN replies: the same cursor and the same (member, score) pairs in any order.
fn same_scan(a: &[u8], b: &[u8]) -> bool {
    if !(a.starts_with(b"*2\r\n") && b.starts_with(b"*2\r\n")) {
        return a == b;
    }
    let pairs = |r: &[u8]| {
        let (cursor, elems) = scan_reply(r);
        let mut v: Vec<Vec<Vec<u8>>> = elems.chunks(2).map(|p| p.to_vec()).collect();
        v.sort();
        (cursor, v)
    };
    pairs(a) == pairs(b)
}

/// A seeded mix over colliding keys: sorted sets of numbers (`z1`, `z2`) and of numbers and
/// words (`zw`), lists made by SORT ... STORE (`l1`, `l2`, `d`), a string (`str`), weight
/// strings `w_<member>`; thresholds lowered and raised with CONFIG SET so sets cross them.
fn random_sort_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let keys = ["z1", "z2", "zw", "l1", "l2", "d", "str"];
    let zkeys = ["z1", "z2", "zw", "l1", "d"];
    let dests = ["l1", "l2", "d", "z2"];
    let nums = [
        "1", "2", "3", "10", "-1", "2.5", "0x10", "", "07", "1e3", "-0",
    ];
    let words = ["a", "b", "B", "apple", "10a"];
    // No out-of-range weight (1e400): Redis's sticky errno would fail later sorts at random.
    let weights = ["1", "5", "-2", "10", "abc", "", "3.5", "inf", "0", " 7"];
    let gets = ["#", "w_*", "nostar", "w_*->f", "x_*"];
    let scores = ["1", "2", "-1", "0", "1.5", "-0", "inf"];
    let s = |x: &str| x.as_bytes().to_vec();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = s(r.pick(&keys));
        let cmd: Vec<Vec<u8>> = match r.below(40) {
            0..=7 => {
                let name = if r.below(4) == 0 { "SORT_RO" } else { "SORT" };
                let mut c = vec![s(name), k];
                let alpha = r.below(3) == 0;
                let by = match r.below(4) {
                    0 => Some(r.pick(&["w_*", "nosort", "x_*", "w_*->f"])),
                    _ => None,
                };
                let undefined_ties = alpha && by.is_some_and(|b| b.contains('*'));
                if let Some(b) = by {
                    c.extend([s("BY"), s(b)]);
                }
                if alpha {
                    c.push(s("ALPHA"));
                }
                if r.below(2) == 0 {
                    c.push(s(r.pick(&["ASC", "DESC"])));
                }
                if !undefined_ties && r.below(3) == 0 {
                    c.extend([
                        s("LIMIT"),
                        s(r.pick(&["0", "1", "2", "-1", "5", "100"])),
                        s(r.pick(&["0", "1", "2", "3", "-1", "100"])),
                    ]);
                }
                for _ in 0..r.below(3) {
                    c.extend([s("GET"), s(r.pick(&gets))]);
                }
                if name == "SORT" && !undefined_ties && r.below(3) == 0 {
                    c.extend([s("STORE"), s(r.pick(&dests))]);
                }
                if r.below(50) == 0 {
                    c.push(s(r.pick(&["FOO", "LIMIT", "STORE", "BY"])));
                }
                c
            }
            8..=13 => {
                let key = r.pick(&zkeys);
                let mut c = vec![s("ZADD"), s(key)];
                for _ in 0..=r.below(3) {
                    c.push(s(r.pick(&scores)));
                    let m = if key == "zw" && r.below(2) == 0 {
                        r.pick(&words)
                    } else {
                        r.pick(&nums)
                    };
                    c.push(s(m));
                }
                c
            }
            14 => vec![s("ZREM"), k, s(r.pick(&nums)), s(r.pick(&words))],
            15..=17 => vec![
                s("SET"),
                s(&format!("w_{}", r.pick(&nums))),
                s(r.pick(&weights)),
            ],
            18 => vec![
                s("SET"),
                s(r.pick(&["str", "x_1", "x_2"])),
                s(r.pick(&weights)),
            ],
            19..=21 => {
                let nk = 1 + r.below(3) as usize;
                let mut c = vec![s("ZINTERCARD"), s(&nk.to_string())];
                for _ in 0..nk {
                    c.push(s(r.pick(&keys)));
                }
                if r.below(2) == 0 {
                    c.extend([s("LIMIT"), s(r.pick(&["0", "1", "2", "-1", "x"]))]);
                }
                c
            }
            22..=24 => {
                let nk = 1 + r.below(3) as usize;
                let mut c = vec![s("ZMPOP"), s(&nk.to_string())];
                for _ in 0..nk {
                    c.push(s(r.pick(&keys)));
                }
                c.push(s(r.pick(&["MIN", "MAX", "min", "max"])));
                if r.below(2) == 0 {
                    c.extend([s("COUNT"), s(r.pick(&["1", "2", "5", "0", "-1"]))]);
                }
                c
            }
            25..=26 => {
                let mut c = vec![s("ZSCAN"), k, s("0"), s("COUNT"), s("1000")];
                if r.below(2) == 0 {
                    c.extend([s("MATCH"), s(r.pick(&["1*", "*a*", "?", "[0-9]*"]))]);
                }
                c
            }
            27..=29 => vec![s("OBJECT"), s("ENCODING"), k],
            30 => vec![
                s("CONFIG"),
                s("SET"),
                s(r.pick(&["zset-max-listpack-entries", "zset-max-ziplist-entries"])),
                s(r.pick(&["0", "2", "4", "128"])),
            ],
            31 => vec![
                s("CONFIG"),
                s("SET"),
                s("zset-max-listpack-value"),
                s(r.pick(&["1", "2", "64"])),
            ],
            32 => vec![s("ZRANGE"), k, s("0"), s("-1"), s("WITHSCORES")],
            33 => {
                let op = r.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
                vec![
                    s(op),
                    s(r.pick(&zkeys)),
                    s("2"),
                    s(r.pick(&zkeys)),
                    s(r.pick(&zkeys)),
                ]
            }
            34 => vec![
                s("ZRANGESTORE"),
                s(r.pick(&zkeys)),
                k,
                s("0"),
                s(r.pick(&["-1", "1", "3"])),
            ],
            35 => vec![s(r.pick(&["RENAME", "COPY"])), k, s(r.pick(&keys))],
            _ => vec![s(r.pick(&["TYPE", "DEL", "EXISTS", "ZCARD"])), k],
        };
        out.push(cmd);
    }
    out
}

#[test]
fn random_sort_zintercard_zmpop_mixes_match_redis() {
    let (seed, n) = seed_and_count(12_000);
    eprintln!("differential (sort): seed {seed}, {n} commands");
    let diffs = run_both_with(&random_sort_mix(seed, n), 10, cmp);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e diff_sort): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Splits a ZSCAN reply (`*2 $cursor *n $elem...`) into the cursor and the elements.
fn scan_reply(reply: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut rest = reply;
    let mut line = || {
        let at = rest.windows(2).position(|w| w == b"\r\n").expect("a line");
        let l = rest[..at].to_vec();
        rest = &rest[at + 2..];
        l
    };
    assert_eq!(
        line(),
        b"*2",
        "ZSCAN reply: {:?}",
        String::from_utf8_lossy(reply)
    );
    let _ = line();
    let cursor = line();
    let n: usize = String::from_utf8(line()[1..].to_vec())
        .unwrap()
        .parse()
        .unwrap();
    let elems = (0..n)
        .map(|_| {
            let _ = line();
            line()
        })
        .collect();
    (cursor, elems)
}

/// Walks ZSCAN over a big set on one server, adding and removing other members between
/// steps; returns the members seen and the number of steps.
fn zscan_walk(kind: Kind, count: &str) -> (std::collections::HashSet<Vec<u8>>, usize) {
    let server = support::server(kind);
    let mut c = server.raw();
    let mut add = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..300 {
        add.push(i.to_string());
        add.push(format!("old{i}"));
    }
    assert_eq!(c.call(&add), b":300\r\n");
    assert_eq!(
        c.call(&["OBJECT", "ENCODING", "big"]),
        b"$8\r\nskiplist\r\n"
    );
    let mut seen = std::collections::HashSet::new();
    let mut cursor = b"0".to_vec();
    let mut steps = 0;
    loop {
        let reply = c.call(&[&b"ZSCAN"[..], b"big", &cursor, b"COUNT", count.as_bytes()]);
        let (next, elems) = scan_reply(&reply);
        cursor = next;
        for pair in elems.chunks(2) {
            seen.insert(pair[0].clone());
        }
        steps += 1;
        c.call(&["ZADD", "big", "1", &format!("new{steps}")]);
        if steps % 2 == 0 {
            c.call(&["ZREM", "big", &format!("new{}", steps / 2)]);
        }
        if cursor == b"0" {
            break;
        }
        assert!(steps < 5_000, "{kind:?}: ZSCAN does not terminate");
    }
    (seen, steps)
}

#[test]
fn zscan_of_big_sets_returns_every_member_present_throughout() {
    for count in ["1", "10", "1000"] {
        for kind in [Kind::Redis, Kind::Kv] {
            let (seen, steps) = zscan_walk(kind, count);
            for i in 0..300 {
                assert!(
                    seen.contains(format!("old{i}").as_bytes()),
                    "{kind:?} COUNT {count}: old{i} missed"
                );
            }
            if count == "1" {
                assert!(steps > 10, "{kind:?}: a big set is walked in steps");
            }
        }
    }
}
