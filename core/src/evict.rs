//! `maxmemory` and Redis's eviction policies (Redis 7.0's `evict.c`).
//!
//! The keyspace keeps one 32-bit access word per key ([`crate::db`]'s entry). Under an
//! LRU (or any non-LFU) policy it holds the access clock: the time of the last access in
//! units of [`LRU_TICK_MS`] milliseconds (Redis's clock ticks once a second, so within a
//! burst every key looks equally old; ours tells apart accesses 4 ms apart and still wraps
//! only after about 198 days, as Redis's 24-bit clock after 194). Under an LFU policy it
//! holds Redis's LFU data: the minute of the last decrement (16 bits) and the logarithmic
//! access counter (8 bits). Switching policies reinterprets the words, as in Redis.
//!
//! Eviction ([`crate::engine::Engine::perform_evictions`]) runs before a command flagged
//! `denyoom` (every command, as Redis, when `maxmemory` is set and used memory is above it)
//! and on every worker's tick: it samples `maxmemory-samples` keys of every database into
//! an [`Pool`] of the best candidates (Redis's `evictionPoolPopulate`), evicts the best,
//! and stops when used memory is under the limit or after the work that
//! `maxmemory-eviction-tenacity` allows (Redis's time limit, counted here in keys: about
//! one key a microsecond; the tick goes on where a call stopped).

use crate::sync::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Mutex, Ordering};
use crate::time::UnixMillis;
use alloc::vec::Vec;

/// A `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    /// Refuse commands that may grow memory (the default).
    NoEviction = 0,
    /// Evict the least recently used keys.
    AllkeysLru,
    /// Evict the least frequently used keys.
    AllkeysLfu,
    /// Evict random keys.
    AllkeysRandom,
    /// Evict the least recently used keys that have a TTL.
    VolatileLru,
    /// Evict the least frequently used keys that have a TTL.
    VolatileLfu,
    /// Evict random keys that have a TTL.
    VolatileRandom,
    /// Evict the keys with a TTL that expire soonest.
    VolatileTtl,
}

/// The policies by name, in the order Redis's enum lists them (its error text).
const POLICIES: [(&str, Policy); 8] = [
    ("volatile-lru", Policy::VolatileLru),
    ("volatile-lfu", Policy::VolatileLfu),
    ("volatile-random", Policy::VolatileRandom),
    ("volatile-ttl", Policy::VolatileTtl),
    ("allkeys-lru", Policy::AllkeysLru),
    ("allkeys-lfu", Policy::AllkeysLfu),
    ("allkeys-random", Policy::AllkeysRandom),
    ("noeviction", Policy::NoEviction),
];

/// CONFIG SET's error for a policy name it does not know (Redis's text).
pub const POLICY_ERROR: &str = "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";

impl Policy {
    /// The policy named `s` (case-insensitive).
    pub fn parse(s: &str) -> Option<Policy> {
        POLICIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, p)| *p)
    }

    /// Its name, as CONFIG GET and INFO print it.
    pub fn name(self) -> &'static str {
        POLICIES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("noeviction", |(n, _)| n)
    }

    fn from_u8(v: u8) -> Policy {
        POLICIES
            .iter()
            .find(|(_, p)| *p as u8 == v)
            .map_or(Policy::NoEviction, |(_, p)| *p)
    }

    /// Whether the access words hold LFU data under this policy.
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllkeysLfu | Policy::VolatileLfu)
    }

    /// Whether only keys with a TTL are evicted.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    pub(crate) fn random(self) -> bool {
        matches!(self, Policy::AllkeysRandom | Policy::VolatileRandom)
    }
}

/// Milliseconds per unit of the LRU access clock.
pub const LRU_TICK_MS: i64 = 4;

/// The LRU access clock at `now` (wraps after about 198 days).
#[inline]
pub fn lru_clock(now: UnixMillis) -> u32 {
    now.0.div_euclid(LRU_TICK_MS) as u32
}

/// Milliseconds since the LRU access word `access` was written, at `now`.
pub fn lru_idle_ms(access: u32, now: UnixMillis) -> u64 {
    u64::from(lru_clock(now).wrapping_sub(access)) * LRU_TICK_MS as u64
}

/// The LFU counter of a new key (Redis's `LFU_INIT_VAL`).
pub const LFU_INIT_VAL: u8 = 5;

