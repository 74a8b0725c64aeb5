//! The append-only file end to end, with redis-server 7.0.15 and redis-check-aof as the
//! oracle: kill -9 under `appendfsync always` loses no acknowledged write and doubles
//! nothing; under `everysec` at most about a second; AOF directories move between
//! kv_server and redis-server both ways (RDB preamble or not, a rewrite in the middle);
//! a cut last command loads (or is refused with `aof-load-truncated no`), garbage and an
//! unfinished MULTI are handled as Redis; BGREWRITEAOF under load loses nothing;
//! `appendonly` turned on and off at run time; INFO's aof fields and BGREWRITEAOF's
//! replies as Redis's.

use crate::persist::{content, kv_in, s, scratch, wait_info};
use crate::support::{self, bulk_elements, Kind, Raw, Rng, Server};
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers

/// The AOF folder of a data directory.
fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

fn manifest(dir: &Path) -> PathBuf {
    aof_dir(dir).join("appendonly.aof.manifest")
}

/// The file names the manifest lists, with their type letter, in order.
fn manifest_files(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest(dir)).expect("manifest");
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let name = w.get(1)?.to_string();
            let ty = w
                .iter()
                .position(|x| *x == "type")
                .and_then(|i| w.get(i + 1))?;
            Some((name, ty.to_string()))
        })
        .collect()
}

/// The last incremental file the manifest names.
fn last_incr(dir: &Path) -> PathBuf {
    let (name, _) = manifest_files(dir)
        .into_iter()
        .rfind(|(_, t)| t == "i")
        .expect("an incr file in the manifest");
    aof_dir(dir).join(name)
}

/// kv_server with AOF on in `dir`, waiting until it has loaded.
fn kv_aof(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--appendonly", "yes"];
    args.extend_from_slice(extra);
    kv_in(dir, &args)
}

/// redis-server with AOF on in `dir` (`appendfsync always` unless `extra` says).
fn redis_aof(dir: &Path, extra: &[&str]) -> Server {
    let d = s(dir);
    let mut args = vec![
        "--dir",
        d.as_str(),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    args.extend_from_slice(extra);
    let r = support::start(Kind::Redis, &args);
    wait_info(&mut r.raw(), "loading", "0", Duration::from_secs(30));
    r
}

fn signal(server: &Server, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &server.pid().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} {}", server.pid());
}

/// kill -9, and wait until it is gone.
fn kill9(mut server: Server) {
    signal(&server, "-9");
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
}

/// SIGTERM, and wait for a clean exit.
fn term(mut server: Server) {
    signal(&server, "-TERM");
    let status = server.wait_exit(Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "exit status {status}");
}

