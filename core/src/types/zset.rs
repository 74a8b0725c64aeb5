//! Sorted-set storage, for the sorted-set commands to build on: members with a score,
//! ordered by (score, member bytes) as Redis orders them, with rank queries in O(log n).
//!
//! Small sets (at most [`Limits::entries`] members of at most [`Limits::member`] bytes,
//! Redis's listpack limits, which the caller takes from the configuration on every write)
//! are one sorted vector: no index overhead. Larger ones are an
//! order-statistic treap (every node knows its subtree size) in an arena of nodes addressed by
//! `u32`, plus a hash table from member to node: score lookups in O(1), inserts, removals,
//! ranks and selections by rank in O(log n) expected. Priorities come from a per-set
//! xorshift generator, so the tree's shape is deterministic for a given history. A set
//! never goes back to the small form (as in Redis). NaN is never stored: callers reject it.

use super::element_hash;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cmp::Ordering;
use hashbrown::hash_table::HashTable;

/// Default most members of a set kept in the small form (Redis's
/// `zset-max-listpack-entries`).
pub const SMALL_MAX_ENTRIES: usize = 128;
/// Default longest member of a set kept in the small form (Redis's
/// `zset-max-listpack-value`).
pub const SMALL_MAX_MEMBER: usize = 64;

/// The thresholds past which a write converts a set to the big form, as the configuration
/// says at the time of the write (`zset-max-listpack-entries` / `-value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most members of a small set (0: every set is big, as in Redis).
    pub entries: usize,
    /// Longest member of a small set, in bytes.
    pub member: usize,
}

impl Limits {
    /// Redis's defaults (128 members of at most 64 bytes).
    pub const DEFAULT: Limits = Limits {
        entries: SMALL_MAX_ENTRIES,
        member: SMALL_MAX_MEMBER,
    };
}

impl From<crate::types::EncodingLimits> for Limits {
    fn from(e: crate::types::EncodingLimits) -> Self {
        Limits {
            entries: e.zset_max_listpack_entries,
            member: e.zset_max_listpack_value,
        }
    }
}

const NIL: u32 = u32::MAX;

/// Redis's order: by score, then by member bytes. Scores are never NaN.
pub fn cmp_entry(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

#[derive(Clone)]
struct Node {
    score: f64,
    member: Box<[u8]>,
    left: u32,
    right: u32,
    size: u32,
    prio: u32,
}

/// The order-statistic treap with its member index.
#[derive(Clone)]
struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// Member -> node index.
    index: HashTable<u32>,
    rng: u32,
}

#[derive(Clone)]
enum Repr {
    Small(Vec<(f64, Box<[u8]>)>),
    Big(Tree),
}

/// A sorted set. See the module documentation.
#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
    /// Bytes of all members, kept as members come and go (so MEMORY USAGE and the
    /// keyspace's accounting cost O(1)).
    member_bytes: usize,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl core::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ZSet")
            .field("len", &self.len())
            .field("small", &self.is_small())
            .finish()
    }
}

