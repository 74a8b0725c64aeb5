//! Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS,
//! HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! Each command is one read or one write of its single key; replies, error texts and the
//! order of checks are Redis 7.0.15's. Listpack hashes answer in listpack order, hashtable
//! ones in table order (undefined, as Redis's). The encoding thresholds come from the
//! configuration at each write ([`crate::types::EncodingLimits`]).

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::{Item, Value, Write};
use crate::notify::{GENERIC, HASH};
use crate::num::LongDouble;
use crate::resp::{encode, Args};
use crate::types::hash::Hash;
use crate::types::EncodingLimits;
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::hash_table::HashTable;
use xxhash_rust::xxh3::xxh3_64;

/// The most fields HRANDFIELD with a negative count returns (picks may repeat, so the
/// count is not bounded by the hash). Redis has no such bound and would try to build any
/// reply; past it we answer `-ERR value is out of range`.
pub const HRANDFIELD_MAX_REPEATS: u64 = 1 << 20;

const NOT_INTEGER_VALUE: Error = Error::Msg("ERR hash value is not an integer");
const NOT_FLOAT_VALUE: Error = Error::Msg("ERR hash value is not a float");
const OVERFLOW: Error = Error::Msg("ERR increment or decrement would overflow");
const NAN_OR_INF: Error = Error::Msg("ERR increment would produce NaN or Infinity");
const OUT_OF_RANGE: Error = Error::Msg("ERR value is out of range");

/// The hash in `item`, or WRONGTYPE.
fn hash(item: &Item) -> Result<&Hash, Error> {
    match &item.value {
        Value::Hash(h) => Ok(h),
        _ => Err(Error::WrongType),
    }
}

/// Reads the hash at `key`: `Ok(None)` if missing (a `keymiss`).
fn read<R>(ctx: &Ctx<'_>, key: &[u8], f: impl FnOnce(&Hash) -> R) -> Result<Option<R>, Error> {
    let r = ctx
        .db()
        .read(key, ctx.now.unix, |item| hash(item).map(f))
        .transpose();
    if let Ok(None) = r {
        ctx.notifier().keymiss(key);
    }
    r
}

/// Runs `f` on the hash at `key` for a write, creating an empty one if missing (it is
/// stored only if `f` leaves it non-empty). WRONGTYPE if the key holds something else.
fn write<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Hash) -> Result<R, Error>,
) -> Result<R, Error> {
    ctx.db().write(key, ctx.now.unix, |item| match item {
        Some(item) => match &mut item.value {
            Value::Hash(h) => {
                let r = f(h);
                let w = if h.is_empty() {
                    Write::Remove
                } else {
                    Write::Keep
                };
                (w, r)
            }
            _ => (Write::Keep, Err(Error::WrongType)),
        },
        None => {
            let mut h = Hash::new();
            let r = f(&mut h);
            if h.is_empty() {
                (Write::Keep, r)
            } else {
                (Write::Put(Item::new(Value::Hash(Box::new(h)))), r)
            }
        }
    })
}

