//! The example client `kv-cli` (examples/kv_cli.rs) against the real `redis-cli`: the same
//! commands, sent through both tools to a real `kv_server` and to a real `redis-server`,
//! must print byte-identical output, in the raw format (output not a terminal) and in the
//! human one (`--no-raw`), with commands as arguments and as lines on standard input.
//! The standard-input run also holds kv_server's output to redis-server's (the same commands
//! from the same data print the same bytes).
//!
//! `kv-cli` is not built here: `ci/test` builds it (`cargo build -p kv-examples`) before the
//! tests run, and the tests fail with that hint when it is missing.

use crate::support::{self, Kind};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// `target/debug/kv-cli`, which ci/test builds (`cargo build -p kv-examples`).
fn kv_cli_bin() -> PathBuf {
    support::example_bin("kv-cli")
}

/// Runs `tool -p port [flags] [args]` with `stdin` as its input (none: empty).
fn run(tool: &PathBuf, port: u16, flags: &[&str], args: &[Vec<u8>], stdin: &[u8]) -> Output {
    let mut child = Command::new(tool)
        .args(["-p", &port.to_string()])
        .args(flags)
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", tool.display()));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("stdin writer");
    out
}

/// A 1 MiB value of every byte value in turn.
fn big_value() -> Vec<u8> {
    (0..1024 * 1024).map(|i| (i % 251) as u8).collect()
}

/// The same starting data on every run: a 1 MiB binary value, a value with a NUL (which
/// no command-line argument can carry), an empty string.
fn reset(port: u16) {
    let mut c = support::Raw::connect(port);
    assert_eq!(c.call(&["FLUSHALL"]), b"+OK\r\n");
    assert_eq!(c.call(&[&b"SET"[..], b"big", &big_value()]), b"+OK\r\n");
    assert_eq!(c.call(&[&b"SET"[..], b"nul", b"a\0b\xff"]), b"+OK\r\n");
    assert_eq!(c.call(&[&b"SET"[..], b"empty", b""]), b"+OK\r\n");
}

/// Command lines (redis-cli quoting) run in order, each through every tool: status, bulk,
/// binary, empty and large strings, integers, nil, errors, arrays with nil and error
/// elements, nested arrays (COMMAND INFO, SCAN), ZRANGE WITHSCORES, the empty array, the
/// nil array (BLPOP timeout), an index column two digits wide, a verbatim command (INFO).
const CASES: &[&str] = &[
    "PING",
    "SET s hello",
    "GET s",
    "GET missing",
    "SET e \"\"",
    "GET e",
    "GET empty",
    "INCR n",
    "INCRBY n -50",
    "SET bin \"\\xff\\x01\\x7f\\n\\r\\t\\a\\b\\\"\\\\ \\xc3\\xa9 '\"",
    "GET bin",
    "GET nul",
    "STRLEN big",
    "GET big",
    "GETRANGE big 0 300",
    "NOSUCHCMD a b",
    "GET",
    "LPUSH s x",
    "TYPE s",
    "RPUSH l a b c \"\" \"d e\"",
    "LRANGE l 0 -1",
    "RPUSH l2 1 2 3 4 5 6 7 8 9 10 11 12",
    "LRANGE l2 0 -1",
    "LRANGE nope 0 -1",
    "MGET s missing n e",
    "ZADD z 1 a 2.5 b -10 c",
    "ZRANGE z 0 -1 WITHSCORES",
    "HSET h field \"va\\x01lue\"",
    "HGETALL h",
    "SCAN 0 MATCH z* COUNT 1000",
    "COMMAND INFO get",
    "COMMAND INFO get nosuch set",
    "BLPOP nope 0.01",
    "EXEC",
    "INFO keyspace",
    "DEL s n",
    "EXISTS s n l",
];

/// Lines only standard input can carry, and the prompt loop's own rules: a NUL through an
/// escape, an empty line, unbalanced quotes, a repeat count (and a bad one), a transaction
/// whose EXEC returns an array holding an error, and `quit` before a last line.
const STDIN_ONLY: &[&str] = &[
    "SET withnul \"x\\x00y\"",
    "GET withnul",
    "HSET hn f \"a\\x00b\"",
    "HGETALL hn",
    "",
    "   ",
    "GET \"unbalanced",
    "3 INCR r",
    "0 PING",
    "MULTI",
    "SET a 1",
    "INCR s2",
    "LPUSH a x",
    "EXEC",
    "quit",
    "PING",
];

