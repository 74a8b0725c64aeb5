//! Publish/subscribe across workers: the registry of subscriptions (channels, patterns and
//! shard channels) and the delivery of messages to subscribers on any worker.
//!
//! A subscriber is known by its client id, its worker and its token there ([`Sub`]). Each
//! connection also keeps its own subscriptions in its session ([`ClientSubs`]), which only
//! its worker touches; the registry here maps channels and patterns to subscribers, under
//! one reader-writer lock (PUBLISH reads, (UN)SUBSCRIBE writes).
//!
//! PUBLISH builds each message once (an `Arc<[u8]>` of RESP bytes), groups the receivers by
//! worker and appends one batch to each worker's mailbox (the mailboxes of
//! [`crate::blocking::Blocking`]) under that mailbox's lock, waking the worker if its mailbox was empty. Ordering:
//! a connection's commands run one after the other on one thread, so its second PUBLISH
//! appends to a mailbox after its first one did; mailboxes are FIFO and a worker drains its
//! own in order into each subscriber's output buffer. So every subscriber gets one
//! publisher's messages in publish order, whichever workers the two sit on; within one
//! PUBLISH the channel's message comes before the pattern messages, as in Redis.
//!
//! Lock order: the registry lock, then a mailbox lock; both are leaves with respect to
//! everything else (shard locks may be held around a keyspace notification, never the
//! other way round), so nothing deadlocks.

use crate::blocking::Batches;
use crate::sync::{Arc, AtomicUsize, Ordering, RwLock};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::ops::Range;

/// Most channels (or patterns) one SUBSCRIBE-like command may name is bounded by the
/// request itself (`proto-max-multibulk-len`); what a client may hold in all is bounded by
/// this: 1,048,576 subscriptions of each kind a client.
pub const MAX_SUBSCRIPTIONS: usize = 1 << 20;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE: a channel.
    Channel,
    /// PSUBSCRIBE: a glob-style pattern over channel names.
    Pattern,
    /// SSUBSCRIBE: a shard channel (separate namespace, no patterns).
    Shard,
}

/// One subscriber, where its messages go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sub {
    /// Client id.
    pub client: usize,
    /// The worker that owns the connection.
    pub worker: usize,
    /// The connection's token in that worker.
    pub token: usize,
}

/// A client's own subscriptions (in its session).
#[derive(Clone, Debug, Default)]
pub struct ClientSubs {
    /// Channels (SUBSCRIBE).
    pub channels: BTreeSet<Vec<u8>>,
    /// Patterns (PSUBSCRIBE), in subscription order as Redis keeps them.
    pub patterns: Vec<Vec<u8>>,
    /// Shard channels (SSUBSCRIBE).
    pub shard: BTreeSet<Vec<u8>>,
}

impl ClientSubs {
    /// Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE replies carry.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Every subscription: non-zero puts a RESP2 client in subscriber mode.
    pub fn total(&self) -> usize {
        self.count() + self.shard.len()
    }

    /// Whether the client holds this subscription (a message sent for it is delivered).
    pub fn holds(&self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.contains(name),
            Kind::Pattern => self.patterns.iter().any(|p| p == name),
            Kind::Shard => self.shard.contains(name),
        }
    }
}

#[derive(Default)]
struct Registry {
    channels: BTreeMap<Vec<u8>, Vec<Sub>>,
    patterns: BTreeMap<Vec<u8>, Vec<Sub>>,
    shard: BTreeMap<Vec<u8>, Vec<Sub>>,
}

impl Registry {
    fn map(&mut self, kind: Kind) -> &mut BTreeMap<Vec<u8>, Vec<Sub>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

/// The subscription registry. See the module documentation.
pub struct PubSub {
    /// Subscriptions of all kinds, all clients (PUBLISH with none is one atomic load).
    subs: AtomicUsize,
    reg: RwLock<Registry>,
}

impl core::fmt::Debug for PubSub {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PubSub")
            .field("subs", &self.subs.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub {
            subs: AtomicUsize::new(0),
            reg: RwLock::new(Registry::default()),
        }
    }
}

/// Whether mailed bytes are a push (a pub/sub message: an array), which Redis sends even
/// under CLIENT REPLY OFF, rather than a MONITOR line (a simple string), which it drops.
pub fn is_push(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'*')
}

/// The bytes of a message: `*3 message channel payload` (or `smessage`), or for a pattern
/// `*4 pmessage pattern channel payload`; and where in them the name of the subscription
/// it is sent for is (the pattern, or the channel).
fn message(
    kind: &[u8],
    pattern: Option<&[u8]>,
    channel: &[u8],
    payload: &[u8],
) -> (Arc<[u8]>, Range<usize>) {
    let mut out = Vec::with_capacity(48 + channel.len() + payload.len());
    crate::resp::encode::array(&mut out, if pattern.is_some() { 4 } else { 3 });
    crate::resp::encode::bulk(&mut out, kind);
    let name = pattern.unwrap_or(channel);
    crate::resp::encode::bulk(&mut out, name);
    // The bulk string ends with the name and CRLF.
    let end = out.len() - 2;
    let at = end - name.len()..end;
    if pattern.is_some() {
        crate::resp::encode::bulk(&mut out, channel);
    }
    crate::resp::encode::bulk(&mut out, payload);
    (Arc::from(out), at)
}

impl PubSub {
    /// True when nobody is subscribed to anything.
    pub fn is_empty(&self) -> bool {
        self.subs.load(Ordering::Acquire) == 0
    }

