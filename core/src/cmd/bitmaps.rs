//! Bitmap and string-algorithm commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO, LCS.
//!
//! Bitmaps are plain string values (`Value::Str`): bit 0 is the most significant bit of the
//! first byte, and a write past the end pads the string with zero bytes, as Redis's
//! `bitops.c`. Bit offsets are bounded by the live `proto-max-bulk-len` (offset / 8 must be
//! below it: 2^32 - 1 at the default 512 MB), so no command here grows a string without
//! bound. LCS follows Redis 7.0's `lcsCommand`: a dynamic-programming table of
//! `(len(a)+1) * (len(b)+1)` cells of [`LCS_CELL_BYTES`] each, refused when it would exceed
//! `proto-max-bulk-len`; that bound also caps the time LCS keeps a worker busy.

use super::{arg_i64, CmdResult, Ctx, Error};
use crate::db::{Item, Value, Write};
use crate::notify::{GENERIC, STRING};
use crate::resp::{encode, Args};
use alloc::vec;
use alloc::vec::Vec;

const OFFSET_ERR: Error = Error::Msg("ERR bit offset is not an integer or out of range");
const BIT_VALUE_ERR: Error = Error::Msg("ERR bit is not an integer or out of range");
const BITPOS_BIT_ERR: Error = Error::Msg("ERR The bit argument must be 1 or 0.");
const BITFIELD_TYPE_ERR: Error = Error::Msg(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);
const OVERFLOW_ERR: Error = Error::Msg("ERR Invalid OVERFLOW type specified");
const BITFIELD_RO_ERR: Error = Error::Msg("ERR BITFIELD_RO only supports the GET subcommand");
const BITOP_NOT_ERR: Error = Error::Msg("ERR BITOP NOT must be called with a single source key.");
const LCS_TYPE_ERR: Error = Error::Msg("ERR The specified keys must contain string values");
const LCS_BOTH_ERR: Error =
    Error::Msg("ERR If you want both the length and indexes, please just use IDX.");
const LCS_TOO_LONG_ERR: Error = Error::Msg("ERR String too long for LCS");
const LCS_LIMIT_ERR: Error =
    Error::Msg("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
const LCS_ALLOC_ERR: Error =
    Error::Msg("ERR Insufficient memory, failed allocating transient memory for LCS");

/// Bytes of one cell of LCS's dynamic-programming table (a `u32` length, as Redis). LCS
/// refuses two strings when `(len(a)+1) * (len(b)+1) * LCS_CELL_BYTES` exceeds
/// `proto-max-bulk-len` (Redis 7.0's rule and error text), which bounds both the memory it
/// borrows and the `O(len(a) * len(b))` time it runs for.
pub const LCS_CELL_BYTES: u64 = 4;

/// Widest BITFIELD integer: `i64` (unsigned fields stop at `u63`, as Redis).
const BITFIELD_MAX_BITS: u32 = 64;

fn int_reply(out: &mut Vec<u8>, n: u64) {
    encode::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`: a strict integer, or with
/// `hash_width` a `#N` that counts fields of that width; negative offsets and offsets whose
/// byte is at or past `proto-max-bulk-len` are refused.
fn bit_offset(ctx: &Ctx<'_>, arg: &[u8], hash_width: Option<u32>) -> Result<u64, Error> {
    let (digits, width) = match (arg.split_first(), hash_width) {
        (Some((b'#', rest)), Some(w)) => (rest, Some(w)),
        _ => (arg, None),
    };
    let mut off = crate::resp::parse::parse_i64(digits).ok_or(OFFSET_ERR)?;
    if let Some(w) = width {
        off = off.wrapping_mul(i64::from(w));
    }
    let off = u64::try_from(off).map_err(|_| OFFSET_ERR)?;
    let limit = ctx.engine.limits().proto_max_bulk_len as u64;
    if (off >> 3) >= limit {
        return Err(OFFSET_ERR);
    }
    Ok(off)
}

/// Zero-pads `v` so that byte `byte` exists.
fn grow_to(v: &mut Vec<u8>, byte: u64) {
    let want = usize::try_from(byte)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    if v.len() < want {
        v.resize(want, 0);
    }
}

/// Bit `bit` of `v` (zero past the end).
fn bit_at(v: &[u8], bit: u64) -> bool {
    let byte = usize::try_from(bit >> 3).unwrap_or(usize::MAX);
    v.get(byte).is_some_and(|b| b & (0x80u8 >> (bit & 7)) != 0)
}

/// Sets bit `bit` of `v` (which must already be long enough) to `on`.
fn set_bit_at(v: &mut [u8], bit: u64, on: bool) {
    let byte = usize::try_from(bit >> 3).unwrap_or(usize::MAX);
    if let Some(b) = v.get_mut(byte) {
        let mask = 0x80u8 >> (bit & 7);
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
}

/// `SETBIT key offset 0|1`: the bit's old value.
pub fn setbit(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let offset = bit_offset(ctx, args.get(2), None)?;
    let on = crate::resp::parse::parse_i64(args.get(3)).ok_or(BIT_VALUE_ERR)?;
    if on & !1 != 0 {
        return Err(BIT_VALUE_ERR);
    }
    let on = on == 1;
    let old = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) => {
                let Some(v) = item.value.as_str_mut() else {
                    return (Write::Keep, Err(Error::WrongType));
                };
                let r = v.edit(|v| {
                    let len = v.len();
                    grow_to(v, offset >> 3);
                    let old = bit_at(v, offset);
                    set_bit_at(v, offset, on);
                    (old, v.len() != len || old != on)
                });
                (Write::Keep, Ok(r))
            }
            None => {
                let mut v = Vec::new();
                grow_to(&mut v, offset >> 3);
                set_bit_at(&mut v, offset, on);
                (Write::Put(Item::new(Value::str(v))), Ok((false, true)))
            }
        })?;
    let (old, changed) = old;
    // As Redis: only a write that created, grew or changed the string says so (and counts
    // in `rdb_changes_since_last_save`).
    if changed {
        ctx.notify(STRING, "setbit", args.get(1));
    } else {
        ctx.session.untouched();
    }
    encode::int(out, i64::from(old));
    Ok(())
}

