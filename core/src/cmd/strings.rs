//! String commands: GET, SET, SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET, MSET,
//! MSETNX, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, APPEND, STRLEN, GETRANGE, SUBSTR,
//! SETRANGE.

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::{Item, Value, Write};
use crate::notify::{GENERIC, STRING};
use crate::num::LongDouble;
use crate::resp::{encode, Args};
use crate::time::{Now, UnixMillis};
use alloc::vec::Vec;

/// `-ERR string exceeds maximum allowed size (proto-max-bulk-len)` unless
/// `size + append` fits (Redis's `checkStringLength`).
fn check_length(ctx: &Ctx<'_>, size: u64, append: u64) -> Result<(), Error> {
    let limit = ctx.engine.limits().proto_max_bulk_len as u64;
    match size.checked_add(append) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(Error::Msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

fn int_reply(out: &mut Vec<u8>, n: usize) {
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// `GET key`.
pub fn get(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let found = ctx.db().read(args.get(1), ctx.now.unix, |item| {
        match item.value.as_str() {
            Some(s) => {
                encode::bulk(out, s);
                Ok(())
            }
            None => Err(Error::WrongType),
        }
    });
    if let Some(r) = found {
        r?;
        ctx.stats.keyspace_hits.bump(1);
    } else {
        ctx.stats.keyspace_misses.bump(1);
        ctx.notifier().keymiss(args.get(1));
        encode::nil(out);
    }
    Ok(())
}

/// The unit and base of an expire argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireKind {
    /// Seconds from now (EX).
    Ex,
    /// Milliseconds from now (PX).
    Px,
    /// Unix time in seconds (EXAT).
    ExAt,
    /// Unix time in milliseconds (PXAT).
    PxAt,
}

/// Turns an expire argument into an absolute time, with Redis's checks
/// (`getExpireMillisecondsOrReply`): not an integer, not positive, or overflowing gives an
/// error.
pub fn expire_at(kind: ExpireKind, arg: &[u8], now: Now) -> Result<UnixMillis, Error> {
    let v = arg_i64(arg)?;
    let seconds = matches!(kind, ExpireKind::Ex | ExpireKind::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(Error::ExpireTime);
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(kind, ExpireKind::Ex | ExpireKind::Px) {
        ms = ms.wrapping_add(now.unix.0);
    }
    if ms <= 0 {
        return Err(Error::ExpireTime);
    }
    Ok(UnixMillis(ms))
}

fn expire_kind(opt: &[u8]) -> Option<ExpireKind> {
    let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
    if is(b"EX") {
        Some(ExpireKind::Ex)
    } else if is(b"PX") {
        Some(ExpireKind::Px)
    } else if is(b"EXAT") {
        Some(ExpireKind::ExAt)
    } else if is(b"PXAT") {
        Some(ExpireKind::PxAt)
    } else {
        None
    }
}

/// Options of SET, as parsed by Redis's `parseExtendedStringArgumentsOrReply`.
#[derive(Debug, Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    expire: Option<(ExpireKind, &'a [u8])>,
}

fn parse_set_options<'a>(args: &Args<'a>) -> Result<SetOptions<'a>, Error> {
    let mut o = SetOptions::default();
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let has_next = j + 1 < args.len();
        let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
        let expire_kind = expire_kind(opt);
        if is(b"NX") && !o.xx {
            o.nx = true;
        } else if is(b"XX") && !o.nx {
            o.xx = true;
        } else if is(b"GET") {
            o.get = true;
        } else if is(b"KEEPTTL") && o.expire.is_none() {
            o.keepttl = true;
        } else if let Some(kind) = expire_kind {
            // The same unit may repeat (the last wins); a different one conflicts.
            let conflicts = o.keepttl || o.expire.is_some_and(|(k, _)| k != kind);
            if conflicts || !has_next {
                return Err(Error::Syntax);
            }
            o.expire = Some((kind, args.get(j + 1)));
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]`.
pub fn set(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (key, val) = (args.get(1), args.get(2));
    let o = parse_set_options(args)?;
    let expire = match o.expire {
        Some((kind, arg)) => Some(expire_at(kind, arg, ctx.now)?),
        None => None,
    };
    let notify = ctx.notifier();
    let set = ctx.db().write(key, ctx.now.unix, |item| match item {
        Some(item) => {
            if o.get {
                // SET ... GET needs the old value to be a string; plain SET replaces any type.
                match item.value.as_str() {
                    Some(old) => encode::bulk(out, old),
                    None => return (Write::Keep, Err(Error::WrongType)),
                }
            }
            if o.nx {
                if !o.get {
                    encode::nil(out);
                }
                return (Write::Keep, Ok(false));
            }
            match item.value.as_str_mut() {
                Some(buf) => buf.set(val),
                None => item.value = Value::str(val),
            }
            if !o.keepttl {
                item.set_expire_at(expire);
            }
            if !o.get {
                encode::ok(out);
            }
            (Write::Keep, Ok(true))
        }
        None => {
            if o.get {
                // GET's read comes first (Redis's getGenericCommand).
                notify.keymiss(key);
            }
            if o.get || o.xx {
                encode::nil(out);
            }
            if o.xx {
                return (Write::Keep, Ok(false));
            }
            if !o.get {
                encode::ok(out);
            }
            let item = Item::with_expiry(Value::str(val), expire);
            (Write::Put(item), Ok(true))
        }
    })?;
    if set {
        notify.event(STRING, "set", key);
        if expire.is_some() {
            notify.event(GENERIC, "expire", key);
        }
    } else {
        // NX or XX refused: nothing changed, so no WATCH is touched (Redis returns
        // before `signalModifiedKey`).
        ctx.session.untouched();
    }
    if ctx.aof() {
        propagate_set(ctx, args, set, expire, o.get);
    }
    Ok(())
}

/// What SET records (Redis's `setGenericCommand`): nothing when it set nothing; with a
/// TTL, `SET key value PXAT <ms>` (the time made absolute; NX, XX and GET dropped: it did
/// set); else its arguments without GET.
#[cold]
fn propagate_set(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    set: bool,
    expire: Option<UnixMillis>,
    get: bool,
) {
    if !set {
        ctx.propagate_nothing();
    } else if let Some(at) = expire {
        propagate_set_pxat(ctx, args.get(1), args.get(2), at);
    } else if get {
        let argv: Vec<&[u8]> = args
            .iter()
            .enumerate()
            .filter(|(j, a)| *j < 3 || !a.eq_ignore_ascii_case(b"GET"))
            .map(|(_, a)| a)
            .collect();
        ctx.propagate_one(&argv);
    }
}

/// Records `SET key value PXAT at`.
#[cold]
fn propagate_set_pxat(ctx: &mut Ctx<'_>, key: &[u8], val: &[u8], at: UnixMillis) {
    let mut buf = [0u8; 20];
    let at = encode::fmt_i64(at.0, &mut buf);
    ctx.propagate_one(&[b"SET", key, val, b"PXAT", at]);
}

/// `SETNX key value`: `:1` if it set the key, `:0` if the key existed.
pub fn setnx(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let val = args.get(2);
    let set = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(_) => (Write::Keep, false),
            None => (Write::Put(Item::new(Value::str(val))), true),
        });
    if set {
        ctx.notify(STRING, "set", args.get(1));
    } else {
        ctx.session.untouched();
    }
    encode::int(out, i64::from(set));
    Ok(())
}

fn set_with_expire(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    kind: ExpireKind,
) -> CmdResult {
    let at = expire_at(kind, args.get(2), ctx.now)?;
    let val = args.get(3);
    ctx.db().write(args.get(1), ctx.now.unix, |_| {
        let item = Item::with_expiry(Value::str(val), Some(at));
        (Write::Put(item), ())
    });
    ctx.notify(STRING, "set", args.get(1));
    ctx.notify(GENERIC, "expire", args.get(1));
    if ctx.aof() {
        propagate_set_pxat(ctx, args.get(1), val, at);
    }
    encode::ok(out);
    Ok(())
}

/// `SETEX key seconds value`.
pub fn setex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    set_with_expire(ctx, args, out, ExpireKind::Ex)
}

/// `PSETEX key milliseconds value`.
pub fn psetex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    set_with_expire(ctx, args, out, ExpireKind::Px)
}

/// `GETSET key value`: the old value (or nil); the new value has no TTL.
pub fn getset(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let val = args.get(2);
    let notify = ctx.notifier();
    ctx.db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) => {
                let Some(old) = item.value.as_str_mut() else {
                    return (Write::Keep, Err(Error::WrongType));
                };
                encode::bulk(out, old);
                old.set(val);
                item.set_expire_at(None);
                (Write::Keep, Ok(()))
            }
            None => {
                notify.keymiss(args.get(1));
                encode::nil(out);
                (Write::Put(Item::new(Value::str(val))), Ok(()))
            }
        })?;
    notify.event(STRING, "set", args.get(1));
    Ok(())
}

/// `GETDEL key`: the value (or nil), and the key is deleted.
pub fn getdel(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let deleted = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) => match item.value.as_str() {
                Some(v) => {
                    encode::bulk(out, v);
                    (Write::Remove, Ok(true))
                }
                None => (Write::Keep, Err(Error::WrongType)),
            },
            None => {
                encode::nil(out);
                (Write::Keep, Ok(false))
            }
        })?;
    if deleted {
        ctx.notify(GENERIC, "del", args.get(1));
    } else {
        ctx.notifier().keymiss(args.get(1));
    }
    if ctx.aof() {
        // Redis records `DEL key`, and nothing when there was no key.
        if deleted {
            ctx.propagate_one(&[b"DEL", args.get(1)]);
        } else {
            ctx.propagate_nothing();
        }
    }
    Ok(())
}

/// `GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]`.
pub fn getex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut expire: Option<(ExpireKind, &[u8])> = None;
    let mut persist = false;
    let mut j = 2;
    while j < args.len() {
        let opt = args.get(j);
        let has_next = j + 1 < args.len();
        let kind = expire_kind(opt);
        if opt.eq_ignore_ascii_case(b"PERSIST") && expire.is_none() {
            persist = true;
        } else if let Some(kind) = kind {
            let conflicts = persist || expire.is_some_and(|(k, _)| k != kind);
            if conflicts || !has_next {
                return Err(Error::Syntax);
            }
            expire = Some((kind, args.get(j + 1)));
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let now = ctx.now;
    let mut set_at = None;
    let event = ctx.db().write(args.get(1), now.unix, |item| {
        let Some(item) = item else {
            encode::nil(out);
            return (Write::Keep, Ok(Some("keymiss")));
        };
        if item.value.as_str().is_none() {
            return (Write::Keep, Err(Error::WrongType));
        }
        let at = match expire {
            Some((kind, arg)) => match expire_at(kind, arg, now) {
                Ok(at) => Some((kind, at)),
                Err(e) => return (Write::Keep, Err(e)),
            },
            None => None,
        };
        encode::bulk(out, item.value.as_str().unwrap_or_default());
        match at {
            // An absolute time already reached deletes the key (Redis's checkAlreadyExpired).
            Some((ExpireKind::ExAt | ExpireKind::PxAt, at)) if at <= now.unix => {
                (Write::Remove, Ok(Some("del")))
            }
            Some((_, at)) => {
                item.set_expire_at(Some(at));
                set_at = Some(at);
                (Write::Keep, Ok(Some("expire")))
            }
            None if persist && item.expire_at().is_some() => {
                item.set_expire_at(None);
                (Write::Keep, Ok(Some("persist")))
            }
            None => (Write::Keep, Ok(None)),
        }
    })?;
    match event {
        Some("keymiss") => {
            ctx.notifier().keymiss(args.get(1));
            ctx.session.untouched();
        }
        Some(e) => ctx.notify(GENERIC, e, args.get(1)),
        None => ctx.session.untouched(),
    }
    if ctx.aof() {
        // Never recorded as is (Redis's getexCommand): `PEXPIREAT key <ms>`, `DEL key`
        // for a time already past, `PERSIST key`, or nothing.
        let key = args.get(1);
        let mut buf = [0u8; 20];
        match (event, set_at) {
            (Some("expire"), Some(at)) => {
                let at = encode::fmt_i64(at.0, &mut buf);
                ctx.propagate_one(&[b"PEXPIREAT", key, at]);
            }
            (Some("del"), _) => ctx.propagate_one(&[b"DEL", key]),
            (Some("persist"), _) => ctx.propagate_one(&[b"PERSIST", key]),
            _ => ctx.propagate_nothing(),
        }
    }
    Ok(())
}

/// `MGET key [key ...]`: values in order, nil for missing keys, all read at one instant.
pub fn mget(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    // Keys of another type read as nil, as in Redis.
    let reply = |item: &Item, out: &mut Vec<u8>| match item.value.as_str() {
        Some(v) => {
            encode::bulk(out, v);
            true
        }
        None => false,
    };
    let notify = ctx.notifier();
    if args.len() == 2 {
        // One key: one shard lock, no lock set to build.
        encode::array(out, 1);
        match ctx.db().read(args.get(1), ctx.now.unix, |i| reply(i, out)) {
            Some(true) => {}
            Some(false) => encode::nil(out),
            None => {
                notify.keymiss(args.get(1));
                encode::nil(out);
            }
        }
        return Ok(());
    }
    let keys = super::keyspace::key_args(args);
    encode::array(out, keys.len());
    // Keys found expired are removed (and notified) when the read locks go: the misses
    // are notified after that.
    let mut missed: Vec<&[u8]> = Vec::new();
    ctx.db().multi_read(&keys, ctx.now.unix, |m| {
        for key in &keys {
            match m.read(key, |i| reply(i, out)) {
                Some(true) => {}
                Some(false) => encode::nil(out),
                None => {
                    missed.push(key);
                    encode::nil(out);
                }
            }
        }
    });
    for key in missed {
        notify.keymiss(key);
    }
    Ok(())
}

/// Sets every pair of `args` (from index 1) with all their shards locked at once; with `nx`,
/// sets nothing if any key exists. Returns whether it set.
fn mset_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, nx: bool) -> Result<bool, Error> {
    if args.len() % 2 == 0 {
        return Err(Error::Msg(if nx {
            "ERR wrong number of arguments for 'msetnx' command"
        } else {
            "ERR wrong number of arguments for 'mset' command"
        }));
    }
    let keys: Vec<&[u8]> = args.iter().skip(1).step_by(2).collect();
    let notify = ctx.notifier();
    Ok(ctx.db().multi(&keys, ctx.now.unix, |m| {
        if nx {
            // Redis looks every key up for writing first (expiring those whose time
            // has passed), then sets.
            for k in &keys {
                m.write(k, |_| (Write::Keep, ()));
            }
            if keys.iter().any(|k| m.exists(k)) {
                return false;
            }
        }
        for pair in 0..keys.len() {
            let (key, val) = (args.get(1 + 2 * pair), args.get(2 + 2 * pair));
            m.write(key, |_| (Write::Put(Item::new(Value::str(val))), ()));
            notify.event(STRING, "set", key);
        }
        true
    }))
}

/// `MSET key value [key value ...]`, atomic across keys.
pub fn mset(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    mset_generic(ctx, args, false)?;
    encode::ok(out);
    Ok(())
}

/// `MSETNX key value [key value ...]`: `:1` if it set all keys, `:0` if any existed.
pub fn msetnx(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let set = mset_generic(ctx, args, true)?;
    if !set {
        ctx.session.untouched();
    }
    encode::int(out, i64::from(set));
    Ok(())
}

fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64, out: &mut Vec<u8>) -> CmdResult {
    let r = ctx.db().write(key, ctx.now.unix, |item| match item {
        Some(item) => {
            let Some(v) = item.value.as_str_mut() else {
                return (Write::Keep, Err(Error::WrongType));
            };
            let Some(old) = crate::resp::parse::parse_i64(v) else {
                return (Write::Keep, Err(Error::NotInteger));
            };
            let Some(new) = old.checked_add(by) else {
                return (
                    Write::Keep,
                    Err(Error::Msg("ERR increment or decrement would overflow")),
                );
            };
            let mut buf = [0u8; 20];
            v.set(encode::fmt_i64(new, &mut buf));
            (Write::Keep, Ok(new))
        }
        None => {
            let mut buf = [0u8; 20];
            let v = encode::fmt_i64(by, &mut buf).to_vec();
            (Write::Put(Item::new(Value::str(v))), Ok(by))
        }
    })?;
    ctx.notify(STRING, "incrby", key);
    encode::int(out, r);
    Ok(())
}

/// `INCR key`.
pub fn incr(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    incr_by(ctx, args.get(1), 1, out)
}

/// `DECR key`.
pub fn decr(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    incr_by(ctx, args.get(1), -1, out)
}

/// `INCRBY key increment`.
pub fn incrby(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let by = arg_i64(args.get(2))?;
    incr_by(ctx, args.get(1), by, out)
}

/// `DECRBY key decrement`.
pub fn decrby(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let by = arg_i64(args.get(2))?;
    if by == i64::MIN {
        return Err(Error::Msg("ERR decrement would overflow"));
    }
    incr_by(ctx, args.get(1), -by, out)
}

/// `INCRBYFLOAT key increment`, in x87 extended precision and `%.17Lf` formatting as
/// redis-server on x86-64 ([`LongDouble`]; in f64 without the `x87-float` feature).
pub fn incrbyfloat(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    // `inf` is a valid increment, but any sum with it is infinite.
    let by = match LongDouble::parse(args.get(2)) {
        Ok(v) => Some(v),
        Err(true) => None,
        Err(false) => return Err(Error::Msg("ERR value is not a valid float")),
    };
    let aof = ctx.aof();
    let new = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let old = match &item {
            Some(item) => {
                let Some(v) = item.value.as_str() else {
                    return (Write::Keep, Err(Error::WrongType));
                };
                match LongDouble::parse(v) {
                    Ok(old) => old,
                    // A stored "inf" parses (as strtold's), and any sum with it is infinite.
                    Err(true) => {
                        return (
                            Write::Keep,
                            Err(Error::Msg("ERR increment would produce NaN or Infinity")),
                        )
                    }
                    Err(false) => {
                        return (
                            Write::Keep,
                            Err(Error::Msg("ERR value is not a valid float")),
                        )
                    }
                }
            }
            None => LongDouble::ZERO,
        };
        let Some(new) = by.and_then(|by| old.checked_add(by)) else {
            return (
                Write::Keep,
                Err(Error::Msg("ERR increment would produce NaN or Infinity")),
            );
        };
        let text = new.to_human().into_bytes();
        encode::bulk(out, &text);
        let recorded = aof.then(|| text.clone());
        match item {
            Some(item) => {
                item.value = Value::str(text);
                (Write::Keep, Ok(recorded))
            }
            None => (Write::Put(Item::new(Value::str(text))), Ok(recorded)),
        }
    })?;
    ctx.notify(STRING, "incrbyfloat", args.get(1));
    if let Some(new) = new {
        // Redis records the result: `SET key <value> KEEPTTL`.
        ctx.propagate_one(&[b"SET", args.get(1), &new, b"KEEPTTL"]);
    }
    Ok(())
}

/// `APPEND key value`: the new length.
pub fn append(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let val = args.get(2);
    let limit_ok = |len: usize| check_length(ctx, len as u64, val.len() as u64);
    let len = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) => {
                let Some(v) = item.value.as_str_mut() else {
                    return (Write::Keep, Err(Error::WrongType));
                };
                if let Err(e) = limit_ok(v.len()) {
                    return (Write::Keep, Err(e));
                }
                v.edit(|v| v.extend_from_slice(val));
                (Write::Keep, Ok(v.len()))
            }
            None => (Write::Put(Item::new(Value::str(val))), Ok(val.len())),
        })?;
    ctx.notify(STRING, "append", args.get(1));
    int_reply(out, len);
    Ok(())
}

/// `STRLEN key`.
pub fn strlen(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let len = ctx.db().read(args.get(1), ctx.now.unix, |item| {
        item.value.as_str().map(<[u8]>::len).ok_or(Error::WrongType)
    });
    if len.is_none() {
        ctx.notifier().keymiss(args.get(1));
    }
    int_reply(out, len.unwrap_or(Ok(0))?);
    Ok(())
}

/// `GETRANGE key start end` (and `SUBSTR`), with Redis 7's index rules.
pub fn getrange(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let start = arg_i64(args.get(2))?;
    let end = arg_i64(args.get(3))?;
    let found = ctx.db().read(args.get(1), ctx.now.unix, |item| {
        let Some(v) = item.value.as_str() else {
            return Err(Error::WrongType);
        };
        let len = i64::try_from(v.len()).unwrap_or(i64::MAX);
        if start < 0 && end < 0 && start > end {
            encode::bulk(out, b"");
            return Ok(());
        }
        let mut s = if start < 0 { len + start } else { start };
        let mut e = if end < 0 { len + end } else { end };
        s = s.max(0);
        e = e.max(0);
        if e >= len {
            e = len - 1;
        }
        if s > e || len == 0 {
            encode::bulk(out, b"");
        } else {
            let (s, e) = (s as usize, e as usize);
            encode::bulk(out, v.get(s..=e).unwrap_or(&[]));
        }
        Ok(())
    });
    match found {
        Some(r) => r,
        None => {
            ctx.notifier().keymiss(args.get(1));
            encode::bulk(out, b"");
            Ok(())
        }
    }
}

/// `SETRANGE key offset value`: overwrites from `offset`, padding with zero bytes; the new
/// length.
pub fn setrange(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let offset = arg_i64(args.get(2))?;
    if offset < 0 {
        return Err(Error::Msg("ERR offset is out of range"));
    }
    let val = args.get(3);
    let offset_u = offset as u64;
    let fits = check_length(ctx, offset_u, val.len() as u64);
    let len = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let write_at = |v: &mut Vec<u8>| {
            let off = offset_u as usize;
            let end = off + val.len();
            if v.len() < end {
                v.resize(end, 0);
            }
            if let Some(dst) = v.get_mut(off..end) {
                dst.copy_from_slice(val);
            }
        };
        match item {
            Some(item) => {
                let Some(v) = item.value.as_str_mut() else {
                    return (Write::Keep, Err(Error::WrongType));
                };
                if val.is_empty() {
                    return (Write::Keep, Ok(v.len()));
                }
                if let Err(e) = fits {
                    return (Write::Keep, Err(e));
                }
                v.edit(write_at);
                (Write::Keep, Ok(v.len()))
            }
            None => {
                if val.is_empty() {
                    return (Write::Keep, Ok(0));
                }
                if let Err(e) = fits {
                    return (Write::Keep, Err(e));
                }
                let mut v = Vec::new();
                write_at(&mut v);
                let len = v.len();
                (Write::Put(Item::new(Value::str(v))), Ok(len))
            }
        }
    })?;
    if !val.is_empty() {
        ctx.notify(STRING, "setrange", args.get(1));
    } else {
        ctx.session.untouched();
    }
    int_reply(out, len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;
    use core::time::Duration;

    #[test]
    fn set_and_get() {
        let mut h = Harness::new();
        assert_eq!(h.s("GET k"), "$-1\r\n");
        assert_eq!(h.s("SET k v"), "+OK\r\n");
        assert_eq!(h.s("GET k"), "$1\r\nv\r\n");
        assert_eq!(h.s("SET k v2 NX"), "$-1\r\n");
        assert_eq!(h.s("SET k v3 XX GET"), "$1\r\nv\r\n");
        assert_eq!(h.s("SET n v XX"), "$-1\r\n");
        assert_eq!(h.s("SET n v NX GET"), "$-1\r\n");
        assert_eq!(h.s("GET n"), "$1\r\nv\r\n");
        assert_eq!(h.s("SET k x GET"), "$2\r\nv3\r\n");
        assert_eq!(h.s("SET k \"\""), "+OK\r\n");
        assert_eq!(h.s("GET k"), "$0\r\n\r\n");
    }

    #[test]
    fn set_option_errors() {
        let mut h = Harness::new();
        for bad in [
            "SET k v NX XX",
            "SET k v XX NX",
            "SET k v EX",
            "SET k v EX 10 PX 10",
            "SET k v KEEPTTL EX 10",
            "SET k v EX 10 KEEPTTL",
            "SET k v FOO",
        ] {
            assert_eq!(h.s(bad), "-ERR syntax error\r\n", "{bad}");
        }
        assert_eq!(h.s("SET k v EX 10 EX 20"), "+OK\r\n");
        assert_eq!(
            h.s("SET k v EX x"),
            "-ERR value is not an integer or out of range\r\n"
        );
        for bad in [
            "EX 0",
            "PX -1",
            "EX 9223372036854776",
            "PXAT 0",
            "PX 9223372036854775807",
        ] {
            assert_eq!(
                h.s(&std::format!("SET k v {bad}")),
                "-ERR invalid expire time in 'set' command\r\n",
                "{bad}"
            );
        }
    }

    #[test]
    fn ttl_rules() {
        let mut h = Harness::new();
        assert_eq!(h.s("SET k v PX 100"), "+OK\r\n");
        assert_eq!(h.s("SET k v2 KEEPTTL"), "+OK\r\n");
        h.now.unix.0 += 100;
        assert_eq!(h.s("GET k"), "$2\r\nv2\r\n");
        h.now.unix.0 += 1;
        assert_eq!(h.s("GET k"), "$-1\r\n");
        // SET without KEEPTTL clears the TTL.
        assert_eq!(h.s("SET k v EX 1"), "+OK\r\n");
        assert_eq!(h.s("SET k v"), "+OK\r\n");
        h.now.unix.0 += Duration::from_secs(5).as_millis() as i64;
        assert_eq!(h.s("GET k"), "$1\r\nv\r\n");
        // An absolute time in the past: the key is set and already gone.
        assert_eq!(h.s("SET p v PXAT 1"), "+OK\r\n");
        assert_eq!(h.s("GET p"), "$-1\r\n");
        let at = h.now.unix.0 / 1000 + 10;
        assert_eq!(h.s(&std::format!("SET e v EXAT {at}")), "+OK\r\n");
        assert_eq!(h.engine.db(0).expires_len(), 1);
    }
}
