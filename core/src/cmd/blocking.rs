//! Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP;
//! and the command layer's part of serving blocked clients ([`CmdServer`], [`signal`]).
//!
//! A blocking command first looks at its keys in order, under the write locks of all their
//! shards: a key of the wrong type answers WRONGTYPE at once, the first key with data is
//! popped from as the non-blocking form would. When none has data the client is registered
//! in [`crate::blocking::Blocking`] (still under those locks, so no push can slip between
//! the look and the registration) and its connection stops executing until a writer serves
//! it, its timeout passes (`*-1`), or CLIENT UNBLOCK. See `crate::blocking` for the protocol.
//!
//! After every write command [`signal`] hands the keys it wrote to the registry, which
//! serves the clients blocked on them, in the order they blocked, before the writer's next
//! command: LPUSH's reply counts the elements that blocked clients then take.

use super::lists::{
    after, move_in, mpop_args as lmpop_args, parse_end, pop_event, pop_one, push_at,
};
use super::zsets::{mpop_args as zmpop_args, mpop_reply as zmpop_reply, pop_items, score_reply};
use super::{CmdResult, Command, Ctx, Error, Notify};
use crate::blocking::{Check, End, Op, Server, Undo, Waiter};
use crate::db::{Item, Multi, Value, Write};
use crate::num::LongDouble;
use crate::resp::{encode, Args};
use crate::types::list::List;
use crate::types::zset::ZSet;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Parses a blocking timeout in seconds (decimals allowed) as Redis 7.0 does: the
/// milliseconds are `ceill(seconds * 1000)`; 0 means forever.
pub(crate) fn timeout_arg(arg: &[u8]) -> Result<u64, Error> {
    let ms = match LongDouble::parse(arg) {
        Ok(t) => t.ceil_millis(),
        // inf: Redis's cast of an infinite product is negative.
        Err(true) => i64::MIN,
        Err(false) => return Err(Error::Msg("ERR timeout is not a float or out of range")),
    };
    u64::try_from(ms).map_err(|_| Error::Msg("ERR timeout is negative"))
}

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// What popping leaves of a sorted set: the key goes with its last member.
fn leave(empty: bool) -> Write {
    if empty {
        Write::Remove
    } else {
        Write::Keep
    }
}

/// What is under a key, for the blocking commands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Missing,
    List,
    ZSet,
    Other,
}

fn kind(m: &mut Multi<'_>, key: &[u8]) -> Kind {
    m.read(key, |item| match &item.value {
        Value::List(_) => Kind::List,
        Value::ZSet(_) => Kind::ZSet,
        _ => Kind::Other,
    })
    .unwrap_or(Kind::Missing)
}

