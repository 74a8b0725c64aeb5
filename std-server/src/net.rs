//! The acceptor and the worker threads.
//!
//! The main thread accepts connections and hands them round-robin to the workers through a
//! channel plus a `mio::Waker`. Each worker thread owns a `kv_core::Worker` and its own
//! `mio::Poll` (the same embedding surface every driver uses: admission by
//! `Engine::admit`, readiness in, closed sockets back from `Worker::take_closed`); sockets
//! are registered edge-triggered for both directions once, so the
//! worker never re-registers. On SIGINT or SIGTERM the acceptor stops accepting and tells
//! the workers, which run nothing more, flush pending replies for at most
//! [`SHUTDOWN_FLUSH`], close everything and return; the process then exits 0.

use crate::host::{self, SystemClock};
use kv_core::{Admission, ClientAddr, Config, Engine, IoError, Socket, Worker};
use log::{info, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use std::io::{self, ErrorKind, Read, Write};
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest a shutdown waits for pending replies to be written.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_millis(500);
/// How often the acceptor wakes to check for signals and refresh the RSS figure.
const ACCEPTOR_TICK: Duration = Duration::from_millis(50);
/// Readiness events taken per poll call.
const EVENTS_PER_POLL: usize = 1024;
/// The plaintext listener's token.
const LISTENER: Token = Token(0);
/// The TLS listener's token.
#[cfg(feature = "tls")]
const TLS_LISTENER: Token = Token(1);
const WAKER: Token = Token(usize::MAX);

/// A mio TCP stream as the engine's `Socket`.
pub struct MioSocket(TcpStream);

impl Socket for MioSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        loop {
            return match self.0.read(buf) {
                Ok(0) if !buf.is_empty() => Err(IoError::Closed),
                Ok(n) => Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => Err(IoError::WouldBlock),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => Err(IoError::Closed),
            };
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        loop {
            return match self.0.write(buf) {
                Ok(0) if !buf.is_empty() => Err(IoError::Closed),
                Ok(n) => Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => Err(IoError::WouldBlock),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => Err(IoError::Closed),
            };
        }
    }
}

/// A connection as a worker holds it: plain TCP, or (feature `tls`) a TLS session.
pub enum NetSocket {
    /// A plaintext client.
    Plain(MioSocket),
    /// A client of the TLS port.
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsSocket>),
}

impl NetSocket {
    /// The TCP stream underneath, to register it and read its addresses.
    fn tcp(&mut self) -> &mut TcpStream {
        match self {
            NetSocket::Plain(s) => &mut s.0,
            #[cfg(feature = "tls")]
            NetSocket::Tls(s) => s.tcp(),
        }
    }
}

