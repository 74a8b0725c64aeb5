//! Set storage, for the set commands (and SORT) to build on: distinct binary-safe members in
//! Redis 7.0's two encodings.
//!
//! - `intset`: while every member is an integer as Redis's `string2ll` reads it (strict
//!   decimal `i64`: no `+`, no leading zeros, no spaces, not `-0`) and the set has at most
//!   `set-max-intset-entries` members, a sorted vector of `i64`: members come out in
//!   ascending numeric order, as Redis's intset gives them.
//! - `hashtable`: otherwise, a single-threaded hopscotch table ([`HopTable`]) of boxed
//!   member bytes hashed with XXH3-64: 20 bytes a bucket at a load of 0.6 to 0.95 plus the
//!   member's own bytes. Its order is the table's and is undefined, as Redis's is.
//!
//! A set converts up on the write that crosses a threshold and never converts down, as in
//! Redis. The intset threshold is the caller's (from the configuration), capped at
//! [`INTSET_MAX_ENTRIES_CAP`] as Redis caps it. Member bytes are counted as members come and
//! go, so [`Set::heap_bytes`] costs O(1).

use super::element_hash;
use crate::map::HopTable;
use crate::resp::encode::fmt_i64;
use crate::resp::parse::parse_i64;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The most members an intset holds whatever `set-max-intset-entries` says (Redis caps the
/// setting at 2^30 because of its intset's internals).
pub const INTSET_MAX_ENTRIES_CAP: usize = 1 << 30;

/// A member as a set holds it: an intset's integer or a hashtable's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member<'a> {
    /// An integer of an intset.
    Int(i64),
    /// The bytes of a hashtable member.
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Calls `f` with the member's bytes (an integer as decimal text).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => {
                let mut buf = [0u8; 20];
                f(fmt_i64(v, &mut buf))
            }
            Member::Bytes(b) => f(b),
        }
    }

    /// The member's bytes, copied.
    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }
}

#[derive(Debug)]
enum Repr {
    /// Sorted ascending, distinct.
    Ints(Vec<i64>),
    Table(HopTable<Box<[u8]>>),
}

/// A set of distinct binary-safe members. See the module documentation.
#[derive(Debug)]
pub struct Set {
    repr: Repr,
    /// Bytes of the hashtable's members (0 for an intset).
    member_bytes: usize,
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}

impl Clone for Set {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Ints(v) => Repr::Ints(v.clone()),
            Repr::Table(t) => {
                let mut n = HopTable::with_capacity(t.len());
                for m in t.iter() {
                    n.insert_unique(element_hash(m), m.clone(), hash_of);
                }
                Repr::Table(n)
            }
        };
        Set {
            repr,
            member_bytes: self.member_bytes,
        }
    }
}

/// The table's hasher: it is called with `&T`, and `T` is `Box<[u8]>`.
#[allow(clippy::borrowed_box)]
fn hash_of(m: &Box<[u8]>) -> u64 {
    element_hash(m)
}

/// The intset limit Redis applies for `set-max-intset-entries` = `max`.
fn intset_cap(max: usize) -> usize {
    max.min(INTSET_MAX_ENTRIES_CAP)
}