/// `GETBIT key offset`: 0 past the end or for a missing key.
pub fn getbit(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let offset = bit_offset(ctx, args.get(2), None)?;
    let bit = ctx
        .db()
        .read(args.get(1), ctx.now.unix, |item| {
            item.value
                .as_str()
                .map(|v| bit_at(v, offset))
                .ok_or(Error::WrongType)
        })
        .unwrap_or_else(|| {
            ctx.notifier().keymiss(args.get(1));
            Ok(false)
        })?;
    encode::int(out, i64::from(bit));
    Ok(())
}

/// Whether a range is in bits (`BIT`) or bytes (`BYTE`, the default).
fn parse_unit(arg: &[u8]) -> Result<bool, Error> {
    if arg.eq_ignore_ascii_case(b"BIT") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"BYTE") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

/// Redis's index rules for a `start end` range over `total` units (negative counts from
/// the end, clamped to the string): the inclusive range, or `None` when it is empty.
fn clamp_range(start: i64, end: i64, total: i64) -> Option<(u64, u64)> {
    let mut s = if start < 0 {
        total.saturating_add(start)
    } else {
        start
    };
    let mut e = if end < 0 {
        total.saturating_add(end)
    } else {
        end
    };
    s = s.max(0);
    e = e.max(0);
    if e >= total {
        e = total - 1;
    }
    if s > e {
        return None;
    }
    Some((u64::try_from(s).ok()?, u64::try_from(e).ok()?))
}

/// Set bits in `bytes`, a `u64` word at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut n: u64 = words
        .map(|w| {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            u64::from(u64::from_ne_bytes(a).count_ones())
        })
        .sum();
    n += tail.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    n
}

/// Set bits of `v` in the inclusive bit range `first..=last` (both inside `v`).
fn count_bits(v: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = (
        usize::try_from(first >> 3).unwrap_or(usize::MAX),
        usize::try_from(last >> 3).unwrap_or(usize::MAX),
    );
    let Some(bytes) = v.get(fb..=lb) else {
        return 0;
    };
    let mut n = popcount(bytes);
    // Take off the bits of the edge bytes that lie outside the range.
    let head = !(0xFFu8 >> (first & 7));
    let tail = 0xFFu8.checked_shr((last & 7) as u32 + 1).unwrap_or(0);
    if let Some(b) = bytes.first() {
        n -= u64::from((b & head).count_ones());
    }
    if let Some(b) = bytes.last() {
        n -= u64::from((b & tail).count_ones());
    }
    n
}

