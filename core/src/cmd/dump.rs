//! DUMP and RESTORE: a key's value as Redis's serialization (an RDB value with its type,
//! the RDB version and a CRC-64; [`crate::persist::rdb`]), and back, as Redis 7.0.15's
//! `dumpCommand` and `restoreCommand` (`cluster.c`).

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::{Item, Write};
use crate::notify::{GENERIC, NEW};
use crate::persist::rdb::{self, RdbError};
use crate::resp::{encode, Args};
use crate::time::UnixMillis;
use alloc::vec::Vec;

/// Whether DUMP compresses strings with LZF (Redis's `rdbcompression`, on by default).
const COMPRESS: bool = true;

/// `DUMP key`: the serialized value, or a null bulk string when the key is missing.
pub fn dump(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let key = args.get(1);
    match ctx
        .db()
        .read(key, ctx.now.unix, |item| rdb::dump(&item.value, COMPRESS))
    {
        Some(payload) => {
            ctx.stats.keyspace_hits.bump(1);
            encode::bulk(out, &payload);
        }
        None => {
            ctx.stats.keyspace_misses.bump(1);
            ctx.notifier().keymiss(key);
            encode::nil(out);
        }
    }
    Ok(())
}

/// RESTORE's options.
struct Restore {
    replace: bool,
    absttl: bool,
    idle: Option<i64>,
    freq: Option<i64>,
}

fn parse_options(args: &Args<'_>) -> Result<Restore, Error> {
    let mut o = Restore {
        replace: false,
        absttl: false,
        idle: None,
        freq: None,
    };
    let mut j = 4;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if opt.eq_ignore_ascii_case(b"REPLACE") {
            o.replace = true;
        } else if opt.eq_ignore_ascii_case(b"ABSTTL") {
            o.absttl = true;
        } else if opt.eq_ignore_ascii_case(b"IDLETIME") && more && o.freq.is_none() {
            let v = arg_i64(args.get(j + 1))?;
            if v < 0 {
                return Err(Error::Msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            o.idle = Some(v);
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"FREQ") && more && o.idle.is_none() {
            let v = arg_i64(args.get(j + 1))?;
            if !(0..=255).contains(&v) {
                return Err(Error::Msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            // Ignored under a non-LFU maxmemory policy, as Redis does.
            o.freq = Some(v);
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ
/// frequency]`. Errors come in Redis's order: options, an existing key without REPLACE,
/// the TTL, the payload's footer, its data. A TTL already past deletes the key (with
/// REPLACE) or creates nothing, and answers OK.
pub fn restore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let o = parse_options(args)?;
    let key = args.get(1);
    let now = ctx.now.unix;
    // Checked after the key's existence, as Redis does, but computed before the lock.
    let ttl = arg_i64(args.get(2)).and_then(|t| {
        if t < 0 {
            Err(Error::Msg("ERR Invalid TTL value, must be >= 0"))
        } else {
            Ok(t)
        }
    });
    let value = ttl.and_then(|_| {
        rdb::undump(args.get(3), &ctx.engine.encodings()).map_err(|e| match e {
            RdbError::Payload => Error::Msg("ERR DUMP payload version or checksum are wrong"),
            _ => Error::Msg("ERR Bad data format"),
        })
    });
    enum Done {
        Restored { replaced: bool, at: i64 },
        Deleted,
        Nothing,
    }
    let done = ctx.db().write(key, now, |cur| {
        let exists = cur.is_some();
        if exists && !o.replace {
            return (
                Write::Keep,
                Err(Error::Msg("BUSYKEY Target key name already exists.")),
            );
        }
        let (ttl, value) = match (ttl, value) {
            (Ok(t), Ok(v)) => (t, v),
            (Err(e), _) | (_, Err(e)) => return (Write::Keep, Err(e)),
        };
        let at = if ttl != 0 && !o.absttl {
            ttl.saturating_add(now.0)
        } else {
            ttl
        };
        if at != 0 && at <= now.0 {
            return if exists {
                (Write::Remove, Ok(Done::Deleted))
            } else {
                (Write::Keep, Ok(Done::Nothing))
            };
        }
        let item = Item::with_expiry(value, (at != 0).then_some(UnixMillis(at)));
        (
            Write::Put(item),
            Ok(Done::Restored {
                replaced: exists,
                at,
            }),
        )
    })?;
    let notify = ctx.notifier();
    match done {
        Done::Restored { replaced, .. } => {
            if replaced {
                // Redis deletes then adds the key: `new` again (the keyspace reports `new`
                // only for a key that was absent).
                notify.event(NEW, "new", key);
            }
            if let Some(idle) = o.idle {
                ctx.db()
                    .set_idle(key, now, u64::try_from(idle).unwrap_or(0));
            }
            if let Some(f) = o.freq {
                ctx.db()
                    .set_freq(key, now, u8::try_from(f).unwrap_or(u8::MAX));
            }
            notify.event(GENERIC, "restore", key);
        }
        Done::Deleted => notify.event(GENERIC, "del", key),
        Done::Nothing => {}
    }
    if ctx.aof() {
        // Redis's records: a relative TTL made absolute (with ABSTTL), `DEL key` when a
        // TTL already past deleted the key, nothing when it created nothing.
        match done {
            Done::Restored { at, .. } if at != 0 && !o.absttl => {
                let mut buf = [0u8; 20];
                let at = encode::fmt_i64(at, &mut buf);
                let mut argv: Vec<&[u8]> = args.iter().collect();
                if let Some(ttl) = argv.get_mut(2) {
                    *ttl = at;
                }
                argv.push(b"ABSTTL");
                ctx.propagate_one(&argv);
            }
            Done::Restored { .. } => {}
            Done::Deleted => ctx.propagate_one(&[b"DEL", key]),
            Done::Nothing => ctx.propagate_nothing(),
        }
    }
    encode::ok(out);
    Ok(())
}
