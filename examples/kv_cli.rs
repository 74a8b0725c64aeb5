//! `kv-cli`: a small command-line client for mini-kv (or any Redis server), built on
//! kv-core's RESP command encoder and reply parser. It prints replies byte for byte as
//! `redis-cli` 7.0 does.
//!
//! ```text
//! kv-cli [-h host] [-p port] [-n db] [--raw | --no-raw] [cmd [arg ...]]
//! ```
//!
//! With a command, it sends that one command and prints the reply. Without one, it reads
//! command lines from standard input, one per line, split as `redis-cli` (and an inline
//! request) splits them (`"..."` with `\xHH` escapes, `'...'`), and prints each reply, as
//! `redis-cli` does with a non-terminal standard input: empty lines are skipped, a line with
//! unbalanced quotes prints `Invalid argument(s)`, `quit` or `exit` ends, and `N cmd ...`
//! sends `cmd` N times; in the human format, a line that took 0.5 s or more is followed by
//! its time, `(0.52s)`.
//!
//! Output formats, as `redis-cli` chooses them: when standard output is a terminal (or the
//! `FAKETTY` variable is set), the human format (`"quoted"` strings, `(integer) 1`,
//! `(nil)`, numbered and indented arrays, `(error) ...`); otherwise the raw format (strings
//! as they are, integers as digits, errors without a prefix, array elements one per line,
//! nil as an empty line). `--no-raw` forces the human format, `--raw` the raw one.
//!
//! Exit status: 0 once the commands ran (error replies included, as `redis-cli` without
//! `-e`), 1 when the server cannot be reached (in both modes; `redis-cli` keeps reading
//! standard input then), closes the connection or sends a reply that is not RESP2.
//!
//! After SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE or MONITOR it keeps printing what the server
//! pushes, as `redis-cli` does (in the human format after a `Reading messages...` line).
//!
//! Not supported (sent to the server as any command, or left out): `redis-cli`'s own
//! `HELP`, `CONNECT` and `:`-preferences, reconnecting after the connection is lost,
//! authentication, TLS, RESP3.

use kv_core::{encode_command, split_line, Reply, ReplyParser};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

/// The longest command line read from standard input (bytes, newline included): the
/// longest bulk string a server accepts plus room for the command around it.
const MAX_INPUT_LINE: u64 = 512 * 1024 * 1024 + 64 * 1024;
/// How many bytes one read from the server asks for.
const READ_CHUNK: usize = 64 * 1024;

/// How replies are printed (`redis-cli`'s `OUTPUT_STANDARD` and `OUTPUT_RAW`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The human format, `redis-cli`'s default on a terminal.
    Tty,
    /// The raw format, `redis-cli`'s default when its output is not a terminal.
    Raw,
}

/// One connection: the socket, the bytes read but not parsed yet, and the parser.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    parser: ReplyParser,
}

impl Conn {
    /// Sends one command and reads its reply.
    fn call(&mut self, args: &[Vec<u8>]) -> Result<Reply, String> {
        self.send(args)?;
        self.read_reply()
    }

    /// Sends one command.
    fn send(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .map_err(|e| format!("Error: {}", os_text(&e)))
    }

    /// Reads one reply.
    fn read_reply(&mut self) -> Result<Reply, String> {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            // The parser's limits (line length, bulk length, nesting) bound what is buffered
            // for one reply.
            match self.parser.parse(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("Error: {e}")),
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("Error: {}", os_text(&e)))?;
            if n == 0 {
                return Err("Error: Server closed the connection".into());
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }
}

/// An I/O error as C's `strerror` words it (without Rust's ` (os error N)` suffix).
fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Appends `s` quoted as Redis's `sdscatrepr`: `"..."` with `\\ \" \n \r \t \a \b` escapes,
/// printable ASCII as it is and every other byte as `\xHH`.
fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// The bytes of `s` up to its first NUL: `redis-cli` prints statuses and errors with `%s`.
fn c_str(s: &[u8]) -> &[u8] {
    s.split(|&b| b == 0).next().unwrap_or(s)
}

