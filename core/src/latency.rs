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
//! only histograms of the current generation.

use crate::sync::{Counter, Once};
use alloc::boxed::Box;
use alloc::vec::Vec;

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
