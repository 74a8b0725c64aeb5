//! List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LINDEX, LSET, LRANGE,
//! LTRIM, LREM, LINSERT, LPOS, LMOVE, RPOPLPUSH, LMPOP.
//!
//! Storage is [`crate::types::list::List`] (quicklist-like chunks; a new list takes its fill
//! from `list-max-listpack-size`). Replies, error texts and the order of argument checks
//! are Redis 7.0.15's (`t_list.c`): e.g. LINDEX and LSET look the key up before they parse
//! the index, LRANGE, LTRIM and LREM parse their numbers first. A key never holds an empty
//! list: the write that takes the last element removes the key. LMOVE, RPOPLPUSH and LMPOP
//! lock all their keys at once ([`Db::multi`]).
//!
//! The blocking commands (`blocking.rs`) reuse [`End`], `parse_end`, `mpop_args`,
//! `pop_reply_with_key`, `mpop_in` and `move_in`.
//!
//! [`Db::multi`]: crate::db::Db::multi

use super::{arg_i64, CmdResult, Ctx, Error, Notify};
use crate::db::{Item, Multi, Value, Write};
use crate::notify::{GENERIC, LIST};
use crate::resp::parse::parse_i64;
use crate::resp::{encode, Args};
use crate::types::list::List;
use alloc::boxed::Box;
use alloc::vec::Vec;

const NO_SUCH_KEY: Error = Error::Msg("ERR no such key");
const INDEX_OUT_OF_RANGE: Error = Error::Msg("ERR index out of range");
const NOT_POSITIVE: Error = Error::Msg("ERR value is out of range, must be positive");
const RANK_ZERO: Error = Error::Msg(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
);
const COUNT_NEGATIVE: Error = Error::Msg("ERR COUNT can't be negative");
const MAXLEN_NEGATIVE: Error = Error::Msg("ERR MAXLEN can't be negative");
const NUMKEYS: Error = Error::Msg("ERR numkeys should be greater than 0");
const COUNT_POSITIVE: Error = Error::Msg("ERR count should be greater than 0");

/// An end of a list: LEFT is the head, RIGHT the tail.
pub(crate) use crate::blocking::End;

/// `LEFT` or `RIGHT` (any case); Redis's syntax error otherwise.
pub(crate) fn parse_end(arg: &[u8]) -> Result<End, Error> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Left)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Right)
    } else {
        Err(Error::Syntax)
    }
}

/// The list in `item`, or WRONGTYPE.
fn list(item: &Item) -> Result<&List, Error> {
    match &item.value {
        Value::List(l) => Ok(l),
        _ => Err(Error::WrongType),
    }
}

fn list_mut(item: &mut Item) -> Result<&mut List, Error> {
    match &mut item.value {
        Value::List(l) => Ok(l),
        _ => Err(Error::WrongType),
    }
}

/// Reads the list at `key`: `Ok(None)` if missing (a `keymiss`).
fn read<R>(ctx: &Ctx<'_>, key: &[u8], f: impl FnOnce(&List) -> R) -> Result<Option<R>, Error> {
    let r = ctx
        .db()
        .read(key, ctx.now.unix, |item| list(item).map(f))
        .transpose();
    if let Ok(None) = r {
        ctx.notifier().keymiss(key);
    }
    r
}

/// Runs `f` on the list at `key` for writing; removes the key if it ends empty. `Ok(None)`
/// when the key is missing; else `f`'s result and whether the key went.
fn modify<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut List) -> Result<R, Error>,
) -> Result<Option<(R, bool)>, Error> {
    ctx.db().write(key, ctx.now.unix, |item| {
        let Some(item) = item else {
            return (Write::Keep, Ok(None));
        };
        match list_mut(item) {
            Err(e) => (Write::Keep, Err(e)),
            Ok(l) => {
                let r = f(l);
                let emptied = l.is_empty();
                (after(l), r.map(|r| Some((r, emptied))))
            }
        }
    })
}

/// The events of a write that may have emptied the list: `event`, then `del` if it did
/// (Redis's `listElementsRemoved` and friends).
fn notify_change(notify: Notify<'_>, event: &str, key: &[u8], emptied: bool) {
    notify.event(LIST, event, key);
    if emptied {
        notify.event(GENERIC, "del", key);
    }
}

