//! Differential tests of the blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP,
//! BZPOPMIN, BZPOPMAX, BZMPOP), CLIENT UNBLOCK and the blocked-client introspection, with
//! several connections per scenario: the same scenario runs against a real `redis-server`
//! (the oracle) and `kv_server`, and every client's replies are compared byte for byte,
//! together with the step after which each reply was read.
//!
//! Scenarios live in `diff_blocking_cases.txt` (its header describes the format): steps over
//! named clients `c1`, `c2`, ... that send commands, read replies (with a timeout), check
//! that nothing arrived, wait until the server reports a number of blocked clients (as
//! Redis's own tests do with `wait_for_blocked_client`), close connections, read fields of
//! CLIENT LIST and INFO. The oracle runs each scenario first; a scenario that does not go
//! through on it (a reply that never comes, a wait that never ends, a reply left unread) is
//! a bug of the scenario and fails as such. Then `kv_server` runs it, stopping at the first
//! event that differs; a failure prints the scenario, step by step, with both transcripts.
//!
//! MONITOR lines carry a time and the client's port, which differ between the servers:
//! `cN?monitor` reads one line of a monitor and writes `+<secs>.<micros> [<db> <ip:port>]`
//! as `+TIME [<db> cK]` (cK: the scenario's client connected from that port; `?` for
//! another), after skipping the lines of the runner's own control connection (its INFO
//! polls, whose number depends on timing).
//!
//! `KV_DIFF_ORACLE_ONLY=1` points the `kv_server` side at a second `redis-server`: a
//! self-test of the runner and the scenarios. `KV_BLOCKING_SCENARIO=substring` runs only
//! the scenarios whose name contains it; `KV_BLOCKING_SHOW=1` prints redis-server's
//! transcript of each (with `--nocapture`).

use crate::support::{self, encode_command, read_reply, Kind, Server};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The scenarios.
const SCENARIOS: &str = include_str!("diff_blocking_cases.txt");

/// How long a read (`cN?`, `cN:`) waits for a reply.
const REPLY_WAIT: Duration = Duration::from_secs(5);
/// How long `wait-blocked` and `wait-clients` wait for the count.
const COUNT_WAIT: Duration = Duration::from_secs(5);
/// How long `wait-blocked` keeps waiting once a client that should block has answered.
const EARLY_GRACE: Duration = Duration::from_millis(300);
/// How long `cN.` listens for a reply that must not come.
const QUIET: Duration = Duration::from_millis(100);

/// The groups of scenarios, each run by its own test below (so that each fails on its own).
const GROUPS: [&str; 8] = [
    "lists",
    "moves",
    "zsets",
    "timeouts",
    "unblock",
    "keyspace",
    "introspection",
    "multi",
];

