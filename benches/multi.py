#!/usr/bin/env python3
"""MULTI/EXEC throughput: kv_server vs redis-server side by side.

Each client (its own process) loops: MULTI, 10 SETs of random keys, EXEC, sent in one
write, then reads the 13 replies; transactions per second over all clients, medians of
alternating rounds, and the ratio kv_server / redis-server. Only the standard library;
the servers it started are stopped by PID at the end.

    benches/multi.py --kv-bin target/release/kv_server             # 8 clients, 3 rounds of 3 s
    benches/multi.py --clients 16 --rounds 5 --seconds 5
"""
import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import alternate, side_by_side  # noqa: E402
from blocking import Conn, encode  # noqa: E402

SETS = 10


def client(port, seconds, seed, out):
    try:
        c = Conn(port)
        rng = random.Random(seed)
        n = 0
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            req = [encode("MULTI")]
            req += [encode("SET", f"k:{rng.randrange(100000)}", "v" * 16) for _ in range(SETS)]
            req.append(encode("EXEC"))
            c.s.sendall(b"".join(req))
            for _ in range(SETS + 1):
                c.reply()
            r = c.reply()
            if not isinstance(r, list) or len(r) != SETS:
                raise RuntimeError(f"EXEC answered {r!r}")
            n += 1
        out.put(n)
    except Exception as e:
        out.put(f"client {seed}: {e}")


def run(port, clients, seconds):
    Conn(port).call("FLUSHALL")
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(port, seconds, i, q)) for i in range(clients)]
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
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="kv_server --workers")
    ap.add_argument("--kv-bin", default=None)
    a = ap.parse_args()
    with side_by_side(a.kv_bin, a.workers, "kv-multi-bench-") as ports:
        results = alternate(ports, a.rounds, lambda port: run(port, a.clients, a.seconds))
    kv, rd = results["kv_server"], results["redis-server"]
    mk, mr = statistics.median(kv), statistics.median(rd)
    print(f"MULTI + {SETS} SET + EXEC, {a.clients} clients, {a.rounds} alternating rounds of "
          f"{a.seconds:g} s, kv_server --workers {a.workers}")
    print(f"{'tx/s':<8} {'kv_server':>10} {'redis-server':>13} {'ratio':>7}   per-round kv / redis")
    rounds = "  ".join(f"{k:.0f}/{r:.0f}" for k, r in zip(kv, rd))
    print(f"{'median':<8} {mk:>10.0f} {mr:>13.0f} {mk / mr:>7.2f}   {rounds}")


if __name__ == "__main__":
    main()
