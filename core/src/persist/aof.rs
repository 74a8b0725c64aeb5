//! Redis 7.0's append-only file formats, without I/O: the multi-part AOF manifest
//! ([`Manifest`]: `aofLoadManifestFromFile`, `getAofManifestAsString` and the steps Redis
//! takes on it), the file names Redis gives the parts, the command stream of an AOF file
//! ([`read_commands`]: `loadSingleAppendOnlyFile`'s parsing, truncation and unfinished
//! transactions included; [`load_file`] for a file that starts with an RDB preamble), the
//! encoding of logged commands ([`encode_command`], as `catAppendOnlyGenericCommand`) and
//! the commands a rewrite emits for one key ([`rewrite_entry`], as
//! `rewriteAppendOnlyFileRio` with `aof-use-rdb-preamble no`).
//!
//! The frontend owns the directory, the files and fsync; this module says what the bytes
//! are. Every length read from a file is checked against the bytes left (and bulk lengths
//! against the caller's `max_bulk`) before anything is taken from it, and no input makes it
//! panic.

use super::rdb::{self, Loaded, RdbError};
use crate::db::{Item, Value};
use crate::resp::encode::{bulk, fmt_i64, fmt_u64};
use crate::types::set::Member;
use crate::types::EncodingLimits;
use alloc::string::String;
use alloc::vec::Vec;

/// The longest manifest line Redis reads in one go (`MANIFEST_MAX_LINE`): a longer line
/// is "The AOF manifest file contains too long line".
pub const MANIFEST_MAX_LINE: usize = 1024;
/// The size of the line buffer Redis reads AOF lines with (`AOF_ANNOTATION_LINE_MAX_LEN`):
/// one `fgets` takes at most this many bytes minus one.
pub const ANNOTATION_LINE_MAX_LEN: usize = 1024;
/// Elements per RPUSH / SADD / ZADD / HMSET command in a rewrite
/// (`AOF_REWRITE_ITEMS_PER_CMD`).
pub const REWRITE_ITEMS_PER_CMD: usize = 64;
/// The default `appendfilename`, the prefix of every part's name.
pub const DEFAULT_PREFIX: &[u8] = b"appendonly.aof";

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why an AOF manifest or file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AofError {
    /// The manifest is invalid: `msg` is Redis's text. `line` is the line number and the
    /// trimmed line when Redis logs them (`Reading the manifest file, at line N`).
    Manifest {
        /// The line number (from 1) and the trimmed line, when Redis shows them.
        line: Option<(usize, Vec<u8>)>,
        /// Redis's error text.
        msg: &'static str,
    },
    /// A format error in the command stream (Redis: "Bad file format reading the append
    /// only file"): the file cannot be loaded, even with `aof-load-truncated`.
    Corrupt {
        /// Where the line that is wrong starts.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// The RDB preamble could not be read.
    Rdb(RdbError),
    /// The caller's command callback refused a command (an unknown command, say).
    Command {
        /// Where the command starts.
        offset: usize,
        /// The callback's message.
        msg: String,
    },
}

impl core::fmt::Display for AofError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AofError::Manifest { line: None, msg } => f.write_str(msg),
            AofError::Manifest {
                line: Some((n, text)),
                msg,
            } => write!(
                f,
                "{msg} (reading the manifest file, at line {n}: '{}')",
                String::from_utf8_lossy(text)
            ),
            AofError::Corrupt { offset, what } => write!(
                f,
                "Bad file format reading the append only file at offset {offset}: {what}"
            ),
            AofError::Rdb(e) => write!(f, "Error reading the RDB preamble of the AOF file: {e}"),
            AofError::Command { msg, .. } => f.write_str(msg),
        }
    }
}

// ---------------------------------------------------------------------------------------
// C string helpers (what Redis's libc calls see)
// ---------------------------------------------------------------------------------------

/// The bytes a C string function sees: up to the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    s.iter()
        .position(|&b| b == 0)
        .map_or(s, |i| s.get(..i).unwrap_or_default())
}

/// `isspace` in the C locale.
fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `isprint` in the C locale.
fn c_isprint(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// glibc's `strtoll(s, NULL, 10)` (and `strtol` on LP64): leading white space, a sign,
/// digits; saturates at the `i64` range; 0 when there are no digits.
fn c_strtol(s: &[u8]) -> i64 {
    let s = c_str(s);
    let mut i = s.iter().take_while(|&&b| c_isspace(b)).count();
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    // Accumulate negatively so i64::MIN fits.
    let mut v: i64 = 0;
    let mut overflow = false;
    for &d in s.get(i..).unwrap_or_default() {
        if !d.is_ascii_digit() {
            break;
        }
        let digit = i64::from(d - b'0');
        match v.checked_mul(10).and_then(|x| x.checked_sub(digit)) {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    if overflow {
        return if neg { i64::MIN } else { i64::MAX };
    }
    if neg {
        v
    } else {
        v.checked_neg().unwrap_or(i64::MAX)
    }
}

/// glibc's `atoi`: `(int) strtol(s, NULL, 10)`.
fn c_atoi(s: &[u8]) -> i32 {
    c_strtol(s) as i32
}

/// The next `fgets(buf, size, fp)` at `pos`: at most `size - 1` bytes, through the first
/// newline; `None` at the end of the input.
fn fgets(bytes: &[u8], pos: usize, size: usize) -> Option<&[u8]> {
    let rest = bytes.get(pos..).filter(|r| !r.is_empty())?;
    let window = rest.get(..size.saturating_sub(1)).unwrap_or(rest);
    let n = window
        .iter()
        .position(|&b| b == b'\n')
        .map_or(window.len(), |i| i + 1);
    window.get(..n)
}

// ---------------------------------------------------------------------------------------
// sdssplitargs / sdscatrepr
// ---------------------------------------------------------------------------------------

/// Redis's `sdssplitargs`: splits a line into arguments, with "double quotes" (escapes
/// `\n \r \t \b \a \xHH`, any other `\c` is `c`) and 'single quotes' (only `\'`); `None`
/// for unbalanced quotes or a closing quote followed by something other than a space.
/// The line ends at its first NUL, as in C.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // The inline-request splitter is the same `sdssplitargs`.
    crate::resp::parse::split_line(c_str(line)).ok()
}

/// Redis's `sdsneedsrepr`: whether `s` has a byte that [`cat_repr`] would escape, or a
/// space.
pub fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&b| {
        matches!(b, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08)
            || !c_isprint(b)
            || c_isspace(b)
    })
}

/// Redis's `sdscatrepr`: appends `s` in double quotes, escaped so that [`split_args`]
/// reads it back.
pub fn cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    // MONITOR's lines use the same `sdscatrepr`.
    crate::monitor::repr(out, s);
}

// ---------------------------------------------------------------------------------------
// The manifest
// ---------------------------------------------------------------------------------------

