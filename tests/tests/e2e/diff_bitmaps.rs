//! Differential tests of the bitmap commands and LCS against redis-server (see `differential.rs`):
//! hand-written cases for every command, option and error text of the family
//! (`diff_bitmaps_cases.txt`), and a seeded random mix of SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD, BITFIELD_RO and LCS with the string commands that also shape the same
//! few keys (one of which is sometimes a sorted set, so WRONGTYPE paths run). Every reply
//! has an order Redis defines, so all are compared exactly.

use crate::differential::{cases, run_both, seed_and_count};
use crate::support::Rng;

/// Hand-written cases, one command per line.
const CASES: &str = include_str!("diff_bitmaps_cases.txt");

#[test]
fn bitmap_cases_match_redis() {
    let cmds = cases(CASES);
    assert!(cmds.len() > 300, "the case list is loaded");
    let diffs = run_both(&cmds, 20);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// A bit offset: mostly inside the first 64 bytes, sometimes up to ~4 KB, sometimes bad.
fn offset(r: &mut Rng) -> String {
    match r.below(20) {
        0 => r.pick(&["-1", "x", "4294967296"]).to_string(),
        1..=2 => r.below(32_000).to_string(),
        _ => r.below(520).to_string(),
    }
}

/// A range bound for BITCOUNT/BITPOS.
fn bound(r: &mut Rng) -> String {
    match r.below(10) {
        0 => r.pick(&["x", "-100", "1000"]).to_string(),
        1..=3 => format!("-{}", r.below(80)),
        _ => r.below(80).to_string(),
    }
}

/// A BITFIELD type.
fn field_type(r: &mut Rng) -> String {
    match r.below(30) {
        0 => r.pick(&["u64", "i65", "i0", "x8"]).to_string(),
        _ => {
            let signed = r.below(2) == 0;
            let bits = 1 + r.below(if signed { 64 } else { 63 });
            format!("{}{bits}", if signed { 'i' } else { 'u' })
        }
    }
}

/// A BITFIELD offset, plain or `#` form.
fn field_offset(r: &mut Rng) -> String {
    match r.below(8) {
        0 => format!("#{}", r.below(40)),
        1 => r.pick(&["-1", "x", "#x"]).to_string(),
        _ => r.below(600).to_string(),
    }
}

/// A BITFIELD value or increment, around every interesting width's limits.
fn field_value(r: &mut Rng) -> String {
    match r.below(12) {
        0 => r
            .pick(&[
                "9223372036854775807",
                "-9223372036854775808",
                "4611686018427387904",
                "x",
            ])
            .to_string(),
        1..=2 => {
            let v = 1i64 << r.below(63);
            (if r.below(2) == 0 { v } else { -v }).to_string()
        }
        _ => (r.below(600) as i64 - 300).to_string(),
    }
}

/// A random mix of `n` bitmap, LCS and string commands over a few colliding keys.
fn random_bitmap_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let keys = ["b1", "b2", "b3", "z"];
    let values = [
        "foobar",
        "",
        "\u{0}\u{ff}",
        "abcabcabc",
        "12345",
        "ohmytext",
        "mynewtext",
    ];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = r.pick(&keys).to_string();
        let mut c: Vec<String> = match r.below(30) {
            0..=4 => vec![
                "SETBIT".into(),
                k,
                offset(&mut r),
                r.pick(&["0", "1", "1", "2"]).into(),
            ],
            5..=6 => vec!["GETBIT".into(), k, offset(&mut r)],
            7..=9 => {
                let mut c = vec!["BITCOUNT".into(), k];
                if r.below(4) != 0 {
                    c.extend([bound(&mut r), bound(&mut r)]);
                    if r.below(2) == 0 {
                        c.push(r.pick(&["BIT", "BYTE", "bit", "BITS"]).into());
                    }
                }
                c
            }
            10..=12 => {
                let mut c = vec![
                    "BITPOS".into(),
                    k,
                    r.pick(&["0", "1", "0", "1", "2"]).into(),
                ];
                let extra = r.below(4);
                if extra >= 1 {
                    c.push(bound(&mut r));
                }
                if extra >= 2 {
                    c.push(bound(&mut r));
                }
                if extra >= 3 {
                    c.push(r.pick(&["BIT", "BYTE", "bit", "x"]).into());
                }
                c
            }
            13..=14 => {
                let op = r.pick(&["AND", "OR", "XOR", "NOT", "not", "NAND"]);
                let mut c = vec!["BITOP".into(), op.into(), k];
                let srcs = if op.eq_ignore_ascii_case("NOT") && r.below(8) != 0 {
                    1
                } else {
                    1 + r.below(3)
                };
                for _ in 0..srcs {
                    c.push(r.pick(&["b1", "b2", "b3", "z", "none"]).into());
                }
                c
            }
            15..=18 => {
                let mut c = vec![
                    if r.below(6) == 0 {
                        "BITFIELD_RO"
                    } else {
                        "BITFIELD"
                    }
                    .into(),
                    k,
                ];
                for _ in 0..=r.below(4) {
                    match r.below(9) {
                        0..=2 => c.extend(["GET".into(), field_type(&mut r), field_offset(&mut r)]),
                        3..=4 => c.extend([
                            "SET".into(),
                            field_type(&mut r),
                            field_offset(&mut r),
                            field_value(&mut r),
                        ]),
                        5..=7 => c.extend([
                            "INCRBY".into(),
                            field_type(&mut r),
                            field_offset(&mut r),
                            field_value(&mut r),
                        ]),
                        _ => c.extend([
                            "OVERFLOW".into(),
                            r.pick(&["WRAP", "SAT", "FAIL", "fail", "sat"]).into(),
                        ]),
                    }
                }
                c
            }
            19..=20 => {
                let mut c = vec!["LCS".into(), k, r.pick(&keys).into()];
                match r.below(6) {
                    0 => c.push("LEN".into()),
                    1 => c.push("IDX".into()),
                    2 => c.extend(["IDX".into(), "WITHMATCHLEN".into()]),
                    3 => c.extend([
                        "IDX".into(),
                        "MINMATCHLEN".into(),
                        r.below(4).to_string(),
                        "WITHMATCHLEN".into(),
                    ]),
                    _ => {}
                }
                c
            }
            21..=22 => vec!["SET".into(), k, r.pick(&values).into()],
            23 => vec!["APPEND".into(), k, r.pick(&values).into()],
            24 => vec![
                "SETRANGE".into(),
                k,
                r.below(70).to_string(),
                r.pick(&values).into(),
            ],
            25 => vec![r.pick(&["GET", "STRLEN", "TYPE"]).into(), k],
            26 => vec!["DEL".into(), k],
            27 => vec!["ZADD".into(), "z".into(), "1".into(), "m".into()],
            _ => vec!["GETRANGE".into(), k, "0".into(), "-1".into()],
        };
        if c.is_empty() {
            c.push("PING".into());
        }
        out.push(c.into_iter().map(String::into_bytes).collect());
    }
    out
}

#[test]
fn random_bitmap_mixes_match_redis() {
    let (seed, n) = seed_and_count(10_000);
    eprintln!("differential (bitmaps): seed {seed}, {n} commands");
    let diffs = run_both(&random_bitmap_mix(seed, n), 10);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e random_bitmap): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
