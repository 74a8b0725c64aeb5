//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...) and the protocol that serves them
//! from whichever worker gives their keys data.
//!
//! A blocked client is a [`Waiter`] in the engine's [`Blocking`] registry: queued under each
//! of its keys in the order clients blocked (FIFO per key) and indexed by client id. Three
//! kinds of threads meet here:
//!
//! - **The blocking client's worker** registers the waiter while it still holds the write
//!   locks of all its keys' shards, after seeing them all empty ([`Blocking::register`]).
//! - **A writer** (any command that may give a key data: a push, LMOVE, ZADD, RENAME, MOVE,
//!   SWAPDB...) calls [`Blocking::serve`] right after its command, with the keys it wrote.
//!   Serving is serialised by one lock (`serving`); for each ready key it takes the first
//!   waiter, locks the shards of the key (and of a BLMOVE's destination) in the global order,
//!   checks the data, claims the waiter in the registry and only then pops for it. The reply
//!   goes to the waiter's worker as a [`Delivery`] in that worker's mailbox, and the worker
//!   is woken.
//! - **Cancellation** (timeout, CLIENT UNBLOCK, disconnect) removes the waiter from the
//!   registry ([`Blocking::cancel`]).
//!
//! Claim and cancel both remove the waiter from the registry under its one lock, so exactly
//! one of them succeeds: an element is popped only for a waiter that was claimed, and a
//! cancelled waiter is never served. No wake-up is lost: a waiter is registered under its
//! keys' shard locks after finding them empty, and a writer gives a key data under the same
//! lock and checks the registry afterwards, so either the blocker saw the data or the writer
//! sees the waiter. Lock order: `serving`, then shard locks (ascending), then the registry
//! (a leaf: nothing is acquired while it is held); the blocker holds shard locks and then the
//! registry; nobody takes `serving` while holding a shard lock. So nothing deadlocks.
//!
//! A delivery whose client disconnected before it arrived is undone: its popped elements go
//! back where they came from (see [`Undo`]), so nothing is lost.

use crate::db::{Db, Multi};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use alloc::boxed::Box;
use alloc::collections::BTreeMap as HashMap;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The head (LEFT).
    Left,
    /// The tail (RIGHT).
    Right,
}

/// What a blocked client does once one of its keys has data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// BLPOP / BRPOP: one element from `end`.
    Pop(End),
    /// BLMOVE / BRPOPLPUSH: one element from `from` of the key, pushed at `to` of `dst`.
    Move {
        /// The destination list.
        dst: Vec<u8>,
        /// Where to pop.
        from: End,
        /// Where to push.
        to: End,
    },
    /// BLMPOP: up to `count` elements from `end`.
    MPop(End, usize),
    /// BZPOPMIN / BZPOPMAX (`true`): one member.
    ZPop(bool),
    /// BZMPOP: up to `count` members from the low (or high, `true`) end.
    ZMPop(bool, usize),
}

impl Op {
    /// True if the op pops from lists, false for sorted sets.
    pub fn wants_list(&self) -> bool {
        matches!(self, Op::Pop(_) | Op::Move { .. } | Op::MPop(..))
    }
}

/// A blocked client.
#[derive(Debug)]
pub struct Waiter {
    /// Client id.
    pub client: usize,
    /// The worker that owns the connection.
    pub worker: usize,
    /// The connection's token in that worker.
    pub token: usize,
    /// The database of the keys.
    pub db: usize,
    /// The keys, each once, in the order given.
    pub keys: Vec<Vec<u8>>,
    /// What serving it does.
    pub op: Op,
}

/// How to put back what was popped for a client that vanished before its reply arrived.
#[derive(Debug)]
pub enum Undo {
    /// List elements popped from `end` of `key` (in pop order).
    List {
        /// Database.
        db: usize,
        /// Key.
        key: Vec<u8>,
        /// The end they came from.
        end: End,
        /// The elements, in pop order.
        items: Vec<Vec<u8>>,
    },
    /// Sorted-set members (member, score).
    ZSet {
        /// Database.
        db: usize,
        /// Key.
        key: Vec<u8>,
        /// The members.
        items: Vec<(Vec<u8>, f64)>,
    },
}

/// A reply for a blocked client, on its way to the client's worker.
#[derive(Debug)]
pub struct Delivery {
    /// The connection's token in the worker.
    pub token: usize,
    /// Client id (a token may have been reused by another client since).
    pub client: usize,
    /// The reply bytes.
    pub reply: Vec<u8>,
    /// What to put back if the client is gone.
    pub undo: Option<Undo>,
}

