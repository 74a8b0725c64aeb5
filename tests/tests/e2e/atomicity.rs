//! Every command is one atomic step for every client on every worker (issue 10): readers
//! that name several keys never see a write of several keys half done.
//!
//! Each scenario runs writers and readers on separate connections (connections are dealt
//! round-robin to the workers, so they run on all of them) for a fixed time, with
//! pipelined batches so that commands of different workers overlap, and counts torn
//! replies. A scenario also checks that enough reads happened for the count to mean
//! something. Before the fix, each of these found torn replies within a second on 2 cores.

use crate::support::{self, encode_command, read_reply, Kind};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each scenario runs.
const RUN_FOR: Duration = Duration::from_secs(2);
/// Commands a client sends before it reads their replies.
const BATCH: usize = 32;
/// Fewest checked reads a scenario must make to count as a test.
const MIN_READS: usize = 2_000;

/// A pipelining client: sends a batch, then reads one reply per command.
struct Pipe {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Pipe {
    fn connect(port: u16) -> Pipe {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Pipe {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            stream,
        }
    }

    fn batch(&mut self, commands: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let bytes: Vec<u8> = commands.concat();
        self.stream.write_all(&bytes).expect("send");
        commands
            .iter()
            .map(|_| read_reply(&mut self.reader).expect("reply"))
            .collect()
    }
}

/// Runs `writers` and `readers` threads until [`RUN_FOR`] passes. A writer gets its
/// number and round and returns a batch of commands whose replies it checks itself; a
/// reader gets its pipe and returns (checked reads, torn replies with an example).
fn run_scenario(
    port: u16,
    writers: usize,
    writer: impl Fn(usize, usize) -> Vec<Vec<u8>> + Send + Sync + 'static,
    readers: usize,
    reader: impl Fn(&mut Pipe) -> (usize, Vec<String>) + Send + Sync + 'static,
) -> (usize, Vec<String>) {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = Arc::new(writer);
    let reader = Arc::new(reader);
    let reads = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for w in 0..writers {
        let (stop, writer) = (Arc::clone(&stop), Arc::clone(&writer));
        handles.push(std::thread::spawn(move || {
            let mut p = Pipe::connect(port);
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                for r in p.batch(&writer(w, round)) {
                    assert!(
                        !r.starts_with(b"-"),
                        "writer got {:?}",
                        String::from_utf8_lossy(&r)
                    );
                }
                round += 1;
            }
            Vec::new()
        }));
    }
    for _ in 0..readers {
        let (stop, reader, reads) = (Arc::clone(&stop), Arc::clone(&reader), Arc::clone(&reads));
        handles.push(std::thread::spawn(move || {
            let mut p = Pipe::connect(port);
            let mut torn = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (n, bad) = reader(&mut p);
                reads.fetch_add(n, Ordering::Relaxed);
                torn.extend(bad);
            }
            torn
        }));
    }
    let start = Instant::now();
    while start.elapsed() < RUN_FOR {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let torn: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect();
    (reads.load(Ordering::Relaxed), torn)
}

fn kv() -> support::Server {
    support::start(Kind::Kv, &["--workers", "4"])
}

fn check(what: &str, reads: usize, torn: &[String]) {
    assert!(
        reads >= MIN_READS,
        "{what}: only {reads} reads in {RUN_FOR:?}, too few to mean anything"
    );
    assert!(
        torn.is_empty(),
        "{what}: {} torn replies of {reads}, e.g. {:?}",
        torn.len(),
        &torn[..torn.len().min(3)]
    );
}

const KEYS: [&str; 10] = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"];

#[test]
fn mget_never_sees_half_of_an_mset() {
    let server = kv();
    let (reads, torn) = run_scenario(
        server.port(),
        4,
        |w, round| {
            (0..BATCH)
                .map(|i| {
                    let v = format!("w{w}-{round}-{i}");
                    let mut args = vec!["MSET".to_string()];
                    for k in KEYS {
                        args.push(k.to_string());
                        args.push(v.clone());
                    }
                    encode_command(&args)
                })
                .collect()
        },
        4,
        |p| {
            let mut mget = vec!["MGET"];
            mget.extend(KEYS);
            let cmd = encode_command(&mget);
            let replies = p.batch(&vec![cmd; BATCH]);
            let mut bad = Vec::new();
            for r in &replies {
                // All nil before the first MSET lands; otherwise all one value.
                let values = support::bulk_or_nil_elements(r);
                if values.iter().any(|v| v != &values[0]) {
                    bad.push(String::from_utf8_lossy(r).into_owned());
                }
            }
            (replies.len(), bad)
        },
    );
    check("MSET vs MGET", reads, &torn);
}

