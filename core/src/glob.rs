//! Redis's glob patterns (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes), as KEYS, SCAN
//! MATCH, ZSCAN MATCH and CONFIG GET use them, with the exact semantics of Redis 7.0's
//! `stringmatchlen` (util.c), odd corners included: a range is any `x-y` inside a class,
//! even when `y` is the closing `]` (so `[a-]` is still open); an unterminated class ends
//! with the pattern; `\` inside a class escapes the next byte (compared case-sensitively,
//! even when matching without case); a range may be written backwards; ranges compare
//! bytes as C's signed `char` (bytes >= 0x80 sort below 0x00) and fold them as glibc's
//! `tolower` does; a trailing `\` is a literal backslash; an empty subject matches only
//! the empty pattern.
//!
//! The matcher never recurses and runs in O(pattern × subject) time in the worst case: it
//! keeps one backtrack point, the last `*` seen, which is enough because every other token
//! consumes exactly one byte and a later `*` can absorb anything an earlier one could (the
//! classic wildcard algorithm). Redis's own matcher recurses once per `*` group and gives
//! up (answers "no match") when a match would need more than [`STAR_NESTING_LIMIT`] levels;
//! this matcher gives the same answer by counting the `*` groups first (O(pattern)).

/// How many `*` groups Redis's recursive matcher enters before it gives up: a pattern whose
/// `STAR_NESTING_LIMIT + 1`-th group of `*` is followed by anything else never matches a
/// non-empty subject (Redis 7.0's `if (nesting > 1000) return 0;`).
pub const STAR_NESTING_LIMIT: usize = 1000;

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// A byte read as C's `char` on the platforms Redis is built for (signed), widened to
/// `int`: how `stringmatchlen` compares the ends of a range.
fn signed(b: u8) -> i32 {
    i32::from(i8::from_ne_bytes([b]))
}

/// glibc's `tolower` in the "C" locale on such a value: `A`..=`Z` fold, and, as glibc's
/// table does for signed `char`s, -128..=-2 become 128..=254 while -1 (EOF) stays.
fn c_tolower(c: i32) -> i32 {
    match c {
        -1 => -1,
        -128..=-2 => c + 256,
        0x41..=0x5a => c + 0x20,
        _ => c,
    }
}

/// Matches a `[...]` class at `pattern[p]` (just after the `[`) against byte `c`.
/// Returns whether it matched and the index just after the class (the end of the pattern
/// when the class is not terminated). The end does not depend on `c`.
fn class(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let at = |i: usize| pattern.get(i).copied();
    let negate = at(p) == Some(b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        let left = pattern.len().saturating_sub(p);
        match at(p) {
            // `\x`: the byte x itself, compared case-sensitively (Redis does not fold here).
            Some(b'\\') if left >= 2 => {
                if at(p + 1) == Some(c) {
                    matched = true;
                }
                p += 2;
            }
            Some(b']') => {
                p += 1;
                break;
            }
            // An unterminated class ends with the pattern.
            None => break,
            // `x-y`, whatever y is (`]` included); backwards ranges are swapped first, then
            // both ends and the byte are folded, all as signed chars (see `c_tolower`).
            Some(lo) if left >= 3 && at(p + 1) == Some(b'-') => {
                let hi = at(p + 2).unwrap_or(lo);
                let (mut start, mut end, mut ch) = (signed(lo), signed(hi), signed(c));
                if start > end {
                    core::mem::swap(&mut start, &mut end);
                }
                if nocase {
                    start = c_tolower(start);
                    end = c_tolower(end);
                    ch = c_tolower(ch);
                }
                if start <= ch && ch <= end {
                    matched = true;
                }
                p += 3;
            }
            Some(b) => {
                if fold(b, nocase) == fold(c, nocase) {
                    matched = true;
                }
                p += 1;
            }
        }
    }
    (matched != negate, p)
}

