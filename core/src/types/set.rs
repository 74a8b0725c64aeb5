//! Set storage. PLACEHOLDER (scaffolding): a plain vector, to be replaced by the
//! intset/hashtable encodings; the API below is what the rest of the engine relies on.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// A set of distinct binary-safe members.
#[derive(Clone, Debug, Default)]
pub struct Set {
    members: Vec<Box<[u8]>>,
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Set::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True without members (a key never holds an empty set).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.iter().any(|m| &**m == member)
    }

    /// Calls `f` with every member's bytes (an intset's integers as decimal text), in the
    /// set's own order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        for m in &self.members {
            f(m);
        }
    }

    /// Bytes this set holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.members.capacity() * core::mem::size_of::<Box<[u8]>>()
            + self.members.iter().map(|m| m.len()).sum::<usize>()
    }

    /// The encoding OBJECT ENCODING names: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }
}