/// Minutes as LFU data keeps them (16 bits, Redis's `LFUGetTimeInMinutes`).
fn lfu_minutes(now: UnixMillis) -> u32 {
    (now.0.div_euclid(60_000) & 0xFFFF) as u32
}

/// The LFU counter in `access` after its decay at `now` (Redis's `LFUDecrAndReturn`):
/// one less every `decay_minutes` minutes since it was last decremented.
pub fn lfu_decr(access: u32, now: UnixMillis, decay_minutes: u32) -> u8 {
    let ldt = (access >> 8) & 0xFFFF;
    let counter = (access & 0xFF) as u8;
    let mins = lfu_minutes(now);
    let elapsed = if mins >= ldt {
        mins - ldt
    } else {
        65535 - ldt + mins
    };
    let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
    counter.saturating_sub(u8::try_from(periods).unwrap_or(u8::MAX))
}

/// The counter after one access (Redis's `LFULogIncr`): it grows with probability
/// `1 / ((counter - LFU_INIT_VAL) * log_factor + 1)`, decided by the random `r`.
pub fn lfu_incr(counter: u8, log_factor: u32, r: u32) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = u128::from(counter.saturating_sub(LFU_INIT_VAL));
    // r / 2^32 < 1 / (base * factor + 1)
    if u128::from(r) * (base * u128::from(log_factor) + 1) < (1u128 << 32) {
        counter + 1
    } else {
        counter
    }
}

/// LFU data of `counter` decremented at `now`.
pub fn lfu_word(counter: u8, now: UnixMillis) -> u32 {
    (lfu_minutes(now) << 8) | u32::from(counter)
}

/// A cheap shared pseudo-random number (xorshift; racing callers may see one number
/// twice, which is harmless for sampling and LFU).
pub fn random() -> u32 {
    static STATE: AtomicU32 = AtomicU32::new(0x4F6C_DD1D);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    STATE.store(x, Ordering::Relaxed);
    x
}

/// What the keyspaces read on every access: the kind of access word and the LFU settings.
#[derive(Debug)]
pub struct AccessParams {
    lfu: AtomicBool,
    log_factor: AtomicU32,
    decay: AtomicU32,
}

impl Default for AccessParams {
    fn default() -> Self {
        AccessParams {
            lfu: AtomicBool::new(false),
            log_factor: AtomicU32::new(10),
            decay: AtomicU32::new(1),
        }
    }
}

impl AccessParams {
    /// Publishes the settings (after every configuration change).
    pub fn set(&self, lfu: bool, log_factor: u32, decay: u32) {
        self.lfu.store(lfu, Ordering::Relaxed);
        self.log_factor.store(log_factor, Ordering::Relaxed);
        self.decay.store(decay, Ordering::Relaxed);
    }

    /// Whether the access words hold LFU data.
    #[inline]
    pub fn lfu(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    /// The access word of a key created at `now`.
    #[inline(never)]
    pub fn initial(&self, now: UnixMillis) -> u32 {
        if self.lfu() {
            lfu_word(LFU_INIT_VAL, now)
        } else {
            lru_clock(now)
        }
    }

    /// The LFU counter the word `access` holds at `now` (OBJECT FREQ).
    pub fn freq(&self, access: u32, now: UnixMillis) -> u8 {
        lfu_decr(access, now, self.decay.load(Ordering::Relaxed))
    }

    /// Records an access at `now` in `word` (Redis's `updateLFU`, or the LRU clock). Out
    /// of line: the many generic readers and writers share one copy.
    #[inline(never)]
    pub fn touch(&self, word: &AtomicU32, now: UnixMillis) {
        if self.lfu() {
            self.touch_lfu(word, now);
            return;
        }
        let s = lru_clock(now);
        if word.load(Ordering::Relaxed) != s {
            word.store(s, Ordering::Relaxed);
        }
    }

    #[cold]
    #[inline(never)]
    fn touch_lfu(&self, word: &AtomicU32, now: UnixMillis) {
        let c = self.freq(word.load(Ordering::Relaxed), now);
        let c = lfu_incr(c, self.log_factor.load(Ordering::Relaxed), random());
        word.store(lfu_word(c, now), Ordering::Relaxed);
    }

    /// The eviction score of a key (higher: evicted first): idle time under LRU, 255 minus
    /// the counter under LFU, how soon it expires under volatile-ttl.
    pub fn score(
        &self,
        policy: Policy,
        access: u32,
        expire_at: Option<i64>,
        now: UnixMillis,
    ) -> u64 {
        match policy {
            Policy::VolatileTtl => u64::MAX - expire_at.map_or(u64::MAX, |t| t.max(0) as u64),
            p if p.is_lfu() => 255 - u64::from(self.freq(access, now)),
            _ => lru_idle_ms(access, now),
        }
    }
}

/// Candidates the eviction pool keeps (Redis's `EVPOOL_SIZE`).
pub const POOL_SIZE: usize = 16;

/// One eviction candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its score: the higher, the sooner evicted.
    pub score: u64,
    /// Its database.
    pub db: usize,
    /// The key.
    pub key: Vec<u8>,
    /// Its access word when sampled.
    pub access: u32,
}