/// Matches the token at `pattern[p]` (anything but `*`) against subject byte `c`: whether
/// it matched and where the next token starts.
fn token(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    match pattern.get(p) {
        Some(b'?') => (true, p + 1),
        Some(b'[') => class(pattern, p + 1, c, nocase),
        // `\x` is x; a trailing `\` is a literal backslash.
        Some(b'\\') if p + 1 < pattern.len() => (
            pattern.get(p + 1).map(|&b| fold(b, nocase)) == Some(fold(c, nocase)),
            p + 2,
        ),
        Some(&b) => (fold(b, nocase) == fold(c, nocase), p + 1),
        None => (false, p),
    }
}

/// True when Redis's recursive matcher would give up on `pattern`: its
/// `STAR_NESTING_LIMIT + 1`-th group of consecutive `*` is followed by more pattern.
/// (A final group matches without recursing; any other match has to recurse through it.)
fn gives_up(pattern: &[u8]) -> bool {
    let mut groups = 0usize;
    let mut p = 0usize;
    while let Some(&b) = pattern.get(p) {
        match b {
            b'*' => {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                groups += 1;
                if groups > STAR_NESTING_LIMIT {
                    return p < pattern.len();
                }
            }
            b'[' => p = class(pattern, p + 1, 0, false).1,
            b'\\' if p + 1 < pattern.len() => p += 2,
            _ => p += 1,
        }
    }
    false
}

