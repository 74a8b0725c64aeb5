//! Persistence end to end, with redis-server 7.0.15 and redis-check-rdb as the oracle:
//! RDB files kv_server writes pass redis-check-rdb and load into redis-server with the same
//! content; files redis-server writes load into kv_server; restarts keep the data; BGSAVE
//! is a point-in-time image while clients write on every worker; kill -9 never leaves a
//! file that does not load; `-LOADING` while a big file loads; the persistence commands'
//! and settings' replies and `-MISCONF` byte for byte as Redis's.

use crate::support::{self, bulk_elements, Kind, Raw, Rng, Server};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A fresh scratch directory for one test's files.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kv-e2e-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

pub(crate) fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Writes every type in every encoding both servers have, with TTLs, binary keys and
/// values, the empty key and several databases.
pub(crate) fn build_dataset(r: &mut Raw) {
    let mut ok = |args: &[&[u8]]| {
        let reply = r.call(args);
        assert!(
            !reply.starts_with(b"-"),
            "{:?}: {}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&reply)
        );
    };
    ok(&[b"SET", b"s:raw", b"hello world"]);
    ok(&[b"SET", b"s:int", b"12345"]);
    ok(&[b"SET", b"s:neg", b"-7"]);
    ok(&[b"SET", b"s:i64", b"9223372036854775807"]);
    ok(&[b"SET", b"s:notint", b"007"]);
    ok(&[b"SET", b"s:empty", b""]);
    ok(&[b"SET", b"", b"the empty key"]);
    let long = vec![b'a'; 1000];
    ok(&[b"SET", b"s:long", &long]);
    let mut rng = Rng(42);
    let bin: Vec<u8> = (0..300).map(|_| rng.next() as u8).collect();
    ok(&[b"SET", b"bin\x00\xff\r\nkey", &bin]);
    ok(&[b"SET", b"t:ttl", b"v", b"EX", b"100000"]);
    ok(&[
        b"RPUSH",
        b"l:small",
        b"a",
        b"b",
        b"1",
        b"-2",
        b"",
        b"12345678901",
    ]);
    for chunk in 0..20 {
        let items: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("element-{chunk}-{i}").into_bytes())
            .collect();
        let mut args: Vec<&[u8]> = vec![b"RPUSH", b"l:big"];
        args.extend(items.iter().map(|v| v.as_slice()));
        ok(&args);
    }
    ok(&[b"PEXPIRE", b"l:big", b"50000000"]);
    ok(&[b"SADD", b"set:ints", b"1", b"2", b"-5", b"4294967296"]);
    ok(&[b"SADD", b"set:strs", b"a", b"b", b"c", b""]);
    let many: Vec<Vec<u8>> = (0..600)
        .map(|i| format!("{}", i * 7).into_bytes())
        .collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"set:bigints"];
    args.extend(many.iter().map(|v| v.as_slice()));
    ok(&args);
    ok(&[
        b"ZADD", b"z:small", b"1", b"a", b"2.5", b"b", b"-inf", b"c", b"inf", b"d", b"-0.125", b"e",
    ]);
    let members: Vec<(Vec<u8>, Vec<u8>)> = (0..200)
        .map(|i| {
            (
                format!("{}", f64::from(i) * 1.25 - 30.0).into_bytes(),
                format!("member:{i}").into_bytes(),
            )
        })
        .collect();
    let mut args: Vec<&[u8]> = vec![b"ZADD", b"z:big"];
    for (sc, m) in &members {
        args.push(sc);
        args.push(m);
    }
    ok(&args);
    ok(&[
        b"HSET",
        b"h:small",
        b"f",
        b"v",
        b"n",
        b"1",
        b"",
        b"empty field",
    ]);
    let fields: Vec<Vec<u8>> = (0..600)
        .map(|i| format!("field:{i}").into_bytes())
        .collect();
    let mut args: Vec<&[u8]> = vec![b"HSET", b"h:big"];
    for f in &fields {
        args.push(f);
        args.push(f);
    }
    ok(&args);
    ok(&[b"HSET", b"h:longval", b"f", &long]);
    ok(&[b"SELECT", b"1"]);
    ok(&[b"SET", b"db1", b"one"]);
    ok(&[b"ZADD", b"db1:z", b"3", b"x"]);
    ok(&[b"SELECT", b"15"]);
    ok(&[b"SET", b"db15", b"fifteen", b"PX", b"90000000"]);
    ok(&[b"SELECT", b"0"]);
}

