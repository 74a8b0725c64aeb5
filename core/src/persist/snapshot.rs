//! The point-in-time image of the whole dataset that SAVE and BGSAVE write, and the load
//! of an RDB file into the databases at start.
//!
//! Consistency without fork: [`crate::engine::Engine::begin_snapshot`] starts the snapshot
//! while no command runs on any worker (so no command, not even an EXEC, is half done at
//! its instant) and from then on every keyspace copies a key's value before the first
//! write that changes it, until the snapshot has read the key's shard (copy-before-write
//! per key, in the spirit of Dragonfly's versioned snapshots; see `db`). [`write()`] then
//! reads the shards one at a time, each as it was at the instant: the keys unchanged since
//! plus the copies. Writers pay one relaxed load per shard lock while no snapshot runs, and
//! one copy of each key they change before its shard is read while one does: at worst the
//! dataset is held twice, as a fork's copy-on-write would.

use super::rdb::{Loaded, RdbError, RdbWriter, Sink};
use crate::db::{Item, Write};
use crate::engine::Engine;
use crate::sync::Ordering;
use crate::time::UnixMillis;
use alloc::format;
use alloc::string::String;

/// Ends the engine's snapshot when dropped, whatever happened while writing it.
struct EndGuard<'a>(&'a Engine);

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        self.0.end_snapshot();
    }
}

/// Options of one snapshot.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// `rdbcompression`: LZF-compress long strings.
    pub compress: bool,
    /// `rdbchecksum`: end the file with its CRC-64 (else 0).
    pub checksum: bool,
    /// Wall-clock time of the snapshot (keys whose time had passed are left out; `ctime`).
    pub now: UnixMillis,
}

/// Writes an RDB image of every database, as it was at one instant, to `sink`; the
/// caller holds no gate and has claimed the right to snapshot
/// ([`crate::persist::State::try_start`]). `per_key` is called after each key (the
/// frontend's `rdb-key-save-delay`, a test aid). Returns the sink and the keys written.
pub fn write<S: Sink>(
    engine: &Engine,
    sink: S,
    opts: WriteOptions,
    per_key: impl FnMut(),
) -> Result<(S, usize), S::Error> {
    write_with(engine, sink, opts, per_key, || {})
}

/// As [`write()`], running `at_instant` at the snapshot's instant (while no command runs).
pub fn write_with<S: Sink>(
    engine: &Engine,
    sink: S,
    opts: WriteOptions,
    mut per_key: impl FnMut(),
    at_instant: impl FnOnce(),
) -> Result<(S, usize), S::Error> {
    let mut w = RdbWriter::new(sink, opts.compress, opts.checksum);
    header(engine, &mut w, opts);
    let written = walk(engine, opts.now, at_instant, |v| match v {
        Visit::Db {
            index,
            keys,
            expires,
        } => w.select_db(index, keys, expires),
        Visit::Entry(key, item) => {
            w.entry(key, item);
            per_key();
        }
    });
    let sink = w.finish()?;
    Ok((sink, written))
}

/// What [`walk`] shows its caller.
pub enum Visit<'a> {
    /// The keys of database `index` follow (it has `keys` keys, `expires` with a TTL).
    Db {
        /// The database index.
        index: usize,
        /// Its keys at the instant (expired ones not yet removed included).
        keys: usize,
        /// Its keys with a TTL.
        expires: usize,
    },
    /// A key live at the snapshot's `now`, and its value.
    Entry(&'a [u8], &'a Item),
}

/// Walks the snapshot of every database (see the module documentation): `at_instant` runs
/// at its instant; `f` sees each database that has keys, then its keys live at `now`.
/// Stops early when FLUSHALL abandons the snapshot ([`crate::persist::State::cancel`]).
/// Returns the keys visited.
pub fn walk(
    engine: &Engine,
    now: UnixMillis,
    at_instant: impl FnOnce(),
    mut f: impl FnMut(Visit<'_>),
) -> usize {
    let start = engine.begin_snapshot_with(at_instant);
    let _end = EndGuard(engine);
    let state = &engine.persist;
    state.keys_processed.store(0, Ordering::Relaxed);
    state
        .keys_total
        .store(start.sizes.iter().map(|(k, _)| k).sum(), Ordering::Relaxed);
    let mut written = 0usize;
    for (i, db) in engine.dbs().iter().enumerate() {
        let Some(&(keys, expires)) = start.sizes.get(i) else {
            continue;
        };
        if keys == 0 {
            continue;
        }
        f(Visit::Db {
            index: i,
            keys,
            expires,
        });
        for s in 0..db.shard_count() {
            if state.cancel.load(Ordering::Acquire) {
                return written;
            }
            for (key, item) in db.snapshot_shard(s) {
                if item.is_expired(now) {
                    continue;
                }
                f(Visit::Entry(&key, &item));
                written += 1;
                state.keys_processed.store(written, Ordering::Relaxed);
            }
        }
    }
    written
}

/// Writes an RDB file of an empty dataset (FLUSHALL with save points: no snapshot is
/// needed, and none could start while the flushing command holds its gate).
pub fn write_empty<S: Sink>(engine: &Engine, sink: S, opts: WriteOptions) -> Result<S, S::Error> {
    let mut w = RdbWriter::new(sink, opts.compress, opts.checksum);
    header(engine, &mut w, opts);
    w.finish()
}

/// The file header and Redis 7.0's AUX fields.
fn header<S: Sink>(engine: &Engine, w: &mut RdbWriter<S>, opts: WriteOptions) {
    let bits = format!("{}", usize::BITS);
    let ctime = format!("{}", opts.now.0.div_euclid(1000));
    let used = format!("{}", engine.used_memory());
    let replid = engine.replid();
    w.header(&[
        (b"redis-ver", crate::REDIS_VERSION.as_bytes()),
        (b"redis-bits", bits.as_bytes()),
        (b"ctime", ctime.as_bytes()),
        (b"used-mem", used.as_bytes()),
        (b"repl-stream-db", b"0"),
        (b"repl-id", replid.as_bytes()),
        (b"repl-offset", b"0"),
        (b"aof-base", b"0"),
    ]);
}

/// What a load found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Keys loaded.
    pub keys: usize,
    /// Keys left out because their time had passed at `now`.
    pub expired: usize,
}

