//! LZF compression as Redis uses it (liblzf 3.6, `lzf_c.c` with Redis's `lzfP.h`: `HLOG`
//! 16, `VERY_FAST`, no `ULTRA_FAST`) and decompression (`lzf_d.c`), bounds-checked: no
//! input makes either panic or read or write out of bounds.
//!
//! The compressor is liblzf's step for step (same hash, same match rules, same give-up
//! points), with a hash table that starts empty; Redis's starts with whatever its stack
//! held, so its output is this one's whenever stale slots do not happen to match.
//!
//! Format: a control byte `c`; `c < 32`: `c + 1` literal bytes follow; else a back
//! reference of length `(c >> 5) + 2` (a length byte added when `c >> 5 == 7`) at distance
//! `((c & 31) << 8 | next byte) + 1`.

use alloc::vec;
use alloc::vec::Vec;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// Inputs shorter than this use a small sparse hash table instead of liblzf's 64 Ki slots
/// (same slots, same results: only the storage differs).
const SPARSE_BELOW: usize = 4096;

/// Why a compressed block could not be expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LzfError {
    /// A literal run or back reference reads past the end of the input, or a back
    /// reference points before the start of the output (liblzf's `EINVAL`).
    Corrupt,
    /// The output would be longer than expected (liblzf's `E2BIG`).
    TooBig,
    /// The output is shorter than expected.
    TooShort,
}

impl core::fmt::Display for LzfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LzfError::Corrupt => "corrupt LZF data",
            LzfError::TooBig => "LZF data expands past its stated length",
            LzfError::TooShort => "LZF data expands to less than its stated length",
        })
    }
}

/// liblzf's hash slot index of the hash value `h` (`IDX` under `VERY_FAST`).
#[inline(always)]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The hash table: slot -> position + 1 of the last 3-byte sequence hashed there (0: none,
/// which liblzf's `ref > in_data` test treats like position 0).
enum Table {
    Dense(Vec<u32>),
    /// Open addressing over (slot + 1, position + 1); 0 is empty.
    Sparse(Vec<(u32, u32)>, usize),
}

impl Table {
    fn new(len: usize) -> Table {
        if len < SPARSE_BELOW {
            let cap = (len * 2).next_power_of_two().max(16);
            Table::Sparse(vec![(0, 0); cap], cap - 1)
        } else {
            Table::Dense(vec![0; HSIZE])
        }
    }

    fn get(&self, slot: usize) -> usize {
        match self {
            Table::Dense(t) => t.get(slot).copied().unwrap_or(0) as usize,
            Table::Sparse(t, mask) => {
                let key = slot as u32 + 1;
                let mut i = (key.wrapping_mul(0x9E37_79B9) >> 8) as usize & mask;
                loop {
                    match t.get(i) {
                        Some(&(k, v)) if k == key => return v as usize,
                        Some(&(0, _)) | None => return 0,
                        Some(_) => i = (i + 1) & mask,
                    }
                }
            }
        }
    }

