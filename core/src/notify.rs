//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0's `notify.c`: the event
//! classes, their text form, and the [`Notifier`] that publishes `__keyspace@<db>__:<key>`
//! (payload: the event) and `__keyevent@<db>__:<event>` (payload: the key) through pub/sub.
//!
//! Commands call [`crate::engine::Engine::notify`] (or `Ctx::notify`) after they changed a
//! key, with the class, event name and key Redis uses, in Redis's order. The keyspace
//! itself reports what happens inside it through [`crate::db::KeyEvents`], which the
//! [`Notifier`] implements: `expired` when lazy or active expiry removes a key, and `new`
//! when a key is created (Redis's `dbAdd`).
//!
//! The [`Notifier`] keeps the configured classes in one atomic word, stored as 0 when
//! neither `K` nor `E` is on (nothing would be published), so a notification that nobody
//! asked for costs one relaxed load. Publishing may happen while shard locks are held: the
//! pub/sub registry and mailbox locks it takes are leaves.

use crate::blocking::Blocking;
use crate::pubsub::PubSub;
use crate::sync::{Arc, AtomicU32, Ordering};
use alloc::string::String;
use alloc::vec::Vec;

/// `K`: `__keyspace@<db>__:<key>` channels.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: `__keyevent@<db>__:<event>` channels.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired (removed by lazy or active expiry).
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key evicted by `maxmemory` (mini-kv never evicts).
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands (mini-kv has no streams).
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key (excluded from `A`, as in Redis).
pub const KEY_MISS: u32 = 1 << 11;
/// Redis's module-only "loaded" class (no letter).
pub const LOADED: u32 = 1 << 12;
/// `d`: module key types (mini-kv has no modules).
pub const MODULE: u32 = 1 << 13;
/// `n`: a key was created (excluded from `A`, as in Redis).
pub const NEW: u32 = 1 << 14;
/// `A`: alias for `g$lshzxetd`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses a class string (`keyspaceEventsStringToFlags`): `None` if a character names no
/// class.
pub fn flags_from_str(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in classes {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The class string of `flags` as CONFIG GET shows it (`keyspaceEventsFlagsToString`):
/// `A` when all of its classes are on (and then no `n`, as Redis), then `K`, `E`, `m`.
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Publishes keyspace notifications. See the module documentation.
pub struct Notifier {
    /// The configured classes, or 0 when neither `K` nor `E` is on.
    flags: AtomicU32,
    pubsub: Arc<PubSub>,
    mail: Arc<Blocking>,
}

impl core::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Notifier")
            .field("flags", &self.flags.load(Ordering::Relaxed))
            .finish()
    }
}

impl Notifier {
    /// A notifier publishing through `pubsub` and `mail`, with every class off.
    pub fn new(pubsub: Arc<PubSub>, mail: Arc<Blocking>) -> Self {
        Notifier {
            flags: AtomicU32::new(0),
            pubsub,
            mail,
        }
    }

    /// Takes the configured classes (after every change of the configuration).
    pub fn set_flags(&self, flags: u32) {
        let on = if flags & (KEYSPACE | KEYEVENT) != 0 {
            flags
        } else {
            0
        };
        self.flags.store(on, Ordering::Relaxed);
    }

    /// Publishes event `event` of class `class` on `key` in database `db`, if that class
    /// is on: first on the key's keyspace channel, then on the event's keyevent channel.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8], db: usize) {
        let flags = self.flags.load(Ordering::Relaxed);
        if flags & class != 0 {
            self.publish(flags, event, key, db);
        }
    }

    #[cold]
    fn publish(&self, flags: u32, event: &str, key: &[u8], db: usize) {
        let mut digits = [0u8; 20];
        let db = crate::resp::encode::fmt_i64(i64::try_from(db).unwrap_or(i64::MAX), &mut digits);
        let channel = |prefix: &[u8], tail: &[u8]| {
            let mut c = Vec::with_capacity(prefix.len() + db.len() + 3 + tail.len());
            c.extend_from_slice(prefix);
            c.extend_from_slice(db);
            c.extend_from_slice(b"__:");
            c.extend_from_slice(tail);
            c
        };
        if flags & KEYSPACE != 0 {
            let c = channel(b"__keyspace@", key);
            self.pubsub.publish(&self.mail, false, &c, event.as_bytes());
        }
        if flags & KEYEVENT != 0 {
            let c = channel(b"__keyevent@", event.as_bytes());
            self.pubsub.publish(&self.mail, false, &c, key);
        }
    }
}