/// True when the `kv_server` side is a second `redis-server` (self-test of the scenarios).
pub(crate) fn oracle_only() -> bool {
    std::env::var("KV_DIFF_ORACLE_ONLY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Starts the server under test: `kv_server` with 4 workers (connections land on different
/// workers), or a `redis-server` under [`oracle_only`].
pub(crate) fn server_under_test() -> Server {
    if oracle_only() {
        support::server(Kind::Redis)
    } else {
        support::start(Kind::Kv, &["--workers", "4"])
    }
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// `cN: ARGS`: send and read one reply.
    Call(usize, Vec<Vec<u8>>),
    /// `cN~ ARGS`: send and read one reply, an array whose elements are compared in any
    /// order (sorted): PUBSUB CHANNELS lists in the order of Redis's dict.
    CallSorted(usize, Vec<Vec<u8>>),
    /// `cN?~ K`: read K replies, compared in any order (UNSUBSCRIBE without arguments
    /// answers in the order of Redis's dict).
    ReadSorted(usize, usize),
    /// `cN> ARGS`: send only (the reply is read later with `cN?`).
    Send(usize, Vec<Vec<u8>>),
    /// `cN?`: read one reply.
    Read(usize),
    /// `cN?monitor`: read one MONITOR line, normalised (see the module documentation).
    ReadMonitor(usize),
    /// `cN.`: nothing arrives for [`QUIET`].
    Quiet(usize),
    /// `cN close`: close the connection.
    Close(usize),
    /// `cN reconnect`: close it and open a fresh connection in its place (not
    /// authenticated, no CLIENT ID asked).
    Reconnect(usize),
    /// `acllog cN COUNT`: cN's ACL LOG COUNT, each entry's count, reason, context, object
    /// and username, and the `cmd` and `user` of its client-info (age and addresses vary).
    AclLog(usize, String),
    /// `wait-blocked N`: INFO's `blocked_clients` reaches N.
    WaitBlocked(usize),
    /// `wait-clients N`: INFO's `connected_clients` reaches N (the control connection
    /// included).
    WaitClients(usize),
    /// `sleep MS`.
    Sleep(u64),
    /// `clientlist cN FIELD...`: these fields of cN's CLIENT LIST line.
    ClientList(usize, Vec<String>),
    /// `info [SECTION] FIELD`: this field of INFO SECTION (default `clients`).
    Info(String, String),
}

/// A scenario: its `group/name`, its steps with their line numbers and text, and how many
/// clients it uses.
#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    pub(crate) name: String,
    steps: Vec<(usize, String, Step)>,
    clients: usize,
}

impl Scenario {
    fn group(&self) -> &str {
        self.name.split('/').next().unwrap_or("")
    }
}

/// Splits a command line into arguments: blanks separate them, `"..."` quotes one (with
/// `\"`, `\\`, `\r`, `\n`, `\0` and `\xHH` inside), `""` is the empty argument.
fn split_args(s: &str, line: usize) -> Vec<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let mut arg = Vec::new();
        if b[i] == b'"' {
            i += 1;
            loop {
                assert!(i < b.len(), "line {line}: unterminated quote");
                match b[i] {
                    b'"' => {
                        i += 1;
                        break;
                    }
                    b'\\' if i + 1 < b.len() => {
                        match b[i + 1] {
                            b'r' => arg.push(b'\r'),
                            b'n' => arg.push(b'\n'),
                            b'0' => arg.push(0),
                            b'x' if i + 3 < b.len() => {
                                arg.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                                i += 2;
                            }
                            other => arg.push(other),
                        }
                        i += 2;
                    }
                    c => {
                        arg.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                arg.push(b[i]);
                i += 1;
            }
        }
        out.push(arg);
    }
    out
}

/// `cN` -> N - 1.
fn client_index(s: &str, line: usize) -> usize {
    s.strip_prefix('c')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| panic!("line {line}: `{s}` is not a client name (c1, c2, ...)"))
        - 1
}

/// Parses the scenario file.
fn parse(text: &str) -> Vec<Scenario> {
    parse_groups(text, &GROUPS)
}

/// Parses a scenario file whose scenario names start with one of `groups`.
pub(crate) fn parse_groups(text: &str, groups: &[&str]) -> Vec<Scenario> {
    let mut out: Vec<Scenario> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(name) = l.strip_prefix("===") {
            let name = name.trim().to_string();
            assert!(
                name.contains('/') && groups.contains(&name.split('/').next().unwrap()),
                "line {line}: scenario `{name}` must be named GROUP/NAME, GROUP one of {groups:?}"
            );
            assert!(
                out.iter().all(|s| s.name != name),
                "line {line}: scenario `{name}` twice"
            );
            out.push(Scenario {
                name,
                steps: Vec::new(),
                clients: 0,
            });
            continue;
        }
        let sc = out
            .last_mut()
            .unwrap_or_else(|| panic!("line {line}: a step before the first `=== name`"));
        let (head, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let rest = rest.trim();
        let num = |s: &str| -> usize {
            s.parse()
                .unwrap_or_else(|_| panic!("line {line}: `{s}` is not a number"))
        };
        let step = match head {
            "wait-blocked" => Step::WaitBlocked(num(rest)),
            "wait-clients" => Step::WaitClients(num(rest)),
            "sleep" => Step::Sleep(num(rest) as u64),
            "info" => match rest.split_once(char::is_whitespace) {
                Some((section, field)) => Step::Info(section.to_string(), field.trim().to_string()),
                None => Step::Info("clients".to_string(), rest.to_string()),
            },
            "clientlist" => {
                let mut w = rest.split_whitespace();
                let c = client_index(w.next().unwrap_or(""), line);
                let fields: Vec<String> = w.map(str::to_string).collect();
                assert!(!fields.is_empty(), "line {line}: clientlist cN FIELD...");
                Step::ClientList(c, fields)
            }
            _ if head.ends_with(':') => Step::Call(
                client_index(&head[..head.len() - 1], line),
                split_args(rest, line),
            ),
            _ if head.ends_with('~') && !head.ends_with("?~") => Step::CallSorted(
                client_index(&head[..head.len() - 1], line),
                split_args(rest, line),
            ),
            _ if head.ends_with("?~") => {
                Step::ReadSorted(client_index(&head[..head.len() - 2], line), num(rest))
            }
            _ if head.ends_with('>') => Step::Send(
                client_index(&head[..head.len() - 1], line),
                split_args(rest, line),
            ),
            _ if head.ends_with("?monitor") && rest.is_empty() => {
                Step::ReadMonitor(client_index(&head[..head.len() - 8], line))
            }
            _ if head.ends_with('?') && rest.is_empty() => {
                Step::Read(client_index(&head[..head.len() - 1], line))
            }
            _ if head.ends_with('.') && rest.is_empty() => {
                Step::Quiet(client_index(&head[..head.len() - 1], line))
            }
            _ if rest == "close" => Step::Close(client_index(head, line)),
            _ if rest == "reconnect" => Step::Reconnect(client_index(head, line)),
            "acllog" => {
                let (c, count) = rest.split_once(char::is_whitespace).unwrap_or((rest, "10"));
                Step::AclLog(client_index(c, line), count.trim().to_string())
            }
            _ => panic!("line {line}: cannot parse `{l}`"),
        };
        if let Step::Call(_, a) | Step::Send(_, a) | Step::CallSorted(_, a) = &step {
            assert!(!a.is_empty(), "line {line}: a command without arguments");
        }
        let c = match &step {
            Step::Call(c, _)
            | Step::Send(c, _)
            | Step::CallSorted(c, _)
            | Step::ReadSorted(c, _)
            | Step::Read(c)
            | Step::ReadMonitor(c)
            | Step::Quiet(c)
            | Step::Close(c)
            | Step::Reconnect(c)
            | Step::AclLog(c, _)
            | Step::ClientList(c, _) => Some(*c),
            _ => None,
        };
        if let Some(c) = c {
            sc.clients = sc.clients.max(c + 1);
        }
        sc.steps.push((line, l.to_string(), step));
    }
    for sc in &out {
        assert!(!sc.steps.is_empty(), "scenario `{}` has no steps", sc.name);
    }
    out
}

