//! Differential tests of the glob matcher behind KEYS, SCAN MATCH, ZSCAN MATCH and CONFIG
//! GET against redis-server (see `differential.rs`): hand-written odd corners
//! (`diff_glob_cases.txt`) and a seeded fuzz of random patterns over random keys.
//!
//! KEYS is compared as a set, SCAN as its cursor plus a set, CONFIG GET by the parameter
//! names that both servers know (mini-kv has a few dozen parameters, Redis about 200; the
//! values of some, such as `port`, differ by design). CONFIG GET patterns in the fuzz always
//! hold `*`, `?` or `[`, because Redis looks a pattern without them up by exact name
//! instead of matching it.

use crate::differential::{cases, cmp_for, run_both_with, seed_and_count, Cmp};
use crate::support::{self, Rng};
use kv_core::config::Config;

const CASES: &str = include_str!("diff_glob_cases.txt");

/// The comparison for a command of this module.
fn cmp(args: &[Vec<u8>]) -> Cmp {
    match args[0].to_ascii_lowercase().as_slice() {
        b"scan" => Cmp::Check(scan_agrees),
        b"config" => Cmp::Check(config_names_agree),
        _ => cmp_for(args),
    }
}

/// A SCAN reply split into its cursor and its keys.
fn split_scan(reply: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let rest = reply.strip_prefix(b"*2\r\n$")?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let len: usize = std::str::from_utf8(&rest[..nl - 1]).ok()?.parse().ok()?;
    let cursor = rest.get(nl + 1..nl + 1 + len)?.to_vec();
    let array = rest.get(nl + 1 + len + 2..)?;
    let mut keys = support::bulk_elements(array);
    keys.sort();
    Some((cursor, keys))
}

fn scan_agrees(redis: &[u8], kv: &[u8]) -> bool {
    match (split_scan(redis), split_scan(kv)) {
        (Some(a), Some(b)) => a == b,
        _ => redis == kv,
    }
}

/// The parameter names of a CONFIG GET reply that both servers know, sorted.
fn config_names(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = support::bulk_elements(reply)
        .into_iter()
        .step_by(2)
        .filter(|n| n.as_slice() != b"workers")
        .filter(|n| Config::NAMES.iter().any(|k| k.as_bytes() == n.as_slice()))
        .collect();
    names.sort();
    names
}

fn config_names_agree(redis: &[u8], kv: &[u8]) -> bool {
    if redis.starts_with(b"*") && kv.starts_with(b"*") {
        config_names(redis) == config_names(kv)
    } else {
        redis == kv
    }
}

