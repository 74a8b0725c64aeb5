//! Conservation of list elements under concurrent blocking pops, against `kv_server` with
//! 4 workers (connections are dealt round-robin to the workers, so producers, consumers and
//! the keys' waiters sit on different workers): every element pushed is popped exactly
//! once, moved into a sink exactly once, or still in a list at the end; none lost, none
//! twice.
//!
//! * [`producers_and_blocking_consumers_conserve_elements`]: producers LPUSH/RPUSH unique
//!   elements (`p<producer>:<seq>`) onto a few keys while consumers loop over BLPOP, BRPOP,
//!   BLMPOP, BLMOVE and BRPOPLPUSH (into a sink list of their own, or onto another shared
//!   key) with short timeouts, until the producers are done and the keys are drained.
//! * [`unblocked_and_disconnected_waiters_take_nothing`]: waiters that are unblocked by
//!   CLIENT UNBLOCK (TIMEOUT or ERROR) or disconnect while blocked are forgotten: what is
//!   pushed afterwards stays in the lists, but for what the remaining waiters, unblocked in
//!   a loop while producers push, actually received.
//!
//! Both are bounded in elements and time and stop by themselves. `KV_DIFF_ORACLE_ONLY=1`
//! runs them against `redis-server` instead (a self-test).

use crate::diff_blocking::{oracle_only, server_under_test, Conn};
use crate::support::Rng;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 8;
/// Elements each producer pushes.
const PER_PRODUCER: usize = 300;
/// The shared keys.
const KEYS: [&str; 5] = ["q0", "q1", "q2", "q3", "q4"];
/// Every test ends within this (it fails if its threads are not done by then).
const DEADLINE: Duration = Duration::from_secs(20);

/// Joins a thread, passing its panic on (with its own message).
fn join<T>(h: std::thread::JoinHandle<T>) -> T {
    h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A parsed RESP2 reply.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Arr(Vec<V>),
    Status(String),
    Err(String),
}