/// The best candidates sampled so far, by ascending score (Redis's eviction pool: kept
/// between calls, so that each call's samples add to what earlier ones found).
#[derive(Debug, Default)]
pub struct Pool {
    entries: Vec<Candidate>,
}

impl Pool {
    /// Offers a sampled key: kept if the pool has room or it beats the worst entry.
    pub fn offer(&mut self, score: u64, db: usize, key: &[u8], access: u32) {
        if self.entries.len() >= POOL_SIZE && self.entries.first().is_some_and(|c| c.score >= score)
        {
            return;
        }
        if self.entries.iter().any(|c| c.db == db && c.key == key) {
            return;
        }
        let at = self.entries.partition_point(|c| c.score < score);
        self.entries.insert(
            at,
            Candidate {
                score,
                db,
                key: key.to_vec(),
                access,
            },
        );
        if self.entries.len() > POOL_SIZE {
            self.entries.remove(0);
        }
    }

    /// Takes the best candidate out.
    pub fn pop(&mut self) -> Option<Candidate> {
        self.entries.pop()
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every candidate (FLUSHALL, a policy change).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// What a round of eviction achieved (Redis's `EVICT_OK`, `EVICT_RUNNING`, `EVICT_FAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Used memory is under the limit (or there is none).
    Ok,
    /// Keys were evicted but the work limit came first; the tick goes on.
    Running,
    /// Nothing (more) can be evicted: commands that may grow memory are refused.
    Fail,
}

/// The eviction settings and state the engine keeps.
#[derive(Debug)]
pub struct Evictor {
    /// `maxmemory` (0: no limit).
    pub limit: AtomicUsize,
    policy: AtomicU8,
    /// `maxmemory-samples`.
    pub samples: AtomicUsize,
    /// `maxmemory-eviction-tenacity`.
    pub tenacity: AtomicUsize,
    /// The candidates, and the lock every evictor holds.
    pub pool: Mutex<Pool>,
    /// `evicted_keys`.
    pub evicted: AtomicUsize,
    /// The database where random eviction looks next.
    pub next_db: AtomicUsize,
    /// What the keyspaces read on each access.
    pub access: crate::sync::Arc<AccessParams>,
}

impl Default for Evictor {
    fn default() -> Self {
        Evictor {
            limit: AtomicUsize::new(0),
            policy: AtomicU8::new(Policy::NoEviction as u8),
            samples: AtomicUsize::new(5),
            tenacity: AtomicUsize::new(10),
            pool: Mutex::new(Pool::default()),
            evicted: AtomicUsize::new(0),
            next_db: AtomicUsize::new(0),
            access: crate::sync::Arc::new(AccessParams::default()),
        }
    }
}

impl Evictor {
    /// The policy now.
    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    /// Publishes the configuration's eviction settings.
    pub fn publish(&self, c: &crate::config::Config) {
        let old = self.policy();
        self.limit.store(c.maxmemory, Ordering::Relaxed);
        self.policy
            .store(c.maxmemory_policy as u8, Ordering::Relaxed);
        self.samples.store(c.maxmemory_samples, Ordering::Relaxed);
        self.tenacity
            .store(c.maxmemory_eviction_tenacity, Ordering::Relaxed);
        self.access.set(
            c.maxmemory_policy.is_lfu(),
            c.lfu_log_factor,
            c.lfu_decay_time,
        );
        if old != c.maxmemory_policy {
            // Scores of one policy mean nothing to another.
            self.pool.lock().clear();
        }
    }
}

/// Most keys one eviction call removes before it leaves the rest to the tick: Redis's
/// time limit (`evictionTimeLimitUs`) read as keys at about one a microsecond.
pub fn keys_per_call(tenacity: usize) -> usize {
    if tenacity <= 10 {
        return 50 * tenacity;
    }
    if tenacity < 100 {
        let mut limit = 500u64;
        for _ in 10..tenacity {
            limit = limit * 115 / 100;
        }
        return usize::try_from(limit).unwrap_or(usize::MAX);
    }
    usize::MAX
}

/// Sampling rounds one eviction call makes at most without evicting anything (a bound on
/// a call that keeps meeting keys that vanished meanwhile).
pub const MAX_EMPTY_ROUNDS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let now = UnixMillis(1_700_000_000_000);
        // Always grows from below LFU_INIT_VAL and at it.
        assert_eq!(lfu_incr(0, 10, u32::MAX), 1);
        assert_eq!(lfu_incr(LFU_INIT_VAL, 10, u32::MAX - 1), LFU_INIT_VAL + 1);
        assert_eq!(lfu_incr(255, 10, 0), 255);
        // With factor 10 the counter reaches about 100 after a million hits (Redis's table:
        // 1M hits -> 255 at factor 1, ~100 at factor 10 needs ~100k... grows slowly).
        let mut c = LFU_INIT_VAL;
        let mut x: u64 = 88172645463325252;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = lfu_incr(c, 10, x as u32);
        }
        assert!((100..=200).contains(&c), "{c}");
        let mut c1 = LFU_INIT_VAL;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c1 = lfu_incr(c1, 0, x as u32);
        }
        assert_eq!(c1, 255, "factor 0 counts every hit");
        // Decay: one per `decay` minutes.
        let w = lfu_word(20, now);
        assert_eq!(lfu_decr(w, now, 1), 20);
        assert_eq!(lfu_decr(w, UnixMillis(now.0 + 3 * 60_000), 1), 17);
        assert_eq!(lfu_decr(w, UnixMillis(now.0 + 3 * 60_000), 2), 19);
        assert_eq!(lfu_decr(w, UnixMillis(now.0 + 30 * 60_000), 0), 20);
        assert_eq!(lfu_decr(w, UnixMillis(now.0 + 300 * 60_000), 1), 0);
    }

    #[test]
    fn pool_keeps_the_best_candidates_once_each() {
        let mut p = Pool::default();
        for i in 0..40u64 {
            p.offer(i * 7 % 41, 0, &i.to_le_bytes(), 0);
        }
        p.offer(1000, 1, b"a", 0);
        p.offer(1000, 1, b"a", 0);
        assert_eq!(p.len(), POOL_SIZE);
        assert_eq!(
            p.pop().map(|c| (c.score, c.key)),
            Some((1000, b"a".to_vec()))
        );
        let mut last = u64::MAX;
        let mut n = 0;
        while let Some(c) = p.pop() {
            assert!(c.score <= last);
            last = c.score;
            n += 1;
        }
        assert_eq!(n, POOL_SIZE - 1);
        assert!(
            last >= 40 - POOL_SIZE as u64,
            "only the best are kept: {last}"
        );
        // A worse candidate than all of a full pool is not taken.
        for i in 0..POOL_SIZE as u64 {
            p.offer(100 + i, 0, &i.to_le_bytes(), 0);
        }
        p.offer(1, 0, b"worse", 0);
        assert!(!p.entries.iter().any(|c| c.key == b"worse"));
    }

    #[test]
    fn policies_parse_and_name() {
        for (n, p) in POLICIES {
            assert_eq!(Policy::parse(n), Some(p));
            assert_eq!(p.name(), n);
            assert_eq!(Policy::from_u8(p as u8), p);
        }
        assert_eq!(Policy::parse("ALLKEYS-LRU"), Some(Policy::AllkeysLru));
        assert_eq!(Policy::parse("lru"), None);
        assert_eq!(keys_per_call(10), 500);
        assert_eq!(keys_per_call(0), 0);
        assert_eq!(keys_per_call(100), usize::MAX);
        assert!(keys_per_call(50) > 100_000);
    }

    #[test]
    fn lru_clock_resolves_milliseconds_and_idle_wraps() {
        let t = UnixMillis(1_700_000_000_000);
        let a = lru_clock(t);
        assert_eq!(lru_idle_ms(a, UnixMillis(t.0 + 8)), 8);
        assert_eq!(lru_idle_ms(a, UnixMillis(t.0 + 3_600_000)), 3_600_000);
        assert_ne!(lru_clock(t), lru_clock(UnixMillis(t.0 + 4)));
    }
}
