//! Test support: starting real `kv_server` and `redis-server` processes on free loopback
//! ports, and a raw RESP client for byte-exact checks.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Which server to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// mini-kv's `kv_server` (debug build of this workspace).
    Kv,
    /// The real `redis-server`, the oracle.
    Redis,
}

/// A running server; killed (by its own PID) when dropped.
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit by itself; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis crate connects")
    }

    /// A raw connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails with a clear message when a tool that `ci/test` installs is missing.
pub fn require_tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = PathBuf::from(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("`{name}` is not installed: run ci/test, which installs redis-server and redis-tools");
}

/// The `kv_server` binary: `$KV_SERVER_BIN`, or `target/debug/kv_server` next to this test
/// executable (built once with cargo if missing).
pub fn kv_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("KV_SERVER_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // target/debug/deps/e2e-HASH -> target/debug/kv_server
        let bin = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target dir")
            .join("kv_server");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let ok = Command::new(cargo)
                .args(["build", "-p", "kv-server", "--bin", "kv_server"])
                .status()
                .expect("run cargo build")
                .success();
            assert!(ok, "cargo build -p kv-server failed");
        }
        bin
    })
    .clone()
}

/// A free loopback port: from `KV_E2E_PORTS` (`LOW-HIGH`, for machines where tests must
/// keep to a range) when it is set, else one the system picks.
pub fn free_port() -> u16 {
    if let Some((lo, hi)) = std::env::var("KV_E2E_PORTS").ok().and_then(|r| {
        let (a, b) = r.split_once('-')?;
        Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?))
    }) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let span = u32::from(hi.saturating_sub(lo)) + 1;
        let start = std::process::id() + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for k in 0..span {
            let port = lo + ((start + k) % span) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
        panic!("no free port in KV_E2E_PORTS {lo}-{hi}");
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts a server of `kind` with default options.
pub fn server(kind: Kind) -> Server {
    start(kind, &[])
}

/// Starts a server of `kind` with extra options (`--name value` style, both servers take
/// it). Retries on another port if the first one was taken meanwhile.
pub fn start(kind: Kind, extra: &[&str]) -> Server {
    start_inner(kind, None, extra, None)
}

/// As [`start`], with the server's log (standard output and stderr) written to `log`.
pub fn start_logged(kind: Kind, extra: &[&str], log: &std::path::Path) -> Server {
    start_inner(kind, None, extra, Some(log))
}

/// As [`start`], with a config file as the first argument (as redis-server takes it).
pub fn start_with_file(kind: Kind, file: &std::path::Path, extra: &[&str]) -> Server {
    start_inner(kind, Some(file), extra, None)
}

/// Splits a reply that is an array of bulk strings into its elements.
pub fn bulk_elements(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut r = BufReader::new(reply);
    let mut line = Vec::new();
    let n = read_line(&mut r, &mut line).expect("array header");
    (0..n)
        .map(|_| {
            line.clear();
            let len = read_line(&mut r, &mut line).expect("bulk header");
            let mut buf = vec![0; len + 2];
            r.read_exact(&mut buf).expect("bulk");
            buf.truncate(len);
            buf
        })
        .collect()
}

/// Splits a reply that is an array of bulk strings and nils into its elements.
pub fn bulk_or_nil_elements(reply: &[u8]) -> Vec<Option<Vec<u8>>> {
    let mut r = BufReader::new(reply);
    let mut line = Vec::new();
    let n = read_line(&mut r, &mut line).expect("array header");
    (0..n)
        .map(|_| {
            line.clear();
            let len = read_line(&mut r, &mut line).expect("bulk header");
            if line.starts_with(b"$-1") {
                return None;
            }
            let mut buf = vec![0; len + 2];
            r.read_exact(&mut buf).expect("bulk");
            buf.truncate(len);
            Some(buf)
        })
        .collect()
}

fn start_inner(
    kind: Kind,
    file: Option<&std::path::Path>,
    extra: &[&str],
    log: Option<&std::path::Path>,
) -> Server {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = match kind {
            Kind::Kv => {
                let mut c = Command::new(kv_bin());
                c.args(file);
                c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
                c.args(["--workers", "2", "--loglevel", "warning"]);
                // No snapshots unless a test asks (its `extra` come later and win), and
                // any file goes to a scratch folder, never into the repository.
                c.args(["--save", ""]);
                let dir = std::env::temp_dir().join(format!("kv-e2e-kv-{}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("scratch dir for kv_server");
                c.arg("--dir").arg(&dir).current_dir(&dir);
                c
            }
            Kind::Redis => {
                let mut c = Command::new(require_tool("redis-server"));
                c.args(file);
                c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
                c.args(["--save", "", "--appendonly", "no", "--daemonize", "no"]);
                // Whatever it might write (dump.rdb, appendonlydir/) goes to a scratch
                // folder, never into the repository.
                let dir = std::env::temp_dir().join(format!("kv-e2e-redis-{}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("scratch dir for redis-server");
                c.arg("--dir").arg(&dir).current_dir(&dir);
                c.args(["--loglevel", "warning"]);
                c
            }
        };
        // The log goes to standard output (kv_server's as Redis's), errors before it starts
        // to stderr: both into the file.
        let (stdout, stderr) = match log {
            Some(path) => {
                let f = std::fs::File::create(path).expect("log file");
                let g = f.try_clone().expect("log file");
                (Stdio::from(f), Stdio::from(g))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        cmd.args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawn server");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // exited: the port was probably taken; try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Another test's server may have taken the port first: ours then fails to
                // bind and exits, so make sure it is still running.
                std::thread::sleep(Duration::from_millis(50));
                if let Ok(None) = child.try_wait() {
                    return Server { child, port };
                }
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{kind:?} did not listen on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("could not start {kind:?} after 5 attempts");
}

/// Encodes a command as a RESP multibulk request.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_line(r: &mut impl BufRead, out: &mut Vec<u8>) -> io::Result<usize> {
    let start = out.len();
    let n = r.read_until(b'\n', out)?;
    if n == 0 {
        return Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    if !out.ends_with(b"\r\n") {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            "reply line without CRLF",
        ));
    }
    std::str::from_utf8(&out[start + 1..out.len() - 2])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(Ok(0), |n| Ok(n.max(0) as usize))
}

/// Reads exactly one RESP2 reply (nested arrays included) and returns its raw bytes.
pub fn read_reply(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pending = 1usize;
    while pending > 0 {
        pending -= 1;
        let start = out.len();
        let n = read_line(r, &mut out)?;
        match out[start] {
            b'+' | b'-' | b':' => {}
            b'$' => {
                if out[start + 1] != b'-' {
                    let at = out.len();
                    out.resize(at + n + 2, 0);
                    r.read_exact(&mut out[at..])?;
                }
            }
            b'*' => pending += n,
            other => {
                return Err(io::Error::new(
                    ErrorKind::InvalidData,
                    format!("unexpected reply type byte {other:?}"),
                ))
            }
        }
    }
    Ok(out)
}

/// A raw TCP client for byte-exact checks.
pub struct Raw {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Raw {
    /// Connects to a loopback port.
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Raw {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            stream,
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads one reply.
    pub fn reply(&mut self) -> Vec<u8> {
        read_reply(&mut self.reader).expect("a reply")
    }

    /// Sends a command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(&encode_command(args));
        self.reply()
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.reader.read_exact(&mut buf).expect("read");
        buf
    }

    /// True when the server closes the connection within `within` (EOF or reset), reading
    /// and discarding anything that arrives first.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        self.stream.set_read_timeout(Some(within)).expect("timeout");
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }

    /// Waits until INFO reports `n` connected clients (the readiness probe's connection
    /// counts until the server has seen it close).
    pub fn wait_connected_clients(&mut self, n: usize) {
        let want = format!("connected_clients:{n}\r\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !String::from_utf8_lossy(&self.call(&["INFO", "clients"])).contains(&want) {
            assert!(
                Instant::now() < deadline,
                "connected_clients never reached {n}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// True when nothing arrives for `quiet` and the connection stays open.
    pub fn silent_for(&mut self, quiet: Duration) -> bool {
        self.stream.set_read_timeout(Some(quiet)).expect("timeout");
        let mut buf = [0u8; 1];
        let r = self.reader.read(&mut buf);
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        matches!(r, Err(ref e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut)
    }
}

/// xorshift64*: deterministic pseudo-random numbers for seeded tests.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One element of `v`.
    pub fn pick<T: Clone>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize].clone()
    }
}

/// A binary of the `kv-examples` package (`target/debug/<name>`), which ci/test builds
/// before the tests (`cargo build -p kv-examples`); fails with a clear message if missing.
pub fn example_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p kv-examples` (ci/test does)",
        bin.display()
    );
    bin
}

/// A process started by a test, killed (by its own PID) when dropped.
pub struct Child2(pub Child);

impl Drop for Child2 {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts connections on `port` (at most `within`).
pub fn wait_listening(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
