// ICMP "fragmentation needed" (RFC 792 type 3 code 4, with the next-hop MTU
// of RFC 1191) for a packet with DF set that does not fit the path to its
// real server, as IPVS sends it with pmtu_disc=1 (ensure_mtu_is_adequate).
// Built in place over the frame that caused it, back towards the client.
//
//  before:  [vnet 10][eth 14][IP (tot bytes) ...]
//  after:   [vnet 10][eth 14][IP 20][ICMP 8][quoted IP header + data]
//
// The quote is the offending packet's start, up to 576 bytes in all (what
// Linux quotes), which always includes its IP header and 8 bytes of L4.
import { checksum } from "../csum";
import { copyMac, ETH_HLEN, ETH_SRC } from "../pkt/eth";
import { IP_CHECK, IP_DADDR, IP_PROTO, IP_SADDR, IP_TOT_LEN, IP_TTL, IPPROTO_ICMP } from "../pkt/ipv4";

const MAX_ERROR_LEN: u32 = 576;

/**
 * Turns the frame at `v` (vnet header) into a frag-needed answer to its
 * sender, from `mac` (the director's interface); returns the new frame
 * length (Ethernet header included).
 */
export function fragNeeded(v: u32, tot: u32, mac: u32, mtu: u32): u32 {
  const f = v + 10;
  const ip = f + ETH_HLEN;
  let quote = tot;
  if (quote > MAX_ERROR_LEN - 28) quote = MAX_ERROR_LEN - 28;
  memory.copy(ip + 28, ip, quote);
  const q = ip + 28;
  memory.fill(v, 0, 10); // a plain frame: no offloads
  copyMac(f, f + ETH_SRC);
  copyMac(f + ETH_SRC, mac);
  store<u8>(ip, 0x45);
  store<u8>(ip + 1, 0xc0); // IPTOS_PREC_INTERNETCONTROL, as Linux's icmp_send
  store<u16>(ip + IP_TOT_LEN, bswap<u16>(<u16> (28 + quote)));
  store<u32>(ip + 4, 0); // id 0, no flags
  store<u8>(ip + IP_TTL, 64);
  store<u8>(ip + IP_PROTO, IPPROTO_ICMP);
  // From the VIP (the address the client talked to) back to the client.
  store<u32>(ip + IP_SADDR, load<u32>(q + IP_DADDR));
  store<u32>(ip + IP_DADDR, load<u32>(q + IP_SADDR));
  store<u16>(ip + IP_CHECK, 0);
  store<u16>(ip + IP_CHECK, <u16> checksum(ip, 20));
  const icmp = ip + 20;
  store<u8>(icmp, 3);
  store<u8>(icmp + 1, 4);
  store<u16>(icmp + 2, 0);
  store<u16>(icmp + 4, 0);
  store<u16>(icmp + 6, bswap<u16>(<u16> mtu));
  store<u16>(icmp + 2, <u16> checksum(icmp, 8 + quote));
  return ETH_HLEN + 28 + quote;
}