fn int_reply(out: &mut Vec<u8>, n: usize) {
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// `-ERR wrong number of arguments for '<cmd>' command` for an odd field/value list.
fn pairs_arity(args: &Args<'_>, name: &'static str) -> Result<(), Error> {
    if args.len() % 2 == 1 {
        return Err(Error::Msg(name));
    }
    Ok(())
}

fn set_pairs(ctx: &Ctx<'_>, args: &Args<'_>) -> Result<usize, Error> {
    let limits = ctx.engine.encodings();
    write(ctx, args.get(1), |h| {
        let mut added = 0;
        for j in (2..args.len()).step_by(2) {
            if h.set(args.get(j), args.get(j + 1), &limits) {
                added += 1;
            }
        }
        Ok(added)
    })
}

/// `HSET key field value [field value ...]`: the number of new fields.
pub fn hset(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pairs_arity(args, "ERR wrong number of arguments for 'hset' command")?;
    let added = set_pairs(ctx, args)?;
    ctx.notify(HASH, "hset", args.get(1));
    int_reply(out, added);
    Ok(())
}

/// `HMSET key field value [field value ...]`: `+OK`.
pub fn hmset(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pairs_arity(args, "ERR wrong number of arguments for 'hmset' command")?;
    set_pairs(ctx, args)?;
    ctx.notify(HASH, "hset", args.get(1));
    encode::ok(out);
    Ok(())
}

/// `HSETNX key field value`: 1 if the field was set, 0 if it existed (then nothing
/// changes, not even the encoding).
pub fn hsetnx(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let limits = ctx.engine.encodings();
    let (field, value) = (args.get(2), args.get(3));
    let set = write(ctx, args.get(1), |h| {
        Ok(!h.contains(field) && h.set(field, value, &limits))
    })?;
    if set {
        ctx.notify(HASH, "hset", args.get(1));
    } else {
        ctx.session.untouched();
    }
    int_reply(out, usize::from(set));
    Ok(())
}

/// `HGET key field`.
pub fn hget(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let found = read(ctx, args.get(1), |h| match h.get(args.get(2)) {
        Some(v) => encode::bulk(out, v),
        None => encode::nil(out),
    })?;
    if found.is_none() {
        encode::nil(out);
    }
    Ok(())
}

/// `HMGET key field [field ...]`.
pub fn hmget(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut body = Vec::new();
    let found = read(ctx, args.get(1), |h| {
        for f in args.iter().skip(2) {
            match h.get(f) {
                Some(v) => encode::bulk(&mut body, v),
                None => encode::nil(&mut body),
            }
        }
    })?;
    encode::array(out, args.len() - 2);
    if found.is_some() {
        out.extend_from_slice(&body);
    } else {
        for _ in 2..args.len() {
            encode::nil(out);
        }
    }
    Ok(())
}

/// `HDEL key field [field ...]`: the number removed; an emptied hash deletes its key.
pub fn hdel(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let removed = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let Some(item) = item else {
            return (Write::Keep, Ok((0, false)));
        };
        let Value::Hash(h) = &mut item.value else {
            return (Write::Keep, Err(Error::WrongType));
        };
        let mut n = 0;
        for f in args.iter().skip(2) {
            if h.remove(f) {
                n += 1;
            }
            if h.is_empty() {
                break;
            }
        }
        if h.is_empty() {
            (Write::Remove, Ok((n, true)))
        } else {
            (Write::Keep, Ok((n, false)))
        }
    })?;
    let (removed, emptied) = removed;
    if removed > 0 {
        ctx.notify(HASH, "hdel", args.get(1));
        if emptied {
            ctx.notify(GENERIC, "del", args.get(1));
        }
    } else {
        ctx.session.untouched();
    }
    int_reply(out, removed);
    Ok(())
}

/// `HLEN key`.
pub fn hlen(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = read(ctx, args.get(1), Hash::len)?.unwrap_or(0);
    int_reply(out, n);
    Ok(())
}

/// `HSTRLEN key field`: the value's length, 0 if missing.
pub fn hstrlen(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = read(ctx, args.get(1), |h| {
        h.get(args.get(2)).map_or(0, <[u8]>::len)
    })?;
    int_reply(out, n.unwrap_or(0));
    Ok(())
}

/// `HEXISTS key field`.
pub fn hexists(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = read(ctx, args.get(1), |h| h.contains(args.get(2)))?;
    int_reply(out, usize::from(n.unwrap_or(false)));
    Ok(())
}

/// What HKEYS, HVALS and HGETALL list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Keys,
    Vals,
    Both,
}

fn list(ctx: &Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, part: Part) -> CmdResult {
    let found = read(ctx, args.get(1), |h| {
        encode::array(out, h.len() * if part == Part::Both { 2 } else { 1 });
        for (f, v) in h.iter() {
            if part != Part::Vals {
                encode::bulk(out, f);
            }
            if part != Part::Keys {
                encode::bulk(out, v);
            }
        }
    })?;
    if found.is_none() {
        encode::array(out, 0);
    }
    Ok(())
}

/// `HKEYS key`.
pub fn hkeys(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    list(ctx, args, out, Part::Keys)
}

/// `HVALS key`.
pub fn hvals(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    list(ctx, args, out, Part::Vals)
}

/// `HGETALL key`.
pub fn hgetall(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    list(ctx, args, out, Part::Both)
}

/// Parses a stored value as Redis's `string2ll`: the strict integer form.
fn stored_i64(v: &[u8]) -> Option<i64> {
    crate::resp::parse::parse_i64(v)
}

/// `HINCRBY key field increment`: the new value.
pub fn hincrby(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let by = arg_i64(args.get(3))?;
    let limits: EncodingLimits = ctx.engine.encodings();
    let field = args.get(2);
    let n = write(ctx, args.get(1), |h| {
        let old = match h.get(field) {
            Some(v) => stored_i64(v).ok_or(NOT_INTEGER_VALUE)?,
            None => 0,
        };
        let new = old.checked_add(by).ok_or(OVERFLOW)?;
        let mut buf = [0u8; 20];
        h.set(field, encode::fmt_i64(new, &mut buf), &limits);
        Ok(new)
    })?;
    ctx.notify(HASH, "hincrby", args.get(1));
    encode::int(out, n);
    Ok(())
}