/// Pops for `op` from `key` (which holds data of the op's kind): the reply, and what to put
/// back if the reply cannot be delivered. For BLMOVE the destination's type is checked
/// first (WRONGTYPE and nothing popped, as LMOVE), the element pushed there and `dst`
/// named in `ready`. Notifies as the non-blocking form (whether the client is served now
/// or later): the pop's event, then `del` if the key went.
fn pop_for(
    m: &mut Multi<'_>,
    notify: Notify<'_>,
    fill: i32,
    db: usize,
    key: &[u8],
    op: &Op,
    ready: &mut Vec<(usize, Vec<u8>)>,
) -> (Vec<u8>, Option<Undo>) {
    let mut out = Vec::new();
    match op {
        Op::Pop(end) | Op::MPop(end, _) => {
            let count = match op {
                Op::MPop(_, c) => *c,
                _ => 1,
            };
            let (items, emptied) = m
                .write(key, |item| match item.map(|i| &mut i.value) {
                    Some(Value::List(l)) => {
                        let mut v = Vec::new();
                        while v.len() < count {
                            match pop_one(l, *end) {
                                Some(e) => v.push(e),
                                None => break,
                            }
                        }
                        (after(l), (v, l.is_empty()))
                    }
                    _ => (Write::Keep, (Vec::new(), false)),
                })
                .unwrap_or_default();
            if !items.is_empty() {
                notify.event(crate::notify::LIST, pop_event(*end), key);
                if emptied {
                    notify.event(crate::notify::GENERIC, "del", key);
                }
                let name: &[u8] = if *end == End::Left { b"LPOP" } else { b"RPOP" };
                aof_record(notify, &[name, key, count_arg(items.len()).as_bytes()]);
            }
            if let Op::Pop(_) = op {
                encode::array(&mut out, 2);
                encode::bulk(&mut out, key);
                if let Some(e) = items.first() {
                    encode::bulk(&mut out, e);
                }
            } else {
                encode::array(&mut out, 2);
                encode::bulk(&mut out, key);
                encode::array(&mut out, items.len());
                for e in &items {
                    encode::bulk(&mut out, e);
                }
            }
            let undo = Undo::List {
                db,
                key: key.to_vec(),
                end: *end,
                items,
            };
            (out, Some(undo))
        }
        Op::Move { dst, from, to } => {
            match move_in(m, notify, key, dst, *from, *to, fill) {
                Ok(Some(e)) => {
                    ready.push((db, dst.clone()));
                    encode::bulk(&mut out, &e);
                    aof_record(
                        notify,
                        &[b"LMOVE", key, dst, end_name(*from), end_name(*to)],
                    );
                }
                Ok(None) => encode::null_array(&mut out),
                Err(_) => out.extend_from_slice(WRONGTYPE),
            }
            (out, None)
        }
        Op::ZPop(max) | Op::ZMPop(max, _) => {
            let count = match op {
                Op::ZMPop(_, c) => *c,
                _ => 1,
            };
            let (items, emptied) = m
                .write(key, |item| match item.map(|i| &mut i.value) {
                    Some(Value::ZSet(z)) => {
                        let v = pop_items(z, *max, count);
                        (leave(z.is_empty()), (v, z.is_empty()))
                    }
                    _ => (Write::Keep, (Vec::new(), false)),
                })
                .unwrap_or_default();
            if !items.is_empty() {
                let event = if *max { "zpopmax" } else { "zpopmin" };
                notify.event(crate::notify::ZSET, event, key);
                if emptied {
                    notify.event(crate::notify::GENERIC, "del", key);
                }
                let name: &[u8] = if *max { b"ZPOPMAX" } else { b"ZPOPMIN" };
                aof_record(notify, &[name, key, count_arg(items.len()).as_bytes()]);
            }
            if let Op::ZPop(_) = op {
                encode::array(&mut out, 3);
                encode::bulk(&mut out, key);
                if let Some((member, score)) = items.first() {
                    encode::bulk(&mut out, member);
                    score_reply(&mut out, *score);
                }
            } else {
                zmpop_reply(&mut out, key, &items);
            }
            let undo = Undo::ZSet {
                db,
                key: key.to_vec(),
                items,
            };
            (out, Some(undo))
        }
    }
}

/// Records a pop that served a blocked client (now or later) in the append-only file, as
/// its non-blocking form (the caller holds the feed's order lock).
fn aof_record(notify: Notify<'_>, args: &[&[u8]]) {
    let feed = &notify.engine.feed;
    if feed.is_on() {
        feed.record(notify.db, args);
    }
}

/// A count as decimal digits.
fn count_arg(n: usize) -> alloc::string::String {
    alloc::format!("{n}")
}

/// `LEFT` or `RIGHT`.
fn end_name(end: End) -> &'static [u8] {
    if end == End::Left {
        b"LEFT"
    } else {
        b"RIGHT"
    }
}

/// The command layer's side of serving blocked clients (see [`crate::blocking::Server`]).
pub struct CmdServer<'a> {
    /// The fill of lists that serving creates (a BLMOVE's destination).
    fill: i32,
    /// What serving writes touches WATCH.
    watches: &'a crate::watch::Watches,
    /// Where serving's keyspace notifications go.
    engine: &'a crate::engine::Engine,
}

