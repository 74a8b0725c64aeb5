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
    let list = cli(p, &["CLIENT", "LIST"]);
    assert!(
        list.starts_with("id=") && list.contains(" cmd=client|list "),
        "{list}"
    );
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

/// The virtual environment `ci/test` creates with redis-py from PyPI.
pub(crate) fn python() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("KV_TEST_PYTHON") {
        return p.into();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let py = root.join("target/pyenv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run ci/test, which creates it with redis-py from PyPI",
        py.display()
    );
    py
}

#[test]
fn python_client_smoke() {
    let kv = support::server(Kind::Kv);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/smoke.py");
    let out = Command::new(python())
        .arg(script)
        .arg(kv.port().to_string())
        .output()
        .expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("python smoke: ok"), "{text}");
}

#[test]
fn redis_cli_shows_argument_hints_interactively() {
    let kv = support::server(Kind::Kv);
    let tmux = support::require_tool("tmux");
    let session = format!("kv-hints-{}", kv.port());
    let cli = support::require_tool("redis-cli");
    let run = |args: &[&str]| Command::new(&tmux).args(args).output().expect("run tmux");
    let started = run(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "10",
        &format!("{} -p {}", cli.display(), kv.port()),
    ]);
    assert!(started.status.success(), "{started:?}");
    let screen = || {
        String::from_utf8_lossy(&run(&["capture-pane", "-p", "-t", &session]).stdout).into_owned()
    };
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let s = screen();
            if s.contains(needle) || std::time::Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let prompt = format!("127.0.0.1:{}>", kv.port());
    let s = wait_for(&prompt);
    assert!(s.contains(&prompt), "{s}");
    run(&["send-keys", "-t", &session, "SET "]);
    let s = wait_for("key value [NX|XX]");
    run(&["kill-session", "-t", &session]);
    assert!(
        s.contains("SET key value [NX|XX]"),
        "no hint on screen:\n{s}"
    );
}

/// The listen backlog of the socket listening on `port`, as `ss` reports it (Send-Q of a
/// listening socket).
fn listen_backlog(port: u16) -> usize {
    let out = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("run ss (iproute2; ci/test installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let cols: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(cols.first(), Some(&"LISTEN"), "ss: {text}");
    cols[2].parse().expect("Send-Q")
}

fn somaxconn() -> usize {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .expect("somaxconn")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn tcp_backlog_is_511_by_default_and_a_burst_of_2000_connects_completes() {
    let kv = support::start(Kind::Kv, &[]);
    let mut c = kv.raw();
    assert_eq!(
        support::bulk_elements(&c.call(&["CONFIG", "GET", "tcp-backlog"])),
        vec![b"tcp-backlog".to_vec(), b"511".to_vec()]
    );
    assert_eq!(
        c.call(&["CONFIG", "SET", "tcp-backlog", "100"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'tcp-backlog') - can't set immutable config\r\n"
    );
    assert_eq!(listen_backlog(kv.port()), 511.min(somaxconn()));
    // 2,000 connects from 8 threads at once, all kept open, then each answers PING.
    let port = kv.port();
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                (0..250)
                    .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let conns: Vec<std::net::TcpStream> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("connector"))
        .collect();
    let took = started.elapsed();
    assert_eq!(conns.len(), 2000);
    for mut s in conns {
        use std::io::{Read, Write};
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+PONG\r\n");
    }
    eprintln!("2,000 connects in a burst: {took:?}");
}

#[test]
fn tcp_backlog_option_sets_the_listen_backlog_and_warns_above_somaxconn() {
    let kv = support::start(Kind::Kv, &["--tcp-backlog", "64"]);
    assert_eq!(listen_backlog(kv.port()), 64);
    drop(kv);
    let log = std::env::temp_dir().join(format!("kv-e2e-backlog-{}.log", std::process::id()));
    let big = (somaxconn() + 1).to_string();
    let kv = support::start_logged(Kind::Kv, &["--tcp-backlog", &big], &log);
    assert_eq!(listen_backlog(kv.port()), somaxconn());
    drop(kv);
    let text = std::fs::read_to_string(&log).expect("log");
    let _ = std::fs::remove_file(&log);
    let want = format!(
        "# WARNING: The TCP backlog setting of {big} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {}.",
        somaxconn()
    );
    assert!(text.contains(&want), "{text}");
}