/// An array reply whose last element is an integer (a (un)subscribe ack): the reply
/// without that element, and the element; any other reply as it is.
fn split_count(reply: &[u8]) -> (&[u8], Option<&[u8]>) {
    if reply.first() == Some(&b'*') && reply.ends_with(b"\r\n") {
        let body = &reply[..reply.len() - 2];
        if let Some(at) = body.windows(2).rposition(|w| w == b"\r\n") {
            if reply.get(at + 2) == Some(&b':') {
                return (&reply[..at + 2], Some(&reply[at + 2..]));
            }
        }
    }
    (reply, None)
}

/// An array reply with its elements sorted (by their bytes); any other reply as it is.
fn sorted_array(reply: &[u8]) -> Vec<u8> {
    if reply.first() != Some(&b'*') {
        return reply.to_vec();
    }
    let Some(eol) = reply.windows(2).position(|w| w == b"\r\n") else {
        return reply.to_vec();
    };
    let mut rest = &reply[eol + 2..];
    let mut items = Vec::new();
    while !rest.is_empty() {
        match read_reply(&mut rest) {
            Ok(item) => items.push(item),
            Err(_) => return reply.to_vec(),
        }
    }
    items.sort();
    let mut out = reply[..eol + 2].to_vec();
    for i in items {
        out.extend_from_slice(&i);
    }
    out
}

/// Shows reply bytes readably (`\r\n` written out).
fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// One connection of a scenario (and of the stress tests).
pub(crate) struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
    pub(crate) id: i64,
    /// The address the server sees it at (`ip:port`).
    addr: String,
    /// MONITOR lines of the connection at this address are skipped (the runner's control
    /// connection): what this connection reads next is the next other reply or line.
    skip_from: Option<String>,
    /// Commands sent whose replies were not read yet.
    pending: usize,
    open: bool,
}