#[test]
fn rename_ping_pong_is_never_seen_in_both_places_or_neither() {
    let server = kv();
    server.raw().call(&["SET", "a", "v"]);
    let (reads, torn) = run_scenario(
        server.port(),
        1,
        |_, _| {
            (0..BATCH)
                .flat_map(|_| {
                    [
                        encode_command(&["RENAME", "a", "b"]),
                        encode_command(&["RENAME", "b", "a"]),
                    ]
                })
                .collect()
        },
        4,
        |p| {
            let mut cmds = Vec::new();
            for _ in 0..BATCH / 2 {
                cmds.push(encode_command(&["MGET", "a", "b"]));
                cmds.push(encode_command(&["EXISTS", "a", "b"]));
            }
            let replies = p.batch(&cmds);
            let mut bad = Vec::new();
            for r in &replies {
                let ok = if r.starts_with(b"*") {
                    let v = support::bulk_or_nil_elements(r);
                    // Exactly one of the two holds "v", the other is nil.
                    v.iter().filter(|x| x.as_deref() == Some(b"v")).count() == 1
                        && v.iter().filter(|x| x.is_none()).count() == 1
                } else {
                    r == b":1\r\n"
                };
                if !ok {
                    bad.push(String::from_utf8_lossy(r).into_owned());
                }
            }
            (replies.len(), bad)
        },
    );
    check("RENAME vs MGET/EXISTS", reads, &torn);
}

#[test]
fn exists_never_sees_half_of_a_del() {
    let server = kv();
    let (reads, torn) = run_scenario(
        server.port(),
        2,
        |_, _| {
            let mut mset = vec!["MSET"];
            for k in KEYS {
                mset.extend([k, "x"]);
            }
            let mut del = vec!["DEL"];
            del.extend(KEYS);
            (0..BATCH / 2)
                .flat_map(|_| [encode_command(&mset), encode_command(&del)])
                .collect()
        },
        4,
        |p| {
            let mut exists = vec!["EXISTS"];
            exists.extend(KEYS);
            let replies = p.batch(&vec![encode_command(&exists); BATCH]);
            let bad = replies
                .iter()
                .filter(|r| r.as_slice() != b":0\r\n" && r.as_slice() != b":10\r\n")
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect();
            (replies.len(), bad)
        },
    );
    check("DEL vs EXISTS", reads, &torn);
}

#[test]
fn flushall_and_keys_see_all_or_nothing() {
    let server = kv();
    let (reads, torn) = run_scenario(
        server.port(),
        2,
        |_, _| {
            let mut mset = vec!["MSET"];
            for k in KEYS {
                mset.extend([k, "x"]);
            }
            (0..BATCH / 2)
                .flat_map(|_| [encode_command(&mset), encode_command(&["FLUSHALL"])])
                .collect()
        },
        4,
        |p| {
            let mut cmds = Vec::new();
            for _ in 0..BATCH / 2 {
                cmds.push(encode_command(&["DBSIZE"]));
                cmds.push(encode_command(&["KEYS", "*"]));
            }
            let replies = p.batch(&cmds);
            let bad = replies
                .iter()
                .filter(|r| {
                    let n = if r.starts_with(b"*") {
                        support::bulk_elements(r).len()
                    } else {
                        String::from_utf8_lossy(&r[1..r.len() - 2])
                            .parse::<usize>()
                            .unwrap_or(usize::MAX)
                    };
                    n != 0 && n != KEYS.len()
                })
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect();
            (replies.len(), bad)
        },
    );
    check("MSET/FLUSHALL vs DBSIZE/KEYS", reads, &torn);
}
