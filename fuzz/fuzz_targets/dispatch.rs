//! The command dispatcher behind a real `Worker`, over in-memory sockets: three clients
//! send commands (names mostly from the command table, keys from a set of four so commands
//! collide, arguments from a dictionary of the options commands take, small integers,
//! short byte strings), raw protocol bytes, hang up, and the input moves a manual clock
//! (expiry, blocking timeouts, CLIENT PAUSE ends). The engine's `proto-max-bulk-len` is
//! small and CONFIG SET cannot raise it, so no command can grow a value past 1 KiB and
//! exhaust the fuzzer. Checks: no panic, and every client's output is whole RESP2
//! replies.
//!
//! The input is a little byte code (so seeds can be written by hand, see
//! `fuzz/make_seeds.py`), read until it runs out:
//!
//! | op byte % 8 | step |
//! |---|---|
//! | 0..=4 | command: client byte, name byte (< 0xF0: `COMMANDS[b % len]`, else `b & 15` raw name bytes), argument count byte (% 12), then each argument |
//! | 5 | raw bytes: client byte, length byte, the bytes |
//! | 6 | clock: the client byte and one more, milliseconds (little-endian) |
//! | 7 | hang up: client byte |
//!
//! An argument is a tag byte `t`: `t % 8` 0..=2 key `KEYS[(t >> 3) % 4]`, 3 integer (two
//! bytes, `i16`), 4 word (`WORDS[byte % len]`), 5 `(t >> 3) % 7` raw bytes, 6 a long
//! value (a byte repeated `4 * len byte` times), 7 a float made of two bytes.
#![no_main]

use kv_core::cmd::COMMANDS;
use kv_fuzz::{encode_request, Driver};
use libfuzzer_sys::fuzz_target;

/// Clients the input talks through.
const CLIENTS: usize = 3;
/// `proto-max-bulk-len` for the run: the most any string value can grow to.
const MAX_BULK: usize = 1024;
/// Most steps one input runs.
const MAX_STEPS: usize = 256;

const KEYS: [&[u8]; 4] = [b"a", b"b", b"{a}c", b""];

/// Options, subcommands and values commands take.
const WORDS: &[&[u8]] = &[
    b"NX",
    b"XX",
    b"GT",
    b"LT",
    b"CH",
    b"INCR",
    b"EX",
    b"PX",
    b"EXAT",
    b"PXAT",
    b"KEEPTTL",
    b"GET",
    b"PERSIST",
    b"WITHSCORES",
    b"LIMIT",
    b"BYSCORE",
    b"BYLEX",
    b"REV",
    b"LEFT",
    b"RIGHT",
    b"BEFORE",
    b"AFTER",
    b"COUNT",
    b"MATCH",
    b"TYPE",
    b"STORE",
    b"BY",
    b"ALPHA",
    b"ASC",
    b"DESC",
    b"WEIGHTS",
    b"AGGREGATE",
    b"SUM",
    b"MIN",
    b"MAX",
    b"RANK",
    b"MAXLEN",
    b"IDX",
    b"LEN",
    b"MINMATCHLEN",
    b"WITHMATCHLEN",
    b"BIT",
    b"BYTE",
    b"AND",
    b"OR",
    b"XOR",
    b"NOT",
    b"OVERFLOW",
    b"WRAP",
    b"SAT",
    b"FAIL",
    b"u8",
    b"i5",
    b"u63",
    b"i64",
    b"#1",
    b"SET",
    b"INCRBY",
    b"REPLACE",
    b"ABSTTL",
    b"IDLETIME",
    b"FREQ",
    b"ENCODING",
    b"REFCOUNT",
    b"USAGE",
    b"SAMPLES",
    b"DB",
    b"ASYNC",
    b"SYNC",
    b"GETNAME",
    b"SETNAME",
    b"LIST",
    b"INFO",
    b"KILL",
    b"PAUSE",
    b"UNPAUSE",
    b"ID",
    b"WRITE",
    b"ALL",
    b"GETKEYS",
    b"GETKEYSANDFLAGS",
    b"DOCS",
    b"NUMSUB",
    b"NUMPAT",
    b"CHANNELS",
    b"SHARDCHANNELS",
    b"RESETSTAT",
    b"HELP",
    b"NOSAVE",
    b"NOW",
    b"ABORT",
    b"FLUSH",
    b"LOAD",
    b"EXISTS",
    b"TRACKING",
    b"NO-EVICT",
    b"REPLY",
    b"OFF",
    b"ON",
    b"SKIP",
    b"YES",
    b"NO",
    b"WITHVALUES",
    b"ELEMENTS",
    b"LADDR",
    b"ADDR",
    b"SKIPME",
    b"USER",
    b"MAXAGE",
    b"normal",
    b"pubsub",
    b"master",
    b"string",
    b"list",
    b"set",
    b"zset",
    b"hash",
    b"notify-keyspace-events",
    b"KEA",
    b"hash-max-listpack-entries",
    b"zset-max-listpack-entries",
    b"set-max-intset-entries",
    b"list-max-listpack-size",
    b"timeout",
    b"databases",
    b"*",
    b"?",
    b"[a-c]",
    b"a*",
    b"__key*__:*",
    b"+inf",
    b"-inf",
    b"(1",
    b"[a",
    b"(a",
    b"-",
    b"+",
    b"0",
    b"1",
    b"-1",
    b"2",
    b"3",
    b"10",
    b"100",
    b"1.5",
    b"-0",
    b"nan",
    b"inf",
    b"1e3",
    b"0x10",
    b" 1",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"4294967296",
    b"2147483648",
    b"18446744073709551615",
    b"1.7976931348623157e308",
];

