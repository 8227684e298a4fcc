#!/usr/bin/env python3
"""First-frame watcher for the failover bench: listens on IFACE (a bridge in
the lab's LAN namespace) for DURATION_S at most (bounded) and prints one
JSON line {"t": epoch ms} for the first IPv4 TCP frame whose source MAC is
MAC (a director forwarding a client's packet to a real server), then exits;
{"t": null} if none came. Prints "ready" once the socket listens."""
import json, select, socket, sys, time

iface, mac, duration = sys.argv[1], sys.argv[2].lower(), min(float(sys.argv[3]), 120.0)
want = bytes.fromhex(mac.replace(":", ""))
# ETH_P_ALL: taps of that kind see a bridge port's frames before the bridge
# takes them (ETH_P_IP ones would not).
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((iface, 0))
print("ready", flush=True)
end = time.time() + duration
t = None
while t is None and time.time() < end:
    r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
    if not r:
        break
    frame, addr = s.recvfrom(128)
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    # Ethernet source at 6..12, type at 12..14; IPv4 protocol at 14 + 9.
    if frame[6:12] == want and len(frame) > 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6:
        t = time.time() * 1000.0
print(json.dumps({"t": t}), flush=True)