/// An INFO persistence field.
fn info_field(r: &mut Raw, field: &str) -> String {
    let info = String::from_utf8_lossy(&r.call(&["INFO", "persistence"])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

/// Waits until no rewrite runs or is scheduled, and the last one succeeded.
fn wait_rewrite_done(r: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(r, "aof_rewrite_in_progress") != "0"
        || info_field(r, "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "BGREWRITEAOF did not finish");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(info_field(r, "aof_last_bgrewrite_status"), "ok");
}

/// redis-check-aof on a directory's manifest: (exit success, its output).
fn check_aof(dir: &Path) -> (bool, String) {
    let out = Command::new(support::require_tool("redis-check-aof"))
        .arg(manifest(dir))
        .stdin(Stdio::null())
        .output()
        .expect("redis-check-aof runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn assert_check_aof(dir: &Path) {
    let (ok, text) = check_aof(dir);
    assert!(
        ok && text.contains("All AOF files and manifest are valid"),
        "redis-check-aof {}: {text}",
        dir.display()
    );
}

/// Copies a data directory's AOF folder into a fresh scratch directory.
fn copy_aof(from: &Path, name: &str) -> PathBuf {
    let to = scratch(name);
    let (src, dst) = (aof_dir(from), aof_dir(&to));
    std::fs::create_dir_all(&dst).expect("aof dir");
    for e in std::fs::read_dir(&src).expect("read aof dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dst.join(e.file_name())).expect("copy");
    }
    to
}

/// Asserts two `content` listings are equal, showing only the lines that differ.
#[track_caller]
fn assert_same(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let short = |l: &String| l.chars().take(300).collect::<String>();
    let only_got: Vec<String> = got
        .iter()
        .filter(|l| !want.contains(l))
        .map(short)
        .collect();
    let only_want: Vec<String> = want
        .iter()
        .filter(|l| !got.contains(l))
        .map(short)
        .collect();
    panic!(
        "{what}: {} lines vs {} expected\nonly here: {only_got:#?}\nmissing: {only_want:#?}",
        got.len(),
        want.len()
    );
}

/// Every key's absolute expiry (PEXPIRETIME), for keys that have one.
fn expire_times(port: u16) -> Vec<String> {
    let mut r = Raw::connect(port);
    let mut out = Vec::new();
    for db in 0..16 {
        assert_eq!(r.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
        let mut keys = bulk_elements(&r.call(&["KEYS", "*"]));
        keys.sort();
        for k in keys {
            let t = r.call(&[b"PEXPIRETIME".as_slice(), &k]);
            if t != b":-1\r\n" {
                out.push(format!(
                    "{db} {:?} {}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&t).trim()
                ));
            }
        }
    }
    out
}

/// Starts kv_server expecting it to exit by itself (it refuses its files): its exit
/// status and log.
fn kv_refuses(dir: &Path, extra: &[&str]) -> (std::process::ExitStatus, String) {
    let log = dir.join("refused.log");
    let port = support::free_port().to_string();
    let log_file = std::fs::File::create(&log).expect("log");
    let mut child = Command::new(support::kv_bin())
        .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
        .args(["--loglevel", "notice", "--appendonly", "yes"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
        // The log goes to standard output (as Redis's); errors before it starts to stderr.
        .stdout(Stdio::from(log_file.try_clone().expect("log")))
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("spawn kv_server");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kv_server kept running on files it should refuse: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// Writers that record what was acknowledged (tests 1, 2)

/// A client that reports a dead connection instead of panicking.
struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> io::Result<Client> {
        let w = TcpStream::connect(("127.0.0.1", port))?;
        w.set_nodelay(true)?;
        w.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Client {
            r: BufReader::new(w.try_clone()?),
            w,
        })
    }

    fn call(&mut self, args: &[&str]) -> io::Result<Vec<u8>> {
        self.w.write_all(&support::encode_command(args))?;
        support::read_reply(&mut self.r)
    }
}

/// One writer's history: for index i, the four writes SET k:t:i, INCR counter:t,
/// RPUSH list:t i, ZADD z:t i m<i>, each sent once, in that order.
#[derive(Default)]
struct History {
    t: usize,
    /// Writes sent for each index (0..=4).
    sent: Vec<u8>,
    /// When each write was acknowledged (None: not acknowledged).
    acked: Vec<[Option<Instant>; 4]>,
    /// INCR's reply for each index whose INCR was acknowledged.
    incr_reply: Vec<Option<i64>>,
}

impl History {
    /// Writes until the connection dies or `stop`; returns self.
    fn run(mut self, port: u16, stop: Arc<AtomicBool>) -> History {
        let Ok(mut c) = Client::connect(port) else {
            return self;
        };
        let t = self.t;
        let (counter, list, z) = (
            format!("counter:{t}"),
            format!("list:{t}"),
            format!("z:{t}"),
        );
        while !stop.load(Ordering::Relaxed) {
            let i = self.sent.len();
            self.sent.push(0);
            self.acked.push([None; 4]);
            self.incr_reply.push(None);
            let is = i.to_string();
            let (k, m) = (format!("k:{t}:{i}"), format!("m{i}"));
            let cmds: [Vec<&str>; 4] = [
                vec!["SET", &k, &is],
                vec!["INCR", &counter],
                vec!["RPUSH", &list, &is],
                vec!["ZADD", &z, &is, &m],
            ];
            for (stage, cmd) in cmds.iter().enumerate() {
                self.sent[i] += 1;
                let Ok(reply) = c.call(cmd) else {
                    return self;
                };
                assert!(!reply.starts_with(b"-"), "{cmd:?}: {reply:?}");
                self.acked[i][stage] = Some(Instant::now());
                if stage == 1 {
                    let v = String::from_utf8_lossy(&reply[1..reply.len() - 2])
                        .parse()
                        .expect("INCR reply");
                    self.incr_reply[i] = Some(v);
                }
            }
        }
        self
    }

    /// Checks the server's data against the history. A write acknowledged before
    /// `required_before` (all acknowledged ones when `None`) must be there; nothing not
    /// sent may be; nothing twice. Returns how many acknowledged writes are missing.
    fn check(&self, r: &mut Raw, required_before: Option<Instant>) -> usize {
        let t = self.t;
        let required = |i: usize, stage: usize| match (self.acked[i][stage], required_before) {
            (Some(at), Some(b)) => at < b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let acked = |i: usize, stage: usize| self.acked[i][stage].is_some();
        let sent = |i: usize, stage: usize| usize::from(self.sent[i]) > stage;
        let n = self.sent.len();
        let mut missing = 0;

        // SET k:t:i i
        for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
            let mut args = vec!["MGET".to_string()];
            args.extend(chunk.iter().map(|i| format!("k:{t}:{i}")));
            let vals = support::bulk_or_nil_elements(&r.call(&args));
            for (&i, v) in chunk.iter().zip(vals) {
                match v {
                    Some(v) => {
                        assert!(sent(i, 0), "k:{t}:{i} present but never sent");
                        assert_eq!(v, i.to_string().into_bytes(), "k:{t}:{i}");
                    }
                    None => {
                        assert!(
                            !required(i, 0),
                            "thread {t}: acknowledged SET k:{t}:{i} lost"
                        );
                        missing += usize::from(acked(i, 0));
                    }
                }
            }
        }

        // INCR counter:t: at least the last required reply, at most the INCRs sent.
        let c = r.call(&["GET", &format!("counter:{t}")]);
        let c: i64 = if c == b"$-1\r\n" {
            0
        } else {
            let v = bulk_or_value(&c);
            v.parse().expect("counter")
        };
        let incr_sent = (0..n).filter(|&i| sent(i, 1)).count() as i64;
        assert!(
            c <= incr_sent,
            "thread {t}: counter {c} > {incr_sent} INCRs sent"
        );
        let need = (0..n)
            .filter(|&i| required(i, 1))
            .filter_map(|i| self.incr_reply[i])
            .max()
            .unwrap_or(0);
        assert!(
            c >= need,
            "thread {t}: counter {c} < {need}, an acknowledged INCR's reply"
        );
        let acked_max = (0..n).filter_map(|i| self.incr_reply[i]).max().unwrap_or(0);
        missing += usize::try_from(acked_max - c).unwrap_or(0);

        // RPUSH list:t i: strictly increasing (in order, nothing twice), sent ones only.
        let l = bulk_elements(&r.call(&["LRANGE", &format!("list:{t}"), "0", "-1"]));
        let l: Vec<usize> = l
            .iter()
            .map(|e| String::from_utf8_lossy(e).parse().expect("index"))
            .collect();
        for w in l.windows(2) {
            assert!(
                w[0] < w[1],
                "thread {t}: list:{t} out of order or doubled: {w:?}"
            );
        }
        for &i in &l {
            assert!(
                i < n && sent(i, 2),
                "thread {t}: {i} in list:{t} never pushed"
            );
        }
        for i in 0..n {
            if acked(i, 2) && l.binary_search(&i).is_err() {
                assert!(!required(i, 2), "thread {t}: acknowledged RPUSH {i} lost");
                missing += 1;
            }
        }

        // ZADD z:t i m<i>
        let zr = bulk_elements(&r.call(&["ZRANGE", &format!("z:{t}"), "0", "-1", "WITHSCORES"]));
        let mut members = Vec::new();
        for p in zr.chunks(2) {
            let m = String::from_utf8_lossy(&p[0]).into_owned();
            let i: usize = m[1..].parse().expect("member");
            assert_eq!(
                String::from_utf8_lossy(&p[1]),
                i.to_string(),
                "score of {m}"
            );
            assert!(i < n && sent(i, 3), "thread {t}: {m} in z:{t} never added");
            members.push(i);
        }
        members.sort_unstable();
        for i in 0..n {
            if acked(i, 3) && members.binary_search(&i).is_err() {
                assert!(!required(i, 3), "thread {t}: acknowledged ZADD m{i} lost");
                missing += 1;
            }
        }
        missing
    }

    fn acked_writes(&self) -> usize {
        self.acked.iter().flatten().filter(|a| a.is_some()).count()
    }
}

fn bulk_or_value(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    text.lines().nth(1).unwrap_or_default().to_string()
}

/// Runs the writers against `port` until the server dies (they stop on a dead
/// connection) or `stop` is set.
fn run_writers(
    port: u16,
    hist: Vec<History>,
    stop: &Arc<AtomicBool>,
) -> Vec<thread::JoinHandle<History>> {
    hist.into_iter()
        .map(|h| {
            let stop = Arc::clone(stop);
            thread::spawn(move || h.run(port, stop))
        })
        .collect()
}

const WRITERS: usize = 8;

fn fresh_histories() -> Vec<History> {
    (0..WRITERS)
        .map(|t| History {
            t,
            ..History::default()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. kill -9 under appendfsync always

#[test]
fn kill_9_under_appendfsync_always_loses_no_acknowledged_write() {
    const KILLS: usize = 24;
    let dir = scratch("aof-crash-always");
    let opts = ["--appendfsync", "always", "--workers", "4"];
    let mut rng = Rng(0xA0F_C4A5);
    let mut hist = fresh_histories();
    let mut check_outcomes: Vec<String> = Vec::new();
    let started = Instant::now();
    for kill in 0..=KILLS {
        let kv = kv_aof(&dir, &opts);
        let mut r = kv.raw();
        for h in &hist {
            let missing = h.check(&mut r, None);
            assert_eq!(missing, 0, "after kill {kill}");
        }
        if kill == KILLS {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handles = run_writers(kv.port(), hist, &stop);
        thread::sleep(Duration::from_millis(100 + rng.below(300)));
        kill9(kv);
        hist = handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect();
        let (ok, text) = check_aof(&dir);
        let verdict = if ok {
            "valid".to_string()
        } else {
            text.lines()
                .filter(|l| !l.starts_with('[') && !l.is_empty())
                .collect::<Vec<_>>()
                .join(" / ")
        };
        check_outcomes.push(verdict);
    }
    let acked: usize = hist.iter().map(History::acked_writes).sum();
    let valid = check_outcomes.iter().filter(|v| *v == "valid").count();
    eprintln!(
        "aof crash (always): {KILLS} kills, {acked} acknowledged writes, {:.1} s; \
         redis-check-aof after each kill: {valid} valid, others: {:?}",
        started.elapsed().as_secs_f64(),
        check_outcomes
            .iter()
            .filter(|v| *v != "valid")
            .collect::<Vec<_>>()
    );
    assert!(acked > 1000, "only {acked} writes acknowledged");
    // The final directory: what kv_server left after loading (a cut command truncated).
    assert_check_aof(&dir);
    // Anything redis-check-aof did not accept right after a kill must be a cut last
    // command (what aof-load-truncated is for), nothing else.
    for v in &check_outcomes {
        assert!(
            v == "valid" || v.contains("truncated") || v.contains("not valid"),
            "{v}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. kill -9 under appendfsync everysec

#[test]
fn kill_9_under_everysec_loses_at_most_about_a_second() {
    let dir = scratch("aof-crash-everysec");
    let opts = ["--appendfsync", "everysec", "--workers", "4"];
    let kv = kv_aof(&dir, &opts);
    let stop = Arc::new(AtomicBool::new(false));
    let handles = run_writers(kv.port(), fresh_histories(), &stop);
    thread::sleep(Duration::from_millis(2500));
    let killed_at = Instant::now();
    kill9(kv);
    let hist: Vec<History> = handles
        .into_iter()
        .map(|h| h.join().expect("writer"))
        .collect();
    let kv = kv_aof(&dir, &opts);
    let mut r = kv.raw();
    let window = Duration::from_millis(1500);
    let before = killed_at - window;
    // How far behind the file was: the oldest acknowledged SET that is missing.
    let mut oldest_lost: Option<Duration> = None;
    for h in &hist {
        for (i, a) in h.acked.iter().enumerate() {
            if let Some(at) = a[0] {
                if r.call(&["EXISTS", &format!("k:{}:{i}", h.t)]) == b":0\r\n" {
                    let age = killed_at - at;
                    oldest_lost = Some(oldest_lost.map_or(age, |o| o.max(age)));
                }
            }
        }
    }
    eprintln!(
        "aof crash (everysec): oldest acknowledged SET lost: {oldest_lost:?} before the kill"
    );
    let missing: usize = hist.iter().map(|h| h.check(&mut r, Some(before))).sum();
    let acked: usize = hist.iter().map(History::acked_writes).sum();
    let recent: usize = hist
        .iter()
        .flat_map(|h| h.acked.iter().flatten())
        .filter(|a| a.is_some_and(|at| at >= before))
        .count();
    eprintln!(
        "aof crash (everysec): {acked} acknowledged writes, {recent} in the last 1.5 s, \
         {missing} acknowledged writes lost"
    );
    assert!(acked > 500, "only {acked} writes acknowledged");
}

// ---------------------------------------------------------------------------------------
// 3. Interchange with redis-server

/// Every type, several databases, absolute TTLs, a transaction, renames, moves, deletes.
/// `round` keeps the key names of two calls apart.
fn interchange_writes(r: &mut Raw, round: &str) {
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
    let k = |s: &str| format!("{round}:{s}").into_bytes();
    let at = b"4102444800123"; // 2100-01-01, absolute
    ok(&[b"SELECT", b"0"]);
    ok(&[b"SET", &k("s"), b"hello world"]);
    ok(&[b"SET", &k("int"), b"12345"]);
    ok(&[b"SET", &k("empty"), b""]);
    ok(&[b"SET", &k("bin\0\r\n"), b"\x00\xff\r\n*1\r\n"]);
    ok(&[b"SET", &k("pxat"), b"v", b"PXAT", at]);
    ok(&[b"SET", &k("gone"), b"v"]);
    ok(&[b"DEL", &k("gone")]);
    ok(&[b"APPEND", &k("s"), b"!"]);
    ok(&[b"INCRBY", &k("int"), b"-45"]);
    ok(&[b"INCRBYFLOAT", &k("float"), b"1.5"]);
    ok(&[b"SETRANGE", &k("range"), b"5", b"xyz"]);
    ok(&[b"SETBIT", &k("bits"), b"77", b"1"]);
    ok(&[b"RPUSH", &k("l"), b"a", b"b", b"c", b"1", b"-2", b""]);
    ok(&[b"LPUSH", &k("l"), b"front"]);
    ok(&[b"LPOP", &k("l")]);
    ok(&[b"LSET", &k("l"), b"1", b"B"]);
    let items: Vec<Vec<u8>> = (0..300).map(|i| format!("e{i}").into_bytes()).collect();
    let mut args: Vec<&[u8]> = vec![b"RPUSH", b"", b""];
    let lk = k("lbig");
    args[1] = &lk;
    args.truncate(2);
    args.extend(items.iter().map(Vec::as_slice));
    ok(&args);
    ok(&[b"LMOVE", &k("lbig"), &k("l"), b"LEFT", b"RIGHT"]);
    ok(&[b"SADD", &k("si"), b"1", b"2", b"-5", b"4294967296"]);
    ok(&[b"SADD", &k("ss"), b"x", b"y z", b""]);
    ok(&[b"SREM", &k("ss"), b"x"]);
    let many: Vec<Vec<u8>> = (0..600)
        .map(|i| format!("{}", i * 7).into_bytes())
        .collect();
    let sk = k("sbig");
    let mut args: Vec<&[u8]> = vec![b"SADD", &sk];
    args.extend(many.iter().map(Vec::as_slice));
    ok(&args);
    ok(&[
        b"ZADD",
        &k("z"),
        b"1.5",
        b"a",
        b"-inf",
        b"b",
        b"0.1",
        b"c",
        b"inf",
        b"d",
    ]);
    ok(&[b"ZINCRBY", &k("z"), b"2", b"a"]);
    ok(&[b"ZREM", &k("z"), b"c"]);
    let zm: Vec<(Vec<u8>, Vec<u8>)> = (0..200)
        .map(|i| {
            (
                format!("{}", f64::from(i) * 1.25 - 30.0).into_bytes(),
                format!("member:{i}").into_bytes(),
            )
        })
        .collect();
    let zk = k("zbig");
    let mut args: Vec<&[u8]> = vec![b"ZADD", &zk];
    for (sc, m) in &zm {
        args.push(sc);
        args.push(m);
    }
    ok(&args);
    ok(&[b"ZPOPMIN", &k("zbig")]);
    ok(&[
        b"HSET",
        &k("h"),
        b"f",
        b"v",
        b"n",
        b"1",
        b"",
        b"empty field",
    ]);
    ok(&[b"HINCRBY", &k("h"), b"n", b"41"]);
    ok(&[b"HDEL", &k("h"), b"f"]);
    let fields: Vec<Vec<u8>> = (0..600)
        .map(|i| format!("field:{i}").into_bytes())
        .collect();
    let hk = k("hbig");
    let mut args: Vec<&[u8]> = vec![b"HSET", &hk];
    for f in &fields {
        args.push(f);
        args.push(f);
    }
    ok(&args);
    ok(&[b"PEXPIREAT", &k("hbig"), at]);
    ok(&[b"PEXPIREAT", &k("l"), at]);
    ok(&[b"PERSIST", &k("l")]);
    ok(&[b"RENAME", &k("si"), &k("si-renamed")]);
    ok(&[b"COPY", &k("z"), &k("z-copy")]);
    ok(&[b"MULTI"]);
    ok(&[b"INCR", &k("tx")]);
    ok(&[b"RPUSH", &k("l"), b"in-tx"]);
    ok(&[b"SET", &k("tx-str"), b"x", b"PXAT", at]);
    ok(&[b"EXEC"]);
    ok(&[b"MOVE", &k("int"), b"1"]);
    ok(&[b"SELECT", b"1"]);
    ok(&[b"SET", &k("db1"), b"one"]);
    ok(&[b"HSET", &k("db1h"), b"a", b"b"]);
    ok(&[b"SELECT", b"7"]);
    ok(&[b"SET", &k("flushed"), b"x"]);
    ok(&[b"FLUSHDB"]);
    ok(&[b"SET", &k("db7"), b"after flush"]);
    ok(&[b"SELECT", b"8"]);
    ok(&[b"SET", &k("swapped"), b"from 8"]);
    ok(&[b"SWAPDB", b"8", b"9"]);
    ok(&[b"SELECT", b"15"]);
    ok(&[b"SET", &k("db15"), b"fifteen", b"PXAT", at]);
    ok(&[b"SELECT", b"0"]);
}

/// kv_server writes with AOF on (a rewrite in the middle), stops; the directory passes
/// redis-check-aof and loads into redis-server and into kv_server with the same content.
fn ours_to_redis(name: &str, preamble: &str) {
    let dir = scratch(name);
    let opts = [
        "--appendfsync",
        "always",
        "--aof-use-rdb-preamble",
        preamble,
    ];
    let kv = kv_aof(&dir, &opts);
    let mut c = kv.raw();
    interchange_writes(&mut c, "before");
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    wait_rewrite_done(&mut c);
    interchange_writes(&mut c, "after");
    let want = content(kv.port());
    let want_ttl = expire_times(kv.port());
    assert!(want.len() > 40, "{want:?}");
    drop(c);
    term(kv);
    let files = manifest_files(&dir);
    let base = files.iter().find(|(_, t)| t == "b").expect("a base");
    assert_eq!(
        base.0.ends_with(".rdb"),
        preamble == "yes",
        "base file {}",
        base.0
    );
    assert_check_aof(&dir);
    let copy = copy_aof(&dir, &format!("{name}-redis"));
    let redis = redis_aof(&copy, &[]);
    assert_same(
        &content(redis.port()),
        &want,
        &format!("{name}: redis-server loaded ours"),
    );
    assert_same(
        &expire_times(redis.port()),
        &want_ttl,
        &format!("{name}: TTLs in redis"),
    );
    drop(redis);
    let kv = kv_aof(&dir, &opts);
    assert_same(
        &content(kv.port()),
        &want,
        &format!("{name}: kv_server reloaded"),
    );
    assert_same(
        &expire_times(kv.port()),
        &want_ttl,
        &format!("{name}: TTLs reloaded"),
    );
}

/// redis-server writes with AOF on (a rewrite in the middle), stops; kv_server loads it.
fn redis_to_ours(name: &str, preamble: &str) {
    let dir = scratch(name);
    let redis = redis_aof(&dir, &["--aof-use-rdb-preamble", preamble]);
    let mut c = redis.raw();
    interchange_writes(&mut c, "before");
    // Relative TTLs too: redis-server records them as absolute times.
    assert_eq!(c.call(&["SET", "rel:ex", "v", "EX", "100000"]), b"+OK\r\n");
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    wait_rewrite_done(&mut c);
    interchange_writes(&mut c, "after");
    assert_eq!(
        c.call(&["SET", "rel:px", "v", "PX", "90000000"]),
        b"+OK\r\n"
    );
    assert_eq!(c.call(&["RPUSH", "rel:l", "a"]), b":1\r\n");
    assert_eq!(c.call(&["EXPIRE", "rel:l", "100000"]), b":1\r\n");
    let want = content(redis.port());
    let want_ttl = expire_times(redis.port());
    drop(c);
    term(redis);
    let kv = kv_aof(&dir, &["--aof-use-rdb-preamble", preamble]);
    assert_same(
        &content(kv.port()),
        &want,
        &format!("{name}: kv_server loaded redis's"),
    );
    assert_same(
        &expire_times(kv.port()),
        &want_ttl,
        &format!("{name}: TTLs"),
    );
    // And kv_server goes on appending to redis-server's files: a write, a restart.
    assert_eq!(kv.raw().call(&["SET", "kv:added", "1"]), b"+OK\r\n");
    term(kv);
    assert_check_aof(&dir);
    let kv = kv_aof(&dir, &[]);
    assert_eq!(kv.raw().call(&["GET", "kv:added"]), b"$1\r\n1\r\n");
    assert_eq!(content(kv.port()).len(), want.len() + 1);
}

#[test]
fn aof_interchange_kv_to_redis_with_rdb_preamble() {
    ours_to_redis("aof-ours-preamble", "yes");
}

#[test]
fn aof_interchange_kv_to_redis_without_rdb_preamble() {
    ours_to_redis("aof-ours-plain", "no");
}

#[test]
fn aof_interchange_redis_to_kv_with_rdb_preamble() {
    redis_to_ours("aof-theirs-preamble", "yes");
}

#[test]
fn aof_interchange_redis_to_kv_without_rdb_preamble() {
    redis_to_ours("aof-theirs-plain", "no");
}

/// Relative TTLs (SET EX/PX, EXPIRE, PEXPIRE) written to kv_server's AOF come back
/// after a restart, in kv_server and in redis-server. Expected to pass once kv_server
/// records relative times as absolute ones (in progress elsewhere): today they are
/// recorded as sent and replay expired.
#[test]
fn aof_relative_ttls_survive_a_restart() {
    let dir = scratch("aof-relative-ttl");
    let kv = kv_aof(&dir, &["--appendfsync", "always"]);
    let mut c = kv.raw();
    crate::persist::build_dataset(&mut c);
    assert_eq!(c.call(&["EXPIRE", "s:raw", "100000"]), b":1\r\n");
    let want = content(kv.port());
    drop(c);
    term(kv);
    assert_check_aof(&dir);
    let copy = copy_aof(&dir, "aof-relative-ttl-redis");
    let redis = redis_aof(&copy, &[]);
    let in_redis = content(redis.port());
    drop(redis);
    let kv = kv_aof(&dir, &[]);
    assert_same(
        &content(kv.port()),
        &want,
        "kv_server reloaded relative TTLs",
    );
    assert_same(&in_redis, &want, "redis-server loaded relative TTLs");
}

/// SPOP picks at random: the AOF must record what it removed (Redis records SREM), so
/// that a replay, here or in redis-server, removes the same member.
#[test]
fn aof_spop_replays_the_member_it_removed() {
    let dir = scratch("aof-spop");
    let kv = kv_aof(&dir, &["--appendfsync", "always"]);
    let mut c = kv.raw();
    let members: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(members.iter().map(String::as_str));
    assert_eq!(c.call(&args), b":20\r\n");
    for _ in 0..5 {
        assert!(c.call(&["SPOP", "s"]).starts_with(b"$"));
    }
    assert!(c.call(&["SPOP", "s", "3"]).starts_with(b"*3"));
    let want = content(kv.port());
    drop(c);
    term(kv);
    let copy = copy_aof(&dir, "aof-spop-redis");
    let kv = kv_aof(&dir, &[]);
    assert_same(&content(kv.port()), &want, "kv_server replayed SPOP");
    drop(kv);
    let redis = redis_aof(&copy, &[]);
    assert_same(&content(redis.port()), &want, "redis-server replayed SPOP");
}

// ---------------------------------------------------------------------------------------
// 4. Truncated and corrupt files

/// A few commands in a fresh AOF directory, then a clean stop. Returns the directory and
/// the start offsets of the commands in the last incr file.
fn few_commands(name: &str) -> (PathBuf, Vec<usize>) {
    let dir = scratch(name);
    let kv = kv_aof(&dir, &["--appendfsync", "always"]);
    let mut c = kv.raw();
    for i in 0..5 {
        assert_eq!(
            c.call(&["SET", &format!("k{i}"), &format!("v{i}")]),
            b"+OK\r\n"
        );
    }
    assert_eq!(c.call(&["RPUSH", "last", "a", "b"]), b":2\r\n");
    drop(c);
    term(kv);
    let bytes = std::fs::read(last_incr(&dir)).expect("incr");
    let starts = command_starts(&bytes);
    (dir, starts)
}

/// Offsets where a command (`*N\r\n`) starts, for a file of plain multibulk commands.
fn command_starts(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert_eq!(bytes[at], b'*', "a command at {at}");
        out.push(at);
        let line_end = |from: usize| {
            from + bytes[from..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("CRLF")
        };
        let e = line_end(at);
        let n: usize = std::str::from_utf8(&bytes[at + 1..e])
            .expect("n")
            .parse()
            .expect("n");
        at = e + 2;
        for _ in 0..n {
            let e = line_end(at);
            let len: usize = std::str::from_utf8(&bytes[at + 1..e])
                .expect("len")
                .parse()
                .expect("len");
            at = e + 2 + len + 2;
        }
    }
    out
}

#[test]
fn aof_truncated_last_command_loads_with_a_warning_or_is_refused() {
    let (dir, starts) = few_commands("aof-truncated");
    let incr = last_incr(&dir);
    let last = *starts.last().expect("commands");
    let len = std::fs::metadata(&incr).expect("incr").len() as usize;
    let cut = last + (len - last) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&incr)
        .and_then(|f| f.set_len(cut as u64))
        .expect("cut");
    let copy = copy_aof(&dir, "aof-truncated-refused");
    let redis_copy = copy_aof(&dir, "aof-truncated-redis");

    // aof-load-truncated no: refused, naming the file and the offset.
    let (status, log) = kv_refuses(&copy, &["--aof-load-truncated", "no"]);
    assert!(!status.success(), "exit status {status}: {log}");
    let fname = incr
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(log.contains(&fname), "the file named: {log}");
    assert!(
        log.contains(&last.to_string()),
        "offset {last} named: {log}"
    );

    // yes (the default): loads up to the last complete command, warns, truncates.
    let d = s(&dir);
    let log_path = scratch("aof-truncated-log").join("kv.log");
    let kv = support::start_logged(
        Kind::Kv,
        &[
            "--dir",
            d.as_str(),
            "--appendonly",
            "yes",
            "--loglevel",
            "notice",
        ],
        &log_path,
    );
    let mut c = kv.raw();
    wait_info(&mut c, "loading", "0", Duration::from_secs(20));
    for i in 0..5 {
        assert_eq!(
            c.call(&["GET", &format!("k{i}")]),
            format!("$2\r\nv{i}\r\n").into_bytes()
        );
    }
    assert_eq!(c.call(&["EXISTS", "last"]), b":0\r\n");
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.contains("short read") && log.contains("aof-load-truncated"),
        "warning in the log: {log}"
    );
    assert_eq!(
        std::fs::metadata(&incr).expect("incr").len() as usize,
        last,
        "the file truncated after its last complete command"
    );
    // It appends after the cut: a new write, a restart, all there.
    assert_eq!(c.call(&["SET", "after", "cut"]), b"+OK\r\n");
    drop(c);
    term(kv);
    assert_check_aof(&dir);
    let kv = kv_aof(&dir, &[]);
    assert_eq!(kv.raw().call(&["GET", "after"]), b"$3\r\ncut\r\n");
    assert_eq!(kv.raw().call(&["DBSIZE"]), b":6\r\n");
    drop(kv);

    // redis-server on the same cut file agrees.
    let redis = redis_aof(&redis_copy, &[]);
    assert_eq!(redis.raw().call(&["DBSIZE"]), b":5\r\n");
    assert_eq!(redis.raw().call(&["EXISTS", "last"]), b":0\r\n");
}

#[test]
fn aof_garbage_in_the_middle_is_refused() {
    let (dir, starts) = few_commands("aof-garbage");
    let incr = last_incr(&dir);
    let mut bytes = std::fs::read(&incr).expect("incr");
    let at = starts[2];
    bytes[at] = b'x';
    std::fs::write(&incr, &bytes).expect("write");
    let redis_copy = copy_aof(&dir, "aof-garbage-redis");
    let (status, log) = kv_refuses(&dir, &[]);
    assert!(!status.success(), "exit status {status}: {log}");
    let fname = incr
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(log.contains(&fname), "the file named: {log}");
    assert!(log.contains(&at.to_string()), "offset {at} named: {log}");
    // The file is left as it was.
    assert_eq!(std::fs::read(&incr).expect("incr"), bytes);
    // redis-server refuses it too.
    let (ok, text) = check_aof(&redis_copy);
    assert!(!ok, "redis-check-aof accepted garbage: {text}");
}

#[test]
fn aof_multi_without_exec_at_the_end_is_not_applied() {
    let (dir, _) = few_commands("aof-open-multi");
    let incr = last_incr(&dir);
    let mut tail = support::encode_command(&["MULTI"]);
    tail.extend(support::encode_command(&["SET", "in-multi", "1"]));
    tail.extend(support::encode_command(&["INCR", "k0x"]));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .expect("incr");
    f.write_all(&tail).expect("append");
    drop(f);
    let redis_copy = copy_aof(&dir, "aof-open-multi-redis");
    let kv = kv_aof(&dir, &[]);
    let mut c = kv.raw();
    assert_eq!(c.call(&["EXISTS", "in-multi", "k0x"]), b":0\r\n");
    assert_eq!(c.call(&["DBSIZE"]), b":6\r\n");
    let want = content(kv.port());
    drop(c);
    drop(kv);
    let redis = redis_aof(&redis_copy, &[]);
    assert_same(&content(redis.port()), &want, "redis-server agrees");
}

// ---------------------------------------------------------------------------------------
// 5. BGREWRITEAOF under load; appendonly on and off at run time

#[test]
fn bgrewriteaof_while_clients_write_loses_nothing() {
    let dir = scratch("aof-rewrite-load");
    let kv = kv_aof(&dir, &["--appendfsync", "always", "--workers", "4"]);
    let mut c = kv.raw();
    // Filler so that each rewrite takes a while.
    for chunk in 0..40 {
        let mut args = vec!["MSET".to_string()];
        for i in 0..500 {
            args.push(format!("filler:{chunk}:{i}"));
            args.push(format!("{i}"));
        }
        assert_eq!(c.call(&args), b"+OK\r\n");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let stop = Arc::clone(&stop);
            let port = kv.port();
            thread::spawn(move || {
                let mut r = Raw::connect(port);
                let key = format!("counter:{t}");
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    assert_eq!(r.call(&["INCR", &key]), format!(":{n}\r\n").into_bytes());
                }
                n
            })
        })
        .collect();
    let mut rewrites = 0;
    for round in 0..4 {
        thread::sleep(Duration::from_millis(150));
        if round == 2 {
            // The rest as plain commands.
            assert_eq!(
                c.call(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]),
                b"+OK\r\n"
            );
        }
        assert_eq!(
            c.call(&["BGREWRITEAOF"]),
            b"+Background append only file rewriting started\r\n"
        );
        wait_rewrite_done(&mut c);
        rewrites += 1;
    }
    thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<i64> = writers
        .into_iter()
        .map(|w| w.join().expect("writer"))
        .collect();
    assert_eq!(info_field(&mut c, "aof_rewrites"), rewrites.to_string());
    drop(c);
    kill9(kv);
    assert_check_aof(&dir);
    let kv = kv_aof(&dir, &[]);
    let mut c = kv.raw();
    for (t, n) in counts.iter().enumerate() {
        assert_eq!(
            c.call(&["GET", &format!("counter:{t}")]),
            format!("${}\r\n{n}\r\n", n.to_string().len()).into_bytes(),
            "counter:{t}"
        );
    }
    assert_eq!(c.call(&["DBSIZE"]), b":20004\r\n");
    eprintln!("aof rewrite under load: {rewrites} rewrites, INCRs acknowledged {counts:?}");
}

#[test]
fn appendonly_turned_on_and_off_at_run_time() {
    let dir = scratch("aof-config-set");
    let kv = kv_in(&dir, &[]);
    let mut c = kv.raw();
    for i in 0..100 {
        assert_eq!(c.call(&["SET", &format!("before:{i}"), "x"]), b"+OK\r\n");
    }
    assert_eq!(c.call(&["RPUSH", "l", "before"]), b":1\r\n");
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    // Writes while AOF is being turned on, and after.
    for i in 0..100 {
        assert_eq!(c.call(&["SET", &format!("during:{i}"), "x"]), b"+OK\r\n");
    }
    wait_info(&mut c, "aof_enabled", "1", Duration::from_secs(10));
    wait_info(&mut c, "aof_rewrites", "1", Duration::from_secs(10));
    wait_rewrite_done(&mut c);
    assert_eq!(c.call(&["RPUSH", "l", "on"]), b":2\r\n");
    assert_eq!(c.call(&["SET", "on", "1"]), b"+OK\r\n");
    let want = content(kv.port());
    drop(c);
    term(kv);
    assert_check_aof(&dir);
    let kv = kv_aof(&dir, &[]);
    assert_same(&content(kv.port()), &want, "everything after a restart");

    // appendonly no: later writes are not logged.
    let mut c = kv.raw();
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "no"]), b"+OK\r\n");
    wait_info(&mut c, "aof_enabled", "0", Duration::from_secs(10));
    assert_eq!(c.call(&["SET", "off", "1"]), b"+OK\r\n");
    assert_eq!(c.call(&["RPUSH", "l", "off"]), b":3\r\n");
    drop(c);
    term(kv);
    let kv = kv_aof(&dir, &[]);
    assert_same(
        &content(kv.port()),
        &want,
        "writes after appendonly no are gone",
    );
}

// ---------------------------------------------------------------------------------------
// 6. INFO persistence's aof fields and BGREWRITEAOF's replies, as Redis's

/// The aof_* fields of INFO persistence: name and a normalised value (numbers that vary
/// shown as `N`).
fn aof_fields(r: &mut Raw) -> Vec<String> {
    let info = String::from_utf8_lossy(&r.call(&["INFO", "persistence"])).into_owned();
    info.lines()
        .filter(|l| l.starts_with("aof_"))
        .map(|l| {
            let (k, v) = l.split_once(':').expect("field");
            let v = match k {
                "aof_current_size" | "aof_base_size" | "aof_last_cow_size" => {
                    assert!(v.parse::<u64>().is_ok(), "{l}");
                    "N"
                }
                _ => v,
            };
            format!("{k}:{v}")
        })
        .collect()
}

#[test]
fn aof_info_fields_and_bgrewriteaof_replies_as_redis() {
    let (kd, rd) = (scratch("aof-info-kv"), scratch("aof-info-redis"));
    let kv = kv_in(&kd, &["--enable-protected-configs", "yes"]);
    let redis = support::start(
        Kind::Redis,
        &["--dir", &s(&rd), "--enable-protected-configs", "yes"],
    );
    let (mut a, mut b) = (kv.raw(), redis.raw());
    assert_eq!(aof_fields(&mut a), aof_fields(&mut b), "AOF off");
    for c in [&mut a, &mut b] {
        assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
        wait_info(c, "aof_rewrites", "1", Duration::from_secs(10));
        wait_rewrite_done(c);
    }
    let (fa, fb) = (aof_fields(&mut a), aof_fields(&mut b));
    // The last rewrite's duration in seconds rounds differently; the rest is equal.
    let norm = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|l| {
                if l.starts_with("aof_last_rewrite_time_sec:") {
                    "aof_last_rewrite_time_sec:N".into()
                } else {
                    l
                }
            })
            .collect()
    };
    assert_eq!(norm(fa.clone()), norm(fb.clone()), "AOF on");
    eprintln!("aof fields: kv {fa:?}\nredis {fb:?}");

    // BGREWRITEAOF: started, already in progress, scheduled behind a BGSAVE.
    for c in [&mut a, &mut b] {
        for chunk in 0..100 {
            let mut args = vec!["MSET".to_string()];
            for i in 0..500 {
                args.push(format!("filler:{chunk}:{i}"));
                args.push(format!("{i}"));
            }
            assert_eq!(c.call(&args), b"+OK\r\n");
        }
    }
    let seq: &[&[&str]] = &[&["BGREWRITEAOF"], &["BGREWRITEAOF"], &["BGSAVE"]];
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for cmd in seq {
        ra.push(String::from_utf8_lossy(&a.call(cmd)).into_owned());
    }
    for cmd in seq {
        rb.push(String::from_utf8_lossy(&b.call(cmd)).into_owned());
    }
    wait_rewrite_done(&mut a);
    wait_rewrite_done(&mut b);
    assert_eq!(ra, rb, "started / in progress / BGSAVE refused");
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.call(&["CONFIG", "SET", "rdb-key-save-delay", "20"]),
            b"+OK\r\n"
        );
        wait_info(c, "rdb_bgsave_in_progress", "0", Duration::from_secs(30));
    }
    let seq: &[&[&str]] = &[&["BGSAVE"], &["BGREWRITEAOF"], &["BGREWRITEAOF"]];
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for cmd in seq {
        ra.push(String::from_utf8_lossy(&a.call(cmd)).into_owned());
    }
    for cmd in seq {
        rb.push(String::from_utf8_lossy(&b.call(cmd)).into_owned());
    }
    eprintln!("replies: kv {ra:?}\nredis {rb:?}");
    assert_eq!(ra, rb, "scheduled behind a BGSAVE");
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.call(&["CONFIG", "SET", "rdb-key-save-delay", "0"]),
            b"+OK\r\n"
        );
        wait_rewrite_done(c);
        wait_info(c, "rdb_bgsave_in_progress", "0", Duration::from_secs(30));
    }
}