/// Everything a server holds, one line per key in a canonical form: database, key, type,
/// value (collections sorted where the type is unordered), whether it has a TTL.
pub(crate) fn content(port: u16) -> Vec<String> {
    let mut r = Raw::connect(port);
    let mut lines = Vec::new();
    for db in 0..16 {
        assert_eq!(r.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
        let mut keys = bulk_elements(&r.call(&["KEYS", "*"]));
        keys.sort();
        for k in keys {
            let ty = r.call(&[b"TYPE".as_slice(), &k]);
            let value: Vec<u8> = match ty.as_slice() {
                b"+string\r\n" => r.call(&[b"GET".as_slice(), &k]),
                b"+list\r\n" => r.call(&[b"LRANGE".as_slice(), &k, b"0", b"-1"]),
                b"+set\r\n" => {
                    let mut m = bulk_elements(&r.call(&[b"SMEMBERS".as_slice(), &k]));
                    m.sort();
                    m.join(&b'|')
                }
                b"+zset\r\n" => r.call(&[b"ZRANGE".as_slice(), &k, b"0", b"-1", b"WITHSCORES"]),
                b"+hash\r\n" => {
                    let flat = bulk_elements(&r.call(&[b"HGETALL".as_slice(), &k]));
                    let mut pairs: Vec<Vec<u8>> = flat.chunks(2).map(|p| p.concat()).collect();
                    pairs.sort();
                    pairs.join(&b'|')
                }
                other => panic!("type {}", String::from_utf8_lossy(other)),
            };
            let pttl = r.call(&[b"PTTL".as_slice(), &k]);
            let ttl = if pttl == b":-1\r\n" { "persist" } else { "ttl" };
            lines.push(format!(
                "{db} {:?} {} {:?} {ttl}",
                String::from_utf8_lossy(&k),
                String::from_utf8_lossy(&ty).trim(),
                String::from_utf8_lossy(&value)
            ));
        }
    }
    lines
}

/// OBJECT ENCODING of every key of database 0, sorted by key.
fn encodings(port: u16) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut r = Raw::connect(port);
    let mut keys = bulk_elements(&r.call(&["KEYS", "*"]));
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let e = r.call(&[b"OBJECT".as_slice(), b"ENCODING", &k]);
            (k, e)
        })
        .collect()
}

