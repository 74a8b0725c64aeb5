//! Per-command latency histograms for INFO latencystats (`latency-tracking`), bucketed
//! exactly as Redis 7.0.15's HdrHistogram (`hdr_init(1, 1_000_000_000, 2)` over
//! nanoseconds), so the percentiles INFO prints are the ones redis-server prints for the same
//! durations.
//!
//! Values 0..256 have buckets of one nanosecond; every power of two above doubles the
//! bucket width (128 buckets a power of two): [`COUNTS`] buckets cover 1 ns to 1 s. A
//! percentile is the highest value of the bucket holding that rank (the lowest, for 0).
//!
//! Each worker owns the histograms of its commands (one writer, relaxed atomics, as the
//! other per-worker counters); INFO adds the workers' buckets up. A histogram is allocated
//! (24 KiB) on its command's first timed call in a worker, as Redis allocates one per
//! command on its first call, and CONFIG RESETSTAT empties them all by moving to a new
//! generation: a worker clears its histogram when it next records into it, and INFO shows
//! only histograms of the current generation. LATENCY HISTOGRAM reads the same buckets
//! ([`cdf`]).
//!
//! The latency monitor (LATENCY LATEST / HISTORY / RESET / DOCTOR / GRAPH) is [`Monitor`]:
//! while `latency-monitor-threshold` is above 0, every command that took at least that many
//! milliseconds is a sample of the event `command` (`fast-command` for commands flagged
//! `fast`), kept as Redis keeps it: at most one sample a second per event (the highest),
//! the last [`SERIES_LEN`] of them, and the highest ever.

use crate::sync::{AtomicUsize, Counter, Mutex, Once, Ordering};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The largest value recorded (nanoseconds; larger ones count as this, as in Redis).
pub const HIGHEST: u64 = 1_000_000_000;
/// log2 of half the buckets of each power of two (Redis's 2 significant figures: 256).
const HALF_MAG: u32 = 7;
/// Buckets of each power of two past the first 256 values.
const HALF: usize = 1 << HALF_MAG;
/// Powers of two needed to reach [`HIGHEST`] (256 << 22 > 10^9).
const POWERS: usize = 23;
/// Buckets a histogram has.
pub const COUNTS: usize = (POWERS + 1) * HALF;

/// hdr's `get_bucket_index`: the power of two (past the first 256 values) `v` falls in.
fn power_of(v: u64) -> u32 {
    let pow2ceiling = 64 - (v | 255).leading_zeros();
    pow2ceiling - (HALF_MAG + 1)
}

/// The bucket of `v` (hdr's `counts_index_for`).
fn index_of(v: u64) -> usize {
    let power = power_of(v);
    let sub = (v >> power) as usize;
    ((power as usize + 1) << HALF_MAG) + sub - HALF
}

/// The lowest value of bucket `index` (hdr's `hdr_value_at_index`).
fn low_of(index: usize) -> u64 {
    match (index >> HALF_MAG).checked_sub(1) {
        None => index as u64,
        Some(power) => (((index & (HALF - 1)) + HALF) as u64) << power,
    }
}

/// The width of the bucket holding `v` (hdr's `hdr_size_of_equivalent_value_range`).
fn width_of(v: u64) -> u64 {
    1 << power_of(v)
}

/// One command's histogram in one worker.
pub struct Histogram {
    counts: Box<[Counter]>,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: (0..COUNTS).map(|_| Counter::default()).collect(),
        }
    }

    /// Adds the buckets to `into` (of [`COUNTS`] entries).
    pub fn add_to(&self, into: &mut [u64]) {
        for (a, c) in into.iter_mut().zip(self.counts.iter()) {
            *a = a.wrapping_add(c.get() as u64);
        }
    }
}

impl core::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Histogram").finish_non_exhaustive()
    }
}

/// A command's histogram slot in one worker: empty until the first timed call.
#[derive(Debug, Default)]
pub struct Tracked {
    /// The reset generation the counts belong to.
    generation: Counter,
    hist: Once<Histogram>,
}

