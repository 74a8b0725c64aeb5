//! The state every worker shares: the keyspace, the settings, the counters and the facts
//! about the host that INFO reports.

use crate::config::Config;
use crate::config::Limits;
use crate::db::Db;
use crate::stats::{OpsSampler, ServerStats, WorkerStats};
use crate::sync::{AtomicUsize, CachePadded, Mutex, Ordering, RwLock, RwLockReadGuard};
use crate::time::{Now, UnixMillis};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Facts about the process and host, given by the frontend (the core cannot ask an OS).
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// Operating system, as `uname -s -r -m` would print it.
    pub os: String,
    /// Process id.
    pub process_id: u32,
    /// Pointer width of the build.
    pub arch_bits: u32,
    /// Path of the executable.
    pub executable: String,
    /// The event API the frontend polls with (`epoll`, `kqueue`, ...).
    pub multiplexing_api: String,
    /// 40 hex characters identifying this run.
    pub run_id: String,
    /// Path of the config file, empty if none.
    pub config_file: String,
    /// The host's physical memory in bytes (INFO `total_system_memory`), 0 if unknown.
    pub total_system_memory: u64,
}

/// Sizes an embedder may pick for a small target (the defaults are the server's).
///
/// Memory an empty engine takes grows with `databases x shards_per_db` (about 250 bytes a
/// shard), and each worker keeps one read buffer of `read_buffer` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// Shards (lock segments) per database, rounded up to a power of two, at least 1
    /// (default [`crate::db::DEFAULT_SHARDS`], 256). Fewer shards mean less memory and less
    /// write concurrency between workers.
    pub shards_per_db: usize,
    /// Bytes a worker reads from a socket at a time, at least [`MIN_READ_BUFFER`] (default
    /// [`crate::worker::READ_CHUNK`], 64 KiB).
    pub read_buffer: usize,
}

/// The smallest read buffer [`Sizing`] allows.
pub const MIN_READ_BUFFER: usize = 64;

impl Default for Sizing {
    fn default() -> Self {
        Sizing {
            shards_per_db: crate::db::DEFAULT_SHARDS,
            read_buffer: crate::worker::READ_CHUNK,
        }
    }
}

impl Sizing {
    /// Sizes for a microcontroller: 4 shards a database, 1 KiB read buffer (combine with
    /// `Config { databases: 1, .. }` for the smallest engine).
    pub fn small() -> Self {
        Sizing {
            shards_per_db: 4,
            read_buffer: 1024,
        }
    }

    fn normalised(self) -> Self {
        Sizing {
            shards_per_db: self.shards_per_db.clamp(1, 1 << 16).next_power_of_two(),
            read_buffer: self.read_buffer.max(MIN_READ_BUFFER),
        }
    }
}

/// What the engine decides about a new connection ([`Engine::admit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Serve it.
    Accept,
    /// `maxclients` connections are open: send [`Admission::reply`], then close.
    Full,
    /// Protected mode turns a non-loopback peer away: send the reply, then close.
    Denied,
}

impl Admission {
    /// What the client is sent before the close (Redis 7.0.15's texts); empty for
    /// [`Admission::Accept`].
    pub fn reply(self) -> &'static [u8] {
        match self {
            Admission::Accept => b"",
            Admission::Full => crate::clients::MAX_CLIENTS_REPLY,
            Admission::Denied => crate::clients::DENIED_REPLY,
        }
    }
}

/// A sink for the engine's warnings (the frontend logs them at its warning level).
pub type LogFn = Box<dyn Fn(&str) + Send + Sync>;

struct LogSink(crate::sync::Once<LogFn>);

impl core::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LogSink")
    }
}

