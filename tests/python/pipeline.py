"""A redis-py pipeline that writes all its commands before it reads any reply.

Run by the e2e test `pipeline::redis_py_pipeline_of_300k_gets` as: python pipeline.py PORT
redis-py's `pipeline.execute()` sends every command (here 300,000 GETs of a 100-byte value,
about 33 MB of replies) and only then reads. A server that stops reading its socket while
replies are unsent leaves the client blocked in send; the socket timeout turns that into a
failure instead of a hang.
"""
import sys
import time

import redis

port = int(sys.argv[1])
N = 300_000
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=60)
value = b"v" * 100
r.set("k", value)
start = time.monotonic()
p = r.pipeline(transaction=False)
for _ in range(N):
    p.get("k")
replies = p.execute()
took = time.monotonic() - start
assert len(replies) == N, len(replies)
assert all(v == value for v in replies)
print(f"redis-py pipeline of {N} GETs: {took:.2f} s")
print("python pipeline: ok")
