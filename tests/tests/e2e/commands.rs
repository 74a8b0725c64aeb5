//! Commands through a real client library (the `redis` crate): binary safety, pipelines,
//! options, expiry on the real clock, databases, INFO.

use crate::support::{self, Kind};
use redis::{Commands, Value};
use std::time::{Duration, Instant};

#[test]
fn binary_keys_and_values_round_trip() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"plain".to_vec(), b"value".to_vec()),
        (b"nul\0key".to_vec(), b"nul\0value".to_vec()),
        (b"crlf\r\nkey".to_vec(), b"\r\n\r\n".to_vec()),
        (Vec::new(), b"empty key".to_vec()),
        (b"empty value".to_vec(), Vec::new()),
        (
            b"big".to_vec(),
            (0..1024 * 1024).map(|i| (i % 256) as u8).collect(),
        ),
    ];
    for (k, v) in &cases {
        let _: () = c.set(k, v).unwrap();
    }
    for (k, v) in &cases {
        let got: Vec<u8> = c.get(k).unwrap();
        assert_eq!(&got, v, "key {:?}", String::from_utf8_lossy(k));
    }
    let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, cases.len());
    let missing: Option<Vec<u8>> = c.get("missing").unwrap();
    assert_eq!(missing, None);
}

#[test]
fn pipelines_are_answered_in_order() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    let mut p = redis::pipe();
    for i in 0..10_000 {
        p.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    for i in 0..10_000 {
        p.cmd("GET").arg(format!("key:{i}"));
    }
    let got: Vec<i64> = p.query(&mut c).unwrap();
    assert_eq!(got, (0..10_000).collect::<Vec<i64>>());
}

#[test]
fn set_options_and_counters() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    let ok: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("NX")
        .query(&mut c)
        .unwrap();
    assert_eq!(ok.as_deref(), Some("OK"));
    let nx: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("w")
        .arg("NX")
        .query(&mut c)
        .unwrap();
    assert_eq!(nx, None);
    let old: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("w")
        .arg("GET")
        .query(&mut c)
        .unwrap();
    assert_eq!(old.as_deref(), Some("v"));
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query(&mut c)
        .unwrap();
    let ttl: i64 = c.ttl("t").unwrap();
    assert!((99..=100).contains(&ttl));
    let err = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("EX")
        .arg(0)
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid expire time in 'set' command"),
        "{err}"
    );
    let n: i64 = c.incr("counter", 5).unwrap();
    assert_eq!(n, 5);
    let f: String = redis::cmd("INCRBYFLOAT")
        .arg("fl")
        .arg("0.1")
        .query(&mut c)
        .unwrap();
    let f: String = redis::cmd("INCRBYFLOAT")
        .arg("fl")
        .arg("0.2")
        .query(&mut c)
        .unwrap_or(f);
    assert_eq!(f, "0.3");
    let e: i64 = redis::cmd("EXISTS")
        .arg("k")
        .arg("k")
        .arg("nope")
        .query(&mut c)
        .unwrap();
    assert_eq!(e, 2);
}

#[test]
fn px_key_expires_on_the_real_clock() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("v")
        .arg("PX")
        .arg(100)
        .query(&mut c)
        .unwrap();
    let v: Option<String> = c.get("short").unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let v: Option<String> = c.get("short").unwrap();
        if v.is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a 100 ms key still there after 3 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn untouched_key_leaves_dbsize_within_two_seconds() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    let _: () = redis::cmd("SET")
        .arg("k500")
        .arg("v")
        .arg("PX")
        .arg(500)
        .query(&mut c)
        .unwrap();
    let _: () = c.set("stays", "v").unwrap();
    let start = Instant::now();
    // Only DBSIZE is asked: it never touches the key, so only active expiry can remove it.
    loop {
        let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if n == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "500 ms key still counted after 2 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(info.contains("expired_keys:1\r\n"), "{info}");
}

#[test]
fn databases_are_separate_and_swappable() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    let _: () = c.set("k", "zero").unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let v: Option<String> = c.get("k").unwrap();
    assert_eq!(v, None);
    let _: () = c.set("k", "three").unwrap();
    let _: () = redis::cmd("SWAPDB").arg(0).arg(3).query(&mut c).unwrap();
    let v: String = c.get("k").unwrap();
    assert_eq!(v, "zero");
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut c).unwrap();
    assert!(info.contains("db0:keys=1,expires=0"), "{info}");
    assert!(info.contains("db3:keys=1,expires=0"), "{info}");
    let err = redis::cmd("SELECT")
        .arg(16)
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string().contains("DB index is out of range"),
        "{err}"
    );
}

