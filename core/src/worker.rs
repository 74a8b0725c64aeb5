//! [`Worker`]: owns a set of connections and drives them from readiness events.
//!
//! The driver (a thread with a `mio::Poll` in the server, a loop in a simulator) reports
//! readiness with [`Worker::ready`], sleeps for at most [`Worker::poll_timeout`], and then
//! calls [`Worker::handle_timeout`]. The worker reads its `Clock` once per batch, never
//! sleeps and never spawns. Sockets are edge-triggered: a connection is read until its socket
//! would block, except that one turn reads at most [`READS_PER_TURN`] times; a connection
//! with work left goes on the pending queue, which makes `poll_timeout` zero, so no client can
//! starve the others. Every tick ([`TICK`]) also runs a bounded slice of active expiry.
//!
//! Connections end inside the worker (the peer closed, a protocol error, QUIT, CLIENT KILL,
//! `timeout`) or by [`Worker::close`]; either way the socket goes back to the driver through
//! [`Worker::take_closed`], and its token is not reused before that. A readiness-based
//! driver asks [`Worker::interest`] which directions a connection waits for.

use crate::blocking::Mail;
use crate::clients::ClientAddr;
use crate::conn::{Conn, Env, State};
use crate::engine::Engine;
use crate::io::{IoError, Socket};
use crate::sync::Arc;
use crate::time::{Clock, Instant};
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::time::Duration;

/// Bytes read from a socket at a time (the worker's one read buffer).
pub const READ_CHUNK: usize = 64 * 1024;
/// Most reads one connection gets per turn before others are served.
pub const READS_PER_TURN: usize = 16;
/// Most bytes read and discarded from a socket that is closing after a protocol error,
/// so that the kernel sends FIN rather than RST and the client sees the error reply.
pub const DRAIN_ON_CLOSE_BYTES: usize = 4 * READ_CHUNK;
/// How often the periodic tick runs.
pub const TICK: Duration = Duration::from_millis(100);
/// Eviction calls one tick makes at most while memory stays above `maxmemory` (each as
/// much as `maxmemory-eviction-tenacity` allows: 16 x 500 keys by default).
pub const EVICT_CALLS_PER_TICK: usize = 16;
/// Shards of a database one step of active expiry visits (round-robin, shared by the
/// workers); a slice is a series of steps.
pub const EXPIRE_SHARDS_PER_STEP: usize = 8;
/// Most due deadlines one step examines per shard: at most 1,600 keys a step.
pub const EXPIRE_KEYS_PER_SHARD: usize = 200;
/// Most time one slice of active expiry takes (checked after each step) before the worker
/// serves its clients again, so that a mass expiry never stalls them for long.
pub const EXPIRE_SLICE: Duration = Duration::from_millis(5);
/// Steps one slice takes at most whatever the clock says (all shards of 16 databases).
pub const EXPIRE_STEPS_PER_SLICE: usize = 16 * crate::db::DEFAULT_SHARDS / EXPIRE_SHARDS_PER_STEP;
/// How soon the next slice runs when one ran out of time with keys still due (a mass
/// expiry is worked off in 5 ms slices every 10 ms, between the clients' commands).
pub const EXPIRE_BACKLOG_RETRY: Duration = Duration::from_millis(10);

/// How soon a worker looks again at replies waiting for the append-only file's fsync if
/// no wake-up came (the writer wakes it after each fsync; this is a safety net).
pub const DURABLE_RECHECK: Duration = Duration::from_millis(10);

/// A handle for one connection of a worker.
pub type Token = usize;

/// What a connection waits for ([`Worker::interest`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// It takes more input: call [`Worker::ready`] when the socket is readable.
    pub read: bool,
    /// It has output the socket did not take: call [`Worker::ready`] when the socket is
    /// writable.
    pub write: bool,
}

struct Slot<S> {
    socket: S,
    conn: Conn,
    queued: bool,
    /// The client closed its sending side: nothing more will be read; the requests it
    /// sent are still executed and answered, then the connection closes.
    eof: bool,
    /// Messages were appended to its output during this mail drain (flush it once).
    mail: bool,
    /// Bytes were read while mail was waiting and are held, unexecuted, until a mail
    /// delivery after that ([`Worker::deliveries`] then).
    held_at: Option<u64>,
    /// Listed in [`Worker::durable_wait`].
    durable_wait: bool,
    /// The last write or flush would have blocked.
    write_blocked: bool,
}

/// A worker: see the module documentation.
pub struct Worker<S: Socket, C: Clock> {
    engine: Arc<Engine>,
    clock: C,
    index: usize,
    slots: Vec<Option<Slot<S>>>,
    free: Vec<Token>,
    pending: VecDeque<Token>,
    buf: Vec<u8>,
    live: usize,
    shutting_down: bool,
    next_tick: Instant,
    /// Deadlines of blocked connections: (deadline, token, client id), earliest first.
    /// Entries whose connection is no longer blocked with that deadline are skipped.
    timeouts: BinaryHeap<Reverse<(Instant, Token, usize)>>,
    /// Mail deliveries so far (each [`Worker::deliver`] call), to tell whether mail that
    /// was waiting when a connection's bytes were held has been delivered since.
    deliveries: u64,
    /// Connections whose replies wait for the append-only file's fsync.
    durable_wait: Vec<Token>,
    /// Connections closed since the driver last called [`Worker::take_closed`], with
    /// their sockets (their tokens are not reused before that).
    closed: Vec<(Token, S)>,
    /// When the next slice of active expiry is due if the last one ran out of time.
    expire_backlog: Option<Instant>,
    /// The database the next slice of active expiry starts with.
    expire_db: usize,
}

