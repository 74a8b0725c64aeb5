//! Settings: the protocol [`Limits`] (Redis's defaults) and the [`Config`] table that the
//! command line and `CONFIG GET` share.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

pub mod inert;
pub mod tls;

/// Every limit on what a client may send, with Redis's defaults
/// (see `protocol-checklist.md`, "Limits").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest inline request line, and longest `*N` / `$N` header line without its `\n`
    /// (Redis `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub inline_max: usize,
    /// Longest bulk string `$N` (`proto-max-bulk-len`, 512 MiB).
    pub proto_max_bulk_len: usize,
    /// Most elements in one multibulk request `*N` (2^31 - 1).
    pub multibulk_max: usize,
    /// Most argument slots preallocated for one request, whatever `*N` says (1024, as
    /// Redis's `processMultibulkBuffer`); more grow as arguments actually arrive.
    pub args_prealloc_max: usize,
    /// Most unparsed bytes buffered for one client (`client-query-buffer-limit`, 1 GiB);
    /// past it the connection is closed without a reply.
    pub query_buffer_max: usize,
    /// Most elements in one request before authentication (10).
    pub unauth_multibulk_max: usize,
    /// Longest bulk string before authentication (16384).
    pub unauth_bulk_max: usize,
    /// Most buffered query bytes before authentication (1 MiB).
    pub unauth_query_buffer_max: usize,
    /// `client-output-buffer-limit`, by client class ([`OBUF_CLASSES`]).
    pub obuf: [ObufLimit; 3],
}

/// The client classes of `client-output-buffer-limit`, in CONFIG GET's order: normal,
/// replica (accepted and reported; mini-kv has no replicas), pubsub.
pub const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// One class's output-buffer limit: a client whose unsent output reaches `hard` bytes, or
/// stays at `soft` bytes or more for longer than `soft_seconds`, is closed (0 = no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ObufLimit {
    /// Hard limit in bytes.
    pub hard: u64,
    /// Soft limit in bytes.
    pub soft: u64,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: u64,
}

/// Parses `client-output-buffer-limit`'s value: groups of `<class> <hard> <soft>
/// <seconds>`, all checked before any is applied (Redis's texts).
fn parse_obuf(value: &str, into: &mut [ObufLimit; 3]) -> Result<(), SetError> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    let err = |m: &str| SetError::Invalid(String::from(m));
    if words.len() % 4 != 0 {
        return Err(err(
            "Wrong number of arguments in buffer limit configuration.",
        ));
    }
    let mut next = *into;
    for g in words.chunks(4) {
        let [class, hard, soft, secs] = g else {
            continue;
        };
        let class = match class.to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err(err(
                    "Invalid client class specified in buffer limit configuration.",
                ))
            }
        };
        let bad =
            || err("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        let hard = parse_memory(hard).ok_or_else(bad)?;
        let soft = parse_memory(soft).ok_or_else(bad)?;
        let soft_seconds = secs
            .parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(bad)?;
        if let Some(slot) = next.get_mut(class) {
            *slot = ObufLimit {
                hard,
                soft,
                soft_seconds,
            };
        }
    }
    *into = next;
    Ok(())
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            inline_max: 64 * 1024,
            proto_max_bulk_len: 512 * 1024 * 1024,
            multibulk_max: i32::MAX as usize,
            args_prealloc_max: 1024,
            query_buffer_max: 1024 * 1024 * 1024,
            unauth_multibulk_max: 10,
            unauth_bulk_max: 16384,
            unauth_query_buffer_max: 1024 * 1024,
            obuf: [
                ObufLimit::default(),
                ObufLimit {
                    hard: 256 << 20,
                    soft: 64 << 20,
                    soft_seconds: 60,
                },
                ObufLimit {
                    hard: 32 << 20,
                    soft: 8 << 20,
                    soft_seconds: 60,
                },
            ],
        }
    }
}