/// `BITCOUNT key [start end [BYTE | BIT]]`. As Redis 7.0, the key is looked up first: a
/// missing key answers 0 and another type WRONGTYPE before the range is parsed.
pub fn bitcount(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let n = ctx
        .db()
        .read(args.get(1), ctx.now.unix, |item| {
            let v = item.value.as_str().ok_or(Error::WrongType)?;
            let len = i64::try_from(v.len()).unwrap_or(i64::MAX);
            let bits = match args.len() {
                2 => (len > 0).then(|| (0, (len as u64) * 8 - 1)),
                4 | 5 => {
                    let start = arg_i64(args.get(2))?;
                    let end = arg_i64(args.get(3))?;
                    // Redis 7.0 answers this before it reads BIT/BYTE.
                    if start < 0 && end < 0 && start > end {
                        return Ok(0);
                    }
                    let isbit = args.len() == 5 && parse_unit(args.get(4))?;
                    if isbit {
                        clamp_range(start, end, len.saturating_mul(8))
                    } else {
                        clamp_range(start, end, len).map(|(s, e)| (s * 8, e * 8 + 7))
                    }
                }
                _ => return Err(Error::Syntax),
            };
            Ok(bits.map_or(0, |(s, e)| count_bits(v, s, e)))
        })
        .unwrap_or_else(|| {
            ctx.notifier().keymiss(args.get(1));
            Ok(0)
        })?;
    int_reply(out, n);
    Ok(())
}

/// The first bit equal to `bit` in the inclusive bit range `first..=last` of `v` (both
/// inside `v`), skipping whole `u64` words that cannot hold it.
fn find_bit(v: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let fb = usize::try_from(first >> 3).ok()?;
    let lb = usize::try_from(last >> 3).ok()?;
    // Bits that match `bit` are set in `hits`, masked to the range at the edges.
    let hits = |i: usize, b: u8| -> u8 {
        let mut h = if bit { b } else { !b };
        if i == fb {
            h &= 0xFF >> (first & 7);
        }
        if i == lb {
            h &= 0xFFu8 << (7 - (last & 7));
        }
        h
    };
    let found = |i: usize, h: u8| (i as u64) * 8 + u64::from(h.leading_zeros());
    let h = hits(fb, *v.get(fb)?);
    if h != 0 {
        return Some(found(fb, h));
    }
    if lb == fb {
        return None;
    }
    let middle = v.get(fb + 1..lb)?;
    let skip_word = if bit { 0u64 } else { u64::MAX };
    let mut at = 0;
    for w in middle.chunks_exact(8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        if u64::from_ne_bytes(a) != skip_word {
            break;
        }
        at += 8;
    }
    for (j, &b) in middle.iter().enumerate().skip(at) {
        let h = hits(fb + 1 + j, b);
        if h != 0 {
            return Some(found(fb + 1 + j, h));
        }
    }
    let h = hits(lb, *v.get(lb)?);
    (h != 0).then(|| found(lb, h))
}

/// `BITPOS key 0|1 [start [end [BYTE | BIT]]]`: the first bit set (or clear); looking for
/// 0 without an explicit end treats the string as zero-padded on the right. As Redis 7.0,
/// the key is looked up right after the bit argument, before the range is parsed.
pub fn bitpos(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let bit = arg_i64(args.get(2))?;
    if bit != 0 && bit != 1 {
        return Err(BITPOS_BIT_ERR);
    }
    let bit = bit == 1;
    let pos = ctx
        .db()
        .read(args.get(1), ctx.now.unix, |item| {
            let v = item.value.as_str().ok_or(Error::WrongType)?;
            let (start, end, isbit) = match args.len() {
                3 => (0, None, false),
                4..=6 => {
                    let start = arg_i64(args.get(3))?;
                    let isbit = args.len() == 6 && parse_unit(args.get(5))?;
                    let end = if args.len() >= 5 {
                        Some(arg_i64(args.get(4))?)
                    } else {
                        None
                    };
                    (start, end, isbit)
                }
                _ => return Err(Error::Syntax),
            };
            let len = i64::try_from(v.len()).unwrap_or(i64::MAX);
            let total = if isbit { len.saturating_mul(8) } else { len };
            let Some((s, e)) = clamp_range(start, end.unwrap_or(-1), total) else {
                return Ok(-1);
            };
            let (s, e) = if isbit { (s, e) } else { (s * 8, e * 8 + 7) };
            Ok(match find_bit(v, s, e, bit) {
                Some(p) => i64::try_from(p).unwrap_or(i64::MAX),
                None if bit || end.is_some() => -1,
                None => len.saturating_mul(8),
            })
        })
        .unwrap_or_else(|| {
            ctx.notifier().keymiss(args.get(1));
            Ok(if bit { -1 } else { 0 })
        })?;
    encode::int(out, pos);
    Ok(())
}

