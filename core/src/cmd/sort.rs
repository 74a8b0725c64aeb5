//! SORT and SORT_RO over lists, sets and sorted sets, with Redis 7.0's `sort.c` semantics:
//! BY pattern (a pattern without `*` means no sorting), GET patterns (`#` is the element,
//! `key->field` reads a hash field), LIMIT offset count, ASC/DESC, ALPHA and (SORT only)
//! STORE, which replaces the destination with a list (an empty result deletes it).
//!
//! Numeric sorting reads each weight as C's `strtod` does and breaks ties by comparing the
//! elements as bytes, so the order is deterministic. ALPHA compares bytes up to the first
//! NUL (Redis's `strcoll` under the C locale) unless STORE is given (then whole bytes);
//! ALPHA with BY leaves ties in an order Redis does not define. As Redis does, SORT turns a
//! sorted set it reads into the big (skiplist) encoding.
//!
//! Atomicity: the keys SORT reads through its patterns are only known from the elements.
//! SORT locks the sorted key and the destination (and, on later attempts, every pattern key
//! computed so far) in one [`crate::db::Db::multi`] call, reads the elements, and works out
//! the pattern keys they need. If all of them are among the locked keys it runs the whole
//! command under that lock: the reply is exactly what one instant of the keyspace gives.
//! Otherwise it releases the lock, adds the missing keys and tries again, at most
//! [`SORT_LOCK_ATTEMPTS`] times (a sort without patterns never needs a second attempt; a
//! sort with patterns needs two unless another client keeps changing the sorted key). When
//! the attempts run out it answers an error rather than a reply that mixes two instants.

use super::{arg_i64, CmdResult, Ctx, Error, Notify};
use crate::db::{Item, Multi, Value, Write};
use crate::notify::{GENERIC, LIST};
use crate::resp::{encode, Args};
use crate::types::list::List;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// Most times SORT locks its keys: the first attempt learns the pattern keys, the second
/// normally runs; more are needed only while other clients change the sorted key between
/// attempts.
pub const SORT_LOCK_ATTEMPTS: usize = 8;

const NOT_DOUBLE: Error = Error::Msg("ERR One or more scores can't be converted into double");
const KEPT_CHANGING: Error = Error::Msg(
    "ERR SORT could not lock the keys its patterns name: the sorted key kept changing, try again",
);

/// The parsed options of one SORT call.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    offset: i64,
    count: i64,
    store: Option<&'a [u8]>,
    /// The last BY pattern given, if any.
    by: Option<&'a [u8]>,
    /// Some BY pattern had no `*`: no sorting at all (sticky, as in Redis).
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    /// The fill of the list STORE writes (`list-max-listpack-size`).
    fill: i32,
}

