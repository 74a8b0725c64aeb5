//! The keyspace: values, TTLs, lazy expiry and memory accounting, behind a small API that
//! the commands use ([`Db::read`], [`Db::write`], [`Db::remove`], [`Db::exists`], [`Db::len`],
//! [`Db::clear`], [`Db::for_each_key`]).
//!
//! The store is the concurrent hopscotch map ([`crate::map::HopMap`]): 256 segments, each
//! a hopscotch table under its own reader-writer lock, keys hashed once with XXH3-64 under a
//! per-process seed that the caller injects. Each segment also carries this module's
//! per-segment state (`ShardState`: the expiry heap and counters), guarded by the same
//! lock, so a write updates the key and its bookkeeping in one critical section. (The
//! foundation's baseline, segments of `hashbrown::HashTable`, lives on in `benches/map.rs`
//! for comparison.)
//!
//! Expiry is lazy here: a key whose time has passed is invisible to every call from that
//! moment (`now > expire_at`, as Redis's `keyIsExpired`), and is removed (and counted in
//! `expired_keys`) by the first call that meets it. Work under a lock is bounded by the
//! operation: no call walks more than one shard at a time.
//!
//! The keyspace reports the keys it removes by expiry (lazy or active) and the keys it
//! creates to an optional [`KeyEvents`] sink (keyspace notifications: `expired`, `new`),
//! from inside the shard's critical section, so those events come in the order the changes
//! happened. A keyspace without a sink (the unit tests) reports nothing.

use crate::evict::AccessParams;
use crate::map::table::PREFIX_SHIFT;
use crate::map::{HopMap, HopTable, KeyHash, Segment, Slot};
use crate::sync::{
    Arc, AtomicBool, AtomicU32, AtomicUsize, Mutex, Ordering, RwLockReadGuard, RwLockWriteGuard,
};
use crate::time::UnixMillis;
pub use crate::types::string::Str;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cell::Cell;
use core::cmp::Reverse;
use core::mem::size_of;

mod entry;

use entry::Entry;
pub use entry::{Item, Value, NO_EXPIRY, PACKED, PACKED_TTL};

/// Figures about one key that OBJECT and MEMORY USAGE report.
#[derive(Clone, Copy, Debug)]
pub struct KeyStats {
    /// Seconds since the key was last read or written.
    pub idle_secs: u64,
    /// Its LFU counter (meaningful under an LFU policy).
    pub freq: u8,
    /// Whether an LFU policy is in force (the access word holds `freq`, not the time).
    pub lfu: bool,
    /// Bytes the key holds: its table slot, key and value.
    pub bytes: usize,
}

/// What a [`Db::write`] closure decides to do with the key.
#[derive(Debug)]
pub enum Write {
    /// Leave the key as the closure left it (possibly modified in place), or absent.
    Keep,
    /// Delete the key.
    Remove,
    /// Store this item under the key, replacing any old one.
    Put(Item),
}

/// What the keyspace reports about keys it removes or creates by itself, to the layer that
/// publishes keyspace notifications ([`crate::notify::Notifier`]). Called under the
/// shard's write lock: an implementation takes no shard lock.
pub trait KeyEvents: Send + Sync {
    /// Key `key` of database `db` was removed because its time had passed.
    fn expired(&self, db: usize, key: &[u8]);
    /// Key `key` of database `db` was created (it did not exist, or had expired).
    fn created(&self, db: usize, key: &[u8]);
}

/// The keyspace's context of one call: where it reports its [`KeyEvents`] (the sink and the
/// database index, or nowhere) and whether expired keys stay (CLIENT PAUSE).
#[derive(Clone, Copy)]
struct Hook<'a> {
    events: Option<&'a dyn KeyEvents>,
    db: usize,
    /// CLIENT PAUSE keeps expired keys (see [`Db::set_frozen`]).
    frozen: &'a AtomicBool,
    /// The append-only file keeps them from calls that write nothing (see
    /// [`Db::set_keep_expired`]).
    keep: &'a AtomicBool,
    /// How accesses are recorded (LRU clock or LFU counter).
    params: &'a AccessParams,
}

impl Hook<'_> {
    #[inline]
    fn expired(self, key: &[u8]) {
        if let Some(e) = self.events {
            e.expired(self.db, key);
        }
    }

    #[inline(never)]
    fn created(self, key: &[u8]) {
        if let Some(e) = self.events {
            e.created(self.db, key);
        }
    }
}

/// Bytes of one table bucket of the keyspace.
fn bucket_bytes() -> usize {
    HopTable::<(Entry, ())>::bucket_bytes()
}

/// What each map segment ("shard" below) keeps beside its table: a min-heap of (expire
/// time, key hash) for active expiry, and counters.
///
/// The heap is lazy: when a key's TTL changes or the key goes, its old heap entry stays
/// and is dropped when it reaches the top and no longer matches the key. The heap is
/// rebuilt from the table when stale entries outnumber live ones
/// ([`HEAP_REBUILD_SLACK`]), so it stays within a constant factor of the keys with a TTL.
#[derive(Default)]
struct ShardState {
    deadlines: BinaryHeap<Reverse<Deadline>>,
    /// The time (Unix milliseconds) the deadlines count from: the present when the heap
    /// was last empty or rebuilt by active expiry (see [`Deadline`]).
    base: i64,
    /// Keys with a TTL.
    expires: usize,
    /// Heap bytes of keys and values.
    bytes: usize,
    /// Keys removed because their TTL passed.
    expired: usize,
    /// The snapshot epoch whose image of this shard is taken (see [`Db::begin_snapshot`]).
    saved: u32,
    /// The snapshot in progress as this shard's writers see it (0: none; set by
    /// `Db::wlock`).
    epoch: u32,
    /// The values of keys that changed since the snapshot's instant, as they were then
    /// (each key once: its `copied` mark says so), until the snapshot reads this shard.
    pre: ShardImage,
    /// The bytes this shard last reported to its keyspace's total ([`Db::settle`]).
    charged: AtomicUsize,
    /// The keys this shard last reported to its keyspace's count ([`Db::settle`]).
    charged_keys: AtomicUsize,
    /// The keys with a TTL this shard last reported ([`Db::settle`]).
    charged_expires: AtomicUsize,
}

impl ShardState {
    /// The epoch of the snapshot that still needs this shard's image (0: none): writes
    /// copy a key's value before they first change it.
    #[inline]
    fn snapping(&self) -> u32 {
        if self.epoch != self.saved {
            self.epoch
        } else {
            0
        }
    }
}

/// An entry of a shard's deadline heap, in 6 bytes: the time a key's TTL ends, in
/// milliseconds after the shard's deadline base (`ShardState::base`, clamped to
/// `0..=u32::MAX`), in the high 32 bits, and the top 16 of the low 32 bits of its hash
/// (which pick its home bucket, [`crate::map::HopTable::find_by_prefix`]) in the low 16.
/// Ordered by time. An entry names the keys near that home whose time, taken relative to
/// the base and clamped the same way, is the entry's: any of them is due when the entry is
/// (a key whose TTL changed leaves its old entry stale).
///
/// Clamping keeps that true: a time before the base counts as the base, when such a key is
/// long expired; a time [`u32::MAX`] ms (49 days) or more after it never passes, because
/// active expiry moves the base to the present ([`REBASE_AFTER_MS`]) before that, and
/// recomputes the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Deadline([u16; 3]);

/// Active expiry rebuilds a shard's deadline heap from the present once its base is this
/// far in the past (2^31 ms, 24.8 days): half the span a deadline holds, so no time after
/// the span's end is ever taken for passed.
pub const REBASE_AFTER_MS: i64 = 1 << 31;

impl Deadline {
    /// The entry of a key with hash `hash` whose time ends at `t`, for base `base`.
    fn new(t: UnixMillis, hash: u64, base: i64) -> Self {
        let off = Self::offset(t, base);
        Deadline([(off >> 16) as u16, off as u16, Self::prefix_of(hash) as u16])
    }

    /// The part of a key's hash an entry keeps (16 bits).
    fn prefix_of(hash: u64) -> u32 {
        (hash as u32) >> PREFIX_SHIFT
    }

