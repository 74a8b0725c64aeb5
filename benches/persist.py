#!/usr/bin/env python3
"""RDB persistence side by side: BGSAVE, SAVE and load of the same keyspace, kv_server vs
redis-server, in one run.

Both servers start with `--save ""` on free loopback ports, each with its own scratch
`--dir`, and are filled with the same N string keys (`key:%012d`, the names redis-benchmark's
`-t set -r N` writes, so that --write-during overwrites exactly this key range; values of
--value-size bytes) by a pipelined MSET stream over a raw socket. (DEBUG POPULATE would fill
redis-server faster but names keys `key:%d`, and kv_server has no DEBUG.) One SAVE then
writes each server's dump file. Every round, for each server, alternating which goes first:

  load    restart the server on its own dump file; seconds from process start until
          INFO persistence says `loading:0` and DBSIZE == N (both polled every 10 ms);
          GETs of 52 keys check the content
  BGSAVE  seconds from sending BGSAVE until INFO says `rdb_bgsave_in_progress:0` (polled
          every 10 ms), and the memory while it runs, sampled every 10 ms from /proc:
          kv_server's VmRSS (the snapshot runs in the process: it copies a shard before its
          first write), redis-server's VmRSS plus its fork child's VmRSS (found through
          /proc/PID/task/*/children; the two share most pages, so the sum overstates) and
          the parent's VmRSS plus the child's Private_Dirty (smaps_rollup): the memory the
          save really costs
  SAVE    seconds for a foreground SAVE to answer, and the size of the file

With --write-during a redis-benchmark SET load (`-t set -r N -d SIZE`, and --write-args,
by default `-P 16 -c 4`) overwrites
the same keys while BGSAVE runs, to show copy-on-write growth on both sides. The script
prints the medians, the ratio kv_server / redis-server and every round. Every wait has a
timeout; the servers and writers it started are stopped by PID at the end.

    benches/persist.py --kv-bin target/release/kv_server                 # 1,000,000 keys, 3 rounds
    benches/persist.py --kv-bin target/release/kv_server --write-during
    benches/persist.py --keys 200000 --value-size 100 --rounds 5
"""
import argparse
import glob
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import alternate, free_port, kv_binary  # noqa: E402
from blocking import Conn, encode  # noqa: E402

POLL = 0.010
MB = 1 << 20


def die(msg):
    sys.exit(f"persist.py: {msg}")


