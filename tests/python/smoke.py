"""Smoke test of kv_server with a real Python client (redis-py from PyPI).

Run by the e2e test `tools::python_client_smoke` as: python smoke.py PORT
Exits non-zero (with a traceback) on the first thing that is not as Redis would answer.
"""
import sys

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

print("python smoke: ok")
