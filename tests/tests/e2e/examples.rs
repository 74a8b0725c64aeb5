//! The embedding examples (`examples/`) as servers: the `std::net` driver and the tokio
//! driver, each served to redis-cli and the `redis` crate and compared with redis-server.

use crate::support::{
    example_bin, free_port, require_tool, server, wait_listening, Child2, Kind, Raw,
};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Starts example `name` on a free loopback port.
fn start_example(name: &str) -> (Child2, u16) {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(example_bin(name))
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example");
        let child = Child2(child);
        if wait_listening(port, Duration::from_secs(10)) {
            return (child, port);
        }
    }
    panic!("example {name} did not listen");
}

/// redis-cli's output for `args` against `port`.
fn cli(port: u16, args: &[&str]) -> Vec<u8> {
    let out = Command::new(require_tool("redis-cli"))
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli {args:?} failed");
    out.stdout
}

const SCRIPT: &[&[&str]] = &[
    &["PING"],
    &["SET", "k", "v"],
    &["GET", "k"],
    &["INCR", "n"],
    &["INCRBY", "n", "41"],
    &["RPUSH", "l", "a", "b", "c"],
    &["LRANGE", "l", "0", "-1"],
    &["HSET", "h", "f", "1", "g", "2"],
    &["HGETALL", "h"],
    &["SADD", "s", "x"],
    &["ZADD", "z", "1", "m", "2", "n"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["EXPIRE", "k", "100"],
    &["TTL", "k"],
    &["GET", "missing"],
    &["LPUSH", "k", "x"],
    &["DBSIZE"],
    &["DEL", "k", "l", "h", "s", "z", "n"],
    &["NOSUCHCOMMAND"],
];

/// Every command of [`SCRIPT`] through redis-cli answers as redis-server does; a blocked
/// client is served by another one; a pipeline of 5,000 commands comes back in order;
/// `maxclients` turns a client away with Redis's text.
fn serves_like_redis(name: &str) {
    let (_child, port) = start_example(name);
    let redis = server(Kind::Redis);
    for args in SCRIPT {
        assert_eq!(
            String::from_utf8_lossy(&cli(port, args)),
            String::from_utf8_lossy(&cli(redis.port(), args)),
            "{name}: {args:?}"
        );
    }
    // BLPOP answered by another client's push.
    let waiter = std::thread::spawn(move || {
        let mut c = Raw::connect(port);
        c.call(&["BLPOP", "q", "5"])
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(Raw::connect(port).call(&["RPUSH", "q", "hi"]), b":1\r\n");
    assert_eq!(
        waiter.join().expect("waiter"),
        b"*2\r\n$1\r\nq\r\n$2\r\nhi\r\n"
    );
    // A pipeline larger than the socket buffers, through the redis crate.
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .expect("redis crate connects");
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    pipe.cmd("GET").arg("key:4999");
    let (last,): (String,) = pipe.query(&mut conn).expect("pipeline");
    assert_eq!(last, "4999");
    // Admission in the core: one more client than maxclients gets Redis's error.
    drop(conn);
    std::thread::sleep(Duration::from_millis(300));
    let mut held = Raw::connect(port);
    assert_eq!(held.call(&["CONFIG", "SET", "maxclients", "1"]), b"+OK\r\n");
    let mut refused = Raw::connect(port);
    assert_eq!(refused.reply(), b"-ERR max number of clients reached\r\n");
    assert!(refused.closed_within(Duration::from_secs(5)));
}

#[test]
fn std_example_serves_redis_clients() {
    serves_like_redis("std_server");
}

#[test]
fn tokio_example_serves_redis_clients() {
    serves_like_redis("tokio_server");
}