impl Conn {
    /// A connection that sends nothing first (its id stays 0).
    pub(crate) fn connect_raw(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(REPLY_WAIT)).unwrap();
        Conn {
            r: BufReader::new(s.try_clone().unwrap()),
            addr: s.local_addr().unwrap().to_string(),
            skip_from: None,
            w: s,
            id: 0,
            pending: 0,
            open: true,
        }
    }

    pub(crate) fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(REPLY_WAIT)).unwrap();
        let mut c = Conn {
            r: BufReader::new(s.try_clone().unwrap()),
            addr: s.local_addr().unwrap().to_string(),
            skip_from: None,
            w: s,
            id: 0,
            pending: 0,
            open: true,
        };
        let id = c.call(&[b"CLIENT".to_vec(), b"ID".to_vec()]);
        c.id = std::str::from_utf8(&id)
            .ok()
            .and_then(|s| s.strip_prefix(':'))
            .and_then(|s| s.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("CLIENT ID answered {}", show(&id)));
        c
    }

    /// The address the server sees this connection at (`ip:port`).
    pub(crate) fn local_addr(&self) -> String {
        self.addr.clone()
    }

    pub(crate) fn send(&mut self, args: &[Vec<u8>]) {
        self.w.write_all(&encode_command(args)).expect("send");
        self.pending += 1;
    }

    /// One reply, or an error (timeout, closed connection).
    pub(crate) fn read(&mut self, wait: Duration) -> std::io::Result<Vec<u8>> {
        self.w.set_read_timeout(Some(wait)).unwrap();
        loop {
            let r = read_reply(&mut self.r)?;
            if self
                .skip_from
                .as_ref()
                .is_some_and(|a| monitor_line_of(&r, a))
            {
                continue;
            }
            self.pending = self.pending.saturating_sub(1);
            return Ok(r);
        }
    }

    pub(crate) fn call(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.send(args);
        self.read(REPLY_WAIT).expect("a reply")
    }

    /// True when bytes are ready to read now (within `wait`).
    /// Skipped MONITOR lines (see `skip_from`) that are already here are consumed.
    pub(crate) fn readable(&mut self, wait: Duration) -> bool {
        loop {
            if self.r.buffer().is_empty() {
                self.w
                    .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                    .unwrap();
                match self.r.fill_buf() {
                    Ok([]) => return false, // EOF, reported by a read
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            let buf = self.r.buffer();
            let skip = self.skip_from.as_ref().and_then(|a| {
                let end = buf.windows(2).position(|w| w == b"\r\n")? + 2;
                monitor_line_of(&buf[..end], a).then_some(end)
            });
            match skip {
                Some(n) => self.r.consume(n),
                None => return true,
            }
        }
    }
}

/// An ACL LOG reply without what varies between servers: per entry, its fields but
/// `age-seconds`, and of `client-info` only `cmd=` and `user=`.
fn acl_log_summary(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with('$') && i + 1 < lines.len() {
            out.push(lines[i + 1].to_string());
            i += 2;
        } else {
            if !l.is_empty() {
                out.push(l.to_string());
            }
            i += 1;
        }
    }
    let mut kept = Vec::new();
    let mut j = 0;
    while j < out.len() {
        match out[j].as_str() {
            "age-seconds" => j += 2,
            "client-info" => {
                let info = out.get(j + 1).cloned().unwrap_or_default();
                let pick: Vec<&str> = info
                    .split(' ')
                    .filter(|kv| kv.starts_with("cmd=") || kv.starts_with("user="))
                    .collect();
                kept.push(format!("client-info[{}]", pick.join(" ")));
                j += 2;
            }
            other => {
                kept.push(other.to_string());
                j += 1;
            }
        }
    }
    kept.join(" ")
}

/// The INFO clients field `field` over `ctl`.
fn info_field(ctl: &mut Conn, field: &str) -> Option<String> {
    info_section_field(ctl, "clients", field)
}

/// The field `field` of INFO `section` over `ctl`.
fn info_section_field(ctl: &mut Conn, section: &str, field: &str) -> Option<String> {
    let info = ctl.call(&[b"INFO".to_vec(), section.as_bytes().to_vec()]);
    let text = String::from_utf8_lossy(&info).into_owned();
    let want = format!("{field}:");
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(want.as_str()))
        .map(str::to_string)
}

/// A MONITOR line with its time and address normalised: `+TIME [<db> cK]` (see the
/// module documentation); anything else as it is.
fn monitor_line(line: &[u8], conns: &[Conn]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let norm = (|| {
        let rest = text.strip_prefix('+')?;
        let (time, rest) = rest.split_once(' ')?;
        let (secs, micros) = time.split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(secs) || !digits(micros) || micros.len() != 6 {
            return None;
        }
        let (db, rest) = rest.strip_prefix('[')?.split_once(' ')?;
        let (addr, rest) = rest.split_once("] ")?;
        let who = conns
            .iter()
            .position(|c| c.addr == addr)
            .map_or("?".to_string(), |i| format!("c{}", i + 1));
        Some(format!("+TIME [{db} {who}] {rest}"))
    })();
    norm.map_or_else(|| line.to_vec(), String::into_bytes)
}

