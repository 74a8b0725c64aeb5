//! Keyspace commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY, KEYS, SCAN,
//! RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL.

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::{Db, Multi};
use crate::glob;
use crate::notify::{GENERIC, NEW};
use crate::resp::{encode, Args};
use alloc::vec::Vec;

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The key arguments of a command whose keys are all its arguments after the name (DEL,
/// UNLINK, EXISTS, TOUCH, MGET).
pub(crate) fn key_args<'a>(args: &'a Args<'_>) -> Vec<&'a [u8]> {
    args.iter().skip(1).collect()
}

/// `DEL key [key ...]`: how many existed. All the keys' shards are locked at once, so no
/// client sees some of them deleted and others not.
pub fn del(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let notify = ctx.notifier();
    if args.len() == 2 {
        // One key: one shard lock, no lock set to build.
        let gone = ctx.db().remove(args.get(1), ctx.now.unix);
        if gone {
            notify.event(GENERIC, "del", args.get(1));
        } else {
            ctx.session.untouched();
        }
        encode::int(out, i64::from(gone));
        return Ok(());
    }
    let keys = key_args(args);
    let removed: Vec<usize> = ctx.db().multi(&keys, ctx.now.unix, |m| {
        keys.iter()
            .enumerate()
            .filter(|(_, k)| {
                let gone = m.remove(k);
                if gone {
                    notify.event(GENERIC, "del", k);
                }
                gone
            })
            .map(|(i, _)| i)
            .collect()
    });
    let n = removed.len();
    // Only the keys really deleted touch WATCH (argument positions are 1-based).
    ctx.session.touched = Some(removed.into_iter().map(|i| i + 1).collect());
    encode::int(out, count(n));
    Ok(())
}

/// `EXISTS key [key ...]`: how many of the arguments exist (repeats count again), all
/// seen at one instant.
pub fn exists(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() == 2 {
        let found = ctx.db().exists(args.get(1), ctx.now.unix);
        if !found {
            ctx.notifier().keymiss(args.get(1));
        }
        encode::int(out, i64::from(found));
        return Ok(());
    }
    let n = count_found(ctx, args, false);
    encode::int(out, count(n));
    Ok(())
}

/// EXISTS and TOUCH of several keys: how many of them exist, all seen at one instant
/// (`touch`: each found key counts as accessed). The missing ones are notified
/// (`keymiss`) in argument order once the locks go (after the `expired` events of the keys
/// found expired).
fn count_found(ctx: &Ctx<'_>, args: &Args<'_>, touch: bool) -> usize {
    let keys = key_args(args);
    let mut missed: Vec<&[u8]> = Vec::new();
    let n = ctx.db().multi_read(&keys, ctx.now.unix, |m| {
        let mut n = 0;
        for k in &keys {
            let found = if touch { m.touch(k) } else { m.exists(k) };
            if found {
                n += 1;
            } else {
                missed.push(k);
            }
        }
        n
    });
    let notify = ctx.notifier();
    for k in missed {
        notify.keymiss(k);
    }
    n
}

/// `DBSIZE`.
pub fn dbsize(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    encode::int(out, count(ctx.db().len()));
    Ok(())
}

/// The optional `ASYNC | SYNC` of FLUSHDB and FLUSHALL (both flush synchronously here).
fn flush_mode(args: &Args<'_>) -> Result<(), Error> {
    match args.len() {
        1 => Ok(()),
        2 if args.get(1).eq_ignore_ascii_case(b"ASYNC")
            || args.get(1).eq_ignore_ascii_case(b"SYNC") =>
        {
            Ok(())
        }
        _ => Err(Error::Syntax),
    }
}

/// `FLUSHDB [ASYNC | SYNC]`.
pub fn flushdb(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    flush_mode(args)?;
    ctx.db().clear();
    encode::ok(out);
    Ok(())
}

/// `FLUSHALL [ASYNC | SYNC]`: every database, in one step.
pub fn flushall(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    flush_mode(args)?;
    let removed = crate::db::Db::clear_all(ctx.engine.dbs());
    ctx.stats.dirty.bump(removed);
    // As Redis: with save points, the (now empty) dataset is saved at once, and a
    // background save of the old data is abandoned.
    if !ctx.engine.config().save_points.is_empty() {
        if let Some(s) = ctx.engine.storage() {
            s.flushed();
        }
    }
    encode::ok(out);
    Ok(())
}

/// `MOVE key db`: `:1` if the key moved (with its TTL), `:0` if it was missing here or
/// present there.
pub fn move_(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let dst = super::connection::db_index(ctx, args.get(2))?;
    let src = ctx.session.db;
    if src == dst {
        return Err(Error::Msg(
            "ERR source and destination objects are the same",
        ));
    }
    let (a, b) = (ctx.engine.db(src), ctx.engine.db(dst));
    let moved = crate::db::Db::move_key(a, b, src < dst, args.get(1), ctx.now.unix);
    if moved {
        ctx.engine.notify(GENERIC, "move_from", args.get(1), src);
        ctx.engine.notify(GENERIC, "move_to", args.get(1), dst);
    }
    encode::int(out, i64::from(moved));
    Ok(())
}

/// A SWAPDB index: any 32-bit integer parses (the range is checked after), else `msg`.
fn swap_index(arg: &[u8], msg: &'static str) -> Result<i64, Error> {
    match crate::resp::parse::parse_i64(arg) {
        Some(i) if i32::try_from(i).is_ok() => Ok(i),
        _ => Err(Error::Msg(msg)),
    }
}

/// `SWAPDB index1 index2`: clients on either database see the other's data at once.
pub fn swapdb(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let a = swap_index(args.get(1), "ERR invalid first DB index")?;
    let b = swap_index(args.get(2), "ERR invalid second DB index")?;
    let n = ctx.engine.databases() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(Error::Msg("ERR DB index is out of range"));
    }
    if a != b {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        crate::db::Db::swap_contents(ctx.engine.db(lo), ctx.engine.db(hi));
    }
    encode::ok(out);
    Ok(())
}

