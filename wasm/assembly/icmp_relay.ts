// ICMP errors that quote a connection's packet (IPVS ip_vs_in_icmp and
// ip_vs_out_icmp). A router's "unreachable", "time exceeded" or "frag
// needed" does not come from the client or the real server, so the
// connection is found from the packet quoted inside it:
//
//  [IP  router -> X][ICMP type code csum rest][quoted IP hdr][quoted 8 bytes: ports]
//
// - towards a VIP (client side): the quote is a packet the service sent,
//   VIP:vport -> client:cport, so it names the connection's in-key reversed;
//   the error goes on to the real server (for NAT with the VIP turned back
//   into the real server's address, in the outer and the quoted header);
// - from the real-server side (NAT): the quote is a packet lvsd forwarded,
//   client:cport -> rs:dport, the connection's out-key; the error goes on to
//   the client with the real server's address turned into the VIP.
//
// As in IPVS the quoted L4 checksum is left alone (it covers data the quote
// does not hold); the quoted IP header checksum and the ICMP checksum are
// made right again.
import { checksum, update32 } from "./csum";
import { IP_CHECK, IP_DADDR, IP_PROTO, IP_SADDR, IPPROTO_TCP, IPPROTO_UDP } from "./pkt/ipv4";
import { ICMP_HLEN } from "./pkt/icmp";

export const ICMP_DEST_UNREACH: u8 = 3;
export const ICMP_SOURCE_QUENCH: u8 = 4;
export const ICMP_TIME_EXCEEDED: u8 = 11;

/** The ICMP types IPVS relays for a connection. */
// @ts-ignore: decorator

export function isConnError(type: u8): bool {
  return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_TIME_EXCEEDED;
}

/**
 * Address of the quoted IPv4 header in the ICMP message at `icmp` of
 * `len` bytes, or 0 when it is too short to name a TCP/UDP connection
 * (header plus the 8 bytes holding the ports) or quotes something else.
 */
export function quotedHeader(icmp: u32, len: u32): u32 {
  if (len < ICMP_HLEN + 20 + 8) return 0;
  const q = icmp + ICMP_HLEN;
  const vihl = <u32> load<u8>(q);
  const ihl = (vihl & 15) << 2;
  if (vihl >> 4 != 4 || ihl < 20 || len < ICMP_HLEN + ihl + 8) return 0;
  const proto = load<u8>(q + IP_PROTO);
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return 0;
  return q;
}

/** Address of the ports of a quoted header. */
// @ts-ignore: decorator

export function quotedPorts(q: u32): u32 {
  return q + ((<u32> load<u8>(q) & 15) << 2);
}

/**
 * Client side -> real server through NAT: outer destination VIP -> `daddr`,
 * quoted source VIP:vport -> daddr:dport.
 */
export function natIcmpIn(ip: u32, icmp: u32, len: u32, q: u32, daddr: u32, dport: u32): void {
  const outerOld = load<u32>(ip + IP_DADDR);
  store<u32>(ip + IP_DADDR, daddr);
  store<u16>(ip + IP_CHECK, <u16> update32(<u32> load<u16>(ip + IP_CHECK), outerOld, daddr));
  const old = load<u32>(q + IP_SADDR);
  store<u32>(q + IP_SADDR, daddr);
  store<u16>(q + IP_CHECK, <u16> update32(<u32> load<u16>(q + IP_CHECK), old, daddr));
  store<u16>(quotedPorts(q), <u16> dport);
  resum(icmp, len);
}

/**
 * Real server side -> client through NAT: outer source -> `vaddr` (the
 * client must see the error come from the address it talked to), quoted
 * destination rs:dport -> vaddr:vport.
 */
export function natIcmpOut(ip: u32, icmp: u32, len: u32, q: u32, vaddr: u32, vport: u32): void {
  const outerOld = load<u32>(ip + IP_SADDR);
  store<u32>(ip + IP_SADDR, vaddr);
  store<u16>(ip + IP_CHECK, <u16> update32(<u32> load<u16>(ip + IP_CHECK), outerOld, vaddr));
  const old = load<u32>(q + IP_DADDR);
  store<u32>(q + IP_DADDR, vaddr);
  store<u16>(q + IP_CHECK, <u16> update32(<u32> load<u16>(q + IP_CHECK), old, vaddr));
  store<u16>(quotedPorts(q) + 2, <u16> vport);
  resum(icmp, len);
}

/** The ICMP checksum over the whole message, computed again. */
function resum(icmp: u32, len: u32): void {
  store<u16>(icmp + 2, 0);
  store<u16>(icmp + 2, <u16> checksum(icmp, len));
}
