//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX, XX, GT, LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, PERSIST.

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::Write;
use crate::notify::GENERIC;
use crate::resp::{encode, Args};
use crate::time::UnixMillis;
use alloc::vec::Vec;

#[derive(Default)]
struct Flags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Redis's `parseExtendedExpireArgumentsOrReply`.
fn parse_flags(args: &Args<'_>, out: &mut Vec<u8>) -> Option<Flags> {
    let mut f = Flags::default();
    for opt in args.iter().skip(3) {
        if opt.eq_ignore_ascii_case(b"NX") {
            f.nx = true;
        } else if opt.eq_ignore_ascii_case(b"XX") {
            f.xx = true;
        } else if opt.eq_ignore_ascii_case(b"GT") {
            f.gt = true;
        } else if opt.eq_ignore_ascii_case(b"LT") {
            f.lt = true;
        } else {
            out.extend_from_slice(b"-ERR Unsupported option ");
            encode::error_body(out, super::c_str_prefix(opt, usize::MAX));
            out.extend_from_slice(b"\r\n");
            return None;
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        out.extend_from_slice(
            b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
        );
        return None;
    }
    if f.gt && f.lt {
        out.extend_from_slice(b"-ERR GT and LT options at the same time are not compatible\r\n");
        return None;
    }
    Some(f)
}

/// Redis's `expireGenericCommand`: `seconds` scales the argument, `relative` adds now.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    seconds: bool,
    relative: bool,
) -> CmdResult {
    let Some(flags) = parse_flags(args, out) else {
        return Ok(());
    };
    let mut when = arg_i64(args.get(2))?;
    if seconds {
        when = when.checked_mul(1000).ok_or(Error::ExpireTime)?;
    }
    let base = if relative { ctx.now.unix.0 } else { 0 };
    when = when.checked_add(base).ok_or(Error::ExpireTime)?;
    let now = ctx.now.unix;
    let done = ctx.db().write(args.get(1), now, |item| {
        let Some(item) = item else {
            return (Write::Keep, None);
        };
        let current = item.expire_at().map(|t| t.0);
        if (flags.nx && current.is_some())
            || (flags.xx && current.is_none())
            || (flags.gt && current.is_none_or(|c| when <= c))
            || (flags.lt && current.is_some_and(|c| when >= c))
        {
            return (Write::Keep, None);
        }
        if when <= now.0 {
            // Already in the past: the key goes now (Redis's checkAlreadyExpired).
            return (Write::Remove, Some("del"));
        }
        item.set_expire_at(Some(UnixMillis(when)));
        (Write::Keep, Some("expire"))
    });
    if let Some(event) = done {
        ctx.notify(GENERIC, event, args.get(1));
    } else {
        ctx.session.untouched();
    }
    if ctx.aof() {
        // Redis's records: the absolute time (replay runs with time stopped), `DEL` for a
        // time already past, nothing when nothing changed.
        match done {
            Some("expire") => {
                let mut buf = [0u8; 20];
                let at = encode::fmt_i64(when, &mut buf);
                ctx.propagate_one(&[b"PEXPIREAT", args.get(1), at]);
            }
            Some(_) => ctx.propagate_one(&[b"DEL", args.get(1)]),
            None => ctx.propagate_nothing(),
        }
    }
    encode::int(out, i64::from(done.is_some()));
    Ok(())
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`.
pub fn expire(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    expire_generic(ctx, args, out, true, true)
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`.
pub fn pexpire(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    expire_generic(ctx, args, out, false, true)
}

/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`.
pub fn expireat(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    expire_generic(ctx, args, out, true, false)
}

/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`.
pub fn pexpireat(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    expire_generic(ctx, args, out, false, false)
}

/// The key's expire time: `Err(-2)` missing (a `keymiss`), `Err(-1)` no TTL.
fn expire_of(ctx: &Ctx<'_>, key: &[u8]) -> Result<i64, i64> {
    match ctx.db().peek(key, ctx.now.unix, |item, _| item.expire_at()) {
        None => {
            ctx.notifier().keymiss(key);
            Err(-2)
        }
        Some(None) => Err(-1),
        Some(Some(t)) => Ok(t.0),
    }
}

/// `TTL key`: seconds left, rounded to nearest; -1 without TTL, -2 missing.
pub fn ttl(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let r = expire_of(ctx, args.get(1)).map(|t| ((t - ctx.now.unix.0).max(0) + 500) / 1000);
    encode::int(out, r.unwrap_or_else(|e| e));
    Ok(())
}

/// `PTTL key`: milliseconds left; -1 without TTL, -2 missing.
pub fn pttl(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let r = expire_of(ctx, args.get(1)).map(|t| (t - ctx.now.unix.0).max(0));
    encode::int(out, r.unwrap_or_else(|e| e));
    Ok(())
}

/// `EXPIRETIME key`: the Unix time in seconds it expires at, rounded to nearest as TTL
/// (Redis's `(t + 500) / 1000`, without its overflow); -1 / -2 as TTL.
pub fn expiretime(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let r = expire_of(ctx, args.get(1)).map(|t| {
        let secs = (i128::from(t) + 500) / 1000;
        i64::try_from(secs).unwrap_or(i64::MAX)
    });
    encode::int(out, r.unwrap_or_else(|e| e));
    Ok(())
}

/// `PEXPIRETIME key`: the Unix time in milliseconds it expires at; -1 / -2 as TTL.
pub fn pexpiretime(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let r = expire_of(ctx, args.get(1));
    encode::int(out, r.unwrap_or_else(|e| e));
    Ok(())
}

/// `PERSIST key`: `:1` if a TTL was removed.
pub fn persist(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let done = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) if item.expire_at().is_some() => {
                item.set_expire_at(None);
                (Write::Keep, true)
            }
            _ => (Write::Keep, false),
        });
    if done {
        ctx.notify(GENERIC, "persist", args.get(1));
    } else {
        ctx.session.untouched();
        if ctx.aof() {
            ctx.propagate_nothing();
        }
    }
    encode::int(out, i64::from(done));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    /// Found by the simulation (examples/simulation.rs): EXPIRETIME rounds the expire time
    /// to the nearest second as Redis 7.0.15 does (`(t + 500) / 1000`), it does not truncate.
    #[test]
    fn expiretime_rounds_to_the_nearest_second() {
        let mut h = Harness::new();
        h.run("SET k v");
        let cases = [
            ("4102444800700", ":4102444801\r\n"),
            ("4102444800500", ":4102444801\r\n"),
            ("4102444800499", ":4102444800\r\n"),
            // Redis computes (t + 500) / 1000 past i64::MAX without wrapping.
            ("9223372036854775807", ":9223372036854776\r\n"),
            ("9223372036854775300", ":9223372036854775\r\n"),
        ];
        for (at, want) in cases {
            assert_eq!(h.s(&std::format!("PEXPIREAT k {at}")), ":1\r\n");
            assert_eq!(h.s("EXPIRETIME k"), want, "PEXPIREAT k {at}");
            assert_eq!(h.s("PEXPIRETIME k"), std::format!(":{at}\r\n"));
        }
    }
}
