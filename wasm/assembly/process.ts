// The packet path: one call handles one received batch of one worker and
// builds its transmit batch. Frames are read and rewritten in place in the
// worker's slots; nothing here allocates.
import {
  BATCH,
  CMSG_SIZE,
  CONN_CADDR,
  CONN_CIFACE,
  CONN_CMAC,
  CONN_CONTROL,
  CONN_CPORT,
  CONN_CVLAN,
  CONN_DADDR,
  CONN_DEST_ID,
  CONN_DEST_IFACE,
  CONN_DPORT,
  CONN_DVLAN,
  CONN_EXPIRES,
  CONN_F_DEAD,
  CONN_F_INACTIVE,
  CONN_F_NOOUTPUT,
  CONN_FWD,
  CONN_INC,
  CONN_PROTO,
  CONN_SF,
  CONN_SVC_ID,
  CONN_TUN_PORT,
  CONN_TUN_TYPE,
  CONN_VADDR,
  CONN_VPORT,
  CTRL,
  CTRL_GEN,
  CTRL_IFACES,
  CTRL_IO_BASE,
  CTRL_MEM_ADDR,
  CTRL_NSVC,
  CTRL_TIMEOUTS,
  DEST,
  DEST_ADDR,
  DEST_COPY,
  DEST_FWD,
  DEST_ID,
  DEST_IFACE,
  DEST_MAC,
  DEST_SIZE,
  DEST_TUN_PORT,
  DEST_TUN_TYPE,
  DEST_VLAN,
  DSTATE,
  DSTATE_ACTIVE,
  DSTATE_INACT,
  DSTATE_MAC,
  DSTATE_SIZE,
  FWD_MASQ,
  FWD_ROUTE,
  FWD_TUNNEL,
  IFACE_ADDR,
  IFACE_INDEX,
  IFACE_MAC,
  IFACE_MTU,
  IFACE_SIZE,
  IO_RX_CMSG,
  IO_RX_HDRS,
  IO_RX_IOV,
  IO_RX_NAME,
  IO_SEGS,
  IO_SLOTS,
  IO_STRIDE,
  IO_TX_HDRS,
  IO_TX_IOV,
  IO_TX_NAME,
  IOVEC_SIZE,
  MAX_IFACES,
  MMSGHDR_SIZE,
  NAME_SIZE,
  SEG_SIZE,
  SEG_SLOTS,
  SLOT_HEADROOM,
  SLOT_SIZE,
  SVC_DEST_COUNT,
  SVC_DEST_FIRST,
  SVC_ID,
  TIMEOUT_UDP_SLOT,
  TX_MAX,
  VNET_HDR_LEN,
} from "./layout";
import { checksum, fold, pseudoSum, sumBytes, update16 } from "./csum";
import * as S from "./stats";
import {
  copyMac,
  ETH_HLEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_VLAN,
  swapMacs,
} from "./pkt/eth";
import {
  ARP_HLEN,
  ARP_HTYPE,
  ARP_LEN,
  ARP_OPER,
  ARP_PLEN,
  ARP_PTYPE,
  ARP_REPLY,
  ARP_REQUEST,
  ARP_SHA,
  ARP_SPA,
  ARP_THA,
  ARP_TPA,
} from "./pkt/arp";
import {
  IP_CHECK,
  IP_DADDR,
  IP_FRAG,
  IP_FRAG_MASK,
  IP_MIN_HLEN,
  IP_PROTO,
  IP_SADDR,
  IP_TOT_LEN,
  IP_TTL,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from "./pkt/ipv4";
import { TCP_CHECK, TCP_DOFF, TCP_FLAGS, TCP_MIN_HLEN } from "./pkt/tcp";
import { UDP_CHECK, UDP_HLEN, UDP_LEN } from "./pkt/udp";
import { ICMP_CHECK, ICMP_ECHO_REQUEST, ICMP_HLEN, ICMP_TYPE } from "./pkt/icmp";
import {
  VNET_CSUM_START,
  VNET_F_DATA_VALID,
  VNET_F_NEEDS_CSUM,
  VNET_FLAGS,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_SIZE,
  VNET_GSO_TCPV4,
  VNET_GSO_TYPE,
  VNET_GSO_UDP_L4,
} from "./pkt/vnet";
import { foundInc, lookupIn, lookupOut, publish, refreshExpiry, stillLive } from "./conn/table";
import { isVip, svcLookup } from "./svc_table";
import { VRRP_HELD, VRRP_NOT_HELD, VRRP_UNLISTED, vrrpHold } from "./held";
import { overloadOnBind } from "./conn/threshold";
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, isActive, nextState, S_NONE } from "./proto/tcp";
import { connDport, persistAbandon, persistControl, pickDest } from "./persist";
import { isOnePacket, newRecord } from "./one_packet";
import { syncAfterIn } from "./sync";
import { checkInConn, IN_DROP, IN_ENDED_NODEST, IN_USE, tcpMayStart } from "./options";
import { rewrite } from "./xmit/nat";
import { encapsulate, tunnelOverhead } from "./xmit/tunnel";
import { fragNeeded } from "./xmit/icmp_error";
import { segmentTcp } from "./xmit/segment";
import { isConnError, natIcmpIn, natIcmpOut, quotedHeader, quotedPorts } from "./icmp_relay";

// Per-instance scratch for the frame being handled. Module globals are per
// instance (= per worker), which is exactly their scope here.
let outSlot: i32 = -1; // iface slot to send on; -1 = no transmit
let outVlan: u32 = 0; // 802.1Q TCI to put back on send (0 = none)
let outType: u16 = 0; // EtherType for sockaddr_ll.sll_protocol
// How the frame to send differs from the one received: bytes added in front
// (tunnel headers, in the slot's headroom) and its new length, or 0 = same.
let outShift: u32 = 0;
let outLen: u32 = 0;
// Segments written for this frame (tunnelled GSO): first slot and count.
let outSegFirst: u32 = 0;
let outSegs: u32 = 0;
// This batch's segment area and how many of its slots are taken.
let segArea: u32 = 0;
let segUsed: u32 = 0;
/** Frames of the rx batch handled by the last processBatch call (the rest wait for the next call). */
export let framesDone: u32 = 0;

