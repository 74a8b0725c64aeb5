//! A deterministic simulation of mini-kv's engine, driven through kv-core's embedding
//! surface only.
//!
//! Many clients talk to one engine (one to three [`Worker`]s sharing it, with seeded
//! [`Sizing`]s down to a 64-byte read buffer) over in-memory sockets that inject faults:
//! short reads and writes, spurious `WouldBlock`, and peer resets (`IoError::Closed` in the
//! middle of a stream; half of them also closed by the driver with [`Worker::close`]).
//! Clients pipeline up to 24 requests, in RESP or inline syntax, split anywhere; some end
//! with QUIT or by closing their sending side, and must then get every reply before the
//! engine hands their socket back. Time is a [`ManualClock`] that the simulation moves
//! forward, past TTLs and onto their last millisecond. Every reply is compared byte for
//! byte with the reply a model of the commands predicts: three databases of `BTreeMap`s
//! with expiry times; strings and counters (to the i64 edges), lists, hashes, sets, TTL
//! commands with their options, MULTI/EXEC/DISCARD (with EXECABORT), WATCH/UNWATCH (on
//! keys that never get a TTL, so that expiry timing cannot matter), SELECT, MOVE, SWAPDB,
//! RENAME, KEYS and SMEMBERS (compared as sets). At the end of a seed a
//! readiness-driven driver ([`Worker::interest`], [`Worker::poll_timeout`]) must deliver
//! every reply within a bound of rounds.
//!
//! Everything is derived from one seed (a splitmix64 generator, no other source of
//! randomness, `BTreeMap`s only), so the same seed gives the same run: each seed ends with a
//! hash (FNV-1a) of its trace, and `KV_SEED=<n>` replays it.
//!
//! How the model knows the order in which the engine ran the commands of different clients:
//! the sockets record every read (client, bytes) in one shared log, in the order the engine
//! made them. The engine runs a complete request as soon as the read that completed it
//! returns (no blocking commands, pub/sub or CLIENT PAUSE here, and replies stay far below
//! the output pause mark), so the log is the execution order. A reset client's requests
//! that were read before the reset ran; the rest never will: the model stays exact.
//!
//! Environment: `KV_SEED` (one seed, decimal or 0x hex), `KV_SIM_SEEDS` (default 20, or
//! no limit with `KV_SIM_SECS`), `KV_SIM_STEPS` (steps a seed, default 2000), `KV_SIM_SECS`
//! (wall-clock budget: no new seed starts after it), `KV_SIM_BASE` (first seed when
//! `KV_SEED` is not set; default from the system time, printed), `KV_SIM_TRACE=1` (print
//! every trace line).
//! On a mismatch it prints the seed, the step, the trace's tail and exits with status 1.

use kv_core::{
    Arc, ClientAddr, Clock, Config, Engine, HostFacts, IoError, ManualClock, Sizing, Socket, Token,
    UnixMillis, Worker,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

/// `println!` that ignores a closed stdout (`| head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Seeds run by default.
const DEFAULT_SEEDS: u64 = 20;
/// Steps (one action each) a seed runs by default.
const DEFAULT_STEPS: u64 = 2000;
/// Keys `k0`..`k7`: few, so that clients and types collide often.
const KEYS: u64 = 8;
/// Most clients connected at once.
const MAX_CLIENTS: usize = 6;
/// Most requests a client has sent and not seen the reply of (a seed picks its limit in
/// `1..=MAX_OUTSTANDING`).
const MAX_OUTSTANDING: u64 = 24;
/// Trace lines kept for a failure report.
const TRACE_TAIL: usize = 60;
/// Rounds the end of a seed may take to deliver every reply (a liveness bound).
const DRAIN_ROUNDS: usize = 5_000;
/// Wall-clock time the simulated clock starts at.
const START_UNIX_MS: i64 = 1_700_000_000_000;
/// Most elements LRANGE asks for (keeps replies small).
const MAX_RANGE: i64 = 6;

/// splitmix64: the simulation's only source of randomness.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below(hi.abs_diff(lo) + 1) as i64
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// FNV-1a, 64 bits: the trace hash.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Fault rates of one seed, in percent.
#[derive(Clone, Copy, Debug)]
struct Faults {
    /// A read or write reports `WouldBlock` although it could transfer bytes.
    block: u64,
    /// A read or write transfers at most a few bytes.
    short: u64,
    /// A step resets a client (per mille).
    reset_per_mille: u64,
}

/// The two directions of one connection, shared by the client and its socket.
#[derive(Debug, Default)]
struct Pipe {
    client: usize,
    to_server: VecDeque<u8>,
    to_client: Vec<u8>,
    /// The client reset the connection: every operation fails with `Closed`.
    reset: bool,
    /// The client closed its sending side: reads fail with `Closed` once `to_server` is
    /// empty.
    eof: bool,
}

/// Every read the engine made, in order: (client, bytes).
type ReadLog = Rc<RefCell<Vec<(usize, usize)>>>;

/// The engine's end of a connection: a fault-injecting in-memory socket.
struct SimSocket {
    pipe: Rc<RefCell<Pipe>>,
    log: ReadLog,
    rng: Rng,
    faults: Faults,
}

impl SimSocket {
    /// How many of `n` bytes to transfer: all, or a short count.
    fn amount(&mut self, n: usize) -> usize {
        if self.rng.chance(self.faults.short) {
            n.min(1 + self.rng.below(16) as usize)
        } else {
            n
        }
    }
}

impl Socket for SimSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        let pipe = Rc::clone(&self.pipe);
        let mut p = pipe.borrow_mut();
        if p.reset {
            return Err(IoError::Closed);
        }
        if p.to_server.is_empty() && p.eof {
            return Err(IoError::Closed);
        }
        if p.to_server.is_empty() || buf.is_empty() || self.rng.chance(self.faults.block) {
            return Err(IoError::WouldBlock);
        }
        let n = self.amount(buf.len().min(p.to_server.len()));
        for (dst, src) in buf.iter_mut().zip(p.to_server.drain(..n)) {
            *dst = src;
        }
        self.log.borrow_mut().push((p.client, n));
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        let pipe = Rc::clone(&self.pipe);
        let mut p = pipe.borrow_mut();
        if p.reset {
            return Err(IoError::Closed);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.rng.chance(self.faults.block) {
            return Err(IoError::WouldBlock);
        }
        let n = self.amount(buf.len());
        p.to_client.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

// ---- RESP: requests out, replies in -------------------------------------------------------

/// A request as RESP (or, for simple arguments, sometimes as an inline command).
fn encode_request(args: &[Vec<u8>], inline: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if inline {
        // Redis's inline syntax (sdssplitargs): an argument that is not plain goes in
        // double quotes with \" \\ and \xHH escapes.
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            let plain = !a.is_empty() && a.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
            if plain {
                out.extend_from_slice(a);
                continue;
            }
            out.push(b'"');
            for &b in a {
                match b {
                    b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    0x20..=0x7e => out.push(b),
                    _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                }
            }
            out.push(b'"');
        }
        out.extend_from_slice(b"\r\n");
        return out;
    }
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Where the CRLF that ends the line starting at `from` is.
fn line_end(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

fn parse_int(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad integer {:?}", show(line)))
}

/// The end of the RESP2 reply starting at `pos`: `Ok(None)` if it is not complete yet, an
/// error if it is malformed.
fn reply_end(b: &[u8], pos: usize) -> Result<Option<usize>, String> {
    let Some(&kind) = b.get(pos) else {
        return Ok(None);
    };
    let Some(eol) = line_end(b, pos + 1) else {
        return Ok(None);
    };
    let line = &b[pos + 1..eol];
    let next = eol + 2;
    match kind {
        b'+' | b'-' => Ok(Some(next)),
        b':' => parse_int(line).map(|_| Some(next)),
        b'$' => {
            let n = parse_int(line)?;
            if n == -1 {
                return Ok(Some(next));
            }
            let n = usize::try_from(n).map_err(|_| format!("bulk length {n}"))?;
            let end = next + n + 2;
            if b.len() < end {
                return Ok(None);
            }
            if &b[end - 2..end] != b"\r\n" {
                return Err("bulk string not ended by CRLF".into());
            }
            Ok(Some(end))
        }
        b'*' => {
            let n = parse_int(line)?;
            if n == -1 {
                return Ok(Some(next));
            }
            let n = usize::try_from(n).map_err(|_| format!("array length {n}"))?;
            let mut at = next;
            for _ in 0..n {
                match reply_end(b, at)? {
                    Some(e) => at = e,
                    None => return Ok(None),
                }
            }
            Ok(Some(at))
        }
        other => Err(format!("unknown reply type byte {other:#04x}")),
    }
}

/// Bytes as a readable, escaped string.
fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// As [`show`], shortened to its first 40 bytes (for the trace).
fn brief(b: &[u8]) -> String {
    match b.get(..40) {
        Some(head) if b.len() > 40 => format!("{}...({} bytes)", show(head), b.len()),
        _ => show(b),
    }
}

/// The elements of an array reply, sorted (`None` if `b` is not a complete array).
fn sorted_array(b: &[u8]) -> Option<Vec<&[u8]>> {
    if b.first() != Some(&b'*') {
        return None;
    }
    let eol = line_end(b, 1)?;
    let n = usize::try_from(parse_int(&b[1..eol]).ok()?).ok()?;
    let mut at = eol + 2;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let end = reply_end(b, at).ok()??;
        items.push(&b[at..end]);
        at = end;
    }
    items.sort();
    (at == b.len()).then_some(items)
}

fn ok() -> Vec<u8> {
    b"+OK\r\n".to_vec()
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn bulk(v: Option<&[u8]>) -> Vec<u8> {
    match v {
        None => b"$-1\r\n".to_vec(),
        Some(v) => {
            let mut out = format!("${}\r\n", v.len()).into_bytes();
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
            out
        }
    }
}

fn array(items: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for i in items {
        out.extend_from_slice(&i);
    }
    out
}

fn err(msg: &str) -> Vec<u8> {
    format!("-{msg}\r\n").into_bytes()
}

fn wrongtype() -> Vec<u8> {
    err("WRONGTYPE Operation against a key holding the wrong kind of value")
}

// ---- The model ----------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    /// Member -> score (integer scores only: their formatting is exact).
    Zset(BTreeMap<Vec<u8>, i64>),
}

#[derive(Clone, Debug)]
struct Entry {
    val: Val,
    /// Expiry time in Unix milliseconds: the key is gone once `now > at` (Redis's rule).
    at: Option<i64>,
}

/// What one database holds, by the model's account.
#[derive(Default)]
struct Db {
    keys: BTreeMap<Vec<u8>, Entry>,
}

/// Databases the simulation uses (SELECT, MOVE, SWAPDB among them).
const DBS: usize = 3;

/// The model: databases 0..[`DBS`].
struct Model {
    dbs: Vec<Db>,
    /// WATCHed keys, (database, key) -> clients. Only `w0` and `w1` are watched: they
    /// never get a TTL, so whether they exist does not depend on when expiry runs.
    watches: BTreeMap<(usize, Vec<u8>), BTreeSet<usize>>,
    /// Clients whose EXEC fails (a watched key was touched), until EXEC, DISCARD or UNWATCH.
    dirty: BTreeSet<usize>,
}

/// Redis's `string2ll`: an optional `-`, no `+`, no leading zeros, no `-0`, within i64.
fn redis_int(s: &[u8]) -> Option<i64> {
    let t = std::str::from_utf8(s).ok()?;
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.starts_with('0') && (digits.len() > 1 || t.starts_with('-')) {
        return None;
    }
    t.parse().ok()
}

/// A sorted set's members in Redis's order: by score, then by member bytes.
fn zset_order(z: &BTreeMap<Vec<u8>, i64>) -> Vec<(&Vec<u8>, i64)> {
    let mut order: Vec<(&Vec<u8>, i64)> = z.iter().map(|(m, s)| (m, *s)).collect();
    order.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(y.0)));
    order
}

