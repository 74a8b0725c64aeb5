//! Differential tests of the hash commands against redis-server (see `differential.rs`):
//! hand-written cases (`diff_hashes_cases.txt`) for every command, option and error, and a
//! seeded random mix over a few colliding keys that cross the encoding thresholds.
//!
//! Replies whose order Redis defines (listpack hashes) are compared exactly; those of
//! hashtable hashes as multisets. The comparison knows a hash's encoding from the
//! `OBJECT ENCODING` that precedes every such read (its reply is compared exactly too),
//! and HRANDFIELD's picks are checked against the `HGETALL` before it: Redis's count,
//! distinctness and order rules, every field and value present in the hash.

use crate::differential::{cases, cmp_for, run_both_with, seed_and_count, Cmp};
use crate::support::{self, Rng};
use std::cell::RefCell;

const CASES: &str = include_str!("diff_hashes_cases.txt");

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// What the comparison remembers from earlier replies (of redis-server, the oracle).
#[derive(Default)]
struct Seen {
    /// The arguments of the command being compared.
    args: Vec<Vec<u8>>,
    /// The last OBJECT ENCODING reply.
    encoding: Vec<u8>,
    /// The last HGETALL reply, as pairs in order.
    all: Pairs,
}

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::new(Seen::default());
}

fn is_array(r: &[u8]) -> bool {
    r.starts_with(b"*")
}

fn pairs(elems: &[Vec<u8>]) -> Pairs {
    elems
        .chunks(2)
        .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default()))
        .collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn listpack() -> bool {
    SEEN.with(|s| s.borrow().encoding.as_slice() == b"$8\r\nlistpack\r\n")
}

fn check_encoding(a: &[u8], b: &[u8]) -> bool {
    SEEN.with(|s| s.borrow_mut().encoding = a.to_vec());
    a == b
}

/// HGETALL, HKEYS, HVALS: exact for a listpack hash, as a multiset otherwise.
fn check_listing(a: &[u8], b: &[u8]) -> bool {
    let name = SEEN.with(|s| s.borrow().args[0].to_ascii_lowercase());
    if name == b"hgetall" && is_array(a) {
        let all = pairs(&support::bulk_elements(a));
        SEEN.with(|s| s.borrow_mut().all = all);
    }
    if a == b {
        return true;
    }
    if listpack() || !is_array(a) || !is_array(b) {
        return false;
    }
    let (x, y) = (support::bulk_elements(a), support::bulk_elements(b));
    if name == b"hgetall" {
        sorted(pairs(&x)) == sorted(pairs(&y))
    } else {
        sorted(x) == sorted(y)
    }
}

/// Splits an HSCAN reply into its cursor and elements.
fn scan_parts(r: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let rest = r.strip_prefix(b"*2\r\n$")?;
    let nl = rest.iter().position(|&c| c == b'\n')?;
    let len: usize = std::str::from_utf8(&rest[..nl - 1]).ok()?.parse().ok()?;
    let cursor = rest.get(nl + 1..nl + 1 + len)?.to_vec();
    let inner = rest.get(nl + 3 + len..)?;
    Some((cursor, support::bulk_elements(inner)))
}

/// HSCAN: exact for a listpack hash; for a hashtable one the same pairs when both scans
/// finish in one step, else every pair returned is in the hash.
fn check_scan(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    if listpack() {
        return false;
    }
    let (Some((ca, ea)), Some((cb, eb))) = (scan_parts(a), scan_parts(b)) else {
        return false;
    };
    if ca == b"0" && cb == b"0" {
        return sorted(pairs(&ea)) == sorted(pairs(&eb));
    }
    let all = SEEN.with(|s| s.borrow().all.clone());
    pairs(&eb).iter().all(|p| all.contains(p))
}