    /// `t` relative to `base`, clamped to what an entry holds.
    fn offset(t: UnixMillis, base: i64) -> u32 {
        t.0.saturating_sub(base).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// The time after the base.
    fn off(self) -> u32 {
        (u32::from(self.0[0]) << 16) | u32::from(self.0[1])
    }

    /// The hash prefix ([`crate::map::HopTable::find_by_prefix`]).
    fn prefix(self) -> u32 {
        u32::from(self.0[2])
    }

    /// Whether the time has passed at `now` (keys it names are expired).
    fn passed(self, now: UnixMillis, base: i64) -> bool {
        now.0 > base.saturating_add(i64::from(self.off()))
    }

    /// Whether entry `e` has a TTL at this entry's time.
    fn matches(self, e: &Entry, base: i64) -> bool {
        e.expire_at()
            .is_some_and(|t| Self::offset(t, base) == self.off())
    }
}

/// Stale deadline entries a shard tolerates beyond twice its live TTL count before it
/// rebuilds its deadline heap.
pub const HEAP_REBUILD_SLACK: usize = 1024;
/// A deadline heap with more room than this (entries) shrinks to twice its length once
/// active expiry leaves it less than a quarter full.
pub const HEAP_SHRINK_MIN: usize = 64;

/// A full deadline heap grows by `1 / HEAP_GROWTH` of its length (plus [`HEAP_SHRINK_MIN`]
/// entries): 3% spare room on average, so a TTL costs about 6.2 bytes there; each entry
/// is copied about 16 times over the heap's growth, a few nanoseconds a key.
pub const HEAP_GROWTH: usize = 16;

/// Stale deadline entries a shard tolerates beyond twice its live TTL count after an
/// eviction before it rebuilds its deadline heap ([`Db::evict`]).
pub const EVICT_HEAP_SLACK: usize = 32;

/// Deadline entries one volatile sample tries before it gives up on its shard.
const VOLATILE_TRIES: usize = 4;

/// A segment of the keyspace's map.
type Shard = Segment<Entry, (), ShardState>;

/// What [`ShardOps::locate`] found under a key.
enum Found {
    /// A live entry, its TTL and heap bytes before the write.
    Live(Slot, (Option<UnixMillis>, usize)),
    /// No live entry; the slot of one whose time has passed, if it stays until the write.
    Absent(Option<Slot>),
}

/// The keyspace's operations on one locked segment.
trait ShardOps {
    fn find_stored(&self, key: &[u8], hash: u64) -> Option<&Entry>;
    fn write<R>(
        &mut self,
        key: &[u8],
        hash: u64,
        now: UnixMillis,
        hook: Hook<'_>,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R;
    fn locate(&mut self, key: &[u8], hash: u64, now: UnixMillis, hook: Hook<'_>) -> Found;
    fn finish(
        &mut self,
        s: Slot,
        hash: u64,
        remove: bool,
        old: (Option<UnixMillis>, usize),
        new: (Option<UnixMillis>, usize),
        now: UnixMillis,
    );
    fn create(
        &mut self,
        key: &[u8],
        hash: u64,
        item: Item,
        now: UnixMillis,
        hook: Hook<'_>,
        stale: Option<Slot>,
    );
    fn push_deadline(&mut self, t: UnixMillis, hash: u64, now: UnixMillis);
    fn remove_expired(&mut self, slot: Option<Slot>, hook: Hook<'_>);
    fn pre_image(&mut self, slot: Slot);
    fn rebuild_deadlines(&mut self);
    fn reap(&mut self, now: UnixMillis, max: usize, hook: Hook<'_>) -> usize;
}

impl ShardOps for Shard {
    /// The entry under `key`, expired or not.
    fn find_stored(&self, key: &[u8], hash: u64) -> Option<&Entry> {
        let slot = self.find(hash, key)?;
        self.get(slot).map(|(e, _)| e)
    }

    /// The generic part of a write is only the call of `f` and the choice it returns:
    /// the rest is out of line ([`ShardOps::locate`], [`ShardOps::finish`],
    /// [`ShardOps::create`]), shared by the many commands' instances.
    #[inline]
    fn write<R>(
        &mut self,
        key: &[u8],
        hash: u64,
        now: UnixMillis,
        hook: Hook<'_>,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        match self.locate(key, hash, now, hook) {
            Found::Live(s, before) => {
                let Some(e) = self.key_mut(s) else {
                    return f(None).1;
                };
                let (remove, r) = e.update(|item| {
                    let (w, r) = f(Some(item));
                    match w {
                        Write::Keep => (false, r),
                        Write::Remove => (true, r),
                        Write::Put(new) => {
                            *item = new;
                            (false, r)
                        }
                    }
                });
                let after = (e.expire_at(), e.heap_bytes());
                if remove || after != before {
                    self.finish(s, hash, remove, before, after, now);
                }
                r
            }
            Found::Absent(stale) => {
                let (w, r) = f(None);
                if let Write::Put(item) = w {
                    self.create(key, hash, item, now, hook, stale);
                }
                r
            }
        }
    }

    /// The first half of a write: finds the key; removes it if its time has passed (unless
    /// CLIENT PAUSE keeps the keyspace constant and the call writes nothing: then it
    /// stays, invisible, until the pause ends); copies a live one for a snapshot in
    /// progress and records the access.
    #[inline(never)]
    fn locate(&mut self, key: &[u8], hash: u64, now: UnixMillis, hook: Hook<'_>) -> Found {
        let Some(s) = self.find(hash, key) else {
            return Found::Absent(None);
        };
        let expired = self.get(s).is_some_and(|(e, _)| e.is_expired(now));
        if expired {
            if hook.frozen.load(Ordering::Relaxed) || hook.keep.load(Ordering::Relaxed) {
                return Found::Absent(Some(s));
            }
            self.remove_expired(Some(s), hook);
            return Found::Absent(None);
        }
        if self.extra.snapping() != 0 {
            self.pre_image(s);
        }
        let Some((e, _)) = self.get(s) else {
            return Found::Absent(None);
        };
        hook.params.touch(e.access(), now);
        Found::Live(s, (e.expire_at(), e.heap_bytes()))
    }

    /// The second half of a write to a live key that changed its TTL or size, or goes:
    /// removes it if the call said so, and settles the counters and the deadline heap.
    #[inline(never)]
    fn finish(
        &mut self,
        s: Slot,
        hash: u64,
        remove: bool,
        (old_ttl, before): (Option<UnixMillis>, usize),
        (new_ttl, after): (Option<UnixMillis>, usize),
        now: UnixMillis,
    ) {
        if remove {
            self.remove(s);
            self.extra.bytes -= before;
            self.extra.expires -= usize::from(old_ttl.is_some());
            return;
        }
        let st = &mut self.extra;
        st.bytes = st.bytes - before + after;
        st.expires = st.expires - usize::from(old_ttl.is_some()) + usize::from(new_ttl.is_some());
        if let Some(t) = new_ttl.filter(|t| Some(*t) != old_ttl) {
            self.push_deadline(t, hash, now);
        }
    }

    /// A write that creates the key (replacing `stale`, an entry whose time had passed,
    /// if any).
    #[inline(never)]
    fn create(
        &mut self,
        key: &[u8],
        hash: u64,
        item: Item,
        now: UnixMillis,
        hook: Hook<'_>,
        stale: Option<Slot>,
    ) {
        self.remove_expired(stale, hook);
        let e = Entry::new(
            key,
            item,
            hook.params.initial(now),
            self.extra.snapping() != 0,
        );
        self.extra.bytes += e.heap_bytes();
        let ttl = e.expire_at();
        self.extra.expires += usize::from(ttl.is_some());
        self.insert_new(hash, e, ());
        hook.created(key);
        if let Some(t) = ttl {
            self.push_deadline(t, hash, now);
        }
    }

    /// Records a new deadline of the key with hash `hash` (rebuilding the heap when stale
    /// entries outnumber live ones).
    fn push_deadline(&mut self, t: UnixMillis, hash: u64, now: UnixMillis) {
        if self.extra.deadlines.is_empty() {
            self.extra.base = now.0;
        }
        let base = self.extra.base;
        let heap = &mut self.extra.deadlines;
        // Grown by a sixteenth, not doubled: the heap's spare room is the part of a TTL's
        // cost beyond its 6 bytes.
        if heap.len() == heap.capacity() {
            heap.reserve_exact(heap.len() / HEAP_GROWTH + HEAP_SHRINK_MIN);
        }
        heap.push(Reverse(Deadline::new(t, hash, base)));
        if self.extra.deadlines.len() > 2 * self.extra.expires + HEAP_REBUILD_SLACK {
            self.rebuild_deadlines();
        }
    }

    /// Lazy expiry of the key in `slot` (its time has passed): removed, counted, reported.
    /// Not generic, so that the many instances of `write` share it.
    #[inline(never)]
    fn remove_expired(&mut self, slot: Option<Slot>, hook: Hook<'_>) {
        if let (Some(s), true) = (slot, self.extra.snapping() != 0) {
            self.pre_image(s);
        }
        if let Some((old, ())) = slot.and_then(|s| self.remove(s)) {
            self.extra.bytes -= old.heap_bytes();
            self.extra.expires -= 1;
            self.extra.expired += 1;
            hook.expired(old.key());
        }
    }

    /// Copy-before-write: keeps the value of the key in `slot` as it was at the instant of
    /// the snapshot in progress, unless this snapshot has it (or the key is newer).
    #[cold]
    #[inline(never)]
    fn pre_image(&mut self, slot: Slot) {
        let copy = match self.get(slot) {
            Some((e, _)) if !e.copied() => (Str::from(e.key()), e.to_item()),
            _ => return,
        };
        self.extra.pre.push(copy);
        if let Some(e) = self.key_mut(slot) {
            e.set_copied(true);
        }
    }

    fn rebuild_deadlines(&mut self) {
        let seed = self.seed();
        let base = self.extra.base;
        let heap = self
            .iter()
            .filter_map(|(e, _)| {
                Some(Reverse(Deadline::new(
                    e.expire_at()?,
                    e.key_hash(seed),
                    base,
                )))
            })
            .collect();
        self.extra.deadlines = heap;
    }

    /// Removes keys whose time has passed, earliest first, looking at no more than `max`
    /// deadline entries. Returns how many keys it removed.
    fn reap(&mut self, now: UnixMillis, max: usize, hook: Hook<'_>) -> usize {
        let mut removed = 0;
        let seed = self.seed();
        if rebase_due(&self.extra, now) {
            self.extra.base = now.0;
            self.rebuild_deadlines();
        }
        let base = self.extra.base;
        for _ in 0..max {
            let Some(&Reverse(d)) = self.extra.deadlines.peek() else {
                break;
            };
            if !d.passed(now, base) {
                break;
            }
            self.extra.deadlines.pop();
            // The entry is live only if a key whose hash begins so still expires at exactly
            // its time (any such key will do: each has an entry of its own). The key's
            // hash is checked, not only its home: an entry must not take a neighbour's key
            // (whose own entry might then find none left, and leave this one for good).
            let due = self.find_by_prefix(d.prefix(), |e, _| {
                d.matches(e, base)
                    && e.is_expired(now)
                    && Deadline::prefix_of(e.key_hash(seed)) == d.prefix()
            });
            if let (Some(s), true) = (due, self.extra.snapping() != 0) {
                self.pre_image(s);
            }
            if let Some((old, ())) = due.and_then(|s| self.remove(s)) {
                self.extra.bytes -= old.heap_bytes();
                self.extra.expires -= 1;
                self.extra.expired += 1;
                removed += 1;
                hook.expired(old.key());
            }
        }
        // A heap that emptied gives its memory back (after a mass expiry it would
        // otherwise keep the capacity of its peak for good).
        let heap = &mut self.extra.deadlines;
        if heap.capacity() > HEAP_SHRINK_MIN && heap.len() < heap.capacity() / 4 {
            heap.shrink_to(heap.len() * 2);
        }
        removed
    }
}

/// Whether active expiry must move the deadline base of a shard with this state to `now`
/// (see [`REBASE_AFTER_MS`]).
#[inline]
fn rebase_due(st: &ShardState, now: UnixMillis) -> bool {
    !st.deadlines.is_empty() && now.0.saturating_sub(st.base) > REBASE_AFTER_MS
}

/// Removes `key` from its locked shard if its time has passed at `now` (lazy expiry after
/// a read found it expired). Not generic, so the generic readers share one copy.
#[inline(never)]
fn expire_in(shard: &mut Shard, key: &[u8], hash: u64, now: UnixMillis, hook: Hook<'_>) {
    shard.write(key, hash, now, hook, |_| (Write::Keep, ()));
}

/// Default number of shards (map segments; a power of two).
pub const DEFAULT_SHARDS: usize = 256;

/// The keyspace. See the module documentation.
pub struct Db {
    map: HopMap<Entry, (), ShardState>,
    mask: usize,
    /// Where the next active-expiry pass starts (shards are visited round-robin).
    reap_cursor: AtomicUsize,
    /// This keyspace's database index, as [`KeyEvents`] reports it.
    index: usize,
    /// Where expired and created keys are reported, if anywhere.
    events: Option<Arc<dyn KeyEvents>>,
    /// CLIENT PAUSE is in force: expired keys are not removed (see [`Db::set_frozen`]).
    frozen: AtomicBool,
    /// Expired keys are removed only by writes and active expiry (see
    /// [`Db::set_keep_expired`]).
    keep_expired: AtomicBool,
    /// The point-in-time snapshot in progress, if any (see [`Db::begin_snapshot`]).
    snap: Snap,
    /// How accesses are recorded (shared by the engine's keyspaces).
    params: Arc<AccessParams>,
    /// Writes report their shard's bytes at once ([`Db::set_tracking`]): `maxmemory` is set.
    track: AtomicBool,
    /// Bytes the shards reported (see [`Db::settle`]).
    mem: AtomicUsize,
    /// Keys the shards reported (see [`Db::settle`]).
    keys: AtomicUsize,
    /// Keys with a TTL the shards reported (see [`Db::settle`]).
    expires: AtomicUsize,
}

/// A shard's live entries as a snapshot saw them.
pub type ShardImage = Vec<(Str, Item)>;

/// A keyspace's side of a snapshot in progress: the epoch it is taking, and the images of
/// the shards that writers changed before the snapshot reached them.
#[derive(Default)]
struct Snap {
    /// A snapshot is in progress: writers copy a key's value before its first change.
    active: AtomicBool,
    /// The epoch of the snapshot in progress (the engine numbers them; never 0).
    epoch: AtomicU32,
    /// Shard index -> its live entries at the snapshot's instant, for the shards copied
    /// before the snapshot read them.
    copies: Mutex<Vec<(usize, ShardImage)>>,
}

impl core::fmt::Debug for Db {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Db")
            .field("shards", &self.map.segment_count())
            .finish()
    }
}

/// Write access to a set of keys whose shards are all write-locked at once: what the
/// multi-key commands that write (DEL, UNLINK, MSET, MSETNX, RENAME, COPY, MOVE, the
/// *STORE commands) use to act atomically. See [`Db::multi`].
pub struct Multi<'a> {
    db: &'a Db,
    now: UnixMillis,
    guards: Vec<(usize, RwLockWriteGuard<'a, Shard>)>,
}

impl Drop for Multi<'_> {
    /// The shards report their bytes before their locks go (while `maxmemory` is set).
    fn drop(&mut self) {
        for (_, g) in &self.guards {
            self.db.settle_if_tracking(g);
        }
    }
}

impl Multi<'_> {
    fn shard(&mut self, key: &[u8]) -> Option<(&mut Shard, u64)> {
        let hash = self.db.hash(key);
        let i = self.db.map.segment_of(hash);
        let pos = self.guards.binary_search_by_key(&i, |(j, _)| *j).ok()?;
        let (_, g) = self.guards.get_mut(pos)?;
        Some((&mut **g, hash))
    }