/// A BITOP operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`: the length of the result; an empty
/// result deletes `destkey`. Sources and destination are read and written in one
/// [`crate::db::Db::multi`].
pub fn bitop(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let name = args.get(1);
    let op = if name.eq_ignore_ascii_case(b"AND") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"OR") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"XOR") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"NOT") {
        BitOp::Not
    } else {
        return Err(Error::Syntax);
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(BITOP_NOT_ERR);
    }
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    let (dest, sources) = keys.split_first().ok_or(Error::Syntax)?;
    let notify = ctx.notifier();
    let len = ctx.db().multi(&keys, ctx.now.unix, |m| {
        let mut srcs: Vec<Vec<u8>> = Vec::with_capacity(sources.len());
        for key in sources {
            match m.read(key, |item| item.value.as_str().map(<[u8]>::to_vec)) {
                Some(Some(v)) => srcs.push(v),
                Some(None) => return Err(Error::WrongType),
                None => {
                    notify.keymiss(key);
                    srcs.push(Vec::new());
                }
            }
        }
        let maxlen = srcs.iter().map(Vec::len).max().unwrap_or(0);
        if maxlen == 0 {
            if m.delete(dest) {
                notify.event(GENERIC, "del", dest);
            }
            return Ok(0);
        }
        let mut res = vec![0u8; maxlen];
        let mut iter = srcs.iter();
        if let Some(first) = iter.next() {
            if let Some(dst) = res.get_mut(..first.len()) {
                dst.copy_from_slice(first);
            }
        }
        match op {
            BitOp::Not => res.iter_mut().for_each(|b| *b = !*b),
            BitOp::And => {
                for s in iter {
                    for (i, r) in res.iter_mut().enumerate() {
                        *r &= s.get(i).copied().unwrap_or(0);
                    }
                }
            }
            BitOp::Or | BitOp::Xor => {
                for s in iter {
                    for (r, b) in res.iter_mut().zip(s) {
                        if op == BitOp::Or {
                            *r |= b;
                        } else {
                            *r ^= b;
                        }
                    }
                }
            }
        }
        m.put(dest, Item::new(Value::str(res)));
        notify.event(STRING, "set", dest);
        Ok(maxlen)
    })?;
    int_reply(out, len as u64);
    Ok(())
}

/// What BITFIELD does when a SET or INCRBY does not fit its field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// A BITFIELD subcommand.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

/// Parses `i1`..`i64` / `u1`..`u63` as Redis's `getBitfieldTypeFromArgument` (which reads
/// the width as a C string, so it stops at a NUL byte).
fn parse_type(arg: &[u8]) -> Result<(bool, u32), Error> {
    let (signed, rest) = match arg.split_first() {
        Some((b'i', rest)) => (true, rest),
        Some((b'u', rest)) => (false, rest),
        _ => return Err(BITFIELD_TYPE_ERR),
    };
    let rest = rest.split(|&b| b == 0).next().unwrap_or(&[]);
    let bits = crate::resp::parse::parse_i64(rest).ok_or(BITFIELD_TYPE_ERR)?;
    let max = if signed {
        BITFIELD_MAX_BITS
    } else {
        BITFIELD_MAX_BITS - 1
    };
    match u32::try_from(bits) {
        Ok(b) if (1..=max).contains(&b) => Ok((signed, b)),
        _ => Err(BITFIELD_TYPE_ERR),
    }
}

