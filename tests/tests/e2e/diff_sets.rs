//! Differential tests of the set commands against redis-server (see `differential.rs`):
//! hand-written cases (`diff_sets_cases.txt`), a seeded random mix over colliding keys that
//! cross the intset threshold and also hold other types, and a multi-step SSCAN of a big set.
//!
//! Orders: keys named `i...` only ever hold intsets (integers, fewer than the mix's
//! threshold), and replies about them alone (SMEMBERS, SSCAN, SINTER/SUNION/SDIFF) are
//! compared exactly, since Redis's intset order is ascending; other replies whose order
//! Redis leaves undefined are compared as multisets. Random picks (SPOP, SRANDMEMBER) are
//! checked against Redis's rules: the members come from the set that the SMEMBERS just
//! before returned (recorded per thread), the counts agree, positive counts give distinct
//! members; after an SPOP, an `SUNION key` (one key) checks that what was popped is gone and
//! nothing else is, and then the mix restores the key from a backup on both servers.

use crate::differential::{cases, cmp_for, run_both_with, seed_and_count, Cmp};
use crate::support::{self, Kind, Rng};
use std::cell::RefCell;
use std::io::{BufRead, BufReader};

/// A parsed RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    Line(Vec<u8>),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

fn parse_reply(r: &mut impl BufRead) -> Option<Reply> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).ok()?;
    let body = line.get(1..line.len().checked_sub(2)?)?.to_vec();
    let n = || std::str::from_utf8(&body).ok()?.parse::<i64>().ok();
    match line.first()? {
        b'$' => {
            let n = n()?;
            if n < 0 {
                return Some(Reply::Bulk(None));
            }
            let mut buf = vec![0; n as usize + 2];
            r.read_exact(&mut buf).ok()?;
            buf.truncate(n as usize);
            Some(Reply::Bulk(Some(buf)))
        }
        b'*' => {
            let n = n()?;
            let mut v = Vec::new();
            for _ in 0..n.max(0) {
                v.push(parse_reply(r)?);
            }
            Some(Reply::Array(v))
        }
        _ => Some(Reply::Line(line)),
    }
}

fn parse(reply: &[u8]) -> Reply {
    parse_reply(&mut BufReader::new(reply)).unwrap_or(Reply::Line(reply.to_vec()))
}

/// The reply with every array of bulk strings sorted (so SSCAN's `[cursor, [members]]`
/// keeps its cursor first and sorts the members).
fn normalized(r: Reply) -> Reply {
    match r {
        Reply::Array(v) => {
            let mut v: Vec<Reply> = v.into_iter().map(normalized).collect();
            if v.iter().all(|e| matches!(e, Reply::Bulk(_))) {
                v.sort();
            }
            Reply::Array(v)
        }
        other => other,
    }
}

