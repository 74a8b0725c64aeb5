//! CLIENT PAUSE and CLIENT UNPAUSE: the pause in force, the clients it postponed, and their
//! resumption in order on every worker.
//!
//! As in Redis 7.0 (`pauseClients`, `blockPostponeClient`): while a pause is in force, the
//! dispatcher postpones a command it affects (every command under `ALL`; under `WRITE`
//! the write commands, the ones Redis flags may-replicate and an EXEC that queued either)
//! right before it would run or be queued; the connection then runs nothing more (what the
//! client pipelines meanwhile waits behind it) and counts as a blocked client. A later
//! PAUSE keeps the more restrictive mode and the later end. When the pause ends (UNPAUSE,
//! or its end passed, seen by a worker's timer or by the next command), the postponed
//! clients are resumed in the order they were postponed, one after the other whichever
//! workers they sit on: the first one's worker gets a [`Mail::Resume`], runs the command
//! and what the client sent behind it, and then posts the next client's resume
//! ([`Pause::resume_next`]). So two paused writes of one key land in the order they were
//! sent, as in Redis. A resumed command that meets a new pause is postponed again.
//!
//! While a pause is in force the keyspace stays constant: keys past their time read as
//! missing but are not deleted (lazily or actively) until the pause ends, as in Redis
//! (`expireIfNeeded`, `activeExpireCycle`); see [`crate::db::Db::set_frozen`].
//!
//! Cost when no pause is in force: one relaxed load per command ([`Pause::mode`]). The
//! queues hold each connected client at most once, so they are bounded by `maxclients`.

use crate::blocking::{Blocking, Mail};
use crate::db::Db;
use crate::pubsub::Sub;
use crate::sync::{AtomicUsize, Mutex, Ordering};
use alloc::collections::VecDeque;
use alloc::vec;

/// What a pause holds back, least restrictive first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// No pause.
    Off = 0,
    /// Write commands (and may-replicate ones: PUBLISH, EVAL, ...).
    Write = 1,
    /// Every command.
    All = 2,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    /// Unix milliseconds; the pause is in force while `now <= end` (Redis's
    /// `client_pause_end_time`).
    end: i64,
    /// Clients postponed by the pause in force, in the order they were postponed.
    postponed: VecDeque<Sub>,
    /// Clients of ended pauses still to be resumed, in order.
    resuming: VecDeque<Sub>,
    /// A [`Mail::Resume`] is on its way: the chain of resumptions is running.
    chain: bool,
}

/// The pause registry. See the module documentation.
#[derive(Debug)]
pub struct Pause {
    /// [`Mode`] as a number: the hot path's one relaxed load.
    mode: AtomicUsize,
    /// Clients in `postponed` (INFO `blocked_clients` adds them).
    count: AtomicUsize,
    state: Mutex<State>,
}

impl Default for Pause {
    fn default() -> Self {
        Pause {
            mode: AtomicUsize::new(Mode::Off as usize),
            count: AtomicUsize::new(0),
            state: Mutex::new(State {
                mode: Mode::Off,
                end: 0,
                postponed: VecDeque::new(),
                resuming: VecDeque::new(),
                chain: false,
            }),
        }
    }
}