/// HRANDFIELD: Redis's rules for the count, repeats and order; every pick in the hash.
fn check_randfield(a: &[u8], b: &[u8]) -> bool {
    let (args, all) = SEEN.with(|s| {
        let s = s.borrow();
        (s.args.clone(), s.all.clone())
    });
    // Redis's own reply is a valid one.
    if a == b {
        return true;
    }
    if a.starts_with(b"-") || b.starts_with(b"-") || a.starts_with(b"$-1") {
        return a == b;
    }
    if args.len() == 2 {
        // One field.
        let Some(f) = b
            .strip_prefix(b"$")
            .and_then(|r| r.iter().position(|&c| c == b'\n').map(|i| &r[i + 1..]))
            .and_then(|r| r.strip_suffix(b"\r\n"))
        else {
            return false;
        };
        return all.iter().any(|(k, _)| k == f);
    }
    if !is_array(a) || !is_array(b) {
        return false;
    }
    let count: i64 = std::str::from_utf8(&args[2]).unwrap().parse().unwrap();
    let withvalues = args.len() == 4;
    let (ea, eb) = (support::bulk_elements(a), support::bulk_elements(b));
    if ea.len() != eb.len() {
        return false;
    }
    let picks: Pairs = if withvalues {
        pairs(&eb)
    } else {
        eb.iter()
            .map(|f| {
                let v = all.iter().find(|(k, _)| k == f).map(|p| p.1.clone());
                (f.clone(), v.unwrap_or_default())
            })
            .collect()
    };
    if !picks.iter().all(|p| all.contains(p)) {
        return false;
    }
    if count < 0 || count == 1 {
        return true;
    }
    let distinct = sorted(picks.clone()).windows(2).all(|w| w[0] != w[1]);
    if !distinct {
        return false;
    }
    if count as usize >= all.len() {
        // The whole hash, in order.
        return if listpack() {
            a == b
        } else {
            sorted(picks) == sorted(all)
        };
    }
    if listpack() {
        // A sample in listpack order.
        let mut it = all.iter();
        return picks.iter().all(|p| it.any(|q| q == p));
    }
    true
}

/// The comparison for a hash command (others as `cmp_for`).
fn cmp(args: &[Vec<u8>]) -> Cmp {
    SEEN.with(|s| s.borrow_mut().args = args.to_vec());
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    match name.as_str() {
        "object" => Cmp::Check(check_encoding),
        "hgetall" | "hkeys" | "hvals" => Cmp::Check(check_listing),
        "hscan" => Cmp::Check(check_scan),
        "hrandfield" => Cmp::Check(check_randfield),
        _ => cmp_for(args),
    }
}

