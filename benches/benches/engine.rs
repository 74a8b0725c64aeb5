//! Criterion benches of the engine without sockets: the RESP parser on a pipelined batch,
//! and GET/SET through the command layer on the keyspace.
//!
//! Run: `cargo bench -p kv-benches --bench engine`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kv_core::config::Config;
use kv_core::conn::{Conn, Env};
use kv_core::engine::{Engine, HostFacts};
use kv_core::resp::{Parsed, Parser};
use kv_core::stats::WorkerStats;
use kv_core::time::{Instant, Now, UnixMillis};
use std::hint::black_box;

const NOW: Now = Now {
    mono: Instant::from_nanos(0),
    unix: UnixMillis(1_700_000_000_000),
    unix_micros: 1_700_000_000_000_000,
};

fn pipeline(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("key:{:012}", i % 100_000);
        v.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$16\r\nvalue-0123456789\r\n",
                key.len(),
                key
            )
            .as_bytes(),
        );
    }
    v
}

fn parse(c: &mut Criterion) {
    let input = pipeline(1000);
    let limits = Config::default().limits;
    let mut g = c.benchmark_group("resp");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("parse 1000 SETs", |b| {
        b.iter(|| {
            let mut p = Parser::new();
            let mut pos = 0;
            let mut n = 0;
            while let Ok(Parsed::Command { consumed }) = p.parse(&input[pos..], &limits, true) {
                n += p.args(&input[pos..]).len();
                pos += consumed;
            }
            black_box(n)
        })
    });
    g.finish();
}

fn commands(c: &mut Criterion) {
    let engine = Engine::new(Config::default(), HostFacts::default(), 7, NOW);
    let stats = WorkerStats::default();
    let env = Env {
        engine: &engine,
        stats: &stats,
        now: NOW,
        clock: None,
    };
    let sets = pipeline(1000);
    let mut gets = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{:012}", i % 100_000);
        gets.extend_from_slice(
            format!("*2\r\n$3\r\nGET\r\n${}\r\n{}\r\n", key.len(), key).as_bytes(),
        );
    }
    let mut g = c.benchmark_group("conn");
    g.throughput(Throughput::Elements(1000));
    for (name, input) in [("1000 SETs", &sets), ("1000 GETs", &gets)] {
        g.bench_function(name, |b| {
            let mut conn = Conn::new(1);
            b.iter(|| {
                conn.feed(input, &env);
                let n = conn.output().len();
                conn.consume_output(n);
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse, commands);
criterion_main!(benches);