/// `HINCRBYFLOAT key field increment`: the new value, in x87 extended precision and
/// `%.17Lf` formatting as INCRBYFLOAT ([`LongDouble`]).
pub fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let by = match LongDouble::parse(args.get(3)) {
        Ok(v) => v,
        Err(true) => return Err(Error::Msg("ERR value is NaN or Infinity")),
        Err(false) => return Err(Error::Msg("ERR value is not a valid float")),
    };
    let limits = ctx.engine.encodings();
    let field = args.get(2);
    let text = write(ctx, args.get(1), |h| {
        let old = match h.get(field) {
            Some(v) => match LongDouble::parse(v) {
                Ok(old) => old,
                // A stored "inf" parses (as strtold's), and any sum with it is infinite.
                Err(true) => return Err(NAN_OR_INF),
                Err(false) => return Err(NOT_FLOAT_VALUE),
            },
            None => LongDouble::ZERO,
        };
        let new = old.checked_add(by).ok_or(NAN_OR_INF)?;
        let text = new.to_human().into_bytes();
        h.set(field, &text, &limits);
        Ok(text)
    })?;
    ctx.notify(HASH, "hincrbyfloat", args.get(1));
    encode::bulk(out, &text);
    if ctx.aof() {
        // Redis records the result: `HSET key field <value>`.
        ctx.propagate_one(&[b"HSET", args.get(1), field, &text]);
    }
    Ok(())
}

