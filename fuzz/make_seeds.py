#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus, fuzz/corpus/<target>/seed-*:

    fuzz/make_seeds.py            # resp_parse, dispatch, aof_read seeds (no server needed)
    fuzz/make_seeds.py --port N   # also rdb_load seeds: DUMP payloads of every type and
                                  # encoding, and a SAVEd file, from a kv_server on port N
                                  # (started with --dir of a scratch folder)

The dispatch seeds are scripts written in the target's byte code (see the top of
fuzz_targets/dispatch.rs); command names and words are looked up in the Rust sources, so
the seeds follow the command table.
"""
import os
import re
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


# ---- resp_parse: Input is arbitrary-derived; its tail is the data, so a plain request
# stream with a few leading bytes (limits, chunk sizes) is a fair start.
def resp_seeds():
    head = bytes([40, 200, 16, 1, 3, 7, 1, 63, 2])
    write("resp_parse", "multibulk", head + resp("SET", "k", "v") + resp("GET", "k") + b"*0\r\n*-1\r\n")
    write("resp_parse", "inline", head + b'PING\r\n\r\nECHO "x\\x00y" \'q\'\nGET k\r\n')
    write("resp_parse", "errors", head + b"PING\r\n*1\r\n$4\r\nPINGxx*abc\r\n$-2\r\n")


# ---- reply_parse: depth, bulk limit, element limit, then chunk sizes and the reply stream.
def reply_seeds():
    head = bytes([6, 200, 16, 3, 1, 7, 1, 63, 2])
    write("reply_parse", "replies", head + b"+OK\r\n-ERR x\r\n:-12\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n*0\r\n")
    write("reply_parse", "nested", head + b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n+x\r\n-E e\r\n*1\r\n*1\r\n*0\r\n")
    write("reply_parse", "errors", head + b"*2\r\n$2\r\nabcd\r\n:1x\r\n$-2\r\n?\r\n")


# ---- dispatch
def table():
    src = open(os.path.join(ROOT, "core/src/cmd/mod.rs")).read()
    body = src[src.index("pub static COMMANDS"):]
    body = body[: body.index("\n];")]
    names = re.findall(r'command!\("([a-z_|-]+)"', body)
    words_src = open(os.path.join(HERE, "fuzz_targets/dispatch.rs")).read()
    w = words_src[words_src.index("const WORDS"):]
    w = w[: w.index("];")]
    words = [bytes(x, "latin1").decode("unicode_escape").encode("latin1") for x in re.findall(r'b"((?:[^"\\]|\\.)*)"', w)]
    return names, words


KEYS = [b"a", b"b", b"{a}c", b""]


def encode(script, names, words):
    out = bytearray()
    for step in script:
        kind = step[0]
        if kind == "cmd":
            _, client, name, *args = step
            out += bytes([0, client, names.index(name.lower()), len(args)])
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                if a in KEYS:
                    out.append(KEYS.index(a) << 3)
                elif a in words:
                    out += bytes([4, words.index(a)])
                elif re.fullmatch(rb"-?[0-9]+", a) and -32768 <= int(a) <= 32767 and str(int(a)).encode() == a:
                    out.append(3)
                    out += struct.pack("<h", int(a))
                elif len(a) <= 6:
                    out.append((len(a) << 3) | 5)
                    out += a
                elif len(set(a)) == 1 and len(a) % 4 == 0 and len(a) // 4 < 256:
                    out += bytes([6, a[0], len(a) // 4])
                else:
                    raise ValueError(a)
        elif kind == "raw":
            _, client, data = step
            out += bytes([5, client, len(data)]) + data
        elif kind == "clock":
            ms = step[1]
            out += bytes([6, ms & 0xFF, ms >> 8])
        elif kind == "hangup":
            out += bytes([7, step[1]])
    return bytes(out)


def dispatch_seeds():
    names, words = table()
    c = lambda client, *a: ("cmd", client, *a)
    scripts = {
        "strings": [
            c(0, "set", "a", "1"), c(0, "incr", "a"), c(0, "append", "a", "xyz"),
            c(0, "getrange", "a", "0", "-1"), c(0, "setrange", "a", "10", "xx"),
            c(0, "expire", "a", "10"), ("clock", 11000), c(0, "get", "a"),
            c(0, "set", "b", b"x" * 100, "EX", "5", "GET"), c(0, "setbit", "b", "1000", "1"),
            c(0, "bitcount", "b"), c(0, "bitfield", "b", "INCRBY", "u8", "#1", "300", "OVERFLOW", "SAT"),
            c(0, "lcs", "a", "b", "IDX", "WITHMATCHLEN"), c(0, "incrbyfloat", "a", "1.5"),
        ],
        "lists_blocking": [
            c(1, "blpop", "b", "1"), c(0, "rpush", "b", "x", "y", "z"), c(1, "brpop", "b", "0"),
            c(2, "blmove", "a", "b", "LEFT", "RIGHT", "1"), ("clock", 1500),
            c(0, "lrange", "b", "0", "-1"), c(0, "lpos", "b", "x", "RANK", "-1"),
            c(0, "linsert", "b", "BEFORE", "x", "w"), c(0, "lmpop", "2", "a", "b", "LEFT", "COUNT", "2"),
            c(0, "sort", "b", "ALPHA", "DESC", "LIMIT", "0", "2"), ("hangup", 1), c(1, "llen", "b"),
        ],
        "aggregates": [
            c(0, "hset", "a", "f", "v", "g", "1"), c(0, "hincrby", "a", "g", "5"),
            c(0, "hrandfield", "a", "-3", "WITHVALUES"), c(0, "sadd", "b", "1", "2", "3"),
            c(0, "sadd", "{a}c", "3", "x"), c(0, "sinterstore", "b", "b", "{a}c"),
            c(0, "zadd", "{a}c", "1", "x", "2", "y"), c(0, "zadd", "", "GT", "CH", "1.5", "x"),
            c(0, "zrange", "", "0", "-1", "WITHSCORES"), c(0, "zunionstore", "a", "2", "", "b", "WEIGHTS", "2", "3"),
            c(0, "zrangebylex", "", "-", "+"), c(0, "object", "ENCODING", "b"), c(0, "dump", ""),
            c(0, "scan", "0", "MATCH", "*", "COUNT", "10"), c(0, "copy", "", "a", "REPLACE"),
        ],
        "transactions_pubsub": [
            c(0, "watch", "a"), c(1, "set", "a", "2"), c(0, "multi"), c(0, "set", "a", "1"),
            c(0, "incr", "a"), c(0, "exec"), c(1, "subscribe", "a"), c(2, "psubscribe", "*"),
            c(0, "publish", "a", "hi"), c(1, "unsubscribe"), c(2, "client", "PAUSE", "100", "WRITE"),
            c(0, "set", "a", "3"), ("clock", 200), c(2, "monitor"), c(0, "select", "2"),
            c(0, "swapdb", "0", "2"), c(0, "flushall"), c(0, "client", "LIST"),
            c(0, "config", "set", "notify-keyspace-events", "KEA"), c(1, "psubscribe", "__key*__:*"),
            c(0, "set", "b", "x", "PX", "10"), ("clock", 300),
        ],
        "raw": [
            ("raw", 0, b"SET a 1\r\nGET a\r\n"), ("raw", 1, b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"),
            ("raw", 2, b'MSET a "x\\x00" b \'y\'\n'), ("raw", 0, b"*1\r\n$4\r\nPING"),
            ("raw", 0, b"\r\n"), ("raw", 1, b"*abc\r\n"), c(1, "ping"),
        ],
    }
    for name, script in scripts.items():
        write("dispatch", name, encode(script, names, words))


# ---- aof_read: mode byte 0 manifest, 1 command stream, 2 whole file
def aof_seeds(preamble=None):
    manifest = (
        b"file appendonly.aof.1.base.rdb seq 1 type b\n"
        b"file appendonly.aof.1.incr.aof seq 1 type h\n"
        b'file "odd name\\n.aof" seq 2 type i\n'
    )
    write("aof_read", "manifest", b"\x00" + manifest)
    stream = (
        resp("SELECT", "0") + resp("SET", "a", "1") + b"#TS:1700000000\r\n"
        + resp("MULTI") + resp("RPUSH", "b", "x", "y") + resp("EXEC")
        + resp("PEXPIREAT", "a", "1700000000000") + resp("SELECT", "2") + resp("SADD", "c", "1")
    )
    write("aof_read", "stream", b"\x01" + stream)
    write("aof_read", "stream_cut", b"\x01" + stream + resp("MULTI") + resp("SET", "x", "y")[:-3])
    write("aof_read", "whole", b"\x02" + stream + resp("ZADD", "z", "1", "m") + resp("HSET", "h", "f", "v"))
    if preamble:
        write("aof_read", "whole_preamble", b"\x02" + preamble + stream)


# ---- rdb_load, from a running kv_server
class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def __call__(self, *args):
        self.s.sendall(resp(*args))
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError(line)


def rdb_seeds(port):
    r = Client(port)
    r("FLUSHALL")
    r("SET", "int", "12345")
    r("SET", "embstr", "hello")
    r("SET", "raw", "x" * 100)
    r("SET", "lzf", "abcd" * 200)
    r("RPUSH", "list", "a", "1", "b" * 70)
    r("SADD", "intset", "1", "2", "-300000")
    r("SADD", "set", "a", "b", "1")
    r("ZADD", "zlistpack", "1", "a", "2.5", "b")
    r("ZADD", "zskiplist", *sum(([str(i), "m%d" % i] for i in range(130)), []))
    r("HSET", "hlistpack", "f", "v", "n", "1")
    r("HSET", "hhashtable", "f", "v" * 70, "g", "1")
    r("SET", "ttl", "v")
    r("PEXPIREAT", "ttl", "4102444800000")
    for key in ["int", "embstr", "raw", "lzf", "list", "intset", "set", "zlistpack",
                "zskiplist", "hlistpack", "hhashtable"]:
        payload = r("DUMP", key)
        # The harness appends the version and CRC-64: seed the body.
        write("rdb_load", "dump_" + key, b"\x01" + payload[:-10])
    r("SELECT", "1")
    r("SET", "other", "db")
    r("SAVE")
    d = r("CONFIG", "GET", "dir")[1].decode()
    data = open(os.path.join(d, "dump.rdb"), "rb").read()
    write("rdb_load", "file", b"\x00" + data)
    write("rdb_load", "file_small_limits", b"\x04" + data)
    write("rdb_load", "file_into_engine", b"\x02" + data)
    return data


if __name__ == "__main__":
    resp_seeds()
    reply_seeds()
    dispatch_seeds()
    preamble = None
    if len(sys.argv) == 3 and sys.argv[1] == "--port":
        preamble = rdb_seeds(int(sys.argv[2]))
    aof_seeds(preamble)