impl Socket for NetSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        match self {
            NetSocket::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            NetSocket::Tls(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        match self {
            NetSocket::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            NetSocket::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> Result<(), IoError> {
        match self {
            NetSocket::Plain(_) => Ok(()),
            #[cfg(feature = "tls")]
            NetSocket::Tls(s) => s.flush(),
        }
    }
}

/// Redis's `islocalClient` for TCP: only 127.0.0.1 and ::1 count as local (127.0.0.2 does
/// not).
fn is_local(peer: &std::net::SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
    }
}

/// A non-blocking listening socket on `addr` with Redis's options: `SO_REUSEADDR`,
/// IPv6 sockets IPv6-only, and a listen backlog of `backlog` (`tcp-backlog`; mio's own
/// `bind` fixes it at 128).
fn listen(addr: std::net::SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket as RawSocket, Type};
    let socket = RawSocket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Redis's startup warning when the kernel caps the listen backlog below `tcp-backlog`
/// (`net.core.somaxconn`); silent where the file cannot be read.
fn check_tcp_backlog(backlog: u32) {
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    if let Some(max) = somaxconn.filter(|&max| max < backlog) {
        warn!(
            "WARNING: The TCP backlog setting of {backlog} cannot be enforced because \
             /proc/sys/net/core/somaxconn is set to the lower value of {max}."
        );
    }
}

/// A worker thread as the acceptor sees it.
struct WorkerHandle {
    tx: Sender<NetSocket>,
    waker: Arc<Waker>,
    thread: JoinHandle<()>,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(mut config: Config) -> io::Result<()> {
    config.dir = crate::persist::resolve_dir(&config.dir)?;
    if config.port == 0 && config.tls.port == 0 {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            "Configured to not listen anywhere, exiting.",
        ));
    }
    #[cfg(not(feature = "tls"))]
    if config.tls.port != 0 {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            "tls-port is set but this kv_server was built without TLS: rebuild it with \
             `cargo build --release -p kv-server --features tls`",
        ));
    }
    #[cfg(feature = "tls")]
    let tls_acceptor = if config.tls.port != 0 {
        Some(crate::tls::Acceptor::new(&config.tls).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{e}\nFailed to configure TLS. Check logs for more info."),
            )
        })?)
    } else {
        None
    };
    let backlog = config.tcp_backlog;
    check_tcp_backlog(backlog);
    let bind = |port: u16, kind: &str| -> io::Result<(TcpListener, std::net::SocketAddr)> {
        let addr = (config.bind.as_str(), port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                io::Error::new(ErrorKind::InvalidInput, "bind address resolves to nothing")
            })?;
        let listener = listen(addr, backlog).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("Failed listening on {addr} ({kind}): {e}, aborting."),
            )
        })?;
        Ok((listener, addr))
    };
    let mut plain = match config.port {
        0 => None,
        port => Some(bind(port, "tcp")?),
    };
    #[cfg(feature = "tls")]
    let mut secure = match config.tls.port {
        0 => None,
        port => Some(bind(port, "tls")?),
    };

    let sigterm = Arc::new(AtomicBool::new(false));
    let sigint = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&sigterm))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&sigint))?;

    // Lock waiters in the engine yield the CPU instead of spinning out a time slice.
    kv_core::set_yield(std::thread::yield_now);
    let origin = Instant::now();
    let clock = SystemClock::new(origin);
    let seed = host::random_u64(0x6b76);
    let workers_n = config.workers;
    info!(
        "kv_server {} (Redis {} semantics), pid={}, workers={}",
        kv_core::VERSION,
        kv_core::REDIS_VERSION,
        std::process::id(),
        workers_n
    );
    // Redis's start banner: with `always-show-logo yes` its logo (whose `Port:` and `PID:`
    // lines Redis's test suite waits for), else one line.
    let shown_port = if config.port != 0 {
        config.port
    } else {
        config.tls.port
    };
    if config.inert_value("always-show-logo") == "yes" {
        info!("Running in standalone mode");
        info!("Port: {shown_port}");
        info!("PID: {}", std::process::id());
    } else {
        info!("Running mode=standalone, port={shown_port}.");
    }
    let engine = Arc::new(Engine::new(
        config,
        host::facts(),
        seed,
        kv_core::Clock::snapshot(&clock),
    ));
    engine.set_logger(Box::new(|text| warn!("{text}")));
    crate::acl::load_at_start(&engine)?;
    let disk = crate::persist::Disk::default();
    disk.attach(&engine);
    let shutdown = Arc::clone(&disk.request);
    let aof = crate::aof::Aof::new(Arc::clone(&engine));
    let _ = disk.aof.set(Arc::clone(&aof));
    engine.set_storage(Box::new(disk));
    let writer = {
        let aof = Arc::clone(&aof);
        std::thread::Builder::new()
            .name("aof-writer".into())
            .spawn(move || aof.writer())?
    };
    // The dataset loads while clients are accepted: until it is in, they get -LOADING.
    // With appendonly yes it comes from the append-only file (not the RDB file), and
    // recording starts before the first client may write.
    engine.persist.set_flag(kv_core::persist::LOADING, true);
    let mut loader = Some({
        let engine = Arc::clone(&engine);
        let aof = Arc::clone(&aof);
        std::thread::Builder::new()
            .name("load".into())
            .spawn(move || {
                let r = if engine.config().appendonly {
                    aof.load_and_start()
                } else {
                    crate::persist::load_at_start(&engine)
                };
                engine.persist.set_flag(kv_core::persist::LOADING, false);
                r
            })?
    });
    let stop = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::with_capacity(workers_n);
    for index in 0..workers_n {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = channel();
        let engine = Arc::clone(&engine);
        let stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || {
                let worker = Worker::new(engine, SystemClock::new(origin), index);
                if let Err(e) = worker_loop(poll, worker, rx, &stop) {
                    warn!("worker {index} stopped: {e}");
                }
            })?;
        workers.push(WorkerHandle { tx, waker, thread });
    }
    // Replies for blocked clients reach their worker through its mailbox and this wake-up.
    engine.blocking.set_wakers(
        workers
            .iter()
            .map(|w| {
                let waker = Arc::clone(&w.waker);
                Box::new(move || {
                    let _ = waker.wake();
                }) as kv_core::blocking::Wake
            })
            .collect(),
    );

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(64);
    info!("Server initialized");
    if let Some((listener, addr)) = plain.as_mut() {
        poll.registry()
            .register(listener, LISTENER, Interest::READABLE)?;
        info!("Ready to accept connections tcp on {addr}");
    }
    #[cfg(feature = "tls")]
    if let Some((listener, addr)) = secure.as_mut() {
        poll.registry()
            .register(listener, TLS_LISTENER, Interest::READABLE)?;
        info!("Ready to accept connections tls on {addr}");
    }

    let mut next = 0usize;
    let mut last_rss = Instant::now();
    let mut trimmer = crate::malloc::Trimmer::default();
    engine
        .stats
        .rss_bytes
        .store(host::rss_bytes(), Ordering::Relaxed);
    loop {
        if let Err(e) = poll.poll(&mut events, Some(ACCEPTOR_TICK)) {
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
        // Taken (cleared) before the attempt: a signal that arrives while a failed final
        // save unwinds is kept for the next turn, not cleared with this one.
        let (term, int) = (
            sigterm.swap(false, Ordering::Relaxed),
            sigint.swap(false, Ordering::Relaxed),
        );
        if term || int {
            let name = if int { "SIGINT" } else { "SIGTERM" };
            info!("Received {name} scheduling shutdown...");
            // As Redis: a signal saves when save points are configured, and a save that
            // fails keeps the server up.
            let save = !engine.config().save_points.is_empty() && loader.is_none();
            if !save || save_before_exit(&engine, &clock) {
                break;
            }
        }
        if loader.as_ref().is_some_and(|h| h.is_finished()) {
            if let Some(h) = loader.take() {
                match h.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(io::Error::other("the loading thread panicked")),
                }
            }
        }
        if shutdown.requested.load(Ordering::SeqCst) {
            info!("User requested shutdown...");
            let save = shutdown.save.load(Ordering::SeqCst) && loader.is_none();
            if !save || save_before_exit(&engine, &clock) {
                break;
            }
            shutdown.requested.store(false, Ordering::SeqCst);
        }
        if loader.is_none() {
            crate::persist::cron(&engine);
            aof.cron();
        }
        if last_rss.elapsed() >= Duration::from_secs(1) {
            last_rss = Instant::now();
            trimmer.tick(engine.used_memory_fast(), kv_core::map::freed_array_bytes());
            engine
                .stats
                .rss_bytes
                .store(host::rss_bytes(), Ordering::Relaxed);
            if let Some((user, sys)) = host::cpu_micros() {
                engine.stats.cpu_user_us.store(user, Ordering::Relaxed);
                engine.stats.cpu_sys_us.store(sys, Ordering::Relaxed);
            }
            // CONFIG SET loglevel takes effect here.
            crate::logger::set_level(&engine.config().loglevel);
        }
        for event in events.iter() {
            #[cfg(feature = "tls")]
            if event.token() == TLS_LISTENER {
                if let (Some((listener, _)), Some(acceptor)) = (&secure, &tls_acceptor) {
                    let mut admit = Admit {
                        engine: &engine,
                        workers: &workers,
                        next: &mut next,
                    };
                    accept_all(listener, |stream, peer| admit.tls(acceptor, stream, peer));
                }
                continue;
            }
            if event.token() == LISTENER {
                if let Some((listener, _)) = &plain {
                    let mut admit = Admit {
                        engine: &engine,
                        workers: &workers,
                        next: &mut next,
                    };
                    accept_all(listener, |stream, peer| admit.plain(stream, peer));
                }
            }
        }
    }

    drop(plain);
    #[cfg(feature = "tls")]
    drop(secure);
    stop.store(true, Ordering::SeqCst);
    for w in &workers {
        let _ = w.waker.wake();
    }
    for w in workers {
        drop(w.tx);
        if w.thread.join().is_err() {
            warn!("a worker thread panicked");
        }
    }
    // The append-only file gets what was recorded, fsynced.
    if aof.running() {
        aof.stop();
    }
    aof.end_writer();
    let _ = writer.join();
    info!("kv_server is now ready to exit, bye bye...");
    Ok(())
}

