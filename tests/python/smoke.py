"""Smoke test of kv_server with a real Python client (redis-py from PyPI).

Run by the e2e test `tools::python_client_smoke` as: python smoke.py PORT
Exits non-zero (with a traceback) on the first thing that is not as Redis would answer.
"""
import sys
import threading
import time

import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, db=0, decode_responses=True,
                lib_name="mini-kv-smoke", lib_version="1.0")
assert r.ping() is True
# CLIENT SETINFO is sent by redis-py on connect (lib_name / lib_version above).
me = r.client_info()
assert me["lib-name"] == "mini-kv-smoke", me
assert r.client_setname("smoke") is True
assert r.client_getname() == "smoke"

# SELECT through a second client bound to database 2.
r2 = redis.Redis(host="127.0.0.1", port=port, db=2, decode_responses=True)
r2.set("only-in-2", "x")
assert r.get("only-in-2") is None
assert r2.get("only-in-2") == "x"

# Pipelines, transactional=False.
p = r.pipeline(transaction=False)
for i in range(500):
    p.set(f"key:{i}", i)
for i in range(500):
    p.get(f"key:{i}")
res = p.execute()
assert res[:500] == [True] * 500
assert res[500:] == [str(i) for i in range(500)]

# Transactional pipelines (redis-py's default: MULTI ... EXEC) and WATCH.
p = r.pipeline()
p.set("tx", 1).incr("tx").lpush("txl", "a", "b").lrange("txl", 0, -1)
assert p.execute() == [True, 2, 2, ["b", "a"]]


def bump(pipe):
    n = int(pipe.get("tx"))
    pipe.multi()
    pipe.set("tx", n + 1)


assert r.transaction(bump, "tx") == [True]
assert r.get("tx") == "3"
with r.pipeline() as p:
    p.watch("tx")
    r2.execute_command("SELECT", "0")
    redis.Redis(host="127.0.0.1", port=port, db=0).set("tx", 100)
    p.multi()
    p.set("tx", 5)
    try:
        p.execute()
        raise AssertionError("EXEC ran although a watched key changed")
    except redis.WatchError:
        pass
assert r.get("tx") == "100"
# Blocking pops with a timeout, and lists.
assert r.blpop(["nolist"], timeout=0.1) is None
r.rpush("q", "job1")
assert r.brpop(["q"], timeout=1) == ("q", "job1")

# Expiry and counters.
assert r.set("t", "v", ex=100) is True
assert 99 <= r.ttl("t") <= 100
assert r.incrbyfloat("f", "0.1") == 0.1
assert r.incrbyfloat("f", "0.2") == 0.3

# INFO parsing.
info = r.info()
for field in ("redis_version", "connected_clients", "used_memory", "total_commands_processed",
              "keyspace_hits", "role", "uptime_in_seconds"):
    assert field in info, field
assert info["redis_version"] == "7.0.15"
assert info["role"] == "master"
assert info["db0"]["keys"] >= 502, info["db0"]
assert info["db2"]["keys"] == 1
everything = r.info("everything")
assert "cmdstat_set" in everything, sorted(everything)

# CONFIG GET / SET.
assert r.config_get("maxclients") == {"maxclients": "10000"}
assert r.config_set("maxclients", 5000) is True
assert r.config_get("maxclients") == {"maxclients": "5000"}
assert r.config_get("save") == {"save": ""}

# SCAN iteration returns every key once the scan is complete.
seen = set(r.scan_iter(match="key:*", count=37))
assert seen == {f"key:{i}" for i in range(500)}, len(seen)
assert r.dbsize() == 504  # key:0..499, t, f, tx, txl

# Errors come back as exceptions with Redis's text.
try:
    r.execute_command("SET", "k", "v", "EX", "0")
    raise AssertionError("no error")
except redis.ResponseError as e:
    assert str(e) == "invalid expire time in 'set' command", e

