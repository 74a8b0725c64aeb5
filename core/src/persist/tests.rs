//! The append-only file's differential test: engine A records a seeded random mix of write
//! commands of every family while its clock advances (keys expire for real, lazily and by
//! active expiry); its feed is replayed into a fresh engine B with time stopped, as at
//! start; then every database, key, type, value and TTL of A and B must agree at A's
//! final time. `KV_AOF_DIFF_LOG=1` prints every command A runs, with its reply.

use crate::cmd::{dispatch, Ctx, Session};
use crate::config::Config;
use crate::db::{Item, Value};
use crate::engine::{Engine, HostFacts};
use crate::persist::aof::{read_commands, ReadEnd};
use crate::persist::replay::Replayer;
use crate::resp::Args;
use crate::stats::WorkerStats;
use crate::time::{Instant, Now, UnixMillis};
use std::borrow::ToOwned;
use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

/// Databases the mix uses (SELECT, MOVE, COPY ... DB, SWAPDB).
const DBS: usize = 3;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn now_at(ms: i64) -> Now {
    Now {
        mono: Instant::from_nanos(u64::try_from(ms).unwrap_or(0) * 1_000_000),
        unix: UnixMillis(ms),
        unix_micros: ms * 1000,
    }
}

/// Runs one command on `engine` as `session` at `now`; the reply bytes.
fn run(engine: &Engine, session: &mut Session, now: Now, argv: &[Vec<u8>]) -> Vec<u8> {
    let out = run_quiet(engine, session, now, argv);
    if std::env::var_os("KV_AOF_DIFF_LOG").is_some() {
        let words: Vec<String> = argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        std::eprintln!(
            "A t={} db={} {} -> {}",
            now.unix.0,
            session.db,
            words.join(" "),
            String::from_utf8_lossy(&out).trim_end()
        );
    }
    out
}

fn run_quiet(engine: &Engine, session: &mut Session, now: Now, argv: &[Vec<u8>]) -> Vec<u8> {
    let mut src = Vec::new();
    let mut ranges = Vec::new();
    for a in argv {
        let start = src.len();
        src.extend_from_slice(a);
        ranges.push((start, src.len()));
    }
    let args = Args::new(&src, &ranges);
    let stats = WorkerStats::default();
    let mut ctx = Ctx {
        engine,
        stats: &stats,
        now,
        session,
    };
    let mut out = Vec::new();
    dispatch(&mut ctx, &args, &mut out);
    out
}

/// Keys of each family (a command picks one of its family's keys, sometimes any key, so
/// that most commands meet the type they want and some meet another).
const STRINGS: &[&str] = &["a", "b", "c"];
const LISTS: &[&str] = &["l1", "l2", "l3"];
const SETS: &[&str] = &["s1", "s2", "s3"];
const HASHES: &[&str] = &["h1", "h2"];
const ZSETS: &[&str] = &["z1", "z2", "z3"];
const KEYS: &[&str] = &[
    "a", "b", "c", "l1", "l2", "l3", "s1", "s2", "s3", "h1", "h2", "z1", "z2", "z3",
];
const VALUES: &[&str] = &["1", "2", "7", "3.5", "x", "yy", "-4"];

