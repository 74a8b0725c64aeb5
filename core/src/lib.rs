//! `kv-core`: the engine of mini-kv, a Redis-compatible in-memory key-value server.
//!
//! The crate is `#![no_std]` + `alloc` and knows nothing about operating systems: bytes go in
//! through the [`io::Socket`] trait, time comes in through the [`time::Clock`] trait, and
//! [`worker::Worker`] drives connections from readiness events. Data flows one way:
//! bytes in -> [`resp`] parser -> [`cmd`] -> [`db`] keyspace -> [`resp`] encoder -> bytes out.
//!
//! The std frontend (`kv-server`) is one thin driver on top; anyone can write another
//! (a simulator, an embedded board, an async executor).
#![no_std]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![cfg_attr(
    not(test),
    warn(
        clippy::std_instead_of_core,
        clippy::std_instead_of_alloc,
        clippy::alloc_instead_of_core
    )
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod acl;
pub mod blocking;
pub mod clients;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod db;
pub mod engine;
pub mod evict;
pub mod glob;
pub mod io;
pub mod map;
pub mod monitor;
pub mod notify;
pub mod num;
pub mod pause;
pub mod persist;
pub mod pubsub;
pub mod resp;
pub mod stats;
pub mod sync;
pub mod time;
pub mod types;
pub mod watch;
pub mod worker;

pub use resp::parse::split_line;
pub use resp::reply::{encode_command, Reply, ReplyError, ReplyParser};

/// The Redis version whose semantics mini-kv implements, reported as `redis_version`.
pub const REDIS_VERSION: &str = "7.0.15";
/// mini-kv's own version, reported separately (`mini_kv_version` in INFO).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod testutil;
