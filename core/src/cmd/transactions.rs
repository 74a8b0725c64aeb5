//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! After MULTI the dispatcher queues every command except EXEC, DISCARD, MULTI, WATCH, QUIT
//! and RESET (`+QUEUED`); an unknown command or a wrong arity met while queueing makes EXEC
//! answer `-EXECABORT`. EXEC runs the queue as one step for every client on every worker:
//! it takes the engine's EXEC lock and then the write side of every worker's gate, which
//! each worker holds (read side) around each command it runs, so no other command runs
//! anywhere until EXEC is done (see `Engine::exclusive`). Blocking commands inside behave as
//! their non-blocking forms; clients blocked on keys the transaction wrote are served after
//! EXEC, so a push followed by a delete serves nobody. WATCH: see `crate::watch`.

use super::{CmdResult, Ctx, Error};
use crate::resp::{encode, Args};
use crate::sync::Arc;
use alloc::vec::Vec;

/// The most commands one transaction may queue; past it, or past `client-query-buffer-limit`
/// bytes of queued arguments, each further command gets `-ERR too many commands queued in
/// this transaction` and EXEC aborts (Redis's only bound is memory).
pub const MAX_QUEUED: usize = 1 << 20;

/// A client's open transaction.
#[derive(Clone, Debug, Default)]
pub struct MultiState {
    /// The queued commands, each as its arguments.
    pub queue: Vec<Vec<Vec<u8>>>,
    /// An error was met while queueing: EXEC aborts.
    pub failed: bool,
    /// Bytes of the queued arguments (bounded by `client-query-buffer-limit`).
    pub bytes: usize,
    /// CLIENT LIST's `multi-mem`: Redis's `argv_len_sums` (argument bytes plus a pointer
    /// per argument, of the commands queued).
    pub mem: usize,
}

/// A client's watched keys.
#[derive(Clone, Debug, Default)]
pub struct WatchState {
    /// The client's dirty flag in the engine's registry.
    pub watcher: Option<Arc<crate::watch::Watcher>>,
    /// (database, key, live when watched).
    pub keys: Vec<(usize, Vec<u8>, bool)>,
}

/// Forgets every watched key of the session.
pub fn unwatch_all(ctx: &mut Ctx<'_>) {
    forget_watches(ctx.engine, ctx.session);
}

/// Forgets every watched key of `session` (UNWATCH, EXEC, DISCARD, RESET, disconnect).
pub fn forget_watches(engine: &crate::engine::Engine, session: &mut super::Session) {
    let w = core::mem::take(&mut session.watch);
    if let Some(watcher) = &w.watcher {
        let keys: Vec<(usize, Vec<u8>)> = w.keys.into_iter().map(|(d, k, _)| (d, k)).collect();
        engine.watches.unwatch(&keys, watcher);
    }
}

/// `MULTI`.
pub fn multi(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(Error::Msg("ERR MULTI calls can not be nested"));
    }
    ctx.session.multi = Some(MultiState::default());
    encode::ok(out);
    Ok(())
}

/// `DISCARD`.
pub fn discard(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if ctx.session.multi.take().is_none() {
        return Err(Error::Msg("ERR DISCARD without MULTI"));
    }
    unwatch_all(ctx);
    encode::ok(out);
    Ok(())
}