/// Shared engine state. See the module documentation.
#[derive(Debug)]
pub struct Engine {
    /// The keyspaces, one per database (`databases`, default 16).
    dbs: Box<[Db]>,
    /// Settings; CONFIG SET changes the live ones.
    config: RwLock<Config>,
    /// Facts about the host.
    pub host: HostFacts,
    /// Server-wide counters.
    pub stats: ServerStats,
    /// Connected clients (CLIENT LIST, CLIENT KILL).
    pub clients: crate::clients::Registry,
    /// Blocked clients and the workers' mailboxes (BLPOP and friends).
    pub blocking: crate::sync::Arc<crate::blocking::Blocking>,
    /// Watched keys (WATCH).
    pub watches: crate::watch::Watches,
    /// Users and permissions (AUTH, ACL).
    pub acl: crate::acl::Acl,
    /// Pub/sub subscriptions (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE).
    pub pubsub: crate::sync::Arc<crate::pubsub::PubSub>,
    /// Keyspace notifications (`notify-keyspace-events`); the keyspaces share it.
    notifier: crate::sync::Arc<crate::notify::Notifier>,
    /// The clients in MONITOR mode.
    pub monitors: crate::monitor::Monitors,
    /// CLIENT PAUSE: the pause in force and the clients it postponed.
    pub pause: crate::pause::Pause,
    /// One gate a worker: each worker holds its own (read side) around every command it
    /// runs; EXEC takes the write side of all of them ([`Engine::exclusive`]).
    gates: Box<[CachePadded<RwLock<()>>]>,
    /// The gate of sessions whose worker index has no gate of its own (taken last by EXEC).
    spare_gate: CachePadded<RwLock<()>>,
    /// Serialises EXECs (taken before any gate's write side).
    exec_lock: Mutex<()>,
    /// Set while an EXEC waits for or holds the gates: workers wait before taking their
    /// gate again, so an EXEC is never starved by a busy worker.
    exec_pending: crate::sync::AtomicBool,
    /// `latency-tracking` (readable without the config lock: every command asks).
    latency_tracking: crate::sync::AtomicBool,
    /// The latency histograms' generation: CONFIG RESETSTAT starts a new one.
    latency_generation: AtomicUsize,
    /// When the engine started.
    pub started: Now,
    /// Where warnings go (the frontend's log), once it says.
    log: LogSink,
    workers: Box<[CachePadded<WorkerStats>]>,
    ops: Mutex<OpsSampler>,
    /// Totals at the last CONFIG RESETSTAT; INFO reports the difference.
    baseline: Mutex<Totals>,
    next_client_id: AtomicUsize,
    /// The encoding thresholds of the configuration, readable without the config lock (the
    /// write paths of hashes, sets and sorted sets read them on every insert).
    encodings: [AtomicUsize; 6],
    /// Persistence figures (INFO persistence, LASTSAVE, the save schedule).
    pub persist: crate::persist::State,
    /// The append-only file's feed (what write commands record, and its order lock).
    pub feed: crate::sync::Arc<crate::persist::feed::Feed>,
    /// What the frontend does for SAVE, BGSAVE and SHUTDOWN, once it says.
    storage: crate::sync::Once<Box<dyn crate::persist::Storage>>,
    /// The number of the last snapshot started (see [`Engine::begin_snapshot`]).
    snapshot_epoch: crate::sync::AtomicU32,
    /// The replication id (`master_replid`, the RDB's `repl-id`): 40 hex digits from the
    /// seed.
    replid: String,
    /// `maxmemory`, the eviction policy and its state.
    pub evictor: crate::evict::Evictor,
    /// SLOWLOG's entries and settings.
    pub slowlog: crate::slowlog::SlowLog,
    /// The latency monitor (LATENCY; `latency-monitor-threshold`).
    pub latency_monitor: crate::latency::Monitor,
    /// The sizes it was built with.
    sizing: Sizing,
}

/// The databases' sizes at the instant a snapshot started ([`Engine::begin_snapshot`]).
#[derive(Clone, Debug)]
pub struct SnapshotStart {
    /// Per database: keys (expired ones not yet removed included) and keys with a TTL.
    pub sizes: Vec<(usize, usize)>,
}

impl Engine {
    /// An engine with an empty keyspace hashed with `seed`, started at `now`, with counters
    /// for `config.workers` workers.
    pub fn new(config: Config, host: HostFacts, seed: u64, now: Now) -> Self {
        Self::with_sizing(config, host, seed, now, Sizing::default())
    }

