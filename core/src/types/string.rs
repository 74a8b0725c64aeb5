//! The bytes of a string value or of a key, kept without a heap allocation when short.
//!
//! A [`Str`] takes 24 bytes, as a `Vec<u8>` does, and so does a [`crate::db::Value`]
//! holding one (the enum's tag lives in the unused values of the inline length byte).
//! It has three forms:
//! - *inline*: up to [`INLINE`] bytes inside those 24 (keys like `user:1000:name`,
//!   counters, flags, short tokens): no allocation at all;
//! - *boxed*: an exact-size heap buffer (`Box<[u8]>`), what SET and the loaders store;
//! - *growable*: a `Vec<u8>` behind a box, which a string becomes once a command changes it
//!   in place ([`Str::edit`]: APPEND, SETRANGE, SETBIT...), so that repeated appends stay
//!   amortised O(1) as they are in Redis's sds strings. It costs the box (32 bytes with
//!   glibc's header) on top of the buffer's spare capacity.
//!
//! The form never shows: equality, hashing and ordering are those of the bytes. No
//! `unsafe`: the size comes from the compiler's niche layout, checked at compile time.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::mem::size_of;
use core::ops::Deref;

/// The longest string kept inline.
pub const INLINE: usize = 22;

/// The length of an inline string: an enum, so that its 233 unused byte values are a niche
/// in which [`Repr`] and [`crate::db::Value`] keep their tags.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[rustfmt::skip]
enum Len {
    L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15, L16, L17, L18, L19,
    L20, L21, L22,
}

/// Every [`Len`] in order: `LENS[n]` is the length `n`.
#[rustfmt::skip]
const LENS: [Len; INLINE + 1] = [
    Len::L0, Len::L1, Len::L2, Len::L3, Len::L4, Len::L5, Len::L6, Len::L7, Len::L8, Len::L9,
    Len::L10, Len::L11, Len::L12, Len::L13, Len::L14, Len::L15, Len::L16, Len::L17, Len::L18,
    Len::L19, Len::L20, Len::L21, Len::L22,
];

/// Inline bytes; `repr(C)` puts the length (the niche) last, after the 22 bytes in which
/// the other forms' pointers fit.
#[derive(Clone, Copy)]
#[repr(C)]
struct Inline {
    buf: [u8; INLINE],
    len: Len,
}

// A boxed `Vec` on purpose: the `Vec` itself (24 bytes) would not fit beside the tag.
#[allow(clippy::box_collection)]
#[derive(Clone)]
enum Repr {
    Inline(Inline),
    Boxed(Box<[u8]>),
    Growable(Box<Vec<u8>>),
}

/// A byte string of a value or a key; see the module documentation.
#[derive(Clone)]
pub struct Str(Repr);

#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Str>() == size_of::<Vec<u8>>());
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Option<Str>>() == size_of::<Vec<u8>>());

impl Str {
    /// The empty string.
    #[inline]
    pub const fn new() -> Self {
        Str(Repr::Inline(Inline {
            buf: [0; INLINE],
            len: Len::L0,
        }))
    }

    /// `bytes` inline, if they fit.
    #[inline]
    fn inline(bytes: &[u8]) -> Option<Self> {
        let len = *LENS.get(bytes.len())?;
        let mut buf = [0; INLINE];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Str(Repr::Inline(Inline { buf, len })))
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => i.buf.get(..i.len as usize).unwrap_or(&[]),
            Repr::Boxed(b) => b,
            Repr::Growable(v) => v,
        }
    }

    /// Bytes this string holds on the heap (0 inline).
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline(_) => 0,
            Repr::Boxed(b) => b.len(),
            Repr::Growable(v) => size_of::<Vec<u8>>() + v.capacity(),
        }
    }

    /// Bytes a string of `len` bytes made by [`Str::from`] holds on the heap.
    #[inline]
    pub const fn heap_bytes_of(len: usize) -> usize {
        if len <= INLINE {
            0
        } else {
            len
        }
    }

    /// Replaces the bytes with `val`, in the buffer already held when it has the room and
    /// is not much bigger (an overwrite of a value by one of the same size allocates
    /// nothing).
    pub fn set(&mut self, val: &[u8]) {
        match &mut self.0 {
            Repr::Inline(i) if val.len() <= INLINE => {
                if let (Some(dst), Some(&len)) = (i.buf.get_mut(..val.len()), LENS.get(val.len())) {
                    dst.copy_from_slice(val);
                    i.len = len;
                }
            }
            Repr::Boxed(b) if b.len() == val.len() => b.copy_from_slice(val),
            Repr::Growable(v)
                if v.capacity() >= val.len() && v.capacity() <= val.len() * 2 + 64 =>
            {
                v.clear();
                v.extend_from_slice(val);
            }
            _ => *self = Str::from(val),
        }
    }

    /// Changes the bytes in place with `f` (as a `Vec<u8>`): the string becomes growable
    /// (no copy of a boxed buffer), or inline again if `f` leaves it short.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let v = match core::mem::replace(&mut self.0, Repr::Inline(Inline::EMPTY)) {
            Repr::Inline(i) => Box::new(i.buf.get(..i.len as usize).unwrap_or(&[]).to_vec()),
            Repr::Boxed(b) => Box::new(b.into_vec()),
            Repr::Growable(v) => v,
        };
        let mut v = v;
        let r = f(&mut v);
        self.0 = match Str::inline(&v) {
            Some(s) => s.0,
            None => Repr::Growable(v),
        };
        r
    }

    /// The bytes as a vector (no copy of a boxed or growable buffer).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline(i) => i.buf.get(..i.len as usize).unwrap_or(&[]).to_vec(),
            Repr::Boxed(b) => b.into_vec(),
            Repr::Growable(v) => *v,
        }
    }
}

