//! kv-core under an async runtime: tokio's current-thread runtime drives one `Worker`.
//!
//! `tokio_server [addr]` (default 127.0.0.1:7380) serves Redis clients until killed. Each
//! connection is a local task that waits for the readiness its connection wants
//! (`Worker::interest`: readable, writable or both), then lets the worker read and write
//! what it can; one more task runs `Worker::handle_timeout` when `Worker::poll_timeout`
//! says and hands the sockets of ended connections back (`Worker::take_closed`). tokio is a
//! dependency of this example only; kv-core knows nothing of it.
use kv_core::{Arc, ClientAddr, Clock, Config, Engine, HostFacts, Instant, IoError, Socket};
use kv_core::{Token, UnixMillis, Worker};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A tokio stream as the engine's socket: `try_read`/`try_write` never wait.
struct Conn(Rc<TcpStream>);

fn io_error(e: std::io::Error) -> IoError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => IoError::WouldBlock,
        _ => IoError::Closed,
    }
}

impl Socket for Conn {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        match self.0.try_read(buf) {
            Ok(0) if !buf.is_empty() => Err(IoError::Closed),
            r => r.map_err(io_error),
        }
    }
    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        self.0.try_write(buf).map_err(io_error)
    }
}

/// std's clocks: monotonic since start, wall clock from the system.
struct SysClock(std::time::Instant);

impl Clock for SysClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.elapsed().as_nanos() as u64)
    }
    fn unix_millis(&self) -> UnixMillis {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        UnixMillis(d.as_millis() as i64)
    }
}

/// The worker and what its tasks share.
struct Shared {
    worker: RefCell<Worker<Conn, SysClock>>,
    /// Woken after every batch of work: output may now wait on any connection.
    changed: Notify,
}

impl Shared {
    /// Runs the work left (pending connections, mail between clients) and releases the
    /// sockets of connections that ended; wakes every connection task.
    fn settle(&self) {
        let mut w = self.worker.borrow_mut();
        for _ in 0..64 {
            if !w.poll_timeout().is_zero() {
                break;
            }
            w.handle_timeout();
        }
        drop(w.take_closed());
        drop(w);
        self.changed.notify_waiters();
    }
}

/// Drives connection `t` (whose socket shares `stream`) until the worker closes it.
async fn serve(shared: Rc<Shared>, stream: Rc<TcpStream>, t: Token) {
    loop {
        let want = {
            let mut w = shared.worker.borrow_mut();
            // The token may have been given to a newer connection: compare the stream.
            let ours = w.socket_mut(t).is_some_and(|s| Rc::ptr_eq(&s.0, &stream));
            match w.interest(t) {
                Some(i) if ours => i,
                _ => return,
            }
        };
        let interest = match (want.read, want.write) {
            (true, true) => tokio::io::Interest::READABLE | tokio::io::Interest::WRITABLE,
            (false, true) => tokio::io::Interest::WRITABLE,
            (true, false) => tokio::io::Interest::READABLE,
            (false, false) => {
                // Nothing to do until something changes (a closing connection's last
                // bytes, mail from another client).
                shared.changed.notified().await;
                shared.worker.borrow_mut().ready(t);
                shared.settle();
                continue;
            }
        };
        tokio::select! {
            r = stream.ready(interest) => { let _ = r; }
            _ = shared.changed.notified() => {}
        }
        shared.worker.borrow_mut().ready(t);
        shared.settle();
    }
}

/// Runs the periodic tick (expiry, timeouts, blocked clients) when it is due.
async fn ticker(shared: Rc<Shared>) {
    loop {
        let wait = shared.worker.borrow().poll_timeout();
        tokio::time::sleep(wait).await;
        shared.worker.borrow_mut().handle_timeout();
        shared.settle();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7380".into());
    let listener = TcpListener::bind(&addr).await?;
    let clock = SysClock(std::time::Instant::now());
    let config = Config {
        port: listener.local_addr()?.port(),
        workers: 1,
        ..Config::default()
    };
    let engine = Engine::new(config, HostFacts::default(), 0x70c10, clock.snapshot());
    let shared = Rc::new(Shared {
        worker: RefCell::new(Worker::new(Arc::new(engine), clock, 0)),
        changed: Notify::new(),
    });
    println!("tokio_server: ready on {addr}");
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            tokio::task::spawn_local(ticker(Rc::clone(&shared)));
            loop {
                let (stream, peer) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                let addr = ClientAddr {
                    addr: peer.to_string(),
                    laddr: stream
                        .local_addr()
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                    fd: -1,
                };
                let stream = Rc::new(stream);
                let conn = Conn(Rc::clone(&stream));
                let admitted =
                    shared
                        .worker
                        .borrow_mut()
                        .admit(conn, addr, peer.ip().is_loopback());
                // A refused client got the engine's error text; dropping it closes it.
                if let Ok(t) = admitted {
                    tokio::task::spawn_local(serve(Rc::clone(&shared), stream, t));
                }
            }
        })
        .await
}
