//! The registry of connected clients, for CLIENT LIST, CLIENT INFO and CLIENT KILL.
//!
//! Each connection owns an [`Arc<ClientEntry>`] and publishes a small snapshot of itself
//! ([`ClientView`]) into it once per batch of work, under the entry's own lock: the hot
//! path pays one uncontended lock per batch, and CLIENT LIST reads every entry without
//! touching the workers. CLIENT KILL sets an entry's kill flag; the owning worker closes
//! the connection at its next tick or event.

use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::time::Instant;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// The reply to a client over `maxclients` (Redis's text), before the close.
pub const MAX_CLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";
/// What a remote client gets, before the close, while protected mode is on and the
/// default user has no password (Redis 7.0.15's `clientAcceptHandler` text).
pub const DENIED_REPLY: &[u8] = b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to Redis \
you may adopt one of the following solutions: 1) Just disable protected mode sending the \
command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from \
the same host the server is running, however MAKE SURE Redis is not publicly accessible from \
internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you \
can just disable the protected mode by editing the Redis configuration file, and setting the \
protected mode option to 'no', and then restarting the server. 3) If you started the server \
manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an \
authentication password for the default user. NOTE: You only need to do one of the above \
things in order for the server to start accepting connections from the outside.\r\n";

/// Where a client is connected from, as the driver knows it.
#[derive(Clone, Debug, Default)]
pub struct ClientAddr {
    /// The peer address, `ip:port`.
    pub addr: String,
    /// The local address, `ip:port`.
    pub laddr: String,
    /// The socket's file descriptor, or -1.
    pub fd: i64,
}

/// What a connection last published about itself.
#[derive(Clone, Debug, Default)]
pub struct ClientView {
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// Selected database.
    pub db: usize,
    /// Last command, as `name` or `name|sub`.
    pub cmd: (&'static str, &'static str),
    /// Bytes waiting in the input buffer.
    pub qbuf: usize,
    /// Buffer capacity held.
    pub tot_mem: usize,
    /// When the client last sent something.
    pub last_active: Instant,
    /// CLIENT SETINFO lib-name and lib-ver.
    pub lib: (Vec<u8>, Vec<u8>),
    /// Subscriptions: channels, patterns, shard channels.
    pub subs: (usize, usize, usize),
    /// In MULTI: commands queued and their `multi-mem`.
    pub multi: Option<(usize, usize)>,
    /// In MONITOR mode (flag `O`).
    pub monitor: bool,
    /// The ACL user (`None`: default).
    pub user: Option<Vec<u8>>,
}

/// One connected client.
#[derive(Debug)]
pub struct ClientEntry {
    /// Client id.
    pub id: usize,
    /// Addresses.
    pub addr: ClientAddr,
    /// When it connected.
    pub created: Instant,
    view: Mutex<ClientView>,
    kill: AtomicBool,
    /// Unsent output bytes, stored by the worker after each flush (no lock).
    omem: AtomicUsize,
}

impl ClientEntry {
    /// Replaces the published view.
    pub fn publish(&self, f: impl FnOnce(&mut ClientView)) {
        f(&mut self.view.lock());
    }

    /// A copy of the published view.
    pub fn view(&self) -> ClientView {
        self.view.lock().clone()
    }

    /// Records the unsent output after a flush (CLIENT LIST's `omem`).
    pub fn set_omem(&self, n: usize) {
        if self.omem.load(Ordering::Relaxed) != n {
            self.omem.store(n, Ordering::Relaxed);
        }
    }

    /// Unsent output bytes at the last flush.
    pub fn omem(&self) -> usize {
        self.omem.load(Ordering::Relaxed)
    }

    /// Whether CLIENT KILL asked for this client to go.
    pub fn killed(&self) -> bool {
        self.kill.load(Ordering::Relaxed)
    }

    /// Asks for this client to be closed; true the first time.
    pub fn kill(&self) -> bool {
        !self.kill.swap(true, Ordering::AcqRel)
    }
}

/// All connected clients by id.
#[derive(Debug, Default)]
pub struct Registry {
    map: Mutex<BTreeMap<usize, Arc<ClientEntry>>>,
}

impl Registry {
    /// Adds a client.
    pub fn register(&self, id: usize, addr: ClientAddr, created: Instant) -> Arc<ClientEntry> {
        let entry = Arc::new(ClientEntry {
            id,
            addr,
            created,
            view: Mutex::new(ClientView {
                last_active: created,
                ..ClientView::default()
            }),
            kill: AtomicBool::new(false),
            omem: AtomicUsize::new(0),
        });
        self.map.lock().insert(id, Arc::clone(&entry));
        entry
    }

    /// Removes a client.
    pub fn unregister(&self, id: usize) {
        self.map.lock().remove(&id);
    }

    /// Every client, by id.
    pub fn list(&self) -> Vec<Arc<ClientEntry>> {
        // A killed client is gone for everyone (Redis frees it at once); its worker
        // closes the connection at its next turn.
        self.map
            .lock()
            .values()
            .filter(|e| !e.killed())
            .cloned()
            .collect()
    }
}
