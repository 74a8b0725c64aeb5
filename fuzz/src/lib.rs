//! Helpers shared by mini-kv's fuzz targets (`fuzz_targets/*.rs`): a clock the input moves,
//! a RESP2 reply checker, and a small driver of one real [`Worker`] over in-memory sockets.
//!
//! A new target is a file in `fuzz_targets/`, a `[[bin]]` entry in `Cargo.toml` and a few
//! seeds in `corpus/<name>/seed-*`; `ci/fuzz` finds it through `cargo fuzz list`.

use kv_core::config::{Config, Limits};
use kv_core::engine::{Engine, HostFacts};
use kv_core::io::MemSocket;
use kv_core::sync::Arc;
use kv_core::time::{Clock, Instant, UnixMillis};
use kv_core::{Token, Worker};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// A clock shared between the target (which moves it) and the worker (which reads it).
#[derive(Clone, Debug)]
pub struct FuzzClock {
    mono: Rc<Cell<u64>>,
    unix: Rc<Cell<i64>>,
}

impl FuzzClock {
    /// Monotonic 0, wall clock at a fixed instant (2023-11-14).
    pub fn new() -> Self {
        FuzzClock {
            mono: Rc::new(Cell::new(0)),
            unix: Rc::new(Cell::new(1_700_000_000_000)),
        }
    }

    /// Moves both readings forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.mono
            .set(self.mono.get().saturating_add(ms.saturating_mul(1_000_000)));
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        self.unix.set(self.unix.get().saturating_add(ms));
    }
}

impl Default for FuzzClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FuzzClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.mono.get())
    }
    fn unix_millis(&self) -> UnixMillis {
        UnixMillis(self.unix.get())
    }
}

/// A configuration for a fuzzed engine: one worker, `databases` databases, bulk strings
/// (and so every string value) of at most `max_bulk` bytes.
pub fn config(databases: usize, max_bulk: usize) -> Config {
    Config {
        workers: 1,
        databases,
        limits: Limits {
            proto_max_bulk_len: max_bulk,
            ..Limits::default()
        },
        ..Config::default()
    }
}

/// Most nested aggregates [`skip_reply`] follows (replies are far shallower).
const MAX_DEPTH: usize = 64;

/// The offset after the one RESP2 reply at `at` in `buf`, or `None` when it is cut short or
/// malformed. Iterative: a hostile depth cannot overflow the stack.
pub fn skip_reply(buf: &[u8], mut at: usize) -> Option<usize> {
    // Elements still to read in each open aggregate.
    let mut open: Vec<u64> = Vec::new();
    loop {
        let ty = *buf.get(at)?;
        let cr = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        let line = buf.get(at + 1..cr)?;
        at = cr + 2;
        match ty {
            b'+' | b'-' => {
                if line.contains(&b'\r') || line.contains(&b'\n') {
                    return None;
                }
            }
            b':' => {
                std::str::from_utf8(line).ok()?.parse::<i64>().ok()?;
            }
            b'$' => {
                let n: i64 = std::str::from_utf8(line).ok()?.parse().ok()?;
                if n >= 0 {
                    let end = at.checked_add(usize::try_from(n).ok()?)?;
                    if buf.get(end..end + 2)? != b"\r\n" {
                        return None;
                    }
                    at = end + 2;
                } else if n != -1 {
                    return None;
                }
            }
            b'*' => {
                let n: i64 = std::str::from_utf8(line).ok()?.parse().ok()?;
                if n > 0 {
                    if open.len() >= MAX_DEPTH {
                        return None;
                    }
                    open.push(u64::try_from(n).ok()? + 1);
                } else if n < -1 {
                    return None;
                }
            }
            _ => return None,
        }
        // One element done: close every aggregate it completes.
        loop {
            match open.last_mut() {
                None => return Some(at),
                Some(left) => {
                    *left -= 1;
                    if *left == 0 {
                        open.pop();
                    } else {
                        break;
                    }
                }
            }
        }
    }
}

