//! Differential test: the same command sequences against a real `redis-server` (the
//! oracle) and `kv_server`, replies compared byte for byte.
//!
//! Two sources of sequences: hand-written edge cases for every string, keyspace and expiry
//! command ([`EDGE_CASES`]), and a seeded generator of random mixes over a small key set, so
//! that keys collide and TTLs overlap ([`random_mix`]). Set `KV_DIFF_SEED` to replay a seed
//! (a failure prints it), `KV_DIFF_COMMANDS` to change the length (default 20,000).
//!
//! Replies that legitimately differ are normalised first: KEYS is compared as a sorted set,
//! TTL-like replies within a tolerance (the two servers run the same command a few
//! milliseconds apart). TTLs in the random mix are either long (minutes) or already in the
//! past, never due during the run, so no comparison races with expiry.

use crate::support::{self, Kind, Rng};
use std::io::{BufReader, Write};
use std::net::TcpStream;

/// How a reply is compared.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cmp {
    Exact,
    /// Array of bulk strings compared as a sorted list (a multiset).
    Sorted,
    /// Integer compared within this tolerance.
    Near(i64),
    /// A check of the family's own: `f(redis_reply, kv_reply)` says whether they agree
    /// (random picks: same count, distinct or not as Redis's rule says, members valid).
    Check(fn(&[u8], &[u8]) -> bool),
}

/// The default comparison for a command; the families' own `cmp` functions fall back to it.
pub(crate) fn cmp_for(args: &[Vec<u8>]) -> Cmp {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    match name.as_str() {
        "keys" => Cmp::Sorted,
        "ttl" | "expiretime" => Cmp::Near(2),
        "pttl" | "pexpiretime" => Cmp::Near(2_000),
        _ => Cmp::Exact,
    }
}

