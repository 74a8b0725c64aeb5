//! Persistence, without I/O: Redis's RDB format (version 10, Redis 7.0) for whole files and
//! DUMP payloads, its LZF compression and CRC-64 checksum, and the point-in-time snapshot
//! of the keyspace that SAVE and BGSAVE write while clients keep writing. The frontend owns
//! the files, fsync and background threads ([`Storage`]); this module decides what the
//! bytes are and keeps the figures INFO persistence reports ([`State`]).

pub mod aof;
pub mod crc64;
pub mod feed;
pub mod lzf;
pub mod rdb;
pub mod replay;
pub mod snapshot;
#[cfg(test)]
mod tests;

use crate::sync::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use alloc::string::String;

/// The RDB version this build writes (Redis 7.0's), and the newest it reads.
pub const RDB_VERSION: u16 = 10;

/// [`State::flags`]: the last background save failed; the dispatcher looks closer
/// ([`crate::engine::Engine::writes_denied`]) before each write command.
pub const DENY_WRITES: u32 = 1;
/// [`State::flags`]: the dataset is being loaded; commands without the `loading` flag get
/// `-LOADING`.
pub const LOADING: u32 = 2;

/// What the frontend does for the persistence commands (the core has no files). SAVE and
/// SHUTDOWN call it from a worker that holds no gate, so a snapshot may start there.
pub trait Storage: Send + Sync + core::fmt::Debug {
    /// SAVE: writes a snapshot to the RDB file now, in the calling thread; `Err` holds
    /// the reason (the caller answers `-ERR`, the frontend has logged it).
    fn save(&self) -> Result<(), String>;
    /// BGSAVE: starts writing a snapshot in the background. `Err` holds the error text.
    fn bgsave(&self) -> Result<(), String>;
    /// FLUSHALL with save points set: writes an RDB file of the empty dataset now (and
    /// abandons a background save of the old data), as Redis's `flushAllDataAndResetRDB`;
    /// changes since the last save are 0 afterwards.
    fn flushed(&self);
    /// BGREWRITEAOF: starts rewriting the append-only file in the background. `Ok(true)`:
    /// started, `Ok(false)`: scheduled after the snapshot in progress.
    fn bgrewriteaof(&self) -> Result<bool, String>;
    /// SHUTDOWN: checks that a final save could be written (the directory is writable)
    /// when `save`; `Err` refuses the shutdown.
    fn check_shutdown(&self, save: bool) -> Result<(), String>;
    /// SHUTDOWN: stops the server after the replies in flight; saves the dataset after the
    /// workers stopped when `save`.
    fn shutdown(&self, save: bool);
    /// ACL LOAD: the ACL file's bytes, or Redis's error text (`Error loading ACLs,
    /// opening file '...': ...`).
    fn acl_read(&self) -> Result<alloc::vec::Vec<u8>, String> {
        Err(String::from("Error loading ACLs: no ACL file"))
    }
    /// ACL SAVE: replaces the ACL file with `text` (written to a temporary file, then
    /// renamed, as Redis does).
    fn acl_write(&self, _text: &[u8]) -> Result<(), String> {
        Err(String::from("no ACL file"))
    }
}

/// The persistence figures INFO reports and the commands read (LASTSAVE, the save
/// schedule). The frontend updates them around each save; changes since the last save are
/// counted per worker ([`crate::stats::WorkerStats::dirty`]).
#[derive(Debug, Default)]
pub struct State {
    /// A snapshot (SAVE or BGSAVE) is being written: only one at a time.
    pub saving: AtomicBool,
    /// The snapshot being written is a BGSAVE (`rdb_bgsave_in_progress`).
    pub bgsave_in_progress: AtomicBool,
    /// The snapshot in progress is abandoned (FLUSHALL): its writer stops and its file
    /// is not kept.
    pub cancel: AtomicBool,
    /// A BGSAVE was asked for while another ran (BGSAVE SCHEDULE).
    pub bgsave_scheduled: AtomicBool,
    /// The dirty total (summed over workers) when the snapshot being written started.
    pub dirty_at_start: AtomicUsize,
    /// The dirty total when the last successful save started: changes since the last
    /// save are the total minus this.
    pub dirty_saved: AtomicUsize,
    /// Unix seconds of the last successful save (LASTSAVE; the start time until then).
    pub last_save: AtomicUsize,
    /// Unix seconds when the last background save was tried (retry delay after errors).
    pub last_bgsave_try: AtomicUsize,
    /// The last background save succeeded (`rdb_last_bgsave_status`).
    pub last_bgsave_ok: AtomicBool,
    /// [`DENY_WRITES`] and [`LOADING`]: what the dispatcher checks before each command,
    /// one relaxed load while both are clear.
    pub flags: AtomicU32,
    /// Seconds the last background save took, plus one (0: none yet, INFO says -1).
    pub last_bgsave_secs: AtomicUsize,
    /// Unix seconds when the background save in progress started.
    pub bgsave_started: AtomicUsize,
    /// Successful saves since start (`rdb_saves`).
    pub saves: AtomicUsize,
    /// Keys written by the snapshot in progress (`current_save_keys_processed`).
    pub keys_processed: AtomicUsize,
    /// Keys the snapshot in progress will write (`current_save_keys_total`).
    pub keys_total: AtomicUsize,
    /// Keys loaded at start (`rdb_last_load_keys_loaded`).
    pub loaded_keys: AtomicUsize,
    /// Keys skipped at load because their time had passed (`rdb_last_load_keys_expired`).
    pub loaded_expired: AtomicUsize,
    /// An append-only file rewrite is running (`aof_rewrite_in_progress`).
    pub aof_rewriting: AtomicBool,
    /// A rewrite waits for the snapshot in progress (`aof_rewrite_scheduled`).
    pub aof_rewrite_scheduled: AtomicBool,
    /// Unix seconds when the running rewrite started.
    pub aof_rewrite_started: AtomicUsize,
    /// Seconds the last rewrite took, plus one (0: none yet).
    pub aof_last_rewrite_secs: AtomicUsize,
    /// The last rewrite failed (`aof_last_bgrewrite_status:err`).
    pub aof_rewrite_failed: AtomicBool,
    /// Rewrites done (`aof_rewrites`).
    pub aof_rewrites: AtomicUsize,
    /// Rewrites that failed in a row.
    pub aof_rewrite_failures: AtomicUsize,
    /// Bytes of the append-only files now (`aof_current_size`).
    pub aof_current_size: AtomicUsize,
    /// Bytes they had after the last rewrite (`aof_base_size`).
    pub aof_base_size: AtomicUsize,
}

impl State {
    /// Claims the right to write a snapshot (one at a time); false if one is being
    /// written.
    pub fn try_start(&self) -> bool {
        let won = self
            .saving
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if won {
            self.cancel.store(false, Ordering::Release);
        }
        won
    }

    /// Sets or clears one of the [`State::flags`].
    pub fn set_flag(&self, flag: u32, on: bool) {
        if on {
            self.flags.fetch_or(flag, Ordering::Release);
        } else {
            self.flags.fetch_and(!flag, Ordering::Release);
        }
    }

    /// Whether one of the [`State::flags`] is set.
    pub fn flag(&self, flag: u32) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    /// Gives back the right taken by [`State::try_start`].
    pub fn finish(&self) {
        self.bgsave_in_progress.store(false, Ordering::Release);
        self.saving.store(false, Ordering::Release);
    }
}
