//! Settings of the C allocator (glibc's malloc) that the engine's memory behaviour needs.
//!
//! - **No fastbins** (`mallopt(M_MXFAST, 0)`, at start): glibc keeps small freed chunks in
//!   per-arena "fastbins" and merges them all at once (`malloc_consolidate`) when a larger
//!   chunk is freed or asked for. After a mass expiry or a FLUSHALL that is a million chunks,
//!   merged under the arena's lock, and the arena belongs to whichever worker allocated
//!   them: measured with `benches/expiry_storm.py`, every GET client stalled for 0.3-0.6 s.
//!   Without fastbins small chunks still go to the per-thread cache (tcache) first, and
//!   the rest are merged as they are freed, a little at a time.
//! - **Memory given back** ([`Trimmer`], once a second from the acceptor): once the engine's
//!   `used_memory` has dropped by [`TRIM_AFTER_FREED`] since its last high point, or grown
//!   by as much since the last trim (or moved by [`TRIM_AFTER_CHANGE`] either way, or the
//!   keyspace's tables freed that much of their old arrays, and then it stopped moving; or
//!   the tables freed [`TRIM_AFTER_ARRAYS`] and it stopped growing),
//!   `malloc_trim(0)` returns the free pages inside the heaps to the kernel (glibc only
//!   returns the top of each heap by itself), so RSS follows the data
//!   down, and does not keep the old arrays a growing keyspace's tables left behind
//!   (measured with `benches/keys_memory.py`: 1M 16-byte keys held 77 bytes of RSS per key
//!   for 66 of `used_memory` without it, 67 with it).
//!
//! Other C libraries (musl) and platforms: nothing to do, both are no-ops.
//! The two calls are foreign functions, hence the `unsafe` this module (only) allows.
#![allow(unsafe_code)]

/// How far `used_memory` must fall below its high point before the free pages are given
/// back (`malloc_trim` walks every arena: not for small changes).
pub const TRIM_AFTER_FREED: usize = 16 << 20;
/// How far `used_memory` must have moved (up or down) since the last trim, or how many
/// bytes of old table arrays the keyspace must have freed, for a trim once `used_memory`
/// stops moving (the end of a load: a table growing by 9/8 frees its whole old array, so
/// `used_memory` growing by 4 MiB leaves about 32 MiB of free memory behind; the end of a
/// mass expiry or deletion smaller than [`TRIM_AFTER_FREED`]). Measured on the
/// `redis-benchmark -t set -d 16 -r 1000000 -n 4000000` load (`benches/keys_memory.py
/// --benchmark-load`): without the freed arrays counted, RSS stayed 10 MB (10 bytes a key)
/// above `used_memory` after it.
pub const TRIM_AFTER_CHANGE: usize = 4 << 20;
/// A change of `used_memory` under this between two ticks counts as "stopped moving".
pub const TRIM_STEADY: usize = 1 << 20;
/// Growth of `used_memory` under this between two ticks counts as "stopped growing" (the
/// end of a load, its clients gone; or memory falling, as tables shrink after a mass
/// expiry: `benches/expiry_storm.py`'s worst GET stayed under 10 ms with this).
pub const TRIM_STOPPED: usize = 64 << 10;
/// Bytes of old table arrays freed since the last trim that are given back as soon as
/// `used_memory` stops growing ([`TRIM_STOPPED`]): the tail of a load (most writes
/// overwriting, a table growing now and then) moves `used_memory` too slowly to count as
/// moving, and ended with up to [`TRIM_AFTER_CHANGE`] of them kept (2.4 MB, 2.5 bytes a key,
/// after the `redis-benchmark` load above).
pub const TRIM_AFTER_ARRAYS: usize = 1 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::ffi::c_int;

    /// glibc's `M_MXFAST` parameter of `mallopt`.
    const M_MXFAST: c_int = 1;

    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
        fn malloc_trim(pad: usize) -> c_int;
    }

    pub fn no_fastbins() {
        // SAFETY: `mallopt` is glibc's documented, thread-safe tuning call; M_MXFAST 0 is
        // a valid value (fastbins off). It takes no pointers.
        unsafe {
            mallopt(M_MXFAST, 0);
        }
    }

    pub fn trim() {
        // SAFETY: `malloc_trim` is glibc's documented, thread-safe call; pad 0 is valid.
        // It takes no pointers and frees nothing that is in use.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    pub fn no_fastbins() {}
    pub fn trim() {}
}

/// Turns glibc's fastbins off; call first thing in `main`, before any thread starts.
pub fn init() {
    glibc::no_fastbins();
}

