#!/usr/bin/env python3
"""Memory per key of strings: kv_server vs redis-server, side by side in one run.

    benches/keys_memory.py [--kv-bin PATH] [--keys 1000000] [--rounds 1] [--benchmark-load]
                           [--only NAME-PART]

For each load (16-byte values; 100-byte values; integers; 16-byte values with a TTL), each
server starts empty, takes --keys SETs of 16-byte key names (pipelined), and the script prints
the RSS growth per key (/proc/PID/statm after minus before, divided by DBSIZE) and
used_memory growth per key, for both, and the ratio kv/redis. With --benchmark-load it also
fills each server with `redis-benchmark -t set -d 16 -r KEYS -n 4*KEYS` (50 connections, not
pipelined, spread over kv_server's workers: the load issue 12 measures; about 75% of the
SETs overwrite). --only runs the loads whose names contain NAME-PART. Servers started here
are stopped by PID.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expiry_storm import load, start, used_memory  # noqa: E402
from types_memory import Conn, rss  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOADS = {
    "16-byte values": lambda i: [b"SET", b"key:%012d" % i, b"%016d" % i],
    "100-byte values": lambda i: [b"SET", b"key:%012d" % i, b"%0100d" % i],
    "integers": lambda i: [b"SET", b"key:%012d" % i, b"%d" % i],
    "16-byte values, TTL": lambda i: [b"SET", b"key:%012d" % i, b"%016d" % i, b"EX", b"100000"],
}


def encode(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def fill(port, make, keys):
    load(port, b"".join(encode(make(i)) for i in range(keys)), keys)


def bench_fill(port, keys):
    subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-d", "16", "-r", str(keys),
                    "-n", str(4 * keys), "-q"], stdout=subprocess.DEVNULL, check=True,
                   timeout=600)


def measure(kind, kv_bin, make, keys):
    tmp = tempfile.mkdtemp(prefix="keysmem-")
    p, port = start(kind, kv_bin, 4, tmp)
    try:
        c = Conn(port)
        time.sleep(0.3)
        r0, u0 = rss(p.pid), used_memory(c)
        if make is None:
            bench_fill(port, keys)
        else:
            fill(port, make, keys)
        # kv_server refreshes used_memory on its once-a-second tick, and gives the old table
        # arrays back (malloc_trim) at the first tick that finds used_memory steady.
        time.sleep(3.0)
        n = c.call("DBSIZE")
        r1, u1 = rss(p.pid), used_memory(c)
        return (r1 - r0) / n, (u1 - u0) / n
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kv-bin", default=os.path.join(ROOT, "target/release/kv_server"))
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--benchmark-load", action="store_true",
                    help="also the redis-benchmark SET load (16-byte values)")
    ap.add_argument("--only", help="run only the loads whose names contain this")
    a = ap.parse_args()
    loads = dict(LOADS)
    if a.benchmark_load:
        loads["redis-benchmark -t set -d 16"] = None
    if a.only:
        loads = {k: v for k, v in loads.items() if a.only in k}
    print("| load | kv RSS B/key | redis RSS B/key | ratio | kv used_memory B/key | redis used_memory B/key |")
    print("|---|---|---|---|---|---|")
    for name, make in loads.items():
        for _ in range(a.rounds):
            kr, ku = measure("kv", a.kv_bin, make, a.keys)
            rr, ru = measure("redis", a.kv_bin, make, a.keys)
            print(f"| {name} | {kr:.0f} | {rr:.0f} | {kr / rr:.2f} | {ku:.0f} | {ru:.0f} |", flush=True)


if __name__ == "__main__":
    main()