/// True if `line` is a MONITOR line of the connection at `addr`.
fn monitor_line_of(line: &[u8], addr: &str) -> bool {
    let text = String::from_utf8_lossy(line);
    text.starts_with('+') && text.contains(&format!(" {addr}] "))
}

/// Substitutes `$id(cN)` in an argument with that client's id on this server.
fn substitute(arg: &[u8], conns: &[Conn]) -> Vec<u8> {
    let s = String::from_utf8_lossy(arg);
    if !s.contains("$id(") {
        return arg.to_vec();
    }
    let mut out = s.into_owned();
    for (i, c) in conns.iter().enumerate() {
        out = out.replace(&format!("$id(c{})", i + 1), &c.id.to_string());
    }
    assert!(!out.contains("$id("), "unknown client in `{out}`");
    out.into_bytes()
}

/// What one step observed; `anomaly` when something did not happen that a scenario
/// expects (a reply that never came, a count never reached, a reply left unread): on the
/// oracle that is a bug of the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    step: usize,
    text: String,
    anomaly: bool,
}

/// One server of a comparison, with its control connection.
struct Side {
    name: &'static str,
    port: u16,
    ctl: Conn,
    _server: Server,
    /// Before each scenario, put users, `requirepass` and the ACL LOG back as a fresh
    /// server has them (the ACL scenarios).
    acl_reset: bool,
}

impl Side {
    fn new(name: &'static str, server: Server) -> Side {
        let port = server.port();
        Side {
            name,
            port,
            ctl: Conn::connect(port),
            _server: server,
            acl_reset: false,
        }
    }