fn num(a: &[u8]) -> i64 {
    redis_int(a).unwrap_or(0)
}

/// The increment of INCR, INCRBY or DECRBY (whose arguments the generator keeps valid).
fn incr_by(a: &[Vec<u8>]) -> i64 {
    match a[0].as_slice() {
        b"INCRBY" => num(&a[2]),
        b"DECRBY" => -num(&a[2]),
        _ => 1,
    }
}

impl Model {
    fn new() -> Self {
        Model {
            dbs: (0..DBS).map(|_| Db::default()).collect(),
            watches: BTreeMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// A write to `key` in database `db`: its watchers' transactions fail.
    fn touch(&mut self, db: usize, key: &[u8]) {
        if let Some(clients) = self.watches.get(&(db, key.to_vec())) {
            self.dirty.extend(clients.iter().copied());
        }
    }

    /// FLUSHDB / SWAPDB (Redis's `touchAllWatchedKeysInDb`): the keys watched in `db` that
    /// exist there or in `other` are touched.
    fn touch_existing(&mut self, db: usize, other: Option<usize>, now: i64) {
        let watched: Vec<Vec<u8>> = self
            .watches
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect();
        for k in watched {
            let here = self.dbs[db].live(&k, now).is_some();
            let there = other.is_some_and(|o| self.dbs[o].live(&k, now).is_some());
            if here || there {
                self.touch(db, &k);
            }
        }
    }

    /// Forgets a client's watches and its failed state (EXEC, DISCARD, UNWATCH).
    fn unwatch(&mut self, client: usize) {
        for clients in self.watches.values_mut() {
            clients.remove(&client);
        }
        self.watches.retain(|_, c| !c.is_empty());
        self.dirty.remove(&client);
    }

    /// Runs one command in database `*db` (SELECT changes it): the reply Redis would send.
    fn apply(&mut self, db: &mut usize, a: &[Vec<u8>], now: i64) -> Vec<u8> {
        match a[0].as_slice() {
            b"SELECT" => {
                *db = num(&a[1]) as usize;
                ok()
            }
            b"SWAPDB" => {
                let (x, y) = (num(&a[1]) as usize, num(&a[2]) as usize);
                self.touch_existing(x, Some(y), now);
                self.touch_existing(y, Some(x), now);
                self.dbs.swap(x, y);
                ok()
            }
            b"FLUSHDB" => {
                self.touch_existing(*db, None, now);
                self.dbs[*db].apply(a, now)
            }
            b"DEL" => {
                let existed: Vec<&Vec<u8>> = a[1..]
                    .iter()
                    .filter(|k| self.dbs[*db].live(k, now).is_some())
                    .collect();
                for k in existed {
                    self.touch(*db, k);
                }
                self.dbs[*db].apply(a, now)
            }
            b"MOVE" => {
                let (key, to) = (a[1].as_slice(), num(&a[2]) as usize);
                if to == *db {
                    return err("ERR source and destination objects are the same");
                }
                let Some(e) = self.dbs[*db].live(key, now).cloned() else {
                    return int(0);
                };
                if self.dbs[to].live(key, now).is_some() {
                    return int(0);
                }
                self.dbs[*db].keys.remove(key);
                self.dbs[to].keys.insert(key.to_vec(), e);
                int(1)
            }
            name => {
                let reply = self.dbs[*db].apply(a, now);
                // The writes generated for watched keys touch them when they succeed.
                let wrote = (matches!(name, b"SET" | b"INCR" | b"APPEND")
                    && matches!(reply.first(), Some(b'+' | b':')))
                    || (name == b"SETNX" && reply == int(1));
                if wrote {
                    self.touch(*db, &a[1]);
                }
                reply
            }
        }
    }
}

impl Db {
    /// The entry of `key` if it exists and has not expired (an expired one is removed).
    fn live(&mut self, key: &[u8], now: i64) -> Option<&mut Entry> {
        if self
            .keys
            .get(key)
            .is_some_and(|e| e.at.is_some_and(|at| now > at))
        {
            self.keys.remove(key);
        }
        self.keys.get_mut(key)
    }

    /// Runs one (valid, non-transaction) command at `now`: the reply Redis would send.
    fn apply(&mut self, a: &[Vec<u8>], now: i64) -> Vec<u8> {
        let name = a[0].as_slice();
        let key = a.get(1).map(Vec::as_slice).unwrap_or_default();
        match name {
            b"SET" => self.set(a, now),
            b"MSET" => {
                for kv in a[1..].chunks(2) {
                    self.keys.insert(
                        kv[0].clone(),
                        Entry {
                            val: Val::Str(kv[1].clone()),
                            at: None,
                        },
                    );
                }
                ok()
            }
            b"MGET" => {
                let mut items = Vec::new();
                for k in &a[1..] {
                    items.push(match self.live(k, now).map(|e| &e.val) {
                        Some(Val::Str(s)) => bulk(Some(s)),
                        _ => bulk(None),
                    });
                }
                array(items)
            }
            b"GETDEL" => match self.live(key, now).map(|e| &e.val) {
                None => bulk(None),
                Some(Val::Str(s)) => {
                    let reply = bulk(Some(s));
                    self.keys.remove(key);
                    reply
                }
                Some(_) => wrongtype(),
            },
            b"GETEX" => {
                let reply = match self.live(key, now).map(|e| &e.val) {
                    None => return bulk(None),
                    Some(Val::Str(s)) => bulk(Some(s)),
                    Some(_) => return wrongtype(),
                };
                let t = a.get(3).map_or(0, |x| num(x));
                let at = match a.get(2).map(Vec::as_slice) {
                    Some(b"EX") => Some(Some(now + t * 1000)),
                    Some(b"PX") => Some(Some(now + t)),
                    Some(b"EXAT") => Some(Some(t * 1000)),
                    Some(b"PXAT") => Some(Some(t)),
                    Some(b"PERSIST") => Some(None),
                    _ => None,
                };
                match at {
                    Some(Some(when)) if when <= now => {
                        self.keys.remove(key);
                    }
                    Some(at) => {
                        if let Some(e) = self.keys.get_mut(key) {
                            e.at = at;
                        }
                    }
                    None => {}
                }
                reply
            }
            b"SETEX" | b"PSETEX" => {
                let unit = if name == b"SETEX" { 1000 } else { 1 };
                let e = Entry {
                    val: Val::Str(a[3].clone()),
                    at: Some(now + num(&a[2]) * unit),
                };
                self.keys.insert(key.to_vec(), e);
                ok()
            }
            b"SETNX" => {
                if self.live(key, now).is_some() {
                    return int(0);
                }
                let e = Entry {
                    val: Val::Str(a[2].clone()),
                    at: None,
                };
                self.keys.insert(key.to_vec(), e);
                int(1)
            }
            b"GETSET" => {
                let reply = match self.live(key, now).map(|e| &e.val) {
                    None => bulk(None),
                    Some(Val::Str(s)) => bulk(Some(s)),
                    Some(_) => return wrongtype(),
                };
                let e = Entry {
                    val: Val::Str(a[2].clone()),
                    at: None,
                };
                self.keys.insert(key.to_vec(), e);
                reply
            }
            b"STRLEN" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::Str(s)) => int(s.len() as i64),
                Some(_) => wrongtype(),
            },
            b"RENAME" | b"RENAMENX" => {
                let nx = name == b"RENAMENX";
                let dst = a[2].as_slice();
                let Some(e) = self.live(key, now).cloned() else {
                    return err("ERR no such key");
                };
                if key == dst {
                    return if nx { int(0) } else { ok() };
                }
                if nx && self.live(dst, now).is_some() {
                    return int(0);
                }
                self.keys.remove(key);
                self.keys.insert(dst.to_vec(), e);
                if nx {
                    int(1)
                } else {
                    ok()
                }
            }
            b"LINDEX" => match self.live(key, now).map(|e| &e.val) {
                None => bulk(None),
                Some(Val::List(l)) => {
                    let i = num(&a[2]);
                    let i = if i < 0 { i + l.len() as i64 } else { i };
                    let v = usize::try_from(i).ok().and_then(|i| l.get(i));
                    bulk(v.map(Vec::as_slice))
                }
                Some(_) => wrongtype(),
            },
            b"LSET" => match self.live(key, now).map(|e| &mut e.val) {
                None => err("ERR no such key"),
                Some(Val::List(l)) => {
                    let i = num(&a[2]);
                    let i = if i < 0 { i + l.len() as i64 } else { i };
                    match usize::try_from(i).ok().and_then(|i| l.get_mut(i)) {
                        Some(slot) => {
                            *slot = a[3].clone();
                            ok()
                        }
                        None => err("ERR index out of range"),
                    }
                }
                Some(_) => wrongtype(),
            },
            b"LREM" => {
                let (reply, empty) = match self.live(key, now).map(|e| &mut e.val) {
                    None => (int(0), false),
                    Some(Val::List(l)) => {
                        let count = num(&a[2]);
                        let limit = if count == 0 {
                            usize::MAX
                        } else {
                            count.unsigned_abs() as usize
                        };
                        let mut hits: Vec<usize> = (0..l.len()).filter(|&i| l[i] == a[3]).collect();
                        if count < 0 {
                            hits.reverse();
                        }
                        hits.truncate(limit);
                        hits.sort_unstable();
                        for &i in hits.iter().rev() {
                            l.remove(i);
                        }
                        (int(hits.len() as i64), l.is_empty())
                    }
                    Some(_) => (wrongtype(), false),
                };
                if empty {
                    self.keys.remove(key);
                }
                reply
            }
            b"HINCRBY" => {
                let e = self.keys_entry(key, now, || Val::Hash(BTreeMap::new()));
                match &mut e.val {
                    Val::Hash(h) => {
                        let old = match h.get(&a[2]) {
                            None => Some(0),
                            Some(v) => redis_int(v),
                        };
                        match old.map(|o| o.checked_add(num(&a[3]))) {
                            None => err("ERR hash value is not an integer"),
                            Some(None) => err("ERR increment or decrement would overflow"),
                            Some(Some(v)) => {
                                h.insert(a[2].clone(), v.to_string().into_bytes());
                                int(v)
                            }
                        }
                    }
                    _ => wrongtype(),
                }
            }
            b"HEXISTS" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::Hash(h)) => int(i64::from(h.contains_key(&a[2]))),
                Some(_) => wrongtype(),
            },
            b"SMOVE" => {
                let (dst, m) = (a[2].as_slice(), &a[3]);
                let src_is_set = match self.live(key, now).map(|e| &e.val) {
                    None => return int(0),
                    Some(Val::Set(_)) => true,
                    Some(_) => false,
                };
                let dst_ok = matches!(
                    self.live(dst, now).map(|e| &e.val),
                    None | Some(Val::Set(_))
                );
                if !src_is_set || !dst_ok {
                    return wrongtype();
                }
                if key == dst {
                    let has = matches!(self.keys.get(key).map(|e| &e.val), Some(Val::Set(s)) if s.contains(m));
                    return int(i64::from(has));
                }
                let (removed, empty) = match self.keys.get_mut(key).map(|e| &mut e.val) {
                    Some(Val::Set(s)) => (s.remove(m), s.is_empty()),
                    _ => (false, false),
                };
                if !removed {
                    return int(0);
                }
                if empty {
                    self.keys.remove(key);
                }
                if let Val::Set(s) =
                    &mut self.keys_entry(dst, now, || Val::Set(BTreeSet::new())).val
                {
                    s.insert(m.clone());
                }
                int(1)
            }
            b"ZADD" => {
                let e = self.keys_entry(key, now, || Val::Zset(BTreeMap::new()));
                match &mut e.val {
                    Val::Zset(z) => {
                        let mut added = 0;
                        for sm in a[2..].chunks(2) {
                            if z.insert(sm[1].clone(), num(&sm[0])).is_none() {
                                added += 1;
                            }
                        }
                        int(added)
                    }
                    _ => wrongtype(),
                }
            }
            b"ZINCRBY" => {
                let e = self.keys_entry(key, now, || Val::Zset(BTreeMap::new()));
                match &mut e.val {
                    Val::Zset(z) => {
                        let score = z.entry(a[3].clone()).or_insert(0);
                        *score += num(&a[2]);
                        bulk(Some(score.to_string().as_bytes()))
                    }
                    _ => wrongtype(),
                }
            }
            b"ZSCORE" => match self.live(key, now).map(|e| &e.val) {
                None => bulk(None),
                Some(Val::Zset(z)) => {
                    bulk(z.get(&a[2]).map(|s| s.to_string().into_bytes()).as_deref())
                }
                Some(_) => wrongtype(),
            },
            b"ZRANK" => match self.live(key, now).map(|e| &e.val) {
                None => bulk(None),
                Some(Val::Zset(z)) => match z.get(&a[2]) {
                    None => bulk(None),
                    Some(&s) => int(zset_order(z)
                        .iter()
                        .position(|(m, sc)| *sc == s && **m == a[2])
                        .unwrap_or(0) as i64),
                },
                Some(_) => wrongtype(),
            },
            b"ZREM" => {
                let (reply, empty) = match self.live(key, now).map(|e| &mut e.val) {
                    None => (int(0), false),
                    Some(Val::Zset(z)) => (int(i64::from(z.remove(&a[2]).is_some())), z.is_empty()),
                    Some(_) => (wrongtype(), false),
                };
                if empty {
                    self.keys.remove(key);
                }
                reply
            }
            b"ZCARD" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::Zset(z)) => int(z.len() as i64),
                Some(_) => wrongtype(),
            },
            b"ZRANGE" => match self.live(key, now).map(|e| &e.val) {
                None => array(Vec::new()),
                Some(Val::Zset(z)) => {
                    let order = zset_order(z);
                    let len = order.len() as i64;
                    let (mut start, mut end) = (num(&a[2]), num(&a[3]));
                    if start < 0 {
                        start += len;
                    }
                    if end < 0 {
                        end += len;
                    }
                    start = start.max(0);
                    if start > end || start >= len {
                        return array(Vec::new());
                    }
                    end = end.min(len - 1);
                    let scores = a.len() > 4;
                    let mut items = Vec::new();
                    for (m, sc) in &order[start as usize..=end as usize] {
                        items.push(bulk(Some(m)));
                        if scores {
                            items.push(bulk(Some(sc.to_string().as_bytes())));
                        }
                    }
                    array(items)
                }
                Some(_) => wrongtype(),
            },
            b"FLUSHDB" => {
                self.keys.clear();
                ok()
            }
            b"GET" => match self.live(key, now).map(|e| &e.val) {
                None => bulk(None),
                Some(Val::Str(s)) => bulk(Some(s)),
                Some(_) => wrongtype(),
            },
            b"DEL" => {
                let mut n = 0;
                for k in &a[1..] {
                    if self.live(k, now).is_some() {
                        self.keys.remove(k);
                        n += 1;
                    }
                }
                int(n)
            }
            b"EXISTS" => {
                let mut n = 0;
                for k in &a[1..] {
                    if self.live(k, now).is_some() {
                        n += 1;
                    }
                }
                int(n)
            }
            b"TYPE" => {
                let t = match self.live(key, now).map(|e| &e.val) {
                    None => "none",
                    Some(Val::Str(_)) => "string",
                    Some(Val::List(_)) => "list",
                    Some(Val::Hash(_)) => "hash",
                    Some(Val::Set(_)) => "set",
                    Some(Val::Zset(_)) => "zset",
                };
                format!("+{t}\r\n").into_bytes()
            }
            b"INCR" | b"INCRBY" | b"DECRBY" => match self.live(key, now) {
                None => {
                    let by = incr_by(a);
                    self.keys.insert(
                        key.to_vec(),
                        Entry {
                            val: Val::Str(by.to_string().into_bytes()),
                            at: None,
                        },
                    );
                    int(by)
                }
                Some(Entry {
                    val: Val::Str(s), ..
                }) => match redis_int(s) {
                    None => err("ERR value is not an integer or out of range"),
                    Some(v) => match v.checked_add(incr_by(a)) {
                        None => err("ERR increment or decrement would overflow"),
                        Some(v) => {
                            *s = v.to_string().into_bytes();
                            int(v)
                        }
                    },
                },
                Some(_) => wrongtype(),
            },
            b"APPEND" => match self.live(key, now) {
                None => {
                    let v = a[2].clone();
                    let n = v.len() as i64;
                    self.keys.insert(
                        key.to_vec(),
                        Entry {
                            val: Val::Str(v),
                            at: None,
                        },
                    );
                    int(n)
                }
                Some(Entry {
                    val: Val::Str(s), ..
                }) => {
                    s.extend_from_slice(&a[2]);
                    int(s.len() as i64)
                }
                Some(_) => wrongtype(),
            },
            b"EXPIRE" | b"PEXPIRE" | b"EXPIREAT" | b"PEXPIREAT" => {
                let unit = if name.starts_with(b"P") { 1 } else { 1000 };
                let base = if name.ends_with(b"AT") { 0 } else { now };
                let when = base + num(&a[2]) * unit;
                let flag = a.get(3).map(Vec::as_slice);
                match self.live(key, now) {
                    None => int(0),
                    Some(e)
                        if match (flag, e.at) {
                            (Some(b"NX"), cur) => cur.is_some(),
                            (Some(b"XX"), cur) => cur.is_none(),
                            (Some(b"GT"), cur) => cur.is_none_or(|cur| when <= cur),
                            (Some(b"LT"), cur) => cur.is_some_and(|cur| when >= cur),
                            _ => false,
                        } =>
                    {
                        int(0)
                    }
                    Some(_) if when <= now => {
                        self.keys.remove(key);
                        int(1)
                    }
                    Some(e) => {
                        e.at = Some(when);
                        int(1)
                    }
                }
            }
            b"PERSIST" => match self.live(key, now) {
                Some(e) if e.at.is_some() => {
                    e.at = None;
                    int(1)
                }
                _ => int(0),
            },
            b"EXPIRETIME" | b"PEXPIRETIME" => match self.live(key, now) {
                None => int(-2),
                Some(Entry { at: None, .. }) => int(-1),
                Some(Entry { at: Some(at), .. }) => int(if name == b"PEXPIRETIME" {
                    *at
                } else {
                    (*at + 500) / 1000
                }),
            },
            b"TTL" | b"PTTL" => match self.live(key, now) {
                None => int(-2),
                Some(Entry { at: None, .. }) => int(-1),
                Some(Entry { at: Some(at), .. }) => {
                    let ttl = (*at - now).max(0);
                    int(if name == b"PTTL" {
                        ttl
                    } else {
                        (ttl + 500) / 1000
                    })
                }
            },
            b"LPUSH" => {
                let e = self.keys_entry(key, now, || Val::List(VecDeque::new()));
                match &mut e.val {
                    Val::List(l) => {
                        for v in &a[2..] {
                            l.push_front(v.clone());
                        }
                        int(l.len() as i64)
                    }
                    _ => wrongtype(),
                }
            }
            b"RPOP" | b"LPOP" => {
                let (reply, empty) = match self.live(key, now).map(|e| &mut e.val) {
                    None => (bulk(None), false),
                    Some(Val::List(l)) => {
                        let v = if name == b"RPOP" {
                            l.pop_back()
                        } else {
                            l.pop_front()
                        };
                        (bulk(v.as_deref()), l.is_empty())
                    }
                    Some(_) => (wrongtype(), false),
                };
                if empty {
                    self.keys.remove(key);
                }
                reply
            }
            b"LLEN" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::List(l)) => int(l.len() as i64),
                Some(_) => wrongtype(),
            },
            b"LRANGE" => match self.live(key, now).map(|e| &e.val) {
                None => array(Vec::new()),
                Some(Val::List(l)) => {
                    let len = l.len() as i64;
                    let (mut start, mut end) = (num(&a[2]), num(&a[3]));
                    if start < 0 {
                        start += len;
                    }
                    if end < 0 {
                        end += len;
                    }
                    start = start.max(0);
                    if start > end || start >= len {
                        return array(Vec::new());
                    }
                    end = end.min(len - 1);
                    array(
                        l.iter()
                            .skip(start as usize)
                            .take((end - start + 1) as usize)
                            .map(|v| bulk(Some(v)))
                            .collect(),
                    )
                }
                Some(_) => wrongtype(),
            },
            b"HSET" => {
                let e = self.keys_entry(key, now, || Val::Hash(BTreeMap::new()));
                match &mut e.val {
                    Val::Hash(h) => {
                        let mut added = 0;
                        for fv in a[2..].chunks(2) {
                            if h.insert(fv[0].clone(), fv[1].clone()).is_none() {
                                added += 1;
                            }
                        }
                        int(added)
                    }
                    _ => wrongtype(),
                }
            }
            b"HGET" => match self.live(key, now).map(|e| &e.val) {
                None => bulk(None),
                Some(Val::Hash(h)) => bulk(h.get(&a[2]).map(Vec::as_slice)),
                Some(_) => wrongtype(),
            },
            b"HDEL" => {
                let (reply, empty) = match self.live(key, now).map(|e| &mut e.val) {
                    None => (int(0), false),
                    Some(Val::Hash(h)) => {
                        let n = a[2..].iter().filter(|f| h.remove(*f).is_some()).count();
                        (int(n as i64), h.is_empty())
                    }
                    Some(_) => (wrongtype(), false),
                };
                if empty {
                    self.keys.remove(key);
                }
                reply
            }
            b"HLEN" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::Hash(h)) => int(h.len() as i64),
                Some(_) => wrongtype(),
            },
            b"SADD" => {
                let e = self.keys_entry(key, now, || Val::Set(BTreeSet::new()));
                match &mut e.val {
                    Val::Set(s) => {
                        let n = a[2..].iter().filter(|m| s.insert((*m).clone())).count();
                        int(n as i64)
                    }
                    _ => wrongtype(),
                }
            }
            b"SREM" => {
                let (reply, empty) = match self.live(key, now).map(|e| &mut e.val) {
                    None => (int(0), false),
                    Some(Val::Set(s)) => {
                        let n = a[2..].iter().filter(|m| s.remove(*m)).count();
                        (int(n as i64), s.is_empty())
                    }
                    Some(_) => (wrongtype(), false),
                };
                if empty {
                    self.keys.remove(key);
                }
                reply
            }
            b"SCARD" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::Set(s)) => int(s.len() as i64),
                Some(_) => wrongtype(),
            },
            b"SMEMBERS" => match self.live(key, now).map(|e| &e.val) {
                None => array(Vec::new()),
                Some(Val::Set(s)) => array(s.iter().map(|m| bulk(Some(m))).collect()),
                Some(_) => wrongtype(),
            },
            b"KEYS" => {
                let keys: Vec<Vec<u8>> = self.keys.keys().cloned().collect();
                let live = keys.into_iter().filter(|k| self.live(k, now).is_some());
                array(live.map(|k| bulk(Some(&k))).collect())
            }
            b"SISMEMBER" => match self.live(key, now).map(|e| &e.val) {
                None => int(0),
                Some(Val::Set(s)) => int(i64::from(s.contains(&a[2]))),
                Some(_) => wrongtype(),
            },
            _ => err(&format!("ERR model has no command {}", show(name))),
        }
    }

    /// The live entry of `key`, created empty (`make`, no TTL) if there is none.
    fn keys_entry(&mut self, key: &[u8], now: i64, make: impl FnOnce() -> Val) -> &mut Entry {
        if self.live(key, now).is_none() {
            self.keys.insert(
                key.to_vec(),
                Entry {
                    val: make(),
                    at: None,
                },
            );
        }
        self.keys.entry(key.to_vec()).or_insert_with(|| Entry {
            val: Val::Str(Vec::new()),
            at: None,
        })
    }

    /// `SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL]`.
    fn set(&mut self, a: &[Vec<u8>], now: i64) -> Vec<u8> {
        let key = a[1].as_slice();
        let (mut nx, mut xx, mut get, mut keep, mut at) = (false, false, false, false, None);
        let mut i = 3;
        while i < a.len() {
            match a[i].as_slice() {
                b"NX" => nx = true,
                b"XX" => xx = true,
                b"GET" => get = true,
                b"KEEPTTL" => keep = true,
                b"EX" | b"PX" => {
                    let unit = if a[i] == b"EX" { 1000 } else { 1 };
                    at = Some(now + num(&a[i + 1]) * unit);
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
        let old = self.live(key, now).cloned();
        let old_str = match old.as_ref().map(|e| &e.val) {
            Some(Val::Str(s)) => Some(s.clone()),
            Some(_) if get => return wrongtype(),
            _ => None,
        };
        let refused = (nx && old.is_some()) || (xx && old.is_none());
        if !refused {
            if keep {
                at = old.as_ref().and_then(|e| e.at);
            }
            self.keys.insert(
                key.to_vec(),
                Entry {
                    val: Val::Str(a[2].clone()),
                    at,
                },
            );
        }
        if get {
            bulk(old_str.as_deref())
        } else if refused {
            bulk(None)
        } else {
            ok()
        }
    }
}

// ---- Clients ------------------------------------------------------------------------------

/// A request the client sent: where its bytes end in the client's stream, its arguments.
struct Sent {
    end: u64,
    args: Vec<Vec<u8>>,
}

/// A reply the client waits for: the model's bytes and the request they answer.
struct Expected {
    request: String,
    reply: Vec<u8>,
    /// An array in no particular order (KEYS, SMEMBERS): compared element by element
    /// after sorting.
    unordered: bool,
}

/// One simulated client: its requests, the replies it expects, its transaction state.
struct Client {
    worker: usize,
    token: Token,
    pipe: Rc<RefCell<Pipe>>,
    /// Request bytes the client has not handed to its socket yet.
    unsent: VecDeque<u8>,
    /// Request bytes generated so far.
    sent_total: u64,
    /// Request bytes the engine read so far.
    consumed: u64,
    /// Requests the engine has not run yet (not all of their bytes were read).
    pending: VecDeque<Sent>,
    /// Replies the engine owes the client, oldest first.
    expected: VecDeque<Expected>,
    /// Reply bytes received and not yet matched.
    received: Vec<u8>,
    /// MULTI ran for it (the model's view); the commands queued since.
    in_multi: bool,
    queued: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    multi_error: bool,
    /// The database the client has selected (the model's view).
    db: usize,
    /// The client sent MULTI without EXEC or DISCARD yet (the generator's view).
    gen_multi: bool,
    /// The client reset its connection; it waits for the engine to hand the socket back.
    reset: bool,
    /// The client sent its last request (QUIT, or it closed its sending side): it only
    /// reads now, and the engine closes the connection after the last reply.
    closing: bool,
}

impl Client {
    fn outstanding(&self) -> usize {
        self.pending.len() + self.expected.len()
    }

    fn idle(&self) -> bool {
        self.unsent.is_empty()
            && self.pending.is_empty()
            && self.expected.is_empty()
            && self.received.is_empty()
            && self.pipe.borrow().to_client.is_empty()
    }
}

/// Values: short, colliding, some with CR, LF, NUL and spaces; some look like numbers.
const VALUES: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"0",
    b"1",
    b"7",
    b"42",
    b"-",
    b"x",
    b"hello world",
    b"a\r\nb",
    b"\0",
    &[b'v'; 300],
];

fn key(rng: &mut Rng) -> Vec<u8> {
    format!("k{}", rng.below(KEYS)).into_bytes()
}

/// Mostly a key from `family` (`k<i>` for i in it), sometimes any key.
fn key_in(rng: &mut Rng, family: std::ops::Range<u64>) -> Vec<u8> {
    if rng.chance(85) {
        format!("k{}", family.start + rng.below(family.end - family.start)).into_bytes()
    } else {
        key(rng)
    }
}

fn value(rng: &mut Rng) -> Vec<u8> {
    rng.pick(VALUES).to_vec()
}

fn args(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// A random request for a client (`in_multi`: inside MULTI, where only keyspace commands,
/// EXEC and DISCARD are sent).
fn generate(rng: &mut Rng, in_multi: bool, now: i64) -> Vec<Vec<u8>> {
    let v = value(rng);
    let n = |x: i64| x.to_string().into_bytes();
    if in_multi && rng.chance(20) {
        return args(&[if rng.chance(80) {
            b"EXEC".as_slice()
        } else {
            b"DISCARD"
        }]);
    }
    if in_multi && rng.chance(2) {
        return args(&[b"GET"]); // wrong arity: EXEC answers EXECABORT
    }
    if rng.chance(12) {
        // The watched keys: plain string writes only, never a TTL.
        let w = format!("w{}", rng.below(2)).into_bytes();
        return match rng.below(if in_multi { 6 } else { 9 }) {
            0 => args(&[b"SET", &w, &v]),
            1 => match rng.below(3) {
                0 => args(&[b"SET", &w, &v, b"NX"]),
                1 => args(&[b"SETNX", &w, &v]),
                _ => args(&[b"PERSIST", &w]), // changes nothing: touches nothing
            },
            2 => args(&[b"INCR", &w]),
            3 => args(&[b"APPEND", &w, &v]),
            4 => args(&[b"DEL", &w]),
            5 => args(&[b"GET", &w]),
            6..=7 => {
                let mut a = args(&[b"WATCH", &w]);
                if rng.chance(30) {
                    a.push(format!("w{}", rng.below(2)).into_bytes());
                }
                a
            }
            _ => args(&[b"UNWATCH"]),
        };
    }
    let choice = rng.below(if in_multi { 70 } else { 77 });
    // Each type's commands mostly use keys of their own (k3 is shared by strings and
    // lists), so that they mostly succeed; the rest of the time any key (WRONGTYPE).
    let family = match choice {
        18..=22 | 41 | 54..=56 => 3..5,
        23..=27 | 57..=59 => 5..6,
        28..=31 | 60..=62 | 74..=75 => 6..8,
        63..=69 => 7..8,
        // Commands for keys of any type.
        5..=6 | 10..=17 | 33 | 44..=47 | 53 => 0..KEYS,
        _ => 0..4,
    };
    let k = key_in(rng, family.clone());
    match choice {
        0..=2 => {
            let mut a = args(&[b"SET", &k, &v]);
            match rng.below(8) {
                0 => a.extend(args(&[b"PX", &n(rng.range(1, 40) * 10)])),
                1 => a.extend(args(&[b"PX", &n(rng.range(1, 400))])),
                2 => a.extend(args(&[b"EX", &n(rng.range(1, 3))])),
                3 => a.extend(args(&[b"NX"])),
                4 => a.extend(args(&[b"XX"])),
                5 => a.extend(args(&[b"KEEPTTL"])),
                6 => a.extend(args(&[b"GET"])),
                _ => {}
            }
            a
        }
        3..=4 => args(&[b"GET", &k]),
        5 => {
            if rng.chance(50) {
                args(&[b"DEL", &k])
            } else {
                args(&[b"DEL", &k, &key(rng)])
            }
        }
        6 => args(&[b"EXISTS", &k, &key(rng)]),
        7..=8 => args(&[b"INCR", &k]),
        9 => args(&[b"APPEND", &k, &v]),
        10 => args(&[b"EXPIRE", &k, &n(rng.range(-1, 3))]),
        11 => args(&[b"PEXPIRE", &k, &n(rng.range(-10, 100) * 10)]),
        12 => args(&[b"PEXPIRE", &k, &n(rng.range(0, 1000))]),
        13 => args(&[b"TTL", &k]),
        14..=15 => args(&[b"PTTL", &k]),
        16 => args(&[b"PERSIST", &k]),
        17 => args(&[b"TYPE", &k]),
        18..=19 => {
            let mut a = args(&[b"LPUSH", &k, &v]);
            if rng.chance(30) {
                a.push(value(rng));
            }
            a
        }
        20 => args(&[b"RPOP", &k]),
        21 => args(&[b"LLEN", &k]),
        22 => {
            let start = rng.range(-MAX_RANGE, MAX_RANGE);
            let stop = rng.range(start.min(0) - 2, start.max(0) + MAX_RANGE);
            args(&[b"LRANGE", &k, &n(start), &n(stop)])
        }
        23..=24 => {
            let f = rng.pick(&[b"f1".as_slice(), b"f2", b"f3"]).to_vec();
            let mut a = args(&[b"HSET", &k, &f, &v]);
            if rng.chance(30) {
                a.extend(args(&[b"f4", &value(rng)]));
            }
            a
        }
        25 => args(&[b"HGET", &k, *rng.pick(&[b"f1".as_slice(), b"f2", b"f4"])]),
        26 => args(&[b"HDEL", &k, *rng.pick(&[b"f1".as_slice(), b"f2", b"f3"])]),
        27 => args(&[b"HLEN", &k]),
        28 => {
            let mut a = args(&[b"SADD", &k, &v]);
            if rng.chance(40) {
                a.push(value(rng));
            }
            a
        }
        29 => args(&[b"SREM", &k, &v]),
        30 => args(&[b"SCARD", &k]),
        31 => args(&[b"SISMEMBER", &k, &v]),
        32 => args(&[b"SELECT", &n(rng.below(DBS as u64) as i64)]),
        33 => args(&[b"MOVE", &k, &n(rng.below(DBS as u64) as i64)]),
        34 => {
            let a = rng.below(DBS as u64);
            let b = (a + 1 + rng.below(DBS as u64 - 1)) % DBS as u64;
            args(&[b"SWAPDB", &n(a as i64), &n(b as i64)])
        }
        35 => {
            if rng.chance(10) {
                args(&[b"FLUSHDB"])
            } else {
                args(&[b"GETDEL", &k])
            }
        }
        36 => args(&[b"MSET", &k, &v, &key(rng), &value(rng)]),
        37 => args(&[b"MGET", &k, &key(rng), &key(rng)]),
        38..=39 => {
            let by = *rng.pick(&[1, -1, 5, -7, i64::MAX, i64::MIN, 1 << 62]);
            args(&[b"INCRBY", &k, &n(by)])
        }
        40 => args(&[b"DECRBY", &k, &n(rng.range(-3, 9))]),
        41 => args(&[b"LPOP", &k]),
        42 => {
            let big = *rng.pick(&[i64::MAX, i64::MIN, i64::MAX - 1, -1]);
            args(&[b"SET", &k, &n(big)])
        }
        43 => args(&[b"SET", &k, &n(rng.range(-3, 3))]),
        44..=45 => {
            let name = *rng.pick(&[b"EXPIRE".as_slice(), b"PEXPIRE"]);
            let t = if name == b"EXPIRE" {
                rng.range(-1, 3)
            } else {
                rng.range(-10, 100) * 10
            };
            let flag = *rng.pick(&[b"NX".as_slice(), b"XX", b"GT", b"LT"]);
            args(&[name, &k, &n(t), flag])
        }
        46 => {
            if rng.chance(50) {
                args(&[b"PEXPIREAT", &k, &n(now + rng.range(-20, 600))])
            } else {
                args(&[b"EXPIREAT", &k, &n(now / 1000 + rng.range(-1, 3))])
            }
        }
        47 => args(&[*rng.pick(&[b"EXPIRETIME".as_slice(), b"PEXPIRETIME"]), &k]),
        48..=49 => {
            let mut a = args(&[b"GETEX", &k]);
            match rng.below(6) {
                0 => a.extend(args(&[b"EX", &n(rng.range(1, 3))])),
                1 => a.extend(args(&[b"PX", &n(rng.range(1, 500))])),
                2 => a.extend(args(&[b"EXAT", &n(now / 1000 + rng.range(-1, 3))])),
                3 => a.extend(args(&[b"PXAT", &n(now + rng.range(-20, 600))])),
                4 => a.extend(args(&[b"PERSIST"])),
                _ => {}
            }
            a
        }
        50 => {
            if rng.chance(50) {
                args(&[b"SETEX", &k, &n(rng.range(1, 3)), &v])
            } else {
                args(&[b"PSETEX", &k, &n(rng.range(1, 500)), &v])
            }
        }
        51 => args(&[*rng.pick(&[b"SETNX".as_slice(), b"GETSET"]), &k, &v]),
        52 => args(&[b"STRLEN", &k]),
        53 => args(&[
            *rng.pick(&[b"RENAME".as_slice(), b"RENAMENX"]),
            &k,
            &key(rng),
        ]),
        54 => args(&[b"LINDEX", &k, &n(rng.range(-4, 4))]),
        55 => args(&[b"LSET", &k, &n(rng.range(-3, 3)), &v]),
        56 => args(&[b"LREM", &k, &n(rng.range(-2, 2)), &v]),
        57..=58 => {
            let f = *rng.pick(&[b"f1".as_slice(), b"f2", b"f3"]);
            let by = *rng.pick(&[1, -2, 40, i64::MAX, i64::MIN]);
            args(&[b"HINCRBY", &k, f, &n(by)])
        }
        59 => args(&[b"HEXISTS", &k, *rng.pick(&[b"f1".as_slice(), b"f2", b"f4"])]),
        60..=62 => args(&[b"SMOVE", &k, &key_in(rng, family), &v]),
        63..=64 => {
            let mut a = args(&[b"ZADD", &k, &n(rng.range(-3, 5)), &v]);
            if rng.chance(40) {
                a.extend(args(&[&n(rng.range(-3, 5)), &value(rng)]));
            }
            a
        }
        65 => args(&[b"ZINCRBY", &k, &n(rng.range(-2, 3)), &v]),
        66 => args(&[
            *rng.pick(&[b"ZSCORE".as_slice(), b"ZRANK", b"ZREM"]),
            &k,
            &v,
        ]),
        67 => args(&[b"ZCARD", &k]),
        68..=69 => {
            let start = rng.range(-MAX_RANGE, MAX_RANGE);
            let stop = rng.range(start.min(0) - 2, start.max(0) + MAX_RANGE);
            let mut a = args(&[b"ZRANGE", &k, &n(start), &n(stop)]);
            if rng.chance(50) {
                a.push(b"WITHSCORES".to_vec());
            }
            a
        }
        // Outside MULTI only (inside, these end the transaction).
        70..=71 => args(&[b"MULTI"]),
        72 => args(&[*rng.pick(&[b"EXEC".as_slice(), b"DISCARD"])]),
        // Replies in no particular order: not inside MULTI (EXEC's array is compared as is).
        73 => args(&[b"KEYS", b"*"]),
        74..=75 => args(&[b"SMEMBERS", &k]),
        _ => args(&[b"GET"]), // wrong arity
    }
}

// ---- The simulation -----------------------------------------------------------------------

/// Why a seed failed.
struct Failure(String);

/// One seed's run.
struct Sim {
    seed: u64,
    /// Most requests a client has outstanding in this seed.
    pipeline: usize,
    rng: Rng,
    faults: Faults,
    clock: Rc<ManualClock>,
    workers: Vec<Worker<SimSocket, Rc<ManualClock>>>,
    log: ReadLog,
    model: Model,
    clients: BTreeMap<usize, Client>,
    /// Which client each open connection belongs to: (worker, token) -> client.
    conns: BTreeMap<(usize, Token), usize>,
    next_client: usize,
    step: u64,
    commands: u64,
    resets: u64,
    hash: Fnv,
    tail: VecDeque<String>,
    verbose: bool,
}

/// What one seed did.
struct Outcome {
    steps: u64,
    commands: u64,
    resets: u64,
    hash: u64,
}

impl Sim {
    fn new(seed: u64, verbose: bool) -> Self {
        let mut rng = Rng(seed);
        let faults = Faults {
            block: rng.below(30),
            short: rng.below(90),
            reset_per_mille: rng.below(12),
        };
        let n_workers = 1 + rng.below(3) as usize;
        let pipeline = 1 + rng.below(MAX_OUTSTANDING) as usize;
        let sizing = Sizing {
            shards_per_db: *rng.pick(&[1, 4, 256]),
            read_buffer: *rng.pick(&[64, 1024, 64 * 1024]),
        };
        let clock = Rc::new(ManualClock::new(UnixMillis(START_UNIX_MS)));
        let config = Config {
            workers: n_workers,
            ..Config::default()
        };
        let engine = Arc::new(Engine::with_sizing(
            config,
            HostFacts::default(),
            seed,
            clock.snapshot(),
            sizing,
        ));
        // Small encodings limits, so that values change representation often (listpack to
        // quicklist or hashtable, intset to hashtable).
        let encodings = [
            ("list-max-listpack-size", *rng.pick(&["-2", "1", "2", "4"])),
            ("hash-max-listpack-entries", *rng.pick(&["128", "1", "2"])),
            ("hash-max-listpack-value", *rng.pick(&["64", "1"])),
            ("set-max-intset-entries", *rng.pick(&["512", "1", "2"])),
            ("zset-max-listpack-entries", *rng.pick(&["128", "1", "2"])),
        ];
        let mut refused = None;
        for (name, value) in encodings {
            if let Err(e) = engine.set_config(name, value) {
                refused = Some(format!("CONFIG SET {name} {value}: {e:?}"));
            }
        }
        let workers = (0..n_workers)
            .map(|i| Worker::new(Arc::clone(&engine), Rc::clone(&clock), i))
            .collect();
        let mut sim = Sim {
            seed,
            rng,
            faults,
            pipeline,
            clock,
            workers,
            log: Rc::new(RefCell::new(Vec::new())),
            model: Model::new(),
            clients: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_client: 0,
            step: 0,
            commands: 0,
            resets: 0,
            hash: Fnv::new(),
            tail: VecDeque::new(),
            verbose,
        };
        sim.trace(format!(
            "seed {seed:#x}: {n_workers} worker(s), {sizing:?}, faults {faults:?}, pipelines of {pipeline}, {encodings:?}"
        ));
        if let Some(why) = refused {
            sim.trace(why);
        }
        sim
    }

    fn trace(&mut self, line: String) {
        self.hash.write(line.as_bytes());
        self.hash.write(b"\n");
        if self.verbose {
            out!("{line}");
        }
        if self.tail.len() == TRACE_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn now(&self) -> i64 {
        self.clock.unix_millis().0
    }

    fn fail(&mut self, why: String) -> Failure {
        self.trace(format!("FAIL: {why}"));
        Failure(why)
    }

    fn connect(&mut self) -> Result<(), Failure> {
        let id = self.next_client;
        self.next_client += 1;
        let w = self.rng.below(self.workers.len() as u64) as usize;
        let pipe = Rc::new(RefCell::new(Pipe {
            client: id,
            ..Pipe::default()
        }));
        let socket = SimSocket {
            pipe: Rc::clone(&pipe),
            log: Rc::clone(&self.log),
            rng: Rng(self.rng.next()),
            faults: self.faults,
        };
        let Ok(token) = self.workers[w].admit(socket, ClientAddr::default(), true) else {
            return Err(self.fail(format!("client {id} refused")));
        };
        self.trace(format!("c{id}: connected to worker {w} as token {token}"));
        self.conns.insert((w, token), id);
        self.clients.insert(
            id,
            Client {
                worker: w,
                token,
                pipe,
                unsent: VecDeque::new(),
                sent_total: 0,
                consumed: 0,
                pending: VecDeque::new(),
                expected: VecDeque::new(),
                received: Vec::new(),
                in_multi: false,
                queued: Vec::new(),
                gen_multi: false,
                multi_error: false,
                db: 0,
                reset: false,
                closing: false,
            },
        );
        Ok(())
    }

    /// Ids of the clients that still send requests (not reset, not closing).
    fn live_clients(&self) -> Vec<usize> {
        self.clients
            .iter()
            .filter(|(_, c)| !c.reset && !c.closing)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Ids of the clients that still read replies (not reset).
    fn readers(&self) -> Vec<usize> {
        self.clients
            .iter()
            .filter(|(_, c)| !c.reset)
            .map(|(id, _)| *id)
            .collect()
    }

    /// A client queues one new request.
    fn send(&mut self, id: usize) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        let a = generate(&mut self.rng, c.gen_multi, self.clock.unix_millis().0);
        match a[0].as_slice() {
            b"MULTI" => c.gen_multi = true,
            b"EXEC" | b"DISCARD" => c.gen_multi = false,
            _ => {}
        }
        let bytes = encode_request(&a, self.rng.chance(20));
        c.sent_total += bytes.len() as u64;
        c.unsent.extend(bytes.iter());
        c.pending.push_back(Sent {
            end: c.sent_total,
            args: a.clone(),
        });
        let line = format!("c{id}: sends {}", describe(&a));
        self.trace(line);
    }

    /// A client hands some of its request bytes to its socket.
    fn transmit(&mut self, id: usize, all: bool) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        let n = if all {
            c.unsent.len()
        } else {
            (1 + self.rng.below(40) as usize).min(c.unsent.len())
        };
        c.pipe.borrow_mut().to_server.extend(c.unsent.drain(..n));
    }

    /// A client reads some of its reply bytes and checks every complete reply.
    fn receive(&mut self, id: usize, all: bool) -> Result<(), Failure> {
        let Some(c) = self.clients.get_mut(&id) else {
            return Ok(());
        };
        {
            let mut p = c.pipe.borrow_mut();
            let n = if all {
                p.to_client.len()
            } else {
                (1 + self.rng.below(64) as usize).min(p.to_client.len())
            };
            c.received.extend(p.to_client.drain(..n));
        }
        loop {
            let c = self
                .clients
                .get_mut(&id)
                .ok_or_else(|| Failure("gone".into()))?;
            let end = match reply_end(&c.received, 0) {
                Ok(Some(end)) => end,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let got = show(&c.received);
                    return Err(self.fail(format!("c{id}: malformed reply ({e}): {got}")));
                }
            };
            let reply: Vec<u8> = c.received.drain(..end).collect();
            let Some(want) = c.expected.pop_front() else {
                return Err(self.fail(format!("c{id}: unexpected reply {}", show(&reply))));
            };
            let same = if want.unordered {
                sorted_array(&reply) == sorted_array(&want.reply)
            } else {
                reply == want.reply
            };
            if !same {
                return Err(self.fail(format!(
                    "c{id}: {}: expected {} got {}",
                    want.request,
                    show(&want.reply),
                    show(&reply)
                )));
            }
            self.trace(format!("c{id}: got the reply to {}", want.request));
        }
    }

    /// Applies the engine's reads, in order: each request whose last byte was read ran then.
    fn absorb_reads(&mut self) {
        let reads = std::mem::take(&mut *self.log.borrow_mut());
        let now = self.now();
        let mut ran = Vec::new();
        for (id, n) in reads {
            let Some(c) = self.clients.get_mut(&id) else {
                continue;
            };
            c.consumed += n as u64;
            while c.pending.front().is_some_and(|s| s.end <= c.consumed) {
                let Some(sent) = c.pending.pop_front() else {
                    break;
                };
                let reply = run(&mut self.model, id, c, &sent.args, now);
                let request = describe(&sent.args);
                ran.push(format!(
                    "c{id}: ran {request} at +{} ms, expects {}",
                    now - START_UNIX_MS,
                    brief(&reply)
                ));
                let unordered = matches!(sent.args[0].as_slice(), b"KEYS" | b"SMEMBERS");
                c.expected.push_back(Expected {
                    request,
                    reply,
                    unordered,
                });
                self.commands += 1;
            }
        }
        for line in ran {
            self.trace(line);
        }
    }

    /// Releases the sockets the engine handed back; only reset clients may be among them.
    fn collect_closed(&mut self, w: usize) -> Result<(), Failure> {
        for (t, _socket) in self.workers[w].take_closed() {
            let Some(id) = self.conns.remove(&(w, t)) else {
                return Err(self.fail(format!("worker {w} closed unknown token {t}")));
            };
            if self.clients.get(&id).is_some_and(|c| c.reset) {
                self.clients.remove(&id);
                self.trace(format!("c{id}: socket handed back"));
            } else if self.clients.get(&id).is_some_and(|c| c.closing) {
                // Closed after its last reply: every reply must be there to read.
                self.receive(id, true)?;
                let c = &self.clients[&id];
                if c.outstanding() > 0 || !c.received.is_empty() {
                    let n = c.outstanding();
                    return Err(self.fail(format!(
                        "c{id}: closed with {n} replies missing, {} bytes of a partial one",
                        c.received.len()
                    )));
                }
                self.clients.remove(&id);
                self.trace(format!("c{id}: closed after its last reply"));
            } else {
                return Err(self.fail(format!("worker {w} closed healthy client c{id}")));
            }
        }
        Ok(())
    }

    fn ready(&mut self, w: usize, t: Token) -> Result<(), Failure> {
        self.workers[w].ready(t);
        self.absorb_reads();
        self.collect_closed(w)
    }

    fn tick(&mut self, w: usize) -> Result<(), Failure> {
        self.workers[w].handle_timeout();
        self.absorb_reads();
        self.collect_closed(w)
    }

    /// A client resets its connection. Half the time the driver notices at once (a hangup
    /// event) and closes the connection with [`Worker::close`]; otherwise the worker finds
    /// out from a failed read or write.
    fn reset(&mut self, id: usize) -> Result<(), Failure> {
        let Some(c) = self.clients.get_mut(&id) else {
            return Ok(());
        };
        c.reset = true;
        c.pipe.borrow_mut().reset = true;
        let (lost, unrun, w, t) = (c.expected.len(), c.pending.len(), c.worker, c.token);
        self.resets += 1;
        let close = self.rng.chance(50);
        self.trace(format!(
            "c{id}: resets its connection ({lost} replies lost, {unrun} requests never run){}",
            if close { ", the driver closes it" } else { "" }
        ));
        if close {
            self.workers[w].close(t);
            self.collect_closed(w)?;
            if self.clients.contains_key(&id) {
                return Err(self.fail(format!("c{id}: Worker::close kept the socket")));
            }
        }
        Ok(())
    }

    /// A client sends its last request: QUIT, or it closes its sending side after what it
    /// has sent. It reads its replies; a new client takes its place.
    fn finish(&mut self, id: usize) {
        let quit = self.rng.chance(50);
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if quit {
            let a = args(&[b"QUIT"]);
            let bytes = encode_request(&a, self.rng.chance(20));
            c.sent_total += bytes.len() as u64;
            c.unsent.extend(bytes.iter());
            c.pending.push_back(Sent {
                end: c.sent_total,
                args: a,
            });
        }
        c.closing = true;
        let mut p = c.pipe.borrow_mut();
        p.to_server.extend(c.unsent.drain(..));
        p.eof = !quit || self.rng.chance(50);
        let how = if quit {
            "sends QUIT"
        } else {
            "closes its sending side"
        };
        let eof = if p.eof {
            " (and shuts down writing)"
        } else {
            ""
        };
        drop(p);
        self.trace(format!("c{id}: {how}{eof}"));
    }

    /// Advances the clock: a few ms, tens of ms, seconds, or to just when a key expires
    /// (the instant it still lives, or 1 ms later).
    fn advance_clock(&mut self) {
        let now = self.now();
        let deadlines: Vec<i64> = self
            .model
            .dbs
            .iter()
            .flat_map(|d| d.keys.values())
            .filter_map(|e| e.at)
            .filter(|&at| at >= now)
            .collect();
        let ms = match self.rng.below(10) {
            0 => self.rng.range(100, 3000),
            1..=2 => self.rng.range(1, 10) * 10,
            3..=4 if !deadlines.is_empty() => {
                *self.rng.pick(&deadlines) - now + self.rng.range(0, 1)
            }
            _ => self.rng.range(0, 5),
        };
        self.clock.advance(Duration::from_millis(ms as u64));
        self.trace(format!("clock +{ms} ms"));
    }

    /// One random action.
    fn step(&mut self) -> Result<(), Failure> {
        self.step += 1;
        let live = self.live_clients();
        if live.len() < 2 || (live.len() < MAX_CLIENTS && self.rng.chance(2)) {
            return self.connect();
        }
        let conns: Vec<(usize, Token)> = self.conns.keys().copied().collect();
        let id = *self.rng.pick(&live);
        match self.rng.below(100) {
            0..=29 => {
                let c = &self.clients[&id];
                if c.outstanding() < self.pipeline {
                    self.send(id);
                }
                if self.rng.chance(50) {
                    self.transmit(id, false);
                }
                Ok(())
            }
            30..=39 => {
                let all = self.rng.chance(50);
                self.transmit(id, all);
                Ok(())
            }
            40..=64 => {
                let (w, t) = *self.rng.pick(&conns);
                self.ready(w, t)
            }
            65..=69 => {
                let w = self.rng.below(self.workers.len() as u64) as usize;
                self.tick(w)
            }
            70..=89 => {
                let readers = self.readers();
                let id = *self.rng.pick(&readers);
                let all = self.rng.chance(50);
                self.receive(id, all)
            }
            90..=97 => {
                self.advance_clock();
                Ok(())
            }
            _ => {
                if self.rng.below(1000) < self.faults.reset_per_mille * 20 {
                    self.reset(id)?;
                } else if self.rng.chance(10) {
                    self.finish(id);
                }
                Ok(())
            }
        }
    }

    /// The end of a seed: everything sent is delivered, run and answered, and every reset
    /// connection is handed back, within [`DRAIN_ROUNDS`] rounds of (still faulty) I/O.
    fn drain(&mut self) -> Result<(), Failure> {
        self.trace("drain".into());
        for _ in 0..DRAIN_ROUNDS {
            let quiet = self
                .clients
                .values()
                .all(|c| !c.reset && !c.closing && c.idle());
            if quiet {
                return Ok(());
            }
            for id in self.live_clients() {
                self.transmit(id, true);
            }
            // As a readiness-based driver: a connection is driven only when its socket is
            // ready for what `interest` says it waits for (a reset is always reported), and
            // a worker's `handle_timeout` runs when its `poll_timeout` has passed.
            let mut progress = false;
            let conns: Vec<(usize, Token)> = self.conns.keys().copied().collect();
            for (w, t) in conns {
                let Some(i) = self.workers[w].interest(t) else {
                    continue;
                };
                let Some(c) = self.conns.get(&(w, t)).and_then(|id| self.clients.get(id)) else {
                    continue;
                };
                let (readable, hangup) = {
                    let p = c.pipe.borrow();
                    (!p.to_server.is_empty() || p.eof, p.reset)
                };
                if hangup || (i.read && readable) || i.write {
                    progress = true;
                    self.ready(w, t)?;
                }
            }
            for w in 0..self.workers.len() {
                if self.workers[w].poll_timeout() == Duration::ZERO {
                    progress = true;
                    self.tick(w)?;
                }
            }
            if !progress {
                // Nothing is ready: sleep until the first worker's timeout.
                let sleep = (0..self.workers.len())
                    .map(|w| self.workers[w].poll_timeout())
                    .min()
                    .unwrap_or(Duration::ZERO);
                self.clock.advance(sleep);
                self.trace(format!("drain: slept {} ms", sleep.as_millis()));
                for w in 0..self.workers.len() {
                    if self.workers[w].poll_timeout() == Duration::ZERO {
                        self.tick(w)?;
                    }
                }
            }
            for id in self.readers() {
                self.receive(id, true)?;
            }
        }
        let stuck: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, c)| c.reset || c.closing || !c.idle())
            .map(|(id, c)| {
                format!(
                    "c{id} (worker {} token {}, reset {}, closing {}, {} unsent bytes, {} unrun, {} unanswered)",
                    c.worker,
                    c.token,
                    c.reset,
                    c.closing,
                    c.unsent.len(),
                    c.pending.len(),
                    c.expected.len()
                )
            })
            .collect();
        Err(self.fail(format!(
            "not quiescent after {DRAIN_ROUNDS} rounds: {}",
            stuck.join(", ")
        )))
    }

    fn run(&mut self, steps: u64) -> Result<Outcome, Failure> {
        for _ in 0..steps {
            self.step()?;
        }
        self.drain()?;
        let line = format!(
            "seed {:#x}: {} steps, {} commands, {} resets",
            self.seed, self.step, self.commands, self.resets
        );
        self.trace(line);
        Ok(Outcome {
            steps: self.step,
            commands: self.commands,
            resets: self.resets,
            hash: self.hash.0,
        })
    }
}