#[test]
fn info_and_hello_carry_what_clients_read() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.client();
    for i in 0..7 {
        let _: () = c.set(format!("k{i}"), i).unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg(1)
        .arg("EX")
        .arg(100)
        .query(&mut c)
        .unwrap();
    // Connections that just closed (the readiness probe) count until the server sees it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let info = loop {
        let info: String = redis::cmd("INFO").query(&mut c).unwrap();
        if info.contains("connected_clients:1\r\n") || Instant::now() > deadline {
            break info;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    for field in [
        "# Server\r\n",
        "redis_version:7.0.15\r\n",
        "redis_mode:standalone\r\n",
        "# Clients\r\n",
        "connected_clients:1\r\n",
        "# Memory\r\n",
        "used_memory:",
        "# Stats\r\n",
        "total_commands_processed:",
        "keyspace_hits:",
        "# Keyspace\r\n",
        "db0:keys=8,expires=1,avg_ttl=",
    ] {
        assert!(info.contains(field), "INFO lacks {field:?}:\n{info}");
    }
    let port_line = format!("tcp_port:{}\r\n", kv.port());
    assert!(info.contains(&port_line), "{info}");
    let hello: Value = redis::cmd("HELLO").arg(2).query(&mut c).unwrap();
    let Value::Array(items) = hello else {
        panic!("HELLO is a flat array in RESP2: {hello:?}");
    };
    assert_eq!(items.len(), 14);
    assert_eq!(items[0], Value::BulkString(b"server".to_vec()));
    assert_eq!(items[3], Value::BulkString(b"7.0.15".to_vec()));
    let err = redis::cmd("HELLO")
        .arg(3)
        .query::<Value>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported protocol version"),
        "{err}"
    );
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    assert!(count > 40, "{count}");
    let save: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut c)
        .unwrap();
    assert_eq!(save, vec!["save".to_string(), String::new()]);
}

#[test]
fn quit_replies_then_closes() {
    let kv = support::server(Kind::Kv);
    let mut raw = kv.raw();
    raw.send(b"PING\r\nQUIT\r\nPING\r\n");
    assert_eq!(raw.reply(), b"+PONG\r\n");
    assert_eq!(raw.reply(), b"+OK\r\n");
    assert!(raw.closed_within(Duration::from_secs(2)));
}