/// Decides when to give free memory back (see the module documentation).
#[derive(Debug, Default)]
pub struct Trimmer {
    /// The highest `used_memory` seen since the last trim.
    peak: usize,
    /// `used_memory` at the last trim.
    base: usize,
    /// `used_memory` at the last tick.
    last: usize,
    /// [`kv_core::map::freed_array_bytes`] at the last trim.
    freed_base: usize,
}

impl Trimmer {
    /// Looks at `used_memory` and at the bytes of table arrays freed so far
    /// ([`kv_core::map::freed_array_bytes`]) now (once a second); trims when `used_memory`
    /// fell, or grew, far enough, or stopped moving after it moved or tables freed
    /// [`TRIM_AFTER_CHANGE`], or stopped growing after tables freed [`TRIM_AFTER_ARRAYS`]
    /// (see the module documentation). True if it trimmed.
    pub fn tick(&mut self, used: usize, freed: usize) -> bool {
        self.peak = self.peak.max(used);
        let grown = used.saturating_sub(self.base);
        let steady = used.abs_diff(self.last) < TRIM_STEADY;
        let stopped = used.saturating_sub(self.last) < TRIM_STOPPED;
        self.last = used;
        let arrays = freed.wrapping_sub(self.freed_base);
        let changed = used.abs_diff(self.base) >= TRIM_AFTER_CHANGE || arrays >= TRIM_AFTER_CHANGE;
        let idle = stopped && arrays >= TRIM_AFTER_ARRAYS;
        if self.peak - used < TRIM_AFTER_FREED
            && grown < TRIM_AFTER_FREED
            && !(steady && changed)
            && !idle
        {
            return false;
        }
        glibc::trim();
        self.peak = used;
        self.base = used;
        self.freed_base = freed;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_per_large_drop_or_rise() {
        let mut t = Trimmer::default();
        assert!(!t.tick(10 << 20, 0));
        assert!(t.tick(100 << 20, 0), "grew by 90 MB");
        assert!(!t.tick(90 << 20, 0));
        assert!(t.tick(80 << 20, 0), "fell by 20 MB");
        assert!(!t.tick(70 << 20, 0));
        assert!(
            !t.tick(85 << 20, 0),
            "grew by 15 MB since the last trim, and is growing"
        );
        assert!(t.tick(97 << 20, 0), "grew by 27 MB since the last trim");
        assert!(!t.tick(100 << 20, 0), "growing");
        assert!(!t.tick(100 << 20, 0), "steady, but grew by only 3 MB");
        assert!(!t.tick(103 << 20, 0), "grew by 6 MB, still growing");
        assert!(
            t.tick(103 << 20, 0),
            "stopped growing 6 MB above the last trim"
        );
        assert!(!t.tick(103 << 20, 0));
        assert!(!t.tick(95 << 20, 0), "fell by 8 MB, still falling");
        assert!(
            t.tick(95 << 20, 0),
            "stopped falling 8 MB below the last trim"
        );
        assert!(!t.tick(94 << 20, 0));
        assert!(t.tick(10 << 20, 0));
    }

    #[test]
    fn trims_once_tables_freed_enough_and_memory_stopped_moving() {
        const HALF: usize = 1 << 19;
        let mb = |n: usize| n << 20;
        let mut t = Trimmer::default();
        assert!(t.tick(mb(100), 0), "grew by 100 MB");
        assert!(!t.tick(mb(102), mb(30)), "still growing");
        assert!(t.tick(mb(102), mb(30)), "steady after 30 MB of old arrays");
        assert!(!t.tick(mb(102), mb(30)), "nothing freed since");
        // Growing slowly (steady, not stopped): 4 MB of arrays are needed.
        assert!(!t.tick(mb(102) + HALF, mb(33)), "3 MB of arrays, growing");
        assert!(t.tick(mb(103), mb(35)), "5 MB of arrays, growing slowly");
        // Stopped growing: 1 MB of arrays is enough.
        assert!(!t.tick(mb(103), mb(35) + HALF), "half a MB of arrays");
        assert!(!t.tick(mb(103) + HALF, mb(37)), "2 MB of arrays, growing");
        assert!(t.tick(mb(103) + HALF, mb(37)), "stopped growing after 2 MB");
        assert!(!t.tick(mb(103) + HALF, mb(37)), "nothing freed since");
        // The counter wraps.
        let mut t = Trimmer::default();
        assert!(t.tick(mb(20), usize::MAX - mb(1)));
        assert!(
            !t.tick(mb(20) + HALF, HALF),
            "1.5 MB across the wrap, growing"
        );
        assert!(!t.tick(mb(21), mb(2)), "3 MB across the wrap, growing");
        assert!(t.tick(mb(21) + HALF, mb(3)), "4 MB across the wrap");
    }
}
