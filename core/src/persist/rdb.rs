//! Redis's RDB format, version 10 (Redis 7.0): the value codec that DUMP, RESTORE and the
//! snapshot files share, the writer of whole files ([`RdbWriter`]) and their parser
//! ([`load`]), and DUMP payloads ([`dump`], [`undump`]).
//!
//! Writing gives exactly the bytes Redis 7.0.15 writes for the equivalent object (strings
//! integer-encoded or LZF-compressed where Redis's `rdbSaveRawString` would, lists as
//! quicklists of listpacks split as Redis's `quicklistPushTail` splits them, intsets,
//! listpacks with Redis's integer entries, skiplist sorted sets from the tail). Reading
//! takes every encoding redis-server 7.0.15 loads (and the older ones it converts), checks
//! every length against the bytes left before allocating from it, validates every
//! listpack, ziplist, zipmap and intset entry by entry (duplicates included), and never
//! panics, whatever the input.

use super::{crc64, lzf, RDB_VERSION};
use crate::db::{Item, Value};
use crate::resp::encode::fmt_i64;
use crate::resp::parse::parse_i64;
use crate::time::UnixMillis;
use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::{Member, Set};
use crate::types::zset::{Limits as ZLimits, ZSet};
use crate::types::EncodingLimits;
use alloc::borrow::Cow;
use alloc::vec::Vec;

/// Value type: a string.
pub const TYPE_STRING: u8 = 0;
/// Value type: a list as a plain sequence of strings (before Redis 3.2).
pub const TYPE_LIST: u8 = 1;
/// Value type: a set as a sequence of strings.
pub const TYPE_SET: u8 = 2;
/// Value type: a sorted set with scores as text (before Redis 4.0).
pub const TYPE_ZSET: u8 = 3;
/// Value type: a hash as a sequence of field, value strings.
pub const TYPE_HASH: u8 = 4;
/// Value type: a sorted set with binary scores (a skiplist one).
pub const TYPE_ZSET_2: u8 = 5;
/// Value type: a module value (refused).
pub const TYPE_MODULE: u8 = 6;
/// Value type: a module value, version 2 (refused).
pub const TYPE_MODULE_2: u8 = 7;
/// Value type: a hash as a zipmap (before Redis 2.6).
pub const TYPE_HASH_ZIPMAP: u8 = 9;
/// Value type: a list as one ziplist (before Redis 3.2).
pub const TYPE_LIST_ZIPLIST: u8 = 10;
/// Value type: an intset.
pub const TYPE_SET_INTSET: u8 = 11;
/// Value type: a sorted set as a ziplist (before Redis 7.0).
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
/// Value type: a hash as a ziplist (before Redis 7.0).
pub const TYPE_HASH_ZIPLIST: u8 = 13;
/// Value type: a quicklist of ziplists (Redis 3.2 to 6.2).
pub const TYPE_LIST_QUICKLIST: u8 = 14;
/// Value type: a stream (refused).
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
/// Value type: a hash as a listpack.
pub const TYPE_HASH_LISTPACK: u8 = 16;
/// Value type: a sorted set as a listpack.
pub const TYPE_ZSET_LISTPACK: u8 = 17;
/// Value type: a quicklist of listpack (or plain) nodes.
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// Value type: a stream, version 2 (refused).
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Value type: a set as a listpack (Redis 7.2).
pub const TYPE_SET_LISTPACK: u8 = 20;
/// Value type: a stream, version 3 (Redis 7.2, refused).
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Opcode: function library (Redis 7.0; refused).
pub const OP_FUNCTION2: u8 = 0xF5;
/// Opcode: function library of Redis 7.0's release candidates (refused).
pub const OP_FUNCTION: u8 = 0xF6;
/// Opcode: module auxiliary data (refused).
pub const OP_MODULE_AUX: u8 = 0xF7;
/// Opcode: the next key's LRU idle time in seconds.
pub const OP_IDLE: u8 = 0xF8;
/// Opcode: the next key's LFU frequency.
pub const OP_FREQ: u8 = 0xF9;
/// Opcode: an auxiliary field (name, value).
pub const OP_AUX: u8 = 0xFA;
/// Opcode: the sizes of the database's tables.
pub const OP_RESIZEDB: u8 = 0xFB;
/// Opcode: the next key's expiry time in milliseconds.
pub const OP_EXPIRETIME_MS: u8 = 0xFC;
/// Opcode: the next key's expiry time in seconds (old files).
pub const OP_EXPIRETIME: u8 = 0xFD;
/// Opcode: the database the following keys go to.
pub const OP_SELECTDB: u8 = 0xFE;
/// Opcode: end of file (a CRC-64 follows).
pub const OP_EOF: u8 = 0xFF;

/// Quicklist node container: one element stored as it is.
const CONTAINER_PLAIN: u64 = 1;
/// Quicklist node container: a listpack.
const CONTAINER_PACKED: u64 = 2;
/// Redis's `packed_threshold`: elements this large get a plain node of their own.
const PACKED_THRESHOLD: usize = 1 << 30;
/// Redis's `SIZE_ESTIMATE_OVERHEAD` of a quicklist insert.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// The most an LZF block expands: a 3-byte back reference gives 264 bytes.
const LZF_MAX_RATIO: usize = 88;
/// Bytes buffered by [`RdbWriter`] before they go to the sink.
pub const WRITE_BUFFER: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------
// Errors and the reader
// ---------------------------------------------------------------------------------------

/// Why RDB bytes could not be read. Every variant but the last three names the byte
/// offset (in the file or payload) where reading stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdbError {
    /// The input ends in the middle of something.
    Truncated {
        /// Where the missing bytes were expected.
        offset: usize,
    },
    /// The input is malformed.
    Corrupt {
        /// Where.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// A value type this build does not know.
    UnknownType {
        /// Where the type byte is.
        offset: usize,
        /// The type byte.
        ty: u8,
    },
    /// A value type or opcode Redis has but mini-kv does not support (modules, streams,
    /// functions).
    Unsupported {
        /// Where.
        offset: usize,
        /// What it is.
        what: &'static str,
    },
    /// An aggregate with no elements (Redis skips such keys when loading a file and
    /// refuses them in RESTORE).
    EmptyKey {
        /// Where the value ends.
        offset: usize,
    },
    /// The file does not start with `REDIS`.
    BadMagic,
    /// The file's RDB version is not one this build reads.
    Version(u32),
    /// A DUMP payload's footer is wrong: an RDB version newer than this build's, or a
    /// CRC-64 that does not match (RESTORE's `DUMP payload version or checksum are wrong`).
    Payload,
    /// The file's CRC-64 does not match its bytes.
    Checksum {
        /// The CRC-64 the file says.
        stored: u64,
        /// The CRC-64 of the bytes.
        computed: u64,
    },
}

impl core::fmt::Display for RdbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RdbError::Truncated { offset } => {
                write!(f, "unexpected end of RDB data at offset {offset}")
            }
            RdbError::Corrupt { offset, what } => {
                write!(f, "corrupt RDB data at offset {offset}: {what}")
            }
            RdbError::UnknownType { offset, ty } => {
                write!(f, "unknown RDB value type {ty} at offset {offset}")
            }
            RdbError::Unsupported { offset, what } => {
                write!(f, "unsupported RDB content at offset {offset}: {what}")
            }
            RdbError::EmptyKey { offset } => {
                write!(f, "empty aggregate value ending at offset {offset}")
            }
            RdbError::Payload => f.write_str("DUMP payload version or checksum are wrong"),
            RdbError::BadMagic => f.write_str("wrong signature: not an RDB file"),
            RdbError::Version(v) => write!(f, "Can't handle RDB format version {v}"),
            RdbError::Checksum { stored, computed } => write!(
                f,
                "Wrong RDB checksum expected: ({stored:x}) but got ({computed:x})"
            ),
        }
    }
}