/// Panics unless `buf` is a sequence of whole RESP2 replies.
pub fn assert_replies(buf: &[u8]) {
    let mut at = 0;
    while at < buf.len() {
        match skip_reply(buf, at) {
            Some(next) => at = next,
            None => panic!(
                "malformed reply at byte {at}: {:?}",
                String::from_utf8_lossy(buf.get(at..).unwrap_or_default())
            ),
        }
    }
}

/// Most turns [`Driver::settle`] runs (each serves every connection with work left).
pub const SETTLE_TURNS: usize = 64;

/// One real [`Worker`] with a few in-memory connections and a clock the input moves.
pub struct Driver {
    /// The worker under test.
    pub worker: Worker<MemSocket, FuzzClock>,
    /// Its engine.
    pub engine: Arc<Engine>,
    /// The clock it reads.
    pub clock: FuzzClock,
    /// Connection tokens, one a client slot (`None`: closed by the server).
    pub clients: Vec<Option<Token>>,
    /// `KV_FUZZ_DEBUG` is set: print each client's replies (to follow a reproduction).
    pub debug: bool,
}

impl Driver {
    /// A worker on a fresh engine made from `config`, with `clients` connections.
    pub fn new(config: Config, clients: usize) -> Self {
        let clock = FuzzClock::new();
        let engine = Arc::new(Engine::new(
            config,
            HostFacts::default(),
            0x5EED,
            clock.snapshot(),
        ));
        let mut worker = Worker::new(Arc::clone(&engine), clock.clone(), 0);
        let clients = (0..clients)
            .map(|_| Some(worker.add(MemSocket::default())))
            .collect();
        Driver {
            worker,
            engine,
            clock,
            clients,
            debug: std::env::var_os("KV_FUZZ_DEBUG").is_some(),
        }
    }

    /// Sends `bytes` from client `c` (reconnecting it first if the server closed it), runs
    /// the worker until it is idle, and checks every client's output is whole replies.
    pub fn send(&mut self, c: usize, bytes: &[u8]) {
        let Some(slot) = self.clients.get_mut(c) else {
            return;
        };
        let t = match *slot {
            Some(t) if self.worker.socket_mut(t).is_some() => t,
            _ => {
                let t = self.worker.add(MemSocket::default());
                *slot = Some(t);
                t
            }
        };
        if self.debug {
            eprintln!("client {c} sends {:?}", String::from_utf8_lossy(bytes));
        }
        if let Some(s) = self.worker.socket_mut(t) {
            s.input.extend(bytes.iter().copied());
        }
        self.worker.ready(t);
        self.settle();
    }

    /// Closes client `c` from its side (the next [`Driver::send`] reconnects it).
    pub fn hang_up(&mut self, c: usize) {
        if let Some(Some(t)) = self.clients.get(c).copied() {
            if let Some(s) = self.worker.socket_mut(t) {
                s.eof = true;
            }
            self.worker.ready(t);
            self.settle();
        }
    }

    /// Moves the clock forward by `ms` and lets the worker run its timers.
    pub fn advance(&mut self, ms: u64) {
        if self.debug {
            eprintln!("clock +{ms} ms");
        }
        self.clock.advance_ms(ms);
        self.worker.handle_timeout();
        self.settle();
    }

    /// Runs the worker while it has work left (bounded), then checks and clears the output.
    pub fn settle(&mut self) {
        for _ in 0..SETTLE_TURNS {
            if self.worker.poll_timeout() != Duration::ZERO {
                break;
            }
            self.worker.handle_timeout();
        }
        // Sockets of connections the server ended go back (their last output is not
        // checked: a protocol error's reply quotes the offending byte raw, `\r` included,
        // as Redis's does).
        drop(self.worker.take_closed());
        for (c, t) in self.clients.iter().enumerate() {
            if let Some(s) = t.and_then(|t| self.worker.socket_mut(t)) {
                if self.debug && !s.output.is_empty() {
                    eprintln!("client {c} gets {:?}", String::from_utf8_lossy(&s.output));
                }
                assert_replies(&s.output);
                s.output.clear();
            }
        }
    }
}

/// Appends `args` as one RESP multibulk request.
pub fn encode_request(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}