const NO_TX: i32 = -1;

// @ts-ignore: decorator

export function ioBase(worker: u32): u32 {
  return load<u32>(CTRL + CTRL_IO_BASE) + worker * IO_STRIDE;
}

// @ts-ignore: decorator

function ifaceAddr(slot: u32): u32 {
  return CTRL + CTRL_IFACES + slot * IFACE_SIZE;
}

/** Interface slot of a kernel ifindex, or -1 when lvsd does not own it. */
function ifaceSlot(ifindex: i32): i32 {
  for (let s: u32 = 0; s < MAX_IFACES; s++) {
    if (load<i32>(ifaceAddr(s) + IFACE_INDEX) == ifindex) return <i32> s;
  }
  return -1;
}

// @ts-ignore: decorator

function timeoutMs(slot: u32): u64 {
  return <u64> load<u32>(CTRL + CTRL_TIMEOUTS + slot * 4) * 1000;
}

/**
 * TCP state transition with ActiveConn/InActConn accounting (set_tcp_state).
 * One CAS on the (incarnation, state) pair: it fails, and the transition is
 * abandoned, if the record was reused or is being reclaimed meanwhile.
 */
function tcpTransition(c: u32, inc: u32, dir: u32, flags: u32, now: u64): void {
  let st: u32 = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const v = atomic.load<u64>(c + CONN_INC);
    if (<u32> v != inc) return;
    const sf = <u32> (v >> 32);
    if (sf & (CONN_F_DEAD << 8)) return;
    st = sf & 0xff;
    const ns = nextState(st, dir, flags);
    if (ns == st) break;
    const inactive = (sf >> 8) & CONN_F_INACTIVE;
    const nowActive = isActive(ns);
    let nf = sf >> 8;
    if (!inactive && !nowActive) nf |= CONN_F_INACTIVE;
    else if (inactive && nowActive) nf &= ~CONN_F_INACTIVE;
    const next = (<u64> (ns | (nf << 8)) << 32) | <u64> inc;
    if (atomic.cmpxchg<u64>(c + CONN_INC, v, next) == v) {
      const ds = DSTATE + <u32> load<u16>(c + CONN_DEST_ID) * DSTATE_SIZE;
      if (!inactive && !nowActive) {
        atomic.sub<i32>(ds + DSTATE_ACTIVE, 1);
        atomic.add<i32>(ds + DSTATE_INACT, 1);
      } else if (inactive && nowActive) {
        atomic.add<i32>(ds + DSTATE_ACTIVE, 1);
        atomic.sub<i32>(ds + DSTATE_INACT, 1);
      }
      st = ns;
      break;
    }
  }
  refreshExpiry(c, inc, now, now + timeoutMs(st));
}

/** UDP: every packet refreshes the one state's timeout. */
// @ts-ignore: decorator

function udpRefresh(c: u32, inc: u32, now: u64): void {
  refreshExpiry(c, inc, now, now + timeoutMs(TIMEOUT_UDP_SLOT));
}

/** True when the L4 checksum of a fully checksummed segment is right. */
function l4ChecksumOk(ip: u32, l4: u32, l4len: u32, proto: u32): bool {
  if (proto == IPPROTO_UDP && load<u16>(l4 + UDP_CHECK) == 0) return true;
  let acc = pseudoSum(load<u32>(ip + IP_SADDR), load<u32>(ip + IP_DADDR), proto, l4len);
  acc = sumBytes(l4, l4len, acc);
  return fold(acc) == 0xffff;
}

function handleArp(f: u32, flen: u32, ifslot: u32, copy: u32, sb: u32, tci: u32): i32 {
  if (flen < ETH_HLEN + ARP_LEN) {
    S.drop(sb, S.D_BAD_ARP);
    return NO_TX;
  }
  const a = f + ETH_HLEN;
  if (
    load<u16>(a + ARP_HTYPE) != 0x0100 || load<u16>(a + ARP_PTYPE) != 0x0008 ||
    load<u8>(a + ARP_HLEN) != 6 || load<u8>(a + ARP_PLEN) != 4
  ) {
    S.drop(sb, S.D_BAD_ARP);
    return NO_TX;
  }
  const tpa = load<u32>(a + ARP_TPA);
  // Under VRRP a listed address is answered only while held (a VIP or the
  // servers' gateway); an unlisted VIP always is.
  const hold = vrrpHold(tpa);
  if (
    load<u16>(a + ARP_OPER) != ARP_REQUEST || hold == VRRP_NOT_HELD ||
    (hold == VRRP_UNLISTED && !isVip(copy, tpa))
  ) {
    S.count(sb, S.G_IGNORED, 1);
    return NO_TX;
  }
  // RFC 826 reply: the requester becomes the target, we the sender.
  const mac = ifaceAddr(ifslot) + IFACE_MAC;
  copyMac(a + ARP_THA, a + ARP_SHA);
  store<u32>(a + ARP_TPA, load<u32>(a + ARP_SPA));
  copyMac(a + ARP_SHA, mac);
  store<u32>(a + ARP_SPA, tpa);
  store<u16>(a + ARP_OPER, ARP_REPLY);
  copyMac(f, f + ETH_SRC);
  copyMac(f + ETH_SRC, mac);
  S.count(sb, S.G_ARP_REPLIES, 1);
  outVlan = tci;
  outType = ETHERTYPE_ARP;
  return <i32> ifslot;
}

/**
 * Addresses the frame at `f` to connection `c`'s real server: its next hop
 * as the supervisor knows it now (one atomic read of DSTATE_MAC, so a MAC
 * change reaches live connections), from our MAC on `dslot`.
 */
function toDestMacs(f: u32, c: u32, dslot: u32): void {
  const nh = atomic.load<u64>(DSTATE + <u32> load<u16>(c + CONN_DEST_ID) * DSTATE_SIZE + DSTATE_MAC);
  store<u32>(f, <u32> nh);
  store<u16>(f + 4, <u16> (nh >> 32));
  copyMac(f + ETH_SRC, ifaceAddr(dslot) + IFACE_MAC);
}

