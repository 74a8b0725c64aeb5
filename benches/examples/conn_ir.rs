//! A fixed amount of command-path work to count instructions with (the `conn` group of the
//! engine bench without criterion's variable iteration counts): `ROUNDS` times 1000
//! pipelined SETs or GETs fed to one connection. Run under callgrind with two round counts;
//! the difference divided by the extra commands is the instructions per command:
//!
//! ```text
//! cargo build --release -p kv-benches --example conn_ir
//! valgrind --tool=callgrind target/release/examples/conn_ir get 2
//! valgrind --tool=callgrind target/release/examples/conn_ir get 12
//! ```
#![allow(missing_docs)]

use kv_core::config::Config;
use kv_core::conn::{Conn, Env};
use kv_core::engine::{Engine, HostFacts};
use kv_core::stats::WorkerStats;
use kv_core::time::{Instant, Now, UnixMillis};

const NOW: Now = Now {
    mono: Instant::from_nanos(0),
    unix: UnixMillis(1_700_000_000_000),
    unix_micros: 1_700_000_000_000_000,
};

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let engine = Engine::new(Config::default(), HostFacts::default(), 7, NOW);
    let stats = WorkerStats::default();
    let env = Env {
        engine: &engine,
        stats: &stats,
        now: NOW,
        clock: None,
    };
    let mut input = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{i:012}");
        let cmd = if what == "get" {
            format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len())
        } else {
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\nvalue-0123456789\r\n",
                key.len()
            )
        };
        input.extend_from_slice(cmd.as_bytes());
    }
    let mut conn = Conn::new(1);
    for _ in 0..rounds {
        conn.feed(&input, &env);
        let n = conn.output().len();
        conn.consume_output(n);
    }
    println!("{}", conn.output().len());
}
