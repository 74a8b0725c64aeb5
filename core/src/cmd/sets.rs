//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE,
//! SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
//!
//! Storage is [`crate::types::set::Set`] (intset or hashtable, as Redis 7.0). Replies follow
//! Redis's orders where Redis defines one: a set's own order for SMEMBERS, SSCAN and
//! SRANDMEMBER with a count at least the set's size; the order of a freshly built result
//! set (Redis builds it as an intset first, so all-integer results come out ascending) for
//! SUNION, SDIFF and SPOP of the whole set; the smallest input's order for SINTER. The
//! commands of several keys read and write all their keys inside one [`Db::multi`] call.
//!
//! [`Db::multi`]: crate::db::Db::multi

use super::{arg_i64, CmdResult, Ctx, Error, Notify};
use crate::db::{Item, Multi, Value, Write};
use crate::notify::{GENERIC, SET};
use crate::resp::parse::parse_i64;
use crate::resp::{encode, Args};
use crate::types::set::{Member, Set};
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// The most members one SRANDMEMBER with a negative count returns (Redis has no bound; a
/// larger count gets this many).
pub const RANDMEMBER_MAX_REPEATS: u64 = 1 << 20;

/// Random picks SRANDMEMBER tries per requested member when it draws distinct members one
/// by one (count at most a third of the set, as Redis's "case 4"); past them it falls back
/// to a shuffle of the whole set.
pub const DISTINCT_PICK_TRIES: usize = 16;

/// Redis's SPOP_MOVE_STRATEGY_MUL: SPOP with a count keeps the rest instead of popping
/// one by one when `remaining * 5 <= count`.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// Redis's SRANDMEMBER_SUB_STRATEGY_MUL: SRANDMEMBER shuffles the whole set when
/// `count * 3 > size`.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

const NOT_POSITIVE: Error = Error::Msg("ERR value is out of range, must be positive");

/// The set in `item`, or WRONGTYPE.
fn set(item: &Item) -> Result<&Set, Error> {
    match &item.value {
        Value::Set(s) => Ok(s),
        _ => Err(Error::WrongType),
    }
}

fn set_mut(item: &mut Item) -> Result<&mut Set, Error> {
    match &mut item.value {
        Value::Set(s) => Ok(s),
        _ => Err(Error::WrongType),
    }
}

/// Reads the set at `key`: `Ok(None)` if missing (a `keymiss`).
fn read<R>(ctx: &Ctx<'_>, key: &[u8], f: impl FnOnce(&Set) -> R) -> Result<Option<R>, Error> {
    let r = ctx
        .db()
        .read(key, ctx.now.unix, |item| set(item).map(f))
        .transpose();
    if let Ok(None) = r {
        ctx.notifier().keymiss(key);
    }
    r
}

/// Runs `f` on the set at `key` for writing; removes the key if it ends empty. `Ok(None)`
/// when the key is missing; else `f`'s result and whether the key went.
fn modify<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Set) -> R,
) -> Result<Option<(R, bool)>, Error> {
    ctx.db().write(key, ctx.now.unix, |item| match item {
        None => (Write::Keep, Ok(None)),
        Some(item) => match set_mut(item) {
            Err(e) => (Write::Keep, Err(e)),
            Ok(s) => {
                let r = f(s);
                if s.is_empty() {
                    (Write::Remove, Ok(Some((r, true))))
                } else {
                    (Write::Keep, Ok(Some((r, false))))
                }
            }
        },
    })
}

/// A set write's event, then `del` if it emptied the set.
fn notify_change(notify: Notify<'_>, event: &str, key: &[u8], emptied: bool) {
    notify.event(SET, event, key);
    if emptied {
        notify.event(GENERIC, "del", key);
    }
}

