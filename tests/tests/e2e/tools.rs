//! Real tools against a real `kv_server`: `redis-cli`, `redis-benchmark`, signals and
//! the maxclients limit.

use crate::support::{self, Kind};
use std::process::Command;
use std::time::Duration;

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(support::require_tool("redis-cli"))
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_smoke() {
    let kv = support::server(Kind::Kv);
    let p = kv.port();
    assert_eq!(cli(p, &["PING"]), "PONG\n");
    assert_eq!(cli(p, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(p, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(p, &["--no-raw", "GET", "missing"]), "(nil)\n");
    assert_eq!(cli(p, &["--no-raw", "INCR", "n"]), "(integer) 1\n");
    assert_eq!(cli(p, &["-n", "2", "DBSIZE"]), "0\n");
    let count: usize = cli(p, &["COMMAND", "COUNT"]).trim().parse().unwrap();
    assert!(count > 40);
    assert!(cli(p, &["INFO", "keyspace"]).contains("db0:keys=2,expires=0"));
}

#[test]
fn redis_benchmark_runs_clean() {
    let kv = support::server(Kind::Kv);
    let out = Command::new(support::require_tool("redis-benchmark"))
        .args(["-p", &kv.port().to_string()])
        .args(["-t", "ping,set,get", "-n", "100000", "-P", "16", "-c", "20"])
        .args(["-r", "100000", "--threads", "2", "-q"])
        .output()
        .expect("run redis-benchmark");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(
        !lower.contains("error") && !lower.contains("warn") && !text.contains("ERR"),
        "{text}"
    );
    for test in ["PING_INLINE:", "PING_MBULK:", "SET:", "GET:"] {
        let done = text
            .split(['\r', '\n'])
            .any(|l| l.trim_start().starts_with(test) && l.contains("requests per second"));
        assert!(done, "no result line for {test}:\n{text}");
    }
}

#[test]
fn sigterm_and_sigint_exit_zero() {
    for signal in ["-TERM", "-INT"] {
        let mut kv = support::server(Kind::Kv);
        let mut c = kv.raw();
        assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
        let ok = Command::new("kill")
            .args([signal, &kv.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
        let status = kv
            .wait_exit(Duration::from_secs(5))
            .expect("exits within 5 s");
        assert!(status.success(), "{signal}: {status:?}");
        assert!(
            c.closed_within(Duration::from_secs(2)),
            "client connection closed"
        );
    }
}

#[test]
fn maxclients_refuses_the_extra_client_only() {
    let kv = support::start(Kind::Kv, &["--maxclients", "2"]);
    let mut a = kv.raw();
    assert_eq!(a.call(&["PING"]), b"+PONG\r\n");
    a.wait_connected_clients(1);
    let mut b = kv.raw();
    assert_eq!(b.call(&["PING"]), b"+PONG\r\n");
    let mut c = kv.raw();
    assert_eq!(c.read_exact(36), b"-ERR max number of clients reached\r\n");
    assert!(c.closed_within(Duration::from_secs(2)));
    assert_eq!(a.call(&["PING"]), b"+PONG\r\n");
    let info = a.call(&["INFO", "stats"]);
    assert!(String::from_utf8_lossy(&info).contains("rejected_connections:1\r\n"));
}