/// The name of a pop's event.
pub(crate) fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// The name of a push's event.
pub(crate) fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// What a write leaves: the key goes with its last element.
pub(crate) fn after(l: &List) -> Write {
    if l.is_empty() {
        Write::Remove
    } else {
        Write::Keep
    }
}

fn int_reply(out: &mut Vec<u8>, n: usize) {
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// The fill of new lists (`list-max-listpack-size`).
fn fill(ctx: &Ctx<'_>) -> i32 {
    ctx.engine.encodings().list_max_listpack_size
}

pub(crate) fn push_at(l: &mut List, end: End, e: &[u8]) {
    match end {
        End::Left => l.push_front(e),
        End::Right => l.push_back(e),
    }
}

/// Pops one element from `end` into a bulk reply; false if the list is empty.
fn pop_bulk(l: &mut List, end: End, out: &mut Vec<u8>) -> bool {
    let w = |e: &[u8]| encode::bulk(out, e);
    match end {
        End::Left => l.pop_front_with(w),
        End::Right => l.pop_back_with(w),
    }
}

pub(crate) fn pop_one(l: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Left => l.pop_front(),
        End::Right => l.pop_back(),
    }
}

/// Pops up to `count` elements from `end` as an array reply, in the order popped.
fn pop_array(l: &mut List, end: End, count: u64, out: &mut Vec<u8>) {
    let n = usize::try_from(count).unwrap_or(usize::MAX).min(l.len());
    encode::array(out, n);
    for _ in 0..n {
        pop_bulk(l, end, out);
    }
}

/// The reply of LMPOP and BLMPOP for a list that is not empty: `*2`, the key, and up to
/// `count` elements popped from `end` (in the order popped). The caller removes the key if
/// the list is left empty.
pub(crate) fn pop_reply_with_key(
    l: &mut List,
    key: &[u8],
    end: End,
    count: u64,
    out: &mut Vec<u8>,
) {
    encode::array(out, 2);
    encode::bulk(out, key);
    pop_array(l, end, count, out);
}

