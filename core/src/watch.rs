//! WATCH: which clients watch which keys, and the dirty flag a write to one of them sets.
//!
//! A watching client owns a [`Watcher`] (its dirty flag) and registers it under each
//! (database, key) it watches. Every successful write command touches the keys it wrote
//! (`cmd::blocking::signal` calls [`Watches::touch`]); FLUSHDB, FLUSHALL and SWAPDB touch
//! the watched keys of their databases that exist ([`Watches::touch_db`]). EXEC fails when
//! the flag is set, or when a key that was live at WATCH time is gone (it expired).
//! The registry's one lock is a leaf. Nothing is registered while nobody watches, and a
//! touch then costs one atomic load.

use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// One client's watch: set dirty by a touch of any of its keys.
#[derive(Debug, Default)]
pub struct Watcher {
    dirty: AtomicBool,
}

impl Watcher {
    /// True once a watched key was touched.
    pub fn dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }
}

/// (database, key) -> the watchers of that key.
type Registry = BTreeMap<(usize, Vec<u8>), Vec<Arc<Watcher>>>;

/// The registry of watched keys.
#[derive(Default)]
pub struct Watches {
    count: AtomicUsize,
    reg: Mutex<Registry>,
}

impl core::fmt::Debug for Watches {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Watches")
            .field("keys", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Watches {
    /// Registers `w` as watching `key` of database `db`; false if it already did.
    pub fn watch(&self, db: usize, key: &[u8], w: &Arc<Watcher>) -> bool {
        let mut reg = self.reg.lock();
        let list = reg.entry((db, key.to_vec())).or_default();
        if list.iter().any(|x| Arc::ptr_eq(x, w)) {
            return false;
        }
        list.push(Arc::clone(w));
        self.count.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Removes `w` from the keys in `keys`.
    pub fn unwatch(&self, keys: &[(usize, Vec<u8>)], w: &Arc<Watcher>) {
        if keys.is_empty() {
            return;
        }
        let mut reg = self.reg.lock();
        for k in keys {
            let empty = match reg.get_mut(k) {
                Some(list) => {
                    let before = list.len();
                    list.retain(|x| !Arc::ptr_eq(x, w));
                    self.count.fetch_sub(before - list.len(), Ordering::AcqRel);
                    list.is_empty()
                }
                None => false,
            };
            if empty {
                reg.remove(k);
            }
        }
    }

    /// True if nobody watches anything (the common case: touches cost nothing).
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Marks the watchers of `key` in `db` dirty.
    pub fn touch(&self, db: usize, key: &[u8]) {
        if self.is_empty() {
            return;
        }
        let reg = self.reg.lock();
        if let Some(list) = reg.get(&(db, key.to_vec())) {
            for w in list {
                w.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// Marks dirty the watchers of every key of database `db` for which `exists` is true
    /// (FLUSHDB, FLUSHALL, SWAPDB: only keys that are there, or will be, count).
    pub fn touch_db(&self, db: usize, exists: impl Fn(&[u8]) -> bool) {
        if self.is_empty() {
            return;
        }
        let reg = self.reg.lock();
        for ((d, key), list) in reg.iter() {
            if *d == db && exists(key) {
                for w in list {
                    w.dirty.store(true, Ordering::Release);
                }
            }
        }
    }
}
