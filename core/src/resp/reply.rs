//! The client side of RESP2: a reply type ([`Reply`]), an incremental reply parser
//! ([`ReplyParser`]) and the command encoder ([`encode_command`]).
//!
//! The parser is the mirror of the server's request parser ([`super::parse`]): it is called
//! with the unconsumed input, which starts at the first byte of the reply being parsed, and
//! again with the same start and more bytes after it until it returns the whole reply and the
//! number of bytes it took. It keeps its place between calls (the arrays built so far, the
//! offset of the first unparsed byte, where the search for the next CRLF resumes), so a reply
//! that arrives in many reads is scanned once. It never recurses, and every number the peer
//! sends is checked against a named limit before it sizes anything: a `$N` header allocates
//! nothing until its whole payload is there, and an array's storage grows with the elements
//! that actually arrive.

use super::encode;
use super::parse::parse_i64;
use alloc::vec::Vec;

/// The deepest nesting of arrays the parser accepts by default (a top-level array is depth
/// 1). Redis's own replies nest a handful of levels (`COMMAND DOCS` about 6).
pub const MAX_REPLY_DEPTH: usize = 128;
/// The longest bulk string the parser accepts by default: Redis's `proto-max-bulk-len`
/// default, 512 MiB.
pub const MAX_REPLY_BULK_LEN: usize = 512 * 1024 * 1024;
/// The most elements one array may declare by default: hiredis's limit, 2^32 - 1. Storage
/// grows only as elements arrive, so a large declared count costs nothing by itself.
pub const MAX_REPLY_ELEMENTS: usize = u32::MAX as usize;
/// The longest line (`+`, `-`, `:`, `$` and `*` lines, without the CRLF) the parser accepts:
/// 1 MiB, far above any status or error Redis sends, so that a peer that is not a RESP
/// server (and never sends a CRLF) is found out without buffering without end.
pub const MAX_REPLY_LINE: usize = 1024 * 1024;

/// A whole line: its type byte, its body and the offset after its CRLF.
type Line<'a> = (u8, &'a [u8], usize);

/// How much array storage is reserved up front at most, whatever count the header declares.
const PREALLOC_ELEMENTS: usize = 1024;

/// One RESP2 reply, as a client receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A simple string (`+OK`): the bytes between the `+` and the CRLF.
    Simple(Vec<u8>),
    /// An error (`-ERR ...`): the bytes between the `-` and the CRLF, the error code
    /// included.
    Error(Vec<u8>),
    /// An integer (`:42`).
    Integer(i64),
    /// A bulk string (`$3\r\nabc`): any bytes.
    Bulk(Vec<u8>),
    /// The null bulk string (`$-1`), as `GET` of a missing key answers.
    Nil,
    /// An array (`*N`) of replies, which may be arrays themselves; `*0` is the empty array.
    Array(Vec<Reply>),
    /// The null array (`*-1`), as `EXEC` of an aborted transaction answers.
    NilArray,
}

/// A protocol violation in a reply: the stream cannot be trusted after it (the connection
/// should be closed). The parser itself is reset and may be reused on another stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// A reply that starts with a byte that is no RESP2 type (`+ - : $ *`): the byte.
    UnknownType(u8),
    /// A line longer than the parser's line limit ([`MAX_REPLY_LINE`]).
    LineTooLong,
    /// An integer reply that is not a strict 64-bit decimal.
    InvalidInteger,
    /// A `$N` header that is not a decimal, or is negative other than `-1`.
    InvalidBulkLength,
    /// A `$N` header above the parser's bulk limit ([`MAX_REPLY_BULK_LEN`]).
    BulkTooLong,
    /// The two bytes after a bulk payload are not CRLF.
    ExpectedCrlf,
    /// A `*N` header that is not a decimal, or is negative other than `-1`.
    InvalidArrayLength,
    /// A `*N` header above the parser's element limit ([`MAX_REPLY_ELEMENTS`]).
    TooManyElements,
    /// Arrays nested deeper than the parser's depth limit ([`MAX_REPLY_DEPTH`]).
    TooDeep,
}