/// `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at argument `numkeys_at`, as
/// LMPOP (1) and BLMPOP (2) take it, with Redis's errors in its order: the key positions,
/// the end, and the count (1 without COUNT).
pub(crate) fn mpop_args(
    args: &Args<'_>,
    numkeys_at: usize,
) -> Result<(Vec<usize>, End, u64), Error> {
    let numkeys = parse_i64(args.get(numkeys_at)).ok_or(NUMKEYS)?;
    if numkeys < 1 {
        return Err(NUMKEYS);
    }
    // Beyond the arguments (Redis computes the same index and finds no argument there).
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let where_at = numkeys_at
        .checked_add(numkeys)
        .and_then(|i| i.checked_add(1))
        .filter(|&i| i < args.len())
        .ok_or(Error::Syntax)?;
    let end = parse_end(args.get(where_at))?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        let more = j + 1 < args.len();
        if count.is_none() && more && args.get(j).eq_ignore_ascii_case(b"count") {
            j += 1;
            let c = parse_i64(args.get(j)).ok_or(COUNT_POSITIVE)?;
            if c < 1 {
                return Err(COUNT_POSITIVE);
            }
            count = Some(c as u64);
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let keys = (numkeys_at + 1..where_at).collect();
    Ok((keys, end, count.unwrap_or(1)))
}

/// LMPOP's work on locked keys: pops from the first non-empty list among `keys` and writes
/// [`pop_reply_with_key`]'s reply; `Ok(false)` (nothing written) when every key is missing.
/// WRONGTYPE for a key of another type met before a list.
pub(crate) fn mpop_in(
    m: &mut Multi<'_>,
    notify: Notify<'_>,
    keys: &[&[u8]],
    end: End,
    count: u64,
    out: &mut Vec<u8>,
) -> Result<bool, Error> {
    for &key in keys {
        let popped = m.write(key, |item| {
            let Some(item) = item else {
                return (Write::Keep, Ok(None));
            };
            match list_mut(item) {
                Err(e) => (Write::Keep, Err(e)),
                Ok(l) if l.is_empty() => (Write::Keep, Ok(None)),
                Ok(l) => {
                    pop_reply_with_key(l, key, end, count, out);
                    (after(l), Ok(Some(l.is_empty())))
                }
            }
        });
        if let Some(emptied) = popped.transpose()?.flatten() {
            notify_change(notify, pop_event(end), key, emptied);
            return Ok(true);
        }
    }
    Ok(false)
}

/// LMOVE's work on the locked `src` and `dst`: pops from `from` of `src` and pushes to `to`
/// of `dst` (a new list of fill `fill` if missing). `Ok(None)` when `src` is missing;
/// WRONGTYPE (and nothing moved) when either key holds another type. Notifies as Redis's
/// `lmoveGenericCommand`: (`new`), the push on `dst`, the pop on `src`, (`del` of `src`).
pub(crate) fn move_in(
    m: &mut Multi<'_>,
    notify: Notify<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    fill: i32,
) -> Result<Option<Vec<u8>>, Error> {
    match m.read(src, |item| list(item).map(List::is_empty)) {
        None | Some(Ok(true)) => return Ok(None),
        Some(Err(e)) => return Err(e),
        Some(Ok(false)) => {}
    }
    if let Some(r) = m.read(dst, |item| list(item).map(|_| ())) {
        r?;
    }
    if src == dst {
        let v = m.write(src, |item| {
            let Some(l) = item.and_then(|i| list_mut(i).ok()) else {
                return (Write::Keep, None);
            };
            let v = pop_one(l, from);
            if let Some(v) = &v {
                push_at(l, to, v);
            }
            (after(l), v)
        });
        let v = v.flatten();
        if v.is_some() {
            notify.event(LIST, push_event(to), dst);
            notify.event(LIST, pop_event(from), src);
        }
        return Ok(v);
    }
    let v = m
        .write(src, |item| {
            let Some(l) = item.and_then(|i| list_mut(i).ok()) else {
                return (Write::Keep, None);
            };
            let v = pop_one(l, from);
            (after(l), v.map(|v| (v, l.is_empty())))
        })
        .flatten();
    let Some((v, emptied)) = v else {
        return Ok(None);
    };
    m.write(dst, |item| match item.and_then(|i| list_mut(i).ok()) {
        Some(l) => {
            push_at(l, to, &v);
            (Write::Keep, ())
        }
        None => {
            let mut l = List::with_fill(fill);
            push_at(&mut l, to, &v);
            (Write::Put(Item::new(Value::List(Box::new(l)))), ())
        }
    });
    notify.event(LIST, push_event(to), dst);
    notify_change(notify, pop_event(from), src, emptied);
    Ok(Some(v))
}

/// LPUSH, RPUSH, LPUSHX, RPUSHX.
fn push(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, end: End, xx: bool) -> CmdResult {
    let fill = fill(ctx);
    let n = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) => match list_mut(item) {
                Err(e) => (Write::Keep, Err(e)),
                Ok(l) => {
                    for e in args.iter().skip(2) {
                        push_at(l, end, e);
                    }
                    (Write::Keep, Ok(l.len()))
                }
            },
            None if xx => (Write::Keep, Ok(0)),
            None => {
                let mut l = List::with_fill(fill);
                for e in args.iter().skip(2) {
                    push_at(&mut l, end, e);
                }
                let n = l.len();
                (Write::Put(Item::new(Value::List(Box::new(l)))), Ok(n))
            }
        })?;
    if n > 0 {
        ctx.notify(LIST, push_event(end), args.get(1));
    }
    int_reply(out, n);
    Ok(())
}

/// `LPUSH key element [element ...]`.
pub fn lpush(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    push(ctx, args, out, End::Left, false)
}

/// `RPUSH key element [element ...]`.
pub fn rpush(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    push(ctx, args, out, End::Right, false)
}

/// `LPUSHX key element [element ...]`: only onto an existing list.
pub fn lpushx(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    push(ctx, args, out, End::Left, true)
}

/// `RPUSHX key element [element ...]`: only onto an existing list.
pub fn rpushx(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    push(ctx, args, out, End::Right, true)
}

