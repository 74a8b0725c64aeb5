//! The append-only file (Redis 7.0's multi-part AOF): loading it at start, the writer
//! thread (write, fsync per `appendfsync`, group commit), BGREWRITEAOF and the automatic
//! rewrite, and turning `appendonly` on and off at run time. The engine decides what is
//! recorded and when a reply may go (`kv_core::persist::feed`); this module owns the files.
//!
//! Files live in `dir`/`appenddirname`: a base (an RDB image, or commands with
//! `aof-use-rdb-preamble no`), incremental files of commands, and the manifest naming
//! them, written to a temporary file, fsynced and renamed into place.
//!
//! The writer thread holds [`Files`]' lock while it takes the recorded bytes, writes and
//! fsyncs them, so a rewrite's switch to a new incremental file (made at the snapshot's
//! instant, while no command runs) never sends bytes recorded before the instant to the
//! new file. With `appendfsync always`, one write and one fsync carry everything every
//! worker recorded since the last one; then the feed's durable offset moves and the
//! workers send the replies that waited.

use kv_core::persist::aof::{self, AofInfo, Manifest, ReadEnd};
use kv_core::persist::feed::Fsync;
use kv_core::persist::rdb::Sink;
use kv_core::persist::replay::Replayer;
use kv_core::persist::snapshot::{self, Applier, Visit, WriteOptions};
use kv_core::Engine;
use kv_core::UnixMillis;
use log::{info, warn};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long the writer sleeps when nothing wakes it (it checks `everysec`'s fsync and
/// its stop flag this often).
const WRITER_IDLE: Duration = Duration::from_millis(100);
/// Bytes a rewrite writes between two fsyncs when `aof-rewrite-incremental-fsync` is on
/// (Redis's `REDIS_AUTOSYNC_BYTES`).
const REWRITE_FSYNC_BYTES: u64 = 4 * 1024 * 1024;

/// The AOF files and the incremental file being appended to.
struct Files {
    /// `dir`/`appenddirname`.
    dir: PathBuf,
    /// `appendfilename`: the files' prefix.
    prefix: Vec<u8>,
    manifest: Manifest,
    /// The incremental file being appended to (`None` while AOF is off).
    incr: Option<File>,
    /// Bytes of the incremental files since the last rewrite.
    incr_bytes: u64,
    /// Bytes of the base file.
    base_bytes: u64,
    /// When `everysec` last fsynced; whether bytes were written since.
    last_fsync: Instant,
    unsynced: bool,
}

/// See the module documentation.
pub struct Aof {
    engine: Arc<Engine>,
    files: Mutex<Files>,
    /// The writer's wake-up: set by the feed, cleared by the writer.
    wake: Mutex<bool>,
    cv: Condvar,
    stop: AtomicBool,
    /// AOF is on (the writer appends to an open incremental file).
    running: AtomicBool,
    /// An `everysec` fsync runs on its own thread.
    fsync_running: Arc<AtomicBool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Wall-clock milliseconds now.
fn unix_now() -> UnixMillis {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Unix seconds now.
fn secs_now() -> usize {
    usize::try_from(unix_now().0.div_euclid(1000)).unwrap_or(0)
}

/// Writes `bytes` to `dir`/`name` through a temporary file: fsynced, renamed into place,
/// the directory fsynced.
fn write_atomically(dir: &Path, name: &[u8], tmp_name: &[u8], bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(s(tmp_name));
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(s(name)))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Files {
    fn persist_manifest(&self) -> io::Result<()> {
        write_atomically(
            &self.dir,
            &aof::manifest_name(&self.prefix),
            &aof::temp_manifest_name(&self.prefix),
            &self.manifest.to_text(),
        )
    }

    fn path(&self, info: &AofInfo) -> PathBuf {
        self.dir.join(s(&info.name))
    }

    /// Opens the last incremental file for appending (a new one if there is none) and
    /// writes the manifest.
    fn open_incr(&mut self) -> io::Result<()> {
        let prefix = self.prefix.clone();
        let info = self.manifest.last_incr(&prefix);
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&info))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("Can't open the append-only file {}: {e}", s(&info.name)),
                )
            })?;
        self.incr = Some(f);
        self.persist_manifest()
    }

    /// Deletes the files the manifest no longer needs.
    fn delete_history(&mut self) {
        let old = self.manifest.drain_history();
        if old.is_empty() {
            return;
        }
        for info in &old {
            let _ = std::fs::remove_file(self.path(info));
            info!(
                "Removing the history file {} in the background",
                s(&info.name)
            );
        }
        if let Err(e) = self.persist_manifest() {
            warn!("Error writing the AOF manifest: {e}");
        }
    }
}

