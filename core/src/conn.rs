//! One client connection as a state machine: input buffer, parser, pipelined commands
//! executed in order, output buffer. It does no I/O: the worker hands it the bytes it read
//! ([`Conn::feed`]) and takes the bytes to write ([`Conn::output`], [`Conn::consume_output`]).
//!
//! Bytes are parsed straight from the buffer they were read into; only a partial request
//! is copied into the connection's own input buffer, so an idle connection holds no buffer.
//! A protocol error writes its reply and closes once earlier replies are flushed; QUIT does
//! the same after `+OK`. When unsent output passes [`OUTPUT_PAUSE_BYTES`], the connection
//! stops executing until the client has read some of it; the worker keeps reading its
//! socket meanwhile, into the input buffer (bounded by `client-query-buffer-limit`), so a
//! client that writes its whole pipeline before it reads any reply never deadlocks.

use crate::cmd::{self, Ctx, Flow, Session};
use crate::engine::Engine;
use crate::resp::{Parsed, Parser};
use crate::stats::WorkerStats;
use crate::time::{Clock, Now};
use alloc::vec::Vec;

/// Unsent output above which a connection stops executing requests until the client reads
/// (1 MiB); what the client sends meanwhile is buffered, not executed.
pub const OUTPUT_PAUSE_BYTES: usize = 1024 * 1024;
/// Buffer capacity a connection keeps once its buffer is empty; larger buffers are freed
/// (4 KiB), so idle connections stay small.
pub const KEEP_BUFFER_BYTES: usize = 4 * 1024;
/// Argument slots the parser keeps between requests; more are freed after a huge request.
pub const KEEP_ARG_SLOTS: usize = 64;

/// What the worker should do with the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Reading and executing.
    Open,
    /// Flush the output, then close; read nothing more.
    Closing,
    /// Close now without flushing (query buffer over its limit).
    Abort,
}

/// Everything a connection needs from its worker to execute commands.
pub struct Env<'a> {
    /// Shared state.
    pub engine: &'a Engine,
    /// The worker's counters.
    pub stats: &'a WorkerStats,
    /// The time of this batch.
    pub now: Now,
    /// A clock to time each command with (INFO commandstats); `None` counts no time.
    pub clock: Option<&'a dyn Clock>,
}

/// One client connection. See the module documentation.
#[derive(Debug)]
pub struct Conn {
    /// State the commands see.
    pub session: Session,
    /// A partial request (or requests paused by backpressure) carried between reads; the
    /// bytes before `input_pos` were already executed.
    input: Vec<u8>,
    /// Where the unexecuted part of `input` starts. The executed prefix is dropped once it
    /// is at least half of the buffer, so resuming a long paused pipeline step by step
    /// moves each byte a bounded number of times.
    input_pos: usize,
    parser: Parser,
    output: Vec<u8>,
    /// Bytes of `output` already written.
    written: usize,
    state: State,
    /// True when complete requests wait in `input` because output was over the pause mark.
    paused: bool,
    /// When the client last sent anything (for the idle `timeout`).
    last_active: crate::time::Instant,
    /// This client's entry in the engine's registry, if registered.
    entry: Option<crate::sync::Arc<crate::clients::ClientEntry>>,
    /// Blocked by a blocking command (BLPOP...): nothing more runs until the reply arrives
    /// ([`Conn::unblock`]); input is still read and buffered, as while paused.
    blocked: bool,
    /// Postponed by CLIENT PAUSE: the command at the start of the unexecuted input runs
    /// again once the pause is over ([`Conn::resume_postponed`]); input is still read
    /// and buffered, as while blocked.
    postponed: bool,
    /// The reply that ends the block is dropped (CLIENT REPLY OFF or SKIP was in force).
    drop_block_reply: bool,
    /// When the block times out, if it does.
    deadline: Option<crate::time::Instant>,
    /// A deadline set since the worker last looked ([`Conn::take_new_deadline`]).
    new_deadline: Option<crate::time::Instant>,
    /// Since when unsent output has been at or over its class's soft limit
    /// (`client-output-buffer-limit`).
    soft_since: Option<crate::time::Instant>,
    /// `appendfsync always`: output from this index on waits until the append-only file
    /// is durable past `hold_seq` (the replies of writes not yet fsynced, and everything
    /// after them, in order).
    hold_from: Option<usize>,
    /// The feed offset the held output waits for.
    hold_seq: usize,
}

