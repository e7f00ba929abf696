#!/usr/bin/env python3
"""Memory of `impasto serve` under clients that hold their request heads
open: N connections each send B bytes of a header and never finish it.
Prints the server's resident memory before and with them, and the
connection figures of /metrics. Usage (after `cargo build --release`):

    N=3000 B=100000 python3 benches/serve_heads.py [serve options...]
"""
import os
import resource
import socket
import subprocess
import sys
import time

BIN = os.environ.get("IMPASTO", "target/release/impasto")
N = int(os.environ.get("N", "3000"))
B = int(os.environ.get("B", "100000"))

resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
server = subprocess.Popen(
    [BIN, "serve", "--listen", "127.0.0.1:0", "--backend", "cpu", "--no-system-fonts"]
    + sys.argv[1:],
    stdout=subprocess.PIPE,
)
port = int(server.stdout.readline().decode().strip().rsplit(":", 1)[1])


def rss_mb():
    status = open(f"/proc/{server.pid}/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


print("resident MB at start", rss_mb())
blob = b"a" * B
held = []
for _ in range(N):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    try:
        s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " + blob)
    except BlockingIOError:
        pass
    held.append(s)
time.sleep(2)
print(f"resident MB with {N} heads of {B} bytes held", rss_mb())
for s in held:
    s.close()
time.sleep(1)
s = socket.create_connection(("127.0.0.1", port))
s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
text = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    text += d
for line in text.decode().splitlines():
    if line.startswith("impasto_connections") or "too_many" in line or 'status="431"' in line:
        print(line)
server.terminate()
server.wait()