impl<S: Socket, C: Clock> Worker<S, C> {
    /// Worker number `index` (its counter slot in the engine), reading time from `clock`.
    /// Its read buffer has the engine's [`crate::engine::Sizing::read_buffer`] bytes.
    pub fn new(engine: Arc<Engine>, clock: C, index: usize) -> Self {
        let next_tick = clock.now();
        let read_buffer = engine.sizing().read_buffer;
        Worker {
            engine,
            clock,
            index,
            slots: Vec::new(),
            free: Vec::new(),
            pending: VecDeque::new(),
            buf: vec![0; read_buffer],
            live: 0,
            shutting_down: false,
            next_tick,
            timeouts: BinaryHeap::new(),
            deliveries: 0,
            durable_wait: Vec::new(),
            closed: Vec::new(),
            expire_backlog: None,
            expire_db: 0,
        }
    }

    /// The clock the worker reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The engine the worker serves.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Admits a new connection as the engine decides ([`Engine::admit`]: `maxclients`,
    /// then protected mode for a peer that is not `loopback`): its token, or the socket
    /// back after the refusal's text was written to it (one write; the driver closes it).
    pub fn admit(&mut self, mut socket: S, addr: ClientAddr, loopback: bool) -> Result<Token, S> {
        match self.engine.admit(loopback) {
            crate::engine::Admission::Accept => Ok(self.add_with_addr(socket, addr)),
            refused => {
                let _ = socket.write(refused.reply());
                let _ = socket.flush();
                Err(socket)
            }
        }
    }

    /// Takes ownership of a new connection; returns its token.
    pub fn add(&mut self, socket: S) -> Token {
        self.add_with_addr(socket, ClientAddr::default())
    }

    /// Takes ownership of a new connection whose addresses the driver knows (CLIENT LIST
    /// shows them; CLIENT KILL ADDR matches them); returns its token.
    pub fn add_with_addr(&mut self, socket: S, addr: ClientAddr) -> Token {
        let id = self.engine.next_client_id();
        let mut conn = Conn::new(id);
        let now = self.clock.now();
        conn.touch(now);
        conn.session.addr.clone_from(&addr.addr);
        conn.session.authenticated = !self.engine.acl.auth_needed();
        conn.set_entry(self.engine.clients.register(id, addr, now));
        let slot = Slot {
            socket,
            conn,
            queued: false,
            eof: false,
            mail: false,
            held_at: None,
            durable_wait: false,
            write_blocked: false,
        };
        self.engine.stats.client_connected();
        self.live += 1;
        self.engine
            .worker_stats(self.index)
            .connections
            .set(self.live);
        let mut slot = slot;
        if self.shutting_down {
            slot.conn.close_after_flush();
        }
        let t = self.insert(slot);
        if let Some(Some(s)) = self.slots.get_mut(t) {
            s.conn.session.worker = self.index;
            s.conn.session.token = t;
        }
        t
    }

