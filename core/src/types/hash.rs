//! Hash storage: fields and their values, binary-safe, in Redis 7.0's two encodings.
//!
//! Every field and its value live in one allocation (an `Entry`: the field's length as a
//! LEB128 varint, the field, the value), so a field costs one pointer-sized handle plus its
//! bytes. Small hashes (OBJECT ENCODING `listpack`: at most `hash-max-listpack-entries`
//! fields, each field and value at most `hash-max-listpack-value` bytes) are a vector of
//! entries in Redis's listpack order: a new field is appended, a removed one is taken out,
//! an overwritten one keeps its place; a 16-bit fingerprint per field, kept beside the
//! entries, spares a lookup the pointer chase into every entry. Larger ones (`hashtable`) are a hopscotch table
//! ([`HopTable`]) of the same entries, hashed with XXH3-64 of the field, walked by HSCAN in
//! hash order ([`HopTable::scan`]). A hash converts up on the write that crosses a
//! threshold and never converts back, as in Redis; the thresholds are passed in by the
//! caller ([`EncodingLimits`]).

use super::element_hash;
use super::EncodingLimits;
use crate::map::HopTable;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A field and its value in one allocation: varint(field length), field, value.
#[derive(Clone)]
struct Entry(Box<[u8]>);

impl Entry {
    fn new(field: &[u8], value: &[u8]) -> Entry {
        let mut v = Vec::with_capacity(10 + field.len() + value.len());
        let mut n = field.len() as u64;
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                v.push(b);
                break;
            }
            v.push(b | 0x80);
        }
        v.extend_from_slice(field);
        v.extend_from_slice(value);
        Entry(v.into_boxed_slice())
    }

    /// Where the field starts and how long it is.
    fn header(&self) -> (usize, usize) {
        let (mut n, mut shift, mut i) = (0u64, 0u32, 0usize);
        while let Some(&b) = self.0.get(i) {
            i += 1;
            if shift < 64 {
                n |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        (i, usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn field(&self) -> &[u8] {
        let (start, len) = self.header();
        self.0.get(start..start.saturating_add(len)).unwrap_or(&[])
    }

    fn value(&self) -> &[u8] {
        let (start, len) = self.header();
        self.0.get(start.saturating_add(len)..).unwrap_or(&[])
    }

    fn pair(&self) -> (&[u8], &[u8]) {
        let (start, len) = self.header();
        let split = start.saturating_add(len);
        (
            self.0.get(start..split).unwrap_or(&[]),
            self.0.get(split..).unwrap_or(&[]),
        )
    }
}

fn hash_of(e: &Entry) -> u64 {
    element_hash(e.field())
}

/// A 16-bit fingerprint of a field (bits of its element hash): a listpack lookup compares
/// the contiguous fingerprints first and touches an entry's allocation only when they
/// agree, so finding a field among a few hundred costs no pointer chase per field.
fn tag_of(field: &[u8]) -> u16 {
    (element_hash(field) >> 48) as u16
}

/// The listpack form: entries in listpack order, with their fields' fingerprints beside
/// them (`tags[i]` belongs to `entries[i]`).
#[derive(Clone, Default)]
struct Small {
    tags: Vec<u16>,
    entries: Vec<Entry>,
}

impl Small {
    fn find(&self, field: &[u8]) -> Option<usize> {
        let tag = tag_of(field);
        self.tags
            .iter()
            .enumerate()
            .filter(|(_, &t)| t == tag)
            .map(|(i, _)| i)
            .find(|&i| self.entries.get(i).is_some_and(|e| e.field() == field))
    }

    fn push(&mut self, field: &[u8], e: Entry) {
        self.tags.push(tag_of(field));
        self.entries.push(e);
    }

    fn remove(&mut self, i: usize) -> Entry {
        self.tags.remove(i);
        self.entries.remove(i)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn handle_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<Entry>()
            + self.tags.capacity() * core::mem::size_of::<u16>()
    }
}

enum Repr {
    /// Listpack order.
    Small(Small),
    Big(HopTable<Entry>),
}

/// A hash: fields and their values, binary-safe. See the module documentation.
pub struct Hash {
    repr: Repr,
    /// Bytes of all entries' allocations, kept as entries come and go (O(1) MEMORY USAGE).
    entry_bytes: usize,
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Small(v) => Repr::Small(v.clone()),
            Repr::Big(t) => {
                let mut n = HopTable::with_capacity(t.len());
                for e in t.iter() {
                    n.insert_unique(hash_of(e), e.clone(), hash_of);
                }
                Repr::Big(n)
            }
        };
        Hash {
            repr,
            entry_bytes: self.entry_bytes,
        }
    }
}

impl core::fmt::Debug for Hash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hash")
            .field("len", &self.len())
            .field("encoding", &self.encoding())
            .finish()
    }
}