/// `WATCH key [key ...]`.
pub fn watch(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(Error::Msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.session.db;
    let watcher = Arc::clone(
        ctx.session
            .watch
            .watcher
            .get_or_insert_with(|| Arc::new(crate::watch::Watcher::default())),
    );
    for i in 1..args.len() {
        let key = args.get(i);
        if ctx
            .session
            .watch
            .keys
            .iter()
            .any(|(d, k, _)| *d == db && k == key)
        {
            continue;
        }
        let live = ctx.db().exists(key, ctx.now.unix);
        ctx.engine.watches.watch(db, key, &watcher);
        ctx.session.watch.keys.push((db, key.to_vec(), live));
    }
    encode::ok(out);
    Ok(())
}

/// `UNWATCH`.
pub fn unwatch(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    unwatch_all(ctx);
    encode::ok(out);
    Ok(())
}

/// True if EXEC must fail: a watched key was touched, or was live when watched and is
/// gone now (it expired).
fn watch_broken(ctx: &Ctx<'_>) -> bool {
    let w = &ctx.session.watch;
    if w.watcher.as_ref().is_some_and(|x| x.dirty()) {
        return true;
    }
    w.keys
        .iter()
        .any(|(db, key, live)| *live && !ctx.engine.db(*db).exists(key, ctx.now.unix))
}

/// `EXEC`.
pub fn exec(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let Some(state) = ctx.session.multi.take() else {
        return Err(Error::Msg("ERR EXEC without MULTI"));
    };
    if state.failed {
        unwatch_all(ctx);
        return Err(Error::Msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let engine = ctx.engine;
    let ready = engine.exclusive(|| {
        if watch_broken(ctx) {
            encode::null_array(out);
            return Vec::new();
        }
        encode::array(out, state.queue.len());
        ctx.session.in_exec = true;
        ctx.session.deny_blocking = true;
        for cmd in &state.queue {
            let (src, ranges) = flatten(cmd);
            let args = Args::new(&src, &ranges);
            if super::acl::exec_allows(ctx, &args, out) {
                super::dispatch(ctx, &args, out);
            }
        }
        ctx.session.in_exec = false;
        ctx.session.deny_blocking = false;
        ctx.session.cmd = ("exec", "");
        // The append-only file closes the transaction it opened (at its first write).
        if let Some(end) = engine.feed.end_exec() {
            if engine.feed.holds_replies() {
                ctx.session.aof_seq = Some(end);
            }
        }
        core::mem::take(&mut ctx.session.exec_ready)
    });
    unwatch_all(ctx);
    // Clients blocked on keys the transaction wrote are served now, after all of it.
    let mut ready = ready;
    if !ready.is_empty() {
        let _gate = engine.gate(ctx.session.worker);
        let _order = engine.feed.is_on().then(|| engine.feed.order());
        engine.blocking.serve(
            engine.dbs(),
            ctx.now.unix,
            &mut ready,
            &mut super::blocking::CmdServer::new(engine),
        );
    }
    Ok(())
}

/// One buffer holding `args` back to back, and their ranges in it.
fn flatten(args: &[Vec<u8>]) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut src = Vec::with_capacity(args.iter().map(Vec::len).sum());
    let mut ranges = Vec::with_capacity(args.len());
    for a in args {
        let start = src.len();
        src.extend_from_slice(a);
        ranges.push((start, src.len()));
    }
    (src, ranges)
}

/// Queues the command `args` (already checked: known, right arity) into the open
/// transaction and answers `+QUEUED`.
pub(crate) fn queue(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) {
    let Some(state) = ctx.session.multi.as_mut() else {
        return;
    };
    let bytes: usize = args.iter().map(<[u8]>::len).sum();
    state.bytes = state.bytes.saturating_add(bytes);
    if state.queue.len() >= MAX_QUEUED || state.bytes > ctx.engine.limits().query_buffer_max {
        state.failed = true;
        out.extend_from_slice(b"-ERR too many commands queued in this transaction\r\n");
        return;
    }
    state.mem = state.mem.saturating_add(bytes + 8 * args.len());
    state.queue.push(args.iter().map(<[u8]>::to_vec).collect());
    out.extend_from_slice(b"+QUEUED\r\n");
}
#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    /// Found by the simulation (examples/simulation.rs): a SET that NX or XX refuses, or a
    /// SETNX on an existing key, changes nothing and touches no WATCH (Redis 7.0.15 returns
    /// before `signalModifiedKey`); a SET that sets does.
    #[test]
    fn refused_set_does_not_touch_a_watched_key() {
        let cases = [
            ("SET w 8 NX", "$-1\r\n", "*0\r\n"),
            ("SET w 8 NX GET", "$1\r\n7\r\n", "*0\r\n"),
            ("SET nokey 8 XX", "$-1\r\n", "*0\r\n"),
            ("SETNX w 8", ":0\r\n", "*0\r\n"),
            ("SET w 8 XX", "+OK\r\n", "*-1\r\n"),
            ("SETNX nokey 8", ":1\r\n", "*-1\r\n"),
        ];
        for (op, reply, exec) in cases {
            let mut h = Harness::new();
            h.run("SET w 7");
            assert_eq!(h.s("WATCH w nokey"), "+OK\r\n");
            assert_eq!(h.s(op), reply, "{op}");
            assert_eq!(h.s("MULTI"), "+OK\r\n");
            assert_eq!(h.s("EXEC"), exec, "{op}");
        }
    }

    /// Writes that change nothing touch no WATCH, as in Redis 7.0.15 (each row checked
    /// against redis-server: EXEC then answers `*0`); writes that change something, or
    /// that Redis always counts as a change, do (`*-1`).
    #[test]
    fn no_op_writes_touch_no_watch() {
        let cases = [
            ("SET w 7", "PERSIST w", "*0\r\n"),
            ("SET w 7", "EXPIRE w 10 XX", "*0\r\n"),
            ("SET w 7", "PEXPIRE w 100000 GT", "*0\r\n"),
            ("SET w 7", "MSETNX w 1", "*0\r\n"),
            ("RPUSH w a", "LREM w 0 zz", "*0\r\n"),
            ("RPUSH w a", "LINSERT w BEFORE zz x", "*0\r\n"),
            ("HSET w f v", "HSETNX w f v2", "*0\r\n"),
            ("HSET w f v", "HDEL w zz", "*0\r\n"),
            ("SADD w a", "SADD w a", "*0\r\n"),
            ("SADD w a", "SREM w zz", "*0\r\n"),
            ("ZADD w 1 a", "ZINCRBY w 0 a", "*0\r\n"),
            ("SADD w a", "SPOP w 0", "*0\r\n"),
            ("SET w 7", "RENAMENX w w", "*0\r\n"),
            ("SET w 7", "RENAME w w", "*0\r\n"),
            ("SET w 7", "GETEX w", "*0\r\n"),
            ("SET w 7", "SETRANGE w 0 \"\"", "*0\r\n"),
            ("ZADD w 1 a", "ZADD w 1 a", "*0\r\n"),
            ("ZADD w 1 a", "ZREM w zz", "*0\r\n"),
            ("ZADD w 1 a", "ZADD w XX 5 zz", "*0\r\n"),
            ("ZADD w 1 a", "ZREMRANGEBYSCORE w 5 6", "*0\r\n"),
            ("RPUSH w a", "RPOPLPUSH nokey w", "*0\r\n"),
            ("RPUSH w a", "LMOVE nokey w LEFT LEFT", "*0\r\n"),
            ("RPUSH w a", "LPOP w 0", "*0\r\n"),
            ("SADD w a", "SMOVE w other zz", "*0\r\n"),
            ("SET w 7", "MOVE w 1", "*-1\r\n"),
            ("SET w 7", "SETEX w 100 7", "*-1\r\n"),
            ("SET w 7", "APPEND w \"\"", "*-1\r\n"),
            ("SET w 7", "INCRBY w 0", "*-1\r\n"),
            ("SET w 7", "EXPIRE w 100 LT", "*-1\r\n"),
            ("RPUSH w a", "LTRIM w 0 -1", "*-1\r\n"),
            ("HSET w f v", "HSET w f v", "*-1\r\n"),
            ("SADD w a", "SINTERSTORE w nokey", "*-1\r\n"),
        ];
        for (setup, op, exec) in cases {
            let mut h = Harness::new();
            h.run(setup);
            h.run("WATCH w");
            h.run(op);
            h.run("MULTI");
            assert_eq!(h.s("EXEC"), exec, "{setup}; WATCH w; {op}");
        }
    }
}
