#!/usr/bin/env python3
"""Regenerates core/src/cmd/meta.rs: Redis 7.0's COMMAND DOCS and COMMAND INFO metadata for
every command in mini-kv's command table, taken from a real redis-server.

    ci/gen_command_meta.py            # needs redis-server on PATH

The generated file holds, per command, Redis's arity, flags, key positions and ACL
categories (a unit test checks that the command table agrees with them), plus the raw RESP
bytes of its tips, key specs, subcommands and documentation, which COMMAND INFO and
COMMAND DOCS splice into their replies. Those bytes (about 160 KB) are stored as two raw
DEFLATE blobs (zlib's level 9; about 10x smaller), INFO's and DOCS's, which kv-core expands
once each, on first use (`core/src/cmd/inflate.rs`); each command keeps its byte ranges.
Subcommands are sorted by name (Redis lists them in the order of a per-process seeded dict).
"""
import os
import re
import socket
import subprocess
import sys
import time
import zlib

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


def deflate(blob):
    """Raw DEFLATE (no zlib header) at zlib's best compression: deterministic for the same
    input and zlib version."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return z.compress(blob) + z.flush()


def resp_array(items):
    """Raw RESP of an array of (value, raw) items."""
    return b"*%d\r\n" % len(items) + b"".join(raw for _, raw in items)


def sorted_subcommands(items):
    """Container commands list their subcommands in the order of a Redis dict, seeded per
    process; sorting them by name makes the generated file the same from run to run."""
    return sorted(items, key=lambda item: item[0][0][0])


def sorted_doc_subcommands(doc):
    """A COMMAND DOCS entry (a flat map) with its "subcommands" map sorted by name."""
    out = []
    for k in range(0, len(doc), 2):
        key, val = doc[k], doc[k + 1]
        if key[0] == b"subcommands":
            pairs = sorted(zip(val[0][0::2], val[0][1::2]), key=lambda p: p[0][0])
            val = (None, resp_array([x for p in pairs for x in p]))
        out += [key, val]
    return resp_array(out)


def main():
    src = open(os.path.join(ROOT, "core/src/cmd/mod.rs")).read()
    names = re.findall(r'command!\("([a-z_]+)"', src)
    port = 7717
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
            subs = resp_array(sorted_subcommands(entry[9][0]))
            tail = b"".join(raw for _, raw in entry[7:9]) + subs
            docs, _ = call(sock, b"COMMAND", b"DOCS", name.encode())
            doc_raw = sorted_doc_subcommands(docs[1][0]) if len(docs) == 2 else b"*0\r\n"
            rows.append((name, arity, flags, first, last, step, cats, tail, doc_raw))
    finally:
        proc.terminate()
        proc.wait()
    present = [r for r in rows if r is not None]
    tails, docs, spans = b"", b"", []
    for r in present:
        spans.append(((len(tails), len(tails) + len(r[7])), (len(docs), len(docs) + len(r[8]))))
        tails += r[7]
        docs += r[8]
    out = [
        "//! Redis's metadata for the commands of the command table, generated by",
        "//! `ci/gen_command_meta.py` from redis-server " + version.decode() + " (do not edit).",
        "//! COMMAND INFO and COMMAND DOCS splice the raw RESP parts into their replies. Those",
        f"//! are stored DEFLATE-compressed, in two blobs ({len(tails)} and {len(docs)} bytes, "
        f"{len(deflate(tails))} and {len(deflate(docs))}",
        "//! compressed), each expanded once, on first use (`super::inflate`). Redis's arity,",
        "//! flags, keys and categories are kept for the unit test that checks the command table",
        "//! against them (`REDIS`). Without kv-core's `command-docs` feature the docs blob is",
        "//! left out and COMMAND DOCS answers an error (`server::command`).",
        "",
        "use crate::sync::Once;",
        "use alloc::vec::Vec;",
        "",
        "/// Every command's tips, key specs and subcommands (its last three COMMAND INFO fields),",
        "/// one after the other, raw DEFLATE.",
        "#[rustfmt::skip]",
        "static INFO_TAILS_Z: &[u8] = " + rust_bytes(deflate(tails)) + ";",
        "",
        "/// Every command's COMMAND DOCS entry, one after the other, raw DEFLATE.",
        "#[cfg(feature = \"command-docs\")]",
        "#[rustfmt::skip]",
        "static DOCS_Z: &[u8] = " + rust_bytes(deflate(docs)) + ";",
        "",
        "static INFO_TAILS: Once<Vec<u8>> = Once::new();",
        "#[cfg(feature = \"command-docs\")]",
        "static DOCS: Once<Vec<u8>> = Once::new();",
        "",
        "/// The decompressed blob (`len` bytes; empty if `z` does not decompress to that).",
        "fn expand(blob: &'static Once<Vec<u8>>, z: &[u8], len: usize) -> &'static [u8] {",
        "    blob.call_once(|| {",
        "        super::inflate::inflate(z, len)",
        "            .filter(|v| v.len() == len)",
        "            .unwrap_or_default()",
        "    })",
        "}",
        "",
        "/// Bytes `span` of `blob`, or none if out of range.",
        "fn part(blob: &'static [u8], [from, to]: [u32; 2]) -> &'static [u8] {",
        "    blob.get(from as usize..to as usize).unwrap_or_default()",
        "}",
        "",
        "/// Where one command's metadata lies in the decompressed blobs.",
        "pub struct Meta {",
        "    /// Name.",
        "    pub name: &'static str,",
        "    /// Byte range of the raw RESP of tips, key specs and subcommands in the info tails.",
        "    info_tail: [u32; 2],",
        "    /// Byte range of the raw RESP of the COMMAND DOCS entry in the docs.",
        "    #[cfg_attr(not(feature = \"command-docs\"), allow(dead_code))]",
        "    docs: [u32; 2],",
        "}",
        "",
        "impl Meta {",
        "    /// Raw RESP of tips, key specs and subcommands (the last three COMMAND INFO fields).",
        "    pub fn info_tail(&self) -> &'static [u8] {",
        f"        part(expand(&INFO_TAILS, INFO_TAILS_Z, {len(tails)}), self.info_tail)",
        "    }",
        "",
        "    /// Raw RESP of the COMMAND DOCS entry.",
        "    #[cfg(feature = \"command-docs\")]",
        "    pub fn docs(&self) -> &'static [u8] {",
        f"        part(expand(&DOCS, DOCS_Z, {len(docs)}), self.docs)",
        "    }",
        "}",
        "",
        "/// Metadata for every Redis command mini-kv implements.",
        "#[rustfmt::skip]",
        "pub static META: &[Meta] = &[",
    ]
    for r, (t, d) in zip(present, spans):
        out.append(f'    Meta {{ name: "{r[0]}", info_tail: [{t[0]}, {t[1]}], docs: [{d[0]}, {d[1]}] }},')
    out += [
        "];",
        "",
        "/// Redis's metadata for command `name` (lowercase), if Redis has the command.",
        "pub fn meta(name: &str) -> Option<&'static Meta> {",
        "    META.iter().find(|m| m.name == name)",
        "}",
        "",
        "/// Redis's arity, flags, keys and categories for one command.",
        "#[cfg(test)]",
        "pub struct Redis {",
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
        "}",
        "",
        "/// Redis's arity, flags, keys and categories for every Redis command mini-kv implements.",
        "#[cfg(test)]",
        "#[rustfmt::skip]",
        "pub static REDIS: &[Redis] = &[",
    ]
    for r in present:
        name, arity, flags, first, last, step, cats, _, _ = r
        fl = ", ".join(f'"{f}"' for f in flags)
        ca = ", ".join(f'"{c}"' for c in cats)
        out.append(f'    Redis {{ name: "{name}", arity: {arity}, flags: &[{fl}], keys: ({first}, {last}, {step}), '
                   f'categories: &[{ca}] }},')
    out += ["];", ""]
    with open(os.path.join(ROOT, "core/src/cmd/meta.rs"), "w") as f:
        f.write("\n".join(out))
    print(f"wrote core/src/cmd/meta.rs: {sum(r is not None for r in rows)} commands")


if __name__ == "__main__":
    main()