#[test]
fn known_redis_vulnerability_replays_answer() {
    let kv = support::server(Kind::Kv);
    let mut raw = kv.raw();
    assert_eq!(
        raw.call(&[b"SET".to_vec(), vec![b'a'; 40], b"v".to_vec()]),
        b"+OK\r\n"
    );
    let pattern = format!("{}b", "a*".repeat(20));
    assert_eq!(raw.call(&["KEYS", pattern.as_str()]), b"*0\r\n");
    assert_eq!(raw.call(&["FLUSHALL"]), b"+OK\r\n");
    let key = vec![b'a'; 50_000];
    assert_eq!(raw.call(&[b"SET".as_slice(), &key, b"v"]), b"+OK\r\n");
    let pattern = "*?".repeat(50_000);
    let started = Instant::now();
    let reply = raw.call(&["KEYS", pattern.as_str()]);
    // Past 1000 nested `*` Redis 7.0 gives up and answers empty; so do we, at once.
    assert_eq!(reply, b"*0\r\n");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Within the nesting limit the match is found, still quickly.
    let pattern = "*?".repeat(1000);
    let started = Instant::now();
    let reply = raw.call(&["KEYS", pattern.as_str()]);
    assert!(
        reply.starts_with(b"*1\r\n$50000\r\n"),
        "{:?}",
        &reply[..20.min(reply.len())]
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        raw.call(&["SETRANGE", "k", "9223372036854775807", "A"]),
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(raw.call(&["MSETNX", "x1", "xxx", "x1", "yyy"]), b":1\r\n");
    assert_eq!(raw.call(&["GET", "x1"]), b"$3\r\nyyy\r\n");
    assert_eq!(
        raw.call(&["EXPIRE", "x1", "9223370399119966"]),
        b"-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        raw.call(&["DECRBY", "x", "-9223372036854775808"]),
        b"-ERR decrement would overflow\r\n"
    );
}

#[test]
fn config_set_changes_live_settings() {
    let kv = support::server(Kind::Kv);
    let mut a = kv.raw();
    assert_eq!(
        a.call(&["CONFIG", "SET", "maxclients", "3", "timeout", "1"]),
        b"+OK\r\n"
    );
    assert_eq!(
        a.call(&["CONFIG", "GET", "maxclients"]),
        b"*2\r\n$10\r\nmaxclients\r\n$1\r\n3\r\n"
    );
    // All or nothing: the bad second pair leaves the first unchanged.
    let r = a.call(&["CONFIG", "SET", "maxclients", "9", "port", "1"]);
    assert!(r.starts_with(b"-ERR CONFIG SET failed (possibly related to argument 'port')"));
    assert_eq!(
        a.call(&["CONFIG", "GET", "maxclients"]),
        b"*2\r\n$10\r\nmaxclients\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        a.call(&["CONFIG", "SET", "nosuch", "1"]),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    // timeout 1: an idle client is closed within T + 1 s.
    let mut idle = kv.raw();
    assert_eq!(idle.call(&["PING"]), b"+PONG\r\n");
    assert!(
        idle.closed_within(Duration::from_secs(3)),
        "idle client closed"
    );
    // `a` was idle just as long: it went too.
    assert!(a.closed_within(Duration::from_secs(2)));
    let mut b = kv.raw();
    assert_eq!(b.call(&["CONFIG", "SET", "timeout", "0"]), b"+OK\r\n");
}

#[test]
fn config_file_and_command_line_give_the_same_config_get() {
    let path = std::env::temp_dir().join(format!("kv-e2e-{}.conf", std::process::id()));
    std::fs::write(
        &path,
        "# test config\nmaxclients 123\ntimeout 7\nproto-max-bulk-len 2mb\nsave \"\"\nappendonly no\n",
    )
    .unwrap();
    let from_file = support::start_with_file(Kind::Kv, &path, &[]);
    let from_cli = support::start(
        Kind::Kv,
        &[
            "--maxclients",
            "123",
            "--timeout",
            "7",
            "--proto-max-bulk-len",
            "2mb",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    );
    let all = |s: &support::Server| {
        let mut r = s.raw();
        let mut v = support::bulk_elements(&r.call(&["CONFIG", "GET", "*"]));
        // Pairs of (name, value), without the port, which differs.
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = v
            .chunks_mut(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .filter(|(n, _)| n != b"port")
            .collect();
        pairs.sort();
        pairs
    };
    let (a, b) = (all(&from_file), all(&from_cli));
    std::fs::remove_file(&path).unwrap();
    assert!(a.len() > 10);
    assert_eq!(a, b);
    assert!(a.contains(&(b"maxclients".to_vec(), b"123".to_vec())));
}

#[test]
fn info_commandstats_cpu_and_resetstat() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.raw();
    for _ in 0..3 {
        c.call(&["SET", "k", "v"]);
    }
    c.call(&["GET", "k"]);
    c.call(&["GET"]);
    c.call(&["INCR", "k"]);
    let stats = String::from_utf8_lossy(&c.call(&["INFO", "commandstats"])).into_owned();
    assert!(stats.contains("cmdstat_set:calls=3,usec="), "{stats}");
    assert!(stats.contains("cmdstat_get:calls=1,"), "{stats}");
    assert!(stats.contains("rejected_calls=1,failed_calls=0"), "{stats}");
    assert!(
        stats.contains("cmdstat_incr:calls=1,") && stats.contains("failed_calls=1"),
        "{stats}"
    );
    let all = String::from_utf8_lossy(&c.call(&["INFO", "everything"])).into_owned();
    for s in [
        "# Persistence",
        "# CPU\r\nused_cpu_sys:",
        "# Commandstats",
        "# Keyspace",
    ] {
        assert!(all.contains(s), "{s} in {all}");
    }
    let default = String::from_utf8_lossy(&c.call(&["INFO"])).into_owned();
    assert!(!default.contains("# Commandstats"));
    assert_eq!(c.call(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    let stats = String::from_utf8_lossy(&c.call(&["INFO", "commandstats"])).into_owned();
    assert!(!stats.contains("cmdstat_set"), "{stats}");
    let s = String::from_utf8_lossy(&c.call(&["INFO", "stats"])).into_owned();
    assert!(s.contains("keyspace_hits:0\r\n"), "{s}");
}

#[test]
fn client_list_info_and_kill() {
    let kv = support::server(Kind::Kv);
    let mut a = kv.raw();
    let mut b = kv.raw();
    assert_eq!(a.call(&["CLIENT", "SETNAME", "alpha"]), b"+OK\r\n");
    assert_eq!(b.call(&["SELECT", "3"]), b"+OK\r\n");
    let b_id = String::from_utf8_lossy(&b.call(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    let list =
        support::bulk_elements(&[b"*1\r\n".as_slice(), &a.call(&["CLIENT", "LIST"])].concat());
    let list = String::from_utf8_lossy(&list[0]).into_owned();
    let a_line = list
        .lines()
        .find(|l| l.contains(" name=alpha "))
        .expect("a's line");
    assert!(
        a_line.contains(" cmd=client|list ") && a_line.contains("addr=127.0.0.1:"),
        "{a_line}"
    );
    let b_line = list
        .lines()
        .find(|l| l.starts_with(&format!("id={b_id} ")))
        .expect("b's line");
    assert!(
        b_line.contains(" db=3 ") && b_line.contains(" cmd=client|id "),
        "{b_line}"
    );
    let info = a.call(&["CLIENT", "INFO"]);
    assert!(String::from_utf8_lossy(&info).contains("name=alpha"));
    assert_eq!(a.call(&["CLIENT", "KILL", "ID", "999999"]), b":0\r\n");
    assert_eq!(a.call(&["CLIENT", "KILL", "ID", &b_id]), b":1\r\n");
    assert!(
        b.closed_within(Duration::from_secs(2)),
        "killed client closed"
    );
    assert_eq!(
        a.call(&["CLIENT", "KILL", "1.2.3.4:5"]),
        b"-ERR No such client\r\n"
    );
    assert_eq!(a.call(&["PING"]), b"+PONG\r\n");
}

/// Fields mini-kv adds to INFO that Redis does not have (README lists them).
const OUR_INFO_FIELDS: &[&str] = &["mini_kv_version", "worker_threads"];

fn value_shape(v: &str) -> String {
    if v.contains('=') {
        // k=v,k=v lists (keyspace, commandstats): the sub-field names.
        v.split(',')
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",")
    } else if v.parse::<i64>().is_ok() {
        "integer".into()
    } else if v.parse::<f64>().is_ok() {
        "float".into()
    } else {
        "text".into()
    }
}

fn info_fields(raw: &[u8]) -> Vec<(String, String, String)> {
    let body = &support::bulk_elements(&[b"*1\r\n".as_slice(), raw].concat())[0];
    let mut section = String::new();
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(body).lines() {
        if let Some(s) = line.strip_prefix("# ") {
            section = s.to_string();
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((section.clone(), k.to_string(), value_shape(v)));
        }
    }
    out
}

#[test]
fn info_and_client_list_use_redis_field_names_and_formats() {
    let kv = support::server(Kind::Kv);
    let redis = support::server(Kind::Redis);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for (server, fields) in [(&kv, &mut ours), (&redis, &mut theirs)] {
        let mut c = server.raw();
        c.call(&["SET", "k", "1"]);
        c.call(&["SET", "t", "1", "EX", "100"]);
        c.call(&["GET", "k"]);
        *fields = info_fields(&c.call(&["INFO", "everything"]));
    }
    let mut missing = Vec::new();
    for (section, name, shape) in &ours {
        if OUR_INFO_FIELDS.contains(&name.as_str()) {
            continue;
        }
        match theirs.iter().find(|(s, n, _)| s == section && n == name) {
            None => missing.push(format!("{section}/{name} not in redis-server's INFO")),
            Some((_, _, their_shape)) if their_shape != shape => missing.push(format!(
                "{section}/{name}: ours is {shape}, redis-server's is {their_shape}"
            )),
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // Every section Redis prints by default that mini-kv has anything for is there.
    for s in [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Cluster",
        "Keyspace",
    ] {
        assert!(ours.iter().any(|(sec, _, _)| sec == s), "section {s}");
    }

    let names = |server: &support::Server| {
        let mut c = server.raw();
        let list = c.call(&["CLIENT", "LIST"]);
        let body = &support::bulk_elements(&[b"*1\r\n".as_slice(), &list].concat())[0];
        let line = String::from_utf8_lossy(body)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        line.split(' ')
            .map(|kv| kv.split('=').next().unwrap_or("").to_string())
            .filter(|n| n != "lib-name" && n != "lib-ver")
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&kv),
        names(&redis),
        "CLIENT LIST field names and order"
    );
}

#[test]
fn zquery_end_to_end() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.raw();
    assert_eq!(
        c.call(&["ZADD", "z", "1", "b", "1", "a", "2", "c", "3", "d", "1", "e"]),
        b":5\r\n"
    );
    // Order: (1,a) (1,b) (1,e) (2,c) (3,d).
    let q = |c: &mut support::Raw, args: &[&str]| {
        let mut v = vec!["ZQUERY", "z"];
        v.extend_from_slice(args);
        c.call(&v)
    };
    assert_eq!(
        q(&mut c, &["1", "b", "0", "4"]),
        b"*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\ne\r\n$1\r\n1\r\n"
    );
    // Whole pairs: limit 3 gives two pairs, limit 1 one pair; never a name without its score.
    assert_eq!(
        q(&mut c, &["1", "b", "0", "3"]),
        b"*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\ne\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        q(&mut c, &["1", "b", "0", "1"]),
        b"*2\r\n$1\r\nb\r\n$1\r\n1\r\n"
    );
    let seven = q(&mut c, &["1", "a", "0", "7"]);
    assert!(seven.starts_with(b"*8\r\n$1\r\na\r\n"), "{seven:?}");
    assert_eq!(
        q(&mut c, &["2", "c", "-3", "2"]),
        b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(q(&mut c, &["2", "c", "-4", "2"]), b"*0\r\n");
    assert_eq!(q(&mut c, &["1", "a", "5", "2"]), b"*0\r\n");
    assert_eq!(q(&mut c, &["9", "z", "-1", "2"]), b"*0\r\n");
    assert_eq!(q(&mut c, &["1", "a", "0", "0"]), b"*0\r\n");
    assert_eq!(
        c.call(&["ZQUERY", "missing", "1", "a", "0", "9"]),
        b"*0\r\n"
    );
    assert_eq!(
        c.call(&["ZQUERY", "z", "1", "a", "0"]),
        b"-ERR wrong number of arguments for 'zquery' command\r\n"
    );
    assert_eq!(c.call(&["SET", "s", "v"]), b"+OK\r\n");
    assert_eq!(
        c.call(&["ZQUERY", "s", "1", "a", "0", "9"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

/// CLIENT REPLY ON answers even right after CLIENT REPLY SKIP (it clears the skip, as in
/// Redis, whose own test suite waits for that `+OK`), on both servers alike.
#[test]
fn client_reply_on_right_after_skip_answers() {
    for kind in [Kind::Kv, Kind::Redis] {
        let server = support::server(kind);
        let mut c = server.raw();
        c.send(b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n");
        assert_eq!(c.read_exact(12), b"+OK\r\n+PONG\r\n", "{kind:?}");
    }
}

/// The caller's own CLIENT INFO / CLIENT LIST line shows the command being run as Redis
/// does: `qbuf` its multibulk bytes, `argv-mem` its argument bytes, `omem` 0 (Redis's
/// introspection tests match these fields).
#[test]
fn own_client_line_shows_the_current_command_as_redis() {
    let field = |line: &[u8], name: &str| -> String {
        let text = String::from_utf8_lossy(line).into_owned();
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{name}=")).map(str::to_string))
            .unwrap_or_default()
    };
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let server = support::server(kind);
        let mut c = server.raw();
        let id = c.call(&["CLIENT", "ID"]);
        let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
        let info = c.call(&["CLIENT", "INFO"]);
        let list = c.call(&["CLIENT", "LIST", "ID", &id, "999999"]);
        let fields: Vec<String> = ["qbuf", "argv-mem", "omem"]
            .iter()
            .flat_map(|n| [field(&info, n), field(&list, n)])
            .collect();
        seen.push(fields);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");
    assert_eq!(seen[0][0], "26");
}

/// OBJECT IDLETIME of a key just written is 0, or 1 when a second boundary falls in
/// between (the differential cases cannot compare it byte for byte); a key left alone for
/// over two seconds shows at least 2, and a read resets it.
#[test]
fn object_idletime_counts_seconds_since_the_last_access() {
    let kv = support::server(Kind::Kv);
    let mut c = kv.raw();
    assert_eq!(c.call(&["SET", "s", "v"]), b"+OK\r\n");
    let fresh = c.call(&["OBJECT", "IDLETIME", "s"]);
    assert!(fresh == b":0\r\n" || fresh == b":1\r\n", "{fresh:?}");
    std::thread::sleep(Duration::from_millis(2100));
    let idle = String::from_utf8_lossy(&c.call(&["OBJECT", "IDLETIME", "s"])).into_owned();
    let secs: u64 = idle
        .trim_start_matches(':')
        .trim()
        .parse()
        .expect("integer");
    assert!((2..=4).contains(&secs), "{idle}");
    assert_eq!(c.call(&["GET", "s"]), b"$1\r\nv\r\n");
    let after = c.call(&["OBJECT", "IDLETIME", "s"]);
    assert!(after == b":0\r\n" || after == b":1\r\n", "{after:?}");
    assert_eq!(c.call(&["OBJECT", "IDLETIME", "nokey"]), b"$-1\r\n");
}

/// MEMORY STATS answers Redis 7.0.15's fields in Redis's order (a `db.N` map per database
/// with keys), with figures that agree with DBSIZE, and so does INFO memory; MEMORY DOCTOR gives Redis's
/// report for a small instance; MALLOC-STATS and PURGE answer as a libc-malloc Redis does.
#[test]
fn memory_stats_and_doctor_answer_as_redis() {
    fn names(v: &Value) -> Vec<String> {
        let Value::Array(items) = v else {
            panic!("not an array: {v:?}");
        };
        let mut out = Vec::new();
        for pair in items.chunks(2) {
            let Value::BulkString(name) = &pair[0] else {
                panic!("not a name: {:?}", pair[0]);
            };
            out.push(String::from_utf8_lossy(name).into_owned());
            if let Value::Array(_) = &pair[1] {
                out.extend(names(&pair[1]).into_iter().map(|n| format!("  {n}")));
            }
        }
        out
    }
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.client();
        let _: () = c.set("k", "v").unwrap();
        let _: () = redis::cmd("SET")
            .arg("t")
            .arg("v")
            .arg("EX")
            .arg(100)
            .query(&mut c)
            .unwrap();
        let stats: Value = redis::cmd("MEMORY").arg("STATS").query(&mut c).unwrap();
        let doctor: String = redis::cmd("MEMORY").arg("DOCTOR").query(&mut c).unwrap();
        assert!(
            doctor.starts_with("Hi Sam, this instance is empty"),
            "{doctor}"
        );
        let purge: String = redis::cmd("MEMORY").arg("PURGE").query(&mut c).unwrap();
        assert_eq!(purge, "OK");
        if kind == Kind::Kv {
            let m: String = redis::cmd("MEMORY")
                .arg("MALLOC-STATS")
                .query(&mut c)
                .unwrap();
            assert_eq!(m, "Stats not supported for the current allocator");
            let Value::Array(items) = &stats else {
                panic!("{stats:?}")
            };
            let field = |name: &str| -> i64 {
                let i = items
                    .iter()
                    .position(|v| *v == Value::BulkString(name.as_bytes().to_vec()))
                    .unwrap_or_else(|| panic!("no {name}"));
                match &items[i + 1] {
                    Value::Int(n) => *n,
                    v => panic!("{name}: {v:?}"),
                }
            };
            assert_eq!(field("keys.count"), 2);
            assert!(field("total.allocated") >= field("startup.allocated"));
            assert!(field("peak.allocated") >= field("total.allocated"));
            assert_eq!(
                field("overhead.total") + field("dataset.bytes"),
                field("total.allocated")
            );
        }
        let info: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
        let mut all = names(&stats);
        all.extend(
            info.lines()
                .filter_map(|l| Some(l.split_once(':')?.0.to_string())),
        );
        seen.push(all);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");
}

/// Error replies are counted as Redis counts them: `total_error_replies` and one
/// `errorstat_<CODE>` line per code (rejected and failed calls, errors inside EXEC,
/// EXECABORT, a protocol error), both cleared by CONFIG RESETSTAT.
#[test]
fn errorstats_count_error_replies_as_redis() {
    fn errors(c: &mut support::Raw) -> String {
        let stats = String::from_utf8_lossy(&c.call(&["INFO", "errorstats"])).into_owned();
        let stats = stats.lines().skip(1).collect::<Vec<_>>().join("\n");
        let total = String::from_utf8_lossy(&c.call(&["INFO", "stats"]))
            .lines()
            .filter(|l| l.contains("error_replies"))
            .collect::<Vec<_>>()
            .join("\n");
        format!("{stats}\n{total}")
    }
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.raw();
        c.call(&["CONFIG", "RESETSTAT"]);
        let mut got = vec![errors(&mut c)];
        for cmd in [
            &["SET", "a", "b"][..],
            &["INCR", "a"],
            &["FOO"],
            &["GET"],
            &["LPUSH", "a", "1"],
            &["MULTI"],
            &["SET", "x"],
            &["SET", "y", "1"],
            &["EXEC"],
            &["MULTI"],
            &["INCR", "a"],
            &["SET", "z", "1"],
            &["EXEC"],
            &["EXEC"],
            &["AUTH", "nobody", "x"],
            &["OBJECT", "NOPE"],
            &["CONFIG", "SET", "maxmemory", "x"],
        ] {
            c.call(cmd);
        }
        // A protocol error (the connection then closes) counts too.
        let mut bad = s.raw();
        bad.send(b"*abc\r\n");
        assert_eq!(
            bad.reply(),
            b"-ERR Protocol error: invalid multibulk length\r\n"
        );
        assert!(bad.closed_within(Duration::from_secs(5)));
        got.push(errors(&mut c));
        c.call(&["CONFIG", "RESETSTAT"]);
        got.push(errors(&mut c));
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");
    assert!(
        seen[1][1].contains("total_error_replies:12"),
        "{}",
        seen[1][1]
    );
}

/// CONFIG GET * names every parameter redis-server 7.0.15 names (and mini-kv's `workers`),
/// and the ones mini-kv has no use for (`config::inert`) show Redis's defaults.
#[test]
fn config_get_names_every_redis_parameter_with_its_default() {
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.client();
        let all: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("*")
            .query(&mut c)
            .unwrap();
        let mut pairs: Vec<(String, String)> = all
            .chunks(2)
            .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default()))
            .filter(|(n, _)| n != "workers")
            .collect();
        pairs.sort();
        seen.push(pairs);
    }
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&seen[0]),
        names(&seen[1]),
        "redis-server vs kv_server"
    );
    for p in kv_core::config::inert::PARAMS {
        let value =
            |v: &[(String, String)]| v.iter().find(|(n, _)| n == p.name).map(|(_, v)| v.clone());
        assert_eq!(value(&seen[0]), value(&seen[1]), "{}", p.name);
    }
}

/// SLOWLOG logs what Redis logs, in Redis's shape: every command at a threshold of 0
/// (not SLOWLOG RESET's own... as Redis: the command that asks is logged after it answers),
/// newest first, trimmed to `slowlog-max-len`, AUTH's secrets redacted, long arguments
/// and long argument lists shortened, the client's address and name; nothing at -1.
#[test]
fn slowlog_logs_as_redis() {
    fn shape(v: &Value) -> String {
        // Ids, times, durations and ports differ between servers: keep the rest.
        let Value::Array(entries) = v else {
            panic!("{v:?}")
        };
        let mut out = Vec::new();
        for e in entries {
            let Value::Array(f) = e else { panic!("{e:?}") };
            let args = match &f[3] {
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        x => format!("{x:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                x => format!("{x:?}"),
            };
            let peer = match &f[4] {
                Value::BulkString(b) => String::from_utf8_lossy(b).starts_with("127.0.0.1:"),
                _ => false,
            };
            out.push(format!("{args} | local {peer} | {:?}", f[5]));
        }
        out.join("\n")
    }
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.client();
        let mut got = Vec::new();
        let mut q = |args: &[&str]| -> Value {
            let mut cmd = redis::cmd(args[0]);
            for a in &args[1..] {
                cmd.arg(*a);
            }
            cmd.query(&mut c).unwrap_or(Value::Nil)
        };
        q(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        q(&["CONFIG", "SET", "slowlog-max-len", "5"]);
        q(&["SLOWLOG", "RESET"]);
        q(&["CLIENT", "SETNAME", "tester"]);
        q(&["AUTH", "someone", "secret"]);
        let long = "x".repeat(300);
        q(&["SET", "k", &long]);
        let many: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
        let mut del = vec!["DEL"];
        del.extend(many.iter().map(String::as_str));
        q(&del);
        got.push(shape(&q(&["SLOWLOG", "GET"])));
        for i in 0..10 {
            q(&["PING", &format!("{i}")]);
        }
        got.push(format!("{:?}", q(&["SLOWLOG", "LEN"])));
        got.push(shape(&q(&["SLOWLOG", "GET", "2"])));
        q(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        q(&["SLOWLOG", "RESET"]);
        q(&["PING"]);
        got.push(format!("{:?}", q(&["SLOWLOG", "LEN"])));
        got.push(format!("{:?}", q(&["SLOWLOG", "GET", "-1"])));
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");
    assert!(seen[1][0].contains("(redacted)"), "{}", seen[1][0]);
}

/// INFO latencystats and the subcommands' lines of commandstats, against redis-server:
/// the same commands (subcommands apart: `client|id`), the same percentiles, the same
/// calls, rejected and failed calls, and `latency-tracking no` / CONFIG RESETSTAT
/// emptying the section.
#[test]
fn latencystats_and_subcommand_stats_match_redis() {
    fn section(c: &mut support::Raw, name: &str) -> String {
        String::from_utf8_lossy(&c.call(&["INFO", name])).into_owned()
    }
    /// Each line's name with its sub-field names (latencystats) or its counts without the
    /// times (commandstats), sorted: Redis lists commands in its dict's order.
    fn shape(text: &str) -> Vec<String> {
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(name, fields)| {
                let kept: Vec<&str> = fields
                    .split(',')
                    .filter(|f| !f.starts_with("usec"))
                    .map(|f| {
                        if name.starts_with("latency_") {
                            f.split('=').next().unwrap_or("")
                        } else {
                            f
                        }
                    })
                    .collect();
                format!("{name}:{}", kept.join(","))
            })
            .collect();
        v.sort();
        v
    }
    let mut seen = Vec::new();
    let mut kv_latency = String::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.raw();
        let mut got = Vec::new();
        c.call(&["CONFIG", "RESETSTAT"]);
        c.call(&["CONFIG", "SET", "latency-tracking", "no"]);
        c.call(&["SET", "a", "b"]);
        got.push(shape(&section(&mut c, "latencystats")));
        c.call(&["CONFIG", "SET", "latency-tracking", "yes"]);
        c.call(&["CONFIG", "RESETSTAT"]);
        for cmd in [
            &["SET", "a", "b"][..],
            &["GET", "a"],
            &["GET"],
            &["INCR", "a"],
            &["CLIENT", "ID"],
            &["CLIENT", "NOPE"],
            &["CONFIG", "SET", "maxmemory"],
            &["OBJECT", "ENCODING", "a"],
            &[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                "0.0 50.0 100.0",
            ],
        ] {
            c.call(cmd);
        }
        got.push(vec![String::from_utf8_lossy(&c.call(&[
            "CONFIG",
            "GET",
            "latency-tracking-info-percentiles",
        ]))
        .into_owned()]);
        for bad in ["10.0 50.0 a", "10.0 50.0 101.0"] {
            got.push(vec![String::from_utf8_lossy(&c.call(&[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                bad,
            ]))
            .into_owned()]);
        }
        got.push(shape(&section(&mut c, "commandstats")));
        let latency = section(&mut c, "latencystats");
        got.push(shape(&latency));
        let total = section(&mut c, "stats")
            .lines()
            .filter(|l| l.starts_with("total_commands_processed") || l.contains("error_replies"))
            .map(String::from)
            .collect::<Vec<_>>();
        got.push(total);
        c.call(&["CONFIG", "RESETSTAT"]);
        got.push(shape(&section(&mut c, "latencystats")));
        let everything = section(&mut c, "everything");
        let default = section(&mut c, "default");
        got.push(vec![
            everything.contains("# Latencystats").to_string(),
            default.contains("# Latencystats").to_string(),
        ]);
        if kind == Kind::Kv {
            kv_latency = latency;
        }
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");
    assert!(
        seen[1][4]
            .iter()
            .any(|l| l.starts_with("cmdstat_client|id:calls=1,")),
        "{:?}",
        seen[1][4]
    );
    // Values: microseconds with three decimals, in order p0 <= p50 <= p100.
    let set = kv_latency
        .lines()
        .find_map(|l| l.strip_prefix("latency_percentiles_usec_set:"))
        .expect("set's line");
    let values: Vec<f64> = set
        .split(',')
        .map(|f| {
            let v = f.split('=').nth(1).unwrap();
            assert_eq!(v.split('.').nth(1).map(str::len), Some(3), "{set}");
            v.parse().unwrap()
        })
        .collect();
    assert_eq!(values.len(), 3, "{set}");
    assert!(
        values[0] <= values[1] && values[1] <= values[2] && values[0] > 0.0,
        "{set}"
    );
}

/// `rdb_changes_since_last_save` after SETBIT and BITFIELD writes that change nothing, one
/// thing or several (Redis adds each BITFIELD change), and OBJECT REFCOUNT of small
/// integers with and without an LRU policy under `maxmemory`: as redis-server.
#[test]
fn bit_writes_count_changes_and_shared_integers_follow_the_policy_as_redis() {
    fn int_reply(r: &[u8]) -> i64 {
        let t = String::from_utf8_lossy(r);
        t.trim()
            .strip_prefix(':')
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("integer reply: {t}"))
    }
    fn dirty(c: &mut support::Raw) -> i64 {
        String::from_utf8_lossy(&c.call(&["INFO", "persistence"]))
            .lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("rdb_changes_since_last_save")
    }
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.raw();
        let mut got = Vec::new();
        for cmds in [
            &[
                &["SETBIT", "foo", "0", "0"][..],
                &["BITFIELD", "foo2", "SET", "i5", "0", "0"],
            ][..],
            &[
                &["SETBIT", "foo", "0", "0"],
                &["BITFIELD", "foo2", "SET", "i5", "0", "0"],
            ],
            &[
                &["SETBIT", "foo", "0", "1"],
                &["SETBIT", "foo", "0", "1"],
                &[
                    "BITFIELD", "foo2", "SET", "i5", "0", "1", "SET", "i5", "5", "3",
                ],
                &["BITFIELD", "foo2", "SET", "i5", "0", "1"],
            ],
            &[&["BITFIELD", "foo3", "INCRBY", "i5", "0", "1"]],
            &[
                &["SETBIT", "foo", "90", "0"],
                &["BITFIELD", "foo2", "GET", "i5", "0"],
            ],
        ] {
            let before = dirty(&mut c);
            for cmd in cmds {
                c.call(cmd);
            }
            got.push(dirty(&mut c) - before);
        }
        c.call(&["SET", "a", "1"]);
        got.push(int_reply(&c.call(&["OBJECT", "REFCOUNT", "a"])));
        c.call(&["CONFIG", "SET", "maxmemory", "1gb"]);
        for policy in [
            "allkeys-random",
            "allkeys-lru",
            "volatile-lfu",
            "noeviction",
        ] {
            c.call(&["CONFIG", "SET", "maxmemory-policy", policy]);
            c.call(&["SET", "b", "7"]);
            got.push(int_reply(&c.call(&["OBJECT", "REFCOUNT", "b"])));
        }
        c.call(&["CONFIG", "SET", "maxmemory", "0"]);
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");
    assert_eq!(seen[1][..5], [2, 0, 3, 1, 1], "{:?}", seen[1]);
}

/// LATENCY against redis-server: HELP, DOCTOR with the monitor off and on, LATEST,
/// HISTORY, GRAPH and RESET without events, errors, HISTOGRAM's shape; then (kv_server
/// alone: redis-server would need DEBUG SLEEP) a slow KEYS recorded as a `command` event.
#[test]
fn latency_command_matches_redis_and_records_slow_commands() {
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Kv] {
        let s = support::server(kind);
        let mut c = s.raw();
        let mut got = Vec::new();
        c.call(&["CONFIG", "RESETSTAT"]);
        for cmd in [
            &["LATENCY", "HELP"][..],
            &["LATENCY", "DOCTOR"],
            &["LATENCY", "LATEST"],
            &["LATENCY", "HISTORY", "command"],
            &["LATENCY", "GRAPH", "command"],
            &["LATENCY", "RESET"],
            &["LATENCY", "RESET", "a", "b"],
            &["LATENCY", "FOO"],
            &["LATENCY", "HISTORY"],
            &["LATENCY", "LATEST", "x"],
            &["LATENCY", "HISTOGRAM", "blabla"],
            &["CONFIG", "SET", "latency-monitor-threshold", "200"],
            &["LATENCY", "DOCTOR"],
            &["SET", "a", "b"],
        ] {
            got.push(String::from_utf8_lossy(&c.call(cmd)).into_owned());
        }
        let h =
            String::from_utf8_lossy(&c.call(&["LATENCY", "HISTOGRAM", "set", "nope"])).into_owned();
        let shape =
            "*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*2\r\n:";
        assert!(h.starts_with(shape), "{kind:?}: {h:?}");
        let all = String::from_utf8_lossy(&c.call(&["LATENCY", "HISTOGRAM"])).into_owned();
        assert!(
            all.contains("$16\r\nconfig|resetstat\r\n"),
            "{kind:?}: {all:?}"
        );
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "redis-server vs kv_server");

    let s = support::server(Kind::Kv);
    let mut c = s.raw();
    // 200,000 keys, so that KEYS * takes well over a millisecond.
    for chunk in 0..20 {
        let mut bytes = Vec::new();
        for i in chunk * 10_000..(chunk + 1) * 10_000 {
            let key = format!("key:{i}");
            bytes.extend_from_slice(
                format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nv\r\n", key.len()).as_bytes(),
            );
        }
        c.send(&bytes);
        for _ in 0..10_000 {
            assert_eq!(c.reply(), b"+OK\r\n");
        }
    }
    c.call(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    c.call(&["KEYS", "*"]);
    let latest = String::from_utf8_lossy(&c.call(&["LATENCY", "LATEST"])).into_owned();
    assert!(
        latest.starts_with("*1\r\n*4\r\n$7\r\ncommand\r\n:"),
        "{latest:?}"
    );
    let time: i64 = latest.split("\r\n").nth(4).unwrap()[1..].parse().unwrap();
    assert!((before..=before + 2).contains(&time), "{latest:?}");
    let history = String::from_utf8_lossy(&c.call(&["LATENCY", "HISTORY", "command"])).into_owned();
    assert!(history.starts_with("*1\r\n*2\r\n:"), "{history:?}");
    let doctor = String::from_utf8_lossy(&c.call(&["LATENCY", "DOCTOR"])).into_owned();
    assert!(
        doctor.contains("1. command: 1 latency spikes (average "),
        "{doctor}"
    );
    assert!(doctor.contains("Check your Slow Log"), "{doctor}");
    let graph = String::from_utf8_lossy(&c.call(&["LATENCY", "GRAPH", "command"])).into_owned();
    assert!(graph.contains("command - high "), "{graph}");
    // One sample: Redis's sparkline draws it as `_` on the last of its four rows (after
    // the bulk header, the title and the dashes).
    let rows: Vec<&str> = graph.lines().skip(3).take(4).collect();
    assert_eq!(rows, [" ", " ", " ", "_"], "{graph}");
    assert_eq!(c.call(&["LATENCY", "RESET", "command"]), b":1\r\n");
    assert_eq!(c.call(&["LATENCY", "LATEST"]), b"*0\r\n");
}