impl Pause {
    /// The mode in force as last set (one relaxed load; its end is checked by
    /// [`Pause::try_postpone`] and [`Pause::expire`]).
    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::Relaxed) {
            0 => Mode::Off,
            1 => Mode::Write,
            _ => Mode::All,
        }
    }

    /// True while a pause is in force (no expiry, active or lazy, meanwhile).
    pub fn active(&self) -> bool {
        self.mode() != Mode::Off
    }

    /// Number of postponed clients (INFO `blocked_clients` counts them).
    pub fn postponed(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether client `client` is postponed (CLIENT LIST's `b` flag).
    pub fn is_postponed(&self, client: usize) -> bool {
        self.postponed() > 0
            && self
                .state
                .lock()
                .postponed
                .iter()
                .any(|s| s.client == client)
    }

    /// When the pause in force ends (Unix milliseconds), if one is.
    pub fn end(&self) -> Option<i64> {
        if !self.active() {
            return None;
        }
        let st = self.state.lock();
        (st.mode != Mode::Off).then_some(st.end)
    }

    /// CLIENT PAUSE: pauses `mode` commands until `end` (Unix milliseconds). With a pause
    /// in force already, the more restrictive mode and the later end win (Redis's
    /// `pauseClients`); an end already past ends the pause at once.
    pub fn pause(&self, mode: Mode, end: i64, now: i64, dbs: &[Db], mail: &Blocking) {
        let mut st = self.state.lock();
        if st.mode != Mode::Off && st.end < now {
            self.end_locked(&mut st, dbs, mail);
        }
        if st.mode == Mode::Off {
            st.mode = mode;
            st.end = end;
        } else {
            st.mode = st.mode.max(mode);
            st.end = st.end.max(end);
        }
        if st.end < now || st.mode == Mode::Off {
            self.end_locked(&mut st, dbs, mail);
            return;
        }
        for db in dbs {
            db.set_frozen(true);
        }
        self.mode.store(st.mode as usize, Ordering::Release);
    }

    /// CLIENT UNPAUSE: ends the pause in force, if any.
    pub fn unpause(&self, dbs: &[Db], mail: &Blocking) {
        let mut st = self.state.lock();
        if st.mode != Mode::Off {
            self.end_locked(&mut st, dbs, mail);
        }
    }

    /// Ends the pause if its end has passed at `now` (a worker's timer).
    pub fn expire(&self, now: i64, dbs: &[Db], mail: &Blocking) {
        if !self.active() {
            return;
        }
        let mut st = self.state.lock();
        if st.mode != Mode::Off && st.end < now {
            self.end_locked(&mut st, dbs, mail);
        }
    }

    /// Postpones `who`'s command if the pause in force holds it back (`write` says the
    /// command is a write, a may-replicate one or an EXEC of such): true if it did. The
    /// check and the queueing are one step, so an UNPAUSE never misses a client.
    pub fn try_postpone(
        &self,
        now: i64,
        who: Sub,
        write: bool,
        dbs: &[Db],
        mail: &Blocking,
    ) -> bool {
        let mut st = self.state.lock();
        if st.mode != Mode::Off && st.end < now {
            self.end_locked(&mut st, dbs, mail);
        }
        let hold = match st.mode {
            Mode::Off => false,
            Mode::Write => write,
            Mode::All => true,
        };
        if hold {
            st.postponed.push_back(who);
            self.count.store(st.postponed.len(), Ordering::Release);
        }
        hold
    }

    /// Forgets a closing client.
    pub fn forget(&self, client: usize) {
        let mut st = self.state.lock();
        st.postponed.retain(|s| s.client != client);
        st.resuming.retain(|s| s.client != client);
        self.count.store(st.postponed.len(), Ordering::Release);
    }

    /// Posts the next resumption of the chain (the worker that handled a
    /// [`Mail::Resume`] calls this once the client has run what it could); the chain stops
    /// when no client is left to resume.
    pub fn resume_next(&self, mail: &Blocking) {
        let mut st = self.state.lock();
        Self::post_next(&mut st, mail);
    }

    fn post_next(st: &mut State, mail: &Blocking) {
        while let Some(s) = st.resuming.pop_front() {
            if s.worker < mail.workers() {
                mail.post(
                    s.worker,
                    vec![Mail::Resume {
                        token: s.token,
                        client: s.client,
                    }],
                );
                st.chain = true;
                return;
            }
        }
        st.chain = false;
    }

    /// The pause is over: the keyspace thaws, the postponed clients join the resumption
    /// queue, and the chain starts unless it is running.
    fn end_locked(&self, st: &mut State, dbs: &[Db], mail: &Blocking) {
        st.mode = Mode::Off;
        st.end = 0;
        self.mode.store(Mode::Off as usize, Ordering::Release);
        for db in dbs {
            db.set_frozen(false);
        }
        let mut moved = core::mem::take(&mut st.postponed);
        st.resuming.append(&mut moved);
        self.count.store(0, Ordering::Release);
        if !st.chain {
            Self::post_next(st, mail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(client: usize, worker: usize) -> Sub {
        Sub {
            client,
            worker,
            token: client * 10,
        }
    }

    fn resumed(m: &[Mail]) -> std::vec::Vec<usize> {
        m.iter()
            .filter_map(|m| match m {
                Mail::Resume { client, .. } => Some(*client),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn modes_merge_and_clients_resume_in_order_across_workers() {
        let p = Pause::default();
        let mail = Blocking::new(2);
        let dbs = [Db::new(1)];
        assert_eq!(p.mode(), Mode::Off);
        assert!(!p.try_postpone(0, sub(1, 0), true, &dbs, &mail));
        p.pause(Mode::Write, 1000, 0, &dbs, &mail);
        assert_eq!(p.mode(), Mode::Write);
        assert!(!p.try_postpone(0, sub(1, 0), false, &dbs, &mail));
        assert!(p.try_postpone(0, sub(1, 0), true, &dbs, &mail));
        // A shorter, less restrictive pause changes nothing; ALL upgrades, the end stays.
        p.pause(Mode::Write, 10, 0, &dbs, &mail);
        assert_eq!(p.end(), Some(1000));
        p.pause(Mode::All, 500, 0, &dbs, &mail);
        assert_eq!((p.mode(), p.end()), (Mode::All, Some(1000)));
        assert!(p.try_postpone(0, sub(2, 1), false, &dbs, &mail));
        assert!(p.try_postpone(0, sub(3, 0), false, &dbs, &mail));
        assert_eq!(p.postponed(), 3);
        assert!(p.is_postponed(2) && !p.is_postponed(4));
        assert!(dbs[0].frozen());
        p.unpause(&dbs, &mail);
        assert_eq!((p.mode(), p.postponed()), (Mode::Off, 0));
        assert!(!dbs[0].frozen());
        // One at a time: client 1 (worker 0), then 2 (worker 1), then 3 (worker 0).
        assert_eq!(resumed(&mail.take_mail(0)), [1]);
        assert!(mail.take_mail(1).is_empty());
        p.resume_next(&mail);
        assert_eq!(resumed(&mail.take_mail(1)), [2]);
        p.resume_next(&mail);
        assert_eq!(resumed(&mail.take_mail(0)), [3]);
        p.resume_next(&mail);
        assert!(mail.take_mail(0).is_empty() && mail.take_mail(1).is_empty());
    }

    #[test]
    fn the_end_passes_and_zero_or_past_ends_do_not_pause() {
        let p = Pause::default();
        let mail = Blocking::new(1);
        let dbs = [Db::new(1)];
        p.pause(Mode::All, 0, 100, &dbs, &mail);
        assert_eq!(p.mode(), Mode::Off);
        p.pause(Mode::All, 200, 100, &dbs, &mail);
        assert!(p.try_postpone(200, sub(1, 0), false, &dbs, &mail));
        p.expire(200, &dbs, &mail);
        assert_eq!(p.mode(), Mode::All, "in force up to and including its end");
        // The next command after the end resumes the postponed ones and runs.
        assert!(!p.try_postpone(201, sub(2, 0), false, &dbs, &mail));
        assert_eq!(resumed(&mail.take_mail(0)), [1]);
        p.pause(Mode::Write, 300, 250, &dbs, &mail);
        assert!(p.try_postpone(250, sub(3, 0), true, &dbs, &mail));
        p.forget(3);
        assert_eq!(p.postponed(), 0);
        p.expire(301, &dbs, &mail);
        assert_eq!(p.mode(), Mode::Off);
    }
}
