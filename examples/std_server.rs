//! kv-core on `std::net` in a few dozen lines: one thread, non-blocking sockets, polled.
//!
//! `std_server [addr]` (default 127.0.0.1:7379) serves redis-cli and any Redis client until
//! it is killed. Each turn accepts new clients (admission by the engine: `maxclients`,
//! protected mode), lets every connection read and write what it can, runs the periodic
//! tick and drops the sockets of connections that ended. A real server would wait on
//! readiness (epoll) instead of polling: see kv_server or the tokio example.
use kv_core::{Arc, ClientAddr, Clock, Config, Engine, HostFacts, Instant, IoError, Socket};
use kv_core::{UnixMillis, Worker};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A non-blocking TCP stream as the engine's socket.
struct Tcp(TcpStream);

fn io_error(e: std::io::Error) -> IoError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::Interrupted => IoError::WouldBlock,
        _ => IoError::Closed,
    }
}

impl Socket for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        match self.0.read(buf) {
            Ok(0) if !buf.is_empty() => Err(IoError::Closed),
            r => r.map_err(io_error),
        }
    }
    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        self.0.write(buf).map_err(io_error)
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

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7379".into());
    let listener = TcpListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    let clock = SysClock(std::time::Instant::now());
    let config = Config {
        port: listener.local_addr()?.port(),
        workers: 1,
        ..Config::default()
    };
    let engine = Engine::new(config, HostFacts::default(), 0x5eed, clock.snapshot());
    let mut worker = Worker::new(Arc::new(engine), clock, 0);
    println!("std_server: ready on {addr}");
    loop {
        while let Ok((stream, peer)) = listener.accept() {
            stream.set_nonblocking(true)?;
            let _ = stream.set_nodelay(true);
            let addr = ClientAddr {
                addr: peer.to_string(),
                laddr: stream
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                fd: -1,
            };
            // A refused client got the engine's error text; dropping the socket closes it.
            let _ = worker.admit(Tcp(stream), addr, peer.ip().is_loopback());
        }
        let tokens: Vec<_> = worker.tokens().collect();
        for t in tokens {
            worker.ready(t);
        }
        worker.handle_timeout();
        drop(worker.take_closed());
        std::thread::sleep(worker.poll_timeout().min(Duration::from_millis(1)));
    }
}
