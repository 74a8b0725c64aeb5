//! Transactions across workers: tests that cannot pass without EXEC's isolation.
//!
//! Transfer clients move amounts between random accounts with MULTI / DECRBY / INCRBY /
//! EXEC on all workers while reader clients read every account with separate GETs inside
//! one MULTI / EXEC: every sum a reader sees must be exact (a transfer half done, or a
//! transfer run between two of the reader's GETs, shows as a wrong sum), and so must the
//! final one. And a WATCH / GET / MULTI / SET / EXEC optimistic counter from many clients
//! ends at exactly the number of EXECs that succeeded. Bounded in count; kv_server with
//! 4 workers, so the clients sit on different workers.

use crate::support::{self, Kind, Raw, Rng};
use std::thread;

const ACCOUNTS: usize = 8;
const START: i64 = 1_000;

/// The bulk strings of an array reply, as integers.
fn ints(reply: &[u8]) -> Vec<i64> {
    support::bulk_elements(reply)
        .iter()
        .map(|b| {
            std::str::from_utf8(b)
                .expect("utf8")
                .parse()
                .expect("integer")
        })
        .collect()
}

#[test]
fn transfers_and_readers_see_exact_sums_on_all_workers() {
    let kv = support::start(Kind::Kv, &["--workers", "4"]);
    let port = kv.port();
    let mut setup = Raw::connect(port);
    for a in 0..ACCOUNTS {
        assert_eq!(
            setup.call(&["SET", &format!("acct:{a}"), &START.to_string()]),
            b"+OK\r\n"
        );
    }
    let total = START * ACCOUNTS as i64;
    let movers: Vec<_> = (0..4u64)
        .map(|seed| {
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
                for _ in 0..400 {
                    let from = rng.below(ACCOUNTS as u64);
                    let to = rng.below(ACCOUNTS as u64);
                    let amount = (1 + rng.below(50)).to_string();
                    let mut req = support::encode_command(&["MULTI"]);
                    req.extend(support::encode_command(&[
                        "DECRBY",
                        &format!("acct:{from}"),
                        &amount,
                    ]));
                    req.extend(support::encode_command(&[
                        "INCRBY",
                        &format!("acct:{to}"),
                        &amount,
                    ]));
                    req.extend(support::encode_command(&["EXEC"]));
                    c.send(&req);
                    assert_eq!(c.reply(), b"+OK\r\n");
                    assert_eq!(c.reply(), b"+QUEUED\r\n");
                    assert_eq!(c.reply(), b"+QUEUED\r\n");
                    let exec = c.reply();
                    assert!(exec.starts_with(b"*2\r\n:"), "{exec:?}");
                }
            })
        })
        .collect();
    // One reader uses plain MGET (one atomic command, outside any transaction): it too
    // must never see a transfer half done.
    let mget = thread::spawn(move || {
        let mut c = Raw::connect(port);
        let keys: Vec<String> = (0..ACCOUNTS).map(|a| format!("acct:{a}")).collect();
        let mut args = vec!["MGET"];
        args.extend(keys.iter().map(String::as_str));
        for _ in 0..2000 {
            let sum: i64 = ints(&c.call(&args)).iter().sum();
            assert_eq!(sum, total, "MGET saw a transaction half done");
        }
    });
    let readers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                for _ in 0..400 {
                    let mut req = support::encode_command(&["MULTI"]);
                    for a in 0..ACCOUNTS {
                        req.extend(support::encode_command(&["GET", &format!("acct:{a}")]));
                    }
                    req.extend(support::encode_command(&["EXEC"]));
                    c.send(&req);
                    for _ in 0..=ACCOUNTS {
                        c.reply(); // +OK, then +QUEUED for each GET
                    }
                    let sum: i64 = ints(&c.reply()).iter().sum();
                    assert_eq!(sum, total, "a reader saw a transfer half done");
                }
            })
        })
        .collect();
    for h in movers.into_iter().chain(readers).chain([mget]) {
        h.join().expect("client thread");
    }
    let mut sum = 0;
    for a in 0..ACCOUNTS {
        let r = setup.call(&["GET", &format!("acct:{a}")]);
        sum += ints(&[b"*1\r\n".as_slice(), &r].concat())[0];
    }
    assert_eq!(sum, total);
}

#[test]
fn watch_counter_ends_at_the_number_of_successful_execs() {
    let kv = support::start(Kind::Kv, &["--workers", "4"]);
    let port = kv.port();
    Raw::connect(port).call(&["SET", "counter", "0"]);
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut won = 0i64;
                let mut tries = 0;
                while won < 40 {
                    tries += 1;
                    assert!(tries < 100_000, "no progress");
                    assert_eq!(c.call(&["WATCH", "counter"]), b"+OK\r\n");
                    let v = c.call(&["GET", "counter"]);
                    let n: i64 = std::str::from_utf8(&v)
                        .unwrap()
                        .lines()
                        .nth(1)
                        .unwrap()
                        .parse()
                        .unwrap();
                    let mut req = support::encode_command(&["MULTI"]);
                    req.extend(support::encode_command(&[
                        "SET",
                        "counter",
                        &(n + 1).to_string(),
                    ]));
                    req.extend(support::encode_command(&["EXEC"]));
                    c.send(&req);
                    assert_eq!(c.reply(), b"+OK\r\n");
                    assert_eq!(c.reply(), b"+QUEUED\r\n");
                    match c.reply().as_slice() {
                        b"*-1\r\n" => {}
                        b"*1\r\n+OK\r\n" => won += 1,
                        other => panic!("EXEC answered {other:?}"),
                    }
                }
                won
            })
        })
        .collect();
    let wins: i64 = clients.into_iter().map(|h| h.join().expect("client")).sum();
    let v = Raw::connect(port).call(&["GET", "counter"]);
    let n: i64 = std::str::from_utf8(&v)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        n, wins,
        "every successful EXEC counted once, no lost update"
    );
}