/// Messages as hiredis (and so `redis-cli`) words them where hiredis has the same check.
impl core::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReplyError::UnknownType(b) => {
                // hiredis's `chrtos`: the byte quoted, escaped when not printable.
                f.write_str("Protocol error, got \"")?;
                match b {
                    b'\\' | b'"' => write!(f, "\\{}", char::from(*b))?,
                    b'\n' => f.write_str("\\n")?,
                    b'\r' => f.write_str("\\r")?,
                    b'\t' => f.write_str("\\t")?,
                    0x07 => f.write_str("\\a")?,
                    0x08 => f.write_str("\\b")?,
                    0x20..=0x7e => write!(f, "{}", char::from(*b))?,
                    _ => write!(f, "\\x{b:02x}")?,
                }
                f.write_str("\" as reply type byte")
            }
            ReplyError::LineTooLong => f.write_str("Protocol error: line too long"),
            ReplyError::InvalidInteger => f.write_str("Bad integer value"),
            ReplyError::InvalidBulkLength => f.write_str("Bad bulk string length"),
            ReplyError::BulkTooLong => f.write_str("Bulk string length out of range"),
            ReplyError::ExpectedCrlf => {
                f.write_str("Protocol error: expected CRLF after bulk payload")
            }
            ReplyError::InvalidArrayLength => f.write_str("Bad multi-bulk length"),
            ReplyError::TooManyElements => f.write_str("Multi-bulk length out of range"),
            ReplyError::TooDeep => f.write_str("Protocol error: arrays nested too deep"),
        }
    }
}

/// An array being filled: its elements so far and how many it declared.
#[derive(Debug)]
struct Frame {
    items: Vec<Reply>,
    want: usize,
}