fn parse(b: &[u8]) -> V {
    fn one(b: &[u8], i: &mut usize) -> V {
        let end = *i + b[*i..].windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let line = String::from_utf8_lossy(&b[*i + 1..end]).into_owned();
        let t = b[*i];
        *i = end + 2;
        match t {
            b'+' => V::Status(line),
            b'-' => V::Err(line),
            b':' => V::Int(line.parse().expect("integer")),
            b'$' if line.starts_with('-') => V::Nil,
            b'*' if line.starts_with('-') => V::Nil,
            b'$' => {
                let n: usize = line.parse().expect("bulk length");
                let v = b[*i..*i + n].to_vec();
                *i += n + 2;
                V::Bulk(v)
            }
            b'*' => {
                let n: usize = line.parse().expect("array length");
                V::Arr((0..n).map(|_| one(b, i)).collect())
            }
            _ => panic!("reply type {t}"),
        }
    }
    one(b, &mut 0)
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn bulk(v: &V) -> Vec<u8> {
    match v {
        V::Bulk(b) => b.clone(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// The elements of a list (LRANGE 0 -1).
fn lrange(c: &mut Conn, key: &str) -> Vec<Vec<u8>> {
    match parse(&c.call(&args(&["LRANGE", key, "0", "-1"]))) {
        V::Arr(v) => v.iter().map(bulk).collect(),
        other => panic!("LRANGE {key}: {other:?}"),
    }
}

fn int(c: &mut Conn, a: &[&str]) -> i64 {
    match parse(&c.call(&args(a))) {
        V::Int(n) => n,
        other => panic!("{a:?}: {other:?}"),
    }
}

/// Waits until INFO clients `field` is `n` (up to 5 s).
fn wait_info(c: &mut Conn, field: &str, n: usize) {
    let want = format!("{field}:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = c.call(&args(&["INFO", "clients"]));
        if String::from_utf8_lossy(&info).contains(&want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{field} never reached {n}: {}",
            String::from_utf8_lossy(&info)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Producer `p`: pushes `p<p>:0` .. `p<p>:<n-1>` in batches of 1 to 3, LPUSH or RPUSH onto
/// a random key, pausing now and then so that consumers block between pushes.
fn produce(port: u16, p: usize, n: usize, seed: u64) {
    let mut r = Rng(seed | 1);
    let mut c = Conn::connect(port);
    let mut seq = 0;
    while seq < n {
        let batch = (1 + r.below(3) as usize).min(n - seq);
        let mut cmd = args(&[r.pick(&["LPUSH", "RPUSH"]), r.pick(&KEYS)]);
        for _ in 0..batch {
            cmd.push(format!("p{p}:{seq}").into_bytes());
            seq += 1;
        }
        match parse(&c.call(&cmd)) {
            V::Int(len) => assert!(len >= batch as i64, "{cmd:?} answered {len}"),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(&cmd[0])),
        }
        if r.below(4) == 0 {
            std::thread::sleep(Duration::from_millis(r.below(3)));
        }
    }
}

/// What a consumer took: elements popped (in replies), and elements it moved into its
/// sink (in replies; the sink is read at the end and must hold exactly these).
#[derive(Default)]
struct Took {
    popped: Vec<Vec<u8>>,
    sunk: Vec<Vec<u8>>,
    ops: BTreeMap<&'static str, usize>,
    nils: usize,
}

/// Consumer `c`: random blocking pops with short timeouts until the producers are done and
/// the keys are empty.
fn consume(port: u16, me: usize, seed: u64, done: &AtomicBool, stop_at: Instant) -> Took {
    let mut r = Rng(seed | 1);
    let mut c = Conn::connect(port);
    let sink = format!("sink{me}");
    let mut took = Took::default();
    loop {
        assert!(
            Instant::now() < stop_at,
            "consumer {me} still running at the deadline"
        );
        let timeout = r.pick(&["0.05", "0.1", "0.2"]);
        let mut keys: Vec<&str> = (0..1 + r.below(3)).map(|_| r.pick(&KEYS)).collect();
        keys.dedup();
        let side = || ["LEFT", "RIGHT"];
        let (name, cmd): (&'static str, Vec<&str>) = match r.below(10) {
            0..=2 => ("BLPOP", [&["BLPOP"][..], &keys, &[timeout]].concat()),
            3..=4 => ("BRPOP", [&["BRPOP"][..], &keys, &[timeout]].concat()),
            5..=6 => {
                let n = keys.len().to_string();
                let count = r.pick(&["1", "2", "3"]);
                let cmd = [
                    &["BLMPOP", timeout, n.as_str()][..],
                    &keys,
                    &[r.pick(&side()), "COUNT", count],
                ]
                .concat();
                let reply = parse(&c.call(&args(&cmd)));
                *took.ops.entry("BLMPOP").or_default() += 1;
                match reply {
                    V::Nil => took.nils += 1,
                    V::Arr(kv) if kv.len() == 2 => match &kv[1] {
                        V::Arr(els) if !els.is_empty() => took.popped.extend(els.iter().map(bulk)),
                        other => panic!("BLMPOP elements: {other:?}"),
                    },
                    other => panic!("{cmd:?}: {other:?}"),
                }
                if took.nils > 0 && done.load(Ordering::SeqCst) && drained(&mut c) {
                    return took;
                }
                continue;
            }
            7 => (
                "BLMOVE",
                vec![
                    "BLMOVE",
                    keys[0],
                    sink.as_str(),
                    r.pick(&side()),
                    r.pick(&side()),
                    timeout,
                ],
            ),
            8 => (
                "BRPOPLPUSH",
                vec!["BRPOPLPUSH", keys[0], sink.as_str(), timeout],
            ),
            // Onto another shared key: the element stays in play.
            _ => (
                "BLMOVE shared",
                vec![
                    "BLMOVE",
                    keys[0],
                    r.pick(&KEYS),
                    r.pick(&side()),
                    r.pick(&side()),
                    timeout,
                ],
            ),
        };
        *took.ops.entry(name).or_default() += 1;
        let reply = parse(&c.call(&args(&cmd)));
        match (name, reply) {
            (_, V::Nil) => took.nils += 1,
            ("BLPOP" | "BRPOP", V::Arr(kv)) if kv.len() == 2 => {
                let key = bulk(&kv[0]);
                assert!(
                    keys.iter().any(|k| k.as_bytes() == key),
                    "{cmd:?} -> {kv:?}"
                );
                took.popped.push(bulk(&kv[1]));
            }
            ("BLMOVE" | "BRPOPLPUSH", V::Bulk(e)) => took.sunk.push(e),
            ("BLMOVE shared", V::Bulk(_)) => {}
            (_, other) => panic!("{cmd:?}: {other:?}"),
        }
        if took.nils > 0 && done.load(Ordering::SeqCst) && drained(&mut c) {
            return took;
        }
    }
}

/// True when no shared key holds a list any more.
fn drained(c: &mut Conn) -> bool {
    let mut a = vec!["EXISTS"];
    a.extend(KEYS);
    int(c, &a) == 0
}

/// Checks `all` (everything found) against what the producers pushed.
fn check_conservation(all: Vec<Vec<u8>>, produced: usize) {
    let mut seen: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for e in all {
        *seen.entry(e).or_default() += 1;
    }
    let mut missing = Vec::new();
    let mut twice = Vec::new();
    for p in 0..PRODUCERS {
        for s in 0..produced / PRODUCERS {
            let e = format!("p{p}:{s}");
            match seen.remove(e.as_bytes()) {
                None => missing.push(e),
                Some(1) => {}
                Some(n) => twice.push(format!("{e} x{n}")),
            }
        }
    }
    // Whatever is left was never pushed.
    let strange: Vec<String> = seen
        .keys()
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect();
    assert!(
        missing.is_empty() && twice.is_empty() && strange.is_empty(),
        "lost {} elements {:?}, {} found more than once {:?}, {} never pushed {:?}",
        missing.len(),
        &missing[..missing.len().min(20)],
        twice.len(),
        &twice[..twice.len().min(20)],
        strange.len(),
        &strange[..strange.len().min(20)],
    );
}

#[test]
fn producers_and_blocking_consumers_conserve_elements() {
    let server = server_under_test();
    let port = server.port();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!(
        "blocking stress: seed {seed}{}",
        if oracle_only() { " (redis-server)" } else { "" }
    );
    let stop_at = Instant::now() + DEADLINE;
    let done = Arc::new(AtomicBool::new(false));
    let mut ctl = Conn::connect(port);
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|i| {
            let done = Arc::clone(&done);
            let seed = seed.wrapping_add(1000 + i as u64);
            std::thread::spawn(move || consume(port, i, seed, &done, stop_at))
        })
        .collect();
    // The first pops block: wait until some consumers are waiting before pushing.
    wait_info_at_least(&mut ctl, CONSUMERS / 2);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let seed = seed.wrapping_add(p as u64);
            std::thread::spawn(move || produce(port, p, PER_PRODUCER, seed))
        })
        .collect();
    for p in producers {
        join(p);
    }
    done.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in consumers.into_iter().enumerate() {
        let took = join(h);
        for (k, v) in &took.ops {
            *ops.entry(k).or_default() += v;
        }
        let mut sink = lrange(&mut ctl, &format!("sink{i}"));
        let mut sunk = took.sunk.clone();
        sink.sort();
        sunk.sort();
        assert_eq!(
            sink.len(),
            sunk.len(),
            "consumer {i}: its sink holds {} elements, its BLMOVE/BRPOPLPUSH replies named {}",
            sink.len(),
            sunk.len()
        );
        assert!(
            sink == sunk,
            "consumer {i}: sink differs from the moves' replies"
        );
        all.extend(took.popped);
        all.extend(sink);
    }
    // Drained: nothing is left in the shared keys.
    for k in KEYS {
        assert_eq!(
            lrange(&mut ctl, k),
            Vec::<Vec<u8>>::new(),
            "{k} not drained"
        );
    }
    eprintln!(
        "blocking stress: operations {ops:?}, elements {}",
        all.len()
    );
    check_conservation(all, PRODUCERS * PER_PRODUCER);
    wait_info(&mut ctl, "blocked_clients", 0);
}

/// Waits until at least `n` clients are blocked (up to 5 s).
fn wait_info_at_least(c: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = String::from_utf8_lossy(&c.call(&args(&["INFO", "clients"]))).into_owned();
        let blocked: usize = info
            .split("\r\n")
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if blocked >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {n} clients ever blocked: {info}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How a waiter stops waiting.
#[derive(Clone, Copy, Debug)]
enum Leave {
    UnblockTimeout,
    UnblockError,
    Disconnect,
}

/// One waiter round: blocks on a random pop with no timeout, then leaves as `leave` says.
/// Returns what it received (an element served before CLIENT UNBLOCK got to it).
fn wait_and_leave(port: u16, ctl: &mut Conn, leave: Leave, r: &mut Rng, me: usize) -> Vec<Vec<u8>> {
    let mut w = Conn::connect(port);
    // Waiters use the first keys only: what is pushed onto the others stays there.
    let key = r.pick(&KEYS[..3]);
    let key2 = r.pick(&KEYS[..3]);
    let sink = format!("vsink{me}");
    let cmd = match r.below(4) {
        0 => args(&["BLPOP", key, key2, "0"]),
        1 => args(&["BRPOP", key, "0"]),
        2 => args(&["BLMPOP", "0", "2", key, key2, "LEFT", "COUNT", "2"]),
        _ => args(&["BLMOVE", key, &sink, "LEFT", "RIGHT", "0"]),
    };
    w.send(&cmd);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mode = match leave {
        Leave::Disconnect => {
            // Disconnect once it is blocked (or after a few tries: right away).
            for _ in 0..50 {
                let list = ctl.call(&args(&["CLIENT", "LIST"]));
                let line = String::from_utf8_lossy(&list)
                    .split('\n')
                    .find(|l| l.starts_with(&format!("id={} ", w.id)))
                    .map(str::to_string)
                    .unwrap_or_default();
                if line.contains(" flags=b ") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(w);
            return Vec::new();
        }
        Leave::UnblockTimeout => "TIMEOUT",
        Leave::UnblockError => "ERROR",
    };
    let id = w.id.to_string();
    let unblocked = loop {
        assert!(
            Instant::now() < deadline,
            "{cmd:?}: never blocked nor served"
        );
        if int(ctl, &["CLIENT", "UNBLOCK", &id, mode]) == 1 {
            break true;
        }
        if w.readable(Duration::from_millis(1)) {
            break false; // served before it could be unblocked
        }
    };
    let reply = w.read(Duration::from_secs(5)).expect("the waiter's reply");
    let v = parse(&reply);
    if unblocked {
        let want: &[u8] = match leave {
            Leave::UnblockError => b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            _ => b"*-1\r\n",
        };
        assert_eq!(
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(want),
            "{cmd:?} unblocked with {mode}"
        );
        return Vec::new();
    }
    match v {
        V::Arr(kv) if kv.len() == 2 => match &kv[1] {
            V::Arr(els) => els.iter().map(bulk).collect(),
            e => vec![bulk(e)],
        },
        // BLMOVE: the element is in the sink, read at the end
        V::Bulk(_) => Vec::new(),
        other => panic!("{cmd:?}: {other:?}"),
    }
}

#[test]
fn unblocked_and_disconnected_waiters_take_nothing() {
    const WAITERS: usize = 6;
    const ROUNDS: usize = 12;
    let server = server_under_test();
    let port = server.port();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("unblock stress: seed {seed}");
    let started = Instant::now();
    let mut ctl = Conn::connect(port);

    // Phase 1, nothing pushed: waiters block and leave every way, concurrently.
    let handles: Vec<_> = (0..WAITERS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut r = Rng(seed.wrapping_add(i as u64) | 1);
                let mut ctl = Conn::connect(port);
                for round in 0..ROUNDS {
                    let leave = match (i + round) % 3 {
                        0 => Leave::UnblockTimeout,
                        1 => Leave::UnblockError,
                        _ => Leave::Disconnect,
                    };
                    let got = wait_and_leave(port, &mut ctl, leave, &mut r, i);
                    assert!(got.is_empty(), "waiter {i} got {got:?} from empty lists");
                }
            })
        })
        .collect();
    for h in handles {
        join(h);
    }
    wait_info(&mut ctl, "blocked_clients", 0);
    wait_info(&mut ctl, "connected_clients", 1);

    // Phase 2: producers push while waiters keep blocking and being unblocked (never
    // disconnecting: an element served to a client that then disconnects is gone, in
    // Redis too). What they received, their sinks and the lists hold everything.
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rounds = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|i| {
            let (stop, received, rounds) = (
                Arc::clone(&stop),
                Arc::clone(&received),
                Arc::clone(&rounds),
            );
            std::thread::spawn(move || {
                let mut r = Rng(seed.wrapping_add(100 + i as u64) | 1);
                let mut ctl = Conn::connect(port);
                let mut round = 0;
                while !stop.load(Ordering::SeqCst) {
                    let leave = if round % 2 == 0 {
                        Leave::UnblockTimeout
                    } else {
                        Leave::UnblockError
                    };
                    let got = wait_and_leave(port, &mut ctl, leave, &mut r, i);
                    received.lock().unwrap().extend(got);
                    rounds.fetch_add(1, Ordering::Relaxed);
                    round += 1;
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let seed = seed.wrapping_add(p as u64);
            std::thread::spawn(move || produce(port, p, PER_PRODUCER, seed))
        })
        .collect();
    for p in producers {
        join(p);
    }
    stop.store(true, Ordering::SeqCst);
    for w in waiters {
        join(w);
    }
    wait_info(&mut ctl, "blocked_clients", 0);
    let mut all = std::mem::take(&mut *received.lock().unwrap());
    let from_waiters = all.len();
    let mut in_lists = 0;
    for k in KEYS {
        let l = lrange(&mut ctl, k);
        in_lists += l.len();
        all.extend(l);
    }
    for i in 0..WAITERS {
        all.extend(lrange(&mut ctl, &format!("vsink{i}")));
    }
    eprintln!(
        "unblock stress: {} waits in phase 2, {from_waiters} elements received, {in_lists} left in the lists, {:?}",
        rounds.load(Ordering::Relaxed),
        started.elapsed()
    );
    assert!(in_lists > 0, "the waiters took everything: nothing checked");
    check_conservation(all, PRODUCERS * PER_PRODUCER);
    assert!(started.elapsed() < DEADLINE, "took {:?}", started.elapsed());
}