/// `UNLINK key [key ...]`: DEL (memory is freed at once either way).
pub fn unlink(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    del(ctx, args, out)
}

/// `TOUCH key [key ...]`: how many exist; each existing one counts as accessed.
pub fn touch(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() == 2 {
        let found = ctx.db().read(args.get(1), ctx.now.unix, |_| ()).is_some();
        if !found {
            ctx.notifier().keymiss(args.get(1));
        }
        encode::int(out, i64::from(found));
        return Ok(());
    }
    let n = count_found(ctx, args, true);
    encode::int(out, count(n));
    Ok(())
}

/// `TYPE key`: `+string`, or `+none` for a missing key.
pub fn type_(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let t = ctx
        .db()
        .peek(args.get(1), ctx.now.unix, |item, _| item.value.type_name())
        .unwrap_or_else(|| {
            ctx.notifier().keymiss(args.get(1));
            "none"
        });
    encode::simple(out, t.as_bytes());
    Ok(())
}

/// RENAME and RENAMENX: moves the value and its TTL, both keys locked together.
fn rename_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, nx: bool) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let notify = ctx.notifier();
    let r = ctx.db().multi(&[src, dst], ctx.now.unix, |m| {
        if !m.exists(src) {
            return Err(Error::Msg("ERR no such key"));
        }
        if src == dst {
            return Ok(!nx);
        }
        let replaced = m.exists(dst);
        if nx && replaced {
            return Ok(false);
        }
        if let Some(item) = m.take(src) {
            m.put(dst, item);
            if replaced {
                // Redis deletes the old destination and adds the key anew.
                notify.event(NEW, "new", dst);
            }
        }
        notify.event(GENERIC, "rename_from", src);
        notify.event(GENERIC, "rename_to", dst);
        Ok(true)
    })?;
    if !r || src == dst {
        // Refused, or a key renamed to itself: nothing changed (Redis returns first).
        ctx.session.untouched();
    }
    if nx {
        encode::int(out, i64::from(r));
    } else {
        encode::ok(out);
    }
    Ok(())
}

