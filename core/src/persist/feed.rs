//! The append-only file's feed: what every change to the dataset is logged as, in the
//! order the changes happened, and when a write is durable enough to answer.
//!
//! While `appendonly` is on, the dispatcher runs each write command (with the blocked
//! clients it serves) under [`Feed::order`], one at a time across all workers, and records
//! it under the same lock: the log's order is the keyspace's order, whatever worker ran
//! what. What is recorded is deterministic when replayed: relative times become absolute
//! (`PEXPIREAT`, `SET ... PXAT`), chance becomes fact (SPOP as SREM), a served blocking
//! pop as the pop it did, a key that expired as `DEL` (the keyspace's [`crate::db::KeyEvents`]
//! reports it); replay runs with time stopped, as Redis's loader does. A transaction is
//! wrapped in MULTI/EXEC.
//!
//! The frontend's writer takes the bytes ([`Feed::take`]), writes and (per `appendfsync`)
//! fsyncs them, and reports how far the file is durable ([`Feed::set_durable`]); with
//! `appendfsync always` a connection holds the replies of its writes until then
//! (`conn::Conn`), so one fsync commits the writes of every worker that came meanwhile
//! (group commit).

use crate::sync::{AtomicBool, AtomicU32, AtomicUsize, Mutex, MutexGuard, Ordering};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Recorded bytes that make the feed wake its writer whatever the fsync policy (below it,
/// under `everysec` and `no`, the writer comes on its own timer).
pub const WAKE_PENDING_BYTES: usize = 1 << 20;

/// How often the writer takes what was recorded under `everysec` and `no` (the driver's
/// timer; at most this much of acknowledged writes is only in memory).
pub const WRITE_BATCH_INTERVAL: core::time::Duration = core::time::Duration::from_millis(2);

/// `appendfsync`: when the writer fsyncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// After every write, before the replies go out.
    Always = 0,
    /// Once a second, in the background.
    Everysec = 1,
    /// Never: the operating system decides.
    No = 2,
}

impl Fsync {
    /// The setting's value as CONFIG shows it.
    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
            Fsync::No => "no",
        }
    }

    /// Parses a setting value (case-insensitive).
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::Everysec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }
}

/// Bytes recorded and not yet taken by the writer, and what the next record must say first.
#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    /// The database the file's last SELECT chose (`None` at a new file: SELECT first).
    db: Option<usize>,
    /// A MULTI was recorded for the running EXEC.
    in_multi: bool,
}

/// The driver's wake-up for its writer thread.
pub type WakeWriter = Box<dyn Fn() + Send + Sync>;

/// See the module documentation.
pub struct Feed {
    /// Commands are recorded (appendonly on, the file open).
    on: AtomicBool,
    /// [`Fsync`] as a number.
    fsync: AtomicU32,
    /// Serialises the write commands while on.
    order: Mutex<()>,
    pending: Mutex<Pending>,
    /// Bytes recorded since start (wrapping): the end offset of the last record.
    recorded: AtomicUsize,
    /// Bytes known durable (fsynced, or written under `everysec`/`no`).
    durable: AtomicUsize,
    /// Some connection holds replies until [`Feed::durable`] passes them: the writer
    /// wakes the workers after each fsync.
    waiters: AtomicBool,
    /// Recording has stopped because the file could not be written
    /// (`aof_last_write_status:err`).
    pub write_failed: AtomicBool,
    wake: crate::sync::Once<WakeWriter>,
}

impl core::fmt::Debug for Feed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Feed")
            .field("on", &self.on.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            on: AtomicBool::new(false),
            fsync: AtomicU32::new(Fsync::Everysec as u32),
            order: Mutex::new(()),
            pending: Mutex::new(Pending::default()),
            recorded: AtomicUsize::new(0),
            durable: AtomicUsize::new(0),
            waiters: AtomicBool::new(false),
            write_failed: AtomicBool::new(false),
            wake: crate::sync::Once::new(),
        }
    }
}

/// Whether offset `a` is at or past `b`, on the wrapping offset circle.
fn reached(a: usize, b: usize) -> bool {
    a.wrapping_sub(b) < usize::MAX / 2
}

impl Feed {
    /// Whether commands are recorded: one relaxed load (the dispatcher's test).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Starts or stops recording. Starting begins a new file: its first record selects
    /// its database.
    pub fn set_on(&self, on: bool) {
        if on {
            self.pending.lock().db = None;
        }
        self.on.store(on, Ordering::Release);
    }

    /// The fsync policy.
    pub fn fsync(&self) -> Fsync {
        match self.fsync.load(Ordering::Relaxed) {
            0 => Fsync::Always,
            1 => Fsync::Everysec,
            _ => Fsync::No,
        }
    }

    /// Sets the fsync policy (`appendfsync`).
    pub fn set_fsync(&self, f: Fsync) {
        self.fsync.store(f as u32, Ordering::Relaxed);
    }

    /// Whether replies wait for the fsync of their writes (on, with `always`).
    #[inline]
    pub fn holds_replies(&self) -> bool {
        self.is_on() && self.fsync() == Fsync::Always
    }

