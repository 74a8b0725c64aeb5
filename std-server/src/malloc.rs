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
//!   by as much since the last trim (or moved by [`TRIM_AFTER_CHANGE`] either way and then
//!   stopped moving), `malloc_trim(0)` returns the free pages inside the heaps to the
//!   kernel (glibc only returns the top of each heap by itself), so RSS follows the data
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
/// How far `used_memory` must have moved (up or down) since the last trim for a trim once
/// it stops moving (the end of a load: the tables' old arrays are free memory by then; the
/// end of a mass expiry or deletion smaller than [`TRIM_AFTER_FREED`]).
pub const TRIM_AFTER_CHANGE: usize = 4 << 20;
/// A change of `used_memory` under this between two ticks counts as "stopped moving".
pub const TRIM_STEADY: usize = 1 << 20;

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
}

impl Trimmer {
    /// Looks at `used_memory` now (once a second); trims when it fell, or grew, far enough
    /// (see the module documentation). True if it trimmed.
    pub fn tick(&mut self, used: usize) -> bool {
        self.peak = self.peak.max(used);
        let grown = used.saturating_sub(self.base);
        let steady = used.abs_diff(self.last) < TRIM_STEADY;
        self.last = used;
        if self.peak - used < TRIM_AFTER_FREED
            && grown < TRIM_AFTER_FREED
            && !(steady && used.abs_diff(self.base) >= TRIM_AFTER_CHANGE)
        {
            return false;
        }
        glibc::trim();
        self.peak = used;
        self.base = used;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_per_large_drop_or_rise() {
        let mut t = Trimmer::default();
        assert!(!t.tick(10 << 20));
        assert!(t.tick(100 << 20), "grew by 90 MB");
        assert!(!t.tick(90 << 20));
        assert!(t.tick(80 << 20), "fell by 20 MB");
        assert!(!t.tick(70 << 20));
        assert!(
            !t.tick(85 << 20),
            "grew by 15 MB since the last trim, and is growing"
        );
        assert!(t.tick(97 << 20), "grew by 27 MB since the last trim");
        assert!(!t.tick(100 << 20), "growing");
        assert!(!t.tick(100 << 20), "steady, but grew by only 3 MB");
        assert!(!t.tick(103 << 20), "grew by 6 MB, still growing");
        assert!(
            t.tick(103 << 20),
            "stopped growing 6 MB above the last trim"
        );
        assert!(!t.tick(103 << 20));
        assert!(!t.tick(95 << 20), "fell by 8 MB, still falling");
        assert!(t.tick(95 << 20), "stopped falling 8 MB below the last trim");
        assert!(!t.tick(94 << 20));
        assert!(t.tick(10 << 20));
    }
}