/// LPOP and RPOP: without a count one bulk (nil if missing); with one an array (a null
/// array if missing, an empty one for count 0).
fn pop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Msg(match end {
            End::Left => "ERR wrong number of arguments for 'lpop' command",
            End::Right => "ERR wrong number of arguments for 'rpop' command",
        }));
    }
    let count = if args.len() == 3 {
        let c = parse_i64(args.get(2)).ok_or(NOT_POSITIVE)?;
        Some(u64::try_from(c).map_err(|_| NOT_POSITIVE)?)
    } else {
        None
    };
    let found = modify(ctx, args.get(1), |l| {
        match count {
            None => {
                pop_bulk(l, end, out);
            }
            Some(c) => pop_array(l, end, c, out),
        }
        Ok(())
    })?;
    match found {
        // COUNT 0 changes nothing and says nothing.
        Some(((), emptied)) if count != Some(0) => {
            notify_change(ctx.notifier(), pop_event(end), args.get(1), emptied)
        }
        Some(_) => ctx.session.untouched(),
        None => {
            ctx.session.untouched();
            match count {
                None => encode::nil(out),
                Some(_) => encode::null_array(out),
            }
        }
    }
    Ok(())
}

/// `LPOP key [count]`.
pub fn lpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop(ctx, args, out, End::Left)
}

/// `RPOP key [count]`.
pub fn rpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop(ctx, args, out, End::Right)
}

/// `LLEN key`.
pub fn llen(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    int_reply(out, read(ctx, args.get(1), List::len)?.unwrap_or(0));
    Ok(())
}

/// A Redis index (negative counts from the tail) as a position in a list of `len`.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 { index + len } else { index };
    usize::try_from(i).ok().filter(|&i| (i as i64) < len)
}

/// `LINDEX key index`: the key first (nil if missing, WRONGTYPE), then the index.
pub fn lindex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let found = read(ctx, args.get(1), |l| {
        let index = arg_i64(args.get(2))?;
        match position(index, l.len()).and_then(|i| l.get(i)) {
            Some(e) => encode::bulk(out, e),
            None => encode::nil(out),
        }
        Ok(())
    })?;
    match found {
        Some(r) => r,
        None => {
            encode::nil(out);
            Ok(())
        }
    }
}

/// `LSET key index element`: the key first (`no such key`, WRONGTYPE), then the index.
pub fn lset(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    modify(ctx, args.get(1), |l| {
        let index = arg_i64(args.get(2))?;
        match position(index, l.len()) {
            Some(i) if l.set(i, args.get(3)) => Ok(()),
            _ => Err(INDEX_OUT_OF_RANGE),
        }
    })?
    .ok_or(NO_SUCH_KEY)?;
    ctx.notify(LIST, "lset", args.get(1));
    encode::ok(out);
    Ok(())
}

/// Redis's range clamp (`addListRangeReply`, `ltrimCommand`): `start..=end` with negative
/// indexes from the tail; `None` when empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = i64::try_from(len).ok()?;
    let mut start = if start < 0 { start + llen } else { start };
    let mut end = if end < 0 { end + llen } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// `LRANGE key start stop`.
pub fn lrange(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let start = arg_i64(args.get(2))?;
    let end = arg_i64(args.get(3))?;
    let found = read(ctx, args.get(1), |l| {
        match clamp_range(start, end, l.len()) {
            None => encode::array(out, 0),
            Some((s, e)) => {
                encode::array(out, e - s + 1);
                for x in l.range(s, e + 1) {
                    encode::bulk(out, x);
                }
            }
        }
    })?;
    if found.is_none() {
        encode::array(out, 0);
    }
    Ok(())
}

/// `LTRIM key start stop`.
pub fn ltrim(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let start = arg_i64(args.get(2))?;
    let end = arg_i64(args.get(3))?;
    let found = modify(ctx, args.get(1), |l| {
        match clamp_range(start, end, l.len()) {
            None => l.clear(),
            Some((s, e)) => {
                let tail = l.len() - e - 1;
                l.drop_back(tail);
                l.drop_front(s);
            }
        }
        Ok(())
    })?;
    if let Some(((), emptied)) = found {
        notify_change(ctx.notifier(), "ltrim", args.get(1), emptied);
    }
    encode::ok(out);
    Ok(())
}

