#!/usr/bin/env python3
"""Memory per element of hashes, sets, sorted sets and lists: kv_server vs redis-server, one run.

    benches/types_memory.py [--kv-bin PATH] [--sizes 10,100,100000] [--elements 1000000]

For each type and collection size N it fills both servers with enough keys of N elements to
hold about --elements elements in all (16-byte fields/members, 16-byte values; set members
are strings, so sets are hashtables past 512... as Redis; list elements are the 16-byte
members, pushed with RPUSH), then prints, per element: the RSS
growth (from /proc/PID/statm, after the fill, minus before) and MEMORY USAGE of one key
divided by N, for both servers, and the ratio kv/redis.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, cmds):
        out = []
        for args in cmds:
            out.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 20)
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def reply(self):
        l = self.line()
        if l[:1] == b"$":
            n = int(l[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(1 << 20)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if l[:1] == b"*":
            return [self.reply() for _ in range(int(l[1:]))]
        if l[:1] == b":":
            return int(l[1:])
        return l

    def call(self, *args):
        self.send([args])
        return self.reply()

    def pipeline(self, cmds, batch=1000):
        for i in range(0, len(cmds), batch):
            chunk = cmds[i:i + batch]
            self.send(chunk)
            for _ in chunk:
                self.reply()


def fill(conn, kind, keys, n):
    for k in range(keys):
        key = b"%s:%08d" % (kind.encode(), k)
        cmds = []
        for e in range(n):
            el = b"el:%013d" % e  # 16 bytes
            if kind == "hash":
                cmds.append((b"HSET", key, el, b"value:%010d" % e))
            elif kind == "set":
                cmds.append((b"SADD", key, el))
            elif kind == "intset":
                cmds.append((b"SADD", key, b"%d" % (e * 7)))
            elif kind == "list":
                cmds.append((b"RPUSH", key, el))
            else:
                cmds.append((b"ZADD", key, b"%d" % e, el))
        conn.pipeline(cmds)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kv-bin", default=os.path.join(ROOT, "target/release/kv_server"))
    ap.add_argument("--sizes", default="10,100,100000")
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--types", default="hash,set,intset,zset,list")
    a = ap.parse_args()
    print(f"{'type':<7} {'N':>7} {'keys':>7} | {'kv RSS/el':>9} {'redis RSS/el':>12} {'ratio':>5} | "
          f"{'kv MEM/el':>9} {'redis MEM/el':>12} {'ratio':>5}")
    for kind in a.types.split(","):
        for n in (int(x) for x in a.sizes.split(",")):
            keys = max(1, a.elements // n)
            res = {}
            for name in ("kv", "redis"):
                port = free_port()
                d = tempfile.mkdtemp(prefix="kv-typesmem-")
                if name == "kv":
                    cmd = [a.kv_bin, "--port", str(port), "--bind", "127.0.0.1", "--loglevel", "warning", "--save", ""]
                else:
                    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", d, "--loglevel", "warning"]
                p = subprocess.Popen(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    for _ in range(200):
                        try:
                            c = Conn(port)
                            break
                        except OSError:
                            time.sleep(0.05)
                    c.call(b"PING")
                    time.sleep(0.3)
                    before = rss(p.pid)
                    fill(c, kind, keys, n)
                    time.sleep(0.5)
                    after = rss(p.pid)
                    usage = int(c.call(b"MEMORY", b"USAGE", b"%s:%08d" % (kind.encode(), 0), b"SAMPLES", b"0"))
                    enc = c.call(b"OBJECT", b"ENCODING", b"%s:%08d" % (kind.encode(), 0)).decode()
                    res[name] = ((after - before) / (keys * n), usage / n, enc)
                finally:
                    p.terminate()
                    p.wait()
            kv, rd = res["kv"], res["redis"]
            print(f"{kind:<7} {n:>7} {keys:>7} | {kv[0]:>9.1f} {rd[0]:>12.1f} {kv[0] / rd[0]:>5.2f} | "
                  f"{kv[1]:>9.1f} {rd[1]:>12.1f} {kv[1] / rd[1]:>5.2f}   enc {kv[2]}/{rd[2]}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
