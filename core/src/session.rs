//! [`Sessions`]: clients served in memory, for embedders with no sockets at all (a
//! WebAssembly module, a test, a command console): request bytes in, reply bytes out.
//!
//! `Sessions` is a [`Worker`] whose connections are [`MemSocket`]s, so each client behaves
//! as a network client does in every respect: pipelining, transactions, pub/sub messages,
//! blocking commands answered by another client's write or timed out by a later
//! [`Sessions::tick`], QUIT. Clients of one `Sessions` share one worker slot of the engine;
//! several `Sessions` (one per thread, say) take different `index`es below
//! `Config::workers`.

use crate::clients::ClientAddr;
use crate::engine::Engine;
use crate::io::MemSocket;
use crate::sync::Arc;
use crate::time::Clock;
use crate::worker::{Token, Worker};
use alloc::vec::Vec;
use core::time::Duration;

/// Most turns one [`Sessions::feed`] runs for each read buffer of its input (a turn reads
/// up to [`crate::worker::READS_PER_TURN`] buffers), on top of [`FEED_BASE_TURNS`].
pub const FEED_TURNS_PER_BUFFER: usize = 2;
/// Turns every [`Sessions::feed`] may take whatever its input's size.
pub const FEED_BASE_TURNS: usize = 64;

/// Clients of an [`Engine`] served in memory. See the module documentation.
pub struct Sessions<C: Clock> {
    worker: Worker<MemSocket, C>,
    /// Clients that ended (QUIT, CLIENT KILL, a protocol error, `timeout`) with the replies
    /// they had not had taken, until [`Sessions::take_output`] or the next
    /// [`Sessions::open`].
    ended: Vec<(Token, Vec<u8>)>,
}

impl<C: Clock> Sessions<C> {
    /// No clients yet, of `engine`, reading time from `clock`, counted as worker `index`.
    pub fn new(engine: Arc<Engine>, clock: C, index: usize) -> Self {
        Sessions {
            worker: Worker::new(engine, clock, index),
            ended: Vec::new(),
        }
    }

    /// A new client. Its token may be one of a client that ended: that client's untaken
    /// replies are dropped (other ended clients keep theirs).
    pub fn open(&mut self) -> Token {
        self.collect_ended();
        let t = self
            .worker
            .add_with_addr(MemSocket::default(), ClientAddr::default());
        self.ended.retain(|(e, _)| *e != t);
        t
    }

    /// Hands `input` (RESP requests or inline commands, whole or in pieces) to client `t`
    /// and runs what it completes; the replies wait in [`Sessions::take_output`]. Input for
    /// a client that ended is dropped.
    pub fn feed(&mut self, t: Token, input: &[u8]) {
        let Some(sock) = self.worker.socket_mut(t) else {
            return;
        };
        sock.input.extend(input.iter());
        let turns = FEED_BASE_TURNS.saturating_add(
            (input.len() / self.worker.engine().sizing().read_buffer)
                .saturating_mul(FEED_TURNS_PER_BUFFER),
        );
        self.worker.ready(t);
        self.run(turns);
    }

    fn run(&mut self, turns: usize) {
        for _ in 0..turns {
            if self.worker.poll_timeout() != Duration::ZERO {
                break;
            }
            self.worker.handle_timeout();
        }
        self.collect_ended();
    }

    fn collect_ended(&mut self) {
        for (t, sock) in self.worker.take_closed() {
            self.ended.push((t, sock.output));
        }
    }

    /// The replies client `t` produced so far (taken: the next call returns only newer
    /// ones; a client that ended returns its last ones once).
    pub fn take_output(&mut self, t: Token) -> Vec<u8> {
        if let Some(s) = self.worker.socket_mut(t) {
            return core::mem::take(&mut s.output);
        }
        match self.ended.iter().position(|(e, _)| *e == t) {
            Some(i) => self.ended.swap_remove(i).1,
            None => Vec::new(),
        }
    }

    /// [`Sessions::feed`] then [`Sessions::take_output`].
    pub fn exec(&mut self, t: Token, input: &[u8]) -> Vec<u8> {
        self.feed(t, input);
        self.take_output(t)
    }