impl Conn {
    /// A new connection with client id `id`. Allocates no buffers.
    pub fn new(id: usize) -> Self {
        Conn {
            session: Session::new(id),
            input: Vec::new(),
            input_pos: 0,
            parser: Parser::new(),
            output: Vec::new(),
            written: 0,
            state: State::Open,
            paused: false,
            last_active: crate::time::Instant::default(),
            entry: None,
            blocked: false,
            postponed: false,
            drop_block_reply: false,
            deadline: None,
            new_deadline: None,
            soft_since: None,
            hold_from: None,
            hold_seq: 0,
        }
    }

    /// Attaches the registry entry this connection publishes itself into.
    pub fn set_entry(&mut self, entry: crate::sync::Arc<crate::clients::ClientEntry>) {
        self.entry = Some(entry);
    }

    /// The registry entry, if any.
    pub fn entry(&self) -> Option<&crate::clients::ClientEntry> {
        self.entry.as_deref()
    }

    /// Publishes name, database, last command and buffer sizes for CLIENT LIST (once per
    /// batch of work).
    fn publish(&self) {
        let Some(entry) = &self.entry else { return };
        let s = &self.session;
        entry.publish(|v| {
            if v.name != s.name {
                v.name.clone_from(&s.name);
            }
            if v.lib != s.lib {
                v.lib.clone_from(&s.lib);
            }
            if v.user != s.user {
                v.user.clone_from(&s.user);
            }
            v.db = s.db;
            v.cmd = s.cmd;
            v.monitor = s.monitor;
            v.qbuf = self.pending_input();
            v.tot_mem = self.buffer_bytes();
            v.last_active = self.last_active;
            v.subs = (
                s.subs.channels.len(),
                s.subs.patterns.len(),
                s.subs.shard.len(),
            );
            v.multi = s.multi.as_ref().map(|m| (m.queue.len(), m.mem));
        });
    }

    /// Records activity at `now` (the idle clock restarts).
    pub fn touch(&mut self, now: crate::time::Instant) {
        self.last_active = now;
    }

