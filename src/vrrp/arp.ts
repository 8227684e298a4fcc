/**
 * Link-layer pieces of a VRRP takeover: the virtual router MAC of a VRID
 * and the gratuitous ARP frame a new master broadcasts for each VIP so that
 * hosts and switches move the address to it.
 *
 * Gratuitous ARP frame (42 bytes; the NIC pads it to the 60-byte minimum):
 *
 * ```
 * Ethernet: dst ff:ff:ff:ff:ff:ff | src our MAC | type 0x0806
 * ARP:      htype 1 (Ethernet) | ptype 0x0800 | hlen 6 | plen 4 | op 1 (request)
 *           SHA our MAC | SPA VIP | THA ff:ff:ff:ff:ff:ff | TPA VIP
 * ```
 *
 * A request with sender and target protocol address both the VIP (RFC 5227
 * §3 calls it an ARP announcement) updates every cache that holds the VIP
 * and makes no host answer. keepalived sends exactly this, target hardware
 * address the broadcast address included (vrrp_arp.c
 * send_gratuitous_arp_immediate), from the interface MAC unless `use_vmac`.
 *
 * @module
 */
import { parseIpv4, writeIpv4 } from "./ipv4.ts";

/** Length of a gratuitous ARP frame without padding. */
export const GARP_FRAME_BYTES = 42;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const ARPHRD_ETHER = 1;
const ARPOP_REQUEST = 1;
const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes); throws naming the text otherwise. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`Cannot parse MAC address "${text}": want six hex pairs like 02:00:00:00:00:01`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Formats 6 bytes as lower-case "aa:bb:cc:dd:ee:ff". */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
}

/**
 * The IPv4 virtual router MAC of a VRID, 00-00-5E-00-01-{VRID}
 * (RFC 5798 §7.3; the IANA block of RFC 3768 §7.3 too).
 */
export function virtualRouterMac(vrid: number): Uint8Array {
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`VRID ${vrid} is not an integer 1..255`);
  return new Uint8Array([0x00, 0x00, 0x5e, 0x00, 0x01, vrid]);
}

/** The gratuitous ARP for `vip`, sent from `mac` (see the module doc for the layout). */
export function gratuitousArp(vip: string, mac: Uint8Array | string): Uint8Array {
  const sha = typeof mac === "string" ? parseMac(mac) : mac;
  if (sha.length !== 6) throw new RangeError(`MAC address has ${sha.length} bytes, not 6`);
  const spa = parseIpv4(vip);
  const f = new Uint8Array(GARP_FRAME_BYTES);
  f.set(BROADCAST, 0);
  f.set(sha, 6);
  f[12] = ETHERTYPE_ARP >> 8;
  f[13] = ETHERTYPE_ARP & 255;
  f[15] = ARPHRD_ETHER;
  f[16] = ETHERTYPE_IPV4 >> 8;
  f[17] = ETHERTYPE_IPV4 & 255;
  f[18] = 6;
  f[19] = 4;
  f[21] = ARPOP_REQUEST;
  f.set(sha, 22);
  writeIpv4(f, 28, spa);
  f.set(BROADCAST, 32);
  writeIpv4(f, 38, spa);
  return f;
}
