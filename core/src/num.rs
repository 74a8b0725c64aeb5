//! Numbers as Redis formats them.
//!
//! INCRBYFLOAT works in C's `long double`, which on x86-64 is the x87 80-bit extended
//! format (64-bit significand), and prints with `%.17Lf`. To answer byte for byte as
//! redis-server on x86-64 does, [`LongDouble`] emulates that format exactly in software:
//! correctly rounded decimal parsing (glibc's `strtold`), correctly rounded addition
//! (round to nearest, ties to even), and exact `%.17Lf` printing. It uses a small unsigned
//! big integer, [`Big`], whose sizes are bounded by [`MAX_FLOAT_CHARS`] digits.
//!
//! Without kv-core's `x87-float` feature (a trimmed build for small targets) [`LongDouble`]
//! is an `f64` with the same API: INCRBYFLOAT and HINCRBYFLOAT then answer as redis-server
//! does where C's `long double` is `double` (32-bit ARM), which can differ from x86-64 in the
//! last digits (`10.5` + `0.1` gives `10.59999999999999964`, not `10.6`) and in range
//! (beyond about `1.8e308` the sum is an error).

use alloc::string::String;
#[cfg(feature = "x87-float")]
use alloc::vec;
use alloc::vec::Vec;
#[cfg(feature = "x87-float")]
use core::cmp::Ordering;

/// Most characters a float argument may have (Redis's `MAX_LONG_DOUBLE_CHARS`).
pub const MAX_FLOAT_CHARS: usize = 5 * 1024;

#[cfg(feature = "x87-float")]
/// Largest binary exponent of a normal extended value (value < 2^16384).
const MAX_EXP: i32 = 16383;
#[cfg(feature = "x87-float")]
/// Smallest binary exponent of a normal extended value (value >= 2^-16382).
const MIN_EXP: i32 = -16382;

/// An unsigned big integer, little-endian 32-bit limbs, no trailing zero limbs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Big(Vec<u32>);

