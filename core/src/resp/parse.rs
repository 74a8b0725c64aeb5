//! The incremental RESP2 request parser, multibulk and inline.
//!
//! [`Parser::parse`] is called with the unconsumed input, which starts at the first byte of
//! the request being parsed. It keeps its place between calls (state and cursor), so a
//! request that arrives in many reads is scanned once, and returns [`Parsed::Incomplete`],
//! [`Parsed::Empty`] (a request with no command: an empty inline line, `*0`, `*-1`),
//! [`Parsed::Command`] or a [`ParseError`]. Multibulk arguments are borrowed from the input as
//! ranges; inline arguments, which may hold escapes, are decoded into a scratch buffer owned
//! by the parser. Every length the client sends is checked against [`Limits`] before it sizes
//! anything, and the parser never recurses.

use crate::config::Limits;
use alloc::vec::Vec;

/// A protocol error: the connection answers it and then closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An inline request line longer than `Limits::inline_max`.
    TooBigInline,
    /// A `*N` header longer than `Limits::inline_max` with no end in sight.
    TooBigMbulkCount,
    /// A `$N` header longer than `Limits::inline_max` with no end in sight.
    TooBigBulkCount,
    /// `*N` that is not a strict decimal, or is above `Limits::multibulk_max`.
    InvalidMultibulkLength,
    /// `$N` that is not a strict decimal, is negative, or is above `proto_max_bulk_len`.
    InvalidBulkLength,
    /// A multibulk element that does not start with `$` (the byte found).
    ExpectedDollar(u8),
    /// An inline request with unbalanced quotes.
    UnbalancedQuotes,
    /// The two bytes after a bulk payload are not CRLF (mini-kv is stricter than Redis).
    ExpectedCrlf,
    /// `*N` above `Limits::unauth_multibulk_max` before authentication.
    UnauthMultibulkLength,
    /// `$N` above `Limits::unauth_bulk_max` before authentication.
    UnauthBulkLength,
}

impl ParseError {
    /// Appends the error reply, byte for byte as Redis words it.
    pub fn reply(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR Protocol error: ");
        let text: &[u8] = match self {
            ParseError::TooBigInline => b"too big inline request",
            ParseError::TooBigMbulkCount => b"too big mbulk count string",
            ParseError::TooBigBulkCount => b"too big bulk count string",
            ParseError::InvalidMultibulkLength => b"invalid multibulk length",
            ParseError::InvalidBulkLength => b"invalid bulk length",
            ParseError::ExpectedDollar(got) => {
                out.extend_from_slice(b"expected '$', got '");
                out.push(*got);
                b"'"
            }
            ParseError::UnbalancedQuotes => b"unbalanced quotes in request",
            ParseError::ExpectedCrlf => b"expected '\\r\\n' after bulk payload",
            ParseError::UnauthMultibulkLength => b"unauthenticated multibulk length",
            ParseError::UnauthBulkLength => b"unauthenticated bulk length",
        };
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
    }
}

/// What one call to [`Parser::parse`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed; call again with the same start and more data after it.
    Incomplete,
    /// A request with no command, `consumed` bytes long: skip it.
    Empty {
        /// Bytes the request took.
        consumed: usize,
    },
    /// A whole command, `consumed` bytes long; [`Parser::args`] gives its arguments.
    Command {
        /// Bytes the request took.
        consumed: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the first byte of a request.
    Start,
    /// Inside a multibulk request, `remaining` elements to go, at a `$` header.
    Header { remaining: usize },
    /// After a `$len` header, waiting for the payload and its CRLF.
    Payload { remaining: usize, len: usize },
}