/// A rewrite's base file as the snapshot writer's sink.
struct BaseSink {
    file: File,
    written: u64,
    synced: u64,
    incremental: bool,
}

impl Sink for BaseSink {
    type Error = io::Error;

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        if self.incremental && self.written - self.synced >= REWRITE_FSYNC_BYTES {
            self.file.sync_data()?;
            self.synced = self.written;
        }
        Ok(())
    }
}

impl Aof {
    /// The AOF of `engine`, off; [`Aof::load_and_start`] or [`Aof::cron`] turn it on.
    pub fn new(engine: Arc<Engine>) -> Arc<Aof> {
        let (dir, prefix) = {
            let c = engine.config();
            (
                Path::new(&c.dir).join(&c.appenddirname),
                c.appendfilename.clone().into_bytes(),
            )
        };
        // The manifest on disk, if any, even with AOF off (a BGREWRITEAOF continues its
        // numbering, as Redis's, which always reads it).
        let manifest = std::fs::read(dir.join(s(&aof::manifest_name(&prefix))))
            .ok()
            .and_then(|t| Manifest::parse(&t).ok())
            .unwrap_or_default();
        let aof = Arc::new(Aof {
            engine: Arc::clone(&engine),
            files: Mutex::new(Files {
                dir,
                prefix,
                manifest,
                incr: None,
                incr_bytes: 0,
                base_bytes: 0,
                last_fsync: Instant::now(),
                unsynced: false,
            }),
            wake: Mutex::new(false),
            cv: Condvar::new(),
            stop: AtomicBool::new(false),
            running: AtomicBool::new(false),
            fsync_running: Arc::new(AtomicBool::new(false)),
        });
        let weak = Arc::downgrade(&aof);
        engine.feed.set_writer_wake(Box::new(move || {
            if let Some(a) = weak.upgrade() {
                *lock(&a.wake) = true;
                a.cv.notify_one();
            }
        }));
        aof
    }