impl Tree {
    fn new() -> Self {
        Tree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            index: HashTable::new(),
            rng: 0x9E37_79B9,
        }
    }

    fn node(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)
    }

    fn size(&self, i: u32) -> u32 {
        self.node(i).map_or(0, |n| n.size)
    }

    fn fix(&mut self, i: u32) {
        let (l, r) = match self.node(i) {
            Some(n) => (n.left, n.right),
            None => return,
        };
        let s = 1 + self.size(l) + self.size(r);
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.size = s;
        }
    }

    fn key(&self, i: u32) -> (f64, &[u8]) {
        self.node(i)
            .map_or((0.0, &[][..]), |n| (n.score, &n.member))
    }

    fn set_children(&mut self, i: u32, left: u32, right: u32) {
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.left = left;
            n.right = right;
        }
        self.fix(i);
    }

    /// Splits `t` into (keys < key, keys >= key), or (keys <= key, keys > key) with
    /// `inclusive`.
    fn split(&mut self, t: u32, key: (f64, &[u8]), inclusive: bool) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let (l, r) = match self.node(t) {
            Some(n) => (n.left, n.right),
            None => return (NIL, NIL),
        };
        let ord = cmp_entry(self.key(t), key);
        let goes_left = ord == Ordering::Less || (inclusive && ord == Ordering::Equal);
        if goes_left {
            let (a, b) = self.split(r, key, inclusive);
            self.set_children(t, l, a);
            (t, b)
        } else {
            let (a, b) = self.split(l, key, inclusive);
            self.set_children(t, b, r);
            (a, t)
        }
    }

    /// Joins two treaps whose keys are all ordered `a < b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        let pa = self.node(a).map_or(0, |n| n.prio);
        let pb = self.node(b).map_or(0, |n| n.prio);
        if pa >= pb {
            let (l, r) = self.node(a).map_or((NIL, NIL), |n| (n.left, n.right));
            let m = self.merge(r, b);
            self.set_children(a, l, m);
            a
        } else {
            let (l, r) = self.node(b).map_or((NIL, NIL), |n| (n.left, n.right));
            let m = self.merge(a, l);
            self.set_children(b, m, r);
            b
        }
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(element_hash(member), |&i| {
                nodes.get(i as usize).is_some_and(|n| *n.member == *member)
            })
            .copied()
    }

    fn insert_new(&mut self, member: &[u8], score: f64) {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        let node = Node {
            score,
            member: Box::from(member),
            left: NIL,
            right: NIL,
            size: 1,
            prio: self.rng,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.nodes.get_mut(i as usize) {
                    *slot = node;
                }
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let nodes = &self.nodes;
        self.index.insert_unique(element_hash(member), i, |&j| {
            nodes.get(j as usize).map_or(0, |n| element_hash(&n.member))
        });
        let root = self.root;
        let (l, r) = self.split(root, (score, member), false);
        let m = self.merge(l, i);
        self.root = self.merge(m, r);
    }

    /// Unlinks node `i` from the tree (not from the index).
    fn unlink(&mut self, i: u32) {
        let (score, member) = match self.node(i) {
            Some(n) => (n.score, n.member.clone()),
            None => return,
        };
        let root = self.root;
        let (l, r) = self.split(root, (score, &member), false);
        let (_, r2) = self.split(r, (score, &member), true);
        self.root = self.merge(l, r2);
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let i = self.find(member)?;
        self.unlink(i);
        let nodes = &self.nodes;
        if let Ok(e) = self.index.find_entry(element_hash(member), |&j| {
            nodes.get(j as usize).is_some_and(|n| *n.member == *member)
        }) {
            e.remove();
        }
        let score = self.node(i).map(|n| n.score);
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.member = Box::default();
        }
        self.free.push(i);
        score
    }

    fn set_score(&mut self, i: u32, score: f64) {
        self.unlink(i);
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.score = score;
            n.left = NIL;
            n.right = NIL;
            n.size = 1;
        }
        let member = self.node(i).map(|n| n.member.clone()).unwrap_or_default();
        let root = self.root;
        let (l, r) = self.split(root, (score, &member), false);
        let m = self.merge(l, i);
        self.root = self.merge(m, r);
    }

    /// Number of entries for which `by` holds, for a predicate that holds for a prefix of
    /// the order (everything before some point).
    fn count_before(&self, mut by: impl FnMut((f64, &[u8])) -> bool) -> usize {
        let (mut t, mut n) = (self.root, 0usize);
        while let Some(node) = self.node(t) {
            if by((node.score, &node.member)) {
                n += self.size(node.left) as usize + 1;
                t = node.right;
            } else {
                t = node.left;
            }
        }
        n
    }

    fn select(&self, mut k: usize) -> Option<(f64, &[u8])> {
        let mut t = self.root;
        while let Some(node) = self.node(t) {
            let ls = self.size(node.left) as usize;
            match k.cmp(&ls) {
                Ordering::Less => t = node.left,
                Ordering::Equal => return Some((node.score, &node.member)),
                Ordering::Greater => {
                    k -= ls + 1;
                    t = node.right;
                }
            }
        }
        None
    }
}

impl ZSet {
    /// An empty set (small form).
    pub fn new() -> Self {
        ZSet {
            repr: Repr::Small(Vec::new()),
            member_bytes: 0,
        }
    }

    /// An empty set in the big form from the start (Redis builds the results of ZUNION and
    /// ZINTER in a skiplist, which keeps a `-0` score as `-0`).
    pub fn new_unpacked() -> Self {
        ZSet {
            repr: Repr::Big(Tree::new()),
            member_bytes: 0,
        }
    }