    /// As [`Engine::new`], with the shard count and read buffer of `sizing`. Facts left
    /// empty in `host` are filled in: `arch_bits` from the target's pointer width, `os`
    /// as `none`, `run_id` from `seed`.
    pub fn with_sizing(
        config: Config,
        mut host: HostFacts,
        seed: u64,
        now: Now,
        sizing: Sizing,
    ) -> Self {
        let sizing = sizing.normalised();
        if host.arch_bits == 0 {
            host.arch_bits = usize::BITS;
        }
        if host.os.is_empty() {
            host.os = String::from("none");
        }
        if host.run_id.is_empty() {
            host.run_id = replid_from(seed.rotate_left(17) ^ 0x52_554E_4944);
        }
        let workers_n = config.workers.max(1);
        let workers = (0..workers_n)
            .map(|_| CachePadded(WorkerStats::new(crate::cmd::stat_slots())))
            .collect();
        crate::types::set_element_seed(seed.rotate_left(29) ^ 0x5EED_E1E5_u64);
        let pubsub = crate::sync::Arc::new(crate::pubsub::PubSub::default());
        let blocking = crate::sync::Arc::new(crate::blocking::Blocking::new(workers_n));
        let notifier = crate::sync::Arc::new(crate::notify::Notifier::new(
            crate::sync::Arc::clone(&pubsub),
            crate::sync::Arc::clone(&blocking),
        ));
        let feed = crate::sync::Arc::new(crate::persist::feed::Feed::default());
        let sink = KeyEventSink {
            notifier: crate::sync::Arc::clone(&notifier),
            feed: crate::sync::Arc::clone(&feed),
        };
        #[cfg(target_has_atomic = "ptr")]
        let events: crate::sync::Arc<dyn crate::db::KeyEvents> = crate::sync::Arc::new(sink);
        // portable-atomic-util's `Arc` (targets without CAS) has no unsizing coercion.
        #[cfg(not(target_has_atomic = "ptr"))]
        let events: crate::sync::Arc<dyn crate::db::KeyEvents> = crate::sync::Arc::from(
            alloc::boxed::Box::new(sink) as alloc::boxed::Box<dyn crate::db::KeyEvents>,
        );
        let evictor = crate::evict::Evictor::default();
        let dbs = (0..config.databases.max(1))
            .map(|i| {
                Db::with_params(
                    seed,
                    sizing.shards_per_db,
                    i,
                    crate::sync::Arc::clone(&events),
                    crate::sync::Arc::clone(&evictor.access),
                )
            })
            .collect();
        let acl = crate::acl::Acl::default();
        acl.set_log_max(config.acllog_max_len);
        acl.set_requirepass(config.requirepass.as_bytes());
        if !config.users.is_empty() {
            // Redis's `ACLLoadConfiguredUsers`: the `user` lines on top of the default user
            // (whose line, if any, starts from `reset`). The frontend checks them first.
            if let Ok(users) = crate::acl::parse_users(&config.users, config.acl_pubsub_default_all)
            {
                let mut all = acl.snapshot();
                for (n, u) in users.iter() {
                    all.insert(n.clone(), u.clone());
                }
                acl.replace_all(all);
            }
        }
        Engine {
            dbs,
            acl,
            config: RwLock::new(config),
            host,
            stats: ServerStats::default(),
            clients: crate::clients::Registry::default(),
            blocking,
            watches: crate::watch::Watches::default(),
            pubsub,
            notifier,
            monitors: crate::monitor::Monitors::default(),
            pause: crate::pause::Pause::default(),
            gates: (0..workers_n)
                .map(|_| CachePadded(RwLock::new(())))
                .collect(),
            spare_gate: CachePadded(RwLock::new(())),
            exec_lock: Mutex::new(()),
            exec_pending: crate::sync::AtomicBool::new(false),
            latency_tracking: crate::sync::AtomicBool::new(true),
            latency_generation: AtomicUsize::new(0),
            started: now,
            log: LogSink(crate::sync::Once::new()),
            workers,
            ops: Mutex::new(OpsSampler::default()),
            baseline: Mutex::new(Totals::default()),
            next_client_id: AtomicUsize::new(1),
            encodings: Default::default(),
            persist: crate::persist::State {
                last_save: AtomicUsize::new(now.unix.0.div_euclid(1000) as usize),
                last_bgsave_ok: crate::sync::AtomicBool::new(true),
                ..Default::default()
            },
            storage: crate::sync::Once::new(),
            feed,
            snapshot_epoch: crate::sync::AtomicU32::new(0),
            replid: replid_from(seed),
            evictor,
            slowlog: Default::default(),
            latency_monitor: Default::default(),
            sizing,
        }
        .with_encodings_published()
    }

    fn with_encodings_published(self) -> Self {
        self.publish_encodings();
        // What MEMORY STATS calls `startup.allocated` (Redis's `initial_memory_usage`).
        let used = self.used_memory();
        self.stats.startup_memory.store(used, Ordering::Relaxed);
        self
    }

    /// Copies the configuration's encoding thresholds where [`Engine::encodings`] reads
    /// them, and the notification classes where the [`crate::notify::Notifier`] reads
    /// them (after every change of the configuration).
    fn publish_encodings(&self) {
        let (e, classes, fsync) = {
            let c = self.config.read();
            self.latency_tracking
                .store(c.inert_value("latency-tracking") != "no", Ordering::Relaxed);
            self.latency_monitor.set_threshold(
                c.inert_value("latency-monitor-threshold")
                    .parse()
                    .unwrap_or(0),
            );
            self.evictor.publish(&c);
            self.slowlog
                .configure(c.slowlog_log_slower_than, c.slowlog_max_len);
            (c.encodings, c.notify_keyspace_events, c.appendfsync)
        };
        let limited = self.evictor.limit.load(Ordering::Relaxed) != 0;
        for db in self.dbs.iter() {
            db.set_tracking(limited);
        }
        self.notifier.set_flags(classes);
        self.feed.set_fsync(fsync);
        let values = [
            e.hash_max_listpack_entries,
            e.hash_max_listpack_value,
            e.set_max_intset_entries,
            e.zset_max_listpack_entries,
            e.zset_max_listpack_value,
            // Sign-extended into the word and truncated back by `encodings`.
            e.list_max_listpack_size as isize as usize,
        ];
        for (cell, v) in self.encodings.iter().zip(values) {
            cell.store(v, Ordering::Relaxed);
        }
    }