/// A connection to one server that sends commands and reads raw replies.
struct Peer {
    name: &'static str,
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Peer {
    fn connect(name: &'static str, port: u16) -> Peer {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.set_nodelay(true).unwrap();
        Peer {
            name,
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    fn call(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.w.write_all(&support::encode_command(args)).unwrap();
        support::read_reply(&mut self.r).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

fn int_of(reply: &[u8]) -> Option<i64> {
    std::str::from_utf8(reply.strip_prefix(b":")?.strip_suffix(b"\r\n")?)
        .ok()?
        .parse()
        .ok()
}

fn same(cmp: Cmp, a: &[u8], b: &[u8]) -> bool {
    match cmp {
        Cmp::Exact => a == b,
        Cmp::Sorted if a.starts_with(b"*") && b.starts_with(b"*") => {
            let (mut x, mut y) = (support::bulk_elements(a), support::bulk_elements(b));
            x.sort();
            y.sort();
            x == y
        }
        Cmp::Sorted => a == b,
        Cmp::Near(tol) => match (int_of(a), int_of(b)) {
            (Some(x), Some(y)) if x >= 0 && y >= 0 => (x - y).abs() <= tol,
            _ => a == b,
        },
        Cmp::Check(f) => f(a, b),
    }
}

fn show(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmds` on both servers (fresh connections, FLUSHALL first) and returns the
/// differences, at most `max` of them.
pub(crate) fn run_both(cmds: &[Vec<Vec<u8>>], max: usize) -> Vec<String> {
    run_both_with(cmds, max, cmp_for)
}

/// As [`run_both`], comparing each reply as `cmp` says for its command.
pub(crate) fn run_both_with(
    cmds: &[Vec<Vec<u8>>],
    max: usize,
    cmp: fn(&[Vec<u8>]) -> Cmp,
) -> Vec<String> {
    let redis = support::server(Kind::Redis);
    let kv = support::server(Kind::Kv);
    let mut a = Peer::connect("redis-server", redis.port());
    let mut b = Peer::connect("kv_server", kv.port());
    let flush = vec![b"FLUSHALL".to_vec()];
    assert_eq!(a.call(&flush), b"+OK\r\n");
    assert_eq!(b.call(&flush), b"+OK\r\n");
    let mut diffs = Vec::new();
    for (i, args) in cmds.iter().enumerate() {
        let (ra, rb) = (a.call(args), b.call(args));
        if !same(cmp(args), &ra, &rb) {
            diffs.push(format!(
                "#{i} {}\n  redis-server: {:?}\n  kv_server:    {:?}",
                show(args),
                String::from_utf8_lossy(&ra),
                String::from_utf8_lossy(&rb)
            ));
            if diffs.len() >= max {
                break;
            }
        }
    }
    diffs
}

/// One hand-written case line: arguments separated by `|`, with [`unescape`]'s escapes.
pub(crate) fn parse_case(line: &str) -> Vec<Vec<u8>> {
    line.split('|').map(unescape).collect()
}

/// `\r`, `\n`, `\0`, `\xHH` and `\\` in hand-written cases; `\e` is the empty string.
fn unescape(s: &str) -> Vec<u8> {
    if s == "\\e" {
        return Vec::new();
    }
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'p' => out.push(b'|'),
                b'x' if i + 3 < b.len() => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                    i += 2;
                }
                other => out.push(other),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Hand-written edge cases, one command per line, arguments separated by `|`.
const EDGE_CASES: &str = include_str!("differential_cases.txt");

/// The commands of a hand-written case file: one a line, `#` comments and blank lines
/// skipped.
pub(crate) fn cases(text: &str) -> Vec<Vec<Vec<u8>>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_case)
        .collect()
}

#[test]
fn hand_written_edge_cases_match_redis() {
    let cmds = cases(EDGE_CASES);
    assert!(cmds.len() > 300, "the case list is loaded");
    let diffs = run_both(&cmds, 20);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// A random mix of `n` string, keyspace and expiry commands over a small key set.
fn random_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let keys: Vec<Vec<u8>> = vec![
        b"a".to_vec(),
        b"b".to_vec(),
        b"c".to_vec(),
        b"num".to_vec(),
        b"f".to_vec(),
        b"".to_vec(),
        b"bin\0\r\n".to_vec(),
        b"k:1".to_vec(),
        // Keys on both sides of the longest inline string (22 bytes, `types::string`).
        b"key:0123456789:abcdefg".to_vec(),
        b"key:0123456789:abcdefgh".to_vec(),
    ];
    let ints = [
        "0",
        "1",
        "-1",
        "2",
        "10",
        "-10",
        "100",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775806",
        "x",
        "",
        " 1",
        "+1",
        "01",
        "3.5",
        "1e3",
    ];
    let floats = [
        "0", "1.5", "-0.1", "0.1", "0.2", "1e10", "-2.5e-3", "3", "abc", "inf", "1e5000", "10.5",
    ];
    let values = [
        "v",
        "",
        "hello world",
        "12",
        "-7",
        "3.25",
        "\0\r\n",
        "x",
        "99999999999999999999",
        // Around the longest inline string (22 bytes): APPEND and SETRANGE cross it.
        "abcdefghijklmnopqrstu",
        "abcdefghijklmnopqrstuv",
        "abcdefghijklmnopqrstuvw",
        "0123456789012345678901234567890123456789",
    ];
    let offsets = [
        "0", "1", "3", "-1", "-3", "5", "21", "22", "100", "-100", "x",
    ];
    let long_ttl_s = ["300", "600", "1000"];
    let past_ttl = ["-1", "-100", "0"];
    let mut out = Vec::with_capacity(n);
    let s = |x: &str| x.as_bytes().to_vec();
    for _ in 0..n {
        let k = r.pick(&keys);
        let k2 = r.pick(&keys);
        let cmd: Vec<Vec<u8>> = match r.below(40) {
            0..=3 => {
                let mut c = vec![s("SET"), k, s(r.pick(&values))];
                for _ in 0..r.below(3) {
                    match r.below(9) {
                        0 => c.push(s("NX")),
                        1 => c.push(s("XX")),
                        2 => c.push(s("GET")),
                        3 => c.push(s("KEEPTTL")),
                        4 => c.extend([s("EX"), s(r.pick(&long_ttl_s))]),
                        5 => c.extend([s("PX"), s("500000")]),
                        // Absolute times are far in the future: a key set already expired
                        // would stay in DBSIZE until each server's active expiry runs.
                        6 => c.extend([s("EXAT"), s("99999999999")]),
                        7 => c.extend([s("PXAT"), s("99999999999999")]),
                        _ => c.extend([s("EX"), s(r.pick(&ints))]),
                    }
                }
                c
            }
            4..=5 => vec![s("GET"), k],
            6 => vec![s("SETNX"), k, s(r.pick(&values))],
            7 => vec![
                s(r.pick(&["SETEX", "PSETEX"])),
                k,
                s(r.pick(&["300", "0", "-5", "x", "500000"])),
                s("v"),
            ],
            8 => vec![s("GETSET"), k, s(r.pick(&values))],
            9 => vec![s("GETDEL"), k],
            10 => {
                let mut c = vec![s("GETEX"), k];
                match r.below(5) {
                    0 => c.extend([s("EX"), s(r.pick(&long_ttl_s))]),
                    1 => c.push(s("PERSIST")),
                    2 => c.extend([s("PXAT"), s("1")]),
                    3 => c.extend([s("EX"), s(r.pick(&ints))]),
                    _ => {}
                }
                c
            }
            11 => vec![s("MGET"), k, k2, s("missing")],
            12 => vec![
                s(r.pick(&["MSET", "MSETNX"])),
                k,
                s(r.pick(&values)),
                k2,
                s(r.pick(&values)),
            ],
            13..=15 => vec![s(r.pick(&["INCR", "DECR"])), k],
            16..=17 => vec![s(r.pick(&["INCRBY", "DECRBY"])), k, s(r.pick(&ints))],
            18..=19 => vec![s("INCRBYFLOAT"), k, s(r.pick(&floats))],
            20 => vec![s("APPEND"), k, s(r.pick(&values))],
            21 => vec![s("STRLEN"), k],
            22 => vec![
                s(r.pick(&["GETRANGE", "SUBSTR"])),
                k,
                s(r.pick(&offsets)),
                s(r.pick(&offsets)),
            ],
            23 => vec![
                s("SETRANGE"),
                k,
                s(r.pick(&["0", "1", "5", "20", "22", "23", "-1", "x"])),
                s(r.pick(&values)),
            ],
            24 => vec![
                s(r.pick(&["DEL", "UNLINK", "EXISTS", "TOUCH"])),
                k.clone(),
                k2,
                k,
            ],
            25 => vec![s("TYPE"), k],
            26 => vec![s(r.pick(&["RENAME", "RENAMENX"])), k, k2],
            27 => {
                let mut c = vec![s("COPY"), k, k2];
                if r.below(2) == 0 {
                    c.push(s("REPLACE"));
                }
                c
            }
            28 => vec![
                s("KEYS"),
                s(r.pick(&["*", "?", "k*", "[ab]", "*\0*", "[^a]*"])),
            ],
            29 => vec![s("DBSIZE")],
            30..=31 => {
                // Relative times with GT/LT would compare two "now"s a few milliseconds
                // apart on each server: flags go with absolute times only (case 32).
                let mut c = vec![s(r.pick(&["EXPIRE", "PEXPIRE"])), k];
                c.push(s(r.pick(&[
                    long_ttl_s[0],
                    long_ttl_s[1],
                    "400000",
                    past_ttl[0],
                    past_ttl[1],
                    past_ttl[2],
                    "x",
                ])));
                if r.below(2) == 0 {
                    c.push(s(r.pick(&["NX", "XX", "FOO"])));
                }
                c
            }
            32 => {
                let mut c = vec![s(r.pick(&["EXPIREAT", "PEXPIREAT"])), k];
                c.push(s(r.pick(&["1", "99999999999", "99999999998", "-1"])));
                if r.below(2) == 0 {
                    c.push(s(r.pick(&["NX", "XX", "GT", "LT"])));
                }
                c
            }
            33..=34 => vec![s(r.pick(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"])), k],
            35 => vec![s("PERSIST"), k],
            36 => vec![s(r.pick(&["EXISTS", "GET", "STRLEN"])), k],
            37 => vec![s("FLUSHDB")],
            _ => vec![s(r.pick(&["INCRBY", "APPEND"])), k, s("1")],
        };
        out.push(cmd);
    }
    out
}

/// A random mix of `n` sorted-set commands over a few keys, some of which also take
/// strings (so WRONGTYPE paths run), with many ties on score.
fn random_zset_mix(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let keys = ["z1", "z2", "z3", "s"];
    let members = [
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h",
        "",
        "long-member-name",
    ];
    let scores = [
        "0", "1", "-1", "1.5", "2", "3", "-0", "0.1", "1e20", "inf", "-inf", "x", "(1",
    ];
    let bounds = ["-inf", "+inf", "0", "(0", "1", "(1", "2", "(2", "3", "x"];
    let lex = ["-", "+", "[a", "(a", "[c", "(c", "[e", "(h", "x"];
    let ranks = ["0", "1", "2", "-1", "-2", "5", "-10", "x"];
    let s = |x: &str| x.as_bytes().to_vec();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = s(r.pick(&keys));
        let cmd: Vec<Vec<u8>> = match r.below(27) {
            24 => {
                // Two inputs only: sums of three doubles depend on the order Redis picks.
                let op = r.pick(&[
                    "ZUNIONSTORE",
                    "ZINTERSTORE",
                    "ZDIFFSTORE",
                    "ZUNION",
                    "ZINTER",
                    "ZDIFF",
                ]);
                let store = op.ends_with("STORE");
                let mut c = vec![s(op)];
                if store {
                    c.push(s(r.pick(&keys)));
                }
                c.extend([s("2"), s(r.pick(&keys)), s(r.pick(&keys))]);
                if !op.starts_with("ZDIFF") && r.below(2) == 0 {
                    c.extend([
                        s("WEIGHTS"),
                        s(r.pick(&["1", "2", "-1", "0.5", "0"])),
                        s(r.pick(&["1", "3", "inf"])),
                    ]);
                }
                if !op.starts_with("ZDIFF") && r.below(2) == 0 {
                    c.extend([s("AGGREGATE"), s(r.pick(&["SUM", "MIN", "MAX"]))]);
                }
                if !store && r.below(2) == 0 {
                    c.push(s("WITHSCORES"));
                }
                c
            }
            25 => {
                let mut c = vec![s("ZRANGESTORE"), s(r.pick(&keys)), k];
                c.extend([s(r.pick(&bounds)), s(r.pick(&bounds)), s("BYSCORE")]);
                c
            }
            26 => vec![s("ZSCAN"), k, s("0")],
            0..=4 => {
                let mut c = vec![s("ZADD"), k];
                for _ in 0..r.below(3) {
                    c.push(s(r.pick(&["NX", "XX", "GT", "LT", "CH", "INCR"])));
                }
                for _ in 0..=r.below(3) {
                    c.push(s(r.pick(&scores)));
                    c.push(s(r.pick(&members)));
                }
                c
            }
            5 => vec![s("ZINCRBY"), k, s(r.pick(&scores)), s(r.pick(&members))],
            6 => vec![s("ZREM"), k, s(r.pick(&members)), s(r.pick(&members))],
            7 => vec![s("ZSCORE"), k, s(r.pick(&members))],
            8 => vec![s("ZMSCORE"), k, s(r.pick(&members)), s(r.pick(&members))],
            9 => vec![s("ZCARD"), k],
            10 => vec![s("ZCOUNT"), k, s(r.pick(&bounds)), s(r.pick(&bounds))],
            11 => vec![s("ZLEXCOUNT"), k, s(r.pick(&lex)), s(r.pick(&lex))],
            12 => vec![s(r.pick(&["ZRANK", "ZREVRANK"])), k, s(r.pick(&members))],
            13..=14 => {
                let mut c = vec![s("ZRANGE"), k];
                match r.below(3) {
                    0 => c.extend([s(r.pick(&ranks)), s(r.pick(&ranks))]),
                    1 => c.extend([s(r.pick(&bounds)), s(r.pick(&bounds)), s("BYSCORE")]),
                    _ => c.extend([s(r.pick(&lex)), s(r.pick(&lex)), s("BYLEX")]),
                }
                if r.below(2) == 0 {
                    c.push(s("REV"));
                }
                if r.below(3) == 0 {
                    c.extend([s("LIMIT"), s(r.pick(&ranks)), s(r.pick(&ranks))]);
                }
                if r.below(2) == 0 {
                    c.push(s("WITHSCORES"));
                }
                c
            }
            15 => vec![
                s("ZREVRANGE"),
                k,
                s(r.pick(&ranks)),
                s(r.pick(&ranks)),
                s("WITHSCORES"),
            ],
            16 => vec![
                s(r.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])),
                k,
                s(r.pick(&bounds)),
                s(r.pick(&bounds)),
                s("WITHSCORES"),
            ],
            17 => vec![
                s(r.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"])),
                k,
                s(r.pick(&lex)),
                s(r.pick(&lex)),
            ],
            18 => {
                let mut c = vec![s(r.pick(&["ZPOPMIN", "ZPOPMAX"])), k];
                if r.below(2) == 0 {
                    c.push(s(r.pick(&["0", "1", "2", "5", "-1"])));
                }
                c
            }
            19 => vec![
                s("ZREMRANGEBYRANK"),
                k,
                s(r.pick(&ranks)),
                s(r.pick(&ranks)),
            ],
            20 => vec![
                s("ZREMRANGEBYSCORE"),
                k,
                s(r.pick(&bounds)),
                s(r.pick(&bounds)),
            ],
            21 => vec![s("ZREMRANGEBYLEX"), k, s(r.pick(&lex)), s(r.pick(&lex))],
            22 => vec![s(r.pick(&["SET", "APPEND"])), k, s("v")],
            _ => vec![s(r.pick(&["TYPE", "DEL", "EXISTS", "GET"])), k],
        };
        out.push(cmd);
    }
    out
}

/// The seed (`KV_DIFF_SEED`, else the clock) and length (`KV_DIFF_COMMANDS`, else
/// `default_n`) of a random mix.
pub(crate) fn seed_and_count(default_n: usize) -> (u64, usize) {
    let seed = std::env::var("KV_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let n = std::env::var("KV_DIFF_COMMANDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_n);
    (seed, n)
}

#[test]
fn random_sorted_set_mixes_match_redis() {
    let (seed, n) = seed_and_count(10_000);
    eprintln!("differential (sorted sets): seed {seed}, {n} commands");
    let diffs = run_both(&random_zset_mix(seed, n), 10);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e random_sorted_set): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn random_command_mixes_match_redis() {
    let (seed, n) = seed_and_count(20_000);
    eprintln!("differential: seed {seed}, {n} commands (replay with KV_DIFF_SEED={seed})");
    let cmds = random_mix(seed, n);
    let diffs = run_both(&cmds, 10);
    assert!(
        diffs.is_empty(),
        "seed {seed} (replay: KV_DIFF_SEED={seed} cargo test -p kv-tests --test e2e differential): {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// COMMAND INFO and COMMAND DOCS of every command in kv_server's table (but the book's
/// ZQUERY, which Redis lacks) match redis-server's byte for byte: the metadata is stored
/// byte-pair encoded, and this checks every entry's expansion.
#[test]
fn command_info_and_docs_of_every_command_match_redis() {
    let kv = support::server(Kind::Kv);
    let names: Vec<Vec<u8>> = support::bulk_elements(&kv.raw().call(&["COMMAND", "LIST"]))
        .into_iter()
        .filter(|n| n.as_slice() != b"zquery")
        .collect();
    assert!(names.len() > 100, "{} commands", names.len());
    let mut cmds = Vec::new();
    for sub in ["INFO", "DOCS"] {
        for name in &names {
            cmds.push(vec![
                b"COMMAND".to_vec(),
                sub.as_bytes().to_vec(),
                name.clone(),
            ]);
        }
    }
    // Container commands list their subcommands in the order of a Redis dict, which is
    // seeded per process: compare those replies as multisets of lines.
    fn same_lines(a: &[u8], b: &[u8]) -> bool {
        let lines = |r: &[u8]| {
            let mut v: Vec<Vec<u8>> = r.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            v.sort();
            v
        };
        lines(a) == lines(b)
    }
    fn cmp(args: &[Vec<u8>]) -> Cmp {
        let containers: [&[u8]; 11] = [
            b"acl",
            b"client",
            b"config",
            b"command",
            b"function",
            b"object",
            b"memory",
            b"script",
            b"pubsub",
            b"slowlog",
            b"latency",
        ];
        if containers.contains(&args[2].as_slice()) {
            Cmp::Check(same_lines)
        } else {
            Cmp::Exact
        }
    }
    let diffs = run_both_with(&cmds, 5, cmp);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The HELP replies of the container commands list only the subcommands mini-kv has, but
/// each starts with Redis's header line and ends with Redis's own "HELP / Prints this help."
#[test]
fn help_replies_start_and_end_as_redis() {
    fn ends_alike(a: &[u8], b: &[u8]) -> bool {
        let lines =
            |r: &[u8]| -> Vec<Vec<u8>> { r.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect() };
        let (x, y) = (lines(a), lines(b));
        x.len() > 4 && y.len() > 4 && x[1] == y[1] && x[x.len() - 3..] == y[y.len() - 3..]
    }
    let cmds: Vec<Vec<Vec<u8>>> = ["OBJECT", "MEMORY", "CONFIG", "CLIENT", "COMMAND"]
        .iter()
        .map(|c| vec![c.as_bytes().to_vec(), b"HELP".to_vec()])
        .collect();
    let diffs = run_both_with(&cmds, 5, |_| Cmp::Check(ends_alike));
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