#[test]
fn hand_written_hash_cases_match_redis() {
    let cmds = cases(CASES);
    assert!(cmds.len() > 150, "the case list is loaded");
    let diffs = run_both_with(&cmds, 20, cmp);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// A random mix of `n` hash commands (and a few of other types) over a few keys, with the
/// listpack thresholds lowered (8 fields, 16 bytes) so that hashes cross them often.
fn random_hash_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let keys = ["h1", "h2", "h3", "s"];
    let fields = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "", "n1", "n2",
    ];
    let values = [
        "1",
        "0",
        "-5",
        "10",
        "1.5",
        "v",
        "",
        "9223372036854775807",
        "-9223372036854775808",
        "x-long-value-of-more-than-16-bytes",
        "inf",
        " 2",
        "0x10",
    ];
    let ints = [
        "1",
        "-1",
        "0",
        "100",
        "9223372036854775807",
        "-9223372036854775808",
        "x",
        "1.5",
    ];
    let floats = [
        "1", "-1", "0.1", "1.5", "1e3", "-2.5e-3", "inf", "nan", "x", "5.0e3", "0x1p3",
    ];
    let counts = ["0", "1", "2", "3", "5", "8", "20", "-1", "-3", "-20", "x"];
    let patterns = ["*", "a*", "n?", "[a-c]", "z*"];
    let s = |x: &str| x.as_bytes().to_vec();
    let mut out = vec![
        vec![
            s("CONFIG"),
            s("SET"),
            s("hash-max-listpack-entries"),
            s("8"),
        ],
        vec![s("CONFIG"), s("SET"), s("hash-max-listpack-value"), s("16")],
    ];
    while out.len() < n {
        let k = s(r.pick(&keys));
        let enc = vec![s("OBJECT"), s("ENCODING"), k.clone()];
        match r.below(22) {
            0..=3 => {
                let mut c = vec![s(r.pick(&["HSET", "HSET", "HMSET"])), k];
                for _ in 0..=r.below(3) {
                    c.push(s(r.pick(&fields)));
                    c.push(s(r.pick(&values)));
                }
                out.push(c);
            }
            4 => out.push(vec![s("HSETNX"), k, s(r.pick(&fields)), s(r.pick(&values))]),
            5 => out.push(vec![s("HGET"), k, s(r.pick(&fields))]),
            6 => out.push(vec![s("HMGET"), k, s(r.pick(&fields)), s(r.pick(&fields))]),
            7 => out.push(vec![
                s(r.pick(&["HEXISTS", "HSTRLEN"])),
                k,
                s(r.pick(&fields)),
            ]),
            8 => out.push(vec![s("HLEN"), k]),
            9..=10 => {
                let mut c = vec![s("HDEL"), k];
                for _ in 0..=r.below(3) {
                    c.push(s(r.pick(&fields)));
                }
                out.push(c);
            }
            11 => out.push(vec![s("HINCRBY"), k, s(r.pick(&fields)), s(r.pick(&ints))]),
            12 => out.push(vec![
                s("HINCRBYFLOAT"),
                k,
                s(r.pick(&fields)),
                s(r.pick(&floats)),
            ]),
            13..=14 => {
                out.push(enc);
                out.push(vec![s(r.pick(&["HGETALL", "HKEYS", "HVALS"])), k]);
            }
            15..=16 => {
                out.push(enc);
                out.push(vec![s("HGETALL"), k.clone()]);
                let mut c = vec![s("HRANDFIELD"), k];
                if r.below(5) > 0 {
                    c.push(s(r.pick(&counts)));
                    if r.below(2) == 0 {
                        c.push(s("WITHVALUES"));
                    }
                }
                out.push(c);
            }
            17 => {
                out.push(enc);
                out.push(vec![s("HGETALL"), k.clone()]);
                let mut c = vec![s("HSCAN"), k, s("0")];
                if r.below(2) == 0 {
                    c.extend([s("MATCH"), s(r.pick(&patterns))]);
                }
                if r.below(3) > 0 {
                    c.extend([s("COUNT"), s("1000")]);
                }
                out.push(c);
            }
            18 => out.push(enc),
            // Other types: mostly on "s" (so hash commands on it meet WRONGTYPE), now and
            // then on a hash key (which DEL later frees again).
            19 => {
                let k = if r.below(8) == 0 { k } else { s("s") };
                out.push(vec![s("SET"), k, s("v")]);
            }
            20 => {
                let k = if r.below(8) == 0 { k } else { s("s") };
                out.push(vec![s("DEL"), k.clone()]);
                out.push(vec![s("ZADD"), k, s("1"), s("m")]);
            }
            _ => out.push(vec![s(r.pick(&["DEL", "TYPE", "EXISTS"])), k]),
        }
    }
    out
}

#[test]
fn random_hash_mixes_match_redis() {
    let (seed, n) = seed_and_count(10_000);
    eprintln!("differential (hashes): seed {seed}, {n} commands");
    let diffs = run_both_with(&random_hash_mix(seed, n), 10, cmp);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e random_hash): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// A full HSCAN of a big hashtable hash, in small steps, gives every field on both servers.
#[test]
fn hscan_of_a_big_hash_returns_every_field() {
    let mut cmds = Vec::new();
    for chunk in 0..20 {
        let mut c = vec![b"HSET".to_vec(), b"big".to_vec()];
        for i in 0..100 {
            c.push(format!("field:{}", chunk * 100 + i).into_bytes());
            c.push(format!("{i}").into_bytes());
        }
        cmds.push(c);
    }
    for kind in [support::Kind::Redis, support::Kind::Kv] {
        let server = support::server(kind);
        let mut raw = server.raw();
        for c in &cmds {
            assert_eq!(raw.call(c), b":100\r\n");
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = b"0".to_vec();
        let mut steps = 0;
        loop {
            let reply = raw.call(&[
                b"HSCAN".to_vec(),
                b"big".to_vec(),
                cursor.clone(),
                b"COUNT".to_vec(),
                b"25".to_vec(),
            ]);
            let (next, elems) = scan_parts(&reply).expect("scan reply");
            for p in elems.chunks(2) {
                seen.insert(p[0].clone());
            }
            steps += 1;
            cursor = next;
            if cursor == b"0" {
                break;
            }
            assert!(steps < 10_000);
        }
        assert_eq!(seen.len(), 2000, "{kind:?}");
        assert!(steps > 10, "{kind:?}: {steps} steps");
    }
}