/// True when `subject` matches glob `pattern`; `nocase` folds ASCII case (CONFIG GET).
///
/// As in Redis's `stringmatchlen`, an empty subject matches only an empty pattern (KEYS and
/// SCAN treat the pattern `*` as "everything" before matching, so they list an empty key
/// for it), and a pattern needing more than [`STAR_NESTING_LIMIT`] nested `*` matches
/// nothing.
pub fn matches(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    if subject.is_empty() {
        return pattern.is_empty();
    }
    if gives_up(pattern) {
        return false;
    }
    let (mut p, mut s) = (0usize, 0usize);
    // The position after the last `*` and the subject index it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    loop {
        match pattern.get(p) {
            Some(b'*') => {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                star = Some((p, s));
                continue;
            }
            Some(_) => {
                if let Some(&c) = subject.get(s) {
                    let (ok, next) = token(pattern, p, c, nocase);
                    if ok {
                        p = next;
                        s += 1;
                        continue;
                    }
                }
            }
            None => {
                if s == subject.len() {
                    return true;
                }
            }
        }
        // Mismatch: let the last star absorb one more byte, or fail.
        match star {
            Some((sp, ss)) if ss < subject.len() => {
                star = Some((sp, ss + 1));
                p = sp;
                s = ss + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{matches, STAR_NESTING_LIMIT};
    use std::vec;
    use std::vec::Vec;

    /// Every subject in `all` that `pattern` matches (case-sensitive).
    fn keys<'a>(pattern: &[u8], all: &[&'a [u8]]) -> Vec<&'a [u8]> {
        all.iter()
            .copied()
            .filter(|k| matches(pattern, k, false))
            .collect()
    }

    #[test]
    fn redis_glob_cases() {
        let yes: &[(&[u8], &[u8])] = &[
            (b"*", b"anything"),
            (b"h?llo", b"hello"),
            (b"h*llo", b"heeeello"),
            (b"h[ae]llo", b"hallo"),
            (b"h[^e]llo", b"hallo"),
            (b"h[a-b]llo", b"hbllo"),
            (b"h[b-a]llo", b"hbllo"),
            (b"h\\*llo", b"h*llo"),
            (b"*a*b", b"xxaxxb"),
            (b"a*", b"a"),
            (b"a**", b"a"),
            (b"[\\]]", b"]"),
            (b"[abc", b"a"),
            (b"save", b"save"),
            (b"", b""),
            (b"\\", b"\\"),
            (b"*\\", b"x\\"),
            (b"?", b"\0"),
            (b"\0", b"\0"),
            (b"[\0]", b"\0"),
            (b"?", b"\xff"),
        ];
        for (p, s) in yes {
            assert!(matches(p, s, false), "{:?} {:?}", p, s);
        }
        let no: &[(&[u8], &[u8])] = &[
            (b"h?llo", b"hllo"),
            (b"h[^e]llo", b"hello"),
            (b"h[a-b]llo", b"hcllo"),
            (b"h\\*llo", b"hello"),
            (b"a*b", b"ac"),
            (b"", b"a"),
            (b"abc", b"ab"),
            (b"ab", b"abc"),
            (b"*", b""),
            (b"**", b""),
            (b"?", b""),
            (b"x\\", b"x"),
            (b"[", b"["),
            (b"[]", b"]"),
        ];
        for (p, s) in no {
            assert!(!matches(p, s, false), "{:?} {:?}", p, s);
        }
        assert!(matches(b"SAVE", b"save", true));
        assert!(matches(b"[A-C]x", b"bX", true));
        assert!(!matches(b"SAVE", b"save", false));
    }

    /// Expected answers from redis-server 7.0.15 (`KEYS pattern` over these keys).
    #[test]
    fn odd_corners_as_redis_answers() {
        let all: &[&[u8]] = &[
            b"hallo", b"hello", b"ha", b"hl", b"ho", b"h]", b"h^", b"h_", b"h`", b"hb", b"hz",
            b"a", b"b", b"]", b"-", b"z", b"\\", b"x", b"A",
        ];
        let singles: &[&[u8]] = &[b"-", b"A", b"\\", b"]", b"a", b"b", b"x", b"z"];
        let cases: &[(&[u8], &[&[u8]])] = &[
            // `a-]` is a range (0x5d..=0x61) and the class goes on to the pattern's end.
            (
                b"h[a-]llo",
                &[b"ha", b"hl", b"ho", b"h]", b"h^", b"h_", b"h`"],
            ),
            (b"h[a-]", &[b"ha", b"h]", b"h^", b"h_", b"h`"]),
            (b"[abc", &[b"a", b"b"]),
            (b"[\\]]", &[b"]"]),
            (b"[a\\-z]", &[b"a", b"-", b"z"]),
            (b"[z-a]", &[b"a", b"b", b"x", b"z"]),
            (b"\\", &[b"\\"]),
            (b"x\\", &[]),
            (b"[", &[]),
            (b"[]a]", &[]),
            (b"[]", &[]),
            (b"[\\", &[b"\\"]),
            (b"[a-", &[b"a", b"-"]),
            (b"[A-Z]", &[b"A"]),
            (b"*\\", &[b"\\"]),
        ];
        for (p, want) in cases {
            let mut got = keys(p, all);
            let mut want = want.to_vec();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{:?}", std::string::String::from_utf8_lossy(p));
        }
        for p in [&b"[^"[..], b"[^]", b"?"] {
            let mut got = keys(p, all);
            got.sort();
            assert_eq!(got, singles.to_vec(), "{:?}", p);
        }
    }

    /// Ranges compare bytes as signed chars (answers from redis-server 7.0.15).
    #[test]
    fn ranges_are_signed() {
        let all: &[&[u8]] = &[
            b"\x00", b"\x01", b"0", b"a", b"b", b"\x7f", b"\x80", b"\x81", b"\xfe", b"\xff",
        ];
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"[a-\xff]", &[b"\x00", b"\x01", b"0", b"a", b"\xff"]),
            (b"[\x00-\xff]", &[b"\x00", b"\xff"]),
            (b"[\x80-\xff]", &[b"\x80", b"\x81", b"\xfe", b"\xff"]),
            (b"[\xff-\x80]", &[b"\x80", b"\x81", b"\xfe", b"\xff"]),
            (b"[\x7f-\x80]", all),
            (
                b"[^\x00-\xff]",
                &[
                    b"\x01", b"0", b"a", b"b", b"\x7f", b"\x80", b"\x81", b"\xfe",
                ],
            ),
            (b"[\x00]", &[b"\x00"]),
        ];
        for (p, want) in cases {
            assert_eq!(keys(p, all), want.to_vec(), "{:?}", p);
        }
    }

    #[test]
    fn nocase_as_config_get() {
        assert!(matches(b"MAXCLIENTS", b"maxclients", true));
        assert!(matches(b"*-MAX-*", b"hash-max-listpack-entries", true));
        assert!(matches(b"[M]axclients", b"maxclients", true));
        // An escape inside a class is compared without folding.
        assert!(!matches(b"[\\M]axclients", b"maxclients", true));
        assert!(matches(b"\\Maxclients", b"maxclients", true));
        // A range is swapped, then folded: `Z-a` becomes `z-a`, which holds nothing.
        assert!(!matches(b"[Z-a]", b"a", true));
        assert!(!matches(b"[Z-a]", b"z", true));
        assert!(matches(b"[Z-a]", b"a", false));
        assert!(matches(b"[A-Z]", b"q", true));
        // glibc's tolower turns signed bytes -128..=-2 into 128..=254 (answers from
        // redis-server 7.0.15's CONFIG GET).
        assert!(!matches(b"[\x80-z]axclients", b"maxclients", true));
        assert!(matches(b"[\xff-z]axclients", b"maxclients", true));
        assert!(!matches(b"[\xfe-z]axclients", b"maxclients", true));
        assert!(!matches(b"[z-\x80]axclients", b"maxclients", true));
        assert!(matches(b"[^\x80-\x81]axclients", b"maxclients", true));
        assert!(matches(b"[\x80-z]", b"m", false));
        assert!(matches(b"[\x80-\x90]", b"\x85", true));
    }

    #[test]
    fn star_nesting_limit_as_redis() {
        let key = vec![b'a'; 2000];
        let n = STAR_NESTING_LIMIT;
        // Answers from redis-server 7.0.15 for a key of 2000 × `a`.
        assert!(matches(&b"*a".repeat(n), &key, false));
        assert!(matches(
            &[b"*a".repeat(n), b"*".to_vec()].concat(),
            &key,
            false
        ));
        assert!(matches(
            &[b"*a".repeat(n), b"**".to_vec()].concat(),
            &key,
            false
        ));
        assert!(matches(
            &[b"*a".repeat(n), b"?*".to_vec()].concat(),
            &key,
            false
        ));
        assert!(matches(
            &[b"*a".repeat(n - 1), b"*a".to_vec()].concat(),
            &key,
            false
        ));
        assert!(!matches(&b"*a".repeat(n + 1), &key, false));
        assert!(!matches(
            &[b"*a".repeat(n + 1), b"*".to_vec()].concat(),
            &key,
            false
        ));
        assert!(!matches(
            &[b"*a".repeat(n), b"*?".to_vec()].concat(),
            &key,
            false
        ));
        // Stars inside classes or escaped do not count.
        assert!(matches(&b"[*]?".repeat(n + 5), &b"*a".repeat(n + 5), false));
        assert!(matches(&b"\\*?".repeat(n + 5), &b"*a".repeat(n + 5), false));
    }

    #[test]
    fn known_redis_vulnerability_patterns_terminate() {
        let key = vec![b'a'; 40];
        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(pat, &key, false));

        // Past the nesting limit Redis answers "no match", and so do we, at once.
        let key = vec![b'a'; 50_000];
        let pat: Vec<u8> = b"*?".repeat(50_000);
        assert!(!matches(&pat, &key, false));
        // Within the limit the iterative matcher is still quick on the worst shapes.
        let pat: Vec<u8> = [b"*?".repeat(STAR_NESTING_LIMIT), b"b".to_vec()].concat();
        assert!(!matches(&pat, &key, false));
        let pat: Vec<u8> = b"*?".repeat(STAR_NESTING_LIMIT);
        assert!(matches(&pat, &key, false));
    }
}
