//! The slow log (SLOWLOG, Redis's `slowlog.c`): the commands that took at least
//! `slowlog-log-slower-than` microseconds (-1: none; 0: every command), newest first, at
//! most `slowlog-max-len` of them (trimmed when an entry is added, as Redis does). An entry
//! keeps at most [`ENTRY_MAX_ARGC`] arguments of at most [`ENTRY_MAX_STRING`] bytes each,
//! with Redis's `... (N more arguments)` / `... (N more bytes)` markers.
//!
//! The check on the command path is one relaxed load ([`SlowLog::wants`]); the lock is taken
//! only to add an entry or to answer SLOWLOG.

use crate::resp::Args;
use crate::sync::{AtomicUsize, Mutex, Ordering};
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

/// Most arguments an entry keeps (Redis's `SLOWLOG_ENTRY_MAX_ARGC`).
pub const ENTRY_MAX_ARGC: usize = 32;
/// Most bytes an argument keeps (Redis's `SLOWLOG_ENTRY_MAX_STRING`).
pub const ENTRY_MAX_STRING: usize = 128;

/// One logged command.
#[derive(Clone, Debug)]
pub struct Entry {
    /// A number that grows by one per entry (never reused, not even after RESET).
    pub id: u64,
    /// When it was logged, Unix seconds.
    pub time: i64,
    /// How long it ran, microseconds.
    pub duration: u64,
    /// Its arguments, shortened as the module documentation says.
    pub args: Vec<Vec<u8>>,
    /// The client's address, `ip:port`.
    pub peer: String,
    /// The client's name (empty if none).
    pub name: Vec<u8>,
}

/// The log and its two settings, as the engine publishes them from the configuration.
#[derive(Debug, Default)]
pub struct SlowLog {
    /// `slowlog-log-slower-than` + 1 (0: disabled), so that one load decides.
    threshold: AtomicUsize,
    /// `slowlog-max-len`.
    max_len: AtomicUsize,
    /// The entries, newest first, and the next id.
    entries: Mutex<(VecDeque<Entry>, u64)>,
}

impl SlowLog {
    /// Publishes the two settings (after every change of the configuration).
    pub fn configure(&self, slower_than: i64, max_len: u64) {
        let t = if slower_than < 0 {
            0
        } else {
            usize::try_from(slower_than).map_or(usize::MAX, |t| t.saturating_add(1))
        };
        self.threshold.store(t, Ordering::Relaxed);
        self.max_len.store(
            usize::try_from(max_len).unwrap_or(usize::MAX),
            Ordering::Relaxed,
        );
    }

    /// Whether a command that ran `micros` microseconds is to be logged.
    #[inline]
    pub fn wants(&self, micros: u64) -> bool {
        let t = self.threshold.load(Ordering::Relaxed);
        t != 0 && usize::try_from(micros).map_or(true, |m| m.saturating_add(1) >= t)
    }

    /// Logs a command (Redis's `slowlogPushEntryIfNeeded` once [`SlowLog::wants`] said yes).
    #[cold]
    #[inline(never)]
    pub fn push(&self, args: &Args<'_>, micros: u64, unix_secs: i64, peer: &str, name: &[u8]) {
        let argc = args.len();
        let kept = argc.min(ENTRY_MAX_ARGC);
        let mut logged = Vec::with_capacity(kept);
        for j in 0..kept {
            if kept != argc && j == kept - 1 {
                let more = argc - kept + 1;
                logged.push(alloc::format!("... ({more} more arguments)").into_bytes());
                continue;
            }
            let a = args.get(j);
            match a.get(..ENTRY_MAX_STRING) {
                Some(head) if a.len() > ENTRY_MAX_STRING => {
                    let mut s = head.to_vec();
                    let more = a.len() - ENTRY_MAX_STRING;
                    s.extend_from_slice(alloc::format!("... ({more} more bytes)").as_bytes());
                    logged.push(s);
                }
                _ => logged.push(a.to_vec()),
            }
        }
        let max = self.max_len.load(Ordering::Relaxed);
        let mut g = self.entries.lock();
        let (list, next) = &mut *g;
        list.push_front(Entry {
            id: *next,
            time: unix_secs,
            duration: micros,
            args: logged,
            peer: String::from(peer),
            name: name.to_vec(),
        });
        *next += 1;
        list.truncate(max);
    }

    /// The newest `count` entries (all of them for `None`).
    pub fn newest(&self, count: Option<usize>) -> Vec<Entry> {
        let g = self.entries.lock();
        let n = count.unwrap_or(g.0.len());
        g.0.iter().take(n).cloned().collect()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.lock().0.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SLOWLOG RESET: drops the entries (ids go on growing).
    pub fn reset(&self) {
        self.entries.lock().0.clear();
    }
}