/// One random write command (with a few reads that expire keys lazily), as words.
/// `now` is A's time (for absolute times, past ones included); `dump` a DUMP payload
/// taken from A, if any.
fn command(r: &mut Rng, now: i64, dump: Option<&[u8]>) -> Vec<Vec<u8>> {
    let case = r.below(62);
    let pool = match case {
        0..=16 => STRINGS,
        29..=36 | 59 => LISTS,
        37..=43 | 55 => SETS,
        44..=47 | 60 => HASHES,
        48..=54 | 61 => ZSETS,
        _ => KEYS,
    };
    let k = |r: &mut Rng| {
        if r.chance(85) {
            r.pick(pool).to_owned()
        } else {
            r.pick(KEYS).to_owned()
        }
    };
    let v = |r: &mut Rng| r.pick(VALUES).to_owned();
    // A time around now: mostly future, sometimes past (milliseconds).
    let ms_at = |r: &mut Rng| now + r.below(600) as i64 - 100;
    let ttl_ms = |r: &mut Rng| (1 + r.below(400)).to_string();
    let words: Vec<String> = match case {
        0..=3 => {
            let mut w = vec!["SET".into(), k(r), v(r)];
            if r.chance(30) {
                w.push(r.pick(&["NX", "XX"]).into());
            }
            if r.chance(25) {
                w.push("GET".into());
            }
            match r.below(6) {
                0 => w.extend(["EX".into(), "1".into()]),
                1 => w.extend(["PX".into(), ttl_ms(r)]),
                2 => w.extend(["EXAT".into(), ((now + 1500) / 1000).to_string()]),
                3 => w.extend(["PXAT".into(), ms_at(r).to_string()]),
                4 => w.push("KEEPTTL".into()),
                _ => {}
            }
            w
        }
        4 => vec!["SETEX".into(), k(r), "1".into(), v(r)],
        5 => vec!["PSETEX".into(), k(r), ttl_ms(r), v(r)],
        6 => vec!["SETNX".into(), k(r), v(r)],
        7 => vec!["GETSET".into(), k(r), v(r)],
        8 => vec!["GETDEL".into(), k(r)],
        9 | 10 => {
            let mut w = vec!["GETEX".into(), k(r)];
            match r.below(6) {
                0 => w.extend(["EX".into(), "1".into()]),
                1 => w.extend(["PX".into(), ttl_ms(r)]),
                2 => w.extend(["EXAT".into(), (ms_at(r) / 1000).to_string()]),
                3 => w.extend(["PXAT".into(), ms_at(r).to_string()]),
                4 => w.push("PERSIST".into()),
                _ => {}
            }
            w
        }
        11 => vec![
            "INCRBYFLOAT".into(),
            k(r),
            r.pick(&["0.1", "1.5", "-2.25"]).into(),
        ],
        12 => vec!["INCR".into(), k(r)],
        13 => vec!["APPEND".into(), k(r), v(r)],
        14 => vec!["SETRANGE".into(), k(r), r.below(4).to_string(), v(r)],
        15 => vec!["MSETNX".into(), k(r), v(r), k(r), v(r)],
        16 => vec!["MSET".into(), k(r), v(r), k(r), v(r)],
        17..=20 => {
            let (name, t) = match r.below(4) {
                0 => ("EXPIRE", r.pick(&["1", "0", "-1", "2"]).to_owned()),
                1 => ("PEXPIRE", (r.below(500) as i64 - 50).to_string()),
                2 => ("EXPIREAT", (ms_at(r) / 1000).to_string()),
                _ => ("PEXPIREAT", ms_at(r).to_string()),
            };
            let mut w = vec![name.into(), k(r), t];
            if r.chance(50) {
                w.push(r.pick(&["NX", "XX", "GT", "LT"]).into());
            }
            w
        }
        21 => vec!["PERSIST".into(), k(r)],
        22 => vec!["DEL".into(), k(r), k(r)],
        23 => vec![r.pick(&["RENAME", "RENAMENX"]).into(), k(r), k(r)],
        24 => {
            let mut w = vec!["COPY".into(), k(r), k(r)];
            if r.chance(40) {
                w.extend(["DB".into(), r.below(DBS as u64).to_string()]);
            }
            if r.chance(50) {
                w.push("REPLACE".into());
            }
            w
        }
        25 => vec!["MOVE".into(), k(r), r.below(DBS as u64).to_string()],
        26 => vec!["SELECT".into(), r.below(DBS as u64).to_string()],
        27 if r.chance(20) => vec!["SWAPDB".into(), "0".into(), "1".into()],
        28 if r.chance(10) => vec!["FLUSHDB".into()],
        29 => vec![
            r.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]).into(),
            k(r),
            v(r),
            v(r),
        ],
        30 => {
            let mut w = vec![r.pick(&["LPOP", "RPOP"]).into(), k(r)];
            if r.chance(50) {
                w.push(r.below(3).to_string());
            }
            w
        }
        31 => vec![
            "LMOVE".into(),
            k(r),
            k(r),
            r.pick(&["LEFT", "RIGHT"]).into(),
            r.pick(&["LEFT", "RIGHT"]).into(),
        ],
        32 => vec!["RPOPLPUSH".into(), k(r), k(r)],
        33 => vec![
            "LMPOP".into(),
            "2".into(),
            k(r),
            k(r),
            r.pick(&["LEFT", "RIGHT"]).into(),
            "COUNT".into(),
            "2".into(),
        ],
        34 => vec![
            "LINSERT".into(),
            k(r),
            r.pick(&["BEFORE", "AFTER"]).into(),
            v(r),
            v(r),
        ],
        35 => vec!["LTRIM".into(), k(r), "0".into(), r.below(3).to_string()],
        36 => vec!["LSET".into(), k(r), "0".into(), v(r)],
        37 | 38 => vec!["SADD".into(), k(r), v(r), v(r), v(r)],
        39 => vec!["SREM".into(), k(r), v(r)],
        40 | 41 => {
            let mut w = vec!["SPOP".into(), k(r)];
            if r.chance(60) {
                w.push(r.below(5).to_string());
            }
            w
        }
        42 => vec!["SMOVE".into(), k(r), k(r), v(r)],
        43 => vec![
            r.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]).into(),
            k(r),
            k(r),
            k(r),
        ],
        44 => vec!["HSET".into(), k(r), v(r), v(r), v(r), v(r)],
        45 => vec!["HDEL".into(), k(r), v(r)],
        46 => vec![
            "HINCRBYFLOAT".into(),
            k(r),
            v(r),
            r.pick(&["0.1", "2.5e3", "-1"]).into(),
        ],
        47 => vec!["HSETNX".into(), k(r), v(r), v(r)],
        48 | 49 => vec![
            "ZADD".into(),
            k(r),
            r.below(10).to_string(),
            v(r),
            r.below(10).to_string(),
            v(r),
        ],
        50 => {
            let mut w = vec![r.pick(&["ZPOPMIN", "ZPOPMAX"]).into(), k(r)];
            if r.chance(50) {
                w.push(r.below(3).to_string());
            }
            w
        }
        51 => vec!["ZRANGESTORE".into(), k(r), k(r), "0".into(), "-1".into()],
        52 => vec![
            r.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]).into(),
            k(r),
            "2".into(),
            k(r),
            k(r),
        ],
        53 => vec!["ZINCRBY".into(), k(r), "1.5".into(), v(r)],
        54 => vec![
            "ZMPOP".into(),
            "1".into(),
            k(r),
            r.pick(&["MIN", "MAX"]).into(),
        ],
        55 => {
            let mut w = vec!["SORT".into(), k(r)];
            if r.chance(50) {
                w.push("ALPHA".into());
            }
            w.extend(["STORE".into(), k(r)]);
            w
        }
        56 => vec![
            r.pick(&["GET", "LRANGE", "SMEMBERS", "EXISTS"]).into(),
            k(r),
        ],
        57 if dump.is_some() => {
            let payload = dump.unwrap_or_default();
            let mut w: Vec<Vec<u8>> = vec![b"RESTORE".to_vec(), k(r).into_bytes()];
            let abs = r.chance(40);
            w.push(if abs {
                ms_at(r).to_string().into_bytes()
            } else if r.chance(30) {
                b"0".to_vec()
            } else {
                ttl_ms(r).into_bytes()
            });
            w.push(payload.to_vec());
            if r.chance(70) {
                w.push(b"REPLACE".to_vec());
            }
            if abs {
                w.push(b"ABSTTL".to_vec());
            }
            return w;
        }
        58 => vec!["UNLINK".into(), k(r)],
        59 => vec!["LREM".into(), k(r), "0".into(), v(r)],
        60 => vec!["HINCRBY".into(), k(r), v(r), "3".into()],
        _ => vec![
            "ZREMRANGEBYSCORE".into(),
            k(r),
            "0".into(),
            r.below(10).to_string(),
        ],
    };
    words.into_iter().map(String::into_bytes).collect()
}