impl Inline {
    const EMPTY: Inline = Inline {
        buf: [0; INLINE],
        len: Len::L0,
    };
}

impl Default for Str {
    fn default() -> Self {
        Str::new()
    }
}

impl Deref for Str {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Str {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Str {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for Str {
    #[inline]
    fn from(bytes: &[u8]) -> Self {
        Str::inline(bytes).unwrap_or_else(|| Str(Repr::Boxed(Box::from(bytes))))
    }
}

impl<const N: usize> From<&[u8; N]> for Str {
    fn from(bytes: &[u8; N]) -> Self {
        Str::from(&bytes[..])
    }
}

impl From<Vec<u8>> for Str {
    /// Short bytes go inline (the vector is freed); longer ones keep the vector's buffer,
    /// trimmed to its length.
    #[inline]
    fn from(v: Vec<u8>) -> Self {
        Str::inline(&v).unwrap_or_else(|| Str(Repr::Boxed(v.into_boxed_slice())))
    }
}

impl From<alloc::borrow::Cow<'_, [u8]>> for Str {
    fn from(c: alloc::borrow::Cow<'_, [u8]>) -> Self {
        match c {
            alloc::borrow::Cow::Borrowed(b) => Str::from(b),
            alloc::borrow::Cow::Owned(v) => Str::from(v),
        }
    }
}

impl From<Box<[u8]>> for Str {
    fn from(b: Box<[u8]>) -> Self {
        Str::inline(&b).unwrap_or(Str(Repr::Boxed(b)))
    }
}

impl From<Str> for Vec<u8> {
    fn from(s: Str) -> Self {
        s.into_vec()
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Str {}

impl PartialEq<[u8]> for Str {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl core::hash::Hash for Str {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> core::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl core::fmt::Debug for Str {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl crate::map::KeyHash for Str {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        self.as_bytes().key_hash(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &Str) -> &'static str {
        match s.0 {
            Repr::Inline(_) => "inline",
            Repr::Boxed(_) => "boxed",
            Repr::Growable(_) => "growable",
        }
    }

    #[test]
    fn short_strings_are_inline_and_long_ones_boxed() {
        for n in 0..=64usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            for s in [Str::from(&bytes[..]), Str::from(bytes.clone())] {
                assert_eq!(s.as_bytes(), &bytes[..]);
                assert_eq!(form(&s), if n <= INLINE { "inline" } else { "boxed" });
                assert_eq!(s.heap_bytes(), if n <= INLINE { 0 } else { n });
                assert_eq!(s.clone(), s);
                assert_eq!(s.clone().into_vec(), bytes);
            }
        }
        assert!(Str::new().is_empty());
        assert_eq!(Str::default(), Str::from(&b""[..]));
    }

    #[test]
    fn set_reuses_buffers_and_goes_inline_when_short() {
        let mut s = Str::from(&[1u8; 40][..]);
        s.set(&[2u8; 40]);
        assert_eq!((form(&s), s.as_bytes()), ("boxed", &[2u8; 40][..]));
        s.set(b"12");
        assert_eq!((form(&s), s.as_bytes()), ("inline", &b"12"[..]));
        s.set(&[3u8; 100]);
        assert_eq!((form(&s), s.len()), ("boxed", 100));
        s.edit(|v| v.push(4));
        assert_eq!((form(&s), s.len()), ("growable", 101));
        s.set(&[5u8; 90]);
        assert_eq!((form(&s), s.as_bytes()), ("growable", &[5u8; 90][..]));
        s.set(&[6u8; 1000]);
        assert_eq!((form(&s), s.as_bytes()), ("boxed", &[6u8; 1000][..]));
    }

    #[test]
    fn edits_grow_and_shrink_across_the_forms() {
        let mut s = Str::new();
        let mut model = Vec::new();
        for i in 0..200u8 {
            s.edit(|v| v.push(i));
            model.push(i);
            assert_eq!(s.as_bytes(), &model[..]);
            let want = if model.len() <= INLINE {
                "inline"
            } else {
                "growable"
            };
            assert_eq!(form(&s), want);
        }
        let n = s.edit(|v| {
            v.truncate(3);
            v.len()
        });
        assert_eq!((n, form(&s), s.as_bytes()), (3, "inline", &[0u8, 1, 2][..]));
        let (lo, hi) = (Str::from(&b"\0\0"[..]), Str::from(&b"\x01"[..]));
        assert!(s > lo && s < hi);
    }

    #[test]
    fn values_and_options_keep_the_size_of_a_vector() {
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(size_of::<crate::db::Value>(), 24);
            assert_eq!(size_of::<Option<crate::db::Value>>(), 24);
        }
        assert_eq!(alloc::format!("{:?}", Str::from(&b"a\n"[..])), "b\"a\\n\"");
    }
}