    /// Lets time pass: blocked commands time out, keys expire, the periodic tick runs,
    /// messages for these clients are delivered. Call it whenever
    /// [`Sessions::poll_timeout`] has passed (at least every [`crate::worker::TICK`]).
    pub fn tick(&mut self) {
        self.worker.handle_timeout();
        self.run(FEED_BASE_TURNS);
    }

    /// How long until [`Sessions::tick`] has something to do.
    pub fn poll_timeout(&self) -> Duration {
        self.worker.poll_timeout()
    }

    /// Whether client `t` is still connected.
    pub fn is_open(&self, t: Token) -> bool {
        self.worker.interest(t).is_some()
    }

    /// Disconnects client `t` (as a network client closing its socket).
    pub fn close(&mut self, t: Token) {
        self.worker.close(t);
        self.collect_ended();
        self.ended.retain(|(e, _)| *e != t);
    }

    /// Open clients.
    pub fn len(&self) -> usize {
        self.worker.len()
    }

    /// True when no client is open.
    pub fn is_empty(&self) -> bool {
        self.worker.is_empty()
    }

    /// The clock the clients read.
    pub fn clock(&self) -> &C {
        self.worker.clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::HostFacts;
    use crate::time::{ManualClock, UnixMillis};

    fn engine(clock: &ManualClock) -> Arc<Engine> {
        Arc::new(Engine::new(
            Config::default(),
            HostFacts::default(),
            7,
            clock.snapshot(),
        ))
    }

    #[test]
    fn requests_in_pieces_replies_in_order() {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let mut s = Sessions::new(engine(&clock), &clock, 0);
        let c = s.open();
        let req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nGET k\r\nINCR k\r\n";
        for b in req.chunks(5) {
            s.feed(c, b);
        }
        assert_eq!(
            s.take_output(c),
            b"+OK\r\n$2\r\nv1\r\n-ERR value is not an integer or out of range\r\n"
        );
        assert!(s.is_open(c));
        assert_eq!(s.exec(c, b"QUIT\r\n"), b"+OK\r\n");
        assert!(!s.is_open(c));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn ttl_and_blocking_follow_the_clock() {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let mut s = Sessions::new(engine(&clock), &clock, 0);
        let (a, b) = (s.open(), s.open());
        assert_eq!(s.exec(a, b"SET t x PX 100\r\n"), b"+OK\r\n");
        assert_eq!(s.exec(a, b"BLPOP q 1\r\n"), b"");
        clock.advance(Duration::from_millis(150));
        assert_eq!(s.exec(b, b"GET t\r\n"), b"$-1\r\n");
        assert_eq!(s.exec(b, b"RPUSH q hi\r\n"), b":1\r\n");
        assert_eq!(s.take_output(a), b"*2\r\n$1\r\nq\r\n$2\r\nhi\r\n");
        assert_eq!(s.exec(a, b"BLPOP q 1\r\n"), b"");
        clock.advance(Duration::from_millis(1100));
        s.tick();
        assert_eq!(s.take_output(a), b"*-1\r\n");
        s.close(b);
        assert!(!s.is_open(b));
        assert!(s.is_open(a));
    }

    #[test]
    fn an_ended_clients_last_replies_survive_another_open() {
        let clock = ManualClock::new(UnixMillis(1_700_000_000_000));
        let mut s = Sessions::new(engine(&clock), &clock, 0);
        let (a, b) = (s.open(), s.open());
        s.feed(a, b"PING\r\nQUIT\r\n");
        s.feed(b, b"QUIT\r\n");
        assert!(!s.is_open(a) && !s.is_open(b));
        // The new client takes one of the two tokens; the other's replies stay.
        let c = s.open();
        let other = if c == a { b } else { a };
        let want: &[u8] = if other == a {
            b"+PONG\r\n+OK\r\n"
        } else {
            b"+OK\r\n"
        };
        assert_eq!(s.take_output(other), want);
        assert_eq!(s.take_output(c), b"");
    }
}
