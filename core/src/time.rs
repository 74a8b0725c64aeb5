//! Time as a parameter: [`Instant`] (monotonic), [`UnixMillis`] (wall clock) and the
//! [`Clock`] trait that a driver implements.
//!
//! Nothing in the engine reads a clock by itself: the driver reads its `Clock` once per batch
//! of work and passes a [`Now`] down, so one command sees one `now` and a simulated clock
//! makes the whole engine deterministic.

use core::cell::Cell;
use core::time::Duration;

/// A point on a monotonic clock, in nanoseconds from an arbitrary origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// An instant `nanos` nanoseconds after the clock's origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// Nanoseconds since the clock's origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> Instant {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

/// Wall-clock time in milliseconds since the Unix epoch (Redis's `mstime()`), signed as in
/// Redis so that times before the epoch can be expressed and compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub i64);

/// A source of time, implemented by the driver (`SystemClock` in the server, [`ManualClock`]
/// in tests and simulations).
pub trait Clock {
    /// The monotonic time now.
    fn now(&self) -> Instant;
    /// The wall-clock time now.
    fn unix_millis(&self) -> UnixMillis;
    /// The wall-clock time now in microseconds (TIME); by default from `unix_millis`.
    fn unix_micros(&self) -> i64 {
        self.unix_millis().0.saturating_mul(1000)
    }
    /// The readings at once: what the engine passes down for one batch of work.
    fn snapshot(&self) -> Now {
        let micros = self.unix_micros();
        Now {
            mono: self.now(),
            unix: UnixMillis(micros.div_euclid(1000)),
            unix_micros: micros,
        }
    }
}

/// A clock behind a reference or a shared pointer reads the clock it points to (a simulation
/// keeps its `ManualClock` and hands the workers `&clock` or an `Rc`).
macro_rules! forward_clock {
    ($($ptr:ty),*) => {$(
        impl<C: Clock + ?Sized> Clock for $ptr {
            fn now(&self) -> Instant {
                (**self).now()
            }
            fn unix_millis(&self) -> UnixMillis {
                (**self).unix_millis()
            }
            fn unix_micros(&self) -> i64 {
                (**self).unix_micros()
            }
        }
    )*};
}

forward_clock!(&C, alloc::rc::Rc<C>, crate::sync::Arc<C>);

/// The time one batch of work runs at: every command in the batch sees the same value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time, for timeouts and rates.
    pub mono: Instant,
    /// Wall-clock time, for TTLs (Redis stores expiry as absolute Unix milliseconds).
    pub unix: UnixMillis,
    /// The same wall-clock time in microseconds (TIME).
    pub unix_micros: i64,
}

/// A clock that moves only when told to: for tests and deterministic simulations.
#[derive(Debug)]
pub struct ManualClock {
    mono: Cell<u64>,
    unix: Cell<i64>,
}

impl ManualClock {
    /// A clock at monotonic 0 and the given wall-clock time.
    pub fn new(unix: UnixMillis) -> Self {
        ManualClock {
            mono: Cell::new(0),
            unix: Cell::new(unix.0),
        }
    }

    /// Moves both readings forward by `d`.
    pub fn advance(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.mono.set(self.mono.get().saturating_add(nanos));
        let millis = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.unix.set(self.unix.get().saturating_add(millis));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant(self.mono.get())
    }
    fn unix_millis(&self) -> UnixMillis {
        UnixMillis(self.unix.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(UnixMillis(1_000));
        assert_eq!(c.now(), Instant::from_nanos(0));
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.unix_millis(), UnixMillis(2_500));
        assert_eq!(
            c.now().saturating_duration_since(Instant::from_nanos(0)),
            Duration::from_millis(1500)
        );
    }
}
