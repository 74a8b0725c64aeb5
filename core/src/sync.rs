//! The one place that names atomics and locks.
//!
//! Every other module takes its atomics, locks and `Arc` from here, so that a build with
//! `--cfg kv_shuttle` can swap in shuttle's instrumented types for interleaving tests (the map
//! issue adds that branch) and so that the core keeps building for targets without 64-bit
//! atomics (`thumbv7em-none-eabihf`): portable-atomic supplies the atomics, spin the locks.
//! On targets without compare-and-swap at all (`thumbv6m-none-eabi`,
//! `riscv32imc-unknown-none-elf`; `cfg(not(target_has_atomic = "ptr"))`) spin runs on
//! portable-atomic too and `Arc` is portable-atomic-util's; portable-atomic then needs its
//! `critical-section` feature (kv-core's `critical-section`) or
//! `--cfg portable_atomic_unsafe_assume_single_core`, the application's choice.
//!
//! Under `--cfg kv_shuttle` (the interleaving tests, `ci/shuttle`) [`RwLock`], the only
//! primitive the concurrent map uses, becomes shuttle's instrumented lock behind the same
//! `read`/`write` API, so shuttle controls every point where map operations can interleave.

#[cfg(target_has_atomic = "ptr")]
pub use alloc::sync::Arc;
pub use portable_atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
/// On targets without compare-and-swap (`thumbv6m-none-eabi`, `riscv32imc-unknown-none-elf`)
/// alloc has no `Arc`: portable-atomic-util's, on portable-atomic's counters. It has no
/// unsizing coercion on stable Rust: an `Arc<dyn Trait>` is made with
/// `Arc::from(Box<dyn Trait>)` there.
#[cfg(not(target_has_atomic = "ptr"))]
pub use portable_atomic_util::Arc;

#[cfg(not(kv_shuttle))]
pub use spin::rwlock::RwLockReadGuard;
/// A reader-writer spin lock whose waiters back off to the OS (see [`Relax`]).
#[cfg(not(kv_shuttle))]
pub type RwLock<T> = spin::rwlock::RwLock<T, Relax>;
/// The write guard of [`RwLock`].
#[cfg(not(kv_shuttle))]
pub type RwLockWriteGuard<'a, T> = spin::rwlock::RwLockWriteGuard<'a, T, Relax>;

#[cfg(kv_shuttle)]
pub use shuttle_lock::{RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(kv_shuttle)]
mod shuttle_lock {
    pub use shuttle::sync::{RwLockReadGuard, RwLockWriteGuard};

    /// shuttle's reader-writer lock with the spin lock's API (no poisoning).
    #[derive(Default)]
    pub struct RwLock<T>(shuttle::sync::RwLock<T>);

    impl<T> core::fmt::Debug for RwLock<T> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("RwLock")
        }
    }

    impl<T> RwLock<T> {
        /// A lock around `v`.
        pub fn new(v: T) -> Self {
            RwLock(shuttle::sync::RwLock::new(v))
        }

        /// Locks for reading.
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(|e| e.into_inner())
        }

        /// Locks for writing.
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(|e| e.into_inner())
        }
    }
}
/// A cell initialised once (the element-hash seed).
pub type Once<T> = spin::Once<T>;

/// A spin mutex whose waiters back off to the OS (see [`Relax`]).
#[cfg(not(kv_shuttle))]
pub type Mutex<T> = spin::mutex::SpinMutex<T, Relax>;

/// What [`Mutex::lock`] returns.
#[cfg(not(kv_shuttle))]
pub type MutexGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

/// What [`Mutex::lock`] returns (shuttle's guard).
#[cfg(kv_shuttle)]
pub type MutexGuard<'a, T> = shuttle::sync::MutexGuard<'a, T>;

/// Under `--cfg kv_shuttle`, shuttle's mutex behind the spin mutex's `new`/`lock` API, so
/// that the blocked-client registry's interleavings are explored too (a spin lock would
/// spin forever under shuttle's scheduler).
#[cfg(kv_shuttle)]
pub struct Mutex<T>(shuttle::sync::Mutex<T>);

#[cfg(kv_shuttle)]
impl<T> Mutex<T> {
    /// A mutex around `v`.
    pub fn new(v: T) -> Self {
        Mutex(shuttle::sync::Mutex::new(v))
    }

    /// Locks it.
    pub fn lock(&self) -> shuttle::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks it if free.
    pub fn try_lock(&self) -> Option<shuttle::sync::MutexGuard<'_, T>> {
        self.0.try_lock().ok()
    }
}

#[cfg(kv_shuttle)]
impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

#[cfg(kv_shuttle)]
impl<T> core::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Mutex")
    }
}

/// Spins a thread waiting for a lock does between offers to yield the CPU.
pub const SPINS_BEFORE_YIELD: usize = 64;

static YIELD: spin::Once<fn()> = spin::Once::new();

/// Gives the engine's locks a way to yield the CPU while they wait (the std frontend passes
/// `std::thread::yield_now`). Without it a waiter only spins; with more worker threads than
/// cores, a lock holder that the OS preempted would then make every waiter burn its whole
/// time slice. The first call wins.
pub fn set_yield(f: fn()) {
    YIELD.call_once(|| f);
}

/// The relax strategy of the engine's locks: a short spin, then the driver's yield.
#[derive(Debug)]
pub struct Relax;

impl spin::RelaxStrategy for Relax {
    #[inline]
    fn relax() {
        for _ in 0..SPINS_BEFORE_YIELD {
            core::hint::spin_loop();
        }
        if let Some(yield_now) = YIELD.get() {
            yield_now();
        }
    }
}

/// Pads and aligns a value to 128 bytes so that values written by different threads never
/// share a cache line (two lines on x86 because of the adjacent-line prefetcher).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct CachePadded<T>(pub T);

impl<T> core::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A counter with a single writer thread and any number of readers.
///
/// `bump` is a plain load and store rather than a locked read-modify-write: the owning
/// thread is the only one that writes, so no increment is lost, and readers (INFO) see a
/// recent value. Word-sized so that it exists on 32-bit targets too.
#[derive(Debug, Default)]
pub struct Counter(AtomicUsize);

impl Counter {
    /// Adds `n`; only the owning thread may call this.
    #[inline]
    pub fn bump(&self, n: usize) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    /// Sets the value; only the owning thread may call this.
    #[inline]
    pub fn set(&self, n: usize) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// Reads the value from any thread.
    #[inline]
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}