/// Parses BITFIELD's subcommands (from argument 2) as Redis does, all before any runs.
/// Their number is bounded by the argument count, which the protocol limits bound.
fn parse_fields(ctx: &Ctx<'_>, args: &Args<'_>) -> Result<Vec<Field>, Error> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let sub = args.get(j);
        let op = if sub.eq_ignore_ascii_case(b"GET") && remaining >= 2 {
            FieldOp::Get
        } else if sub.eq_ignore_ascii_case(b"SET") && remaining >= 3 {
            FieldOp::Set
        } else if sub.eq_ignore_ascii_case(b"INCRBY") && remaining >= 3 {
            FieldOp::IncrBy
        } else if sub.eq_ignore_ascii_case(b"OVERFLOW") && remaining >= 1 {
            let kind = args.get(j + 1);
            overflow = if kind.eq_ignore_ascii_case(b"WRAP") {
                Overflow::Wrap
            } else if kind.eq_ignore_ascii_case(b"SAT") {
                Overflow::Sat
            } else if kind.eq_ignore_ascii_case(b"FAIL") {
                Overflow::Fail
            } else {
                return Err(OVERFLOW_ERR);
            };
            j += 2;
            continue;
        } else {
            return Err(Error::Syntax);
        };
        let (signed, bits) = parse_type(args.get(j + 1))?;
        let offset = bit_offset(ctx, args.get(j + 2), Some(bits))?;
        let value = if op == FieldOp::Get {
            0
        } else {
            arg_i64(args.get(j + 3))?
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

/// The `bits`-wide unsigned field at bit `offset` of `v` (zero-padded past the end).
fn get_unsigned(v: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0u64, |acc, j| (acc << 1) | u64::from(bit_at(v, offset + j)))
}

/// The `bits`-wide two's-complement field at bit `offset` of `v`.
fn get_signed(v: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(v, offset, bits);
    if bits < 64 && u & (1u64 << (bits - 1)) != 0 {
        (u | (u64::MAX << bits)) as i64
    } else {
        u as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` of `v` (already long enough).
fn set_field(v: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = value & (1u64 << (u64::from(bits) - 1 - j)) != 0;
        set_bit_at(v, offset + j, on);
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `None` if `value + incr` fits `bits`, else
/// the value to store under `ow` (`None` inside for FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<u64>> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(0),
            Overflow::Fail => None,
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`, shaped as [`unsigned_overflow`].
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                (c | mask) as i64
            } else {
                (c & !mask) as i64
            }
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(min),
            Overflow::Fail => None,
        })
    } else {
        None
    }
}

/// Runs one SET or INCRBY on `v`: the reply value and whether the field's value changed,
/// or `None` for a FAIL overflow (nothing written).
fn write_field(v: &mut [u8], f: &Field) -> Option<(i64, bool)> {
    if f.signed {
        let old = get_signed(v, f.offset, f.bits);
        let (new, reply) = if f.op == FieldOp::IncrBy {
            let new = match signed_overflow(old, f.value, f.bits, f.overflow) {
                Some(r) => r?,
                None => old.wrapping_add(f.value),
            };
            (new, new)
        } else {
            let new = match signed_overflow(f.value, 0, f.bits, f.overflow) {
                Some(r) => r?,
                None => f.value,
            };
            (new, old)
        };
        set_field(v, f.offset, f.bits, new as u64);
        Some((reply, new != old))
    } else {
        let old = get_unsigned(v, f.offset, f.bits);
        let (new, reply) = if f.op == FieldOp::IncrBy {
            let new = match unsigned_overflow(old, f.value, f.bits, f.overflow) {
                Some(r) => r?,
                None => old.wrapping_add(f.value as u64),
            };
            (new, new)
        } else {
            let new = match unsigned_overflow(f.value as u64, 0, f.bits, f.overflow) {
                Some(r) => r?,
                None => f.value as u64,
            };
            (new, old)
        };
        set_field(v, f.offset, f.bits, new);
        Some((reply as i64, new != old))
    }
}

/// Appends the reply of a GET of field `f` in `v`.
fn get_field(out: &mut Vec<u8>, v: &[u8], f: &Field) {
    let n = if f.signed {
        get_signed(v, f.offset, f.bits)
    } else {
        get_unsigned(v, f.offset, f.bits) as i64
    };
    encode::int(out, n);
}