/// Accepts every pending connection of `listener` and hands each to `admit`.
fn accept_all(listener: &TcpListener, mut admit: impl FnMut(TcpStream, std::net::SocketAddr)) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => admit(stream, peer),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                // Out of file descriptors and the like: try again on the next event.
                warn!("Accepting client connection: {e}");
                break;
            }
        }
    }
}

/// The acceptor's admission of one new client: `maxclients`, protected mode, then a
/// worker, round-robin.
struct Admit<'a> {
    engine: &'a Engine,
    workers: &'a [WorkerHandle],
    next: &'a mut usize,
}

impl Admit<'_> {
    fn plain(&mut self, mut stream: TcpStream, peer: std::net::SocketAddr) {
        match self.engine.admit(is_local(&peer)) {
            Admission::Accept => self.hand_over(NetSocket::Plain(MioSocket(stream))),
            // One small write into an empty socket buffer, then the close.
            refused => {
                let _ = stream.write(refused.reply());
            }
        }
    }

    /// A client of the TLS port: its session under `tls-auth-clients` as it is now. A
    /// client protected mode turns away gets the DENIED text once its handshake is done
    /// (as Redis, which checks after the handshake); a full server closes it at once.
    #[cfg(feature = "tls")]
    fn tls(
        &mut self,
        acceptor: &crate::tls::Acceptor,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) {
        let verdict = self.engine.admit(is_local(&peer));
        if verdict == Admission::Full {
            return;
        }
        let auth = self.engine.config().tls.auth_clients;
        let Some(session) = acceptor.session(auth) else {
            warn!(
                "tls-auth-clients {} needs tls-ca-cert-file or tls-ca-cert-dir at start; \
                 closing the TLS client",
                auth.name()
            );
            return;
        };
        let deny = (verdict == Admission::Denied).then(|| verdict.reply());
        let socket = crate::tls::TlsSocket::new(stream, session, deny);
        self.hand_over(NetSocket::Tls(Box::new(socket)));
    }

    fn hand_over(&mut self, mut socket: NetSocket) {
        let _ = socket.tcp().set_nodelay(true);
        let Some(w) = self.workers.get(*self.next % self.workers.len().max(1)) else {
            return;
        };
        *self.next = self.next.wrapping_add(1);
        if w.tx.send(socket).is_ok() {
            let _ = w.waker.wake();
        }
    }
}

