//! What the keyspace stores: [`Value`], [`Item`] (a value and its expiry time), and the
//! table entry that holds a key with its item ([`Entry`], 48 bytes).
//!
//! An entry has three forms, chosen by what it holds (and changed whenever a write makes
//! another one fit):
//! - *packed*: a string of at most [`INLINE`] bytes without a TTL, its key and value side by
//!   side in [`PACKED`] bytes of the entry (a 16-byte key with a 16-byte value: no heap at
//!   all, 48 bytes of table where a key and an [`Item`] apart took 64);
//! - *timed*: the same with a TTL, in [`PACKED_TTL`] bytes beside the 8-byte expiry time;
//! - *wide*: anything else (longer strings or keys, collections): the [`Item`] in the entry
//!   and the key behind a box (a [`Str`], so its bytes are inline up to 22).
//!
//! The packed forms have no `Item` to lend: [`Entry::with_item`] and [`Entry::update`] build
//! one on the stack (a copy of at most 22 bytes, no allocation) and, after a change, store it
//! back in whichever form fits. No `unsafe`: the layout is a `#[repr(u8)]` enum whose
//! variants put their tag, flags and lengths in the first 4 bytes and the access word in
//! the next 4 (checked at compile time).

use crate::sync::{AtomicU32, Ordering};
use crate::time::UnixMillis;
use crate::types::string::{Str, INLINE};
use alloc::boxed::Box;

/// A value stored under a key.
#[derive(Clone, Debug)]
pub enum Value {
    /// A string (binary-safe bytes; short ones inline, see [`Str`]).
    Str(Str),
    /// A sorted set.
    ZSet(Box<crate::types::zset::ZSet>),
    /// A hash.
    Hash(Box<crate::types::hash::Hash>),
    /// A set.
    Set(Box<crate::types::set::Set>),
    /// A list.
    List(Box<crate::types::list::List>),
}

impl Value {
    /// Bytes this value holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(v) => v.heap_bytes(),
            Value::ZSet(z) => core::mem::size_of::<crate::types::zset::ZSet>() + z.heap_bytes(),
            Value::Hash(h) => core::mem::size_of::<crate::types::hash::Hash>() + h.heap_bytes(),
            Value::Set(s) => core::mem::size_of::<crate::types::set::Set>() + s.heap_bytes(),
            Value::List(l) => core::mem::size_of::<crate::types::list::List>() + l.heap_bytes(),
        }
    }

    /// The name TYPE answers for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::ZSet(_) => "zset",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
        }
    }

    /// A string value from its bytes.
    #[inline]
    pub fn str(bytes: impl Into<Str>) -> Self {
        Value::Str(bytes.into())
    }

    /// The bytes of a string value; `None` for other types (WRONGTYPE).
    #[inline]
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }

    /// A string value, to change in place ([`Str::set`], [`Str::edit`]); `None` for other
    /// types.
    pub fn as_str_mut(&mut self) -> Option<&mut Str> {
        match self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }
}

/// A value and its expiry time.
#[derive(Clone, Debug)]
pub struct Item {
    /// The value.
    pub value: Value,
    /// When the key expires (absolute Unix milliseconds), or [`NO_EXPIRY`]: 8 bytes
    /// where an `Option<UnixMillis>` takes 16 (see [`Item::expire_at`]).
    expire: i64,
}

/// The `expire` of an [`Item`] without a TTL. A TTL at this very instant (an absolute
/// time 292 million years before 1970) is kept as one millisecond later: both are long
/// past.
pub const NO_EXPIRY: i64 = i64::MIN;

impl Item {
    /// A value without a TTL.
    pub fn new(value: Value) -> Self {
        Item {
            value,
            expire: NO_EXPIRY,
        }
    }

    /// A value with a TTL ending at `at`, or none.
    #[inline]
    pub fn with_expiry(value: Value, at: Option<UnixMillis>) -> Self {
        let mut item = Item::new(value);
        item.set_expire_at(at);
        item
    }