/// Runs a request the engine just ran, for client `c`, in the model: its expected reply.
fn run(model: &mut Model, id: usize, c: &mut Client, a: &[Vec<u8>], now: i64) -> Vec<u8> {
    match a[0].as_slice() {
        // Outside MULTI only (the generator's choice).
        b"WATCH" => {
            for k in &a[1..] {
                model
                    .watches
                    .entry((c.db, k.clone()))
                    .or_default()
                    .insert(id);
            }
            ok()
        }
        b"UNWATCH" => {
            model.unwatch(id);
            ok()
        }
        b"MULTI" => {
            c.in_multi = true;
            c.multi_error = false;
            c.queued.clear();
            ok()
        }
        b"EXEC" if !c.in_multi => err("ERR EXEC without MULTI"),
        b"DISCARD" if !c.in_multi => err("ERR DISCARD without MULTI"),
        b"EXEC" if c.multi_error => {
            c.in_multi = false;
            c.multi_error = false;
            c.queued.clear();
            model.unwatch(id);
            err("EXECABORT Transaction discarded because of previous errors.")
        }
        b"EXEC" if model.dirty.contains(&id) => {
            c.in_multi = false;
            c.queued.clear();
            model.unwatch(id);
            b"*-1\r\n".to_vec()
        }
        b"EXEC" => {
            c.in_multi = false;
            model.unwatch(id);
            let replies = std::mem::take(&mut c.queued)
                .iter()
                .map(|q| model.apply(&mut c.db, q, now))
                .collect();
            array(replies)
        }
        b"DISCARD" => {
            c.in_multi = false;
            c.multi_error = false;
            c.queued.clear();
            model.unwatch(id);
            ok()
        }
        b"GET" if a.len() != 2 => {
            c.multi_error |= c.in_multi;
            err("ERR wrong number of arguments for 'get' command")
        }
        // Not queued inside MULTI either (Redis 7.0's processCommand).
        b"QUIT" => ok(),
        _ if c.in_multi => {
            c.queued.push(a.to_vec());
            b"+QUEUED\r\n".to_vec()
        }
        _ => model.apply(&mut c.db, a, now),
    }
}

