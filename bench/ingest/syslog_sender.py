#!/usr/bin/env python3
"""Syslog TCP load: CONNS connections each send COUNT/CONNS RFC 5424 messages, octet-counted, as
fast as the socket takes them, then polls LLEN on the ingest queue until all are there. The
payload is built before the clock starts; the figure is messages parsed AND enqueued per second."""
import socket, sys, threading, time

host, port, count, conns, redis_port, queue = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
per = count // conns

def payload(c):
    parts = []
    for i in range(per):
        m = f"<187>1 2025-03-15T11:00:00.123Z core-sw-{c:02d} ifmgr 1234 LINK [meta@32473 seq=\"{i}\"] %LINK-3-UPDOWN: Interface Gi0/{i % 48} changed state to down".encode()
        parts.append(str(len(m)).encode() + b" " + m)
    return b"".join(parts)

buffers = [payload(c) for c in range(conns)]
redis = socket.create_connection(("127.0.0.1", redis_port))
def llen():
    redis.sendall(f"*2\r\n$4\r\nLLEN\r\n${len(queue)}\r\n{queue}\r\n".encode())
    return int(redis.recv(64).split(b"\r\n")[0][1:])

def send(buf):
    s = socket.create_connection((host, port))
    s.sendall(buf)
    s.close()

start = time.time()
threads = [threading.Thread(target=send, args=(b,)) for b in buffers]
for t in threads: t.start()
for t in threads: t.join()
sent = time.time() - start
n = llen()
while n < per * conns and time.time() - start < 30:
    time.sleep(0.02)
    n = llen()
total = time.time() - start
print(f"sent {per * conns} in {sent:.2f}s; {n} parsed and enqueued in {total:.2f}s => {n / total:,.0f} msg/s")
