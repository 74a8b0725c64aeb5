#!/usr/bin/env python3
"""Regenerates core/src/cmd/meta.rs: Redis 7.0's COMMAND DOCS and COMMAND INFO metadata for
every command in mini-kv's command table, taken from a real redis-server.

    ci/gen_command_meta.py            # needs redis-server on PATH

The generated file holds, per command, Redis's arity, flags, key positions and ACL
categories (a unit test checks that the command table agrees with them), plus the raw RESP
bytes of its tips, key specs, subcommands and documentation, which COMMAND INFO and
COMMAND DOCS splice into their replies. Those bytes (about 130 KB, all ASCII) are stored
byte-pair encoded to keep the binary small: the 128 most frequent adjacent pairs become the
bytes 0x80..0xFF, recursively (`PAIRS`), and `unpack` expands them (about 3x smaller).
"""
import os
import re
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_reply(buf, i):
    """Returns (value, end) for the RESP2 reply starting at buf[i]; value keeps raw spans."""
    t = buf[i:i + 1]
    nl = buf.index(b"\r\n", i)
    head = buf[i + 1:nl]
    j = nl + 2
    if t in (b"+", b"-", b":"):
        return head, j
    if t == b"$":
        n = int(head)
        if n < 0:
            return None, j
        return buf[j:j + n], j + n + 2
    if t == b"*":
        n = int(head)
        items = []
        for _ in range(max(n, 0)):
            start = j
            v, j = read_reply(buf, j)
            items.append((v, buf[start:j]))
        return items, j
    raise ValueError(f"bad type {t!r}")


def call(sock, *args):
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    sock.sendall(req)
    buf = b""
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise SystemExit("redis-server closed")
        buf += chunk
        try:
            v, end = read_reply(buf, 0)
            if end == len(buf):
                return v, buf
        except (ValueError, IndexError):
            continue


def rust_bytes(b):
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x22:
            out.append('\\"')
        elif 32 <= c < 127:
            out.append(chr(c))
        elif c == 13:
            out.append("\\r")
        elif c == 10:
            out.append("\\n")
        else:
            out.append("\\x%02x" % c)
    return 'b"' + "".join(out) + '"'


