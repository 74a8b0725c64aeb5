//! Hash storage. PLACEHOLDER (scaffolding): a plain vector of pairs, to be replaced by the
//! listpack/hashtable encodings; the API below is what the rest of the engine relies on.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// A field and its value.
type Pair = (Box<[u8]>, Box<[u8]>);

/// A hash: fields and their values, binary-safe.
#[derive(Clone, Debug, Default)]
pub struct Hash {
    pairs: Vec<Pair>,
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True without fields (a key never holds an empty hash).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(f, _)| &**f == field)
            .map(|(_, v)| &**v)
    }

    /// Bytes this hash holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.pairs.capacity() * core::mem::size_of::<Pair>()
            + self
                .pairs
                .iter()
                .map(|(f, v)| f.len() + v.len())
                .sum::<usize>()
    }

    /// The encoding OBJECT ENCODING names: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}