/** Wraps the frame at `v` (IP packet of `tot` bytes) for tunnel connection `c`; sets outShift/outLen. */
function encapsulateFor(v: u32, c: u32, dslot: u32, tot: u32, flen: u32): void {
  outShift = encapsulate(
    v,
    tot,
    load<u32>(c + CONN_DADDR),
    load<u32>(ifaceAddr(dslot) + IFACE_ADDR),
    <u32> load<u8>(c + CONN_TUN_TYPE),
    <u32> load<u16>(c + CONN_TUN_PORT),
  );
  outLen = flen + outShift;
}

/**
 * An ICMP error towards a VIP that quotes a packet of one of our
 * connections (ip_vs_in_icmp): passed on to that connection's real server
 * by the connection's method.
 */
function relayIcmpIn(v: u32, f: u32, ip: u32, tot: u32, l4: u32, l4len: u32, flen: u32, sb: u32, now: u64): i32 {
  const q = quotedHeader(l4, l4len);
  if (q == 0) {
    S.drop(sb, S.D_ICMP_UNSUPPORTED);
    return NO_TX;
  }
  const pp = quotedPorts(q);
  // The quote is VIP:vport -> client:cport: the in-key, reversed.
  const c = lookupIn(
    <u32> load<u8>(q + IP_PROTO),
    load<u32>(q + IP_DADDR),
    <u32> load<u16>(pp + 2),
    load<u32>(q + IP_SADDR),
    <u32> load<u16>(pp),
    now,
  );
  const inc = foundInc;
  if (c == 0) {
    S.drop(sb, S.D_NO_CONN);
    return NO_TX;
  }
  const fwd = load<u8>(c + CONN_FWD);
  if (fwd == FWD_MASQ) natIcmpIn(ip, l4, l4len, q, load<u32>(c + CONN_DADDR), <u32> load<u16>(c + CONN_DPORT));
  const dslot = <u32> load<u8>(c + CONN_DEST_IFACE);
  toDestMacs(f, c, dslot);
  if (fwd == FWD_TUNNEL) encapsulateFor(v, c, dslot, tot, flen);
  outVlan = <u32> load<u16>(c + CONN_DVLAN);
  if (!stillLive(c, inc)) {
    S.drop(sb, S.D_NO_CONN);
    return NO_TX;
  }
  S.count(sb, S.G_ICMP_RELAYED, 1);
  outType = ETHERTYPE_IPV4;
  return <i32> dslot;
}

/**
 * An ICMP error from the real-server side quoting a packet lvsd NATed to a
 * real server (ip_vs_out_icmp): passed on to the client as coming from the
 * VIP. Anything else is the kernel's.
 */
function relayIcmpOut(f: u32, ip: u32, l4: u32, l4len: u32, sb: u32, now: u64): i32 {
  const q = l4len >= ICMP_HLEN && isConnError(load<u8>(l4 + ICMP_TYPE)) ? quotedHeader(l4, l4len) : 0;
  if (q == 0) {
    S.count(sb, S.G_IGNORED, 1);
    return NO_TX;
  }
  const pp = quotedPorts(q);
  // The quote is client:cport -> rs:dport: the out-key as it is.
  const c = lookupOut(
    <u32> load<u8>(q + IP_PROTO),
    load<u32>(q + IP_DADDR),
    <u32> load<u16>(pp + 2),
    load<u32>(q + IP_SADDR),
    <u32> load<u16>(pp),
    now,
  );
  const inc = foundInc;
  if (c == 0 || load<u8>(c + CONN_FWD) != FWD_MASQ) {
    S.count(sb, S.G_IGNORED, 1);
    return NO_TX;
  }
  if (checksum(l4, l4len) != 0) {
    S.drop(sb, S.D_BAD_L4_CHECKSUM);
    return NO_TX;
  }
  natIcmpOut(ip, l4, l4len, q, load<u32>(c + CONN_VADDR), <u32> load<u16>(c + CONN_VPORT));
  const cslot = <u32> load<u8>(c + CONN_CIFACE);
  copyMac(f, c + CONN_CMAC);
  copyMac(f + ETH_SRC, ifaceAddr(cslot) + IFACE_MAC);
  outVlan = <u32> load<u16>(c + CONN_CVLAN);
  if (!stillLive(c, inc)) {
    S.drop(sb, S.D_NO_CONN);
    return NO_TX;
  }
  S.count(sb, S.G_ICMP_RELAYED, 1);
  outType = ETHERTYPE_IPV4;
  return <i32> cslot;
}

function handleIcmp(
  v: u32,
  f: u32,
  ip: u32,
  tot: u32,
  l4: u32,
  l4len: u32,
  flen: u32,
  ifslot: u32,
  sb: u32,
  tci: u32,
  now: u64,
): i32 {
  if (l4len < ICMP_HLEN) {
    S.drop(sb, S.D_BAD_L4_HEADER);
    return NO_TX;
  }
  const type = load<u8>(l4 + ICMP_TYPE);
  if (isConnError(type)) {
    if (checksum(l4, l4len) != 0) {
      S.drop(sb, S.D_BAD_L4_CHECKSUM);
      return NO_TX;
    }
    return relayIcmpIn(v, f, ip, tot, l4, l4len, flen, sb, now);
  }
  if (type != ICMP_ECHO_REQUEST || load<u8>(l4 + 1) != 0) {
    S.drop(sb, S.D_ICMP_UNSUPPORTED);
    return NO_TX;
  }
  if (checksum(l4, l4len) != 0) {
    S.drop(sb, S.D_BAD_L4_CHECKSUM);
    return NO_TX;
  }
  // Echo reply (RFC 792): type 8 -> 0, addresses swapped (the IP checksum
  // does not change with a swap), a fresh TTL.
  store<u8>(l4 + ICMP_TYPE, 0);
  store<u16>(l4 + ICMP_CHECK, <u16> update16(<u32> load<u16>(l4 + ICMP_CHECK), 0x0008, 0));
  const s = load<u32>(ip + IP_SADDR);
  store<u32>(ip + IP_SADDR, load<u32>(ip + IP_DADDR));
  store<u32>(ip + IP_DADDR, s);
  const oldTtl = <u32> load<u16>(ip + IP_TTL);
  store<u8>(ip + IP_TTL, 64);
  store<u16>(ip + IP_CHECK, <u16> update16(<u32> load<u16>(ip + IP_CHECK), oldTtl, <u32> load<u16>(ip + IP_TTL)));
  swapMacs(f);
  copyMac(f + ETH_SRC, ifaceAddr(ifslot) + IFACE_MAC);
  S.count(sb, S.G_ECHO_REPLIES, 1);
  outVlan = tci;
  outType = ETHERTYPE_IPV4;
  return <i32> ifslot;
}

