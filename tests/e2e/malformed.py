#!/usr/bin/env python3
"""Sends a bounded barrage of malformed IPv4 frames to the director (test only).

usage: malformed.py IFACE DST_MAC VIP COUNT
Every frame is addressed to the director's MAC and the VIP; each kind of
damage maps to one lvsd drop reason. Bounded by COUNT.
"""
import socket, struct, sys, random

iface, dst_mac, vip, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src_mac = open(f"/sys/class/net/{iface}/address").read().strip()
eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00"
src = socket.inet_aton("10.10.0.2"); dst = socket.inet_aton(vip)

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    while s > 0xffff: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip(payload, proto=6, ver=4, ihl=5, tot=None, frag=0x4000, bad=False):
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, tot if tot is not None else 20 + len(payload), 1, frag, 64, proto, 0, src, dst)
    c = csum(h)
    if bad: c ^= 0xffff
    return h[:10] + struct.pack("!H", c) + h[12:] + payload

def tcp(flags=0x02, doff=5, good=True):
    seg = struct.pack("!HHIIBBHHH", random.randint(1024, 65000), 80, 1, 0, doff << 4, flags, 65535, 0, 0)
    ph = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(ph + seg)
    if not good: c ^= 0x1234
    return seg[:16] + struct.pack("!H", c) + seg[18:]

kinds = [
    lambda: eth + ip(tcp())[:12],                       # truncated IP header
    lambda: eth + ip(tcp(), ver=6),                     # bad_ip_version
    lambda: eth + ip(tcp(), ihl=3),                     # bad_ihl
    lambda: eth + ip(tcp(), tot=1400),                  # bad_total_length
    lambda: eth + ip(tcp(), bad=True),                  # bad_ip_checksum
    lambda: eth + ip(tcp(), frag=0x2000),               # fragment
    lambda: eth + ip(tcp(doff=15)),                     # bad_l4_header
    lambda: eth + ip(tcp(good=False)),                  # bad_l4_checksum
    lambda: eth + bytes(random.getrandbits(8) for _ in range(random.randint(20, 200))),  # garbage
]
for i in range(count):
    s.send(kinds[i % len(kinds)]())
print(f"sent {count} malformed frames")
