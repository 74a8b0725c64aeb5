//! Redis's glob patterns (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes), as KEYS, SCAN
//! MATCH and CONFIG GET use them.
//!
//! The matcher never recurses and runs in O(pattern × subject) time in the worst case: it
//! keeps one backtrack point, the last `*` seen, which is enough because a later `*` can
//! absorb anything an earlier one could (the classic wildcard algorithm). Redis's own
//! matcher recurses and gives up past a nesting limit, so on patterns such as 50000 × `*?`
//! it answers "no match" where this one answers correctly (a documented difference).

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// Matches a `[...]` class at `pattern[p]` (just after the `[`) against byte `c`.
/// Returns whether it matched and the index just after the class.
fn class(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let at = |i: usize| pattern.get(i).copied();
    let negate = at(p) == Some(b'^');
    if negate {
        p += 1;
    }
    let c = fold(c, nocase);
    let mut matched = false;
    loop {
        match at(p) {
            // An unterminated class ends with the pattern, as in Redis.
            None => break,
            Some(b']') => {
                p += 1;
                break;
            }
            Some(b'\\') if at(p + 1).is_some() => {
                if at(p + 1).map(|b| fold(b, nocase)) == Some(c) {
                    matched = true;
                }
                p += 2;
            }
            Some(lo) if at(p + 1) == Some(b'-') && at(p + 2).is_some_and(|b| b != b']') => {
                let hi = at(p + 2).unwrap_or(lo);
                let (mut lo, mut hi) = (fold(lo, nocase), fold(hi, nocase));
                if lo > hi {
                    core::mem::swap(&mut lo, &mut hi);
                }
                if (lo..=hi).contains(&c) {
                    matched = true;
                }
                p += 3;
            }
            Some(b) => {
                if fold(b, nocase) == c {
                    matched = true;
                }
                p += 1;
            }
        }
    }
    (matched != negate, p)
}

/// True when `subject` matches glob `pattern`; `nocase` folds ASCII case.
///
/// As in Redis's `stringmatchlen`, an empty subject matches only an empty pattern (KEYS
/// lists an empty key only for the pattern `*`, which it treats as "everything" before
/// matching).
pub fn matches(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    if subject.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0usize, 0usize);
    // The position after the last `*` and the subject index it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(&pc) = pattern.get(p) {
            if pc == b'*' {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                star = Some((p, s));
                continue;
            }
            if let Some(&sc) = subject.get(s) {
                let (ok, next) = match pc {
                    b'?' => (true, p + 1),
                    b'[' => class(pattern, p + 1, sc, nocase),
                    b'\\' if p + 1 < pattern.len() => (
                        pattern.get(p + 1).map(|&b| fold(b, nocase)) == Some(fold(sc, nocase)),
                        p + 2,
                    ),
                    _ => (fold(pc, nocase) == fold(sc, nocase), p + 1),
                };
                if ok {
                    p = next;
                    s += 1;
                    continue;
                }
            }
        } else if s == subject.len() {
            return true;
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
    use super::matches;
    use std::vec;

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
            (b"[\\]]", b"]"),
            (b"[abc", b"a"),
            (b"save", b"save"),
            (b"", b""),
            (b"\\", b"\\"),
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
        ];
        for (p, s) in no {
            assert!(!matches(p, s, false), "{:?} {:?}", p, s);
        }
        assert!(matches(b"SAVE", b"save", true));
        assert!(matches(b"[A-C]x", b"bX", true));
        assert!(!matches(b"SAVE", b"save", false));
    }

    #[test]
    fn known_redis_vulnerability_patterns_terminate() {
        let key = vec![b'a'; 40];
        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(pat, &key, false));

        let key = vec![b'a'; 50_000];
        let pat: std::vec::Vec<u8> = b"*?".repeat(50_000);
        assert!(matches(&pat, &key, false));
        let pat: std::vec::Vec<u8> = b"*?".repeat(50_001);
        assert!(!matches(&pat, &key, false));
    }
}