fn describe(a: &[Vec<u8>]) -> String {
    a.iter().map(|x| brief(x)).collect::<Vec<_>>().join(" ")
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => {
            eprintln!("{name}={v}: not a number");
            std::process::exit(2);
        }
    }
}

fn main() {
    let steps = env_u64("KV_SIM_STEPS").unwrap_or(DEFAULT_STEPS);
    let verbose = std::env::var("KV_SIM_TRACE").is_ok_and(|v| v == "1");
    let budget = env_u64("KV_SIM_SECS").map(Duration::from_secs);
    let (first, count) = match env_u64("KV_SEED") {
        Some(seed) => (seed, 1),
        None => {
            let base = env_u64("KV_SIM_BASE").unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                Rng(t.as_nanos() as u64).next()
            });
            // With a time budget and no seed count, seeds run until the budget is spent.
            let default = if budget.is_some() {
                u64::MAX
            } else {
                DEFAULT_SEEDS
            };
            (base, env_u64("KV_SIM_SEEDS").unwrap_or(default))
        }
    };
    out!("simulation: seeds from {first:#x}, {steps} steps a seed");
    let started = std::time::Instant::now();
    let (mut seeds, mut total_steps, mut commands, mut resets) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..count {
        if budget.is_some_and(|b| started.elapsed() >= b) {
            break;
        }
        let seed = first.wrapping_add(i);
        let mut sim = Sim::new(seed, verbose);
        match sim.run(steps) {
            Ok(o) => {
                out!(
                    "seed {seed:#x}: steps {} commands {} resets {} trace {:016x}",
                    o.steps,
                    o.commands,
                    o.resets,
                    o.hash
                );
                seeds += 1;
                total_steps += o.steps;
                commands += o.commands;
                resets += o.resets;
            }
            Err(Failure(why)) => {
                out!("FAILED: seed {seed:#x} at step {}: {why}", sim.step);
                out!("trace tail (last {} lines):", sim.tail.len());
                for line in &sim.tail {
                    out!("  {line}");
                }
                let steps_env = if steps == DEFAULT_STEPS {
                    String::new()
                } else {
                    format!("KV_SIM_STEPS={steps} ")
                };
                out!(
                    "replay: KV_SEED={seed:#x} {steps_env}KV_SIM_TRACE=1 cargo run -p kv-examples --bin simulation"
                );
                std::process::exit(1);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    out!("seeds {seeds} steps {total_steps} commands {commands} resets {resets} in {secs:.1} s");
}