/**
 * A packet that does not fit the MTU towards its real server: with DF set
 * the client gets ICMP frag-needed with the MTU that fits (IPVS pmtu_disc);
 * without DF IPVS would fragment, which lvsd does not (dropped, counted).
 */
function tooBig(v: u32, ip: u32, tot: u32, mtu: u32, ifslot: u32, tci: u32, sb: u32): i32 {
  if ((load<u16>(ip + IP_FRAG) & 0x0040) == 0) {
    S.drop(sb, S.D_NEEDS_FRAGMENTATION);
    return NO_TX;
  }
  S.drop(sb, S.D_FRAG_NEEDED);
  S.count(sb, S.G_ICMP_ERRORS_SENT, 1);
  outLen = fragNeeded(v, tot, ifaceAddr(ifslot) + IFACE_MAC, mtu < 68 ? 68 : mtu);
  outVlan = tci;
  outType = ETHERTYPE_IPV4;
  return <i32> ifslot;
}

/**
 * The largest IP packet a GSO frame becomes once segmented: headers plus
 * gso_size (TCP, or UDP_L4). Unknown GSO types are left to the kernel (0).
 */
function segmentSize(v: u32, ip: u32, l4: u32, proto: u32): u32 {
  const gt = load<u8>(v + VNET_GSO_TYPE) & ~VNET_GSO_ECN;
  const size = <u32> load<u16>(v + VNET_GSO_SIZE);
  if (proto == IPPROTO_TCP && gt == VNET_GSO_TCPV4) {
    return (l4 - ip) + ((<u32> load<u8>(l4 + TCP_DOFF) >> 4) << 2) + size;
  }
  if (proto == IPPROTO_UDP && gt == VNET_GSO_UDP_L4) return (l4 - ip) + UDP_HLEN + size;
  return 0;
}

/**
 * A GSO frame for a tunnel dest: cut into segments (xmit/segment.ts), each
 * encapsulated; processBatch sends them all (the MTU was checked before).
 */
function tunnelSegments(
  v: u32,
  tot: u32,
  proto: u32,
  c: u32,
  dslot: u32,
  sb: u32,
): i32 {
  const gt = load<u8>(v + VNET_GSO_TYPE) & ~VNET_GSO_ECN;
  if (proto != IPPROTO_TCP || gt != VNET_GSO_TCPV4) {
    S.drop(sb, S.D_GSO_TUNNEL);
    return NO_TX;
  }
  const mss = <u32> load<u16>(v + VNET_GSO_SIZE);
  const tunType = <u32> load<u8>(c + CONN_TUN_TYPE);
  const over = tunnelOverhead(tunType);
  const n = segmentTcp(v, tot, mss, segArea + segUsed * SEG_SIZE, SEG_SLOTS - segUsed);
  if (n == 0) {
    // More segments than a whole call holds (a tiny gso_size), or a segment
    // larger than a slot: processBatch stops before a frame that might not
    // fit, so this is the frame itself.
    S.drop(sb, S.D_GSO_SEGMENTS);
    return NO_TX;
  }
  const daddr = load<u32>(c + CONN_DADDR);
  const saddr = load<u32>(ifaceAddr(dslot) + IFACE_ADDR);
  const port = <u32> load<u16>(c + CONN_TUN_PORT);
  for (let k: u32 = 0; k < n; k++) {
    const sv = segArea + (segUsed + k) * SEG_SIZE + SLOT_HEADROOM;
    const stot = <u32> bswap<u16>(load<u16>(sv + VNET_HDR_LEN + ETH_HLEN + IP_TOT_LEN));
    encapsulate(sv, stot, daddr, saddr, tunType, port);
  }
  outSegFirst = segUsed;
  outSegs = n;
  segUsed += n;
  outShift = over;
  outVlan = <u32> load<u16>(c + CONN_DVLAN);
  outType = ETHERTYPE_IPV4;
  S.count(sb, S.G_SEGMENTS, n);
  return <i32> dslot;
}