    /// The sizes the engine was built with ([`Engine::with_sizing`]).
    pub fn sizing(&self) -> Sizing {
        self.sizing
    }

    /// Decides about a new connection from a peer (`loopback`: 127.0.0.0/8 or ::1, or a
    /// transport with no remote peers): `maxclients`, then protected mode, as Redis's
    /// `acceptCommonHandler` and `clientAcceptHandler`. A refusal is counted in
    /// `rejected_connections`; the driver sends [`Admission::reply`] and closes.
    pub fn admit(&self, loopback: bool) -> Admission {
        let verdict = {
            let c = self.config.read();
            if self.stats.connected_clients.load(Ordering::Relaxed) >= c.maxclients {
                Admission::Full
            } else if c.protected_mode && !loopback && self.default_user_nopass() {
                Admission::Denied
            } else {
                Admission::Accept
            }
        };
        if verdict != Admission::Accept {
            self.stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
        }
        verdict
    }

    /// The encoding thresholds now (relaxed loads, no lock).
    pub fn encodings(&self) -> crate::types::EncodingLimits {
        let [a, b, c, d, e, f] = &self.encodings;
        crate::types::EncodingLimits {
            hash_max_listpack_entries: a.load(Ordering::Relaxed),
            hash_max_listpack_value: b.load(Ordering::Relaxed),
            set_max_intset_entries: c.load(Ordering::Relaxed),
            zset_max_listpack_entries: d.load(Ordering::Relaxed),
            zset_max_listpack_value: e.load(Ordering::Relaxed),
            list_max_listpack_size: f.load(Ordering::Relaxed) as isize as i32,
        }
    }