/// Reads the byte code.
struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn arg(&mut self) -> Option<Vec<u8>> {
        let t = self.byte()?;
        let hi = usize::from(t >> 3);
        Some(match t % 8 {
            0..=2 => KEYS[hi % KEYS.len()].to_vec(),
            3 => (self.u16()? as i16).to_string().into_bytes(),
            4 => WORDS[usize::from(self.byte()?) % WORDS.len()].to_vec(),
            5 => self.bytes(hi % 7).to_vec(),
            6 => {
                let b = self.byte()?;
                vec![b; 4 * usize::from(self.byte()?)]
            }
            _ => format!("{}.{}", self.byte()? as i8, self.byte()?).into_bytes(),
        })
    }
}

/// CONFIG SET of anything that bounds the run's memory is left out.
fn allowed(args: &[Vec<u8>]) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    if !name.eq_ignore_ascii_case(b"config") {
        return true;
    }
    !args.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a.windows(5).any(|w| w == b"proto") || a.windows(5).any(|w| w == b"query")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut d = Driver::new(kv_fuzz::config(4, MAX_BULK), CLIENTS);
    let mut r = Reader { data };
    let mut req = Vec::new();
    for _ in 0..MAX_STEPS {
        let Some(op) = r.byte() else { break };
        let Some(cb) = r.byte() else { break };
        let client = usize::from(cb) % CLIENTS;
        match op % 8 {
            0..=4 => {
                let Some(b) = r.byte() else { break };
                let name = if b < 0xF0 {
                    COMMANDS[usize::from(b) % COMMANDS.len()]
                        .name
                        .as_bytes()
                        .to_vec()
                } else {
                    r.bytes(usize::from(b & 15)).to_vec()
                };
                let argc = r.byte().map_or(0, |n| n % 12);
                let mut args = vec![name];
                for _ in 0..argc {
                    match r.arg() {
                        Some(a) => args.push(a),
                        None => break,
                    }
                }
                if !allowed(&args) {
                    continue;
                }
                req.clear();
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                encode_request(&mut req, &refs);
                d.send(client, &req);
            }
            5 => {
                let n = r.byte().map_or(0, usize::from);
                let raw = r.bytes(n).to_vec();
                // A raw CONFIG SET could raise the limits too.
                if raw.to_ascii_lowercase().windows(6).any(|w| w == b"config") {
                    continue;
                }
                d.send(client, &raw);
            }
            6 => {
                // The client byte is the low byte.
                let hi = r.byte().map_or(0, u64::from);
                d.advance(hi << 8 | u64::from(cb));
            }
            _ => d.hang_up(client),
        }
    }
});