fn bitfield_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    out: &mut Vec<u8>,
    read_only: bool,
) -> CmdResult {
    let fields = parse_fields(ctx, args)?;
    let writes = fields.iter().any(|f| f.op != FieldOp::Get);
    if !writes {
        if !read_only {
            // A BITFIELD of GETs changes nothing (no `dirty`, no WATCH touched).
            ctx.session.untouched();
        }
        let empty: &[u8] = &[];
        let found = ctx.db().read(args.get(1), ctx.now.unix, |item| {
            let v = item.value.as_str().ok_or(Error::WrongType)?;
            encode::array(out, fields.len());
            for f in &fields {
                get_field(out, v, f);
            }
            Ok(())
        });
        if let Some(r) = found {
            return r;
        }
        ctx.notifier().keymiss(args.get(1));
        encode::array(out, fields.len());
        for f in &fields {
            get_field(out, empty, f);
        }
        return Ok(());
    }
    if read_only {
        return Err(BITFIELD_RO_ERR);
    }
    // The string grows to the farthest bit any write reaches before the first runs.
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max()
        .unwrap_or(0);
    // How many writes changed the string (Redis's `changes`: a write that did not FAIL
    // counts when the string was created or grown, or when the field's value changed).
    let run = |v: &mut Vec<u8>, created: bool, out: &mut Vec<u8>| -> usize {
        let len = v.len();
        grow_to(v, highest >> 3);
        let dirty = created || v.len() != len;
        let mut changes = 0;
        encode::array(out, fields.len());
        for f in &fields {
            if f.op == FieldOp::Get {
                get_field(out, v, f);
            } else {
                match write_field(v, f) {
                    Some((n, changed)) => {
                        changes += usize::from(dirty || changed);
                        encode::int(out, n);
                    }
                    None => encode::nil(out),
                }
            }
        }
        changes
    };
    let changed = ctx
        .db()
        .write(args.get(1), ctx.now.unix, |item| match item {
            Some(item) => {
                let Some(v) = item.value.as_str_mut() else {
                    return (Write::Keep, Err(Error::WrongType));
                };
                let changed = v.edit(|v| run(v, false, out));
                (Write::Keep, Ok(changed))
            }
            None => {
                let mut v = Vec::new();
                let changed = run(&mut v, true, out);
                (Write::Put(Item::new(Value::str(v))), Ok(changed))
            }
        })?;
    if changed > 0 {
        ctx.notify(STRING, "setbit", args.get(1));
        // Redis adds each change to `dirty` (`rdb_changes_since_last_save`): the key
        // argument once per change.
        if changed > 1 {
            ctx.session.touched = Some(alloc::vec![1; changed.min(fields.len())]);
        }
    } else if !read_only {
        ctx.session.untouched();
    }
    Ok(())
}

/// `BITFIELD key [GET type offset | SET type offset value | INCRBY type offset incr |
/// OVERFLOW WRAP|SAT|FAIL] ...`: one reply per GET/SET/INCRBY, nil for a FAIL overflow.
pub fn bitfield(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    bitfield_generic(ctx, args, out, false)
}

/// `BITFIELD_RO key [GET type offset ...]`.
pub fn bitfield_ro(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    bitfield_generic(ctx, args, out, true)
}

