#!/usr/bin/env python3
"""Prints `REDIS_ONLY` for core/src/acl.rs: Redis's commands (and their subcommands) that
mini-kv's command table lacks, as `name:category-bits` (hex, in the order of
`acl::CATEGORIES`), sorted by name, each container followed by its subcommands.

    ci/gen_acl_redis_only.py [PORT]     # a redis-server 7.0.15 listening on PORT (6379)
"""
import os
import re
import socket
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATS = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
        "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
        "dangerous", "connection", "transaction", "scripting"]


def read(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in b"+-:":
        return rest.decode()
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    return [read(f) for _ in range(int(rest))]


def bits(entry):
    b = 0
    for c in entry[6]:
        b |= 1 << CATS.index(c.lstrip("@"))
    return b


def main():
    ours = set(re.findall(r'command!\("([a-z_]+)"', open(os.path.join(ROOT, "core/src/cmd/mod.rs")).read()))
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    s.sendall(b"COMMAND\r\n")
    out = []
    for c in sorted(read(f), key=lambda c: c[0]):
        if c[0] in ours:
            continue
        out.append("%s:%x" % (c[0], bits(c)))
        for sub in sorted(c[9], key=lambda c: c[0]):
            out.append("%s:%x" % (sub[0], bits(sub)))
    print(" ".join(out))


main()