    fn insert(&mut self, slot: Slot<S>) -> Token {
        match self.free.pop() {
            Some(t) => {
                if let Some(s) = self.slots.get_mut(t) {
                    *s = Some(slot);
                }
                t
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    /// The socket of connection `t`, for the driver to register it.
    pub fn socket_mut(&mut self, t: Token) -> Option<&mut S> {
        self.slots.get_mut(t)?.as_mut().map(|s| &mut s.socket)
    }

    /// The tokens of the open connections.
    pub fn tokens(&self) -> impl Iterator<Item = Token> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(t, s)| s.as_ref().map(|_| t))
    }

    /// What connection `t` waits for; `None` if it is not open. A connection that read
    /// the end of its input, or is closing, no longer reads; one whose output the socket
    /// did not take waits to write.
    pub fn interest(&self, t: Token) -> Option<Interest> {
        let slot = self.slots.get(t)?.as_ref()?;
        Some(Interest {
            read: !slot.eof && slot.conn.state() == State::Open,
            write: slot.write_blocked,
        })
    }

    /// The connections closed since the last call, with their sockets, for the driver to
    /// release; their tokens may be reused from now on. A driver calls it after every
    /// [`Worker::ready`], [`Worker::handle_timeout`] or [`Worker::close`]: until then the
    /// sockets stay open.
    pub fn take_closed(&mut self) -> Vec<(Token, S)> {
        let closed = core::mem::take(&mut self.closed);
        self.free.extend(closed.iter().map(|(t, _)| *t));
        closed
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the worker has no connections.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Closes connection `t` now.
    pub fn close(&mut self, t: Token) {
        if let Some(slot) = self.slots.get_mut(t) {
            if let Some(old) = slot.take() {
                if old.conn.blocked() {
                    // Still waiting: forget it. Already served: its reply is on the way
                    // and will be undone when it finds no one here.
                    self.engine.blocking.cancel(old.conn.session.id);
                }
                if old.conn.postponed() {
                    self.engine.pause.forget(old.conn.session.id);
                }
                // Its buffers leave `used_memory` now, not at the next tick (eviction
                // reads it: a writer right after many clients closed must not see their
                // buffers). The tick's sum may not have counted all of them: at worst this
                // reads low until the next tick.
                let stats = self.engine.worker_stats(self.index);
                stats.buffer_bytes.set(
                    stats
                        .buffer_bytes
                        .get()
                        .saturating_sub(old.conn.buffer_bytes()),
                );
                // CLIENT KILL already took a killed client out of the count.
                let counted = !old.conn.entry().is_some_and(|e| e.killed());
                let mut session = old.conn.session;
                crate::cmd::transactions::forget_watches(&self.engine, &mut session);
                self.engine.pubsub.forget(&session.subs, session.id);
                if session.monitor {
                    self.engine.monitors.remove(session.id);
                }
                self.engine.clients.unregister(session.id);
                self.closed.push((t, old.socket));
                self.live -= 1;
                if counted {
                    self.engine.stats.client_disconnected();
                }
                self.engine
                    .worker_stats(self.index)
                    .connections
                    .set(self.live);
            }
        }
    }

    /// The socket of `t` is readable or writable (or both, or closed): do its work.
    pub fn ready(&mut self, t: Token) {
        let now = self.clock.snapshot();
        // Messages posted before this client's new requests arrived go out first.
        self.deliver(now);
        self.drive(t, now);
    }

    /// How long the driver may sleep before calling [`Worker::handle_timeout`].
    pub fn poll_timeout(&self) -> Duration {
        if !self.pending.is_empty() || self.engine.blocking.has_mail(self.index) {
            return Duration::ZERO;
        }
        let mut due = self.next_tick;
        if !self.durable_wait.is_empty() {
            // The writer wakes us after its fsync; look again soon anyway.
            due = due.min(self.clock.now().saturating_add(DURABLE_RECHECK));
        }
        if let Some(Reverse((d, _, _))) = self.timeouts.peek() {
            due = due.min(*d);
        }
        if let Some(d) = self.expire_backlog {
            due = due.min(d);
        }
        let left = due.saturating_duration_since(self.clock.now());
        match self.engine.pause.end() {
            // The pause is in force up to and including its end: wake just after it.
            Some(end) => {
                let ms = end
                    .saturating_add(1)
                    .saturating_sub(self.clock.unix_millis().0);
                left.min(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
            }
            None => left,
        }
    }

    /// Serves connections with work left and runs the periodic tick when it is due.
    pub fn handle_timeout(&mut self) {
        let now = self.clock.snapshot();
        self.engine.expire_pause(now);
        self.deliver(now);
        self.release_durable(now);
        self.expire_blocks(now);
        for _ in 0..self.pending.len() {
            let Some(t) = self.pending.pop_front() else {
                break;
            };
            if let Some(Some(slot)) = self.slots.get_mut(t) {
                slot.queued = false;
                self.drive(t, now);
            }
        }
        if self.expire_backlog.is_some_and(|d| now.mono >= d) && now.mono < self.next_tick {
            self.expire_slice(now);
        }
        if now.mono >= self.next_tick {
            self.next_tick = now.mono.saturating_add(TICK);
            let bytes = self
                .slots
                .iter()
                .flatten()
                .map(|s| s.conn.buffer_bytes())
                .sum();
            self.engine.worker_stats(self.index).buffer_bytes.set(bytes);
            self.expire_slice(now);
            if !self.engine.pause.active() {
                let _gate = self.engine.gate(self.index);
                // maxmemory: evict down to the limit without waiting for a command (a
                // lowered limit, a call that stopped at its work limit).
                for _ in 0..EVICT_CALLS_PER_TICK {
                    if self.engine.perform_evictions(now.unix) != crate::evict::Outcome::Running {
                        break;
                    }
                }
            }
            self.close_idle(now.mono);
            self.close_killed();
            self.engine.cron(now);
        }
    }

    /// One slice of active expiry: steps over the databases' shards until nothing visited
    /// is due, [`EXPIRE_SLICE`] has passed or [`EXPIRE_STEPS_PER_SLICE`] steps ran. A slice
    /// that ran out of time leaves a backlog: the next one runs [`EXPIRE_BACKLOG_RETRY`]
    /// later, before the next tick.
    fn expire_slice(&mut self, now: crate::time::Now) {
        self.expire_backlog = None;
        if self.engine.pause.active() {
            // CLIENT PAUSE keeps the keyspace constant.
            return;
        }
        let engine = Arc::clone(&self.engine);
        // Not while an EXEC runs: its transaction sees no key expire.
        let _gate = engine.gate(self.index);
        // Keys it removes are recorded in the append-only file in order.
        let feed = &engine.feed;
        let _order = feed.is_on().then(|| feed.order());
        let dbs = engine.dbs();
        let n = dbs.len().max(1);
        let start = self.clock.now();
        let mut steps = 0;
        // Each database gets steps until a round of its shards finds nothing due.
        for k in 0..n {
            let i = (self.expire_db + k) % n;
            let Some(db) = dbs.get(i) else { continue };
            let rounds = db.shard_count().div_ceil(EXPIRE_SHARDS_PER_STEP);
            let mut idle = 0;
            while idle < rounds {
                if steps == EXPIRE_STEPS_PER_SLICE
                    || self.clock.now().saturating_duration_since(start) >= EXPIRE_SLICE
                {
                    self.expire_db = i;
                    self.expire_backlog = Some(now.mono.saturating_add(EXPIRE_BACKLOG_RETRY));
                    return;
                }
                steps += 1;
                if db.reap(now.unix, EXPIRE_SHARDS_PER_STEP, EXPIRE_KEYS_PER_SHARD) == 0 {
                    idle += 1;
                } else {
                    idle = 0;
                }
            }
        }
        self.expire_db = (self.expire_db + 1) % n;
    }

    /// Sends the replies that waited for the append-only file's fsync, once it is past them.
    fn release_durable(&mut self, now: crate::time::Now) {
        if self.durable_wait.is_empty() {
            return;
        }
        let waiting = core::mem::take(&mut self.durable_wait);
        for t in waiting {
            let Some(Some(slot)) = self.slots.get_mut(t) else {
                continue;
            };
            slot.durable_wait = false;
            if slot.conn.release_durable(&self.engine.feed) || !slot.conn.holding() {
                self.drive(t, now);
            } else {
                slot.durable_wait = true;
                self.durable_wait.push(t);
            }
        }
        if !self.durable_wait.is_empty() {
            self.engine.feed.wait_durable();
        }
    }

    /// Hands the replies that other workers (or this one) produced for blocked clients to
    /// their connections and runs what those clients sent meanwhile; a reply whose client
    /// is gone is undone (its elements go back). Appends pub/sub messages and MONITOR lines
    /// to their clients' output, and resumes a client that CLIENT PAUSE postponed.
    fn deliver(&mut self, now: crate::time::Now) {
        self.deliveries = self.deliveries.wrapping_add(1);
        let mail = self.engine.blocking.take_mail(self.index);
        if mail.is_empty() {
            return;
        }
        let limits = self.engine.limits().obuf;
        let mut written: Vec<Token> = Vec::new();
        for m in mail {
            match m {
                Mail::Reply(d) => self.deliver_reply(d, now),
                Mail::Resume { token, client } => {
                    let here = matches!(
                        self.slots.get(token),
                        Some(Some(s)) if s.conn.session.id == client && s.conn.postponed()
                    );
                    if here {
                        if let Some(Some(slot)) = self.slots.get_mut(token) {
                            slot.conn.resume_postponed();
                        }
                        self.drive(token, now);
                    }
                    // Its commands ran (or it is gone): the next postponed client's turn.
                    self.engine.pause.resume_next(&self.engine.blocking);
                }
                Mail::Message {
                    token,
                    client,
                    bytes,
                    sub,
                } => {
                    let Some(Some(slot)) = self.slots.get_mut(token) else {
                        continue;
                    };
                    if slot.conn.session.id != client {
                        continue;
                    }
                    if let Some((kind, name)) = sub {
                        // Unsubscribed meanwhile: Redis never sends a message of a
                        // channel after the reply to its UNSUBSCRIBE.
                        let name = bytes.get(name).unwrap_or(&[]);
                        if !slot.conn.session.subs.holds(kind, name) {
                            continue;
                        }
                    }
                    if slot
                        .conn
                        .push_message(&bytes, &limits, now.mono, &self.engine)
                        && !slot.mail
                    {
                        slot.mail = true;
                        written.push(token);
                    }
                }
            }
        }
        for t in written {
            if let Some(Some(slot)) = self.slots.get_mut(t) {
                slot.mail = false;
                self.drive(t, now);
            }
        }
    }

    /// Hands a blocked client its reply, or undoes it if the client is gone.
    fn deliver_reply(&mut self, d: crate::blocking::Delivery, now: crate::time::Now) {
        let here = matches!(
            self.slots.get(d.token),
            Some(Some(s)) if s.conn.session.id == d.client && s.conn.blocked()
        );
        if here {
            if let Some(Some(slot)) = self.slots.get_mut(d.token) {
                let feed = &self.engine.feed;
                if feed.holds_replies() {
                    slot.conn.unblock_after(&d.reply, feed.recorded());
                } else {
                    slot.conn.unblock(&d.reply);
                }
            }
            self.drive(d.token, now);
        } else if let Some(u) = d.undo {
            let _gate = self.engine.gate(self.index);
            let feed = &self.engine.feed;
            let _order = feed.is_on().then(|| feed.order());
            crate::cmd::blocking::undo(&self.engine, u, now.unix);
        }
    }

    /// Times out blocked connections whose deadline passed: `*-1`, as Redis.
    fn expire_blocks(&mut self, now: crate::time::Now) {
        while let Some(Reverse((due, t, client))) = self.timeouts.peek().copied() {
            if due > now.mono {
                break;
            }
            self.timeouts.pop();
            let live = matches!(
                self.slots.get(t),
                Some(Some(s)) if s.conn.session.id == client && s.conn.deadline() == Some(due)
            );
            // Still waiting (not served meanwhile, whose reply would be in the mail)?
            if live && self.engine.blocking.cancel(client).is_some() {
                if let Some(Some(slot)) = self.slots.get_mut(t) {
                    slot.conn.unblock(b"*-1\r\n");
                }
                self.drive(t, now);
            }
        }
    }

    /// Closes connections idle for longer than the `timeout` setting (0 = never), as Redis
    /// does: without a reply.
    fn close_idle(&mut self, now: Instant) {
        let timeout = self.engine.config().timeout;
        if timeout == 0 {
            return;
        }
        let limit = Duration::from_secs(timeout);
        // Blocked (and paused) clients and monitors are exempt, as in Redis.
        self.close_where(|conn| {
            !conn.blocked() && !conn.postponed() && !conn.session.monitor && conn.idle(now) > limit
        });
    }

    /// Closes connections that CLIENT KILL marked.
    fn close_killed(&mut self) {
        self.close_where(|conn| conn.entry().is_some_and(|e| e.killed()));
    }

    fn close_where(&mut self, pred: impl Fn(&Conn) -> bool) {
        let doomed: Vec<Token> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(t, s)| s.as_ref().filter(|s| pred(&s.conn)).map(|_| t))
            .collect();
        for t in doomed {
            self.close(t);
        }
    }

    /// Starts a graceful shutdown: no connection executes anything more; each closes once
    /// its pending replies are written. The driver keeps polling until
    /// [`Worker::is_empty`] or its own deadline.
    pub fn shutdown(&mut self) {
        self.shutting_down = true;
        let now = self.clock.snapshot();
        for t in 0..self.slots.len() {
            if let Some(Some(slot)) = self.slots.get_mut(t) {
                slot.conn.close_after_flush();
                self.drive(t, now);
            }
        }
    }

    /// Writes what the connection may send; `None` when the socket is closed, else
    /// whether everything is out, the socket's own buffer ([`Socket::flush`]) included.
    fn flush(slot: &mut Slot<S>, engine: &Engine, index: usize) -> Option<bool> {
        while !slot.conn.sendable().is_empty() {
            match slot.socket.write(slot.conn.sendable()) {
                Ok(n) => {
                    engine.worker_stats(index).net_output_bytes.bump(n);
                    slot.conn.consume_output(n);
                }
                Err(IoError::WouldBlock) => {
                    slot.write_blocked = true;
                    return Some(false);
                }
                Err(IoError::Closed) => return None,
            }
        }
        let done = match slot.socket.flush() {
            Ok(()) => Some(true),
            Err(IoError::WouldBlock) => Some(false),
            Err(IoError::Closed) => None,
        };
        slot.write_blocked = done == Some(false);
        done
    }

    fn drive(&mut self, t: Token, now: crate::time::Now) {
        let engine = Arc::clone(&self.engine);
        let stats = engine.worker_stats(self.index);
        let env = Env {
            engine: &engine,
            stats,
            now,
            clock: Some(&self.clock),
        };
        let Some(Some(slot)) = self.slots.get_mut(t) else {
            return;
        };
        let mut reads = 0;
        let close = loop {
            let Some(flushed) = Self::flush(slot, &engine, self.index) else {
                break true;
            };
            match slot.conn.state() {
                State::Abort => break true,
                State::Closing => {
                    if slot.conn.output().is_empty() && flushed {
                        drain(&mut slot.socket, &mut self.buf);
                        break true;
                    }
                    break false; // wait until writable
                }
                State::Open => {}
            }
            if slot.conn.paused() && !slot.conn.output_full() {
                if slot.held_at == Some(self.deliveries) {
                    // Held bytes wait for the mail that was there when they were read.
                    if !slot.queued {
                        slot.queued = true;
                        self.pending.push_back(t);
                    }
                    break false;
                }
                slot.held_at = None;
                // Output drained below the mark: run the requests that waited. `resume`
                // either runs at least one of them or clears `paused`, so this ends.
                slot.conn.resume(&env);
                continue;
            }
            // Output over the mark or not, keep reading: while it is over, what arrives is
            // only buffered (bounded by client-query-buffer-limit), so a client that is
            // still writing its pipeline is never left blocked in `send` (Redis keeps
            // reading too). Execution resumes once the socket takes the output.
            if slot.eof {
                if slot.conn.output().is_empty() && !slot.conn.paused() && flushed {
                    break true; // everything it sent is answered
                }
                break false; // wait until writable
            }
            if reads == READS_PER_TURN {
                if !slot.queued {
                    slot.queued = true;
                    self.pending.push_back(t);
                }
                break false;
            }
            reads += 1;
            match slot.socket.read(&mut self.buf) {
                Ok(n) => {
                    stats.net_input_bytes.bump(n);
                    let data = self.buf.get(..n).unwrap_or(&[]);
                    if engine.blocking.has_mail(self.index) {
                        // Mail posted before these bytes were read goes out before their
                        // replies (a message published before the client sent its next
                        // command comes first, as in Redis): they run after the next
                        // delivery.
                        slot.conn.hold(data, &env);
                        slot.held_at = Some(self.deliveries);
                        if !slot.queued {
                            slot.queued = true;
                            self.pending.push_back(t);
                        }
                        break false;
                    }
                    slot.conn.feed(data, &env);
                }
                Err(IoError::WouldBlock) => break false,
                Err(IoError::Closed) => {
                    // End of input. Requests that wait behind unsent output were sent
                    // before it: run and answer them first (the output's own write fails
                    // if the client is gone altogether).
                    slot.eof = true;
                }
            }
        };
        if let Some(e) = slot.conn.entry() {
            e.set_omem(slot.conn.output().len());
        }
        if let Some(due) = slot.conn.take_new_deadline() {
            self.timeouts.push(Reverse((due, t, slot.conn.session.id)));
        }
        if !close && slot.conn.holding() && !slot.durable_wait {
            // Replies wait for the append-only file's fsync: the writer wakes us.
            slot.durable_wait = true;
            self.durable_wait.push(t);
            engine.feed.wait_durable();
        }
        if close {
            self.close(t);
        }
    }
}

/// Reads and discards what a closing client already sent, up to [`DRAIN_ON_CLOSE_BYTES`].
fn drain<S: Socket>(socket: &mut S, buf: &mut [u8]) {
    let mut left = DRAIN_ON_CLOSE_BYTES;
    while left > 0 {
        match socket.read(buf) {
            Ok(n) => left = left.saturating_sub(n.max(1)),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::HostFacts;
    use crate::io::MemSocket;
    use crate::time::{ManualClock, UnixMillis};

    fn worker() -> Worker<MemSocket, ManualClock> {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let engine = Arc::new(Engine::new(
            Config::default(),
            HostFacts::default(),
            3,
            clock.snapshot(),
        ));
        Worker::new(engine, clock, 0)
    }

    #[test]
    fn admission_interest_and_closed_sockets() {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let config = Config {
            maxclients: 1,
            ..Config::default()
        };
        let engine = Arc::new(Engine::with_sizing(
            config,
            HostFacts::default(),
            3,
            clock.snapshot(),
            crate::engine::Sizing::small(),
        ));
        assert_eq!(engine.db(0).shard_count(), 4);
        let mut w: Worker<MemSocket, ManualClock> = Worker::new(engine, clock, 0);
        assert_eq!(w.buf.len(), 1024);
        // Protected mode refuses a remote peer while the default user has no password.
        let Err(denied) = w.admit(MemSocket::default(), ClientAddr::default(), false) else {
            panic!("a remote peer admitted in protected mode");
        };
        assert!(denied
            .output
            .starts_with(b"-DENIED Redis is running in protected mode"));
        let t = w
            .admit(MemSocket::default(), ClientAddr::default(), true)
            .unwrap();
        // maxclients 1: the next one is turned away with Redis's text.
        let Err(full) = w.admit(MemSocket::default(), ClientAddr::default(), true) else {
            panic!("admitted past maxclients");
        };
        assert_eq!(full.output, b"-ERR max number of clients reached\r\n");
        assert_eq!(
            w.engine()
                .stats
                .rejected_connections
                .load(crate::sync::Ordering::Relaxed),
            2
        );
        assert_eq!(w.tokens().collect::<Vec<_>>(), [t]);
        assert_eq!(
            w.interest(t),
            Some(Interest {
                read: true,
                write: false
            })
        );
        // A socket that takes 4 bytes: the rest of the reply waits for writability.
        let s = w.socket_mut(t).unwrap();
        s.output_cap = Some(4);
        s.input.extend(b"PING\r\n".iter());
        w.ready(t);
        assert_eq!(
            w.interest(t),
            Some(Interest {
                read: true,
                write: true
            })
        );
        let s = w.socket_mut(t).unwrap();
        s.output_cap = None;
        s.input.extend(b"QUIT\r\n".iter());
        w.ready(t);
        assert_eq!(w.interest(t), None);
        let closed = w.take_closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].1.output, b"+PONG\r\n+OK\r\n");
        assert!(w.take_closed().is_empty());
    }

    #[test]
    fn serves_a_pipeline_through_small_reads_and_writes() {
        let mut w = worker();
        let mut s = MemSocket {
            max_read: 3,
            max_write: 2,
            ..MemSocket::default()
        };
        s.input.extend(b"SET k v\r\nGET k\r\nPING\r\n".iter());
        let t = w.add(s);
        w.ready(t);
        // 16 reads of 3 bytes cover the 30-byte pipeline only partly: the rest is pending.
        while w.poll_timeout() == Duration::ZERO {
            w.handle_timeout();
        }
        assert_eq!(
            w.socket_mut(t).unwrap().output,
            b"+OK\r\n$1\r\nv\r\n+PONG\r\n"
        );
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn protocol_error_flushes_then_closes() {
        let mut w = worker();
        let mut s = MemSocket::default();
        s.input.extend(b"PING\r\n*abc\r\nPING\r\n".iter());
        let t = w.add(s);
        // Keep the socket to look at it after close: read output before the close.
        w.ready(t);
        assert!(w.socket_mut(t).is_none(), "closed");
        assert_eq!(w.len(), 0);
        assert_eq!(
            w.engine
                .stats
                .connected_clients
                .load(crate::sync::Ordering::Relaxed),
            0
        );
    }

    #[test]
    fn peer_close_drops_the_connection() {
        let mut w = worker();
        let s = MemSocket {
            eof: true,
            ..MemSocket::default()
        };
        let t = w.add(s);
        w.ready(t);
        assert_eq!(w.len(), 0);
        // Not reused before the driver took the socket back; then reused.
        assert_ne!(w.add(MemSocket::default()), t);
        let closed = w.take_closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].0, t);
        assert_eq!(w.add(MemSocket::default()), t);
    }

    /// A client that writes its whole pipeline before it reads: the worker keeps taking
    /// its bytes while output is over the pause mark (so its `send` never blocks), runs
    /// nothing more until the output drains, and then answers everything in order.
    #[test]
    fn keeps_reading_a_pipeline_while_output_is_paused() {
        let mut w = worker();
        let value = "v".repeat(1000);
        let mut s = MemSocket {
            output_cap: Some(0),
            ..MemSocket::default()
        };
        s.input
            .extend(std::format!("SET k {value}\r\n").as_bytes().iter());
        let n = 5_000; // 5 MB of replies: far over the 1 MiB pause mark
        for _ in 0..n {
            s.input.extend(b"GET k\r\n".iter());
        }
        let sent = s.input.len();
        let t = w.add(s);
        // The client reads nothing yet; everything it sent is taken off the socket anyway.
        for _ in 0..100 {
            w.ready(t);
            w.handle_timeout();
        }
        let sock = w.socket_mut(t).unwrap();
        assert!(sock.input.is_empty(), "all {sent} bytes read while paused");
        assert!(sock.output.is_empty());
        // Now the client reads: every reply arrives, in order.
        let one = std::format!("${}\r\n{value}\r\n", value.len());
        let want = 5 + n * one.len();
        for _ in 0..10_000 {
            let sock = w.socket_mut(t).unwrap();
            if sock.output.len() >= want {
                break;
            }
            sock.output_cap = Some(sock.output.len() + 64 * 1024);
            w.ready(t);
        }
        let out = &w.socket_mut(t).unwrap().output;
        assert_eq!(out.len(), want);
        assert!(out.starts_with(b"+OK\r\n"));
        assert!(out[5..].chunks(one.len()).all(|c| c == one.as_bytes()));
    }

    /// A client that sends its requests and closes its sending side before reading all
    /// replies still gets every request executed and answered, then the connection closes.
    #[test]
    fn end_of_input_behind_paused_output_runs_what_was_sent_then_closes() {
        let mut w = worker();
        let mut s = MemSocket {
            output_cap: Some(0),
            eof: true,
            ..MemSocket::default()
        };
        let big = "x".repeat(300_000);
        let set = std::format!(
            "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{big}\r\n",
            big.len()
        );
        s.input.extend(set.as_bytes().iter());
        for _ in 0..8 {
            s.input.extend(b"GET big\r\n".iter());
        }
        s.input.extend(b"SET last 1\r\n".iter());
        let t = w.add(s);
        w.ready(t);
        assert_eq!(w.len(), 1, "still answering");
        assert!(w.socket_mut(t).unwrap().input.is_empty());
        for _ in 0..1000 {
            let Some(sock) = w.socket_mut(t) else { break };
            sock.output_cap = Some(sock.output.len() + 100_000);
            w.ready(t);
        }
        assert_eq!(w.len(), 0, "closed once everything was answered");
        // The last request ran although it was read only after the end of input.
        let found = w
            .engine
            .db(0)
            .exists(b"last", UnixMillis(1_700_000_000_000));
        assert!(found);
    }

    #[test]
    fn shutdown_flushes_and_closes_everything() {
        let mut w = worker();
        let mut s = MemSocket::default();
        s.input.extend(b"PING\r\n".iter());
        let t = w.add(s);
        w.ready(t);
        assert_eq!(w.len(), 1);
        w.shutdown();
        assert!(w.is_empty());
    }

    #[test]
    fn idle_clients_are_closed_after_the_timeout() {
        let mut w = worker();
        w.engine.set_config("timeout", "2").unwrap();
        let quiet = w.add(MemSocket::default());
        let busy = w.add(MemSocket::default());
        for _ in 0..25 {
            w.clock.advance(TICK);
            w.socket_mut(busy).unwrap().input.extend(b"PING\r\n".iter());
            w.ready(busy);
            w.handle_timeout();
        }
        assert!(w.socket_mut(quiet).is_none(), "idle for 2.5 s: closed");
        assert!(w.socket_mut(busy).is_some(), "active: open");
    }

    #[test]
    fn tick_is_scheduled_on_the_clock() {
        let mut w = worker();
        w.handle_timeout();
        assert_eq!(w.poll_timeout(), TICK);
        w.clock.advance(Duration::from_millis(60));
        assert_eq!(w.poll_timeout(), Duration::from_millis(40));
        w.clock.advance(Duration::from_millis(60));
        assert_eq!(w.poll_timeout(), Duration::ZERO);
        w.handle_timeout();
        assert_eq!(w.poll_timeout(), TICK);
    }

    #[test]
    fn active_expiry_removes_untouched_keys_on_the_simulated_clock() {
        let mut w = worker();
        let mut s = MemSocket::default();
        s.input
            .extend(b"SET k v PX 500\r\nSET forever v\r\n".iter());
        let t = w.add(s);
        w.ready(t);
        assert_eq!(w.engine.db(0).len(), 2);
        w.clock.advance(Duration::from_millis(400));
        w.handle_timeout();
        assert_eq!(w.engine.db(0).len(), 2);
        // Nobody touches the key: the tick after its time removes it.
        w.clock.advance(Duration::from_millis(200));
        w.handle_timeout();
        assert_eq!(w.engine.db(0).len(), 1);
        assert_eq!(w.engine.db(0).expired_total(), 1);
    }

    #[test]
    fn steady_state_keeps_expired_keys_under_ten_percent() {
        let mut w = worker();
        let t = w.add(MemSocket::default());
        // Keys with TTLs from 1 to 2000 ms keep arriving; after each 100 ms tick, at most
        // 10% of the keys in memory may be already expired.
        for round in 0..40u64 {
            let mut batch = std::vec::Vec::new();
            for i in 0..500u64 {
                let ttl = 1 + (i * 7919 + round * 104_729) % 2000;
                batch.extend_from_slice(std::format!("SET k{round}-{i} v PX {ttl}\r\n").as_bytes());
            }
            w.socket_mut(t).unwrap().input.extend(batch.iter());
            w.ready(t);
            while w.poll_timeout() == Duration::ZERO {
                w.handle_timeout();
            }
            w.clock.advance(TICK);
            w.handle_timeout();
            let now = w.clock.unix_millis();
            let total = w.engine.db(0).len();
            let mut live = 0;
            w.engine.db(0).for_each_key(now, |_| live += 1);
            assert!(
                (total - live) * 10 <= total,
                "round {round}: {live} live of {total}"
            );
        }
    }

    #[test]
    fn a_client_that_stops_reading_a_big_reply_does_not_spin_the_worker() {
        let mut w = worker();
        let big = "x".repeat(1_500_000);
        let mut s = MemSocket {
            output_cap: Some(600_000),
            ..MemSocket::default()
        };
        let set = std::format!("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n${}\r\n{big}\r\n", big.len());
        s.input.extend(set.as_bytes().iter());
        s.input.extend(b"GET b\r\n".iter());
        let t = w.add(s);
        // Returns (the regression was an endless loop here) with the reply partly written.
        w.ready(t);
        while w.poll_timeout() == Duration::ZERO {
            w.handle_timeout();
        }
        let sock = w.socket_mut(t).unwrap();
        assert_eq!(sock.output.len(), 600_000);
        // The client reads everything: the rest arrives.
        sock.output_cap = None;
        w.ready(t);
        let out = &w.socket_mut(t).unwrap().output;
        assert_eq!(out.len(), 5 + 10 + big.len() + 2);
        assert!(out.ends_with(b"xxx\r\n"));
    }

    fn out(w: &mut Worker<MemSocket, ManualClock>, t: Token) -> std::string::String {
        let s = w.socket_mut(t).unwrap();
        let o = std::string::String::from_utf8_lossy(&s.output).into_owned();
        s.output.clear();
        o
    }

    fn send(w: &mut Worker<MemSocket, ManualClock>, t: Token, bytes: &[u8]) {
        w.socket_mut(t).unwrap().input.extend(bytes.iter());
        w.ready(t);
        while w.poll_timeout() == Duration::ZERO {
            w.handle_timeout();
        }
    }

    #[test]
    fn client_pause_postpones_pipelines_and_unpause_resumes_them_in_order() {
        let mut w = worker();
        let (a, b, c) = (
            w.add(MemSocket::default()),
            w.add(MemSocket::default()),
            w.add(MemSocket::default()),
        );
        send(&mut w, a, b"CLIENT PAUSE 100000 WRITE\r\n");
        assert_eq!(out(&mut w, a), "+OK\r\n");
        send(&mut w, b, b"SET k 1\r\nGET k\r\n");
        send(&mut w, c, b"GET k\r\nSET k 2\r\nPING\r\n");
        assert_eq!(out(&mut w, b), "");
        assert_eq!(out(&mut w, c), "$-1\r\n", "reads run, the write waits");
        send(&mut w, a, b"INFO clients\r\nCLIENT LIST\r\n");
        let info = out(&mut w, a);
        assert!(info.contains("blocked_clients:2\r\n"), "{info}");
        assert_eq!(info.matches("flags=b ").count(), 2, "{info}");
        assert!(info.contains("flags=b db=0 sub=0 psub=0 ssub=0 multi=-1"));
        // More pipelined behind a postponed command waits too.
        send(&mut w, b, b"INCR n\r\n");
        assert_eq!(out(&mut w, b), "");
        send(&mut w, a, b"CLIENT UNPAUSE\r\nINFO clients\r\n");
        assert!(out(&mut w, a).contains("blocked_clients:0\r\n"));
        assert_eq!(out(&mut w, b), "+OK\r\n$1\r\n1\r\n:1\r\n");
        assert_eq!(out(&mut w, c), "+OK\r\n+PONG\r\n");
        send(&mut w, a, b"GET k\r\n");
        assert_eq!(
            out(&mut w, a),
            "$1\r\n2\r\n",
            "in the order they were postponed"
        );
    }

    #[test]
    fn client_pause_all_ends_at_its_deadline_and_a_closed_client_is_forgotten() {
        let mut w = worker();
        let (a, b, c) = (
            w.add(MemSocket::default()),
            w.add(MemSocket::default()),
            w.add(MemSocket::default()),
        );
        send(&mut w, a, b"CLIENT PAUSE 500 ALL\r\nPING\r\n");
        assert_eq!(out(&mut w, a), "+OK\r\n", "its own next command waits too");
        send(&mut w, b, b"PING\r\n");
        send(&mut w, c, b"PING\r\n");
        assert_eq!(w.engine.pause.postponed(), 3);
        w.close(c);
        assert_eq!(w.engine.pause.postponed(), 2);
        assert!(w.poll_timeout() <= Duration::from_millis(501));
        w.clock.advance(Duration::from_millis(500));
        w.handle_timeout();
        assert_eq!(out(&mut w, b), "", "in force up to its end");
        w.clock.advance(Duration::from_millis(1));
        w.handle_timeout();
        while w.poll_timeout() == Duration::ZERO {
            w.handle_timeout();
        }
        assert_eq!(out(&mut w, a), "+PONG\r\n");
        assert_eq!(out(&mut w, b), "+PONG\r\n");
    }

    #[test]
    fn monitors_see_every_client_and_stop_on_reset_or_close() {
        let mut w = worker();
        let addr = |p: u16| ClientAddr {
            addr: std::format!("127.0.0.1:{p}"),
            ..ClientAddr::default()
        };
        let m = w.add_with_addr(MemSocket::default(), addr(1));
        let c = w.add_with_addr(MemSocket::default(), addr(2));
        send(&mut w, m, b"MONITOR\r\nMONITOR\r\nGET k\r\nPING\r\n");
        let t = "+1700000000.000000";
        assert_eq!(
            out(&mut w, m),
            std::format!(
                "+OK\r\n-ERR Replica can't interact with the keyspace\r\n+PONG\r\n{t} [0 127.0.0.1:1] \"PING\"\r\n"
            )
        );
        send(
            &mut w,
            c,
            b"SELECT 2\r\nSET k \"a b\\n\"\r\nCONFIG GET x\r\nCLIENT ID\r\n",
        );
        assert_eq!(
            out(&mut w, m),
            std::format!(
                "{t} [2 127.0.0.1:2] \"SELECT\" \"2\"\r\n{t} [2 127.0.0.1:2] \"SET\" \"k\" \"a b\\n\"\r\n{t} [2 127.0.0.1:2] \"CLIENT\" \"ID\"\r\n"
            )
        );
        send(&mut w, c, b"CLIENT LIST\r\n");
        assert!(out(&mut w, c).contains("flags=O db=0"));
        send(&mut w, m, b"RESET\r\n");
        assert_eq!(out(&mut w, m), "+RESET\r\n");
        send(&mut w, c, b"PING\r\n");
        assert_eq!(out(&mut w, m), "");
        send(&mut w, m, b"MONITOR\r\n");
        assert_eq!(w.engine.monitors.len(), 1);
        w.close(m);
        assert!(w.engine.monitors.is_empty());
    }

    /// A socket with a buffer of its own (as a TLS session's records): `write` keeps the
    /// bytes; `flush` hands them on only while `open` is set.
    #[derive(Default)]
    struct Buffered {
        inner: MemSocket,
        held: Vec<u8>,
        open: bool,
    }

    impl Socket for Buffered {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
            self.inner.read(buf)
        }

        fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
            self.held.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> Result<(), IoError> {
            if !self.open {
                return Err(IoError::WouldBlock);
            }
            self.inner.output.append(&mut self.held);
            Ok(())
        }
    }

