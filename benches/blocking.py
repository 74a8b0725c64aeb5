#!/usr/bin/env python3
"""BLPOP wake-ups per second: kv_server vs redis-server side by side.

Each pair is two connections in their own process playing ping-pong over two lists:
ping does RPUSH a, then BLPOP b 0; pong does BLPOP a 0, then RPUSH b. Each side pushes
only after it was served, so its partner is (almost always) already blocked: every
element handed over is one wake-up of a blocked client. Pairs run in parallel (on their
own keys), so with kv_server the pushes and the woken clients sit on different workers.
Each round runs for --seconds against each server, alternating which goes first; the
script prints the median wake-ups per second and the ratio kv_server / redis-server.
Only the standard library is used; the servers it started are stopped by PID at the end.

    benches/blocking.py                         # 8 pairs, 3 rounds of 3 s
    benches/blocking.py --pairs 32 --rounds 5 --seconds 5 --workers 4
    benches/blocking.py --kv-bin target/debug/kv_server --pairs 2 --seconds 1
"""
import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import alternate, side_by_side  # noqa: E402


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def reply(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        return rest

    def call(self, *args):
        self.s.sendall(encode(*args))
        return self.reply()


def pair(port, index, seconds, out):
    """One ping-pong pair; puts its number of wake-ups (or its error) into `out`."""
    try:
        out.put(ping_pong(port, index, seconds))
    except Exception as e:  # e.g. "ERR unknown command": say so instead of hanging
        out.put(f"pair {index}: {e}")


def ping_pong(port, index, seconds):
    a, b = f"bench:{index}:a", f"bench:{index}:b"
    stop = time.monotonic() + seconds
    counts = [0, 0]

    def pong():
        c = Conn(port)
        while True:
            r = c.call("BLPOP", a, 0)
            if r[1] == b"stop":
                return
            counts[1] += 1
            c.call("RPUSH", b, r[1])

    t = threading.Thread(target=pong, daemon=True)
    t.start()
    c = Conn(port)
    i = 0
    while time.monotonic() < stop:
        c.call("RPUSH", a, i)
        c.call("BLPOP", b, 0)
        counts[0] += 1
        i += 1
    c.call("RPUSH", a, "stop")
    t.join()
    return counts[0] + counts[1]


def run(port, pairs, seconds):
    """Wake-ups per second over all pairs."""
    Conn(port).call("FLUSHALL")
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=pair, args=(port, i, seconds, q)) for i in range(pairs)]
    start = time.monotonic()
    for p in procs:
        p.start()
    got = [q.get(timeout=seconds + 60) for _ in procs]
    elapsed = time.monotonic() - start
    for p in procs:
        p.join(timeout=10)
    errors = [g for g in got if isinstance(g, str)]
    if errors:
        sys.exit(f"port {port}: {errors[0]}")
    return sum(got) / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=8, help="ping-pong pairs (2 connections each)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="kv_server --workers")
    ap.add_argument("--kv-bin", default=None,
                    help="the kv_server binary to run (default: build target/release/kv_server)")
    a = ap.parse_args()
    with side_by_side(a.kv_bin, a.workers, "kv-blocking-bench-") as ports:
        results = alternate(ports, a.rounds, lambda port: run(port, a.pairs, a.seconds))
    kv, rd = results["kv_server"], results["redis-server"]
    mk, mr = statistics.median(kv), statistics.median(rd)
    print(f"BLPOP ping-pong, {a.pairs} pairs, {a.rounds} alternating rounds of {a.seconds:g} s, "
          f"kv_server --workers {a.workers}")
    print(f"{'wake-ups/s':<12} {'kv_server':>12} {'redis-server':>13} {'ratio':>7}   per-round kv / redis")
    rounds = "  ".join(f"{k:.0f}/{r:.0f}" for k, r in zip(kv, rd))
    print(f"{'median':<12} {mk:>12.0f} {mr:>13.0f} {mk / mr:>7.2f}   {rounds}")


if __name__ == "__main__":
    main()
