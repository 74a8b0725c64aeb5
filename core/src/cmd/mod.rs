//! Commands: the one command table ([`COMMANDS`]) that both the dispatcher and `COMMAND`
//! read, the per-connection [`Session`] the commands see, and one file per family.
//!
//! Each command checks its arguments first and then executes against the keyspace, writing
//! its reply straight into the connection's output buffer. A command error ([`Error`])
//! becomes an `-ERR ...` reply and the connection stays open.

pub mod acl;
pub mod bitmaps;
pub mod blocking;
pub mod connection;
pub mod dump;
pub mod expiry;
pub mod hashes;
mod inflate;
pub mod keyspace;
pub mod lists;
pub mod meta;
pub mod persistence;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::engine::Engine;
use crate::resp::encode;
use crate::resp::Args;
use crate::stats::WorkerStats;
use crate::time::Now;
use alloc::vec::Vec;

/// What the connection does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next request.
    Continue,
    /// Flush the replies written so far, then close (QUIT).
    CloseAfterReply,
    /// Close without replying to this request (Redis's answer to HTTP requests); earlier
    /// replies are still flushed.
    CloseSilently,
    /// CLIENT PAUSE holds this request back: it did not run; the connection keeps it and
    /// runs nothing more until the pause is over (then dispatches it again).
    Postpone,
}

/// Per-connection state that commands read and change.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The client id (CLIENT ID, HELLO).
    pub id: usize,
    /// The client name (HELLO SETNAME), if any.
    pub name: Option<Vec<u8>>,
    /// The selected database.
    pub db: usize,
    /// Set by QUIT: close once the reply is flushed.
    pub quit: bool,
    /// State of this connection's random numbers (RANDOMKEY); seeded from the id.
    pub rng: u64,
    /// CLIENT REPLY OFF: replies are dropped until CLIENT REPLY ON.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP was just run: drop the next command's reply.
    pub skip_next: bool,
    /// The reply of the command being run is dropped (set from `skip_next`).
    pub skip_this: bool,
    /// Library name and version given by CLIENT SETINFO.
    pub lib: (Vec<u8>, Vec<u8>),
    /// The command running or last run, as (name, subcommand or "").
    pub cmd: (&'static str, &'static str),
    /// The worker that owns the connection (blocked clients are served through it).
    pub worker: usize,
    /// The connection's token in its worker.
    pub token: usize,
    /// Set by a blocking command that registered the client as blocked: its timeout in
    /// milliseconds (0 = forever). The connection executes nothing more until the client
    /// is served, times out or is unblocked.
    pub block: Option<u64>,
    /// Blocking commands answer at once as if timed out (inside MULTI).
    pub deny_blocking: bool,
    /// The open transaction (after MULTI), if any.
    pub multi: Option<transactions::MultiState>,
    /// The watched keys (WATCH).
    pub watch: transactions::WatchState,
    /// EXEC is running this session's queue (the gate is already held).
    pub in_exec: bool,
    /// Keys the running transaction wrote: blocked clients are served after EXEC.
    pub exec_ready: Vec<(usize, Vec<u8>)>,
    /// Set by a write command that knows which of its key arguments it really changed
    /// (argument positions): only those touch WATCH and wake blocked clients. `None`: all
    /// its keys count as written.
    pub touched: Option<Vec<usize>>,
    /// What the append-only file records for the running write command instead of its
    /// arguments, while `appendonly` is on (see [`crate::persist::feed`]): commands whose
    /// effect depends on time or chance record what they did (`PEXPIREAT`, `SET ... PXAT`,
    /// SPOP as SREM, ...). `None`: the arguments as given; an empty list: nothing.
    pub propagate: Option<Vec<Vec<Vec<u8>>>>,
    /// The offset just past this client's last record in the append-only file, while its
    /// replies wait for that record's fsync (`appendfsync always`); the connection takes it.
    pub aof_seq: Option<usize>,
    /// The append-only file's loader: commands replay with time stopped, past every gate
    /// (loading, MISCONF, MULTI checks) and record nothing.
    pub loader: bool,
    /// Pub/sub subscriptions: while there are any, a RESP2 client is in subscriber mode.
    pub subs: crate::pubsub::ClientSubs,
    /// The client's address, `ip:port` (MONITOR lines show it).
    pub addr: alloc::string::String,
    /// In MONITOR mode: it receives a line per command run, may not touch the keyspace
    /// and is never paused (Redis marks monitors as replicas).
    pub monitor: bool,
    /// The ACL user the client is logged in as; `None`: the default user.
    pub user: Option<Vec<u8>>,
    /// Authenticated (Redis's `c->authenticated`): set at connection time when the default
    /// user needs no password, and by a successful AUTH or HELLO AUTH.
    pub authenticated: bool,
}

impl Session {
    /// Records that the write command running changed nothing: it touches no WATCH and
    /// wakes no blocked client (Redis calls `signalModifiedKey` only after a change).
    #[inline(never)]
    pub fn untouched(&mut self) {
        self.touched = Some(Vec::new());
    }

    /// A session for client `id`.
    pub fn new(id: usize) -> Self {
        Session {
            id,
            rng: (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            ..Session::default()
        }
    }

    /// The next number of this session's xorshift64* generator.
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Everything a command runs with.
pub struct Ctx<'a> {
    /// Shared state.
    pub engine: &'a Engine,
    /// This worker's counters.
    pub stats: &'a WorkerStats,
    /// The time of this batch.
    pub now: Now,
    /// The connection's state.
    pub session: &'a mut Session,
}

/// Where a command's keyspace notifications go: the engine and the selected database. A
/// copy, so that closures run under shard locks can publish too.
#[derive(Clone, Copy)]
pub struct Notify<'a> {
    engine: &'a Engine,
    db: usize,
}

impl<'a> Notify<'a> {
    /// The notifications of database `db`.
    pub fn new(engine: &'a Engine, db: usize) -> Self {
        Notify { engine, db }
    }
}

impl Notify<'_> {
    /// Publishes `event` of `class` for `key` (one relaxed load when that class is off).
    #[inline]
    pub fn event(self, class: u32, event: &str, key: &[u8]) {
        self.engine.notify(class, event, key, self.db);
    }

    /// A read found no `key`: the `keymiss` notification (Redis's `lookupKeyRead`). Out
    /// of line: the read paths that miss are many, and a miss is not the hot path.
    #[inline(never)]
    pub fn keymiss(self, key: &[u8]) {
        self.event(crate::notify::KEY_MISS, "keymiss", key);
    }
}

impl<'a> Ctx<'a> {
    /// The notifications of this command, in the selected database.
    pub fn notifier(&self) -> Notify<'a> {
        Notify {
            engine: self.engine,
            db: self.session.db,
        }
    }
}

impl Ctx<'_> {
    /// The database this connection has selected.
    pub fn db(&self) -> &crate::db::Db {
        self.engine.db(self.session.db)
    }

    /// Publishes keyspace notification `event` of `class` for `key` in the selected
    /// database (one relaxed load when notifications are off).
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        self.engine.notify(class, event, key, self.session.db);
    }

    /// Whether the append-only file records commands (one relaxed load): a command whose
    /// effect depends on time or chance then says what to record ([`Ctx::propagate`]).
    #[inline]
    pub fn aof(&self) -> bool {
        self.engine.feed.is_on() && !self.session.loader
    }

    /// Records `commands` in the append-only file instead of the running command's
    /// arguments (call only when [`Ctx::aof`]); several calls add up.
    #[cold]
    pub fn propagate(&mut self, commands: Vec<Vec<Vec<u8>>>) {
        match &mut self.session.propagate {
            Some(list) => list.extend(commands),
            None => self.session.propagate = Some(commands),
        }
    }

    /// Records the one command `argv` instead of the running command's arguments (call
    /// only when [`Ctx::aof`]).
    #[cold]
    pub fn propagate_one(&mut self, argv: &[&[u8]]) {
        self.propagate(alloc::vec![argv.iter().map(|a| a.to_vec()).collect()]);
    }

    /// Records nothing for the running command (it changed nothing).
    #[cold]
    pub fn propagate_nothing(&mut self) {
        if self.session.propagate.is_none() {
            self.session.propagate = Some(Vec::new());
        }
    }
}