fn split(line: &str) -> Vec<Vec<u8>> {
    kv_core::split_line(line.as_bytes()).expect("a case line splits")
}

/// Runs every case through `tool` against `port`, returning the outputs in order.
fn run_cases(tool: &PathBuf, port: u16, flags: &[&str]) -> Vec<Output> {
    reset(port);
    CASES
        .iter()
        .map(|line| run(tool, port, flags, &split(line), b""))
        .collect()
}

/// Both outputs around their first difference (whole outputs can be megabytes).
fn diff(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let from = at.saturating_sub(300);
    let part = |s: &[u8]| {
        String::from_utf8_lossy(&s[from.min(s.len())..(at + 300).min(s.len())]).into_owned()
    };
    format!(
        "first difference at byte {at} (lengths {} and {}), from byte {from}:\nkv-cli:\n{}\nredis-cli:\n{}",
        a.len(),
        b.len(),
        part(a),
        part(b)
    )
}

#[test]
fn kv_cli_prints_as_redis_cli_with_arguments() {
    let kv_cli = kv_cli_bin();
    let redis_cli = support::require_tool("redis-cli");
    let kv = support::server(Kind::Kv);
    let redis = support::server(Kind::Redis);
    for server in [&kv, &redis] {
        for flags in [&[][..], &["--no-raw"][..]] {
            let ours = run_cases(&kv_cli, server.port(), flags);
            let theirs = run_cases(&redis_cli, server.port(), flags);
            for ((line, a), b) in CASES.iter().zip(&ours).zip(&theirs) {
                let ctx = format!("port {} {flags:?} `{line}`", server.port());
                assert!(a.status.success(), "{ctx}: kv-cli failed: {a:?}");
                assert!(b.status.success(), "{ctx}: redis-cli failed: {b:?}");
                assert!(
                    a.stdout == b.stdout,
                    "{ctx}: {}",
                    diff(&a.stdout, &b.stdout)
                );
                assert!(!a.stdout.is_empty(), "{ctx}: no output");
            }
        }
    }
}

