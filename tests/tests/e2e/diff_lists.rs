//! Differential tests of the list commands against redis-server (see `differential.rs`):
//! hand-written cases (`diff_lists_cases.txt`) for every command, option and error, and a
//! seeded random mix over a few colliding keys that also hold strings, hashes, sets and
//! sorted sets, with elements from empty to larger than a chunk, under several
//! `list-max-listpack-size` fills. Lists have no undefined orders, so every reply is
//! compared byte for byte.

use crate::differential::{cases, cmp_for, run_both_with, seed_and_count};
use crate::support::Rng;

const CASES: &str = include_str!("diff_lists_cases.txt");

#[test]
fn hand_written_list_cases_match_redis() {
    let cmds = cases(CASES);
    assert!(cmds.len() > 300, "the case list is loaded");
    let diffs = run_both_with(&cmds, 20, cmp_for);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn s(x: &str) -> Vec<u8> {
    x.as_bytes().to_vec()
}

/// An element: mostly short and colliding, sometimes empty, binary, numeric, or long
/// (hundreds of bytes, or past the 4 KiB, 8 KiB and 64 KiB chunk caps).
fn element(r: &mut Rng) -> Vec<u8> {
    let short = [
        "a", "b", "c", "d", "x", "y", "1", "2", "10", "-1", "", "a b", "\0\r\n", "é",
    ];
    match r.below(60) {
        0 => vec![b'L'; [4095, 4096, 8191, 8192, 9000, 70_000][r.below(6) as usize]],
        1..=2 => vec![b'm'; 50 + r.below(400) as usize],
        3..=8 => format!("{}", r.below(1000)).into_bytes(),
        _ => s(r.pick(&short)),
    }
}

/// An index near the ends of a list of up to a few hundred elements, or an odd one.
fn index(r: &mut Rng) -> String {
    match r.below(12) {
        0 => r
            .pick(&["x", "9223372036854775807", "-9223372036854775808", "1.5"])
            .to_string(),
        1..=5 => format!("{}", r.below(12)),
        6..=9 => format!("-{}", 1 + r.below(12)),
        _ => format!("{}", r.below(400) as i64 - 200),
    }
}

/// A random mix of `n` list commands (and others on the same keys).
fn random_list_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let lists = ["l1", "l2", "l3"];
    let all_keys = ["l1", "l2", "l3", "str", "h", "st", "z", "missing"];
    let fills = ["-2", "-1", "-5", "1", "3", "16", "0", "128"];
    let mut out: Vec<Vec<Vec<u8>>> = vec![
        vec![
            s("CONFIG"),
            s("SET"),
            s("list-max-listpack-size"),
            s(r.pick(&fills)),
        ],
        vec![s("SET"), s("str"), s("v")],
        vec![s("HSET"), s("h"), s("f"), s("v")],
        vec![s("SADD"), s("st"), s("m")],
        vec![s("ZADD"), s("z"), s("1"), s("m")],
    ];
    while out.len() < n {
        let k = s(r.pick(&lists));
        let any = |r: &mut Rng| s(r.pick(&all_keys));
        let end = |r: &mut Rng| s(r.pick(&["LEFT", "RIGHT", "left", "Right"]));
        match r.below(40) {
            0..=6 => {
                let mut c =
                    vec![s(r.pick(&[
                        "LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX",
                    ]))];
                c.push(if r.below(20) == 0 { any(&mut r) } else { k });
                let most = if r.below(5) == 0 { 40 } else { 4 };
                for _ in 0..=r.below(most) {
                    c.push(element(&mut r));
                }
                out.push(c);
            }
            7..=10 => {
                let mut c = vec![s(r.pick(&["LPOP", "RPOP"]))];
                c.push(if r.below(10) == 0 { any(&mut r) } else { k });
                if r.below(2) == 0 {
                    c.push(s(r.pick(&["0", "1", "2", "5", "30", "1000", "-1", "x"])));
                }
                out.push(c);
            }
            11 => out.push(vec![s("LLEN"), any(&mut r)]),
            12..=13 => out.push(vec![s("LINDEX"), k, s(&index(&mut r))]),
            14 => out.push(vec![s("LSET"), k, s(&index(&mut r)), element(&mut r)]),
            15..=17 => {
                let (a, b) = if r.below(3) == 0 {
                    ("0".to_string(), "-1".to_string())
                } else {
                    (index(&mut r), index(&mut r))
                };
                let key = if r.below(10) == 0 { any(&mut r) } else { k };
                out.push(vec![s("LRANGE"), key, s(&a), s(&b)]);
            }
            18 => {
                // Mostly gentle trims, so the lists stay long.
                let (a, b) = match r.below(4) {
                    0 => (index(&mut r), index(&mut r)),
                    1 => ("1".to_string(), "-2".to_string()),
                    _ => ("0".to_string(), format!("{}", 50 + r.below(200))),
                };
                out.push(vec![s("LTRIM"), k, s(&a), s(&b)]);
            }
            19..=20 => {
                let count = r.pick(&["0", "1", "2", "-1", "-2", "5", "x"]);
                out.push(vec![s("LREM"), k, s(count), element(&mut r)]);
            }
            21..=22 => {
                let w = r.pick(&["BEFORE", "AFTER", "after", "MIDDLE"]);
                let key = if r.below(10) == 0 { any(&mut r) } else { k };
                out.push(vec![
                    s("LINSERT"),
                    key,
                    s(w),
                    element(&mut r),
                    element(&mut r),
                ]);
            }
            23..=24 => {
                let mut c = vec![s("LPOS"), if r.below(10) == 0 { any(&mut r) } else { k }];
                c.push(element(&mut r));
                for _ in 0..r.below(3) {
                    match r.below(3) {
                        0 => c.extend([s("RANK"), s(r.pick(&["1", "2", "-1", "-3", "0", "x"]))]),
                        1 => c.extend([s("COUNT"), s(r.pick(&["0", "1", "3", "-1"]))]),
                        _ => c.extend([s("MAXLEN"), s(r.pick(&["0", "1", "5", "50", "-1"]))]),
                    }
                }
                out.push(c);
            }
            25..=27 => {
                let src = if r.below(8) == 0 { any(&mut r) } else { k };
                let dst = if r.below(8) == 0 {
                    any(&mut r)
                } else {
                    s(r.pick(&lists))
                };
                if r.below(4) == 0 {
                    out.push(vec![s("RPOPLPUSH"), src, dst]);
                } else {
                    out.push(vec![s("LMOVE"), src, dst, end(&mut r), end(&mut r)]);
                }
            }
            28..=29 => {
                let nkeys = 1 + r.below(3) as usize;
                let mut c = vec![s("LMPOP"), s(&nkeys.to_string())];
                for _ in 0..nkeys {
                    c.push(if r.below(6) == 0 {
                        any(&mut r)
                    } else {
                        s(r.pick(&lists))
                    });
                }
                c.push(end(&mut r));
                if r.below(2) == 0 {
                    c.extend([s("COUNT"), s(r.pick(&["1", "2", "7", "100", "0", "x"]))]);
                }
                if r.below(15) == 0 {
                    c[1] = s(r.pick(&["0", "-1", "9", "x"]));
                }
                out.push(c);
            }
            30 => out.push(vec![s(r.pick(&["TYPE", "EXISTS"])), any(&mut r)]),
            31 => out.push(vec![s("OBJECT"), s("ENCODING"), any(&mut r)]),
            32 => {
                if r.below(4) == 0 {
                    out.push(vec![s("DEL"), k]);
                } else {
                    out.push(vec![s("LLEN"), k]);
                }
            }
            33 => out.push(vec![s("RENAME"), k, s(r.pick(&lists))]),
            34 => {
                // SORT reads a list; STORE writes one (under the fill now in force).
                let mut c = vec![s(r.pick(&["SORT", "SORT_RO"])), k];
                if r.below(2) == 0 {
                    c.push(s("ALPHA"));
                }
                if r.below(3) == 0 {
                    c.extend([s("BY"), s("nosort")]);
                }
                if r.below(3) == 0 {
                    c.extend([s("LIMIT"), s("1"), s("5")]);
                }
                if c[0] == b"SORT" && r.below(2) == 0 {
                    c.extend([s("STORE"), s(r.pick(&lists))]);
                }
                out.push(c);
            }
            35 => {
                // A list key becomes another type for a while (WRONGTYPE paths).
                let other = r.pick(&[
                    vec![s("SET"), k.clone(), s("v")],
                    vec![s("HSET"), k.clone(), s("f"), s("v")],
                    vec![s("SADD"), k.clone(), s("m")],
                    vec![s("ZADD"), k.clone(), s("1"), s("m")],
                ]);
                out.push(vec![s("DEL"), k.clone()]);
                out.push(other);
                out.push(vec![s("LPUSH"), k.clone(), s("a")]);
                out.push(vec![s("LRANGE"), k.clone(), s("0"), s("-1")]);
                out.push(vec![s("DEL"), k]);
            }
            36 => {
                if r.below(3) == 0 {
                    out.push(vec![
                        s("CONFIG"),
                        s("SET"),
                        s("list-max-listpack-size"),
                        s(r.pick(&fills)),
                    ]);
                } else {
                    out.push(vec![s("LRANGE"), k, s("0"), s("-1")]);
                }
            }
            37 => out.push(vec![s("COPY"), k, s(r.pick(&lists)), s("REPLACE")]),
            _ => {
                // Grow a list past several chunks at once.
                let mut c = vec![s(r.pick(&["LPUSH", "RPUSH"])), k];
                for i in 0..(50 + r.below(150)) {
                    c.push(format!("bulk-{i}-{}", r.below(5)).into_bytes());
                }
                out.push(c);
            }
        }
        // Keep the lists from growing without bound.
        if r.below(60) == 0 {
            for l in lists {
                out.push(vec![s("LTRIM"), s(l), s("-300"), s("-1")]);
            }
        }
    }
    out.push(vec![
        s("CONFIG"),
        s("SET"),
        s("list-max-listpack-size"),
        s("-2"),
    ]);
    out
}

