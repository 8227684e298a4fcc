// TCP segmentation of a GSO frame bound for a tunnel dest. Frames arrive
// from the kernel as one large TCP packet (GRO on a NIC, TSO from a local
// veth peer) and are normally handed back whole for the kernel to cut on
// send; but a packet socket cannot describe "TCP inside IPIP/GUE" as GSO,
// so for tunnels lvsd cuts the packet itself, as the kernel's tcp4 GSO
// would: segments of gso_size payload bytes, each with a copy of the
// headers, the sequence number advanced, the IP id incremented, FIN and
// PSH only on the last segment, CWR only on the first, and full checksums.
//
// Each segment is written into its own segment slot:
//   [headroom][vnet 10 (no offloads)][Ethernet 14][IP][TCP][payload]
// leaving the headroom for the tunnel header and an 802.1Q tag.
import { checksum, fold, pseudoSum, sumBytes } from "../csum";
import { SEG_SIZE, SLOT_HEADROOM, VNET_HDR_LEN } from "../layout";
import { ETH_HLEN } from "../pkt/eth";
import { IP_CHECK, IP_DADDR, IP_SADDR, IP_TOT_LEN } from "../pkt/ipv4";
import { TCP_CHECK, TCP_DOFF, TCP_FLAGS } from "../pkt/tcp";

const TH_FIN: u8 = 0x01;
const TH_PSH: u8 = 0x08;
const TH_CWR: u8 = 0x80;

/** Largest tunnel header + 802.1Q tag a segment must leave room for. */
const ROOM: u32 = 32 + 4;

/**
 * Cuts the frame at `v` (vnet header; its Ethernet header already
 * rewritten for the dest) holding a TCP/IPv4 packet of `tot` bytes into
 * segments of at most `mss` payload bytes, written to the segment slots
 * from `seg0`; at most `room` slots. Returns how many segments, or 0 when
 * they do not fit (too many, or a segment larger than a slot).
 */
export function segmentTcp(v: u32, tot: u32, mss: u32, seg0: u32, room: u32): u32 {
  const ip = v + VNET_HDR_LEN + ETH_HLEN;
  const ihl = (<u32> load<u8>(ip) & 15) << 2;
  const tcp = ip + ihl;
  const doff = (<u32> load<u8>(tcp + TCP_DOFF) >> 4) << 2;
  const hlen = ihl + doff;
  if (mss == 0 || tot <= hlen) return 0;
  const payload = tot - hlen;
  const n = (payload + mss - 1) / mss;
  if (n > room || SLOT_HEADROOM + VNET_HDR_LEN + ETH_HLEN + hlen + mss > SEG_SIZE || SLOT_HEADROOM < ROOM) return 0;
  const id = bswap<u16>(load<u16>(ip + 4));
  const seq = bswap<u32>(load<u32>(tcp + 4));
  const flags = load<u8>(tcp + TCP_FLAGS);
  const saddr = load<u32>(ip + IP_SADDR);
  const daddr = load<u32>(ip + IP_DADDR);
  for (let k: u32 = 0; k < n; k++) {
    const sv = seg0 + k * SEG_SIZE + SLOT_HEADROOM;
    const off = k * mss;
    const len = k + 1 < n ? mss : payload - off;
    memory.fill(sv, 0, VNET_HDR_LEN);
    memory.copy(sv + VNET_HDR_LEN, v + VNET_HDR_LEN, ETH_HLEN + hlen);
    memory.copy(sv + VNET_HDR_LEN + ETH_HLEN + hlen, tcp + doff + off, len);
    const sip = sv + VNET_HDR_LEN + ETH_HLEN;
    store<u16>(sip + IP_TOT_LEN, bswap<u16>(<u16> (hlen + len)));
    store<u16>(sip + 4, bswap<u16>(<u16> (id + k)));
    store<u16>(sip + IP_CHECK, 0);
    store<u16>(sip + IP_CHECK, <u16> checksum(sip, ihl));
    const st = sip + ihl;
    store<u32>(st + 4, bswap<u32>(seq + off));
    let fl = flags;
    if (k + 1 < n) fl &= ~(TH_FIN | TH_PSH);
    if (k > 0) fl &= ~TH_CWR;
    store<u8>(st + TCP_FLAGS, fl);
    store<u16>(st + TCP_CHECK, 0);
    const sum = fold(sumBytes(st, doff + len, pseudoSum(saddr, daddr, 6, doff + len)));
    store<u16>(st + TCP_CHECK, <u16> (~sum & 0xffff));
  }
  return n;
}