#[test]
fn kv_cli_prints_as_redis_cli_reading_stdin() {
    let kv_cli = kv_cli_bin();
    let redis_cli = support::require_tool("redis-cli");
    let kv = support::server(Kind::Kv);
    let redis = support::server(Kind::Redis);
    let mut input = Vec::new();
    for line in CASES.iter().chain(STDIN_ONLY) {
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    let mut seen: Vec<(&[&str], Vec<u8>)> = Vec::new();
    for server in [&kv, &redis] {
        for flags in [&[][..], &["--no-raw"][..]] {
            let p = server.port();
            reset(p);
            let a = run(&kv_cli, p, flags, &[], &input);
            reset(p);
            let b = run(&redis_cli, p, flags, &[], &input);
            let ctx = format!("port {p} {flags:?}");
            assert!(a.status.success(), "{ctx}: kv-cli failed: {a:?}");
            assert!(b.status.success(), "{ctx}: redis-cli failed: {b:?}");
            assert!(
                a.stdout == b.stdout,
                "{ctx}: {}",
                diff(&a.stdout, &b.stdout)
            );
            // Everything ran: the 1 MiB value came back, the transaction's error is there,
            // and nothing after `quit` did.
            assert!(a.stdout.len() > 1024 * 1024, "{ctx}");
            let text = String::from_utf8_lossy(&a.stdout);
            assert!(text.contains("Invalid argument(s)"), "{ctx}");
            assert!(text.contains("WRONGTYPE"), "{ctx}");
            assert!(!text.ends_with("PONG\n"), "{ctx}");
            // And kv_server answered these commands as redis-server did.
            match seen.iter().find(|(f, _)| *f == flags) {
                Some((_, redis_side)) => assert!(
                    *redis_side == a.stdout,
                    "{ctx}: kv_server vs redis-server: {}",
                    diff(&a.stdout, redis_side)
                ),
                None => seen.push((flags, a.stdout.clone())),
            }
        }
    }
}

#[test]
fn kv_cli_fake_tty_select_and_timing_line() {
    let kv_cli = kv_cli_bin();
    let kv = support::server(Kind::Kv);
    let p = kv.port().to_string();
    let faketty = Command::new(&kv_cli)
        .args(["-p", &p, "GET", "missing"])
        .env("FAKETTY", "1")
        .output()
        .expect("run kv-cli");
    assert_eq!(faketty.stdout, b"(nil)\n");
    let mut c = kv.raw();
    assert_eq!(c.call(&["SELECT", "3"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "in3", "yes"]), b"+OK\r\n");
    let out = Command::new(&kv_cli)
        .args(["-p", &p, "-n", "3", "GET", "in3"])
        .output()
        .expect("run kv-cli");
    assert_eq!(out.stdout, b"yes\n", "{out:?}");
    // Reading standard input in the human format, a slow line is followed by its time, as
    // redis-cli's prompt loop prints it (not compared byte for byte: the time varies).
    let out = run(
        &kv_cli,
        kv.port(),
        &["--no-raw"],
        &[],
        b"BLPOP nope 0.6\nPING\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let time = text
        .strip_prefix("(nil)\n(")
        .and_then(|t| t.strip_suffix("s)\nPONG\n"))
        .and_then(|t| t.parse::<f64>().ok());
    assert!(matches!(time, Some(t) if (0.5..5.0).contains(&t)), "{text}");
}

#[test]
fn kv_cli_connection_failure_as_redis_cli() {
    let kv_cli = kv_cli_bin();
    let redis_cli = support::require_tool("redis-cli");
    // A port nothing listens on: taken from the range, then released.
    let port = support::free_port();
    for args in [vec![b"PING".to_vec()], vec![]] {
        let a = run(&kv_cli, port, &[], &args, b"PING\n");
        assert_eq!(a.status.code(), Some(1), "{a:?}");
        assert!(a.stdout.is_empty(), "{a:?}");
        assert_eq!(
            String::from_utf8_lossy(&a.stderr),
            format!("Could not connect to Redis at 127.0.0.1:{port}: Connection refused\n")
        );
    }
    let b = run(&redis_cli, port, &[], &[b"PING".to_vec()], b"");
    assert_eq!(b.status.code(), Some(1), "{b:?}");
    let a = run(&kv_cli, port, &[], &[b"PING".to_vec()], b"");
    assert_eq!(a.stderr, b.stderr);
}

/// A fake server on a free port: answers each of `conns` connections' first read with
/// `reply`, then waits for the client to close.
fn fake_server(reply: Vec<u8>, conns: usize) -> (u16, std::thread::JoinHandle<()>) {
    let port = support::free_port();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind fake server");
    let handle = std::thread::spawn(move || {
        for _ in 0..conns {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut s, &mut buf);
            let _ = s.write_all(&reply);
            while matches!(std::io::Read::read(&mut s, &mut buf), Ok(n) if n > 0) {}
        }
    });
    (port, handle)
}

#[test]
fn kv_cli_protocol_errors() {
    let kv_cli = kv_cli_bin();
    let redis_cli = support::require_tool("redis-cli");
    // Not RESP at all: the same message as redis-cli (hiredis's wording), exit status 1.
    let (port, server) = fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), 2);
    let a = run(&kv_cli, port, &[], &[b"PING".to_vec()], b"");
    let b = run(&redis_cli, port, &[], &[b"PING".to_vec()], b"");
    server.join().expect("fake server");
    assert_eq!(a.status.code(), Some(1), "{a:?}");
    assert_eq!(b.status.code(), Some(1), "{b:?}");
    assert_eq!(
        String::from_utf8_lossy(&a.stderr),
        "Error: Protocol error, got \"H\" as reply type byte\n"
    );
    assert_eq!(a.stderr, b.stderr);
    // A status line with no end in sight: given up past the line limit (1 MiB), not
    // buffered without end.
    let mut endless = vec![b'+'];
    endless.resize(3 * 1024 * 1024, b'x');
    let (port, server) = fake_server(endless, 1);
    let a = run(&kv_cli, port, &[], &[b"PING".to_vec()], b"");
    server.join().expect("fake server");
    assert_eq!(a.status.code(), Some(1), "{a:?}");
    assert_eq!(
        String::from_utf8_lossy(&a.stderr),
        "Error: Protocol error: line too long\n"
    );
    // A bulk string over 512 MiB is refused at its header.
    let (port, server) = fake_server(b"$536870913\r\n".to_vec(), 1);
    let a = run(&kv_cli, port, &[], &[b"PING".to_vec()], b"");
    server.join().expect("fake server");
    assert_eq!(
        String::from_utf8_lossy(&a.stderr),
        "Error: Bulk string length out of range\n"
    );
}

