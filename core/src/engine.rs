//! The state every worker shares: the keyspace, the settings, the counters and the facts
//! about the host that INFO reports.

use crate::config::Config;
use crate::db::Db;
use crate::stats::{OpsSampler, ServerStats, WorkerStats};
use crate::sync::{AtomicUsize, CachePadded, Mutex, Ordering};
use crate::time::Now;
use alloc::boxed::Box;
use alloc::string::String;

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
}

/// Shared engine state. See the module documentation.
#[derive(Debug)]
pub struct Engine {
    /// The keyspaces, one per database (`databases`, default 16).
    dbs: Box<[Db]>,
    /// Settings.
    pub config: Config,
    /// Facts about the host.
    pub host: HostFacts,
    /// Server-wide counters.
    pub stats: ServerStats,
    /// When the engine started.
    pub started: Now,
    workers: Box<[CachePadded<WorkerStats>]>,
    ops: Mutex<OpsSampler>,
    next_client_id: AtomicUsize,
}

impl Engine {
    /// An engine with an empty keyspace hashed with `seed`, started at `now`, with counters
    /// for `config.workers` workers.
    pub fn new(config: Config, host: HostFacts, seed: u64, now: Now) -> Self {
        let workers = (0..config.workers.max(1))
            .map(|_| CachePadded(WorkerStats::default()))
            .collect();
        let dbs = (0..config.databases.max(1))
            .map(|_| Db::new(seed))
            .collect();
        Engine {
            dbs,
            config,
            host,
            stats: ServerStats::default(),
            started: now,
            workers,
            ops: Mutex::new(OpsSampler::default()),
            next_client_id: AtomicUsize::new(1),
        }
    }

    /// Database `i` (callers check `i < databases()`; others wrap around).
    #[allow(clippy::indexing_slicing)] // `dbs` is never empty, so `i % len` is in range.
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i % self.dbs.len()]
    }

    /// All databases, by index.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
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

    /// Periodic work any worker may call (at least every 100 ms): samples the op rate and
    /// the memory peak. Cheap when another worker holds the sampler.
    pub fn cron(&self, now: Now) {
        if let Some(mut ops) = self.ops.try_lock() {
            ops.sample(now.mono, self.sum(|w| w.commands.get()));
        }
        let used = self.used_memory();
        self.stats.peak_memory.fetch_max(used, Ordering::Relaxed);
    }

    /// `instantaneous_ops_per_sec`.
    pub fn ops_per_sec(&self) -> usize {
        self.ops.lock().ops_per_sec()
    }

    /// `used_memory`: the keyspace estimate plus connection buffers.
    pub fn used_memory(&self) -> usize {
        self.dbs.iter().map(Db::mem_bytes).sum::<usize>() + self.sum(|w| w.buffer_bytes.get())
    }
}
