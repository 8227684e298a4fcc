#!/usr/bin/env python3
"""The director and the client of the lvsd decap tests, with raw sockets
(no scapy: headers built with struct).

usage:
  tunnel_peer.py exchange TYPE RS PORT VIP CLIENT IFACE
      One TCP exchange from CLIENT to VIP:80 through the tunnel: an
      encapsulated SYN, then (once the real server's SYN-ACK from the VIP is
      seen on IFACE, the real server's route to CLIENT) an encapsulated
      ACK carrying b"ping", then waits for the server's data segment.
      Prints one JSON line: what was seen. Bounded: 3 s per step.
  tunnel_peer.py send TYPE RS PORT VIP CLIENT CASE [CASE...]
      Sends one encapsulated packet per case (see CASES) and prints "sent N".

TYPE is ipip, gue (variant 0, as IPVS sends it) or gue1 (variant 1: the
inner IPv4 packet right after the UDP header). PORT is the GUE UDP port
(ignored for ipip).
"""
import json, os, select, socket, struct, sys, time

ETH_P_IP = 0x0800


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while t > 0xFFFF:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def ipv4(src, dst, proto, payload, total=None, version_ihl=0x45):
    """An IPv4 header (checksummed) + payload; `total` overrides tot_len."""
    tot = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", version_ihl, 0, tot, 0x1234, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(pseudo + h + data)
    return h[:16] + struct.pack("!H", c) + h[18:] + data


def ipv6_stub():
    """A minimal IPv6 header (version 6) with no payload."""
    return struct.pack("!IHBB16s16s", 6 << 28, 0, 59, 64, b"\0" * 15 + b"\1", b"\0" * 15 + b"\2")


class Tunnel:
    """Sends inner packets to the real server the way the director would."""

    def __init__(self, kind, rs, port):
        self.kind, self.rs, self.port = kind, rs, port
        if kind == "ipip":
            # The kernel adds the outer header (protocol 4, IHL 5).
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_payload(self, payload):
        """Sends `payload` as the whole outer payload (IPIP) or UDP payload (GUE)."""
        self.sock.sendto(payload, (self.rs, self.port if self.kind != "ipip" else 0))

    def send(self, inner):
        if self.kind == "gue":
            # Version 0, C 0, Hlen 0, proto 4 (IPv4), flags 0.
            self.send_payload(struct.pack("!BBH", 0, 4, 0) + inner)
        else:
            self.send_payload(inner)


def cases(vip, client):
    syn = lambda dst: ipv4(client, dst, 6, tcp(client, dst, 41000, 80, 7, 0, 0x02))
    good = syn(vip)
    gue = lambda first, proto, flags, rest=b"": struct.pack("!BBH", first, proto, flags) + rest
    return {
        # Through either tunnel type (raw: sent as the whole payload).
        "good": ("inner", good),
        "inner_ipv6": ("inner", ipv6_stub()),
        "wrong_vip": ("inner", syn("10.99.99.99")),
        "inner_short": ("inner", good[:12]),
        "inner_total_too_long": ("inner", ipv4(client, vip, 6, tcp(client, vip, 41000, 80, 7, 0, 0x02), total=200)),
        "inner_bad_ihl": ("inner", ipv4(client, vip, 6, b"\0" * 20, version_ihl=0x44)),
        # GUE only (sent as the whole UDP payload).
        "gue_version2": ("raw", gue(0x80, 4, 0) + good),
        "gue_control": ("raw", gue(0x20, 0, 0) + good),
        "gue_unknown_flag": ("raw", gue(0x00, 4, 0x8000) + good),
        "gue_remcsum": ("raw", gue(0x02, 4, 0x0001, struct.pack("!IHH", 0x80000000, 20, 16)) + good),
        "gue_priv_zero": ("raw", gue(0x01, 4, 0x0001, struct.pack("!I", 0)) + good),
        "gue_proto_ipv6": ("raw", gue(0x00, 41, 0) + ipv6_stub()),
        "gue_hlen_past_end": ("raw", gue(0x05, 4, 0) + b"\0" * 8),
        "gue_short": ("raw", b"\x00\x04"),
        "gue1_ipv6": ("raw", ipv6_stub()),
        "gue1_good": ("raw", good),
    }


def capture_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((iface, 0))
    return s


def wait_tcp(cap, vip, client, cport, want, timeout=3.0):
    """The first TCP segment VIP:80 -> CLIENT:cport for which want(...) holds, or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([cap], [], [], max(0, deadline - time.time()))
        if not r:
            break
        frame = cap.recv(65535)
        ip = frame[14:]
        if len(ip) < 40 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", ip[ihl:ihl + 14])
        data = ip[ihl + (off >> 4) * 4:struct.unpack("!H", ip[2:4])[0]]
        seg = {"src": src, "dst": dst, "sport": sport, "dport": dport, "seq": seq, "ack": ack,
               "flags": flags, "data": data.decode("latin-1")}
        if src == vip and dst == client and sport == 80 and dport == cport and want(seg):
            return seg
    return None


def exchange(kind, rs, port, vip, client, iface):
    tun = Tunnel(kind, rs, port)
    cap = capture_socket(iface)
    cport, isn = 40000 + os.getpid() % 20000, 1000
    send = tun.send if kind != "gue1" else tun.send_payload
    send(ipv4(client, vip, 6, tcp(client, vip, cport, 80, isn, 0, 0x02)))
    synack = wait_tcp(cap, vip, client, cport, lambda s: s["flags"] & 0x12 == 0x12 and s["ack"] == isn + 1)
    out = {"synack": synack}
    if synack:
        send(ipv4(client, vip, 6, tcp(client, vip, cport, 80, isn + 1, synack["seq"] + 1, 0x18, b"ping")))
        out["reply"] = wait_tcp(cap, vip, client, cport, lambda s: len(s["data"]) > 0)
    print(json.dumps(out))


def main():
    cmd, kind, rs, port, vip, client = sys.argv[1:7]
    port = int(port)
    if cmd == "exchange":
        exchange(kind, rs, port, vip, client, sys.argv[7])
        return
    table = cases(vip, client)
    tun = Tunnel(kind, rs, port)
    for name in sys.argv[7:]:
        how, payload = table[name]
        if how == "inner" and kind == "gue":
            tun.send(payload)
        else:
            tun.send_payload(payload)
    print(f"sent {len(sys.argv) - 7}")


main()