/** Creates a connection for the first packet of a flow; returns it or 0 (counted drop). */
function newConn(
  copy: u32,
  svc: u32,
  f: u32,
  ip: u32,
  proto: u32,
  sport: u32,
  dport: u32,
  ifslot: u32,
  tci: u32,
  now: u64,
  sb: u32,
): u32 {
  const dests = DEST + copy * DEST_COPY + <u32> load<u16>(svc + SVC_DEST_FIRST) * DEST_SIZE;
  const svcId = <u32> load<u16>(svc + SVC_ID);
  const saddr = load<u32>(ip + IP_SADDR);
  const daddr = load<u32>(ip + IP_DADDR);
  // The scheduler, or a persistence template (persist.ts); drops are counted there.
  const d = pickDest(
    svc,
    svcId,
    dests,
    <u32> load<u16>(svc + SVC_DEST_COUNT),
    proto,
    saddr,
    sport,
    daddr,
    dport,
    now,
    sb,
  );
  if (d == 0) return 0;
  const c = newRecord(svc, proto, saddr, sport, daddr, dport, now, sb); // -o: outside the table
  if (c == 0) return 0;
  const destId = <u32> load<u16>(d + DEST_ID);
  store<u8>(c + CONN_PROTO, <u8> proto);
  store<u8>(c + CONN_CIFACE, <u8> ifslot);
  store<u16>(c + CONN_CVLAN, <u16> tci);
  store<u32>(c + CONN_CADDR, saddr);
  store<u32>(c + CONN_VADDR, daddr);
  store<u32>(c + CONN_DADDR, load<u32>(d + DEST_ADDR));
  store<u16>(c + CONN_CPORT, <u16> sport);
  store<u16>(c + CONN_VPORT, <u16> dport);
  store<u16>(c + CONN_DPORT, <u16> connDport(svc, d, dport));
  store<u16>(c + CONN_DEST_ID, <u16> destId);
  store<u16>(c + CONN_SVC_ID, <u16> svcId);
  store<u8>(c + CONN_DEST_IFACE, load<u8>(d + DEST_IFACE));
  const fwd = load<u8>(d + DEST_FWD);
  store<u8>(c + CONN_FWD, fwd);
  store<u8>(c + CONN_TUN_TYPE, load<u8>(d + DEST_TUN_TYPE));
  store<u16>(c + CONN_TUN_PORT, load<u16>(d + DEST_TUN_PORT));
  store<u16>(c + CONN_DVLAN, load<u16>(d + DEST_VLAN));
  copyMac(c + CONN_CMAC, f + ETH_SRC);
  // New connections start inactive (__ip_vs_update_dest sets
  // IP_VS_CONN_F_INACTIVE); the first transition moves a TCP one to active.
  // DR and tunnel connections see one direction only (IP_VS_CONN_F_NOOUTPUT:
  // the INPUT-ONLY state table).
  const cflags = CONN_F_INACTIVE | (fwd != FWD_MASQ ? CONN_F_NOOUTPUT : 0);
  atomic.store<u32>(c + CONN_SF, <u32> S_NONE | (cflags << 8)); // was DEAD since claim()
  atomic.store<u64>(c + CONN_EXPIRES, now + timeoutMs(proto == IPPROTO_TCP ? 0 : TIMEOUT_UDP_SLOT));
  if (isOnePacket(c)) {
    // Never kept, so never counted in InActConn: IPVS binds and unbinds it
    // around the one packet, and its template control ends with it.
    persistAbandon();
  } else {
    store<u32>(c + CONN_CONTROL, persistControl);
    // ip_vs_bind_dest(): count it on the dest, which may reach its -x threshold.
    const ds = DSTATE + destId * DSTATE_SIZE;
    atomic.add<i32>(ds + DSTATE_INACT, 1);
    overloadOnBind(ds);
    if (!publish(c, now)) {
      S.drop(sb, S.D_CONN_TABLE_FULL);
      return 0;
    }
  }
  S.count(sb, S.G_CONNS, 1);
  S.svcStat(sb, svcId, S.S_CONNS, 1);
  S.destStat(sb, destId, S.S_CONNS, 1);
  return c;
}