def value(j, size):
    v = b"v%d:" % j
    return (v * (size // len(v) + 1))[:size]


def status_kb(pid, field):
    """`field` (VmRSS, VmHWM) of /proc/PID/status in bytes, or 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def private_dirty(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def info(conn, section):
    raw = conn.call("INFO", section)
    return dict(l.split(":", 1) for l in raw.decode().split("\r\n") if ":" in l)


class Server:
    """One server process on its own scratch dir; restart() starts it again on the dump
    file there. Stopped by PID."""

    def __init__(self, name, argv, scratch):
        self.name, self.argv, self.dir = name, argv, scratch
        self.proc = self.port = self.conn = None

    def start(self):
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)).replace("{dir}", self.dir) for a in self.argv]
        # Both servers log to standard output; errors before the log starts go to stderr.
        self.proc = subprocess.Popen(argv, cwd=self.dir,
                                     stdout=open(os.path.join(self.dir, "server.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        return time.monotonic()

    def connect(self, deadline):
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die(f"{self.name} exited with status {self.proc.returncode} "
                    f"(see {self.dir}/server.log)")
            try:
                self.conn = Conn(self.port)
                self.conn.s.settimeout(max(1.0, deadline - time.monotonic()))
                return
            except OSError:
                time.sleep(POLL)
        die(f"{self.name} did not listen on {self.port}")

    def call(self, *args):
        if self.proc.poll() is not None:
            die(f"{self.name} exited with status {self.proc.returncode} (see {self.dir}/server.log)")
        return self.conn.call(*args)

    def stop(self):
        if self.conn:
            self.conn.s.close()
            self.conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc and self.proc.returncode not in (0, -15):
            die(f"{self.name} ended with status {self.proc.returncode} (see {self.dir}/server.log)")


def fill(srv, keys, size, batch=1000, window=32):
    """MSET of `batch` keys per command, `window` commands in flight."""
    sent = done = 0
    j = 0
    while j < keys or done < sent:
        while j < keys and sent - done < window:
            args = [b"MSET"]
            for k in range(j, min(j + batch, keys)):
                args += [b"key:%012d" % k, value(k, size)]
            srv.conn.s.sendall(encode(*args))
            j = min(j + batch, keys)
            sent += 1
        r = srv.conn.reply()
        if r != b"OK":
            die(f"{srv.name}: MSET answered {r!r}")
        done += 1


def load(srv, keys, size, timeout, written):
    """Restarts `srv` on its dump file: seconds until loading:0 and DBSIZE == keys."""
    srv.stop()
    t0 = srv.start()
    deadline = t0 + timeout
    srv.connect(deadline)
    while True:
        if time.monotonic() > deadline:
            die(f"{srv.name}: not loaded after {timeout} s (last INFO loading / DBSIZE above)")
        try:
            if info(srv.conn, "persistence").get("loading") == "0":
                n = srv.call("DBSIZE")
                if int(n) == keys:
                    break
                die(f"{srv.name}: loading:0 but DBSIZE {int(n)} after loading {keys} keys "
                    f"from {srv.dir}/dump.rdb")
        except RuntimeError as e:  # -LOADING
            if not str(e).startswith("LOADING"):
                die(f"{srv.name}: {e} while loading")
        time.sleep(POLL)
    elapsed = time.monotonic() - t0
    rng = random.Random(keys)
    for k in [0, keys - 1] + [rng.randrange(keys) for _ in range(50)]:
        got = srv.call("GET", b"key:%012d" % k)
        # redis-benchmark writes random bytes of the same size
        if got != value(k, size) and not (written and got is not None and len(got) == size):
            die(f"{srv.name}: after loading, GET key:{k:012d} = {got!r}")
    return elapsed


def bgsave(srv, keys, size, write, timeout):
    """BGSAVE: seconds until rdb_bgsave_in_progress:0 and the memory meanwhile."""
    writer = None
    if write:
        # Bounded by itself (-n), stopped as soon as the save ends.
        writer = subprocess.Popen(
            ["redis-benchmark", "-p", str(srv.port), "-t", "set", "-r", str(keys), "-d", str(size),
             *write.split(), "-n", str(max(keys, 1000000) * 50), "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    pid = srv.proc.pid
    rss0 = status_kb(pid, "VmRSS")
    cmds0 = int(info(srv.conn, "stats")["total_commands_processed"])
    peak = {"rss": rss0, "sum": rss0, "dirty": rss0, "child_dirty": 0}
    polls = 0
    try:
        t0 = time.monotonic()
        r = srv.call("BGSAVE")
        if not r.startswith(b"Background saving"):
            die(f"{srv.name}: BGSAVE answered {r!r}")
        while True:
            rss = status_kb(pid, "VmRSS")
            kids = children(pid)
            kid_rss = sum(status_kb(c, "VmRSS") for c in kids)
            kid_dirty = sum(private_dirty(c) for c in kids)
            peak["rss"] = max(peak["rss"], rss)
            peak["sum"] = max(peak["sum"], rss + kid_rss)
            peak["dirty"] = max(peak["dirty"], rss + kid_dirty)
            peak["child_dirty"] = max(peak["child_dirty"], kid_dirty)
            p = info(srv.conn, "persistence")
            polls += 1
            if p["rdb_bgsave_in_progress"] == "0":
                break
            if time.monotonic() - t0 > timeout:
                die(f"{srv.name}: BGSAVE still in progress after {timeout} s")
            time.sleep(POLL)
        elapsed = time.monotonic() - t0
    finally:
        if writer:
            writer.terminate()
            writer.wait(timeout=10)
    if p["rdb_last_bgsave_status"] != "ok":
        die(f"{srv.name}: rdb_last_bgsave_status:{p['rdb_last_bgsave_status']}")
    writes = int(info(srv.conn, "stats")["total_commands_processed"]) - cmds0 - polls - 2
    return {"bgsave_s": elapsed, "rss_before": rss0, "peak_rss": peak["rss"],
            "peak_sum": peak["sum"], "peak_dirty": peak["dirty"], "child_dirty": peak["child_dirty"],
            "growth": peak["dirty"] - rss0, "writes": writes, "write_rate": writes / elapsed,
            "cow": int(p.get("rdb_last_cow_size", 0))}


def save(srv, timeout):
    srv.conn.s.settimeout(timeout)
    t0 = time.monotonic()
    r = srv.call("SAVE")
    elapsed = time.monotonic() - t0
    if r != b"OK":
        die(f"{srv.name}: SAVE answered {r!r}")
    return elapsed, os.path.getsize(os.path.join(srv.dir, "dump.rdb"))


def measure(srv, a):
    res = {"load_s": load(srv, a.keys, a.value_size, a.timeout, a.write_during)}
    time.sleep(0.5)  # let the freshly loaded server settle
    res.update(bgsave(srv, a.keys, a.value_size, a.write_during and a.write_args, a.timeout))
    res["save_s"], res["file"] = save(srv, a.timeout)
    return res


ROWS = [  # (key, label, scale, format)
    ("load_s", "load (s)", 1, "{:.3f}"),
    ("rss_before", "RSS before BGSAVE (MB)", MB, "{:.1f}"),
    ("bgsave_s", "BGSAVE (s)", 1, "{:.3f}"),
    ("peak_rss", "BGSAVE peak RSS, server process (MB)", MB, "{:.1f}"),
    ("peak_sum", "BGSAVE peak RSS + fork child RSS (MB)", MB, "{:.1f}"),
    ("peak_dirty", "BGSAVE peak RSS + child Private_Dirty (MB)", MB, "{:.1f}"),
    ("growth", "BGSAVE peak growth over RSS before (MB)", MB, "{:.1f}"),
    ("save_s", "SAVE (s)", 1, "{:.3f}"),
    ("file", "RDB file (MB)", MB, "{:.1f}"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--value-size", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="kv_server --workers")
    ap.add_argument("--write-during", action="store_true",
                    help="overwrite the keys with a redis-benchmark SET load while BGSAVE runs")
    ap.add_argument("--write-args", default="-P 16 -c 4",
                    help="the writer's other redis-benchmark arguments (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take")
    ap.add_argument("--kv-bin", default=None)
    a = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="kv-persist-bench-")
    common = ["--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--dir", "{dir}",
              "--loglevel", "warning"]
    servers = {}
    for name, argv in (("kv_server", [os.path.abspath(kv_binary(a.kv_bin)), *common, "--workers", str(a.workers)]),
                       ("redis-server", ["redis-server", *common, "--appendonly", "no",
                                         "--daemonize", "no"])):
        d = os.path.join(scratch, name)
        os.mkdir(d)
        servers[name] = Server(name, argv, d)
    try:
        for srv in servers.values():
            srv.connect(srv.start() + 10)
            t0 = time.monotonic()
            fill(srv, a.keys, a.value_size)
            n = int(srv.call("DBSIZE"))
            if n != a.keys:
                die(f"{srv.name}: DBSIZE {n} after filling {a.keys} keys")
            srv.conn.s.settimeout(a.timeout)
            if srv.call("SAVE") != b"OK":
                die(f"{srv.name}: the first SAVE failed")
            print(f"{srv.name}: filled {n} keys and saved in {time.monotonic() - t0:.1f} s", flush=True)
        results = alternate(servers, a.rounds, lambda srv: measure(srv, a))
    finally:
        for srv in servers.values():
            srv.stop()
    shutil.rmtree(scratch, ignore_errors=True)

    rows = ROWS + ([("writes", "SETs served during BGSAVE", 1, "{:.0f}"),
                    ("write_rate", "SETs per second during BGSAVE", 1, "{:.0f}")] if a.write_during else [])
    print(f"{a.keys} keys of {a.value_size}-byte values, {a.rounds} alternating rounds, "
          f"kv_server --workers {a.workers}" +
          (f", SET load ({a.write_args}) during BGSAVE" if a.write_during else ""))
    print(f"{'metric':<44} {'kv_server':>10} {'redis-server':>13} {'ratio':>6}   per-round kv / redis")
    for key, label, scale, fmt in rows:
        kv = [r[key] / scale for r in results["kv_server"]]
        rd = [r[key] / scale for r in results["redis-server"]]
        mk, mr = statistics.median(kv), statistics.median(rd)
        ratio = f"{mk / mr:.2f}" if mr else "-"
        rounds = "  ".join(f"{fmt.format(k)}/{fmt.format(r)}" for k, r in zip(kv, rd))
        print(f"{label:<44} {fmt.format(mk):>10} {fmt.format(mr):>13} {ratio:>6}   {rounds}")
    cow = [r["cow"] / MB for r in results["redis-server"]]
    print(f"redis-server's own rdb_last_cow_size (MB): {'  '.join(f'{c:.1f}' for c in cow)}")


if __name__ == "__main__":
    main()