/// The incremental RESP2 reply parser of one connection. See the module documentation.
#[derive(Debug)]
pub struct ReplyParser {
    max_depth: usize,
    max_bulk_len: usize,
    max_elements: usize,
    /// Offset of the first byte not yet parsed, relative to the start of the reply.
    pos: usize,
    /// Where the search for the current line's CRLF resumes (at or after `pos`).
    scan: usize,
    /// The length of the bulk string whose header was parsed, waiting for its payload.
    bulk: Option<usize>,
    /// The arrays being filled, outermost first.
    stack: Vec<Frame>,
}

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyParser {
    /// A parser with the default limits ([`MAX_REPLY_DEPTH`], [`MAX_REPLY_BULK_LEN`],
    /// [`MAX_REPLY_ELEMENTS`]). Allocates nothing until a reply needs it.
    pub const fn new() -> Self {
        Self::with_limits(MAX_REPLY_DEPTH, MAX_REPLY_BULK_LEN, MAX_REPLY_ELEMENTS)
    }

    /// A parser with other limits: the deepest array nesting, the longest bulk string and
    /// the most elements one array may declare.
    pub const fn with_limits(max_depth: usize, max_bulk_len: usize, max_elements: usize) -> Self {
        ReplyParser {
            max_depth,
            max_bulk_len,
            max_elements,
            pos: 0,
            scan: 0,
            bulk: None,
            stack: Vec::new(),
        }
    }

    /// Forgets a partly parsed reply: the next call starts at a reply's first byte.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.scan = 0;
        self.bulk = None;
        self.stack.clear();
    }

    /// Parses one reply from `buf`, which starts at the reply's first byte and holds every
    /// byte passed in earlier calls since the last reply (or error) and maybe more.
    ///
    /// Returns `Ok(None)` when more bytes are needed (call again with them appended),
    /// `Ok(Some((reply, consumed)))` when the reply is whole (`consumed` bytes of `buf`; the
    /// next reply starts after them), or the protocol error (the parser is then reset).
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        let r = self.step(buf);
        if !matches!(r, Ok(None)) {
            self.reset();
        }
        r
    }

    fn step(&mut self, buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        loop {
            let value = if let Some(len) = self.bulk {
                let end = self.pos.saturating_add(len);
                let (Some(payload), Some(tail)) =
                    (buf.get(self.pos..end), buf.get(end..end.saturating_add(2)))
                else {
                    return Ok(None);
                };
                if tail != b"\r\n" {
                    return Err(ReplyError::ExpectedCrlf);
                }
                let v = Reply::Bulk(payload.to_vec());
                self.bulk = None;
                self.pos = end + 2;
                self.scan = self.pos;
                v
            } else {
                let Some((kind, line, next)) = self.line(buf)? else {
                    return Ok(None);
                };
                self.pos = next;
                self.scan = next;
                match kind {
                    b'+' => Reply::Simple(line.to_vec()),
                    b'-' => Reply::Error(line.to_vec()),
                    b':' => Reply::Integer(parse_i64(line).ok_or(ReplyError::InvalidInteger)?),
                    b'$' => match parse_i64(line) {
                        Some(-1) => Reply::Nil,
                        Some(n) if n >= 0 => {
                            let len = usize::try_from(n).map_err(|_| ReplyError::BulkTooLong)?;
                            if len > self.max_bulk_len {
                                return Err(ReplyError::BulkTooLong);
                            }
                            self.bulk = Some(len);
                            continue;
                        }
                        _ => return Err(ReplyError::InvalidBulkLength),
                    },
                    b'*' => match parse_i64(line) {
                        Some(-1) => Reply::NilArray,
                        Some(0) => Reply::Array(Vec::new()),
                        Some(n) if n > 0 => {
                            let want =
                                usize::try_from(n).map_err(|_| ReplyError::TooManyElements)?;
                            if want > self.max_elements {
                                return Err(ReplyError::TooManyElements);
                            }
                            if self.stack.len() >= self.max_depth {
                                return Err(ReplyError::TooDeep);
                            }
                            let items = Vec::with_capacity(want.min(PREALLOC_ELEMENTS));
                            self.stack.push(Frame { items, want });
                            continue;
                        }
                        _ => return Err(ReplyError::InvalidArrayLength),
                    },
                    other => return Err(ReplyError::UnknownType(other)),
                }
            };
            if let Some(done) = self.deliver(value) {
                return Ok(Some((done, self.pos)));
            }
        }
    }

    /// The line at `pos`: its type byte, its body and the offset after its CRLF; `None`
    /// while the CRLF has not arrived. Resumes the search where the last call stopped.
    fn line<'a>(&mut self, buf: &'a [u8]) -> Result<Option<Line<'a>>, ReplyError> {
        let Some(&kind) = buf.get(self.pos) else {
            return Ok(None);
        };
        if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
            return Err(ReplyError::UnknownType(kind));
        }
        let from = self.scan.max(self.pos + 1);
        let found = buf
            .get(from..)
            .and_then(|rest| rest.windows(2).position(|w| w == b"\r\n"))
            .map(|i| i + from);
        let Some(cr) = found else {
            // Resume at the last byte: it may be the CR of a CRLF cut in two.
            self.scan = buf.len().saturating_sub(1).max(from);
            // The body so far, and maybe the CR of its CRLF.
            if buf.len().saturating_sub(self.pos + 1) > MAX_REPLY_LINE + 1 {
                return Err(ReplyError::LineTooLong);
            }
            return Ok(None);
        };
        if cr - (self.pos + 1) > MAX_REPLY_LINE {
            return Err(ReplyError::LineTooLong);
        }
        let body = buf.get(self.pos + 1..cr).unwrap_or(&[]);
        Ok(Some((kind, body, cr + 2)))
    }

    /// Adds a finished value to the innermost open array, closing every array it fills;
    /// the whole reply once the outermost one (or a lone value) is complete.
    fn deliver(&mut self, mut value: Reply) -> Option<Reply> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Some(value);
            };
            top.items.push(value);
            if top.items.len() < top.want {
                return None;
            }
            let frame = self.stack.pop()?;
            value = Reply::Array(frame.items);
        }
    }
}

