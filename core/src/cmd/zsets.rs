//! Sorted-set commands: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT,
//! ZRANK, ZREVRANK, ZRANGE (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES), ZREVRANGE,
//! ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZPOPMIN, ZPOPMAX,
//! ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX, and the book's ZQUERY.

use super::{arg_i64, CmdResult, Ctx, Error, Notify};
use crate::db::{Item, Value, Write};
use crate::notify::{GENERIC, ZSET};
use crate::num::fmt_double;
use crate::resp::{encode, Args};
use crate::types::zset::{Limits, ZSet};
use alloc::boxed::Box;
use alloc::vec::Vec;

const NOT_FLOAT: Error = Error::Msg("ERR value is not a valid float");
const MINMAX_NOT_FLOAT: Error = Error::Msg("ERR min or max is not a float");
const MINMAX_NOT_LEX: Error = Error::Msg("ERR min or max not valid string range item");

/// Parses a score as Redis's `string2d`: the whole string, no leading space, no NaN, no
/// overflow or underflow of a finite literal; `inf`, `+inf`, `-inf` allowed.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let (neg, body) = match s.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, s),
    };
    // strtod reads C99 hexadecimal floats too.
    if let Ok(Some((n, e))) = crate::num::parse_hex(body) {
        let v = crate::num::big_to_f64(&n, e)?;
        return Some(if neg { -v } else { v });
    }
    let text = core::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let lower = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if v.is_infinite() && lower != "inf" && lower != "infinity" {
        return None;
    }
    let mantissa = lower.split('e').next().unwrap_or("");
    if v == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return None;
    }
    Some(v)
}

pub(crate) fn score_reply(out: &mut Vec<u8>, d: f64) {
    encode::bulk(out, fmt_double(d).as_bytes());
}

/// The sorted set in `item`, or WRONGTYPE.
fn zset(item: &Item) -> Result<&ZSet, Error> {
    match &item.value {
        Value::ZSet(z) => Ok(z),
        _ => Err(Error::WrongType),
    }
}

pub(crate) fn zset_mut(item: &mut Item) -> Result<&mut ZSet, Error> {
    match &mut item.value {
        Value::ZSet(z) => Ok(z),
        _ => Err(Error::WrongType),
    }
}

/// Reads the sorted set at `key`: `Ok(None)` if missing (a `keymiss`).
fn read<R>(ctx: &Ctx<'_>, key: &[u8], f: impl FnOnce(&ZSet) -> R) -> Result<Option<R>, Error> {
    let r = ctx
        .db()
        .read(key, ctx.now.unix, |item| zset(item).map(f))
        .transpose();
    if let Ok(None) = r {
        ctx.notifier().keymiss(key);
    }
    r
}

/// A sorted-set write's event, then `del` if it emptied the set.
fn notify_change(notify: Notify<'_>, event: &str, key: &[u8], emptied: bool) {
    notify.event(ZSET, event, key);
    if emptied {
        notify.event(GENERIC, "del", key);
    }
}