/// A cursor over RDB bytes that knows its offset; every read is bounds-checked.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Added to `pos` in error offsets (a reader over a blob inside a file).
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    /// Bytes read so far (the offset of the next byte).
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn corrupt(&self, what: &'static str) -> RdbError {
        RdbError::Corrupt {
            offset: self.offset(),
            what,
        }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end.and_then(|e| self.data.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(RdbError::Truncated {
                offset: self.offset(),
            }),
        }
    }

    /// The next byte.
    pub fn u8(&mut self) -> Result<u8, RdbError> {
        self.array::<1>().map(|[b]| b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// A length (`rdbLoadLen`): `(value, is_encoded)`.
    pub fn len_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok((u64::from(b & 0x3f), false)),
            1 => {
                let n = self.u8()?;
                Ok(((u64::from(b & 0x3f) << 8) | u64::from(n), false))
            }
            3 => Ok((u64::from(b & 0x3f), true)),
            _ => match b {
                0x80 => Ok((u64::from(u32::from_be_bytes(self.array()?)), false)),
                0x81 => Ok((u64::from_be_bytes(self.array()?), false)),
                _ => Err(self.corrupt("unknown length encoding")),
            },
        }
    }

    /// A plain length.
    pub fn length(&mut self) -> Result<u64, RdbError> {
        match self.len_enc()? {
            (n, false) => Ok(n),
            (_, true) => Err(self.corrupt("encoded value where a length was expected")),
        }
    }

    /// A count of things that each take at least one byte: refused when larger than the
    /// bytes left, so nothing is ever allocated from it blindly.
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.length()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(self.corrupt("length larger than the data left")),
        }
    }

    /// A string (`rdbGenericLoadStringObject`): raw, integer-encoded or LZF-compressed.
    pub fn string(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        let (n, encoded) = self.len_enc()?;
        if !encoded {
            let n = usize::try_from(n).map_err(|_| self.corrupt("string too long"))?;
            return self.bytes(n).map(Cow::Borrowed);
        }
        let v: i64 = match n {
            0 => i64::from(self.u8()? as i8),
            1 => i64::from(i16::from_le_bytes(self.array()?)),
            2 => i64::from(i32::from_le_bytes(self.array()?)),
            3 => {
                let at = self.offset();
                let clen = self.length()?;
                let len = self.length()?;
                let (Ok(clen), Ok(len)) = (usize::try_from(clen), usize::try_from(len)) else {
                    return Err(self.corrupt("LZF length too large"));
                };
                if clen > self.remaining() {
                    return Err(RdbError::Truncated {
                        offset: self.offset(),
                    });
                }
                if len > clen.saturating_mul(LZF_MAX_RATIO).saturating_add(32) {
                    return Err(self.corrupt("LZF length larger than its data can expand to"));
                }
                let c = self.bytes(clen)?;
                if len == 0 {
                    // Redis's `lzf_decompress` answers 0 on any error, which it then takes
                    // for the expected length 0: whatever the data, an empty string.
                    return Ok(Cow::Borrowed(&[]));
                }
                let mut out = Vec::new();
                lzf::decompress(c, len, &mut out).map_err(|_| RdbError::Corrupt {
                    offset: at,
                    what: "invalid LZF compressed string",
                })?;
                return Ok(Cow::Owned(out));
            }
            _ => return Err(self.corrupt("unknown string encoding")),
        };
        let mut buf = [0u8; 20];
        Ok(Cow::Owned(fmt_i64(v, &mut buf).to_vec()))
    }

    /// A score as text (type 3, `rdbLoadDoubleValue`).
    fn text_double(&mut self) -> Result<f64, RdbError> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let s = self.bytes(usize::from(n))?;
                parse_double(s).ok_or_else(|| self.corrupt("invalid double"))
            }
        }
    }

    /// A binary little-endian double (`rdbLoadBinaryDoubleValue`).
    fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

/// A double as `strtod` reads Redis's own text (`%.17g`, `inf`, `-inf`).
fn parse_double(s: &[u8]) -> Option<f64> {
    core::str::from_utf8(s)
        .ok()?
        .trim_start()
        .parse::<f64>()
        .ok()
}

// ---------------------------------------------------------------------------------------
// Writing primitives
// ---------------------------------------------------------------------------------------

/// Writes a length (`rdbSaveLen`).
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn put_usize(out: &mut Vec<u8>, n: usize) {
    put_len(out, n as u64);
}

/// Writes a string as `rdbSaveRawString`: integer-encoded when it is the canonical text of
/// a 32-bit integer (11 bytes at most), LZF-compressed when `compress` is on, it is longer
/// than 20 bytes and compresses by at least 4 bytes, else raw.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.push(0xC0);
                out.push(v as u8);
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        let mut c = Vec::new();
        if lzf::compress(s, &mut c) {
            out.push(0xC3);
            put_usize(out, c.len());
            put_usize(out, s.len());
            out.extend_from_slice(&c);
            return;
        }
    }
    put_usize(out, s.len());
    out.extend_from_slice(s);
}

// ---------------------------------------------------------------------------------------
// Listpacks
// ---------------------------------------------------------------------------------------

/// Listpack header bytes (total bytes u32, element count u16).
const LP_HDR: usize = 6;
/// The element count a listpack header stores when it has 65535 or more.
const LP_NUMELE_UNKNOWN: usize = 65535;

/// A listpack under construction, bytes as Redis's `lpAppend` writes them.
struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Listpack {
    fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; LP_HDR]);
        Listpack { buf, count: 0 }
    }

    /// Bytes of the finished listpack so far (header and end byte included): `lpBytes`.
    fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    fn backlen(&mut self, l: usize) {
        let l = l as u64;
        let b = |v: u64| (v & 127) as u8 | 128;
        if l <= 127 {
            self.buf.push(l as u8);
        } else if l < 16383 {
            self.buf
                .extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
        } else if l < 2_097_151 {
            self.buf
                .extend_from_slice(&[(l >> 14) as u8, b(l >> 7), (l & 127) as u8 | 128]);
        } else if l < 268_435_455 {
            self.buf
                .extend_from_slice(&[(l >> 21) as u8, b(l >> 14), b(l >> 7), b(l)]);
        } else {
            self.buf
                .extend_from_slice(&[(l >> 28) as u8, b(l >> 21), b(l >> 14), b(l >> 7), b(l)]);
        }
    }

    fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1i64 << 13) + v } else { v } as u64;
            self.buf.push((u >> 8) as u8 | 0xC0);
            self.buf.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xF2);
            self.buf
                .extend((v as i32).to_le_bytes().into_iter().take(3));
        } else if let Ok(v) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    /// Appends an element: an integer entry when `lpStringToInt64` would read it as one.
    fn push(&mut self, s: &[u8]) {
        if let Some(v) = parse_i64(s) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        let count = self.count.min(LP_NUMELE_UNKNOWN) as u16;
        let mut hdr = [0u8; LP_HDR];
        for (d, s) in hdr
            .iter_mut()
            .zip(total.to_le_bytes().into_iter().chain(count.to_le_bytes()))
        {
            *d = s;
        }
        self.buf.splice(..LP_HDR, hdr);
        self.buf
    }
}