/// Writes one HRANDFIELD pick.
fn pick_reply(out: &mut Vec<u8>, (f, v): (&[u8], &[u8]), withvalues: bool) {
    encode::bulk(out, f);
    if withvalues {
        encode::bulk(out, v);
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`, with Redis's cases: no count gives one field or
/// nil; a negative count (or 1) gives that many independent picks, repeats allowed; a
/// count of at least the size gives the whole hash in order; a smaller positive count
/// gives distinct fields (in listpack order for a listpack hash, as Redis samples it).
pub fn hrandfield(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let mut count = None;
    let mut withvalues = false;
    if args.len() >= 3 {
        let l = arg_i64(args.get(2))?;
        if l == i64::MIN {
            return Err(Error::Msg(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        if args.len() > 4 || (args.len() == 4 && !args.get(3).eq_ignore_ascii_case(b"WITHVALUES")) {
            return Err(Error::Syntax);
        }
        if args.len() == 4 {
            withvalues = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
                return Err(OUT_OF_RANGE);
            }
        }
        count = Some(l);
    }
    let mut r = ctx.session.next_random() | 1;
    let mut next = move || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    let found = read(ctx, args.get(1), |h| -> Result<(), Error> {
        let Some(l) = count else {
            match h.random(&mut next) {
                Some((f, _)) => encode::bulk(out, f),
                None => encode::nil(out),
            }
            return Ok(());
        };
        let per = if withvalues { 2 } else { 1 };
        let size = h.len();
        if l == 0 || size == 0 {
            encode::array(out, 0);
            return Ok(());
        }
        if l < 0 || l == 1 {
            let n = l.unsigned_abs();
            if n > HRANDFIELD_MAX_REPEATS {
                return Err(OUT_OF_RANGE);
            }
            encode::array(out, n as usize * per);
            for _ in 0..n {
                if let Some(p) = h.random(&mut next) {
                    pick_reply(out, p, withvalues);
                }
            }
            return Ok(());
        }
        let c = usize::try_from(l).unwrap_or(usize::MAX);
        if c >= size {
            encode::array(out, size * per);
            for p in h.iter() {
                pick_reply(out, p, withvalues);
            }
            return Ok(());
        }
        encode::array(out, c * per);
        if h.is_small() {
            // Selection sampling: `c` distinct positions, in order.
            let mut need = c;
            for i in 0..size {
                if need == 0 {
                    break;
                }
                let left = (size - i) as u64;
                if next() % left < need as u64 {
                    if let Some(p) = h.small_at(i) {
                        pick_reply(out, p, withvalues);
                    }
                    need -= 1;
                }
            }
        } else if c * 3 > size {
            // Many of them: a partial shuffle of all fields.
            let mut all: Vec<(&[u8], &[u8])> = h.iter().collect();
            for i in 0..c {
                let j = i + (next() % (size - i) as u64) as usize;
                all.swap(i, j);
            }
            for &p in all.iter().take(c) {
                pick_reply(out, p, withvalues);
            }
        } else {
            // Few of them: random picks, repeats skipped (c <= size / 3, so this ends
            // after about 1.5 c picks on average).
            let mut seen: HashTable<&[u8]> = HashTable::with_capacity(c);
            while seen.len() < c {
                let Some(p) = h.random(&mut next) else { break };
                let hash = xxh3_64(p.0);
                if seen.find(hash, |f| *f == p.0).is_none() {
                    seen.insert_unique(hash, p.0, |f| xxh3_64(f));
                    pick_reply(out, p, withvalues);
                }
            }
        }
        Ok(())
    })?;
    match found {
        Some(r) => r,
        None => {
            match count {
                None => encode::nil(out),
                Some(_) => encode::array(out, 0),
            }
            Ok(())
        }
    }
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`: a listpack hash answers whole with
/// cursor 0; a hashtable hash is walked in hash order, so every field present for the
/// whole scan is returned at least once however the table changes between calls.
pub fn hscan(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let cursor =
        super::keyspace::parse_cursor(args.get(2)).ok_or(Error::Msg("ERR invalid cursor"))?;
    // The key is looked up before the options are read, as in Redis.
    let r = read(ctx, args.get(1), |h| -> Result<(), Error> {
        let (pattern, count) = super::keyspace::scan_options(args, 3)?;
        let mut body = Vec::new();
        let mut n = 0usize;
        let next = h.scan(cursor, count, |f, v| {
            if pattern.is_none_or(|p| crate::glob::matches(p, f, false)) {
                encode::bulk(&mut body, f);
                encode::bulk(&mut body, v);
                n += 2;
            }
        });
        super::keyspace::scan_reply(out, next, n, &body);
        Ok(())
    })?;
    match r {
        Some(r) => r,
        None => {
            super::keyspace::scan_reply(out, 0, 0, &[]);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    #[test]
    fn set_get_delete_and_errors() {
        let mut h = Harness::new();
        assert_eq!(h.s("HSET h a 1 b 2 a 3"), ":2\r\n");
        assert_eq!(h.s("HGET h a"), "$1\r\n3\r\n");
        assert_eq!(
            h.s("HSET h a"),
            "-ERR wrong number of arguments for 'hset' command\r\n"
        );
        assert_eq!(
            h.s("HMSET h a 1 b"),
            "-ERR wrong number of arguments for 'hmset' command\r\n"
        );
        assert_eq!(h.s("HMSET h c 4"), "+OK\r\n");
        assert_eq!(h.s("HSETNX h c 5"), ":0\r\n");
        assert_eq!(
            h.s("HGETALL h"),
            "*6\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n"
        );
        assert_eq!(h.s("HMGET h a x"), "*2\r\n$1\r\n3\r\n$-1\r\n");
        assert_eq!(h.s("HMGET nokey a x"), "*2\r\n$-1\r\n$-1\r\n");
        assert_eq!(h.s("HINCRBY h a 5"), ":8\r\n");
        assert_eq!(h.s("HINCRBYFLOAT h a 0.5"), "$3\r\n8.5\r\n");
        assert_eq!(
            h.s("HINCRBY h a 1"),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(h.s("HDEL h a b c x"), ":3\r\n");
        assert_eq!(h.s("EXISTS h"), ":0\r\n");
        h.run("SET s v");
        assert!(h.s("HGET s a").starts_with("-WRONGTYPE"));
        assert!(h.s("HSET s a 1").starts_with("-WRONGTYPE"));
        assert_eq!(h.s("HSCAN nokey 0 COUNT 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(h.s("HRANDFIELD nokey"), "$-1\r\n");
        assert_eq!(h.s("HRANDFIELD nokey -3"), "*0\r\n");
    }

    #[test]
    fn hscan_walks_a_big_hash_in_steps() {
        let mut h = Harness::new();
        for i in 0..1000 {
            h.run(&std::format!("HSET big f{i} v{i}"));
        }
        assert_eq!(h.s("OBJECT ENCODING big"), "$9\r\nhashtable\r\n");
        let mut seen = std::collections::HashSet::new();
        let mut cursor = std::string::String::from("0");
        let mut steps = 0;
        loop {
            let reply = h.s(&std::format!("HSCAN big {cursor} COUNT 20"));
            let lines: std::vec::Vec<&str> = reply.split("\r\n").collect();
            cursor = std::string::String::from(lines[2]);
            for pair in lines[4..].chunks(4) {
                if pair.len() == 4 {
                    seen.insert(std::string::String::from(pair[1]));
                }
            }
            steps += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(steps > 10, "{steps} steps");
    }
}
