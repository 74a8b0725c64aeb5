//! Helpers shared by the crate's unit tests.

use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

/// xorshift64*: a small deterministic generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    #[cfg_attr(kv_shuttle, allow(dead_code))] // the map's unit tests are not built then
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A value that counts how many of its kind are alive, to catch leaks and double drops.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) n: u64,
    live: Arc<AtomicIsize>,
}

impl Tracked {
    pub(crate) fn new(n: u64, live: &Arc<AtomicIsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            n,
            live: live.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}