impl Big {
    #[cfg(feature = "x87-float")]
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> u32 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
        }
    }

    fn bit(&self, i: u32) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    /// True when any bit below `i` is set.
    fn any_below(&self, i: u32) -> bool {
        let full = (i / 32) as usize;
        if self.0.iter().take(full).any(|&l| l != 0) {
            return true;
        }
        let rem = i % 32;
        rem > 0
            && self
                .0
                .get(full)
                .is_some_and(|&l| l & ((1u32 << rem) - 1) != 0)
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in self.0.iter_mut() {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for l in self.0.iter_mut() {
            if carry == 0 {
                break;
            }
            let v = u64::from(*l) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    #[cfg(feature = "x87-float")]
    /// Divides by a small number, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.0.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*l);
            *l = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    #[cfg(feature = "x87-float")]
    fn shl(&self, bits: u32) -> Big {
        let (limbs, rem) = ((bits / 32) as usize, bits % 32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            out.push((l << rem) | carry);
            carry = if rem == 0 { 0 } else { l >> (32 - rem) };
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr(&self, bits: u32) -> Big {
        let (limbs, rem) = ((bits / 32) as usize, bits % 32);
        let src = self.0.get(limbs..).unwrap_or(&[]);
        let mut out = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let hi = src.get(i + 1).copied().unwrap_or(0);
            out.push(if rem == 0 {
                l
            } else {
                (l >> rem) | (hi << (32 - rem))
            });
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    #[cfg(feature = "x87-float")]
    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    #[cfg(feature = "x87-float")]
    fn add(&self, o: &Big) -> Big {
        let n = self.0.len().max(o.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(o.0.get(i).copied().unwrap_or(0))
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }

    #[cfg(feature = "x87-float")]
    /// `self - o`, for `self >= o`.
    fn sub(&self, o: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for (i, &l) in self.0.iter().enumerate() {
            let mut v = i64::from(l) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    #[cfg(feature = "x87-float")]
    fn pow10(k: u32) -> Big {
        let mut b = Big::from_u64(1);
        for _ in 0..k / 9 {
            b.mul_small(1_000_000_000);
        }
        for _ in 0..k % 9 {
            b.mul_small(10);
        }
        b
    }

    #[cfg(feature = "x87-float")]
    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return String::from("0");
        }
        let mut b = self.clone();
        let mut chunks = Vec::new();
        while !b.is_zero() {
            chunks.push(b.div_small(1_000_000_000));
        }
        let mut s = String::new();
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&alloc::format!("{c}"));
            } else {
                s.push_str(&alloc::format!("{c:09}"));
            }
        }
        s
    }
}

#[cfg(feature = "x87-float")]
/// An x87 80-bit extended value: `(-1)^neg * m * 2^e` with `m` normalised (top bit set)
/// unless the value is zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    m: u64,
    e: i32,
}

#[cfg(feature = "x87-float")]
/// Rounds `n * 2^e` to a 64-bit significand, ties to even; `None` on overflow or when the
/// result is below the normal range.
fn round_big(neg: bool, n: &Big, e: i32, sticky: bool) -> Option<LongDouble> {
    if n.is_zero() {
        return Some(LongDouble { neg, m: 0, e: 0 });
    }
    let len = n.bit_len();
    let (mut m, mut e) = if len <= 64 {
        let shifted = n.shl(64 - len);
        (to_u64(&shifted), e - (64 - len) as i32)
    } else {
        let drop = len - 64;
        let top = to_u64(&n.shr(drop));
        let half = n.bit(drop - 1);
        let rest = n.any_below(drop - 1) || sticky;
        let mut m = top;
        let mut e2 = e + drop as i32;
        if half && (rest || m & 1 == 1) {
            m = m.wrapping_add(1);
            if m == 0 {
                m = 1 << 63;
                e2 += 1;
            }
        }
        (m, e2)
    };
    if m == 0 {
        m = 1 << 63;
        e += 1;
    }
    let exp = e + 63;
    if !(MIN_EXP..=MAX_EXP).contains(&exp) {
        return None;
    }
    Some(LongDouble { neg, m, e })
}

/// The low 64 bits of `b`.
fn to_u64(b: &Big) -> u64 {
    u64::from(b.0.first().copied().unwrap_or(0))
        | (u64::from(b.0.get(1).copied().unwrap_or(0)) << 32)
}

/// Parses the signed decimal exponent of a float literal at `s[*i..]`, advancing `i`;
/// saturates at ±1,000,000 (far beyond any finite value). `Err(false)` without digits.
fn parse_exponent(s: &[u8], i: &mut usize) -> Result<i64, bool> {
    let neg = match s.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    };
    let start = *i;
    let mut exp: i64 = 0;
    while let Some(&c) = s.get(*i) {
        if !c.is_ascii_digit() {
            break;
        }
        exp = (exp * 10 + i64::from(c - b'0')).min(1_000_000);
        *i += 1;
    }
    if *i == start {
        return Err(false);
    }
    Ok(if neg { -exp } else { exp })
}

/// Parses a C99 hexadecimal float body (after the sign) as strtold accepts it:
/// `0x` + hex digits with an optional point + an optional `p` binary exponent. Returns the
/// exact value as `n * 2^e`; `Ok(None)` when the text is not hexadecimal at all.
pub fn parse_hex(body: &[u8]) -> Result<Option<(Big, i32)>, bool> {
    let Some(rest) = body
        .strip_prefix(b"0x")
        .or_else(|| body.strip_prefix(b"0X"))
    else {
        return Ok(None);
    };
    let mut n = Big::default();
    let (mut any, mut point, mut frac_digits, mut i) = (false, false, 0i64, 0usize);
    while let Some(&c) = rest.get(i) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'.' if !point => {
                point = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        any = true;
        if !n.is_zero() || d != 0 {
            n.mul_small(16);
            n.add_small(u32::from(d));
        }
        if point {
            frac_digits += 1;
        }
        i += 1;
    }
    if !any {
        return Err(false);
    }
    let mut exp: i64 = 0;
    if let Some(b'p' | b'P') = rest.get(i) {
        i += 1;
        exp = parse_exponent(rest, &mut i)?;
    }
    if i != rest.len() || n.bit_len() > 20_000 {
        return Err(false);
    }
    let e = exp - 4 * frac_digits;
    let e = i32::try_from(e.clamp(-100_000, 100_000)).unwrap_or(0);
    Ok(Some((n, e)))
}

/// The double nearest `n * 2^e` (ties to even), for hexadecimal score arguments; `None`
/// when it overflows.
pub fn big_to_f64(n: &Big, e: i32) -> Option<f64> {
    if n.is_zero() {
        return Some(0.0);
    }
    let len = n.bit_len() as i32;
    // Keep 53 bits, rounding the rest.
    let drop = len - 53;
    let (mut m, mut e2) = if drop <= 0 {
        (to_u64(n) << (-drop) as u32, e + drop)
    } else {
        let d = drop as u32;
        let top = to_u64(&n.shr(d));
        let half = n.bit(d - 1);
        let rest = n.any_below(d - 1);
        let mut m = top;
        if half && (rest || m & 1 == 1) {
            m += 1;
        }
        (m, e + drop)
    };
    if m == 1 << 53 {
        m >>= 1;
        e2 += 1;
    }
    if e2 + 52 > 1023 {
        return None;
    }
    // m < 2^53 is exact as a double; scale by powers of two (exact while normal).
    let mut v = m as f64;
    let mut k = e2;
    while k > 0 {
        let step = k.min(60);
        v *= (1u64 << step) as f64;
        k -= step;
    }
    while k < 0 {
        let step = (-k).min(60);
        v /= (1u64 << step) as f64;
        k += step;
    }
    Some(v)
}

#[cfg(feature = "x87-float")]
impl LongDouble {
    /// Zero.
    pub const ZERO: LongDouble = LongDouble {
        neg: false,
        m: 0,
        e: 0,
    };

    /// Parses a decimal number as Redis's `string2ld` does with glibc's `strtold`: optional
    /// sign, digits with an optional point, optional exponent; the whole string, no leading
    /// space, at most [`MAX_FLOAT_CHARS`]. `Err(true)` means the text is `inf`/`infinity`
    /// (valid, but never finite); `Err(false)` means it is not a valid float or overflows or
    /// underflows (strtold's ERANGE). NaN and hexadecimal floats are refused.
    pub fn parse(s: &[u8]) -> Result<LongDouble, bool> {
        if s.is_empty() || s.len() > MAX_FLOAT_CHARS {
            return Err(false);
        }
        let (neg, body) = match s.split_first() {
            Some((b'-', r)) => (true, r),
            Some((b'+', r)) => (false, r),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Err(true);
        }
        if let Some((n, e)) = parse_hex(body)? {
            return round_big(neg, &n, e, false).ok_or(false);
        }
        let mut digits = Big::default();
        let (mut any, mut point, mut frac, mut i) = (false, false, 0i64, 0usize);
        while let Some(&c) = body.get(i) {
            match c {
                b'0'..=b'9' => {
                    any = true;
                    if !digits.is_zero() || c != b'0' {
                        digits.mul_small(10);
                        digits.add_small(u32::from(c - b'0'));
                    }
                    if point {
                        frac += 1;
                    }
                }
                b'.' if !point => point = true,
                _ => break,
            }
            i += 1;
        }
        if !any {
            return Err(false);
        }
        let mut exp: i64 = 0;
        if let Some(b'e' | b'E') = body.get(i) {
            i += 1;
            exp = parse_exponent(body, &mut i)?;
        }
        if i != body.len() {
            return Err(false);
        }
        if digits.is_zero() {
            return Ok(LongDouble { neg, m: 0, e: 0 });
        }
        let k = exp - frac;
        // Quick range checks: 10^k beyond any extended value.
        let digits_len = i64::from(digits.bit_len());
        if k > 5000 || (digits_len as f64 * 0.302 + k as f64) > 4933.0 {
            return Err(false);
        }
        if (digits_len as f64 * 0.302 + k as f64) < -4952.0 {
            return Err(false);
        }
        if k >= 0 {
            let mut n = digits;
            for _ in 0..k / 9 {
                n.mul_small(1_000_000_000);
            }
            for _ in 0..k % 9 {
                n.mul_small(10);
            }
            return round_big(neg, &n, 0, false).ok_or(false);
        }
        // digits / 10^-k: scale the dividend so the quotient has 66..68 bits.
        let f = Big::pow10((-k) as u32);
        let shift = 67 - (i64::from(digits.bit_len()) - i64::from(f.bit_len()));
        let (num, den, e) = if shift >= 0 {
            (digits.shl(shift as u32), f, -(shift as i32))
        } else {
            (digits, f.shl((-shift) as u32), (-shift) as i32)
        };
        let mut rem = num;
        let mut q = Big::default();
        for bit in (0..70u32).rev() {
            let d = den.shl(bit);
            if rem.cmp(&d) != Ordering::Less {
                rem = rem.sub(&d);
                q = q.add(&Big::from_u64(1).shl(bit));
            }
        }
        round_big(neg, &q, e, !rem.is_zero()).ok_or(false)
    }

    /// `ceill(self * 1000.0)` converted to a 64-bit integer as x86 does it: the product
    /// rounded to 64 significant bits, then rounded up; a result outside the `i64` range
    /// gives `i64::MIN` (the "integer indefinite" value). Redis's blocking timeouts in
    /// seconds become milliseconds this way.
    pub fn ceil_millis(self) -> i64 {
        if self.m == 0 {
            return 0;
        }
        let mut p = u128::from(self.m) * 1000;
        let mut e = i64::from(self.e);
        let bits = 128 - p.leading_zeros();
        if bits > 64 {
            let drop = bits - 64;
            let q = p >> drop;
            let rem = p & ((1u128 << drop) - 1);
            let half = 1u128 << (drop - 1);
            let mut q = q;
            if rem > half || (rem == half && q & 1 == 1) {
                q += 1;
            }
            p = q;
            e += i64::from(drop);
        }
        // |value| = p * 2^e; integer part and whether a fraction is left.
        let (int, frac) = if e >= 0 {
            if e >= 64 || p.leading_zeros() < u32::try_from(e).unwrap_or(0) + 1 {
                return i64::MIN;
            }
            (p << e, false)
        } else {
            let sh = u32::try_from(-e).unwrap_or(u32::MAX);
            if sh >= 128 {
                (0, true)
            } else {
                (p >> sh, p & ((1u128 << sh) - 1) != 0)
            }
        };
        let int = if !self.neg && frac { int + 1 } else { int };
        if self.neg {
            if int > 1u128 << 63 {
                return i64::MIN;
            }
            // -2^63 itself is i64::MIN.
            0i64.wrapping_sub(int as i64)
        } else {
            i64::try_from(int).unwrap_or(i64::MIN)
        }
    }

    /// `self + o`, correctly rounded; `None` when the sum overflows (Redis then answers
    /// "increment would produce NaN or Infinity").
    pub fn checked_add(self, o: LongDouble) -> Option<LongDouble> {
        if o.m == 0 {
            return Some(if self.m == 0 {
                LongDouble {
                    neg: self.neg && o.neg,
                    ..LongDouble::ZERO
                }
            } else {
                self
            });
        }
        if self.m == 0 {
            return Some(o);
        }
        let (big, small) = if (self.e, self.m) >= (o.e, o.m) {
            (self, o)
        } else {
            (o, self)
        };
        // Far apart: the smaller only decides rounding, and it is below half an ulp.
        if big.e - small.e > 140 {
            // In units of 2^(e-3): m*8 plus a sliver, or m*8 - 1 plus most of a unit.
            let mut n = Big::from_u64(big.m).shl(3);
            if big.neg != small.neg {
                n = n.sub(&Big::from_u64(1));
            }
            return round_big(big.neg, &n, big.e - 3, true);
        }
        let e0 = small.e;
        let a = Big::from_u64(big.m).shl((big.e - e0) as u32);
        let b = Big::from_u64(small.m);
        if big.neg == small.neg {
            return round_big(big.neg, &a.add(&b), e0, false);
        }
        match a.cmp(&b) {
            Ordering::Equal => Some(LongDouble::ZERO),
            Ordering::Greater => round_big(big.neg, &a.sub(&b), e0, false),
            Ordering::Less => round_big(small.neg, &b.sub(&a), e0, false),
        }
    }

    /// Formats as Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, then trailing zeros and
    /// a trailing point removed, and `-0` written `0`.
    pub fn to_human(self) -> String {
        // round(|value| * 10^17), ties to even.
        let scaled = {
            let mut p = Big::from_u64(self.m);
            for _ in 0..17 {
                p.mul_small(10);
            }
            if self.e >= 0 {
                p.shl(self.e as u32)
            } else {
                let drop = (-self.e) as u32;
                let mut q = p.shr(drop);
                let half = drop > 0 && p.bit(drop - 1);
                let rest = drop > 1 && p.any_below(drop - 1);
                if half && (rest || q.bit(0)) {
                    q.add_small(1);
                }
                q
            }
        };
        let digits = scaled.to_decimal();
        let (int_part, frac_part) = if digits.len() > 17 {
            let (i, f) = digits.split_at(digits.len() - 17);
            (String::from(i), String::from(f))
        } else {
            let mut f = String::new();
            for _ in 0..17 - digits.len() {
                f.push('0');
            }
            f.push_str(&digits);
            (String::from("0"), f)
        };
        let frac = frac_part.trim_end_matches('0');
        let mut s = String::new();
        if self.neg && !(int_part == "0" && frac.is_empty()) {
            s.push('-');
        }
        s.push_str(&int_part);
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        s
    }
}

/// Without the `x87-float` feature: C's `long double` where it is `double` (32-bit ARM), an
/// `f64` with the API of the x87 emulation.
#[cfg(not(feature = "x87-float"))]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble(f64);

#[cfg(not(feature = "x87-float"))]
impl LongDouble {
    /// Zero.
    pub const ZERO: LongDouble = LongDouble(0.0);

    /// Parses a decimal number as Redis's `string2ld` does where `long double` is `double`
    /// (`strtod`): optional sign, digits with an optional point, optional exponent, or a C99
    /// hexadecimal float; the whole string, no leading space, at most [`MAX_FLOAT_CHARS`].
    /// `Err(true)` means the text is `inf`/`infinity` (valid, but never finite); `Err(false)`
    /// means it is not a valid float, or overflows, or underflows to zero. NaN is refused.
    pub fn parse(s: &[u8]) -> Result<LongDouble, bool> {
        if s.is_empty() || s.len() > MAX_FLOAT_CHARS {
            return Err(false);
        }
        let (neg, body) = match s.split_first() {
            Some((b'-', r)) => (true, r),
            Some((b'+', r)) => (false, r),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Err(true);
        }
        let v = if let Some((n, e)) = parse_hex(body)? {
            let v = big_to_f64(&n, e).ok_or(false)?;
            if v == 0.0 && !n.is_zero() {
                return Err(false);
            }
            v
        } else {
            // The grammar first (Rust's parser takes `nan`, `inf` and more), then the value.
            let (mut any, mut point, mut nonzero, mut i) = (false, false, false, 0usize);
            while let Some(&c) = body.get(i) {
                match c {
                    b'0'..=b'9' => {
                        any = true;
                        nonzero |= c != b'0';
                    }
                    b'.' if !point => point = true,
                    _ => break,
                }
                i += 1;
            }
            if !any {
                return Err(false);
            }
            if let Some(b'e' | b'E') = body.get(i) {
                i += 1;
                parse_exponent(body, &mut i)?;
            }
            if i != body.len() {
                return Err(false);
            }
            let text = core::str::from_utf8(body).map_err(|_| false)?;
            let v: f64 = text.parse().map_err(|_| false)?;
            if v.is_infinite() || (v == 0.0 && nonzero) {
                return Err(false);
            }
            v
        };
        Ok(LongDouble(if neg { -v } else { v }))
    }

    /// `(long long) ceil(self * 1000.0)`; a result outside the `i64` range gives `i64::MIN`
    /// as on x86 (the "integer indefinite" value). Redis's blocking timeouts in seconds
    /// become milliseconds this way.
    pub fn ceil_millis(self) -> i64 {
        let p = self.0 * 1000.0;
        // 2^63; NaN is in no range.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if !(-LIMIT..LIMIT).contains(&p) {
            return i64::MIN;
        }
        // In range, so the cast truncates exactly; at 2^52 and beyond `p` is whole.
        let t = p as i64;
        if (t as f64) < p {
            t + 1
        } else {
            t
        }
    }

    /// `self + o`; `None` when the sum is infinite (Redis then answers "increment would
    /// produce NaN or Infinity").
    pub fn checked_add(self, o: LongDouble) -> Option<LongDouble> {
        let sum = self.0 + o.0;
        sum.is_finite().then_some(LongDouble(sum))
    }

    /// Formats as Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17f`, then trailing zeros and
    /// a trailing point removed, and `-0` written `0`.
    pub fn to_human(self) -> String {
        // Rust prints the exact decimal expansion rounded to 17 places, as glibc's printf.
        let mut s = alloc::format!("{:.17}", self.0);
        let kept = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(kept);
        if s == "-0" {
            s.remove(0);
        }
        s
    }
}