    /// How long the client has sent nothing, at `now`.
    pub fn idle(&self, now: crate::time::Instant) -> core::time::Duration {
        now.saturating_duration_since(self.last_active)
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Unsent output.
    pub fn output(&self) -> &[u8] {
        self.output.get(self.written..).unwrap_or(&[])
    }

    /// The part of [`Conn::output`] that may be written now: all of it, unless replies
    /// wait for the append-only file's fsync ([`Conn::holding`]).
    pub fn sendable(&self) -> &[u8] {
        let len = self.output.len();
        let end = self.hold_from.map_or(len, |h| h.min(len));
        self.output.get(self.written..end).unwrap_or(&[])
    }

    /// Whether output waits for the append-only file's fsync.
    pub fn holding(&self) -> bool {
        self.hold_from.is_some()
    }

    /// Holds the output from `from` on (an index into the output) until the append-only
    /// file is durable past `seq`.
    fn hold_output(&mut self, from: usize, seq: usize) {
        if self.hold_from.is_none() {
            self.hold_from = Some(from.max(self.written));
        }
        self.hold_seq = seq;
    }

    /// Lets the held output go if the feed is durable past it; true if it was released.
    pub fn release_durable(&mut self, feed: &crate::persist::feed::Feed) -> bool {
        if self.hold_from.is_some() && feed.is_durable(self.hold_seq) {
            self.hold_from = None;
            return true;
        }
        false
    }

    /// Records that the first `n` bytes of [`Conn::output`] were written.
    pub fn consume_output(&mut self, n: usize) {
        self.written = (self.written + n).min(self.output.len());
        if self.written == self.output.len() {
            // A hold with nothing behind it has nothing left to hold.
            self.hold_from = None;
            self.output.clear();
            self.written = 0;
            // Under every limit again: the soft limit's clock restarts.
            self.soft_since = None;
            if self.output.capacity() > KEEP_BUFFER_BYTES {
                self.output = Vec::new();
            }
        }
    }

    /// True when unsent output is over [`OUTPUT_PAUSE_BYTES`]: execute nothing more until
    /// the client reads.
    pub fn output_full(&self) -> bool {
        self.output.len() - self.written > OUTPUT_PAUSE_BYTES
    }

    /// True while blocked by a blocking command.
    pub fn blocked(&self) -> bool {
        self.blocked
    }

    /// True while postponed by CLIENT PAUSE.
    pub fn postponed(&self) -> bool {
        self.postponed
    }

    /// The pause that postponed the connection is over: the postponed command (and what
    /// the client sent behind it) runs at the worker's next turn on this connection.
    pub fn resume_postponed(&mut self) {
        if core::mem::take(&mut self.postponed) {
            self.paused = self.pending_input() > 0;
        }
    }

    /// The blocked client's deadline, if it has one.
    pub fn deadline(&self) -> Option<crate::time::Instant> {
        self.deadline.filter(|_| self.blocked)
    }

    /// A deadline this connection set since the last call (the worker queues it).
    pub fn take_new_deadline(&mut self) -> Option<crate::time::Instant> {
        self.new_deadline.take()
    }

    /// Ends a block with `reply` (served, timed out, unblocked); the requests that arrived
    /// meanwhile run at the worker's next turn on this connection.
    pub fn unblock(&mut self, reply: &[u8]) {
        if !self.blocked {
            return;
        }
        self.blocked = false;
        self.deadline = None;
        if !core::mem::take(&mut self.drop_block_reply) {
            self.output.extend_from_slice(reply);
        }
        self.paused = self.pending_input() > 0;
    }

    /// As [`Conn::unblock`], with the reply held until the append-only file is durable
    /// past `seq` (the pop that served it was recorded before this).
    pub fn unblock_after(&mut self, reply: &[u8], seq: usize) {
        let from = self.output.len();
        self.unblock(reply);
        self.hold_output(from, seq);
    }

    /// Appends a pub/sub message (or MONITOR line) to the output, unless the client
    /// silenced its replies or is closing; then applies `client-output-buffer-limit`.
    /// True if the output changed (the worker flushes it).
    pub fn push_message(
        &mut self,
        bytes: &[u8],
        limits: &[crate::config::ObufLimit; 3],
        now: crate::time::Instant,
        engine: &Engine,
    ) -> bool {
        // Pub/sub messages (arrays) are pushes: Redis sends them even under CLIENT REPLY
        // OFF; MONITOR lines (simple strings) are ordinary replies, dropped then.
        if self.state != State::Open || (self.session.reply_off && !crate::pubsub::is_push(bytes)) {
            return false;
        }
        self.output.extend_from_slice(bytes);
        self.check_output_limit(limits, now, engine);
        true
    }

    /// Closes the client (without flushing) when its unsent output is over its class's
    /// hard limit, or over the soft limit for longer than allowed, with a log line, as
    /// Redis's `checkClientOutputBufferLimits`. Subscribers are the pubsub class, everyone
    /// else normal.
    fn check_output_limit(
        &mut self,
        limits: &[crate::config::ObufLimit; 3],
        now: crate::time::Instant,
        engine: &Engine,
    ) {
        let class = if self.session.subs.total() > 0 { 2 } else { 0 };
        let Some(l) = limits.get(class) else { return };
        let used = (self.output.len() - self.written) as u64;
        let hard = l.hard != 0 && used >= l.hard;
        let mut soft = l.soft != 0 && used >= l.soft;
        if soft {
            match self.soft_since {
                None => {
                    self.soft_since = Some(now);
                    soft = false;
                }
                Some(since) => {
                    soft = now.saturating_duration_since(since).as_secs() > l.soft_seconds;
                }
            }
        } else {
            self.soft_since = None;
        }
        if hard || soft {
            self.state = State::Abort;
            let addr = self.entry().map_or("", |e| e.addr.addr.as_str());
            engine.warn(&alloc::format!(
                    "Client id={} addr={} omem={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    self.session.id, addr, used
                ),
            );
        }
    }

    /// True when complete requests are waiting for output to drain.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Bytes this connection holds in buffers (for INFO's used_memory).
    pub fn buffer_bytes(&self) -> usize {
        self.input.capacity() + self.output.capacity()
    }

    /// Stops the connection: no more requests run; it closes once output is flushed.
    pub fn close_after_flush(&mut self) {
        if self.state == State::Open {
            self.state = State::Closing;
        }
    }

    /// Executes the requests in `data` (bytes just read), after any buffered partial
    /// request, in order.
    pub fn feed(&mut self, data: &[u8], env: &Env<'_>) {
        self.last_active = env.now.mono;
        if self.state != State::Open {
            return;
        }
        self.feed_inner(data, env);
        self.publish();
    }

    /// Buffers `data` (bytes just read) without executing it: the worker has mail to
    /// deliver first (messages published before the client sent these bytes), then runs
    /// it with [`Conn::resume`].
    pub fn hold(&mut self, data: &[u8], env: &Env<'_>) {
        self.last_active = env.now.mono;
        if self.state != State::Open {
            return;
        }
        if self.pending_input() == 0 {
            self.input.clear();
            self.input_pos = 0;
        }
        self.input.extend_from_slice(data);
        self.check_query_limit(env);
        self.paused = true;
    }

    /// Bytes received and not yet executed.
    fn pending_input(&self) -> usize {
        self.input.len() - self.input_pos
    }

    fn feed_inner(&mut self, data: &[u8], env: &Env<'_>) {
        if self.pending_input() == 0 {
            let used = self.run(data, env);
            let rest = data.get(used..).unwrap_or(&[]);
            if !rest.is_empty() && self.state == State::Open {
                self.input.clear();
                self.input_pos = 0;
                self.input.extend_from_slice(rest);
                self.check_query_limit(env);
            }
        } else {
            self.input.extend_from_slice(data);
            self.check_query_limit(env);
            self.resume(env);
        }
    }

    /// Executes complete requests that waited in the input buffer (after backpressure).
    /// While unsent output is over [`OUTPUT_PAUSE_BYTES`] this executes nothing: the bytes
    /// the worker keeps reading meanwhile only accumulate (up to `client-query-buffer-limit`).
    pub fn resume(&mut self, env: &Env<'_>) {
        if self.state != State::Open || self.pending_input() == 0 {
            self.paused = false;
            return;
        }
        let input = core::mem::take(&mut self.input);
        let used = self.run(input.get(self.input_pos..).unwrap_or(&[]), env);
        self.input = input;
        self.input_pos = (self.input_pos + used).min(self.input.len());
        if self.input_pos == self.input.len() {
            self.input.clear();
            self.input_pos = 0;
            if self.input.capacity() > KEEP_BUFFER_BYTES {
                self.input = Vec::new();
            }
        } else if self.input_pos > 0 && self.input_pos >= self.input.len() / 2 {
            self.input.drain(..self.input_pos);
            self.input_pos = 0;
        }
        self.publish();
    }

    fn check_query_limit(&mut self, env: &Env<'_>) {
        if self.pending_input() > env.engine.limits().query_buffer_max {
            // Redis closes such a client without a reply.
            self.state = State::Abort;
            self.input = Vec::new();
            self.input_pos = 0;
        }
    }

    /// Parses and executes requests at the start of `buf`; returns the bytes consumed.
    fn run(&mut self, buf: &[u8], env: &Env<'_>) -> usize {
        let limits = &env.engine.limits();
        let mut pos = 0;
        self.paused = false;
        while self.state == State::Open && !self.blocked && !self.postponed {
            if self.output_full() {
                // Requests left in `buf` wait until the client reads.
                self.paused = pos < buf.len();
                break;
            }
            let rest = buf.get(pos..).unwrap_or(&[]);
            match self.parser.parse(rest, limits, true) {
                Ok(Parsed::Incomplete) => break,
                Ok(Parsed::Empty { consumed }) => pos += consumed,
                Ok(Parsed::Command { consumed }) => {
                    let args = self.parser.args(rest);
                    let mark = self.output.len();
                    self.session.skip_this = core::mem::take(&mut self.session.skip_next);
                    let mut ctx = Ctx {
                        engine: env.engine,
                        stats: env.stats,
                        now: env.now,
                        session: &mut self.session,
                    };
                    let started = env.clock.map(|c| c.now());
                    let (flow, ran) = cmd::dispatch(&mut ctx, &args, &mut self.output);
                    let elapsed = started
                        .zip(env.clock)
                        .map(|(start, clock)| clock.now().saturating_duration_since(start));
                    let us =
                        elapsed.map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
                    // A command that blocked or was postponed is not logged (Redis logs a
                    // blocked one when it is served).
                    if let (Some(_), Some(i)) = (elapsed, ran) {
                        if env.engine.slowlog.wants(us)
                            && self.session.block.is_none()
                            && flow != Flow::Postpone
                        {
                            log_slow(&self.session, env, &args, i, us);
                        }
                    }
                    if let Some(seq) = self.session.aof_seq.take() {
                        self.hold_output(mark, seq);
                    }
                    if flow == Flow::Postpone {
                        // CLIENT PAUSE: this request stays unexecuted in the input, and
                        // runs again, from the start, when the pause is over.
                        self.session.skip_next = self.session.skip_this;
                        self.postponed = true;
                        break;
                    }
                    if let (Some(_), Some(i)) = (elapsed, ran) {
                        let slot = cmd::stat_slot(i, self.session.cmd.1);
                        if let Some(c) = env.stats.per_command.get(slot) {
                            c.usec.bump(usize::try_from(us).unwrap_or(usize::MAX));
                            if let Some(g) = env.engine.latency_generation() {
                                // Redis records whole microseconds, in nanoseconds.
                                c.latency.record(g, us.saturating_mul(1000));
                            }
                            env.engine.latency_monitor.add_if_needed(
                                || match cmd::COMMANDS.get(i) {
                                    Some(c) if c.is_fast() => "fast-command",
                                    _ => "command",
                                },
                                env.now.unix.0.div_euclid(1000),
                                us / 1000,
                            );
                        }
                    }
                    // CLIENT REPLY OFF / SKIP: the command ran, its reply is dropped; but
                    // (un)subscribe acknowledgements are pushes, which Redis sends anyway.
                    if (self.session.reply_off || self.session.skip_this)
                        && !ran
                            .and_then(|i| cmd::COMMANDS.get(i))
                            .is_some_and(|c| c.pubsub_first() && c.name.ends_with("subscribe"))
                    {
                        self.output.truncate(mark.max(self.written));
                    }
                    match flow {
                        Flow::Continue => {}
                        Flow::CloseAfterReply | Flow::CloseSilently => self.state = State::Closing,
                        Flow::Postpone => {}
                    }
                    if let Some(ms) = self.session.block.take() {
                        // Registered as blocked: stop here until the reply arrives.
                        self.blocked = true;
                        self.drop_block_reply = self.session.reply_off || self.session.skip_this;
                        self.deadline = (ms > 0).then(|| {
                            env.now
                                .mono
                                .saturating_add(core::time::Duration::from_millis(ms))
                        });
                        self.new_deadline = self.deadline;
                    }
                    pos += consumed;
                }
                Err(e) => {
                    let mark = self.output.len();
                    e.reply(&mut self.output);
                    // Counted in `total_error_replies` and Errorstats, as Redis's
                    // `addReplyError` counts its protocol errors.
                    env.engine
                        .stats
                        .errors
                        .lock()
                        .record(self.output.get(mark..).unwrap_or_default());
                    self.state = State::Closing;
                }
            }
        }
        if self.parser.at_start() {
            self.parser.shrink(KEEP_ARG_SLOTS);
        }
        if self.state == State::Open {
            self.check_output_limit(&limits.obuf, env.now.mono, env.engine);
        }
        pos
    }
}

/// Adds command `index` (with `args`, which took `micros`) to the slow log, AUTH's and
/// HELLO's secrets redacted as monitors see them.
#[cold]
#[inline(never)]
fn log_slow(s: &Session, env: &Env<'_>, args: &crate::resp::Args<'_>, index: usize, micros: u64) {
    let Some(cmd) = cmd::COMMANDS.get(index) else {
        return;
    };
    if cmd.skips_slowlog() {
        return;
    }
    let name = s.name.as_deref().unwrap_or_default();
    let secs = env.now.unix.0.div_euclid(1000);
    match cmd::acl::redacted(cmd, args) {
        Some((src, ranges)) => {
            let shown = crate::resp::Args::new(&src, &ranges);
            env.engine.slowlog.push(&shown, micros, secs, &s.addr, name);
        }
        None => env.engine.slowlog.push(args, micros, secs, &s.addr, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::Harness;
    use std::vec::Vec as StdVec;

    #[test]
    fn pipeline_in_order_then_protocol_error_closes() {
        let h = Harness::new();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let mut c = Conn::new(7);
        c.feed(b"SET a 1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n*ab", &e);
        assert_eq!(c.output(), b"+OK\r\n$1\r\n1\r\n+PONG\r\n");
        assert_eq!(c.state(), State::Open);
        c.feed(b"c\r\nPING\r\n", &e);
        assert_eq!(
            c.output(),
            b"+OK\r\n$1\r\n1\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
        );
        assert_eq!(c.state(), State::Closing);
        c.feed(b"PING\r\n", &e);
        let n = c.output().len();
        c.consume_output(n);
        assert!(c.output().is_empty());
    }

    #[test]
    fn partial_requests_are_buffered_and_idle_connections_hold_nothing() {
        let h = Harness::new();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let mut c = Conn::new(1);
        let req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        for b in req.chunks(1) {
            c.feed(b, &e);
        }
        assert_eq!(c.output(), b"+OK\r\n$5\r\nhello\r\n");
        let n = c.output().len();
        c.consume_output(n);
        assert_eq!(c.input.len(), 0);
        assert!(c.buffer_bytes() <= 2 * KEEP_BUFFER_BYTES);
    }

    #[test]
    fn backpressure_pauses_and_resumes_in_order() {
        let h = Harness::new();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let mut c = Conn::new(1);
        let big = "x".repeat(600 * 1024);
        let set = std::format!(
            "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{big}\r\n",
            big.len()
        );
        c.feed(set.as_bytes(), &e);
        assert_eq!(c.output(), b"+OK\r\n");
        c.consume_output(5);
        let mut pipeline = StdVec::new();
        for _ in 0..4 {
            pipeline.extend_from_slice(b"GET big\r\n");
        }
        pipeline.extend_from_slice(b"PING\r\n");
        c.feed(&pipeline, &e);
        assert!(c.paused());
        assert!(c.output_full());
        let mut got = StdVec::new();
        while !c.output().is_empty() {
            let n = c.output().len().min(100_000);
            got.extend_from_slice(&c.output()[..n]);
            c.consume_output(n);
            c.resume(&e);
        }
        let one = std::format!("${}\r\n{big}\r\n", big.len());
        let expect = std::format!("{one}{one}{one}{one}+PONG\r\n");
        assert!(got == expect.as_bytes());
        assert!(!c.paused());
    }

    #[test]
    fn query_buffer_limit_aborts_without_reply() {
        let h = Harness::new();
        h.engine
            .set_config("client-query-buffer-limit", "1mb")
            .unwrap();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let mut c = Conn::new(1);
        c.feed(b"*1\r\n$5000000\r\n", &e);
        c.feed(&[b'a'; 1024 * 1024], &e);
        assert_eq!(c.state(), State::Abort);
        assert!(c.output().is_empty());
    }

    #[test]
    fn quit_and_http_close() {
        let h = Harness::new();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let mut c = Conn::new(1);
        c.feed(b"PING\r\nQUIT\r\nPING\r\n", &e);
        assert_eq!(c.output(), b"+PONG\r\n+OK\r\n");
        assert_eq!(c.state(), State::Closing);
        let mut c = Conn::new(2);
        c.feed(b"PING\r\nPOST / HTTP/1.1\r\nHost: x\r\n", &e);
        assert_eq!(c.output(), b"+PONG\r\n");
        assert_eq!(c.state(), State::Closing);
    }

    #[test]
    fn client_reply_off_and_skip_drop_replies_but_run_commands() {
        let h = Harness::new();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let mut c = Conn::new(1);
        c.feed(
            b"CLIENT REPLY SKIP\r\nSET a 1\r\nGET a\r\nCLIENT REPLY OFF\r\nSET b 2\r\nGET b\r\nCLIENT REPLY ON\r\nGET b\r\n",
            &e,
        );
        assert_eq!(c.output(), b"$1\r\n1\r\n+OK\r\n$1\r\n2\r\n");
    }

    #[test]
    fn subscribe_acks_and_messages_are_pushes_under_client_reply_off() {
        let h = Harness::new();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let limits = h.engine.limits().obuf;
        let mut c = Conn::new(1);
        c.feed(b"CLIENT REPLY OFF\r\nPSUBSCRIBE *\r\nPING\r\n", &e);
        assert_eq!(c.output(), b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
        let n = c.output().len();
        c.consume_output(n);
        assert!(c.push_message(b"*3\r\nmsg", &limits, h.now.mono, &h.engine));
        assert!(!c.push_message(b"+monitor line\r\n", &limits, h.now.mono, &h.engine));
        assert_eq!(c.output(), b"*3\r\nmsg");
    }

    #[test]
    fn output_buffer_limits_close_slow_subscribers() {
        let h = Harness::new();
        h.engine
            .set_config("client-output-buffer-limit", "pubsub 1000 100 2")
            .unwrap();
        let stats = WorkerStats::default();
        let e = Env {
            engine: &h.engine,
            stats: &stats,
            now: h.now,
            clock: None,
        };
        let limits = h.engine.limits().obuf;
        let t0 = h.now.mono;
        let secs = |n: u64| t0.saturating_add(core::time::Duration::from_secs(n));
        // Hard limit.
        let mut c = Conn::new(1);
        c.feed(b"SUBSCRIBE ch\r\n", &e);
        assert!(c.push_message(&[b'x'; 600], &limits, t0, &h.engine));
        assert_eq!(c.state(), State::Open);
        c.push_message(&[b'x'; 600], &limits, t0, &h.engine);
        assert_eq!(c.state(), State::Abort);
        // Soft limit: over it for more than 2 s.
        let mut c = Conn::new(2);
        c.feed(b"SUBSCRIBE ch\r\n", &e);
        c.push_message(&[b'x'; 200], &limits, t0, &h.engine);
        c.push_message(&[b'x'; 10], &limits, secs(2), &h.engine);
        assert_eq!(c.state(), State::Open);
        c.push_message(&[b'x'; 10], &limits, secs(3), &h.engine);
        assert_eq!(c.state(), State::Abort);
        // Back under the soft limit restarts the clock; a non-subscriber is the normal
        // class (no limit by default).
        let mut c = Conn::new(3);
        c.feed(b"SUBSCRIBE ch\r\n", &e);
        c.push_message(&[b'x'; 200], &limits, t0, &h.engine);
        let n = c.output().len();
        c.consume_output(n);
        c.push_message(&[b'x'; 200], &limits, secs(3), &h.engine);
        c.push_message(&[b'x'; 10], &limits, secs(4), &h.engine);
        assert_eq!(c.state(), State::Open);
        let mut c = Conn::new(4);
        c.push_message(&[b'x'; 5000], &limits, t0, &h.engine);
        assert_eq!(c.state(), State::Open);
    }
}
