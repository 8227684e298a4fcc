#!/usr/bin/env python3
"""ARP prober for the VRRP lab tests: asks who-has TARGET on IFACE every
INTERVAL_MS for DURATION_S (bounded) and prints one JSON line each time the
MAC that answers changes: {"t": epoch ms, "mac": "aa:bb:..."}; then
{"done": true, "sent": N, "replies": M}. Run inside the client namespace."""
import json, select, socket, struct, sys, time

iface, target, src_ip = sys.argv[1], sys.argv[2], sys.argv[3]
interval = float(sys.argv[4]) / 1000.0
duration = min(float(sys.argv[5]), 60.0)

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0))
mac = s.getsockname()[4]
tgt = socket.inet_aton(target)
req = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac +
       socket.inet_aton(src_ip) + b"\x00" * 6 + tgt)
last = None
sent = replies = 0
end = time.time() + duration
nxt = 0.0
while time.time() < end:
    now = time.time()
    if now >= nxt:
        s.send(req)
        sent += 1
        nxt = now + interval
    r, _, _ = select.select([s], [], [], max(0.0, min(nxt, end) - time.time()))
    if not r:
        continue
    f = s.recv(128)
    if len(f) < 42 or f[12:14] != b"\x08\x06":
        continue
    op = struct.unpack("!H", f[20:22])[0]
    if op != 2 or f[28:32] != tgt:
        continue
    replies += 1
    who = ":".join("%02x" % b for b in f[22:28])
    if who != last:
        last = who
        print(json.dumps({"t": int(time.time() * 1000), "mac": who}), flush=True)
print(json.dumps({"done": True, "sent": sent, "replies": replies}), flush=True)