impl Tracked {
    /// Records a call of `ns` nanoseconds (clamped to 1..=[`HIGHEST`]) in generation
    /// `generation`; only the owning worker calls this.
    pub fn record(&self, generation: usize, ns: u64) {
        let h = self.hist.call_once(Histogram::new);
        if self.generation.get() != generation {
            for c in h.counts.iter() {
                c.set(0);
            }
            self.generation.set(generation);
        }
        if let Some(c) = h.counts.get(index_of(ns.clamp(1, HIGHEST))) {
            c.bump(1);
        }
    }

    /// The histogram, if it has counts of `generation`.
    pub fn get(&self, generation: usize) -> Option<&Histogram> {
        self.hist
            .get()
            .filter(|_| self.generation.get() == generation)
    }
}

/// hdr's `hdr_value_at_percentile` over summed buckets: the value (nanoseconds) at
/// `percentile` (0 to 100) of the counts; 0 when there are none.
pub fn value_at_percentile(counts: &[u64], percentile: f64) -> u64 {
    let total: u64 = counts.iter().fold(0, |a, &c| a.wrapping_add(c));
    let p = percentile.min(100.0);
    let want = (((p / 100.0) * total as f64) + 0.5) as u64;
    let want = want.max(1);
    let mut seen = 0u64;
    for (i, &c) in counts.iter().enumerate() {
        seen = seen.wrapping_add(c);
        if seen >= want {
            // hdr takes the bucket's lowest value, then its lowest (percentile 0) or its
            // highest equivalent value: the bucket's two ends.
            let low = low_of(i);
            return if percentile == 0.0 {
                low
            } else {
                low + width_of(low) - 1
            };
        }
    }
    0
}

/// hdr's logarithmic iteration as LATENCY HISTOGRAM walks it (first step 1024 ns, each
/// step twice the last): `(microseconds, calls so far)` at every step where calls were
/// added, until all are counted.
pub fn cdf(counts: &[u64]) -> Vec<(u64, u64)> {
    let total: u64 = counts.iter().fold(0, |a, &c| a.wrapping_add(c));
    let mut out = Vec::new();
    let (mut seen, mut previous, mut next) = (0u64, 0u64, 0usize);
    let mut level: u64 = 1024;
    while seen < total && level <= HIGHEST.saturating_mul(4) {
        // Buckets whose lowest value is below the level's bucket join this step.
        let limit = low_of(index_of(level));
        while let Some(&c) = counts.get(next) {
            if low_of(next) >= limit {
                break;
            }
            seen = seen.wrapping_add(c);
            next += 1;
        }
        if seen > previous {
            out.push(((limit + width_of(limit) - 1) / 1000, seen));
        }
        previous = seen;
        level = level.saturating_mul(2);
    }
    out
}

/// Samples kept per event (Redis's `LATENCY_TS_LEN`).
pub const SERIES_LEN: usize = 160;

/// One event's samples: `(unix seconds, milliseconds)`, 0 seconds for an empty slot.
struct Series {
    /// The next slot to write.
    idx: usize,
    /// The highest latency ever seen.
    max: u64,
    samples: [(i64, u64); SERIES_LEN],
}

impl Series {
    /// The samples kept, oldest first.
    fn in_order(&self) -> Vec<(i64, u64)> {
        (0..SERIES_LEN)
            .filter_map(|j| self.samples.get((self.idx + j) % SERIES_LEN).copied())
            .filter(|s| s.0 != 0)
            .collect()
    }
}

/// What DOCTOR says of an event (Redis's `latencyStats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct EventStats {
    /// Samples kept.
    pub samples: u64,
    /// Their average (milliseconds).
    pub avg: u64,
    /// Their mean absolute deviation from it.
    pub mad: u64,
    /// Seconds since the oldest (at least 1).
    pub period: i64,
    /// The highest latency ever seen.
    pub all_time_high: u64,
}

/// The latency monitor: events and their samples (see the module documentation).
#[derive(Default)]
pub struct Monitor {
    /// `latency-monitor-threshold` in milliseconds (0: off).
    threshold: AtomicUsize,
    events: Mutex<Vec<(&'static str, Box<Series>)>>,
}

impl core::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Monitor")
            .field("threshold", &self.threshold())
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// The threshold in milliseconds (0: the monitor is off).
    #[inline]
    pub fn threshold(&self) -> u64 {
        self.threshold.load(Ordering::Relaxed) as u64
    }