    /// Adds `who` to `name`'s subscribers (the caller checked, in the client's own
    /// [`ClientSubs`], that it was not subscribed yet).
    pub fn subscribe(&self, kind: Kind, name: &[u8], who: Sub) {
        let mut reg = self.reg.write();
        reg.map(kind).entry(name.to_vec()).or_default().push(who);
        self.subs.fetch_add(1, Ordering::AcqRel);
    }

    /// Removes client `client` from `name`'s subscribers (it was subscribed).
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], client: usize) {
        let mut reg = self.reg.write();
        let map = reg.map(kind);
        let empty = match map.get_mut(name) {
            Some(list) => {
                let before = list.len();
                list.retain(|s| s.client != client);
                if list.len() < before {
                    self.subs.fetch_sub(before - list.len(), Ordering::AcqRel);
                }
                list.is_empty()
            }
            None => false,
        };
        if empty {
            map.remove(name);
        }
    }

    /// Removes client `client` from every subscription at once (CLIENT KILL: Redis frees
    /// the client on the spot; its worker closes the connection a moment later, and its
    /// own [`PubSub::forget`] then finds nothing left). O(subscriptions), under the write
    /// lock.
    pub fn purge(&self, client: usize) {
        if self.is_empty() {
            return;
        }
        let mut guard = self.reg.write();
        let reg = &mut *guard;
        let mut removed = 0;
        for map in [&mut reg.channels, &mut reg.patterns, &mut reg.shard] {
            map.retain(|_, list| {
                let before = list.len();
                list.retain(|s| s.client != client);
                removed += before - list.len();
                !list.is_empty()
            });
        }
        if removed > 0 {
            self.subs.fetch_sub(removed, Ordering::AcqRel);
        }
    }

    /// Forgets every subscription of a closing client.
    pub fn forget(&self, subs: &ClientSubs, client: usize) {
        if subs.total() == 0 {
            return;
        }
        for c in &subs.channels {
            self.unsubscribe(Kind::Channel, c, client);
        }
        for p in &subs.patterns {
            self.unsubscribe(Kind::Pattern, p, client);
        }
        for s in &subs.shard {
            self.unsubscribe(Kind::Shard, s, client);
        }
    }

    /// Sends `payload` to the subscribers of `channel` (and, unless `shard`, of the
    /// patterns it matches) on every worker, through `mail`; returns how many receive it
    /// (a client subscribed to the channel and to a matching pattern counts twice).
    pub fn publish(
        &self,
        mail: &crate::blocking::Blocking,
        shard: bool,
        channel: &[u8],
        payload: &[u8],
    ) -> usize {
        if self.is_empty() {
            return 0;
        }
        let reg = self.reg.read();
        let mut batches = Batches::default();
        let mut receivers = 0;
        let mut post = |s: &Sub, (bytes, name): &(Arc<[u8]>, Range<usize>), kind: Kind| {
            batches.add(
                s.worker,
                s.token,
                s.client,
                bytes,
                Some((kind, name.clone())),
            );
            receivers += 1;
        };
        let direct = if shard { &reg.shard } else { &reg.channels };
        if let Some(list) = direct.get(channel) {
            let (what, kind): (&[u8], Kind) = if shard {
                (b"smessage", Kind::Shard)
            } else {
                (b"message", Kind::Channel)
            };
            let m = message(what, None, channel, payload);
            for s in list {
                post(s, &m, kind);
            }
        }
        if !shard {
            for (pattern, list) in &reg.patterns {
                if !crate::glob::matches(pattern, channel, false) {
                    continue;
                }
                let m = message(b"pmessage", Some(pattern), channel, payload);
                for s in list {
                    post(s, &m, Kind::Pattern);
                }
            }
        }
        // Still under the registry's read lock: two PUBLISHes of one connection cannot
        // reorder, and a subscriber that unsubscribes waits for this one to be posted.
        batches.post_all(mail);
        receivers
    }

    /// Every subscription of client `client`: (kind, channel or pattern). O(subscriptions),
    /// under the read lock (ACL SETUSER's check of a user's subscribed clients).
    pub fn client_subscriptions(&self, client: usize) -> Vec<(Kind, Vec<u8>)> {
        let mut found = Vec::new();
        if self.is_empty() {
            return found;
        }
        let reg = self.reg.read();
        for (kind, map) in [
            (Kind::Channel, &reg.channels),
            (Kind::Pattern, &reg.patterns),
            (Kind::Shard, &reg.shard),
        ] {
            for (name, list) in map {
                if list.iter().any(|s| s.client == client) {
                    found.push((kind, name.clone()));
                }
            }
        }
        found
    }

    /// Active channels (shard channels when `shard`) matching `pattern` (all if `None`).
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let reg = self.reg.read();
        let map = if shard { &reg.shard } else { &reg.channels };
        map.keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of `channel` (patterns not counted).
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let reg = self.reg.read();
        let map = if shard { &reg.shard } else { &reg.channels };
        map.get(channel).map_or(0, Vec::len)
    }

    /// (channels, patterns, shard channels) with at least one subscriber (INFO, PUBSUB
    /// NUMPAT).
    pub fn sizes(&self) -> (usize, usize, usize) {
        if self.is_empty() {
            return (0, 0, 0);
        }
        let reg = self.reg.read();
        (reg.channels.len(), reg.patterns.len(), reg.shard.len())
    }
}
