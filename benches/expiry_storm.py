#!/usr/bin/env python3
"""Mass expiry and memory given back: kv_server vs redis-server, one run.

    benches/expiry_storm.py [--kv-bin PATH] [--keys 1000000] [--workers 4] [--rounds 1]

For each server: load --keys keys (16-byte names, 16-byte values) with PX 1000-3000 ms,
then probe with 4 GET connections (separate processes, so on different kv_server workers)
for 6 s while the keys expire, and print each probe's worst GET latency; RSS and
used_memory before the load, after it, and 2 s after the last key expired; then RSS after
10,000 connections open and close. Every run is bounded; the servers this script started
are stopped by PID.
"""
import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from types_memory import Conn, free_port, rss  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE_SECS = 6.0


def start(kind, kv_bin, workers, tmp):
    port = free_port()
    if kind == "kv":
        cmd = [kv_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--workers", str(workers), "--loglevel", "warning", "--dir", tmp]
    else:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", tmp, "--loglevel", "warning"]
    env = dict(os.environ)
    if kind == "kv" and os.environ.get("KV_TUNABLES"):
        env["GLIBC_TUNABLES"] = os.environ["KV_TUNABLES"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit(f"{kind} did not start")


def used_memory(c):
    info = c.call("INFO", "memory")
    for line in info.split(b"\r\n"):
        if line.startswith(b"used_memory:"):
            return int(line.split(b":")[1])
    return -1


def probe(port, secs, q):
    c = Conn(port)
    worst = 0.0
    n = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        t0 = time.monotonic()
        c.call("GET", "key:%012d" % (n * 7919 % 1000000))
        worst = max(worst, time.monotonic() - t0)
        n += 1
    q.put((worst * 1000, n))


def payload(keys):
    """The load, encoded once: SET key value PX 1000-3000."""
    out = []
    for i in range(keys):
        k = b"key:%012d" % i
        v = b"%016d" % i
        px = b"%d" % (1000 + (i * 7) % 2000)
        out.append(b"*5\r\n$3\r\nSET\r\n$16\r\n%s\r\n$16\r\n%s\r\n$2\r\nPX\r\n$4\r\n%s\r\n"
                   % (k, v, px))
    return b"".join(out)


def load(port, data, keys):
    """Sends `data` while a thread reads the `keys` replies (no deadlock on full buffers)."""
    import threading
    s = socket.create_connection(("127.0.0.1", port))
    want = keys * 5  # "+OK\r\n"

    def drain():
        got = 0
        while got < want:
            b = s.recv(1 << 20)
            if not b:
                break
            got += len(b)
    t = threading.Thread(target=drain)
    t.start()
    s.sendall(data)
    t.join()
    s.close()


def run(kind, kv_bin, keys, workers, data):
    tmp = tempfile.mkdtemp(prefix="storm-")
    p, port = start(kind, kv_bin, workers, tmp)
    try:
        c = Conn(port)
        rss0, used0 = rss(p.pid), used_memory(c)
        t0 = time.monotonic()
        load(port, data, keys)
        load_s = time.monotonic() - t0
        rss1, used1, n1 = rss(p.pid), used_memory(c), c.call("DBSIZE")
        q = multiprocessing.Queue()
        probes = [multiprocessing.Process(target=probe, args=(port, PROBE_SECS, q))
                  for _ in range(4)]
        for pr in probes:
            pr.start()
        results = [q.get() for _ in probes]
        for pr in probes:
            pr.join()
        # The last key expired at most 3 s after the load ended; give active expiry time.
        while c.call("DBSIZE") > 0 and time.monotonic() - t0 < load_s + 15:
            time.sleep(0.2)
        gone = time.monotonic() - t0 - load_s
        time.sleep(2)
        rss2, used2 = rss(p.pid), used_memory(c)
        for _ in range(10000):
            socket.create_connection(("127.0.0.1", port)).close()
        time.sleep(1)
        rss3 = rss(p.pid)
        mb = 1 / (1 << 20)
        worst = sorted(r[0] for r in results)
        print(f"{kind:5}  load {load_s:5.1f}s keys {n1}  expired in {gone:4.1f}s after the load"
              f"  GET worst ms per probe {[round(w, 1) for w in worst]}"
              f"  RSS MB before/loaded/after/after-conns {rss0*mb:.1f}/{rss1*mb:.1f}/"
              f"{rss2*mb:.1f}/{rss3*mb:.1f}  used_memory MB {used0*mb:.1f}/{used1*mb:.1f}/"
              f"{used2*mb:.1f}", flush=True)
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kv-bin", default=os.path.join(ROOT, "target/release/kv_server"))
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    data = payload(a.keys)
    for _ in range(a.rounds):
        for kind in ("kv", "redis"):
            run(kind, a.kv_bin, a.keys, a.workers, data)


if __name__ == "__main__":
    main()
