//! `kv-core`: the engine of mini-kv, a Redis-compatible in-memory key-value server, as a
//! `#![no_std]` + `alloc` library that any runtime can drive.
//!
//! The crate knows nothing about operating systems: bytes come in through the [`Socket`]
//! trait (or straight through [`Sessions`]), time through the [`Clock`] trait. Data flows
//! one way: bytes in -> RESP parser -> commands -> keyspace -> RESP encoder -> bytes out.
//!
//! # The embedding surface
//!
//! Everything an embedder needs is re-exported here; the modules behind it are internal
//! (hidden from these docs) and may change.
//!
//! - [`Engine`]: the shared state (keyspaces, settings, counters), built from a [`Config`],
//!   [`HostFacts`] for INFO and [`Sizing`] knobs for small targets. Share it in an [`Arc`].
//! - [`Worker`]: drives a set of connections over the driver's own [`Socket`]s from
//!   readiness events: [`Worker::admit`] (`maxclients` and protected mode, with Redis's
//!   replies), [`Worker::ready`], [`Worker::poll_timeout`] / [`Worker::handle_timeout`],
//!   [`Worker::interest`] (read/write wanted), [`Worker::take_closed`] (sockets handed
//!   back). One worker a thread; any number of workers share an engine
//!   (`Config::workers` of them).
//! - [`Sessions`]: clients with no socket at all, request bytes in, reply bytes out.
//! - [`Clock`] (implemented for `&C`, `Rc<C>` and `Arc<C>` too) and [`ManualClock`] for
//!   tests and simulations; [`MemSocket`], an in-memory socket.
//! - [`persist`]: the RDB and append-only-file formats, for a driver with files.
//! - Client side: [`encode_command`], [`ReplyParser`] / [`Reply`] and [`split_line`]
//!   (redis-cli's quoting), as the example client `kv-cli` uses them.
//!
//! # Example
//!
//! ```
//! use kv_core::{Arc, Clock, Config, Engine, HostFacts, ManualClock, Sessions, UnixMillis};
//! use core::time::Duration;
//!
//! let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
//! let engine = Arc::new(Engine::new(Config::default(), HostFacts::default(), 42, clock.snapshot()));
//! let mut clients = Sessions::new(engine, &clock, 0);
//! let c = clients.open();
//! assert_eq!(clients.exec(c, b"SET greeting hello PX 500\r\n"), b"+OK\r\n");
//! assert_eq!(clients.exec(c, b"*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\n"), b"$5\r\nhello\r\n");
//! clock.advance(Duration::from_millis(501));
//! assert_eq!(clients.exec(c, b"GET greeting\r\n"), b"$-1\r\n");
//! ```
//!
//! A driver with sockets (see `examples/` in the repository for a `std::net` server, a
//! tokio one, a deterministic simulation and a WebAssembly module) loops over
//! `worker.admit(..)` for new connections, `worker.ready(token)` for readiness,
//! `worker.handle_timeout()` when [`Worker::poll_timeout`] passed, and releases the
//! sockets [`Worker::take_closed`] returns.
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

#[doc(hidden)]
pub mod acl;
#[doc(hidden)]
pub mod blocking;
#[doc(hidden)]
pub mod clients;
#[doc(hidden)]
pub mod cmd;
pub mod config;
#[doc(hidden)]
pub mod conn;
#[doc(hidden)]
pub mod db;
#[doc(hidden)]
pub mod engine;
#[doc(hidden)]
pub mod evict;
#[doc(hidden)]
pub mod glob;
#[doc(hidden)]
pub mod io;
#[doc(hidden)]
pub mod latency;
#[doc(hidden)]
pub mod map;
#[doc(hidden)]
pub mod monitor;
#[doc(hidden)]
pub mod notify;
#[doc(hidden)]
pub mod num;
#[doc(hidden)]
pub mod pause;
pub mod persist;
#[doc(hidden)]
pub mod pubsub;
pub mod resp;
#[doc(hidden)]
pub mod session;
#[doc(hidden)]
pub mod slowlog;
#[doc(hidden)]
pub mod stats;
#[doc(hidden)]
pub mod sync;
#[doc(hidden)]
pub mod time;
#[doc(hidden)]
pub mod types;
#[doc(hidden)]
pub mod watch;
#[doc(hidden)]
pub mod worker;

pub use clients::ClientAddr;
pub use config::Config;
pub use engine::{Admission, Engine, HostFacts, Sizing};
pub use io::{IoError, MemSocket, Socket};
pub use persist::Storage;
pub use resp::parse::split_line;
pub use resp::reply::{encode_command, Reply, ReplyError, ReplyParser};
pub use session::Sessions;
pub use sync::{set_yield, Arc};
pub use time::{Clock, Instant, ManualClock, Now, UnixMillis};
pub use worker::{Interest, Token, Worker, TICK};

/// The Redis version whose semantics mini-kv implements, reported as `redis_version`.
pub const REDIS_VERSION: &str = "7.0.15";
/// mini-kv's own version, reported separately (`mini_kv_version` in INFO).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod testutil;