/// The parser state of one connection. See the module documentation.
#[derive(Debug)]
pub struct Parser {
    state: State,
    /// Where scanning resumes, relative to the start of the request.
    cursor: usize,
    /// The current command's arguments: byte ranges into the input (multibulk) or into
    /// `scratch` (inline).
    ranges: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    inline: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

/// Arguments of one command, borrowed from the input or the parser's scratch buffer.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    src: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    /// Number of arguments, the command name included.
    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when there are no arguments (never for a parsed command).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i` (0 is the command name), or an empty slice past the end: callers check
    /// arity first, so the empty slice is never a real answer.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.ranges
            .get(i)
            .and_then(|&(s, e)| self.src.get(s..e))
            .unwrap_or(&[])
    }

    /// Arguments at `ranges` of `src` (a transaction's queued command, flattened).
    pub fn new(src: &'a [u8], ranges: &'a [(usize, usize)]) -> Args<'a> {
        Args { src, ranges }
    }

    /// The arguments after the first `n` (COMMAND GETKEYS looks at the command it is
    /// given as a command of its own).
    pub fn skip(&self, n: usize) -> Args<'a> {
        Args {
            src: self.src,
            ranges: self.ranges.get(n..).unwrap_or(&[]),
        }
    }

    /// All arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// Parses a strict decimal integer as Redis's `string2ll`: an optional `-`, no `+`, no
/// spaces, no leading zeros (but `0` itself), no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits {
        [b'0'] if !neg => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    if digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v == 1u64 << 63 {
            Some(i64::MIN)
        } else {
            i64::try_from(v).ok().map(|v| -v)
        }
    } else {
        i64::try_from(v).ok()
    }
}

fn find(hay: &[u8], from: usize, needle: u8) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|i| i + from)
}

/// Result of reading a `*N` / `$N` header line at `at`: the number and the index after it.
enum Header {
    Incomplete,
    Line(Option<i64>, usize),
}

fn header(
    buf: &[u8],
    at: usize,
    max_line: usize,
    too_big: ParseError,
) -> Result<Header, ParseError> {
    let Some(cr) = find(buf, at + 1, b'\r') else {
        return if buf.len().saturating_sub(at) > max_line {
            Err(too_big)
        } else {
            Ok(Header::Incomplete)
        };
    };
    match buf.get(cr + 1) {
        None => Ok(Header::Incomplete),
        Some(b'\n') => Ok(Header::Line(
            buf.get(at + 1..cr).and_then(parse_i64),
            cr + 2,
        )),
        Some(_) => Ok(Header::Line(None, cr + 2)),
    }
}

impl Parser {
    /// A parser at the start of a request. Allocates nothing until a request needs it.
    pub const fn new() -> Self {
        Parser {
            state: State::Start,
            cursor: 0,
            ranges: Vec::new(),
            scratch: Vec::new(),
            inline: false,
        }
    }

    /// True when the parser is between requests (no partial request is pending).
    pub fn at_start(&self) -> bool {
        self.state == State::Start && self.cursor == 0
    }

    /// The arguments of the command the last [`Parsed::Command`] reported; `buf` is the
    /// same input that call was given.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        Args {
            src: if self.inline { &self.scratch } else { buf },
            ranges: &self.ranges,
        }
    }

    /// Releases argument storage above `keep` entries (after a huge request).
    pub fn shrink(&mut self, keep: usize) {
        if self.ranges.capacity() > keep {
            self.ranges = Vec::new();
        }
        if self.scratch.capacity() > keep * 16 {
            self.scratch = Vec::new();
        }
    }

    /// Parses the request at the start of `buf`. `authenticated` selects the tighter limits
    /// that apply before AUTH when a password is set.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        authenticated: bool,
    ) -> Result<Parsed, ParseError> {
        let result = self.parse_inner(buf, limits, authenticated);
        if !matches!(result, Ok(Parsed::Incomplete)) {
            self.state = State::Start;
            self.cursor = 0;
        }
        result
    }

    fn parse_inner(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        authenticated: bool,
    ) -> Result<Parsed, ParseError> {
        loop {
            match self.state {
                State::Start => {
                    let Some(&first) = buf.first() else {
                        return Ok(Parsed::Incomplete);
                    };
                    if first != b'*' {
                        return self.parse_inline(buf, limits);
                    }
                    let (n, next) =
                        match header(buf, 0, limits.inline_max, ParseError::TooBigMbulkCount)? {
                            Header::Incomplete => return Ok(Parsed::Incomplete),
                            Header::Line(n, next) => (n, next),
                        };
                    let n = n.ok_or(ParseError::InvalidMultibulkLength)?;
                    if n > i64::try_from(limits.multibulk_max).unwrap_or(i64::MAX) {
                        return Err(ParseError::InvalidMultibulkLength);
                    }
                    if !authenticated
                        && n > i64::try_from(limits.unauth_multibulk_max).unwrap_or(i64::MAX)
                    {
                        return Err(ParseError::UnauthMultibulkLength);
                    }
                    if n <= 0 {
                        return Ok(Parsed::Empty { consumed: next });
                    }
                    let n = usize::try_from(n).map_err(|_| ParseError::InvalidMultibulkLength)?;
                    self.inline = false;
                    self.ranges.clear();
                    self.ranges.reserve(n.min(limits.args_prealloc_max));
                    self.cursor = next;
                    self.state = State::Header { remaining: n };
                }
                State::Header { remaining } => {
                    if remaining == 0 {
                        return Ok(Parsed::Command {
                            consumed: self.cursor,
                        });
                    }
                    let Some(&first) = buf.get(self.cursor) else {
                        return Ok(Parsed::Incomplete);
                    };
                    if first != b'$' {
                        return Err(ParseError::ExpectedDollar(first));
                    }
                    let (n, next) = match header(
                        buf,
                        self.cursor,
                        limits.inline_max,
                        ParseError::TooBigBulkCount,
                    )? {
                        Header::Incomplete => return Ok(Parsed::Incomplete),
                        Header::Line(n, next) => (n, next),
                    };
                    let len = n
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= limits.proto_max_bulk_len)
                        .ok_or(ParseError::InvalidBulkLength)?;
                    if !authenticated && len > limits.unauth_bulk_max {
                        return Err(ParseError::UnauthBulkLength);
                    }
                    self.cursor = next;
                    self.state = State::Payload { remaining, len };
                }
                State::Payload { remaining, len } => {
                    let end = self.cursor + len;
                    match buf.get(end..end + 2) {
                        None => return Ok(Parsed::Incomplete),
                        Some(b"\r\n") => {}
                        Some(_) => return Err(ParseError::ExpectedCrlf),
                    }
                    self.ranges.push((self.cursor, end));
                    self.cursor = end + 2;
                    self.state = State::Header {
                        remaining: remaining - 1,
                    };
                }
            }
        }
    }

    fn parse_inline(&mut self, buf: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
        let Some(nl) = find(buf, self.cursor, b'\n') else {
            // Remember how far we looked so a long line is scanned once.
            self.cursor = buf.len();
            return if buf.len() > limits.inline_max {
                Err(ParseError::TooBigInline)
            } else {
                Ok(Parsed::Incomplete)
            };
        };
        let mut line = buf.get(..nl).unwrap_or(&[]);
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if line.len() > limits.inline_max {
            return Err(ParseError::TooBigInline);
        }
        self.inline = true;
        self.ranges.clear();
        self.scratch.clear();
        split_args(line, &mut self.scratch, &mut self.ranges)?;
        if self.ranges.is_empty() {
            Ok(Parsed::Empty { consumed: nl + 1 })
        } else {
            Ok(Parsed::Command { consumed: nl + 1 })
        }
    }
}

/// Splits one line into arguments as an inline request would (Redis's `sdssplitargs`),
/// for config files.
pub fn split_line(line: &[u8]) -> Result<Vec<Vec<u8>>, ParseError> {
    let (mut out, mut ranges) = (Vec::new(), Vec::new());
    split_args(line, &mut out, &mut ranges)?;
    Ok(ranges
        .iter()
        .map(|&(s, e)| out.get(s..e).unwrap_or(&[]).to_vec())
        .collect())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// C's `isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Splits an inline line into arguments exactly as Redis's `sdssplitargs`: whitespace
/// separates, `"..."` takes `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<c>` escapes, `'...'`
/// takes `\'`, a closing quote must be followed by a space or the end, and a NUL byte ends
/// the line (Redis works on a C string). Decoded bytes go to `out`, ranges to `ranges`.
fn split_args(
    line: &[u8],
    out: &mut Vec<u8>,
    ranges: &mut Vec<(usize, usize)>,
) -> Result<(), ParseError> {
    // Reading past the end yields 0, like the C string's terminator.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut p = 0;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Ok(());
        }
        let start = out.len();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            let c = at(p);
            if in_dq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex(at(p + 2)), hex(at(p + 3))) {
                        out.push(h * 16 + l);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(ParseError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return Err(ParseError::UnbalancedQuotes);
                } else {
                    out.push(c);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(ParseError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return Err(ParseError::UnbalancedQuotes);
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    other => out.push(other),
                }
            }
            p += 1;
        }
        ranges.push((start, out.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use std::vec::Vec as StdVec;

    type Res = Result<StdVec<StdVec<u8>>, ParseError>;

    /// Feeds `input` in the given chunk sizes, compacting like a connection does, and
    /// returns every command (empty requests as an empty vector) up to the first error.
    fn feed(input: &[u8], chunks: &mut dyn Iterator<Item = usize>, limits: &Limits) -> StdVec<Res> {
        let mut p = Parser::new();
        let mut buf: StdVec<u8> = StdVec::new();
        let mut fed = 0;
        let mut out = StdVec::new();
        loop {
            loop {
                match p.parse(&buf, limits, true) {
                    Ok(Parsed::Incomplete) => break,
                    Ok(Parsed::Empty { consumed }) => {
                        out.push(Ok(vec![]));
                        buf.drain(..consumed);
                    }
                    Ok(Parsed::Command { consumed }) => {
                        let args = p.args(&buf).iter().map(<[u8]>::to_vec).collect();
                        out.push(Ok(args));
                        buf.drain(..consumed);
                    }
                    Err(e) => {
                        out.push(Err(e));
                        return out;
                    }
                }
            }
            if fed == input.len() {
                return out;
            }
            let n = chunks.next().unwrap_or(1).clamp(1, input.len() - fed);
            buf.extend_from_slice(&input[fed..fed + n]);
            fed += n;
        }
    }

    fn whole(input: &[u8]) -> StdVec<Res> {
        feed(
            input,
            &mut core::iter::repeat(usize::MAX),
            &Limits::default(),
        )
    }

    fn cmd(args: &[&[u8]]) -> Res {
        Ok(args.iter().map(|a| a.to_vec()).collect())
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
            b"\x00",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn multibulk_and_inline() {
        assert_eq!(
            whole(b"*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\nPING\r\n"),
            vec![cmd(&[b"ECHO", b"a\0b"]), cmd(&[b"PING"])]
        );
    }

    #[test]
    fn checklist_rows_a1_to_a3_empty_requests() {
        assert_eq!(whole(b"\r\nPING\r\n"), vec![Ok(vec![]), cmd(&[b"PING"])]);
        assert_eq!(
            whole(b"*-10\r\nPING\r\n"),
            vec![Ok(vec![]), cmd(&[b"PING"])]
        );
        assert_eq!(whole(b"*0\r\nPING\r\n"), vec![Ok(vec![]), cmd(&[b"PING"])]);
    }

    #[test]
    fn checklist_rows_a4_a5_bad_counts() {
        for bad in [
            &b"*3000000000\r\n"[..],
            b"*2147483648\r\n",
            b"*abc\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*\x00\r\n",
        ] {
            assert_eq!(
                whole(bad),
                vec![Err(ParseError::InvalidMultibulkLength)],
                "{bad:?}"
            );
        }
        // 2^31 - 1 is accepted and waits for its elements, preallocating only 1024 slots.
        let mut p = Parser::new();
        assert_eq!(
            p.parse(b"*2147483647\r\n", &Limits::default(), true),
            Ok(Parsed::Incomplete)
        );
        assert!(p.ranges.capacity() <= 1024);
    }

    #[test]
    fn checklist_rows_a6_to_a8_expected_dollar() {
        assert_eq!(
            whole(b"*1\r\nfoo\r\n"),
            vec![Err(ParseError::ExpectedDollar(b'f'))]
        );
        assert_eq!(
            whole(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
            vec![Err(ParseError::ExpectedDollar(b'f'))]
        );
        assert_eq!(
            whole(b"*1\r\n+PING\r\n"),
            vec![Err(ParseError::ExpectedDollar(b'+'))]
        );
        assert_eq!(
            whole(b"*2\r\n$4\r\nECHO\r\n:1\r\n"),
            vec![Err(ParseError::ExpectedDollar(b':'))]
        );
        let mut out = Vec::new();
        ParseError::ExpectedDollar(b'f').reply(&mut out);
        assert_eq!(out, b"-ERR Protocol error: expected '$', got 'f'\r\n");
    }

    #[test]
    fn checklist_row_a9_bad_bulk_lengths() {
        for bad in ["-1", "-10", "blabla", "2000000000", "536870913", "01"] {
            let input = std::format!("*1\r\n${bad}\r\n");
            assert_eq!(
                whole(input.as_bytes()),
                vec![Err(ParseError::InvalidBulkLength)],
                "{bad}"
            );
        }
    }

    #[test]
    fn checklist_rows_a10_a11_wait() {
        assert_eq!(whole(b"*1\r\n$536870912\r\n"), vec![]);
        assert_eq!(whole(b"*2\r\n$4\r\nECHO\r\n"), vec![]);
    }

    #[test]
    fn checklist_rows_a12_to_a16_long_lines() {
        let l = Limits::default();
        let long = vec![b'A'; 70_000];
        assert_eq!(whole(&long), vec![Err(ParseError::TooBigInline)]);
        let mut a13 = b"ECHO ".to_vec();
        a13.extend(vec![b'A'; 100_000]);
        a13.extend(b"\r\n");
        assert_eq!(whole(&a13), vec![Err(ParseError::TooBigInline)]);
        // Decision A13: the same whatever the chunking.
        assert_eq!(
            feed(&a13, &mut core::iter::repeat(1000), &l),
            vec![Err(ParseError::TooBigInline)]
        );
        let mut nul = vec![0u8];
        nul.extend(vec![b'x'; 70_000]);
        assert_eq!(whole(&nul), vec![Err(ParseError::TooBigInline)]);
        let mut star = b"*".to_vec();
        star.extend(vec![b'1'; 70_000]);
        assert_eq!(whole(&star), vec![Err(ParseError::TooBigMbulkCount)]);
        let mut dollar = b"*1\r\n$".to_vec();
        dollar.extend(vec![b'1'; 70_000]);
        assert_eq!(whole(&dollar), vec![Err(ParseError::TooBigBulkCount)]);
        // A line of exactly the limit is fine.
        let mut ok = vec![b'A'; l.inline_max];
        ok.extend(b"\r\n");
        assert_eq!(whole(&ok).len(), 1);
        assert!(whole(&ok)[0].is_ok());
    }

    #[test]
    fn checklist_rows_a17_to_a21_inline_quoting() {
        assert_eq!(
            whole(b"ECHO \"abc\r\n"),
            vec![Err(ParseError::UnbalancedQuotes)]
        );
        assert_eq!(
            whole(b"SET \"a\"b c\r\n"),
            vec![Err(ParseError::UnbalancedQuotes)]
        );
        assert_eq!(whole(b"PING\n"), vec![cmd(&[b"PING"])]);
        assert_eq!(
            whole(b"  ECHO    hello   \r\n"),
            vec![cmd(&[b"ECHO", b"hello"])]
        );
        assert_eq!(
            whole(b"ECHO \"a b\\x41\\n\"\r\n"),
            vec![cmd(&[b"ECHO", b"a bA\n"])]
        );
        assert_eq!(
            whole(b"SET 'it\\'s' \"\\t\\\"q\\\\\" x\"y z\" w\r\n"),
            vec![cmd(&[b"SET", b"it's", b"\t\"q\\", b"xy z", b"w"])]
        );
        assert_eq!(
            whole(b"ECHO 'abc\r\n"),
            vec![Err(ParseError::UnbalancedQuotes)]
        );
        assert_eq!(
            whole(b"ECHO 'a'b\r\n"),
            vec![Err(ParseError::UnbalancedQuotes)]
        );
        assert_eq!(whole(b"ECHO \"\\xZZ\"\r\n"), vec![cmd(&[b"ECHO", b"xZZ"])]);
        // A NUL ends the line as in Redis's C string.
        assert_eq!(whole(b"ECHO a\0b c\r\n"), vec![cmd(&[b"ECHO", b"a"])]);
    }

    #[test]
    fn checklist_row_a22_error_after_good_command() {
        assert_eq!(
            whole(b"PING\r\n*abc\r\nPING\r\n"),
            vec![cmd(&[b"PING"]), Err(ParseError::InvalidMultibulkLength)]
        );
    }

    #[test]
    fn strict_crlf_after_payload() {
        assert_eq!(
            whole(b"*1\r\n$4\r\nPINGxx"),
            vec![Err(ParseError::ExpectedCrlf)]
        );
        assert_eq!(
            whole(b"*1\r\n$4\r\nPING\rx"),
            vec![Err(ParseError::ExpectedCrlf)]
        );
        assert_eq!(whole(b"*1\r\n$4\r\nPING\r"), vec![]);
        let mut out = Vec::new();
        ParseError::ExpectedCrlf.reply(&mut out);
        assert_eq!(
            out,
            b"-ERR Protocol error: expected '\\r\\n' after bulk payload\r\n"
        );
    }

    #[test]
    fn header_line_needs_lf_after_cr() {
        assert_eq!(
            whole(b"*1\rx$4\r\nPING\r\n"),
            vec![Err(ParseError::InvalidMultibulkLength)]
        );
        assert_eq!(
            whole(b"*1\r\n$4\rxPING\r\n"),
            vec![Err(ParseError::InvalidBulkLength)]
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let l = Limits::default();
        let mut p = Parser::new();
        assert_eq!(
            p.parse(b"*100\r\n", &l, false),
            Err(ParseError::UnauthMultibulkLength)
        );
        assert_eq!(
            p.parse(b"*1\r\n$100000000\r\n", &l, false),
            Err(ParseError::UnauthBulkLength)
        );
        assert_eq!(p.parse(b"*10\r\n", &l, false), Ok(Parsed::Incomplete));
    }

    #[test]
    fn configured_bulk_limit() {
        let l = Limits {
            proto_max_bulk_len: 4,
            ..Limits::default()
        };
        assert_eq!(
            feed(b"*1\r\n$5\r\n", &mut core::iter::repeat(100), &l),
            vec![Err(ParseError::InvalidBulkLength)]
        );
    }

    use crate::testutil::Rng;

    #[test]
    fn split_anywhere_gives_the_same_result() {
        let mut big = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$5000\r\n".to_vec();
        big.extend((0..5000).map(|i| (i % 251) as u8));
        big.extend(b"\r\n");
        let inputs: StdVec<StdVec<u8>> = vec![
            b"*2\r\n$4\r\nECHO\r\n$5\r\na\r\nb\0\r\n".to_vec(),
            b"PING\r\n\r\nECHO \"x\\x00y\" 'q'\n*0\r\n*-1\r\nGET k\r\n".to_vec(),
            b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$2\r\n\r\n\r\n*1\r\n$4\r\nPING\r\n".to_vec(),
            big,
            b"PING\r\n*1\r\n$4\r\nPINGxx".to_vec(),
            b"PING\r\n*abc\r\nPING\r\n".to_vec(),
        ];
        let l = Limits::default();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for input in &inputs {
            let expected = whole(input);
            assert!(!expected.is_empty());
            assert_eq!(
                feed(input, &mut core::iter::repeat(1), &l),
                expected,
                "bytewise {input:?}"
            );
            for _ in 0..50 {
                let mut chunks = core::iter::from_fn(|| Some((rng.next() % 17 + 1) as usize));
                assert_eq!(feed(input, &mut chunks, &l), expected);
            }
        }
    }
}