/// The kind of one AOF part, as the manifest's `type` field says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofKind {
    /// `b`: the snapshot the last rewrite wrote (at most one).
    Base,
    /// `h`: a part made obsolete by a rewrite, to be deleted.
    History,
    /// `i`: commands logged after the base, in sequence order.
    Incr,
}

impl AofKind {
    /// The manifest's letter for this kind.
    pub fn letter(self) -> u8 {
        match self {
            AofKind::Base => b'b',
            AofKind::History => b'h',
            AofKind::Incr => b'i',
        }
    }

    /// The kind a manifest letter names.
    pub fn from_letter(c: u8) -> Option<AofKind> {
        match c {
            b'b' => Some(AofKind::Base),
            b'h' => Some(AofKind::History),
            b'i' => Some(AofKind::Incr),
            _ => None,
        }
    }
}

/// One AOF part: a line of the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    /// The file name (never a path).
    pub name: Vec<u8>,
    /// Its sequence number.
    pub seq: u64,
    /// Its kind.
    pub kind: AofKind,
}

impl AofInfo {
    /// Appends this part's manifest line (`aofInfoFormat`).
    fn format(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"file ");
        if needs_repr(&self.name) {
            cat_repr(out, &self.name);
        } else {
            out.extend_from_slice(&self.name);
        }
        out.extend_from_slice(b" seq ");
        let mut buf = [0u8; 20];
        out.extend_from_slice(fmt_u64(self.seq, &mut buf));
        out.extend_from_slice(b" type ");
        out.push(self.kind.letter());
        out.push(b'\n');
    }
}

/// A multi-part AOF's manifest (`aofManifest`): which files make up the dataset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file, if any.
    pub base: Option<AofInfo>,
    /// The incremental files, in sequence order.
    pub incrs: Vec<AofInfo>,
    /// Files made obsolete by a rewrite, to be deleted.
    pub history: Vec<AofInfo>,
    /// The sequence number of the newest base file ever named.
    pub curr_base_seq: u64,
    /// The sequence number of the newest incremental file ever named.
    pub curr_incr_seq: u64,
}

/// `<prefix>.<seq>.base.rdb` (with an RDB preamble) or `<prefix>.<seq>.base.aof`.
pub fn base_name(prefix: &[u8], seq: u64, rdb_preamble: bool) -> Vec<u8> {
    let mut out = numbered(prefix, seq);
    out.extend_from_slice(if rdb_preamble {
        b".base.rdb"
    } else {
        b".base.aof"
    });
    out
}

/// `<prefix>.<seq>.incr.aof`.
pub fn incr_name(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut out = numbered(prefix, seq);
    out.extend_from_slice(b".incr.aof");
    out
}

/// `<prefix>.manifest`.
pub fn manifest_name(prefix: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(b".manifest");
    out
}

/// `temp-<prefix>.manifest`: where Redis writes a manifest before renaming it.
pub fn temp_manifest_name(prefix: &[u8]) -> Vec<u8> {
    let mut out = b"temp-".to_vec();
    out.extend_from_slice(&manifest_name(prefix));
    out
}

/// `temp-<prefix>.incr`: the incremental file Redis writes while `appendonly` is being
/// switched on (its rewrite is running).
pub fn temp_incr_name(prefix: &[u8]) -> Vec<u8> {
    let mut out = b"temp-".to_vec();
    out.extend_from_slice(prefix);
    out.extend_from_slice(b".incr");
    out
}

fn numbered(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.push(b'.');
    let mut buf = [0u8; 20];
    out.extend_from_slice(fmt_u64(seq, &mut buf));
    out
}

fn manifest_err(line: Option<(usize, &[u8])>, msg: &'static str) -> AofError {
    AofError::Manifest {
        line: line.map(|(n, l)| (n, l.to_vec())),
        msg,
    }
}

/// `sdstrim(s, " \t\r\n")`.
fn trim(s: &[u8]) -> &[u8] {
    let set = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|b| !set(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !set(b)).map_or(start, |i| i + 1);
    s.get(start..end.max(start)).unwrap_or_default()
}

impl Manifest {
    /// Parses a manifest as Redis 7.0's `aofLoadManifestFromFile` does, with its checks and
    /// error texts: lines of at most [`MANIFEST_MAX_LINE`] bytes ending in a newline,
    /// `#` comments, `key value` pairs split as `sdssplitargs` splits (names may be
    /// quoted), at least `file`, `seq` and `type`, unknown keys ignored, one base, incr
    /// sequence numbers increasing.
    ///
    /// Not as Redis: a negative `seq` (which Redis's `atoll` would keep for a base or a
    /// history line) is "Invalid AOF manifest file format".
    pub fn parse(text: &[u8]) -> Result<Manifest, AofError> {
        let mut am = Manifest::default();
        let mut maxseq: u64 = 0;
        let mut linenum = 0usize;
        let mut pos = 0usize;
        // fgets(buf, MANIFEST_MAX_LINE + 1, fp): each step consumes at least one byte.
        while let Some(chunk) = fgets(text, pos, MANIFEST_MAX_LINE + 1) {
            pos += chunk.len();
            linenum += 1;
            if chunk.first() == Some(&b'#') {
                continue;
            }
            let cline = c_str(chunk);
            if !cline.contains(&b'\n') {
                return Err(manifest_err(
                    None,
                    "The AOF manifest file contains too long line",
                ));
            }
            let line = trim(cline);
            let invalid =
                || manifest_err(Some((linenum, line)), "Invalid AOF manifest file format");
            if line.is_empty() {
                return Err(invalid());
            }
            let argv = split_args(line).ok_or_else(invalid)?;
            if argv.len() < 6 || argv.len() % 2 != 0 {
                return Err(invalid());
            }
            let mut name: Option<Vec<u8>> = None;
            let mut seq: i64 = 0;
            let mut ty: u8 = 0;
            for pair in argv.chunks_exact(2) {
                let [key, value] = pair else { continue };
                let key = c_str(key);
                if key.eq_ignore_ascii_case(b"file") {
                    let n = c_str(value);
                    if n.contains(&b'/') || n.contains(&b'\\') {
                        return Err(manifest_err(
                            Some((linenum, line)),
                            "File can't be a path, just a filename",
                        ));
                    }
                    name = Some(n.to_vec());
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = c_strtol(value);
                } else if key.eq_ignore_ascii_case(b"type") {
                    ty = value.first().copied().unwrap_or(0);
                }
            }
            let (Some(name), true, true) = (name, seq != 0, ty != 0) else {
                return Err(invalid());
            };
            let kind = AofKind::from_letter(ty);
            if kind == Some(AofKind::Incr) {
                let Some(seq) = u64::try_from(seq).ok().filter(|&s| s > maxseq) else {
                    return Err(manifest_err(
                        Some((linenum, line)),
                        "Found a non-monotonic sequence number",
                    ));
                };
                am.incrs.push(AofInfo {
                    name,
                    seq,
                    kind: AofKind::Incr,
                });
                am.curr_incr_seq = seq;
                maxseq = seq;
                continue;
            }
            let Some(kind) = kind else {
                return Err(manifest_err(Some((linenum, line)), "Unknown AOF file type"));
            };
            if kind == AofKind::Base && am.base.is_some() {
                return Err(manifest_err(
                    Some((linenum, line)),
                    "Found duplicate base file information",
                ));
            }
            let seq = u64::try_from(seq).map_err(|_| invalid())?;
            let info = AofInfo { name, seq, kind };
            if kind == AofKind::Base {
                am.base = Some(info);
                am.curr_base_seq = seq;
            } else {
                am.history.push(info);
            }
        }
        if linenum == 0 {
            return Err(manifest_err(None, "Found an empty AOF manifest"));
        }
        Ok(am)
    }