    /// Sets the threshold (CONFIG SET latency-monitor-threshold).
    pub fn set_threshold(&self, ms: u64) {
        self.threshold
            .store(usize::try_from(ms).unwrap_or(usize::MAX), Ordering::Relaxed);
    }

    /// Redis's `latencyAddSampleIfNeeded`: a sample of `ms` milliseconds for the event
    /// `event` names at `now` (unix seconds) when the monitor is on and `ms` reaches the
    /// threshold (`event` is asked only then).
    #[inline]
    pub fn add_if_needed(&self, event: impl FnOnce() -> &'static str, now: i64, ms: u64) {
        let t = self.threshold();
        if t != 0 && ms >= t {
            self.add(event(), now, ms);
        }
    }

    /// Runs `f` on the event named `name` and its series, under the lock.
    fn series<R>(&self, name: &[u8], f: impl FnOnce(&'static str, &Series) -> R) -> Option<R> {
        let events = self.events.lock();
        let (e, ts) = events.iter().find(|(e, _)| e.as_bytes() == name)?;
        Some(f(e, ts))
    }

    #[cold]
    #[inline(never)]
    fn add(&self, event: &'static str, now: i64, ms: u64) {
        let mut events = self.events.lock();
        let pos = match events.iter().position(|(e, _)| *e == event) {
            Some(p) => p,
            None => {
                events.push((
                    event,
                    Box::new(Series {
                        idx: 0,
                        max: 0,
                        samples: [(0, 0); SERIES_LEN],
                    }),
                ));
                events.len() - 1
            }
        };
        let Some((_, ts)) = events.get_mut(pos) else {
            return;
        };
        ts.max = ts.max.max(ms);
        let prev = (ts.idx + SERIES_LEN - 1) % SERIES_LEN;
        if let Some(p) = ts.samples.get_mut(prev) {
            if p.0 == now {
                p.1 = p.1.max(ms);
                return;
            }
        }
        if let Some(slot) = ts.samples.get_mut(ts.idx) {
            *slot = (now, ms);
        }
        ts.idx = (ts.idx + 1) % SERIES_LEN;
    }

    /// LATENCY LATEST: per event, its name, the last sample's time and latency, and the
    /// highest ever.
    pub fn latest(&self) -> Vec<(&'static str, i64, u64, u64)> {
        self.events
            .lock()
            .iter()
            .map(|(e, ts)| {
                let last = ts
                    .samples
                    .get((ts.idx + SERIES_LEN - 1) % SERIES_LEN)
                    .copied()
                    .unwrap_or_default();
                (*e, last.0, last.1, ts.max)
            })
            .collect()
    }

    /// The event named `name`'s samples, oldest first (`None`: no such event).
    pub fn history(&self, name: &[u8]) -> Option<Vec<(i64, u64)>> {
        self.series(name, |_, ts| ts.in_order())
    }

    /// LATENCY RESET: forgets the event `name` (every event for `None`); how many it forgot.
    pub fn reset(&self, name: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        match name {
            None => events.clear(),
            Some(n) => events.retain(|(e, _)| e.as_bytes() != n),
        }
        before - events.len()
    }

    /// The events, in the order they were first seen.
    pub fn events(&self) -> Vec<&'static str> {
        self.events.lock().iter().map(|(e, _)| *e).collect()
    }

    /// Redis's `analyzeLatencyForEvent` at `now` (unix seconds).
    pub fn stats(&self, name: &str, now: i64) -> EventStats {
        let Some((kept, max)) = self.series(name.as_bytes(), |_, ts| (ts.in_order(), ts.max))
        else {
            return EventStats::default();
        };
        let mut st = EventStats {
            all_time_high: max,
            ..EventStats::default()
        };
        if kept.is_empty() {
            return st;
        }
        let n = kept.len() as u64;
        let sum: u64 = kept.iter().map(|s| s.1).sum();
        st.samples = n;
        st.avg = sum / n;
        let oldest = kept.iter().map(|s| s.0).min().unwrap_or(now);
        st.period = (now - oldest).max(1);
        st.mad = kept.iter().map(|s| st.avg.abs_diff(s.1)).sum::<u64>() / n;
        st
    }

