#!/usr/bin/env python3
"""Side-by-side load test: kv_server vs redis-server on this machine, with redis-benchmark.

Both servers run on loopback at once; each round runs the same redis-benchmark command
against each, alternating which goes first, and the script prints the median requests per
second of every test and the ratio kv_server / redis-server. Both keyspaces are prepopulated
first so that GETs hit. Every run is bounded (-n requests), and the servers this script
started are stopped by PID at the end.

    benches/compare.py                # defaults below, 3 rounds
    benches/compare.py --rounds 5 --workers 4 -- -P 16 -d 1024 -c 50 --threads 2 \\
        -r 100000 -n 600000 -t set,get
    benches/compare.py --prepare "-n 1000000 -r 1000000 -P 64 zadd zbig __rand_int__ m:__rand_int__" \\
        -- -n 300000 -P 16 -r 1000000 zrank zbig m:__rand_int__
"""
import argparse
import contextlib
import csv
import io
import os
import socket
import statistics
import subprocess
import tempfile
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = "-P 16 -d 1024 -c 50 --threads 2 -r 100000 -n 600000 -t set,get".split()


_next_port = [0]


def free_port():
    # KV_E2E_PORTS=LOW-HIGH keeps to a range (machines shared by several runs).
    span = os.environ.get("KV_E2E_PORTS")
    if span:
        lo, hi = (int(x) for x in span.split("-"))
        for _ in range(hi - lo + 1):
            port = lo + (os.getpid() + _next_port[0]) % (hi - lo + 1)
            _next_port[0] += 1
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise SystemExit(f"no free port in {span}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with status {proc.returncode}")
        try:
            # Listening is not enough: a server loading its data answers -LOADING.
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{what} did not answer PING on {port}")


def kv_binary(path):
    """`path`, or target/release/kv_server built now."""
    if path is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "kv-server"], cwd=ROOT, check=True)
        path = os.path.join(ROOT, "target/release/kv_server")
    return path


@contextlib.contextmanager
def side_by_side(kv_bin, workers, prefix, server_args=()):
    """Starts kv_server (`--workers`) and redis-server on free loopback ports (both with
    `server_args` after their defaults, e.g. `--appendonly yes`), waits until both listen,
    yields {name: port}, and stops both by PID at the end."""
    kv_port, redis_port = free_port(), free_port()
    scratch = tempfile.mkdtemp(prefix=prefix)  # anything redis-server writes
    procs = {
        "kv_server": subprocess.Popen(
            [kv_binary(kv_bin), "--port", str(kv_port),
             "--bind", "127.0.0.1", "--workers", str(workers), "--loglevel", "warning",
             "--save", "", "--dir", scratch, *server_args],
            cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        "redis-server": subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
             "--dir", scratch, *server_args],
            cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    }
    ports = {"kv_server": kv_port, "redis-server": redis_port}
    try:
        for name, p in procs.items():
            wait_ready(ports[name], p, name)
        yield ports
    finally:
        for p in procs.values():
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


def alternate(ports, rounds, measure):
    """`rounds` rounds of `measure(port)` on each server, alternating which goes first:
    {name: [result per round]}."""
    results = {n: [] for n in ports}
    order = list(ports)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            results[name].append(measure(ports[name]))
    return results


def bench(port, args):
    cmd = ["redis-benchmark", "-p", str(port), "--csv", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {r[0]: float(r[1]) for r in rows[1:] if len(r) > 1}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="kv_server --workers")
    ap.add_argument("--prepare", default=None,
                    help="redis-benchmark arguments that fill both servers first (default: "
                         "SETs over the -r key range with the -d value size)")
    ap.add_argument("--kv-bin", default=None,
                    help="the kv_server binary to run (default: build target/release/kv_server); "
                         "e.g. an older build, to compare before and after a change")
    ap.add_argument("--server-args", default="",
                    help="options for both servers, e.g. \"--appendonly yes --appendfsync always\"")
    ap.add_argument("bench_args", nargs="*", help="redis-benchmark arguments (after --)")
    a = ap.parse_args()
    args = a.bench_args or DEFAULT
    with side_by_side(a.kv_bin, a.workers, "kv-compare-", a.server_args.split()) as ports:
        # Prepopulate: enough random SETs over the same key range and value size.
        keyspace = args[args.index("-r") + 1] if "-r" in args else "100000"
        size = args[args.index("-d") + 1] if "-d" in args else "3"
        prepare = (a.prepare.split() if a.prepare else
                   ["-t", "set", "-r", keyspace, "-d", size, "-P", "16",
                    "-n", str(int(keyspace) * 5), "-c", "20"])
        for port in ports.values():
            subprocess.run(["redis-benchmark", "-p", str(port), "-q", *prepare],
                           check=True, capture_output=True, timeout=600)
        results = alternate(ports, a.rounds, lambda port: bench(port, args))
        tests = list(results["kv_server"][0])
        print(f"redis-benchmark {' '.join(args)}  ({a.rounds} alternating rounds, kv_server --workers {a.workers}"
              + (f", both {a.server_args}" if a.server_args else "") + ")")
        print(f"{'test':<10} {'kv_server rps':>15} {'redis-server rps':>17} {'ratio':>7}   per-round kv / redis")
        for t in tests:
            kv = [x[t] for x in results["kv_server"]]
            rd = [x[t] for x in results["redis-server"]]
            mk, mr = statistics.median(kv), statistics.median(rd)
            rounds = "  ".join(f"{k:.0f}/{r:.0f}" for k, r in zip(kv, rd))
            print(f"{t:<10} {mk:>15.0f} {mr:>17.0f} {mk / mr:>7.2f}   {rounds}")


if __name__ == "__main__":
    main()