    /// The manifest's text, byte for byte as Redis's `getAofManifestAsString`: the base,
    /// then the history files, then the incremental files, one
    /// `file <name> seq <seq> type <b|h|i>` line each, names quoted (`sdscatrepr`) only
    /// when `sdsneedsrepr` says so.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for info in self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter())
        {
            info.format(&mut out);
        }
        out
    }

    /// Names the next incremental file and appends it (`getNewIncrAofName`): at start
    /// when there is none, and when a rewrite starts (`openNewIncrAofForAppend`).
    pub fn new_incr(&mut self, prefix: &[u8]) -> AofInfo {
        self.curr_incr_seq = self.curr_incr_seq.saturating_add(1);
        let info = AofInfo {
            name: incr_name(prefix, self.curr_incr_seq),
            seq: self.curr_incr_seq,
            kind: AofKind::Incr,
        };
        self.incrs.push(info.clone());
        info
    }

    /// The incremental file to append to: the last one, or a new one when there is none
    /// (`getLastIncrAofName`).
    pub fn last_incr(&mut self, prefix: &[u8]) -> AofInfo {
        match self.incrs.last() {
            Some(info) => info.clone(),
            None => self.new_incr(prefix),
        }
    }

    /// Names the next base file and makes it the base; the old base, if any, becomes the
    /// first history file (`getNewBaseFileNameAndMarkPreAsHistory`). Redis does this when
    /// a rewrite finished, and at start with an empty dataset and no files. After a
    /// rewrite, call [`Manifest::mark_rewritten_incrs_as_history`] too (or use
    /// [`Manifest::rewrite_done`]).
    pub fn new_base(&mut self, prefix: &[u8], rdb_preamble: bool) -> AofInfo {
        if let Some(mut old) = self.base.take() {
            old.kind = AofKind::History;
            self.history.insert(0, old);
        }
        self.curr_base_seq = self.curr_base_seq.saturating_add(1);
        let info = AofInfo {
            name: base_name(prefix, self.curr_base_seq, rdb_preamble),
            seq: self.curr_base_seq,
            kind: AofKind::Base,
        };
        self.base = Some(info.clone());
        info
    }

    /// After a successful rewrite, the incremental files the new base covers become
    /// history (`markRewrittenIncrAofAsHistory`): all of them when AOF is off
    /// (BGREWRITEAOF with `appendonly no`), all but the last when it is on, since the last
    /// is the one opened when the rewrite started, still being written. They go to the
    /// front of the history list, in sequence order.
    pub fn mark_rewritten_incrs_as_history(&mut self, aof_enabled: bool) {
        let keep = usize::from(aof_enabled && !self.incrs.is_empty());
        let moved = self.incrs.len() - keep;
        let rest = self.incrs.split_off(moved);
        let mut old = core::mem::replace(&mut self.incrs, rest);
        for info in &mut old {
            info.kind = AofKind::History;
        }
        old.append(&mut self.history);
        self.history = old;
    }

    /// What Redis's `backgroundRewriteDoneHandler` does to the manifest when a rewrite
    /// succeeded while AOF was on or off: [`Manifest::new_base`], then
    /// [`Manifest::mark_rewritten_incrs_as_history`]. Returns the new base. (While
    /// `appendonly` is being switched on, Redis also renames its temporary incremental
    /// file to a [`Manifest::new_incr`] between the two steps.)
    pub fn rewrite_done(
        &mut self,
        prefix: &[u8],
        rdb_preamble: bool,
        aof_enabled: bool,
    ) -> AofInfo {
        let base = self.new_base(prefix, rdb_preamble);
        self.mark_rewritten_incrs_as_history(aof_enabled);
        base
    }

    /// Takes the history files out of the manifest: the files to delete
    /// (`aofDelHistoryFiles`, unless `aof-disable-auto-gc`); write the manifest again.
    pub fn drain_history(&mut self) -> Vec<AofInfo> {
        core::mem::take(&mut self.history)
    }
}

// ---------------------------------------------------------------------------------------
// Reading the command stream
// ---------------------------------------------------------------------------------------

/// How a command stream ended, when it could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// Every command was complete and no transaction was left open.
    Complete,
    /// The input ends in the middle of a command: everything before `valid_up_to` is
    /// whole commands. Redis loads the file anyway and truncates it there only with
    /// `aof-load-truncated yes` (and only for the last file), else it refuses to start.
    /// A transaction still open at that point is dropped unexecuted.
    Truncated {
        /// The end of the last complete command.
        valid_up_to: usize,
    },
    /// The input ends cleanly, but inside a MULTI without its EXEC: Redis reverts the
    /// transaction as a short read and truncates at `valid_before_multi`.
    UnterminatedMulti {
        /// The offset before the MULTI that opened the transaction.
        valid_before_multi: usize,
    },
}

/// Whether an AOF file starts with an RDB preamble (`REDIS`): an RDB base file, or an
/// old-style AOF with an RDB head and commands after it.
pub fn has_rdb_preamble(bytes: &[u8]) -> bool {
    bytes.starts_with(b"REDIS")
}

/// Reads the commands of an AOF file, from offset 0, as Redis's
/// `loadSingleAppendOnlyFile` parses them; see [`read_commands_at`].
pub fn read_commands(
    bytes: &[u8],
    max_bulk: usize,
    f: impl FnMut(&[&[u8]]) -> Result<(), String>,
) -> Result<ReadEnd, AofError> {
    read_commands_at(bytes, 0, max_bulk, f)
}