/// `redis-cli`'s `cliFormatReplyTTY`: the human format, arrays numbered and indented by
/// `prefix`.
fn format_tty(out: &mut Vec<u8>, r: &Reply, prefix: &[u8]) {
    match r {
        Reply::Error(e) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(c_str(e));
            out.push(b'\n');
        }
        Reply::Simple(s) => {
            out.extend_from_slice(c_str(s));
            out.push(b'\n');
        }
        Reply::Integer(n) => out.extend_from_slice(format!("(integer) {n}\n").as_bytes()),
        Reply::Bulk(b) => {
            repr(out, b);
            out.push(b'\n');
        }
        Reply::Nil | Reply::NilArray => out.extend_from_slice(b"(nil)\n"),
        Reply::Array(items) if items.is_empty() => out.extend_from_slice(b"(empty array)\n"),
        Reply::Array(items) => {
            let width = items.len().to_string().len();
            let mut inner = prefix.to_vec();
            inner.resize(prefix.len() + width + 2, b' ');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(prefix);
                }
                out.extend_from_slice(format!("{:>width$}) ", i + 1).as_bytes());
                format_tty(out, item, &inner);
            }
        }
    }
}

/// `redis-cli`'s `cliFormatReplyRaw`: strings as they are, integers as digits, errors
/// without a prefix but with a newline, nil as nothing, array elements (flattened)
/// separated by newlines.
fn format_raw(out: &mut Vec<u8>, r: &Reply) {
    match r {
        Reply::Nil | Reply::NilArray => {}
        Reply::Error(e) => {
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Reply::Simple(s) | Reply::Bulk(s) => out.extend_from_slice(s),
        Reply::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Reply::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                format_raw(out, item);
            }
        }
    }
}

/// The commands whose replies `redis-cli` prints raw and without the final newline, in
/// either format: text reports such as `INFO` and `CLIENT LIST`.
fn prints_verbatim(args: &[Vec<u8>]) -> bool {
    let is = |i: usize, s: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(s.as_bytes()))
    };
    let n = args.len();
    is(0, "info")
        || is(0, "lolwut")
        || (n >= 2
            && is(0, "debug")
            && ["htstats", "htstats-key", "client-eviction"]
                .iter()
                .any(|s| is(1, s)))
        || (n >= 2 && is(0, "memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (n == 2 && is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (n >= 2 && is(0, "client") && (is(1, "list") || is(1, "info")))
        || (n == 3 && is(0, "latency") && is(1, "graph"))
        || (n == 2 && is(0, "latency") && is(1, "doctor"))
        || (n >= 2 && is(0, "proxy") && is(1, "info"))
}

/// The reply to `args` as `redis-cli` prints it in `mode`.
fn format_reply(mode: Mode, args: &[Vec<u8>], r: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    if prints_verbatim(args) {
        format_raw(&mut out, r);
    } else if mode == Mode::Tty {
        format_tty(&mut out, r, b"");
    } else {
        format_raw(&mut out, r);
        out.push(b'\n');
    }
    out
}

/// Sends `args` and prints the reply; an error message when the connection failed. After
/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and MONITOR, as `redis-cli`, it keeps printing what
/// the server pushes until an error reply (or the connection's end, an error).
fn run_one(conn: &mut Conn, mode: Mode, args: &[Vec<u8>]) -> Result<(), String> {
    let is = |s: &str| {
        args.first()
            .is_some_and(|a| a.eq_ignore_ascii_case(s.as_bytes()))
    };
    let pubsub = is("subscribe") || is("psubscribe") || is("ssubscribe");
    let monitor = is("monitor");
    conn.send(args)?;
    if pubsub && mode == Mode::Tty {
        print_bytes(b"Reading messages... (press Ctrl-C to quit)\n")?;
    }
    loop {
        let reply = conn.read_reply()?;
        print_bytes(&format_reply(mode, args, &reply))?;
        if !(pubsub || monitor) || matches!(reply, Reply::Error(_)) {
            return Ok(());
        }
    }
}

/// Writes to standard output and flushes (so a pipe sees each reply as it comes).
fn print_bytes(b: &[u8]) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(b)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("Error: {}", os_text(&e)))
}