impl crate::db::KeyEvents for Notifier {
    fn expired(&self, db: usize, key: &[u8]) {
        self.notify(EXPIRED, "expired", key, db);
    }

    fn created(&self, db: usize, key: &[u8]) {
        self.notify(NEW, "new", key, db);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_strings_round_trip_as_redis_prints_them() {
        // (what CONFIG SET gets, what CONFIG GET shows: checked on redis-server 7.0.15)
        for (set, get) in [
            ("", ""),
            ("KEA", "AKE"),
            ("AKE", "AKE"),
            ("gxE", "gxE"),
            ("gxEm", "gxEm"),
            ("AKEmn", "AKEm"),
            ("Kn", "nK"),
            ("EKm$lshzxetdg", "AKEm"),
            ("g$lshzxetdKE", "AKE"),
            ("g$lshzxetK", "g$lshzxetK"),
            ("mK", "Km"),
            ("KKKK", "K"),
            ("lE", "lE"),
            ("tdn", "tdn"),
        ] {
            let flags = flags_from_str(set.as_bytes()).unwrap();
            assert_eq!(flags_to_string(flags), get, "{set}");
            // The text gives the flags back, but for an `n` hidden behind `A`.
            let lost = if flags & ALL == ALL { NEW } else { 0 };
            assert_eq!(flags_from_str(get.as_bytes()), Some(flags & !lost), "{set}");
        }
        for bad in ["xyz", "k", "a", "KE ", " ", "L", "\0"] {
            assert_eq!(flags_from_str(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(flags_from_str(b"A"), Some(ALL));
        assert_eq!(ALL & (KEY_MISS | NEW | KEYSPACE | KEYEVENT), 0);
    }

    use crate::blocking::Mail;
    use crate::cmd::testing::Harness;
    use crate::pubsub::{Kind, Sub};
    use std::string::{String, ToString};
    use std::vec;

    /// A harness whose engine has a subscriber to `__key*__:*` (client 99 on worker 0),
    /// with `notify-keyspace-events` set to `classes`.
    fn subscribed(classes: &str) -> Harness {
        let mut h = Harness::new();
        h.engine.pubsub.subscribe(
            Kind::Pattern,
            b"__key*__:*",
            Sub {
                client: 99,
                worker: 0,
                token: 7,
            },
        );
        let set = std::format!("CONFIG SET notify-keyspace-events \"{classes}\"");
        assert_eq!(h.s(&set), "+OK\r\n");
        h
    }

    /// The (channel, payload) pairs delivered to the subscriber since the last call.
    fn events(h: &Harness) -> Vec<(String, String)> {
        let mut got = Vec::new();
        for m in h.engine.blocking.take_mail(0) {
            let Mail::Message { bytes, client, .. } = m else {
                panic!("a reply in the mailbox");
            };
            assert_eq!(client, 99);
            // *4 pmessage pattern channel payload: the bulk strings' bodies.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let parts: Vec<&str> = text.split("\r\n").collect();
            assert_eq!(parts[0], "*4", "{text}");
            assert_eq!(parts[2], "pmessage");
            got.push((parts[6].to_string(), parts[8].to_string()));
        }
        got
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect()
    }

    #[test]
    fn commands_publish_keyspace_then_keyevent_in_redis_order() {
        let mut h = subscribed("KEA");
        h.s("SET k v");
        assert_eq!(
            events(&h),
            pairs(&[("__keyspace@0__:k", "set"), ("__keyevent@0__:set", "k")])
        );
        // A list emptied by a pop: the pop's event, then `del`.
        h.s("RPUSH l a");
        h.s("LPOP l");
        assert_eq!(
            events(&h),
            pairs(&[
                ("__keyspace@0__:l", "rpush"),
                ("__keyevent@0__:rpush", "l"),
                ("__keyspace@0__:l", "lpop"),
                ("__keyevent@0__:lpop", "l"),
                ("__keyspace@0__:l", "del"),
                ("__keyevent@0__:del", "l"),
            ])
        );
        // Another database's index is in the channel.
        h.s("SELECT 3");
        h.s("RENAME nosuch x");
        h.s("SET a 1");
        h.s("RENAME a b");
        assert_eq!(
            events(&h),
            pairs(&[
                ("__keyspace@3__:a", "set"),
                ("__keyevent@3__:set", "a"),
                ("__keyspace@3__:a", "rename_from"),
                ("__keyevent@3__:rename_from", "a"),
                ("__keyspace@3__:b", "rename_to"),
                ("__keyevent@3__:rename_to", "b"),
            ])
        );
    }

    #[test]
    fn classes_filter_and_k_or_e_alone() {
        let mut h = subscribed("El");
        h.s("SET k v");
        h.s("LPUSH l a");
        h.s("DEL l");
        assert_eq!(events(&h), pairs(&[("__keyevent@0__:lpush", "l")]));
        let mut h = subscribed("K$");
        h.s("INCR n");
        h.s("GET nosuch");
        assert_eq!(events(&h), pairs(&[("__keyspace@0__:n", "incrby")]));
        // Classes without K or E publish nothing; nor does the default.
        let mut h = subscribed("A");
        h.s("SET k v");
        assert!(events(&h).is_empty());
        let mut h = subscribed("");
        h.s("SET k v");
        h.s("GET nosuch");
        assert!(events(&h).is_empty());
    }

    #[test]
    fn new_keymiss_and_both_kinds_of_expiry() {
        let mut h = subscribed("Exmng");
        h.s("SET k v");
        h.s("SET k w");
        h.s("GET nosuch");
        h.s("GET k");
        assert_eq!(
            events(&h),
            pairs(&[
                ("__keyevent@0__:new", "k"),
                ("__keyevent@0__:keymiss", "nosuch")
            ])
        );
        // Lazy expiry: a read meets the key after its time, then misses.
        h.s("SET t v PX 10");
        h.s("PEXPIRE u 10");
        events(&h);
        h.now.unix.0 += 11;
        h.s("GET t");
        assert_eq!(
            events(&h),
            pairs(&[
                ("__keyevent@0__:expired", "t"),
                ("__keyevent@0__:keymiss", "t")
            ])
        );
        // A write to an expired key: `expired`, then `new`.
        h.s("SET a 1 PX 5");
        events(&h);
        h.now.unix.0 += 6;
        h.s("SET a 2");
        assert_eq!(
            events(&h),
            pairs(&[("__keyevent@0__:expired", "a"), ("__keyevent@0__:new", "a")])
        );
        // Active expiry (the workers' reap) reports too.
        h.s("SET b 1 PX 5");
        events(&h);
        let later = crate::time::UnixMillis(h.now.unix.0 + 6);
        assert_eq!(h.engine.db(0).reap(later, 256, 16), 1);
        assert_eq!(events(&h), pairs(&[("__keyevent@0__:expired", "b")]));
        // Putting back what a lost delivery popped says nothing.
        h.engine.db(0).write_quiet(b"q", h.now.unix, |_| {
            (
                crate::db::Write::Put(crate::db::Item::new(crate::db::Value::str(vec![1]))),
                (),
            )
        });
        assert!(events(&h).is_empty());
    }
}