/// Reads the commands of an AOF file from `start` (after an RDB preamble: see
/// [`load_file`]) as `loadSingleAppendOnlyFile` parses them, calling `f` with each
/// command's arguments, in order. Every offset reported is an offset in `bytes`.
///
/// Lines are read as Redis reads them with `fgets` into a buffer of
/// [`ANNOTATION_LINE_MAX_LEN`] bytes: a line starting with `#` is an annotation and is
/// skipped; a command is `*<argc>` then, per argument, `$<len>`, `len` bytes and two
/// bytes that are skipped unread (Redis does not check that they are CRLF). `f` sees
/// every command, MULTI and EXEC included: as Redis's AOF client does, the caller queues
/// the commands after a MULTI until its EXEC, and drops the queue when the stream ends in
/// [`ReadEnd::Truncated`] or [`ReadEnd::UnterminatedMulti`].
///
/// Errors: [`AofError::Corrupt`] where Redis says "Bad file format" (a line that starts
/// with neither `#` nor `*`, an argument count below 1, an argument line without `$`)
/// and, beyond Redis, for a negative bulk length or one above `max_bulk`;
/// [`AofError::Command`] when `f` refuses a command. Nothing is allocated from a length
/// in the file: arguments borrow from `bytes`.
///
/// Not as Redis: `valid_up_to` starts at `start` (Redis reports 0 for a file whose RDB
/// preamble is followed by a truncated first command).
pub fn read_commands_at(
    bytes: &[u8],
    start: usize,
    max_bulk: usize,
    mut f: impl FnMut(&[&[u8]]) -> Result<(), String>,
) -> Result<ReadEnd, AofError> {
    const LINE: usize = ANNOTATION_LINE_MAX_LEN;
    let truncated = |valid_up_to| Ok(ReadEnd::Truncated { valid_up_to });
    let mut pos = start;
    let mut valid_up_to = start;
    let mut valid_before_multi = start;
    let mut in_multi = false;
    let mut args: Vec<&[u8]> = Vec::new();
    while let Some(line) = fgets(bytes, pos, LINE) {
        let cmd_start = pos;
        pos += line.len();
        match line.first() {
            Some(b'#') => continue,
            Some(b'*') => {}
            _ => {
                return Err(AofError::Corrupt {
                    offset: cmd_start,
                    what: "expected '*' or '#'",
                })
            }
        }
        let digits = line.get(1..).unwrap_or_default();
        if digits.first().is_none_or(|&b| b == 0) {
            // Redis's read error: a short read when `fgets` met the end of the file.
            if pos >= bytes.len() && line.last() != Some(&b'\n') {
                return truncated(valid_up_to);
            }
            return Err(AofError::Corrupt {
                offset: cmd_start,
                what: "unreadable argument count",
            });
        }
        let argc = c_atoi(digits);
        if argc < 1 {
            return Err(AofError::Corrupt {
                offset: cmd_start,
                what: "invalid argument count",
            });
        }
        args.clear();
        // Each argument takes at least 4 bytes ("$\n" and the two skipped ones).
        let argc = usize::try_from(argc).unwrap_or(0);
        args.reserve(argc.min(bytes.len().saturating_sub(pos) / 4));
        for _ in 0..argc {
            let at = pos;
            let Some(l) = fgets(bytes, pos, LINE) else {
                return truncated(valid_up_to);
            };
            pos += l.len();
            if l.first() != Some(&b'$') {
                return Err(AofError::Corrupt {
                    offset: at,
                    what: "expected '$'",
                });
            }
            let len = c_strtol(l.get(1..).unwrap_or_default());
            let Some(len) = usize::try_from(len).ok().filter(|&n| n <= max_bulk) else {
                return Err(AofError::Corrupt {
                    offset: at,
                    what: "invalid bulk length",
                });
            };
            let Some(arg) = pos.checked_add(len).and_then(|end| bytes.get(pos..end)) else {
                return truncated(valid_up_to);
            };
            pos += len;
            // The CRLF, read and discarded unchecked.
            if bytes.len().saturating_sub(pos) < 2 {
                return truncated(valid_up_to);
            }
            pos += 2;
            args.push(arg);
        }
        let name = args.first().copied().unwrap_or_default();
        if name.eq_ignore_ascii_case(b"multi") {
            valid_before_multi = valid_up_to;
            in_multi = true;
        } else if name.eq_ignore_ascii_case(b"exec") {
            in_multi = false;
        }
        f(&args).map_err(|msg| AofError::Command {
            offset: cmd_start,
            msg,
        })?;
        valid_up_to = pos;
    }
    if in_multi {
        return Ok(ReadEnd::UnterminatedMulti { valid_before_multi });
    }
    Ok(ReadEnd::Complete)
}

/// Reads a whole AOF file: its RDB preamble, if it starts with one (`on_rdb` gets what
/// [`rdb::load`] finds in it), then its commands ([`read_commands_at`], `on_command`).
pub fn load_file(
    bytes: &[u8],
    limits: &EncodingLimits,
    max_bulk: usize,
    on_rdb: impl FnMut(Loaded<'_>) -> Result<(), RdbError>,
    on_command: impl FnMut(&[&[u8]]) -> Result<(), String>,
) -> Result<ReadEnd, AofError> {
    let start = if has_rdb_preamble(bytes) {
        rdb::load_prefix(bytes, limits, on_rdb).map_err(AofError::Rdb)?
    } else {
        0
    };
    read_commands_at(bytes, start, max_bulk, on_command)
}

// ---------------------------------------------------------------------------------------
// Writing commands
// ---------------------------------------------------------------------------------------

/// `*<n>\r\n`.
fn array_header(out: &mut Vec<u8>, n: usize) {
    let mut buf = [0u8; 20];
    out.push(b'*');
    out.extend_from_slice(fmt_u64(n as u64, &mut buf));
    out.extend_from_slice(b"\r\n");
}

/// Appends one command as Redis logs it (`catAppendOnlyGenericCommand`): a RESP array of
/// bulk strings.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    array_header(out, args.len());
    for a in args {
        bulk(out, a);
    }
}

/// Appends `SELECT <db>`, as Redis logs it before a command for another database than the
/// last one logged, and as a rewrite starts each database.
pub fn encode_select(out: &mut Vec<u8>, db: usize) {
    let mut buf = [0u8; 20];
    encode_command(out, &[b"SELECT", fmt_u64(db as u64, &mut buf)]);
}

/// Appends the timestamp annotation `#TS:<unix seconds>\r\n` (`aof-timestamp-enabled`).
pub fn encode_timestamp(out: &mut Vec<u8>, unix_secs: i64) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(b"#TS:");
    out.extend_from_slice(fmt_i64(unix_secs, &mut buf));
    out.extend_from_slice(b"\r\n");
}

/// Writes a variadic command in batches of [`REWRITE_ITEMS_PER_CMD`] items of `per`
/// arguments each, as the `rewrite*Object` functions do.
struct Batches<'a> {
    out: &'a mut Vec<u8>,
    cmd: &'static [u8],
    key: &'a [u8],
    per: usize,
    left: usize,
    count: usize,
}