/// Appends a command as a client sends it: a RESP array of bulk strings, one per argument.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    encode::array(out, args.len());
    for a in args {
        encode::bulk(out, a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn bulk(s: &[u8]) -> Reply {
        Reply::Bulk(s.to_vec())
    }

    /// Parses `input` whole, then fed in two parts split at every byte boundary, then one
    /// byte at a time; all must agree.
    fn parse_all_ways(input: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        let whole = ReplyParser::new().parse(input);
        for cut in 0..input.len() {
            let mut p = ReplyParser::new();
            let first = p.parse(&input[..cut]);
            if first != Ok(None) {
                assert_eq!(first, whole, "prefix of {cut} bytes");
                continue;
            }
            assert_eq!(p.parse(input), whole, "split at {cut}");
        }
        let mut p = ReplyParser::new();
        let mut last = Ok(None);
        for end in 0..=input.len() {
            last = p.parse(&input[..end]);
            if last != Ok(None) {
                break;
            }
        }
        assert_eq!(last, whole, "byte by byte");
        whole
    }

    fn ok(input: &[u8], want: Reply) {
        assert_eq!(
            parse_all_ways(input),
            Ok(Some((want, input.len()))),
            "{input:?}"
        );
    }

    fn err(input: &[u8], want: ReplyError) {
        assert_eq!(parse_all_ways(input), Err(want), "{input:?}");
    }

    #[test]
    fn scalars() {
        ok(b"+OK\r\n", Reply::Simple(b"OK".to_vec()));
        ok(b"+\r\n", Reply::Simple(Vec::new()));
        ok(
            b"-ERR unknown command\r\n",
            Reply::Error(b"ERR unknown command".to_vec()),
        );
        ok(b":0\r\n", Reply::Integer(0));
        ok(b":-1\r\n", Reply::Integer(-1));
        ok(b":9223372036854775807\r\n", Reply::Integer(i64::MAX));
        ok(b":-9223372036854775808\r\n", Reply::Integer(i64::MIN));
        ok(b"$0\r\n\r\n", bulk(b""));
        ok(b"$5\r\nhello\r\n", bulk(b"hello"));
        // Bulk payloads are binary: CR, LF and NUL inside are data.
        ok(b"$6\r\na\r\n\0\nb\r\n", bulk(b"a\r\n\0\nb"));
        // A lone LF or CR inside a line is data too (only CRLF ends it).
        ok(b"+a\rb\nc\r\n", Reply::Simple(b"a\rb\nc".to_vec()));
    }

    #[test]
    fn nil_forms_and_empty_array() {
        ok(b"$-1\r\n", Reply::Nil);
        ok(b"*-1\r\n", Reply::NilArray);
        ok(b"*0\r\n", Reply::Array(Vec::new()));
        ok(
            b"*3\r\n$-1\r\n*-1\r\n*0\r\n",
            Reply::Array(vec![Reply::Nil, Reply::NilArray, Reply::Array(vec![])]),
        );
    }

    #[test]
    fn nested_arrays() {
        ok(
            b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n+x\r\n-E e\r\n",
            Reply::Array(vec![
                Reply::Integer(1),
                Reply::Array(vec![
                    bulk(b"a"),
                    Reply::Array(vec![Reply::Simple(b"x".to_vec())]),
                ]),
                Reply::Error(b"E e".to_vec()),
            ]),
        );
        // Arrays that close together.
        ok(
            b"*1\r\n*1\r\n*1\r\n:7\r\n",
            Reply::Array(vec![Reply::Array(vec![Reply::Array(vec![
                Reply::Integer(7),
            ])])]),
        );
    }

    #[test]
    fn consumed_stops_at_the_end_of_the_first_reply() {
        let input = b"*2\r\n$1\r\na\r\n:2\r\n+NEXT\r\n";
        let mut p = ReplyParser::new();
        let (r, n) = p.parse(input).unwrap().unwrap();
        assert_eq!(r, Reply::Array(vec![bulk(b"a"), Reply::Integer(2)]));
        assert_eq!(&input[n..], b"+NEXT\r\n");
        assert_eq!(
            p.parse(&input[n..]),
            Ok(Some((Reply::Simple(b"NEXT".to_vec()), 7)))
        );
    }

    #[test]
    fn protocol_errors() {
        err(b"?x\r\n", ReplyError::UnknownType(b'?'));
        err(b"*1\r\n!\r\n", ReplyError::UnknownType(b'!'));
        err(b":1x\r\n", ReplyError::InvalidInteger);
        err(b":\r\n", ReplyError::InvalidInteger);
        err(b":99999999999999999999\r\n", ReplyError::InvalidInteger);
        err(b"$-2\r\n", ReplyError::InvalidBulkLength);
        err(b"$x\r\n", ReplyError::InvalidBulkLength);
        err(b"$3\r\nabcde", ReplyError::ExpectedCrlf);
        err(b"$1\r\na\n\r", ReplyError::ExpectedCrlf);
        err(b"*-2\r\n", ReplyError::InvalidArrayLength);
        err(b"*1a\r\n", ReplyError::InvalidArrayLength);
        // After an error the parser starts afresh.
        let mut p = ReplyParser::new();
        assert_eq!(
            p.parse(b"*2\r\n:1\r\n?"),
            Err(ReplyError::UnknownType(b'?'))
        );
        assert_eq!(p.parse(b":5\r\n"), Ok(Some((Reply::Integer(5), 4))));
    }

    #[test]
    fn error_messages_as_hiredis() {
        use alloc::string::ToString;
        assert_eq!(
            ReplyError::UnknownType(b'H').to_string(),
            "Protocol error, got \"H\" as reply type byte"
        );
        assert_eq!(
            ReplyError::UnknownType(0).to_string(),
            "Protocol error, got \"\\x00\" as reply type byte"
        );
        assert_eq!(
            ReplyError::UnknownType(b'\n').to_string(),
            "Protocol error, got \"\\n\" as reply type byte"
        );
        assert_eq!(ReplyError::InvalidInteger.to_string(), "Bad integer value");
    }

    #[test]
    fn limits() {
        // Depth: 3 levels pass a limit of 3, 4 do not.
        let mut p = ReplyParser::with_limits(3, 16, 4);
        assert!(matches!(p.parse(b"*1\r\n*1\r\n*1\r\n:1\r\n"), Ok(Some(_))));
        assert_eq!(
            p.parse(b"*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
            Err(ReplyError::TooDeep)
        );
        // Bulk length: at the limit passes, above fails before any payload arrives.
        assert!(matches!(
            p.parse(b"$16\r\n0123456789abcdef\r\n"),
            Ok(Some(_))
        ));
        assert_eq!(p.parse(b"$17\r\n"), Err(ReplyError::BulkTooLong));
        // Elements.
        assert!(matches!(
            p.parse(b"*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n"),
            Ok(Some(_))
        ));
        assert_eq!(p.parse(b"*5\r\n"), Err(ReplyError::TooManyElements));
        // The defaults.
        let mut p = ReplyParser::new();
        assert_eq!(p.parse(b"$536870912\r\n"), Ok(None));
        let mut p = ReplyParser::new();
        assert_eq!(p.parse(b"$536870913\r\n"), Err(ReplyError::BulkTooLong));
        let mut p = ReplyParser::new();
        assert_eq!(
            p.parse(b"$99999999999999999999\r\n"),
            Err(ReplyError::InvalidBulkLength)
        );
        assert_eq!(p.parse(b"*4294967295\r\n"), Ok(None));
        let mut p = ReplyParser::new();
        assert_eq!(
            p.parse(b"*4294967296\r\n"),
            Err(ReplyError::TooManyElements)
        );
        let deep: Vec<u8> = b"*1\r\n".repeat(MAX_REPLY_DEPTH + 1);
        assert_eq!(ReplyParser::new().parse(&deep), Err(ReplyError::TooDeep));
        let mut ok_deep: Vec<u8> = b"*1\r\n".repeat(MAX_REPLY_DEPTH);
        ok_deep.extend_from_slice(b":1\r\n");
        assert!(matches!(ReplyParser::new().parse(&ok_deep), Ok(Some(_))));
        // A line with no CRLF in sight.
        let mut long = vec![b'+'; 1];
        long.resize(MAX_REPLY_LINE + 1, b'x');
        assert_eq!(ReplyParser::new().parse(&long), Ok(None));
        long.push(b'\r');
        assert_eq!(ReplyParser::new().parse(&long), Ok(None));
        long.push(b'\n');
        assert!(matches!(ReplyParser::new().parse(&long), Ok(Some(_))));
        long.truncate(MAX_REPLY_LINE + 1);
        long.extend_from_slice(b"xx");
        assert_eq!(
            ReplyParser::new().parse(&long),
            Err(ReplyError::LineTooLong)
        );
    }

    #[test]
    fn long_line_fed_in_pieces_is_scanned_once() {
        // A 64 KiB status fed 1 KiB at a time: the scan position only moves forward.
        let mut input = vec![b'+'];
        input.resize(64 * 1024, b'a');
        input.extend_from_slice(b"\r\n");
        let mut p = ReplyParser::new();
        let mut end = 0;
        loop {
            end = (end + 1024).min(input.len());
            match p.parse(&input[..end]) {
                Ok(None) => assert!(p.scan + 1 >= end, "scan {} end {end}", p.scan),
                Ok(Some((Reply::Simple(s), n))) => {
                    assert_eq!((s.len(), n), (64 * 1024 - 1, input.len()));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// Encodes a reply as a server would.
    fn encode_reply(out: &mut Vec<u8>, r: &Reply) {
        match r {
            Reply::Simple(s) => encode::simple(out, s),
            Reply::Error(e) => encode::error(out, e),
            Reply::Integer(n) => encode::int(out, *n),
            Reply::Bulk(b) => encode::bulk(out, b),
            Reply::Nil => encode::nil(out),
            Reply::NilArray => encode::null_array(out),
            Reply::Array(items) => {
                encode::array(out, items.len());
                for i in items {
                    encode_reply(out, i);
                }
            }
        }
    }

    fn random_reply(rng: &mut crate::testutil::Rng, depth: usize) -> Reply {
        let text = |rng: &mut crate::testutil::Rng, crlf_ok: bool| -> Vec<u8> {
            (0..rng.below(12))
                .map(|_| match rng.below(6) {
                    0 if crlf_ok => b'\r',
                    1 if crlf_ok => b'\n',
                    _ => b'a' + rng.below(26) as u8,
                })
                .collect()
        };
        match rng.below(if depth >= 4 { 6 } else { 8 }) {
            0 => Reply::Simple(text(rng, false)),
            1 => Reply::Error(text(rng, false)),
            2 => Reply::Integer(rng.next() as i64 >> rng.below(64)),
            3 => Reply::Bulk(text(rng, true)),
            4 => Reply::Nil,
            5 => Reply::NilArray,
            _ => Reply::Array(
                (0..rng.below(5))
                    .map(|_| random_reply(rng, depth + 1))
                    .collect(),
            ),
        }
    }

    #[test]
    fn random_replies_round_trip_in_random_pieces() {
        let mut rng = crate::testutil::Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            // A few replies back to back, fed in random pieces.
            let replies: Vec<Reply> = (0..1 + rng.below(3))
                .map(|_| random_reply(&mut rng, 0))
                .collect();
            let mut stream = Vec::new();
            for r in &replies {
                encode_reply(&mut stream, r);
            }
            let mut p = ReplyParser::new();
            let (mut start, mut end, mut got) = (0, 0, Vec::new());
            while got.len() < replies.len() {
                match p.parse(&stream[start..end]).unwrap() {
                    Some((r, n)) => {
                        got.push(r);
                        start += n;
                    }
                    None => {
                        assert!(end < stream.len(), "ran out of input: {replies:?}");
                        end = (end + 1 + rng.below(9) as usize).min(stream.len());
                    }
                }
            }
            assert_eq!(got, replies);
            assert_eq!(start, stream.len());
        }
    }

    #[test]
    fn encode_command_is_an_array_of_bulks() {
        let mut out = Vec::new();
        encode_command(&mut out, &[&b"SET"[..], b"k", b"a\r\nb"]);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n".to_vec()
        );
        out.clear();
        encode_command::<&[u8]>(&mut out, &[]);
        assert_eq!(out, b"*0\r\n".to_vec());
    }
}