/// `LREM key count element`: count > 0 from the head, < 0 from the tail, 0 all.
pub fn lrem(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let count = arg_i64(args.get(2))?;
    let n = modify(ctx, args.get(1), |l| {
        let k = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        Ok(l.remove_matching(args.get(3), k, count < 0))
    })?;
    let n = match n {
        Some((n, emptied)) if n > 0 => {
            notify_change(ctx.notifier(), "lrem", args.get(1), emptied);
            n
        }
        _ => {
            ctx.session.untouched();
            0
        }
    };
    int_reply(out, n);
    Ok(())
}

/// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 without the pivot, 0
/// without the key.
pub fn linsert(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let w = args.get(2);
    let after_pivot = if w.eq_ignore_ascii_case(b"after") {
        true
    } else if w.eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(Error::Syntax);
    };
    let (pivot, element) = (args.get(3), args.get(4));
    let n = modify(ctx, args.get(1), |l| {
        let Some(at) = l.iter().position(|e| e == pivot) else {
            return Ok(-1);
        };
        l.insert(at + usize::from(after_pivot), element);
        Ok(i64::try_from(l.len()).unwrap_or(i64::MAX))
    })?
    .map(|(n, _)| n);
    if n.is_some_and(|n| n > 0) {
        ctx.notify(LIST, "linsert", args.get(1));
    } else {
        ctx.session.untouched();
    }
    encode::int(out, n.unwrap_or(0));
    Ok(())
}

/// LPOS's options.
struct LposOpts {
    rank: i64,
    /// `None` without COUNT; `Some(0)`: every match.
    count: Option<u64>,
    /// 0: no bound.
    maxlen: u64,
}