    /// When the key expires (absolute Unix milliseconds), if it has a TTL.
    #[inline]
    pub fn expire_at(&self) -> Option<UnixMillis> {
        (self.expire != NO_EXPIRY).then_some(UnixMillis(self.expire))
    }

    /// Sets or removes the TTL.
    #[inline]
    pub fn set_expire_at(&mut self, at: Option<UnixMillis>) {
        self.expire = match at {
            Some(UnixMillis(t)) => t.max(NO_EXPIRY + 1),
            None => NO_EXPIRY,
        };
    }

    /// Moves the value and TTL out, leaving an empty string behind (for RENAME and MOVE,
    /// which then remove the old key): no copy of the value.
    pub fn take(&mut self) -> Item {
        Item {
            value: core::mem::replace(&mut self.value, Value::Str(Str::new())),
            expire: self.expire,
        }
    }

    /// Whether the key is logically gone at `now`.
    #[inline]
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        self.expire != NO_EXPIRY && now.0 > self.expire
    }
}

/// Bytes of key and value a packed entry (a short string without a TTL) holds.
pub const PACKED: usize = 40;
/// Bytes of key and value a timed entry (a short string with a TTL) holds.
pub const PACKED_TTL: usize = 32;

/// A key and its item as the keyspace's table stores them; see the module documentation.
/// `copied` is the snapshot mark (see `Db::begin_snapshot`): set while a snapshot runs on
/// an entry created, or copied for it, since its instant.
#[repr(u8)]
pub enum Entry {
    /// A short string without a TTL: the key in `data[..klen]`, the value after it.
    Packed {
        /// The snapshot mark.
        copied: bool,
        /// The key's length.
        klen: u8,
        /// The value's length (at most [`INLINE`]).
        vlen: u8,
        /// The access word (LRU clock or LFU data; see [`crate::evict`]).
        access: AtomicU32,
        /// Key and value.
        data: [u8; PACKED],
    },
    /// A short string with a TTL.
    Timed {
        /// The snapshot mark.
        copied: bool,
        /// The key's length.
        klen: u8,
        /// The value's length (at most [`INLINE`]).
        vlen: u8,
        /// The access word.
        access: AtomicU32,
        /// When the key expires (absolute Unix milliseconds; never [`NO_EXPIRY`]).
        expire: i64,
        /// Key and value.
        data: [u8; PACKED_TTL],
    },
    /// Anything else.
    Wide {
        /// The snapshot mark.
        copied: bool,
        /// The access word.
        access: AtomicU32,
        /// The value and its TTL.
        item: Item,
        /// The key.
        key: Box<Str>,
    },
}

#[cfg(all(target_pointer_width = "64", not(kv_shuttle)))]
const _: () = assert!(core::mem::size_of::<Entry>() == 48);

/// Where a short string goes: `Some(false)` packed, `Some(true)` timed, `None` wide.
#[inline]
fn packs(klen: usize, item: &Item) -> Option<bool> {
    let v = item.value.as_str()?;
    if v.len() > INLINE {
        return None;
    }
    let timed = item.expire != NO_EXPIRY;
    let room = if timed { PACKED_TTL } else { PACKED };
    (klen + v.len() <= room).then_some(timed)
}

/// `key` and `val` side by side in a buffer of `N` bytes (the caller checked they fit).
#[inline]
fn pack<const N: usize>(key: &[u8], val: &[u8]) -> [u8; N] {
    let mut data = [0; N];
    if let Some(d) = data.get_mut(..key.len()) {
        d.copy_from_slice(key);
    }
    if let Some(d) = data.get_mut(key.len()..key.len() + val.len()) {
        d.copy_from_slice(val);
    }
    data
}