/// Waits until INFO persistence shows `field:value`.
pub(crate) fn wait_info(r: &mut Raw, field: &str, value: &str, within: Duration) {
    let want = format!("{field}:{value}");
    let deadline = Instant::now() + within;
    loop {
        let info = r.call(&["INFO", "persistence"]);
        if String::from_utf8_lossy(&info).lines().any(|l| l == want) {
            return;
        }
        assert!(Instant::now() < deadline, "{want} never came");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn check_rdb(path: &Path) {
    let out = Command::new(support::require_tool("redis-check-rdb"))
        .arg(path)
        .output()
        .expect("redis-check-rdb runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb {}: {text}{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn kv_in(dir: &Path, extra: &[&str]) -> Server {
    let d = s(dir);
    let mut args = vec!["--dir", d.as_str()];
    args.extend_from_slice(extra);
    let kv = support::start(Kind::Kv, &args);
    wait_info(&mut kv.raw(), "loading", "0", Duration::from_secs(60));
    kv
}

pub(crate) fn redis_in(dir: &Path) -> Server {
    let d = s(dir);
    support::start(Kind::Redis, &["--dir", d.as_str()])
}

#[test]
fn our_rdb_files_pass_redis_check_rdb_and_load_into_redis_server() {
    for (name, extra) in [
        ("default", &[][..]),
        (
            "plain",
            &["--rdbcompression", "no", "--rdbchecksum", "no"][..],
        ),
    ] {
        let dir = scratch(&format!("ours-{name}"));
        let kv = kv_in(&dir, extra);
        let mut c = kv.raw();
        build_dataset(&mut c);
        let want = content(kv.port());
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
        check_rdb(&dir.join("dump.rdb"));
        let redis = redis_in(&dir);
        assert_eq!(
            content(redis.port()),
            want,
            "{name}: redis-server loaded our SAVE"
        );
        drop(redis);
        // The same through BGSAVE.
        std::fs::remove_file(dir.join("dump.rdb")).expect("rm");
        assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
        wait_info(
            &mut c,
            "rdb_bgsave_in_progress",
            "0",
            Duration::from_secs(30),
        );
        wait_info(
            &mut c,
            "rdb_last_bgsave_status",
            "ok",
            Duration::from_secs(1),
        );
        check_rdb(&dir.join("dump.rdb"));
        let redis = redis_in(&dir);
        assert_eq!(
            content(redis.port()),
            want,
            "{name}: redis-server loaded our BGSAVE"
        );
        // And back: kv_server reloads its own file with the same content and encodings.
        let enc = encodings(kv.port());
        drop(kv);
        let again = kv_in(&dir, &[]);
        assert_eq!(content(again.port()), want, "{name}: kv_server reloaded");
        assert_eq!(
            encodings(again.port()),
            enc,
            "{name}: encodings after reload"
        );
    }
}

#[test]
fn redis_server_rdb_files_load_into_kv_server() {
    let dir = scratch("theirs");
    let redis = redis_in(&dir);
    let mut c = redis.raw();
    build_dataset(&mut c);
    let want = content(redis.port());
    let enc = encodings(redis.port());
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    drop(redis);
    let kv = kv_in(&dir, &[]);
    assert_eq!(content(kv.port()), want);
    assert_eq!(encodings(kv.port()), enc);
    let info = String::from_utf8_lossy(&kv.raw().call(&["INFO", "persistence"])).into_owned();
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{}\r\n", want.len())),
        "{info}"
    );
}

#[test]
fn restarts_keep_the_data_and_shutdown_nosave_does_not_save() {
    let dir = scratch("restart");
    let mut kv = kv_in(&dir, &["--save", "3600 1"]);
    let mut c = kv.raw();
    build_dataset(&mut c);
    let want = content(kv.port());
    // SIGTERM saves when save points are set.
    let ok = Command::new("kill")
        .args(["-TERM", &kv.pid().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    assert!(kv
        .wait_exit(Duration::from_secs(20))
        .expect("exits")
        .success());
    let mut kv = kv_in(&dir, &["--save", "3600 1"]);
    assert_eq!(content(kv.port()), want, "after SIGTERM");
    // SHUTDOWN NOSAVE leaves the file as it was.
    let mut c = kv.raw();
    assert_eq!(c.call(&["SET", "unsaved", "1"]), b"+OK\r\n");
    c.send(&support::encode_command(&["SHUTDOWN", "NOSAVE"]));
    assert!(c.closed_within(Duration::from_secs(5)));
    assert!(kv
        .wait_exit(Duration::from_secs(20))
        .expect("exits")
        .success());
    let mut kv = kv_in(&dir, &["--save", ""]);
    assert_eq!(content(kv.port()), want, "after SHUTDOWN NOSAVE");
    // SHUTDOWN SAVE saves even without save points.
    let mut c = kv.raw();
    assert_eq!(c.call(&["SET", "saved", "1"]), b"+OK\r\n");
    c.send(&support::encode_command(&["SHUTDOWN", "SAVE"]));
    assert!(c.closed_within(Duration::from_secs(5)));
    assert!(kv
        .wait_exit(Duration::from_secs(20))
        .expect("exits")
        .success());
    let kv = kv_in(&dir, &[]);
    assert_eq!(kv.raw().call(&["GET", "saved"]), b"$1\r\n1\r\n");
    assert_eq!(kv.raw().call(&["EXISTS", "unsaved"]), b":0\r\n");
}

/// BGSAVE while 4 clients move amounts between two keys in MULTI/EXEC and 2 more write
/// the same value to two keys with MSET: the file holds the sum and equal pairs, at one
/// instant, and the writes happened during the save (else the test proves nothing).
#[test]
fn bgsave_is_a_point_in_time_image_while_every_worker_writes() {
    const TOTAL: i64 = 1_000_000;
    let dir = scratch("pit");
    let kv = kv_in(
        &dir,
        &["--workers", "4", "--enable-protected-configs", "yes"],
    );
    let mut c = kv.raw();
    // Filler keys so the save takes a while; a per-key delay stretches it further.
    for chunk in 0..40 {
        let kvs: Vec<String> = (0..500)
            .flat_map(|i| [format!("filler:{chunk}:{i}"), format!("{i}")])
            .collect();
        let mut args = vec!["MSET".to_string()];
        args.extend(kvs);
        assert_eq!(c.call(&args), b"+OK\r\n");
    }
    assert_eq!(c.call(&["SET", "acct:a", &TOTAL.to_string()]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "acct:b", "0"]), b"+OK\r\n");
    assert_eq!(
        c.call(&["CONFIG", "SET", "rdb-key-save-delay", "30"]),
        b"+OK\r\n"
    );
    for round in 0..3 {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut threads = Vec::new();
        for t in 0..6u64 {
            let stop = std::sync::Arc::clone(&stop);
            let port = kv.port();
            threads.push(std::thread::spawn(move || {
                let mut r = Raw::connect(port);
                let mut rng = Rng(t * 7919 + round + 1);
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if t < 4 {
                        let x = (rng.below(100) + 1).to_string();
                        let (from, to) = if rng.below(2) == 0 {
                            ("acct:a", "acct:b")
                        } else {
                            ("acct:b", "acct:a")
                        };
                        r.send(&support::encode_command(&["MULTI"]));
                        r.send(&support::encode_command(&["DECRBY", from, &x]));
                        r.send(&support::encode_command(&["INCRBY", to, &x]));
                        r.send(&support::encode_command(&["EXEC"]));
                        for _ in 0..4 {
                            r.reply();
                        }
                    } else {
                        let v = rng.next().to_string();
                        let i = rng.below(50);
                        let (x, y) = (format!("pair:{i}:x"), format!("pair:{i}:y"));
                        assert_eq!(r.call(&["MSET", &x, &v, &y, &v]), b"+OK\r\n");
                    }
                    n += 1;
                }
                n
            }));
        }
        std::thread::sleep(Duration::from_millis(100));
        let before: i64 = String::from_utf8_lossy(&c.call(&["INFO", "stats"]))
            .lines()
            .find_map(|l| {
                l.strip_prefix("total_commands_processed:")?
                    .trim()
                    .parse()
                    .ok()
            })
            .expect("commands");
        assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
        wait_info(
            &mut c,
            "rdb_bgsave_in_progress",
            "0",
            Duration::from_secs(60),
        );
        let after: i64 = String::from_utf8_lossy(&c.call(&["INFO", "stats"]))
            .lines()
            .find_map(|l| {
                l.strip_prefix("total_commands_processed:")?
                    .trim()
                    .parse()
                    .ok()
            })
            .expect("commands");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let done: u64 = threads.into_iter().map(|t| t.join().expect("writer")).sum();
        assert!(done > 0);
        assert!(
            after - before > 200,
            "round {round}: only {} commands ran during the save",
            after - before
        );
        wait_info(
            &mut c,
            "rdb_last_bgsave_status",
            "ok",
            Duration::from_secs(1),
        );
        // Load the file into redis-server and check the invariants there.
        let rdir = scratch(&format!("pit-load-{round}"));
        std::fs::copy(dir.join("dump.rdb"), rdir.join("dump.rdb")).expect("copy");
        let redis = redis_in(&rdir);
        let mut r = redis.raw();
        let get = |r: &mut Raw, k: &str| -> i64 {
            let v = bulk_elements(&r.call(&["MGET", k]));
            String::from_utf8_lossy(&v[0]).parse().expect("number")
        };
        let (a, b) = (get(&mut r, "acct:a"), get(&mut r, "acct:b"));
        assert_eq!(a + b, TOTAL, "round {round}: a={a} b={b}");
        for i in 0..50 {
            let (x, y) = (format!("pair:{i}:x"), format!("pair:{i}:y"));
            let v = r.call(&["MGET", &x, &y]);
            let e = bulk_elements(&v);
            assert_eq!(e[0], e[1], "round {round}: pair {i} torn");
        }
        assert_eq!(
            r.call(&["DBSIZE"]),
            format!(":{}\r\n", 20_002 + 100).into_bytes()
        );
    }
}

/// kill -9 at random moments while clients write and saves run every second: every
/// restart loads (the file on disk is always a whole one), and keys saved before stay.
#[test]
fn kill_9_during_saves_never_leaves_a_file_that_does_not_load() {
    let dir = scratch("kill9");
    let mut rng = Rng(0x5EED);
    for kill in 0..6 {
        let mut kv = kv_in(&dir, &["--save", "1 1"]);
        let mut c = kv.raw();
        let n: u64 = match c.call(&["GET", "round"]).as_slice() {
            b"$-1\r\n" => 0,
            v => String::from_utf8_lossy(&v[v.len() - 3..v.len() - 2])
                .parse()
                .expect("round"),
        };
        assert!(n <= kill, "round {n} after kill {kill}");
        let deadline = Instant::now() + Duration::from_millis(1200 + rng.below(1200));
        let mut i = 0u64;
        while Instant::now() < deadline {
            let k = format!("k:{kill}:{i}");
            assert_eq!(c.call(&["SET", &k, "v"]), b"+OK\r\n");
            i += 1;
        }
        assert_eq!(
            c.call(&["SET", "round", &(kill + 1).min(9).to_string()]),
            b"+OK\r\n"
        );
        // SAVE is refused while a scheduled background save runs: try until it goes.
        let t = Instant::now();
        loop {
            let r = c.call(&["SAVE"]);
            if r == b"+OK\r\n" {
                break;
            }
            assert_eq!(r, b"-ERR Background save already in progress\r\n");
            assert!(t.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(c.call(&["SET", "after-save", "x"]), b"+OK\r\n");
        // More writes so a background save is likely under way at the kill.
        for j in 0..2000 {
            c.call(&["SET", &format!("late:{j}"), "v"]);
        }
        let _ = Command::new("kill")
            .args(["-9", &kv.pid().to_string()])
            .status();
        let _ = kv.wait_exit(Duration::from_secs(10));
    }
    let kv = kv_in(&dir, &[]);
    assert_eq!(kv.raw().call(&["GET", "round"]), b"$1\r\n6\r\n");
    check_rdb(&dir.join("dump.rdb"));
}

#[test]
fn clients_get_loading_while_a_big_file_loads() {
    let dir = scratch("loading");
    let d = s(&dir);
    let redis = support::start(
        Kind::Redis,
        &["--dir", d.as_str(), "--enable-debug-command", "yes"],
    );
    let mut r = redis.raw();
    assert_eq!(r.call(&["DEBUG", "POPULATE", "1000000"]), b"+OK\r\n");
    assert_eq!(r.call(&["SAVE"]), b"+OK\r\n");
    drop(redis);
    let kv = support::start(Kind::Kv, &["--dir", d.as_str()]);
    let mut c = kv.raw();
    assert_eq!(
        c.call(&["GET", "key:1"]),
        b"-LOADING Redis is loading the dataset in memory\r\n"
    );
    let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
    assert!(info.contains("loading:1\r\n"), "{info}");
    wait_info(&mut c, "loading", "0", Duration::from_secs(120));
    assert_eq!(c.call(&["DBSIZE"]), b":1000000\r\n");
    assert_eq!(c.call(&["GET", "key:1"]), b"$7\r\nvalue:1\r\n");
}

/// The persistence commands' and settings' replies, compared byte for byte.
#[test]
fn persistence_commands_and_settings_answer_as_redis() {
    let (kd, rd) = (scratch("errs-kv"), scratch("errs-redis"));
    let kv = kv_in(&kd, &["--save", "3600 1 300 100 60 10000"]);
    let redis = support::start(
        Kind::Redis,
        &["--dir", &s(&rd), "--save", "3600 1 300 100 60 10000"],
    );
    let cases: &[&[&str]] = &[
        &["BGSAVE", "NOW"],
        &["BGSAVE", "SCHEDULE", "X"],
        &["SAVE", "X"],
        &["LASTSAVE", "X"],
        &["SHUTDOWN", "ABORT"],
        &["SHUTDOWN", "SAVE", "NOSAVE"],
        &["SHUTDOWN", "ABORT", "NOW"],
        &["SHUTDOWN", "BOGUS"],
        &["MULTI"],
        &["SAVE"],
        &["SHUTDOWN"],
        &["EXEC"],
        &["CONFIG", "GET", "save"],
        &["CONFIG", "SET", "save", "1"],
        &["CONFIG", "SET", "save", "0 1"],
        &["CONFIG", "SET", "save", "a b"],
        &["CONFIG", "SET", "save", "10 -1"],
        &["CONFIG", "SET", "save", "100 5 200 6"],
        &["CONFIG", "GET", "save"],
        &["CONFIG", "SET", "save", ""],
        &["CONFIG", "GET", "save"],
        &["CONFIG", "GET", "rdb*"],
        &["CONFIG", "GET", "dbfilename"],
        &["CONFIG", "SET", "dbfilename", "x.rdb"],
        &["CONFIG", "SET", "dir", "/tmp"],
        &["CONFIG", "SET", "rdbcompression", "maybe"],
        &["CONFIG", "SET", "rdbchecksum", "no"],
        &["CONFIG", "GET", "rdbchecksum"],
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
        &["CONFIG", "GET", "stop-writes-on-bgsave-error"],
        &["CONFIG", "SET", "sanitize-dump-payload", "clients"],
        &["CONFIG", "GET", "sanitize-dump-payload"],
        &["CONFIG", "GET", "rdb-key-save-delay"],
        &["CONFIG", "SET", "enable-protected-configs", "yes"],
        &["CONFIG", "GET", "enable-protected-configs"],
    ];
    let (mut a, mut b) = (kv.raw(), redis.raw());
    for case in cases {
        let (x, y) = (a.call(case), b.call(case));
        if case.len() == 3 && case[2].contains('*') {
            // A glob's parameters come in Redis's hash-table order, which its random
            // seed decides: compare them as sets of pairs.
            let pairs = |r: &[u8]| {
                let mut p: Vec<Vec<u8>> = bulk_elements(r).chunks(2).map(|c| c.concat()).collect();
                p.sort();
                p
            };
            assert_eq!(pairs(&x), pairs(&y), "{case:?}");
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&x),
            String::from_utf8_lossy(&y),
            "{case:?}"
        );
    }
}

/// A background save that fails (its directory is gone) stops writes and PING with
/// `-MISCONF`, as Redis; reads go on; a save that works lifts it.
#[test]
fn a_failed_bgsave_stops_writes_with_misconf_as_redis() {
    let (kd, rd) = (scratch("misconf-kv"), scratch("misconf-redis"));
    let kv = kv_in(&kd, &["--save", "3600 1"]);
    let redis = support::start(Kind::Redis, &["--dir", &s(&rd), "--save", "3600 1"]);
    std::fs::remove_dir_all(&kd).expect("rm");
    std::fs::remove_dir_all(&rd).expect("rm");
    let (mut a, mut b) = (kv.raw(), redis.raw());
    for c in [&mut a, &mut b] {
        assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
        assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
        wait_info(c, "rdb_bgsave_in_progress", "0", Duration::from_secs(10));
        wait_info(c, "rdb_last_bgsave_status", "err", Duration::from_secs(1));
    }
    let cases: &[&[&str]] = &[
        &["SET", "k", "v2"],
        &["PING"],
        &["GET", "k"],
        &["DEL", "k"],
        &["MULTI"],
        &["SET", "k", "v3"],
        &["EXEC"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
        &["SET", "k", "v4"],
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
        &["CONFIG", "SET", "save", ""],
        &["SET", "k", "v5"],
    ];
    for case in cases {
        assert_eq!(
            String::from_utf8_lossy(&a.call(case)),
            String::from_utf8_lossy(&b.call(case)),
            "{case:?}"
        );
    }
}

/// SIGTERM with save points saves first; when that save fails the server stays up and
/// keeps serving (Redis's "can't exit"), and a later SIGTERM that can save exits with
/// every write in the file.
#[test]
fn a_final_save_that_fails_keeps_the_server_up() {
    let dir = scratch("final-save");
    let mut kv = kv_in(&dir, &["--save", "3600 1"]);
    let mut c = kv.raw();
    assert_eq!(c.call(&["SET", "before", "1"]), b"+OK\r\n");
    std::fs::remove_dir_all(&dir).expect("rm");
    let term = |pid: u32| {
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    };
    assert!(term(kv.pid()));
    assert!(
        kv.wait_exit(Duration::from_secs(2)).is_none(),
        "exited although its final save failed"
    );
    // Writes held during the attempt run now, and new ones too.
    assert_eq!(c.call(&["SET", "after", "2"]), b"+OK\r\n");
    assert_eq!(kv.raw().call(&["GET", "before"]), b"$1\r\n1\r\n");
    std::fs::create_dir_all(&dir).expect("mkdir");
    assert!(term(kv.pid()));
    let status = kv.wait_exit(Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "{status:?}");
    let kv = kv_in(&dir, &["--save", ""]);
    assert_eq!(kv.raw().call(&["GET", "after"]), b"$1\r\n2\r\n");
    assert_eq!(kv.raw().call(&["GET", "before"]), b"$1\r\n1\r\n");
}