    #[test]
    fn a_closing_connection_waits_for_the_sockets_own_buffer() {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let engine = Arc::new(Engine::new(
            Config::default(),
            HostFacts::default(),
            3,
            clock.snapshot(),
        ));
        let mut w: Worker<Buffered, ManualClock> = Worker::new(engine, clock, 0);
        let mut s = Buffered::default();
        s.inner.input.extend(b"PING\r\nQUIT\r\n".iter());
        let t = w.add(s);
        w.ready(t);
        // The replies are in the socket's buffer, not out: QUIT's close waits.
        assert_eq!(w.len(), 1);
        assert!(w.socket_mut(t).unwrap().inner.output.is_empty());
        w.ready(t);
        assert_eq!(w.len(), 1);
        let s = w.socket_mut(t).unwrap();
        assert_eq!(s.held, b"+PONG\r\n+OK\r\n");
        s.open = true;
        w.ready(t); // writable
        assert_eq!(w.len(), 0);
        // The same at the end of input: answered, flushed, then closed.
        let mut s = Buffered::default();
        s.inner.input.extend(b"PING\r\n".iter());
        s.inner.eof = true;
        let t = w.add(s);
        w.ready(t);
        assert_eq!(w.len(), 1);
        w.socket_mut(t).unwrap().open = true;
        w.ready(t);
        assert_eq!(w.len(), 0);
    }
}