    /// LATENCY GRAPH: Redis's ASCII sparkline of the event's samples at `now` (`None`: no
    /// such event).
    pub fn graph(&self, name: &[u8], now: i64) -> Option<String> {
        let (event, max, samples) = self.series(name, |e, ts| (e, ts.max, ts.in_order()))?;
        let lo = samples.iter().map(|s| s.1).min().unwrap_or(0);
        let hi = samples.iter().map(|s| s.1).max().unwrap_or(0);
        let mut g = String::new();
        let _ = writeln!(
            g,
            "{event} - high {hi} ms, low {lo} ms (all time high {max} ms)"
        );
        g.push_str(&"-".repeat(GRAPH_COLS));
        g.push('\n');
        let labelled: Vec<(f64, String)> = samples
            .iter()
            .map(|&(t, ms)| {
                let e = now - t;
                let label = if e < 60 {
                    alloc::format!("{e}s")
                } else if e < 3600 {
                    alloc::format!("{}m", e / 60)
                } else if e < 86400 {
                    alloc::format!("{}h", e / 3600)
                } else {
                    alloc::format!("{}d", e / 86400)
                };
                (ms as f64, label)
            })
            .collect();
        sparkline(&mut g, &labelled, GRAPH_COLS, 4);
        Some(g)
    }
}

/// Columns of LATENCY GRAPH (Redis's `LATENCY_GRAPH_COLS`).
const GRAPH_COLS: usize = 80;