    /// Gives the feed the driver's writer wake-up (the first call wins).
    pub fn set_writer_wake(&self, f: WakeWriter) {
        self.wake.call_once(|| f);
    }

    /// Takes the order lock: held around a write command and the blocked clients it
    /// serves, so that records follow the keyspace's order.
    pub fn order(&self) -> MutexGuard<'_, ()> {
        self.order.lock()
    }

    /// Records one command run in database `db` (a SELECT first when the file's last
    /// record was in another database). Returns the offset just past it.
    pub fn record(&self, db: usize, args: &[&[u8]]) -> usize {
        let mut p = self.pending.lock();
        let before = p.bytes.len();
        if p.db != Some(db) {
            let mut num = itoa(db);
            encode(&mut p.bytes, &[b"SELECT", num.as_bytes()]);
            num.clear();
            p.db = Some(db);
        }
        encode(&mut p.bytes, args);
        let added = p.bytes.len() - before;
        let end = self
            .recorded
            .fetch_add(added, Ordering::AcqRel)
            .wrapping_add(added);
        // The writer comes at once for `always` (replies wait for it) and when much is
        // pending; otherwise it comes on its own short timer and writes batches, as
        // Redis writes its AOF buffer once per event-loop turn.
        let wake = (before == 0 && self.fsync() == Fsync::Always)
            || (before < WAKE_PENDING_BYTES && p.bytes.len() >= WAKE_PENDING_BYTES);
        drop(p);
        if wake {
            if let Some(w) = self.wake.get() {
                w();
            }
        }
        end
    }

    /// Records MULTI before the first write of an EXEC (its own database does not matter:
    /// the commands inside select theirs).
    pub fn begin_exec(&self) {
        let mut p = self.pending.lock();
        if !p.in_multi {
            p.in_multi = true;
            let before = p.bytes.len();
            encode(&mut p.bytes, &[b"MULTI"]);
            let added = p.bytes.len() - before;
            self.recorded.fetch_add(added, Ordering::AcqRel);
        }
    }

    /// Records EXEC after a transaction that recorded a MULTI; the offset past it.
    pub fn end_exec(&self) -> Option<usize> {
        let mut p = self.pending.lock();
        if !p.in_multi {
            return None;
        }
        p.in_multi = false;
        let before = p.bytes.len();
        encode(&mut p.bytes, &[b"EXEC"]);
        let added = p.bytes.len() - before;
        Some(
            self.recorded
                .fetch_add(added, Ordering::AcqRel)
                .wrapping_add(added),
        )
    }

    /// The writer takes the recorded bytes (appended to `into`); returns the offset just
    /// past them.
    pub fn take(&self, into: &mut Vec<u8>) -> usize {
        let mut p = self.pending.lock();
        into.extend_from_slice(&p.bytes);
        p.bytes.clear();
        if p.bytes.capacity() > 1 << 20 {
            p.bytes = Vec::new();
        }
        self.recorded.load(Ordering::Acquire)
    }

    /// Puts back bytes the writer took and could not write (they go first again).
    pub fn restore(&self, bytes: &[u8]) {
        let mut p = self.pending.lock();
        p.bytes.splice(0..0, bytes.iter().copied());
    }

    /// Bytes recorded and not yet taken.
    pub fn pending_len(&self) -> usize {
        self.pending.lock().bytes.len()
    }

    /// The next record starts a new file: it selects its database first. The caller
    /// holds no other feed lock and runs while no command runs (a rewrite's switch).
    pub fn new_file(&self) {
        self.pending.lock().db = None;
    }

    /// The offset recorded so far.
    pub fn recorded(&self) -> usize {
        self.recorded.load(Ordering::Acquire)
    }

    /// The offset known durable.
    pub fn durable(&self) -> usize {
        self.durable.load(Ordering::Acquire)
    }

    /// Whether the record ending at `offset` is durable.
    pub fn is_durable(&self, offset: usize) -> bool {
        reached(self.durable(), offset)
    }

    /// The writer reports the file durable up to `offset`; true if connections wait for
    /// it (the caller wakes the workers).
    pub fn set_durable(&self, offset: usize) -> bool {
        self.durable.store(offset, Ordering::Release);
        self.waiters.swap(false, Ordering::AcqRel)
    }

    /// A connection waits for [`Feed::durable`] to pass its writes.
    pub fn wait_durable(&self) {
        self.waiters.store(true, Ordering::Release);
        if let Some(w) = self.wake.get() {
            w();
        }
    }
}

/// The decimal digits of `n`.
fn itoa(n: usize) -> alloc::string::String {
    use core::fmt::Write;
    let mut s = alloc::string::String::new();
    let _ = write!(s, "{n}");
    s
}

/// Appends `args` as a RESP multibulk command (Redis's `catAppendOnlyGenericCommand`).
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    crate::resp::encode::array(out, args.len());
    for a in args {
        crate::resp::encode::bulk(out, a);
    }
}
