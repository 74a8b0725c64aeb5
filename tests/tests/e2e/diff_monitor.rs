//! Differential tests of MONITOR, CLIENT PAUSE and CLIENT UNPAUSE: multi-client scenarios
//! (`diff_monitor_cases.txt`, run by the scenario runner of `diff_blocking.rs` on
//! redis-server and on kv_server with 4 workers; MONITOR lines are compared with their
//! time and port normalised), and a check that a monitor sees the commands of clients on
//! every worker, each client's in order.

use crate::diff_blocking::{run_scenarios, Conn};
use crate::support::{self, Kind};
use std::time::Duration;

/// The scenarios.
const SCENARIOS: &str = include_str!("diff_monitor_cases.txt");
/// Their groups.
const GROUPS: [&str; 2] = ["monitor", "pause"];

#[test]
fn monitor_scenarios_match_redis() {
    run_scenarios(SCENARIOS, &GROUPS, "monitor");
}

#[test]
fn client_pause_scenarios_match_redis() {
    run_scenarios(SCENARIOS, &GROUPS, "pause");
}

/// Eight clients, two on each of the 4 workers (connections are dealt round-robin), run
/// commands at the same time; one monitor sees every one of them, each client's in the
/// order it sent them, with the client's address.
#[test]
fn monitor_sees_clients_on_every_worker() {
    const CLIENTS: usize = 8;
    const EACH: usize = 50;
    let server = support::start(Kind::Kv, &["--workers", "4"]);
    let port = server.port();
    let mut monitor = Conn::connect(port);
    assert_eq!(monitor.call(&[b"MONITOR".to_vec()]), b"+OK\r\n");
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let addr = c.local_addr();
                for j in 0..EACH {
                    let key = format!("k{i}");
                    let r = c.call(&[
                        b"SET".to_vec(),
                        key.into_bytes(),
                        j.to_string().into_bytes(),
                    ]);
                    assert_eq!(r, b"+OK\r\n");
                }
                addr
            })
        })
        .collect();
    let addrs: Vec<String> = workers.into_iter().map(|t| t.join().unwrap()).collect();
    // CLIENT ID of each connection, then its SETs.
    let mut next = vec![0usize; CLIENTS];
    for _ in 0..CLIENTS * (EACH + 1) {
        let line = monitor.read(Duration::from_secs(5)).expect("a line");
        let line = String::from_utf8(line).unwrap();
        let (i, _) = addrs
            .iter()
            .enumerate()
            .find(|(_, a)| line.contains(&format!(" [0 {a}] ")))
            .unwrap_or_else(|| panic!("a line of an unknown client: {line}"));
        if line.ends_with("\"CLIENT\" \"ID\"\r\n") {
            assert_eq!(next[i], 0, "{line}");
            continue;
        }
        let want = format!("\"SET\" \"k{i}\" \"{}\"\r\n", next[i]);
        assert!(line.ends_with(&want), "{line} should end with {want}");
        next[i] += 1;
    }
    assert!(next.iter().all(|&n| n == EACH), "{next:?}");
}