/// What a worker's mailbox holds: replies for blocked clients, pub/sub messages and
/// MONITOR lines, and resumptions of clients postponed by CLIENT PAUSE.
#[derive(Debug)]
pub enum Mail {
    /// The reply that ends a block.
    Reply(Delivery),
    /// A message (pub/sub, keyspace notification, MONITOR line) for a client's output.
    Message {
        /// The connection's token in the worker.
        token: usize,
        /// Client id (the token may have been reused since).
        client: usize,
        /// The RESP bytes, shared by every receiver of the same message.
        bytes: Arc<[u8]>,
        /// The subscription it was sent for (its kind, and where in `bytes` its name is):
        /// delivered only if the client still holds it then, so that nothing comes after
        /// the reply to an UNSUBSCRIBE that ran before the message reached the worker.
        /// `None`: always delivered.
        sub: Option<(crate::pubsub::Kind, core::ops::Range<usize>)>,
    },
    /// The CLIENT PAUSE that postponed the client is over: it runs the postponed command
    /// and what it sent since, then the worker resumes the next client
    /// (`crate::pause::Pause::resume_next`).
    Resume {
        /// The connection's token in the worker.
        token: usize,
        /// Client id (the token may have been reused since).
        client: usize,
    },
}

/// Mail for several workers, gathered and then posted with one lock and at most one wake
/// per worker ([`Batches::post_all`]): PUBLISH and MONITOR fan out this way.
#[derive(Default)]
pub struct Batches(Vec<Vec<Mail>>);

impl Batches {
    /// Adds a message for client `client` (connection `token`) of worker `worker`.
    pub fn add(
        &mut self,
        worker: usize,
        token: usize,
        client: usize,
        bytes: &Arc<[u8]>,
        sub: Option<(crate::pubsub::Kind, core::ops::Range<usize>)>,
    ) {
        if self.0.len() <= worker {
            self.0.resize_with(worker + 1, Vec::new);
        }
        if let Some(b) = self.0.get_mut(worker) {
            b.push(Mail::Message {
                token,
                client,
                bytes: Arc::clone(bytes),
                sub,
            });
        }
    }

    /// Posts every worker's batch, in worker order.
    pub fn post_all(self, mail: &Blocking) {
        for (worker, batch) in self.0.into_iter().enumerate() {
            if !batch.is_empty() {
                mail.post(worker, batch);
            }
        }
    }
}

/// The outcome of looking at a ready key for one waiter (see [`Server`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// The waiter can be served from the key now.
    Ready,
    /// Not this waiter (the key holds the other kind of value), maybe one behind it.
    Skip,
    /// The key has nothing for anyone.
    Stop,
}

/// The command layer's part of serving: inspect and pop (under the shard locks the
/// registry took). `cmd::blocking` implements it.
pub trait Server {
    /// Whether `w` can be served from `key` now.
    fn check(&mut self, m: &mut Multi<'_>, key: &[u8], w: &Waiter) -> Check;
    /// Serves `w` (already claimed) from `key`: pops, writes the reply, names keys that got
    /// data in `ready` (a BLMOVE's destination) and says how to undo the pop.
    fn serve(
        &mut self,
        m: &mut Multi<'_>,
        key: &[u8],
        w: &Waiter,
        ready: &mut Vec<(usize, Vec<u8>)>,
    ) -> (Vec<u8>, Option<Undo>);
}

#[derive(Default)]
struct Registry {
    keys: HashMap<(usize, Vec<u8>), VecDeque<Arc<Waiter>>>,
    clients: HashMap<usize, Arc<Waiter>>,
}

impl Registry {
    /// Removes `w` from every queue and the client index; false if it was not there.
    fn remove(&mut self, w: &Arc<Waiter>) -> bool {
        match self.clients.get(&w.client) {
            Some(cur) if Arc::ptr_eq(cur, w) => {}
            _ => return false,
        }
        self.clients.remove(&w.client);
        for k in &w.keys {
            let id = (w.db, k.clone());
            let empty = match self.keys.get_mut(&id) {
                Some(q) => {
                    q.retain(|x| !Arc::ptr_eq(x, w));
                    q.is_empty()
                }
                None => false,
            };
            if empty {
                self.keys.remove(&id);
            }
        }
        true
    }
}

/// Wakes a worker (the driver's `mio::Waker`, say).
pub type Wake = Box<dyn Fn() + Send + Sync>;

/// The registry of blocked clients, the serving lock and the workers' mailboxes.
pub struct Blocking {
    blocked: AtomicUsize,
    reg: Mutex<Registry>,
    serving: Mutex<()>,
    mail: Box<[Mutex<Vec<Mail>>]>,
    has_mail: Box<[AtomicBool]>,
    wakers: crate::sync::Once<Box<[Wake]>>,
}

impl core::fmt::Debug for Blocking {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Blocking")
            .field("blocked", &self.blocked())
            .finish()
    }
}