impl Entry {
    /// The entry for `key` holding `item`, with access word `access` and snapshot mark
    /// `copied`, in the form that fits.
    #[inline(never)]
    pub fn new(key: &[u8], item: Item, access: u32, copied: bool) -> Self {
        let access = AtomicU32::new(access);
        match packs(key.len(), &item) {
            Some(timed) => {
                let val = item.value.as_str().unwrap_or(&[]);
                let (klen, vlen) = (key.len() as u8, val.len() as u8);
                if timed {
                    Entry::Timed {
                        copied,
                        klen,
                        vlen,
                        access,
                        expire: item.expire,
                        data: pack(key, val),
                    }
                } else {
                    Entry::Packed {
                        copied,
                        klen,
                        vlen,
                        access,
                        data: pack(key, val),
                    }
                }
            }
            None => Entry::Wide {
                copied,
                access,
                item,
                key: Box::new(Str::from(key)),
            },
        }
    }

    /// The key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        match self {
            Entry::Packed { klen, data, .. } => data.get(..*klen as usize).unwrap_or(&[]),
            Entry::Timed { klen, data, .. } => data.get(..*klen as usize).unwrap_or(&[]),
            Entry::Wide { key, .. } => key,
        }
    }

    /// The access word.
    #[inline]
    pub fn access(&self) -> &AtomicU32 {
        match self {
            Entry::Packed { access, .. }
            | Entry::Timed { access, .. }
            | Entry::Wide { access, .. } => access,
        }
    }

    /// The snapshot mark.
    #[inline]
    pub fn copied(&self) -> bool {
        match self {
            Entry::Packed { copied, .. }
            | Entry::Timed { copied, .. }
            | Entry::Wide { copied, .. } => *copied,
        }
    }

    /// Sets the snapshot mark.
    #[inline]
    pub fn set_copied(&mut self, to: bool) {
        match self {
            Entry::Packed { copied, .. }
            | Entry::Timed { copied, .. }
            | Entry::Wide { copied, .. } => *copied = to,
        }
    }

    /// When the key expires, if it has a TTL.
    #[inline]
    pub fn expire_at(&self) -> Option<UnixMillis> {
        match self {
            Entry::Packed { .. } => None,
            Entry::Timed { expire, .. } => Some(UnixMillis(*expire)),
            Entry::Wide { item, .. } => item.expire_at(),
        }
    }

    /// Whether the key is logically gone at `now`.
    #[inline]
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        match self {
            Entry::Packed { .. } => false,
            Entry::Timed { expire, .. } => now.0 > *expire,
            Entry::Wide { item, .. } => item.is_expired(now),
        }
    }

    /// The value of a packed or timed entry (empty for a wide one).
    #[inline]
    fn short_value(&self) -> &[u8] {
        let (klen, vlen, data): (u8, u8, &[u8]) = match self {
            Entry::Packed {
                klen, vlen, data, ..
            } => (*klen, *vlen, data),
            Entry::Timed {
                klen, vlen, data, ..
            } => (*klen, *vlen, data),
            Entry::Wide { .. } => return &[],
        };
        let k = klen as usize;
        data.get(k..k + vlen as usize).unwrap_or(&[])
    }

    /// The item of a packed or timed entry, built (no allocation: the value is inline).
    /// Out of line: every reader and writer would carry a copy.
    #[inline(never)]
    fn short_item(&self) -> Item {
        let expire = match self {
            Entry::Timed { expire, .. } => *expire,
            _ => NO_EXPIRY,
        };
        Item {
            value: Value::Str(Str::from(self.short_value())),
            expire,
        }
    }

    /// Runs `f` on the item (lent from a wide entry, built for a packed one). `f` is
    /// called from one place, so each caller's closure is compiled once.
    #[inline]
    pub fn with_item<R>(&self, f: impl FnOnce(&Item) -> R) -> R {
        let tmp;
        let item = match self {
            Entry::Wide { item, .. } => item,
            _ => {
                tmp = self.short_item();
                &tmp
            }
        };
        f(item)
    }

    /// A copy of the item.
    pub fn to_item(&self) -> Item {
        match self {
            Entry::Wide { item, .. } => item.clone(),
            _ => self.short_item(),
        }
    }

    /// Runs `f` on the item to change it in place, then keeps the entry in the form that
    /// fits what `f` left.
    #[inline]
    pub fn update<R>(&mut self, f: impl FnOnce(&mut Item) -> R) -> R {
        let mut tmp = None;
        let item = match self {
            Entry::Wide { item, .. } => item,
            _ => tmp.insert(self.short_item()),
        };
        let r = f(item);
        self.settle(tmp);
        r
    }

    /// After [`Entry::update`]: stores a built item back, or packs a wide entry whose item
    /// now fits.
    #[inline(never)]
    fn settle(&mut self, built: Option<Item>) {
        if let Some(item) = built {
            if !self.rewrite_short(&item) {
                self.set_item(item)
            }
        } else if let Entry::Wide { item, key, .. } = &*self {
            if packs(key.len(), item).is_some() {
                self.repack()
            }
        }
    }

    /// Writes a short string over the value of a packed or timed entry when it stays in
    /// the same form (an overwrite, the common case: no key copy); false if it does not.
    #[inline]
    fn rewrite_short(&mut self, item: &Item) -> bool {
        let Some(v) = item.value.as_str().filter(|v| v.len() <= INLINE) else {
            return false;
        };
        let (klen, vlen, data) = match self {
            Entry::Packed {
                klen, vlen, data, ..
            } if item.expire == NO_EXPIRY => (*klen, vlen, &mut data[..]),
            Entry::Timed {
                klen,
                vlen,
                data,
                expire,
                ..
            } if item.expire != NO_EXPIRY => {
                *expire = item.expire;
                (*klen, vlen, &mut data[..])
            }
            _ => return false,
        };
        let k = klen as usize;
        match data.get_mut(k..k + v.len()) {
            Some(d) => {
                d.copy_from_slice(v);
                *vlen = v.len() as u8;
                true
            }
            None => false,
        }
    }

    /// A wide entry whose item now fits a packed form, packed (its key box freed).
    #[cold]
    #[inline(never)]
    fn repack(&mut self) {
        if let Entry::Wide { item, .. } = self {
            let item = item.take();
            self.set_item(item);
        }
    }

    /// Replaces the item (the key, access word and mark stay).
    pub fn set_item(&mut self, item: Item) {
        if let Entry::Wide { item: old, key, .. } = self {
            if packs(key.len(), &item).is_none() {
                *old = item;
                return;
            }
        }
        let access = self.access().load(Ordering::Relaxed);
        let copied = self.copied();
        let new = match self {
            Entry::Wide { key, .. } => Entry::new(key, item, access, copied),
            _ => {
                let mut key = [0; PACKED];
                let k = self.key();
                let klen = k.len();
                if let Some(d) = key.get_mut(..klen) {
                    d.copy_from_slice(k);
                }
                Entry::new(key.get(..klen).unwrap_or(&[]), item, access, copied)
            }
        };
        *self = new;
    }

    /// Bytes the entry holds on the heap (its key box and what key and value hold there).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Entry::Wide { item, key, .. } => {
                core::mem::size_of::<Str>() + key.heap_bytes() + item.value.heap_bytes()
            }
            _ => 0,
        }
    }
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.with_item(|item| {
            f.debug_struct("Entry")
                .field("key", &Str::from(self.key()))
                .field("item", item)
                .finish()
        })
    }
}

