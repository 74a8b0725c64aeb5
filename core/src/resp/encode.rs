//! The RESP2 reply encoder: every function appends one reply (or the header of one) to the
//! connection's output buffer. None allocates beyond the growth of that buffer: integers and
//! bulk headers are formatted on the stack.

use alloc::vec::Vec;

/// Formats `n` in decimal into `buf`, returning the used tail.
#[inline]
pub fn fmt_u64(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = n;
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

/// Formats `n` in decimal into `buf` (a sign takes the place of one digit: 19 digits at
/// most follow it), returning the used tail.
#[inline]
pub fn fmt_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let len = fmt_u64(n.unsigned_abs(), buf).len();
    let start = buf.len() - len;
    if n < 0 && start > 0 {
        if let Some(slot) = buf.get_mut(start - 1) {
            *slot = b'-';
        }
        return buf.get(start - 1..).unwrap_or(&[]);
    }
    buf.get(start..).unwrap_or(&[])
}

#[inline]
fn prefixed_int(out: &mut Vec<u8>, prefix: u8, n: i64) {
    let mut buf = [0u8; 20];
    out.push(prefix);
    out.extend_from_slice(fmt_i64(n, &mut buf));
    out.extend_from_slice(b"\r\n");
}

/// `+OK`.
#[inline]
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// A simple string: `+s\r\n`. `s` must not contain CR or LF.
#[inline]
pub fn simple(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'+');
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// An error: `-s\r\n`, with CR and LF inside `s` turned into spaces as Redis does.
pub fn error(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'-');
    error_body(out, s);
    out.extend_from_slice(b"\r\n");
}

/// Appends part of an error message, turning CR and LF into spaces (Redis's
/// `addReplyErrorLength` rule: an error reply is one line).
pub fn error_body(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(
        s.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// An integer: `:n\r\n`.
#[inline]
pub fn int(out: &mut Vec<u8>, n: i64) {
    prefixed_int(out, b':', n);
}

/// The header of a bulk string of `len` bytes: `$len\r\n`; the caller appends the payload
/// and then [`crlf`].
#[inline]
pub fn bulk_header(out: &mut Vec<u8>, len: usize) {
    prefixed_int(out, b'$', i64::try_from(len).unwrap_or(i64::MAX));
}

/// The CRLF that ends a bulk payload.
#[inline]
pub fn crlf(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

/// A bulk string.
#[inline]
pub fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    bulk_header(out, b.len());
    out.extend_from_slice(b);
    crlf(out);
}

/// An integer as a bulk string (`$1\r\n5\r\n`), as Redis sends numbers inside maps.
pub fn bulk_i64(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    bulk(out, fmt_i64(n, &mut buf));
}

/// The null bulk string `$-1`.
#[inline]
pub fn nil(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The header of an array of `n` elements.
#[inline]
pub fn array(out: &mut Vec<u8>, n: usize) {
    prefixed_int(out, b'*', i64::try_from(n).unwrap_or(i64::MAX));
}

/// The null array `*-1`.
#[inline]
pub fn null_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
}

/// A `core::fmt::Write` adapter over an output buffer, for the few replies (INFO, errors
/// with arguments) that are formatted text.
pub struct FmtOut<'a>(pub &'a mut Vec<u8>);

impl core::fmt::Write for FmtOut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_headers() {
        let mut out = Vec::new();
        int(&mut out, 0);
        int(&mut out, -1);
        int(&mut out, i64::MIN);
        int(&mut out, i64::MAX);
        bulk(&mut out, b"a\r\nb");
        nil(&mut out);
        array(&mut out, 3);
        null_array(&mut out);
        error(&mut out, b"ERR a\r\nb");
        assert_eq!(
            out,
            b":0\r\n:-1\r\n:-9223372036854775808\r\n:9223372036854775807\r\n$4\r\na\r\nb\r\n$-1\r\n*3\r\n*-1\r\n-ERR a  b\r\n"
                .to_vec()
        );
    }
}