    /// Waits until INFO clients `field` is `n`; the last value if it never is. Gives up
    /// early (after [`EARLY_GRACE`]) once a client of `conns` with a command in flight has
    /// a reply ready: a command that should have blocked answered instead.
    fn wait_count(&mut self, field: &str, n: usize, conns: &mut [Conn]) -> Result<(), String> {
        let deadline = Instant::now() + COUNT_WAIT;
        let mut grace: Option<Instant> = None;
        loop {
            let v = info_field(&mut self.ctl, field);
            if v.as_deref() == Some(n.to_string().as_str()) {
                return Ok(());
            }
            let now = Instant::now();
            if grace.is_none()
                && conns
                    .iter_mut()
                    .any(|c| c.open && c.pending > 0 && c.readable(Duration::ZERO))
            {
                grace = Some(now + EARLY_GRACE);
            }
            if now > deadline || grace.is_some_and(|g| now > g) {
                return Err(v.unwrap_or_else(|| "(missing)".into()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Back to a fresh server's users: the default one alone and unrestricted, no
    /// `requirepass`, an empty ACL LOG (the control connection was authenticated when it
    /// connected, so it may run these whatever the last scenario left).
    fn reset_acl(&mut self) {
        let call = |ctl: &mut Conn, args: &[&str]| {
            ctl.call(
                &args
                    .iter()
                    .map(|a| a.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            )
        };
        call(
            &mut self.ctl,
            &[
                "ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all",
            ],
        );
        let users = call(&mut self.ctl, &["ACL", "USERS"]);
        for u in String::from_utf8_lossy(&users).split("\r\n") {
            if !u.is_empty() && !u.starts_with(['*', '$']) && u != "default" {
                call(&mut self.ctl, &["ACL", "DELUSER", u]);
            }
        }
        call(&mut self.ctl, &["CONFIG", "SET", "requirepass", ""]);
        call(
            &mut self.ctl,
            &["CONFIG", "SET", "acl-pubsub-default", "resetchannels"],
        );
        call(&mut self.ctl, &["CONFIG", "SET", "acllog-max-len", "128"]);
        call(&mut self.ctl, &["ACL", "LOG", "RESET"]);
    }

    /// Runs `sc`; with `expect` (the oracle's events), stops at the first event that
    /// differs.
    fn run(&mut self, sc: &Scenario, expect: Option<&[Event]>) -> Vec<Event> {
        if self.acl_reset {
            self.reset_acl();
        }
        // A clean slate: no data, and the previous scenario's connections gone.
        assert_eq!(
            self.ctl.call(&[b"FLUSHALL".to_vec()]),
            b"+OK\r\n",
            "{}: FLUSHALL",
            self.name
        );
        for (field, n) in [("connected_clients", 1), ("blocked_clients", 0)] {
            if let Err(v) = self.wait_count(field, n, &mut []) {
                panic!(
                    "{}: before `{}`, {field} stays {v}, not {n}",
                    self.name, sc.name
                );
            }
        }
        let mut conns: Vec<Conn> = (0..sc.clients).map(|_| Conn::connect(self.port)).collect();
        for c in &mut conns {
            c.skip_from = Some(self.ctl.addr.clone());
        }
        let mut events: Vec<Event> = Vec::new();
        let differs = |events: &Vec<Event>| -> bool {
            let Some(exp) = expect else { return false };
            let i = events.len() - 1;
            exp.get(i) != Some(&events[i])
        };
        for (si, (_, _, step)) in sc.steps.iter().enumerate() {
            let start = events.len();
            let mut ev = |text: String, anomaly: bool| {
                events.push(Event {
                    step: si,
                    text,
                    anomaly,
                })
            };
            match step {
                Step::CallSorted(c, args) => {
                    let args: Vec<Vec<u8>> = args.iter().map(|a| substitute(a, &conns)).collect();
                    let conn = &mut conns[*c];
                    assert!(conn.open, "line of `{}`: c{} is closed", sc.name, c + 1);
                    conn.send(&args);
                    match conn.read(REPLY_WAIT) {
                        Ok(r) => ev(
                            format!("c{} <- (sorted) {}", c + 1, show(&sorted_array(&r))),
                            false,
                        ),
                        Err(e) => ev(format!("c{}: no reply ({e})", c + 1), true),
                    }
                }
                Step::ReadSorted(c, k) => {
                    let mut got = Vec::new();
                    let mut counts = Vec::new();
                    let mut err = None;
                    for _ in 0..*k {
                        match conns[*c].read(REPLY_WAIT) {
                            Ok(r) => {
                                // An ack's count (its last element) depends on how many came
                                // before it: compared in reply order, the rest in any order.
                                let (body, count) = split_count(&r);
                                got.push(show(body));
                                counts.extend(count.map(show));
                            }
                            Err(e) => {
                                err = Some(e);
                                break;
                            }
                        }
                    }
                    got.sort();
                    if !counts.is_empty() {
                        got.push(format!("(counts in order: {})", counts.join(" ")));
                    }
                    match err {
                        None => ev(
                            format!("c{} <- {k} in any order: {}", c + 1, got.join(" ")),
                            false,
                        ),
                        Some(e) => ev(
                            format!(
                                "c{}: {} of {k} replies ({e}): {}",
                                c + 1,
                                got.len(),
                                got.join(" ")
                            ),
                            true,
                        ),
                    }
                }
                Step::Call(c, args) | Step::Send(c, args) => {
                    let args: Vec<Vec<u8>> = args.iter().map(|a| substitute(a, &conns)).collect();
                    let conn = &mut conns[*c];
                    assert!(conn.open, "line of `{}`: c{} is closed", sc.name, c + 1);
                    conn.send(&args);
                    if let Step::Call(..) = step {
                        match conn.read(REPLY_WAIT) {
                            Ok(r) => ev(format!("c{} <- {}", c + 1, show(&r)), false),
                            Err(e) => ev(format!("c{}: no reply ({e})", c + 1), true),
                        }
                    }
                }
                Step::Read(c) => match conns[*c].read(REPLY_WAIT) {
                    Ok(r) => ev(format!("c{} <- {}", c + 1, show(&r)), false),
                    Err(e) => ev(format!("c{}: no reply ({e})", c + 1), true),
                },
                Step::ReadMonitor(c) => {
                    let pending = conns[*c].pending; // a line is not a reply
                    let got = conns[*c].read(REPLY_WAIT);
                    conns[*c].pending = pending;
                    match got {
                        Ok(r) => ev(
                            format!("c{} <- {}", c + 1, show(&monitor_line(&r, &conns))),
                            false,
                        ),
                        Err(e) => ev(format!("c{}: no line ({e})", c + 1), true),
                    }
                }
                Step::Quiet(c) => {
                    if conns[*c].readable(QUIET) {
                        match conns[*c].read(REPLY_WAIT) {
                            Ok(r) => ev(format!("c{} <- {} (unexpected)", c + 1, show(&r)), false),
                            Err(e) => ev(format!("c{}: connection {e}", c + 1), false),
                        }
                    } else {
                        ev(format!("c{}: nothing", c + 1), false);
                    }
                }
                Step::Close(c) => {
                    let _ = conns[*c].w.shutdown(std::net::Shutdown::Both);
                    conns[*c].open = false;
                }
                Step::Reconnect(c) => {
                    let _ = conns[*c].w.shutdown(std::net::Shutdown::Both);
                    conns[*c] = Conn::connect_raw(self.port);
                    conns[*c].skip_from = Some(self.ctl.addr.clone());
                }
                Step::AclLog(c, count) => {
                    let conn = &mut conns[*c];
                    conn.send(&[b"ACL".to_vec(), b"LOG".to_vec(), count.as_bytes().to_vec()]);
                    match conn.read(REPLY_WAIT) {
                        Ok(r) => ev(format!("c{} <- log {}", c + 1, acl_log_summary(&r)), false),
                        Err(e) => ev(format!("c{}: no reply ({e})", c + 1), true),
                    }
                }
                Step::WaitBlocked(n) | Step::WaitClients(n) => {
                    let field = if let Step::WaitBlocked(_) = step {
                        "blocked_clients"
                    } else {
                        "connected_clients"
                    };
                    match self.wait_count(field, *n, &mut conns) {
                        Ok(()) => ev(format!("{field}:{n}"), false),
                        Err(v) => {
                            // Say which clients answered instead of blocking.
                            let mut early = String::new();
                            for (i, c) in conns.iter_mut().enumerate() {
                                if c.open && c.pending > 0 && c.readable(Duration::ZERO) {
                                    if let Ok(r) = c.read(REPLY_WAIT) {
                                        early += &format!("; c{} answered {}", i + 1, show(&r));
                                    }
                                }
                            }
                            ev(format!("{field} stays {v}, not {n}{early}"), true)
                        }
                    }
                }
                Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
                Step::ClientList(c, fields) => {
                    let list = self.ctl.call(&[b"CLIENT".to_vec(), b"LIST".to_vec()]);
                    let list = String::from_utf8_lossy(&list).into_owned();
                    let id = format!("id={} ", conns[*c].id);
                    let text = match list.split('\n').find(|l| l.starts_with(&id)) {
                        Some(l) => fields
                            .iter()
                            .map(|f| {
                                let want = format!("{f}=");
                                l.split(' ')
                                    .find(|kv| kv.starts_with(&want))
                                    .unwrap_or("(missing)")
                                    .trim_end()
                                    .to_string()
                            })
                            .collect::<Vec<_>>()
                            .join(" "),
                        None => "(not listed)".into(),
                    };
                    ev(format!("c{}: {text}", c + 1), false)
                }
                Step::Info(section, field) => {
                    let v = info_section_field(&mut self.ctl, section, field)
                        .unwrap_or_else(|| "(missing)".into());
                    ev(format!("{field}:{v}"), false)
                }
            }
            if events.len() > start && differs(&events) {
                return events;
            }
        }
        // Nothing may be left unread: a reply the scenario does not read is not compared.
        std::thread::sleep(Duration::from_millis(20));
        for (i, c) in conns.iter_mut().enumerate() {
            if c.open && c.readable(Duration::ZERO) {
                let text = match c.read(REPLY_WAIT) {
                    Ok(r) => format!("c{} <- {} (left unread)", i + 1, show(&r)),
                    Err(e) => format!("c{}: {e} (left unread)", i + 1),
                };
                events.push(Event {
                    step: sc.steps.len(),
                    text,
                    anomaly: true,
                });
                if differs(&events) {
                    return events;
                }
            }
        }
        events
    }
}

/// Prints a scenario with both transcripts, marking the first difference.
fn report(sc: &Scenario, oracle: &[Event], other: &[Event], other_name: &str) -> String {
    let first = oracle
        .iter()
        .zip(other)
        .position(|(a, b)| a != b)
        .unwrap_or(oracle.len().min(other.len()));
    let mut s = format!("scenario `{}`:\n", sc.name);
    for (si, (line, text, _)) in sc.steps.iter().enumerate().chain(std::iter::once((
        sc.steps.len(),
        &(0, "(end of scenario)".to_string(), Step::Sleep(0)),
    ))) {
        s += &format!(
            "  {:>4} | {text}\n",
            if *line > 0 {
                line.to_string()
            } else {
                String::new()
            }
        );
        let a: Vec<(usize, &Event)> = oracle
            .iter()
            .enumerate()
            .filter(|(_, e)| e.step == si)
            .collect();
        let b: Vec<(usize, &Event)> = other
            .iter()
            .enumerate()
            .filter(|(_, e)| e.step == si)
            .collect();
        for k in 0..a.len().max(b.len()) {
            let mark = |x: Option<&(usize, &Event)>| x.is_some_and(|(i, _)| *i == first);
            let flag = if mark(a.get(k)) || mark(b.get(k)) {
                ">>"
            } else {
                "  "
            };
            let ta = a.get(k).map_or("(nothing)", |(_, e)| e.text.as_str());
            let tb = b.get(k).map_or("(not reached)", |(_, e)| e.text.as_str());
            if ta == tb {
                s += &format!("  {flag}     both:          {ta}\n");
            } else {
                s += &format!(
                    "  {flag}     redis-server:  {ta}\n  {flag}     {other_name:<14} {tb}\n"
                );
            }
        }
    }
    s
}

/// Runs every scenario of `group` on redis-server and on the server under test.
fn run_group(group: &str) {
    run_scenarios(SCENARIOS, &GROUPS, group);
}

/// Runs every scenario of `group` in the scenario file `text` (groups `groups`) on
/// redis-server and on the server under test; other files of scenarios (pub/sub,
/// notifications) use this runner too.
pub(crate) fn run_scenarios(text: &str, groups: &[&str], group: &str) {
    run_scenarios_with(text, groups, group, false);
}

/// As [`run_scenarios`]; with `acl_reset`, each scenario starts from a fresh server's
/// users (see `Side::reset_acl`).
pub(crate) fn run_scenarios_with(text: &str, groups: &[&str], group: &str, acl_reset: bool) {
    let only = std::env::var("KV_BLOCKING_SCENARIO").unwrap_or_default();
    let all = parse_groups(text, groups);
    let scenarios: Vec<&Scenario> = all
        .iter()
        .filter(|s| s.group() == group && s.name.contains(only.as_str()))
        .collect();
    if only.is_empty() {
        assert!(!scenarios.is_empty(), "no scenario in group {group}");
    }
    let other_name = if oracle_only() {
        "redis-server 2"
    } else {
        "kv_server"
    };
    let mut oracle = Side::new("redis-server", support::server(Kind::Redis));
    let mut other = Side::new(other_name, server_under_test());
    oracle.acl_reset = acl_reset;
    other.acl_reset = acl_reset;
    let mut failures = Vec::new();
    for sc in &scenarios {
        let ra = oracle.run(sc, None);
        if ra.iter().any(|e| e.anomaly) {
            panic!(
                "scenario bug: `{}` does not go through on redis-server:\n{}",
                sc.name,
                report(sc, &ra, &ra, "redis-server")
            );
        }
        if std::env::var_os("KV_BLOCKING_SHOW").is_some() {
            eprintln!("{}", report(sc, &ra, &ra, "redis-server"));
        }
        let rb = other.run(sc, Some(&ra));
        if ra != rb {
            failures.push(report(sc, &ra, &rb, &format!("{other_name}:")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} `{group}` scenarios differ from redis-server:\n\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}

#[test]
fn scenario_file_parses_and_every_group_has_a_test() {
    let all = parse(SCENARIOS);
    assert!(all.len() >= 40, "{} scenarios", all.len());
    for g in GROUPS {
        assert!(all.iter().any(|s| s.group() == g), "group {g} is empty");
    }
    // Every blocking command appears in some scenario.
    for cmd in [
        "BLPOP",
        "BRPOP",
        "BLMOVE",
        "BRPOPLPUSH",
        "BLMPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BZMPOP",
    ] {
        assert!(
            all.iter()
                .flat_map(|s| &s.steps)
                .any(|(_, _, st)| matches!(st,
                Step::Send(_, a) | Step::Call(_, a) if a[0].eq_ignore_ascii_case(cmd.as_bytes()))),
            "no scenario uses {cmd}"
        );
    }
}

#[test]
fn blocking_list_pops_match_redis() {
    run_group("lists");
}

#[test]
fn blocking_moves_match_redis() {
    run_group("moves");
}

#[test]
fn blocking_sorted_set_pops_match_redis() {
    run_group("zsets");
}

#[test]
fn blocking_timeouts_and_errors_match_redis() {
    run_group("timeouts");
}

#[test]
fn client_unblock_matches_redis() {
    run_group("unblock");
}

#[test]
fn keyspace_changes_wake_blocked_clients_as_redis() {
    run_group("keyspace");
}

#[test]
fn blocked_clients_in_info_and_client_list_match_redis() {
    run_group("introspection");
}

/// MULTI/EXEC with blocked clients, and WATCH broken (or not) by other clients.
#[test]
fn blocking_and_transactions_match_redis() {
    run_group("multi");
}
