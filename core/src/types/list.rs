//! List storage: a minimal double-ended sequence of binary-safe elements, enough for SORT
//! ... STORE to store its result and for SORT, TYPE, OBJECT ENCODING, DEL, RENAME and COPY
//! to work on lists. The list commands (LPUSH, LRANGE, ...) build on it later. Redis 7.0
//! keeps every list in a quicklist, so OBJECT ENCODING always answers `quicklist`.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

/// A list of binary-safe elements, in order from head to tail.
#[derive(Clone, Debug, Default)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
    /// Bytes of all elements, kept as elements come and go (O(1) accounting).
    bytes: usize,
}

impl List {
    /// An empty list.
    pub fn new() -> Self {
        List::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True without elements (a key never holds an empty list).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends `element` at the tail.
    pub fn push_back(&mut self, element: &[u8]) {
        self.bytes += element.len();
        self.items.push_back(Box::from(element));
    }

    /// Prepends `element` at the head.
    pub fn push_front(&mut self, element: &[u8]) {
        self.bytes += element.len();
        self.items.push_front(Box::from(element));
    }

    /// Removes and returns the head element.
    pub fn pop_front(&mut self) -> Option<alloc::vec::Vec<u8>> {
        let e = self.items.pop_front()?;
        self.bytes -= e.len();
        Some(e.into_vec())
    }

    /// Removes and returns the tail element.
    pub fn pop_back(&mut self) -> Option<alloc::vec::Vec<u8>> {
        let e = self.items.pop_back()?;
        self.bytes -= e.len();
        Some(e.into_vec())
    }

    /// The elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|e| &**e)
    }

    /// Bytes this list holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * core::mem::size_of::<Box<[u8]>>() + self.bytes
    }

    /// The encoding OBJECT ENCODING names (`quicklist`, as every list in Redis 7.0).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn keeps_order_and_counts_bytes() {
        let mut l = List::new();
        assert!(l.is_empty());
        l.push_back(b"a");
        l.push_back(b"");
        l.push_back(b"ccc\0");
        assert_eq!(l.len(), 3);
        let v: Vec<&[u8]> = l.iter().collect();
        assert_eq!(v, [&b"a"[..], b"", b"ccc\0"]);
        let back: Vec<&[u8]> = l.iter().rev().collect();
        assert_eq!(back.first(), Some(&&b"ccc\0"[..]));
        assert_eq!(l.bytes, 5);
        assert!(l.heap_bytes() >= 5);
        assert_eq!(l.clone().len(), 3);
        assert_eq!(l.encoding(), "quicklist");
    }
}
