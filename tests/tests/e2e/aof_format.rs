//! The AOF formats of `kv_core::persist::aof` against redis-server 7.0.15 and
//! redis-check-aof: a multi-part AOF directory redis-server writes parses with our code
//! (the manifest re-written byte for byte, every file read without error), and one our
//! code writes passes redis-check-aof and loads into redis-server with the content we
//! meant.

use crate::support::{self, Kind, Server};
use kv_core::db::{Item, Value};
use kv_core::persist::aof::{self, Manifest, ReadEnd};
use kv_core::persist::rdb::Loaded;
use kv_core::time::UnixMillis;
use kv_core::types::hash::Hash;
use kv_core::types::list::List;
use kv_core::types::set::Set;
use kv_core::types::zset::{Limits as ZLimits, ZSet};
use kv_core::types::EncodingLimits;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A fresh scratch directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kv-e2e-aof-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn redis_aof(dir: &Path, extra: &[&str]) -> Server {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "--dir",
        d.as_str(),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    args.extend_from_slice(extra);
    support::start(Kind::Redis, &args)
}

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(con)
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

fn wait_rewrite_done(con: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if info_field(con, "aof_rewrite_in_progress") == "0"
            && info_field(con, "aof_rewrite_scheduled") == "0"
        {
            assert_eq!(info_field(con, "aof_last_bgrewrite_status"), "ok");
            return;
        }
        assert!(Instant::now() < deadline, "BGREWRITEAOF did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes of every type, a transaction, another database, TTLs.
fn writes(con: &mut redis::Connection, round: &str) {
    let q = |con: &mut redis::Connection, args: &[&str]| {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        let _: redis::Value = c.query(con).expect("command");
    };
    let k = |s: &str| format!("{round}:{s}");
    q(con, &["SET", &k("s"), "hello world"]);
    q(con, &["SET", &k("ttl"), "v", "EX", "1000"]);
    q(con, &["SET", &k("bin"), "a\r\nb\0c"]);
    q(con, &["INCR", &k("n")]);
    q(con, &["RPUSH", &k("l"), "a", "b", "1", "-2"]);
    q(con, &["SADD", &k("si"), "1", "2", "3"]);
    q(con, &["SADD", &k("ss"), "x", "y z"]);
    q(con, &["ZADD", &k("z"), "1.5", "a", "-inf", "b", "0.1", "c"]);
    q(con, &["HSET", &k("h"), "f", "v", "g", ""]);
    q(con, &["EXPIRE", &k("h"), "5000"]);
    q(con, &["MULTI"]);
    q(con, &["INCR", &k("n")]);
    q(con, &["LPUSH", &k("l"), "front"]);
    q(con, &["EXEC"]);
    q(con, &["SELECT", "3"]);
    q(con, &["SET", &k("db3"), "three"]);
    q(con, &["SELECT", "0"]);
    q(con, &["DEL", &k("s")]);
}

#[test]
fn redis_server_aof_directory_parses() {
    let dir = scratch("theirs");
    let redis = redis_aof(&dir, &["--aof-disable-auto-gc", "yes"]);
    let mut con = redis.client();
    writes(&mut con, "r1");
    let aof_dir = dir.join("appendonlydir");
    let manifest_path = aof_dir.join("appendonly.aof.manifest");
    let first = std::fs::read(&manifest_path).expect("manifest");
    let mut ours = Manifest::parse(&first).expect("parse redis's first manifest");
    assert_eq!(
        ours.to_text(),
        first,
        "first manifest re-written byte for byte"
    );

    // A rewrite: Redis opens a new incr, then makes a new base and moves the rest to
    // history (kept: auto-gc is off). Our steps must give the same manifest.
    let _: redis::Value = redis::cmd("BGREWRITEAOF")
        .query(&mut con)
        .expect("BGREWRITEAOF");
    wait_rewrite_done(&mut con);
    writes(&mut con, "r2");
    let text = std::fs::read(&manifest_path).expect("manifest");
    let m = Manifest::parse(&text).expect("parse redis's manifest");
    assert_eq!(m.to_text(), text, "manifest re-written byte for byte");
    ours.new_incr(aof::DEFAULT_PREFIX);
    ours.rewrite_done(aof::DEFAULT_PREFIX, true, true);
    assert_eq!(
        String::from_utf8_lossy(&ours.to_text()),
        String::from_utf8_lossy(&text),
        "our manifest steps match redis-server's"
    );
    assert!(!m.history.is_empty());
    drop(con);
    drop(redis); // killed: appendfsync always has every write on disk

    // Every file reads without error: the bases are RDB, the incrs commands.
    let limits = EncodingLimits::default();
    let mut keys = 0usize;
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    let files: Vec<_> = m.base.iter().chain(&m.history).chain(&m.incrs).collect();
    for info in files {
        let bytes = std::fs::read(aof_dir.join(String::from_utf8_lossy(&info.name).as_ref()))
            .expect("AOF part");
        let end = aof::load_file(
            &bytes,
            &limits,
            512 << 20,
            |ev| {
                if let Loaded::Entry { .. } = ev {
                    keys += 1;
                }
                Ok(())
            },
            |args| {
                cmds.push(args.iter().map(|a| a.to_vec()).collect());
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&info.name)));
        assert_eq!(end, ReadEnd::Complete);
    }
    assert!(keys > 0, "the rewritten base holds the first round's keys");
    let names: Vec<String> = cmds
        .iter()
        .map(|c| String::from_utf8_lossy(&c[0]).to_uppercase())
        .collect();
    for want in [
        "SET", "RPUSH", "SADD", "ZADD", "HSET", "MULTI", "EXEC", "SELECT", "DEL",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(cmds
        .iter()
        .any(|c| c.get(2).map(Vec::as_slice) == Some(&b"a\r\nb\0c"[..])));
    let _ = std::fs::remove_dir_all(&dir);
}

const TTL_AT: i64 = 4_102_444_800_000; // 2100-01-01

fn dataset() -> Vec<(usize, Vec<u8>, Item)> {
    let lim = EncodingLimits::default();
    let mut list = List::new();
    for i in 0..150 {
        list.push_back(format!("e{i}").as_bytes());
    }
    let mut ints = Set::new();
    for i in 0..70i64 {
        ints.add(format!("{}", i * 7 - 100).as_bytes(), 512);
    }
    let mut words = Set::new();
    words.add(b"hello world", 512);
    words.add(b"\r\n\0", 512);
    let mut z = ZSet::new();
    for (m, s) in [
        ("a", 1.5),
        ("b", f64::INFINITY),
        ("c", -0.1),
        ("d", 3.0),
        ("e", 1e20),
        ("f", 2.5e-7),
    ] {
        z.insert(m.as_bytes(), s, ZLimits::DEFAULT);
    }
    let mut h = Hash::new();
    for i in 0..100 {
        h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), &lim);
    }
    let item = |v: Value| Item::new(v);
    vec![
        (
            0,
            b"s".to_vec(),
            Item::with_expiry(Value::str(&b"bar baz"[..]), Some(UnixMillis(TTL_AT))),
        ),
        (0, b"bin\r\nkey".to_vec(), item(Value::str(&b"\0\xff"[..]))),
        (0, b"l".to_vec(), item(Value::List(Box::new(list)))),
        (0, b"si".to_vec(), item(Value::Set(Box::new(ints)))),
        (0, b"sw".to_vec(), item(Value::Set(Box::new(words)))),
        (0, b"z".to_vec(), item(Value::ZSet(Box::new(z)))),
        (0, b"h".to_vec(), item(Value::Hash(Box::new(h)))),
        (2, b"other".to_vec(), item(Value::str(&b"db2"[..]))),
    ]
}

fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).expect("query")
}

#[test]
fn our_aof_directory_passes_redis_check_aof_and_loads() {
    let check = support::require_tool("redis-check-aof");
    let dir = scratch("ours");
    let aof_dir = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof_dir).expect("aof dir");
    let p = aof::DEFAULT_PREFIX;
    let mut m = Manifest::default();
    let base = m.new_base(p, false);
    let incr = m.new_incr(p);

    let mut b = Vec::new();
    let mut db = usize::MAX;
    for (d, key, item) in dataset() {
        if d != db {
            aof::encode_select(&mut b, d);
            db = d;
        }
        aof::rewrite_entry(&mut b, &key, &item);
    }
    let mut i = Vec::new();
    aof::encode_timestamp(&mut i, 1_700_000_000);
    aof::encode_select(&mut i, 0);
    aof::encode_command(&mut i, &[b"SET", b"extra", b"1"]);
    aof::encode_command(&mut i, &[b"MULTI"]);
    aof::encode_command(&mut i, &[b"INCR", b"extra"]);
    aof::encode_command(&mut i, &[b"RPUSH", b"l", b"last"]);
    aof::encode_command(&mut i, &[b"EXEC"]);
    aof::encode_select(&mut i, 2);
    aof::encode_command(&mut i, &[b"APPEND", b"other", b"!"]);
    let name = |info: &aof::AofInfo| aof_dir.join(String::from_utf8_lossy(&info.name).as_ref());
    std::fs::write(name(&base), &b).expect("base");
    std::fs::write(name(&incr), &i).expect("incr");
    let manifest = aof_dir.join(String::from_utf8_lossy(&aof::manifest_name(p)).as_ref());
    std::fs::write(&manifest, m.to_text()).expect("manifest");
    // Our own reader agrees.
    assert_eq!(
        aof::read_commands(&b, 1 << 20, |_| Ok(())),
        Ok(ReadEnd::Complete)
    );
    assert_eq!(
        aof::read_commands(&i, 1 << 20, |_| Ok(())),
        Ok(ReadEnd::Complete)
    );

    let out = Command::new(check)
        .arg(&manifest)
        .output()
        .expect("run redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "redis-check-aof refused: {text}");
    assert!(text.contains("is valid"), "{text}");

    let redis = redis_aof(&dir, &[]);
    let mut con = redis.client();
    let dbsize: i64 = query(&mut con, &[b"DBSIZE"]);
    assert_eq!(dbsize, 8);
    let s: Vec<u8> = query(&mut con, &[b"GET", b"s"]);
    assert_eq!(s, b"bar baz");
    let at: i64 = query(&mut con, &[b"PEXPIRETIME", b"s"]);
    assert_eq!(at, TTL_AT);
    let bin: Vec<u8> = query(&mut con, &[b"GET", b"bin\r\nkey"]);
    assert_eq!(bin, b"\0\xff");
    let l: Vec<String> = query(&mut con, &[b"LRANGE", b"l", b"0", b"-1"]);
    let mut want: Vec<String> = (0..150).map(|i| format!("e{i}")).collect();
    want.push("last".into());
    assert_eq!(l, want);
    let mut si: Vec<i64> = query(&mut con, &[b"SMEMBERS", b"si"]);
    si.sort();
    assert_eq!(si, (0..70).map(|i| i * 7 - 100).collect::<Vec<_>>());
    let enc: String = query(&mut con, &[b"OBJECT", b"ENCODING", b"si"]);
    assert_eq!(enc, "intset");
    let mut sw: Vec<Vec<u8>> = query(&mut con, &[b"SMEMBERS", b"sw"]);
    sw.sort();
    assert_eq!(sw, vec![b"\r\n\0".to_vec(), b"hello world".to_vec()]);
    let z: Vec<String> = query(&mut con, &[b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"]);
    assert_eq!(
        z,
        [
            "c",
            "-0.10000000000000001",
            "f",
            "2.4999999999999999e-07",
            "a",
            "1.5",
            "d",
            "3",
            "e",
            "1e+20",
            "b",
            "inf"
        ]
        .map(String::from)
    );
    let h: std::collections::HashMap<String, String> = query(&mut con, &[b"HGETALL", b"h"]);
    assert_eq!(h.len(), 100);
    assert_eq!(h.get("f42").map(String::as_str), Some("v42"));
    let extra: i64 = query(&mut con, &[b"GET", b"extra"]);
    assert_eq!(extra, 2);
    let _: () = query(&mut con, &[b"SELECT", b"2"]);
    let other: String = query(&mut con, &[b"GET", b"other"]);
    assert_eq!(other, "db2!");
    drop(con);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