impl<'a> CmdServer<'a> {
    /// A server with the engine's current list settings.
    pub fn new(engine: &'a crate::engine::Engine) -> Self {
        CmdServer {
            fill: engine.encodings().list_max_listpack_size,
            watches: &engine.watches,
            engine,
        }
    }
}

impl Server for CmdServer<'_> {
    fn check(&mut self, m: &mut Multi<'_>, key: &[u8], w: &Waiter) -> Check {
        match (kind(m, key), w.op.wants_list()) {
            (Kind::List, true) | (Kind::ZSet, false) => Check::Ready,
            (Kind::List, false) | (Kind::ZSet, true) => Check::Skip,
            _ => Check::Stop,
        }
    }

    fn serve(
        &mut self,
        m: &mut Multi<'_>,
        key: &[u8],
        w: &Waiter,
        ready: &mut Vec<(usize, Vec<u8>)>,
    ) -> (Vec<u8>, Option<Undo>) {
        let before = ready.len();
        let notify = Notify::new(self.engine, w.db);
        let r = pop_for(m, notify, self.fill, w.db, key, &w.op, ready);
        // Serving writes the key popped from (and a BLMOVE's destination, named in
        // `ready`): WATCH sees those as writes, as in Redis.
        if r.1.is_some() || ready.len() > before {
            self.watches.touch(w.db, key);
        }
        for (db, k) in ready.get(before..).unwrap_or(&[]) {
            self.watches.touch(*db, k);
        }
        r
    }
}

/// Serves the clients blocked on the keys that the write command `cmd` (just run with
/// `args` in the session's database) may have given data. Cheap (one atomic load) when
/// nobody is blocked.
pub fn signal(ctx: &mut Ctx<'_>, cmd: &Command, args: &Args<'_>) {
    let blocking = &ctx.engine.blocking;
    let watches = &ctx.engine.watches;
    if blocking.blocked() == 0 && watches.is_empty() {
        return;
    }
    let db = ctx.session.db;
    let int =
        |i: usize| crate::resp::parse::parse_i64(args.get(i)).and_then(|n| usize::try_from(n).ok());
    let mut ready: Vec<(usize, Vec<u8>)> = match cmd.name {
        "swapdb" => match (int(1), int(2)) {
            (Some(a), Some(b)) => blocking.keys_of(a, b),
            _ => Vec::new(),
        },
        "move" => int(2)
            .map(|to| (to, args.get(1).to_vec()))
            .into_iter()
            .collect(),
        "copy" => {
            let mut v = alloc::vec![(db, args.get(2).to_vec())];
            let mut i = 3;
            while i + 1 < args.len() {
                if args.get(i).eq_ignore_ascii_case(b"DB") {
                    if let Some(n) = int(i + 1) {
                        v.push((n, args.get(2).to_vec()));
                    }
                }
                i += 1;
            }
            v
        }
        _ => ctx
            .session
            .touched
            .take()
            .unwrap_or_else(|| cmd.key_positions(args).unwrap_or_default())
            .into_iter()
            .map(|i| (db, args.get(i).to_vec()))
            .collect(),
    };
    for (db, key) in &ready {
        watches.touch(*db, key);
    }
    if ctx.session.in_exec {
        // Inside EXEC: serve after the whole transaction.
        ctx.session.exec_ready.append(&mut ready);
        return;
    }
    blocking.serve(
        ctx.engine.dbs(),
        ctx.now.unix,
        &mut ready,
        &mut CmdServer::new(ctx.engine),
    );
}

