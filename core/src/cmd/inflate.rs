//! A small raw DEFLATE (RFC 1951) decoder for the COMMAND metadata ([`super::meta`]), which
//! `ci/gen_command_meta.py` compresses with zlib. Cold code, run at most once per blob and
//! process: Huffman codes are decoded a bit at a time from canonical code counts, as in
//! zlib's `contrib/puff`, which is slow but takes little code. Every read is bounds-checked;
//! malformed input gives `None`, never a panic.

use alloc::vec::Vec;

/// Reads the stream's bits, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl Bits<'_> {
    /// The next `need` (at most 16) bits.
    #[inline(never)]
    fn bits(&mut self, need: u32) -> Option<u32> {
        let mut val = self.buf;
        while self.cnt < need {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            val |= u32::from(b) << self.cnt;
            self.cnt += 8;
        }
        self.buf = val.checked_shr(need).unwrap_or(0);
        self.cnt -= need;
        Some(val & ((1u32 << need) - 1))
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbol: [u16; 288],
}

impl Huffman {
    #[inline(never)]
    fn new(lengths: &[u8]) -> Option<Self> {
        let mut h = Huffman {
            count: [0; 16],
            symbol: [0; 288],
        };
        for &l in lengths {
            *h.count.get_mut(usize::from(l))? += 1;
        }
        // offs[len]: where the symbols with codes of length `len` start.
        let mut offs = [0u16; 16];
        let mut sum = 0u16;
        for (o, &c) in offs.iter_mut().zip(h.count.iter()).skip(1) {
            *o = sum;
            sum = sum.checked_add(c)?;
        }
        for (sym, &l) in (0u16..).zip(lengths) {
            if l != 0 {
                let o = offs.get_mut(usize::from(l))?;
                *h.symbol.get_mut(usize::from(*o))? = sym;
                *o += 1;
            }
        }
        Some(h)
    }

    #[inline(never)]
    fn decode(&self, s: &mut Bits<'_>) -> Option<u16> {
        // code: the bits read so far; first: the first code of the current length;
        // index: the index of that first code's symbol.
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for &count in self.count.iter().skip(1) {
            code |= s.bits(1)?;
            let count = u32::from(count);
            if code < first + count {
                let at = usize::try_from(index + code.checked_sub(first)?).ok()?;
                return self.symbol.get(at).copied();
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

/// Base lengths and extra bits of length symbols 257..285.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances and extra bits of distance symbols 0..29.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Decodes one Huffman-coded block's symbols into `out`.
#[inline(never)]
fn codes(s: &mut Bits<'_>, out: &mut Vec<u8>, lit: &Huffman, dist: &Huffman) -> Option<()> {
    loop {
        let sym = lit.decode(s)?;
        if sym < 256 {
            out.push(u8::try_from(sym).ok()?);
            continue;
        }
        if sym == 256 {
            return Some(());
        }
        let i = usize::from(sym - 257);
        let len = usize::from(*LEN_BASE.get(i)?) + s.bits(u32::from(*LEN_EXTRA.get(i)?))? as usize;
        let d = usize::from(dist.decode(s)?);
        let back =
            usize::from(*DIST_BASE.get(d)?) + s.bits(u32::from(*DIST_EXTRA.get(d)?))? as usize;
        let from = out.len().checked_sub(back)?;
        for k in from..from + len {
            let b = *out.get(k)?;
            out.push(b);
        }
    }
}

/// Where code length codes' lengths are stored, in order, in a dynamic block's header.
const ORDER: [u8; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A dynamic block's literal/length and distance codes, from its header.
#[inline(never)]
fn dynamic(s: &mut Bits<'_>) -> Option<(Huffman, Huffman)> {
    let nlen = s.bits(5)? as usize + 257;
    let ndist = s.bits(5)? as usize + 1;
    let ncode = s.bits(4)? as usize + 4;
    let mut lengths = [0u8; 19];
    for &o in ORDER.iter().take(ncode) {
        *lengths.get_mut(usize::from(o))? = u8::try_from(s.bits(3)?).ok()?;
    }
    let lencode = Huffman::new(&lengths)?;
    let mut lengths: Vec<u8> = Vec::with_capacity(nlen + ndist);
    while lengths.len() < nlen + ndist {
        let sym = lencode.decode(s)?;
        let (value, repeat) = match sym {
            0..=15 => (u8::try_from(sym).ok()?, 1),
            16 => (*lengths.last()?, 3 + s.bits(2)?),
            17 => (0, 3 + s.bits(3)?),
            _ => (0, 11 + s.bits(7)?),
        };
        for _ in 0..repeat {
            lengths.push(value);
        }
    }
    if lengths.len() != nlen + ndist {
        return None;
    }
    let (lit, dist) = lengths.split_at(nlen);
    Some((Huffman::new(lit)?, Huffman::new(dist)?))
}

/// Decompresses the raw DEFLATE stream `data`; `size` is the expected size, for the
/// allocation.
pub fn inflate(data: &[u8], size: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(size);
    let mut s = Bits {
        data,
        pos: 0,
        buf: 0,
        cnt: 0,
    };
    loop {
        let last = s.bits(1)?;
        match s.bits(2)? {
            0 => {
                // Stored: byte-aligned LEN, NLEN, then LEN bytes.
                s.buf = 0;
                s.cnt = 0;
                let len = s.bits(16)? as usize;
                if s.bits(16)? as usize != !len & 0xffff {
                    return None;
                }
                out.extend_from_slice(s.data.get(s.pos..s.pos.checked_add(len)?)?);
                s.pos += len;
            }
            1 => {
                let mut lengths = [8u8; 288];
                lengths.iter_mut().skip(144).take(112).for_each(|l| *l = 9);
                lengths.iter_mut().skip(256).take(24).for_each(|l| *l = 7);
                let lit = Huffman::new(&lengths)?;
                let dist = Huffman::new(&[5; 30])?;
                codes(&mut s, &mut out, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic(&mut s)?;
                codes(&mut s, &mut out, &lit, &dist)?;
            }
            _ => return None,
        }
        if last == 1 {
            return Some(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::inflate;

    #[test]
    fn stored_fixed_and_dynamic_blocks() {
        // Python's zlib.compress(..., wbits=-15) at levels 0 (stored) and 9, of "abcabcabc\n"
        // (fixed codes) and of the metadata (dynamic codes, tested in meta).
        let stored = [
            1, 10, 0, 245, 255, b'a', b'b', b'c', b'a', b'b', b'c', b'a', b'b', b'c', b'\n',
        ];
        assert_eq!(inflate(&stored, 0).as_deref(), Some(&b"abcabcabc\n"[..]));
        let fixed = [75, 76, 74, 78, 4, 35, 46, 0];
        assert_eq!(inflate(&fixed, 0).as_deref(), Some(&b"abcabcabc\n"[..]));
        assert_eq!(inflate(&fixed[..5], 0), None);
        assert_eq!(inflate(&[7], 0), None);
    }
}