fn int_reply(out: &mut Vec<u8>, n: usize) {
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

fn member_reply(out: &mut Vec<u8>, m: Member<'_>) {
    match m {
        Member::Int(i) => encode::bulk_i64(out, i),
        Member::Bytes(b) => encode::bulk(out, b),
    }
}

fn members_reply(out: &mut Vec<u8>, ms: &[Member<'_>]) {
    encode::array(out, ms.len());
    for &m in ms {
        member_reply(out, m);
    }
}

/// `set-max-intset-entries`.
fn intset_limit(ctx: &Ctx<'_>) -> usize {
    ctx.engine.encodings().set_max_intset_entries
}

/// A xorshift generator seeded from the session (one seed per command).
struct Rng(u64);

impl Rng {
    fn new(ctx: &mut Ctx<'_>) -> Self {
        Rng(ctx.session.next_random().max(1))
    }

    fn next(&mut self) -> u64 {
        let mut r = self.0;
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        self.0 = r;
        r
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The members of `s` in the order of a result set built from them as Redis builds one
/// (`sunionDiffGenericCommand` starts from an intset): ascending integers when every member
/// is an integer and they fit `limit`, else the set's own order.
fn result_order(s: &Set, limit: usize) -> Vec<Member<'_>> {
    let ms = s.members();
    if s.is_intset() || ms.len() > limit.min(crate::types::set::INTSET_MAX_ENTRIES_CAP) {
        return ms;
    }
    let mut ints = Vec::with_capacity(ms.len());
    for m in &ms {
        match m {
            Member::Int(i) => ints.push(*i),
            Member::Bytes(b) => match parse_i64(b) {
                Some(i) => ints.push(i),
                None => return ms,
            },
        }
    }
    ints.sort_unstable();
    ints.into_iter().map(Member::Int).collect()
}

/// `SADD key member [member ...]`.
pub fn sadd(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let limit = intset_limit(ctx);
    let added = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let mut fresh = None;
        let s: &mut Set = match item {
            Some(item) => match set_mut(item) {
                Ok(s) => s,
                Err(e) => return (Write::Keep, Err(e)),
            },
            None => fresh.insert(Set::for_member(args.get(2))),
        };
        let n = args.iter().skip(2).filter(|m| s.add(m, limit)).count();
        match fresh {
            Some(s) => (Write::Put(Item::new(Value::Set(Box::new(s)))), Ok(n)),
            None => (Write::Keep, Ok(n)),
        }
    })?;
    if added > 0 {
        ctx.notify(SET, "sadd", args.get(1));
    } else {
        ctx.session.untouched();
    }
    int_reply(out, added);
    Ok(())
}

/// `SREM key member [member ...]`.
pub fn srem(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = modify(ctx, args.get(1), |s| {
        args.iter().skip(2).filter(|m| s.remove(m)).count()
    })?;
    let n = match n {
        Some((n, emptied)) if n > 0 => {
            notify_change(ctx.notifier(), "srem", args.get(1), emptied);
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

/// `SMEMBERS key`: the set's own order (an intset's ascending).
pub fn smembers(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let found = read(ctx, args.get(1), |s| members_reply(out, &s.members()))?;
    if found.is_none() {
        encode::array(out, 0);
    }
    Ok(())
}

/// `SISMEMBER key member`.
pub fn sismember(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let found = read(ctx, args.get(1), |s| s.contains(args.get(2)))?;
    int_reply(out, usize::from(found == Some(true)));
    Ok(())
}

/// `SMISMEMBER key member [member ...]`.
pub fn smismember(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let flags: Vec<bool> = read(ctx, args.get(1), |s| {
        args.iter().skip(2).map(|m| s.contains(m)).collect()
    })?
    .unwrap_or_else(|| alloc::vec![false; args.len() - 2]);
    encode::array(out, flags.len());
    for f in flags {
        int_reply(out, usize::from(f));
    }
    Ok(())
}

/// `SCARD key`.
pub fn scard(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    int_reply(out, read(ctx, args.get(1), Set::len)?.unwrap_or(0));
    Ok(())
}

/// `SPOP key [count]`: without a count one member or nil; with one, as Redis 7.0's
/// `spopWithCountCommand`: the whole set (in a result set's order, key deleted) when the
/// count reaches its size, members popped one by one while the remainder stays large
/// (`remaining * 5 > count`), else the remainder is drawn into a new set (encoded as a
/// set created from its first member) and the rest replied in the old set's order.
pub fn spop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = if args.len() == 3 {
        let c = parse_i64(args.get(2)).ok_or(NOT_POSITIVE)?;
        Some(usize::try_from(c).map_err(|_| NOT_POSITIVE)?)
    } else {
        None
    };
    let limit = intset_limit(ctx);
    let mut rng = Rng::new(ctx);
    // The members popped, for the append-only file (only while it records).
    let aof = ctx.aof();
    let mut popped: Vec<Vec<u8>> = Vec::new();
    let found = ctx.db().write(args.get(1), ctx.now.unix, |item| {
        let Some(item) = item else {
            return (Write::Keep, Ok(None));
        };
        let s = match set_mut(item) {
            Ok(s) => s,
            Err(e) => return (Write::Keep, Err(e)),
        };
        match count {
            None => match s.pop_random(rng.next()) {
                Some(m) => {
                    encode::bulk(out, &m);
                    if aof {
                        popped.push(m);
                    }
                }
                None => encode::nil(out),
            },
            Some(0) => {
                // An empty reply, and nothing changed or said.
                encode::array(out, 0);
                return (Write::Keep, Ok(Some(None)));
            }
            Some(c) if c >= s.len() => {
                members_reply(out, &result_order(s, limit));
                return (Write::Remove, Ok(Some(Some(true))));
            }
            Some(c) => {
                let remaining = s.len() - c;
                if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > c {
                    encode::array(out, c);
                    for _ in 0..c {
                        if let Some(m) = s.pop_random(rng.next()) {
                            encode::bulk(out, &m);
                            if aof {
                                popped.push(m);
                            }
                        }
                    }
                } else {
                    // The kept set takes the encoding of its first member (`setTypeCreate`).
                    let mut keep: Option<Set> = None;
                    for _ in 0..remaining {
                        if let Some(m) = s.pop_random(rng.next()) {
                            keep.get_or_insert_with(|| Set::for_member(&m))
                                .add(&m, limit);
                        }
                    }
                    let gone = s.members();
                    members_reply(out, &gone);
                    if aof {
                        popped = gone.iter().map(|m| m.to_vec()).collect();
                    }
                    *s = keep.unwrap_or_default();
                }
            }
        }
        if s.is_empty() {
            (Write::Remove, Ok(Some(Some(true))))
        } else {
            (Write::Keep, Ok(Some(Some(false))))
        }
    })?;
    if aof {
        propagate_spop(ctx, args.get(1), found, count, popped);
    }
    match found {
        Some(Some(emptied)) => notify_change(ctx.notifier(), "spop", args.get(1), emptied),
        Some(None) => ctx.session.untouched(),
        None => {
            ctx.session.untouched();
            match count {
                None => encode::nil(out),
                Some(_) => encode::array(out, 0),
            }
        }
    }
    Ok(())
}

/// What SPOP records (Redis's `spopCommand`, `spopWithCountCommand`): chance made fact,
/// `SREM key <members>` in batches of [`SPOP_PROPAGATE_BATCH`]; `DEL key` when a count took
/// the whole set; nothing when it popped nothing.
#[cold]
fn propagate_spop(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    found: Option<Option<bool>>,
    count: Option<usize>,
    popped: Vec<Vec<u8>>,
) {
    if found.flatten().is_none() {
        ctx.propagate_nothing();
    } else if count.is_some() && popped.is_empty() {
        // The whole set went (`c >= len`).
        ctx.propagate_one(&[b"DEL", key]);
    } else {
        let batches = popped
            .chunks(SPOP_PROPAGATE_BATCH)
            .map(|ms| {
                let mut argv = Vec::with_capacity(ms.len() + 2);
                argv.push(b"SREM".to_vec());
                argv.push(key.to_vec());
                argv.extend(ms.iter().cloned());
                argv
            })
            .collect();
        ctx.propagate(batches);
    }
}

/// Members a record of SPOP removes at most (Redis's batches of 1024).
const SPOP_PROPAGATE_BATCH: usize = 1024;

/// `SRANDMEMBER key [count]`: a positive count gives distinct members (the whole set in its
/// own order when the count reaches its size), a negative one may repeat (at most
/// [`RANDMEMBER_MAX_REPEATS`]).
pub fn srandmember(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = if args.len() == 3 {
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
    let mut rng = Rng::new(ctx);
    let found = read(ctx, args.get(1), |s| {
        let n = s.len();
        match count {
            None => match s.random(rng.next()) {
                Some(m) => member_reply(out, m),
                None => encode::nil(out),
            },
            Some(c) if c < 0 => {
                let k = c.unsigned_abs().min(RANDMEMBER_MAX_REPEATS) as usize;
                encode::array(out, k);
                for _ in 0..k {
                    if let Some(m) = s.random(rng.next()) {
                        member_reply(out, m);
                    }
                }
            }
            Some(c) if c as u64 >= n as u64 => members_reply(out, &s.members()),
            Some(c) => {
                let c = c as usize;
                let picks = distinct_picks(s, c, &mut rng);
                members_reply(out, &picks);
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

/// `c` distinct members of `s` (`0 < c < len`), at random.
fn distinct_picks<'a>(s: &'a Set, c: usize, rng: &mut Rng) -> Vec<Member<'a>> {
    if c.saturating_mul(SRANDMEMBER_SUB_STRATEGY_MUL) <= s.len() && !s.is_intset() {
        // Few of many: draw one by one, skipping repeats.
        let mut seen: BTreeSet<Member<'a>> = BTreeSet::new();
        let mut picks = Vec::with_capacity(c);
        for _ in 0..c.saturating_mul(DISTINCT_PICK_TRIES) {
            if picks.len() == c {
                return picks;
            }
            if let Some(m) = s.random(rng.next()) {
                if seen.insert(m) {
                    picks.push(m);
                }
            }
        }
    }
    // A partial shuffle of every member.
    let mut all = s.members();
    for i in 0..c.min(all.len()) {
        let j = i + rng.below(all.len() - i);
        all.swap(i, j);
    }
    all.truncate(c);
    all
}

/// `SMOVE source destination member`.
pub fn smove(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let limit = intset_limit(ctx);
    let notify = ctx.notifier();
    let moved = ctx.db().multi(&[src, dst], ctx.now.unix, |m| {
        let has = m.read(src, |item| set(item).map(|s| s.contains(member)));
        // Redis looks both keys up (expiring them, in this order) before anything else.
        m.exists(dst);
        let Some(has) = has else {
            return Ok((false, false));
        };
        let has = has?;
        if let Some(r) = m.read(dst, |item| set(item).map(|_| ())) {
            r?;
        }
        if src == dst || !has {
            return Ok((has, false));
        }
        let emptied = m.write(src, |item| match item.and_then(|i| set_mut(i).ok()) {
            Some(s) => {
                s.remove(member);
                if s.is_empty() {
                    (Write::Remove, true)
                } else {
                    (Write::Keep, false)
                }
            }
            None => (Write::Keep, false),
        });
        // As Redis: the removal's events, then the destination's (`new` if created).
        notify_change(notify, "srem", src, emptied == Some(true));
        let added = m.write(dst, |item| match item.and_then(|i| set_mut(i).ok()) {
            Some(s) => {
                let added = s.add(member, limit);
                (Write::Keep, added)
            }
            None => {
                let mut s = Set::for_member(member);
                s.add(member, limit);
                (Write::Put(Item::new(Value::Set(Box::new(s)))), true)
            }
        });
        if added == Some(true) {
            notify.event(SET, "sadd", dst);
        }
        Ok((true, added == Some(true)))
    })?;
    let (moved, added) = moved;
    // WATCH and blocked clients see only what changed: a member already in the
    // destination leaves it untouched (Redis's test "SMOVE only notify dstset ...").
    ctx.session.touched = Some(match (moved && src != dst, added) {
        (false, _) => alloc::vec![],
        (true, false) => alloc::vec![1],
        (true, true) => alloc::vec![1, 2],
    });
    int_reply(out, usize::from(moved));
    Ok(())
}

/// Which combination of sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// A member copied out of a set (while other sets are read).
#[derive(Clone, Debug)]
enum Owned {
    Int(i64),
    Bytes(Box<[u8]>),
}

impl Owned {
    fn of(m: Member<'_>) -> Owned {
        match m {
            Member::Int(i) => Owned::Int(i),
            Member::Bytes(b) => Owned::Bytes(Box::from(b)),
        }
    }

    fn as_member(&self) -> Member<'_> {
        match self {
            Owned::Int(i) => Member::Int(*i),
            Owned::Bytes(b) => Member::Bytes(b),
        }
    }
}

/// Every member of the set at `key` (one of `m`'s keys), copied in the set's order.
fn copy_members(m: &mut Multi<'_>, key: &[u8]) -> Vec<Owned> {
    m.read(key, |item| {
        set(item).map_or_else(
            |_| Vec::new(),
            |s| {
                let mut v = Vec::with_capacity(s.len());
                s.for_each_member(|x| v.push(Owned::of(x)));
                v
            },
        )
    })
    .unwrap_or_default()
}

/// Keeps the candidates that the set at `key` holds (`keep_held`) or does not hold.
fn filter_by(m: &mut Multi<'_>, key: &[u8], cands: &mut Vec<Owned>, keep_held: bool) {
    let held = m.read(key, |item| {
        set(item).map_or_else(
            |_| alloc::vec![false; cands.len()],
            |s| {
                cands
                    .iter()
                    .map(|c| s.contains_member(c.as_member()))
                    .collect()
            },
        )
    });
    let Some(held) = held else {
        if keep_held {
            cands.clear();
        }
        return;
    };
    let mut flags = held.into_iter();
    cands.retain(|_| flags.next() == Some(keep_held));
}

/// What a combination computes: the members (SINTER, SINTERCARD), or a result set (the
/// others).
enum Combined {
    /// The intersection, in the smallest input's order.
    Members(Vec<Owned>),
    /// A result set built as Redis builds it.
    Set(Set),
}

/// Combines the sets at `keys` inside one multi-key lock (`m` holds `keys` and the
/// destination, if any). WRONGTYPE if any key holds another type, checked before anything.
fn combine(
    m: &mut Multi<'_>,
    notify: Notify<'_>,
    keys: &[&[u8]],
    op: SetOp,
    limit: usize,
) -> Result<Combined, Error> {
    let mut sizes: Vec<Option<usize>> = Vec::with_capacity(keys.len());
    for k in keys {
        let size = m.read(k, |item| set(item).map(Set::len)).transpose()?;
        if size.is_none() {
            notify.keymiss(k);
        }
        sizes.push(size);
    }
    match op {
        SetOp::Inter => {
            if sizes.iter().any(Option::is_none) {
                return Ok(Combined::Members(Vec::new()));
            }
            // Walk the smallest set (the first of the smallest: a stable sort by size).
            let size = |i: usize| sizes.get(i).copied().flatten().unwrap_or(0);
            let order = super::stable_order(keys.len(), &mut |a, b| size(a).cmp(&size(b)));
            let mut order = order.into_iter().filter_map(|i| keys.get(i));
            let Some(first) = order.next() else {
                return Ok(Combined::Members(Vec::new()));
            };
            let mut cands = copy_members(m, first);
            for k in order {
                if cands.is_empty() {
                    break;
                }
                filter_by(m, k, &mut cands, true);
            }
            Ok(Combined::Members(cands))
        }
        SetOp::Union => {
            let mut result = Set::new();
            for k in keys {
                m.read(k, |item| {
                    if let Ok(s) = set(item) {
                        s.for_each_member(|x| {
                            result.add_member(x, limit);
                        });
                    }
                });
            }
            Ok(Combined::Set(result))
        }
        SetOp::Diff => {
            let (Some(first), Some(Some(size0))) = (keys.first(), sizes.first()) else {
                return Ok(Combined::Set(Set::new()));
            };
            let rest = keys.get(1..).unwrap_or_default();
            if rest.contains(first) {
                // The first set minus itself.
                return Ok(Combined::Set(Set::new()));
            }
            // Redis's choice of algorithm decides the result's encoding (algorithm 2 adds
            // the whole first set before removing).
            let present = sizes.iter().flatten();
            let one: usize = present.clone().map(|_| *size0).sum::<usize>() / 2;
            let two: usize = present.sum();
            let mut result = Set::new();
            if one <= two {
                let mut cands = copy_members(m, first);
                for k in rest {
                    if cands.is_empty() {
                        break;
                    }
                    filter_by(m, k, &mut cands, false);
                }
                for c in &cands {
                    result.add_member(c.as_member(), limit);
                }
            } else {
                m.read(first, |item| {
                    if let Ok(s) = set(item) {
                        s.for_each_member(|x| {
                            result.add_member(x, limit);
                        });
                    }
                });
                for k in rest {
                    if result.is_empty() {
                        break;
                    }
                    m.read(k, |item| {
                        if let Ok(s) = set(item) {
                            s.for_each_member(|x| {
                                result.remove_member(x);
                            });
                        }
                    });
                }
            }
            Ok(Combined::Set(result))
        }
    }
}

/// SINTER, SUNION, SDIFF (`dst` None) and their STORE forms.
fn setop(
    ctx: &mut Ctx<'_>,
    out: &mut Vec<u8>,
    keys: Vec<&[u8]>,
    dst: Option<&[u8]>,
    op: SetOp,
) -> CmdResult {
    let limit = intset_limit(ctx);
    let mut all = keys.clone();
    all.extend(dst);
    let notify = ctx.notifier();
    ctx.db().multi(&all, ctx.now.unix, |m| {
        let combined = combine(m, notify, &keys, op, limit)?;
        match dst {
            Some(d) => {
                let result = match combined {
                    Combined::Set(s) => s,
                    Combined::Members(v) => {
                        let mut s = Set::new();
                        for c in &v {
                            s.add_member(c.as_member(), limit);
                        }
                        s
                    }
                };
                let n = result.len();
                if n > 0 {
                    m.put(d, Item::new(Value::Set(Box::new(result))));
                    let event = match op {
                        SetOp::Inter => "sinterstore",
                        SetOp::Union => "sunionstore",
                        SetOp::Diff => "sdiffstore",
                    };
                    notify.event(SET, event, d);
                } else if m.delete(d) {
                    notify.event(GENERIC, "del", d);
                }
                int_reply(out, n);
            }
            None => match combined {
                Combined::Set(s) => members_reply(out, &s.members()),
                Combined::Members(v) => {
                    encode::array(out, v.len());
                    for c in &v {
                        member_reply(out, c.as_member());
                    }
                }
            },
        }
        Ok(())
    })
}

/// `SINTER key [key ...]`.
pub fn sinter(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, out, args.iter().skip(1).collect(), None, SetOp::Inter)
}

/// `SINTERSTORE destination key [key ...]`.
pub fn sinterstore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let keys = args.iter().skip(2).collect();
    setop(ctx, out, keys, Some(args.get(1)), SetOp::Inter)
}

/// `SUNION key [key ...]`.
pub fn sunion(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, out, args.iter().skip(1).collect(), None, SetOp::Union)
}

/// `SUNIONSTORE destination key [key ...]`.
pub fn sunionstore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let keys = args.iter().skip(2).collect();
    setop(ctx, out, keys, Some(args.get(1)), SetOp::Union)
}

/// `SDIFF key [key ...]`.
pub fn sdiff(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    setop(ctx, out, args.iter().skip(1).collect(), None, SetOp::Diff)
}

/// `SDIFFSTORE destination key [key ...]`.
pub fn sdiffstore(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let keys = args.iter().skip(2).collect();
    setop(ctx, out, keys, Some(args.get(1)), SetOp::Diff)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the intersection's size, at most
/// `limit` (0: no limit).
pub fn sintercard(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    const NUMKEYS: Error = Error::Msg("ERR numkeys should be greater than 0");
    let numkeys = parse_i64(args.get(1)).ok_or(NUMKEYS)?;
    if numkeys < 1 {
        return Err(NUMKEYS);
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - 2 {
        return Err(Error::Msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if args.get(j).eq_ignore_ascii_case(b"LIMIT") && j + 1 < args.len() {
            let l = parse_i64(args.get(j + 1))
                .and_then(|l| usize::try_from(l).ok())
                .ok_or(Error::Msg("ERR LIMIT can't be negative"))?;
            limit = l;
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| args.get(i)).collect();
    let max_intset = intset_limit(ctx);
    let notify = ctx.notifier();
    let n = ctx.db().multi(&keys, ctx.now.unix, |m| {
        match combine(m, notify, &keys, SetOp::Inter, max_intset)? {
            Combined::Members(v) => Ok(v.len()),
            Combined::Set(s) => Ok(s.len()),
        }
    })?;
    int_reply(out, if limit > 0 { n.min(limit) } else { n });
    Ok(())
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`: an intset answers whole with cursor 0;
/// a hashtable in steps of about `count` members (see [`Set::scan`]). A missing key gives
/// an empty scan before the options are read, as in Redis.
pub fn sscan(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let cursor =
        super::keyspace::parse_cursor(args.get(2)).ok_or(Error::Msg("ERR invalid cursor"))?;
    let found = read(ctx, args.get(1), |s| -> Result<(), Error> {
        let (pattern, count) = super::keyspace::scan_options(args, 3)?;
        let mut body = Vec::new();
        let mut n = 0usize;
        let next = s.scan(cursor, count, |m| {
            m.with_bytes(|b| {
                if pattern.is_none_or(|p| crate::glob::matches(p, b, false)) {
                    encode::bulk(&mut body, b);
                    n += 1;
                }
            });
        });
        super::keyspace::scan_reply(out, next, n, &body);
        Ok(())
    })?;
    match found {
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
    use std::string::ToString;

    #[test]
    fn basic_replies_and_encodings() {
        let mut h = Harness::new();
        assert_eq!(h.s("SADD s 3 1 2 2"), ":3\r\n");
        assert_eq!(h.s("OBJECT ENCODING s"), "$6\r\nintset\r\n");
        assert_eq!(h.s("SMEMBERS s"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.s("SISMEMBER s 2"), ":1\r\n");
        assert_eq!(h.s("SMISMEMBER s 2 x"), "*2\r\n:1\r\n:0\r\n");
        assert_eq!(h.s("SMISMEMBER nokey 2 x"), "*2\r\n:0\r\n:0\r\n");
        assert_eq!(h.s("SADD s x"), ":1\r\n");
        assert_eq!(h.s("OBJECT ENCODING s"), "$9\r\nhashtable\r\n");
        assert_eq!(h.s("SREM s x"), ":1\r\n");
        assert_eq!(h.s("OBJECT ENCODING s"), "$9\r\nhashtable\r\n");
        // A union of a hashtable holding only integers is an intset, in ascending order.
        assert_eq!(h.s("SUNIONSTORE d s"), ":3\r\n");
        assert_eq!(h.s("OBJECT ENCODING d"), "$6\r\nintset\r\n");
        assert_eq!(h.s("SUNION s"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.s("SREM s 1 2 3"), ":3\r\n");
        assert_eq!(h.s("EXISTS s"), ":0\r\n");
        h.run("SET str v");
        assert!(h.s("SINTER nokey str").starts_with("-WRONGTYPE"));
        assert!(h.s("SMOVE d str 1").starts_with("-WRONGTYPE"));
        assert_eq!(h.s("SMOVE nokey str 1"), ":0\r\n");
        assert_eq!(h.s("SMOVE d e 1"), ":1\r\n");
        assert_eq!(h.s("OBJECT ENCODING e"), "$6\r\nintset\r\n");
        assert_eq!(h.s("SINTERCARD 2 d e"), ":0\r\n");
        assert_eq!(h.s("SADD e 2 3"), ":2\r\n");
        assert_eq!(h.s("SINTERCARD 2 d e LIMIT 1"), ":1\r\n");
        assert_eq!(h.s("SINTERCARD 2 d e"), ":2\r\n");
        assert_eq!(h.s("SINTER d e"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.s("SDIFF e d"), "*1\r\n$1\r\n1\r\n");
        assert_eq!(h.s("SDIFFSTORE e e e"), ":0\r\n");
        assert_eq!(h.s("EXISTS e"), ":0\r\n");
    }

    #[test]
    fn spop_and_srandmember_follow_redis_rules() {
        let mut h = Harness::new();
        h.run("SADD s 1 2 3 4 5 6 7 8 9 10");
        assert_eq!(
            h.s("SPOP s -1"),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(h.s("SRANDMEMBER s 0"), "*0\r\n");
        assert!(h.s("SRANDMEMBER s -30").starts_with("*30\r\n"));
        assert!(h.s("SRANDMEMBER s 5").starts_with("*5\r\n"));
        // Case 3 of an intset: the popped members come out ascending.
        let r = h.s("SPOP s 9");
        assert!(r.starts_with("*9\r\n"));
        assert_eq!(h.s("SCARD s"), ":1\r\n");
        assert_eq!(h.s("OBJECT ENCODING s"), "$6\r\nintset\r\n");
        let nums: std::vec::Vec<i64> = r
            .split("\r\n")
            .filter(|l| !l.starts_with('*') && !l.starts_with('$') && !l.is_empty())
            .map(|l| l.parse().unwrap())
            .collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]));
        assert!(h.s("SPOP s 5").starts_with("*1\r\n"));
        assert_eq!(h.s("EXISTS s"), ":0\r\n");
        assert_eq!(h.s("SPOP s"), "$-1\r\n");
        assert_eq!(h.s("SPOP s 3"), "*0\r\n");
    }

    #[test]
    fn sscan_walks_a_big_set_in_steps() {
        let mut h = Harness::new();
        for chunk in 0..10 {
            let mut line = std::string::String::from("SADD big");
            for i in 0..100 {
                line.push_str(&std::format!(" m{}", chunk * 100 + i));
            }
            h.run(&line);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = std::string::String::from("0");
        let mut steps = 0;
        loop {
            let r = h.s(&std::format!("SSCAN big {cursor} COUNT 20"));
            let lines: std::vec::Vec<&str> = r.split("\r\n").collect();
            cursor = lines[2].to_string();
            for l in lines.iter().skip(5).step_by(2) {
                if !l.is_empty() {
                    seen.insert(l.to_string());
                }
            }
            steps += 1;
            if cursor == "0" {
                break;
            }
        }
        assert!(steps > 10);
        assert_eq!(seen.len(), 1000);
        assert_eq!(h.s("SSCAN nokey 0 COUNT 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(h.s("SSCAN big 0 COUNT 0"), "-ERR syntax error\r\n");
        assert_eq!(h.s("SSCAN big x"), "-ERR invalid cursor\r\n");
    }
}
