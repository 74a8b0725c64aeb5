//! String commands: GET, SET.

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::{Item, Value, Write};
use crate::resp::{encode, Args};
use crate::time::{Now, UnixMillis};
use alloc::vec::Vec;

/// `GET key`.
pub fn get(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let found = ctx
        .engine
        .db
        .read(args.get(1), ctx.now.unix, |item| match &item.value {
            Value::Str(s) => {
                encode::bulk(out, s);
            }
        });
    if found.is_some() {
        ctx.stats.keyspace_hits.bump(1);
    } else {
        ctx.stats.keyspace_misses.bump(1);
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
        let expire_kind = if is(b"EX") {
            Some(ExpireKind::Ex)
        } else if is(b"PX") {
            Some(ExpireKind::Px)
        } else if is(b"EXAT") {
            Some(ExpireKind::ExAt)
        } else if is(b"PXAT") {
            Some(ExpireKind::PxAt)
        } else {
            None
        };
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

/// Reuses `buf`'s allocation for `val` when it fits without wasting much, else allocates.
fn store_bytes(buf: &mut Vec<u8>, val: &[u8]) {
    if buf.capacity() >= val.len() && buf.capacity() <= val.len() * 2 + 64 {
        buf.clear();
        buf.extend_from_slice(val);
    } else {
        *buf = val.to_vec();
    }
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]`.
pub fn set(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (key, val) = (args.get(1), args.get(2));
    let o = parse_set_options(args)?;
    let expire = match o.expire {
        Some((kind, arg)) => Some(expire_at(kind, arg, ctx.now)?),
        None => None,
    };
    ctx.engine.db.write(key, ctx.now.unix, |item| match item {
        Some(item) => {
            match &item.value {
                Value::Str(old) if o.get => encode::bulk(out, old),
                Value::Str(_) => {}
            }
            if o.nx {
                if !o.get {
                    encode::nil(out);
                }
                return (Write::Keep, Ok(()));
            }
            let Value::Str(buf) = &mut item.value;
            store_bytes(buf, val);
            if !o.keepttl {
                item.expire_at = expire;
            }
            if !o.get {
                encode::ok(out);
            }
            (Write::Keep, Ok(()))
        }
        None => {
            if o.get || o.xx {
                encode::nil(out);
            }
            if o.xx {
                return (Write::Keep, Ok(()));
            }
            if !o.get {
                encode::ok(out);
            }
            let item = Item {
                value: Value::Str(val.to_vec()),
                expire_at: expire,
            };
            (Write::Put(item), Ok(()))
        }
    })
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
        assert_eq!(h.engine.db.expires_len(), 1);
    }
}