/// A value in a form independent of its encoding.
#[derive(Debug, PartialEq)]
enum Plain {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    ZSet(Vec<(u64, Vec<u8>)>),
}

fn plain(item: &Item) -> (Plain, Option<i64>) {
    let v = match &item.value {
        Value::Str(s) => Plain::Str(s.to_vec()),
        Value::List(l) => Plain::List(l.iter().map(<[u8]>::to_vec).collect()),
        Value::Set(s) => {
            let mut ms = Vec::new();
            s.for_each(|m| ms.push(m.to_vec()));
            ms.sort();
            Plain::Set(ms)
        }
        Value::Hash(h) => {
            let mut fs: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            fs.sort();
            Plain::Hash(fs)
        }
        Value::ZSet(z) => Plain::ZSet(
            (0..z.len())
                .filter_map(|i| z.get(i))
                .map(|(s, m)| (s.to_bits(), m.to_vec()))
                .collect(),
        ),
    };
    (v, item.expire_at().map(|t| t.0))
}

type Dataset = Vec<BTreeMap<Vec<u8>, (Plain, Option<i64>)>>;

/// Every database's live keys at `now`.
fn dataset(engine: &Engine, now: UnixMillis) -> Dataset {
    engine
        .dbs()
        .iter()
        .map(|db| {
            let mut keys = BTreeMap::new();
            db.for_each(now, |k, item| {
                keys.insert(k.to_vec(), plain(item));
            });
            keys
        })
        .collect()
}