/// One matching range of LCS IDX: (start, end) in `a`, (start, end) in `b`, length.
type LcsMatch = ((u64, u64), (u64, u64), u64);

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`, as Redis 7.0's
/// `lcsCommand`. Both keys are read at one instant ([`crate::db::Db::multi_read`]) and
/// copied; the table is computed after the locks are released.
pub fn lcs(ctx: &mut Ctx<'_>, args: &Args<'_>, out: &mut Vec<u8>) -> CmdResult {
    let (ka, kb) = (args.get(1), args.get(2));
    let keys = [ka, kb];
    // Both keys are read (and a missing one notified) before either's type is checked.
    let (a, b) = ctx.db().multi_read(&keys, ctx.now.unix, |m| {
        let get = |k: &[u8]| m.read(k, |item| item.value.as_str().map(<[u8]>::to_vec));
        (get(ka), get(kb))
    });
    for (k, v) in [(ka, &a), (kb, &b)] {
        if v.is_none() {
            ctx.notifier().keymiss(k);
        }
    }
    let (a, b) = match (a, b) {
        (Some(None), _) | (_, Some(None)) => return Err(LCS_TYPE_ERR),
        (a, b) => (
            a.flatten().unwrap_or_default(),
            b.flatten().unwrap_or_default(),
        ),
    };
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: u64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if opt.eq_ignore_ascii_case(b"IDX") {
            getidx = true;
        } else if opt.eq_ignore_ascii_case(b"LEN") {
            getlen = true;
        } else if opt.eq_ignore_ascii_case(b"WITHMATCHLEN") {
            withmatchlen = true;
        } else if opt.eq_ignore_ascii_case(b"MINMATCHLEN") && more {
            minmatchlen = u64::try_from(arg_i64(args.get(j + 1))?.max(0)).unwrap_or(0);
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    if getlen && getidx {
        return Err(LCS_BOTH_ERR);
    }
    let (alen, blen) = (a.len() as u64, b.len() as u64);
    if alen >= u64::from(u32::MAX - 1) || blen >= u64::from(u32::MAX - 1) {
        return Err(LCS_TOO_LONG_ERR);
    }
    let cells = (alen + 1) * (blen + 1);
    let limit = ctx.engine.limits().proto_max_bulk_len as u64;
    if cells.saturating_mul(LCS_CELL_BYTES) > limit {
        return Err(LCS_LIMIT_ERR);
    }
    let cells = usize::try_from(cells).map_err(|_| LCS_ALLOC_ERR)?;
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells).map_err(|_| LCS_ALLOC_ERR)?;
    table.resize(cells, 0);
    let cols = b.len() + 1;
    let at = |t: &[u32], i: usize, j: usize| t.get(i * cols + j).copied().unwrap_or(0);
    for (i, &ca) in a.iter().enumerate() {
        for (j, &cb) in b.iter().enumerate() {
            let v = if ca == cb {
                at(&table, i, j) + 1
            } else {
                at(&table, i, j + 1).max(at(&table, i + 1, j))
            };
            if let Some(cell) = table.get_mut((i + 1) * cols + j + 1) {
                *cell = v;
            }
        }
    }
    let total = at(&table, a.len(), b.len());
    if getlen {
        encode::int(out, i64::from(total));
        return Ok(());
    }
    // Walk back from the end, building the LCS string and the matching ranges.
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut matches: Vec<LcsMatch> = Vec::new();
    // `None`: no range open; else (a_start, a_end, b_start, b_end).
    let mut range: Option<(u64, u64, u64, u64)> = None;
    let (mut i, mut jj) = (a.len(), b.len());
    while i > 0 && jj > 0 {
        let mut emit = false;
        let (ca, cb) = (a.get(i - 1), b.get(jj - 1));
        if ca == cb {
            if let (Some(slot), Some(&c)) = (result.get_mut(idx.wrapping_sub(1)), ca) {
                *slot = c;
            }
            let (ia, ib) = ((i - 1) as u64, (jj - 1) as u64);
            match &mut range {
                None => range = Some((ia, ia, ib, ib)),
                Some(r) if r.0 == ia + 1 && r.2 == ib + 1 => {
                    r.0 = ia;
                    r.2 = ib;
                }
                Some(_) => emit = true,
            }
            if range.is_some_and(|r| r.0 == 0 || r.2 == 0) {
                emit = true;
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            jj -= 1;
        } else {
            if at(&table, i - 1, jj) > at(&table, i, jj - 1) {
                i -= 1;
            } else {
                jj -= 1;
            }
            if range.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some((a0, a1, b0, b1)) = range.take() {
                let len = a1 - a0 + 1;
                if minmatchlen == 0 || len >= minmatchlen {
                    matches.push(((a0, a1), (b0, b1), len));
                }
            }
        }
    }
    if !getidx {
        encode::bulk(out, &result);
        return Ok(());
    }
    encode::array(out, 4);
    encode::bulk(out, b"matches");
    encode::array(out, matches.len());
    for ((a0, a1), (b0, b1), len) in matches {
        encode::array(out, if withmatchlen { 3 } else { 2 });
        encode::array(out, 2);
        int_reply(out, a0);
        int_reply(out, a1);
        encode::array(out, 2);
        int_reply(out, b0);
        int_reply(out, b1);
        if withmatchlen {
            int_reply(out, len);
        }
    }
    encode::bulk(out, b"len");
    encode::int(out, i64::from(total));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::Harness;

    #[test]
    fn popcount_and_ranges() {
        let v = [0xFFu8, 0x0F, 0xF0, 0x01, 0, 0, 0, 0, 0xFF, 0x80];
        assert_eq!(popcount(&v), 8 + 4 + 4 + 1 + 8 + 1);
        assert_eq!(count_bits(&v, 0, 79), popcount(&v));
        assert_eq!(count_bits(&v, 4, 11), 4);
        assert_eq!(count_bits(&v, 12, 19), 4 + 4);
        assert_eq!(count_bits(&v, 3, 3), 1);
        assert_eq!(clamp_range(0, -1, 0), None);
        assert_eq!(clamp_range(-100, 100, 6), Some((0, 5)));
        assert_eq!(clamp_range(4, 2, 6), None);
    }

    #[test]
    fn find_bit_in_ranges() {
        let v = [
            0xFFu8, 0xF0, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
        ];
        assert_eq!(find_bit(&v, 0, 95, false), Some(12));
        assert_eq!(find_bit(&v, 0, 95, true), Some(0));
        assert_eq!(find_bit(&v, 12, 23, true), None);
        assert_eq!(find_bit(&v, 24, 94, false), Some(88));
        assert_eq!(find_bit(&v, 24, 87, false), None);
        assert_eq!(find_bit(&v, 16, 95, true), Some(24));
        assert_eq!(find_bit(&v, 88, 95, true), Some(95));
    }

    #[test]
    fn bitfield_overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(Some(4)));
        assert_eq!(
            unsigned_overflow(250, 10, 8, Overflow::Sat),
            Some(Some(255))
        );
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(Some(0)));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Fail), Some(None));
        assert_eq!(unsigned_overflow(5, -5, 8, Overflow::Fail), None);
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(Some(-128)));
        assert_eq!(
            signed_overflow(-128, -1, 8, Overflow::Sat),
            Some(Some(-128))
        );
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(Some(i64::MIN))
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
            Some(Some(i64::MIN))
        );
        assert_eq!(signed_overflow(-1, 1, 64, Overflow::Fail), None);
    }

    #[test]
    fn commands() {
        let mut h = Harness::new();
        assert_eq!(h.s("SETBIT k 7 1"), ":0\r\n");
        assert_eq!(h.s("SETBIT k 7 0"), ":1\r\n");
        assert_eq!(h.s("SETBIT k 1 1"), ":0\r\n");
        assert_eq!(h.s("GET k"), "$1\r\n@\r\n");
        assert_eq!(h.s("GETBIT k 1"), ":1\r\n");
        assert_eq!(h.s("GETBIT k 1000"), ":0\r\n");
        assert_eq!(
            h.s("SETBIT k 4294967296 1"),
            "-ERR bit offset is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.s("SETBIT k 1 2"),
            "-ERR bit is not an integer or out of range\r\n"
        );
        assert_eq!(h.s("SET f foobar"), "+OK\r\n");
        assert_eq!(h.s("BITCOUNT f"), ":26\r\n");
        assert_eq!(h.s("BITCOUNT f 1 1"), ":6\r\n");
        assert_eq!(h.s("BITCOUNT f 5 30 BIT"), ":17\r\n");
        assert_eq!(h.s("BITPOS f 0"), ":0\r\n");
        assert_eq!(
            h.s("BITPOS f 2"),
            "-ERR The bit argument must be 1 or 0.\r\n"
        );
        assert_eq!(h.s("BITOP AND d f k"), ":6\r\n");
        assert_eq!(h.s("BITOP OR d missing"), ":0\r\n");
        assert_eq!(h.s("EXISTS d"), ":0\r\n");
        assert_eq!(
            h.s("BITOP NOT d f k"),
            "-ERR BITOP NOT must be called with a single source key.\r\n"
        );
        assert_eq!(
            h.s("BITFIELD b SET u8 #1 200 GET u8 8 OVERFLOW FAIL INCRBY u8 8 100"),
            "*3\r\n:0\r\n:200\r\n$-1\r\n"
        );
        assert_eq!(
            h.s("BITFIELD_RO b SET u8 0 1"),
            "-ERR BITFIELD_RO only supports the GET subcommand\r\n"
        );
        assert_eq!(h.s("SET a ohmytext"), "+OK\r\n");
        assert_eq!(h.s("SET b2 mynewtext"), "+OK\r\n");
        assert_eq!(h.s("LCS a b2"), "$6\r\nmytext\r\n");
        assert_eq!(h.s("LCS a b2 LEN"), ":6\r\n");
        assert_eq!(
            h.s("LCS a b2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(h.s("ZADD z 1 m"), ":1\r\n");
        assert_eq!(
            h.s("LCS a z"),
            "-ERR The specified keys must contain string values\r\n"
        );
    }
}