    /// Database `i` (callers check `i < databases()`; others wrap around).
    #[allow(clippy::indexing_slicing)] // `dbs` is never empty, so `i % len` is in range.
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i % self.dbs.len()]
    }

    /// Worker `worker`'s gate, read side: held around one command (or one slice of
    /// background work) so that no EXEC runs meanwhile.
    pub fn gate(&self, worker: usize) -> RwLockReadGuard<'_, ()> {
        while self.exec_pending.load(Ordering::Acquire) {
            <crate::sync::Relax as spin::RelaxStrategy>::relax();
        }
        // A worker index past the gates (a harness's session) shares the spare gate.
        self.gates.get(worker).unwrap_or(&self.spare_gate).read()
    }

    /// Runs `f` while no other command runs on any worker (EXEC): takes the EXEC lock,
    /// then the write side of every worker's gate in index order. The caller holds no gate
    /// (EXEC does not take one), and gate holders wait for nothing EXEC holds, so this
    /// cannot deadlock.
    pub fn exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        let _one = self.exec_lock.lock();
        self.exec_pending.store(true, Ordering::Release);
        let guards: Vec<_> = self
            .gates
            .iter()
            .chain(core::iter::once(&self.spare_gate))
            .map(|g| g.write())
            .collect();
        let r = f();
        drop(guards);
        self.exec_pending.store(false, Ordering::Release);
        r
    }

    /// Starts a point-in-time snapshot of every database: while no command runs anywhere
    /// ([`Engine::exclusive`]), numbers it, records each database's size and the change
    /// count ([`crate::persist::State::dirty_at_start`]), and tells every keyspace to copy
    /// a key's value before its first change from now on ([`Db::begin_snapshot`]). The caller
    /// holds no gate, reads the shards with [`Db::snapshot_shard`] and then calls
    /// [`Engine::end_snapshot`]. One snapshot at a time ([`crate::persist::State::try_start`]).
    pub fn begin_snapshot(&self) -> SnapshotStart {
        self.begin_snapshot_with(|| {})
    }

    /// As [`Engine::begin_snapshot`], running `at_instant` at the snapshot's instant, while
    /// no command runs (an append-only file rewrite switches to a new file there).
    pub fn begin_snapshot_with(&self, at_instant: impl FnOnce()) -> SnapshotStart {
        self.exclusive(|| {
            at_instant();
            let mut epoch = self.snapshot_epoch.load(Ordering::Relaxed).wrapping_add(1);
            if epoch == 0 {
                epoch = 1;
            }
            self.snapshot_epoch.store(epoch, Ordering::Relaxed);
            self.persist
                .dirty_at_start
                .store(self.dirty_total(), Ordering::Relaxed);
            let sizes = self
                .dbs
                .iter()
                .map(|db| {
                    db.begin_snapshot(epoch);
                    (db.len(), db.expires_len())
                })
                .collect();
            SnapshotStart { sizes }
        })
    }

    /// Ends the snapshot begun by [`Engine::begin_snapshot`].
    pub fn end_snapshot(&self) {
        for db in self.dbs.iter() {
            db.end_snapshot();
        }
    }

    /// Whether write commands are refused with `-MISCONF` now: the last background save
    /// failed, save points are set and `stop-writes-on-bgsave-error` is on (Redis's
    /// `writeCommandsDeniedByDiskError`).
    pub fn writes_denied(&self) -> bool {
        if self.persist.last_bgsave_ok.load(Ordering::Relaxed) {
            return false;
        }
        let c = self.config.read();
        c.stop_writes_on_bgsave_error && !c.save_points.is_empty()
    }

    /// Starts or stops recording write commands in the append-only file (the frontend
    /// opens the file first). While it records, reads leave expired keys to writes and
    /// active expiry ([`Db::set_keep_expired`]).
    pub fn set_aof(&self, on: bool) {
        for db in self.dbs.iter() {
            db.set_keep_expired(on);
        }
        self.feed.set_on(on);
    }

    /// The replication id (`master_replid`).
    pub fn replid(&self) -> &str {
        &self.replid
    }

    /// Changes made to the dataset since start (Redis's `dirty`, summed over workers).
    pub fn dirty_total(&self) -> usize {
        self.sum(|w| w.dirty.get())
    }

    /// `rdb_changes_since_last_save`.
    pub fn changes_since_save(&self) -> usize {
        self.dirty_total()
            .wrapping_sub(self.persist.dirty_saved.load(Ordering::Relaxed))
    }

    /// Gives the engine the frontend's [`crate::persist::Storage`] (the first call wins).
    pub fn set_storage(&self, s: Box<dyn crate::persist::Storage>) {
        self.storage.call_once(|| s);
    }

    /// The frontend's storage, if it gave one.
    pub fn storage(&self) -> Option<&dyn crate::persist::Storage> {
        self.storage.get().map(|b| &**b)
    }

    /// Publishes `payload` on `channel` (a shard channel if `shard`) to subscribers on
    /// every worker; returns the number of receivers (PUBLISH's reply).
    pub fn publish(&self, shard: bool, channel: &[u8], payload: &[u8]) -> usize {
        self.pubsub.publish(&self.blocking, shard, channel, payload)
    }

    /// Publishes keyspace notification `event` of class `class` (a [`crate::notify`]
    /// constant) for `key` of database `db`, if `notify-keyspace-events` asks for it: one
    /// relaxed load when it does not.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8], db: usize) {
        self.notifier.notify(class, event, key, db);
    }

    /// CLIENT PAUSE: pauses `mode` commands of every client until `end` (Unix ms).
    pub fn pause_clients(&self, mode: crate::pause::Mode, end: i64, now: Now) {
        self.pause
            .pause(mode, end, now.unix.0, &self.dbs, &self.blocking);
    }

    /// CLIENT UNPAUSE: ends the pause; the postponed clients resume in order.
    pub fn unpause_clients(&self) {
        self.pause.unpause(&self.dbs, &self.blocking);
    }

    /// Ends the pause if its end passed at `now` (each worker's timer calls this).
    pub fn expire_pause(&self, now: Now) {
        self.pause.expire(now.unix.0, &self.dbs, &self.blocking);
    }

    /// Sends a MONITOR line for the command `args` that the client at `addr`, in
    /// database `db`, ran at `now`, to every monitor (the caller checked that there is one).
    pub fn feed_monitors(&self, now: Now, db: usize, addr: &str, args: &crate::resp::Args<'_>) {
        let line = crate::monitor::line(now.unix_micros, db, addr, args);
        self.monitors.feed(&self.blocking, line);
    }

    /// Gives the engine its log sink (the first call wins); without one, lines are dropped.
    pub fn set_logger(&self, f: LogFn) {
        self.log.0.call_once(|| f);
    }

    /// Writes a warning through the frontend's sink.
    pub fn warn(&self, text: &str) {
        if let Some(f) = self.log.0.get() {
            f(text);
        }
    }

    /// All databases, by index.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// The settings now.
    pub fn config(&self) -> RwLockReadGuard<'_, Config> {
        self.config.read()
    }

    /// The protocol limits now (a copy: taken once per batch of work).
    pub fn limits(&self) -> Limits {
        self.config.read().limits
    }

    /// Changes a live setting (CONFIG SET).
    pub fn set_config(&self, name: &str, value: &str) -> Result<(), crate::config::SetError> {
        let before = self.config.read().requirepass.clone();
        let r = self.config.write().set_live(name, value);
        self.publish_encodings();
        self.publish_acl_config(&before);
        r
    }

    /// Applies `requirepass` (when it changed from `before`) and `acllog-max-len` to the
    /// ACL after a CONFIG SET.
    fn publish_acl_config(&self, before: &str) {
        let (pass, max) = {
            let c = self.config.read();
            (
                (c.requirepass != before).then(|| c.requirepass.clone()),
                c.acllog_max_len,
            )
        };
        if let Some(p) = pass {
            self.acl.set_requirepass(p.as_bytes());
        }
        self.acl.set_log_max(max);
    }

    /// ACL LOAD and the start: replaces every user with the ACL file's `text` (the
    /// default user, if the file has none, is Redis's default). `Ok` with the users whose
    /// clients must be closed (every user but `default`, as Redis frees them all); `Err`
    /// with Redis's message, and nothing changed.
    #[inline(never)]
    pub fn acl_load_text(&self, text: &[u8]) -> Result<Vec<Vec<u8>>, Vec<u8>> {
        let (file, all) = {
            let c = self.config.read();
            (c.aclfile.clone(), c.acl_pubsub_default_all)
        };
        let users = crate::acl::parse_acl_file(text, &file, all)?;
        let gone = self
            .acl
            .names()
            .into_iter()
            .filter(|n| n != b"default")
            .collect();
        self.acl.replace_all(users);
        Ok(gone)
    }

    /// True when the default user has no password (Redis's `USER_FLAG_NOPASS` on
    /// `DefaultUser`): protected mode only turns remote clients away then.
    pub fn default_user_nopass(&self) -> bool {
        self.acl.default_nopass()
    }

    /// Changes several live settings at once: all of them, or (on the first error, which
    /// is returned with the parameter's name) none.
    pub fn set_configs<'a>(
        &self,
        pairs: &[(&'a [u8], &'a [u8])],
    ) -> Result<(), (&'a [u8], crate::config::SetError)> {
        let before = self.config.read().requirepass.clone();
        let mut guard = self.config.write();
        let mut next = guard.clone();
        for (i, &(name, _)) in pairs.iter().enumerate() {
            if pairs
                .iter()
                .take(i)
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return Err((
                    name,
                    crate::config::SetError::Invalid(alloc::string::String::from(
                        "duplicate parameter",
                    )),
                ));
            }
        }
        for &(name, value) in pairs {
            let (n, v) = (
                alloc::string::String::from_utf8_lossy(name),
                alloc::string::String::from_utf8_lossy(value),
            );
            next.set_live(&n, &v).map_err(|e| (name, e))?;
        }
        *guard = next;
        drop(guard);
        self.publish_encodings();
        self.publish_acl_config(&before);
        Ok(())
    }

    /// The latency histograms' generation while `latency-tracking` is on (what a worker
    /// records a command's time into), `None` while it is off.
    #[inline]
    pub fn latency_generation(&self) -> Option<usize> {
        self.latency_tracking
            .load(Ordering::Relaxed)
            .then(|| self.latency_generation.load(Ordering::Relaxed))
    }

    /// Counter slot `slot`'s latency histogram summed over the workers (buckets of
    /// [`crate::latency`]), or `None` if no worker recorded a call since the last CONFIG
    /// RESETSTAT (INFO latencystats leaves it out, as Redis leaves out a command without a
    /// histogram).
    pub fn latency_counts(&self, slot: usize) -> Option<Vec<u64>> {
        let generation = self.latency_generation.load(Ordering::Relaxed);
        let mut sum: Option<Vec<u64>> = None;
        for w in self.workers.iter() {
            if let Some(h) = w
                .per_command
                .get(slot)
                .and_then(|c| c.latency.get(generation))
            {
                h.add_to(sum.get_or_insert_with(crate::latency::empty_counts));
            }
        }
        sum
    }

    /// Number of worker counter slots.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// The counters of worker `i` (modulo the worker count).
    #[allow(clippy::indexing_slicing)] // `workers` is never empty, so `i % n` is in range.
    pub fn worker_stats(&self, i: usize) -> &WorkerStats {
        let n = self.workers.len();
        &self.workers[i % n]
    }

    /// Sums one worker counter over all workers.
    pub fn sum(&self, f: impl Fn(&WorkerStats) -> usize) -> usize {
        self.workers
            .iter()
            .map(|w| f(w))
            .fold(0, usize::wrapping_add)
    }

    /// A fresh client id (ids start at 1 and only grow).
    pub fn next_client_id(&self) -> usize {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    fn raw_totals(&self) -> Totals {
        let load = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        let per_command = (0..crate::cmd::stat_slots())
            .map(|i| {
                let get = |f: fn(&crate::stats::CommandCounters) -> &crate::sync::Counter| {
                    self.sum(|w| w.per_command.get(i).map_or(0, |c| f(c).get()))
                };
                [
                    get(|c| &c.calls),
                    get(|c| &c.usec),
                    get(|c| &c.failed),
                    get(|c| &c.rejected),
                ]
            })
            .collect();
        Totals {
            connections: load(&self.stats.total_connections_received),
            rejected: load(&self.stats.rejected_connections),
            commands: self.sum(|w| w.commands.get()),
            net_input: self.sum(|w| w.net_input_bytes.get()),
            net_output: self.sum(|w| w.net_output_bytes.get()),
            hits: self.sum(|w| w.keyspace_hits.get()),
            misses: self.sum(|w| w.keyspace_misses.get()),
            expired: self.dbs.iter().map(Db::expired_total).sum(),
            evicted: self.evictor.evicted.load(Ordering::Relaxed),
            per_command,
        }
    }

    /// The counters INFO reports: totals since start or since the last CONFIG RESETSTAT.
    pub fn totals(&self) -> Totals {
        let now = self.raw_totals();
        let base = self.baseline.lock();
        now.since(&base)
    }

    /// CONFIG RESETSTAT: counting starts again from zero.
    pub fn reset_stats(&self) {
        let now = self.raw_totals();
        *self.baseline.lock() = now;
        self.latency_generation.fetch_add(1, Ordering::Relaxed);
        *self.stats.errors.lock() = crate::stats::ErrorCounts::default();
    }

    /// Periodic work any worker may call (at least every 100 ms): samples the op rate and
    /// the memory peak. Cheap when another worker holds the sampler.
    pub fn cron(&self, now: Now) {
        if let Some(mut ops) = self.ops.try_lock() {
            ops.sample(now.mono, self.sum(|w| w.commands.get()));
        }
        let used = self.used_memory();
        self.stats.peak_memory.fetch_max(used, Ordering::Relaxed);
    }

    /// `used_memory` as eviction reads it: the keyspaces' running totals (current after
    /// every write while `maxmemory` is set) plus connection buffers; a few relaxed loads.
    pub fn used_memory_fast(&self) -> usize {
        self.dbs.iter().map(|d| d.used().0).sum::<usize>() + self.sum(|w| w.buffer_bytes.get())
    }

    /// Redis's `performEvictions`: while `maxmemory` is set and used memory is above it,
    /// evicts keys as the policy says, at most [`crate::evict::keys_per_call`] of them
    /// (then `Running`: the tick goes on). `Fail` when nothing can be evicted (noeviction,
    /// or no candidate key). The caller holds its worker's gate (no EXEC runs meanwhile).
    pub fn perform_evictions(&self, now: UnixMillis) -> crate::evict::Outcome {
        use crate::evict::{Outcome, Policy};
        let ev = &self.evictor;
        let limit = ev.limit.load(Ordering::Relaxed);
        if limit == 0 || self.used_memory_fast() <= limit {
            return Outcome::Ok;
        }
        // CLIENT PAUSE keeps the keyspace constant (Redis's isSafeToPerformEvictions).
        if self.pause.active() {
            return Outcome::Ok;
        }
        let policy = ev.policy();
        if policy == Policy::NoEviction {
            return Outcome::Fail;
        }
        // One evictor at a time; the others wait and then find memory freed.
        let mut pool = ev.pool.lock();
        let _order = self.feed.is_on().then(|| self.feed.order());
        let budget = crate::evict::keys_per_call(ev.tenacity.load(Ordering::Relaxed));
        let samples = ev.samples.load(Ordering::Relaxed);
        let volatile = policy.volatile();
        let random = policy.random();
        let params = &*ev.access;
        let (mut freed, mut empty_rounds) = (0usize, 0usize);
        // Keys that may be evicted (Redis's `total_keys`: the dict or the expires dict).
        let candidates = |db: &Db| {
            if volatile {
                db.volatile_keys()
            } else {
                db.used().1
            }
        };
        while self.used_memory_fast() > limit {
            let victim = if random {
                let mut found = None;
                for _ in 0..self.dbs.len() {
                    let i = ev.next_db.fetch_add(1, Ordering::Relaxed) % self.dbs.len();
                    let db = self.db(i);
                    if candidates(db) == 0 {
                        continue;
                    }
                    db.sample(1, volatile, |k, _, _| found = Some((i, k.to_vec(), None)));
                    if found.is_some() {
                        break;
                    }
                }
                found
            } else {
                let mut keys = 0;
                for (i, db) in self.dbs.iter().enumerate() {
                    let n = candidates(db);
                    if n == 0 {
                        continue;
                    }
                    keys += n;
                    // As dictGetSomeKeys: never more samples than keys.
                    db.sample(samples.min(n), volatile, |k, access, exp| {
                        pool.offer(params.score(policy, access, exp, now), i, k, access);
                    });
                }
                if keys == 0 {
                    pool.clear();
                }
                // Under LRU and LFU a key read since it was sampled stays (its score is
                // stale); volatile-ttl's score does not change with reads.
                let recheck = policy != Policy::VolatileTtl;
                pool.pop()
                    .map(|c| (c.db, c.key, recheck.then_some(c.access)))
            };
            let Some((i, key, sampled)) = victim else {
                empty_rounds += 1;
                if empty_rounds > crate::evict::MAX_EMPTY_ROUNDS
                    || self.dbs.iter().all(|d| candidates(d) == 0)
                {
                    return Outcome::Fail;
                }
                continue;
            };
            let db = self.db(i);
            let feed = &self.feed;
            let evicted = db.evict(&key, now, volatile, sampled, || {
                if feed.is_on() {
                    feed.record(i, &[b"DEL", &key]);
                }
            });
            if !evicted {
                // Gone, or read since sampled: memory may still be freed by the next
                // candidates (the tick goes on if this call gives up).
                empty_rounds += 1;
                if empty_rounds > crate::evict::MAX_EMPTY_ROUNDS {
                    return Outcome::Running;
                }
                continue;
            }
            empty_rounds = 0;
            ev.evicted.fetch_add(1, Ordering::Relaxed);
            if !self.watches.is_empty() {
                self.watches.touch(i, &key);
            }
            self.notify(crate::notify::EVICTED, "evicted", &key, i);
            freed += 1;
            if freed % 16 == 0 && freed >= budget {
                return Outcome::Running;
            }
        }
        Outcome::Ok
    }

    /// `instantaneous_ops_per_sec`.
    pub fn ops_per_sec(&self) -> usize {
        self.ops.lock().ops_per_sec()
    }

    /// `used_memory`: the keyspace estimate plus connection buffers (brings the running
    /// totals of [`Engine::used_memory_fast`] up to date on the way).
    pub fn used_memory(&self) -> usize {
        for db in self.dbs.iter() {
            db.refresh();
        }
        self.used_memory_fast()
    }
}