/// Server-wide settings. The command line sets them with [`Config::set`] before the server
/// starts; `CONFIG GET` reads them through [`Config::get_matching`], so both use one table.
#[derive(Clone, Debug)]
pub struct Config {
    /// Protocol limits.
    pub limits: Limits,
    /// TCP port (`port`, default 6379).
    pub port: u16,
    /// Address to listen on (`bind`, default `0.0.0.0`).
    pub bind: String,
    /// Worker threads (`workers`, default 4; mini-kv's own setting).
    pub workers: usize,
    /// Most simultaneous clients (`maxclients`, default 10000).
    pub maxclients: usize,
    /// Log level (`loglevel`: debug, verbose, notice, warning; default notice).
    pub loglevel: String,
    /// Number of databases (`databases`, default 16, at most [`MAX_DATABASES`]).
    pub databases: usize,
    /// Seconds a client may stay idle before it is closed (`timeout`, 0 = never).
    pub timeout: u64,
    /// The listen backlog (`tcp-backlog`, default 511 as Redis; the kernel caps it at
    /// `net.core.somaxconn`).
    pub tcp_backlog: u32,
    /// When hashes, sets and sorted sets leave their small encodings.
    pub encodings: crate::types::EncodingLimits,
    /// `list-compress-depth` (default 0: no compression).
    pub list_compress_depth: i64,
    /// `notify-keyspace-events`: the classes of keyspace notifications, as
    /// [`crate::notify`] flags (default none).
    pub notify_keyspace_events: u32,
    /// `maxmemory`: bytes of used memory above which keys are evicted or writes refused
    /// (0: no limit).
    pub maxmemory: usize,
    /// `maxmemory-policy` (default `noeviction`).
    pub maxmemory_policy: crate::evict::Policy,
    /// `maxmemory-samples`: keys sampled per database for each eviction (default 5).
    pub maxmemory_samples: usize,
    /// `maxmemory-eviction-tenacity`: how much work one eviction call may do (0-100,
    /// default 10).
    pub maxmemory_eviction_tenacity: usize,
    /// `lfu-log-factor` (default 10).
    pub lfu_log_factor: u32,
    /// `lfu-decay-time`, minutes (default 1).
    pub lfu_decay_time: u32,
    /// `slowlog-log-slower-than`, microseconds (-1: no slow log; default 10000).
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len` (default 128).
    pub slowlog_max_len: u64,
    /// `save`: the snapshot schedule, (seconds, changes) pairs: a background save starts
    /// when at least `changes` changes are older than `seconds` (Redis 7.0's default
    /// `3600 1 300 100 60 10000`; empty = no automatic saves).
    pub save_points: Vec<(u64, u64)>,
    /// `dir`: where the RDB file lives (the frontend makes it absolute at start).
    pub dir: String,
    /// `dbfilename`: the RDB file's name (`dump.rdb`; a name, not a path).
    pub dbfilename: String,
    /// `rdbcompression`: LZF-compress long strings in RDB files (yes).
    pub rdbcompression: bool,
    /// `rdbchecksum`: end RDB files with a CRC-64 and check it on load (yes).
    pub rdbchecksum: bool,
    /// `stop-writes-on-bgsave-error`: refuse writes while the last background save failed
    /// and save points are set (yes).
    pub stop_writes_on_bgsave_error: bool,
    /// `rdb-del-sync-files` (no; mini-kv has no replication sync files).
    pub rdb_del_sync_files: bool,
    /// `rdb-save-incremental-fsync`: fsync the RDB file every 4 MB while it is written (yes).
    pub rdb_save_incremental_fsync: bool,
    /// `sanitize-dump-payload`: no, yes or clients (RESTORE payloads are always checked
    /// fully here; the setting is kept for CONFIG).
    pub sanitize_dump_payload: String,
    /// `rdb-key-save-delay` (hidden, a test aid as in Redis): microseconds to sleep after
    /// each key a snapshot writes (0).
    pub rdb_key_save_delay: i64,
    /// `appendonly`: log every write to the append-only file (no).
    pub appendonly: bool,
    /// `appendfsync`: always, everysec (default) or no.
    pub appendfsync: crate::persist::feed::Fsync,
    /// `appendfilename`: the prefix of the append-only files (`appendonly.aof`).
    pub appendfilename: String,
    /// `appenddirname`: the folder of the append-only files, in `dir` (`appendonlydir`).
    pub appenddirname: String,
    /// `auto-aof-rewrite-percentage`: rewrite when the file grew this much since the last
    /// rewrite (100; 0 = never).
    pub auto_aof_rewrite_percentage: i64,
    /// `auto-aof-rewrite-min-size`: ... and is at least this big (64mb).
    pub auto_aof_rewrite_min_size: u64,
    /// `aof-load-truncated`: load a file whose last command was cut, with a warning (yes).
    pub aof_load_truncated: bool,
    /// `aof-use-rdb-preamble`: a rewrite's base file is an RDB image (yes) or commands.
    pub aof_use_rdb_preamble: bool,
    /// `aof-rewrite-incremental-fsync`: fsync the rewrite's file every 4 MB (yes).
    pub aof_rewrite_incremental_fsync: bool,
    /// `aof-timestamp-enabled` (no; kept for CONFIG: no timestamps are written).
    pub aof_timestamp_enabled: bool,
    /// `no-appendfsync-on-rewrite` (no; kept for CONFIG).
    pub no_appendfsync_on_rewrite: bool,
    /// `enable-protected-configs`: no, yes or local (startup only): whether CONFIG SET
    /// may change `dir` and `dbfilename` (Redis's protected configs).
    pub enable_protected_configs: String,
    /// `protected-mode` (yes): while the default user has no password, only clients on
    /// the loopback addresses (127.0.0.1, ::1) are served; the frontend, which knows the
    /// peer address, checks it on accept.
    pub protected_mode: bool,
    /// The `tls-*` parameters (every build lists them; only a TLS build uses them).
    pub tls: tls::TlsConfig,
    /// The values of the parameters mini-kv accepts but has no use for
    /// ([`inert::PARAMS`], same order).
    pub inert: Vec<String>,
    /// A `save` line was read at start (config file or command line): later ones add
    /// points rather than replace them, as Redis reads its config ([`Config::set_startup`]
    /// keeps it; public so that `Config { .., ..Config::default() }` works).
    pub save_seen: bool,
    /// `requirepass`: the default user's password ("" = nopass, the default).
    pub requirepass: String,
    /// `acl-pubsub-default`: new users may use every channel (`allchannels`) or none
    /// (`resetchannels`, the default).
    pub acl_pubsub_default_all: bool,
    /// `acllog-max-len`: most ACL LOG entries kept (128).
    pub acllog_max_len: usize,
    /// `aclfile`: the ACL file (startup only; "" = none).
    pub aclfile: String,
    /// The config file's `user` lines, each split into words (`user`, name, rules...).
    pub users: Vec<Vec<Vec<u8>>>,
}

/// Redis 7.0's default `save` schedule.
pub const DEFAULT_SAVE_POINTS: [(u64, u64); 3] = [(3600, 1), (300, 100), (60, 10000)];

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            port: 6379,
            bind: String::from("0.0.0.0"),
            workers: 4,
            maxclients: 10000,
            loglevel: String::from("notice"),
            databases: 16,
            timeout: 0,
            tcp_backlog: 511,
            encodings: crate::types::EncodingLimits::default(),
            list_compress_depth: 0,
            notify_keyspace_events: 0,
            maxmemory: 0,
            maxmemory_policy: crate::evict::Policy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            save_points: DEFAULT_SAVE_POINTS.to_vec(),
            dir: String::from("."),
            dbfilename: String::from("dump.rdb"),
            rdbcompression: true,
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            rdb_del_sync_files: false,
            rdb_save_incremental_fsync: true,
            sanitize_dump_payload: String::from("no"),
            rdb_key_save_delay: 0,
            appendonly: false,
            appendfsync: crate::persist::feed::Fsync::Everysec,
            appendfilename: String::from("appendonly.aof"),
            appenddirname: String::from("appendonlydir"),
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_rewrite_incremental_fsync: true,
            aof_timestamp_enabled: false,
            no_appendfsync_on_rewrite: false,
            enable_protected_configs: String::from("no"),
            protected_mode: true,
            tls: tls::TlsConfig::default(),
            inert: inert::defaults(),
            save_seen: false,
            requirepass: String::new(),
            acl_pubsub_default_all: false,
            acllog_max_len: 128,
            aclfile: String::new(),
            users: Vec::new(),
        }
    }
}

/// Parses `save`'s value: pairs of seconds (>= 1) and changes (>= 0); `""` is none.
fn parse_save(value: &str) -> Result<Vec<(u64, u64)>, SetError> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    let bad = || SetError::Invalid(String::from("Invalid save parameters"));
    if words.len() % 2 != 0 {
        return Err(bad());
    }
    let mut points = Vec::with_capacity(words.len() / 2);
    for pair in words.chunks(2) {
        let [secs, changes] = pair else {
            return Err(bad());
        };
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let changes: i64 = changes.parse().map_err(|_| bad())?;
        if secs < 1 || changes < 0 {
            return Err(bad());
        }
        points.push((secs as u64, changes as u64));
    }
    Ok(points)
}

/// Parses a yes/no setting with Redis's error text.
fn parse_bool(value: &str) -> Result<bool, SetError> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(SetError::Invalid(String::from(
            "argument must be 'yes' or 'no'",
        ))),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Why a parameter could not be set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// No such parameter.
    Unknown,
    /// Settable only at startup.
    Immutable,
    /// The value is not acceptable; the text says why.
    Invalid(String),
}

impl SetError {
    /// A human message for parameter `name`.
    pub fn message(&self, name: &str) -> String {
        match self {
            SetError::Unknown => {
                alloc::format!("Bad directive or wrong number of arguments: '{name}'")
            }
            SetError::Immutable => String::from("can't set immutable config"),
            SetError::Invalid(m) => m.clone(),
        }
    }
}

/// Most databases `databases` accepts (each costs about 32 KiB when empty).
pub const MAX_DATABASES: usize = 1024;

/// Most worker threads `workers` accepts.
pub const MAX_WORKERS: usize = 1024;

/// Parses a Redis memory amount: a non-negative integer with an optional unit
/// `k`, `kb`, `m`, `mb`, `g`, `gb` (case-insensitive; `k` = 1000, `kb` = 1024).
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let units: [(&str, u64); 6] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
    ];
    let (digits, mul) = units
        .iter()
        .find_map(|(u, m)| lower.strip_suffix(u).map(|d| (d, *m)))
        .unwrap_or((lower.as_str(), 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

/// Redis's `memtoull`, quirks included (what `maxmemory` takes): digits and an optional
/// unit (`b`, `k`, `kb`, `m`, `mb`, `g`, `gb`); no digits reads 0, a number past `u64`
/// reads `u64::MAX` (strtoull), and the unit multiplies with wrap-around.
fn memtoull(s: &str) -> Option<u64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first.
    if digits >= 128 {
        return None;
    }
    let val = if num.is_empty() {
        0
    } else {
        num.parse::<u64>().unwrap_or(u64::MAX)
    };
    Some(val.wrapping_mul(mul))
}

/// Parses an integer setting with Redis's error texts.
fn parse_count(value: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: i128 = value
        .parse()
        .map_err(|_| String::from("argument couldn't be parsed into an integer"))?;
    if n < i128::from(min) || n > i128::from(max) {
        return Err(alloc::format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u64)
}

/// Parses a signed integer setting in `min..=max` with Redis's error texts.
fn parse_int(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i128 = value
        .parse()
        .map_err(|_| String::from("argument couldn't be parsed into an integer"))?;
    if n < i128::from(min) || n > i128::from(max) {
        return Err(alloc::format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as i64)
}

/// Parses a size setting (Redis's `createSizeTConfig`, 0..=LONG_MAX).
fn parse_size(value: &str) -> Result<usize, SetError> {
    let n = parse_int(value, 0, i64::MAX).map_err(SetError::Invalid)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Parses a memory setting of at least 1mb with Redis's error texts.
fn parse_limit(value: &str) -> Result<usize, String> {
    let n = parse_memory(value).ok_or_else(|| String::from("argument must be a memory value"))?;
    if !(1024 * 1024..=i64::MAX as u64).contains(&n) {
        return Err(String::from(
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Values that are fixed in this version but that tools ask for (redis-benchmark reads
/// `save` and `appendonly`): reported by `CONFIG GET`, not settable.
const FIXED: &[(&str, &str)] = &[("hz", "10")];

impl Config {
    /// Names of every parameter, in the order `CONFIG GET *` lists them.
    pub const NAMES: &'static [&'static str] = &[
        "port",
        "bind",
        "workers",
        "maxclients",
        "loglevel",
        "proto-max-bulk-len",
        "client-query-buffer-limit",
        "save",
        "appendonly",
        "databases",
        "timeout",
        "tcp-backlog",
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        "set-max-intset-entries",
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        "list-max-listpack-size",
        "list-max-ziplist-size",
        "list-compress-depth",
        "client-output-buffer-limit",
        "notify-keyspace-events",
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-eviction-tenacity",
        "lfu-decay-time",
        "lfu-log-factor",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "hz",
        "dir",
        "dbfilename",
        "rdbcompression",
        "rdbchecksum",
        "stop-writes-on-bgsave-error",
        "rdb-del-sync-files",
        "rdb-save-incremental-fsync",
        "sanitize-dump-payload",
        "enable-protected-configs",
        "appendfsync",
        "appendfilename",
        "appenddirname",
        "auto-aof-rewrite-percentage",
        "auto-aof-rewrite-min-size",
        "aof-load-truncated",
        "aof-use-rdb-preamble",
        "aof-rewrite-incremental-fsync",
        "aof-timestamp-enabled",
        "no-appendfsync-on-rewrite",
        "protected-mode",
        "requirepass",
        "acl-pubsub-default",
        "acllog-max-len",
        "aclfile",
    ];

    /// Parameters CONFIG SET refuses unless `enable-protected-configs` allows it.
    pub const PROTECTED: &'static [&'static str] = &["dir", "dbfilename"];

    /// Parameters CONFIG GET answers when named but `*` does not list (Redis's
    /// `HIDDEN_CONFIG`).
    pub const HIDDEN: &'static [&'static str] = &["rdb-key-save-delay"];

    /// Parameters that only the command line or config file can set.
    pub const IMMUTABLE: &'static [&'static str] = &[
        "port",
        "bind",
        "workers",
        "databases",
        "tcp-backlog",
        "enable-protected-configs",
        "rdbchecksum",
        "appendfilename",
        "appenddirname",
        "aclfile",
    ];

    /// The [`Config::IMMUTABLE`] parameters that CONFIG SET accepts when the value is the
    /// current one (`port` and `bind` are mutable in Redis).
    pub const SAME_VALUE_OK: &'static [&'static str] = &["port", "bind", "workers"];

    /// Sets parameter `name` (case-insensitive) at run time (CONFIG SET): as [`Config::set`],
    /// but the [`Config::IMMUTABLE`] ones are refused.
    pub fn set_live(&mut self, name: &str, value: &str) -> Result<(), SetError> {
        let lower = name.to_ascii_lowercase();
        let tls_fixed =
            tls::NAMES.contains(&lower.as_str()) && !tls::LIVE.contains(&lower.as_str());
        let inert_fixed = inert::index(&lower)
            .and_then(|i| inert::PARAMS.get(i))
            .is_some_and(|p| p.immutable);
        if Self::IMMUTABLE.contains(&lower.as_str()) || tls_fixed || inert_fixed {
            // Redis can change port and bind at run time; mini-kv cannot (nor its
            // worker count), but setting them to the value they have is a no-op that
            // succeeds, as Redis's CONFIG GET * / CONFIG SET round trip expects.
            if Self::SAME_VALUE_OK.contains(&lower.as_str()) || tls_fixed {
                let mut probe = self.clone();
                probe.set(&lower, value)?;
                if probe.get(&lower) == self.get(&lower) {
                    return Ok(());
                }
            }
            return Err(SetError::Immutable);
        }
        // `local` lets local clients change them: CONFIG SET does not know the client
        // here, so it counts as `yes` (README, deliberate differences).
        if Self::PROTECTED.contains(&lower.as_str()) && self.enable_protected_configs == "no" {
            return Err(SetError::Invalid(String::from(
                "can't set protected config",
            )));
        }
        self.set(&lower, value)
    }

    /// Applies a config file in redis.conf syntax: one `name value ...` directive a line,
    /// `#` comments, arguments split (and quotes undone) as Redis does. An error names the
    /// line (1-based) and says what is wrong.
    pub fn load_text(&mut self, text: &str) -> Result<(), (usize, String, String)> {
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fail = |msg: &str| (i + 1, String::from(line), String::from(msg));
            let words = crate::resp::parse::split_line(trimmed.as_bytes())
                .map_err(|_| fail("Unbalanced quotes in configuration line"))?;
            let mut words = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned());
            let Some(name) = words.next() else { continue };
            if name.eq_ignore_ascii_case("user") {
                let mut raw = crate::resp::parse::split_line(trimmed.as_bytes())
                    .map_err(|_| fail("Unbalanced quotes in configuration line"))?;
                if raw.len() < 2 {
                    return Err(fail("Error in user declaration 'no username'"));
                }
                if let Some(first) = raw.first_mut() {
                    *first = b"user".to_vec();
                }
                crate::acl::parse_users(core::slice::from_ref(&raw), false)
                    .map_err(|m| fail(&String::from_utf8_lossy(&m)))?;
                self.users.push(raw);
                continue;
            }
            let value = words.collect::<Vec<_>>().join(" ");
            self.set_startup(&name, &value)
                .map_err(|e| fail(&e.message(&name)))?;
        }
        Ok(())
    }

    /// As [`Config::set`], for the config file and the command line: the first `save`
    /// replaces the default schedule and later ones add to it, as Redis reads its config.
    pub fn set_startup(&mut self, name: &str, value: &str) -> Result<(), SetError> {
        if name.eq_ignore_ascii_case("user") {
            let mut words = crate::resp::parse::split_line(value.as_bytes())
                .map_err(|_| SetError::Invalid(String::from("Unbalanced quotes")))?;
            if words.is_empty() {
                return Err(SetError::Invalid(String::from(
                    "Error in user declaration 'no username'",
                )));
            }
            words.insert(0, b"user".to_vec());
            crate::acl::parse_users(core::slice::from_ref(&words), false)
                .map_err(|m| SetError::Invalid(String::from_utf8_lossy(&m).into_owned()))?;
            self.users.push(words);
            return Ok(());
        }
        if name.eq_ignore_ascii_case("save") {
            let points = parse_save(value)?;
            // `save ""` empties the schedule wherever it comes (Redis's special case).
            if !self.save_seen || value.trim().is_empty() {
                self.save_seen = true;
                self.save_points.clear();
            }
            self.save_points.extend(points);
            return Ok(());
        }
        self.set(name, value)
    }

    /// Sets parameter `name` (case-insensitive) from its text form, as the command line
    /// and config file give it.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), SetError> {
        let invalid = |m: &str| SetError::Invalid(String::from(m));
        match name.to_ascii_lowercase().as_str() {
            "save" => self.save_points = parse_save(value)?,
            "dir" => {
                if value.is_empty() {
                    return Err(invalid("No such file or directory"));
                }
                self.dir = String::from(value)
            }
            "dbfilename" => {
                if value.contains('/') || value.is_empty() || value == "." || value == ".." {
                    return Err(invalid("dbfilename can't be a path, just a filename"));
                }
                self.dbfilename = String::from(value)
            }
            "requirepass" => self.requirepass = String::from(value),
            "acl-pubsub-default" => match value.to_ascii_lowercase().as_str() {
                "allchannels" => self.acl_pubsub_default_all = true,
                "resetchannels" => self.acl_pubsub_default_all = false,
                _ => {
                    return Err(invalid(
                        "argument(s) must be one of the following: allchannels, resetchannels",
                    ))
                }
            },
            "acllog-max-len" => {
                self.acllog_max_len =
                    parse_count(value, 0, i64::MAX as u64).map_err(SetError::Invalid)? as usize
            }
            "aclfile" => self.aclfile = String::from(value),
            "rdbcompression" => self.rdbcompression = parse_bool(value)?,
            "rdbchecksum" => self.rdbchecksum = parse_bool(value)?,
            "stop-writes-on-bgsave-error" => self.stop_writes_on_bgsave_error = parse_bool(value)?,
            "rdb-del-sync-files" => self.rdb_del_sync_files = parse_bool(value)?,
            "rdb-save-incremental-fsync" => self.rdb_save_incremental_fsync = parse_bool(value)?,
            "sanitize-dump-payload" => match value.to_ascii_lowercase().as_str() {
                v @ ("no" | "yes" | "clients") => self.sanitize_dump_payload = String::from(v),
                _ => {
                    return Err(invalid(
                        "argument(s) must be one of the following: no, yes, clients",
                    ))
                }
            },
            "appendonly" => self.appendonly = parse_bool(value)?,
            "appendfsync" => {
                self.appendfsync = crate::persist::feed::Fsync::parse(value).ok_or_else(|| {
                    invalid("argument(s) must be one of the following: everysec, always, no")
                })?
            }
            "appendfilename" => {
                if value.contains('/') || value.is_empty() || value == "." || value == ".." {
                    return Err(invalid("appendfilename can't be a path, just a filename"));
                }
                self.appendfilename = String::from(value)
            }
            "appenddirname" => {
                if value.contains('/') || value.is_empty() || value == "." || value == ".." {
                    return Err(invalid("appenddirname can't be a path, just a dirname"));
                }
                self.appenddirname = String::from(value)
            }
            "auto-aof-rewrite-percentage" => {
                self.auto_aof_rewrite_percentage =
                    parse_int(value, 0, i64::from(i32::MAX)).map_err(SetError::Invalid)?
            }
            "auto-aof-rewrite-min-size" => {
                self.auto_aof_rewrite_min_size = parse_memory(value)
                    .filter(|n| *n <= i64::MAX as u64)
                    .ok_or_else(|| invalid("argument must be a memory value"))?
            }
            "aof-load-truncated" => self.aof_load_truncated = parse_bool(value)?,
            "aof-use-rdb-preamble" => self.aof_use_rdb_preamble = parse_bool(value)?,
            "aof-rewrite-incremental-fsync" => {
                self.aof_rewrite_incremental_fsync = parse_bool(value)?
            }
            "aof-timestamp-enabled" => self.aof_timestamp_enabled = parse_bool(value)?,
            "no-appendfsync-on-rewrite" => self.no_appendfsync_on_rewrite = parse_bool(value)?,
            "protected-mode" => self.protected_mode = parse_bool(value)?,
            "enable-protected-configs" => match value.to_ascii_lowercase().as_str() {
                v @ ("no" | "yes" | "local") => self.enable_protected_configs = String::from(v),
                _ => {
                    return Err(invalid(
                        "argument(s) must be one of the following: no, yes, local",
                    ))
                }
            },
            "rdb-key-save-delay" => {
                self.rdb_key_save_delay = parse_int(value, i64::from(i32::MIN), i64::from(i32::MAX))
                    .map_err(SetError::Invalid)?
            }
            "timeout" => {
                self.timeout = parse_count(value, 0, i32::MAX as u64).map_err(SetError::Invalid)?
            }
            "port" => self.port = parse_count(value, 0, 65535).map_err(SetError::Invalid)? as u16,
            "tcp-backlog" => {
                self.tcp_backlog =
                    parse_count(value, 0, i32::MAX as u64).map_err(SetError::Invalid)? as u32
            }
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                self.encodings.hash_max_listpack_entries = parse_size(value)?
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                self.encodings.hash_max_listpack_value = parse_size(value)?
            }
            "set-max-intset-entries" => self.encodings.set_max_intset_entries = parse_size(value)?,
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                self.encodings.zset_max_listpack_entries = parse_size(value)?
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                self.encodings.zset_max_listpack_value = parse_size(value)?
            }
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                self.encodings.list_max_listpack_size =
                    parse_int(value, i64::from(i32::MIN), i64::from(i32::MAX))
                        .map_err(SetError::Invalid)? as i32
            }
            "list-compress-depth" => {
                self.list_compress_depth =
                    parse_int(value, 0, i64::from(i32::MAX)).map_err(SetError::Invalid)?
            }
            "bind" => {
                if value.is_empty() || value.contains(' ') {
                    return Err(invalid("bind takes one address in this version"));
                }
                self.bind = String::from(value);
            }
            "workers" => {
                self.workers =
                    parse_count(value, 1, MAX_WORKERS as u64).map_err(SetError::Invalid)? as usize
            }
            "maxclients" => {
                self.maxclients =
                    parse_count(value, 1, u64::from(u32::MAX)).map_err(SetError::Invalid)? as usize
            }
            "databases" => {
                self.databases =
                    parse_count(value, 1, MAX_DATABASES as u64).map_err(SetError::Invalid)? as usize
            }
            "loglevel" => match value.to_ascii_lowercase().as_str() {
                l @ ("debug" | "verbose" | "notice" | "warning") => self.loglevel = String::from(l),
                _ => {
                    return Err(invalid(
                        "argument(s) must be one of the following: debug, verbose, notice, warning",
                    ))
                }
            },
            "proto-max-bulk-len" => {
                self.limits.proto_max_bulk_len = parse_limit(value).map_err(SetError::Invalid)?
            }
            "client-query-buffer-limit" => {
                self.limits.query_buffer_max = parse_limit(value).map_err(SetError::Invalid)?
            }
            "client-output-buffer-limit" => parse_obuf(value, &mut self.limits.obuf)?,
            "notify-keyspace-events" => {
                self.notify_keyspace_events = crate::notify::flags_from_str(value.as_bytes())
                    .ok_or_else(|| {
                        invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
                    })?
            }
            "maxmemory" => {
                self.maxmemory = memtoull(value)
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                    .ok_or_else(|| invalid("argument must be a memory value"))?
            }
            "maxmemory-policy" => {
                self.maxmemory_policy = crate::evict::Policy::parse(value)
                    .ok_or_else(|| invalid(crate::evict::POLICY_ERROR))?
            }
            "maxmemory-samples" => {
                self.maxmemory_samples =
                    parse_count(value, 1, i32::MAX as u64).map_err(SetError::Invalid)? as usize
            }
            "maxmemory-eviction-tenacity" => {
                self.maxmemory_eviction_tenacity =
                    parse_count(value, 0, 100).map_err(SetError::Invalid)? as usize
            }
            "lfu-log-factor" => {
                self.lfu_log_factor =
                    parse_count(value, 0, i32::MAX as u64).map_err(SetError::Invalid)? as u32
            }
            "lfu-decay-time" => {
                self.lfu_decay_time =
                    parse_count(value, 0, i32::MAX as u64).map_err(SetError::Invalid)? as u32
            }
            "slowlog-log-slower-than" => {
                self.slowlog_log_slower_than =
                    parse_int(value, -1, i64::MAX).map_err(SetError::Invalid)?
            }
            "slowlog-max-len" => {
                self.slowlog_max_len =
                    parse_int(value, 0, i64::MAX).map_err(SetError::Invalid)? as u64
            }
            other => {
                if let Some(r) = self.tls.set(other, value) {
                    return r;
                }
                if let Some(i) = inert::index(other) {
                    return self.set_inert(i, value);
                }
                return match FIXED.iter().find(|(n, _)| *n == other) {
                    Some((_, v)) if *v == value => Ok(()),
                    Some(_) => Err(invalid("this parameter cannot be changed in this version")),
                    None => Err(SetError::Unknown),
                };
            }
        }
        Ok(())
    }

    /// The value of the [`inert::PARAMS`] parameter `name` ("" for an unknown name).
    pub fn inert_value(&self, name: &str) -> &str {
        inert::index(name)
            .and_then(|i| self.inert.get(i))
            .map_or("", String::as_str)
    }

    /// Sets parameter `i` of [`inert::PARAMS`] (and its other name, if it has one).
    fn set_inert(&mut self, i: usize, value: &str) -> Result<(), SetError> {
        let Some(p) = inert::PARAMS.get(i) else {
            return Err(SetError::Unknown);
        };
        let v = inert::normalize(p, value)?;
        if let Some(j) = p.alias.and_then(inert::index) {
            if let Some(slot) = self.inert.get_mut(j) {
                slot.clone_from(&v);
            }
        }
        if let Some(slot) = self.inert.get_mut(i) {
            *slot = v;
        }
        Ok(())
    }

    /// The text value of parameter `name` (lowercase, one of [`Config::NAMES`]).
    pub fn get(&self, name: &str) -> Option<String> {
        let mut s = String::new();
        match name {
            "port" => {
                let _ = write!(s, "{}", self.port);
            }
            "bind" => s.push_str(&self.bind),
            "tcp-backlog" => {
                let _ = write!(s, "{}", self.tcp_backlog);
            }
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                let _ = write!(s, "{}", self.encodings.hash_max_listpack_entries);
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                let _ = write!(s, "{}", self.encodings.hash_max_listpack_value);
            }
            "set-max-intset-entries" => {
                let _ = write!(s, "{}", self.encodings.set_max_intset_entries);
            }
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                let _ = write!(s, "{}", self.encodings.zset_max_listpack_entries);
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                let _ = write!(s, "{}", self.encodings.zset_max_listpack_value);
            }
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                let _ = write!(s, "{}", self.encodings.list_max_listpack_size);
            }
            "list-compress-depth" => {
                let _ = write!(s, "{}", self.list_compress_depth);
            }
            "workers" => {
                let _ = write!(s, "{}", self.workers);
            }
            "maxclients" => {
                let _ = write!(s, "{}", self.maxclients);
            }
            "loglevel" => s.push_str(&self.loglevel),
            "timeout" => {
                let _ = write!(s, "{}", self.timeout);
            }
            "databases" => {
                let _ = write!(s, "{}", self.databases);
            }
            "proto-max-bulk-len" => {
                let _ = write!(s, "{}", self.limits.proto_max_bulk_len);
            }
            "client-query-buffer-limit" => {
                let _ = write!(s, "{}", self.limits.query_buffer_max);
            }
            "client-output-buffer-limit" => {
                for (i, (class, l)) in OBUF_CLASSES.iter().zip(&self.limits.obuf).enumerate() {
                    let sep = if i > 0 { " " } else { "" };
                    let _ = write!(s, "{sep}{class} {} {} {}", l.hard, l.soft, l.soft_seconds);
                }
            }
            "notify-keyspace-events" => {
                s = crate::notify::flags_to_string(self.notify_keyspace_events);
            }
            "save" => {
                for (i, (secs, changes)) in self.save_points.iter().enumerate() {
                    let sep = if i > 0 { " " } else { "" };
                    let _ = write!(s, "{sep}{secs} {changes}");
                }
            }
            "dir" => s.push_str(&self.dir),
            "dbfilename" => s.push_str(&self.dbfilename),
            "rdbcompression" => s.push_str(yes_no(self.rdbcompression)),
            "rdbchecksum" => s.push_str(yes_no(self.rdbchecksum)),
            "stop-writes-on-bgsave-error" => s.push_str(yes_no(self.stop_writes_on_bgsave_error)),
            "rdb-del-sync-files" => s.push_str(yes_no(self.rdb_del_sync_files)),
            "rdb-save-incremental-fsync" => s.push_str(yes_no(self.rdb_save_incremental_fsync)),
            "sanitize-dump-payload" => s.push_str(&self.sanitize_dump_payload),
            "requirepass" => s.push_str(&self.requirepass),
            "acl-pubsub-default" => s.push_str(if self.acl_pubsub_default_all {
                "allchannels"
            } else {
                "resetchannels"
            }),
            "acllog-max-len" => {
                let _ = write!(s, "{}", self.acllog_max_len);
            }
            "aclfile" => s.push_str(&self.aclfile),
            "enable-protected-configs" => s.push_str(&self.enable_protected_configs),
            "appendonly" => s.push_str(yes_no(self.appendonly)),
            "appendfsync" => s.push_str(self.appendfsync.name()),
            "appendfilename" => s.push_str(&self.appendfilename),
            "appenddirname" => s.push_str(&self.appenddirname),
            "auto-aof-rewrite-percentage" => {
                let _ = write!(s, "{}", self.auto_aof_rewrite_percentage);
            }
            "auto-aof-rewrite-min-size" => {
                let _ = write!(s, "{}", self.auto_aof_rewrite_min_size);
            }
            "aof-load-truncated" => s.push_str(yes_no(self.aof_load_truncated)),
            "aof-use-rdb-preamble" => s.push_str(yes_no(self.aof_use_rdb_preamble)),
            "aof-rewrite-incremental-fsync" => {
                s.push_str(yes_no(self.aof_rewrite_incremental_fsync))
            }
            "aof-timestamp-enabled" => s.push_str(yes_no(self.aof_timestamp_enabled)),
            "no-appendfsync-on-rewrite" => s.push_str(yes_no(self.no_appendfsync_on_rewrite)),
            "protected-mode" => s.push_str(yes_no(self.protected_mode)),
            "rdb-key-save-delay" => {
                let _ = write!(s, "{}", self.rdb_key_save_delay);
            }
            "maxmemory" => {
                let _ = write!(s, "{}", self.maxmemory);
            }
            "maxmemory-policy" => s.push_str(self.maxmemory_policy.name()),
            "maxmemory-samples" => {
                let _ = write!(s, "{}", self.maxmemory_samples);
            }
            "maxmemory-eviction-tenacity" => {
                let _ = write!(s, "{}", self.maxmemory_eviction_tenacity);
            }
            "lfu-log-factor" => {
                let _ = write!(s, "{}", self.lfu_log_factor);
            }
            "lfu-decay-time" => {
                let _ = write!(s, "{}", self.lfu_decay_time);
            }
            "slowlog-log-slower-than" => {
                let _ = write!(s, "{}", self.slowlog_log_slower_than);
            }
            "slowlog-max-len" => {
                let _ = write!(s, "{}", self.slowlog_max_len);
            }
            other if other.starts_with("tls-") => return self.tls.get(other),
            other => match inert::index(other) {
                Some(i) => s.push_str(self.inert.get(i)?),
                None => s.push_str(FIXED.iter().find(|(n, _)| *n == other)?.1),
            },
        }
        Some(s)
    }

    /// Every parameter one of `patterns` names, each once, as (name, value) pairs: what
    /// `CONFIG GET` answers. As Redis: a pattern without `*`, `?` or `[` is looked up as a
    /// name (case-insensitively) and answered under the name as typed; any other pattern is
    /// a case-insensitive glob answered under the parameters' own names.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, String)> {
        let mut found: Vec<(Vec<u8>, String)> = Vec::new();
        let mut seen: Vec<&'static str> = Vec::new();
        for p in patterns {
            let glob = p.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
            let hidden = if glob { &[][..] } else { Self::HIDDEN };
            let inert = inert::PARAMS.iter().map(|p| &p.name);
            for name in Self::NAMES
                .iter()
                .chain(tls::NAMES)
                .chain(inert)
                .chain(hidden)
            {
                let hit = if glob {
                    crate::glob::matches(p, name.as_bytes(), true)
                } else {
                    name.as_bytes().eq_ignore_ascii_case(p)
                };
                if !hit || seen.contains(name) {
                    continue;
                }
                if let Some(v) = self.get(name) {
                    seen.push(name);
                    let shown = if glob { name.as_bytes() } else { p };
                    found.push((shown.to_vec(), v));
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_and_command_line_agree() {
        let mut file = Config::default();
        file.load_text(
            "# a comment\nport 7000\n\n  maxclients   50\nsave \"\"\nproto-max-bulk-len 2mb\n",
        )
        .unwrap();
        let mut cli = Config::default();
        for (n, v) in [
            ("port", "7000"),
            ("maxclients", "50"),
            ("save", ""),
            ("proto-max-bulk-len", "2mb"),
        ] {
            cli.set(n, v).unwrap();
        }
        for name in Config::NAMES {
            assert_eq!(file.get(name), cli.get(name), "{name}");
        }
        let err = Config::default()
            .load_text("port 1\nnosuch 2\n")
            .unwrap_err();
        assert_eq!(err.0, 2);
        assert!(Config::default()
            .load_text("bind \"unterminated\n")
            .is_err());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_memory("10k"), Some(10_000));
        assert_eq!(parse_memory("123"), Some(123));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("mb"), None);
        assert_eq!(parse_memory("99999999999999999999gb"), None);
    }

    #[test]
    fn save_lines_add_up_at_start_and_an_empty_one_resets() {
        let mut c = Config::default();
        assert_eq!(c.get("save").as_deref(), Some("3600 1 300 100 60 10000"));
        c.set_startup("save", "900 1").unwrap();
        c.set_startup("save", "300 10").unwrap();
        assert_eq!(c.get("save").as_deref(), Some("900 1 300 10"));
        c.set_startup("save", "").unwrap();
        assert_eq!(c.get("save").as_deref(), Some(""));
        c.set_startup("save", "60 5").unwrap();
        assert_eq!(c.get("save").as_deref(), Some("60 5"));
        // At run time (CONFIG SET) a value replaces the schedule.
        c.set_live("save", "10 1").unwrap();
        assert_eq!(c.get("save").as_deref(), Some("10 1"));
        for bad in ["1", "0 1", "a b", "10 -1", "1 2 3"] {
            assert_eq!(
                c.set_live("save", bad),
                Err(SetError::Invalid("Invalid save parameters".into()))
            );
        }
    }

    #[test]
    fn set_and_get_share_one_table() {
        let mut c = Config::default();
        c.set("PORT", "7000").unwrap();
        c.set("proto-max-bulk-len", "1mb").unwrap();
        assert_eq!(c.get("port").unwrap(), "7000");
        assert_eq!(c.get("proto-max-bulk-len").unwrap(), "1048576");
        assert!(c.set("port", "70000").is_err());
        assert!(c.set("workers", "0").is_err());
        assert!(c.set("nonsense", "1").is_err());
        assert!(c.set("save", "").is_ok());
        assert_eq!(c.set_live("port", "1"), Err(SetError::Immutable));
        assert_eq!(c.set_live("port", "7000"), Ok(()));
        assert_eq!(c.set_live("workers", &c.get("workers").unwrap()), Ok(()));
        let tb = c.get("tcp-backlog").unwrap();
        assert_eq!(c.set_live("tcp-backlog", &tb), Err(SetError::Immutable));
        assert!(c.set_live("maxclients", "5").is_ok());
        assert_eq!(c.set_live("nosuch", "5"), Err(SetError::Unknown));
        for name in Config::NAMES {
            assert!(c.get(name).is_some(), "{name}");
        }
        // An exact name answers as typed, once; a glob under the parameter's own name.
        let got = c.get_matching(&[b"SAVE", b"appendo*", b"save", b"MAXC*"]);
        let want: [(&[u8], &str); 3] = [(b"SAVE", ""), (b"appendonly", "no"), (b"maxclients", "5")];
        assert_eq!(got.len(), want.len());
        for ((n, v), (wn, wv)) in got.iter().zip(want) {
            assert_eq!((n.as_slice(), v.as_str()), (wn, wv));
        }
    }

    #[test]
    fn protected_mode_and_tls_parameters() {
        let mut c = Config::default();
        assert!(c.protected_mode);
        assert_eq!(c.get("protected-mode").unwrap(), "yes");
        assert_eq!(c.set_live("protected-mode", "no"), Ok(()));
        assert!(!c.protected_mode);
        assert_eq!(c.get("tls-port").unwrap(), "0");
        assert_eq!(c.get("tls-auth-clients").unwrap(), "yes");
        assert_eq!(c.get("tls-session-cache-size").unwrap(), "20480");
        assert_eq!(c.get("tls-cert-file").unwrap(), "");
        c.set("tls-port", "6380").unwrap();
        c.set("TLS-Cert-File", "/x/server.crt").unwrap();
        assert_eq!(c.tls.port, 6380);
        assert_eq!(c.tls.string("tls-cert-file"), "/x/server.crt");
        assert!(c.set("tls-port", "65536").is_err());
        assert!(c.set("tls-cluster", "maybe").is_err());
        // Only tls-auth-clients changes at run time; the others accept their own value.
        assert_eq!(c.set_live("tls-auth-clients", "optional"), Ok(()));
        assert_eq!(c.tls.auth_clients, tls::AuthClients::Optional);
        assert!(c.set_live("tls-auth-clients", "sometimes").is_err());
        assert_eq!(c.set_live("tls-port", "6381"), Err(SetError::Immutable));
        assert_eq!(c.set_live("tls-port", "6380"), Ok(()));
        assert_eq!(c.set_live("tls-cert-file", "/y"), Err(SetError::Immutable));
        assert_eq!(c.set_live("tls-cert-file", "/x/server.crt"), Ok(()));
        let listed = c.get_matching(&[b"tls-*"]);
        assert_eq!(listed.len(), tls::NAMES.len());
        assert_eq!(listed.len(), 20);
    }
}
