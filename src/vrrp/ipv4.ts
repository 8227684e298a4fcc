/**
 * The IPv4 pieces VRRP needs, as pure functions over bytes: dotted-quad
 * addresses, the Internet checksum (RFC 1071), and the IPv4 header a raw
 * IPPROTO_VRRP socket delivers (and, with IP_HDRINCL, expects) in front of
 * the VRRP message.
 *
 * @module
 */

import { formatIpv4, parseIpv4 as parseDottedQuad } from "../config/members.ts";

/** IP protocol number of VRRP (RFC 5798 §5.1.1.4, RFC 3768 §5.2.4). */
export const IPPROTO_VRRP = 112;

/** Parses a dotted quad into an unsigned 32-bit number; throws naming the text when it is not one. */
export function parseIpv4(text: string): number {
  const n = parseDottedQuad(text);
  if (n === null) throw new Error(`Cannot parse "${text}": not an IPv4 address (dotted quad)`);
  return n;
}

export { formatIpv4 };

/** True for 224.0.0.0/4 (RFC 5771). */
export function isMulticastIpv4(n: number): boolean {
  return (n >>> 28) === 0xe;
}

/** Reads 4 bytes at `offset` as an unsigned address. */
export function readIpv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

/** Writes an unsigned address as 4 bytes at `offset`. */
export function writeIpv4(bytes: Uint8Array, offset: number, n: number): void {
  bytes[offset] = (n >>> 24) & 255;
  bytes[offset + 1] = (n >>> 16) & 255;
  bytes[offset + 2] = (n >>> 8) & 255;
  bytes[offset + 3] = n & 255;
}

/**
 * The 16-bit one's complement of the one's complement sum of `bytes`
 * (RFC 1071), an odd last byte padded with a zero. Over data that already
 * holds its correct checksum the result is 0, which is how receivers check.
 */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  // Fold the carries back in; two folds are enough for any length below 2^16 words.
  sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The fields of an IPv4 header that VRRP reads. */
export interface Ipv4Header {
  /** Header length in bytes (IHL × 4). */
  headerLength: number;
  /** Total length from the header (header + payload). */
  totalLength: number;
  tos: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
}

/** Why {@link parseIpv4Header} refused a buffer. */
export type Ipv4HeaderError = "notIpv4" | "badIpHeader" | "badIpChecksum";

/**
 * Parses the IPv4 header at the start of `bytes` (what a raw IPv4 socket
 * delivers). Bytes after the total length (Ethernet padding of short frames)
 * are not part of the packet; a total length beyond the buffer, or shorter
 * than the header, is a bad header.
 */
export function parseIpv4Header(
  bytes: Uint8Array,
): { ok: true; header: Ipv4Header } | { ok: false; reason: Ipv4HeaderError } {
  if (bytes.length < 1 || bytes[0] >> 4 !== 4) return { ok: false, reason: "notIpv4" };
  const headerLength = (bytes[0] & 0x0f) * 4;
  if (headerLength < 20 || bytes.length < headerLength) return { ok: false, reason: "badIpHeader" };
  const totalLength = (bytes[2] << 8) | bytes[3];
  if (totalLength < headerLength || totalLength > bytes.length) return { ok: false, reason: "badIpHeader" };
  if (internetChecksum(bytes, 0, headerLength) !== 0) return { ok: false, reason: "badIpChecksum" };
  return {
    ok: true,
    header: {
      headerLength,
      totalLength,
      tos: bytes[1],
      ttl: bytes[8],
      protocol: bytes[9],
      src: readIpv4(bytes, 12),
      dst: readIpv4(bytes, 16),
    },
  };
}

/** What {@link encodeIpv4Packet} puts in the header. */
export interface Ipv4PacketFields {
  src: string;
  dst: string;
  protocol: number;
  /** 255 for VRRP (RFC 5798 §5.1.1.3). */
  ttl: number;
  /** keepalived sends VRRP with TOS 0xc0 (internetwork control; vrrp.c vrrp_build_ip4). */
  tos?: number;
  /** Identification; 0 as keepalived sends it (the packet is never fragmented). */
  id?: number;
  payload: Uint8Array;
}

/**
 * A whole IPv4 packet (20-byte header, no options, DF clear, header
 * checksum filled in) for sending on a raw socket with IP_HDRINCL.
 */
export function encodeIpv4Packet(f: Ipv4PacketFields): Uint8Array {
  const total = 20 + f.payload.length;
  if (total > 0xffff) throw new RangeError(`IPv4 packet of ${total} bytes is longer than 65535`);
  for (
    const [name, v, max] of [["ttl", f.ttl, 255], ["protocol", f.protocol, 255], ["tos", f.tos ?? 0, 255]] as const
  ) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`IPv4 ${name} ${v} is not an integer 0..${max}`);
  }
  const out = new Uint8Array(total);
  out[0] = 0x45;
  out[1] = f.tos ?? 0;
  out[2] = total >> 8;
  out[3] = total & 255;
  out[4] = ((f.id ?? 0) >> 8) & 255;
  out[5] = (f.id ?? 0) & 255;
  out[8] = f.ttl;
  out[9] = f.protocol;
  writeIpv4(out, 12, parseIpv4(f.src));
  writeIpv4(out, 16, parseIpv4(f.dst));
  const sum = internetChecksum(out, 0, 20);
  out[10] = sum >> 8;
  out[11] = sum & 255;
  out.set(f.payload, 20);
  return out;
}