/// Where the keyspaces report keys they expire or create: keyspace notifications, and the
/// append-only file (an expired key is recorded as `DEL`, in the keyspace's order: the
/// report comes from inside the shard's critical section).
struct KeyEventSink {
    notifier: crate::sync::Arc<crate::notify::Notifier>,
    feed: crate::sync::Arc<crate::persist::feed::Feed>,
}

impl crate::db::KeyEvents for KeyEventSink {
    fn expired(&self, db: usize, key: &[u8]) {
        if self.feed.is_on() {
            self.feed.record(db, &[b"DEL", key]);
        }
        crate::db::KeyEvents::expired(&*self.notifier, db, key);
    }

    fn created(&self, db: usize, key: &[u8]) {
        crate::db::KeyEvents::created(&*self.notifier, db, key);
    }
}

/// 40 hex digits derived from `seed` (a replication id, as Redis's random `replid`).
fn replid_from(seed: u64) -> String {
    let mut s = String::with_capacity(40);
    for salt in 0..3u64 {
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(b"replid", seed ^ salt.wrapping_mul(0x9E37));
        let _ = core::fmt::Write::write_fmt(&mut s, format_args!("{h:016x}"));
    }
    s.truncate(40);
    s
}

/// The counters behind INFO stats and commandstats.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// `total_connections_received`.
    pub connections: usize,
    /// `rejected_connections`.
    pub rejected: usize,
    /// `total_commands_processed`.
    pub commands: usize,
    /// `total_net_input_bytes`.
    pub net_input: usize,
    /// `total_net_output_bytes`.
    pub net_output: usize,
    /// `keyspace_hits`.
    pub hits: usize,
    /// `keyspace_misses`.
    pub misses: usize,
    /// `expired_keys`.
    pub expired: usize,
    /// `evicted_keys`.
    pub evicted: usize,
    /// Per command of the table: calls, usec, failed calls, rejected calls.
    pub per_command: alloc::vec::Vec<[usize; 4]>,
}

impl Totals {
    fn since(&self, base: &Totals) -> Totals {
        let d = |a: usize, b: usize| a.wrapping_sub(b);
        Totals {
            connections: d(self.connections, base.connections),
            rejected: d(self.rejected, base.rejected),
            commands: d(self.commands, base.commands),
            net_input: d(self.net_input, base.net_input),
            net_output: d(self.net_output, base.net_output),
            hits: d(self.hits, base.hits),
            misses: d(self.misses, base.misses),
            expired: d(self.expired, base.expired),
            evicted: d(self.evicted, base.evicted),
            per_command: self
                .per_command
                .iter()
                .enumerate()
                .map(|(i, now)| {
                    let b = base.per_command.get(i).copied().unwrap_or_default();
                    [
                        d(now[0], b[0]),
                        d(now[1], b[1]),
                        d(now[2], b[2]),
                        d(now[3], b[3]),
                    ]
                })
                .collect(),
        }
    }
}
