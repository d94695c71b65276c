#!/usr/bin/env python3
"""Syslog TCP load: CONNS connections each send COUNT/CONNS RFC 5424 messages, octet-counted, as
fast as the socket takes them, then polls the SINK until all have arrived. With PROTO=relp the
same messages go as RELP `syslog` frames instead, keeping at most WINDOW (default 1024, omrelp's
windowSize in deploy/rsyslog) unacknowledged per connection, as omrelp does. The payload is built
before the clock starts. SINK says where "arrived" is observed:
  redis:PORT:QUEUE  LLEN of the queue (the Ingestor: messages parsed AND enqueued per second)
  file:PATH         newlines in the file (rsyslog's omfile: messages received AND written per second)
HOST:PORT may be the Ingestor itself or an rsyslog that relays (imtcp -> omrelp), so the same
corpus drives every receiver. TIMEOUT (env, seconds, default 60) bounds the wait."""
import os, socket, sys, threading, time

host, port, count, conns, sink = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
per = count // conns
timeout = float(os.environ.get("TIMEOUT", "60"))
relp = os.environ.get("PROTO", "tcp") == "relp"
window = int(os.environ.get("WINDOW", "1024"))
CHUNK = max(1, window // 4)

def message(c, i):
    return f"<187>1 2025-03-15T11:00:00.123Z core-sw-{c:02d} ifmgr 1234 LINK [meta@32473 seq=\"{i}\"] %LINK-3-UPDOWN: Interface Gi0/{i % 48} changed state to down".encode()

def payload(c):
    if relp:
        # Chunks of CHUNK frames, transaction numbers from 2 (1 is the open).
        frames = [b"%d syslog %d %s\n" % (i + 2, len(m), m) for i, m in ((i, message(c, i)) for i in range(per))]
        return [b"".join(frames[k:k + CHUNK]) for k in range(0, per, CHUNK)]
    return b"".join(str(len(m)).encode() + b" " + m for m in (message(c, i) for i in range(per)))

if sink.startswith("redis:"):
    _, redis_port, queue = sink.split(":", 2)
    redis = socket.create_connection(("127.0.0.1", int(redis_port)))
    def arrived():
        redis.sendall(f"*2\r\n$4\r\nLLEN\r\n${len(queue)}\r\n{queue}\r\n".encode())
        return int(redis.recv(64).split(b"\r\n")[0][1:])
elif sink.startswith("file:"):
    path, lines, offset = sink[5:], 0, 0
    def arrived():
        # Incremental: only the bytes written since the last poll are read and counted.
        global lines, offset
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        offset += len(chunk)
        lines += chunk.count(b"\n")
        return lines
else:
    sys.exit(f"unknown sink {sink}")

buffers = [payload(c) for c in range(conns)]

def send(buf):
    s = socket.create_connection((host, port))
    if relp:
        send_relp(s, buf)
    else:
        s.sendall(buf)
    s.close()

def send_relp(s, chunks):
    offer = b"relp_version=0\nrelp_software=mutt-bench\ncommands=syslog"
    s.sendall(b"1 open %d %s\n" % (len(offer), offer))
    reply = b""
    while not reply.endswith(b"\n") or b" rsp " not in reply:
        reply += s.recv(4096)
    if b" 200 " not in reply:
        sys.exit(f"RELP open refused: {reply!r}")
    # Every later answer is "<txnr> rsp 6 200 OK\n": one newline per acknowledged frame.
    sent = acked = 0
    for chunk in chunks:
        n = chunk.count(b" syslog ")
        while sent - acked + n > window:
            data = s.recv(65536)
            if not data: sys.exit("RELP server closed the session")
            acked += data.count(b"\n")
        s.sendall(chunk)
        sent += n
    while acked < sent:
        data = s.recv(65536)
        if not data: sys.exit("RELP server closed the session")
        acked += data.count(b"\n")

start = time.time()
threads = [threading.Thread(target=send, args=(b,)) for b in buffers]
for t in threads: t.start()
for t in threads: t.join()
sent = time.time() - start
n = arrived()
while n < per * conns and time.time() - start < timeout:
    time.sleep(0.02)
    n = arrived()
total = time.time() - start
print(f"sent {per * conns} in {sent:.2f}s; {n} arrived in {total:.2f}s => {n / total:,.0f} msg/s")
