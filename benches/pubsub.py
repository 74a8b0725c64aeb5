#!/usr/bin/env python3
"""Pub/sub fan-out: messages delivered per second, kv_server vs redis-server side by side.

For each case (1 subscriber, 100 subscribers by default) a round runs, on each server in
turn: the subscribers SUBSCRIBE to one channel (spread over --sub-procs processes, each
reading its sockets with a selector and counting bytes: every message has the same size),
then --publishers processes send PUBLISH pipelined (--pipeline commands a write, replies
read and counted in bytes too) for --seconds; when they stop, the subscribers read until
they have every message published, and the round reports

    delivered/s = subscribers x messages published / (last byte received - first PUBLISH)

and the PUBLISH calls per second. Rounds alternate which server goes first; the script
prints the medians and the ratio kv_server / redis-server. Both servers run with
`client-output-buffer-limit pubsub 0 0 0` (subscribers that fall behind are not closed).
Only the standard library; every round is bounded (a subscriber that misses messages for
10 s fails the run), and the servers it started are stopped by PID at the end.

    benches/pubsub.py --kv-bin target/release/kv_server        # 1 and 100 subscribers, 3 rounds
    benches/pubsub.py --subscribers 1,10,100 --rounds 5 --seconds 3 --payload 64
"""
import argparse
import multiprocessing
import os
import selectors
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import alternate, side_by_side  # noqa: E402
from blocking import Conn, encode  # noqa: E402

CHANNEL = b"bench"
# A subscriber missing messages this long after the publishers stopped fails the run.
DRAIN_TIMEOUT = 10.0


def message_size(payload):
    return len(b"*3\r\n$7\r\nmessage\r\n" + b"$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL)
               + b"$%d\r\n%s\r\n" % (len(payload), payload))


