//! The RDB file: loading it at start, SAVE, BGSAVE (a background thread), the `save`
//! schedule, and the final save at shutdown. The engine decides the bytes
//! (`kv_core::persist::snapshot`); this module owns the files, fsync and the thread.
//!
//! A save writes `temp-<pid>.rdb` in `dir`, fsyncs it (every
//! [`INCREMENTAL_FSYNC_BYTES`] on the way when `rdb-save-incremental-fsync` is on, and at
//! the end), renames it over `dbfilename` and fsyncs the directory, as Redis does, so a
//! crash at any moment leaves either the old file or the new one, never a torn one.

use kv_core::persist::rdb::Sink;
use kv_core::persist::snapshot::{self, WriteOptions};
use kv_core::Engine;
use kv_core::Storage;
use kv_core::UnixMillis;
use log::{info, warn};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes written between two fsyncs of an RDB file being written (Redis's
/// `REDIS_AUTOSYNC_BYTES`, 4 MB), when `rdb-save-incremental-fsync` is on.
pub const INCREMENTAL_FSYNC_BYTES: u64 = 4 * 1024 * 1024;
/// Seconds before a failed background save is retried by the schedule (Redis's
/// `CONFIG_BGSAVE_RETRY_DELAY`).
const BGSAVE_RETRY_DELAY_SECS: usize = 5;

/// Held while a save renames its file into place or FLUSHALL abandons a save: a save
/// abandoned by FLUSHALL never replaces the empty dataset's file.
static RENAME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Wall-clock milliseconds now.
fn unix_now() -> UnixMillis {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// An open file as the RDB writer's sink, fsynced every [`INCREMENTAL_FSYNC_BYTES`].
struct FileSink {
    file: File,
    written: u64,
    synced: u64,
    incremental: bool,
}

impl Sink for FileSink {
    type Error = io::Error;

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        if self.incremental && self.written - self.synced >= INCREMENTAL_FSYNC_BYTES {
            self.file.sync_data()?;
            self.synced = self.written;
        }
        Ok(())
    }
}

/// The frontend's persistence: what SAVE, BGSAVE and SHUTDOWN do, and the shutdown
/// request the acceptor loop watches.
#[derive(Default)]
pub struct Disk {
    engine: OnceLock<Weak<Engine>>,
    /// The append-only file.
    pub aof: OnceLock<Arc<crate::aof::Aof>>,
    /// What SHUTDOWN asked for; the acceptor loop watches it.
    pub request: Arc<ShutdownRequest>,
}

/// A SHUTDOWN command's request to the acceptor loop.
#[derive(Debug, Default)]
pub struct ShutdownRequest {
    /// SHUTDOWN asked the server to stop.
    pub requested: AtomicBool,
    /// ... and to save after the workers stopped.
    pub save: AtomicBool,
}

impl Disk {
    /// Connects this storage to its engine (once, right after both exist).
    pub fn attach(&self, engine: &Arc<Engine>) {
        let _ = self.engine.set(Arc::downgrade(engine));
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.get().and_then(Weak::upgrade)
    }
}

/// The path of the RDB file: `dir` / `dbfilename`.
pub fn rdb_path(engine: &Engine) -> PathBuf {
    let c = engine.config();
    Path::new(&c.dir).join(&c.dbfilename)
}

/// Writes the snapshot to a temporary file and renames it over the RDB file. The caller
/// has claimed the snapshot ([`kv_core::persist::State::try_start`]). Returns the keys
/// written, or `None` if FLUSHALL abandoned the save (no file kept).
fn write_file(engine: &Engine) -> io::Result<Option<usize>> {
    let (dir, name, opts, delay, incremental) = {
        let c = engine.config();
        (
            PathBuf::from(&c.dir),
            c.dbfilename.clone(),
            WriteOptions {
                compress: c.rdbcompression,
                checksum: c.rdbchecksum,
                now: unix_now(),
            },
            c.rdb_key_save_delay,
            c.rdb_save_incremental_fsync,
        )
    };
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let file = File::create(&tmp).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                tmp.display(),
                dir.display()
            ),
        )
    })?;
    let sink = FileSink {
        file,
        written: 0,
        synced: 0,
        incremental,
    };
    let pause = Duration::from_micros(u64::try_from(delay).unwrap_or(0));
    let result = snapshot::write(engine, sink, opts, || {
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    })
    .and_then(|(sink, keys)| {
        sink.file.sync_all()?;
        Ok(keys)
    });
    let keys = match result {
        Ok(k) => k,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(io::Error::new(
                e.kind(),
                format!("Write error saving DB on disk: {e}"),
            ));
        }
    };
    let path = dir.join(name);
    let _one = RENAME.lock().unwrap_or_else(|p| p.into_inner());
    if engine.persist.cancel.load(Ordering::Acquire) {
        let _ = std::fs::remove_file(&tmp);
        return Ok(None);
    }
    if let Err(e) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io::Error::new(
            e.kind(),
            format!(
                "Error moving temp DB file {} on the final destination {} (in server root dir {}): {e}",
                tmp.display(),
                path.display(),
                dir.display()
            ),
        ));
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(Some(keys))
}