fn assert_no_diffs(what: &str, diffs: &[String]) {
    assert!(
        diffs.is_empty(),
        "{what}: {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn glob_cases_match_redis() {
    let cmds = cases(CASES);
    assert!(cmds.len() > 150, "the case list is loaded");
    assert_no_diffs("glob cases", &run_both_with(&cmds, 20, cmp));
}

/// Bytes keys and patterns are made of: every glob metacharacter, a few letters (both
/// cases), NUL and bytes >= 0x80.
const BYTES: &[u8] = b"*?[]^-\\abcAzZ\0\x80\xff";

fn random_bytes(r: &mut Rng, max_len: u64, alphabet: &[u8]) -> Vec<u8> {
    (0..r.below(max_len + 1))
        .map(|_| r.pick(alphabet))
        .collect()
}

/// A key: mostly short, over [`BYTES`] and a smaller alphabet (so that patterns hit).
fn random_key(r: &mut Rng) -> Vec<u8> {
    match r.below(4) {
        0 => random_bytes(r, 8, BYTES),
        _ => random_bytes(r, 6, b"abcA-]\\\0\xff"),
    }
}

/// One pattern token that consumes one byte: a literal, `?`, an escape or a class (of any
/// shape, terminated or not).
fn random_token(r: &mut Rng, out: &mut Vec<u8>) {
    match r.below(8) {
        0 => out.push(b'?'),
        1 => {
            out.push(b'\\');
            if r.below(4) > 0 {
                out.push(r.pick(BYTES));
            }
        }
        2 | 3 => {
            out.push(b'[');
            if r.below(3) == 0 {
                out.push(b'^');
            }
            for _ in 0..r.below(4) {
                match r.below(4) {
                    0 => {
                        out.push(r.pick(BYTES));
                        out.push(b'-');
                        out.push(r.pick(BYTES));
                    }
                    1 => {
                        out.push(b'\\');
                        out.push(r.pick(BYTES));
                    }
                    _ => out.push(r.pick(BYTES)),
                }
            }
            if r.below(6) > 0 {
                out.push(b']');
            }
        }
        _ => out.push(r.pick(BYTES)),
    }
}

/// A pattern: raw random bytes, a key with some bytes turned into tokens and stars, or a
/// sequence of random tokens and stars.
fn random_pattern(r: &mut Rng, keys: &[Vec<u8>]) -> Vec<u8> {
    match r.below(3) {
        0 => random_bytes(r, 10, BYTES),
        1 => {
            let key = r.pick(keys);
            let mut out = Vec::new();
            for &b in &key {
                match r.below(10) {
                    0 => out.push(b'?'),
                    1 => out.push(b'*'),
                    2 => random_token(r, &mut out),
                    3 if b == b'\\' || b == b'*' || b == b'?' || b == b'[' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    _ => out.push(b),
                }
            }
            if r.below(4) == 0 {
                out.push(b'*');
            }
            out
        }
        _ => {
            let mut out = Vec::new();
            for _ in 0..r.below(7) {
                if r.below(3) == 0 {
                    out.push(b'*');
                } else {
                    random_token(r, &mut out);
                }
            }
            out
        }
    }
}

/// A pattern with about `STAR_NESTING_LIMIT` groups of `*`, on either side of the limit
/// where Redis gives up.
fn nesting_pattern(r: &mut Rng) -> Vec<u8> {
    let limit = kv_core::glob::STAR_NESTING_LIMIT as u64;
    let groups = limit - 2 + r.below(5);
    // Tokens that all match `a` (so the key of 1100 × `a` can match), and now and then one
    // `b` (so only the keys with a `b` can).
    let tokens: [&[u8]; 5] = [b"a", b"?", b"[ab]", b"\\a", b"[^b]"];
    let b_at = if r.below(3) == 0 {
        r.below(groups)
    } else {
        u64::MAX
    };
    let mut out = Vec::new();
    for g in 0..groups {
        out.extend_from_slice(r.pick(&[&b"*"[..], b"**"]));
        out.extend_from_slice(if g == b_at { b"b" } else { r.pick(&tokens) });
    }
    let tails: [&[u8]; 6] = [b"", b"*", b"**", b"?", b"?*", b"a*"];
    out.extend_from_slice(r.pick(&tails));
    out
}

/// A CONFIG GET pattern that Redis matches as a glob: a parameter name with some bytes
/// turned into tokens, stars or upper case, or random tokens; always with `*`, `?` or `[`.
fn config_pattern(r: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    if r.below(4) == 0 {
        for _ in 0..1 + r.below(5) {
            if r.below(3) == 0 {
                out.push(b'*');
            } else {
                random_token(r, &mut out);
            }
        }
    } else {
        let name = r.pick(Config::NAMES);
        for &b in name.as_bytes() {
            match r.below(12) {
                0 => out.push(b'?'),
                1 => out.push(b'*'),
                2 => out.push(b.to_ascii_uppercase()),
                3 => {
                    out.push(b'[');
                    out.push(r.pick(b"aAmMzZ-^\\"));
                    out.push(r.pick(b"-xX"));
                    out.push(r.pick(b"aAmMzZ]\\"));
                    out.push(b']');
                }
                4 => random_token(r, &mut out),
                _ => out.push(b),
            }
        }
    }
    let glob_at = out.iter().position(|b| b"*?[".contains(b));
    let nul_at = out.iter().position(|&b| b == 0);
    if glob_at.is_none() || nul_at.is_some_and(|n| glob_at.is_some_and(|g| n < g)) {
        out.insert(0, b'*');
    }
    out
}

#[test]
fn random_patterns_match_as_redis() {
    let (seed, n) = seed_and_count(2_000);
    let mut r = Rng(seed | 1);
    let mut keys: Vec<Vec<u8>> = (0..200).map(|_| random_key(&mut r)).collect();
    // Long keys for the patterns around the nesting limit.
    keys.push(vec![b'a'; 1100]);
    keys.push(b"ab".repeat(600));
    keys.push((0..1050).map(|_| r.pick(b"ab")).collect());
    let s = |x: &str| x.as_bytes().to_vec();
    let mut cmds: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .map(|k| vec![s("SET"), k.clone(), s("1")])
        .collect();
    // How many patterns match some key (normal ones, then those around the nesting limit
    // that match and that do not): the fuzz has to exercise both answers.
    let (mut hits, mut deep_hits, mut deep_misses) = (0usize, 0usize, 0usize);
    for i in 0..n {
        let deep = i % 40 == 39;
        let pattern = if deep {
            nesting_pattern(&mut r)
        } else {
            random_pattern(&mut r, &keys)
        };
        let hit = keys
            .iter()
            .any(|k| kv_core::glob::matches(&pattern, k, false));
        match (deep, hit) {
            (false, true) => hits += 1,
            (true, true) => deep_hits += 1,
            (true, false) => deep_misses += 1,
            (false, false) => {}
        }
        if i % 10 == 0 {
            cmds.push(vec![
                s("SCAN"),
                s("0"),
                s("MATCH"),
                pattern,
                s("COUNT"),
                s("1000"),
            ]);
        } else {
            cmds.push(vec![s("KEYS"), pattern]);
        }
        if i % 2 == 0 {
            cmds.push(vec![s("CONFIG"), s("GET"), config_pattern(&mut r)]);
        }
    }
    eprintln!("{n} patterns: {hits} match some key; near the nesting limit {deep_hits} match, {deep_misses} do not");
    assert!(hits * 4 >= n, "too few patterns match: {hits} of {n}");
    if n >= 1_000 {
        assert!(
            deep_hits > 0 && deep_misses > 0,
            "{deep_hits} {deep_misses}"
        );
    }
    let diffs = run_both_with(&cmds, 20, cmp);
    assert_no_diffs(&format!("seed {seed} (KV_DIFF_SEED={seed})"), &diffs);
}
