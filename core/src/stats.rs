//! Counters for INFO: per-worker counters (one writer each, so no cache line is shared on
//! the hot path) and server-wide ones, plus the sampler behind `instantaneous_ops_per_sec`.

use crate::sync::{AtomicUsize, Counter, Ordering};
use crate::time::Instant;
use core::time::Duration;

/// Per-command counters of one worker (INFO commandstats).
#[derive(Debug, Default)]
pub struct CommandCounters {
    /// Calls that ran.
    pub calls: Counter,
    /// Microseconds spent in them.
    pub usec: Counter,
    /// Calls that ran and answered an error.
    pub failed: Counter,
    /// Calls refused before running (wrong number of arguments).
    pub rejected: Counter,
    /// Latencies (INFO latencystats), while `latency-tracking` is on.
    pub latency: crate::latency::Tracked,
}

/// Counters owned by one worker thread; INFO sums them over all workers.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// One entry per command of the command table (empty in `Default`, which counts no
    /// per-command figures).
    pub per_command: alloc::boxed::Box<[CommandCounters]>,
    /// Commands executed.
    pub commands: Counter,
    /// Key lookups that found the key.
    pub keyspace_hits: Counter,
    /// Key lookups that did not.
    pub keyspace_misses: Counter,
    /// Bytes read from clients.
    pub net_input_bytes: Counter,
    /// Bytes written to clients.
    pub net_output_bytes: Counter,
    /// Bytes held in this worker's connection buffers (updated every tick).
    pub buffer_bytes: Counter,
    /// Connections this worker owns now.
    pub connections: Counter,
    /// Changes to the dataset made by this worker's write commands (Redis's `dirty`;
    /// `rdb_changes_since_last_save` sums them).
    pub dirty: Counter,
}

impl WorkerStats {
    /// Counters with per-command slots for `commands` commands.
    pub fn new(commands: usize) -> Self {
        WorkerStats {
            per_command: (0..commands).map(|_| CommandCounters::default()).collect(),
            ..WorkerStats::default()
        }
    }
}

/// Server-wide counters, written by any thread.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Clients connected now.
    pub connected_clients: AtomicUsize,
    /// Connections accepted since start.
    pub total_connections_received: AtomicUsize,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicUsize,
    /// Resident set size in bytes, as the frontend last measured it (0 if unknown).
    pub rss_bytes: AtomicUsize,
    /// The highest `used_memory` seen.
    pub peak_memory: AtomicUsize,
    /// `used_memory` of the engine when it was made (MEMORY STATS `startup.allocated`).
    pub startup_memory: AtomicUsize,
    /// Error replies: `total_error_replies` and the Errorstats section.
    pub errors: crate::sync::Mutex<ErrorCounts>,
    /// CPU time in user mode, microseconds, as the frontend last measured it.
    pub cpu_user_us: AtomicUsize,
    /// CPU time in kernel mode, microseconds, as the frontend last measured it.
    pub cpu_sys_us: AtomicUsize,
}

/// Number of samples `instantaneous_ops_per_sec` averages over (Redis's
/// `STATS_METRIC_SAMPLES`).
pub const OPS_SAMPLES: usize = 16;
/// How often the sampler takes a sample (Redis samples in its 100 ms cron).
pub const OPS_SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// A ring of recent operation rates, as Redis's `trackInstantaneousMetric`.
#[derive(Debug, Default)]
pub struct OpsSampler {
    last_at: Option<Instant>,
    last_total: usize,
    samples: [usize; OPS_SAMPLES],
    next: usize,
}