/// Runs `n` random commands on an engine recording its feed; replays the feed into a new
/// engine; compares both at the first one's final time. Returns the feed's size.
fn differential(seed: u64, n: usize) -> usize {
    let mut r = Rng(seed | 1);
    let mut t = 1_700_000_000_000i64;
    let a = Engine::new(Config::default(), HostFacts::default(), seed, now_at(t));
    a.set_aof(true);
    let mut session = Session::new(1);
    let mut dump: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < n {
        t += r.below(40) as i64;
        if r.chance(10) {
            // Active expiry, as the worker's tick does it.
            let _order = a.feed.order();
            for db in a.dbs() {
                db.reap(UnixMillis(t), 256, 20);
            }
        }
        if r.chance(3) {
            // A transaction of a few commands.
            run(&a, &mut session, now_at(t), &[b"MULTI".to_vec()]);
            for _ in 0..1 + r.below(4) {
                let c = command(&mut r, t, dump.as_deref());
                run(&a, &mut session, now_at(t), &c);
                i += 1;
            }
            run(&a, &mut session, now_at(t), &[b"EXEC".to_vec()]);
            continue;
        }
        if r.chance(5) {
            let reply = run(
                &a,
                &mut session,
                now_at(t),
                &[b"DUMP".to_vec(), r.pick(KEYS).into()],
            );
            if let Some(payload) = bulk(&reply) {
                dump = Some(payload);
            }
        }
        let c = command(&mut r, t, dump.as_deref());
        run(&a, &mut session, now_at(t), &c);
        i += 1;
    }
    let mut feed = Vec::new();
    a.feed.take(&mut feed);

    let b = Engine::new(Config::default(), HostFacts::default(), seed, now_at(0));
    let mut replayer = Replayer::new(&b);
    let end = read_commands(&feed, usize::MAX, |args| replayer.run(args)).expect("feed reads");
    assert!(matches!(end, ReadEnd::Complete), "seed {seed}: {end:?}");
    assert!(!replayer.in_multi());

    let (da, db) = (dataset(&a, UnixMillis(t)), dataset(&b, UnixMillis(t)));
    for (i, (x, y)) in da.iter().zip(&db).enumerate() {
        let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
        for k in keys {
            assert_eq!(
                x.get(k),
                y.get(k),
                "seed {seed}: db {i} key {:?} differs (A, replayed B)\n{}",
                String::from_utf8_lossy(k),
                records_of(&feed, k)
            );
        }
    }
    feed.len()
}

/// The recorded commands naming `key` (for a failure's message).
fn records_of(feed: &[u8], key: &[u8]) -> String {
    let mut lines = Vec::new();
    let _ = read_commands(feed, usize::MAX, |args| {
        if args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"SELECT"))
            || args.iter().skip(1).any(|a| *a == key)
        {
            let words: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            lines.push(words.join(" "));
        }
        Ok(())
    });
    let tail = lines.len().saturating_sub(30);
    format!("last records:\n  {}", lines[tail..].join("\n  "))
}