impl Blocking {
    /// A registry for `workers` workers.
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        Blocking {
            blocked: AtomicUsize::new(0),
            reg: Mutex::new(Registry::default()),
            serving: Mutex::new(()),
            mail: (0..workers).map(|_| Mutex::new(Vec::new())).collect(),
            has_mail: (0..workers).map(|_| AtomicBool::new(false)).collect(),
            wakers: crate::sync::Once::new(),
        }
    }

    /// Gives the registry one wake function per worker (the first call wins). Without
    /// them a delivery waits for the worker's next tick.
    pub fn set_wakers(&self, wakers: Vec<Wake>) {
        self.wakers.call_once(|| wakers.into_boxed_slice());
    }

    /// Number of workers (mailboxes).
    pub fn workers(&self) -> usize {
        self.mail.len()
    }

    /// Number of clients blocked on keys (INFO `blocked_clients` adds the clients that
    /// CLIENT PAUSE postponed).
    pub fn blocked(&self) -> usize {
        self.blocked.load(Ordering::Acquire)
    }

    /// True if `client` is blocked (CLIENT LIST's `b` flag).
    pub fn is_blocked(&self, client: usize) -> bool {
        self.blocked() > 0 && self.reg.lock().clients.contains_key(&client)
    }

    /// Registers `w`. The caller holds the write locks of the shards of all `w.keys`
    /// and saw them all without data for it.
    pub fn register(&self, w: Waiter) -> Arc<Waiter> {
        let w = Arc::new(w);
        let mut reg = self.reg.lock();
        if let Some(old) = reg.clients.get(&w.client).cloned() {
            reg.remove(&old);
            self.blocked.fetch_sub(1, Ordering::AcqRel);
        }
        for k in &w.keys {
            reg.keys
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(Arc::clone(&w));
        }
        reg.clients.insert(w.client, Arc::clone(&w));
        self.blocked.fetch_add(1, Ordering::AcqRel);
        w
    }

    /// Removes `client`'s waiter if it is still waiting (timeout, CLIENT UNBLOCK,
    /// disconnect); `None` if it was served (its delivery is on the way) or never blocked.
    pub fn cancel(&self, client: usize) -> Option<Arc<Waiter>> {
        if self.blocked() == 0 {
            return None;
        }
        let mut reg = self.reg.lock();
        let w = reg.clients.get(&client).cloned()?;
        reg.remove(&w);
        self.blocked.fetch_sub(1, Ordering::AcqRel);
        Some(w)
    }

    /// Claims `w` for serving; false if it was cancelled or served already.
    fn claim(&self, w: &Arc<Waiter>) -> bool {
        let mut reg = self.reg.lock();
        let ok = reg.remove(w);
        if ok {
            self.blocked.fetch_sub(1, Ordering::AcqRel);
        }
        ok
    }

    /// The keys of database `db` or `other` that clients wait on (SWAPDB serves them).
    pub fn keys_of(&self, db: usize, other: usize) -> Vec<(usize, Vec<u8>)> {
        if self.blocked() == 0 {
            return Vec::new();
        }
        self.reg
            .lock()
            .keys
            .keys()
            .filter(|(d, _)| *d == db || *d == other)
            .cloned()
            .collect()
    }

    /// True if some client waits on `key` of `db`.
    fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        self.reg.lock().keys.contains_key(&(db, key.to_vec()))
    }

    /// The first waiter on (`db`, `key`) that is not in `skipped`.
    fn first_waiter(
        &self,
        db: usize,
        key: &[u8],
        skipped: &[*const Waiter],
    ) -> Option<Arc<Waiter>> {
        let reg = self.reg.lock();
        reg.keys
            .get(&(db, key.to_vec()))?
            .iter()
            .find(|w| !skipped.contains(&Arc::as_ptr(w)))
            .cloned()
    }

    /// Posts `d` to worker `worker`'s mailbox (see [`Blocking::post`]).
    pub fn deliver(&self, worker: usize, d: Delivery) {
        self.post(worker, alloc::vec![Mail::Reply(d)]);
    }

    /// Appends `batch` to worker `worker`'s mailbox, in order, and wakes the worker if its
    /// mail flag was down.
    pub fn post(&self, worker: usize, batch: Vec<Mail>) {
        let Some(mb) = self.mail.get(worker) else {
            return;
        };
        {
            let mut mb = mb.lock();
            if mb.is_empty() {
                *mb = batch;
            } else {
                mb.extend(batch);
            }
        }
        // Wake the worker only when its flag goes up: while it is up, the worker has a
        // take ahead of it (it lowers the flag before it takes the mailbox), which will
        // find this batch too. One wake (a syscall) per drain, not per post.
        let raised = self
            .has_mail
            .get(worker)
            .is_some_and(|f| !f.swap(true, Ordering::AcqRel));
        if raised {
            if let Some(wake) = self.wakers.get().and_then(|w| w.get(worker)) {
                wake();
            }
        }
    }

    /// Wakes every worker (the append-only file's writer, after an fsync that replies
    /// waited for).
    pub fn wake_all(&self) {
        if let Some(wakers) = self.wakers.get() {
            for w in wakers.iter() {
                w();
            }
        }
    }

    /// True if worker `worker` has mail waiting.
    pub fn has_mail(&self, worker: usize) -> bool {
        self.has_mail
            .get(worker)
            .is_some_and(|f| f.load(Ordering::Acquire))
    }

    /// Takes the messages waiting in worker `worker`'s mailbox for client `client`, oldest
    /// first, leaving everything else in place and in order (UNSUBSCRIBE and RESET send
    /// them before their own reply, as Redis, whose output buffer already holds them).
    pub fn take_messages_for(&self, worker: usize, client: usize) -> Vec<Arc<[u8]>> {
        if !self.has_mail(worker) {
            return Vec::new();
        }
        let Some(mb) = self.mail.get(worker) else {
            return Vec::new();
        };
        let mut mb = mb.lock();
        let mut mine = Vec::new();
        mb.retain(|m| match m {
            Mail::Message {
                client: c, bytes, ..
            } if *c == client => {
                mine.push(Arc::clone(bytes));
                false
            }
            _ => true,
        });
        mine
    }

    /// Takes worker `worker`'s mail, oldest first (cheap when there is none).
    pub fn take_mail(&self, worker: usize) -> Vec<Mail> {
        match self.has_mail.get(worker) {
            // A plain load first: the common case (no mail) writes no shared cache line.
            Some(f) if f.load(Ordering::Acquire) && f.swap(false, Ordering::AcqRel) => {}
            _ => return Vec::new(),
        }
        self.mail
            .get(worker)
            .map(|mb| core::mem::take(&mut *mb.lock()))
            .unwrap_or_default()
    }

    /// Serves the clients blocked on the keys in `ready` ((database, key) pairs that a
    /// command may have given data), in the order they blocked, one pop each, until the
    /// keys have nothing more for them; keys that serving gives data (a BLMOVE's
    /// destination) are served too. Returns how many clients were served.
    pub fn serve(
        &self,
        dbs: &[Db],
        now: crate::time::UnixMillis,
        ready: &mut Vec<(usize, Vec<u8>)>,
        server: &mut dyn Server,
    ) -> usize {
        if self.blocked() == 0 || ready.is_empty() {
            return 0;
        }
        let _serving = self.serving.lock();
        let mut served = 0;
        let mut i = 0;
        // Each round serves (and removes) a waiter, skips one for this key, or moves on to
        // the next key; keys are added only by serving: bounded by keys plus waiters.
        while i < ready.len() {
            let Some((db_index, key)) = ready.get(i).cloned() else {
                break;
            };
            i += 1;
            let Some(db) = dbs.get(db_index) else {
                continue;
            };
            if !self.has_waiters(db_index, &key) {
                continue;
            }
            let mut skipped: Vec<*const Waiter> = Vec::new();
            while let Some(w) = self.first_waiter(db_index, &key, &skipped) {
                let mut locks: Vec<&[u8]> = Vec::with_capacity(2);
                locks.push(&key);
                if let Op::Move { dst, .. } = &w.op {
                    locks.push(dst);
                }
                let mut more = Vec::new();
                let outcome = db.multi(&locks, now, |m| match server.check(m, &key, &w) {
                    Check::Ready => {
                        if self.claim(&w) {
                            Ok(Some(server.serve(m, &key, &w, &mut more)))
                        } else {
                            Ok(None) // cancelled meanwhile: look at the new front
                        }
                    }
                    other => Err(other),
                });
                match outcome {
                    Ok(Some((reply, undo))) => {
                        served += 1;
                        ready.append(&mut more);
                        self.deliver(
                            w.worker,
                            Delivery {
                                token: w.token,
                                client: w.client,
                                reply,
                                undo,
                            },
                        );
                    }
                    Ok(None) => {}
                    Err(Check::Skip) => skipped.push(Arc::as_ptr(&w)),
                    Err(_) => break,
                }
            }
        }
        served
    }
}

#[cfg(all(test, kv_shuttle))]
mod shuttle_tests;