function handleIpv4(f: u32, flen: u32, v: u32, ifslot: u32, copy: u32, sb: u32, tci: u32, now: u64): i32 {
  const ip = f + ETH_HLEN;
  if (flen < ETH_HLEN + IP_MIN_HLEN) {
    S.drop(sb, S.D_TRUNCATED);
    return NO_TX;
  }
  const vihl = <u32> load<u8>(ip);
  if (vihl >> 4 != 4) {
    S.drop(sb, S.D_BAD_IP_VERSION);
    return NO_TX;
  }
  const ihl = (vihl & 15) << 2;
  if (ihl < IP_MIN_HLEN) {
    S.drop(sb, S.D_BAD_IHL);
    return NO_TX;
  }
  const tot = <u32> bswap<u16>(load<u16>(ip + IP_TOT_LEN));
  if (tot < ihl || tot > flen - ETH_HLEN) {
    S.drop(sb, ihl > flen - ETH_HLEN ? S.D_TRUNCATED : S.D_BAD_TOTAL_LENGTH);
    return NO_TX;
  }
  if (checksum(ip, ihl) != 0) {
    S.drop(sb, S.D_BAD_IP_CHECKSUM);
    return NO_TX;
  }
  const proto = <u32> load<u8>(ip + IP_PROTO);
  const daddr = load<u32>(ip + IP_DADDR);
  const vip = isVip(copy, daddr);
  const l4 = ip + ihl;
  const l4len = tot - ihl;
  // VRRP: an address another director holds now is not ours to answer or
  // forward (the kernel guard keeps the kernel quiet about it); a held
  // address that is no VIP (the servers' gateway) answers echo only.
  let gateway = false;
  if (vip || proto == IPPROTO_ICMP) {
    const hold = vrrpHold(daddr);
    if (hold == VRRP_NOT_HELD) {
      S.count(sb, S.G_IGNORED, 1);
      return NO_TX;
    }
    gateway = hold == VRRP_HELD && !vip;
  }
  const fragment = (load<u16>(ip + IP_FRAG) & IP_FRAG_MASK) != 0;
  if (fragment) {
    // IPVS reassembles first (nf_defrag); lvsd does not yet.
    if (vip) S.drop(sb, S.D_FRAGMENT);
    else S.count(sb, S.G_IGNORED, 1);
    return NO_TX;
  }
  if (proto == IPPROTO_ICMP) {
    if (vip) return handleIcmp(v, f, ip, tot, l4, l4len, flen, ifslot, sb, tci, now);
    if (gateway && l4len >= ICMP_HLEN && load<u8>(l4 + ICMP_TYPE) == ICMP_ECHO_REQUEST) {
      return handleIcmp(v, f, ip, tot, l4, l4len, flen, ifslot, sb, tci, now);
    }
    return relayIcmpOut(f, ip, l4, l4len, sb, now);
  }
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
    if (vip) S.drop(sb, S.D_PROTO_UNSUPPORTED);
    else S.count(sb, S.G_IGNORED, 1);
    return NO_TX;
  }
  // L4 header sanity. `sumLen`: the bytes the L4 checksum covers (UDP: its
  // own length; the IP payload may carry padding after it).
  let tflags: u32 = 0;
  let sumLen = l4len;
  const gso = load<u8>(v + VNET_GSO_TYPE) != VNET_GSO_NONE;
  if (proto == IPPROTO_TCP) {
    const doff = (<u32> load<u8>(l4 + TCP_DOFF) >> 4) << 2;
    if (l4len < TCP_MIN_HLEN || doff < TCP_MIN_HLEN || doff > l4len) {
      if (vip) S.drop(sb, S.D_BAD_L4_HEADER);
      else S.count(sb, S.G_IGNORED, 1);
      return NO_TX;
    }
    tflags = <u32> load<u8>(l4 + TCP_FLAGS);
  } else {
    const ulen = <u32> bswap<u16>(load<u16>(l4 + UDP_LEN));
    if (l4len < UDP_HLEN || ulen < UDP_HLEN || (!gso && ulen > l4len)) {
      if (vip) S.drop(sb, S.D_BAD_L4_HEADER);
      else S.count(sb, S.G_IGNORED, 1);
      return NO_TX;
    }
    if (!gso) sumLen = ulen;
  }
  const sport = <u32> load<u16>(l4);
  const dport = <u32> load<u16>(l4 + 2);
  const vflags = load<u8>(v + VNET_FLAGS);
  const partial = (vflags & VNET_F_NEEDS_CSUM) != 0;
  const verified = partial || (vflags & VNET_F_DATA_VALID) != 0;
  const checkAt = l4 + (proto == IPPROTO_TCP ? TCP_CHECK : UDP_CHECK);
  const saddr = load<u32>(ip + IP_SADDR);
  if (gso) S.count(sb, S.G_GSO_FRAMES, 1);
  if (partial) S.count(sb, S.G_CSUM_PARTIAL, 1);

  if (vip) {
    // Client -> VIP: the in direction.
    // Exact port, then a port range, then a port-0 (any port) service.
    const svc = svcLookup(copy, proto, daddr, dport);
    if (svc == 0) {
      S.drop(sb, S.D_NO_SERVICE);
      return NO_TX;
    }
    if (!verified && !l4ChecksumOk(ip, l4, sumLen, proto)) {
      S.drop(sb, S.D_BAD_L4_CHECKSUM);
      return NO_TX;
    }
    let c = lookupIn(proto, saddr, sport, daddr, dport, now);
    let inc = foundInc;
    // conn_reuse_mode and expire_nodest_conn (options.ts) may end it first.
    let ended = IN_USE;
    if (c != 0) {
      ended = checkInConn(c, inc, proto, tflags);
      if (ended == IN_DROP) {
        S.drop(sb, S.D_DEST_UNAVAILABLE);
        return NO_TX;
      }
      if (ended != IN_USE) c = 0;
    }
    if (c == 0) {
      if (proto == IPPROTO_TCP && !tcpMayStart(tflags)) {
        S.drop(sb, ended == IN_ENDED_NODEST ? S.D_DEST_UNAVAILABLE : S.D_NO_CONN);
        return NO_TX;
      }
      c = newConn(copy, svc, f, ip, proto, sport, dport, ifslot, tci, now, sb);
      if (c == 0) return NO_TX;
      inc = foundInc;
    }
    const fwd = load<u8>(c + CONN_FWD);
    if (proto == IPPROTO_TCP) {
      const noOutput = (atomic.load<u32>(c + CONN_SF) >> 8) & CONN_F_NOOUTPUT;
      tcpTransition(c, inc, noOutput ? DIR_INPUT_ONLY : DIR_INPUT, tflags, now);
    } else udpRefresh(c, inc, now);
    const dslot = <u32> load<u8>(c + CONN_DEST_IFACE);
    // The MTU towards the real server, before anything is rewritten (the
    // answer quotes what the client sent), as IPVS's ensure_mtu_is_adequate
    // does for every method: a packet, or each segment a GSO frame becomes,
    // plus the tunnel header, must fit.
    const over = fwd == FWD_TUNNEL ? tunnelOverhead(<u32> load<u8>(c + CONN_TUN_TYPE)) : 0;
    const mtu = load<u32>(ifaceAddr(dslot) + IFACE_MTU);
    if ((gso ? segmentSize(v, ip, l4, proto) : tot) + over > mtu) {
      return tooBig(v, ip, tot, mtu - over, ifslot, tci, sb);
    }
    if (fwd == FWD_MASQ) {
      rewrite(
        ip,
        ip + IP_DADDR,
        l4 + 2,
        checkAt,
        proto,
        load<u32>(c + CONN_DADDR),
        <u32> load<u16>(c + CONN_DPORT),
        partial,
      );
    }
    // The client's next hop is whatever MAC it last came from.
    if (
      load<u32>(c + CONN_CMAC) != load<u32>(f + ETH_SRC) || load<u16>(c + CONN_CMAC + 4) != load<u16>(f + ETH_SRC + 4)
    ) {
      copyMac(c + CONN_CMAC, f + ETH_SRC);
    }
    toDestMacs(f, c, dslot);
    // After the MACs: encapsulation moves the Ethernet header into the headroom.
    if (fwd == FWD_TUNNEL) {
      if (gso) {
        syncAfterIn(c, inc, sb); // a tunnel connection is never one-packet (UDP GSO is refused)
        return tunnelSegments(v, tot, proto, c, dslot, sb);
      }
      encapsulateFor(v, c, dslot, tot, flen);
    }
    const sid = <u32> load<u16>(c + CONN_SVC_ID);
    const did = <u32> load<u16>(c + CONN_DEST_ID);
    outVlan = <u32> load<u16>(c + CONN_DVLAN);
    if (!stillLive(c, inc)) {
      // Reused while we read it: what we forwarded with may be another's.
      S.drop(sb, S.D_NO_CONN);
      return NO_TX;
    }
    S.svcStat(sb, sid, S.S_INPKTS, 1);
    S.svcStat(sb, sid, S.S_INBYTES, tot);
    S.destStat(sb, did, S.S_INPKTS, 1);
    S.destStat(sb, did, S.S_INBYTES, tot);
    // Connection sync (ip_vs_in -> ip_vs_sync_conn): one-packet
    // connections never go to the backups.
    if (!isOnePacket(c)) syncAfterIn(c, inc, sb);
    outType = ETHERTYPE_IPV4;
    return <i32> dslot;
  }

  // Real server -> client: the out direction, only for known NAT
  // connections (DR and tunnel replies never pass the director).
  const c = lookupOut(proto, saddr, sport, daddr, dport, now);
  const inc = foundInc;
  if (c == 0 || load<u8>(c + CONN_FWD) != FWD_MASQ) {
    S.count(sb, S.G_IGNORED, 1);
    return NO_TX;
  }
  if (!verified && !l4ChecksumOk(ip, l4, sumLen, proto)) {
    S.drop(sb, S.D_BAD_L4_CHECKSUM);
    return NO_TX;
  }
  if (proto == IPPROTO_TCP) tcpTransition(c, inc, DIR_OUTPUT, tflags, now);
  else udpRefresh(c, inc, now);
  rewrite(ip, ip + IP_SADDR, l4, checkAt, proto, load<u32>(c + CONN_VADDR), <u32> load<u16>(c + CONN_VPORT), partial);
  const cslot = <u32> load<u8>(c + CONN_CIFACE);
  copyMac(f, c + CONN_CMAC);
  copyMac(f + ETH_SRC, ifaceAddr(cslot) + IFACE_MAC);
  const sid = <u32> load<u16>(c + CONN_SVC_ID);
  const did = <u32> load<u16>(c + CONN_DEST_ID);
  outVlan = <u32> load<u16>(c + CONN_CVLAN);
  if (!stillLive(c, inc)) {
    S.drop(sb, S.D_NO_CONN);
    return NO_TX;
  }
  S.svcStat(sb, sid, S.S_OUTPKTS, 1);
  S.svcStat(sb, sid, S.S_OUTBYTES, tot);
  S.destStat(sb, did, S.S_OUTPKTS, 1);
  S.destStat(sb, did, S.S_OUTBYTES, tot);
  outType = ETHERTYPE_IPV4;
  return <i32> cslot;
}