    /// The set in the form Redis stores a computed result in (its
    /// `zsetConvertToListpackIfNeeded`): a big set goes small when it has at most
    /// `limits.entries` members, none longer than `limits.member`; otherwise it stays as
    /// it is.
    pub fn repacked(self, limits: Limits) -> ZSet {
        let Repr::Big(t) = &self.repr else {
            return self;
        };
        let n = t.size(t.root) as usize;
        let longest = t
            .index
            .iter()
            .filter_map(|&i| t.node(i))
            .map(|node| node.member.len())
            .max()
            .unwrap_or(0);
        if n > limits.entries || longest > limits.member {
            return self;
        }
        let mut z = ZSet::new();
        for k in 0..n {
            if let Some((score, member)) = self.get(k) {
                z.insert(member, score, limits);
            }
        }
        z
    }

    /// Converts a small set to the big form in place (SORT does this to the sorted sets it
    /// reads, as Redis's `zsetConvert` in `sortCommand`); a big set is left as it is.
    pub fn make_big(&mut self) {
        self.convert_to_big();
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big(t) => t.size(t.root) as usize,
        }
    }

    /// True when the set has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the set is in the small form (OBJECT ENCODING `listpack`).
    pub fn is_small(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(v) => v.iter().find(|(_, m)| **m == *member).map(|(s, _)| *s),
            Repr::Big(t) => t.find(member).and_then(|i| t.node(i)).map(|n| n.score),
        }
    }

    fn convert_to_big(&mut self) {
        if let Repr::Small(v) = &mut self.repr {
            let mut t = Tree::new();
            for (s, m) in core::mem::take(v) {
                t.insert_new(&m, s);
            }
            self.repr = Repr::Big(t);
        }
    }

    /// Sets `member`'s score (adding it if new); returns the old score. A small set goes
    /// big first when `member` is longer than `limits.member`, or is new and the set
    /// already holds `limits.entries` members (Redis's check in `zsetAdd`).
    pub fn insert(&mut self, member: &[u8], score: f64, limits: Limits) -> Option<f64> {
        let old = self.insert_inner(member, score, limits);
        if old.is_none() {
            self.member_bytes += member.len();
        }
        old
    }

    fn insert_inner(&mut self, member: &[u8], score: f64, limits: Limits) -> Option<f64> {
        if let Repr::Small(v) = &self.repr {
            // As Redis's `zsetAdd`: only a new member can convert a listpack (an existing
            // one, however long, is updated in place).
            let grows = !v.iter().any(|(_, m)| **m == *member);
            if grows && (member.len() > limits.member || v.len() >= limits.entries) {
                self.convert_to_big();
            }
        }
        match &mut self.repr {
            Repr::Small(v) => {
                // Redis's listpack keeps scores as text and reads "-0" back as 0.
                let score = if score == 0.0 { 0.0 } else { score };
                let old = v
                    .iter()
                    .position(|(_, m)| **m == *member)
                    .map(|i| v.remove(i));
                let at = v.partition_point(|(s, m)| {
                    cmp_entry((*s, m), (score, member)) == Ordering::Less
                });
                let boxed = old
                    .as_ref()
                    .map_or_else(|| Box::from(member), |(_, m)| m.clone());
                v.insert(at, (score, boxed));
                old.map(|(s, _)| s)
            }
            Repr::Big(t) => match t.find(member) {
                Some(i) => {
                    let old = t.node(i).map(|n| n.score);
                    // Compare bits: 0 and -0 are different scores to store (callers with
                    // Redis's `zsetAdd` rule, ZADD and ZINCRBY, skip equal scores).
                    if old.map(f64::to_bits) != Some(score.to_bits()) {
                        t.set_score(i, score);
                    }
                    old
                }
                None => {
                    t.insert_new(member, score);
                    None
                }
            },
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let old = match &mut self.repr {
            Repr::Small(v) => {
                let i = v.iter().position(|(_, m)| **m == *member)?;
                Some(v.remove(i).0)
            }
            Repr::Big(t) => t.remove(member),
        };
        if old.is_some() {
            self.member_bytes -= member.len();
        }
        old
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.count_below(score, member))
    }

    /// Number of members ordered strictly before (score, member).
    pub fn count_below(&self, score: f64, member: &[u8]) -> usize {
        let lt = |k: (f64, &[u8])| cmp_entry(k, (score, member)) == Ordering::Less;
        match &self.repr {
            Repr::Small(v) => v.partition_point(|(s, m)| lt((*s, m))),
            Repr::Big(t) => t.count_before(lt),
        }
    }

    /// Number of members, in order, for which `pred` holds: `pred` must hold for a prefix of
    /// the order (everything before some point). O(log n).
    pub fn count_prefix(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Small(v) => v.partition_point(|(s, m)| pred(*s, m)),
            Repr::Big(t) => t.count_before(|(s, m)| pred(s, m)),
        }
    }

    /// Number of members with a score below `score` (or at most `score` with `inclusive`).
    pub fn count_below_score(&self, score: f64, inclusive: bool) -> usize {
        let before = |k: (f64, &[u8])| if inclusive { k.0 <= score } else { k.0 < score };
        match &self.repr {
            Repr::Small(v) => v.partition_point(|(s, m)| before((*s, m))),
            Repr::Big(t) => t.count_before(before),
        }
    }

    /// The member at 0-based rank `k` in ascending order, with its score.
    pub fn get(&self, k: usize) -> Option<(f64, &[u8])> {
        match &self.repr {
            Repr::Small(v) => v.get(k).map(|(s, m)| (*s, &m[..])),
            Repr::Big(t) => t.select(k),
        }
    }

    /// One ZSCAN step: calls `f` with members whose scan order (the XXH3-64 hash of the
    /// member, which depends on nothing but the member) is at least `cursor`, in that
    /// order, `count` of them (more only when hashes tie, so equal hashes go together), and
    /// returns the next cursor, 0 when the walk is complete. Every member present from the
    /// first step (cursor 0) to the last is therefore returned at least once, however the
    /// set changes in between. A small set is answered whole with 0. A step costs O(n log n)
    /// for n members (it ranks the hashes at or past the cursor).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(f64, &[u8])) -> u64 {
        let t = match &self.repr {
            Repr::Small(v) => {
                for (s, m) in v {
                    f(*s, m);
                }
                return 0;
            }
            Repr::Big(t) => t,
        };
        let mut picked: Vec<(u64, u32)> = t
            .index
            .iter()
            .filter_map(|&i| {
                let h = element_hash(&t.node(i)?.member);
                (h >= cursor).then_some((h, i))
            })
            .collect();
        picked.sort_unstable_by_key(|p| p.0);
        let mut last = None;
        for (taken, &(h, i)) in picked.iter().enumerate() {
            if taken >= count.max(1) && last != Some(h) {
                return h;
            }
            if let Some(n) = t.node(i) {
                f(n.score, &n.member);
            }
            last = Some(h);
        }
        0
    }

    /// Bytes held on the heap (for MEMORY USAGE and used_memory).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => {
                v.capacity() * core::mem::size_of::<(f64, Box<[u8]>)>() + self.member_bytes
            }
            Repr::Big(t) => {
                t.nodes.capacity() * core::mem::size_of::<Node>()
                    + self.member_bytes
                    + t.index.capacity() * (core::mem::size_of::<u32>() + 1)
                    + t.free.capacity() * 4
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};
    use std::vec::Vec as StdVec;

    /// A key the std BTreeSet can order like Redis.
    #[derive(PartialEq, Clone, Debug)]
    struct K(f64, StdVec<u8>);
    impl Eq for K {}
    impl PartialOrd for K {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for K {
        fn cmp(&self, o: &Self) -> Ordering {
            cmp_entry((self.0, &self.1), (o.0, &o.1))
        }
    }

    #[test]
    fn matches_an_ordered_model_across_the_small_to_big_switch() {
        let mut z = ZSet::new();
        let mut order: BTreeSet<K> = BTreeSet::new();
        let mut scores: HashMap<StdVec<u8>, f64> = HashMap::new();
        let mut x: u64 = 0xDEAD_BEEF;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..20_000 {
            let r = next();
            let member = std::format!("m{}", r % 400).into_bytes();
            let score = ((r >> 20) % 50) as f64 - 25.0; // many ties on score
            match (r >> 40) % 5 {
                0..=2 => {
                    let old = z.insert(&member, score, Limits::DEFAULT);
                    assert_eq!(old, scores.get(&member).copied(), "step {step}");
                    if let Some(o) = old {
                        order.remove(&K(o, member.clone()));
                    }
                    order.insert(K(score, member.clone()));
                    scores.insert(member, score);
                }
                3 => {
                    let old = z.remove(&member);
                    assert_eq!(old, scores.remove(&member), "step {step}");
                    if let Some(o) = old {
                        order.remove(&K(o, member));
                    }
                }
                _ => {
                    let want = scores
                        .get(&member)
                        .map(|&s| order.range(..K(s, member.clone())).count());
                    assert_eq!(z.rank(&member), want, "step {step}");
                }
            }
            assert_eq!(z.len(), order.len());
            if step % 500 == 0 {
                for (k, e) in order.iter().enumerate() {
                    assert_eq!(z.get(k), Some((e.0, &e.1[..])));
                }
                assert_eq!(z.get(order.len()), None);
                let below = order.iter().filter(|e| e.0 < 3.0).count();
                assert_eq!(z.count_below_score(3.0, false), below);
                let upto = order.iter().filter(|e| e.0 <= 3.0).count();
                assert_eq!(z.count_below_score(3.0, true), upto);
            }
        }
        assert!(!z.is_small(), "400 members: big form");
        let bytes: usize = order.iter().map(|k| k.1.len()).sum();
        assert_eq!(z.member_bytes, bytes);
    }

    #[test]
    fn long_members_leave_the_small_form() {
        let mut z = ZSet::new();
        z.insert(b"a", 1.0, Limits::DEFAULT);
        assert!(z.is_small());
        z.insert(&[b'x'; SMALL_MAX_MEMBER + 1], 2.0, Limits::DEFAULT);
        assert!(!z.is_small());
        assert_eq!(z.get(0), Some((1.0, &b"a"[..])));
        assert_eq!(z.rank(&[b'x'; SMALL_MAX_MEMBER + 1]), Some(1));
        assert_eq!(z.score(b"a"), Some(1.0));
    }

    #[test]
    fn scan_returns_members_present_throughout_while_the_set_changes() {
        let mut z = ZSet::new();
        for i in 0..500u32 {
            z.insert(
                std::format!("old{i}").as_bytes(),
                f64::from(i),
                Limits::DEFAULT,
            );
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut step) = (0u64, 0u32);
        loop {
            cursor = z.scan(cursor, 7, |_, m| {
                seen.insert(m.to_vec());
            });
            // Grow and shrink between steps (members that are not "old" only).
            z.insert(std::format!("new{step}").as_bytes(), 1.0, Limits::DEFAULT);
            if step % 3 == 0 {
                z.remove(std::format!("new{}", step / 2).as_bytes());
            }
            step += 1;
            if cursor == 0 {
                break;
            }
            assert!(step < 10_000, "scan does not terminate");
        }
        for i in 0..500 {
            assert!(
                seen.contains(std::format!("old{i}").as_bytes()),
                "old{i} missed"
            );
        }
        // A small set answers whole with cursor 0.
        let mut small = ZSet::new();
        small.insert(b"a", 1.0, Limits::DEFAULT);
        let mut n = 0;
        assert_eq!(small.scan(0, 1, |_, _| n += 1), 0);
        assert_eq!(n, 1);
    }

    #[test]
    fn thresholds_follow_the_limits_given() {
        let tiny = Limits {
            entries: 2,
            member: 3,
        };
        let mut z = ZSet::new();
        z.insert(b"a", 1.0, tiny);
        z.insert(b"b", 2.0, tiny);
        assert!(z.is_small());
        z.insert(b"b", 3.0, tiny);
        assert!(z.is_small(), "an update does not grow the set");
        z.insert(b"c", 3.0, tiny);
        assert!(!z.is_small());
        z.remove(b"c");
        assert!(!z.is_small(), "never back to small by itself");
        assert!(z.clone().repacked(tiny).is_small());
        let mut zero = ZSet::new();
        zero.insert(
            b"a",
            -0.0,
            Limits {
                entries: 0,
                member: 64,
            },
        );
        assert!(!zero.is_small());
        assert!(zero.score(b"a").is_some_and(|s| s.is_sign_negative()));
        let mut long = ZSet::new();
        long.insert(b"abcd", 1.0, tiny);
        assert!(!long.is_small());
        assert!(!long.repacked(tiny).is_small());
    }

    #[test]
    fn big_sets_stay_balanced_enough() {
        let mut z = ZSet::new();
        for i in 0..100_000u32 {
            z.insert(&i.to_be_bytes(), f64::from(i), Limits::DEFAULT);
        }
        assert_eq!(z.rank(&50_000u32.to_be_bytes()), Some(50_000));
        assert_eq!(
            z.get(99_999),
            Some((99_999.0, &99_999u32.to_be_bytes()[..]))
        );
        let Repr::Big(t) = &z.repr else { panic!("big") };
        fn depth(t: &Tree, i: u32) -> usize {
            t.node(i)
                .map_or(0, |n| 1 + depth(t, n.left).max(depth(t, n.right)))
        }
        // Sorted inserts would make a plain BST 100,000 deep.
        assert!(depth(t, t.root) < 100, "depth {}", depth(t, t.root));
    }
}