/// Redis's `sparklineRender` with `SPARKLINE_FILL`: `rows` rows of `_o#|` for the values,
/// then each label written downwards under its column, `cols` columns at a time.
fn sparkline(out: &mut String, seq: &[(f64, String)], cols: usize, rows: usize) {
    const FILL: [u8; 3] = *b"_o#";
    if seq.is_empty() {
        return;
    }
    let min = seq.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = seq.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let labels = seq.iter().any(|s| !s.1.is_empty());
    let mut offset = 0;
    while offset < seq.len() {
        if offset != 0 {
            out.push('\n');
        }
        let part = seq
            .get(offset..(offset + cols).min(seq.len()))
            .unwrap_or(&[]);
        let mut row = 0usize;
        loop {
            let mut chars = alloc::vec![b' '; part.len()];
            let mut more = false;
            for (j, (value, label)) in part.iter().enumerate() {
                // C's `(int) (relval*steps)/relmax`: the product truncated first.
                let step = ((((value - min) * steps as f64) as i64) as f64 / relmax) as i64;
                let step = step.clamp(0, steps - 1);
                if row < rows {
                    more = true;
                    let idx = step - ((rows - row - 1) * FILL.len()) as i64;
                    if let (Ok(i), Some(c)) = (usize::try_from(idx), chars.get_mut(j)) {
                        *c = FILL.get(i).copied().unwrap_or(b'|');
                    }
                } else {
                    if labels && row - rows < 1 {
                        more = true;
                        break;
                    }
                    let at = row - rows - 1;
                    if let (Some(&b), Some(c)) = (label.as_bytes().get(at), chars.get_mut(j)) {
                        more = true;
                        *c = b;
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
        offset += cols;
    }
}

/// Empty buckets for [`Histogram::add_to`].
pub fn empty_counts() -> Vec<u64> {
    alloc::vec![0; COUNTS]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// redis-server 7.0.15 printed these for one call of each duration (INFO latencystats,
    /// `p50=` in microseconds): 5 us -> 5.023, 12 -> 12.031, 71 -> 71.167, 1 -> 1.003.
    #[test]
    fn percentiles_are_redis_bucket_ends() {
        for (us, want) in [(5u64, 5023u64), (12, 12031), (71, 71167), (1, 1003)] {
            let t = Tracked::default();
            t.record(0, us * 1000);
            let mut c = empty_counts();
            t.get(0).unwrap().add_to(&mut c);
            assert_eq!(value_at_percentile(&c, 50.0), want, "{us} us");
            assert_eq!(value_at_percentile(&c, 100.0), want, "{us} us");
        }
    }

    #[test]
    fn small_values_are_exact_and_large_ones_clamp() {
        for v in [1u64, 2, 100, 255, 256, 257, 511, 512, 1023, 1024, HIGHEST] {
            let (low, width) = (low_of(index_of(v)), width_of(v));
            assert!(low <= v && v < low + width, "{v}: {low} + {width}");
            assert_eq!(width_of(low), width);
        }
        assert_eq!((low_of(index_of(7)), width_of(7)), (7, 1));
        assert!(index_of(HIGHEST) < COUNTS);
        let t = Tracked::default();
        t.record(3, u64::MAX);
        t.record(3, 0);
        let mut c = empty_counts();
        t.get(3).unwrap().add_to(&mut c);
        assert_eq!(value_at_percentile(&c, 0.0), 1);
        assert!(value_at_percentile(&c, 100.0) >= HIGHEST);
    }

    #[test]
    fn cdf_steps_double_from_1024_ns_as_hdr_log_iteration() {
        let mut c = empty_counts();
        // One 5 us call: redis-server's LATENCY HISTOGRAM says `8 1`.
        c[index_of(5000)] += 1;
        assert_eq!(cdf(&c), [(8, 1)]);
        c[index_of(5000)] = 0;
        c[index_of(1000)] += 1;
        c[index_of(70_000)] += 2;
        assert_eq!(cdf(&c), [(1, 1), (132, 3)]);
        assert!(cdf(&empty_counts()).is_empty());
        c[index_of(HIGHEST)] += 1;
        assert_eq!(
            cdf(&c).last().map(|s| s.1),
            Some(4),
            "a 1 s call is counted too"
        );
    }

    #[test]
    fn monitor_keeps_one_sample_a_second_the_last_160_and_the_max() {
        let m = Monitor::default();
        let cmd = || "command";
        m.add_if_needed(cmd, 100, 50);
        assert!(m.latest().is_empty(), "off while the threshold is 0");
        m.set_threshold(10);
        m.add_if_needed(cmd, 100, 9);
        assert!(m.latest().is_empty(), "below the threshold");
        m.add_if_needed(cmd, 100, 20);
        m.add_if_needed(cmd, 100, 15);
        m.add_if_needed(cmd, 100, 30);
        assert_eq!(m.history(b"command").unwrap(), [(100, 30)]);
        for t in 101..400 {
            m.add_if_needed(cmd, t, 10 + (t as u64 % 7));
        }
        let h = m.history(b"command").unwrap();
        assert_eq!(h.len(), SERIES_LEN);
        assert_eq!(h.first().map(|s| s.0), Some(400 - SERIES_LEN as i64));
        assert_eq!(h.last().map(|s| s.0), Some(399));
        assert_eq!(m.latest(), [("command", 399, 10, 30)]);
        let st = m.stats("command", 400);
        assert_eq!((st.samples, st.all_time_high), (SERIES_LEN as u64, 30));
        assert_eq!(st.period, SERIES_LEN as i64);
        let g = m.graph(b"command", 400).unwrap();
        assert!(g.starts_with("command - high 16 ms, low 10 ms (all time high 30 ms)\n"));
        assert!(g.lines().count() > 4, "{g}");
        assert!(m.graph(b"other", 400).is_none());
        assert_eq!(m.reset(Some(b"other")), 0);
        assert_eq!(m.reset(None), 1);
        assert!(m.history(b"command").is_none());
    }

    #[test]
    fn percentiles_rank_and_generations_reset() {
        let t = Tracked::default();
        for us in 1..=100u64 {
            t.record(1, us * 1000);
        }
        let mut c = empty_counts();
        t.get(1).unwrap().add_to(&mut c);
        let p50 = value_at_percentile(&c, 50.0);
        assert!((50_000..51_000).contains(&p50), "{p50}");
        let p99 = value_at_percentile(&c, 99.0);
        assert!((99_000..100_000).contains(&p99), "{p99}");
        assert!(t.get(2).is_none(), "another generation sees nothing");
        t.record(2, 7);
        let mut c = empty_counts();
        t.get(2).unwrap().add_to(&mut c);
        assert_eq!(c.iter().sum::<u64>(), 1, "cleared at the new generation");
        assert_eq!(value_at_percentile(&c, 50.0), 7);
        assert_eq!(value_at_percentile(&empty_counts(), 50.0), 0);
    }
}