fn int_reply(out: &mut Vec<u8>, n: usize) {
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`.
pub fn zadd(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        let is = |n: &[u8]| a.eq_ignore_ascii_case(n);
        if is(b"NX") {
            nx = true;
        } else if is(b"XX") {
            xx = true;
        } else if is(b"GT") {
            gt = true;
        } else if is(b"LT") {
            lt = true;
        } else if is(b"CH") {
            ch = true;
        } else if is(b"INCR") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = args.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return Err(Error::Syntax);
    }
    if nx && xx {
        return Err(Error::Msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(Error::Msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && elements > 2 {
        return Err(Error::Msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let limits = Limits::from(ctx.engine.encodings());
    let mut pairs = Vec::with_capacity(elements / 2);
    for j in (i..args.len()).step_by(2) {
        pairs.push((parse_score(args.get(j)).ok_or(NOT_FLOAT)?, args.get(j + 1)));
    }
    let r = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let mut fresh = None;
        let z: &mut ZSet = match item {
            Some(item) => match zset_mut(item) {
                Ok(z) => z,
                Err(e) => return (Write::Keep, Err(e)),
            },
            None if xx => return (Write::Keep, Ok((0, 0, None))),
            None => fresh.insert(ZSet::new()),
        };
        let (mut added, mut updated, mut last) = (0usize, 0usize, None);
        for &(score, member) in &pairs {
            match z.score(member) {
                Some(cur) => {
                    if nx {
                        continue;
                    }
                    let new = if incr { cur + score } else { score };
                    if new.is_nan() {
                        return (
                            Write::Keep,
                            Err(Error::Msg("ERR resulting score is not a number (NaN)")),
                        );
                    }
                    if (gt && new <= cur) || (lt && new >= cur) {
                        continue;
                    }
                    last = Some(new);
                    if new != cur {
                        z.insert(member, new, limits);
                        updated += 1;
                    }
                }
                None => {
                    if xx {
                        continue;
                    }
                    if score.is_nan() {
                        return (
                            Write::Keep,
                            Err(Error::Msg("ERR resulting score is not a number (NaN)")),
                        );
                    }
                    z.insert(member, score, limits);
                    added += 1;
                    last = Some(score);
                }
            }
        }
        match fresh {
            Some(z) if !z.is_empty() => (
                Write::Put(Item::new(Value::ZSet(Box::new(z)))),
                Ok((added, updated, last)),
            ),
            _ => (Write::Keep, Ok((added, updated, last))),
        }
    })?;
    let (added, updated, last) = r;
    if added + updated > 0 {
        ctx.notify(ZSET, if incr { "zincr" } else { "zadd" }, args.get(1));
    } else {
        ctx.session.untouched();
    }
    if incr {
        match last {
            Some(s) => score_reply(out, s),
            None => encode::nil(out),
        }
    } else {
        int_reply(out, if ch { added + updated } else { added });
    }
    Ok(())
}

/// `ZINCRBY key increment member`.
pub fn zincrby(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let by = parse_score(args.get(2)).ok_or(NOT_FLOAT)?;
    let member = args.get(3);
    let limits = Limits::from(ctx.engine.encodings());
    let new = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let mut fresh = None;
        let z: &mut ZSet = match item {
            Some(item) => match zset_mut(item) {
                Ok(z) => z,
                Err(e) => return (Write::Keep, Err(e)),
            },
            None => fresh.insert(ZSet::new()),
        };
        // A new member takes the increment itself (so -0 stays -0, as in Redis).
        let cur = z.score(member);
        let new = cur.map_or(by, |cur| cur + by);
        if new.is_nan() {
            return (
                Write::Keep,
                Err(Error::Msg("ERR resulting score is not a number (NaN)")),
            );
        }
        // As Redis's `zsetAdd`: an equal score (0 and -0 are equal) is not stored again,
        // so the stored zero keeps its sign; the reply is the computed score.
        let changed = cur != Some(new);
        if changed {
            z.insert(member, new, limits);
        }
        match fresh {
            Some(z) => (
                Write::Put(Item::new(Value::ZSet(Box::new(z)))),
                Ok((new, true)),
            ),
            None => (Write::Keep, Ok((new, changed))),
        }
    })?;
    let (new, changed) = new;
    if changed {
        ctx.notify(ZSET, "zincr", args.get(1));
    } else {
        ctx.session.untouched();
    }
    score_reply(out, new);
    Ok(())
}

/// Runs `f` on the sorted set at `key` for writing; removes the key if it ends empty.
/// `Ok(None)` when the key is missing; else `f`'s result and whether the key went.
fn modify<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut ZSet) -> R,
) -> Result<Option<(R, bool)>, Error> {
    ctx.db().write(key, ctx.now.unix, |item| match item {
        None => (Write::Keep, Ok(None)),
        Some(item) => match zset_mut(item) {
            Err(e) => (Write::Keep, Err(e)),
            Ok(z) => {
                let r = f(z);
                if z.is_empty() {
                    (Write::Remove, Ok(Some((r, true))))
                } else {
                    (Write::Keep, Ok(Some((r, false))))
                }
            }
        },
    })
}

/// A removal of `n` members by `event` from `key`: notified when `n > 0` (with `del` if
/// the set went), else no WATCH is touched; `n`, 0 for a missing key.
fn removed(ctx: &mut Ctx<'_>, event: &str, key: &[u8], r: Option<(usize, bool)>) -> usize {
    match r {
        Some((n, emptied)) if n > 0 => {
            notify_change(ctx.notifier(), event, key, emptied);
            n
        }
        _ => {
            ctx.session.untouched();
            0
        }
    }
}

/// `ZREM key member [member ...]`.
pub fn zrem(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = modify(ctx, args.get(1), |z| {
        args.iter()
            .skip(2)
            .filter(|m| z.remove(m).is_some())
            .count()
    })?;
    int_reply(out, removed(ctx, "zrem", args.get(1), n));
    Ok(())
}

/// `ZSCORE key member`.
pub fn zscore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    match read(ctx, args.get(1), |z| z.score(args.get(2)))?.flatten() {
        Some(s) => score_reply(out, s),
        None => encode::nil(out),
    }
    Ok(())
}

/// `ZMSCORE key member [member ...]`.
pub fn zmscore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let scores: Vec<Option<f64>> = read(ctx, args.get(1), |z| {
        args.iter().skip(2).map(|m| z.score(m)).collect()
    })?
    .unwrap_or_else(|| alloc::vec![None; args.len() - 2]);
    encode::array(out, scores.len());
    for s in scores {
        match s {
            Some(s) => score_reply(out, s),
            None => encode::nil(out),
        }
    }
    Ok(())
}

/// `ZCARD key`.
pub fn zcard(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    int_reply(out, read(ctx, args.get(1), ZSet::len)?.unwrap_or(0));
    Ok(())
}

/// A score range (`1`, `(1`, `-inf`, `+inf`).
#[derive(Clone, Copy, Debug)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

fn score_bound(s: &[u8]) -> Result<(f64, bool), Error> {
    match s.split_first() {
        Some((b'(', rest)) => Ok((parse_score(rest).ok_or(MINMAX_NOT_FLOAT)?, true)),
        _ => Ok((parse_score(s).ok_or(MINMAX_NOT_FLOAT)?, false)),
    }
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<Self, Error> {
        let (min, minex) = score_bound(min)?;
        let (max, maxex) = score_bound(max)?;
        Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        })
    }

    /// Ranks [first, end) of the members in range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let first = z.count_below_score(self.min, self.minex);
        let end = z.count_below_score(self.max, !self.maxex);
        (first, end.max(first))
    }
}

/// A lex range bound: `-`, `+`, `[a`, `(a`.
#[derive(Clone, Copy, Debug)]
enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

fn lex_bound(s: &[u8]) -> Result<Lex<'_>, Error> {
    match s.split_first() {
        Some((b'-', [])) => Ok(Lex::Min),
        Some((b'+', [])) => Ok(Lex::Max),
        Some((b'[', rest)) => Ok(Lex::Incl(rest)),
        Some((b'(', rest)) => Ok(Lex::Excl(rest)),
        _ => Err(MINMAX_NOT_LEX),
    }
}

/// Whether `m` lies before the lower bound `min` (so is out of range on that side).
fn below_min(m: &[u8], min: Lex<'_>) -> bool {
    match min {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(b) => m < b,
        Lex::Excl(b) => m <= b,
    }
}

/// Whether `m` lies within the upper bound `max`.
fn within_max(m: &[u8], max: Lex<'_>) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(b) => m <= b,
        Lex::Excl(b) => m < b,
    }
}

/// Redis's `sdscmplex` on range bounds, with `-` below and `+` above everything.
fn lex_bytes<'a>(l: Lex<'a>) -> Option<&'a [u8]> {
    match l {
        Lex::Incl(x) | Lex::Excl(x) => Some(x),
        _ => None,
    }
}

fn lex_cmp(a: Lex<'_>, b: Lex<'_>) -> core::cmp::Ordering {
    use core::cmp::Ordering::*;
    let bytes = lex_bytes;
    match (a, b) {
        (Lex::Min, Lex::Min) | (Lex::Max, Lex::Max) => Equal,
        (Lex::Min, _) | (_, Lex::Max) => Less,
        (Lex::Max, _) | (_, Lex::Min) => Greater,
        _ => bytes(a).cmp(&bytes(b)),
    }
}

/// The ranks [first, end) that a lex range selects, walking in the direction `rev`.
///
/// Lex ranges are meant for sets whose scores are all equal. On small sets the members are
/// scanned as Redis scans its listpack (so mixed scores give Redis's answers): the range
/// must be non-empty, the last member must be >= min and the first <= max; forward, the run
/// starts at the first member >= min and goes on while members are <= max; backwards, it
/// starts at the last member <= max and goes on while members are >= min. Big sets use
/// binary search over the order, which is the same whenever the scores are equal.
fn lex_ranks(z: &ZSet, min: Lex<'_>, max: Lex<'_>, rev: bool) -> (usize, usize) {
    let gte_min = |m: &[u8]| !below_min(m, min);
    let lte_max = |m: &[u8]| within_max(m, max);
    if !z.is_small() {
        let first = z.count_prefix(|_, m| below_min(m, min));
        let end = z.count_prefix(|_, m| within_max(m, max));
        return (first, end.max(first));
    }
    let cmp = lex_cmp(min, max);
    let excl = matches!(min, Lex::Excl(_)) || matches!(max, Lex::Excl(_));
    let n = z.len();
    let member = |k: usize| z.get(k).map_or(&[][..], |(_, m)| m);
    if cmp == core::cmp::Ordering::Greater
        || (cmp == core::cmp::Ordering::Equal && excl)
        || n == 0
        || !gte_min(member(n - 1))
        || !lte_max(member(0))
    {
        return (0, 0);
    }
    if rev {
        let Some(last) = (0..n).rev().find(|&k| lte_max(member(k))) else {
            return (0, 0);
        };
        let mut first = last + 1;
        while first > 0 && gte_min(member(first - 1)) {
            first -= 1;
        }
        (first, last + 1)
    } else {
        let Some(first) = (0..n).find(|&k| gte_min(member(k))) else {
            return (0, 0);
        };
        let mut end = first;
        while end < n && lte_max(member(end)) {
            end += 1;
        }
        (first, end)
    }
}

/// The ranks a lex range with LIMIT selects, walked as Redis walks its listpack: from the
/// first member in range (the last, backwards), skip `offset` members without looking at
/// them, then take members while they are within the far bound, at most `limit` (negative:
/// no limit). A negative offset selects nothing.
fn lex_walk(
    z: &ZSet,
    min: Lex<'_>,
    max: Lex<'_>,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<usize> {
    let (a, b) = lex_ranks(z, min, max, rev);
    if a == b || offset < 0 {
        return Vec::new();
    }
    let n = z.len() as i64;
    let step = if rev { -1 } else { 1 };
    let mut pos = if rev { b as i64 - 1 } else { a as i64 };
    pos += step * offset;
    let mut out = Vec::new();
    while (0..n).contains(&pos) && (limit < 0 || (out.len() as i64) < limit) {
        let k = pos as usize;
        let m = z.get(k).map_or(&[][..], |(_, m)| m);
        let inside = if rev {
            !below_min(m, min)
        } else {
            within_max(m, max)
        };
        if !inside {
            break;
        }
        out.push(k);
        pos += step;
    }
    out
}

/// `ZCOUNT key min max`.
pub fn zcount(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let range = ScoreRange::parse(args.get(2), args.get(3))?;
    let n = read(ctx, args.get(1), |z| {
        let (a, b) = range.ranks(z);
        b - a
    })?;
    int_reply(out, n.unwrap_or(0));
    Ok(())
}

/// `ZLEXCOUNT key min max`.
pub fn zlexcount(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (min, max) = (lex_bound(args.get(2))?, lex_bound(args.get(3))?);
    let n = read(ctx, args.get(1), |z| {
        let (a, b) = lex_ranks(z, min, max, false);
        b - a
    })?;
    int_reply(out, n.unwrap_or(0));
    Ok(())
}

fn rank_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, rev: bool) -> CmdResult {
    let r = read(ctx, args.get(1), |z| {
        z.rank(args.get(2))
            .map(|r| if rev { z.len() - 1 - r } else { r })
    })?;
    match r.flatten() {
        Some(r) => int_reply(out, r),
        None => encode::nil(out),
    }
    Ok(())
}

/// `ZRANK key member`.
pub fn zrank(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    rank_generic(ctx, args, out, false)
}

/// `ZREVRANK key member`.
pub fn zrevrank(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    rank_generic(ctx, args, out, true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Redis's rank range rule: negative indexes from the end, clamped; `None` when empty.
fn rank_span(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let mut s = if start < 0 { n + start } else { start };
    let mut e = if end < 0 { n + end } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= n {
        return None;
    }
    if e >= n {
        e = n - 1;
    }
    Some((s as usize, e as usize + 1))
}

/// Selects ranks [a, b) of `z` in the given direction, after skipping `offset` and taking
/// at most `limit` (negative: all); a negative offset selects nothing (as Redis).
fn windowed(a: usize, b: usize, rev: bool, offset: i64, limit: i64) -> Vec<usize> {
    if offset < 0 {
        return Vec::new();
    }
    let all: usize = b - a;
    let skip = usize::try_from(offset).unwrap_or(usize::MAX).min(all);
    let take = if limit < 0 {
        all
    } else {
        usize::try_from(limit).unwrap_or(usize::MAX)
    };
    let n = take.min(all - skip);
    (0..n)
        .map(|k| if rev { b - 1 - skip - k } else { a + skip + k })
        .collect()
}

/// The shared engine of ZRANGE and its legacy forms. `first` is the index of the min (or
/// start) argument; options follow the two range arguments.
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    mut kind: RangeType,
    mut rev: bool,
    first: usize,
    store: bool,
) -> CmdResult {
    let preset_kind = kind != RangeType::Auto;
    let preset_rev = rev;
    let (mut withscores, mut offset, mut limit, mut has_limit) = (false, 0i64, -1i64, false);
    let mut j = first + 2;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j - 1;
        let is = |n: &[u8]| a.eq_ignore_ascii_case(n);
        if !store && is(b"WITHSCORES") {
            withscores = true;
        } else if is(b"LIMIT") && left >= 2 {
            offset = arg_i64(args.get(j + 1))?;
            limit = arg_i64(args.get(j + 2))?;
            // As Redis: only a count other than -1 makes LIMIT "given" for the check below.
            has_limit = limit != -1;
            j += 2;
        } else if !preset_kind && !preset_rev && !rev && is(b"REV") {
            // Only ZRANGE and ZRANGESTORE take REV, once (Redis's direction "auto").
            rev = true;
        } else if !preset_kind && kind == RangeType::Auto && is(b"BYLEX") {
            kind = RangeType::Lex;
        } else if !preset_kind && kind == RangeType::Auto && is(b"BYSCORE") {
            kind = RangeType::Score;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    if kind == RangeType::Auto {
        kind = RangeType::Rank;
    }
    if has_limit && kind == RangeType::Rank {
        return Err(Error::Msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeType::Lex {
        return Err(Error::Msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (lo, hi) = if rev && kind != RangeType::Rank {
        (args.get(first + 1), args.get(first))
    } else {
        (args.get(first), args.get(first + 1))
    };
    enum Spec<'a> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(Lex<'a>, Lex<'a>),
    }
    let spec = match kind {
        RangeType::Score => Spec::Score(ScoreRange::parse(lo, hi)?),
        RangeType::Lex => Spec::Lex(lex_bound(lo)?, lex_bound(hi)?),
        _ => Spec::Rank(arg_i64(lo)?, arg_i64(hi)?),
    };
    let select = |z: &ZSet| -> Vec<usize> {
        match &spec {
            Spec::Rank(s, e) => match rank_span(z.len(), *s, *e) {
                None => Vec::new(),
                // Reverse ranks count from the end: [a, b) there is [n-b, n-a) here, backwards.
                Some((a, b)) if rev => windowed(z.len() - b, z.len() - a, true, 0, -1),
                Some((a, b)) => windowed(a, b, false, 0, -1),
            },
            Spec::Score(r) => {
                let (a, b) = r.ranks(z);
                windowed(a, b, rev, offset, limit)
            }
            Spec::Lex(min, max) => lex_walk(z, *min, *max, rev, offset, limit),
        }
    };
    if store {
        // ZRANGESTORE dst src ...: both keys locked together.
        let (dst, src) = (args.get(1), args.get(2));
        let limits = Limits::from(ctx.engine.encodings());
        let notify = ctx.notifier();
        let n = ctx.db().multi(&[dst, src], ctx.now.unix, |m| {
            let picked = match m.read(src, |item| -> Result<ZSet, Error> {
                let z = zset(item)?;
                let ranks = select(z);
                // Redis starts the result big when it knows its length (a rank range)
                // and that length is over the threshold; score and lex ranges start small.
                let known_big = matches!(spec, Spec::Rank(..)) && ranks.len() > limits.entries;
                let mut result = if known_big {
                    ZSet::new_unpacked()
                } else {
                    ZSet::new()
                };
                for k in ranks {
                    if let Some((score, member)) = z.get(k) {
                        result.insert(member, score, limits);
                    }
                }
                Ok(result)
            }) {
                None => {
                    notify.keymiss(src);
                    ZSet::new()
                }
                Some(r) => r?,
            };
            Ok(store_result(m, notify, "zrangestore", dst, picked))
        })?;
        int_reply(out, n);
        return Ok(());
    }
    let found = read(ctx, args.get(first - 1), |z| {
        let ranks = select(z);
        encode::array(out, ranks.len() * if withscores { 2 } else { 1 });
        for k in ranks {
            if let Some((score, member)) = z.get(k) {
                encode::bulk(out, member);
                if withscores {
                    score_reply(out, score);
                }
            }
        }
    })?;
    if found.is_none() {
        encode::array(out, 0);
    }
    Ok(())
}

/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`.
pub fn zrange(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Auto, false, 2, false)
}

/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`: the
/// number of members stored (an empty result deletes `dst`).
pub fn zrangestore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Auto, false, 3, true)
}

/// Stores `z` at `dst` (replacing whatever was there; an empty set deletes `dst`) and
/// returns its size. Notifies `event` for a stored set, `del` for a deleted `dst`.
fn store_result(
    m: &mut crate::db::Multi<'_>,
    notify: Notify<'_>,
    event: &str,
    dst: &[u8],
    z: ZSet,
) -> usize {
    let n = z.len();
    if n > 0 {
        m.put(dst, Item::new(Value::ZSet(Box::new(z))));
        notify.event(ZSET, event, dst);
    } else if m.delete(dst) {
        notify.event(GENERIC, "del", dst);
    }
    n
}

/// `ZREVRANGE key start stop [WITHSCORES]`.
pub fn zrevrange(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Rank, true, 2, false)
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`.
pub fn zrangebyscore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Score, false, 2, false)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`.
pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Score, true, 2, false)
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`.
pub fn zrangebylex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Lex, false, 2, false)
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`.
pub fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    zrange_generic(ctx, args, out, RangeType::Lex, true, 2, false)
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = if args.len() == 3 {
        // Redis's getPositiveLongFromObjectOrReply: one message for both failures.
        match arg_i64(args.get(2)) {
            Ok(c) if c >= 0 => usize::try_from(c).unwrap_or(usize::MAX),
            _ => return Err(Error::Msg("ERR value is out of range, must be positive")),
        }
    } else {
        1
    };
    let popped = modify(ctx, args.get(1), |z| pop_items(z, max, count))?;
    let popped = match popped {
        Some((v, emptied)) if !v.is_empty() => {
            let event = if max { "zpopmax" } else { "zpopmin" };
            notify_change(ctx.notifier(), event, args.get(1), emptied);
            v
        }
        _ => Vec::new(),
    };
    encode::array(out, popped.len() * 2);
    for (member, score) in popped {
        encode::bulk(out, &member);
        score_reply(out, score);
    }
    Ok(())
}

/// `ZPOPMIN key [count]`.
pub fn zpopmin(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop_generic(ctx, args, out, false)
}

/// `ZPOPMAX key [count]`.
pub fn zpopmax(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    pop_generic(ctx, args, out, true)
}

/// Removes ranks [a, b) of `z`; returns how many.
fn remove_ranks(z: &mut ZSet, a: usize, b: usize) -> usize {
    let members: Vec<Vec<u8>> = (a..b)
        .filter_map(|k| z.get(k).map(|(_, m)| m.to_vec()))
        .collect();
    for m in &members {
        z.remove(m);
    }
    members.len()
}

/// `ZREMRANGEBYRANK key start stop`.
pub fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (s, e) = (arg_i64(args.get(2))?, arg_i64(args.get(3))?);
    let n = modify(ctx, args.get(1), |z| match rank_span(z.len(), s, e) {
        Some((a, b)) => remove_ranks(z, a, b),
        None => 0,
    })?;
    int_reply(out, removed(ctx, "zremrangebyrank", args.get(1), n));
    Ok(())
}

/// `ZREMRANGEBYSCORE key min max`.
pub fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let range = ScoreRange::parse(args.get(2), args.get(3))?;
    let n = modify(ctx, args.get(1), |z| {
        let (a, b) = range.ranks(z);
        remove_ranks(z, a, b)
    })?;
    int_reply(out, removed(ctx, "zremrangebyscore", args.get(1), n));
    Ok(())
}

/// `ZREMRANGEBYLEX key min max`.
pub fn zremrangebylex(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (min, max) = (lex_bound(args.get(2))?, lex_bound(args.get(3))?);
    let n = modify(ctx, args.get(1), |z| {
        let (a, b) = lex_ranks(z, min, max, false);
        remove_ranks(z, a, b)
    })?;
    int_reply(out, removed(ctx, "zremrangebylex", args.get(1), n));
    Ok(())
}

/// `ZQUERY key score name offset limit` ("Build Your Own Redis"): seek the first
/// (score, name) >= the given pair, move `offset` places by rank (negative allowed), then
/// answer whole (name, score) pairs: a pair is emitted while the items emitted so far
/// (two per pair) are below `limit`, as the book's code does. Missing key, no such pair, a position outside the set, or `limit <= 0`
/// give an empty array. Rank moves are O(log n).
pub fn zquery(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let score = parse_score(args.get(2)).ok_or(NOT_FLOAT)?;
    let name = args.get(3);
    let offset = arg_i64(args.get(4))?;
    let limit = arg_i64(args.get(5))?;
    let found = read(ctx, args.get(1), |z| {
        let start = z.count_below(score, name);
        let pos = i64::try_from(start).unwrap_or(i64::MAX).checked_add(offset);
        let len = i64::try_from(z.len()).unwrap_or(i64::MAX);
        let mut items: Vec<(f64, &[u8])> = Vec::new();
        if let (true, Some(pos)) = (start < z.len() && limit > 0, pos) {
            if (0..len).contains(&pos) {
                let pairs = usize::try_from((limit + 1) / 2).unwrap_or(usize::MAX);
                let mut k = pos as usize;
                while items.len() < pairs {
                    let Some(e) = z.get(k) else { break };
                    items.push(e);
                    k += 1;
                }
            }
        }
        // Whole pairs only: a pair is emitted while the items emitted so far (2 per pair)
        // are below `limit`, so `limit` 1 or 2 gives one pair, 3 or 4 two, 7 four.
        encode::array(out, items.len() * 2);
        for (s, m) in items {
            encode::bulk(out, m);
            score_reply(out, s);
        }
    })?;
    if found.is_none() {
        encode::array(out, 0);
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`: a sum that is NaN (inf + -inf) becomes 0.
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => *target = target.min(val),
            Aggregate::Max => *target = target.max(val),
        }
    }
}