#[test]
fn random_list_mixes_match_redis() {
    let (seed, n) = seed_and_count(12_000);
    eprintln!("differential (lists): seed {seed}, {n} commands");
    let cmds = random_list_mix(seed, n);
    let diffs = run_both_with(&cmds, 10, cmp_for);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e diff_lists): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Long lists of long elements, built and read from both ends under each fill: every
/// reply (LRANGE windows across chunk boundaries, LINDEX, LPOS, pops) as redis-server's.
#[test]
fn long_lists_across_chunk_sizes_match_redis() {
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    for fill in ["-1", "-2", "-5", "1", "7", "0"] {
        cmds.push(vec![
            s("CONFIG"),
            s("SET"),
            s("list-max-listpack-size"),
            s(fill),
        ]);
        cmds.push(vec![s("DEL"), s("big")]);
        for i in 0..300 {
            let len = [1usize, 10, 100, 1000, 5000, 9000][i % 6];
            let e = format!("{i}:{}", "z".repeat(len)).into_bytes();
            let cmd = if i % 2 == 0 { "RPUSH" } else { "LPUSH" };
            cmds.push(vec![s(cmd), s("big"), e]);
        }
        for (a, b) in [("0", "-1"), ("100", "140"), ("-50", "-20"), ("149", "151")] {
            cmds.push(vec![s("LRANGE"), s("big"), s(a), s(b)]);
        }
        for i in [0, 1, 149, 150, 151, 298, 299, 300, -1, -150, -300, -301] {
            cmds.push(vec![s("LINDEX"), s("big"), s(&i.to_string())]);
        }
        cmds.push(vec![
            s("LPOS"),
            s("big"),
            format!("7:{}", "z".repeat(100)).into_bytes(),
        ]);
        cmds.push(vec![s("LSET"), s("big"), s("150"), s("short")]);
        cmds.push(vec![s("LSET"), s("big"), s("151"), vec![b'q'; 20_000]]);
        cmds.push(vec![
            s("LINSERT"),
            s("big"),
            s("BEFORE"),
            s("short"),
            vec![b'w'; 10_000],
        ]);
        cmds.push(vec![s("LRANGE"), s("big"), s("148"), s("154")]);
        cmds.push(vec![s("LREM"), s("big"), s("0"), s("short")]);
        cmds.push(vec![s("LTRIM"), s("big"), s("3"), s("-4")]);
        cmds.push(vec![s("LPOP"), s("big"), s("40")]);
        cmds.push(vec![s("RPOP"), s("big"), s("40")]);
        cmds.push(vec![s("LLEN"), s("big")]);
        cmds.push(vec![s("LRANGE"), s("big"), s("0"), s("-1")]);
    }
    cmds.push(vec![
        s("CONFIG"),
        s("SET"),
        s("list-max-listpack-size"),
        s("-2"),
    ]);
    let diffs = run_both_with(&cmds, 10, cmp_for);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