/// The payload of a bulk reply.
fn bulk(reply: &[u8]) -> Option<Vec<u8>> {
    let rest = reply.strip_prefix(b"$")?;
    let nl = rest.iter().position(|&c| c == b'\r')?;
    let len: usize = std::str::from_utf8(&rest[..nl]).ok()?.parse().ok()?;
    Some(rest.get(nl + 2..nl + 2 + len)?.to_vec())
}

#[test]
fn replaying_the_feed_gives_the_same_dataset() {
    for seed in 1..=24u64 {
        let bytes = differential(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 1500);
        assert!(bytes > 0);
    }
}

/// The records of single commands, as Redis 7.0.15 writes them (the shapes the
/// differential test cannot tell apart from the command as given).
#[test]
fn records_have_redis_shapes() {
    let t = 1_700_000_000_000i64;
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        // (setup, command, records of the command)
        (
            &[],
            &["SET", "k", "v", "NX", "GET", "EX", "10"],
            &["SET k v PXAT 1700000010000"],
        ),
        (
            &[],
            &["SET", "k", "v", "GET", "KEEPTTL"],
            &["SET k v KEEPTTL"],
        ),
        (&["SET k v"], &["SET", "k", "w", "NX"], &[]),
        (
            &[],
            &["SETEX", "k", "2", "v"],
            &["SET k v PXAT 1700000002000"],
        ),
        (
            &[],
            &["PSETEX", "k", "5", "v"],
            &["SET k v PXAT 1700000000005"],
        ),
        (
            &["SET k v"],
            &["EXPIRE", "k", "10", "NX"],
            &["PEXPIREAT k 1700000010000"],
        ),
        (&["SET k v"], &["EXPIRE", "k", "-1"], &["DEL k"]),
        (&["SET k v"], &["EXPIRE", "k", "10", "XX"], &[]),
        (&[], &["PEXPIRE", "k", "10"], &[]),
        (
            &["SET k v"],
            &["GETEX", "k", "PX", "7"],
            &["PEXPIREAT k 1700000000007"],
        ),
        (&["SET k v"], &["GETEX", "k", "EXAT", "1"], &["DEL k"]),
        (
            &["SET k v EX 9"],
            &["GETEX", "k", "PERSIST"],
            &["PERSIST k"],
        ),
        (&["SET k v"], &["GETEX", "k"], &[]),
        (&["SET k v"], &["GETDEL", "k"], &["DEL k"]),
        (&[], &["GETDEL", "k"], &[]),
        (
            &["SET k 1"],
            &["INCRBYFLOAT", "k", "0.5"],
            &["SET k 1.5 KEEPTTL"],
        ),
        (&[], &["HINCRBYFLOAT", "k", "f", "2"], &["HSET k f 2"]),
        (&["SADD k a"], &["SPOP", "k"], &["SREM k a"]),
        (&["SADD k a b"], &["SPOP", "k", "5"], &["DEL k"]),
        (&["SET k v"], &["PERSIST", "k"], &[]),
    ];
    for (setup, command, want) in cases {
        let e = Engine::new(Config::default(), HostFacts::default(), 1, now_at(t));
        e.set_aof(true);
        let mut s = Session::new(1);
        for line in *setup {
            let argv: Vec<Vec<u8>> = line.split(' ').map(|w| w.as_bytes().to_vec()).collect();
            run_quiet(&e, &mut s, now_at(t), &argv);
        }
        let mut skip = Vec::new();
        e.feed.take(&mut skip);
        let argv: Vec<Vec<u8>> = command.iter().map(|w| w.as_bytes().to_vec()).collect();
        run_quiet(&e, &mut s, now_at(t), &argv);
        let mut feed = Vec::new();
        e.feed.take(&mut feed);
        let mut got = Vec::new();
        read_commands(&feed, usize::MAX, |args| {
            let words: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if words[0] != "SELECT" {
                got.push(words.join(" "));
            }
            Ok(())
        })
        .expect("feed reads");
        assert_eq!(got, *want, "{}", command.join(" "));
    }
}