/// A command error: one `-...` reply; the connection stays open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `-ERR syntax error`.
    Syntax,
    /// `-ERR value is not an integer or out of range`.
    NotInteger,
    /// `-ERR invalid expire time in '<command>' command`.
    ExpireTime,
    /// `-WRONGTYPE Operation against a key holding the wrong kind of value`.
    WrongType,
    /// `-ERR unknown subcommand '<arg>'. Try <COMMAND> HELP.`
    UnknownSubcommand,
    /// `-ERR wrong number of arguments for '<command>|<sub>' command`.
    SubcommandArity(&'static str),
    /// A fixed message, written as is after the `-` (it carries its own code).
    Msg(&'static str),
}

impl Error {
    /// Appends this error's reply for command `cmd` called with `args`.
    pub fn reply(&self, cmd: &Command, args: &Args<'_>, out: &mut Vec<u8>) {
        match self {
            Error::Syntax => out.extend_from_slice(b"-ERR syntax error\r\n"),
            Error::NotInteger => {
                out.extend_from_slice(b"-ERR value is not an integer or out of range\r\n")
            }
            Error::ExpireTime => {
                out.extend_from_slice(b"-ERR invalid expire time in '");
                out.extend_from_slice(cmd.name.as_bytes());
                out.extend_from_slice(b"' command\r\n");
            }
            Error::WrongType => out.extend_from_slice(
                b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            Error::UnknownSubcommand => {
                out.extend_from_slice(b"-ERR unknown subcommand '");
                encode::error_body(out, c_str_prefix(args.get(1), 128));
                out.extend_from_slice(b"'. Try ");
                out.extend(cmd.name.bytes().map(|b| b.to_ascii_uppercase()));
                out.extend_from_slice(b" HELP.\r\n");
            }
            Error::SubcommandArity(sub) => {
                out.extend_from_slice(b"-ERR wrong number of arguments for '");
                out.extend_from_slice(cmd.name.as_bytes());
                out.push(b'|');
                out.extend_from_slice(sub.as_bytes());
                out.extend_from_slice(b"' command\r\n");
            }
            Error::Msg(m) => {
                out.push(b'-');
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

/// A command's result: its reply is already written when it is `Ok`.
pub type CmdResult = Result<(), Error>;

/// Whether a command has a flag (a name of [`FLAG_NAMES`], checked when built):
/// `flag!(cmd, "no_multi")`, one AND.
macro_rules! flag {
    ($cmd:expr, $name:literal) => {
        ($cmd.flags & const { $crate::cmd::name_bit(&$crate::cmd::FLAG_NAMES, $name) }) != 0
    };
}
pub(crate) use flag;

/// One entry of the command table.
pub struct Command {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments (the name included), -N at least N.
    pub arity: i32,
    /// Flags as COMMAND INFO lists them: bit `i` is [`FLAG_NAMES`]`[i]` (see
    /// [`Command::flag_names`]; `flag!` tests one).
    pub flags: u32,
    /// Runs outside its worker's gate: EXEC (it takes every gate) and SAVE (its snapshot
    /// does).
    pub ungated: bool,
    /// Position of the first key argument (0 if none).
    pub first_key: i32,
    /// Position of the last key argument (-1 for the last argument).
    pub last_key: i32,
    /// Step between key arguments.
    pub step: i32,
    /// ACL categories as COMMAND INFO lists them: bit `i` is [`CATEGORY_NAMES`]`[i]` (see
    /// [`Command::category_names`]).
    pub categories: u32,
    /// The handler.
    pub run: fn(&mut Ctx<'_>, &Args<'_>, &mut Vec<u8>) -> CmdResult,
}

/// Why [`Command::key_positions`] names no keys (COMMAND GETKEYS's errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpecError {
    /// The arguments do not say where the keys are (a bad `numkeys`).
    BadArgs,
}

impl Command {
    /// Whether the command may write (its flags say `write`).
    #[inline]
    pub fn is_write(&self) -> bool {
        flag!(self, "write")
    }

    /// Its flags' names, in COMMAND INFO's order.
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> {
        bit_names(self.flags, &FLAG_NAMES)
    }

    /// Its ACL categories' names (with the `@`), in COMMAND INFO's order.
    pub fn category_names(&self) -> impl Iterator<Item = &'static str> {
        bit_names(self.categories, &CATEGORY_NAMES)
    }

    /// Whether `pubsub` is the first flag COMMAND INFO lists (none of write, readonly,
    /// denyoom, module and admin).
    pub(crate) fn pubsub_first(&self) -> bool {
        self.flags.trailing_zeros() == const { name_bit(&FLAG_NAMES, "pubsub").trailing_zeros() }
    }

    /// Whether the command takes key arguments at all. The pub/sub commands name
    /// channels, not keys: the key specs of SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH are
    /// flagged `not_key`, and Redis's COMMAND GETKEYS says they have none.
    pub fn has_keys(&self) -> bool {
        (self.first_key != 0 && !self.pubsub_first()) || flag!(self, "movablekeys")
    }

    /// The positions in `args` (0 is the name; arity already checked) of the command's
    /// key arguments, in argument order, repeats included: the table's (first, last, step)
    /// spec, or for the movable-key commands their `numkeys` rule (ZUNION/ZINTER/ZDIFF:
    /// numkeys at 1; their STORE forms: the destination at 1, numkeys at 2; EVAL and FCALL:
    /// numkeys at 2). What the multi-key locking and COMMAND GETKEYS go by.
    pub fn key_positions(&self, args: &Args<'_>) -> Result<Vec<usize>, KeySpecError> {
        let argc = args.len();
        if !flag!(self, "movablekeys") {
            let (first, step) = (self.first_key, self.step.max(1));
            let Ok(first) = usize::try_from(first) else {
                return Ok(Vec::new());
            };
            if first == 0 {
                return Ok(Vec::new());
            }
            let last = if self.last_key < 0 {
                i64::try_from(argc).unwrap_or(i64::MAX) + i64::from(self.last_key)
            } else {
                i64::from(self.last_key)
            };
            let last = usize::try_from(last)
                .unwrap_or(0)
                .min(argc.saturating_sub(1));
            return Ok((first..=last)
                .step_by(usize::try_from(step).unwrap_or(1))
                .collect());
        }
        let (dest, at) = match self.name {
            "zunionstore" | "zinterstore" | "zdiffstore" => (Some(1), 2),
            "zunion" | "zinter" | "zdiff" | "sintercard" | "zintercard" | "zmpop" | "lmpop" => {
                (None, 1)
            }
            "sort" | "sort_ro" => return Ok(sort_keys(self.name, args)),
            _ => (None, 2),
        };
        let optional = flag!(self, "no_mandatory_keys");
        let available = argc.saturating_sub(at + 1);
        let n = crate::resp::parse::parse_i64(args.get(at))
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= available && (optional || n >= 1));
        match n {
            Some(n) => Ok(dest.into_iter().chain(at + 1..at + 1 + n).collect()),
            None if optional => Ok(Vec::new()),
            None => Err(KeySpecError::BadArgs),
        }
    }

    /// Whether `n` arguments (the name included) fit the command's arity.
    pub fn arity_ok(&self, n: usize) -> bool {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let a = i64::from(self.arity);
        if a >= 0 {
            n == a
        } else {
            n >= -a
        }
    }
}

const W: &[&str] = &["write", "denyoom"];
const TX: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];
const WDF: &[&str] = &["write", "denyoom", "fast"];
const WF: &[&str] = &["write", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const PS: &[&str] = &["pubsub", "noscript", "loading", "stale"];
const PUB: &[&str] = &["pubsub", "loading", "stale", "fast"];

/// `a == b`, in a constant.
const fn str_eq(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, ra @ ..], [y, rb @ ..]) if *x == *y => {
                a = ra;
                b = rb;
            }
            _ => return false,
        }
    }
}

/// Redis 7.0's command flags in the order COMMAND INFO lists them (server.c
/// `flagNames`): bit `i` of [`Command::flags`] is `FLAG_NAMES[i]`.
pub const FLAG_NAMES: [&str; 20] = [
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
];

/// Redis 7.0's ACL categories as COMMAND INFO lists them, in its order (ACL CAT's, which
/// shows them without the `@`): bit `i` of [`Command::categories`] is `CATEGORY_NAMES[i]`,
/// and the ACL's category bits are the same.
pub const CATEGORY_NAMES: [&str; 21] = [
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// The bit of `name` in `names`, in a constant. A name that is not there fails the build
/// (the panic runs in constant evaluation only: every caller is a `const`).
#[allow(clippy::panic)]
pub const fn name_bit(names: &[&str], name: &str) -> u32 {
    let (mut rest, mut bit) = (names, 1u32);
    while let [first, more @ ..] = rest {
        if str_eq(first, name) {
            return bit;
        }
        rest = more;
        bit <<= 1;
    }
    panic!("not a known command flag or category")
}

/// The bits of `list` in `names`, in a constant. `list` must follow `names`' order (the
/// order Redis lists them in), so that the bits give the list back as it was: anything
/// else fails the build.
#[allow(clippy::panic)]
const fn name_bits(names: &[&str], mut list: &[&str]) -> u32 {
    let mut bits = 0u32;
    while let [first, more @ ..] = list {
        let bit = name_bit(names, first);
        if bit <= bits {
            panic!("flags and categories must be in Redis's order");
        }
        bits |= bit;
        list = more;
    }
    bits
}

/// The names of the set bits of `bits`, in `names`' order.
fn bit_names(bits: u32, names: &'static [&'static str]) -> impl Iterator<Item = &'static str> {
    names
        .iter()
        .enumerate()
        .filter(move |(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
}

macro_rules! command {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $cats:expr, $run:path) => {
        Command {
            name: $name,
            arity: $arity,
            flags: name_bits(&FLAG_NAMES, $flags),
            ungated: str_eq($name, "exec") || str_eq($name, "save"),
            first_key: $first,
            last_key: $last,
            step: $step,
            categories: name_bits(&CATEGORY_NAMES, $cats),
            run: $run,
        }
    };
}