/// ZUNION, ZINTER, ZDIFF and their STORE forms (Redis's `zunionInterDiffGenericCommand`).
fn setop(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    op: SetOp,
    store: bool,
) -> CmdResult {
    let name = match (op, store) {
        (SetOp::Union, false) => "zunion",
        (SetOp::Union, true) => "zunionstore",
        (SetOp::Inter, false) => "zinter",
        (SetOp::Inter, true) => "zinterstore",
        (SetOp::Diff, false) => "zdiff",
        (SetOp::Diff, true) => "zdiffstore",
    };
    let numkeys_at = if store { 2 } else { 1 };
    let numkeys = arg_i64(args.get(numkeys_at))?;
    if numkeys < 1 {
        out.extend_from_slice(b"-ERR at least 1 input key is needed for '");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"' command\r\n");
        return Ok(());
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - numkeys_at - 1 {
        return Err(Error::Syntax);
    }
    let keys: Vec<&[u8]> = (0..numkeys).map(|i| args.get(numkeys_at + 1 + i)).collect();
    let limits = Limits::from(ctx.engine.encodings());
    let mut all_keys = keys.clone();
    let dst = store.then(|| args.get(1));
    if let Some(d) = dst {
        all_keys.push(d);
    }
    let notify = ctx.notifier();
    ctx.db().multi(&all_keys, ctx.now.unix, |m| {
        // Input keys first: a key of another type is WRONGTYPE before any option error.
        let mut sets: Vec<(Option<ZSet>, f64)> = Vec::with_capacity(keys.len());
        for k in &keys {
            let z = match m.get(k) {
                None => {
                    notify.keymiss(k);
                    None
                }
                Some(item) => match item.value {
                    Value::ZSet(z) => Some(*z),
                    // Plain sets take part with every score 1, as in Redis.
                    Value::Set(s) => {
                        let mut z = ZSet::new_unpacked();
                        s.for_each(|m| {
                            z.insert(m, 1.0, crate::types::zset::Limits::DEFAULT);
                        });
                        Some(z)
                    }
                    _ => return Err(Error::WrongType),
                },
            };
            sets.push((z, 1.0));
        }
        let (mut aggregate, mut withscores) = (Aggregate::Sum, false);
        let mut j = numkeys_at + 1 + numkeys;
        while j < args.len() {
            let remaining = args.len() - j;
            let a = args.get(j);
            if op != SetOp::Diff && remaining > numkeys && a.eq_ignore_ascii_case(b"WEIGHTS") {
                for (i, set) in sets.iter_mut().enumerate() {
                    set.1 = parse_score(args.get(j + 1 + i))
                        .ok_or(Error::Msg("ERR weight value is not a float"))?;
                }
                j += 1 + numkeys;
            } else if op != SetOp::Diff && remaining >= 2 && a.eq_ignore_ascii_case(b"AGGREGATE") {
                let v = args.get(j + 1);
                aggregate = if v.eq_ignore_ascii_case(b"SUM") {
                    Aggregate::Sum
                } else if v.eq_ignore_ascii_case(b"MIN") {
                    Aggregate::Min
                } else if v.eq_ignore_ascii_case(b"MAX") {
                    Aggregate::Max
                } else {
                    return Err(Error::Syntax);
                };
                j += 2;
            } else if !store && a.eq_ignore_ascii_case(b"WITHSCORES") {
                withscores = true;
                j += 1;
            } else {
                return Err(Error::Syntax);
            }
        }
        let weighted = |score: f64, w: f64| {
            let v = score * w;
            if v.is_nan() {
                0.0
            } else {
                v
            }
        };
        let mut result = ZSet::new_unpacked();
        match op {
            SetOp::Union => {
                for (z, w) in &sets {
                    let Some(z) = z else { continue };
                    for k in 0..z.len() {
                        let Some((score, member)) = z.get(k) else {
                            continue;
                        };
                        let v = weighted(score, *w);
                        match result.score(member) {
                            Some(mut cur) => {
                                aggregate.apply(&mut cur, v);
                                result.insert(member, cur, Limits::DEFAULT);
                            }
                            None => {
                                result.insert(member, v, Limits::DEFAULT);
                            }
                        }
                    }
                }
            }
            SetOp::Inter => {
                let present: Vec<(&ZSet, f64)> = sets
                    .iter()
                    .filter_map(|(z, w)| z.as_ref().map(|z| (z, *w)))
                    .collect();
                if present.len() == sets.len() {
                    // Walk the smallest set, as Redis does.
                    let len = |i: usize| present.get(i).map_or(0, |(z, _)| z.len());
                    let order = super::stable_order(present.len(), &mut |a, b| len(a).cmp(&len(b)));
                    let present: Vec<(&ZSet, f64)> = order
                        .iter()
                        .filter_map(|&i| present.get(i).copied())
                        .collect();
                    if let Some(((base, w0), rest)) = present.split_first() {
                        'members: for k in 0..base.len() {
                            let Some((score, member)) = base.get(k) else {
                                continue;
                            };
                            let mut acc = weighted(score, *w0);
                            for (z, w) in rest {
                                // Only the first value is NaN-checked; a NaN sum becomes 0
                                // in `apply` (Redis's zinter loop).
                                match z.score(member) {
                                    Some(s) => aggregate.apply(&mut acc, s * *w),
                                    None => continue 'members,
                                }
                            }
                            result.insert(member, acc, Limits::DEFAULT);
                        }
                    }
                }
            }
            SetOp::Diff => {
                if let Some((Some(base), _)) = sets.first() {
                    for k in 0..base.len() {
                        let Some((score, member)) = base.get(k) else {
                            continue;
                        };
                        let elsewhere = sets
                            .iter()
                            .skip(1)
                            .any(|(z, _)| z.as_ref().is_some_and(|z| z.score(member).is_some()));
                        if !elsewhere {
                            result.insert(member, score, Limits::DEFAULT);
                        }
                    }
                }
            }
        }
        match dst {
            Some(d) => {
                let n = store_result(m, notify, name, d, result.repacked(limits));
                int_reply(out, n);
            }
            None => {
                encode::array(out, result.len() * if withscores { 2 } else { 1 });
                for k in 0..result.len() {
                    if let Some((score, member)) = result.get(k) {
                        encode::bulk(out, member);
                        if withscores {
                            score_reply(out, score);
                        }
                    }
                }
            }
        }
        Ok(())
    })
}