/// An element of a listpack or ziplist: an integer entry or a string.
#[derive(Clone, Copy, Debug)]
enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Int(v) => {
                let mut buf = [0u8; 20];
                fmt_i64(v, &mut buf).to_vec()
            }
            Elem::Str(s) => s.to_vec(),
        }
    }

    fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Elem::Int(v) => {
                let mut buf = [0u8; 20];
                f(fmt_i64(v, &mut buf))
            }
            Elem::Str(s) => f(s),
        }
    }

    fn score(self) -> Option<f64> {
        match self {
            Elem::Int(v) => Some(v as f64),
            Elem::Str(s) => parse_double(s).filter(|d| !d.is_nan()),
        }
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Every element of the listpack `blob`, validated as Redis's deep `lpValidateIntegrity`
/// (header size, each entry's encoding and back length, the count, the end byte).
fn listpack_elems<'a>(blob: &'a [u8], offset: usize) -> Result<Vec<Elem<'a>>, RdbError> {
    let bad = |what| RdbError::Corrupt { offset, what };
    let mut r = Reader {
        data: blob,
        pos: 0,
        base: offset,
    };
    let total = le(r.bytes(4).map_err(|_| bad("listpack too short"))?) as usize;
    let count = le(r.bytes(2).map_err(|_| bad("listpack too short"))?) as usize;
    if total != blob.len() || total < LP_HDR + 1 {
        return Err(bad("listpack size mismatch"));
    }
    let mut out = Vec::new();
    loop {
        let start = r.pos;
        let b = r.u8().map_err(|_| bad("listpack without end byte"))?;
        if b == 0xFF {
            break;
        }
        let e = match b {
            0x00..=0x7F => Elem::Int(i64::from(b)),
            0x80..=0xBF => Elem::Str(
                r.bytes(usize::from(b & 0x3F))
                    .map_err(|_| bad("listpack entry overflows"))?,
            ),
            0xC0..=0xDF => {
                let lo = r.u8().map_err(|_| bad("listpack entry overflows"))?;
                Elem::Int(sign_extend((u64::from(b & 0x1F) << 8) | u64::from(lo), 13))
            }
            0xE0..=0xEF => {
                let lo = r.u8().map_err(|_| bad("listpack entry overflows"))?;
                let n = (usize::from(b & 0x0F) << 8) | usize::from(lo);
                Elem::Str(r.bytes(n).map_err(|_| bad("listpack entry overflows"))?)
            }
            0xF0 => {
                let n = le(r.bytes(4).map_err(|_| bad("listpack entry overflows"))?) as usize;
                Elem::Str(r.bytes(n).map_err(|_| bad("listpack entry overflows"))?)
            }
            0xF1..=0xF4 => {
                let n = match b {
                    0xF1 => 2,
                    0xF2 => 3,
                    0xF3 => 4,
                    _ => 8,
                };
                let v = le(r.bytes(n).map_err(|_| bad("listpack entry overflows"))?);
                Elem::Int(sign_extend(v, (n * 8) as u32))
            }
            _ => return Err(bad("invalid listpack entry encoding")),
        };
        let l = (r.pos - start) as u64;
        let want = if l <= 127 {
            1
        } else if l < 16383 {
            2
        } else if l < 2_097_151 {
            3
        } else if l < 268_435_455 {
            4
        } else {
            5
        };
        let back = r.bytes(want).map_err(|_| bad("listpack entry overflows"))?;
        // Read backwards: the last byte holds the low 7 bits.
        let mut v = 0u64;
        for (i, &byte) in back.iter().rev().enumerate() {
            v |= u64::from(byte & 127) << (7 * i);
        }
        if v != l {
            return Err(bad("listpack entry back length mismatch"));
        }
        out.push(e);
    }
    if r.pos != blob.len() {
        return Err(bad("listpack end byte before its end"));
    }
    if count != LP_NUMELE_UNKNOWN && count != out.len() {
        return Err(bad("listpack element count mismatch"));
    }
    Ok(out)
}

/// Every element of the ziplist `blob` (`ziplistValidateIntegrity`, deep).
fn ziplist_elems<'a>(blob: &'a [u8], offset: usize) -> Result<Vec<Elem<'a>>, RdbError> {
    let bad = |what| RdbError::Corrupt { offset, what };
    let mut r = Reader {
        data: blob,
        pos: 0,
        base: offset,
    };
    let trunc = |_| bad("ziplist entry overflows");
    let total = le(r.bytes(4).map_err(|_| bad("ziplist too short"))?) as usize;
    let tail = le(r.bytes(4).map_err(|_| bad("ziplist too short"))?) as usize;
    let count = le(r.bytes(2).map_err(|_| bad("ziplist too short"))?) as usize;
    if total != blob.len() || total < 11 || tail >= total {
        return Err(bad("ziplist header mismatch"));
    }
    let mut out = Vec::new();
    let mut prev_len = 0usize;
    let mut last_start = 10usize;
    loop {
        let start = r.pos;
        let first = r.u8().map_err(|_| bad("ziplist without end byte"))?;
        if first == 0xFF {
            break;
        }
        let prev = if first < 254 {
            usize::from(first)
        } else if first == 254 {
            le(r.bytes(4).map_err(trunc)?) as usize
        } else {
            return Err(bad("invalid ziplist entry"));
        };
        if prev != prev_len {
            return Err(bad("ziplist previous length mismatch"));
        }
        let enc = r.u8().map_err(trunc)?;
        let e = match enc >> 6 {
            0 => Elem::Str(r.bytes(usize::from(enc & 0x3F)).map_err(trunc)?),
            1 => {
                let lo = r.u8().map_err(trunc)?;
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(lo);
                Elem::Str(r.bytes(n).map_err(trunc)?)
            }
            2 => {
                if enc != 0x80 {
                    return Err(bad("invalid ziplist string encoding"));
                }
                let mut a = [0u8; 4];
                a.copy_from_slice(r.bytes(4).map_err(trunc)?);
                Elem::Str(r.bytes(u32::from_be_bytes(a) as usize).map_err(trunc)?)
            }
            _ => match enc {
                0xC0 => Elem::Int(sign_extend(le(r.bytes(2).map_err(trunc)?), 16)),
                0xD0 => Elem::Int(sign_extend(le(r.bytes(4).map_err(trunc)?), 32)),
                0xE0 => Elem::Int(sign_extend(le(r.bytes(8).map_err(trunc)?), 64)),
                0xF0 => Elem::Int(sign_extend(le(r.bytes(3).map_err(trunc)?), 24)),
                0xFE => Elem::Int(sign_extend(le(r.bytes(1).map_err(trunc)?), 8)),
                0xF1..=0xFD => Elem::Int(i64::from(enc & 0x0F) - 1),
                _ => return Err(bad("invalid ziplist integer encoding")),
            },
        };
        prev_len = r.pos - start;
        last_start = start;
        out.push(e);
    }
    if r.pos != blob.len() {
        return Err(bad("ziplist end byte before its end"));
    }
    if !out.is_empty() && tail != last_start {
        return Err(bad("ziplist tail offset mismatch"));
    }
    if count != 0xFFFF && count != out.len() {
        return Err(bad("ziplist element count mismatch"));
    }
    Ok(out)
}

/// Every (field, value) of the zipmap `blob` (`zipmapValidateIntegrity`).
/// Field, value pairs borrowed from a blob.
type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