impl Batches<'_> {
    /// Starts a new command when the previous batch is full; the caller then appends the
    /// item's `per` bulk strings.
    fn item(&mut self) -> &mut Vec<u8> {
        if self.count == 0 {
            let n = self.left.min(REWRITE_ITEMS_PER_CMD);
            array_header(self.out, 2 + n * self.per);
            bulk(self.out, self.cmd);
            bulk(self.out, self.key);
        }
        self.count += 1;
        if self.count == REWRITE_ITEMS_PER_CMD {
            self.count = 0;
        }
        self.left = self.left.saturating_sub(1);
        self.out
    }
}

/// Appends the commands that rebuild `key` (`rewriteAppendOnlyFileRio` for one key, the
/// base file with `aof-use-rdb-preamble no`; the caller writes [`encode_select`] before
/// each non-empty database): SET for a string; RPUSH, SADD, ZADD (score first, `%.17g`)
/// or HMSET for an aggregate, [`REWRITE_ITEMS_PER_CMD`] elements per command; then
/// `PEXPIREAT key <ms>` when the key has a TTL. Elements come in the order Redis's
/// iteration gives for the small encodings (list order, intset ascending, listpack
/// order); for the big ones (hash tables) the order is this build's (Redis's is its
/// dict's, which no one can reproduce). An empty aggregate writes nothing.
pub fn rewrite_entry(out: &mut Vec<u8>, key: &[u8], item: &Item) {
    let wrote = match &item.value {
        Value::Str(s) => {
            out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
            bulk(out, key);
            bulk(out, s);
            true
        }
        Value::List(l) => {
            let mut b = Batches {
                out: &mut *out,
                cmd: b"RPUSH",
                key,
                per: 1,
                left: l.len(),
                count: 0,
            };
            for e in l.iter() {
                bulk(b.item(), e);
            }
            !l.is_empty()
        }
        Value::Set(s) => {
            let mut b = Batches {
                out: &mut *out,
                cmd: b"SADD",
                key,
                per: 1,
                left: s.len(),
                count: 0,
            };
            s.for_each_member(|m| match m {
                Member::Int(i) => {
                    let mut buf = [0u8; 20];
                    bulk(b.item(), fmt_i64(i, &mut buf));
                }
                Member::Bytes(m) => bulk(b.item(), m),
            });
            !s.is_empty()
        }
        Value::ZSet(z) => {
            let mut b = Batches {
                out: &mut *out,
                cmd: b"ZADD",
                key,
                per: 2,
                left: z.len(),
                count: 0,
            };
            for k in 0..z.len() {
                if let Some((score, member)) = z.get(k) {
                    let o = b.item();
                    bulk(o, crate::num::fmt_double(score).as_bytes());
                    bulk(o, member);
                }
            }
            !z.is_empty()
        }
        Value::Hash(h) => {
            let mut b = Batches {
                out: &mut *out,
                cmd: b"HMSET",
                key,
                per: 2,
                left: h.len(),
                count: 0,
            };
            for (field, value) in h.iter() {
                let o = b.item();
                bulk(o, field);
                bulk(o, value);
            }
            !h.is_empty()
        }
    };
    if let (true, Some(at)) = (wrote, item.expire_at()) {
        out.extend_from_slice(b"*3\r\n$9\r\nPEXPIREAT\r\n");
        bulk(out, key);
        let mut buf = [0u8; 20];
        bulk(out, fmt_i64(at.0, &mut buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::rdb::RdbWriter;
    use crate::time::UnixMillis;
    use crate::types::hash::Hash;
    use crate::types::list::List;
    use crate::types::set::Set;
    use crate::types::zset::{Limits as ZLimits, ZSet};
    use alloc::boxed::Box;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    fn msg(r: Result<Manifest, AofError>) -> (&'static str, Option<usize>) {
        match r {
            Err(AofError::Manifest { line, msg }) => (msg, line.map(|(n, _)| n)),
            other => panic!("expected a manifest error, got {other:?}"),
        }
    }

    const INVALID: &str = "Invalid AOF manifest file format";

    #[test]
    fn manifest_round_trip() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\n\
file appendonly.aof.1.base.rdb seq 1 type h\n\
file appendonly.aof.1.incr.aof seq 1 type h\n\
file appendonly.aof.2.incr.aof seq 2 type i\n\
file appendonly.aof.3.incr.aof seq 3 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().seq, 2);
        assert_eq!(m.history.len(), 2);
        assert_eq!(m.incrs.len(), 2);
        assert_eq!((m.curr_base_seq, m.curr_incr_seq), (2, 3));
        assert_eq!(m.to_text(), text.to_vec());
    }

    #[test]
    fn manifest_lenient_forms() {
        // Comments, CRLF, extra spaces, unknown keys, case, quoting, order of keys.
        let text = b"# a comment\r\n  FILE 'a b' Seq 1 TYPE base extra value  \r\n\
type i seq 5 file \"x\\ty\\x00z\" \n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, b"a b".to_vec());
        // sdsnew stops at the NUL.
        assert_eq!(m.incrs[0].name, b"x\ty".to_vec());
        assert_eq!(
            m.to_text(),
            b"file \"a b\" seq 1 type b\nfile \"x\\ty\" seq 5 type i\n".to_vec()
        );
        assert_eq!(Manifest::parse(&m.to_text()).unwrap(), m);
        // Only comments: an empty manifest.
        assert_eq!(Manifest::parse(b"# x\n").unwrap(), Manifest::default());
        // A name that needs escapes round-trips through sdscatrepr / sdssplitargs.
        let odd = Manifest {
            base: Some(AofInfo {
                name: b"q\"\r\n\x07\x08\xff\x01 ~".to_vec(),
                seq: 7,
                kind: AofKind::Base,
            }),
            ..Manifest::default()
        };
        assert_eq!(
            odd.to_text(),
            b"file \"q\\\"\\r\\n\\a\\b\\xff\\x01 ~\" seq 7 type b\n".to_vec()
        );
        let back = Manifest::parse(&odd.to_text()).unwrap();
        assert_eq!(back.base, odd.base);
        // An empty name is allowed (Redis checks only that the key was there).
        let m = Manifest::parse(b"file \"\" seq 1 type b\n").unwrap();
        assert_eq!(m.base.unwrap().name, Vec::<u8>::new());
    }

    /// Found by the `aof_read` fuzz target: manifests that parse but, written back, do not
    /// (Redis 7.0.15's `getAofManifestAsString` writes the same bytes and its
    /// `aofLoadManifestFromFile` refuses them the same way), kept as Redis has them.
    #[test]
    fn manifest_names_that_do_not_read_back_as_in_redis() {
        let written = |text: &[u8]| Manifest::parse(text).unwrap().to_text();
        // An empty name is written unquoted: the line lacks a word.
        let t = written(b"file \"\" seq 1 type b\n");
        assert_eq!(t, b"file  seq 1 type b\n".to_vec());
        assert_eq!(msg(Manifest::parse(&t)), (INVALID, Some(1)));
        // `sdsneedsrepr` does not quote a `'`, which `sdssplitargs` then reads as an
        // unterminated single-quoted string.
        let t = written(b"file \"a'b\" seq 1 type b\n");
        assert_eq!(t, b"file a'b seq 1 type b\n".to_vec());
        assert_eq!(msg(Manifest::parse(&t)), (INVALID, Some(1)));
        // Quoting writes four bytes for each odd byte: a line that fit now does not.
        let mut text = b"file \"".to_vec();
        text.extend(core::iter::repeat_n(0xc2, 300));
        text.extend_from_slice(b"\" seq 1 type b\n");
        let t = written(&text);
        assert!(t.len() > MANIFEST_MAX_LINE);
        assert_eq!(
            msg(Manifest::parse(&t)),
            ("The AOF manifest file contains too long line", None)
        );
    }

    #[test]
    fn manifest_errors() {
        assert_eq!(
            msg(Manifest::parse(b"")),
            ("Found an empty AOF manifest", None)
        );
        let mut long = vec![b'a'; 1100];
        long.push(b'\n');
        assert_eq!(
            msg(Manifest::parse(&long)),
            ("The AOF manifest file contains too long line", None)
        );
        // A line of exactly 1024 bytes with its newline fits; 1025 does not.
        let mut fits = b"file a seq 1 type b".to_vec();
        fits.resize(1023, b' ');
        fits.push(b'\n');
        assert!(Manifest::parse(&fits).is_ok());
        fits.insert(0, b' ');
        assert_eq!(
            msg(Manifest::parse(&fits)).0,
            "The AOF manifest file contains too long line"
        );
        // No newline at the end of the last line.
        assert_eq!(
            msg(Manifest::parse(b"file a seq 1 type b")).0,
            "The AOF manifest file contains too long line"
        );
        // A NUL before the newline hides it.
        assert_eq!(
            msg(Manifest::parse(b"file a seq 1 type b\0\n")).0,
            "The AOF manifest file contains too long line"
        );
        // A long comment: its tail is read as the next line.
        let mut c = vec![b'#'];
        c.extend(vec![b'x'; 1100]);
        c.push(b'\n');
        assert_eq!(msg(Manifest::parse(&c)), (INVALID, Some(2)));
        assert_eq!(msg(Manifest::parse(b"\n")), (INVALID, Some(1)));
        assert_eq!(msg(Manifest::parse(b" \t\r\n")), (INVALID, Some(1)));
        assert_eq!(msg(Manifest::parse(b"file a seq 1\n")), (INVALID, Some(1)));
        assert_eq!(
            msg(Manifest::parse(b"file a seq 1 type b x\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"file \"a seq 1 type b\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"file \"a\"b seq 1 type b\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"file a seq 0 type b\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"file a seq x type b\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"file a seq 1 type \"\"\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"name a seq 1 type b\n")),
            (INVALID, Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"# c\nfile a/b seq 1 type b\n")),
            ("File can't be a path, just a filename", Some(2))
        );
        assert_eq!(
            msg(Manifest::parse(b"file a\\\\b seq 1 type b\n")),
            ("File can't be a path, just a filename", Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(
                b"file a seq 1 type b\nfile b seq 2 type b\n"
            )),
            ("Found duplicate base file information", Some(2))
        );
        assert_eq!(
            msg(Manifest::parse(
                b"file a seq 2 type i\nfile b seq 2 type i\n"
            )),
            ("Found a non-monotonic sequence number", Some(2))
        );
        assert_eq!(
            msg(Manifest::parse(b"file a seq -1 type i\n")),
            ("Found a non-monotonic sequence number", Some(1))
        );
        assert_eq!(
            msg(Manifest::parse(b"file a seq 1 type x\n")),
            ("Unknown AOF file type", Some(1))
        );
        // The Display carries Redis's text.
        let e = Manifest::parse(b"file a seq 1 type x\n").unwrap_err();
        assert!(e.to_string().starts_with("Unknown AOF file type"));
    }

    #[test]
    fn manifest_steps_as_redis() {
        let p = DEFAULT_PREFIX;
        let mut m = Manifest::default();
        // Start with an empty dataset: a base, then the first incr.
        assert_eq!(
            m.new_base(p, true).name,
            b"appendonly.aof.1.base.rdb".to_vec()
        );
        assert_eq!(m.last_incr(p).name, b"appendonly.aof.1.incr.aof".to_vec());
        assert_eq!(m.last_incr(p).seq, 1);
        // BGREWRITEAOF with AOF on: a new incr at the start, then the rewrite is done.
        assert_eq!(m.new_incr(p).name, b"appendonly.aof.2.incr.aof".to_vec());
        let base = m.rewrite_done(p, false, true);
        assert_eq!(base.name, b"appendonly.aof.2.base.aof".to_vec());
        assert_eq!(
            m.to_text(),
            b"file appendonly.aof.2.base.aof seq 2 type b\n\
file appendonly.aof.1.incr.aof seq 1 type h\n\
file appendonly.aof.1.base.rdb seq 1 type h\n\
file appendonly.aof.2.incr.aof seq 2 type i\n"
                .to_vec()
        );
        let gone = m.drain_history();
        assert_eq!(gone.len(), 2);
        assert!(gone.iter().all(|i| i.kind == AofKind::History));
        assert_eq!(
            m.to_text(),
            b"file appendonly.aof.2.base.aof seq 2 type b\n\
file appendonly.aof.2.incr.aof seq 2 type i\n"
                .to_vec()
        );
        // A rewrite with AOF off: every incr becomes history, in order, before the base.
        m.new_incr(p);
        m.rewrite_done(p, true, false);
        let names: Vec<_> = m.history.iter().map(|i| (i.seq, i.kind)).collect();
        assert_eq!(
            names,
            vec![
                (2, AofKind::History),
                (3, AofKind::History),
                (2, AofKind::History)
            ]
        );
        assert!(m.incrs.is_empty());
        assert_eq!(manifest_name(p), b"appendonly.aof.manifest".to_vec());
        assert_eq!(
            temp_manifest_name(p),
            b"temp-appendonly.aof.manifest".to_vec()
        );
        assert_eq!(temp_incr_name(p), b"temp-appendonly.aof.incr".to_vec());
        assert_eq!(incr_name(b"x", 12), b"x.12.incr.aof".to_vec());
        assert_eq!(base_name(b"x", 3, false), b"x.3.base.aof".to_vec());
    }

    fn commands() -> Vec<Vec<Vec<u8>>> {
        vec![
            vec![b"SELECT".to_vec(), b"0".to_vec()],
            vec![b"set".to_vec(), b"k".to_vec(), b"v\r\nx".to_vec()],
            vec![
                b"RPUSH".to_vec(),
                b"l".to_vec(),
                Vec::new(),
                b"\0\xff".to_vec(),
            ],
            vec![b"PING".to_vec()],
        ]
    }

    fn stream(cmds: &[Vec<Vec<u8>>]) -> (Vec<u8>, Vec<usize>) {
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for c in cmds {
            let args: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
            encode_command(&mut out, &args);
            ends.push(out.len());
        }
        (out, ends)
    }

    fn read_all(bytes: &[u8]) -> (Result<ReadEnd, AofError>, Vec<Vec<Vec<u8>>>) {
        let mut got = Vec::new();
        let r = read_commands(bytes, 1 << 20, |args| {
            got.push(args.iter().map(|a| a.to_vec()).collect());
            Ok(())
        });
        (r, got)
    }

    #[test]
    fn encode_is_redis_resp() {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"SET", b"k", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".to_vec());
        out.clear();
        encode_select(&mut out, 12);
        assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n".to_vec());
        out.clear();
        encode_timestamp(&mut out, 1_700_000_000);
        assert_eq!(out, b"#TS:1700000000\r\n".to_vec());
    }

    #[test]
    fn reads_commands_and_annotations() {
        let cmds = commands();
        let (mut bytes, _) = stream(&cmds);
        bytes.splice(0..0, b"#TS:1700000000\r\n".iter().copied());
        bytes.extend_from_slice(b"#TS:1700000001\r\n");
        let (r, got) = read_all(&bytes);
        assert_eq!(r, Ok(ReadEnd::Complete));
        assert_eq!(got, cmds);
        // Empty input.
        assert_eq!(read_all(b"").0, Ok(ReadEnd::Complete));
        // Redis does not check the CRLF after a bulk, nor what follows the length.
        let (r, got) = read_all(b"*1\r\n$4 junk\r\nPINGxx*1\n$1\nQ\n\n");
        assert_eq!(r, Ok(ReadEnd::Complete));
        assert_eq!(got, vec![vec![b"PING".to_vec()], vec![b"Q".to_vec()]]);
    }

    #[test]
    fn truncation_at_every_offset() {
        let cmds = commands();
        let (bytes, ends) = stream(&cmds);
        for cut in 0..=bytes.len() {
            let (r, got) = read_all(&bytes[..cut]);
            let done = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(got.len(), done, "cut {cut}");
            let last = if done == 0 { 0 } else { ends[done - 1] };
            if cut == last {
                assert_eq!(r, Ok(ReadEnd::Complete), "cut {cut}");
            } else {
                assert_eq!(r, Ok(ReadEnd::Truncated { valid_up_to: last }), "cut {cut}");
            }
        }
    }

    #[test]
    fn unterminated_multi() {
        let multi = vec![b"MULTI".to_vec()];
        let exec = vec![b"exec".to_vec()];
        let set = vec![b"SET".to_vec(), b"a".to_vec(), b"1".to_vec()];
        let (bytes, ends) = stream(&[set.clone(), multi.clone(), set.clone()]);
        assert_eq!(
            read_all(&bytes).0,
            Ok(ReadEnd::UnterminatedMulti {
                valid_before_multi: ends[0]
            })
        );
        // Cut inside the transaction: a plain truncation at the last whole command.
        assert_eq!(
            read_all(&bytes[..bytes.len() - 1]).0,
            Ok(ReadEnd::Truncated {
                valid_up_to: ends[1]
            })
        );
        let (bytes, _) = stream(&[multi.clone(), set.clone(), exec.clone(), set.clone()]);
        assert_eq!(read_all(&bytes).0, Ok(ReadEnd::Complete));
        let (bytes, _) = stream(&[multi.clone(), set.clone(), exec, multi]);
        assert_eq!(
            read_all(&bytes).0,
            Ok(ReadEnd::UnterminatedMulti {
                valid_before_multi: bytes.len() - 15
            })
        );
    }

    fn corrupt(bytes: &[u8]) -> (usize, &'static str) {
        match read_commands(bytes, 100, |_| Ok(())) {
            Err(AofError::Corrupt { offset, what }) => (offset, what),
            other => panic!("expected corrupt for {bytes:?}, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_inputs() {
        assert_eq!(corrupt(b"+OK\r\n").0, 0);
        assert_eq!(corrupt(b"*1\r\n$4\r\nPING\r\nSET\r\n").0, 14);
        assert_eq!(corrupt(b"*2\r\n$3\r\nGET\r\nk\r\n"), (13, "expected '$'"));
        assert_eq!(corrupt(b"*0\r\n").1, "invalid argument count");
        assert_eq!(corrupt(b"*-3\r\n").1, "invalid argument count");
        assert_eq!(corrupt(b"*\r\n").1, "invalid argument count");
        assert_eq!(corrupt(b"*x\r\n").1, "invalid argument count");
        assert_eq!(corrupt(b"*\0\r\n").1, "unreadable argument count");
        assert_eq!(corrupt(b"*1\r\n$-1\r\n").1, "invalid bulk length");
        assert_eq!(corrupt(b"*1\r\n$101\r\n").1, "invalid bulk length");
        assert_eq!(
            corrupt(b"*1\r\n$99999999999999999999999\r\n").1,
            "invalid bulk length"
        );
        // A huge argc is not trusted: the stream just ends early.
        assert_eq!(
            read_all(b"*2147483647\r\n$1\r\na\r\n").0,
            Ok(ReadEnd::Truncated { valid_up_to: 0 })
        );
        // A lone '*' at the end is a short read.
        assert_eq!(
            read_all(b"*1\r\n$1\r\na\r\n*").0,
            Ok(ReadEnd::Truncated { valid_up_to: 11 })
        );
        // The callback's refusal.
        let r = read_commands(b"*1\r\n$4\r\nPING\r\n*1\r\n$3\r\nBAD\r\n", 100, |a| {
            if a[0] == b"BAD" {
                Err("Unknown command 'BAD'".to_string())
            } else {
                Ok(())
            }
        });
        assert_eq!(
            r,
            Err(AofError::Command {
                offset: 14,
                msg: "Unknown command 'BAD'".to_string()
            })
        );
        let e = AofError::Corrupt {
            offset: 3,
            what: "expected '$'",
        };
        assert!(e
            .to_string()
            .starts_with("Bad file format reading the append only file"));
    }

    fn dataset() -> Vec<(Vec<u8>, Item)> {
        let lim = EncodingLimits::default();
        let mut list = List::new();
        for i in 0..130 {
            list.push_back(format!("e{i}").as_bytes());
        }
        let mut ints = Set::new();
        for i in [5i64, -3, 100_000] {
            ints.add(format!("{i}").as_bytes(), 512);
        }
        let mut words = Set::new();
        words.add(b"hello world", 512);
        let mut z = ZSet::new();
        z.insert(b"a", 1.5, ZLimits::DEFAULT);
        z.insert(b"b", f64::INFINITY, ZLimits::DEFAULT);
        z.insert(b"c", -0.1, ZLimits::DEFAULT);
        z.insert(b"d", 3.0, ZLimits::DEFAULT);
        let mut h = Hash::new();
        h.set(b"f1", b"v1", &lim);
        h.set(b"f2", b"", &lim);
        vec![
            (
                b"s".to_vec(),
                Item::with_expiry(
                    Value::str(b"bar".to_vec()),
                    Some(UnixMillis(4_000_000_000_123)),
                ),
            ),
            (b"l".to_vec(), Item::new(Value::List(Box::new(list)))),
            (b"si".to_vec(), Item::new(Value::Set(Box::new(ints)))),
            (b"sw".to_vec(), Item::new(Value::Set(Box::new(words)))),
            (b"z".to_vec(), Item::new(Value::ZSet(Box::new(z)))),
            (b"h".to_vec(), Item::new(Value::Hash(Box::new(h)))),
        ]
    }

    #[test]
    fn rewrite_emits_redis_commands() {
        let data = dataset();
        let mut out = Vec::new();
        encode_select(&mut out, 0);
        for (k, item) in &data {
            rewrite_entry(&mut out, k, item);
        }
        let (r, got) = read_all(&out);
        assert_eq!(r, Ok(ReadEnd::Complete));
        let b = |s: &str| s.as_bytes().to_vec();
        assert_eq!(got[0], vec![b("SELECT"), b("0")]);
        assert_eq!(got[1], vec![b("SET"), b("s"), b("bar")]);
        assert_eq!(got[3][..3], [b("RPUSH"), b("l"), b("e0")]);
        assert_eq!(got[3].len(), 66);
        assert_eq!(got[4].len(), 66);
        assert_eq!(got[4][2], b("e64"));
        assert_eq!(got[5], vec![b("RPUSH"), b("l"), b("e128"), b("e129")]);
        assert_eq!(
            got[6],
            vec![b("SADD"), b("si"), b("-3"), b("5"), b("100000")]
        );
        assert_eq!(got[7], vec![b("SADD"), b("sw"), b("hello world")]);
        assert_eq!(
            got[8],
            vec![
                b("ZADD"),
                b("z"),
                b("-0.10000000000000001"),
                b("c"),
                b("1.5"),
                b("a"),
                b("3"),
                b("d"),
                b("inf"),
                b("b")
            ]
        );
        assert_eq!(
            got[9],
            vec![b("HMSET"), b("h"), b("f1"), b("v1"), b("f2"), b("")]
        );
        assert_eq!(got[2], vec![b("PEXPIREAT"), b("s"), b("4000000000123")]);
        assert_eq!(got.len(), 10);
        // The TTL follows its key.
        let mut one = Vec::new();
        rewrite_entry(&mut one, b"s", &data[0].1);
        assert_eq!(
            one,
            b"*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$3\r\nbar\r\n\
*3\r\n$9\r\nPEXPIREAT\r\n$1\r\ns\r\n$13\r\n4000000000123\r\n"
                .to_vec()
        );
        // An empty aggregate writes nothing, TTL included.
        let mut none = Vec::new();
        rewrite_entry(
            &mut none,
            b"e",
            &Item::with_expiry(Value::List(Box::default()), Some(UnixMillis(5))),
        );
        assert!(none.is_empty());
    }

    fn preamble_file() -> Vec<u8> {
        let data = dataset();
        let mut w = RdbWriter::new(Vec::new(), true, true);
        w.header(&[(b"redis-ver", b"7.0.15"), (b"aof-base", b"1")]);
        w.select_db(0, data.len(), 1);
        for (k, item) in &data {
            w.entry(k, item);
        }
        let mut bytes = w.finish().unwrap();
        encode_command(&mut bytes, &[b"SET", b"after", b"1"]);
        bytes
    }

    #[test]
    fn rdb_preamble_then_commands() {
        let bytes = preamble_file();
        assert!(has_rdb_preamble(&bytes));
        let mut keys = 0;
        let mut cmds = Vec::new();
        let r = load_file(
            &bytes,
            &EncodingLimits::default(),
            1 << 20,
            |ev| {
                if let Loaded::Entry { .. } = ev {
                    keys += 1;
                }
                Ok(())
            },
            |a| {
                cmds.push(a.iter().map(|x| x.to_vec()).collect::<Vec<_>>());
                Ok(())
            },
        );
        assert_eq!(r, Ok(ReadEnd::Complete));
        assert_eq!(keys, 6);
        assert_eq!(
            cmds,
            vec![vec![b"SET".to_vec(), b"after".to_vec(), b"1".to_vec()]]
        );
        // A cut in the RDB part is an RDB error, a cut in the tail a truncation.
        let r = load_file(
            &bytes[..40],
            &EncodingLimits::default(),
            1 << 20,
            |_| Ok(()),
            |_| Ok(()),
        );
        assert!(matches!(r, Err(AofError::Rdb(_))));
        let r = load_file(
            &bytes[..bytes.len() - 1],
            &EncodingLimits::default(),
            1 << 20,
            |_| Ok(()),
            |_| Ok(()),
        );
        assert!(matches!(r, Ok(ReadEnd::Truncated { .. })));
    }

    /// xorshift64*, enough to mutate inputs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(v.len() + 1);
            match rng.below(5) {
                0 if at < v.len() => v[at] ^= 1 << rng.below(8),
                1 if at < v.len() => {
                    let alphabet = b"*$#\r\n0-9 \"\\x\0";
                    v[at] = alphabet[rng.below(alphabet.len())];
                }
                2 => v.insert(at, rng.next() as u8),
                3 if at < v.len() => {
                    v.remove(at);
                }
                _ => v.truncate(at),
            }
        }
        v
    }

    #[test]
    fn never_panics_on_mutations() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (cmds, _) = stream(&commands());
        let preamble = preamble_file();
        let manifest = b"file appendonly.aof.1.base.rdb seq 1 type b\n\
file \"a b\\x00\" seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
            .to_vec();
        let lim = EncodingLimits::default();
        for _ in 0..3000 {
            let m = mutate(&mut rng, &cmds);
            let _ = read_commands(&m, 64, |_| Ok(()));
            let p = mutate(&mut rng, &preamble);
            let _ = load_file(&p, &lim, 64, |_| Ok(()), |_| Ok(()));
            let t = mutate(&mut rng, &manifest);
            if let Ok(parsed) = Manifest::parse(&t) {
                // Whatever parses writes a text that parses back to the same manifest.
                assert_eq!(Manifest::parse(&parsed.to_text()), Ok(parsed));
            }
        }
    }
}