impl core::borrow::Borrow<[u8]> for Entry {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.key()
    }
}

/// Entries are equal when their keys are (the map's `Eq` bound: keys are unique).
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Entry {}

impl crate::map::KeyHash for Entry {
    #[inline]
    fn key_hash(&self, seed: u64) -> u64 {
        self.key().key_hash(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn item(v: &[u8], ttl: Option<i64>) -> Item {
        Item::with_expiry(Value::str(v), ttl.map(UnixMillis))
    }

    fn form(e: &Entry) -> &'static str {
        match e {
            Entry::Packed { .. } => "packed",
            Entry::Timed { .. } => "timed",
            Entry::Wide { .. } => "wide",
        }
    }

    fn bytes(n: usize, b: u8) -> Vec<u8> {
        vec![b; n]
    }

    #[test]
    fn forms_follow_what_fits() {
        let cases: &[(usize, usize, Option<i64>, &str)] = &[
            (16, 16, None, "packed"),
            (18, 22, None, "packed"),
            (19, 22, None, "wide"),
            (39, 1, None, "packed"),
            (40, 0, None, "packed"),
            (41, 0, None, "wide"),
            (1, 23, None, "wide"),
            (16, 16, Some(5), "timed"),
            (10, 22, Some(5), "timed"),
            (11, 22, Some(5), "wide"),
            (32, 0, Some(-7), "timed"),
            (33, 0, Some(5), "wide"),
            (0, 0, None, "packed"),
        ];
        for &(k, v, ttl, want) in cases {
            let key = bytes(k, b'k');
            let e = Entry::new(&key, item(&bytes(v, b'v'), ttl), 7, true);
            assert_eq!(form(&e), want, "key {k} value {v} ttl {ttl:?}");
            assert_eq!(e.key(), &key[..]);
            assert_eq!(e.expire_at(), ttl.map(UnixMillis));
            assert_eq!(e.access().load(Ordering::Relaxed), 7);
            assert!(e.copied());
            e.with_item(|i| {
                assert_eq!(i.value.as_str(), Some(&bytes(v, b'v')[..]));
                assert_eq!(i.expire_at(), ttl.map(UnixMillis));
            });
            assert_eq!(e.to_item().value.as_str(), Some(&bytes(v, b'v')[..]));
        }
    }

    #[test]
    fn updates_move_between_forms_and_keep_key_access_and_mark() {
        let key = bytes(16, b'k');
        let mut e = Entry::new(&key, item(b"short", None), 3, false);
        assert_eq!(form(&e), "packed");
        // Longer than fits: wide, and back when it shrinks again.
        e.update(|i| i.value = Value::str(bytes(100, b'x')));
        assert_eq!(form(&e), "wide");
        assert_eq!(e.heap_bytes(), core::mem::size_of::<Str>() + 100);
        e.update(|i| {
            if let Some(s) = i.value.as_str_mut() {
                s.set(b"tiny");
            }
        });
        assert_eq!(form(&e), "packed");
        assert_eq!(e.heap_bytes(), 0);
        // A TTL: timed; removing it: packed.
        e.update(|i| i.set_expire_at(Some(UnixMillis(99))));
        assert_eq!(form(&e), "timed");
        assert!(e.is_expired(UnixMillis(100)) && !e.is_expired(UnixMillis(99)));
        e.set_copied(true);
        e.set_item(item(b"abc", None));
        assert_eq!(form(&e), "packed");
        // A collection: wide.
        e.set_item(Item::new(Value::Hash(Box::default())));
        assert_eq!(form(&e), "wide");
        e.with_item(|i| assert_eq!(i.value.type_name(), "hash"));
        assert_eq!(e.key(), &key[..]);
        assert_eq!(e.access().load(Ordering::Relaxed), 3);
        assert!(e.copied());
        e.set_item(item(b"v", Some(1)));
        assert_eq!(form(&e), "timed");
        assert_eq!(e.to_item().value.as_str(), Some(&b"v"[..]));
    }

    #[test]
    fn long_keys_stay_wide_whatever_the_value() {
        let key = bytes(300, b'q');
        let mut e = Entry::new(&key, item(b"", None), 0, false);
        assert_eq!(form(&e), "wide");
        assert_eq!(e.heap_bytes(), core::mem::size_of::<Str>() + 300);
        e.update(|i| i.set_expire_at(Some(UnixMillis(1))));
        assert_eq!(form(&e), "wide");
        assert_eq!(e.key(), &key[..]);
        assert_eq!(e, Entry::new(&key, item(b"other", None), 1, true));
    }
}