fn zipmap_pairs(blob: &[u8], offset: usize) -> Result<Pairs<'_>, RdbError> {
    let bad = |what| RdbError::Corrupt { offset, what };
    let trunc = |_| bad("zipmap entry overflows");
    let mut r = Reader {
        data: blob,
        pos: 0,
        base: offset,
    };
    r.u8().map_err(trunc)?; // zmlen: a hint only
    let mut out = Vec::new();
    let len = |r: &mut Reader<'_>| -> Result<Option<usize>, RdbError> {
        let b = r.u8().map_err(|_| bad("zipmap entry overflows"))?;
        match b {
            0xFF => Ok(None),
            254 => Ok(Some(
                le(r.bytes(4).map_err(|_| bad("zipmap entry overflows"))?) as usize,
            )),
            253 => Err(bad("invalid zipmap length")),
            _ => Ok(Some(usize::from(b))),
        }
    };
    while let Some(flen) = len(&mut r)? {
        let field = r.bytes(flen).map_err(trunc)?;
        let Some(vlen) = len(&mut r)? else {
            return Err(bad("zipmap field without value"));
        };
        let free = usize::from(r.u8().map_err(trunc)?);
        let value = r.bytes(vlen).map_err(trunc)?;
        r.bytes(free).map_err(trunc)?;
        out.push((field, value));
    }
    if r.pos != blob.len() {
        return Err(bad("zipmap end byte before its end"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Values: writing
// ---------------------------------------------------------------------------------------

/// The RDB type byte Redis 7.0.15 writes for `v` (`rdbSaveObjectType`).
pub fn value_type(v: &Value) -> u8 {
    match v {
        Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(s) if s.is_intset() => TYPE_SET_INTSET,
        Value::Set(_) => TYPE_SET,
        Value::ZSet(z) if z.is_small() => TYPE_ZSET_LISTPACK,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Hash(h) if h.is_small() => TYPE_HASH_LISTPACK,
        Value::Hash(_) => TYPE_HASH,
    }
}

/// Appends the RDB encoding of `v` (without its type byte), as Redis's `rdbSaveObject`;
/// `compress` is `rdbcompression`.
pub fn encode_value(out: &mut Vec<u8>, v: &Value, compress: bool) {
    match v {
        Value::Str(s) => put_string(out, s, compress),
        Value::List(l) => encode_list(out, l, compress),
        Value::Set(s) if s.is_intset() => {
            let mut ints = Vec::with_capacity(s.len());
            s.for_each_member(|m| {
                if let Member::Int(i) = m {
                    ints.push(i);
                }
            });
            let width: usize = if ints.iter().all(|&i| i16::try_from(i).is_ok()) {
                2
            } else if ints.iter().all(|&i| i32::try_from(i).is_ok()) {
                4
            } else {
                8
            };
            let mut blob = Vec::with_capacity(8 + width * ints.len());
            blob.extend_from_slice(&(width as u32).to_le_bytes());
            blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
            for i in ints {
                blob.extend(i.to_le_bytes().into_iter().take(width));
            }
            put_string(out, &blob, compress);
        }
        Value::Set(s) => {
            put_usize(out, s.len());
            s.for_each(|m| put_string(out, m, compress));
        }
        Value::ZSet(z) if z.is_small() => {
            let mut lp = Listpack::new();
            for k in 0..z.len() {
                if let Some((score, member)) = z.get(k) {
                    lp.push(member);
                    push_score(&mut lp, score);
                }
            }
            put_string(out, &lp.finish(), compress);
        }
        Value::ZSet(z) => {
            put_usize(out, z.len());
            for k in (0..z.len()).rev() {
                if let Some((score, member)) = z.get(k) {
                    put_string(out, member, compress);
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
        Value::Hash(h) if h.is_small() => {
            let mut lp = Listpack::new();
            for (f, v) in h.iter() {
                lp.push(f);
                lp.push(v);
            }
            put_string(out, &lp.finish(), compress);
        }
        Value::Hash(h) => {
            put_usize(out, h.len());
            for (f, v) in h.iter() {
                put_string(out, f, compress);
                put_string(out, v, compress);
            }
        }
    }
}

/// A score as `zzlInsertAt` stores it: an integer entry when `double2ll` holds, else the
/// `%.17g` text (`d2string`).
fn push_score(lp: &mut Listpack, score: f64) {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if (-HALF..=HALF).contains(&score) && score == (score as i64) as f64 {
        lp.push_int(score as i64);
    } else {
        let text = crate::num::fmt_double(score);
        lp.push(text.as_bytes());
    }
}

/// A list as `rdbSaveObject` writes a quicklist, nodes split as `quicklistPushTail` would
/// have split them under the list's fill.
fn encode_list(out: &mut Vec<u8>, l: &List, compress: bool) {
    let (max_bytes, max_count) = l.fill_bounds();
    enum Node {
        Packed(Vec<u8>),
        Plain(Vec<u8>),
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut cur: Option<Listpack> = None;
    for e in l.iter() {
        if e.len() >= PACKED_THRESHOLD {
            if let Some(lp) = cur.take() {
                nodes.push(Node::Packed(lp.finish()));
            }
            nodes.push(Node::Plain(e.to_vec()));
            continue;
        }
        let fits = cur.as_ref().is_some_and(|lp| {
            let new_sz = lp.bytes() + e.len() + SIZE_ESTIMATE_OVERHEAD;
            new_sz <= max_bytes && lp.count < max_count
        });
        if !fits {
            if let Some(lp) = cur.take() {
                nodes.push(Node::Packed(lp.finish()));
            }
            cur = Some(Listpack::new());
        }
        if let Some(lp) = cur.as_mut() {
            lp.push(e);
        }
    }
    if let Some(lp) = cur.take() {
        nodes.push(Node::Packed(lp.finish()));
    }
    put_usize(out, nodes.len());
    for n in nodes {
        match n {
            Node::Packed(b) => {
                put_len(out, CONTAINER_PACKED);
                put_string(out, &b, compress);
            }
            Node::Plain(b) => {
                put_len(out, CONTAINER_PLAIN);
                put_string(out, &b, compress);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Values: reading
// ---------------------------------------------------------------------------------------

const NO_LIMITS: EncodingLimits = EncodingLimits {
    hash_max_listpack_entries: usize::MAX,
    hash_max_listpack_value: usize::MAX,
    set_max_intset_entries: usize::MAX,
    zset_max_listpack_entries: usize::MAX,
    zset_max_listpack_value: usize::MAX,
    list_max_listpack_size: crate::types::list::DEFAULT_FILL,
};

const ZNO_LIMITS: ZLimits = ZLimits {
    entries: usize::MAX,
    member: usize::MAX,
};

/// Reads a value of RDB type `ty` (`rdbLoadObject`), building it in the encodings Redis
/// would give it under `limits`. Refuses empty aggregates ([`RdbError::EmptyKey`]),
/// duplicate members or fields, NaN scores, modules and streams.
pub fn decode_value(
    ty: u8,
    input: &mut Reader<'_>,
    limits: &EncodingLimits,
) -> Result<Value, RdbError> {
    let at = input.offset();
    let empty = |r: &Reader<'_>| RdbError::EmptyKey { offset: r.offset() };
    let dup = |r: &Reader<'_>, what| RdbError::Corrupt {
        offset: r.offset(),
        what,
    };
    match ty {
        TYPE_STRING => Ok(Value::str(input.string()?)),
        TYPE_LIST => {
            let n = input.count()?;
            if n == 0 {
                return Err(empty(input));
            }
            let mut l = List::with_fill(limits.list_max_listpack_size);
            for _ in 0..n {
                l.push_back(&input.string()?);
            }
            Ok(Value::List(alloc::boxed::Box::new(l)))
        }
        TYPE_SET => {
            let n = input.count()?;
            if n == 0 {
                return Err(empty(input));
            }
            let max = limits
                .set_max_intset_entries
                .min(crate::types::set::INTSET_MAX_ENTRIES_CAP);
            let mut s = if n > max {
                Set::new_table()
            } else {
                Set::new()
            };
            for _ in 0..n {
                let m = input.string()?;
                if !s.add(&m, max) {
                    return Err(dup(input, "duplicate set members"));
                }
            }
            Ok(Value::Set(alloc::boxed::Box::new(s)))
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = input.count()?;
            if n == 0 {
                return Err(empty(input));
            }
            let mut pairs = Vec::new();
            let mut longest = 0;
            for _ in 0..n {
                let m = input.string()?.into_owned();
                let score = if ty == TYPE_ZSET_2 {
                    input.binary_double()?
                } else {
                    input.text_double()?
                };
                if score.is_nan() {
                    return Err(dup(input, "sorted set with a NaN score"));
                }
                longest = longest.max(m.len());
                pairs.push((m, score));
            }
            let small =
                n <= limits.zset_max_listpack_entries && longest <= limits.zset_max_listpack_value;
            let mut z = if small {
                ZSet::new()
            } else {
                ZSet::new_unpacked()
            };
            for (m, score) in pairs {
                if z.insert(&m, score, ZNO_LIMITS).is_some() {
                    return Err(dup(input, "duplicate sorted set members"));
                }
            }
            Ok(Value::ZSet(alloc::boxed::Box::new(z)))
        }
        TYPE_HASH => {
            let n = input.count()?;
            if n == 0 {
                return Err(empty(input));
            }
            let mut h = Hash::new();
            if n > limits.hash_max_listpack_entries {
                h.convert_to_big();
            }
            for _ in 0..n {
                let f = input.string()?;
                let v = input.string()?;
                if h.contains(&f) {
                    return Err(dup(input, "duplicate hash fields"));
                }
                h.set(&f, &v, limits);
            }
            Ok(Value::Hash(alloc::boxed::Box::new(h)))
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let n = input.count()?;
            if n == 0 {
                return Err(empty(input));
            }
            let mut l = List::with_fill(limits.list_max_listpack_size);
            for _ in 0..n {
                let container = if ty == TYPE_LIST_QUICKLIST_2 {
                    input.length()?
                } else {
                    CONTAINER_PACKED
                };
                if container != CONTAINER_PACKED && container != CONTAINER_PLAIN {
                    return Err(input.corrupt("quicklist integrity check failed"));
                }
                let off = input.offset();
                let blob = input.string()?;
                if blob.is_empty() {
                    return Err(input.corrupt("empty quicklist node"));
                }
                if container == CONTAINER_PLAIN {
                    l.push_back(&blob);
                    continue;
                }
                let elems = if ty == TYPE_LIST_QUICKLIST_2 {
                    listpack_elems(&blob, off)?
                } else {
                    ziplist_elems(&blob, off)?
                };
                for e in elems {
                    e.with_bytes(|b| l.push_back(b));
                }
            }
            if l.is_empty() {
                return Err(empty(input));
            }
            Ok(Value::List(alloc::boxed::Box::new(l)))
        }
        TYPE_HASH_ZIPMAP | TYPE_LIST_ZIPLIST | TYPE_SET_INTSET | TYPE_ZSET_ZIPLIST
        | TYPE_ZSET_LISTPACK | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK | TYPE_SET_LISTPACK => {
            let off = input.offset();
            let blob = input.string()?;
            decode_blob(ty, &blob, off, limits).map_err(|e| match e {
                RdbError::EmptyKey { .. } => empty(input),
                e => e,
            })
        }
        TYPE_MODULE | TYPE_MODULE_2 => Err(RdbError::Unsupported {
            offset: at,
            what: "module values (RDB types 6 and 7) are not supported",
        }),
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            Err(RdbError::Unsupported {
                offset: at,
                what: "streams (RDB types 15, 19 and 21) are not supported",
            })
        }
        _ => Err(RdbError::UnknownType { offset: at, ty }),
    }
}

/// The values stored as one blob (a ziplist, listpack, zipmap or intset).
fn decode_blob(
    ty: u8,
    blob: &[u8],
    off: usize,
    limits: &EncodingLimits,
) -> Result<Value, RdbError> {
    let bad = |what| RdbError::Corrupt { offset: off, what };
    let empty = RdbError::EmptyKey { offset: off };
    match ty {
        TYPE_SET_INTSET => {
            if blob.len() < 8 {
                return Err(bad("intset too short"));
            }
            let width = le(blob.get(..4).unwrap_or_default()) as usize;
            let n = le(blob.get(4..8).unwrap_or_default()) as usize;
            if !matches!(width, 2 | 4 | 8) {
                return Err(bad("invalid intset encoding"));
            }
            if n.checked_mul(width).and_then(|b| b.checked_add(8)) != Some(blob.len()) {
                return Err(bad("intset size mismatch"));
            }
            if n == 0 {
                return Err(bad("empty intset"));
            }
            let mut s = Set::new();
            let mut prev = None;
            for c in blob.get(8..).unwrap_or_default().chunks_exact(width) {
                let v = sign_extend(le(c), (width * 8) as u32);
                if prev.is_some_and(|p| p >= v) {
                    return Err(bad("intset not sorted or with duplicates"));
                }
                prev = Some(v);
                s.add_member(Member::Int(v), usize::MAX);
            }
            if n > limits.set_max_intset_entries {
                s.convert_to_table();
            }
            Ok(Value::Set(alloc::boxed::Box::new(s)))
        }
        TYPE_SET_LISTPACK => {
            let elems = listpack_elems(blob, off)?;
            if elems.is_empty() {
                return Err(empty);
            }
            let max = limits
                .set_max_intset_entries
                .min(crate::types::set::INTSET_MAX_ENTRIES_CAP);
            let mut s = if elems.len() > max {
                Set::new_table()
            } else {
                Set::new()
            };
            for e in elems {
                if !e.with_bytes(|b| s.add(b, max)) {
                    return Err(bad("duplicate set members"));
                }
            }
            Ok(Value::Set(alloc::boxed::Box::new(s)))
        }
        TYPE_LIST_ZIPLIST => {
            let elems = ziplist_elems(blob, off)?;
            if elems.is_empty() {
                return Err(empty);
            }
            let mut l = List::with_fill(limits.list_max_listpack_size);
            for e in elems {
                e.with_bytes(|b| l.push_back(b));
            }
            Ok(Value::List(alloc::boxed::Box::new(l)))
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let elems = if ty == TYPE_ZSET_ZIPLIST {
                ziplist_elems(blob, off)?
            } else {
                listpack_elems(blob, off)?
            };
            if elems.len() % 2 != 0 {
                return Err(bad("sorted set with an odd number of elements"));
            }
            if elems.is_empty() {
                return Err(empty);
            }
            let n = elems.len() / 2;
            let mut z = if n > limits.zset_max_listpack_entries {
                ZSet::new_unpacked()
            } else {
                ZSet::new()
            };
            for p in elems.chunks_exact(2) {
                let (Some(&m), Some(&s)) = (p.first(), p.get(1)) else {
                    continue;
                };
                let score = s.score().ok_or(bad("invalid sorted set score"))?;
                if m.with_bytes(|b| z.insert(b, score, ZNO_LIMITS)).is_some() {
                    return Err(bad("duplicate sorted set members"));
                }
            }
            Ok(Value::ZSet(alloc::boxed::Box::new(z)))
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK | TYPE_HASH_ZIPMAP => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = if ty == TYPE_HASH_ZIPMAP {
                zipmap_pairs(blob, off)?
                    .into_iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect()
            } else {
                let elems = if ty == TYPE_HASH_ZIPLIST {
                    ziplist_elems(blob, off)?
                } else {
                    listpack_elems(blob, off)?
                };
                if elems.len() % 2 != 0 {
                    return Err(bad("hash with an odd number of elements"));
                }
                elems
                    .chunks_exact(2)
                    .filter_map(|p| Some((p.first()?.to_vec(), p.get(1)?.to_vec())))
                    .collect()
            };
            if pairs.is_empty() {
                return Err(empty);
            }
            let mut h = Hash::new();
            let mut longest = 0;
            for (f, v) in &pairs {
                if h.contains(f) {
                    return Err(bad("duplicate hash fields"));
                }
                longest = longest.max(f.len()).max(v.len());
                h.set(f, v, &NO_LIMITS);
            }
            if h.len() > limits.hash_max_listpack_entries
                || (ty == TYPE_HASH_ZIPMAP && longest > limits.hash_max_listpack_value)
            {
                h.convert_to_big();
            }
            Ok(Value::Hash(alloc::boxed::Box::new(h)))
        }
        _ => Err(RdbError::UnknownType { offset: off, ty }),
    }
}

// ---------------------------------------------------------------------------------------
// DUMP payloads
// ---------------------------------------------------------------------------------------

/// The DUMP payload of `v` (Redis's `createDumpPayload`): type byte, value, the RDB
/// version as 2 bytes little-endian, the CRC-64 of all that, little-endian.
pub fn dump(v: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(value_type(v));
    encode_value(&mut out, v, compress);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Whether `payload` has a footer RESTORE accepts (`verifyDumpPayload`): an RDB version
/// this build reads and a matching CRC-64.
pub fn verify_payload(payload: &[u8]) -> bool {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return false;
    };
    let (body, footer) = payload.split_at(body_len);
    let (ver, crc) = footer.split_at(2);
    let ver = le(ver) as u16;
    if ver > RDB_VERSION {
        return false;
    }
    let mut whole = [0u8; 8];
    whole.copy_from_slice(crc);
    crc64::update(crc64::crc64(body), ver.to_le_bytes().as_slice()) == u64::from_le_bytes(whole)
}

/// The value of a DUMP payload, as RESTORE reads it: the footer checked
/// ([`verify_payload`]; [`RdbError::Payload`] when wrong), then a type byte Redis 7.0.15
/// knows and the value (any other error: RESTORE's `Bad data format`). As in Redis, the
/// value is read from the payload with its footer still attached, and bytes left after the
/// value are not looked at.
pub fn undump(payload: &[u8], limits: &EncodingLimits) -> Result<Value, RdbError> {
    if !verify_payload(payload) {
        return Err(RdbError::Payload);
    }
    let mut r = Reader::new(payload);
    let ty = r.u8()?;
    if !is_object_type(ty) {
        return Err(RdbError::UnknownType { offset: 0, ty });
    }
    decode_value(ty, &mut r, limits)
}

/// Redis 7.0.15's `rdbIsObjectType`.
fn is_object_type(ty: u8) -> bool {
    ty <= 7 || (9..=19).contains(&ty)
}

// ---------------------------------------------------------------------------------------
// Whole files
// ---------------------------------------------------------------------------------------

/// Where an [`RdbWriter`] sends its bytes (a file, a socket, a `Vec`).
pub trait Sink {
    /// What a write can fail with.
    type Error;
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}

impl Sink for Vec<u8> {
    type Error = core::convert::Infallible;
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Writes an RDB file: header, databases, entries, EOF and CRC-64, buffered
/// ([`WRITE_BUFFER`]) in front of the sink. The first sink error is kept and returned by
/// [`RdbWriter::finish`]; nothing more is written after it.
pub struct RdbWriter<S: Sink> {
    sink: S,
    buf: Vec<u8>,
    crc: u64,
    compress: bool,
    checksum: bool,
    error: Option<S::Error>,
}

impl<S: Sink> RdbWriter<S> {
    /// A writer into `sink`; `compress` is `rdbcompression`, `checksum` `rdbchecksum`.
    pub fn new(sink: S, compress: bool, checksum: bool) -> Self {
        RdbWriter {
            sink,
            buf: Vec::with_capacity(WRITE_BUFFER),
            crc: 0,
            compress,
            checksum,
            error: None,
        }
    }

    fn flush_if_full(&mut self) {
        if self.buf.len() >= WRITE_BUFFER {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.checksum {
            self.crc = crc64::update(self.crc, &self.buf);
        }
        if self.error.is_none() {
            if let Err(e) = self.sink.write_all(&self.buf) {
                self.error = Some(e);
            }
        }
        self.buf.clear();
    }

    /// The magic `REDIS0010` and the auxiliary fields (`rdbSaveInfoAuxFields`' shape).
    pub fn header(&mut self, aux: &[(&[u8], &[u8])]) {
        self.buf.extend_from_slice(b"REDIS");
        self.buf
            .extend_from_slice(alloc::format!("{RDB_VERSION:04}").as_bytes());
        for (name, value) in aux {
            self.buf.push(OP_AUX);
            put_string(&mut self.buf, name, self.compress);
            put_string(&mut self.buf, value, self.compress);
        }
        self.flush_if_full();
    }

    /// Starts database `db`, which holds `keys` keys, `expires` of them with a TTL.
    pub fn select_db(&mut self, db: usize, keys: usize, expires: usize) {
        self.buf.push(OP_SELECTDB);
        put_usize(&mut self.buf, db);
        self.buf.push(OP_RESIZEDB);
        put_usize(&mut self.buf, keys);
        put_usize(&mut self.buf, expires);
        self.flush_if_full();
    }

    /// One key: its expiry time if any, type, key and value.
    pub fn entry(&mut self, key: &[u8], item: &Item) {
        if let Some(UnixMillis(t)) = item.expire_at() {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&t.to_le_bytes());
        }
        self.buf.push(value_type(&item.value));
        put_string(&mut self.buf, key, self.compress);
        encode_value(&mut self.buf, &item.value, self.compress);
        self.flush_if_full();
    }

    /// Writes EOF and the CRC-64 (0 without checksums), flushes, and gives the sink back.
    pub fn finish(mut self) -> Result<S, S::Error> {
        self.buf.push(OP_EOF);
        self.flush();
        let crc = if self.checksum { self.crc } else { 0 };
        self.buf.extend_from_slice(&crc.to_le_bytes());
        let checksum = self.checksum;
        self.checksum = false;
        self.flush();
        self.checksum = checksum;
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.sink),
        }
    }
}

/// One thing [`load`] found in a file, in file order.
#[derive(Debug)]
pub enum Loaded<'a> {
    /// An auxiliary field.
    Aux {
        /// Its name.
        name: Cow<'a, [u8]>,
        /// Its value.
        value: Cow<'a, [u8]>,
    },
    /// The following keys belong to this database.
    SelectDb(usize),
    /// The sizes of the current database's tables (a hint).
    ResizeDb {
        /// Keys.
        keys: u64,
        /// Keys with a TTL.
        expires: u64,
    },
    /// A key. Expired ones are passed on too: the caller decides (Redis drops them when
    /// loading as a master).
    Entry {
        /// The key.
        key: Vec<u8>,
        /// Its value and expiry time.
        item: Item,
        /// Its LRU idle time in seconds, if the file has one.
        idle: Option<u64>,
        /// Its LFU frequency, if the file has one.
        freq: Option<u8>,
    },
}

/// Parses a whole RDB file (versions 1 to 10), calling `f` for each thing in it, in order;
/// empty aggregates are skipped as Redis skips them. Stops at the first error (from the
/// file or from `f`). The CRC-64 is checked unless it is 0 (written without checksums).
/// Bytes after the end of the RDB data are ignored, as Redis's `rdbLoad` ignores them.
pub fn load(
    bytes: &[u8],
    limits: &EncodingLimits,
    f: impl FnMut(Loaded<'_>) -> Result<(), RdbError>,
) -> Result<(), RdbError> {
    load_prefix(bytes, limits, f).map(|_| ())
}

/// As [`load`], for RDB data followed by something else (the RDB preamble of an AOF file):
/// returns the offset just after the RDB data (after the EOF opcode and, from version 5,
/// the 8-byte checksum), where the rest begins.
pub fn load_prefix(
    bytes: &[u8],
    limits: &EncodingLimits,
    mut f: impl FnMut(Loaded<'_>) -> Result<(), RdbError>,
) -> Result<usize, RdbError> {
    let mut r = Reader::new(bytes);
    let magic = r.bytes(9).map_err(|_| RdbError::BadMagic)?;
    let (sig, ver) = magic.split_at(5);
    if sig != b"REDIS" {
        return Err(RdbError::BadMagic);
    }
    // atoi: leading digits.
    let version = ver
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
    if version < 1 || version > u32::from(RDB_VERSION) {
        return Err(RdbError::Version(version));
    }
    let mut expire: Option<i64> = None;
    let mut idle = None;
    let mut freq = None;
    loop {
        let at = r.offset();
        let op = r.u8()?;
        match op {
            OP_EXPIRETIME => {
                let mut a = [0u8; 4];
                a.copy_from_slice(r.bytes(4)?);
                expire = Some(i64::from(i32::from_le_bytes(a)) * 1000);
            }
            OP_EXPIRETIME_MS => {
                let mut a = [0u8; 8];
                a.copy_from_slice(r.bytes(8)?);
                expire = Some(i64::from_le_bytes(a));
            }
            OP_FREQ => freq = Some(r.u8()?),
            OP_IDLE => idle = Some(r.length()?),
            OP_EOF => break,
            OP_SELECTDB => {
                let db = r.length()?;
                let db = usize::try_from(db).map_err(|_| r.corrupt("database index too large"))?;
                f(Loaded::SelectDb(db))?;
            }
            OP_RESIZEDB => {
                let keys = r.length()?;
                let expires = r.length()?;
                f(Loaded::ResizeDb { keys, expires })?;
            }
            OP_AUX => {
                let name = r.string()?;
                let value = r.string()?;
                f(Loaded::Aux { name, value })?;
            }
            OP_MODULE_AUX => {
                return Err(RdbError::Unsupported {
                    offset: at,
                    what: "module auxiliary data is not supported",
                })
            }
            OP_FUNCTION | OP_FUNCTION2 => {
                return Err(RdbError::Unsupported {
                    offset: at,
                    what: "function libraries are not supported",
                })
            }
            ty => {
                if !is_object_type(ty) {
                    return Err(RdbError::UnknownType { offset: at, ty });
                }
                let key = r.string()?.into_owned();
                match decode_value(ty, &mut r, limits) {
                    Ok(value) => f(Loaded::Entry {
                        key,
                        item: Item::with_expiry(value, expire.map(UnixMillis)),
                        idle,
                        freq,
                    })?,
                    Err(RdbError::EmptyKey { .. }) => {}
                    Err(e) => return Err(e),
                }
                expire = None;
                idle = None;
                freq = None;
            }
        }
    }
    if version >= 5 {
        let end = r.offset();
        let mut a = [0u8; 8];
        a.copy_from_slice(r.bytes(8)?);
        let stored = u64::from_le_bytes(a);
        if stored != 0 {
            let computed = crc64::crc64(bytes.get(..end).unwrap_or_default());
            if computed != stored {
                return Err(RdbError::Checksum { stored, computed });
            }
        }
    }
    Ok(r.offset())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    fn lim() -> EncodingLimits {
        EncodingLimits::default()
    }

    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::List(x), Value::List(y)) => x.iter().eq(y.iter()),
            (Value::Set(x), Value::Set(y)) => {
                x.encoding() == y.encoding() && x.len() == y.len() && {
                    let mut ok = true;
                    x.for_each(|m| ok &= y.contains(m));
                    ok
                }
            }
            (Value::ZSet(x), Value::ZSet(y)) => {
                x.is_small() == y.is_small()
                    && x.len() == y.len()
                    && (0..x.len()).all(|k| {
                        let (a, b) = (x.get(k).unwrap(), y.get(k).unwrap());
                        a.0.to_bits() == b.0.to_bits() && a.1 == b.1
                    })
            }
            (Value::Hash(x), Value::Hash(y)) => {
                x.is_small() == y.is_small()
                    && x.len() == y.len()
                    && x.iter().all(|(f, v)| y.get(f) == Some(v))
            }
            _ => false,
        }
    }

    fn samples() -> Vec<Value> {
        let l = lim();
        let mut out = vec![
            Value::str(Vec::new()),
            Value::str(b"12".to_vec()),
            Value::str(b"-129".to_vec()),
            Value::str(b"2147483647".to_vec()),
            Value::str(b"2147483648".to_vec()),
            Value::str(b"007".to_vec()),
            Value::str(vec![b'x'; 1000]),
            Value::str((0..=255u8).collect::<Vec<u8>>()),
        ];
        let mut list = List::new();
        for i in 0..3000 {
            list.push_back(format!("element-{i}").as_bytes());
            list.push_back(format!("{}", i * 1000 - 5000).as_bytes());
        }
        list.push_back(&vec![b'z'; 20_000]);
        out.push(Value::List(Box::new(list)));
        let mut small = Set::new();
        for i in [-70000i64, -5, 0, 3, 1 << 40] {
            small.add(format!("{i}").as_bytes(), 512);
        }
        out.push(Value::Set(Box::new(small)));
        let mut big = Set::new();
        for i in 0..600 {
            big.add(format!("m{i}").as_bytes(), 512);
        }
        out.push(Value::Set(Box::new(big)));
        let mut z = ZSet::new();
        for (i, s) in [1.5, -0.0, 3.0, f64::INFINITY, f64::NEG_INFINITY, 1e300, 0.1]
            .iter()
            .enumerate()
        {
            z.insert(format!("z{i}").as_bytes(), *s, l.into());
        }
        out.push(Value::ZSet(Box::new(z)));
        let mut zb = ZSet::new();
        for i in 0..300 {
            zb.insert(format!("big{i}").as_bytes(), f64::from(i) / 7.0, l.into());
        }
        out.push(Value::ZSet(Box::new(zb)));
        let mut h = Hash::new();
        h.set(b"a", b"1", &l);
        h.set(b"", b"", &l);
        h.set(b"n", b"-4097", &l);
        out.push(Value::Hash(Box::new(h)));
        let mut hb = Hash::new();
        for i in 0..100 {
            hb.set(format!("f{i}").as_bytes(), &vec![b'v'; i], &l);
        }
        out.push(Value::Hash(Box::new(hb)));
        out
    }

    #[test]
    fn dump_round_trips_every_type() {
        for v in samples() {
            for compress in [false, true] {
                let p = dump(&v, compress);
                let back = undump(&p, &lim()).unwrap();
                assert!(same(&v, &back), "{v:?}");
            }
        }
    }

    #[test]
    fn strings_encode_as_redis() {
        let enc = |s: &[u8]| {
            let mut o = Vec::new();
            put_string(&mut o, s, true);
            o
        };
        assert_eq!(enc(b"12"), [0xC0, 12]);
        assert_eq!(enc(b"-129"), [0xC1, 0x7F, 0xFF]);
        assert_eq!(enc(b"70000"), [0xC2, 0x70, 0x11, 0x01, 0x00]);
        assert_eq!(enc(b"007"), b"\x03007");
        assert_eq!(enc(b"2147483648"), b"\x0a2147483648");
        assert_eq!(
            enc(&[b'a'; 30]),
            b"\xc3\x09\x1e\x01aa\xe0\x11\x00\x01aa".to_vec()
        );
        // Redis 7.0.15: DUMP of a `a` set to 30 'a's.
        let p = dump(&Value::str(vec![b'a'; 30]), true);
        assert_eq!(
            p,
            b"\x00\xc3\t\x1e\x01aa\xe0\x11\x00\x01aa\n\x00Es|\xbb+d{\xbb".to_vec()
        );
    }

    #[test]
    fn list_dump_matches_redis() {
        // redis-cli: RPUSH l a b 1 -5 300 70000; DUMP l.
        let mut l = List::new();
        for e in ["a", "b", "1", "-5", "300", "70000"] {
            l.push_back(e.as_bytes());
        }
        let p = dump(&Value::List(Box::new(l)), true);
        let want: &[u8] = b"\x12\x01\x02\x1a\x1a\x00\x00\x00\x06\x00\x81a\x02\x81b\x02\x01\x01\xdf\xfb\x02\xc1,\x02\xf2p\x11\x01\x04\xff\n\x00\x954n\t\xce\x11\xa7\t";
        assert_eq!(p, want);
    }

    #[test]
    fn payload_footer_is_checked() {
        let mut p = dump(&Value::str(b"hello".to_vec()), true);
        assert!(undump(&p, &lim()).is_ok());
        let n = p.len();
        p[n - 1] ^= 1;
        assert_eq!(undump(&p, &lim()).unwrap_err(), RdbError::Payload);
        assert_eq!(undump(b"short", &lim()).unwrap_err(), RdbError::Payload);
        // Version 11 is refused even with a right CRC.
        let mut q = vec![0u8, 1, b'x', 11, 0];
        let crc = crc64::crc64(&q);
        q.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(undump(&q, &lim()).unwrap_err(), RdbError::Payload);
    }

    fn with_footer(body: &[u8]) -> Vec<u8> {
        let mut p = body.to_vec();
        p.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    #[test]
    fn duplicates_empty_and_unsupported_are_refused() {
        // A listpack hash with field "a" twice.
        let mut lp = Listpack::new();
        for e in [b"a", b"1", b"a", b"2"] {
            lp.push(e);
        }
        let mut body = vec![TYPE_HASH_LISTPACK];
        put_string(&mut body, &lp.finish(), false);
        assert!(matches!(
            undump(&with_footer(&body), &lim()),
            Err(RdbError::Corrupt { .. })
        ));
        // SET with a duplicate member.
        let body = [TYPE_SET, 2, 1, b'x', 1, b'x'];
        assert!(undump(&with_footer(&body), &lim()).is_err());
        // Empty list.
        let body = [TYPE_LIST_QUICKLIST_2, 0];
        assert!(matches!(
            undump(&with_footer(&body), &lim()),
            Err(RdbError::EmptyKey { .. })
        ));
        for ty in [TYPE_MODULE_2, TYPE_STREAM_LISTPACKS] {
            let e = undump(&with_footer(&[ty, 0]), &lim()).unwrap_err();
            assert!(matches!(e, RdbError::Unsupported { .. }), "{e}");
        }
        assert!(matches!(
            undump(&with_footer(&[8, 0]), &lim()),
            Err(RdbError::UnknownType { ty: 8, .. })
        ));
    }

    #[test]
    fn old_encodings_load() {
        // Ziplist hash (type 13) as Redis 6 writes it: zlbytes, zltail, zllen, entries.
        let zl: &[u8] = b"\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01a\x03\xf2\xff";
        let mut body = vec![TYPE_LIST_ZIPLIST];
        put_string(&mut body, zl, false);
        match undump(&with_footer(&body), &lim()).unwrap() {
            Value::List(l) => {
                let v: Vec<Vec<u8>> = l.iter().map(<[u8]>::to_vec).collect();
                assert_eq!(v, vec![b"a".to_vec(), b"1".to_vec()]);
            }
            v => panic!("{v:?}"),
        }
        // Zipmap hash: zmlen, (len field len free value)*, end.
        let zm: &[u8] = b"\x01\x01f\x02\x00vv\xff";
        let mut body = vec![TYPE_HASH_ZIPMAP];
        put_string(&mut body, zm, false);
        match undump(&with_footer(&body), &lim()).unwrap() {
            Value::Hash(h) => assert_eq!(h.get(b"f"), Some(&b"vv"[..])),
            v => panic!("{v:?}"),
        }
        // ZSET (type 3) with text scores.
        let body = [TYPE_ZSET, 2, 1, b'a', 3, b'1', b'.', b'5', 1, b'b', 254];
        match undump(&with_footer(&body), &lim()).unwrap() {
            Value::ZSet(z) => {
                assert_eq!(z.score(b"a"), Some(1.5));
                assert_eq!(z.score(b"b"), Some(f64::INFINITY));
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn small_encodings_convert_as_redis_loader() {
        let mut z = ZSet::new_unpacked();
        for i in 0..200 {
            z.insert(format!("{i}").as_bytes(), 1.0, ZNO_LIMITS);
        }
        let p = dump(&Value::ZSet(Box::new(z)), false);
        let mut l = lim();
        match undump(&p, &l).unwrap() {
            Value::ZSet(z) => assert!(!z.is_small()),
            v => panic!("{v:?}"),
        }
        l.zset_max_listpack_entries = 1000;
        match undump(&p, &l).unwrap() {
            Value::ZSet(z) => assert!(z.is_small()),
            v => panic!("{v:?}"),
        }
    }

    fn file(compress: bool, checksum: bool) -> Vec<u8> {
        let mut w = RdbWriter::new(Vec::new(), compress, checksum);
        w.header(&[(b"redis-ver", b"7.0.15"), (b"redis-bits", b"64")]);
        w.select_db(0, 2, 1);
        w.entry(b"k", &Item::new(Value::str(b"v".to_vec())));
        w.entry(
            b"t",
            &Item::with_expiry(
                Value::str(vec![b'q'; 100]),
                Some(UnixMillis(1_700_000_000_000)),
            ),
        );
        w.select_db(3, 1, 0);
        for v in samples() {
            w.entry(b"s", &Item::new(v));
        }
        w.finish().unwrap()
    }

    #[test]
    fn files_round_trip() {
        for (compress, checksum) in [(true, true), (false, false)] {
            let f = file(compress, checksum);
            assert_eq!(&f[..9], b"REDIS0010");
            let mut seen = Vec::new();
            load(&f, &lim(), |l| {
                seen.push(match l {
                    Loaded::Aux { name, value } => format!("aux {name:?}={value:?}"),
                    Loaded::SelectDb(d) => format!("db {d}"),
                    Loaded::ResizeDb { keys, expires } => format!("resize {keys} {expires}"),
                    Loaded::Entry { key, item, .. } => {
                        format!(
                            "{key:?} {:?} {:?}",
                            item.value.type_name(),
                            item.expire_at()
                        )
                    }
                });
                Ok(())
            })
            .unwrap();
            assert_eq!(seen.len(), 2 + 2 + 2 + 2 + samples().len());
            assert!(seen[2].starts_with("db 0"));
            assert!(seen[5].contains("1700000000000"));
        }
        let mut f = file(true, true);
        let n = f.len();
        f[n - 3] ^= 0x40;
        assert!(matches!(
            load(&f, &lim(), |_| Ok(())),
            Err(RdbError::Checksum { .. })
        ));
        let mut v = b"REDIS0011".to_vec();
        v.push(OP_EOF);
        assert_eq!(
            load(&v, &lim(), |_| Ok(())).unwrap_err().to_string(),
            "Can't handle RDB format version 11"
        );
    }

    #[test]
    fn random_mutations_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let payloads: Vec<Vec<u8>> = samples()
            .iter()
            .flat_map(|v| [dump(v, true), dump(v, false)])
            .collect();
        let whole = file(true, false);
        for round in 0..4000 {
            let base = if round % 5 == 0 {
                &whole
            } else {
                &payloads[(next() as usize) % payloads.len()]
            };
            let mut m = base.clone();
            for _ in 0..1 + next() % 4 {
                if m.is_empty() {
                    break;
                }
                let i = (next() as usize) % m.len();
                match next() % 3 {
                    0 => m[i] = next() as u8,
                    1 => m.truncate(i),
                    _ => m[i] ^= 1 << (next() % 8),
                }
            }
            if round % 5 == 0 {
                let _ = load(&m, &lim(), |_| Ok(()));
            } else {
                // Re-seal the footer so the value itself gets parsed.
                if m.len() > 10 {
                    m.truncate(m.len() - 10);
                    let _ = undump(&with_footer(&m), &lim());
                }
                let _ = undump(&m, &lim());
            }
        }
    }
}