    /// Whether AOF is on.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// At start with `appendonly yes`: loads the files the manifest names (base, then
    /// incremental files in order), opens the last incremental file (creating the base
    /// of an empty dataset first when there are no files, as Redis), and starts
    /// recording. A corrupt file stops the server, naming the file and the offset.
    pub fn load_and_start(&self) -> io::Result<()> {
        let mut f = lock(&self.files);
        std::fs::create_dir_all(&f.dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "Can't open or create append-only dir {}: {e}",
                    f.dir.display()
                ),
            )
        })?;
        let manifest_path = f.dir.join(s(&aof::manifest_name(&f.prefix)));
        match std::fs::read(&manifest_path) {
            Ok(text) => {
                f.manifest = Manifest::parse(&text).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("Reading the manifest file {}: {e}", manifest_path.display()),
                    )
                })?;
                self.load_files(&mut f)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "Can't open the AOF manifest {}: {e}",
                        manifest_path.display()
                    ),
                ))
            }
        }
        if f.manifest.base.is_none() && f.manifest.incrs.is_empty() {
            // An empty dataset: its base first (Redis's aofOpenIfNeededOnServerStart).
            let preamble = self.engine.config().aof_use_rdb_preamble;
            let prefix = f.prefix.clone();
            let base = f.manifest.new_base(&prefix, preamble);
            let bytes = self.empty_base(preamble);
            write_atomically(&f.dir, &base.name, &aof::temp_incr_name(&f.prefix), &bytes)?;
            f.base_bytes = bytes.len() as u64;
            info!("Creating AOF base file {} on server start", s(&base.name));
        }
        f.open_incr()?;
        f.delete_history();
        self.engine.set_aof(true);
        self.running.store(true, Ordering::Release);
        self.publish_sizes(&f);
        Ok(())
    }

    /// The bytes of an empty dataset's base file.
    fn empty_base(&self, preamble: bool) -> Vec<u8> {
        if !preamble {
            return Vec::new();
        }
        let opts = self.write_options();
        snapshot::write_empty(&self.engine, Vec::new(), opts).unwrap_or_default()
    }

    fn write_options(&self) -> WriteOptions {
        let c = self.engine.config();
        WriteOptions {
            compress: c.rdbcompression,
            checksum: c.rdbchecksum,
            now: unix_now(),
        }
    }

    /// Loads the base and the incremental files; the last one may end in a cut command
    /// (`aof-load-truncated`).
    fn load_files(&self, f: &mut Files) -> io::Result<()> {
        let started = Instant::now();
        let engine = &self.engine;
        let limits = engine.encodings();
        let (max_bulk, truncated_ok) = {
            let c = engine.config();
            (c.limits.proto_max_bulk_len, c.aof_load_truncated)
        };
        // Time stands still during the replay (keys that expired were recorded as DEL).
        let mut applier = Applier::new(engine, UnixMillis(0));
        let mut replayer = Replayer::new(engine);
        let mut parts: Vec<AofInfo> = f.manifest.base.iter().cloned().collect();
        parts.extend(f.manifest.incrs.iter().cloned());
        let last = parts.len().saturating_sub(1);
        for (i, info) in parts.iter().enumerate() {
            let path = f.path(info);
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound && i > 0 => {
                    // An incremental file named but never created (no write came).
                    continue;
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("Can't open the append-only file {}: {e}", path.display()),
                    ))
                }
            };
            if i == 0 && f.manifest.base.is_some() {
                f.base_bytes = bytes.len() as u64;
            } else {
                f.incr_bytes += bytes.len() as u64;
            }
            let end = aof::load_file(
                &bytes,
                &limits,
                max_bulk,
                |ev| applier.apply(ev),
                |args| replayer.run(args),
            )
            .map_err(|e| {
                let msg = applier
                    .fatal()
                    .map_or_else(|| e.to_string(), str::to_string);
                const BAD: &str = "Bad file format reading the append only file";
                let text = match msg.strip_prefix(BAD) {
                    // The reader's message already says it: name the file in it.
                    Some(rest) => format!("{BAD} {}{rest}", path.display()),
                    None => format!("{BAD} {}: {msg}", path.display()),
                };
                io::Error::new(io::ErrorKind::InvalidData, text)
            })?;
            let cut = match end {
                ReadEnd::Complete => None,
                ReadEnd::Truncated { valid_up_to } => Some(valid_up_to),
                ReadEnd::UnterminatedMulti { valid_before_multi } => Some(valid_before_multi),
            };
            if let Some(at) = cut {
                if i != last || !truncated_ok {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "Unexpected end of file reading the append only file {} at offset {at}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                            path.display()
                        ),
                    ));
                }
                warn!(
                    "!!! Warning: short read while loading the AOF file {}!!!",
                    path.display()
                );
                warn!(
                    "AOF {} loaded anyway because aof-load-truncated is enabled",
                    path.display()
                );
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(at as u64)?;
                file.sync_all()?;
                f.incr_bytes = f.incr_bytes.saturating_sub((bytes.len() - at) as u64);
                // A transaction the cut left open is dropped unexecuted (the count of
                // commands run is kept for the log line).
                let commands = replayer.commands;
                replayer = Replayer::new(engine);
                replayer.commands = commands;
            }
        }
        let stats = applier.stats();
        info!(
            "DB loaded from append only file: {:.3} seconds ({} keys from the base, {} commands)",
            started.elapsed().as_secs_f64(),
            stats.keys,
            replayer.commands
        );
        let p = &engine.persist;
        p.loaded_keys.store(stats.keys, Ordering::Relaxed);
        Ok(())
    }

    /// The writer thread: takes what the feed recorded, writes it to the incremental file,
    /// fsyncs per `appendfsync`, and reports the durable offset (waking the workers whose
    /// replies wait for it).
    pub fn writer(self: &Arc<Self>) {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            {
                let feed = &self.engine.feed;
                let period = if feed.is_on() && feed.fsync() != Fsync::Always {
                    kv_core::persist::feed::WRITE_BATCH_INTERVAL
                } else {
                    WRITER_IDLE
                };
                let mut woken = lock(&self.wake);
                if !*woken && !self.stop.load(Ordering::Acquire) {
                    woken = self
                        .cv
                        .wait_timeout(woken, period)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
                *woken = false;
            }
            self.write_pending(&mut buf);
            if self.stop.load(Ordering::Acquire) {
                self.write_pending(&mut buf);
                return;
            }
        }
    }

    /// One round of the writer (also the final flush at shutdown and before a switch).
    fn write_pending(&self, buf: &mut Vec<u8>) {
        let feed = &self.engine.feed;
        let mut f = lock(&self.files);
        buf.clear();
        let end = feed.take(buf);
        let fsync = feed.fsync();
        if let Some(file) = f.incr.as_mut() {
            if !buf.is_empty() {
                let mut written = 0usize;
                let mut r = Ok(());
                while written < buf.len() {
                    match file.write(buf.get(written..).unwrap_or(&[])) {
                        Ok(0) => {
                            r = Err(io::Error::from(io::ErrorKind::WriteZero));
                            break;
                        }
                        Ok(n) => written += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                if r.is_ok() && fsync == Fsync::Always {
                    r = file.sync_data();
                }
                if let Err(e) = r {
                    if fsync == Fsync::Always {
                        // As Redis: the replies waiting for this fsync must never go out.
                        log::error!(
                            "Can't recover from AOF write error when the AOF fsync policy is 'always': {e}. Exiting..."
                        );
                        std::process::exit(1);
                    }
                    // Cut what part of the batch went, keep the batch, try again later;
                    // `aof_last_write_status:err` meanwhile.
                    if written > 0 {
                        if let Ok(len) = file.metadata().map(|m| m.len()) {
                            let _ = file.set_len(len.saturating_sub(written as u64));
                        }
                    }
                    if !feed.write_failed.swap(true, Ordering::Relaxed) {
                        warn!("Error writing to the AOF file: {e}");
                    }
                    feed.restore(buf);
                    return;
                }
                if feed.write_failed.swap(false, Ordering::Relaxed) {
                    info!("AOF write error looks solved, Redis can write again.");
                }
                f.incr_bytes += buf.len() as u64;
                f.unsynced = fsync != Fsync::Always;
            }
            if fsync == Fsync::Everysec
                && f.unsynced
                && f.last_fsync.elapsed() >= Duration::from_secs(1)
                && !self.fsync_running.load(Ordering::Acquire)
            {
                // In the background (Redis's bio thread): a slow fsync must not stop the
                // writes, whose replies have gone already.
                if let Some(file) = f.incr.as_ref().and_then(|f| f.try_clone().ok()) {
                    self.fsync_running.store(true, Ordering::Release);
                    let running = Arc::clone(&self.fsync_running);
                    let spawned =
                        std::thread::Builder::new()
                            .name("aof-fsync".into())
                            .spawn(move || {
                                let _ = file.sync_data();
                                running.store(false, Ordering::Release);
                            });
                    if let Err(e) = spawned {
                        self.fsync_running.store(false, Ordering::Release);
                        warn!("Can't start the AOF fsync thread: {e}");
                    }
                }
                f.last_fsync = Instant::now();
                f.unsynced = false;
            }
        }
        if !buf.is_empty() {
            self.publish_sizes(&f);
        }
        drop(f);
        if feed.set_durable(end) {
            self.engine.blocking.wake_all();
        }
        if buf.capacity() > 4 << 20 {
            *buf = Vec::new();
        }
    }

    fn publish_sizes(&self, f: &Files) {
        let p = &self.engine.persist;
        p.aof_current_size.store(
            usize::try_from(f.base_bytes + f.incr_bytes).unwrap_or(usize::MAX),
            Ordering::Relaxed,
        );
    }

    /// Stops the writer after a last flush and fsync (shutdown, `appendonly no`).
    pub fn stop(&self) {
        let mut buf = Vec::new();
        self.write_pending(&mut buf);
        let mut f = lock(&self.files);
        if let Some(file) = f.incr.as_ref() {
            info!("Calling fsync() on the AOF file.");
            let _ = file.sync_all();
        }
        f.incr = None;
        drop(f);
        self.engine.set_aof(false);
        self.running.store(false, Ordering::Release);
        self.engine.feed.set_durable(self.engine.feed.recorded());
        self.engine.blocking.wake_all();
    }

    /// Ends the writer thread (after [`Aof::stop`]).
    pub fn end_writer(&self) {
        self.stop.store(true, Ordering::Release);
        *lock(&self.wake) = true;
        self.cv.notify_one();
    }

    /// BGREWRITEAOF (and turning AOF on, and the automatic rewrite): claims the snapshot
    /// and rewrites on a new thread. `Ok(false)`: a snapshot is being written; the rewrite
    /// is scheduled after it.
    pub fn start_rewrite(self: &Arc<Self>) -> Result<bool, String> {
        let p = &self.engine.persist;
        if p.aof_rewriting.load(Ordering::Acquire) {
            return Err("Background append only file rewriting already in progress".into());
        }
        if !p.try_start() {
            p.aof_rewrite_scheduled.store(true, Ordering::Release);
            return Ok(false);
        }
        p.aof_rewriting.store(true, Ordering::Release);
        p.aof_rewrite_scheduled.store(false, Ordering::Release);
        p.aof_rewrite_started.store(secs_now(), Ordering::Relaxed);
        info!("Background append only file rewriting started");
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("aof-rewrite".into())
            .spawn(move || {
                let started = Instant::now();
                let r = me.rewrite();
                let p = &me.engine.persist;
                p.aof_last_rewrite_secs
                    .store(started.elapsed().as_secs() as usize + 1, Ordering::Relaxed);
                match r {
                    Ok(()) => {
                        p.aof_rewrite_failed.store(false, Ordering::Relaxed);
                        p.aof_rewrites.fetch_add(1, Ordering::Relaxed);
                        p.aof_rewrite_failures.store(0, Ordering::Relaxed);
                        info!("Background AOF rewrite finished successfully");
                    }
                    Err(e) => {
                        p.aof_rewrite_failed.store(true, Ordering::Relaxed);
                        p.aof_rewrite_failures.fetch_add(1, Ordering::Relaxed);
                        warn!("Background AOF rewrite failed: {e}");
                    }
                }
                p.aof_rewriting.store(false, Ordering::Release);
                p.finish();
            });
        match spawned {
            Ok(_) => Ok(true),
            Err(e) => {
                p.aof_rewriting.store(false, Ordering::Release);
                p.finish();
                Err(e.to_string())
            }
        }
    }

    /// The rewrite: at the snapshot's instant (no command running) the rest of what was
    /// recorded goes to the current incremental file and a new one starts (AOF on: the
    /// feed starts recording there if it was off, which is how `appendonly yes` starts);
    /// the snapshot becomes the new base; the manifest then names the new base and the
    /// new incremental file, and the old files are deleted.
    fn rewrite(&self) -> io::Result<()> {
        let (preamble, incremental) = {
            let c = self.engine.config();
            (c.aof_use_rdb_preamble, c.aof_rewrite_incremental_fsync)
        };
        let (dir, prefix) = {
            let f = lock(&self.files);
            (f.dir.clone(), f.prefix.clone())
        };
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let file = File::create(&tmp)?;
        let mut sink = BaseSink {
            file,
            written: 0,
            synced: 0,
            incremental,
        };
        let mut switched: io::Result<()> = Ok(());
        let at_instant = || switched = self.switch_incr();
        let opts = self.write_options();
        let result = if preamble {
            snapshot::write_with(&self.engine, sink, opts, || {}, at_instant).map(|(s, _)| s)
        } else {
            let mut out = Vec::new();
            let mut err: io::Result<()> = Ok(());
            snapshot::walk(&self.engine, opts.now, at_instant, |v| {
                match v {
                    Visit::Db { index, .. } => aof::encode_select(&mut out, index),
                    Visit::Entry(key, item) => aof::rewrite_entry(&mut out, key, item),
                }
                if out.len() >= 64 * 1024 && err.is_ok() {
                    err = sink.write_all(&out);
                    out.clear();
                }
            });
            err.and_then(|()| sink.write_all(&out)).map(|()| sink)
        };
        let cancelled = self.engine.persist.cancel.load(Ordering::Acquire);
        let sink = match (result, switched) {
            (Ok(s), Ok(())) if !cancelled => s,
            (r, sw) => {
                let _ = std::fs::remove_file(&tmp);
                if cancelled {
                    return Err(io::Error::other(
                        "the dataset was flushed during the rewrite",
                    ));
                }
                sw?;
                return r.map(|_| ());
            }
        };
        sink.file.sync_all()?;
        let size = sink.written;
        let mut f = lock(&self.files);
        let aof_on = f.incr.is_some();
        let base = f.manifest.rewrite_done(&prefix, preamble, aof_on);
        if let Err(e) = std::fs::rename(&tmp, f.path(&base)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        if let Ok(d) = File::open(&f.dir) {
            let _ = d.sync_all();
        }
        f.base_bytes = size;
        f.incr_bytes = f
            .manifest
            .incrs
            .iter()
            .filter_map(|i| std::fs::metadata(f.path(i)).ok())
            .map(|m| m.len())
            .sum();
        f.persist_manifest()?;
        f.delete_history();
        self.engine.persist.aof_base_size.store(
            usize::try_from(size).unwrap_or(usize::MAX),
            Ordering::Relaxed,
        );
        self.publish_sizes(&f);
        Ok(())
    }

    /// At a rewrite's instant (no command runs): what was recorded so far goes to the
    /// current incremental file, then a new one is opened and named in the manifest; when
    /// AOF was off (`appendonly yes` being turned on), recording starts now.
    fn switch_incr(&self) -> io::Result<()> {
        let mut buf = Vec::new();
        self.write_pending(&mut buf);
        let mut f = lock(&self.files);
        if let Some(file) = f.incr.as_ref() {
            file.sync_data()?;
        }
        let want_on = self.engine.config().appendonly || f.incr.is_some();
        if !want_on {
            return Ok(());
        }
        if f.manifest.base.is_none() && f.manifest.incrs.is_empty() {
            // First start of AOF in this directory: read what is there (nothing, or an
            // old manifest whose files the new base replaces).
            let path = f.dir.join(s(&aof::manifest_name(&f.prefix)));
            if let Ok(text) = std::fs::read(path) {
                if let Ok(m) = Manifest::parse(&text) {
                    f.manifest = m;
                }
            }
        }
        let prefix = f.prefix.clone();
        f.manifest.new_incr(&prefix);
        f.open_incr()?;
        self.engine.feed.new_file();
        self.engine.set_aof(true);
        self.running.store(true, Ordering::Release);
        Ok(())
    }

    /// About ten times a second (the acceptor's tick): follows `appendonly` changes made
    /// with CONFIG SET, runs a scheduled rewrite, and starts the automatic one.
    pub fn cron(self: &Arc<Self>) {
        let (want, pct, min) = {
            let c = self.engine.config();
            (
                c.appendonly,
                c.auto_aof_rewrite_percentage,
                c.auto_aof_rewrite_min_size,
            )
        };
        let p = &self.engine.persist;
        let running = self.running();
        if !want && running && !p.aof_rewriting.load(Ordering::Acquire) {
            self.stop();
            info!("Background append only file rewriting stopped: appendonly no");
            return;
        }
        let busy = p.saving.load(Ordering::Acquire);
        if want && !running && !p.aof_rewriting.load(Ordering::Acquire) {
            // Turned on: a rewrite makes the base and starts recording at its instant.
            if !busy {
                let _ = self.start_rewrite();
            }
            return;
        }
        if busy {
            return;
        }
        if p.aof_rewrite_scheduled.load(Ordering::Acquire) {
            let _ = self.start_rewrite();
            return;
        }
        if running && pct > 0 {
            let (base, current) = {
                let f = lock(&self.files);
                (f.base_bytes, f.base_bytes + f.incr_bytes)
            };
            let base = base.max(1);
            let growth = current.saturating_sub(base) * 100 / base;
            if current > min && growth >= pct as u64 {
                info!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.start_rewrite();
            }
        }
    }
}