/// Formats a double as Redis 7.0 replies with one (`addReplyDouble`: `%.17g`, and `inf` /
/// `-inf`): 17 significant digits, exponent form below 1e-4 or from 1e17, trailing zeros
/// dropped. A negative zero prints as `-0`, as C's printf does.
pub fn fmt_double(d: f64) -> String {
    if d.is_infinite() {
        return String::from(if d > 0.0 { "inf" } else { "-inf" });
    }
    if d.is_nan() {
        return String::from("nan");
    }
    if d == 0.0 {
        return String::from(if d.is_sign_negative() { "-0" } else { "0" });
    }
    // Rust prints the correctly rounded 17 significant digits: d.dddddddddddddddde<exp>.
    let sci = alloc::format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        let rest = rest.trim_end_matches('0');
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&alloc::format!("{e}"));
    } else if exp >= 0 {
        let point = exp as usize + 1;
        let (int, frac) = digits.split_at(point.min(digits.len()));
        out.push_str(int);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    #[test]
    fn timeouts_become_milliseconds_as_redis_ceill_cast() {
        let ms = |t: &str| LongDouble::parse(t.as_bytes()).unwrap().ceil_millis();
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("1.5"), 1500);
        assert_eq!(ms("0.1"), 100);
        assert_eq!(ms("0.001"), 1);
        assert_eq!(ms("0.0009999"), 1);
        assert_eq!(ms("-0.0001"), 0);
        assert_eq!(ms("-1"), -1000);
        assert_eq!(ms("0x10"), 16_000);
        #[cfg(feature = "x87-float")]
        assert_eq!(ms("9223372036854775"), 9_223_372_036_854_775_000);
        // In f64 9223372036854775 rounds up, and its thousandfold is 2^63, out of range.
        #[cfg(not(feature = "x87-float"))]
        assert_eq!(ms("9223372036854775"), i64::MIN);
        assert_eq!(ms("9007199254740"), 9_007_199_254_740_000);
        assert_eq!(ms("1e16"), i64::MIN);
        assert_eq!(ms("-1e16"), i64::MIN);
        #[cfg(feature = "x87-float")]
        assert_eq!(ms("1e400"), i64::MIN);
        assert_eq!(ms("1e300"), i64::MIN);
    }

    #[test]
    fn doubles_print_as_redis_7_0() {
        // Observed from redis-server 7.0.15 ZSCORE.
        let cases: &[(f64, &str)] = &[
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-0.0, "-0"),
            (0.0, "0"),
            (3.0, "3"),
            (2.5e-300, "2.5e-300"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e308, "1e+308"),
            (-1.5, "-1.5"),
            (-0.001, "-0.001"),
        ];
        for (d, want) in cases {
            assert_eq!(super::fmt_double(*d), *want, "{d}");
        }
    }

    fn ld(s: &str) -> LongDouble {
        LongDouble::parse(s.as_bytes()).unwrap()
    }

    fn add(a: &str, b: &str) -> std::string::String {
        ld(a).checked_add(ld(b)).unwrap().to_human()
    }

    #[cfg(feature = "x87-float")]
    #[test]
    fn formats_as_redis_on_x86_64() {
        // Values checked against redis-server 7.0.15 (x86-64) INCRBYFLOAT.
        assert_eq!(add("0", "0.1"), "0.1");
        assert_eq!(add("0.1", "0.2"), "0.3");
        assert_eq!(add("10.5", "0.1"), "10.6");
        assert_eq!(add("0", "1e20"), "100000000000000000000");
        assert_eq!(add("5.0e3", "2.0e2"), "5200");
        assert_eq!(add("1", "-1"), "0");
        assert_eq!(add("-0", "0"), "0");
        assert_eq!(add("3", "-5.5"), "-2.5");
        assert_eq!(add("0", "0.00000000000000001"), "0.00000000000000001");
        assert_eq!(add("0", "0.000000000000000001"), "0");
        assert_eq!(add("0", "-0.000000000000000001"), "0");
    }

    #[test]
    fn parse_rules() {
        for bad in [
            "", " 1", "1 ", "abc", "1e", "nan", "1e5000", "1e-5000", "--1", ".", "e5", "0x", "0xg",
            "0x1p", "0x1q",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), Err(false), "{bad}");
        }
        assert_eq!(LongDouble::parse(b"inf"), Err(true));
        assert_eq!(LongDouble::parse(b"-Infinity"), Err(true));
        let add = |a: &str, b: &str| ld(a).checked_add(ld(b)).unwrap().to_human();
        assert_eq!(add("0", "0x2"), "2");
        assert_eq!(add("0", "-0x1.8p1"), "-3");
        assert_eq!(add("0", "0x.8"), "0.5");
        let (n, e) = super::parse_hex(b"0x10").unwrap().unwrap();
        assert_eq!(super::big_to_f64(&n, e), Some(16.0));
        for ok in [
            "1", "+1", "-1.5", ".5", "5.", "1e10", "1E-10", "00012", "1e300", "0x1p3", "0XaP-1",
        ] {
            assert!(LongDouble::parse(ok.as_bytes()).is_ok(), "{ok}");
        }
    }

    #[cfg(feature = "x87-float")]
    #[test]
    fn extended_range() {
        assert!(LongDouble::parse(b"1e4000").is_ok());
        assert_eq!(
            ld("1e4900")
                .checked_add(ld("1e4900"))
                .map(|v| v.to_human().len() > 4000),
            Some(true)
        );
        assert_eq!(ld("1e4932").checked_add(ld("1e4932")), None);
    }

    #[cfg(not(feature = "x87-float"))]
    #[test]
    fn formats_as_redis_with_double() {
        // glibc's printf("%.17f") of the double sums (what redis-server answers where long
        // double is double), trailing zeros and point removed.
        assert_eq!(add("0", "0.1"), "0.10000000000000001");
        assert_eq!(add("0.1", "0.2"), "0.30000000000000004");
        assert_eq!(add("10.5", "0.1"), "10.59999999999999964");
        assert_eq!(add("0", "1e20"), "100000000000000000000");
        assert_eq!(add("5.0e3", "2.0e2"), "5200");
        assert_eq!(add("1", "-1"), "0");
        assert_eq!(add("-0", "0"), "0");
        assert_eq!(add("-0", "-0"), "0");
        assert_eq!(add("3", "-5.5"), "-2.5");
        assert_eq!(add("0", "0.00000000000000001"), "0.00000000000000001");
        assert_eq!(add("0", "0.000000000000000001"), "0");
        assert_eq!(add("0", "-0.000000000000000001"), "0");
        assert_eq!(
            add("1.5", "1e300"),
            "1000000000000000052504760255204420248704468581108159154915854115511802457988908\
             195786371375080447864043704443832883878176942523235360430575644792184786706982848\
             387200926575803737830233794788090059368953234970799945081119038967640880074652742\
             780142494579258788820056842838115669472196386865459400540160"
        );
        // The double's range: overflow and underflow to zero are errors, subnormals are not.
        for bad in ["1e400", "-1e400", "1e-400", "0x1p-1100", "0x1p1024"] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), Err(false), "{bad}");
        }
        assert!(LongDouble::parse(b"4e-320").is_ok());
        assert_eq!(ld("1e308").checked_add(ld("1e308")), None);
        assert_eq!(add("0", "1.7976931348623157e308").len(), 309);
    }
}