/// Before FLUSHDB, FLUSHALL or SWAPDB runs: touches the watched keys of the databases it
/// empties or swaps that exist (in either database, for SWAPDB), as Redis does. The
/// dispatcher calls it only while someone watches.
pub fn touch_before_flush(ctx: &mut Ctx<'_>, cmd: &Command, args: &Args<'_>) {
    let engine = ctx.engine;
    let now = ctx.now.unix;
    let int =
        |i: usize| crate::resp::parse::parse_i64(args.get(i)).and_then(|n| usize::try_from(n).ok());
    let dbs: Vec<(usize, usize)> = match cmd.name {
        "flushdb" => alloc::vec![(ctx.session.db, ctx.session.db)],
        "flushall" => (0..engine.dbs().len()).map(|d| (d, d)).collect(),
        _ => match (int(1), int(2)) {
            (Some(a), Some(b)) if a < engine.dbs().len() && b < engine.dbs().len() => {
                alloc::vec![(a, b), (b, a)]
            }
            _ => Vec::new(),
        },
    };
    for (db, other) in dbs {
        engine.watches.touch_db(db, |k| {
            engine.db(db).exists(k, now) || engine.db(other).exists(k, now)
        });
    }
}

/// Puts back what a delivery popped for a client that disconnected before it arrived, and
/// serves whoever waits on that key now.
pub fn undo(engine: &crate::engine::Engine, undo: Undo, now: crate::time::UnixMillis) {
    let (db_index, key) = match &undo {
        Undo::List { db, key, .. } | Undo::ZSet { db, key, .. } => (*db, key.clone()),
    };
    let Some(db) = engine.dbs().get(db_index) else {
        return;
    };
    let limits = crate::types::zset::Limits::from(engine.encodings());
    let fill = engine.encodings().list_max_listpack_size;
    // The append-only file recorded the pop: it records the putting back too.
    if engine.feed.is_on() {
        let mut args: Vec<Vec<u8>> = Vec::new();
        match &undo {
            Undo::List { end, items, .. } => {
                let name: &[u8] = if *end == End::Left {
                    b"LPUSH"
                } else {
                    b"RPUSH"
                };
                args.push(name.to_vec());
                args.push(key.clone());
                args.extend(items.iter().rev().cloned());
            }
            Undo::ZSet { items, .. } => {
                args.push(b"ZADD".to_vec());
                args.push(key.clone());
                args.push(b"NX".to_vec());
                for (m, s) in items {
                    args.push(crate::num::fmt_double(*s).into_bytes());
                    args.push(m.clone());
                }
            }
        }
        let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        engine.feed.record(db_index, &argv);
    }
    // Putting back is invisible to clients: no keyspace notification.
    db.write_quiet(&key, now, |item| match undo {
        Undo::List { end, items, .. } => match item {
            Some(Item {
                value: Value::List(l),
                ..
            }) => {
                for e in items.iter().rev() {
                    push_at(l, end, e);
                }
                (Write::Keep, ())
            }
            Some(_) => (Write::Keep, ()), // the key changed type meanwhile: Redis would not have popped
            None => {
                let mut l = List::with_fill(fill);
                for e in items.iter().rev() {
                    push_at(&mut l, end, e);
                }
                (Write::Put(Item::new(Value::List(Box::new(l)))), ())
            }
        },
        Undo::ZSet { items, .. } => match item {
            Some(Item {
                value: Value::ZSet(z),
                ..
            }) => {
                for (m, s) in &items {
                    if z.score(m).is_none() {
                        z.insert(m, *s, limits);
                    }
                }
                (Write::Keep, ())
            }
            Some(_) => (Write::Keep, ()),
            None => {
                let mut z = ZSet::new();
                for (m, s) in &items {
                    z.insert(m, *s, limits);
                }
                (Write::Put(Item::new(Value::ZSet(Box::new(z)))), ())
            }
        },
    });
    let mut ready = alloc::vec![(db_index, key)];
    engine
        .blocking
        .serve(engine.dbs(), now, &mut ready, &mut CmdServer::new(engine));
}