def byte_pair_encode(blobs):
    """Byte-pair encoding over all blobs together: at most 128 merges, each replacing the
    most frequent adjacent pair (ties broken by the smaller pair) with the next byte from
    0x80. Returns (pairs, encoded blobs). Deterministic for the same input."""
    assert all(b < 0x80 for blob in blobs for b in blob), "metadata must be ASCII"
    seqs = [list(b) for b in blobs]
    pairs = []
    for sym in range(0x80, 0x100):
        counts = {}
        for q in seqs:
            for i in range(len(q) - 1):
                k = (q[i], q[i + 1])
                counts[k] = counts.get(k, 0) + 1
        if not counts:
            break
        (a, b), n = max(counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
        if n < 4:
            break
        pairs.append((a, b))
        for qi, q in enumerate(seqs):
            out, i = [], 0
            while i < len(q):
                if i + 1 < len(q) and q[i] == a and q[i + 1] == b:
                    out.append(sym)
                    i += 2
                else:
                    out.append(q[i])
                    i += 1
            seqs[qi] = out
    return pairs, [bytes(q) for q in seqs]


def main():
    src = open(os.path.join(ROOT, "core/src/cmd/mod.rs")).read()
    names = re.findall(r'command!\("([a-z_]+)"', src)
    port = 46379
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("redis-server did not start")
        version = call(sock, b"INFO", b"server")[0].split(b"redis_version:")[1].split(b"\r\n")[0]
        rows = []
        for name in names:
            info, _ = call(sock, b"COMMAND", b"INFO", name.encode())
            entry = info[0][0]
            if entry is None:
                rows.append(None)  # not a Redis command (mini-kv's own)
                continue
            arity = int(entry[1][0])
            flags = [f.decode() for f, _ in entry[2][0]]
            first, last, step = (int(entry[k][0]) for k in (3, 4, 5))
            cats = [c.decode() for c, _ in entry[6][0]]
            tail = b"".join(raw for _, raw in entry[7:10])
            docs, _ = call(sock, b"COMMAND", b"DOCS", name.encode())
            doc_raw = docs[1][1] if len(docs) == 2 else b"*0\r\n"
            rows.append((name, arity, flags, first, last, step, cats, tail, doc_raw))
    finally:
        proc.terminate()
        proc.wait()
    present = [r for r in rows if r is not None]
    pairs, packed = byte_pair_encode([b for r in present for b in (r[7], r[8])])
    out = [
        "//! Redis's metadata for the commands of the command table, generated by",
        "//! `ci/gen_command_meta.py` from redis-server " + version.decode() + " (do not edit).",
        "//! COMMAND INFO and COMMAND DOCS splice the raw RESP parts into their replies; a unit",
        "//! test checks the command table against the arity, flags, keys and categories.",
        "//! The RESP parts are byte-pair encoded ([`PAIRS`], [`unpack`]) to keep the binary small.",
        "",
        "use alloc::vec::Vec;",
        "",
        "/// The byte-pair table: byte `0x80 + i` stands for the two bytes (or pairs) `PAIRS[i]`.",
        "#[rustfmt::skip]",
        "pub static PAIRS: &[[u8; 2]] = &[" + ", ".join(f"[{a}, {b}]" for a, b in pairs) + "];",
        "",
        "/// Appends the expansion of byte-pair encoded `packed` to `out`. Every pair expands to",
        "/// bytes of lower value, so the work stack never holds more than 2 entries per level",
        "/// of the 128-entry table.",
        "pub fn unpack(packed: &[u8], out: &mut Vec<u8>) {",
        "    let mut stack: Vec<u8> = Vec::with_capacity(32);",
        "    for &b in packed {",
        "        stack.push(b);",
        "        while let Some(s) = stack.pop() {",
        "            if s < 0x80 {",
        "                out.push(s);",
        "            } else if let Some(&[x, y]) = PAIRS.get(usize::from(s - 0x80)) {",
        "                stack.push(y);",
        "                stack.push(x);",
        "            }",
        "        }",
        "    }",
        "}",
        "",
        "/// Redis's description of one command.",
        "pub struct Meta {",
        "    /// Name.",
        "    pub name: &'static str,",
        "    /// Arity.",
        "    pub arity: i32,",
        "    /// Flags.",
        "    pub flags: &'static [&'static str],",
        "    /// First key, last key, key step.",
        "    pub keys: (i32, i32, i32),",
        "    /// ACL categories.",
        "    pub categories: &'static [&'static str],",
        "    /// Raw RESP of tips, key specs and subcommands (the last three COMMAND INFO fields),",
        "    /// byte-pair encoded ([`unpack`]).",
        "    pub info_tail: &'static [u8],",
        "    /// Raw RESP of the COMMAND DOCS entry, byte-pair encoded ([`unpack`]).",
        "    pub docs: &'static [u8],",
        "}",
        "",
        "/// Metadata for every Redis command mini-kv implements.",
        "#[rustfmt::skip]",
        "pub static META: &[Meta] = &[",
    ]
    for k, r in enumerate(present):
        name, arity, flags, first, last, step, cats, _, _ = r
        tail, doc = packed[2 * k], packed[2 * k + 1]
        fl = ", ".join(f'"{f}"' for f in flags)
        ca = ", ".join(f'"{c}"' for c in cats)
        out.append(f'    Meta {{ name: "{name}", arity: {arity}, flags: &[{fl}], keys: ({first}, {last}, {step}), '
                   f'categories: &[{ca}], info_tail: {rust_bytes(tail)}, docs: {rust_bytes(doc)} }},')
    out += [
        "];",
        "",
        "/// Redis's metadata for command `name` (lowercase), if Redis has the command.",
        "pub fn meta(name: &str) -> Option<&'static Meta> {",
        "    META.iter().find(|m| m.name == name)",
        "}",
        "",
    ]
    with open(os.path.join(ROOT, "core/src/cmd/meta.rs"), "w") as f:
        f.write("\n".join(out))
    print(f"wrote core/src/cmd/meta.rs: {sum(r is not None for r in rows)} commands")


if __name__ == "__main__":
    main()