/// Parses SORT's options as Redis's `sortCommandGeneric` does (the first error wins).
/// `full_keys`: the user may read any key (Redis's `ACLUserCheckCmdWithUnrestrictedKeyAccess`),
/// which BY with a pattern and GET need.
fn parse<'a>(args: &'a Args<'_>, readonly: bool, full_keys: bool) -> Result<Options<'a>, Error> {
    let mut o = Options {
        desc: false,
        alpha: false,
        offset: 0,
        count: -1,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        fill: crate::types::list::DEFAULT_FILL,
    };
    let mut j = 2;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j - 1;
        let is = |n: &[u8]| a.eq_ignore_ascii_case(n);
        if is(b"ASC") {
            o.desc = false;
        } else if is(b"DESC") {
            o.desc = true;
        } else if is(b"ALPHA") {
            o.alpha = true;
        } else if is(b"LIMIT") && left >= 2 {
            o.offset = arg_i64(args.get(j + 1))?;
            o.count = arg_i64(args.get(j + 2))?;
            j += 2;
        } else if !readonly && is(b"STORE") && left >= 1 {
            o.store = Some(args.get(j + 1));
            j += 1;
        } else if is(b"BY") && left >= 1 {
            let p = args.get(j + 1);
            o.by = Some(p);
            if !c_str(p).contains(&b'*') {
                o.dontsort = true;
            } else if !full_keys {
                return Err(Error::Msg(
                    "ERR BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            j += 1;
        } else if is(b"GET") && left >= 1 {
            if !full_keys {
                return Err(Error::Msg(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(args.get(j + 1));
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// The bytes before the first NUL: what Redis's C-string functions see.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => s.get(..n).unwrap_or(s),
        None => s,
    }
}

/// A weight read as Redis reads it (`strtod`, then: the whole C string consumed, no range
/// error, not NaN). An empty string is 0 (strtod consumes nothing and stops at the NUL);
/// leading white space is skipped; overflow and underflow (to zero or subnormal) fail.
fn weight(s: &[u8]) -> Option<f64> {
    let s = c_str(s);
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let v = super::zsets::parse_score(s.get(start..)?)?;
    if v != 0.0 && v.is_finite() && v.abs() < f64::MIN_POSITIVE {
        return None;
    }
    Some(v)
}

/// What a pattern names for one element: `#` (the element itself), a string key, or a
/// hash key and field; `None` when the pattern has no `*` (nothing to read).
enum Target<'p> {
    Element,
    Key(Vec<u8>),
    Field(Vec<u8>, &'p [u8]),
}

/// Redis's `lookupKeyByPattern` naming: the first `*` is replaced by the element; a `->`
/// after it followed by at least one byte splits off a hash field.
fn target<'p>(pattern: &'p [u8], elem: &[u8]) -> Option<Target<'p>> {
    let cpat = c_str(pattern);
    if cpat == b"#" {
        return Some(Target::Element);
    }
    let star = cpat.iter().position(|&b| b == b'*')?;
    let after = cpat.get(star + 1..).unwrap_or_default();
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&f| f + 2 < cpat.len());
    let prefix = pattern.get(..star).unwrap_or_default();
    let (postfix_end, field) = match arrow {
        Some(f) => (f, pattern.get(f + 2..)),
        None => (pattern.len(), None),
    };
    let postfix = pattern.get(star + 1..postfix_end).unwrap_or_default();
    let mut key = Vec::with_capacity(prefix.len() + elem.len() + postfix.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    Some(match field {
        Some(f) => Target::Field(key, f),
        None => Target::Key(key),
    })
}

/// Reads what `pattern` names for `elem` from the locked keys: a string's value, a hash
/// field's value, the element itself for `#`; `None` for anything else. A missing key is
/// a `keymiss` (Redis's `lookupKeyByPattern` reads with `lookupKeyRead`).
fn lookup(m: &mut Multi<'_>, notify: Notify<'_>, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    let (key, found) = match target(pattern, elem)? {
        Target::Element => return Some(elem.to_vec()),
        Target::Key(k) => {
            let v = m.read(&k, |item| item.value.as_str().map(<[u8]>::to_vec));
            (k, v)
        }
        Target::Field(k, f) => {
            let v = m.read(&k, |item| match &item.value {
                Value::Hash(h) => h.get(f).map(<[u8]>::to_vec),
                _ => None,
            });
            (k, v)
        }
    };
    if found.is_none() {
        notify.keymiss(&key);
    }
    found.flatten()
}

/// Redis's LIMIT arithmetic: the first position and the number of elements to answer.
fn window(len: usize, offset: i64, count: i64) -> (usize, usize) {
    let vl = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = offset.max(0).min(vl);
    let count = count.max(-1).min(vl);
    let mut end = if count < 0 { vl } else { start + count - 1 };
    if start >= vl {
        start = vl - 1;
        end = vl - 2;
    }
    if end >= vl {
        end = vl - 1;
    }
    let n = end - start + 1;
    if n <= 0 {
        (0, 0)
    } else {
        (start as usize, n as usize)
    }
}

/// The sorted key's elements as SORT loads them.
struct Loaded {
    /// The elements to sort (all of them), or, when nothing is sorted, exactly the ones to
    /// answer, in order.
    elems: Vec<Vec<u8>>,
    /// Whether `elems` is already the answer's window (no LIMIT left to apply).
    windowed: bool,
    /// Whether SORT sorts (false: BY without `*`, except a set with STORE).
    sorting: bool,
    /// ALPHA in force (a set with STORE and no sorting is forced to ALPHA).
    alpha: bool,
    /// The BY pattern in force.
    by: bool,
    /// The sorted key is missing.
    missing: bool,
}

/// Loads the sorted key's elements under the lock; converts a small sorted set to the big
/// encoding as Redis does. `Err` for a key of another type.
fn load(m: &mut Multi<'_>, key: &[u8], o: &Options<'_>) -> Result<Loaded, Error> {
    let mut sorting = !o.dontsort;
    let mut alpha = o.alpha;
    let mut by = o.by.is_some();
    let mut missing = false;
    let r = m.write(key, |item| {
        let Some(item) = item else {
            missing = true;
            return (Write::Keep, Ok((Vec::new(), false)));
        };
        let pick = |len: usize, at: &dyn Fn(usize) -> Option<Vec<u8>>| -> Vec<Vec<u8>> {
            let (start, n) = window(len, o.offset, o.count);
            (0..n)
                .filter_map(|i| {
                    let k = start + i;
                    at(if o.desc { len - 1 - k } else { k })
                })
                .collect()
        };
        let r = match &mut item.value {
            Value::List(l) if !sorting => {
                let all: Vec<&[u8]> = l.iter().collect();
                Ok((pick(all.len(), &|k| all.get(k).map(|e| e.to_vec())), true))
            }
            Value::List(l) => Ok((l.iter().map(<[u8]>::to_vec).collect(), false)),
            Value::ZSet(z) => {
                z.make_big();
                let z = &**z;
                if sorting {
                    let all = (0..z.len())
                        .filter_map(|k| z.get(k).map(|(_, m)| m.to_vec()))
                        .collect();
                    Ok((all, false))
                } else {
                    Ok((pick(z.len(), &|k| z.get(k).map(|(_, m)| m.to_vec())), true))
                }
            }
            Value::Set(s) => {
                if !sorting && o.store.is_some() {
                    // Redis sorts a set even with BY nosort when storing, so the stored
                    // order does not depend on the set's internal order.
                    sorting = true;
                    alpha = true;
                    by = false;
                }
                let mut all = Vec::with_capacity(s.len());
                s.for_each(|e| all.push(e.to_vec()));
                Ok((all, false))
            }
            _ => Err(Error::WrongType),
        };
        (Write::Keep, r)
    });
    let (elems, windowed) = match r {
        Some(r) => r?,
        None => (Vec::new(), false),
    };
    Ok(Loaded {
        elems,
        windowed,
        sorting,
        alpha,
        by,
        missing,
    })
}

/// Every key the patterns name for these elements (BY only when sorting by it), sorted
/// and without repeats.
fn pattern_keys(o: &Options<'_>, l: &Loaded) -> Vec<Vec<u8>> {
    let by = o.by.filter(|_| l.sorting && l.by);
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for e in &l.elems {
        for p in by.iter().chain(o.gets.iter()) {
            match target(p, e) {
                Some(Target::Key(k)) | Some(Target::Field(k, _)) => keys.push(k),
                _ => {}
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// One element and what it sorts by.
struct Entry {
    elem: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

/// What one locked attempt came to.
enum Attempt {
    /// The reply is written (or the error is returned).
    Done(CmdResult),
    /// The elements name keys that were not locked: these are all the keys they name.
    Need(Vec<Vec<u8>>),
}

/// The whole command under one lock of `src`, the destination and `locked` (the pattern
/// keys known so far, sorted).
fn attempt(
    m: &mut Multi<'_>,
    notify: Notify<'_>,
    src: &[u8],
    o: &Options<'_>,
    locked: &[Vec<u8>],
    out: &mut Vec<u8>,
) -> Attempt {
    let l = match load(m, src, o) {
        Ok(l) => l,
        Err(e) => return Attempt::Done(Err(e)),
    };
    let needed = pattern_keys(o, &l);
    if needed.iter().any(|k| locked.binary_search(k).is_err()) {
        return Attempt::Need(needed);
    }
    // The attempt that runs: its reads are the command's (notified once).
    if l.missing {
        notify.keymiss(src);
    }
    let by = o.by.filter(|_| l.by);
    let mut bad_weight = false;
    let mut entries: Vec<Entry> = Vec::with_capacity(l.elems.len());
    for elem in l.elems {
        let mut e = Entry {
            elem,
            score: 0.0,
            cmp: None,
        };
        if l.sorting {
            let byval = match by {
                Some(p) => lookup(m, notify, p, &e.elem),
                None => None,
            };
            if by.is_none() || byval.is_some() {
                if l.alpha {
                    e.cmp = byval;
                } else {
                    match weight(byval.as_deref().unwrap_or(&e.elem)) {
                        Some(s) => e.score = s,
                        None => bad_weight = true,
                    }
                }
            }
        }
        entries.push(e);
    }
    if l.sorting && !bad_weight {
        let store = o.store.is_some();
        let text = |a: &[u8], b: &[u8]| {
            if store {
                a.cmp(b)
            } else {
                c_str(a).cmp(c_str(b))
            }
        };
        let order = super::stable_order(entries.len(), &mut |a, b| {
            let (Some(a), Some(b)) = (entries.get(a), entries.get(b)) else {
                return Ordering::Equal;
            };
            let c = if !l.alpha {
                if a.score > b.score {
                    Ordering::Greater
                } else if a.score < b.score {
                    Ordering::Less
                } else {
                    a.elem.cmp(&b.elem)
                }
            } else if by.is_some() {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => text(x, y),
                }
            } else {
                text(&a.elem, &b.elem)
            };
            if o.desc {
                c.reverse()
            } else {
                c
            }
        });
        let mut slots: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
        entries = order
            .iter()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
            .collect();
    }
    let (start, n) = if l.windowed {
        (0, entries.len())
    } else {
        window(entries.len(), o.offset, o.count)
    };
    if bad_weight {
        return Attempt::Done(Err(NOT_DOUBLE));
    }
    let picked = entries.get(start..start + n).unwrap_or_default();
    let per = o.gets.len().max(1);
    let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(picked.len() * per);
    for e in picked {
        if o.gets.is_empty() {
            values.push(Some(e.elem.clone()));
        }
        for p in &o.gets {
            values.push(lookup(m, notify, p, &e.elem));
        }
    }
    match o.store {
        None => {
            encode::array(out, values.len());
            for v in &values {
                match v {
                    Some(v) => encode::bulk(out, v),
                    None => encode::nil(out),
                }
            }
        }
        Some(dst) => {
            let mut list = List::with_fill(o.fill);
            for v in &values {
                list.push_back(v.as_deref().unwrap_or_default());
            }
            let n = list.len();
            if n > 0 {
                m.put(dst, Item::new(Value::List(Box::new(list))));
                notify.event(LIST, "sortstore", dst);
            } else if m.delete(dst) {
                notify.event(GENERIC, "del", dst);
            }
            encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    Attempt::Done(Ok(()))
}

fn sort_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    readonly: bool,
) -> CmdResult {
    let full_keys = (ctx.session.user.is_none() && ctx.engine.acl.open())
        || ctx
            .engine
            .acl
            .full_read_access(ctx.session.user.as_deref(), args);
    let mut o = parse(args, readonly, full_keys)?;
    o.fill = ctx.engine.encodings().list_max_listpack_size;
    let src = args.get(1);
    let notify = ctx.notifier();
    let mut locked: Vec<Vec<u8>> = Vec::new();
    for _ in 0..SORT_LOCK_ATTEMPTS {
        let mut keys: Vec<&[u8]> = Vec::with_capacity(locked.len() + 2);
        keys.push(src);
        keys.extend(o.store);
        keys.extend(locked.iter().map(Vec::as_slice));
        let r = ctx.db().multi(&keys, ctx.now.unix, |m| {
            attempt(m, notify, src, &o, &locked, out)
        });
        match r {
            Attempt::Done(r) => return r,
            Attempt::Need(more) => {
                locked.extend(more);
                locked.sort_unstable();
                locked.dedup();
            }
        }
    }
    Err(KEPT_CHANGING)
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
/// [STORE destination]`.
pub fn sort(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    sort_generic(ctx, args, out, false)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]`.
pub fn sort_ro(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    sort_generic(ctx, args, out, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::Harness;

    #[test]
    fn weights_read_as_strtod() {
        assert_eq!(weight(b""), Some(0.0));
        assert_eq!(weight(b" 5"), Some(5.0));
        assert_eq!(weight(b"0x10"), Some(16.0));
        assert_eq!(weight(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(weight(b"1\0junk"), Some(1.0));
        for bad in [
            &b"  "[..],
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"4e-320",
            b"x",
            b"-",
        ] {
            assert_eq!(weight(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn patterns_name_keys_and_fields() {
        let t = |p: &[u8], e: &[u8]| match target(p, e) {
            None => "none".into(),
            Some(Target::Element) => "#".into(),
            Some(Target::Key(k)) => {
                std::format!("key {}", std::string::String::from_utf8_lossy(&k))
            }
            Some(Target::Field(k, f)) => std::format!(
                "field {} {}",
                std::string::String::from_utf8_lossy(&k),
                std::string::String::from_utf8_lossy(f)
            ),
        };
        assert_eq!(t(b"#", b"a"), "#");
        assert_eq!(t(b"w_*", b"a"), "key w_a");
        assert_eq!(t(b"w_*_x*", b"a"), "key w_a_x*");
        assert_eq!(t(b"h_*->f", b"a"), "field h_a f");
        assert_eq!(t(b"h_*->", b"a"), "key h_a->");
        assert_eq!(t(b"h->x_*", b"a"), "key h->x_a");
        assert_eq!(t(b"nostar", b"a"), "none");
        assert_eq!(t(b"#x", b"a"), "none");
    }

    #[test]
    fn limit_arithmetic_matches_redis() {
        assert_eq!(window(5, 0, -1), (0, 5));
        assert_eq!(window(5, 1, 2), (1, 2));
        assert_eq!(window(5, 4, 10), (4, 1));
        assert_eq!(window(5, 5, 1), (0, 0));
        assert_eq!(window(5, -3, 2), (0, 2));
        assert_eq!(window(5, 1, 0), (0, 0));
        assert_eq!(window(0, 0, -1), (0, 0));
    }

    #[test]
    fn sorts_stores_and_reads_patterns() {
        let mut h = Harness::new();
        h.run("ZADD z 1 3 2 1 3 2 4 10");
        assert_eq!(h.s("OBJECT ENCODING z"), "$8\r\nlistpack\r\n");
        assert_eq!(
            h.s("SORT z"),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"
        );
        assert_eq!(h.s("OBJECT ENCODING z"), "$8\r\nskiplist\r\n");
        assert_eq!(
            h.s("SORT z ALPHA DESC LIMIT 1 2"),
            "*2\r\n$1\r\n2\r\n$2\r\n10\r\n"
        );
        // BY without `*`: the sorted set's own order, LIMIT on ranks.
        assert_eq!(
            h.s("SORT z BY nosort DESC LIMIT 0 2"),
            "*2\r\n$2\r\n10\r\n$1\r\n2\r\n"
        );
        h.run("SET w_1 30");
        h.run("SET w_2 20");
        h.run("SET w_3 10");
        assert_eq!(
            h.s("SORT z BY w_* GET # GET w_*"),
            "*8\r\n$2\r\n10\r\n$-1\r\n$1\r\n3\r\n$2\r\n10\r\n$1\r\n2\r\n$2\r\n20\r\n$1\r\n1\r\n$2\r\n30\r\n"
        );
        assert_eq!(h.s("SORT z STORE dst"), ":4\r\n");
        assert_eq!(h.s("TYPE dst"), "+list\r\n");
        assert_eq!(h.s("OBJECT ENCODING dst"), "$9\r\nquicklist\r\n");
        assert_eq!(
            h.s("SORT dst BY nosort DESC"),
            "*4\r\n$2\r\n10\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n"
        );
        assert_eq!(h.s("SORT missing STORE dst"), ":0\r\n");
        assert_eq!(h.s("EXISTS dst"), ":0\r\n");
        h.run("ZADD bad 1 x");
        assert_eq!(
            h.s("SORT bad"),
            "-ERR One or more scores can't be converted into double\r\n"
        );
        assert!(h.s("SORT w_1").starts_with("-WRONGTYPE"));
        assert_eq!(h.s("SORT w_1 FOO"), "-ERR syntax error\r\n");
        assert_eq!(h.s("SORT_RO z STORE d"), "-ERR syntax error\r\n");
    }
}