/// Loads an RDB file's contents into the engine's databases (at start, before clients
/// are served): keys whose time passed before `now` are skipped, as a Redis master does.
/// A key present twice, or a database index beyond `databases`, is an error; nothing is
/// rolled back (the caller refuses to start).
pub fn load(engine: &Engine, bytes: &[u8], now: UnixMillis) -> Result<LoadStats, String> {
    let limits = engine.encodings();
    let mut a = Applier::new(engine, now);
    // A key takes at least 3 bytes of the file: no hint reserves more keys than that.
    a.reserve_limit = bytes.len() / 3;
    let r = super::rdb::load(bytes, &limits, |ev| a.apply(ev));
    a.finish(r)
}

/// Puts what an RDB reader finds into the databases ([`load`], and an append-only file's
/// RDB preamble).
pub struct Applier<'a> {
    engine: &'a Engine,
    now: UnixMillis,
    db: usize,
    stats: LoadStats,
    fatal: Option<String>,
    /// The most keys a RESIZEDB hint may reserve room for (0: hints are ignored).
    pub reserve_limit: usize,
}

impl<'a> Applier<'a> {
    /// Loads into `engine`, leaving out keys whose time passed before `now` (an
    /// append-only file's preamble passes the epoch: it keeps them all, as Redis).
    pub fn new(engine: &'a Engine, now: UnixMillis) -> Self {
        Applier {
            engine,
            now,
            db: 0,
            stats: LoadStats::default(),
            fatal: None,
            reserve_limit: 0,
        }
    }

    /// Applies one thing the reader found.
    pub fn apply(&mut self, ev: Loaded<'_>) -> Result<(), RdbError> {
        match ev {
            Loaded::SelectDb(i) => {
                let databases = self.engine.databases();
                if i >= databases {
                    self.fatal = Some(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {databases} databases. Exiting"
                    ));
                    return Err(RdbError::Payload);
                }
                self.db = i;
            }
            Loaded::ResizeDb { keys, .. } => {
                let keys = usize::try_from(keys).unwrap_or(usize::MAX);
                if keys <= self.reserve_limit {
                    self.engine.db(self.db).reserve(keys);
                }
            }
            Loaded::Entry { key, item, .. } => {
                if item.is_expired(self.now) {
                    self.stats.expired += 1;
                    return Ok(());
                }
                if load_key(self.engine, self.db, &key, item, self.now) {
                    self.fatal = Some(format!(
                        "RDB has duplicated key '{}' in DB {}",
                        String::from_utf8_lossy(&key),
                        self.db
                    ));
                    return Err(RdbError::Payload);
                }
                self.stats.keys += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// What the load came to, given the reader's result; records the figures INFO shows.
    pub fn finish<E: core::fmt::Display>(
        self,
        r: Result<impl Sized, E>,
    ) -> Result<LoadStats, String> {
        match (r, self.fatal) {
            (_, Some(msg)) => Err(msg),
            (Err(e), None) => Err(format!("{e}")),
            (Ok(_), None) => {
                let p = &self.engine.persist;
                p.loaded_keys.store(self.stats.keys, Ordering::Relaxed);
                p.loaded_expired
                    .store(self.stats.expired, Ordering::Relaxed);
                Ok(self.stats)
            }
        }
    }

    /// The figures so far.
    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// The fatal error met, if any (the reader only saw a generic error).
    pub fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }
}

/// Stores one loaded key without notifications; true if the key was there already.
fn load_key(engine: &Engine, db: usize, key: &[u8], item: Item, now: UnixMillis) -> bool {
    let mut item = Some(item);
    engine.db(db).write_quiet(key, now, |old| match old {
        Some(_) => (Write::Keep, true),
        None => (item.take().map_or(Write::Keep, Write::Put), false),
    })
}