/// `strtol` on a whole argument, as `redis-cli` reads a repeat count: `Some(Ok(n))` for an
/// optional sign and digits (or the empty string, which `strtol` reads as 0),
/// `Some(Err(()))` on overflow, `None` when it is not a number.
fn repeat_count(s: &[u8]) -> Option<Result<i64, ()>> {
    let digits = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    if s.is_empty() {
        return Some(Ok(0));
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    Some(text.parse::<i64>().map_err(|_| ()))
}

/// Reads command lines from standard input until its end or `quit`, as `redis-cli`'s
/// prompt loop does when its input is not a terminal.
fn run_stdin(conn: &mut Conn, mode: Mode) -> Result<(), String> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut input)
            .take(MAX_INPUT_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("Error: {}", os_text(&e)))?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if n as u64 == MAX_INPUT_LINE {
            return Err("Error: input line too long".into());
        }
        if line.is_empty() {
            continue;
        }
        let Ok(argv) = split_line(&line) else {
            print_text("Invalid argument(s)\n")?;
            continue;
        };
        let Some(first) = argv.first() else {
            continue;
        };
        let (repeat, args) = match repeat_count(first) {
            Some(count) if argv.len() > 1 => match count {
                Ok(n) if n > 0 => (n, argv.get(1..).unwrap_or(&[])),
                _ => {
                    print_text("Invalid redis-cli repeat command option value.\n")?;
                    continue;
                }
            },
            _ => (1, &argv[..]),
        };
        if first.eq_ignore_ascii_case(b"quit") || first.eq_ignore_ascii_case(b"exit") {
            return Ok(());
        }
        let start = std::time::Instant::now();
        for _ in 0..repeat {
            run_one(conn, mode, args)?;
        }
        // As redis-cli's prompt loop: a line that took half a second or more says so.
        let ms = start.elapsed().as_millis();
        if ms >= 500 && mode == Mode::Tty {
            print_text(&format!("({:.2}s)\n", ms as f64 / 1000.0))?;
        }
    }
}

/// Writes a message of the prompt loop to standard output.
fn print_text(s: &str) -> Result<(), String> {
    print_bytes(s.as_bytes())
}

/// The usage line, for `--help` and bad options.
const USAGE: &str =
    "usage: kv-cli [-h host] [-p port] [-n db] [--raw | --no-raw] [cmd [arg ...]]\n";

fn main() -> ExitCode {
    let mut host = String::from("127.0.0.1");
    let mut port: u16 = 6379;
    let mut db: Option<String> = None;
    let mut mode = if io::stdout().is_terminal() || std::env::var_os("FAKETTY").is_some() {
        Mode::Tty
    } else {
        Mode::Raw
    };
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // Options come first; the first argument that is not one starts the command.
    let mut i = 0;
    while let Some(opt) = argv.get(i).and_then(|a| a.to_str()) {
        let value = argv.get(i + 1).and_then(|v| v.to_str()).map(str::to_owned);
        match (opt, value) {
            ("-h", Some(h)) => host = h,
            ("-p", Some(p)) => match p.parse() {
                Ok(p) => port = p,
                Err(_) => return usage(),
            },
            ("-n", Some(n)) => db = Some(n),
            ("-h" | "-p" | "-n", None) => return usage(),
            ("--raw", _) => mode = Mode::Raw,
            ("--no-raw", _) => mode = Mode::Tty,
            ("--help", _) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => break,
        }
        i += if opt.starts_with("--") { 1 } else { 2 };
    }
    let command: Vec<Vec<u8>> = argv.into_iter().skip(i).map(os_bytes).collect();

    let stream = match TcpStream::connect((host.as_str(), port)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "Could not connect to Redis at {host}:{port}: {}",
                os_text(&e)
            );
            return ExitCode::FAILURE;
        }
    };
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        parser: ReplyParser::new(),
    };
    if let Some(db) = db {
        // As redis-cli: SELECT on connect, its reply not printed.
        match conn.call(&[b"SELECT".to_vec(), db.into_bytes()]) {
            Ok(Reply::Error(e)) => {
                eprintln!("{}", String::from_utf8_lossy(&e));
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let result = if command.is_empty() {
        run_stdin(&mut conn, mode)
    } else {
        run_one(&mut conn, mode, &command)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the usage line to standard error: the exit status of a bad option.
fn usage() -> ExitCode {
    eprint!("{USAGE}");
    ExitCode::FAILURE
}

/// A command-line argument's bytes (arguments are bytes on Unix; elsewhere, lossily UTF-8).
fn os_bytes(a: std::ffi::OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        a.into_vec()
    }
    #[cfg(not(unix))]
    {
        a.to_string_lossy().into_owned().into_bytes()
    }
}