fn lpos_opts(args: &Args<'_>) -> Result<LposOpts, Error> {
    let mut o = LposOpts {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if more && opt.eq_ignore_ascii_case(b"rank") {
            j += 1;
            // Redis 7.0.15 takes any long here: RANK -9223372036854775808 wraps when
            // negated and then matches from the tail without ever reaching a COUNT.
            let r = arg_i64(args.get(j))?;
            if r == 0 {
                return Err(RANK_ZERO);
            }
            o.rank = r;
        } else if more && opt.eq_ignore_ascii_case(b"count") {
            j += 1;
            let c = parse_i64(args.get(j)).ok_or(COUNT_NEGATIVE)?;
            o.count = Some(u64::try_from(c).map_err(|_| COUNT_NEGATIVE)?);
        } else if more && opt.eq_ignore_ascii_case(b"maxlen") {
            j += 1;
            let c = parse_i64(args.get(j)).ok_or(MAXLEN_NEGATIVE)?;
            o.maxlen = u64::try_from(c).map_err(|_| MAXLEN_NEGATIVE)?;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// The indexes LPOS answers (at most one without COUNT).
fn lpos_matches(l: &List, element: &[u8], o: &LposOpts) -> Vec<usize> {
    let from_tail = o.rank < 0;
    let rank = o.rank.unsigned_abs();
    // RANK i64::MIN, which Redis negates with wrap-around: every match ranks.
    let wrapped = o.rank == i64::MIN;
    let len = l.len();
    let limit = match o.maxlen {
        0 => len,
        m => usize::try_from(m).unwrap_or(usize::MAX).min(len),
    };
    let mut found = Vec::new();
    let mut matches = 0u64;
    let mut check = |index: usize, e: &[u8]| -> bool {
        if e != element {
            return false;
        }
        matches += 1;
        if !wrapped && matches < rank {
            return false;
        }
        found.push(if from_tail { len - index - 1 } else { index });
        match o.count {
            None => true,
            Some(0) => false,
            Some(_) if wrapped => false,
            Some(c) => matches - rank + 1 >= c,
        }
    };
    if from_tail {
        for (i, e) in l.iter().rev().take(limit).enumerate() {
            if check(i, e) {
                break;
            }
        }
    } else {
        for (i, e) in l.iter().take(limit).enumerate() {
            if check(i, e) {
                break;
            }
        }
    }
    found
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`.
pub fn lpos(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let o = lpos_opts(args)?;
    let found = read(ctx, args.get(1), |l| lpos_matches(l, args.get(2), &o))?;
    match (o.count, found) {
        (Some(_), found) => {
            let found = found.unwrap_or_default();
            encode::array(out, found.len());
            for i in found {
                int_reply(out, i);
            }
        }
        (None, found) => match found.and_then(|f| f.first().copied()) {
            Some(i) => int_reply(out, i),
            None => encode::nil(out),
        },
    }
    Ok(())
}

/// LMOVE and RPOPLPUSH.
fn lmove_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    from: End,
    to: End,
) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let fill = fill(ctx);
    let notify = ctx.notifier();
    let moved = ctx.db().multi(&[src, dst], ctx.now.unix, |m| {
        move_in(m, notify, src, dst, from, to, fill)
    })?;
    match moved {
        Some(v) => encode::bulk(out, &v),
        None => {
            encode::nil(out);
            ctx.session.untouched();
        }
    }
    Ok(())
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`.
pub fn lmove(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    lmove_generic(ctx, args, out, from, to)
}

/// `RPOPLPUSH source destination`.
pub fn rpoplpush(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    lmove_generic(ctx, args, out, End::Right, End::Left)
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
pub fn lmpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (positions, end, count) = mpop_args(args, 1)?;
    let keys: Vec<&[u8]> = positions.iter().map(|&i| args.get(i)).collect();
    let notify = ctx.notifier();
    let popped = ctx.db().multi(&keys, ctx.now.unix, |m| {
        mpop_in(m, notify, &keys, end, count, out)
    })?;
    if !popped {
        encode::null_array(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    #[test]
    fn push_pop_range_and_errors() {
        let mut h = Harness::new();
        assert_eq!(h.s("RPUSH l a b c"), ":3\r\n");
        assert_eq!(h.s("LPUSH l z"), ":4\r\n");
        assert_eq!(
            h.s("LRANGE l 0 -1"),
            "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        assert_eq!(h.s("LPOP l 2"), "*2\r\n$1\r\nz\r\n$1\r\na\r\n");
        assert_eq!(h.s("RPOP l 5"), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
        assert_eq!(h.s("EXISTS l"), ":0\r\n");
        assert_eq!(h.s("LPOP l 0"), "*-1\r\n");
        assert_eq!(h.s("LPOP l"), "$-1\r\n");
        assert_eq!(
            h.s("LPOP l -1"),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            h.s("LPOP l 1 2"),
            "-ERR wrong number of arguments for 'lpop' command\r\n"
        );
        assert_eq!(h.s("LPUSHX l a"), ":0\r\n");
        assert_eq!(h.s("LSET l 0 a"), "-ERR no such key\r\n");
        assert_eq!(h.s("RPUSH l a"), ":1\r\n");
        assert_eq!(h.s("LSET l 1 a"), "-ERR index out of range\r\n");
        assert_eq!(h.s("LINDEX l -1"), "$1\r\na\r\n");
        assert_eq!(h.s("LINDEX nokey x"), "$-1\r\n");
        assert_eq!(
            h.s("LPOS l a RANK 0"),
            std::format!(
                "-{}\r\n",
                match super::RANK_ZERO {
                    crate::cmd::Error::Msg(m) => m,
                    _ => "",
                }
            )
        );
        assert_eq!(
            h.s("LMPOP 2 nokey l RIGHT COUNT 3"),
            "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"
        );
        assert_eq!(h.s("LMPOP 1 l LEFT"), "*-1\r\n");
        assert_eq!(
            h.s("LMPOP 0 l LEFT"),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(h.s("LMPOP 2 l LEFT"), "-ERR syntax error\r\n");
    }

    #[test]
    fn lmove_between_and_within_lists() {
        let mut h = Harness::new();
        h.s("RPUSH a 1 2 3");
        assert_eq!(h.s("LMOVE a a LEFT RIGHT"), "$1\r\n1\r\n");
        assert_eq!(
            h.s("LRANGE a 0 -1"),
            "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n"
        );
        assert_eq!(h.s("RPOPLPUSH a b"), "$1\r\n1\r\n");
        h.s("SET s x");
        assert_eq!(
            h.s("LMOVE a s LEFT LEFT"),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(h.s("LLEN a"), ":2\r\n");
        assert_eq!(h.s("LMOVE nokey s LEFT LEFT"), "$-1\r\n");
        assert_eq!(h.s("LMOVE a b UP LEFT"), "-ERR syntax error\r\n");
    }
}
