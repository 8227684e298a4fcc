// IP-in-IP tunnelling (IP_VS_CONN_F_TUNNEL, ip_vs_tunnel_xmit): the client's
// packet is sent unchanged inside a new outer IPv4 header from the director
// to the real server, which decapsulates it and answers the client directly
// from the VIP. With GUE (--tun-type gue) a UDP header to the dest's
// tun-port and a 4-byte GUE header sit between the two IP headers.
//
//  before:  [vnet 10][eth 14][inner IP ...]
//  after:   [vnet 10][eth 14][outer IP 20]([UDP 8][GUE 4])[inner IP ...]
//
// The vnet and Ethernet headers move back into the slot's headroom, so the
// inner packet is not copied.
//
// Outer header fields as the kernel sets them: TOS and TTL copied from the
// inner header, DF copied from the inner header (pmtu_disc=1), a fresh IP
// id, protocol 4 (IPIP) or 17 (GUE). GUE: version 0, no optional fields,
// proto/ctype 4 (an IPv4 packet follows); the UDP checksum is 0 (--tun-nocsum,
// ipvsadm's default) and the UDP source port is a hash of the inner flow so
// that a receiving NIC spreads tunnels over its queues.
import { checksum, fold, sumBytes } from "../csum";
import { hashKey } from "../conn/key";
import { TUN_GUE } from "../layout";
import { ETH_HLEN } from "../pkt/eth";
import { IP_CHECK, IP_DADDR, IP_FRAG, IP_PROTO, IP_SADDR, IP_TOT_LEN, IP_TTL, IPPROTO_UDP } from "../pkt/ipv4";
import { VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS } from "../pkt/vnet";

export const IPPROTO_IPIP: u8 = 4;
const IP_DF: u16 = 0x0040; // 0x4000 in wire order
const GUE_HLEN: u32 = 4;
const UDP_HLEN: u32 = 8;

/** Bytes the encapsulation adds in front of the inner packet. */
// @ts-ignore: decorator

export function tunnelOverhead(tunType: u32): u32 {
  return tunType == <u32> TUN_GUE ? 20 + UDP_HLEN + GUE_HLEN : 20;
}

// Per instance (= per worker): ids of the outer headers this worker sends.
let ipId: u16 = 0;

/**
 * Encapsulates the frame whose vnet header is at `v` (inner IPv4 packet of
 * `tot` bytes) for a real server at `daddr` from the director's `saddr`
 * (both wire order). Returns the number of bytes added in front (the frame
 * now starts that many bytes before `v`).
 */
export function encapsulate(v: u32, tot: u32, daddr: u32, saddr: u32, tunType: u32, tunPort: u32): u32 {
  const over = tunnelOverhead(tunType);
  const inner = v + 10 + ETH_HLEN;
  if (load<u8>(v + VNET_FLAGS) & VNET_F_NEEDS_CSUM) {
    // The sender left the inner L4 checksum to the device (a local veth
    // peer, or GRO). Nothing on the way completes it for a packet inside a
    // tunnel, and a real server that decapsulates in software (lvsd decap,
    // a TUN device) would see it wrong: finish it here.
    const cs = v + 10 + <u32> load<u16>(v + VNET_CSUM_START);
    const at = cs + <u32> load<u16>(v + VNET_CSUM_OFFSET);
    let c = ~fold(sumBytes(cs, inner + tot - cs, 0)) & 0xffff;
    if (c == 0 && load<u8>(inner + IP_PROTO) == IPPROTO_UDP) c = 0xffff;
    store<u16>(at, <u16> c);
    store<u8>(v + VNET_FLAGS, load<u8>(v + VNET_FLAGS) & ~VNET_F_NEEDS_CSUM);
  }
  const nv = v - over;
  memory.copy(nv, v, 10 + ETH_HLEN);
  const o = nv + 10 + ETH_HLEN;
  store<u8>(o, 0x45);
  store<u8>(o + 1, load<u8>(inner + 1)); // TOS/DSCP
  store<u16>(o + IP_TOT_LEN, bswap<u16>(<u16> (tot + over)));
  store<u16>(o + 4, bswap<u16>(ipId++));
  store<u16>(o + IP_FRAG, load<u16>(inner + IP_FRAG) & IP_DF);
  store<u8>(o + IP_TTL, load<u8>(inner + IP_TTL));
  store<u32>(o + IP_SADDR, saddr);
  store<u32>(o + IP_DADDR, daddr);
  store<u16>(o + IP_CHECK, 0);
  if (tunType == <u32> TUN_GUE) {
    store<u8>(o + IP_PROTO, IPPROTO_UDP);
    const u = o + 20;
    const h = hashKey(
      <u32> load<u8>(inner + IP_PROTO),
      load<u32>(inner + IP_SADDR),
      <u32> load<u16>(inner + 20),
      load<u32>(inner + IP_DADDR),
      <u32> load<u16>(inner + 22),
    );
    store<u16>(u, bswap<u16>(<u16> (49152 + (h & 16383))));
    store<u16>(u + 2, <u16> tunPort);
    store<u16>(u + 4, bswap<u16>(<u16> (tot + UDP_HLEN + GUE_HLEN)));
    store<u16>(u + 6, 0);
    store<u32>(u + UDP_HLEN, 0x0400); // ver 0, C 0, hlen 0 | proto 4 | flags 0
  } else {
    store<u8>(o + IP_PROTO, IPPROTO_IPIP);
  }
  store<u16>(o + IP_CHECK, <u16> checksum(o, 20));
  return over;
}
