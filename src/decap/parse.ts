/**
 * Finding the client's packet inside what an LVS director sends a real
 * server in tunnel mode (IPVS `-i`, ipvsadm `--tun-type ipip|gue`). Pure
 * functions over bytes: no sockets, no allocation, so the receive loop calls
 * them per packet and the tests call them on fixtures.
 *
 * IPIP (RFC 2003 section 3), as a raw IPPROTO_IPIP socket delivers it:
 *
 * ```
 * +---------------------------+---------------------------------------+
 * | outer IPv4 header         | inner IPv4 packet (client -> VIP),    |
 * | protocol 4, IHL*4 bytes   | exactly as the client sent it         |
 * | director -> real server   |                                       |
 * +---------------------------+---------------------------------------+
 * ```
 *
 * GUE (draft-ietf-intarea-gue section 3.1), as a UDP socket bound to the
 * tunnel port delivers it (the UDP payload):
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|C|  Hlen   |  Proto/ctype  |        Flags                |P|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~            Hlen 32-bit words of optional fields               ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  inner packet, IP protocol Proto/ctype (4 = IPv4)             |
 * ```
 *
 * IPVS sends variant 0 with C = 0, Hlen = 0, Flags = 0, Proto = 4, unless
 * the dest has `--tun-flags remcsum`: then the P flag is set and the private
 * flags word carries REMCSUM plus a csum_start/csum_offset pair, and the
 * inner transport checksum is left for the receiver to finish. That is not
 * supported here (it is counted as `bad_gue_header`). Variant 1 (Ver = 01,
 * section 4) has no GUE header at all: the inner IP packet follows the UDP
 * header directly, and its own version nibble (4 = 0100) supplies the 01.
 *
 * @module
 */

/** What became of one received packet; also an index into the counters (see counters.ts). */
export const Verdict = {
  /** The inner packet is an IPv4 packet to a VIP: write it to the TUN device. */
  decapsulated: 0,
  /** The inner packet is not IPv4 (e.g. IPv6, or another GUE protocol). */
  notIpv4Inner: 1,
  /** A GUE header this receiver does not take: version 2/3, control message, unknown or private flags. */
  badGueHeader: 2,
  /** The inner packet's destination is not one of the VIPs. */
  notForVip: 3,
  /** Shorter than the headers it has (outer, GUE, inner) or than the inner total length says. */
  truncated: 4,
} as const;

/** A {@link Verdict} value. */
export type VerdictCode = typeof Verdict[keyof typeof Verdict];

/** Where the inner packet is; filled in by the parse functions, allocated once and reused. */
export class InnerPacket {
  /** Offset of the inner IPv4 header in the buffer. */
  offset = 0;
  /** Its length: the inner total length (trailing padding is left out). */
  length = 0;
}

const IPPROTO_IPIP = 4;
// GUE standard flags (section 3.1): only P (private flags present) is defined.
const GUE_FLAG_PRIV = 0x0001;

/** Parses dotted-quad IPv4 addresses into the table the parse functions take. */
export function vipTable(addrs: readonly string[]): Uint32Array {
  return Uint32Array.from(addrs, (a) => {
    const parts = a.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)) {
      throw new Error(`Cannot parse VIP "${a}": not an IPv4 address`);
    }
    return parts.reduce((n, p) => n * 256 + Number(p), 0);
  });
}

/**
 * An IPIP packet (outer IPv4 header first) at `buf[start, start + length)`:
 * the verdict, and where the inner packet is in `out`.
 */
export function parseIpip(
  buf: Uint8Array,
  view: DataView,
  start: number,
  length: number,
  vips: Uint32Array,
  out: InnerPacket,
): VerdictCode {
  if (length < 20) return Verdict.truncated;
  const outerLen = (buf[start] & 0x0f) * 4;
  // The kernel validated the outer header; the length it says can still be
  // less than what was received (link padding is trimmed before raw delivery,
  // but be exact anyway).
  const outerTotal = view.getUint16(start + 2);
  if (outerLen < 20 || outerTotal < outerLen || outerLen > length) return Verdict.truncated;
  const end = outerTotal < length ? outerTotal : length;
  return innerIpv4(buf, view, start + outerLen, end - outerLen, vips, out);
}

/**
 * A GUE payload (what follows the outer UDP header) at
 * `buf[start, start + length)`: the verdict, and where the inner packet is.
 */
export function parseGue(
  buf: Uint8Array,
  view: DataView,
  start: number,
  length: number,
  vips: Uint32Array,
  out: InnerPacket,
): VerdictCode {
  if (length < 1) return Verdict.truncated;
  const first = buf[start];
  const version = first >> 6;
  if (version === 1) {
    // Variant 1: an IP packet right after the UDP header.
    return innerIpv4(buf, view, start, length, vips, out);
  }
  if (version !== 0) return Verdict.badGueHeader;
  if (length < 4) return Verdict.truncated;
  // Control messages (C bit) carry no packet to deliver.
  if (first & 0x20) return Verdict.badGueHeader;
  const headerLen = 4 + (first & 0x1f) * 4;
  if (headerLen > length) return Verdict.truncated;
  const flags = view.getUint16(start + 2);
  if (flags & ~GUE_FLAG_PRIV) return Verdict.badGueHeader;
  if (flags & GUE_FLAG_PRIV) {
    // The private flags word must fit in the optional fields; any private
    // flag set (REMCSUM is the only one defined) asks for work not done here.
    if (headerLen < 8 || view.getUint32(start + 4) !== 0) return Verdict.badGueHeader;
  }
  const proto = buf[start + 1];
  if (proto === IPPROTO_IPIP) {
    return innerIpv4(buf, view, start + headerLen, length - headerLen, vips, out);
  }
  // IPv6 (41) or anything else: not a packet for an IPv4 VIP.
  return Verdict.notIpv4Inner;
}

/** Checks the inner packet at `buf[at, at + avail)`: IPv4, whole, to a VIP. */
function innerIpv4(
  buf: Uint8Array,
  view: DataView,
  at: number,
  avail: number,
  vips: Uint32Array,
  out: InnerPacket,
): VerdictCode {
  if (avail < 1) return Verdict.truncated;
  if (buf[at] >> 4 !== 4) return Verdict.notIpv4Inner;
  if (avail < 20) return Verdict.truncated;
  const headerLen = (buf[at] & 0x0f) * 4;
  const total = view.getUint16(at + 2);
  if (headerLen < 20 || total < headerLen || total > avail) return Verdict.truncated;
  const daddr = view.getUint32(at + 16);
  let found = false;
  for (let i = 0; i < vips.length; i++) {
    if (vips[i] === daddr) {
      found = true;
      break;
    }
  }
  if (!found) return Verdict.notForVip;
  out.offset = at;
  out.length = total;
  return Verdict.decapsulated;
}