/// The shared body of the blocking commands: `keys` in order; serve at once from the first
/// with data, else block (or answer `*-1` when blocking is not allowed).
fn block_on(
    ctx: &mut Ctx<'_>,
    keys: Vec<&[u8]>,
    op: Op,
    timeout_ms: u64,
    out: &mut Vec<u8>,
) -> CmdResult {
    let db = ctx.session.db;
    let fill = ctx.engine.encodings().list_max_listpack_size;
    if ctx.aof() {
        // The append-only file records the pop it does (`pop_for`), never the block.
        ctx.propagate_nothing();
    }
    let mut locks = keys.clone();
    if let Op::Move { dst, .. } = &op {
        locks.push(dst);
    }
    let blocking = &ctx.engine.blocking;
    let notify = ctx.notifier();
    let session = &mut *ctx.session;
    let reply = ctx.engine.db(db).multi(&locks, ctx.now.unix, |m| {
        for k in &keys {
            match (kind(m, k), op.wants_list()) {
                (Kind::Missing, _) => {}
                (Kind::List, true) | (Kind::ZSet, false) => {
                    // The keys this gives data (BLMOVE's destination) are served by
                    // `signal` after the command, like any write's.
                    return Ok(Some(
                        pop_for(m, notify, fill, db, k, &op, &mut Vec::new()).0,
                    ));
                }
                _ => return Err(Error::WrongType),
            }
        }
        if session.deny_blocking {
            // Inside MULTI: as the non-blocking form (BLMOVE and BRPOPLPUSH as LMOVE).
            let mut o = Vec::new();
            if matches!(op, Op::Move { .. }) {
                encode::nil(&mut o);
            } else {
                encode::null_array(&mut o);
            }
            return Ok(Some(o));
        }
        let mut uniq: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for k in &keys {
            if !uniq.iter().any(|u| u.as_slice() == *k) {
                uniq.push(k.to_vec());
            }
        }
        blocking.register(Waiter {
            client: session.id,
            worker: session.worker,
            token: session.token,
            db,
            keys: uniq,
            op: op.clone(),
        });
        session.block = Some(timeout_ms);
        Ok(None)
    })?;
    if let Some(r) = reply {
        out.extend_from_slice(&r);
    }
    Ok(())
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, op: Op) -> CmdResult {
    let last = args.len() - 1;
    let timeout = timeout_arg(args.get(last))?;
    let keys = (1..last).map(|i| args.get(i)).collect();
    block_on(ctx, keys, op, timeout, out)
}

/// `BLPOP key [key ...] timeout`.
pub fn blpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop_generic(ctx, args, out, Op::Pop(End::Left))
}

/// `BRPOP key [key ...] timeout`.
pub fn brpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop_generic(ctx, args, out, Op::Pop(End::Right))
}

/// `BZPOPMIN key [key ...] timeout`.
pub fn bzpopmin(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop_generic(ctx, args, out, Op::ZPop(false))
}

/// `BZPOPMAX key [key ...] timeout`.
pub fn bzpopmax(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop_generic(ctx, args, out, Op::ZPop(true))
}

fn move_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    from: End,
    to: End,
    timeout_at: usize,
) -> CmdResult {
    let timeout = timeout_arg(args.get(timeout_at))?;
    let op = Op::Move {
        dst: args.get(2).to_vec(),
        from,
        to,
    };
    block_on(ctx, alloc::vec![args.get(1)], op, timeout, out)
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`.
pub fn blmove(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    move_generic(ctx, args, out, from, to, 5)
}

/// `BRPOPLPUSH source destination timeout`.
pub fn brpoplpush(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    move_generic(ctx, args, out, End::Right, End::Left, 3)
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
pub fn blmpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    // Redis parses the timeout after the rest.
    let (keys, end, count) = lmpop_args(args, 2)?;
    let timeout = timeout_arg(args.get(1))?;
    let keys = keys.into_iter().map(|i| args.get(i)).collect();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    block_on(ctx, keys, Op::MPop(end, count), timeout, out)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`.
pub fn bzmpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    // Redis parses the timeout after the rest.
    let (numkeys, max, count) = zmpop_args(args, 2)?;
    let timeout = timeout_arg(args.get(1))?;
    let keys = (0..numkeys).map(|i| args.get(3 + i)).collect();
    block_on(ctx, keys, Op::ZMPop(max, count), timeout, out)
}