/// FLUSHALL with save points: abandons a save in progress and writes the empty dataset's
/// file now (Redis's `flushAllDataAndResetRDB`).
fn write_empty_file(engine: &Engine) -> io::Result<()> {
    let _one = RENAME.lock().unwrap_or_else(|p| p.into_inner());
    // An RDB save of the old data is abandoned; an AOF rewrite is not (FLUSHALL is
    // recorded after its instant, in the new incremental file).
    if engine.persist.saving.load(Ordering::Acquire)
        && !engine.persist.aof_rewriting.load(Ordering::Acquire)
    {
        engine.persist.cancel.store(true, Ordering::Release);
    }
    let (dir, name, opts) = {
        let c = engine.config();
        (
            PathBuf::from(&c.dir),
            c.dbfilename.clone(),
            WriteOptions {
                compress: c.rdbcompression,
                checksum: c.rdbchecksum,
                now: unix_now(),
            },
        )
    };
    let tmp = dir.join(format!("temp-flush-{}.rdb", std::process::id()));
    let sink = FileSink {
        file: File::create(&tmp)?,
        written: 0,
        synced: 0,
        incremental: false,
    };
    let written = snapshot::write_empty(engine, sink, opts).and_then(|s| s.file.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, dir.join(name))) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Records a successful save: LASTSAVE, the change count, `rdb_saves`.
fn saved(engine: &Engine) {
    let p = &engine.persist;
    let secs = usize::try_from(unix_now().0.div_euclid(1000)).unwrap_or(0);
    p.last_save.store(secs, Ordering::Relaxed);
    p.dirty_saved
        .store(p.dirty_at_start.load(Ordering::Relaxed), Ordering::Relaxed);
    p.saves.fetch_add(1, Ordering::Relaxed);
}

/// SAVE (and the final save at shutdown): the snapshot written in the calling thread.
pub fn save_now(engine: &Engine) -> Result<(), String> {
    if !engine.persist.try_start() {
        return Err("Background save already in progress".into());
    }
    let r = write_file(engine);
    match &r {
        Ok(Some(_)) => {
            saved(engine);
            info!("DB saved on disk");
        }
        Ok(None) => info!("Save abandoned: the dataset was flushed"),
        Err(e) => warn!("{e}"),
    }
    engine.persist.finish();
    r.map(|_| ()).map_err(|e| e.to_string())
}

/// BGSAVE: claims the snapshot and writes it on a new thread.
pub fn start_bgsave(engine: Arc<Engine>) -> Result<(), String> {
    let p = &engine.persist;
    if !p.try_start() {
        return Err("Background save already in progress".into());
    }
    p.bgsave_in_progress.store(true, Ordering::Release);
    let now = usize::try_from(unix_now().0.div_euclid(1000)).unwrap_or(0);
    p.bgsave_started.store(now, Ordering::Relaxed);
    p.last_bgsave_try.store(now, Ordering::Relaxed);
    info!("Background saving started");
    let keep = Arc::clone(&engine);
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let started = Instant::now();
            let r = write_file(&engine);
            let p = &engine.persist;
            p.last_bgsave_secs
                .store(started.elapsed().as_secs() as usize + 1, Ordering::Relaxed);
            match r {
                Ok(None) => info!("Background saving abandoned: the dataset was flushed"),
                Ok(Some(_)) => {
                    saved(&engine);
                    p.last_bgsave_ok.store(true, Ordering::Relaxed);
                    p.set_flag(kv_core::persist::DENY_WRITES, false);
                    info!("DB saved on disk");
                    info!("Background saving terminated with success");
                }
                Err(e) => {
                    p.last_bgsave_ok.store(false, Ordering::Relaxed);
                    p.set_flag(kv_core::persist::DENY_WRITES, true);
                    warn!("{e}");
                    warn!("Background saving error");
                }
            }
            p.finish();
        });
    match spawned {
        Ok(_) => Ok(()),
        Err(e) => {
            keep.persist.finish();
            warn!("Can't save in background: thread failed: {e}");
            Err(e.to_string())
        }
    }
}