/// The next number of a splitmix64 sequence: independent probes from one random number.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Set {
    /// An empty set in the intset encoding (Redis's `createIntsetObject`).
    pub fn new() -> Self {
        Set {
            repr: Repr::Ints(Vec::new()),
            member_bytes: 0,
        }
    }

    /// An empty set in the hashtable encoding (Redis's `createSetObject`).
    pub fn new_table() -> Self {
        Set {
            repr: Repr::Table(HopTable::new()),
            member_bytes: 0,
        }
    }

    /// An empty set in the encoding Redis picks for a set whose first member is `first`
    /// (`setTypeCreate`): intset for an integer, else hashtable.
    pub fn for_member(first: &[u8]) -> Self {
        if parse_i64(first).is_some() {
            Set::new()
        } else {
            Set::new_table()
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True without members (a key never holds an empty set).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the set is in the intset encoding.
    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Ints(_))
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => parse_i64(member).is_some_and(|i| v.binary_search(&i).is_ok()),
            Repr::Table(t) => t.find(element_hash(member), |m| **m == *member).is_some(),
        }
    }

    /// Whether `member` (as a set holds it) is in the set.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match (&self.repr, member) {
            (Repr::Ints(v), Member::Int(i)) => v.binary_search(&i).is_ok(),
            _ => member.with_bytes(|b| self.contains(b)),
        }
    }

    /// Calls `f` with every member, in the set's own order (an intset's ascending).
    pub fn for_each_member<'a>(&'a self, mut f: impl FnMut(Member<'a>)) {
        match &self.repr {
            Repr::Ints(v) => v.iter().for_each(|&i| f(Member::Int(i))),
            Repr::Table(t) => t.iter().for_each(|m| f(Member::Bytes(m))),
        }
    }

    /// Calls `f` with every member's bytes (an intset's integers as decimal text), in the
    /// set's own order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        self.for_each_member(|m| m.with_bytes(&mut f));
    }

    /// Every member, in the set's own order.
    pub fn members(&self) -> Vec<Member<'_>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_member(|m| out.push(m));
        out
    }

    /// Bytes this set holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.capacity() * core::mem::size_of::<i64>(),
            Repr::Table(t) => t.allocated_bytes() + self.member_bytes,
        }
    }

    /// The encoding OBJECT ENCODING names: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Converts an intset to the hashtable encoding (nothing for a hashtable).
    pub fn convert_to_table(&mut self) {
        let Repr::Ints(v) = &self.repr else {
            return;
        };
        let mut t = HopTable::with_capacity(v.len());
        let mut bytes = 0;
        for &i in v {
            let mut buf = [0u8; 20];
            let m: Box<[u8]> = Box::from(fmt_i64(i, &mut buf));
            bytes += m.len();
            t.insert_unique(element_hash(&m), m, hash_of);
        }
        self.repr = Repr::Table(t);
        self.member_bytes = bytes;
    }

    /// Adds `member` (Redis's `setTypeAdd`); true if it was not there. An intset converts
    /// to a hashtable on a member that is not an integer, or when the add takes it past
    /// `max_intset` members (`set-max-intset-entries`).
    pub fn add(&mut self, member: &[u8], max_intset: usize) -> bool {
        if let Repr::Ints(v) = &mut self.repr {
            match parse_i64(member) {
                Some(i) => {
                    let Err(pos) = v.binary_search(&i) else {
                        return false;
                    };
                    v.insert(pos, i);
                    if v.len() > intset_cap(max_intset) {
                        self.convert_to_table();
                    }
                    return true;
                }
                None => self.convert_to_table(),
            }
        }
        let Repr::Table(t) = &mut self.repr else {
            return false;
        };
        let h = element_hash(member);
        if t.find(h, |m| **m == *member).is_some() {
            return false;
        }
        t.insert_unique(h, Box::from(member), hash_of);
        self.member_bytes += member.len();
        true
    }

    /// Adds a member as another set holds it (an intset's integer is added without a trip
    /// through text); as [`Set::add`].
    pub fn add_member(&mut self, member: Member<'_>, max_intset: usize) -> bool {
        match (&mut self.repr, member) {
            (Repr::Ints(v), Member::Int(i)) => {
                let Err(pos) = v.binary_search(&i) else {
                    return false;
                };
                v.insert(pos, i);
                if v.len() > intset_cap(max_intset) {
                    self.convert_to_table();
                }
                true
            }
            _ => member.with_bytes(|b| self.add(b, max_intset)),
        }
    }

    /// Removes `member`; true if it was there. The table shrinks when it gets sparse.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(member).map(|i| v.binary_search(&i)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            Repr::Table(t) => {
                let Some(slot) = t.find(element_hash(member), |m| **m == *member) else {
                    return false;
                };
                if let Some(m) = t.remove(slot) {
                    self.member_bytes -= m.len();
                }
                t.maybe_shrink(hash_of);
                true
            }
        }
    }

    /// Removes a member as another set holds it; as [`Set::remove`].
    pub fn remove_member(&mut self, member: Member<'_>) -> bool {
        match (&mut self.repr, member) {
            (Repr::Ints(v), Member::Int(i)) => match v.binary_search(&i) {
                Ok(pos) => {
                    v.remove(pos);
                    true
                }
                Err(_) => false,
            },
            _ => member.with_bytes(|b| self.remove(b)),
        }
    }

    /// A member picked from the random number `r`, uniformly: an intset indexes its
    /// vector; a table draws with [`HopTable::random`] from numbers derived from `r`. `None`
    /// when empty.
    pub fn random(&self, r: u64) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(v) => {
                if v.is_empty() {
                    return None;
                }
                v.get((r % v.len() as u64) as usize)
                    .map(|&i| Member::Int(i))
            }
            Repr::Table(t) => {
                let mut x = r;
                t.random(|| {
                    x = splitmix64(x);
                    x
                })
                .map(|m| Member::Bytes(m))
            }
        }
    }

    /// Removes and returns a member picked from `r`; `None` when empty.
    pub fn pop_random(&mut self, r: u64) -> Option<Vec<u8>> {
        let m = self.random(r)?.to_vec();
        self.remove(&m);
        Some(m)
    }

    /// One SSCAN step from `cursor`: an intset gives every member and cursor 0 (as Redis
    /// answers for its small encodings); a hashtable gives the members of a range of hash
    /// values, about `count` of them, and the next cursor (0 at the end), with every member
    /// present for the whole scan returned at least once (see [`HopTable::scan`]).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(Member<'a>)) -> u64 {
        match &self.repr {
            Repr::Ints(_) => {
                self.for_each_member(f);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, hash_of, |m| f(Member::Bytes(m))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::format;

    fn all(s: &Set) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        s.for_each(|m| v.push(m.to_vec()));
        v
    }

    #[test]
    fn intset_keeps_integers_sorted_and_converts_on_text_or_size() {
        let mut s = Set::for_member(b"5");
        assert!(s.is_intset());
        for m in ["5", "-3", "10", "0", "-9223372036854775808"] {
            assert!(s.add(m.as_bytes(), 512));
        }
        assert!(!s.add(b"5", 512));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            all(&s),
            ["-9223372036854775808", "-3", "0", "5", "10"]
                .iter()
                .map(|x| x.as_bytes().to_vec())
                .collect::<Vec<_>>()
        );
        assert!(s.contains(b"-3") && !s.contains(b"-03") && !s.contains(b"x"));
        // Not integers as string2ll reads them: each one converts.
        for m in ["-0", "007", "+1", " 1", "9223372036854775808", ""] {
            let mut t = Set::new();
            t.add(b"1", 512);
            assert!(t.add(m.as_bytes(), 512), "{m}");
            assert_eq!(t.encoding(), "hashtable", "{m}");
            assert!(t.contains(m.as_bytes()) && t.contains(b"1"));
        }
        // Past the limit, on the add that crosses it; a duplicate add does not convert.
        let mut t = Set::new();
        for i in 0..4 {
            t.add(format!("{i}").as_bytes(), 4);
        }
        assert!(t.is_intset());
        assert!(!t.add(b"3", 2));
        assert!(t.is_intset());
        assert!(t.add(b"4", 4));
        assert_eq!(t.encoding(), "hashtable");
        assert_eq!(t.len(), 5);
        // Never back down.
        for i in 0..5 {
            assert!(t.remove(format!("{i}").as_bytes()));
        }
        assert!(t.is_empty());
        assert_eq!(t.encoding(), "hashtable");
        assert!(Set::for_member(b"a").encoding() == "hashtable");
    }

    #[test]
    fn table_matches_a_model_and_counts_bytes() {
        let mut s = Set::new_table();
        let mut model = HashSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = format!("m{}", x % 3000).into_bytes();
            if (x >> 40) % 3 == 0 {
                assert_eq!(s.remove(&m), model.remove(&m));
            } else {
                assert_eq!(s.add(&m, 512), model.insert(m.clone()));
            }
            assert_eq!(s.len(), model.len());
        }
        let got: HashSet<Vec<u8>> = all(&s).into_iter().collect();
        assert_eq!(got, model);
        let bytes: usize = model.iter().map(Vec::len).sum();
        assert_eq!(s.member_bytes, bytes);
        let c = s.clone();
        assert_eq!(all(&c).into_iter().collect::<HashSet<_>>(), model);
        for m in &model {
            assert!(c.contains(m));
        }
    }

    #[test]
    fn scan_returns_every_member_present_throughout_while_the_table_changes() {
        let mut s = Set::new_table();
        for i in 0..2000 {
            s.add(format!("old{i}").as_bytes(), 0);
        }
        let mut seen = HashSet::new();
        let (mut cursor, mut step) = (0, 0);
        loop {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(m.to_vec());
            });
            // Grow, then shrink, the table between steps.
            if step < 150 {
                for j in 0..20 {
                    s.add(format!("new{step}-{j}").as_bytes(), 0);
                }
            } else {
                for j in 0..20 {
                    s.remove(format!("new{}-{j}", step - 150).as_bytes());
                }
            }
            step += 1;
            if cursor == 0 {
                break;
            }
            assert!(step < 100_000, "scan does not terminate");
        }
        for i in 0..2000 {
            assert!(seen.contains(format!("old{i}").as_bytes()), "old{i} missed");
        }
        // An intset answers whole, with cursor 0.
        let mut t = Set::new();
        t.add(b"2", 512);
        t.add(b"1", 512);
        let mut got = Vec::new();
        assert_eq!(t.scan(0, 1, |m| got.push(m.to_vec())), 0);
        assert_eq!(got, [b"1".to_vec(), b"2".to_vec()]);
        // A cursor past every hash value ends the scan.
        assert_eq!(s.scan(1 << 40, 10, |_| {}), 0);
    }

    #[test]
    fn random_picks_of_a_small_hashtable_set_are_fair() {
        let mut s = Set::new();
        for m in [&b"a"[..], b"b", b"c"] {
            s.add(m, 512);
        }
        assert_eq!(s.encoding(), "hashtable");
        let mut counts = std::collections::HashMap::new();
        let mut r = 0x1234_5678_u64;
        for _ in 0..30_000 {
            r = splitmix64(r);
            *counts.entry(s.random(r).map(Member::to_vec)).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 3);
        for (m, n) in counts {
            assert!(
                (8_500..11_500).contains(&n),
                "{m:?} picked {n} times of 30,000"
            );
        }
    }

    #[test]
    fn random_picks_reach_every_member_and_pop_removes() {
        let mut s = Set::new_table();
        for i in 0..50 {
            s.add(format!("m{i}").as_bytes(), 0);
        }
        let mut seen = HashSet::new();
        let mut r: u64 = 12345;
        for _ in 0..20_000 {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seen.insert(s.random(r >> 11).map(Member::to_vec));
        }
        assert_eq!(seen.len(), 50);
        let mut popped = HashSet::new();
        while let Some(m) = s.pop_random(r) {
            r = r.wrapping_mul(6364136223846793005).wrapping_add(1);
            assert!(popped.insert(m));
        }
        assert_eq!(popped.len(), 50);
        assert!(s.random(1).is_none());
    }

    /// Memory per member of the big form at 100,000 members (compare with the real server's
    /// MEMORY USAGE of the same set; see the report).
    #[test]
    fn big_form_memory_per_member() {
        let mut s = Set::new_table();
        for i in 0..100_000 {
            s.add(format!("member:{i}").as_bytes(), 0);
        }
        let total = s.heap_bytes() + core::mem::size_of::<Set>();
        let per = total as f64 / 100_000.0;
        std::println!("set of 100000 members: {total} bytes, {per:.1} per member");
        // Redis 7.0.15: MEMORY USAGE of the same set is 5,572,968 bytes (55.7 a member).
        assert!(per < 55.7, "{per} bytes a member");
    }
}