def subscriber_proc(port, n, payload, ready, start_q, out):
    """Opens `n` subscribed connections; reports (first ack time) on `ready`; then reads
    until every socket has the number of messages that arrives on `start_q`."""
    try:
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(encode("SUBSCRIBE", CHANNEL))
            ack = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL)
            got = b""
            while len(got) < len(ack):
                got += s.recv(len(ack) - len(got))
            if got != ack:
                raise RuntimeError(f"SUBSCRIBE answered {got!r}")
            s.setblocking(False)
            socks.append(s)
        ready.put("ok")
        size = message_size(payload)
        sel = selectors.DefaultSelector()
        received = {}
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
            received[s] = 0
        buf = bytearray(1 << 18)
        want = None  # bytes each socket must get; known once the publishers stop
        done = 0
        last = time.monotonic()
        while True:
            if want is None and not start_q.empty():
                want = start_q.get() * size
                done = sum(1 for v in received.values() if v >= want)
            if want is not None and done == len(socks):
                break
            if want is not None and time.monotonic() - last > DRAIN_TIMEOUT:
                short = [v // size for v in received.values() if v < want]
                raise RuntimeError(f"{len(short)} subscribers short of {want // size} "
                                   f"messages, e.g. {short[:3]}")
            for key, _ in sel.select(timeout=0.05):
                s = key.fileobj
                try:
                    k = s.recv_into(buf)
                except BlockingIOError:
                    continue
                if k == 0:
                    raise RuntimeError("a subscriber was disconnected")
                before = received[s]
                received[s] += k
                last = time.monotonic()
                if want is not None and before < want <= received[s]:
                    done += 1
        bad = [v for v in received.values() if v != want]
        if bad:
            raise RuntimeError(f"subscribers got {bad[0]} bytes, not {want}")
        out.put(("ok", last))
        for s in socks:
            s.close()
    except Exception as e:  # reported to the parent
        ready.put(f"error: {e}")
        out.put(("error", str(e)))


def publisher_proc(port, seconds, pipeline, payload, receivers, go, out):
    """PUBLISH pipelined for `seconds` after `go`; puts (published, first send time)."""
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        batch = encode("PUBLISH", CHANNEL, payload) * pipeline
        reply = b":%d\r\n" % receivers
        want = len(reply) * pipeline
        buf = bytearray(1 << 16)
        go.wait()
        start = time.monotonic()
        stop = start + seconds
        n = 0
        while time.monotonic() < stop:
            s.sendall(batch)
            got = 0
            first = None
            while got < want:
                k = s.recv_into(buf)
                if k == 0:
                    raise RuntimeError("publisher disconnected")
                if first is None:
                    first = bytes(buf[:len(reply)])
                got += k
            if first != reply:
                raise RuntimeError(f"PUBLISH answered {first!r}, not {reply!r}")
            n += pipeline
        out.put(("ok", n, start, time.monotonic()))
        s.close()
    except Exception as e:
        out.put(("error", str(e), 0, 0))


def run(port, subscribers, a):
    payload = b"x" * a.payload
    ctl = Conn(port)
    ctl.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0")
    procs = min(a.sub_procs, subscribers)
    share = [subscribers // procs + (1 if i < subscribers % procs else 0) for i in range(procs)]
    ready, out = multiprocessing.Queue(), multiprocessing.Queue()
    starts = [multiprocessing.Queue() for _ in range(procs)]
    subs = [multiprocessing.Process(target=subscriber_proc,
                                    args=(port, n, payload, ready, starts[i], out))
            for i, n in enumerate(share)]
    for p in subs:
        p.start()
    for _ in subs:
        r = ready.get(timeout=30)
        if r != "ok":
            sys.exit(f"port {port}: {r}")
    deadline = time.monotonic() + 10
    while ctl.call("PUBSUB", "NUMSUB", CHANNEL)[1] != str(subscribers).encode():
        if time.monotonic() > deadline:
            sys.exit(f"port {port}: the subscribers never all subscribed")
        time.sleep(0.01)
    go = multiprocessing.Event()
    pout = multiprocessing.Queue()
    pubs = [multiprocessing.Process(target=publisher_proc,
                                    args=(port, a.seconds, a.pipeline, payload, subscribers,
                                          go, pout))
            for _ in range(a.publishers)]
    for p in pubs:
        p.start()
    go.set()
    results = [pout.get(timeout=a.seconds + 60) for _ in pubs]
    errors = [r[1] for r in results if r[0] != "ok"]
    if errors:
        sys.exit(f"port {port}: publisher: {errors[0]}")
    published = sum(r[1] for r in results)
    first = min(r[2] for r in results)
    pub_end = max(r[3] for r in results)
    for q in starts:
        q.put(published)
    lasts = [out.get(timeout=DRAIN_TIMEOUT + 30) for _ in subs]
    errors = [r[1] for r in lasts if r[0] != "ok"]
    if errors:
        sys.exit(f"port {port}: subscriber: {errors[0]}")
    for p in subs + pubs:
        p.join(timeout=10)
    last = max(r[1] for r in lasts)
    return {
        "delivered/s": subscribers * published / (last - first),
        "publish/s": published / (pub_end - first),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", default="1,100",
                    help="comma-separated subscriber counts, one case each")
    ap.add_argument("--publishers", type=int, default=1)
    ap.add_argument("--pipeline", type=int, default=64, help="PUBLISH commands a write")
    ap.add_argument("--payload", type=int, default=16, help="message bytes")
    ap.add_argument("--sub-procs", type=int, default=2, help="subscriber processes")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="kv_server --workers")
    ap.add_argument("--kv-bin", default=None)
    a = ap.parse_args()
    cases = [int(x) for x in a.subscribers.split(",")]
    table = []
    with side_by_side(a.kv_bin, a.workers, "kv-pubsub-bench-") as ports:
        for n in cases:
            res = alternate(ports, a.rounds, lambda port, n=n: run(port, n, a))
            table.append((n, res))
    print(f"PUBLISH fan-out: {a.publishers} publisher(s), pipeline {a.pipeline}, "
          f"{a.payload}-byte payloads, {a.rounds} alternating rounds of {a.seconds:g} s, "
          f"kv_server --workers {a.workers}")
    print(f"{'subscribers':<12} {'metric':<12} {'kv_server':>11} {'redis-server':>13} "
          f"{'ratio':>6}   per-round kv / redis")
    for n, res in table:
        for metric in ("delivered/s", "publish/s"):
            kv = [r[metric] for r in res["kv_server"]]
            rd = [r[metric] for r in res["redis-server"]]
            mk, mr = statistics.median(kv), statistics.median(rd)
            rounds = "  ".join(f"{k:.0f}/{r:.0f}" for k, r in zip(kv, rd))
            print(f"{n:<12} {metric:<12} {mk:>11.0f} {mr:>13.0f} {mk / mr:>6.2f}   {rounds}")


if __name__ == "__main__":
    main()