    /// As [`Db::write`], for one of the keys given to [`Db::multi`]; `None` (and `f` not
    /// called) for any other key.
    pub fn write<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> Option<R> {
        let now = self.now;
        let hook = self.db.hook();
        let (shard, hash) = self.shard(key)?;
        Some(shard.write(key, hash, now, hook, f))
    }

    /// A copy of the live item under `key` (one of the declared keys), if any.
    pub fn get(&mut self, key: &[u8]) -> Option<Item> {
        self.read(key, Item::clone)
    }

    /// Runs `f` on the live item under `key` (one of the declared keys), if any, and
    /// records the access. A key whose time has passed is removed (lazy expiry, as
    /// Redis's lookups do: its `expired` event comes now).
    pub fn read<R>(&mut self, key: &[u8], f: impl FnOnce(&Item) -> R) -> Option<R> {
        self.look(key, true, f)
    }

    /// Whether `key` (one of the declared keys) exists; not an access. A key whose time
    /// has passed is removed, as [`Multi::read`].
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.look(key, false, |_| ()).is_some()
    }

    fn look<R>(&mut self, key: &[u8], touch: bool, f: impl FnOnce(&Item) -> R) -> Option<R> {
        let now = self.now;
        let hook = self.db.hook();
        let (shard, hash) = self.shard(key)?;
        match shard.find_stored(key, hash) {
            None => return None,
            Some(e) if !e.is_expired(now) => {
                if touch {
                    hook.params.touch(e.access(), now);
                }
                return Some(e.with_item(f));
            }
            Some(_) => {}
        }
        expire_in(shard, key, hash, now, hook);
        None
    }

    /// Deletes `key` (one of the declared keys); true if it existed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.write(key, |item| match item {
            Some(_) => (Write::Remove, true),
            None => (Write::Keep, false),
        }) == Some(true)
    }

    /// Deletes the entry under `key` (one of the declared keys) even if its time has passed,
    /// as Redis's `dbDelete` does (what the store commands do with a destination they
    /// leave empty: a key that had expired but was still there is deleted, not expired).
    /// True if there was an entry.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let Some((shard, hash)) = self.shard(key) else {
            return false;
        };
        let Some(slot) = shard.find(hash, key) else {
            return false;
        };
        if shard.extra.snapping() != 0 {
            shard.pre_image(slot);
        }
        match shard.remove(slot) {
            Some((old, ())) => {
                shard.extra.bytes -= old.heap_bytes();
                shard.extra.expires -= usize::from(old.expire_at().is_some());
                true
            }
            None => false,
        }
    }

    /// Removes `key` (one of the declared keys) and hands its value and TTL over without
    /// copying them; `None` if it did not exist.
    pub fn take(&mut self, key: &[u8]) -> Option<Item> {
        self.write(key, |item| match item {
            Some(item) => (Write::Remove, Some(item.take())),
            None => (Write::Keep, None),
        })
        .flatten()
    }

    /// Stores `item` under `key` (one of the declared keys), replacing any old value.
    pub fn put(&mut self, key: &[u8], item: Item) {
        self.write(key, |_| (Write::Put(item), ()));
    }
}

/// Read access to a set of keys whose shards are all read-locked at once: what the
/// multi-key commands that only read (MGET, EXISTS, TOUCH) use to see their keys at one
/// instant. See [`Db::multi_read`].
pub struct MultiRead<'a> {
    db: &'a Db,
    now: UnixMillis,
    guards: Vec<(usize, RwLockReadGuard<'a, Shard>)>,
    /// Set when a read met a key whose time had passed: it is removed once the locks go.
    saw_expired: Cell<bool>,
}

impl MultiRead<'_> {
    /// The live entry under `key` (one of the declared keys), if any.
    fn find(&self, key: &[u8]) -> Option<&Entry> {
        let hash = self.db.hash(key);
        let i = self.db.map.segment_of(hash);
        let pos = self.guards.binary_search_by_key(&i, |(j, _)| *j).ok()?;
        let (_, g) = self.guards.get(pos)?;
        let e = g.find_stored(key, hash)?;
        if e.is_expired(self.now) {
            self.saw_expired.set(true);
            return None;
        }
        Some(e)
    }

    /// Runs `f` on the live item under `key` (one of the declared keys), if any, and
    /// records the access (as a GET does).
    pub fn read<R>(&self, key: &[u8], f: impl FnOnce(&Item) -> R) -> Option<R> {
        let e = self.find(key)?;
        self.db.params.touch(e.access(), self.now);
        Some(e.with_item(f))
    }

    /// Whether `key` (one of the declared keys) exists; not an access (EXISTS).
    pub fn exists(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Whether `key` (one of the declared keys) exists, recording an access (TOUCH).
    pub fn touch(&self, key: &[u8]) -> bool {
        self.read(key, |_| ()).is_some()
    }
}