impl Hash {
    /// An empty hash (listpack).
    pub fn new() -> Self {
        Hash {
            repr: Repr::Small(Small::default()),
            entry_bytes: 0,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big(t) => t.len(),
        }
    }

    /// True without fields (a key never holds an empty hash).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the hash is in the listpack encoding.
    pub fn is_small(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    fn find_big(t: &HopTable<Entry>, field: &[u8]) -> Option<crate::map::Slot> {
        t.find(element_hash(field), |e: &Entry| e.field() == field)
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Small(v) => v
                .find(field)
                .and_then(|i| v.entries.get(i))
                .map(Entry::value),
            Repr::Big(t) => Self::find_big(t, field)
                .and_then(|s| t.get(s))
                .map(Entry::value),
        }
    }

    /// Whether `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts to the hashtable encoding (no-op if already there).
    pub fn convert_to_big(&mut self) {
        if let Repr::Small(v) = &mut self.repr {
            let mut t = HopTable::with_capacity(v.len());
            for e in core::mem::take(v).entries {
                t.insert_unique(hash_of(&e), e, hash_of);
            }
            self.repr = Repr::Big(t);
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to the
    /// hashtable encoding first when the field or value is longer than `limits` allow in a
    /// listpack, and after the write when the hash has more fields than they allow (as
    /// Redis's `hashTypeSet`).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        if self.is_small()
            && (field.len() > limits.hash_max_listpack_value
                || value.len() > limits.hash_max_listpack_value)
        {
            self.convert_to_big();
        }
        let entry = Entry::new(field, value);
        let new_bytes = entry.0.len();
        let (added, old_bytes) = match &mut self.repr {
            Repr::Small(v) => match v.find(field).and_then(|i| v.entries.get_mut(i)) {
                Some(e) => (false, core::mem::replace(e, entry).0.len()),
                None => {
                    v.push(field, entry);
                    (true, 0)
                }
            },
            Repr::Big(t) => match Self::find_big(t, field).and_then(|s| t.get_mut(s)) {
                Some(e) => (false, core::mem::replace(e, entry).0.len()),
                None => {
                    t.insert_unique(element_hash(field), entry, hash_of);
                    (true, 0)
                }
            },
        };
        self.entry_bytes = self.entry_bytes + new_bytes - old_bytes;
        if self.is_small() && self.len() > limits.hash_max_listpack_entries {
            self.convert_to_big();
        }
        added
    }

    /// Removes `field`; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let gone = match &mut self.repr {
            Repr::Small(v) => v.find(field).map(|i| v.remove(i)),
            Repr::Big(t) => {
                let e = Self::find_big(t, field).and_then(|s| t.remove(s));
                if e.is_some() {
                    t.maybe_shrink(hash_of);
                }
                e
            }
        };
        match gone {
            Some(e) => {
                self.entry_bytes -= e.0.len();
                true
            }
            None => false,
        }
    }

    /// Every (field, value): in listpack order for a listpack hash, in table order (which
    /// is undefined, as Redis's) for a hashtable one.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let (small, big) = match &self.repr {
            Repr::Small(v) => (Some(v.entries.iter().map(Entry::pair)), None),
            Repr::Big(t) => (None, Some(t.iter().map(Entry::pair))),
        };
        small.into_iter().flatten().chain(big.into_iter().flatten())
    }

    /// The `i`th (field, value) of a listpack hash, in listpack order; `None` for a
    /// hashtable hash or past the end.
    pub fn small_at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(v) => v.entries.get(i).map(Entry::pair),
            Repr::Big(_) => None,
        }
    }

    /// A (field, value) chosen uniformly with the random numbers `next` gives (a hashtable
    /// hash draws with [`HopTable::random`]). `None` when empty.
    pub fn random(&self, next: &mut impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        match &self.repr {
            Repr::Small(v) => v.entries.get((next() % n as u64) as usize).map(Entry::pair),
            Repr::Big(t) => t.random(next).map(Entry::pair),
        }
    }

    /// One HSCAN step over a hashtable hash (see [`HopTable::scan`]); a listpack hash
    /// gives everything and returns 0.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.repr {
            Repr::Small(v) => {
                for e in &v.entries {
                    let (k, val) = e.pair();
                    f(k, val);
                }
                0
            }
            Repr::Big(t) => t.scan(cursor, count, hash_of, |e| {
                let (k, val) = e.pair();
                f(k, val)
            }),
        }
    }

    /// Bytes this hash holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        let handles = match &self.repr {
            Repr::Small(v) => v.handle_bytes(),
            Repr::Big(t) => t.allocated_bytes(),
        };
        handles + self.entry_bytes
    }

    /// The encoding OBJECT ENCODING names: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Small(_) => "listpack",
            Repr::Big(_) => "hashtable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::vec::Vec as StdVec;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    #[test]
    fn entries_round_trip_long_fields() {
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let f = StdVec::from_iter((0..len).map(|i| i as u8));
            let e = Entry::new(&f, b"value");
            assert_eq!(e.field(), &f[..]);
            assert_eq!(e.value(), b"value");
        }
    }

    #[test]
    fn listpack_order_and_conversions() {
        let l = limits(4, 8);
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(h.set(b"b", b"2", &l));
        assert!(h.set(b"c", b"3", &l));
        assert!(!h.set(b"a", b"4", &l));
        assert!(h.remove(b"b"));
        assert!(h.set(b"b", b"5", &l));
        let order: StdVec<_> = h.iter().collect();
        assert_eq!(order, [(&b"a"[..], &b"4"[..]), (b"c", b"3"), (b"b", b"5")]);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"d", b"6", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"e", b"7", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"4"[..]));
        for f in [b"a", b"b", b"c", b"d", b"e"] {
            assert!(h.remove(f));
        }
        assert!(h.is_empty());
        assert_eq!(h.encoding(), "hashtable", "never converts down");
        let mut h = Hash::new();
        h.set(b"f", b"123456789", &l);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.set(b"123456789", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"123456789"), Some(&b"v"[..]));
    }

    #[test]
    fn matches_a_model_and_scans_through_growth() {
        let l = limits(16, 64);
        let mut h = Hash::new();
        let mut model: HashMap<StdVec<u8>, StdVec<u8>> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..30_000 {
            let r = next();
            let f = std::format!("f{}", r % 3000).into_bytes();
            if (r >> 32) % 3 == 0 {
                assert_eq!(h.remove(&f), model.remove(&f).is_some(), "step {step}");
            } else {
                let v = std::format!("v{step}").into_bytes();
                assert_eq!(h.set(&f, &v, &l), model.insert(f, v).is_none());
            }
            assert_eq!(h.len(), model.len());
        }
        for (k, v) in &model {
            assert_eq!(h.get(k), Some(&v[..]));
        }
        let bytes: usize = model.iter().map(|(k, v)| Entry::new(k, v).0.len()).sum();
        assert_eq!(h.entry_bytes, bytes);
        // A scan in small steps while the hash grows and shrinks meanwhile: every field
        // present for the whole scan is seen.
        let stable: HashSet<StdVec<u8>> = model.keys().take(500).cloned().collect();
        let mut removable: StdVec<StdVec<u8>> = model
            .keys()
            .filter(|k| !stable.contains(*k))
            .cloned()
            .collect();
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = h.scan(cursor, 7, |k, _| {
                seen.insert(k.to_vec());
            });
            steps += 1;
            // Churn: add many, then remove many (not the stable ones).
            for i in 0..40 {
                let f = std::format!("churn{steps}-{i}").into_bytes();
                if steps % 7 < 4 {
                    h.set(&f, b"x", &l);
                } else {
                    if let Some(v) = removable.pop() {
                        h.remove(&v);
                    }
                }
            }
            if cursor == 0 {
                break;
            }
            assert!(steps < 100_000);
        }
        for k in &stable {
            assert!(seen.contains(k), "missed {k:?}");
        }
    }

    #[test]
    fn memory_per_field_at_100k() {
        let l = EncodingLimits::default();
        let mut h = Hash::new();
        for i in 0..100_000u64 {
            let f = std::format!("field:{i:010}");
            let v = std::format!("value:{i:010}");
            h.set(f.as_bytes(), v.as_bytes(), &l);
        }
        let per = h.heap_bytes() / 100_000;
        std::eprintln!("hash of 100,000 16-byte fields and values: {per} heap bytes a field");
        // Redis 7.0.15's MEMORY USAGE of such a hash: 9,848,680 bytes, 98 a field.
        assert!(per <= 98, "{per} bytes a field");
    }
}