impl OpsSampler {
    /// Records `total` commands at `now` if a sample period has passed.
    pub fn sample(&mut self, now: Instant, total: usize) {
        let Some(last) = self.last_at else {
            self.last_at = Some(now);
            self.last_total = total;
            return;
        };
        let dt = now.saturating_duration_since(last);
        if dt < OPS_SAMPLE_PERIOD {
            return;
        }
        let ms = usize::try_from(dt.as_millis()).unwrap_or(usize::MAX).max(1);
        let ops = total.wrapping_sub(self.last_total).saturating_mul(1000) / ms;
        if let Some(slot) = self.samples.get_mut(self.next) {
            *slot = ops;
        }
        self.next = (self.next + 1) % OPS_SAMPLES;
        self.last_at = Some(now);
        self.last_total = total;
    }

    /// The average rate over the ring.
    pub fn ops_per_sec(&self) -> usize {
        self.samples.iter().sum::<usize>() / OPS_SAMPLES
    }
}

impl ServerStats {
    /// Records a newly connected client.
    pub fn client_connected(&self) {
        self.connected_clients.fetch_add(1, Ordering::Relaxed);
        self.total_connections_received
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Records a disconnected client.
    pub fn client_disconnected(&self) {
        self.connected_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_averages_rates() {
        let mut s = OpsSampler::default();
        let ms = |m: u64| Instant::from_nanos(m * 1_000_000);
        s.sample(ms(0), 0);
        for i in 1..=16u64 {
            s.sample(ms(i * 100), (i * 100) as usize);
            s.sample(ms(i * 100 + 50), 999_999); // inside the period: ignored
        }
        assert_eq!(s.ops_per_sec(), 1000);
    }
}

/// The most distinct error codes the Errorstats section tracks (as Redis 7.2's
/// `ERRORSTATS_LIMIT`): further new codes count only in `total_error_replies`, so a client
/// cannot grow the table without bound with made-up codes.
pub const ERRORSTATS_LIMIT: usize = 128;

/// How many error replies went out, in all and per code (Redis's `afterErrorReply`).
#[derive(Debug, Default)]
pub struct ErrorCounts {
    /// `total_error_replies`.
    pub total: usize,
    /// (code, count), sorted by code (Redis lists them in its radix tree's order).
    pub codes: alloc::vec::Vec<(alloc::boxed::Box<[u8]>, usize)>,
}

impl ErrorCounts {
    /// Counts the error reply `reply` (`-CODE message\r\n`): its code is the word after
    /// the `-` up to the first space within 32 bytes, or `ERR` when there is none.
    pub fn record(&mut self, reply: &[u8]) {
        self.total += 1;
        let head = reply.get(..reply.len().min(32)).unwrap_or(reply);
        let code = match head.iter().position(|&b| b == b' ') {
            Some(end) => reply.get(1..end).unwrap_or(b"ERR"),
            None => b"ERR",
        };
        match self.codes.binary_search_by(|(c, _)| (**c).cmp(code)) {
            Ok(i) => {
                if let Some((_, n)) = self.codes.get_mut(i) {
                    *n += 1;
                }
            }
            Err(i) if self.codes.len() < ERRORSTATS_LIMIT => {
                self.codes.insert(i, (code.into(), 1));
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn error_codes_are_the_first_word_and_bounded() {
        let mut e = ErrorCounts::default();
        e.record(b"-WRONGTYPE Operation against a key\r\n");
        e.record(b"-ERR syntax error\r\n");
        e.record(b"-ERR x\r\n");
        // No space within 32 bytes: counted as ERR, as Redis does.
        e.record(b"-NOSPACEINTHEFIRSTTHIRTYTWOBYTES_AT_ALL\r\n");
        let codes: alloc::vec::Vec<(&[u8], usize)> =
            e.codes.iter().map(|(c, n)| (&c[..], *n)).collect();
        assert_eq!(codes, [(&b"ERR"[..], 3), (&b"WRONGTYPE"[..], 1)]);
        for i in 0..2 * ERRORSTATS_LIMIT {
            e.record(alloc::format!("-C{i} message\r\n").as_bytes());
        }
        assert_eq!(e.codes.len(), ERRORSTATS_LIMIT);
        assert_eq!(e.total, 4 + 2 * ERRORSTATS_LIMIT);
    }
}