impl Db {
    /// A keyspace of [`DEFAULT_SHARDS`] shards hashing with `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_shards(seed, DEFAULT_SHARDS)
    }

    /// A keyspace with `shards` shards (rounded up to a power of two, at least 1).
    pub fn with_shards(seed: u64, shards: usize) -> Self {
        let map = HopMap::with_segments(seed, shards);
        Db {
            mask: map.segment_count() - 1,
            map,
            reap_cursor: AtomicUsize::new(0),
            index: 0,
            events: None,
            frozen: AtomicBool::new(false),
            keep_expired: AtomicBool::new(false),
            snap: Snap::default(),
            params: Arc::new(AccessParams::default()),
            track: AtomicBool::new(false),
            mem: AtomicUsize::new(0),
            keys: AtomicUsize::new(0),
            expires: AtomicUsize::new(0),
        }
    }

    /// Write-locks shard `i`: every write of the keyspace goes through here. While a
    /// snapshot is in progress, the shard learns its epoch here, and a key's value is
    /// copied before its first change (copy-before-write, `pre_image`), so the snapshot
    /// sees every shard as it was at its instant.
    #[inline]
    fn wlock(&self, i: usize) -> RwLockWriteGuard<'_, Shard> {
        let mut g = self.map.write_segment(i);
        if self.snap.active.load(Ordering::Acquire) || g.extra.epoch != 0 {
            self.sync_epoch(&mut g);
        }
        g
    }

    /// Tells a locked shard which snapshot runs (0: none), dropping the copies of an
    /// older one.
    #[cold]
    #[inline(never)]
    fn sync_epoch(&self, g: &mut Shard) {
        let epoch = if self.snap.active.load(Ordering::Acquire) {
            self.snap.epoch.load(Ordering::Acquire)
        } else {
            0
        };
        if g.extra.epoch != epoch {
            // Marks are set only while the shard's image is owed to the snapshot in
            // progress: one never taken (an abandoned snapshot) leaves some behind.
            if g.extra.snapping() != 0 {
                Self::clear_marks(g);
            }
            g.extra.epoch = epoch;
            g.extra.pre = Vec::new();
        }
    }

    /// Clears every entry's snapshot mark in a shard.
    #[cold]
    fn clear_marks(g: &mut Shard) {
        for e in g.keys_mut() {
            e.set_copied(false);
        }
    }

    /// The shard as it was at the snapshot's instant: its keys not changed since (not
    /// marked `copied`) and the copies of those that changed. Marks the shard taken and
    /// clears the entries' marks (so that the next snapshot starts with none).
    fn image(g: &mut Shard) -> ShardImage {
        let epoch = g.extra.snapping();
        if epoch == 0 {
            return Vec::new();
        }
        let mut image = core::mem::take(&mut g.extra.pre);
        image.extend(
            g.iter()
                .filter(|(e, _)| !e.copied())
                .map(|(e, _)| (Str::from(e.key()), e.to_item())),
        );
        Self::clear_marks(g);
        g.extra.saved = epoch;
        image
    }

    /// Takes shard `i`'s image for the snapshot in progress before the whole shard moves
    /// or goes (SWAPDB, FLUSHALL), unless it is taken.
    fn preserve(&self, i: usize, g: &mut Shard) {
        if g.extra.snapping() == 0 {
            return;
        }
        let image = Self::image(g);
        if !image.is_empty() {
            self.snap.copies.lock().push((i, image));
        }
    }

    /// Starts snapshot `epoch` (non-zero, different from the last one) of this keyspace.
    /// The caller makes this one instant for every database: no command may run while it
    /// starts the snapshot of all of them ([`crate::engine::Engine::exclusive`]), so no
    /// command is seen half done. From then on, every key is copied before its first
    /// change; [`Db::snapshot_shard`] reads each shard as it was at that instant.
    pub fn begin_snapshot(&self, epoch: u32) {
        self.snap.copies.lock().clear();
        self.snap.epoch.store(epoch, Ordering::Release);
        self.snap.active.store(true, Ordering::Release);
    }

    /// The entries shard `i` held at the instant of the snapshot in progress (its copy
    /// if a writer made one, else copied now, under the shard's lock, which also marks it
    /// taken); empty if no snapshot is in progress. Entries whose time had passed are
    /// included: the reader filters them with its own `now`.
    pub fn snapshot_shard(&self, i: usize) -> ShardImage {
        if !self.snap.active.load(Ordering::Acquire) {
            return Vec::new();
        }
        let image = {
            let mut g = self.wlock(i);
            Self::image(&mut g)
        };
        if !image.is_empty() {
            return image;
        }
        // Taken before the whole shard moved (SWAPDB) or went (FLUSHALL), if it was.
        let mut copies = self.snap.copies.lock();
        match copies.iter().position(|(j, _)| *j == i) {
            Some(pos) => copies.swap_remove(pos).1,
            None => Vec::new(),
        }
    }

    /// Ends the snapshot in progress: writers stop copying; copies not read are freed.
    pub fn end_snapshot(&self) {
        self.snap.active.store(false, Ordering::Release);
        let old = core::mem::take(&mut *self.snap.copies.lock());
        drop(old);
        // Copies of shards never read (an abandoned snapshot) are freed now.
        for i in self.shards() {
            let mut g = self.map.write_segment(i);
            if g.extra.epoch != 0 {
                self.sync_epoch(&mut g);
            }
        }
    }

    /// Makes room for about `keys` more keys, spread over the shards (a load's RESIZEDB
    /// hint), so that loading does not grow every table step by step.
    pub fn reserve(&self, keys: usize) {
        let per_shard = keys / self.map.segment_count() + 1;
        // `reserve` sizes a table for a load of 0.6; 70% of the shard's share makes it about
        // 0.85 full once loaded, as a table that grew by itself would be, rather than
        // half empty.
        for i in self.shards() {
            self.wlock(i).reserve(per_shard * 7 / 10 + 1);
        }
    }

    /// Number of shards ([`Db::snapshot_shard`] takes indexes below it).
    pub fn shard_count(&self) -> usize {
        self.map.segment_count()
    }

    /// A keyspace of [`DEFAULT_SHARDS`] shards hashing with `seed`, database `index`, that
    /// reports expired and created keys to `events`.
    pub fn with_events(seed: u64, index: usize, events: Arc<dyn KeyEvents>) -> Self {
        Db {
            index,
            events: Some(events),
            ..Self::new(seed)
        }
    }

    /// A keyspace of `shards` shards (a power of two) hashing with `seed`, database
    /// `index`, that reports expired and created keys to `events` and records accesses
    /// as `params` says (the engine's eviction settings).
    pub fn with_params(
        seed: u64,
        shards: usize,
        index: usize,
        events: Arc<dyn KeyEvents>,
        params: Arc<AccessParams>,
    ) -> Self {
        Db {
            params,
            index,
            events: Some(events),
            ..Self::with_shards(seed, shards)
        }
    }

    /// Where this keyspace's calls report, and whether CLIENT PAUSE keeps expired keys.
    #[inline]
    fn hook(&self) -> Hook<'_> {
        Hook {
            events: self.events.as_deref(),
            db: self.index,
            frozen: &self.frozen,
            keep: &self.keep_expired,
            params: &self.params,
        }
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.map.hash(key)
    }

    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        self.map.segment_of(hash)
    }

    fn shards(&self) -> impl Iterator<Item = usize> {
        0..self.map.segment_count()
    }

    /// Reads `key` under the shard's read lock: `f` sees the live item, and its result is
    /// returned; `None` if the key is absent or expired.
    pub fn read<R>(&self, key: &[u8], now: UnixMillis, f: impl FnOnce(&Item) -> R) -> Option<R> {
        let hash = self.hash(key);
        let si = self.shard_index(hash);
        {
            let guard = self.map.read_segment(si);
            match guard.find_stored(key, hash) {
                None => return None,
                Some(e) if !e.is_expired(now) => {
                    self.params.touch(e.access(), now);
                    return Some(e.with_item(f));
                }
                Some(_) => {}
            }
        }
        // Expired: remove it now, as Redis's lazy expiry does.
        expire_in(&mut self.wlock(si), key, hash, now, self.hook());
        None
    }

    /// Whether `key` exists (and has not expired) at `now`. Does not count as an access.
    pub fn exists(&self, key: &[u8], now: UnixMillis) -> bool {
        self.peek(key, now, |_, _| ()).is_some()
    }

    /// Reads `key` without counting an access (TYPE, TTL, EXISTS, OBJECT, MEMORY USAGE):
    /// `f` sees the live item and the entry's figures.
    pub fn peek<R>(
        &self,
        key: &[u8],
        now: UnixMillis,
        f: impl FnOnce(&Item, KeyStats) -> R,
    ) -> Option<R> {
        let hash = self.hash(key);
        let si = self.shard_index(hash);
        {
            let guard = self.map.read_segment(si);
            let e = guard.find_stored(key, hash)?;
            if !e.is_expired(now) {
                let access = e.access().load(Ordering::Relaxed);
                let stats = KeyStats {
                    idle_secs: crate::evict::lru_idle_ms(access, now) / 1000,
                    freq: self.params.freq(access, now),
                    lfu: self.params.lfu(),
                    bytes: bucket_bytes() + e.heap_bytes(),
                };
                return Some(e.with_item(|item| f(item, stats)));
            }
        }
        // Expired: remove it now, as Redis's lazy expiry does.
        expire_in(&mut self.wlock(si), key, hash, now, self.hook());
        None
    }

    /// Reads, changes, inserts or removes `key` under the shard's write lock, in one step:
    /// `f` gets the live item (`None` if absent or expired) and says what to do.
    pub fn write<R>(
        &self,
        key: &[u8],
        now: UnixMillis,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        let hash = self.hash(key);
        let mut g = self.wlock(self.shard_index(hash));
        let r = g.write(key, hash, now, self.hook(), f);
        self.settle_if_tracking(&g);
        r
    }

    /// As [`Db::write`], but reports nothing to the keyspace's [`KeyEvents`] (a change
    /// that undoes an earlier one, invisible to clients).
    pub fn write_quiet<R>(
        &self,
        key: &[u8],
        now: UnixMillis,
        f: impl FnOnce(Option<&mut Item>) -> (Write, R),
    ) -> R {
        let hash = self.hash(key);
        let hook = Hook {
            events: None,
            ..self.hook()
        };
        let mut g = self.wlock(self.shard_index(hash));
        let r = g.write(key, hash, now, hook, f);
        self.settle_if_tracking(&g);
        r
    }

    /// Locks the shards of all `keys` (each once, in index order, so two callers never
    /// deadlock) and runs `f` with write access to those keys: the multi-key commands'
    /// atomicity. At most [`DEFAULT_SHARDS`] locks are held.
    pub fn multi<R>(
        &self,
        keys: &[&[u8]],
        now: UnixMillis,
        f: impl FnOnce(&mut Multi<'_>) -> R,
    ) -> R {
        f(&mut self.lock_write(keys, now))
    }

    /// The shard indexes of `keys`, ascending, each once: the order every multi-shard lock
    /// is taken in.
    fn shard_set(&self, keys: &[&[u8]]) -> Vec<usize> {
        let mut idx: Vec<usize> = keys
            .iter()
            .map(|k| self.shard_index(self.hash(k)))
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }

    /// Write-locks the shards of `keys` in ascending index order.
    fn lock_write(&self, keys: &[&[u8]], now: UnixMillis) -> Multi<'_> {
        let guards = self
            .shard_set(keys)
            .into_iter()
            .map(|i| (i, self.wlock(i)))
            .collect();
        Multi {
            db: self,
            now,
            guards,
        }
    }

    /// Read-locks the shards of all `keys` (each once, in index order, as [`Db::multi`])
    /// and runs `f` with read access to those keys: MGET, EXISTS and TOUCH see all their
    /// keys at one instant, so no write of several keys is ever seen half done. Keys found
    /// expired are removed after the locks are released (lazy expiry, as [`Db::read`]).
    pub fn multi_read<R>(
        &self,
        keys: &[&[u8]],
        now: UnixMillis,
        f: impl FnOnce(&MultiRead<'_>) -> R,
    ) -> R {
        let guards = self
            .shard_set(keys)
            .into_iter()
            .map(|i| (i, self.map.read_segment(i)))
            .collect();
        let m = MultiRead {
            db: self,
            now,
            guards,
            saw_expired: Cell::new(false),
        };
        let r = f(&m);
        let expired = m.saw_expired.get();
        drop(m);
        if expired {
            self.expire_keys(keys, now);
        }
        r
    }

    /// Removes those of `keys` whose time has passed (lazy expiry after a read of several
    /// keys met one). Not generic: one copy for every reader.
    #[inline(never)]
    fn expire_keys(&self, keys: &[&[u8]], now: UnixMillis) {
        for k in keys {
            let hash = self.hash(k);
            expire_in(
                &mut self.wlock(self.shard_index(hash)),
                k,
                hash,
                now,
                self.hook(),
            );
        }
    }

    /// As [`Db::multi`] for keys in two databases at once (COPY ... DB, MOVE): `first` is
    /// the database with the lower index, and its shards are locked before `second`'s,
    /// which keeps the one global lock order (database index, then shard index). Both
    /// keyspaces must share a seed and shard count.
    pub fn multi_two<'a, R>(
        first: &'a Db,
        first_keys: &[&[u8]],
        second: &'a Db,
        second_keys: &[&[u8]],
        now: UnixMillis,
        f: impl FnOnce(&mut Multi<'a>, &mut Multi<'a>) -> R,
    ) -> R {
        let mut a = first.lock_write(first_keys, now);
        let mut b = second.lock_write(second_keys, now);
        f(&mut a, &mut b)
    }

    /// Every shard read-locked, in index order: a consistent view of the whole keyspace.
    fn read_all(&self) -> Vec<RwLockReadGuard<'_, Shard>> {
        self.shards().map(|i| self.map.read_segment(i)).collect()
    }

    /// Swaps the whole contents of two keyspaces, atomically for every other caller: all
    /// shards of `first` are locked, then all of `second` (callers pass the lower database
    /// index first, which keeps one global lock order), then the shards are exchanged.
    pub fn swap_contents(first: &Db, second: &Db) {
        let mut a: Vec<_> = first.shards().map(|i| first.wlock(i)).collect();
        let mut b: Vec<_> = second.shards().map(|i| second.wlock(i)).collect();
        // A snapshot in progress keeps each shard's image of its own database.
        for (i, g) in a.iter_mut().enumerate() {
            first.preserve(i, g);
        }
        for (i, g) in b.iter_mut().enumerate() {
            second.preserve(i, g);
        }
        for (x, y) in a.iter_mut().zip(b.iter_mut()) {
            core::mem::swap(&mut **x, &mut **y);
        }
        // The shards' reports moved with them.
        for (p, q) in [
            (&first.mem, &second.mem),
            (&first.keys, &second.keys),
            (&first.expires, &second.expires),
        ] {
            let v = p.load(Ordering::Relaxed);
            p.store(q.swap(v, Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// Moves `key` with its TTL from `src` to `dst` if it exists in `src` and not in `dst`
    /// (MOVE); both shards are held together ([`Db::multi_two`]: the database with the
    /// lower index, `src` when `src_is_lower`, is locked first).
    pub fn move_key(src: &Db, dst: &Db, src_is_lower: bool, key: &[u8], now: UnixMillis) -> bool {
        let mv = |s: &mut Multi<'_>, d: &mut Multi<'_>| {
            // The source is looked up first, then the destination (as Redis, whose
            // lookups expire keys: the `expired` events come in that order).
            if !s.exists(key) || d.exists(key) {
                return false;
            }
            match s.take(key) {
                Some(item) => {
                    d.put(key, item);
                    true
                }
                None => false,
            }
        };
        if src_is_lower {
            Db::multi_two(src, &[key], dst, &[key], now, mv)
        } else {
            Db::multi_two(dst, &[key], src, &[key], now, |d, s| mv(s, d))
        }
    }

    /// While `frozen`, keys past their time read as missing but are not removed by the
    /// calls that meet them (only a write of the key replaces one): CLIENT PAUSE keeps the
    /// keyspace constant, as Redis's `expireIfNeeded` does. Active expiry is the caller's
    /// to skip. Costs one relaxed load, and only when an expired key is met.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::Relaxed);
    }

    /// While the append-only file records, a key past its time is removed (and recorded as
    /// `DEL`) only by a write that replaces it or by active expiry, both of which run under
    /// the feed's order lock; reads (and writes that change nothing) leave it, invisible,
    /// so that no record is made outside that order. Costs one relaxed load, and only when
    /// an expired key is met.
    pub fn set_keep_expired(&self, keep: bool) {
        self.keep_expired.store(keep, Ordering::Relaxed);
    }

    /// Removes `key` if its time has passed, even while [`Db::set_keep_expired`] keeps
    /// such keys from reads (not while [`Db::set_frozen`]): what a write command does with
    /// the keys it names before it runs while the append-only file records (Redis's
    /// `lookupKeyWrite`), so that the `DEL` is recorded before the command, under the
    /// feed's order lock, and the command's record replays on the keyspace it saw. A read
    /// lock and a peek when the key is live or missing.
    pub fn expire_stale(&self, key: &[u8], now: UnixMillis) {
        static REMOVE: AtomicBool = AtomicBool::new(false);
        let hash = self.hash(key);
        let i = self.shard_index(hash);
        let stale = self
            .map
            .read_segment(i)
            .find_stored(key, hash)
            .is_some_and(|e| e.is_expired(now));
        if stale {
            let hook = Hook {
                keep: &REMOVE,
                ..self.hook()
            };
            self.wlock(i)
                .write(key, hash, now, hook, |_| (Write::Keep, ()));
        }
    }

    /// Whether [`Db::set_frozen`] is in force.
    pub fn frozen(&self) -> bool {
        self.frozen.load(Ordering::Relaxed)
    }

    /// Deletes `key`; true if it existed (and had not expired).
    pub fn remove(&self, key: &[u8], now: UnixMillis) -> bool {
        self.write(key, now, |item| match item {
            Some(_) => (Write::Remove, true),
            None => (Write::Keep, false),
        })
    }

    /// Active expiry: visits up to `shards` shards round-robin (shared by all callers) and
    /// removes from each the keys whose time has passed, earliest first, examining at most
    /// `per_shard` deadlines per shard. Returns the keys removed. Shards with nothing due
    /// cost a read lock and a peek.
    pub fn reap(&self, now: UnixMillis, shards: usize, per_shard: usize) -> usize {
        let mut removed = 0;
        for _ in 0..shards.min(self.map.segment_count()) {
            let i = self.reap_cursor.fetch_add(1, Ordering::Relaxed) & self.mask;
            let due = {
                let g = self.map.read_segment(i);
                let st = &g.extra;
                rebase_due(st, now)
                    || st
                        .deadlines
                        .peek()
                        .is_some_and(|Reverse(d)| d.passed(now, st.base))
            };
            if due {
                let mut g = self.wlock(i);
                removed += g.reap(now, per_shard, self.hook());
                self.settle(&g);
            }
        }
        removed
    }

    /// Number of keys, counting expired keys not yet removed (as Redis's DBSIZE does), with
    /// every shard read-locked at once: a write of several keys is counted whole or not at
    /// all.
    pub fn len(&self) -> usize {
        self.read_all().iter().map(|g| g.len()).sum()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys with a TTL.
    pub fn expires_len(&self) -> usize {
        self.shards()
            .map(|i| self.map.read_segment(i).extra.expires)
            .sum()
    }

    /// The average time to live of the keys with a TTL, in milliseconds (0 without any):
    /// INFO keyspace's `avg_ttl`, computed exactly by walking the keys (Redis estimates it).
    pub fn avg_ttl(&self, now: UnixMillis) -> i64 {
        let (mut sum, mut n) = (0i128, 0i128);
        for i in self.shards() {
            let g = self.map.read_segment(i);
            if g.extra.expires == 0 {
                continue;
            }
            for (e, _) in g.iter() {
                if let Some(t) = e.expire_at().filter(|t| *t >= now) {
                    sum += i128::from(t.0 - now.0);
                    n += 1;
                }
            }
        }
        if n == 0 {
            0
        } else {
            i64::try_from(sum / n).unwrap_or(i64::MAX)
        }
    }

    /// Keys removed so far because their TTL passed.
    pub fn expired_total(&self) -> usize {
        self.shards()
            .map(|i| self.map.read_segment(i).extra.expired)
            .sum()
    }

    /// An estimate of the bytes the keyspace holds: table slots, deadline heaps, keys and
    /// values.
    pub fn mem_bytes(&self) -> usize {
        let deadline = size_of::<Reverse<Deadline>>();
        self.map.allocated_bytes()
            + self
                .shards()
                .map(|i| {
                    let g = self.map.read_segment(i);
                    g.extra.deadlines.capacity() * deadline + g.extra.bytes
                })
                .sum::<usize>()
    }

    /// What MEMORY STATS reports of the keyspace's own structures: the tables' bytes
    /// but the key and value slots of their entries (`overhead.hashtable.main`) and the
    /// deadline heaps' (`overhead.hashtable.expires`).
    pub fn overheads(&self) -> (usize, usize) {
        let deadline = size_of::<Reverse<Deadline>>();
        self.shards().fold((0, 0), |(tables, heaps), i| {
            let g = self.map.read_segment(i);
            // The keys' and values' own slots hold data, as Redis counts its objects.
            let data = g.table().len() * size_of::<Entry>();
            (
                tables + g.table().allocated_bytes().saturating_sub(data),
                heaps + g.extra.deadlines.capacity() * deadline,
            )
        })
    }

    /// Bytes of one shard as [`Db::mem_bytes`] counts them.
    fn footprint(g: &Shard) -> usize {
        g.table().allocated_bytes()
            + g.extra.deadlines.capacity() * size_of::<Reverse<Deadline>>()
            + g.extra.bytes
    }

    /// Reports a locked shard's bytes and keys to the keyspace's totals ([`Db::used`]):
    /// every write does while `maxmemory` is set, the tick otherwise. Exactly once per
    /// change even when readers race (a swap of the shard's last report). Out of line:
    /// the generic writers share one copy.
    #[inline(never)]
    fn settle(&self, g: &Shard) {
        let foot = Self::footprint(g);
        // Read first: an unchanged shard's line is not written (the tick settles all).
        if g.extra.charged.load(Ordering::Relaxed) != foot {
            let old = g.extra.charged.swap(foot, Ordering::Relaxed);
            self.mem
                .fetch_add(foot.wrapping_sub(old), Ordering::Relaxed);
        }
        let n = g.len();
        if g.extra.charged_keys.load(Ordering::Relaxed) != n {
            let old = g.extra.charged_keys.swap(n, Ordering::Relaxed);
            self.keys.fetch_add(n.wrapping_sub(old), Ordering::Relaxed);
        }
        let n = g.extra.expires;
        if g.extra.charged_expires.load(Ordering::Relaxed) != n {
            let old = g.extra.charged_expires.swap(n, Ordering::Relaxed);
            self.expires
                .fetch_add(n.wrapping_sub(old), Ordering::Relaxed);
        }
    }

    /// [`Db::settle`] while `maxmemory` is set ([`Db::set_tracking`]).
    #[inline(never)]
    fn settle_if_tracking(&self, g: &Shard) {
        if self.track.load(Ordering::Relaxed) {
            self.settle(g);
        }
    }

    /// Brings the totals of [`Db::used`] up to date (every shard read-locked in turn):
    /// the tick does, and INFO.
    pub fn refresh(&self) {
        for i in self.shards() {
            self.settle(&self.map.read_segment(i));
        }
    }

    /// Whether every write reports its shard's bytes at once (`maxmemory` is set); when it
    /// starts, every shard reports.
    pub fn set_tracking(&self, on: bool) {
        if self.track.swap(on, Ordering::Relaxed) != on && on {
            self.refresh();
        }
    }

    /// The bytes and keys the shards last reported ([`Db::settle`]): one relaxed load
    /// each, current after every write while tracking, else as of the last refresh.
    pub fn used(&self) -> (usize, usize) {
        (
            self.mem.load(Ordering::Relaxed)
                + self.map.segment_count() * self.map.segment_overhead(),
            self.keys.load(Ordering::Relaxed),
        )
    }

    /// The keys with a TTL the shards last reported (as [`Db::used`]).
    pub fn volatile_keys(&self) -> usize {
        self.expires.load(Ordering::Relaxed)
    }

    /// Samples up to `n` keys for eviction, calling `f` with each key, its access word
    /// and its expiry time: random shards, a random entry of each (with `volatile`, a
    /// random entry of the shard's deadline heap, so keys without a TTL never come).
    pub fn sample(&self, n: usize, volatile: bool, mut f: impl FnMut(&[u8], u32, Option<i64>)) {
        for _ in 0..n {
            // A random shard, or the next one that has candidates (a sparse keyspace).
            let start = crate::evict::random() as usize;
            let Some(g) = (0..self.map.segment_count())
                .map(|k| self.map.read_segment((start + k) & self.mask))
                .find(|g| {
                    if volatile {
                        g.extra.expires > 0
                    } else {
                        !g.is_empty()
                    }
                })
            else {
                return;
            };
            if volatile {
                let heap = g.extra.deadlines.as_slice();
                if heap.is_empty() || g.extra.expires == 0 {
                    continue;
                }
                // A few tries: entries of keys gone or changed are stale.
                for _ in 0..VOLATILE_TRIES {
                    let Some(&Reverse(d)) = heap.get(crate::evict::random() as usize % heap.len())
                    else {
                        break;
                    };
                    let base = g.extra.base;
                    let found = g
                        .find_by_prefix(d.prefix(), |e, _| d.matches(e, base))
                        .and_then(|s| g.get(s));
                    if let Some((e, _)) = found {
                        let t = e.expire_at().map(|t| t.0);
                        f(e.key(), e.access().load(Ordering::Relaxed), t);
                        break;
                    }
                }
            } else if let Some((e, _)) = g.random(|| u64::from(crate::evict::random())) {
                f(
                    e.key(),
                    e.access().load(Ordering::Relaxed),
                    e.expire_at().map(|t| t.0),
                );
            }
        }
    }

    /// Evicts `key` if it is there (with `volatile`, only if it has a TTL; with
    /// `sampled`, only if its access word is still the one sampled: a key read since it
    /// was sampled is no longer the candidate it was): `before` runs under the shard's
    /// lock before the key goes (the append-only file's `DEL`, in the keyspace's order).
    /// True if it was removed.
    pub fn evict(
        &self,
        key: &[u8],
        now: UnixMillis,
        volatile: bool,
        sampled: Option<u32>,
        before: impl FnOnce(),
    ) -> bool {
        let hash = self.hash(key);
        let mut g = self.wlock(self.shard_index(hash));
        if let Some(a) = sampled {
            let live = g.find_stored(key, hash);
            if live.is_some_and(|e| e.access().load(Ordering::Relaxed) != a && !e.is_expired(now)) {
                return false;
            }
        }
        let removed = g.write(key, hash, now, self.hook(), |item| match item {
            Some(i) if !volatile || i.expire_at().is_some() => {
                before();
                (Write::Remove, true)
            }
            _ => (Write::Keep, false),
        });
        // Evicted keys leave stale deadlines behind: the heap is rebuilt (and shrunk)
        // once they outnumber the live ones, so it does not eat the memory that eviction
        // frees.
        let st = &g.extra;
        if removed && st.deadlines.len() > 2 * st.expires + EVICT_HEAP_SLACK {
            g.rebuild_deadlines();
            g.extra.deadlines.shrink_to_fit();
        }
        self.settle(&g);
        removed
    }

    /// Sets `key`'s LFU counter (RESTORE ... FREQ under an LFU policy); false if the key
    /// is absent or expired.
    pub fn set_freq(&self, key: &[u8], now: UnixMillis, freq: u8) -> bool {
        let hash = self.hash(key);
        let guard = self.map.read_segment(self.shard_index(hash));
        match guard.find_stored(key, hash) {
            Some(e) if !e.is_expired(now) => {
                if self.params.lfu() {
                    e.access()
                        .store(crate::evict::lfu_word(freq, now), Ordering::Relaxed);
                }
                true
            }
            _ => false,
        }
    }

    /// Removes every key; returns how many there were. Atomic: every shard is
    /// write-locked (in index order) before the first is emptied; the old tables are freed
    /// after the locks are released. Counters of expired keys are kept.
    pub fn clear(&self) -> usize {
        Db::clear_all(core::slice::from_ref(self))
    }

    /// Empties every database of `dbs` in one step (FLUSHALL): all shards of all of them are
    /// write-locked, in the global order (database index, then shard index), before
    /// anything is removed, so no client sees some databases or shards flushed and others
    /// not. The old tables are freed after the locks are released. Returns the keys removed.
    pub fn clear_all(dbs: &[Db]) -> usize {
        let mut guards: Vec<RwLockWriteGuard<'_, Shard>> = Vec::new();
        for db in dbs {
            let start = guards.len();
            guards.extend(db.shards().map(|i| db.wlock(i)));
            // A snapshot in progress keeps each shard's image.
            for (i, g) in guards.iter_mut().skip(start).enumerate() {
                db.preserve(i, g);
            }
        }
        let mut old = Vec::with_capacity(guards.len());
        let per_db = dbs.first().map_or(1, |d| d.shard_count().max(1));
        for (n, g) in guards.iter_mut().enumerate() {
            let (expired, saved, epoch) = (g.extra.expired, g.extra.saved, g.extra.epoch);
            // What the emptied shard reported leaves its keyspace's totals.
            if let Some(db) = dbs.get(n / per_db) {
                let (c, k, e) = (
                    g.extra.charged.load(Ordering::Relaxed),
                    g.extra.charged_keys.load(Ordering::Relaxed),
                    g.extra.charged_expires.load(Ordering::Relaxed),
                );
                db.mem.fetch_sub(c, Ordering::Relaxed);
                db.keys.fetch_sub(k, Ordering::Relaxed);
                db.expires.fetch_sub(e, Ordering::Relaxed);
            }
            let state = core::mem::replace(
                &mut g.extra,
                ShardState {
                    expired,
                    saved,
                    epoch,
                    ..ShardState::default()
                },
            );
            old.push((g.take(), state));
        }
        drop(guards);
        old.iter().map(|(t, _)| t.len()).sum()
    }

    /// Calls `f` with every live key and item, with every shard read-locked at once (as
    /// KEYS: one consistent view, as Redis's single-threaded walk sees it).
    pub fn for_each(&self, now: UnixMillis, mut f: impl FnMut(&[u8], &Item)) {
        for g in self.read_all() {
            for (e, _) in g.iter() {
                if !e.is_expired(now) {
                    e.with_item(|item| f(e.key(), item));
                }
            }
        }
    }

    /// Calls `f` with every live key, every shard read-locked at once ([`Db::for_each`]).
    /// (No item is built for a packed entry.)
    pub fn for_each_key(&self, now: UnixMillis, mut f: impl FnMut(&[u8])) {
        for g in self.read_all() {
            for (e, _) in g.iter() {
                if !e.is_expired(now) {
                    f(e.key());
                }
            }
        }
    }

    /// One SCAN step: calls `f` with live keys whose scan order is at least `cursor`, in
    /// order, at least `count` of them unless the keyspace ends (keys of equal order always
    /// go together); returns the next cursor, 0 when the scan is complete. The order is the
    /// key's hash with the shard bits rotated to the top ([`HopMap::scan`]), which depends on
    /// nothing but the key and the seed, so a scan returns every key present for its whole
    /// length at least once, however the tables grow. A step reads one shard at a time
    /// (under its read lock) and moves to the next only while it has found fewer than
    /// `count` keys.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: UnixMillis,
        mut f: impl FnMut(&[u8], &Item),
    ) -> u64 {
        self.map.scan(
            cursor,
            count,
            |e, _| e.is_expired(now),
            |e, _| e.with_item(|item| f(e.key(), item)),
        )
    }

    /// A key chosen at random with `r` (any 64-bit number): a random non-empty shard, then
    /// a random key in it. `None` when the keyspace holds no live key.
    pub fn random_key(&self, now: UnixMillis, mut r: u64) -> Option<Vec<u8>> {
        let n = self.map.segment_count();
        let start = (r as usize) & self.mask;
        for step in 0..n {
            let g = self.map.read_segment((start + step) & self.mask);
            let live = g.iter().filter(|(e, _)| !e.is_expired(now)).count();
            if live == 0 {
                continue;
            }
            r = r.rotate_left(17) ^ 0x9E37_79B9_7F4A_7C15;
            let pick = (r % live as u64) as usize;
            return g
                .iter()
                .filter(|(e, _)| !e.is_expired(now))
                .nth(pick)
                .map(|(e, _)| e.key().to_vec());
        }
        None
    }

    /// Sets `key`'s last access to `idle_secs` seconds before `now` (RESTORE ... IDLETIME),
    /// so OBJECT IDLETIME answers `idle_secs`; false if the key is absent or expired.
    pub fn set_idle(&self, key: &[u8], now: UnixMillis, idle_secs: u64) -> bool {
        let hash = self.hash(key);
        let guard = self.map.read_segment(self.shard_index(hash));
        match guard.find_stored(key, hash) {
            Some(e) if !e.is_expired(now) => {
                if !self.params.lfu() {
                    let ticks = idle_secs.saturating_mul(1000) / crate::evict::LRU_TICK_MS as u64;
                    let at = crate::evict::lru_clock(now).wrapping_sub(ticks as u32);
                    e.access().store(at, Ordering::Relaxed);
                }
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;
    use std::collections::HashMap;

    const T0: UnixMillis = UnixMillis(1_000_000);

    fn put(db: &Db, k: &[u8], v: &[u8], ttl: Option<i64>) {
        db.write(k, T0, |_| {
            (
                Write::Put(Item::with_expiry(Value::str(v), ttl.map(UnixMillis))),
                (),
            )
        });
    }

    #[test]
    fn tracked_totals_match_the_walk_and_sampling_respects_volatile() {
        let db = Db::new(7);
        db.set_tracking(true);
        for i in 0..2000 {
            let ttl = (i % 2 == 0).then_some(T0.0 + 100_000);
            put(&db, format!("k{i}").as_bytes(), b"value", ttl);
        }
        assert_eq!(db.used().0, db.mem_bytes());
        assert_eq!(db.used().1, 2000);
        assert_eq!(db.volatile_keys(), 1000);
        let mut n = 0;
        db.sample(300, true, |k, _, exp| {
            assert!(exp.is_some());
            let i: usize = core::str::from_utf8(&k[1..]).unwrap().parse().unwrap();
            assert_eq!(i % 2, 0, "a key without a TTL sampled as volatile");
            n += 1;
        });
        assert!(n >= 250, "{n}");
        let mut all = 0;
        db.sample(300, false, |_, _, _| all += 1);
        assert_eq!(all, 300);
        assert!(db.evict(b"k1", T0, false, None, || ()));
        assert!(
            !db.evict(b"k3", T0, true, None, || ()),
            "volatile spares a key without TTL"
        );
        let h5 = db.hash(b"k5");
        let word = db
            .map
            .read_segment(db.shard_index(h5))
            .find_stored(b"k5", h5)
            .map(|e| e.access().load(Ordering::Relaxed));
        assert!(
            !db.evict(b"k5", T0, false, word.map(|w| w ^ 1), || ()),
            "read since it was sampled"
        );
        assert!(db.evict(b"k5", T0, false, word, || ()));
        let mut before = false;
        assert!(db.evict(b"k2", T0, true, None, || before = true));
        assert!(before);
        assert_eq!(db.used().0, db.mem_bytes());
        assert_eq!(db.used().1, 1997);
        db.clear();
        assert_eq!(db.used().1, 0);
        assert_eq!(db.used().0, db.mem_bytes());
        // A sparse keyspace still yields its keys.
        put(&db, b"only", b"v", None);
        let mut seen = 0;
        db.sample(5, false, |k, _, _| {
            assert_eq!(k, b"only");
            seen += 1;
        });
        assert_eq!(seen, 5);
    }

    fn get(db: &Db, k: &[u8], now: UnixMillis) -> Option<Vec<u8>> {
        db.read(k, now, |i| match &i.value {
            Value::Str(s) => s.to_vec(),
            _ => Vec::new(),
        })
    }

    /// Everything a snapshot of `db` holds, as sorted (key, value) pairs.
    fn image(db: &Db) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all = Vec::new();
        for s in 0..db.shard_count() {
            for (k, item) in db.snapshot_shard(s) {
                let v = item.value.as_str().map(<[u8]>::to_vec).unwrap_or_default();
                all.push((k.to_vec(), v));
            }
        }
        all.sort();
        all
    }

    #[test]
    fn a_snapshot_sees_the_keyspace_as_it_was_when_it_began() {
        let a = Db::with_shards(7, 16);
        let b = Db::with_shards(7, 16);
        for i in 0..200u32 {
            put(&a, format!("k{i}").as_bytes(), b"old", None);
            put(&b, format!("k{i}").as_bytes(), b"b-old", None);
        }
        let before_a = image_now(&a);
        let before_b = image_now(&b);
        a.begin_snapshot(1);
        b.begin_snapshot(1);
        // Every kind of change after the instant: overwrite, delete, create, expire
        // removal, multi-key writes, SWAPDB, FLUSHALL.
        put(&a, b"k1", b"new", None);
        a.remove(b"k2", T0);
        put(&a, b"fresh", b"x", None);
        a.multi(&[b"k3", b"k4"], T0, |m| {
            m.delete(b"k3");
            m.put(b"k4", Item::new(Value::str(b"m".to_vec())));
        });
        Db::swap_contents(&a, &b);
        Db::clear_all(core::slice::from_ref(&b));
        put(&b, b"after", b"y", None);
        assert_eq!(image(&a), before_a);
        assert_eq!(image(&b), before_b);
        a.end_snapshot();
        b.end_snapshot();
        // After the end nothing is copied any more, and the data is the changed one.
        assert!(image(&a).is_empty());
        assert_eq!(get(&b, b"after", T0), Some(b"y".to_vec()));
        assert_eq!(get(&a, b"k1", T0), Some(b"b-old".to_vec()));
        // A second snapshot starts from the state now.
        let now_b = image_now(&b);
        b.begin_snapshot(2);
        put(&b, b"later", b"z", None);
        assert_eq!(image(&b), now_b);
        b.end_snapshot();
    }

    #[test]
    fn a_snapshot_copies_only_the_keys_written_before_it_reads_them() {
        let db = Db::with_shards(7, 1);
        for i in 0..100u32 {
            put(&db, format!("k{i}").as_bytes(), b"old", None);
        }
        let before = image_now(&db);
        db.begin_snapshot(3);
        put(&db, b"k1", b"new", None);
        put(&db, b"k1", b"newer", None);
        db.remove(b"k2", T0);
        put(&db, b"fresh", b"x", None);
        db.remove(b"fresh", T0);
        put(&db, b"k3", b"three", Some(T0.0 + 5));
        // One copy a key changed, once: not the shard.
        assert_eq!(db.map.read_segment(0).extra.pre.len(), 3);
        assert_eq!(image(&db), before);
        db.end_snapshot();
        assert!(db.map.read_segment(0).extra.pre.is_empty());
        assert_eq!(get(&db, b"k1", T0), Some(b"newer".to_vec()));
        // Expiry and reaping during the next snapshot keep the value at the instant.
        let now = image_now(&db);
        db.begin_snapshot(4);
        let later = UnixMillis(T0.0 + 10);
        assert_eq!(get(&db, b"k3", later), None);
        db.reap(later, 1, 100);
        let mut img = image(&db);
        img.retain(|(k, _)| k.as_slice() != b"k3");
        let mut want = now.clone();
        want.retain(|(k, _)| k.as_slice() != b"k3");
        assert_eq!(img, want);
        db.end_snapshot();
    }

    /// The live (key, value) pairs of `db` now, sorted.
    fn image_now(db: &Db) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all = Vec::new();
        db.for_each(T0, |k, item| {
            all.push((
                k.to_vec(),
                item.value.as_str().map(<[u8]>::to_vec).unwrap_or_default(),
            ))
        });
        all.sort();
        all
    }

    #[test]
    fn set_get_remove_and_accounting() {
        let db = Db::with_shards(7, 4);
        put(&db, b"a", b"1", None);
        put(&db, b"", b"empty key", None);
        put(&db, b"b\0\r\n", b"", Some(T0.0 + 10));
        assert_eq!(db.len(), 3);
        assert_eq!(db.expires_len(), 1);
        assert_eq!(get(&db, b"a", T0), Some(b"1".to_vec()));
        assert_eq!(get(&db, b"", T0), Some(b"empty key".to_vec()));
        // Overwriting without a TTL clears it.
        put(&db, b"b\0\r\n", b"x", None);
        assert_eq!(db.expires_len(), 0);
        assert!(db.remove(b"a", T0));
        assert!(!db.remove(b"a", T0));
        assert_eq!(db.len(), 2);
        assert_eq!(db.clear(), 2);
        assert!(db.is_empty());
        let bytes: usize = db
            .shards()
            .map(|i| db.map.read_segment(i).extra.bytes)
            .sum();
        assert_eq!(bytes, 0);
    }

    #[test]
    fn expired_keys_are_invisible_and_removed_on_access() {
        let db = Db::with_shards(1, 2);
        put(&db, b"k", b"v", Some(T0.0 + 100));
        assert!(
            db.exists(b"k", UnixMillis(T0.0 + 100)),
            "not expired at its exact time"
        );
        assert!(!db.exists(b"k", UnixMillis(T0.0 + 101)));
        assert_eq!(db.len(), 0);
        assert_eq!(db.expired_total(), 1);
        assert_eq!(db.expires_len(), 0);
        // A write to an expired key sees it absent.
        put(&db, b"j", b"v", Some(T0.0 + 1));
        let seen = db.write(b"j", UnixMillis(T0.0 + 2), |i| (Write::Keep, i.is_some()));
        assert!(!seen);
        let mut keys = vec![];
        put(&db, b"x", b"v", Some(T0.0 + 1));
        put(&db, b"y", b"v", None);
        db.for_each_key(UnixMillis(T0.0 + 5), |k| keys.push(k.to_vec()));
        assert_eq!(keys, vec![b"y".to_vec()]);
    }

    #[test]
    fn frozen_keyspace_keeps_expired_keys_until_thawed() {
        let db = Db::with_shards(1, 2);
        put(&db, b"k", b"v", Some(T0.0 + 1));
        put(&db, b"w", b"v", Some(T0.0 + 1));
        db.set_frozen(true);
        let later = UnixMillis(T0.0 + 5);
        assert_eq!(get(&db, b"k", later), None, "invisible");
        assert!(!db.exists(b"k", later));
        assert!(!db.remove(b"k", later));
        assert!(!db.multi_read(&[b"k"], later, |m| m.exists(b"k")));
        assert_eq!(db.len(), 2, "still stored");
        assert_eq!(db.expired_total(), 0);
        // A real write replaces the expired entry.
        db.write(b"w", later, |i| {
            assert!(i.is_none());
            (Write::Put(Item::new(Value::str(b"new".to_vec()))), ())
        });
        assert_eq!(get(&db, b"w", later), Some(b"new".to_vec()));
        assert_eq!((db.len(), db.expired_total(), db.expires_len()), (2, 1, 1));
        db.set_frozen(false);
        assert_eq!(get(&db, b"k", later), None);
        assert_eq!((db.len(), db.expired_total()), (1, 2));
    }

    /// Differential check against std's HashMap over a seeded random sequence.
    #[test]
    fn matches_a_model_over_random_operations() {
        let db = Db::with_shards(42, 8);
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = std::format!("k{}", x % 500).into_bytes();
            match (x >> 20) % 4 {
                0 | 1 => {
                    let v = std::format!("{}", x >> 30).into_bytes();
                    put(&db, &key, &v, None);
                    model.insert(key, v);
                }
                2 => assert_eq!(db.remove(&key, T0), model.remove(&key).is_some()),
                _ => assert_eq!(get(&db, &key, T0), model.get(&key).cloned()),
            }
        }
        assert_eq!(db.len(), model.len());
        let heap: usize = db
            .shards()
            .map(|i| db.map.read_segment(i).extra.bytes)
            .sum();
        let expect: usize = model
            .iter()
            .map(|(k, v)| Str::heap_bytes_of(k.len()) + Str::heap_bytes_of(v.len()))
            .sum();
        assert_eq!(heap, expect);
    }

    #[test]
    fn active_expiry_has_no_head_of_line_blocking() {
        // One shard, so every key shares one deadline heap: a short TTL inserted after
        // many long ones must still be reaped first.
        let db = Db::with_shards(5, 1);
        for i in 0..1000 {
            put(
                &db,
                std::format!("long{i}").as_bytes(),
                b"v",
                Some(T0.0 + 1_000_000),
            );
        }
        put(&db, b"short", b"v", Some(T0.0 + 500));
        assert_eq!(
            db.reap(UnixMillis(T0.0 + 500), 1, 10),
            0,
            "not due at its exact time"
        );
        assert_eq!(db.reap(UnixMillis(T0.0 + 501), 1, 10), 1);
        assert_eq!(db.len(), 1000);
        assert_eq!(db.expired_total(), 1);
        // Everything due goes, in bounded slices.
        let later = UnixMillis(T0.0 + 1_000_001);
        let mut removed = 0;
        for _ in 0..100 {
            removed += db.reap(later, 1, 64);
        }
        assert_eq!(removed, 1000);
        assert!(db.is_empty());
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn deadlines_take_6_bytes_order_by_time_and_clamp() {
        assert_eq!(size_of::<Reverse<Deadline>>(), 6);
        let h = 0xDEAD_BEEF_1234_5678;
        let base = 500;
        let a = Deadline::new(UnixMillis(1_000), h, base);
        let b = Deadline::new(UnixMillis(1_001), 0, base);
        assert!(a < b);
        assert_eq!(a.prefix(), 0x1234_5678 >> PREFIX_SHIFT);
        assert_eq!(a.prefix(), 0x1234);
        assert!(!a.passed(UnixMillis(1_000), base) && a.passed(UnixMillis(1_001), base));
        // Across the 16-bit halves of the time.
        let c = Deadline::new(UnixMillis(base + 0x1_0000), h, base);
        let d = Deadline::new(UnixMillis(base + 0xFFFF), !0, base);
        assert!(d < c && d.off() == 0xFFFF && c.off() == 0x1_0000);
        // Before the base: the base (such a key is expired by then); 49 days or more after
        // it: clamped, never passed before the base moves.
        let past = Deadline::new(UnixMillis(-5), h, base);
        assert!(past < a && !past.passed(UnixMillis(base), base));
        assert!(past.passed(UnixMillis(base + 1), base));
        let far = Deadline::new(UnixMillis(i64::MAX), h, base);
        assert_eq!(far.off(), u32::MAX);
        assert_eq!(
            far,
            Deadline::new(UnixMillis(base + i64::from(u32::MAX)), h, base)
        );
        assert!(!far.passed(UnixMillis(base + i64::from(u32::MAX)), base));
        // Active expiry removes keys whose time is before 1970, keeps a key 60 days away
        // until its time even as the base moves (twice), and then removes it.
        let db = Db::with_shards(5, 1);
        let day = 86_400_000;
        put(&db, b"old", b"v", Some(-10));
        put(&db, b"far", b"v", Some(T0.0 + 60 * day));
        // The base is T0 (the heap was empty): the old time counts as T0.
        assert_eq!(db.reap(T0, 1, 10), 0);
        assert_eq!(db.reap(UnixMillis(T0.0 + 1), 1, 10), 1);
        for d in [10, 26, 40, 53, 59] {
            assert_eq!(db.reap(UnixMillis(T0.0 + d * day), 1, 10), 0, "day {d}");
        }
        assert_eq!(db.map.read_segment(0).extra.base, T0.0 + 53 * day);
        assert_eq!(db.len(), 1);
        assert_eq!(db.reap(UnixMillis(T0.0 + 60 * day), 1, 10), 0, "not yet");
        assert_eq!(db.reap(UnixMillis(T0.0 + 60 * day + 1), 1, 10), 1);
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn stale_deadlines_do_not_remove_live_keys_and_are_compacted() {
        let db = Db::with_shards(5, 1);
        // The TTL moves later many times: old heap entries must not delete the key.
        for i in 0..5000 {
            put(&db, b"k", b"v", Some(T0.0 + 10 + i));
        }
        assert!(db.map.read_segment(0).extra.deadlines.len() <= 2 + HEAP_REBUILD_SLACK + 1);
        assert_eq!(db.reap(UnixMillis(T0.0 + 100), 1, 10_000), 0);
        assert!(db.exists(b"k", UnixMillis(T0.0 + 100)));
        // A key whose TTL was removed is never reaped.
        put(&db, b"p", b"v", Some(T0.0 + 5));
        db.write(b"p", T0, |i| {
            if let Some(i) = i {
                i.set_expire_at(None);
            }
            (Write::Keep, ())
        });
        assert_eq!(db.reap(UnixMillis(T0.0 + 6), 1, 100), 0);
        assert!(db.exists(b"p", UnixMillis(T0.0 + 1_000_000)));
    }

    #[test]
    fn multi_key_writes_are_atomic_per_call() {
        let db = Db::with_shards(9, 16);
        put(&db, b"a", b"1", None);
        let keys: [&[u8]; 3] = [b"a", b"b", b"c"];
        let seen = db.multi(&keys, T0, |m| {
            assert!(m.get(b"a").is_some());
            assert!(m.get(b"b").is_none());
            m.write(b"b", |_| {
                (Write::Put(Item::new(Value::str(b"2".to_vec()))), ())
            });
            m.write(b"a", |_| (Write::Remove, ()));
            // A key outside the declared set is refused, not locked behind our back.
            m.write(b"undeclared-key-zzz", |_| (Write::Keep, ()))
                .is_none()
                || db.shard_index(db.hash(b"undeclared-key-zzz")) == db.shard_index(db.hash(b"a"))
        });
        assert!(seen);
        assert!(!db.exists(b"a", T0));
        assert!(db.exists(b"b", T0));
    }

    #[test]
    fn multi_delete_removes_an_expired_entry_without_expiring_it() {
        let db = Db::with_shards(9, 4);
        put(&db, b"gone", b"x", Some(T0.0 - 1));
        put(&db, b"live", b"x", Some(T0.0 + 100));
        let keys: [&[u8]; 3] = [b"gone", b"live", b"missing"];
        let deleted = db.multi(&keys, T0, |m| keys.map(|k| m.delete(k)));
        assert_eq!(deleted, [true, true, false]);
        assert_eq!(db.len(), 0);
        assert_eq!(db.expires_len(), 0);
        assert_eq!(
            db.expired_total(),
            0,
            "deleted, not expired (Redis's dbDelete)"
        );
        let bytes: usize = db
            .shards()
            .map(|i| db.map.read_segment(i).extra.bytes)
            .sum();
        assert_eq!(bytes, 0);
    }

    #[test]
    fn multi_read_sees_declared_keys_and_removes_expired_ones_after() {
        let db = Db::with_shards(9, 16);
        put(&db, b"a", b"1", None);
        put(&db, b"gone", b"x", Some(T0.0 - 1));
        let keys: [&[u8]; 3] = [b"a", b"gone", b"missing"];
        let (seen, n) = db.multi_read(&keys, T0, |m| {
            let seen: Vec<Option<Vec<u8>>> = keys
                .iter()
                .map(|k| {
                    m.read(k, |i| {
                        i.value.as_str().map(<[u8]>::to_vec).unwrap_or_default()
                    })
                })
                .collect();
            (seen, keys.iter().filter(|k| m.exists(k)).count())
        });
        assert_eq!(seen, vec![Some(b"1".to_vec()), None, None]);
        assert_eq!(n, 1);
        // The expired key was removed once the read locks were released.
        assert_eq!(db.len(), 1);
        assert_eq!(db.expired_total(), 1);
    }

    #[test]
    fn clear_all_and_moves_across_databases() {
        let dbs = [Db::with_shards(4, 8), Db::with_shards(4, 8)];
        put(&dbs[0], b"k", b"v", Some(T0.0 + 50));
        assert!(Db::move_key(&dbs[0], &dbs[1], true, b"k", T0));
        assert!(!dbs[0].exists(b"k", T0));
        assert_eq!(get(&dbs[1], b"k", T0), Some(b"v".to_vec()));
        // The TTL moved with it.
        assert!(!dbs[1].exists(b"k", UnixMillis(T0.0 + 51)));
        put(&dbs[1], b"k", b"v", None);
        put(&dbs[0], b"k", b"other", None);
        assert!(
            !Db::move_key(&dbs[1], &dbs[0], false, b"k", T0),
            "present there"
        );
        let copied = Db::multi_two(&dbs[0], &[b"k"], &dbs[1], &[b"c"], T0, |a, b| {
            let item = a.get(b"k");
            item.map(|i| b.put(b"c", i)).is_some()
        });
        assert!(copied);
        assert_eq!(get(&dbs[1], b"c", T0), Some(b"other".to_vec()));
        for i in 0..100 {
            put(&dbs[i % 2], std::format!("x{i}").as_bytes(), b"v", None);
        }
        assert_eq!(Db::clear_all(&dbs), 103);
        assert!(dbs.iter().all(Db::is_empty));
    }

    #[test]
    fn scan_returns_every_key_present_throughout_even_while_tables_grow() {
        let db = Db::with_shards(11, 8);
        for i in 0..500 {
            put(&db, std::format!("old{i}").as_bytes(), b"v", None);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = db.scan(cursor, 7, T0, |k, _| {
                seen.insert(k.to_vec());
            });
            // Grow the tables between steps (slower than the scan advances).
            for j in 0..3 {
                put(&db, std::format!("new{step}-{j}").as_bytes(), b"v", None);
            }
            step += 1;
            if cursor == 0 {
                break;
            }
            assert!(step < 10_000, "scan does not terminate");
        }
        for i in 0..500 {
            assert!(
                seen.contains(std::format!("old{i}").as_bytes()),
                "old{i} missed"
            );
        }
    }

    #[test]
    fn random_key_finds_live_keys_only() {
        let db = Db::with_shards(3, 8);
        assert_eq!(db.random_key(T0, 1), None);
        put(&db, b"dead", b"v", Some(T0.0 - 1));
        assert_eq!(db.random_key(T0, 1), None);
        put(&db, b"live", b"v", None);
        for r in 0..50 {
            assert_eq!(db.random_key(T0, r), Some(b"live".to_vec()));
        }
    }
}

/// Interleaving tests of the multi-shard locks under shuttle (`ci/shuttle`, `--cfg
/// kv_shuttle`): writers of several keys that name them in opposite orders, readers of
/// several keys, MOVE in both directions between two databases and FLUSHALL, all at once.
/// shuttle fails a schedule in which every thread waits (a deadlock); the readers fail one
/// in which they see a write of several keys half done.
#[cfg(all(test, kv_shuttle))]
mod shuttle_tests {
    use super::*;
    use alloc::vec;
    use shuttle::thread;
    use std::sync::Arc;

    fn iterations() -> usize {
        std::env::var("KV_SHUTTLE_ITERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10_000)
    }

    const T0: UnixMillis = UnixMillis(1_000_000);

    /// Four keys that fall in four different shards of a 4-shard keyspace.
    fn spread_keys(db: &Db) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut used = Vec::new();
        for i in 0..10_000 {
            let k = std::format!("key{i}").into_bytes();
            let s = db.shard_index(db.hash(&k));
            if !used.contains(&s) {
                used.push(s);
                keys.push(k);
                if keys.len() == 4 {
                    break;
                }
            }
        }
        assert_eq!(keys.len(), 4, "keys over four shards");
        keys
    }

    fn set_all(db: &Db, keys: &[&[u8]], v: &[u8]) {
        db.multi(keys, T0, |m| {
            for k in keys {
                m.put(k, Item::new(Value::str(v)));
            }
        });
    }

    /// Every key holds the same value, or none holds any.
    fn read_all_same(db: &Db, keys: &[&[u8]]) {
        let seen: Vec<Option<Vec<u8>>> = db.multi_read(keys, T0, |m| {
            keys.iter()
                .map(|k| {
                    m.read(k, |i| {
                        i.value.as_str().map(<[u8]>::to_vec).unwrap_or_default()
                    })
                })
                .collect()
        });
        assert!(
            seen.iter().all(|v| *v == seen[0]),
            "a multi-key write seen half done: {seen:?}"
        );
    }

    fn scenario() {
        let dbs = Arc::new([Db::with_shards(7, 4), Db::with_shards(7, 4)]);
        let keys = spread_keys(&dbs[0]);
        let ks = Arc::new(keys);
        let forward = |ks: &[Vec<u8>]| -> Vec<Vec<u8>> { ks.to_vec() };
        let mut handles = vec![];
        // Two writers naming the keys in opposite orders.
        for (order, v) in [(false, b"a"), (true, b"b")] {
            let (dbs, ks) = (Arc::clone(&dbs), Arc::clone(&ks));
            handles.push(thread::spawn(move || {
                let mut mine = forward(&ks);
                if order {
                    mine.reverse();
                }
                let refs: Vec<&[u8]> = mine.iter().map(|k| k.as_slice()).collect();
                set_all(&dbs[0], &refs, v);
                set_all(&dbs[0], &refs, v);
            }));
        }
        // A reader of all four keys, named in a third order.
        {
            let (dbs, ks) = (Arc::clone(&dbs), Arc::clone(&ks));
            handles.push(thread::spawn(move || {
                let order = [2usize, 0, 3, 1];
                let refs: Vec<&[u8]> = order.iter().map(|&i| ks[i].as_slice()).collect();
                read_all_same(&dbs[0], &refs);
                read_all_same(&dbs[0], &refs);
            }));
        }
        // MOVE of one key in both directions and a FLUSHALL of both databases.
        {
            let (dbs, ks) = (Arc::clone(&dbs), Arc::clone(&ks));
            handles.push(thread::spawn(move || {
                // A fifth key, in the shard of one of the four.
                let mv = b"moved-key";
                set_all(&dbs[0], &[mv], b"m");
                Db::move_key(&dbs[0], &dbs[1], true, mv, T0);
                Db::move_key(&dbs[1], &dbs[0], false, mv, T0);
                Db::clear_all(&dbs[..]);
                let _ = &ks;
            }));
        }
        for h in handles {
            h.join().expect("thread");
        }
        // Whatever the order, each key is in at most one database.
        for k in ks.iter().map(|k| k.as_slice()).chain([&b"moved-key"[..]]) {
            assert!(!(dbs[0].exists(k, T0) && dbs[1].exists(k, T0)));
        }
    }

    #[test]
    fn multi_shard_locks_never_deadlock_or_tear_random() {
        shuttle::check_random(scenario, iterations());
    }

    #[test]
    fn multi_shard_locks_never_deadlock_or_tear_pct() {
        shuttle::check_pct(scenario, iterations(), 3);
    }
}