// struct msghdr / mmsghdr field offsets (x86_64).
const MH_NAME: u32 = 0;
const MH_NAMELEN: u32 = 8;
const MH_IOV: u32 = 16;
const MH_IOVLEN: u32 = 24;
const MH_CONTROL: u32 = 32;
const MH_CONTROLLEN: u32 = 40;
const MH_FLAGS: u32 = 48;
const MH_LEN: u32 = 56;
const MSG_TRUNC: u32 = 0x20;
const SOL_PACKET: i32 = 263;
const PACKET_AUXDATA: i32 = 8;
const TP_STATUS_VLAN_VALID: u32 = 0x10;
const PACKET_OTHERHOST: u8 = 3;
const PACKET_OUTGOING: u8 = 4;

/**
 * Writes the static parts of a worker's rx and tx mmsghdr arrays: every
 * pointer is a process address (CTRL_MEM_ADDR + offset). Called once when a
 * worker (re)starts; it touches only that worker's region.
 */
export function ioInit(worker: u32): void {
  const mem = load<u64>(CTRL + CTRL_MEM_ADDR);
  const io = ioBase(worker);
  for (let i: u32 = 0; i < TX_MAX; i++) {
    const t = io + IO_TX_HDRS + i * MMSGHDR_SIZE;
    store<u64>(t + MH_NAME, mem + <u64> (io + IO_TX_NAME + i * NAME_SIZE));
    store<u32>(t + MH_NAMELEN, 20);
    store<u64>(t + MH_IOV, mem + <u64> (io + IO_TX_IOV + i * IOVEC_SIZE));
    store<u64>(t + MH_IOVLEN, 1);
    store<u64>(t + MH_CONTROL, 0);
    store<u64>(t + MH_CONTROLLEN, 0);
    store<u32>(t + MH_FLAGS, 0);
  }
  for (let i: u32 = 0; i < BATCH; i++) {
    const h = io + IO_RX_HDRS + i * MMSGHDR_SIZE;
    const iov = io + IO_RX_IOV + i * IOVEC_SIZE;
    store<u64>(iov, mem + <u64> (io + IO_SLOTS + i * SLOT_SIZE + SLOT_HEADROOM));
    store<u64>(iov + 8, <u64> (SLOT_SIZE - SLOT_HEADROOM));
    store<u64>(h + MH_NAME, mem + <u64> (io + IO_RX_NAME + i * NAME_SIZE));
    store<u64>(h + MH_IOV, mem + <u64> iov);
    store<u64>(h + MH_IOVLEN, 1);
    store<u64>(h + MH_CONTROL, mem + <u64> (io + IO_RX_CMSG + i * CMSG_SIZE));
    rearm(h);
  }
}

// @ts-ignore: decorator

function rearm(h: u32): void {
  store<u32>(h + MH_NAMELEN, NAME_SIZE);
  store<u64>(h + MH_CONTROLLEN, CMSG_SIZE);
  store<u32>(h + MH_FLAGS, 0);
  store<u32>(h + MH_LEN, 0);
}

/** The 802.1Q TCI the kernel stripped from this frame (PACKET_AUXDATA), or 0. */
function rxVlan(h: u32): u32 {
  const clen = <u32> load<u64>(h + MH_CONTROLLEN);
  if (clen < 16 + 20) return 0;
  const cm = <u32> (load<u64>(h + MH_CONTROL) - load<u64>(CTRL + CTRL_MEM_ADDR));
  if (load<i32>(cm + 8) != SOL_PACKET || load<i32>(cm + 12) != PACKET_AUXDATA) return 0;
  if (!(load<u32>(cm + 16) & TP_STATUS_VLAN_VALID)) return 0;
  // tpacket_auxdata.tp_vlan_tci sits at +16 of the data. A TCI of 0 (a
  // priority-only tag with priority 0) is sent back untagged.
  return <u32> load<u16>(cm + 16 + 16);
}