/// Runs `tool -p port [flags] args` (a command that keeps printing), calls `publish` once
/// `ready` says the server serves the tool, reads the output until it ends with `end` (10 s
/// at most), then kills the tool.
fn streamed(
    tool: &PathBuf,
    port: u16,
    flags: &[&str],
    args: &[&str],
    ready: &dyn Fn(&mut support::Raw) -> bool,
    publish: &dyn Fn(),
    end: &[u8],
) -> Vec<u8> {
    use std::io::Read;
    // The tool of the previous call, killed, stays subscribed until the server notices:
    // wait until `ready` no longer holds, so that when it holds it is this tool's doing.
    let mut c = support::Raw::connect(port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ready(&mut c) {
        assert!(
            std::time::Instant::now() < deadline,
            "the previous tool is still served"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut child = support::Child2(
        Command::new(tool)
            .args(["-p", &port.to_string()])
            .args(flags)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let mut stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ready(&mut c) {
        assert!(
            std::time::Instant::now() < deadline,
            "{} not ready",
            tool.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    publish();
    let mut out = Vec::new();
    while !out.ends_with(end) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(part) => out.extend_from_slice(&part),
            Err(_) => panic!(
                "{}: no {end:?} in {:?}",
                tool.display(),
                String::from_utf8_lossy(&out)
            ),
        }
    }
    out
}

#[test]
fn kv_cli_subscribe_prints_messages_as_redis_cli() {
    let kv_cli = kv_cli_bin();
    let redis_cli = support::require_tool("redis-cli");
    let kv = support::server(Kind::Kv);
    let redis = support::server(Kind::Redis);
    for server in [&kv, &redis] {
        let port = server.port();
        let publish = || {
            let mut c = support::Raw::connect(port);
            for m in [&b"hello"[..], b"a\nb", b"\xff\x00", b"", b"END"] {
                assert_eq!(c.call(&[&b"PUBLISH"[..], b"ch", m]), b":1\r\n");
            }
        };
        for (flags, end) in [
            (&[][..], &b"\nEND\n"[..]),
            (&["--no-raw"][..], b"\"END\"\n"),
        ] {
            let args = ["SUBSCRIBE", "ch", "other"];
            let ready = |c: &mut support::Raw| {
                c.call(&["PUBSUB", "NUMSUB", "ch"]) == b"*2\r\n$2\r\nch\r\n:1\r\n"
            };
            let a = streamed(&kv_cli, port, flags, &args, &ready, &publish, end);
            let b = streamed(&redis_cli, port, flags, &args, &ready, &publish, end);
            assert!(a == b, "port {port} {flags:?}: {}", diff(&a, &b));
            assert!(a.windows(5).any(|w| w == b"hello"), "{a:?}");
        }
    }
}

#[test]
fn kv_cli_monitor_prints_commands() {
    let kv_cli = kv_cli_bin();
    let kv = support::server(Kind::Kv);
    let port = kv.port();
    // MONITOR lines carry a time and an address: checked for what they must hold.
    let ready = |c: &mut support::Raw| {
        let list = c.call(&["CLIENT", "LIST"]);
        String::from_utf8_lossy(&list).contains(" cmd=monitor ")
    };
    let publish = || {
        let mut c = support::Raw::connect(port);
        assert_eq!(c.call(&["SET", "k", "v\n1"]), b"+OK\r\n");
        assert_eq!(c.call(&["ECHO", "END"]), b"$3\r\nEND\r\n");
    };
    let end = b"\"ECHO\" \"END\"\n";
    let out = streamed(&kv_cli, port, &[], &["MONITOR"], &ready, &publish, end);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("OK\n"), "{text}");
    assert!(text.contains(" \"SET\" \"k\" \"v\\n1\"\n"), "{text}");
}