/// `ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
pub fn zunion(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, args, out, SetOp::Union, false)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
pub fn zinter(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, args, out, SetOp::Inter, false)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`.
pub fn zdiff(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, args, out, SetOp::Diff, false)
}

/// `ZUNIONSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`.
pub fn zunionstore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, args, out, SetOp::Union, true)
}

/// `ZINTERSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`.
pub fn zinterstore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, args, out, SetOp::Inter, true)
}

/// `ZDIFFSTORE dst numkeys key [key ...]`.
pub fn zdiffstore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, args, out, SetOp::Diff, true)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`: a positive count gives distinct members (the
/// whole set, in order, when count >= its size), a negative one may repeat.
pub fn zrandmember(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() > 4 || (args.len() == 4 && !args.get(3).eq_ignore_ascii_case(b"WITHSCORES")) {
        return Err(Error::Syntax);
    }
    let count = if args.len() >= 3 {
        let c = arg_i64(args.get(2))?;
        if c == i64::MIN {
            return Err(Error::Msg(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        Some(c)
    } else {
        None
    };
    let withscores = args.len() == 4;
    // Redis refuses a negative count whose reply (two items a pick) would overflow.
    if withscores && count.is_some_and(|c| c < -(i64::MAX / 2)) {
        return Err(Error::Msg("ERR value is out of range"));
    }
    let mut r = ctx.session.next_random();
    let mut next = move || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    let found = read(ctx, args.get(1), |z| {
        let n = z.len();
        let picks: Vec<usize> = match count {
            None => (n > 0)
                .then(|| (next() % n as u64) as usize)
                .into_iter()
                .collect(),
            // The whole set, highest first: Redis walks sorted sets from the end here.
            Some(c) if c >= 0 && c as u64 >= n as u64 => (0..n).rev().collect(),
            Some(c) if c >= 0 => {
                // Distinct members: a partial shuffle of the ranks.
                let mut ranks: Vec<usize> = (0..n).collect();
                let c = c as usize;
                for i in 0..c {
                    let j = i + (next() % (n - i) as u64) as usize;
                    ranks.swap(i, j);
                }
                ranks.truncate(c);
                ranks
            }
            Some(c) => (0..c.unsigned_abs().min(1 << 20))
                .filter(|_| n > 0)
                .map(|_| (next() % n as u64) as usize)
                .collect(),
        };
        if count.is_none() {
            match picks.first().and_then(|&k| z.get(k)) {
                Some((_, m)) => encode::bulk(out, m),
                None => encode::nil(out),
            }
            return;
        }
        encode::array(out, picks.len() * if withscores { 2 } else { 1 });
        for k in picks {
            if let Some((score, member)) = z.get(k) {
                encode::bulk(out, member);
                if withscores {
                    score_reply(out, score);
                }
            }
        }
    })?;
    if found.is_none() {
        match count {
            None => encode::nil(out),
            Some(_) => encode::array(out, 0),
        }
    }
    Ok(())
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`. A small (listpack) set answers whole
/// with cursor 0, as Redis does whatever COUNT says. A big set is walked in the order of
/// its members' hashes ([`ZSet::scan`]): each step answers about COUNT members (a hint, as
/// in Redis) from the cursor on, and the cursor is the next hash, so every member present
/// for the whole scan is returned at least once however the set grows or shrinks in
/// between. MATCH filters the members a step picked (so a step may answer fewer).
pub fn zscan(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let cursor =
        super::keyspace::parse_cursor(args.get(2)).ok_or(Error::Msg("ERR invalid cursor"))?;
    // As Redis: the key is looked up before the options are read, so a missing key answers
    // an empty scan and a key of another type WRONGTYPE, whatever the options say.
    let opts = super::keyspace::scan_options(args, 3);
    let found = read(ctx, args.get(1), |z| {
        let (pattern, count) = opts?;
        let mut body = Vec::new();
        let mut n = 0;
        let mut emit = |score: f64, member: &[u8]| {
            if pattern.is_none_or(|p| crate::glob::matches(p, member, false)) {
                encode::bulk(&mut body, member);
                score_reply(&mut body, score);
                n += 2;
            }
        };
        let next = if z.is_small() {
            for k in 0..z.len() {
                if let Some((score, member)) = z.get(k) {
                    emit(score, member);
                }
            }
            0
        } else {
            z.scan(cursor, count, |score, member| emit(score, member))
        };
        Ok((next, n, body))
    })?;
    let (next, n, body) = match found {
        None => (0, 0, Vec::new()),
        Some(r) => r?,
    };
    super::keyspace::scan_reply(out, next, n, &body);
    Ok(())
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the intersection,
/// counting stops at `limit` (0: no limit). Sets count as sorted sets of score 1, as in
/// Redis. All keys are read under one lock.
pub fn zintercard(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let numkeys = arg_i64(args.get(1))?;
    if numkeys < 1 {
        return Err(Error::Msg(
            "ERR at least 1 input key is needed for 'zintercard' command",
        ));
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - 2 {
        return Err(Error::Syntax);
    }
    let keys: Vec<&[u8]> = (0..numkeys).map(|i| args.get(2 + i)).collect();
    let notify = ctx.notifier();
    let n = ctx.db().multi(&keys, ctx.now.unix, |m| {
        enum Src {
            Z(ZSet),
            S(crate::types::set::Set),
        }
        impl Src {
            fn len(&self) -> usize {
                match self {
                    Src::Z(z) => z.len(),
                    Src::S(s) => s.len(),
                }
            }
            fn contains(&self, member: &[u8]) -> bool {
                match self {
                    Src::Z(z) => z.score(member).is_some(),
                    Src::S(s) => s.contains(member),
                }
            }
        }
        // Key types first: WRONGTYPE comes before any option error.
        let mut srcs: Vec<Option<Src>> = Vec::with_capacity(keys.len());
        for k in &keys {
            srcs.push(match m.get(k) {
                None => {
                    notify.keymiss(k);
                    None
                }
                Some(item) => match item.value {
                    Value::ZSet(z) => Some(Src::Z(*z)),
                    Value::Set(s) => Some(Src::S(*s)),
                    _ => return Err(Error::WrongType),
                },
            });
        }
        let mut limit = 0usize;
        let mut j = 2 + numkeys;
        while j < args.len() {
            if args.len() - j >= 2 && args.get(j).eq_ignore_ascii_case(b"LIMIT") {
                limit = match arg_i64(args.get(j + 1)) {
                    Ok(l) if l >= 0 => usize::try_from(l).unwrap_or(usize::MAX),
                    _ => return Err(Error::Msg("ERR LIMIT can't be negative")),
                };
                j += 2;
            } else {
                return Err(Error::Syntax);
            }
        }
        let mut present: Vec<&Src> = Vec::with_capacity(srcs.len());
        for s in &srcs {
            match s {
                Some(s) => present.push(s),
                None => return Ok(0),
            }
        }
        let len = |i: usize| present.get(i).map_or(0, |s| s.len());
        let order = super::stable_order(present.len(), &mut |a, b| len(a).cmp(&len(b)));
        let present: Vec<&Src> = order
            .iter()
            .filter_map(|&i| present.get(i).copied())
            .collect();
        let Some((base, rest)) = present.split_first() else {
            return Ok(0);
        };
        let mut card = 0usize;
        let mut check = |member: &[u8]| {
            if (limit == 0 || card < limit) && rest.iter().all(|s| s.contains(member)) {
                card += 1;
            }
        };
        match base {
            Src::Z(z) => {
                for k in 0..z.len() {
                    if let Some((_, member)) = z.get(k) {
                        check(member);
                    }
                }
            }
            Src::S(s) => s.for_each(|member| check(member)),
        }
        Ok(card)
    })?;
    int_reply(out, n);
    Ok(())
}

/// `ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]`: pops up to `count` members from
/// the first key that holds a sorted set and answers `[key, [[member, score], ...]]`, or a
/// null array when no key does. Keys are looked at in order under one lock; a key of
/// another type met before a sorted set is WRONGTYPE.
pub fn zmpop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (numkeys, max, count) = mpop_args(args, 1)?;
    let keys: Vec<&[u8]> = (0..numkeys).map(|i| args.get(2 + i)).collect();
    let notify = ctx.notifier();
    let popped = ctx.db().multi(&keys, ctx.now.unix, |m| {
        for k in &keys {
            let r = m.write(k, |item| {
                let Some(item) = item else {
                    return (Write::Keep, Ok(None));
                };
                let z = match zset_mut(item) {
                    Ok(z) => z,
                    Err(e) => return (Write::Keep, Err(e)),
                };
                let v = pop_items(z, max, count);
                if z.is_empty() {
                    (Write::Remove, Ok(Some((v, true))))
                } else {
                    (Write::Keep, Ok(Some((v, false))))
                }
            });
            if let Some((v, emptied)) = r.transpose()?.flatten() {
                let event = if max { "zpopmax" } else { "zpopmin" };
                notify_change(notify, event, k, emptied);
                return Ok(Some((*k, v)));
            }
        }
        Ok(None)
    })?;
    match popped {
        None => encode::null_array(out),
        Some((key, v)) => mpop_reply(out, key, &v),
    }
    Ok(())
}

/// Parses `numkeys key... MIN|MAX [COUNT count]` with `numkeys` at argument `at` (ZMPOP: 1,
/// BZMPOP: 2, after its timeout): (numkeys, MAX?, count), with Redis's errors.
pub(crate) fn mpop_args(args: &Args<'_>, at: usize) -> Result<(usize, bool, usize), Error> {
    let numkeys = match arg_i64(args.get(at)) {
        Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return Err(Error::Msg("ERR numkeys should be greater than 0")),
    };
    if numkeys > args.len().saturating_sub(at + 2) {
        return Err(Error::Syntax);
    }
    let where_at = at + 1 + numkeys;
    let w = args.get(where_at);
    let max = if w.eq_ignore_ascii_case(b"MIN") {
        false
    } else if w.eq_ignore_ascii_case(b"MAX") {
        true
    } else {
        return Err(Error::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && j + 1 < args.len() && args.get(j).eq_ignore_ascii_case(b"COUNT") {
            count = match arg_i64(args.get(j + 1)) {
                Ok(c) if c >= 1 => Some(usize::try_from(c).unwrap_or(usize::MAX)),
                _ => return Err(Error::Msg("ERR count should be greater than 0")),
            };
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok((numkeys, max, count.unwrap_or(1)))
}

/// Pops up to `count` members from the low end of `z` (the high end if `max`): (member,
/// score) pairs in pop order.
pub(crate) fn pop_items(z: &mut ZSet, max: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
    let mut v = Vec::new();
    while v.len() < count && !z.is_empty() {
        let at = if max { z.len() - 1 } else { 0 };
        let Some((score, member)) = z.get(at).map(|(s, m)| (s, m.to_vec())) else {
            break;
        };
        z.remove(&member);
        v.push((member, score));
    }
    v
}

/// ZMPOP's and BZMPOP's reply: `[key, [[member, score]...]]`.
pub(crate) fn mpop_reply(out: &mut Vec<u8>, key: &[u8], v: &[(Vec<u8>, f64)]) {
    encode::array(out, 2);
    encode::bulk(out, key);
    encode::array(out, v.len());
    for (member, score) in v {
        encode::array(out, 2);
        encode::bulk(out, member);
        score_reply(out, *score);
    }
}

#[cfg(test)]
mod tests {
    use crate::cmd::testing::Harness;

    fn setup() -> Harness {
        let mut h = Harness::new();
        // Ties on score 1 (ordered by name), then 2, 3.
        assert_eq!(h.s("ZADD z 1 b 1 a 2 c 3 d 1 e"), ":5\r\n");
        h
    }

    #[test]
    fn zquery_offsets_limits_ties_and_missing_keys() {
        let mut h = setup();
        // Order: (1,a) (1,b) (1,e) (2,c) (3,d).
        assert_eq!(
            h.s("ZQUERY z 1 b 0 4"),
            "*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\ne\r\n$1\r\n1\r\n"
        );
        // Whole pairs: an odd limit rounds up to the next pair (2 items per pair).
        assert_eq!(
            h.s("ZQUERY z 1 b 0 3"),
            "*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\ne\r\n$1\r\n1\r\n"
        );
        assert_eq!(h.s("ZQUERY z 1 b 0 1"), "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
        assert_eq!(h.s("ZQUERY z 1 b 0 2"), "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
        // limit 7: four pairs (8 items).
        assert_eq!(
            h.s("ZQUERY z 1 a 0 7"),
            "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n2\r\n"
        );
        // Seek between entries: (1, "bb") lands on (1, e).
        assert_eq!(h.s("ZQUERY z 1 bb 0 2"), "*2\r\n$1\r\ne\r\n$1\r\n1\r\n");
        // Negative offset moves back by rank.
        assert_eq!(h.s("ZQUERY z 2 c -2 2"), "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
        assert_eq!(h.s("ZQUERY z 2 c -3 2"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        // Before the first or past the last: empty.
        assert_eq!(h.s("ZQUERY z 2 c -4 2"), "*0\r\n");
        assert_eq!(h.s("ZQUERY z 1 a 5 2"), "*0\r\n");
        assert_eq!(h.s("ZQUERY z 1 a 4 10"), "*2\r\n$1\r\nd\r\n$1\r\n3\r\n");
        // Nothing >= the pair: empty whatever the offset.
        assert_eq!(h.s("ZQUERY z 3 e -2 10"), "*0\r\n");
        assert_eq!(h.s("ZQUERY z 1 a 0 0"), "*0\r\n");
        assert_eq!(h.s("ZQUERY z 1 a 0 -5"), "*0\r\n");
        assert_eq!(h.s("ZQUERY missing 1 a 0 10"), "*0\r\n");
        assert_eq!(
            h.s("ZQUERY z x a 0 10"),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            h.s("ZQUERY z 1 a x 10"),
            "-ERR value is not an integer or out of range\r\n"
        );
        h.run("SET s v");
        assert!(h.s("ZQUERY s 1 a 0 10").starts_with("-WRONGTYPE"));
        // Scores print as ZSCORE prints them.
        h.run("ZADD f 1.1 x");
        assert_eq!(
            h.s("ZQUERY f 0 a 0 2"),
            "*2\r\n$1\r\nx\r\n$18\r\n1.1000000000000001\r\n"
        );
    }

    #[test]
    fn zquery_rank_moves_work_on_big_sets() {
        let mut h = Harness::new();
        for chunk in 0..10 {
            let mut line = std::string::String::from("ZADD big");
            for i in 0..100 {
                let n = chunk * 100 + i;
                line.push_str(&std::format!(" {n} m{n:04}"));
            }
            h.run(&line);
        }
        assert_eq!(h.s("OBJECT ENCODING big"), "$8\r\nskiplist\r\n");
        assert_eq!(
            h.s("ZQUERY big 500 m0500 -250 2"),
            "*2\r\n$5\r\nm0250\r\n$3\r\n250\r\n"
        );
        assert_eq!(
            h.s("ZQUERY big 500 m0500 499 2"),
            "*2\r\n$5\r\nm0999\r\n$3\r\n999\r\n"
        );
        assert_eq!(h.s("ZQUERY big 500 m0500 500 2"), "*0\r\n");
        assert_eq!(h.s("ZRANK big m0700"), ":700\r\n");
    }

    #[test]
    fn emptied_sets_are_deleted() {
        let mut h = setup();
        assert_eq!(h.s("ZREM z a b c d e"), ":5\r\n");
        assert_eq!(h.s("EXISTS z"), ":0\r\n");
        h.run("ZADD p 1 x");
        assert_eq!(h.s("ZPOPMIN p"), "*2\r\n$1\r\nx\r\n$1\r\n1\r\n");
        assert_eq!(h.s("TYPE p"), "+none\r\n");
    }
}