/// The command table: what the dispatcher runs and what `COMMAND` reports.
/// The most frequent commands come first (lookup is a scan).
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    command!("get", 2, RF, 1, 1, 1, &["@read", "@string", "@fast"], strings::get),
    command!("set", -3, W, 1, 1, 1, &["@write", "@string", "@slow"], strings::set),
    command!("ping", -1, &["fast"], 0, 0, 0, &["@fast", "@connection"], connection::ping),
    command!("del", -2, &["write"], 1, -1, 1, &["@keyspace", "@write", "@slow"], keyspace::del),
    command!("exists", -2, RF, 1, -1, 1, &["@keyspace", "@read", "@fast"], keyspace::exists),
    command!("mget", -2, RF, 1, -1, 1, &["@read", "@string", "@fast"], strings::mget),
    command!("mset", -3, W, 1, -1, 2, &["@write", "@string", "@slow"], strings::mset),
    command!("incr", 2, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::incr),
    command!("lpush", -3, WDF, 1, 1, 1, &["@write", "@list", "@fast"], lists::lpush),
    command!("rpush", -3, WDF, 1, 1, 1, &["@write", "@list", "@fast"], lists::rpush),
    command!("lpop", -2, WF, 1, 1, 1, &["@write", "@list", "@fast"], lists::lpop),
    command!("rpop", -2, WF, 1, 1, 1, &["@write", "@list", "@fast"], lists::rpop),
    command!("lrange", 4, &["readonly"], 1, 1, 1, &["@read", "@list", "@slow"], lists::lrange),
    command!("llen", 2, RF, 1, 1, 1, &["@read", "@list", "@fast"], lists::llen),
    command!("expire", -3, WF, 1, 1, 1, &["@keyspace", "@write", "@fast"], expiry::expire),
    command!("ttl", 2, RF, 1, 1, 1, &["@keyspace", "@read", "@fast"], expiry::ttl),
    command!("pttl", 2, RF, 1, 1, 1, &["@keyspace", "@read", "@fast"], expiry::pttl),
    command!("echo", 2, &["loading", "stale", "fast"], 0, 0, 0, &["@fast", "@connection"], connection::echo),
    command!("setnx", 3, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::setnx),
    command!("setex", 4, W, 1, 1, 1, &["@write", "@string", "@slow"], strings::setex),
    command!("psetex", 4, W, 1, 1, 1, &["@write", "@string", "@slow"], strings::psetex),
    command!("getset", 3, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::getset),
    command!("getdel", 2, WF, 1, 1, 1, &["@write", "@string", "@fast"], strings::getdel),
    command!("getex", -2, WF, 1, 1, 1, &["@write", "@string", "@fast"], strings::getex),
    command!("msetnx", -3, W, 1, -1, 2, &["@write", "@string", "@slow"], strings::msetnx),
    command!("decr", 2, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::decr),
    command!("incrby", 3, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::incrby),
    command!("decrby", 3, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::decrby),
    command!("incrbyfloat", 3, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::incrbyfloat),
    command!("append", 3, WDF, 1, 1, 1, &["@write", "@string", "@fast"], strings::append),
    command!("strlen", 2, RF, 1, 1, 1, &["@read", "@string", "@fast"], strings::strlen),
    command!("getrange", 4, &["readonly"], 1, 1, 1, &["@read", "@string", "@slow"], strings::getrange),
    command!("substr", 4, &["readonly"], 1, 1, 1, &["@read", "@string", "@slow"], strings::getrange),
    command!("setrange", 4, W, 1, 1, 1, &["@write", "@string", "@slow"], strings::setrange),
    command!("unlink", -2, WF, 1, -1, 1, &["@keyspace", "@write", "@fast"], keyspace::unlink),
    command!("touch", -2, RF, 1, -1, 1, &["@keyspace", "@read", "@fast"], keyspace::touch),
    command!("type", 2, RF, 1, 1, 1, &["@keyspace", "@read", "@fast"], keyspace::type_),
    command!("rename", 3, &["write"], 1, 2, 1, &["@keyspace", "@write", "@slow"], keyspace::rename),
    command!("renamenx", 3, WF, 1, 2, 1, &["@keyspace", "@write", "@fast"], keyspace::renamenx),
    command!("copy", -3, W, 1, 2, 1, &["@keyspace", "@write", "@slow"], keyspace::copy),
    command!("move", 3, WF, 1, 1, 1, &["@keyspace", "@write", "@fast"], keyspace::move_),
    command!("swapdb", 3, WF, 0, 0, 0, &["@keyspace", "@write", "@fast", "@dangerous"], keyspace::swapdb),
    command!("keys", 2, &["readonly"], 0, 0, 0, &["@keyspace", "@read", "@slow", "@dangerous"], keyspace::keys),
    command!("scan", -2, &["readonly"], 0, 0, 0, &["@keyspace", "@read", "@slow"], keyspace::scan),
    command!("randomkey", 1, &["readonly"], 0, 0, 0, &["@keyspace", "@read", "@slow"], keyspace::randomkey),
    command!("pexpire", -3, WF, 1, 1, 1, &["@keyspace", "@write", "@fast"], expiry::pexpire),
    command!("expireat", -3, WF, 1, 1, 1, &["@keyspace", "@write", "@fast"], expiry::expireat),
    command!("pexpireat", -3, WF, 1, 1, 1, &["@keyspace", "@write", "@fast"], expiry::pexpireat),
    command!("expiretime", 2, RF, 1, 1, 1, &["@keyspace", "@read", "@fast"], expiry::expiretime),
    command!("pexpiretime", 2, RF, 1, 1, 1, &["@keyspace", "@read", "@fast"], expiry::pexpiretime),
    command!("persist", 2, WF, 1, 1, 1, &["@keyspace", "@write", "@fast"], expiry::persist),
    command!("client", -2, &[], 0, 0, 0, &["@slow"], connection::client),
    command!("reset", 1, &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0, &["@fast", "@connection"], connection::reset),
    command!("time", 1, &["loading", "stale", "fast"], 0, 0, 0, &["@fast"], server::time),
    command!("lastsave", 1, &["loading", "stale", "fast"], 0, 0, 0, &["@admin", "@fast", "@dangerous"], persistence::lastsave),
    command!("save", 1, &["admin", "noscript", "no_async_loading", "no_multi"], 0, 0, 0, &["@admin", "@slow", "@dangerous"], persistence::save),
    command!("bgrewriteaof", 1, &["admin", "noscript", "no_async_loading"], 0, 0, 0, &["@admin", "@slow", "@dangerous"], persistence::bgrewriteaof),
    command!("bgsave", -1, &["admin", "noscript", "no_async_loading"], 0, 0, 0, &["@admin", "@slow", "@dangerous"], persistence::bgsave),
    command!("shutdown", -1, &["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"], 0, 0, 0, &["@admin", "@slow", "@dangerous"], persistence::shutdown),
    command!("object", -2, &[], 0, 0, 0, &["@slow"], server::object),
    command!("dump", 2, &["readonly"], 1, 1, 1, &["@keyspace", "@read", "@slow"], dump::dump),
    command!("restore", -4, W, 1, 1, 1, &["@keyspace", "@write", "@slow", "@dangerous"], dump::restore),
    command!("memory", -2, &[], 0, 0, 0, &["@slow"], server::memory),
    command!("slowlog", -2, &[], 0, 0, 0, &["@slow"], server::slowlog),
    command!("latency", -2, &[], 0, 0, 0, &["@slow"], server::latency),
    command!("function", -2, &[], 0, 0, 0, &["@slow"], server::function),
    command!("eval", -3, &["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], 0, 0, 0, &["@slow", "@scripting"], server::no_scripting),
    command!("evalsha", -3, &["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], 0, 0, 0, &["@slow", "@scripting"], server::no_scripting),
    command!("eval_ro", -3, &["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], 0, 0, 0, &["@slow", "@scripting"], server::no_scripting),
    command!("evalsha_ro", -3, &["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], 0, 0, 0, &["@slow", "@scripting"], server::no_scripting),
    command!("fcall", -3, &["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], 0, 0, 0, &["@slow", "@scripting"], server::no_scripting),
    command!("fcall_ro", -3, &["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], 0, 0, 0, &["@slow", "@scripting"], server::no_scripting),
    command!("script", -2, &[], 0, 0, 0, &["@slow"], server::no_scripting),
    command!("zadd", -4, WDF, 1, 1, 1, &["@write", "@sortedset", "@fast"], zsets::zadd),
    command!("zincrby", 4, WDF, 1, 1, 1, &["@write", "@sortedset", "@fast"], zsets::zincrby),
    command!("zrem", -3, WF, 1, 1, 1, &["@write", "@sortedset", "@fast"], zsets::zrem),
    command!("zscore", 3, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zscore),
    command!("zmscore", -3, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zmscore),
    command!("zcard", 2, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zcard),
    command!("zcount", 4, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zcount),
    command!("zlexcount", 4, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zlexcount),
    command!("zrank", 3, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zrank),
    command!("zrevrank", 3, RF, 1, 1, 1, &["@read", "@sortedset", "@fast"], zsets::zrevrank),
    command!("zrange", -4, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrange),
    command!("zrevrange", -4, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrevrange),
    command!("zrangebyscore", -4, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrangebyscore),
    command!("zrevrangebyscore", -4, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrevrangebyscore),
    command!("zrangebylex", -4, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrangebylex),
    command!("zrevrangebylex", -4, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrevrangebylex),
    command!("zpopmin", -2, WF, 1, 1, 1, &["@write", "@sortedset", "@fast"], zsets::zpopmin),
    command!("zpopmax", -2, WF, 1, 1, 1, &["@write", "@sortedset", "@fast"], zsets::zpopmax),
    command!("zremrangebyrank", 4, &["write"], 1, 1, 1, &["@write", "@sortedset", "@slow"], zsets::zremrangebyrank),
    command!("zremrangebyscore", 4, &["write"], 1, 1, 1, &["@write", "@sortedset", "@slow"], zsets::zremrangebyscore),
    command!("zremrangebylex", 4, &["write"], 1, 1, 1, &["@write", "@sortedset", "@slow"], zsets::zremrangebylex),
    command!("zrangestore", -5, W, 1, 2, 1, &["@write", "@sortedset", "@slow"], zsets::zrangestore),
    command!("zunion", -3, &["readonly", "movablekeys"], 0, 0, 0, &["@read", "@sortedset", "@slow"], zsets::zunion),
    command!("zinter", -3, &["readonly", "movablekeys"], 0, 0, 0, &["@read", "@sortedset", "@slow"], zsets::zinter),
    command!("zdiff", -3, &["readonly", "movablekeys"], 0, 0, 0, &["@read", "@sortedset", "@slow"], zsets::zdiff),
    command!("zunionstore", -4, &["write", "denyoom", "movablekeys"], 1, 1, 1, &["@write", "@sortedset", "@slow"], zsets::zunionstore),
    command!("zinterstore", -4, &["write", "denyoom", "movablekeys"], 1, 1, 1, &["@write", "@sortedset", "@slow"], zsets::zinterstore),
    command!("zdiffstore", -4, &["write", "denyoom", "movablekeys"], 1, 1, 1, &["@write", "@sortedset", "@slow"], zsets::zdiffstore),
    command!("zrandmember", -2, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zrandmember),
    command!("zscan", -3, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zscan),
    command!("zquery", 6, &["readonly"], 1, 1, 1, &["@read", "@sortedset", "@slow"], zsets::zquery),
    command!("hset", -4, WDF, 1, 1, 1, &["@write", "@hash", "@fast"], hashes::hset),
    command!("hsetnx", 4, WDF, 1, 1, 1, &["@write", "@hash", "@fast"], hashes::hsetnx),
    command!("hmset", -4, WDF, 1, 1, 1, &["@write", "@hash", "@fast"], hashes::hmset),
    command!("hget", 3, RF, 1, 1, 1, &["@read", "@hash", "@fast"], hashes::hget),
    command!("hmget", -3, RF, 1, 1, 1, &["@read", "@hash", "@fast"], hashes::hmget),
    command!("hdel", -3, WF, 1, 1, 1, &["@write", "@hash", "@fast"], hashes::hdel),
    command!("hlen", 2, RF, 1, 1, 1, &["@read", "@hash", "@fast"], hashes::hlen),
    command!("hstrlen", 3, RF, 1, 1, 1, &["@read", "@hash", "@fast"], hashes::hstrlen),
    command!("hexists", 3, RF, 1, 1, 1, &["@read", "@hash", "@fast"], hashes::hexists),
    command!("hkeys", 2, &["readonly"], 1, 1, 1, &["@read", "@hash", "@slow"], hashes::hkeys),
    command!("hvals", 2, &["readonly"], 1, 1, 1, &["@read", "@hash", "@slow"], hashes::hvals),
    command!("hgetall", 2, &["readonly"], 1, 1, 1, &["@read", "@hash", "@slow"], hashes::hgetall),
    command!("hincrby", 4, WDF, 1, 1, 1, &["@write", "@hash", "@fast"], hashes::hincrby),
    command!("hincrbyfloat", 4, WDF, 1, 1, 1, &["@write", "@hash", "@fast"], hashes::hincrbyfloat),
    command!("hrandfield", -2, &["readonly"], 1, 1, 1, &["@read", "@hash", "@slow"], hashes::hrandfield),
    command!("hscan", -3, &["readonly"], 1, 1, 1, &["@read", "@hash", "@slow"], hashes::hscan),
    command!("sadd", -3, WDF, 1, 1, 1, &["@write", "@set", "@fast"], sets::sadd),
    command!("srem", -3, WF, 1, 1, 1, &["@write", "@set", "@fast"], sets::srem),
    command!("smembers", 2, &["readonly"], 1, 1, 1, &["@read", "@set", "@slow"], sets::smembers),
    command!("sismember", 3, RF, 1, 1, 1, &["@read", "@set", "@fast"], sets::sismember),
    command!("smismember", -3, RF, 1, 1, 1, &["@read", "@set", "@fast"], sets::smismember),
    command!("scard", 2, RF, 1, 1, 1, &["@read", "@set", "@fast"], sets::scard),
    command!("spop", -2, WF, 1, 1, 1, &["@write", "@set", "@fast"], sets::spop),
    command!("srandmember", -2, &["readonly"], 1, 1, 1, &["@read", "@set", "@slow"], sets::srandmember),
    command!("smove", 4, WF, 1, 2, 1, &["@write", "@set", "@fast"], sets::smove),
    command!("sinter", -2, &["readonly"], 1, -1, 1, &["@read", "@set", "@slow"], sets::sinter),
    command!("sintercard", -3, &["readonly", "movablekeys"], 0, 0, 0, &["@read", "@set", "@slow"], sets::sintercard),
    command!("sinterstore", -3, W, 1, -1, 1, &["@write", "@set", "@slow"], sets::sinterstore),
    command!("sunion", -2, &["readonly"], 1, -1, 1, &["@read", "@set", "@slow"], sets::sunion),
    command!("sunionstore", -3, W, 1, -1, 1, &["@write", "@set", "@slow"], sets::sunionstore),
    command!("sdiff", -2, &["readonly"], 1, -1, 1, &["@read", "@set", "@slow"], sets::sdiff),
    command!("sdiffstore", -3, W, 1, -1, 1, &["@write", "@set", "@slow"], sets::sdiffstore),
    command!("sscan", -3, &["readonly"], 1, 1, 1, &["@read", "@set", "@slow"], sets::sscan),
    command!("setbit", 4, W, 1, 1, 1, &["@write", "@bitmap", "@slow"], bitmaps::setbit),
    command!("getbit", 3, RF, 1, 1, 1, &["@read", "@bitmap", "@fast"], bitmaps::getbit),
    command!("bitcount", -2, &["readonly"], 1, 1, 1, &["@read", "@bitmap", "@slow"], bitmaps::bitcount),
    command!("bitpos", -3, &["readonly"], 1, 1, 1, &["@read", "@bitmap", "@slow"], bitmaps::bitpos),
    command!("bitop", -4, W, 2, -1, 1, &["@write", "@bitmap", "@slow"], bitmaps::bitop),
    command!("bitfield", -2, W, 1, 1, 1, &["@write", "@bitmap", "@slow"], bitmaps::bitfield),
    command!("bitfield_ro", -2, RF, 1, 1, 1, &["@read", "@bitmap", "@fast"], bitmaps::bitfield_ro),
    command!("lcs", -3, &["readonly"], 1, 2, 1, &["@read", "@string", "@slow"], bitmaps::lcs),
    command!("sort", -2, &["write", "denyoom", "movablekeys"], 1, 1, 1, &["@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"], sort::sort),
    command!("sort_ro", -2, &["readonly", "movablekeys"], 1, 1, 1, &["@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"], sort::sort_ro),
    command!("zintercard", -3, &["readonly", "movablekeys"], 0, 0, 0, &["@read", "@sortedset", "@slow"], zsets::zintercard),
    command!("zmpop", -4, &["write", "movablekeys"], 0, 0, 0, &["@write", "@sortedset", "@slow"], zsets::zmpop),
    command!("lpushx", -3, WDF, 1, 1, 1, &["@write", "@list", "@fast"], lists::lpushx),
    command!("rpushx", -3, WDF, 1, 1, 1, &["@write", "@list", "@fast"], lists::rpushx),
    command!("lindex", 3, &["readonly"], 1, 1, 1, &["@read", "@list", "@slow"], lists::lindex),
    command!("lset", 4, W, 1, 1, 1, &["@write", "@list", "@slow"], lists::lset),
    command!("ltrim", 4, &["write"], 1, 1, 1, &["@write", "@list", "@slow"], lists::ltrim),
    command!("lrem", 4, &["write"], 1, 1, 1, &["@write", "@list", "@slow"], lists::lrem),
    command!("linsert", 5, W, 1, 1, 1, &["@write", "@list", "@slow"], lists::linsert),
    command!("lpos", -3, &["readonly"], 1, 1, 1, &["@read", "@list", "@slow"], lists::lpos),
    command!("lmove", 5, W, 1, 2, 1, &["@write", "@list", "@slow"], lists::lmove),
    command!("rpoplpush", 3, W, 1, 2, 1, &["@write", "@list", "@slow"], lists::rpoplpush),
    command!("lmpop", -4, &["write", "movablekeys"], 0, 0, 0, &["@write", "@list", "@slow"], lists::lmpop),
    command!("blpop", -3, &["write", "noscript", "blocking"], 1, -2, 1, &["@write", "@list", "@slow", "@blocking"], blocking::blpop),
    command!("brpop", -3, &["write", "noscript", "blocking"], 1, -2, 1, &["@write", "@list", "@slow", "@blocking"], blocking::brpop),
    command!("blmove", 6, &["write", "denyoom", "noscript", "blocking"], 1, 2, 1, &["@write", "@list", "@slow", "@blocking"], blocking::blmove),
    command!("brpoplpush", 4, &["write", "denyoom", "noscript", "blocking"], 1, 2, 1, &["@write", "@list", "@slow", "@blocking"], blocking::brpoplpush),
    command!("blmpop", -5, &["write", "blocking", "movablekeys"], 0, 0, 0, &["@write", "@list", "@slow", "@blocking"], blocking::blmpop),
    command!("bzpopmin", -3, &["write", "noscript", "blocking", "fast"], 1, -2, 1, &["@write", "@sortedset", "@fast", "@blocking"], blocking::bzpopmin),
    command!("bzpopmax", -3, &["write", "noscript", "blocking", "fast"], 1, -2, 1, &["@write", "@sortedset", "@fast", "@blocking"], blocking::bzpopmax),
    command!("bzmpop", -5, &["write", "blocking", "movablekeys"], 0, 0, 0, &["@write", "@sortedset", "@slow", "@blocking"], blocking::bzmpop),
    command!("subscribe", -2, PS, 0, 0, 0, &["@pubsub", "@slow"], pubsub::subscribe),
    command!("unsubscribe", -1, PS, 0, 0, 0, &["@pubsub", "@slow"], pubsub::unsubscribe),
    command!("psubscribe", -2, PS, 0, 0, 0, &["@pubsub", "@slow"], pubsub::psubscribe),
    command!("punsubscribe", -1, PS, 0, 0, 0, &["@pubsub", "@slow"], pubsub::punsubscribe),
    command!("publish", 3, PUB, 0, 0, 0, &["@pubsub", "@fast"], pubsub::publish),
    command!("ssubscribe", -2, PS, 1, -1, 1, &["@pubsub", "@slow"], pubsub::ssubscribe),
    command!("sunsubscribe", -1, PS, 1, -1, 1, &["@pubsub", "@slow"], pubsub::sunsubscribe),
    command!("spublish", 3, PUB, 1, 1, 1, &["@pubsub", "@fast"], pubsub::spublish),
    command!("pubsub", -2, &[], 0, 0, 0, &["@slow"], pubsub::pubsub),
    command!("monitor", 1, &["admin", "noscript", "loading", "stale"], 0, 0, 0, &["@admin", "@slow", "@dangerous"], server::monitor),
    command!("multi", 1, TX, 0, 0, 0, &["@fast", "@transaction"], transactions::multi),
    command!("exec", 1, &["noscript", "loading", "stale", "skip_slowlog"], 0, 0, 0, &["@slow", "@transaction"], transactions::exec),
    command!("discard", 1, TX, 0, 0, 0, &["@fast", "@transaction"], transactions::discard),
    command!("watch", -2, TX, 1, -1, 1, &["@fast", "@transaction"], transactions::watch),
    command!("unwatch", 1, TX, 0, 0, 0, &["@fast", "@transaction"], transactions::unwatch),
    command!("select", 2, &["loading", "stale", "fast"], 0, 0, 0, &["@fast", "@connection"], connection::select),
    command!("hello", -1, &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0, &["@fast", "@connection"], connection::hello),
    command!("quit", -1, &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0, &["@fast", "@connection"], connection::quit),
    command!("auth", -2, &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0, &["@fast", "@connection"], connection::auth),
    command!("acl", -2, &[], 0, 0, 0, &["@slow"], acl::acl),
    command!("dbsize", 1, RF, 0, 0, 0, &["@keyspace", "@read", "@fast"], keyspace::dbsize),
    command!("flushdb", -1, &["write"], 0, 0, 0, &["@keyspace", "@write", "@slow", "@dangerous"], keyspace::flushdb),
    command!("flushall", -1, &["write"], 0, 0, 0, &["@keyspace", "@write", "@slow", "@dangerous"], keyspace::flushall),
    command!("command", -1, &["loading", "stale"], 0, 0, 0, &["@slow", "@connection"], server::command),
    command!("config", -2, &[], 0, 0, 0, &["@slow"], server::config),
    command!("info", -1, &["loading", "stale"], 0, 0, 0, &["@slow", "@dangerous"], server::info),
];

/// SORT's keys: the sorted key, and for SORT (not SORT_RO) the destination of STORE, as
/// Redis's `sortGetKeys` finds it (skipping LIMIT's two arguments and GET's and BY's one).
fn sort_keys(name: &str, args: &Args<'_>) -> Vec<usize> {
    let mut keys = alloc::vec![1];
    if name != "sort" {
        return keys;
    }
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        let skip = if a.eq_ignore_ascii_case(b"LIMIT") {
            2
        } else if a.eq_ignore_ascii_case(b"GET") || a.eq_ignore_ascii_case(b"BY") {
            1
        } else if a.eq_ignore_ascii_case(b"STORE") {
            // The last STORE wins, and the word after it is looked at again as an option,
            // as in Redis.
            if i + 1 < args.len() {
                store = Some(i + 1);
            }
            0
        } else {
            0
        };
        i += 1 + skip;
    }
    keys.extend(store);
    keys
}

/// Finds a command by name, ignoring ASCII case.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    lookup_index(name).map(|(_, c)| c)
}

/// Finds a command and its index in [`COMMANDS`] by name, ignoring ASCII case.
pub fn lookup_index(name: &[u8]) -> Option<(usize, &'static Command)> {
    COMMANDS
        .iter()
        .enumerate()
        .find(|(_, c)| c.name.len() == name.len() && c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// At most `max` bytes of `s`, cut at the first NUL (Redis formats these with `%s`).
fn c_str_prefix(s: &[u8], max: usize) -> &[u8] {
    let s = s.get(..max).unwrap_or(s);
    match s.iter().position(|&b| b == 0) {
        Some(nul) => s.get(..nul).unwrap_or(s),
        None => s,
    }
}

/// Writes Redis's unknown-command error: the name and then the arguments, each quoted,
/// cut so that the argument list stops growing once it reaches 128 bytes
/// (Redis `processCommand`). CR and LF show as spaces.
fn unknown_command(args: &Args<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"-ERR unknown command '");
    encode::error_body(out, c_str_prefix(args.get(0), 128));
    out.extend_from_slice(b"', with args beginning with: ");
    let mut len = 0usize;
    for arg in args.iter().skip(1) {
        if len >= 128 {
            break;
        }
        let part = c_str_prefix(arg, 128 - len);
        out.push(b'\'');
        encode::error_body(out, part);
        out.extend_from_slice(b"' ");
        len += part.len() + 3;
    }
    out.extend_from_slice(b"\r\n");
}

/// Subcommand names of the container commands, as CLIENT LIST shows them (`client|list`).
const SUBCOMMANDS: &[&str] = &[
    "count",
    "docs",
    "flush",
    "get",
    "getkeys",
    "getname",
    "help",
    "id",
    "info",
    "kill",
    "list",
    "no-evict",
    "no-touch",
    "reply",
    "resetstat",
    "set",
    "setinfo",
    "setname",
    "usage",
    "doctor",
    "stats",
    "malloc-stats",
    "purge",
    "len",
    "reset",
    "encoding",
    "refcount",
    "idletime",
    "freq",
    "channels",
    "numpat",
    "numsub",
    "shardchannels",
    "shardnumsub",
    "pause",
    "unpause",
    "cat",
    "deluser",
    "dryrun",
    "genpass",
    "getuser",
    "load",
    "log",
    "save",
    "setuser",
    "users",
    "whoami",
    "latest",
    "history",
    "graph",
    "histogram",
];

/// The subcommands INFO commandstats and latencystats count apart from their container
/// (`cmdstat_client|id`), sorted: redis-server 7.0.15's subcommands of the containers whose
/// names `SUBCOMMANDS` knows. Their counter slots follow the commands' (see
/// [`stat_slot`]).
pub const STAT_SUBCOMMANDS: &[&str] = &[
    "acl|cat",
    "acl|deluser",
    "acl|dryrun",
    "acl|genpass",
    "acl|getuser",
    "acl|help",
    "acl|list",
    "acl|load",
    "acl|log",
    "acl|save",
    "acl|setuser",
    "acl|users",
    "acl|whoami",
    "client|getname",
    "client|help",
    "client|id",
    "client|info",
    "client|kill",
    "client|list",
    "client|no-evict",
    "client|pause",
    "client|reply",
    "client|setname",
    "client|unpause",
    "command|count",
    "command|docs",
    "command|getkeys",
    "command|help",
    "command|info",
    "command|list",
    "config|get",
    "config|help",
    "config|resetstat",
    "config|set",
    "function|flush",
    "function|help",
    "function|kill",
    "function|list",
    "function|load",
    "function|stats",
    "latency|doctor",
    "latency|graph",
    "latency|help",
    "latency|histogram",
    "latency|history",
    "latency|latest",
    "latency|reset",
    "memory|doctor",
    "memory|help",
    "memory|malloc-stats",
    "memory|purge",
    "memory|stats",
    "memory|usage",
    "object|encoding",
    "object|freq",
    "object|help",
    "object|idletime",
    "object|refcount",
    "pubsub|channels",
    "pubsub|help",
    "pubsub|numpat",
    "pubsub|numsub",
    "pubsub|shardchannels",
    "pubsub|shardnumsub",
    "slowlog|get",
    "slowlog|help",
    "slowlog|len",
    "slowlog|reset",
];

/// Counter slots a worker has: one a command of [`COMMANDS`], then one a subcommand of
/// [`STAT_SUBCOMMANDS`].
pub fn stat_slots() -> usize {
    COMMANDS.len() + STAT_SUBCOMMANDS.len()
}

/// The counter slot of command `index` run with subcommand `sub` (as `Session::cmd` holds
/// it, "" for none): the subcommand's own slot when it has one, else the command's.
#[inline]
pub fn stat_slot(index: usize, sub: &str) -> usize {
    if sub.is_empty() {
        index
    } else {
        sub_slot(index, sub)
    }
}

#[cold]
#[inline(never)]
fn sub_slot(index: usize, sub: &str) -> usize {
    let Some(cmd) = COMMANDS.get(index) else {
        return index;
    };
    STAT_SUBCOMMANDS
        .binary_search_by(|full| {
            let (c, s) = full.split_once('|').unwrap_or((full, ""));
            c.cmp(cmd.name).then(s.cmp(sub))
        })
        .map_or(index, |k| COMMANDS.len() + k)
}

/// The name INFO shows for counter slot `slot` (`set`, `client|id`).
pub fn stat_name(slot: usize) -> &'static str {
    match COMMANDS.get(slot) {
        Some(c) => c.name,
        None => slot
            .checked_sub(COMMANDS.len())
            .and_then(|k| STAT_SUBCOMMANDS.get(k))
            .copied()
            .unwrap_or(""),
    }
}

/// The slots in the order INFO lists them: each command, followed by its subcommands.
pub fn stat_order() -> impl Iterator<Item = usize> {
    (0..COMMANDS.len()).flat_map(|i| {
        let name = COMMANDS.get(i).map_or("", |c| c.name);
        let subs = STAT_SUBCOMMANDS
            .iter()
            .enumerate()
            .filter(move |(_, full)| full.split_once('|').is_some_and(|(c, _)| c == name))
            .map(|(k, _)| COMMANDS.len() + k);
        core::iter::once(i).chain(subs)
    })
}

/// The subcommand of a container command, if it is a known one; "" otherwise.
fn subcommand_name(cmd: &Command, args: &Args<'_>) -> &'static str {
    if !is_container(cmd) {
        return "";
    }
    let sub = args.get(1);
    SUBCOMMANDS
        .iter()
        .find(|s| sub.eq_ignore_ascii_case(s.as_bytes()))
        .copied()
        .unwrap_or("")
}

/// Whether `cmd` is a container of subcommands (CLIENT, CONFIG, ...): found by its static
/// name, no case-folding on the hot path (inlined: every command asks, and all but the
/// flagless ones answer at the first test).
#[inline(always)]
fn is_container(cmd: &Command) -> bool {
    const CONTAINERS: [&str; 10] = [
        "client", "config", "command", "function", "object", "memory", "pubsub", "acl", "slowlog",
        "latency",
    ];
    // Every container but COMMAND has no flags of its own: one test for everyone else.
    (cmd.flags == 0 || cmd.name == "command") && CONTAINERS.contains(&cmd.name)
}

/// What a RESP2 client in subscriber mode may run.
const SUBSCRIBER_COMMANDS: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Commands without the `write` flag that Redis flags may-replicate (a hidden flag):
/// CLIENT PAUSE WRITE holds them back too, and a monitor may not run them.
const MAY_REPLICATE: &[&str] = &["publish", "spublish", "eval", "evalsha", "fcall", "pfcount"];

impl Command {
    /// Whether the slow log leaves the command out (its flags say `skip_slowlog`: EXEC).
    pub fn skips_slowlog(&self) -> bool {
        flag!(self, "skip_slowlog")
    }

    /// Whether Redis flags the command `fast` (its latency samples are `fast-command`).
    pub fn is_fast(&self) -> bool {
        flag!(self, "fast")
    }

    /// Whether the command only reads the keyspace (its flags say `readonly`).
    pub fn is_read(&self) -> bool {
        flag!(self, "readonly")
    }

    /// Whether CLIENT PAUSE WRITE holds the command back: a write, or a command Redis
    /// flags may-replicate (PUBLISH, SPUBLISH, EVAL, EVALSHA, FCALL).
    pub fn may_replicate(&self) -> bool {
        self.is_write() || MAY_REPLICATE.contains(&self.name)
    }

    /// Whether MONITOR does not show the command: Redis's admin commands and
    /// subcommands (MONITOR, CONFIG GET/SET/RESETSTAT/REWRITE, CLIENT
    /// KILL/LIST/NO-EVICT/PAUSE/UNBLOCK/UNPAUSE, ACL but CAT/GENPASS/HELP/WHOAMI), "too
    /// dangerous to be shown".
    fn hidden_from_monitors(&self, args: &Args<'_>) -> bool {
        let sub = args.get(1);
        let any = |names: &[&str]| names.iter().any(|n| sub.eq_ignore_ascii_case(n.as_bytes()));
        flag!(self, "admin")
            || match self.name {
                "client" => any(&["kill", "list", "no-evict", "pause", "unblock", "unpause"]),
                "config" => any(&["get", "set", "resetstat", "rewrite"]),
                "acl" => any(&[
                    "deluser", "dryrun", "getuser", "list", "load", "log", "save", "setuser",
                    "users",
                ]),
                _ => false,
            }
    }
}

/// The header of the RESP value at `at` of Redis's (trusted, generated) command
/// metadata: its type byte, its number (length or count; 0 for other types) and where
/// its body starts.
pub(crate) fn resp_header(b: &[u8], at: usize) -> Option<(u8, i64, usize)> {
    let line_end = at + b.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let kind = *b.get(at)?;
    let head = b.get(at + 1..line_end)?;
    let n = match kind {
        b'$' | b'*' | b':' => core::str::from_utf8(head).ok()?.parse::<i64>().ok()?,
        _ => 0,
    };
    Some((kind, n, line_end + 2))
}

/// Skips one RESP value of the metadata at `at`; returns where the next one starts.
/// Metadata nests a few levels at most.
pub(crate) fn skip_resp(b: &[u8], at: usize) -> Option<usize> {
    let (kind, n, mut next) = resp_header(b, at)?;
    match kind {
        b'$' => next += usize::try_from(n).ok()? + 2,
        b'*' => {
            for _ in 0..n.max(0) {
                next = skip_resp(b, next)?;
            }
        }
        _ => {}
    }
    Some(next)
}

/// One subcommand of a container command, from Redis's metadata: its full name
/// (`client|list`), its ACL categories (`@slow`, ...) and whether it is flagged `no_auth`.
pub(crate) struct SubMeta {
    /// `container|sub`.
    pub name: &'static [u8],
    /// Its arity.
    pub arity: i32,
    /// Categories as COMMAND INFO lists them (with the `@`).
    pub categories: Vec<&'static [u8]>,
}

/// The subcommands of container `cmd` (none for other commands), in the metadata's order
/// (sorted by name).
pub(crate) fn subcommands_of(cmd: &Command) -> Vec<SubMeta> {
    let mut found = Vec::new();
    let Some(m) = meta::meta(cmd.name) else {
        return found;
    };
    let tail = m.info_tail();
    let Some((_, count, mut at)) = skip_resp(tail, 0)
        .and_then(|a| skip_resp(tail, a))
        .and_then(|a| resp_header(tail, a))
    else {
        return found;
    };
    for _ in 0..count.max(0) {
        let entry = at;
        let Some(next) = skip_resp(tail, at) else {
            break;
        };
        at = next;
        let parse = || -> Option<SubMeta> {
            let (_, _, name_at) = resp_header(tail, entry)?;
            let (_, len, body) = resp_header(tail, name_at)?;
            let name = tail.get(body..body + usize::try_from(len).ok()?)?;
            // arity, flags, first, last, step, then the categories.
            let mut p = skip_resp(tail, name_at)?;
            let (_, arity, _) = resp_header(tail, p)?;
            let arity = i32::try_from(arity).ok()?;
            for _ in 0..5 {
                p = skip_resp(tail, p)?;
            }
            let (_, n, mut c) = resp_header(tail, p)?;
            let mut categories = Vec::new();
            for _ in 0..n.max(0) {
                let (_, _, next) = resp_header(tail, c)?;
                categories.push(tail.get(c + 1..next.checked_sub(2)?)?);
                c = next;
            }
            Some(SubMeta {
                name,
                arity,
                categories,
            })
        };
        if let Some(s) = parse() {
            found.push(s);
        }
    }
    found
}

/// Whether `args` names a subcommand of container `cmd` that Redis knows, with the right
/// arity: `None` if it does (or `cmd` is no container), else Redis's rejection text,
/// which processCommand gives before anything else (the subscriber-mode check, MULTI's
/// queueing). Read from the COMMAND INFO metadata, for container commands only.
fn subcommand_rejection(cmd: &Command, args: &Args<'_>) -> Option<Vec<u8>> {
    if !is_container(cmd) {
        return None;
    }
    let m = meta::meta(cmd.name)?;
    let tail = m.info_tail();
    // tips, key specs, then the subcommands: arrays of (name, arity, ...).
    let (_, count, mut at) = resp_header(tail, skip_resp(tail, skip_resp(tail, 0)?)?)?;
    let sub = args.get(1);
    for _ in 0..count.max(0) {
        let entry = at;
        at = skip_resp(tail, at)?;
        let (_, _, name_at) = resp_header(tail, entry)?;
        let (_, name_len, name_body) = resp_header(tail, name_at)?;
        let name = tail.get(name_body..name_body + usize::try_from(name_len).ok()?)?;
        let (_, arity, _) = resp_header(tail, name_body + name.len() + 2)?;
        let short = name.split(|&c| c == b'|').nth(1)?;
        if short.eq_ignore_ascii_case(sub) {
            let probe = Command {
                arity: i32::try_from(arity).ok()?,
                ..*cmd
            };
            if probe.arity_ok(args.len()) {
                return None;
            }
            let mut e = b"wrong number of arguments for '".to_vec();
            e.extend_from_slice(name);
            e.extend_from_slice(b"' command");
            return Some(e);
        }
    }
    let mut e = b"unknown subcommand '".to_vec();
    encode::error_body(&mut e, c_str_prefix(sub, 128));
    e.extend_from_slice(b"'. Try ");
    e.extend(cmd.name.bytes().map(|b| b.to_ascii_uppercase()));
    e.extend_from_slice(b" HELP.");
    Some(e)
}

/// Refuses a command before it runs (Redis's `rejectCommand`): `-ERR <msg>`, counted as
/// rejected, and the open transaction, if any, will abort. EXEC refused this way discards
/// the transaction and answers `-EXECABORT Transaction discarded because of: <msg>`, and
/// monitors see it (Redis's `execCommandAbort`).
fn reject(
    ctx: &mut Ctx<'_>,
    found: (usize, &Command),
    args: &Args<'_>,
    out: &mut Vec<u8>,
    msg: &[&[u8]],
) -> (Flow, Option<usize>) {
    reject_with(ctx, found, args, out, b"ERR ", msg)
}

/// As [`reject`], with the error's code (`ERR `, `MISCONF `, ...).
fn reject_with(
    ctx: &mut Ctx<'_>,
    (index, cmd): (usize, &Command),
    args: &Args<'_>,
    out: &mut Vec<u8>,
    code: &[u8],
    msg: &[&[u8]],
) -> (Flow, Option<usize>) {
    if let Some(c) = ctx
        .stats
        .per_command
        .get(stat_slot(index, ctx.session.cmd.1))
    {
        c.rejected.bump(1);
    }
    let mark = out.len();
    let r = reject_reply(ctx, cmd, args, out, code, msg);
    count_error(ctx, out.get(mark..).unwrap_or_default());
    r
}

/// Counts an error reply for INFO's `total_error_replies` and Errorstats (out of line:
/// errors are the rare path). Every error reply of a command passes here once: the
/// rejections, the unknown command, and the replies of commands that failed.
#[cold]
#[inline(never)]
fn count_error(ctx: &Ctx<'_>, reply: &[u8]) {
    ctx.engine.stats.errors.lock().record(reply);
}

/// The reply of [`reject_with`].
fn reject_reply(
    ctx: &mut Ctx<'_>,
    cmd: &Command,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    code: &[u8],
    msg: &[&[u8]],
) -> (Flow, Option<usize>) {
    if cmd.name == "exec" {
        ctx.session.multi = None;
        transactions::unwatch_all(ctx);
        out.extend_from_slice(b"-EXECABORT Transaction discarded because of: ");
        if code != b"ERR " {
            out.extend_from_slice(code);
        }
        msg.iter().for_each(|m| out.extend_from_slice(m));
        out.extend_from_slice(b"\r\n");
        if !ctx.engine.monitors.is_empty() {
            let s = &ctx.session;
            ctx.engine.feed_monitors(ctx.now, s.db, &s.addr, args);
        }
        return (Flow::Continue, None);
    }
    if let Some(m) = ctx.session.multi.as_mut() {
        m.failed = true;
    }
    out.push(b'-');
    out.extend_from_slice(code);
    msg.iter().for_each(|m| out.extend_from_slice(m));
    out.extend_from_slice(b"\r\n");
    (Flow::Continue, None)
}

/// Whether the pause in force holds `cmd` back for this client; if it does, the client
/// is queued to resume when the pause ends (see [`crate::pause`]).
#[cold]
fn postpone(ctx: &mut Ctx<'_>, cmd: &Command) -> bool {
    let write = cmd.may_replicate()
        || (cmd.name == "exec"
            && ctx.session.multi.as_ref().is_some_and(|m| {
                m.queue.iter().any(|q| {
                    q.first()
                        .and_then(|n| lookup(n))
                        .is_some_and(Command::may_replicate)
                })
            }));
    let s = &ctx.session;
    let who = crate::pubsub::Sub {
        client: s.id,
        worker: s.worker,
        token: s.token,
    };
    let e = ctx.engine;
    e.pause
        .try_postpone(ctx.now.unix.0, who, write, e.dbs(), &e.blocking)
}

/// The checks a command passes before it runs or is queued when the client is in MULTI,
/// subscribed, a monitor, or a pause is in force (not inside EXEC), in Redis's order:
/// the subcommand lookup, subscriber mode, a monitor's keyspace ban, CLIENT PAUSE. `Some`
/// when the command is refused or postponed (what `dispatch` returns).
/// The error after `-MISCONF ` while writes are refused because the last background save
/// failed (Redis's text).
const MISCONF: &[u8] = b"Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Whether the transaction queued by this session holds a command not allowed while the
/// dataset loads.
fn queue_denies_loading(ctx: &Ctx<'_>) -> bool {
    ctx.session.multi.as_ref().is_some_and(|m| {
        m.queue.iter().any(|c| {
            c.first()
                .and_then(|n| lookup(n))
                .is_some_and(|cmd| !flag!(cmd, "loading"))
        })
    })
}

/// Whether the transaction queued by this session holds a write command.
fn queue_writes(ctx: &Ctx<'_>) -> bool {
    ctx.session.multi.as_ref().is_some_and(|m| {
        m.queue.iter().any(|c| {
            c.first()
                .and_then(|n| lookup(n))
                .is_some_and(Command::is_write)
        })
    })
}

/// The error after `-OOM ` (Redis's `shared.oomerr`).
const OOM: &[u8] = b"command not allowed when used memory > 'maxmemory'.";

/// While `maxmemory` is set: evicts as the policy says ([`crate::engine::Engine::perform_evictions`],
/// under this worker's gate); when that fails, refuses a `denyoom` command, an EXEC whose
/// queue holds one, and any command queued in MULTI but EXEC, DISCARD, QUIT and RESET.
fn oom_check(
    ctx: &mut Ctx<'_>,
    found: (usize, &Command),
    args: &Args<'_>,
    out: &mut Vec<u8>,
) -> Option<(Flow, Option<usize>)> {
    let e = ctx.engine;
    let limit = e.evictor.limit.load(crate::sync::Ordering::Relaxed);
    // Under the limit (most commands while it is set): no gate, no eviction.
    if limit == 0 || e.used_memory_fast() <= limit {
        return None;
    }
    let outcome = {
        let _gate = e.gate(ctx.session.worker);
        e.perform_evictions(ctx.now.unix)
    };
    if outcome != crate::evict::Outcome::Fail {
        return None;
    }
    let cmd = found.1;
    let denyoom = |c: &Command| flag!(c, "denyoom");
    let refuse = denyoom(cmd)
        || (cmd.name == "exec"
            && ctx.session.multi.as_ref().is_some_and(|m| {
                m.queue
                    .iter()
                    .any(|q| q.first().and_then(|n| lookup(n)).is_some_and(denyoom))
            }))
        || (ctx.session.multi.is_some()
            && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset"));
    refuse.then(|| reject_with(ctx, found, args, out, b"OOM ", &[OOM]))
}

#[cold]
#[inline(never)]
fn gatekeep(
    ctx: &mut Ctx<'_>,
    (index, cmd): (usize, &Command),
    args: &Args<'_>,
    out: &mut Vec<u8>,
) -> Option<(Flow, Option<usize>)> {
    // Redis looks the subcommand up (existence, arity) before queueing, before the
    // subscriber-mode check and before a pause holds the command; elsewhere the
    // container command says so itself.
    if let Some(msg) = subcommand_rejection(cmd, args) {
        return Some(reject(ctx, (index, cmd), args, out, &[&msg]));
    }
    // Authentication, then (after the MULTI check) the ACL, as processCommand; the
    // unrestricted default user skips both.
    let acl_free = ctx.session.user.is_none() && ctx.engine.acl.open();
    if !acl_free
        && ctx.engine.acl.auth_needed()
        && !ctx.session.authenticated
        && !flag!(cmd, "no_auth")
    {
        return Some(reject_with(
            ctx,
            (index, cmd),
            args,
            out,
            b"NOAUTH ",
            &[b"Authentication required."],
        ));
    }
    if ctx.session.multi.is_some() && flag!(cmd, "no_multi") {
        return Some(reject(
            ctx,
            (index, cmd),
            args,
            out,
            &[b"Command not allowed inside a transaction"],
        ));
    }
    if !acl_free {
        if let Some(done) = acl::check(ctx, (index, cmd), args, out) {
            return Some(done);
        }
    }
    // maxmemory: evict, or refuse what may grow memory (Redis's processCommand, after the
    // ACL and before MISCONF).
    if let Some(done) = oom_check(ctx, (index, cmd), args, out) {
        return Some(done);
    }
    // A failed background save stops writes (and PING), before subscriber mode and
    // MULTI queueing, as Redis's processCommand.
    let persist = ctx
        .engine
        .persist
        .flags
        .load(crate::sync::Ordering::Relaxed);
    if persist & crate::persist::DENY_WRITES != 0
        && (cmd.is_write() || cmd.name == "ping" || (cmd.name == "exec" && queue_writes(ctx)))
        && ctx.engine.writes_denied()
    {
        return Some(reject_with(
            ctx,
            (index, cmd),
            args,
            out,
            b"MISCONF ",
            &[MISCONF],
        ));
    }
    if ctx.session.subs.total() > 0 && !SUBSCRIBER_COMMANDS.contains(&cmd.name) {
        // RESP2 subscriber mode (Redis's processCommand, after the arity check; the
        // commands of an EXEC that subscribed run, as in Redis).
        let sub = subcommand_name(cmd, args);
        let msg: &[&[u8]] = &[
            b"Can't execute '",
            cmd.name.as_bytes(),
            if sub.is_empty() { b"" } else { b"|" },
            sub.as_bytes(),
            b"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        ];
        return Some(reject(ctx, (index, cmd), args, out, msg));
    }
    // While the dataset loads, only commands flagged `loading` run (EXEC only if its
    // queue holds nothing else).
    if persist & crate::persist::LOADING != 0
        && (!flag!(cmd, "loading") || (cmd.name == "exec" && queue_denies_loading(ctx)))
    {
        return Some(reject_with(
            ctx,
            (index, cmd),
            args,
            out,
            b"LOADING ",
            &[b"Redis is loading the dataset in memory"],
        ));
    }
    if ctx.session.monitor && (cmd.is_read() || cmd.may_replicate()) {
        // Redis marks a monitor as a replica, and replicas may not touch the keyspace.
        return Some(reject(
            ctx,
            (index, cmd),
            args,
            out,
            &[b"Replica can't interact with the keyspace"],
        ));
    }
    if ctx.engine.pause.mode() != crate::pause::Mode::Off
        && !ctx.session.monitor
        && postpone(ctx, cmd)
    {
        return Some((Flow::Postpone, None));
    }
    None
}

/// Runs one command and writes its reply. Returns what the connection does next and the
/// index of the command that ran (for its timing), if one ran.
///
/// The checks come in Redis's order (`processCommand`): unknown command, arity, RESP2
/// subscriber mode, a monitor touching the keyspace, CLIENT PAUSE, then MULTI queueing;
/// monitors see every command that ran (after it ran, as Redis's `call()`), except the
/// admin ones.
pub fn dispatch(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> (Flow, Option<usize>) {
    let name = args.get(0);
    if name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:") {
        // Someone is speaking HTTP to us (Redis's securityWarningCommand): say nothing.
        return (Flow::CloseSilently, None);
    }
    let Some((index, cmd)) = lookup_index(name) else {
        ctx.session.cmd = ("", "");
        let mark = out.len();
        unknown_command(args, out);
        count_error(ctx, out.get(mark..).unwrap_or_default());
        if let Some(m) = ctx.session.multi.as_mut() {
            m.failed = true;
        }
        return (Flow::Continue, None);
    };
    // As Redis's lastcmd: set once the command is found, whether it runs, is queued or
    // is rejected.
    ctx.session.cmd = (cmd.name, subcommand_name(cmd, args));
    let counters = ctx
        .stats
        .per_command
        .get(stat_slot(index, ctx.session.cmd.1));
    if !cmd.arity_ok(args.len()) {
        let msg: &[&[u8]] = &[
            b"wrong number of arguments for '",
            cmd.name.as_bytes(),
            b"' command",
        ];
        return reject(ctx, (index, cmd), args, out, msg);
    }
    // Subscriber mode, MULTI, MONITOR and CLIENT PAUSE are rare: their checks are out of
    // line, behind one test.
    if (ctx.session.multi.is_some()
        || ctx.session.user.is_some()
        || !ctx.engine.acl.open()
        || ctx.session.monitor
        || ctx.session.subs.total() > 0
        || ctx.engine.pause.mode() != crate::pause::Mode::Off
        || ctx
            .engine
            .persist
            .flags
            .load(crate::sync::Ordering::Relaxed)
            != 0
        || ctx
            .engine
            .evictor
            .limit
            .load(crate::sync::Ordering::Relaxed)
            != 0)
        && !ctx.session.in_exec
        && !ctx.session.loader
    {
        if let Some(done) = gatekeep(ctx, (index, cmd), args, out) {
            return done;
        }
    } else if ctx.session.monitor && (cmd.is_read() || cmd.may_replicate()) {
        // A monitor inside EXEC (the queue was checked when it was built).
        return reject(
            ctx,
            (index, cmd),
            args,
            out,
            &[b"Replica can't interact with the keyspace"],
        );
    }
    if ctx.session.multi.is_some()
        && !matches!(
            cmd.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        transactions::queue(ctx, args, out);
        return (Flow::Continue, None);
    }
    // Every command but EXEC runs under this worker's gate (read side); EXEC takes the
    // write side of all of them (see `Engine::exclusive`). Inside EXEC it is held already.
    // SAVE neither: it starts a snapshot, which waits for every gate (see
    // `Engine::begin_snapshot`).
    let _gate = if ctx.session.in_exec || cmd.ungated {
        None
    } else {
        Some(ctx.engine.gate(ctx.session.worker))
    };
    let mark = out.len();
    if !ctx.engine.watches.is_empty() && (cmd.name.starts_with("flush") || cmd.name == "swapdb") {
        blocking::touch_before_flush(ctx, cmd, args);
    }
    // Scripts are shown before they run (Redis feeds them from evalCommand and fcall,
    // which are `skip_monitor` for `call()`).
    let script = !ctx.engine.monitors.is_empty() && flag!(cmd, "skip_monitor");
    if script {
        let s = &ctx.session;
        ctx.engine.feed_monitors(ctx.now, s.db, &s.addr, args);
    }
    ctx.session.touched = None;
    let result = if cmd.is_write() && ctx.engine.feed.is_on() && !ctx.session.loader {
        run_logged(ctx, cmd, args, out)
    } else {
        let result = (cmd.run)(ctx, args, out);
        if let Err(e) = &result {
            e.reply(cmd, args, out);
        } else if cmd.is_write() {
            // Redis's `dirty`: one change a write command, or the keys it says it changed.
            let changes = ctx.session.touched.as_ref().map_or(1, Vec::len);
            ctx.stats.dirty.bump(changes);
            blocking::signal(ctx, cmd, args);
        }
        result
    };
    // What Redis refuses before running (an unknown subcommand, a subcommand's arity)
    // is not shown to monitors.
    let refused = matches!(
        result,
        Err(Error::UnknownSubcommand | Error::SubcommandArity(_))
    );
    if !ctx.engine.monitors.is_empty() && !script && !refused && !cmd.hidden_from_monitors(args) {
        let s = &ctx.session;
        match acl::redacted(cmd, args) {
            Some((src, ranges)) => {
                let shown = Args::new(&src, &ranges);
                ctx.engine.feed_monitors(ctx.now, s.db, &s.addr, &shown);
            }
            None => ctx.engine.feed_monitors(ctx.now, s.db, &s.addr, args),
        }
    }
    if refused {
        // Redis refuses these before `call()`: no call of anything is counted; a
        // subcommand's arity is a rejected call of the subcommand.
        if let (Err(Error::SubcommandArity(_)), Some(c)) = (&result, counters) {
            c.rejected.bump(1);
        }
        count_error(ctx, out.get(mark..).unwrap_or_default());
        return (Flow::Continue, None);
    }
    // After the command, as Redis's `call()`: INFO does not count itself.
    ctx.stats.commands.bump(1);
    if let Some(c) = counters {
        c.calls.bump(1);
    }
    if out.get(mark) == Some(&b'-') {
        if let Some(c) = counters {
            c.failed.bump(1);
        }
        count_error(ctx, out.get(mark..).unwrap_or_default());
    }
    let flow = if ctx.session.quit {
        Flow::CloseAfterReply
    } else {
        Flow::Continue
    };
    (flow, Some(index))
}

/// Runs a write command while the append-only file records (out of line: the plain path
/// pays one load for it): under the feed's order lock (with the blocked clients it
/// serves), so records follow the keyspace's order (EXEC holds every gate instead), then
/// records it. Answers its error, as the plain path does.
#[inline(never)]
fn run_logged(ctx: &mut Ctx<'_>, cmd: &Command, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let engine = ctx.engine;
    let feed = &engine.feed;
    let _order = (!ctx.session.in_exec).then(|| feed.order());
    ctx.session.propagate = None;
    if ctx.session.in_exec {
        // MULTI before anything the transaction records.
        feed.begin_exec();
    }
    expire_named_keys(ctx, cmd, args);
    let result = (cmd.run)(ctx, args, out);
    if let Err(e) = &result {
        e.reply(cmd, args, out);
    } else {
        let changes = ctx.session.touched.as_ref().map_or(1, Vec::len);
        ctx.stats.dirty.bump(changes);
        record(ctx, args);
        blocking::signal(ctx, cmd, args);
    }
    result
}

/// Before a write command runs while the append-only file records: its key arguments whose
/// time has passed are removed and recorded as `DEL` (as Redis's `lookupKeyWrite` expires
/// and propagates them). Otherwise such a key stays, invisible, and the command's record,
/// replayed with time stopped, would meet it alive: a store command would read it, an
/// XX/NX condition or a MOVE would find it. See [`crate::db::Db::set_keep_expired`].
#[inline(never)]
fn expire_named_keys(ctx: &Ctx<'_>, cmd: &Command, args: &Args<'_>) {
    let db = ctx.db();
    for i in cmd.key_positions(args).unwrap_or_default() {
        db.expire_stale(args.get(i), ctx.now.unix);
    }
}

/// Records the write command that just ran in the append-only file: what it said to
/// record ([`Ctx::propagate`]) or its arguments; inside EXEC after a MULTI. Remembers the
/// offset when replies wait for the fsync.
#[inline(never)]
fn record(ctx: &mut Ctx<'_>, args: &Args<'_>) {
    let feed = &ctx.engine.feed;
    let db = ctx.session.db;
    let list = ctx.session.propagate.take();
    if list.as_ref().is_some_and(Vec::is_empty) {
        // Nothing of its own (what it did, e.g. a served pop, may be recorded already).
        if feed.holds_replies() {
            ctx.session.aof_seq = Some(feed.recorded());
        }
        return;
    }
    let end = match list {
        None => {
            let argv: Vec<&[u8]> = args.iter().collect();
            feed.record(db, &argv)
        }
        Some(list) => {
            let mut end = feed.recorded();
            for c in &list {
                let argv: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
                end = feed.record(db, &argv);
            }
            end
        }
    };
    if feed.holds_replies() {
        ctx.session.aof_seq = Some(end);
    }
}

/// The permutation that stably sorts `0..n` by `cmp` (index `a` before `b` when
/// `cmp(a, b)` is `Less`; equal ones keep their order).
///
/// The commands' few stable sorts (SORT's elements, the keys of SINTER, ZINTER and
/// ZINTERCARD by size) share this one instantiation of the standard library's stable sort,
/// about 7 KB of code, instead of compiling one copy per element type and comparator
/// (README, "Binary size"). The comparator is called through `dyn`: the key sorts order a
/// handful of keys, and SORT is a cold command.
#[inline(never)]
pub(crate) fn stable_order(
    n: usize,
    cmp: &mut dyn FnMut(usize, usize) -> core::cmp::Ordering,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Parses a command argument as a strict integer (`-ERR value is not an integer...`).
pub fn arg_i64(arg: &[u8]) -> Result<i64, Error> {
    crate::resp::parse::parse_i64(arg).ok_or(Error::NotInteger)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs commands against a fresh engine and returns the raw reply bytes.
    use super::*;
    use crate::config::{Config, Limits};
    use crate::engine::{Engine, HostFacts};
    use crate::resp::{Parsed, Parser};
    use crate::time::{Instant, UnixMillis};
    use std::vec::Vec;

    /// Runs one inline command `line` on `engine` as `session` at `now`; the reply bytes.
    pub fn run_line(engine: &Engine, session: &mut Session, now: Now, line: &str) -> Vec<u8> {
        let mut input = line.as_bytes().to_vec();
        input.extend_from_slice(b"\r\n");
        let mut p = Parser::new();
        let Ok(Parsed::Command { .. }) = p.parse(&input, &Limits::default(), true) else {
            panic!("bad test line {line}");
        };
        let args = p.args(&input);
        let mut out = Vec::new();
        let stats = WorkerStats::default();
        let mut ctx = Ctx {
            engine,
            stats: &stats,
            now,
            session,
        };
        dispatch(&mut ctx, &args, &mut out);
        out
    }

    /// An engine, a session and a clock to run commands with.
    pub struct Harness {
        pub engine: Engine,
        pub session: Session,
        pub now: Now,
    }

    impl Harness {
        pub fn new() -> Self {
            let now = Now {
                mono: Instant::from_nanos(0),
                unix: UnixMillis(1_700_000_000_000),
                unix_micros: 1_700_000_000_000_000,
            };
            let engine = Engine::new(Config::default(), HostFacts::default(), 1, now);
            Harness {
                engine,
                session: Session {
                    id: 1,
                    authenticated: true,
                    ..Session::default()
                },
                now,
            }
        }

        /// Runs one inline command line and returns the reply bytes.
        pub fn run(&mut self, line: &str) -> Vec<u8> {
            run_line(&self.engine, &mut self.session, self.now, line)
        }

        /// Runs a command and returns the reply as a string.
        pub fn s(&mut self, line: &str) -> std::string::String {
            std::string::String::from_utf8_lossy(&self.run(line)).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Harness;
    use super::{
        lookup_index, stat_name, stat_order, stat_slot, stat_slots, COMMANDS, STAT_SUBCOMMANDS,
        SUBCOMMANDS,
    };

    #[test]
    fn unknown_and_arity_errors_match_redis() {
        let mut h = Harness::new();
        assert_eq!(
            h.s("FOO a b"),
            "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
        );
        assert_eq!(
            h.s("\"\""),
            "-ERR unknown command '', with args beginning with: \r\n"
        );
        assert_eq!(
            h.s("\"F\\r\\nOO\""),
            "-ERR unknown command 'F  OO', with args beginning with: \r\n"
        );
        assert_eq!(
            h.s("GET"),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(h.s("ping"), "+PONG\r\n");
        let long = "x".repeat(200);
        let reply = h.s(&std::format!("FOO {long} b"));
        let expect = std::format!(
            "-ERR unknown command 'FOO', with args beginning with: '{}' \r\n",
            "x".repeat(128)
        );
        assert_eq!(reply, expect);
        let reply = h.s(&std::format!("FOO {} {}", "a".repeat(100), "b".repeat(100)));
        let expect = std::format!(
            "-ERR unknown command 'FOO', with args beginning with: '{}' '{}' \r\n",
            "a".repeat(100),
            "b".repeat(25)
        );
        assert_eq!(reply, expect);
    }

    #[test]
    fn the_command_table_agrees_with_redis_metadata() {
        let mut bad = std::vec::Vec::new();
        for c in super::COMMANDS {
            let Some(m) = super::meta::REDIS.iter().find(|m| m.name == c.name) else {
                assert!(super::meta::meta(c.name).is_none(), "{}", c.name);
                continue;
            };
            let flags: std::vec::Vec<&str> = c.flag_names().collect();
            let categories: std::vec::Vec<&str> = c.category_names().collect();
            if (
                c.arity,
                flags.as_slice(),
                (c.first_key, c.last_key, c.step),
                categories.as_slice(),
            ) != (m.arity, m.flags, m.keys, m.categories)
            {
                bad.push(std::format!(
                    "{}: ours {} {:?} {:?} {:?}, redis {} {:?} {:?} {:?}",
                    c.name,
                    c.arity,
                    flags,
                    (c.first_key, c.last_key, c.step),
                    categories,
                    m.arity,
                    m.flags,
                    m.keys,
                    m.categories
                ));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn subcommand_counter_slots_are_sorted_known_and_found() {
        fn key(full: &'static str) -> (&'static str, &'static str) {
            full.split_once('|').unwrap()
        }
        for w in STAT_SUBCOMMANDS.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} before {}", w[0], w[1]);
        }
        let mut seen = std::vec::Vec::new();
        for slot in stat_order() {
            seen.push(slot);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..stat_slots()).collect::<std::vec::Vec<_>>());
        for (k, full) in STAT_SUBCOMMANDS.iter().enumerate() {
            let (c, sub) = full.split_once('|').unwrap();
            assert!(SUBCOMMANDS.contains(&sub), "{full}");
            let (index, _) = lookup_index(c.as_bytes()).unwrap();
            assert_eq!(stat_slot(index, sub), COMMANDS.len() + k);
            assert_eq!(stat_name(COMMANDS.len() + k), *full);
        }
        let (set, _) = lookup_index(b"set").unwrap();
        assert_eq!(stat_slot(set, ""), set);
        assert_eq!(
            stat_slot(set, "id"),
            set,
            "no such pair: the command's slot"
        );
        assert_eq!(stat_name(set), "set");
        assert_eq!(stat_name(stat_slots()), "");
    }

    #[test]
    fn the_metadata_decompresses_to_one_reply_per_command() {
        assert_eq!(super::meta::META.len(), super::meta::REDIS.len());
        for m in super::meta::META {
            let tail = m.info_tail();
            // Tips, key specs, subcommands: three arrays, nothing else.
            let end = [0; 3]
                .iter()
                .try_fold(0, |at, _| super::skip_resp(tail, at));
            assert_eq!(end, Some(tail.len()), "{}", m.name);
            #[cfg(feature = "command-docs")]
            {
                let docs = m.docs();
                assert!(docs.starts_with(b"*"), "{}", m.name);
                assert_eq!(super::skip_resp(docs, 0), Some(docs.len()), "{}", m.name);
            }
        }
    }

    #[test]
    fn every_command_is_found_case_insensitively() {
        for c in super::COMMANDS {
            assert!(super::lookup(c.name.to_ascii_uppercase().as_bytes()).is_some());
            assert_eq!(c.name, c.name.to_ascii_lowercase());
        }
    }
}