/// The `save` schedule and BGSAVE SCHEDULE, checked by the acceptor about ten times a
/// second (Redis's serverCron): starts a background save when a save point is due.
pub fn cron(engine: &Arc<Engine>) {
    let p = &engine.persist;
    if p.saving.load(Ordering::Acquire) {
        return;
    }
    if p.bgsave_scheduled.swap(false, Ordering::AcqRel) {
        let _ = start_bgsave(Arc::clone(engine));
        return;
    }
    let now = usize::try_from(unix_now().0.div_euclid(1000)).unwrap_or(0);
    let changes = engine.changes_since_save();
    let last = p.last_save.load(Ordering::Relaxed);
    let retry_ok = p.last_bgsave_ok.load(Ordering::Relaxed)
        || now.saturating_sub(p.last_bgsave_try.load(Ordering::Relaxed)) > BGSAVE_RETRY_DELAY_SECS;
    let due = engine
        .config()
        .save_points
        .iter()
        .find(|&&(secs, min)| {
            changes as u64 >= min && now.saturating_sub(last) as u64 >= secs && retry_ok
        })
        .copied();
    if let Some((secs, min)) = due {
        info!("{min} changes in {secs} seconds. Saving...");
        let _ = start_bgsave(Arc::clone(engine));
    }
}

/// Loads the RDB file at start, if there is one. An unreadable or corrupt file stops the
/// server (as Redis), naming the file and the reason.
pub fn load_at_start(engine: &Engine) -> io::Result<()> {
    let path = rdb_path(engine);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "Fatal error loading the DB {}: {e}. Exiting.",
                    path.display()
                ),
            ))
        }
    };
    let started = Instant::now();
    match snapshot::load(engine, &bytes, unix_now()) {
        Ok(stats) => {
            info!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                stats.keys, stats.expired
            );
            info!(
                "DB loaded from disk: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(msg) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "Fatal error loading the DB {}: {msg}. Exiting.",
                path.display()
            ),
        )),
    }
}

/// Makes `dir` absolute (relative to the working directory at start), as Redis's
/// `CONFIG GET dir` shows it; an error if it is not a directory.
pub fn resolve_dir(dir: &str) -> io::Result<String> {
    let p = std::fs::canonicalize(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("Can't chdir to '{dir}': {e}")))?;
    if !p.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("Can't chdir to '{dir}': Not a directory"),
        ));
    }
    Ok(p.to_string_lossy().into_owned())
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Disk")
    }
}

impl Storage for Disk {
    fn bgrewriteaof(&self) -> Result<bool, String> {
        let aof = self.aof.get().ok_or("no AOF")?;
        aof.start_rewrite()
    }

    fn save(&self) -> Result<(), String> {
        let engine = self.engine().ok_or("no engine")?;
        save_now(&engine)
    }

    fn bgsave(&self) -> Result<(), String> {
        let engine = self.engine().ok_or("no engine")?;
        start_bgsave(engine)
    }

    fn flushed(&self) {
        let Some(engine) = self.engine() else {
            return;
        };
        match write_empty_file(&engine) {
            Ok(()) => {
                let p = &engine.persist;
                let secs = usize::try_from(unix_now().0.div_euclid(1000)).unwrap_or(0);
                p.last_save.store(secs, Ordering::Relaxed);
                // The flushing command's own change is counted after it returns.
                p.dirty_saved
                    .store(engine.dirty_total().wrapping_add(1), Ordering::Relaxed);
                info!("DB saved on disk");
            }
            Err(e) => warn!("Failed saving the empty dataset after FLUSHALL: {e}"),
        }
    }

    fn check_shutdown(&self, save: bool) -> Result<(), String> {
        if !save {
            return Ok(());
        }
        let engine = self.engine().ok_or("no engine")?;
        let dir = PathBuf::from(&engine.config().dir);
        let probe = dir.join(format!("temp-shutdown-{}.rdb", std::process::id()));
        match File::create(&probe) {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
                Ok(())
            }
            Err(e) => {
                warn!(
                    "Error trying to save the DB, can't exit: {}: {e}",
                    probe.display()
                );
                Err(e.to_string())
            }
        }
    }

    fn shutdown(&self, save: bool) {
        self.request.save.store(save, Ordering::SeqCst);
        self.request.requested.store(true, Ordering::SeqCst);
    }

    fn acl_read(&self) -> Result<Vec<u8>, String> {
        let engine = self.engine().ok_or("no engine")?;
        let path = engine.config().aclfile.clone();
        crate::acl::read(&path)
    }

    fn acl_write(&self, text: &[u8]) -> Result<(), String> {
        let engine = self.engine().ok_or("no engine")?;
        let path = engine.config().aclfile.clone();
        crate::acl::write(&path, text)
    }
}