/** Fills tx entry `t` for the frame whose vnet header is at `v`. */
function emit(io: u32, t: u32, v: u32, flen: u32, slot: u32, vlan: u32, etype: u16): void {
  const mem = load<u64>(CTRL + CTRL_MEM_ADDR);
  let start = v;
  let len = VNET_HDR_LEN + flen;
  if (vlan != 0) {
    // Put the tag back: move vnet header + MACs 4 bytes into the headroom.
    memory.copy(v - 4, v, VNET_HDR_LEN + 12);
    start = v - 4;
    store<u16>(start + VNET_HDR_LEN + 12, 0x0081);
    store<u16>(start + VNET_HDR_LEN + 14, bswap<u16>(<u16> (vlan & 0xffff)));
    len += 4;
    if (load<u8>(start + VNET_FLAGS) & VNET_F_NEEDS_CSUM) {
      store<u16>(start + VNET_CSUM_START, load<u16>(start + VNET_CSUM_START) + 4);
    }
  }
  const iov = io + IO_TX_IOV + t * IOVEC_SIZE;
  store<u64>(iov, mem + <u64> start);
  store<u64>(iov + 8, <u64> len);
  const nm = io + IO_TX_NAME + t * NAME_SIZE;
  store<u16>(nm, 17); // AF_PACKET
  // With a tag put back the frame's protocol is 802.1Q: the kernel parses
  // the network header (offloads, segmentation) after the tag only then.
  store<u16>(nm + 2, vlan != 0 ? ETHERTYPE_VLAN : etype);
  store<i32>(nm + 4, load<i32>(ifaceAddr(slot) + IFACE_INDEX));
  store<u16>(nm + 8, 0);
  store<u8>(nm + 10, 0);
  store<u8>(nm + 11, 6);
  copyMac(nm + 12, start + VNET_HDR_LEN);
}

/**
 * Handles `n` received frames of `worker` and builds the tx batch; returns
 * how many tx entries to send. `now` is milliseconds since the Unix epoch.
 */
export function processBatch(worker: u32, first: u32, n: u32, now: u64): u32 {
  const io = ioBase(worker);
  const sb = S.statsBase(worker);
  // Announce which table copy this batch reads, then re-check: if the
  // supervisor flipped in between, read the new copy (it will see us).
  let gen = atomic.load<u32>(CTRL + CTRL_GEN);
  while (true) {
    atomic.store<u32>(sb + (S.G_IN_BATCH << 3), gen | 0x80000000);
    const again = atomic.load<u32>(CTRL + CTRL_GEN);
    if (again == gen) break;
    gen = again;
  }
  const copy = gen & 1;
  let tx: u32 = 0;
  segArea = io + IO_SEGS;
  segUsed = 0;
  framesDone = n;
  S.count(sb, S.G_BATCHES, 1);
  for (let i: u32 = first; i < n; i++) {
    const h = io + IO_RX_HDRS + i * MMSGHDR_SIZE;
    const len = load<u32>(h + MH_LEN);
    // The frame is where the rx iovec points: a frame slot (AF_PACKET), or
    // the UMEM chunk the kernel received it into (AF_XDP: no copy).
    const v = <u32> (load<u64>(io + IO_RX_IOV + i * IOVEC_SIZE) - load<u64>(CTRL + CTRL_MEM_ADDR));
    // Segment slots are shared by the whole call: when a GSO frame might
    // not find room any more (a tunnel upload burst), stop before it, with
    // nothing of it done yet; the worker sends what is built and calls
    // again from this frame (process_from), so nothing is dropped.
    if (segUsed > 0 && len >= VNET_HDR_LEN && load<u8>(v + VNET_GSO_TYPE) != VNET_GSO_NONE) {
      const gs = <u32> load<u16>(v + VNET_GSO_SIZE);
      if (gs == 0 || len / gs + 1 > SEG_SLOTS - segUsed) {
        framesDone = i;
        break;
      }
    }
    S.count(sb, S.G_RX_FRAMES, 1);
    outSlot = NO_TX;
    outShift = 0;
    outLen = 0;
    outSegs = 0;
    if (load<u32>(h + MH_FLAGS) & MSG_TRUNC) {
      S.drop(sb, S.D_OVERSIZE);
    } else if (len < VNET_HDR_LEN + ETH_HLEN) {
      S.drop(sb, S.D_TRUNCATED);
    } else {
      const flen = len - VNET_HDR_LEN;
      S.count(sb, S.G_RX_BYTES, flen);
      const name = io + IO_RX_NAME + i * NAME_SIZE;
      const ifslot = ifaceSlot(load<i32>(name + 4));
      // sll_pkttype: frames for other hosts (a promiscuous NIC) and our own
      // outgoing frames (kernels before 6.2 with fanout) are not ours.
      const pkttype = load<u8>(name + 10);
      const f = v + VNET_HDR_LEN;
      const vlan = rxVlan(h);
      const et = load<u16>(f + ETH_TYPE);
      if (ifslot < 0 || pkttype == PACKET_OTHERHOST || pkttype == PACKET_OUTGOING) {
        S.count(sb, S.G_IGNORED, 1);
      } else if (et == ETHERTYPE_IPV4) {
        outSlot = handleIpv4(f, flen, v, <u32> ifslot, copy, sb, vlan, now);
      } else if (et == ETHERTYPE_ARP) {
        outSlot = handleArp(f, flen, <u32> ifslot, copy, sb, vlan);
      } else {
        // IPv6, in-band VLAN tags (not stripped by the kernel) and other
        // EtherTypes are left to the kernel in this build.
        S.count(sb, S.G_IGNORED, 1);
      }
      if (outSlot >= 0 && outSegs > 0) {
        for (let k: u32 = 0; k < outSegs; k++) {
          const sv = segArea + (outSegFirst + k) * SEG_SIZE + SLOT_HEADROOM - outShift;
          const olen = ETH_HLEN + <u32> bswap<u16>(load<u16>(sv + VNET_HDR_LEN + ETH_HLEN + IP_TOT_LEN));
          emit(io, tx, sv, olen, <u32> outSlot, outVlan, outType);
          S.count(sb, S.G_TX_FRAMES, 1);
          S.count(sb, S.G_TX_BYTES, olen);
          tx++;
        }
      } else if (outSlot >= 0) {
        const olen = outLen != 0 ? outLen : flen;
        emit(io, tx, v - outShift, olen, <u32> outSlot, outVlan, outType);
        S.count(sb, S.G_TX_FRAMES, 1);
        S.count(sb, S.G_TX_BYTES, olen);
        tx++;
      }
    }
  }
  atomic.store<u32>(sb + (S.G_IN_BATCH << 3), 0);
  return tx;
}

/** Re-arms rx entries [first, end) for the next recvmmsg. */
export function rearmRx(worker: u32, first: u32, end: u32): void {
  const io = ioBase(worker);
  for (let i = first; i < end; i++) rearm(io + IO_RX_HDRS + i * MMSGHDR_SIZE);
}