/// The bulk strings of an array reply; `None` for anything else.
fn bulks(r: &Reply) -> Option<Vec<Vec<u8>>> {
    match r {
        Reply::Array(v) => v
            .iter()
            .map(|e| match e {
                Reply::Bulk(Some(b)) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

thread_local! {
    /// kv_server's members of the set the last SMEMBERS read.
    static LAST_MEMBERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    /// What kv_server's last SPOP popped.
    static POPPED: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn last_members() -> Vec<Vec<u8>> {
    LAST_MEMBERS.with(|m| m.borrow().clone())
}

fn record(kv: &[u8]) {
    let got = bulks(&parse(kv)).unwrap_or_default();
    LAST_MEMBERS.with(|m| *m.borrow_mut() = got);
}

fn unordered(redis: &[u8], kv: &[u8]) -> bool {
    normalized(parse(redis)) == normalized(parse(kv))
}

/// SMEMBERS of an intset key: exact, and remembered for the random picks after it.
fn record_exact(redis: &[u8], kv: &[u8]) -> bool {
    record(kv);
    redis == kv
}

/// SMEMBERS of another key: as a multiset, and remembered.
fn record_unordered(redis: &[u8], kv: &[u8]) -> bool {
    record(kv);
    unordered(redis, kv)
}

fn distinct(v: &[Vec<u8>]) -> bool {
    let mut s = v.to_vec();
    s.sort();
    s.dedup();
    s.len() == v.len()
}

fn all_members(v: &[Vec<u8>]) -> bool {
    let set = last_members();
    v.iter().all(|m| set.contains(m))
}

/// SRANDMEMBER or SPOP without a count: nil exactly when Redis says nil, else a member.
fn random_one(redis: &[u8], kv: &[u8]) -> bool {
    match (parse(redis), parse(kv)) {
        (Reply::Bulk(Some(_)), Reply::Bulk(Some(m))) => all_members(&[m]),
        _ => redis == kv,
    }
}

/// SRANDMEMBER with a positive count: as many members as Redis gives, distinct, members.
fn random_distinct(redis: &[u8], kv: &[u8]) -> bool {
    match (bulks(&parse(redis)), bulks(&parse(kv))) {
        (Some(a), Some(b)) => a.len() == b.len() && distinct(&b) && all_members(&b),
        _ => redis == kv,
    }
}

/// SRANDMEMBER with a negative count: as many as Redis gives, repeats allowed, members.
fn random_repeats(redis: &[u8], kv: &[u8]) -> bool {
    match (bulks(&parse(redis)), bulks(&parse(kv))) {
        (Some(a), Some(b)) => a.len() == b.len() && all_members(&b),
        _ => redis == kv,
    }
}

/// SPOP with or without a count: as SRANDMEMBER's rules (popped members are distinct), and
/// remembered for the check after it.
fn spop_check(redis: &[u8], kv: &[u8]) -> bool {
    let ok = match (parse(redis), parse(kv)) {
        (Reply::Bulk(Some(_)), Reply::Bulk(Some(m))) => {
            POPPED.with(|p| *p.borrow_mut() = vec![m.clone()]);
            return all_members(&[m]);
        }
        (a, b) => match (bulks(&a), bulks(&b)) {
            (Some(x), Some(y)) => {
                let ok = x.len() == y.len() && distinct(&y) && all_members(&y);
                POPPED.with(|p| *p.borrow_mut() = y);
                ok
            }
            _ => redis == kv,
        },
    };
    if !ok || !redis.starts_with(b"*") {
        POPPED.with(|p| p.borrow_mut().clear());
    }
    ok
}

/// `SUNION key` after an SPOP: the same number of members left as in Redis, and what is
/// left plus what was popped is exactly the set before the pop.
fn after_pop(redis: &[u8], kv: &[u8]) -> bool {
    match (bulks(&parse(redis)), bulks(&parse(kv))) {
        (Some(a), Some(mut rest)) => {
            if a.len() != rest.len() {
                return false;
            }
            rest.extend(POPPED.with(|p| p.borrow().clone()));
            rest.sort();
            let mut before = last_members();
            before.sort();
            rest == before
        }
        _ => redis == kv,
    }
}

/// Whether a key only ever holds an intset (the naming rule of the cases and the mix).
fn intset_key(k: &[u8]) -> bool {
    k.starts_with(b"i")
}

/// How a set command's reply is compared (see the module documentation).
fn cmp(args: &[Vec<u8>]) -> Cmp {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let keys_exact = |keys: &[Vec<u8>]| keys.iter().all(|k| intset_key(k));
    match name.as_str() {
        "SMEMBERS" if args.len() == 2 && intset_key(&args[1]) => Cmp::Check(record_exact),
        "SMEMBERS" => Cmp::Check(record_unordered),
        "SUNION" if args.len() == 2 => Cmp::Check(after_pop),
        "SINTER" | "SUNION" | "SDIFF" if keys_exact(&args[1..]) => Cmp::Exact,
        "SINTER" | "SUNION" | "SDIFF" => Cmp::Check(unordered),
        "SSCAN" if args.len() > 1 && intset_key(&args[1]) => Cmp::Exact,
        "SSCAN" => Cmp::Check(unordered),
        "SPOP" => Cmp::Check(spop_check),
        "SRANDMEMBER" => match args.get(2).map(|c| String::from_utf8_lossy(c).into_owned()) {
            None => Cmp::Check(random_one),
            Some(c) if c.starts_with('-') => Cmp::Check(random_repeats),
            Some(_) => Cmp::Check(random_distinct),
        },
        _ => cmp_for(args),
    }
}

const CASES: &str = include_str!("diff_sets_cases.txt");

#[test]
fn hand_written_set_cases_match_redis() {
    let cmds = cases(CASES);
    assert!(cmds.len() > 200, "the case list is loaded");
    let diffs = run_both_with(&cmds, 20, cmp);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// A random mix of `n` set commands (and a few others) over colliding keys.
fn random_set_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    // Mixed keys, intset-only keys, and keys of other types.
    let mixed = ["a", "b", "c"];
    let ints_only = ["i1", "i2"];
    let all_keys = ["a", "b", "c", "i1", "i2", "str", "z", "missing"];
    let ints = [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "-1",
        "-100",
        "9223372036854775807",
        "-9223372036854775808",
        "42",
        "7",
        "8",
        "9",
    ];
    let others = [
        "x",
        "y",
        "m1",
        "m2",
        "",
        "long-member-name-abcdefghij",
        "\0bin\r\n",
        "-0",
        "007",
        "+3",
        " 1",
        "9223372036854775808",
        "1.5",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "20",
        "-7",
    ];
    let patterns = ["*", "1*", "m?", "*x*", "[0-4]", "-*"];
    let s = |x: &str| x.as_bytes().to_vec();
    let mut out: Vec<Vec<Vec<u8>>> = vec![
        vec![s("CONFIG"), s("SET"), s("set-max-intset-entries"), s("16")],
        vec![s("SET"), s("str"), s("v")],
        vec![s("ZADD"), s("z"), s("1"), s("a")],
    ];
    // A member for a mixed key: integers (some beyond the pool of the intset keys) most of
    // the time, so int-only sets grow past the threshold of 16.
    let member = |r: &mut Rng| -> String {
        if r.below(3) == 0 {
            r.pick(&others).to_string()
        } else if r.below(2) == 0 {
            r.pick(&ints).to_string()
        } else {
            format!("{}", 20 + r.below(40))
        }
    };
    while out.len() < n {
        let key_is_int = r.below(3) == 0;
        let k: &str = if key_is_int {
            r.pick(&ints_only)
        } else {
            r.pick(&mixed)
        };
        let m = |r: &mut Rng| -> String {
            if key_is_int {
                r.pick(&ints).to_string()
            } else {
                member(r)
            }
        };
        match r.below(30) {
            0..=5 => {
                let mut c = vec![s("SADD"), s(k)];
                let most = if r.below(4) == 0 { 12 } else { 3 };
                for _ in 0..=r.below(most) {
                    c.push(s(&m(&mut r)));
                }
                out.push(c);
            }
            6..=7 => {
                let mut c = vec![s("SREM"), s(k)];
                for _ in 0..=r.below(4) {
                    c.push(s(&m(&mut r)));
                }
                out.push(c);
            }
            8 => out.push(vec![s("SCARD"), s(r.pick(&all_keys))]),
            9 => out.push(vec![s("SISMEMBER"), s(r.pick(&all_keys)), s(&m(&mut r))]),
            10 => out.push(vec![
                s("SMISMEMBER"),
                s(r.pick(&all_keys)),
                s(&m(&mut r)),
                s(&m(&mut r)),
            ]),
            11 => out.push(vec![s("SMEMBERS"), s(k)]),
            12 => out.push(vec![s("OBJECT"), s("ENCODING"), s(k)]),
            13..=14 => {
                let k = if r.below(8) == 0 {
                    r.pick(&all_keys)
                } else {
                    k
                };
                out.push(vec![s("SMEMBERS"), s(k)]);
                let mut c = vec![s("SRANDMEMBER"), s(k)];
                match r.below(4) {
                    0 => {}
                    1 => c.push(s(r.pick(&["1", "2", "5", "17", "100", "0"]))),
                    2 => c.push(s(r.pick(&["-1", "-3", "-20", "-100"]))),
                    _ => c.push(s(r.pick(&["x", "1.5", "-9223372036854775808"]))),
                }
                out.push(c);
            }
            15..=16 => {
                // SPOP, checked and then undone on both servers.
                if r.below(10) == 0 {
                    // Other types and missing keys: errors, nil, empty (nothing to undo).
                    let mut c = vec![s("SPOP"), s(r.pick(&["str", "z", "missing"]))];
                    if r.below(2) == 0 {
                        c.push(s(r.pick(&["0", "2", "-1"])));
                    }
                    out.push(c);
                    continue;
                }
                let k = if r.below(8) == 0 { "dst" } else { k };
                let bak = "bak";
                out.push(vec![s("SMEMBERS"), s(k)]);
                out.push(vec![s("SUNIONSTORE"), s(bak), s(k)]);
                let mut c = vec![s("SPOP"), s(k)];
                if r.below(4) != 0 {
                    c.push(s(
                        r.pick(&["0", "1", "2", "3", "5", "8", "15", "40", "-1", "x"])
                    ));
                }
                out.push(c);
                out.push(vec![s("SCARD"), s(k)]);
                if key_is_int && k != "dst" {
                    // Elsewhere (`dst` too, which may hold strings) the kept members, so
                    // their encoding, are a random draw.
                    out.push(vec![s("OBJECT"), s("ENCODING"), s(k)]);
                }
                out.push(vec![s("SUNION"), s(k)]);
                out.push(vec![s("SUNIONSTORE"), s(k), s(bak)]);
                out.push(vec![s("DEL"), s(bak)]);
            }
            17 => {
                // SMOVE: into an intset key only integers from intset keys.
                let (src, dst, mem) = if key_is_int {
                    (
                        r.pick(&ints_only),
                        r.pick(&ints_only),
                        r.pick(&ints).to_string(),
                    )
                } else {
                    let src = r.pick(&all_keys);
                    let dst = r.pick(&["a", "b", "c", "str", "z", "dst"]);
                    (src, dst, member(&mut r))
                };
                out.push(vec![s("SMOVE"), s(src), s(dst), s(&mem)]);
                if r.below(2) == 0 {
                    out.push(vec![s("OBJECT"), s("ENCODING"), s(dst)]);
                }
            }
            18..=21 => {
                let op = r.pick(&["SINTER", "SUNION", "SDIFF"]);
                let store = r.below(2) == 0;
                let nkeys = 2 + r.below(2) as usize;
                let pool: &[&str] = if key_is_int { &ints_only } else { &all_keys };
                let mut c = vec![s(&format!("{op}{}", if store { "STORE" } else { "" }))];
                if store {
                    let dst = if key_is_int {
                        r.pick(&ints_only)
                    } else {
                        r.pick(&["a", "b", "c", "dst"])
                    };
                    c.push(s(dst));
                }
                for _ in 0..nkeys {
                    c.push(s(r.pick(pool)));
                }
                let dst = c.get(1).cloned().unwrap_or_default();
                out.push(c);
                if store {
                    out.push(vec![s("OBJECT"), s("ENCODING"), dst.clone()]);
                    out.push(vec![s("SMEMBERS"), dst]);
                }
            }
            22 => {
                let nkeys = 1 + r.below(3) as usize;
                let mut c = vec![s("SINTERCARD"), s(&nkeys.to_string())];
                for _ in 0..nkeys {
                    c.push(s(r.pick(&all_keys)));
                }
                if r.below(2) == 0 {
                    c.extend([s("LIMIT"), s(r.pick(&["0", "1", "2", "5", "-1", "x"]))]);
                }
                if r.below(10) == 0 {
                    c[1] = s(r.pick(&["0", "-1", "9", "x"]));
                }
                out.push(c);
            }
            23..=24 => {
                let mut c = vec![s("SSCAN"), s(k), s("0")];
                if r.below(2) == 0 {
                    c.extend([s("MATCH"), s(r.pick(&patterns))]);
                }
                // One step covers a whole small hashtable in both servers.
                c.extend([s("COUNT"), s("1000")]);
                // Other cursors than 0 are each server's own (Redis's are reversed bucket
                // indexes): only errors here.
                if r.below(10) == 0 {
                    c[2] = s(r.pick(&["x", "1.5"]));
                }
                out.push(c);
            }
            25 => out.push(vec![s(r.pick(&["TYPE", "EXISTS"])), s(r.pick(&all_keys))]),
            26 => {
                if r.below(6) == 0 {
                    out.push(vec![s("DEL"), s(k)]);
                } else {
                    out.push(vec![s("SCARD"), s(k)]);
                }
            }
            27 => {
                // A mixed key becomes a string for a while (WRONGTYPE paths).
                if r.below(3) == 0 {
                    let k = r.pick(&mixed);
                    out.push(vec![s("SET"), s(k), s("v")]);
                    out.push(vec![s("SADD"), s(k), s("1")]);
                    out.push(vec![s("DEL"), s(k)]);
                } else {
                    out.push(vec![s("SADD"), s(r.pick(&["str", "z"])), s("1")]);
                }
            }
            _ => {
                // Grow a mixed key past the threshold with integers only.
                let mut c = vec![s("SADD"), s(r.pick(&mixed))];
                let base = r.below(100);
                for i in 0..(8 + r.below(12)) {
                    c.push(s(&format!("{}", base + i)));
                }
                out.push(c);
            }
        }
    }
    out.push(vec![
        s("CONFIG"),
        s("SET"),
        s("set-max-intset-entries"),
        s("512"),
    ]);
    out
}

#[test]
fn random_set_mixes_match_redis() {
    let (seed, n) = seed_and_count(10_000);
    eprintln!("differential (sets): seed {seed}, {n} commands");
    let cmds = random_set_mix(seed, n);
    let diffs = run_both_with(&cmds, 10, cmp);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e diff_sets): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// SSCAN of a big hashtable set in many small steps on both servers: each server's scan
/// returns every member (cursors differ: they are each server's own), and the steps return
/// about COUNT members.
#[test]
fn sscan_of_a_big_set_in_steps_returns_every_member() {
    let members: Vec<String> = (0..3000).map(|i| format!("member:{i}")).collect();
    for kind in [Kind::Redis, Kind::Kv] {
        let server = support::server(kind);
        let mut raw = server.raw();
        for chunk in members.chunks(500) {
            let mut args = vec!["SADD".to_string(), "big".to_string()];
            args.extend(chunk.iter().cloned());
            raw.send(&support::encode_command(&args));
            raw.reply();
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = b"0".to_vec();
        let mut steps = 0;
        loop {
            raw.send(&support::encode_command(&[
                b"SSCAN".to_vec(),
                b"big".to_vec(),
                cursor.clone(),
                b"COUNT".to_vec(),
                b"50".to_vec(),
            ]));
            let Reply::Array(parts) = parse(&raw.reply()) else {
                panic!("{kind:?}: not an array");
            };
            let (Some(Reply::Bulk(Some(c))), Some(page)) = (parts.first(), parts.get(1)) else {
                panic!("{kind:?}: bad SSCAN reply");
            };
            let page = bulks(page).expect("members");
            assert!(
                page.len() < 500,
                "{kind:?}: a step of {} members",
                page.len()
            );
            seen.extend(page);
            cursor = c.clone();
            steps += 1;
            assert!(steps < 10_000, "{kind:?}: the scan does not end");
            if cursor == b"0" {
                break;
            }
        }
        assert!(steps >= 20, "{kind:?}: {steps} steps");
        assert_eq!(seen.len(), members.len(), "{kind:?}");
    }
}