# Pub/sub with redis-py's PubSub (RESP2 subscriber mode).
def next_message(ps, timeout=5.0):
    """The next message (subscribe confirmations included) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ps.get_message(timeout=max(0.0, deadline - time.monotonic()))
        if m is not None:
            return m
    raise AssertionError("no pub/sub message within %s s" % timeout)


ps = r.pubsub()
ps.subscribe("news", "sport")
assert next_message(ps) == {"type": "subscribe", "pattern": None, "channel": "news", "data": 1}
assert next_message(ps) == {"type": "subscribe", "pattern": None, "channel": "sport", "data": 2}
ps.psubscribe("news.*")
assert next_message(ps) == {"type": "psubscribe", "pattern": None, "channel": "news.*", "data": 3}
assert r.publish("news", "hello") == 1
assert next_message(ps) == {"type": "message", "pattern": None, "channel": "news", "data": "hello"}
assert r.publish("news.tech", "rust") == 1
assert next_message(ps) == {"type": "pmessage", "pattern": "news.*", "channel": "news.tech",
                            "data": "rust"}
assert r.publish("nobody", "x") == 0
assert ps.get_message(timeout=0.1) is None
assert r.pubsub_numsub("news", "sport", "nobody") == [("news", 1), ("sport", 1), ("nobody", 0)]
assert sorted(r.pubsub_channels()) == ["news", "sport"]
assert r.pubsub_channels("sp*") == ["sport"]
assert r.pubsub_numpat() == 1
# PING in subscriber mode answers ["pong", ""].
ps.ping()
assert next_message(ps)["type"] == "pong"

# A second subscriber on another connection (another worker), binary-safe payloads.
rb = redis.Redis(host="127.0.0.1", port=port, db=0)
psb = rb.pubsub(ignore_subscribe_messages=True)
psb.subscribe("news", "bin")
assert psb.get_message(timeout=1.0) is None  # the confirmations, ignored
assert psb.get_message(timeout=0.1) is None
payload = bytes(range(256)) + b"\r\n*3\r\n"
assert rb.publish("bin", payload) == 1
assert next_message(psb) == {"type": "message", "pattern": None, "channel": b"bin",
                             "data": payload}
assert rb.publish("news", b"") == 2
assert next_message(psb)["data"] == b""
assert next_message(ps)["data"] == ""
assert r.pubsub_numsub("news") == [("news", 2)]

# Order from one publisher, received by a handler in redis-py's worker thread.
got = []
done = threading.Event()


def handler(m):
    got.append(m["data"])
    if len(got) == 200:
        done.set()


pst = r.pubsub()
pst.subscribe(**{"seq": handler})
worker = pst.run_in_thread(sleep_time=0.01, daemon=True)
deadline = time.monotonic() + 5
while r.pubsub_numsub("seq") != [("seq", 1)]:
    assert time.monotonic() < deadline, "the thread never subscribed"
    time.sleep(0.01)
pipe = r.pipeline(transaction=False)
for i in range(200):
    pipe.publish("seq", str(i))
assert pipe.execute() == [1] * 200
assert done.wait(5), len(got)
assert got == [str(i) for i in range(200)], got[:10]
worker.stop()
worker.join(timeout=5)
pst.close()

# Shard channels: their own namespace.
pss = r.pubsub()
pss.ssubscribe("shard")
assert next_message(pss) == {"type": "ssubscribe", "pattern": None, "channel": "shard", "data": 1}
assert r.spublish("shard", "s1") == 1
assert r.publish("shard", "not-for-shard") == 0
assert next_message(pss) == {"type": "smessage", "pattern": None, "channel": "shard", "data": "s1"}
assert r.pubsub_shardchannels() == ["shard"]
assert r.pubsub_shardnumsub("shard") == [("shard", 1)]
pss.sunsubscribe()
assert next_message(pss)["type"] == "sunsubscribe"
pss.close()

# Unsubscribing everything leaves subscriber mode; the channels go away.
ps.unsubscribe()
ps.punsubscribe()
kinds = sorted(next_message(ps)["type"] for _ in range(3))
assert kinds == ["punsubscribe", "unsubscribe", "unsubscribe"], kinds
assert r.pubsub_numsub("sport") == [("sport", 0)]
assert r.pubsub_numpat() == 0
ps.close()
psb.close()
deadline = time.monotonic() + 5
while r.pubsub_channels() != []:
    assert time.monotonic() < deadline, r.pubsub_channels()
    time.sleep(0.01)

# A subscribed connection refuses other commands (redis-py surfaces the error).
raw = redis.Redis(host="127.0.0.1", port=port, db=0, decode_responses=True,
                  single_connection_client=True)
raw.execute_command("SUBSCRIBE", "x")
try:
    raw.execute_command("GET", "k")
    raise AssertionError("GET ran in subscriber mode")
except redis.ResponseError as e:
    assert "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET" in str(e), e
assert raw.execute_command("RESET") == "RESET"
assert raw.execute_command("PING") is True
raw.close()

print("python smoke: ok")
