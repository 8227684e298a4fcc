"""One HTTP/1.1 keep-alive connection held open across a director change.

Usage: keepalive_client.py VIP GO_FILE
Sends GET / and prints "first <body>", then waits (bounded, 30 s) until
GO_FILE exists, sends GET / again on the same connection and prints
"second <body>". Used to show that a drained (weight 0) real server keeps
its established connections.
"""
import os
import socket
import sys
import time

vip, go = sys.argv[1], sys.argv[2]
s = socket.create_connection((vip, 80), timeout=10)


def get():
    s.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        body += s.recv(4096)
    return body[:length].decode().strip()


print("first", get(), flush=True)
deadline = time.time() + 30
while not os.path.exists(go):
    if time.time() > deadline:
        print("timeout waiting for", go, flush=True)
        sys.exit(1)
    time.sleep(0.05)
print("second", get(), flush=True)
s.close()
