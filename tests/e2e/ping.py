#!/usr/bin/env python3
"""ICMP echo to an address with a raw socket (this machine has no ping).

usage: ping.py ADDR COUNT    prints "replies N/COUNT"; bounded: 1 s per request.
"""
import os, select, socket, struct, sys, time

addr, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)

def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack(f"!{len(b)//2}H", b))
    while t > 0xffff: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff

ident = os.getpid() & 0xffff
replies = 0
for seq in range(count):
    body = b"lvsd-e2e" * 4
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body
    s.sendto(pkt, (addr, 0))
    deadline = time.time() + 1.0
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0, deadline - time.time()))
        if not r: break
        data, src = s.recvfrom(2048)
        ihl = (data[0] & 15) * 4
        t, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if src[0] == addr and t == 0 and rid == ident and rseq == seq and data[ihl + 8:] == body and csum(data[ihl:]) == 0:
            replies += 1
            break
print(f"replies {replies}/{count}")