/// `RENAME key newkey`.
pub fn rename(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    rename_generic(ctx, args, out, false)
}

/// `RENAMENX key newkey`.
pub fn renamenx(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    rename_generic(ctx, args, out, true)
}

/// `COPY source destination [DB destination-db] [REPLACE]`.
pub fn copy(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let mut replace = false;
    let mut db = i64::try_from(ctx.session.db).unwrap_or(0);
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        if opt.eq_ignore_ascii_case(b"REPLACE") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"DB") && j + 1 < args.len() {
            db = arg_i64(args.get(j + 1))?;
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let dst_db = usize::try_from(db)
        .ok()
        .filter(|&i| i < ctx.engine.databases())
        .ok_or(Error::Msg("ERR DB index is out of range"))?;
    if dst_db == ctx.session.db && src == dst {
        return Err(Error::Msg(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now.unix;
    let engine = ctx.engine;
    let src_db = ctx.session.db;
    // The source is read (a `keymiss` when missing), the destination looked up for
    // writing; a replaced destination is deleted and added anew (its `new` event), as in
    // Redis; `new` of a fresh destination comes from the keyspace.
    let copy = |s: &mut Multi<'_>, d: &mut Multi<'_>| {
        let Some(item) = s.get(src) else {
            engine.notify(crate::notify::KEY_MISS, "keymiss", src, src_db);
            return false;
        };
        let replaced = d.exists(dst);
        if !replace && replaced {
            return false;
        }
        d.put(dst, item);
        if replaced {
            engine.notify(NEW, "new", dst, dst_db);
        }
        true
    };
    let (a, b) = (ctx.engine.db(src_db), ctx.engine.db(dst_db));
    let copied = if dst_db == src_db {
        // Both keys in one lock set: `s` and `d` are the same locks.
        a.multi(&[src, dst], now, |m| {
            let Some(item) = m.get(src) else {
                engine.notify(crate::notify::KEY_MISS, "keymiss", src, src_db);
                return false;
            };
            let replaced = m.exists(dst);
            if !replace && replaced {
                return false;
            }
            m.put(dst, item);
            if replaced {
                engine.notify(NEW, "new", dst, dst_db);
            }
            true
        })
    } else if src_db < dst_db {
        Db::multi_two(a, &[src], b, &[dst], now, copy)
    } else {
        Db::multi_two(b, &[dst], a, &[src], now, |d, s| copy(s, d))
    };
    if copied {
        engine.notify(GENERIC, "copy_to", dst, dst_db);
    }
    encode::int(out, i64::from(copied));
    Ok(())
}

/// Appends one bulk string per key to `body` and counts them, so the array header can be
/// written once the count is known.
struct KeyList {
    body: Vec<u8>,
    n: usize,
}

impl KeyList {
    fn push(&mut self, key: &[u8]) {
        encode::bulk(&mut self.body, key);
        self.n += 1;
    }

    fn write(self, out: &mut Vec<u8>) {
        encode::array(out, self.n);
        out.extend_from_slice(&self.body);
    }
}

/// `KEYS pattern`.
pub fn keys(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let pattern = args.get(1);
    let all = pattern == b"*";
    let mut list = KeyList {
        body: Vec::new(),
        n: 0,
    };
    ctx.db().for_each_key(ctx.now.unix, |k| {
        if all || glob::matches(pattern, k, false) {
            list.push(k);
        }
    });
    list.write(out);
    Ok(())
}

/// COUNT of SCAN, HSCAN, SSCAN and ZSCAN when none is given (Redis's 10).
pub const SCAN_DEFAULT_COUNT: usize = 10;

/// The `[MATCH pattern] [COUNT count]` options of HSCAN, SSCAN and ZSCAN, from argument
/// `from` on, by Redis's `scanGenericCommand` rules: COUNT below 1 is a syntax error, a
/// MATCH of `*` matches everything (no pattern), anything else is a syntax error. Returns
/// (pattern, count); count defaults to [`SCAN_DEFAULT_COUNT`].
pub(crate) fn scan_options<'a>(
    args: &Args<'a>,
    from: usize,
) -> Result<(Option<&'a [u8]>, usize), Error> {
    let mut pattern: Option<&[u8]> = None;
    let mut count = SCAN_DEFAULT_COUNT;
    let mut j = from;
    while j < args.len() {
        let a = args.get(j);
        let more = j + 1 < args.len();
        if a.eq_ignore_ascii_case(b"COUNT") && more {
            let c = arg_i64(args.get(j + 1))?;
            if c < 1 {
                return Err(Error::Syntax);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if a.eq_ignore_ascii_case(b"MATCH") && more {
            let p = args.get(j + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(Error::Syntax);
        }
        j += 2;
    }
    Ok((pattern, count))
}

/// Writes a scan reply: the next cursor, then an array of `n` elements already encoded in
/// `body`.
pub(crate) fn scan_reply(out: &mut Vec<u8>, next: u64, n: usize, body: &[u8]) {
    encode::array(out, 2);
    let mut buf = [0u8; 20];
    encode::bulk(out, encode::fmt_u64(next, &mut buf));
    encode::array(out, n);
    out.extend_from_slice(body);
}

/// Parses a SCAN cursor as Redis does with `strtoul`: decimal, an optional sign (a minus
/// wraps around), no leading space, no overflow.
pub(crate) fn parse_cursor(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        // strtoul reads nothing and stops at the terminator: cursor 0, as in Redis.
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`. Every key present for the
/// whole scan is returned at least once, whatever the tables do meanwhile.
pub fn scan(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let cursor = parse_cursor(args.get(1)).ok_or(Error::Msg("ERR invalid cursor"))?;
    let mut count = SCAN_DEFAULT_COUNT;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut j = 2;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if opt.eq_ignore_ascii_case(b"COUNT") && more {
            let n = arg_i64(args.get(j + 1))?;
            if n < 1 {
                return Err(Error::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if opt.eq_ignore_ascii_case(b"MATCH") && more {
            let p = args.get(j + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else if opt.eq_ignore_ascii_case(b"TYPE") && more {
            type_name = Some(args.get(j + 1));
        } else {
            return Err(Error::Syntax);
        }
        j += 2;
    }
    let mut list = KeyList {
        body: Vec::new(),
        n: 0,
    };
    let next = ctx.db().scan(cursor, count, ctx.now.unix, |k, item| {
        let type_ok =
            type_name.is_none_or(|t| t.eq_ignore_ascii_case(item.value.type_name().as_bytes()));
        let match_ok = pattern.is_none_or(|p| glob::matches(p, k, false));
        if type_ok && match_ok {
            list.push(k);
        }
    });
    encode::array(out, 2);
    let mut buf = [0u8; 20];
    encode::bulk(out, encode::fmt_u64(next, &mut buf));
    list.write(out);
    Ok(())
}

/// `RANDOMKEY`: a random live key, or nil.
pub fn randomkey(ctx: &mut Ctx<'_>, _: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let r = ctx.session.next_random();
    match ctx.db().random_key(ctx.now.unix, r) {
        Some(k) => encode::bulk(out, &k),
        None => encode::nil(out),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    #[test]
    fn keyspace_commands() {
        let mut h = Harness::new();
        h.run("SET a 1");
        h.run("SET b 2");
        assert_eq!(h.s("EXISTS a a b c"), ":3\r\n");
        assert_eq!(h.s("DBSIZE"), ":2\r\n");
        assert_eq!(h.s("DEL a a c"), ":1\r\n");
        assert_eq!(h.s("FLUSHDB BOTH"), "-ERR syntax error\r\n");
        assert_eq!(h.s("FLUSHDB ASYNC x"), "-ERR syntax error\r\n");
        assert_eq!(h.s("FLUSHALL sync"), "+OK\r\n");
        assert_eq!(h.s("DBSIZE"), ":0\r\n");
        assert_eq!(
            h.s("DBSIZE x"),
            "-ERR wrong number of arguments for 'dbsize' command\r\n"
        );
    }
}