    fn set(&mut self, slot: usize, pos: usize) {
        let v = pos as u32 + 1;
        match self {
            Table::Dense(t) => {
                if let Some(s) = t.get_mut(slot) {
                    *s = v;
                }
            }
            Table::Sparse(t, mask) => {
                let key = slot as u32 + 1;
                let mut i = (key.wrapping_mul(0x9E37_79B9) >> 8) as usize & *mask;
                // At most `len` distinct slots in a table of at least `2 * len` cells: a
                // free cell is always found.
                for _ in 0..t.len() {
                    match t.get_mut(i) {
                        Some(e) if e.0 == key || e.0 == 0 => {
                            *e = (key, v);
                            return;
                        }
                        _ => i = (i + 1) & *mask,
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Compresses `input` into at most `max_out` bytes, appended to `out`, as liblzf's
/// `lzf_compress(in, len, out, max_out)`; false (and `out` unchanged) when it does not fit
/// or `input` or `max_out` is empty.
pub fn compress_max(input: &[u8], max_out: usize, out: &mut Vec<u8>) -> bool {
    let in_len = input.len();
    if in_len == 0 || max_out == 0 {
        return false;
    }
    let base = out.len();
    // `o` is liblzf's `op` relative to `base`; `buf` grows as `op` moves.
    let mut buf: Vec<u8> = vec![0; max_out.min(in_len + in_len / 16 + 64) + 4];
    let put = |buf: &mut Vec<u8>, i: usize, b: u8| {
        if i >= buf.len() {
            buf.resize(i + 1 + buf.len() / 2, 0);
        }
        if let Some(s) = buf.get_mut(i) {
            *s = b;
        }
    };
    let mut table = Table::new(in_len);
    let mut ip = 0usize;
    let mut op = 1usize; // start run
    let mut lit = 0usize;
    let mut hval: u32 = (u32::from(at(input, 0)) << 8) | u32::from(at(input, 1));
    while ip + 2 < in_len {
        hval = (hval << 8) | u32::from(at(input, ip + 2));
        let slot = idx(hval);
        let r = table.get(slot);
        table.set(slot, ip);
        // liblzf: ref = slot or NULL; off = ip - ref - 1 < MAX_OFF; ref > in_data.
        let matched = r > 1 && {
            let rf = r - 1;
            rf < ip
                && ip - rf - 1 < MAX_OFF
                && at(input, rf + 2) == at(input, ip + 2)
                && at(input, rf) == at(input, ip)
                && at(input, rf + 1) == at(input, ip + 1)
        };
        if matched {
            let rf = r - 1;
            let off = ip - rf - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            if op + 3 + 1 >= max_out && op - usize::from(lit == 0) + 3 + 1 >= max_out {
                return false;
            }
            put(&mut buf, op - lit - 1, (lit as u8).wrapping_sub(1)); // stop run
            op -= usize::from(lit == 0); // undo run if length is zero
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if at(input, rf + len) != at(input, ip + len) {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if !(len < maxlen && at(input, rf + len) == at(input, ip + len)) {
                        break;
                    }
                }
            }
            len -= 2; // len is now #octets - 1
            ip += 1;
            if len < 7 {
                put(&mut buf, op, ((off >> 8) + (len << 5)) as u8);
                op += 1;
            } else {
                put(&mut buf, op, ((off >> 8) + (7 << 5)) as u8);
                put(&mut buf, op + 1, (len - 7) as u8);
                op += 2;
            }
            put(&mut buf, op, off as u8);
            op += 1;
            lit = 0;
            op += 1; // start run
            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            // VERY_FAST: hash the two positions before the new ip.
            ip -= 2;
            hval = (u32::from(at(input, ip)) << 8) | u32::from(at(input, ip + 1));
            hval = (hval << 8) | u32::from(at(input, ip + 2));
            table.set(idx(hval), ip);
            ip += 1;
            hval = (hval << 8) | u32::from(at(input, ip + 2));
            table.set(idx(hval), ip);
            ip += 1;
        } else {
            if op >= max_out {
                return false;
            }
            lit += 1;
            put(&mut buf, op, at(input, ip));
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                put(&mut buf, op - lit - 1, (lit - 1) as u8);
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > max_out {
        return false;
    }
    while ip < in_len {
        lit += 1;
        put(&mut buf, op, at(input, ip));
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            put(&mut buf, op - lit - 1, (lit - 1) as u8);
            lit = 0;
            op += 1;
        }
    }
    put(&mut buf, op - lit - 1, (lit as u8).wrapping_sub(1)); // end run
    op -= usize::from(lit == 0);
    buf.truncate(op);
    out.truncate(base);
    out.extend_from_slice(&buf);
    true
}

/// Compresses `input`, appending to `out`, as Redis's RDB writer does
/// (`rdbSaveLzfStringObject`): only when the result is at least 4 bytes shorter than the
/// input; false (and `out` unchanged) otherwise.
pub fn compress(input: &[u8], out: &mut Vec<u8>) -> bool {
    input.len() > 4 && compress_max(input, input.len() - 4, out)
}

/// Expands `input`, which must give exactly `expected_len` bytes, appended to `out` (only
/// `expected_len` bytes are ever reserved, whatever the input says).
pub fn decompress(input: &[u8], expected_len: usize, out: &mut Vec<u8>) -> Result<(), LzfError> {
    let base = out.len();
    out.reserve(expected_len);
    let end = base + expected_len;
    let mut ip = 0usize;
    let fail = |out: &mut Vec<u8>, e| {
        out.truncate(base);
        Err(e)
    };
    while ip < input.len() {
        let ctrl = usize::from(at(input, ip));
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            if out.len() + n > end {
                return fail(out, LzfError::TooBig);
            }
            let Some(lits) = input.get(ip..ip + n) else {
                return fail(out, LzfError::Corrupt);
            };
            out.extend_from_slice(lits);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if ip >= input.len() {
                return fail(out, LzfError::Corrupt);
            }
            if len == 7 {
                len += usize::from(at(input, ip));
                ip += 1;
                if ip >= input.len() {
                    return fail(out, LzfError::Corrupt);
                }
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(at(input, ip)) + 1;
            ip += 1;
            if out.len() + len + 2 > end {
                return fail(out, LzfError::TooBig);
            }
            let Some(mut from) = out.len().checked_sub(back).filter(|&f| f >= base) else {
                return fail(out, LzfError::Corrupt);
            };
            for _ in 0..len + 2 {
                let b = out.get(from).copied().unwrap_or(0);
                out.push(b);
                from += 1;
            }
        }
    }
    if out.len() != end {
        return fail(out, LzfError::TooShort);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(data: &[u8]) -> Option<Vec<u8>> {
        let mut c = Vec::new();
        if !compress(data, &mut c) {
            return None;
        }
        let mut d = Vec::new();
        decompress(&c, data.len(), &mut d).unwrap();
        assert_eq!(d, data);
        Some(c)
    }

    #[test]
    fn known_vectors() {
        // Produced by liblzf (redis-server's DUMP of these strings).
        assert_eq!(
            round(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap(),
            b"\x01aa\xe0\x11\x00\x01aa".to_vec()
        );
        assert!(round(b"abcdefghijklmnopqrstuvwxyz").is_none());
    }

    #[test]
    fn round_trips() {
        let mut seed = 0x1234_5678u32;
        for len in [5, 21, 100, 1000, 5000, 70_000, 200_000] {
            let data: Vec<u8> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    if (seed >> 16) % 4 == 0 {
                        (seed >> 24) as u8
                    } else {
                        b"abcab"[i % 5]
                    }
                })
                .collect();
            round(&data);
            let rep = alloc::vec![7u8; len];
            assert_eq!(round(&rep).is_some(), len > 20, "len {len}");
        }
    }

    #[test]
    fn corrupt_inputs_fail() {
        let mut d = Vec::new();
        assert_eq!(decompress(b"\x05ab", 6, &mut d), Err(LzfError::Corrupt));
        assert_eq!(decompress(b"\x20\x00", 3, &mut d), Err(LzfError::Corrupt));
        assert_eq!(decompress(b"\x00a", 0, &mut d), Err(LzfError::TooBig));
        assert_eq!(decompress(b"\x00a", 2, &mut d), Err(LzfError::TooShort));
        assert_eq!(decompress(b"\x00a\xe0", 10, &mut d), Err(LzfError::Corrupt));
        assert!(d.is_empty());
        let mut s = 1u32;
        for _ in 0..20_000 {
            let n = (s % 40) as usize;
            let input: Vec<u8> = (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    s as u8
                })
                .collect();
            let _ = decompress(&input, (s % 300) as usize, &mut d);
            d.clear();
        }
    }
}
