//! Interleaving tests of the wake-up protocol under shuttle (`ci/shuttle`): real commands
//! through the real dispatcher on several threads (blocking pops, pushes, CLIENT UNBLOCK,
//! a disconnect), every interleaving of the registry's and the shards' locks explored at
//! random and with PCT. What must hold whatever the order: no wake-up is lost (a waiter
//! whose key got data is served), nothing is served twice, and nothing is lost (popped
//! elements are in exactly one reply or still in the key).

use crate::cmd::Session;
use crate::config::Config;
use crate::engine::{Engine, HostFacts};
use crate::time::{Instant, Now, UnixMillis};
use shuttle::thread;
use std::sync::Arc;
use std::vec::Vec;

fn iterations() -> usize {
    std::env::var("KV_SHUTTLE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
        / 4
}

const NOW: Now = Now {
    mono: Instant::from_nanos(0),
    unix: UnixMillis(1_700_000_000_000),
    unix_micros: 1_700_000_000_000_000,
};

fn engine() -> Arc<Engine> {
    let config = Config {
        databases: 1,
        workers: 3,
        ..Config::default()
    };
    Arc::new(Engine::new(config, HostFacts::default(), 5, NOW))
}

fn session(id: usize, worker: usize) -> Session {
    let mut s = Session::new(id);
    s.worker = worker;
    s.token = id;
    s
}

fn run(engine: &Engine, session: &mut Session, line: &str) -> Vec<u8> {
    crate::cmd::testing::run_line(engine, session, NOW, line)
}

/// Runs a blocking command; if it blocks, waits for the reply in the worker's mailbox (as
/// the worker would) and returns it.
fn block(engine: &Engine, s: &mut Session, line: &str) -> Vec<u8> {
    let reply = run(engine, s, line);
    if s.block.take().is_none() {
        return reply;
    }
    for _ in 0..100_000 {
        let mut mail = engine.blocking.take_mail(s.worker);
        if let Some(crate::blocking::Mail::Reply(d)) = mail.pop() {
            assert!(mail.is_empty(), "one reply per block");
            assert_eq!(d.client, s.id);
            return d.reply;
        }
        thread::yield_now();
    }
    panic!("a blocked client was never answered: lost wake-up");
}

fn zcard(engine: &Engine, key: &str) -> usize {
    let mut s = session(99, 2);
    let r = run(engine, &mut s, &std::format!("ZCARD {key}"));
    std::str::from_utf8(&r[1..r.len() - 2])
        .unwrap()
        .parse()
        .unwrap()
}

/// One waiter, one push, and a CLIENT UNBLOCK racing them: the waiter ends with the
/// member (and the key is empty) or with the unblock's `*-1` (and the member is in the key).
fn served_or_unblocked_never_both() {
    let e = engine();
    let waiter = {
        let e = Arc::clone(&e);
        thread::spawn(move || block(&e, &mut session(1, 0), "BZPOPMIN k 0"))
    };
    let pusher = {
        let e = Arc::clone(&e);
        thread::spawn(move || run(&e, &mut session(2, 1), "ZADD k 1 m"))
    };
    let unblocker = {
        let e = Arc::clone(&e);
        thread::spawn(move || run(&e, &mut session(3, 2), "CLIENT UNBLOCK 1"))
    };
    let got = waiter.join().unwrap();
    assert_eq!(pusher.join().unwrap(), b":1\r\n");
    let unblocked = unblocker.join().unwrap();
    let left = zcard(&e, "k");
    if got == b"*-1\r\n" {
        assert_eq!(unblocked, b":1\r\n");
        assert_eq!(left, 1, "unblocked: the member stays");
    } else {
        assert_eq!(got, b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n1\r\n");
        assert_eq!(left, 0, "served: the member is gone");
    }
    assert_eq!(e.blocking.blocked(), 0);
}

/// Two waiters on one key (on two workers), two pushes: each gets one member, different
/// ones, and the key ends empty.
fn two_waiters_two_pushes_each_served_once() {
    let e = engine();
    let waiters: Vec<_> = [(1, 0), (2, 1)]
        .into_iter()
        .map(|(id, w)| {
            let e = Arc::clone(&e);
            thread::spawn(move || block(&e, &mut session(id, w), "BZPOPMIN k 0"))
        })
        .collect();
    let pusher = {
        let e = Arc::clone(&e);
        thread::spawn(move || {
            let mut s = session(3, 2);
            run(&e, &mut s, "ZADD k 1 a");
            run(&e, &mut s, "ZADD k 2 b");
        })
    };
    pusher.join().unwrap();
    let mut got: Vec<Vec<u8>> = waiters.into_iter().map(|h| h.join().unwrap()).collect();
    got.sort();
    assert_eq!(
        got,
        [
            b"*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n".to_vec(),
            b"*3\r\n$1\r\nk\r\n$1\r\nb\r\n$1\r\n2\r\n".to_vec(),
        ]
    );
    assert_eq!(zcard(&e, "k"), 0);
    assert_eq!(e.blocking.blocked(), 0);
}

/// A waiter that disconnects while a push serves it: whichever wins, the member is never
/// lost (a reply that finds its client gone is undone).
fn disconnect_never_loses_the_member() {
    let e = engine();
    let waiter = {
        let e = Arc::clone(&e);
        thread::spawn(move || {
            let mut s = session(1, 0);
            let r = run(&e, &mut s, "BZPOPMIN k 0");
            if s.block.take().is_none() {
                return Some(r); // served at once: it got the member
            }
            thread::yield_now();
            // Disconnect, as `Worker::close` does.
            if e.blocking.cancel(1).is_some() {
                return None;
            }
            // Served meanwhile: the delivery finds no client and is undone.
            for _ in 0..100_000 {
                if let Some(crate::blocking::Mail::Reply(d)) = e.blocking.take_mail(0).pop() {
                    if let Some(u) = d.undo {
                        crate::cmd::blocking::undo(&e, u, NOW.unix);
                    }
                    return None;
                }
                thread::yield_now();
            }
            panic!("claimed but never delivered");
        })
    };
    let pusher = {
        let e = Arc::clone(&e);
        thread::spawn(move || run(&e, &mut session(2, 1), "ZADD k 1 m"))
    };
    pusher.join().unwrap();
    let got = waiter.join().unwrap();
    let left = zcard(&e, "k");
    match got {
        Some(r) => {
            assert_eq!(r, b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n1\r\n");
            assert_eq!(left, 0);
        }
        None => assert_eq!(left, 1, "the member is back in the key"),
    }
    assert_eq!(e.blocking.blocked(), 0);
}

#[test]
fn served_or_unblocked_never_both_random() {
    shuttle::check_random(served_or_unblocked_never_both, iterations());
}

#[test]
fn served_or_unblocked_never_both_pct() {
    shuttle::check_pct(served_or_unblocked_never_both, iterations(), 3);
}

#[test]
fn two_waiters_two_pushes_each_served_once_random() {
    shuttle::check_random(two_waiters_two_pushes_each_served_once, iterations());
}

#[test]
fn two_waiters_two_pushes_each_served_once_pct() {
    shuttle::check_pct(two_waiters_two_pushes_each_served_once, iterations(), 3);
}

#[test]
fn disconnect_never_loses_the_member_random() {
    shuttle::check_random(disconnect_never_loses_the_member, iterations());
}

#[test]
fn disconnect_never_loses_the_member_pct() {
    shuttle::check_pct(disconnect_never_loses_the_member, iterations(), 3);
}