/// The final save before an exit (SIGTERM with save points, SHUTDOWN [SAVE]): every write
/// is held first (an internal CLIENT PAUSE WRITE), so the file has every acknowledged write
/// and nothing is acknowledged after it (held clients are closed without a reply when the
/// workers stop). True if it saved; if not, as Redis ("can't exit"), the writes resume
/// and the server stays up. The dataset is never saved while it is still loading.
fn save_before_exit(engine: &Engine, clock: &SystemClock) -> bool {
    let now = kv_core::Clock::snapshot(clock);
    let hold_until = now.unix.0.saturating_add(3_600_000);
    engine.pause_clients(kv_core::pause::Mode::Write, hold_until, now);
    // A background save in progress finishes first (its thread holds the snapshot).
    while engine.persist.saving.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(10));
    }
    info!("Saving the final RDB snapshot before exiting.");
    match crate::persist::save_now(engine) {
        Ok(()) => true,
        Err(e) => {
            warn!("Error trying to save the DB, can't exit: {e}");
            engine.unpause_clients();
            false
        }
    }
}

/// The addresses and descriptor CLIENT LIST shows.
fn client_addr(stream: &TcpStream) -> ClientAddr {
    let show = |a: io::Result<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    ClientAddr {
        addr: show(stream.peer_addr()),
        laddr: show(stream.local_addr()),
        fd: fd_of(stream),
    }
}

#[cfg(unix)]
fn fd_of(stream: &TcpStream) -> i64 {
    i64::from(std::os::fd::AsRawFd::as_raw_fd(stream))
}

#[cfg(not(unix))]
fn fd_of(_: &TcpStream) -> i64 {
    -1
}

fn worker_loop(
    mut poll: Poll,
    mut worker: Worker<NetSocket, SystemClock>,
    rx: Receiver<NetSocket>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut events = Events::with_capacity(EVENTS_PER_POLL);
    let mut deadline: Option<Instant> = None;
    loop {
        if let Err(e) = poll.poll(&mut events, Some(worker.poll_timeout())) {
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for event in events.iter() {
            if event.token() == WAKER {
                while let Ok(mut socket) = rx.try_recv() {
                    let addr = client_addr(socket.tcp());
                    let t = worker.add_with_addr(socket, addr);
                    let registered = match worker.socket_mut(t) {
                        Some(s) => poll
                            .registry()
                            .register(s.tcp(), Token(t), Interest::READABLE | Interest::WRITABLE)
                            .is_ok(),
                        None => false,
                    };
                    if !registered {
                        worker.close(t);
                    }
                }
                if deadline.is_none() && stop.load(Ordering::SeqCst) {
                    deadline = Some(Instant::now() + SHUTDOWN_FLUSH);
                    worker.shutdown();
                }
            } else {
                worker.ready(event.token().0);
            }
        }
        worker.handle_timeout();
        for (_, mut socket) in worker.take_closed() {
            let _ = poll.registry().deregister(socket.tcp());
        }
        if let Some(d) = deadline {
            if worker.is_empty() || Instant::now() >= d {
                return Ok(());
            }
        }
    }
}
