//! MONITOR: the registry of monitoring clients and the lines they receive, one per command
//! executed by any client on any worker.
//!
//! A monitor is known by its client id, its worker and its token there (a
//! [`crate::pubsub::Sub`]). After a command runs, the dispatcher formats its line once
//! ([`line`], Redis's `replicationFeedMonitors`: `+<seconds>.<micros> [<db> <ip:port>]`
//! and the arguments quoted as `sdscatrepr` quotes them) and posts it as one shared
//! `Arc<[u8]>` to each monitor's worker mailbox (the mailboxes of
//! [`crate::blocking::Blocking`]), whose worker appends it to the monitor's output through
//! `Conn::push_message`, so `client-output-buffer-limit` (normal class) bounds it.
//!
//! The number of monitors is an atomic read with one relaxed load after every command, so
//! a server that nobody monitors pays nothing more. Ordering: one client's commands run one
//! after the other on one thread and mailboxes are FIFO, so every monitor sees a client's
//! commands in execution order. Lock order: the registry lock, then a mailbox lock (a
//! leaf), as in `crate::pubsub`.

use crate::blocking::{Batches, Blocking};
use crate::pubsub::Sub;
use crate::resp::Args;
use crate::sync::{Arc, AtomicUsize, Ordering, RwLock};
use alloc::vec::Vec;

/// The monitoring clients. See the module documentation.
pub struct Monitors {
    /// Number of monitors (the no-monitor path is this one load).
    count: AtomicUsize,
    list: RwLock<Vec<Sub>>,
}

impl core::fmt::Debug for Monitors {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Monitors")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Monitors {
    fn default() -> Self {
        Monitors {
            count: AtomicUsize::new(0),
            list: RwLock::new(Vec::new()),
        }
    }
}

impl Monitors {
    /// True when nobody monitors (one relaxed load).
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Relaxed) == 0
    }

    /// Number of monitors.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Adds a monitor (the caller checked that it was not one already).
    pub fn add(&self, who: Sub) {
        let mut list = self.list.write();
        list.push(who);
        self.count.store(list.len(), Ordering::Release);
    }

    /// Removes client `client` from the monitors; true if it was one (RESET, disconnect).
    pub fn remove(&self, client: usize) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut list = self.list.write();
        let before = list.len();
        list.retain(|s| s.client != client);
        self.count.store(list.len(), Ordering::Release);
        list.len() < before
    }

    /// Whether client `client` is a monitor (CLIENT LIST's `O` flag).
    pub fn contains(&self, client: usize) -> bool {
        !self.is_empty() && self.list.read().iter().any(|s| s.client == client)
    }

    /// Sends `line` to every monitor, each through its worker's mailbox.
    pub fn feed(&self, mail: &Blocking, line: Vec<u8>) {
        let list = self.list.read();
        if list.is_empty() {
            return;
        }
        let bytes: Arc<[u8]> = Arc::from(line);
        let mut batches = Batches::default();
        for s in list.iter() {
            batches.add(s.worker, s.token, s.client, &bytes, None);
        }
        // Still under the registry's read lock: a monitor that leaves waits for this line
        // to be posted, and two lines of one client cannot reorder.
        batches.post_all(mail);
    }
}

/// The line monitors receive for a command: `+<seconds>.<6-digit micros> [<db> <addr>]`
/// and each argument quoted ([`repr`]), separated by spaces, then CRLF.
pub fn line(unix_micros: i64, db: usize, addr: &str, args: &Args<'_>) -> Vec<u8> {
    use core::fmt::Write;
    let mut out =
        Vec::with_capacity(48 + addr.len() + args.iter().map(|a| a.len() + 3).sum::<usize>());
    let secs = unix_micros.div_euclid(1_000_000);
    let micros = unix_micros.rem_euclid(1_000_000);
    let _ = write!(
        crate::resp::encode::FmtOut(&mut out),
        "+{secs}.{micros:06} [{db} {addr}] "
    );
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        repr(&mut out, a);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Appends `s` in double quotes, escaped as Redis's `sdscatrepr`: `\\`, `\"`, `\n`, `\r`,
/// `\t`, `\a`, `\b`, printable ASCII as is and every other byte as `\xhh`.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                let lo = HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0');
                out.extend_from_slice(&[b'\\', b'x', hi, lo]);
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_escapes_as_sdscatrepr() {
        let mut out = Vec::new();
        repr(&mut out, b"a\"b\\c\nd\re\tf\x07g\x08h\x00\x7f\xe9 ~");
        assert_eq!(
            out,
            b"\"a\\\"b\\\\c\\nd\\re\\tf\\ag\\bh\\x00\\x7f\\xe9 ~\"".to_vec()
        );
    }

    #[test]
    fn line_format() {
        let src = b"SETk\x01";
        let ranges = [(0, 3), (3, 4), (4, 5)];
        let args = Args::new(src, &ranges);
        let l = line(1_700_000_000_000_042, 3, "127.0.0.1:5000", &args);
        assert_eq!(
            std::str::from_utf8(&l).unwrap(),
            "+1700000000.000042 [3 127.0.0.1:5000] \"SET\" \"k\" \"\\x01\"\r\n"
        );
    }

    #[test]
    fn registry_adds_removes_and_feeds_each_worker() {
        let m = Monitors::default();
        let mail = Blocking::new(2);
        assert!(m.is_empty());
        m.add(Sub {
            client: 7,
            worker: 1,
            token: 3,
        });
        m.add(Sub {
            client: 8,
            worker: 0,
            token: 4,
        });
        assert!(m.contains(7) && m.contains(8) && !m.contains(9));
        m.feed(&mail, b"+x\r\n".to_vec());
        let got = mail.take_mail(1);
        assert!(
            matches!(got.as_slice(), [crate::blocking::Mail::Message { token: 3, client: 7, bytes, .. }] if &bytes[..] == b"+x\r\n")
        );
        assert_eq!(mail.take_mail(0).len(), 1);
        assert!(m.remove(7));
        assert!(!m.remove(7));
        assert_eq!(m.len(), 1);
        m.feed(&mail, b"+y\r\n".to_vec());
        assert!(mail.take_mail(1).is_empty());
        assert_eq!(mail.take_mail(0).len(), 1);
    }
}
