//! End-to-end tests of mini-kv: each test starts a real `kv_server` process on a free
//! loopback port (and, for differential checks, a real `redis-server` as the oracle) and
//! talks to it over TCP with raw bytes, the `redis` crate, `redis-cli` and
//! `redis-benchmark`.

mod acl;
mod aof_format;
mod atomicity;
mod blocking_stress;
mod commands;
mod diff_acl;
mod diff_bitmaps;
mod diff_blocking;
mod diff_dump;
mod diff_glob;
mod diff_hashes;
mod diff_lists;
mod diff_monitor;
mod diff_notify;
mod diff_pubsub;
mod diff_sets;
mod diff_sort;
mod differential;
mod eviction;
mod example_client;
mod examples;
mod persist;
mod persist_aof;
mod pipeline;
mod protected;
mod protocol;
mod pubsub_stress;
mod support;
mod tls;
mod tools;
mod transactions;
