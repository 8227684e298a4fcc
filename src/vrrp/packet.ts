/**
 * VRRP advertisements on the wire, IPv4 only: encode, decode, and the
 * receive checks of RFC 5798 §7.1 (version 3) and RFC 3768 §7.1 (version 2),
 * each refusal named so the caller can count it.
 *
 * Layout (byte offsets; both versions share the first 8 bytes except 4–5):
 *
 * ```
 * byte 0      1          2          3            4–5                    6–7
 *    +------+------+----------+----------+-------------------------+----------+
 * v3 |ver|ty| VRID | Priority | Count    | 4 bits 0 | 12-bit max   | Checksum |
 *    | 3 | 1|      |          | IPv4     | reserved | adver int cs |          |
 *    +------+------+----------+----------+-------------------------+----------+
 * v2 |ver|ty| VRID | Priority | Count    | Auth Type | Adver Int s | Checksum |
 *    | 2 | 1|      |          | IP Addrs |  (byte 4) |  (byte 5)   |          |
 *    +------+------+----------+----------+-------------------------+----------+
 *    | Count × 4-byte IPv4 addresses (the virtual router's addresses)        |
 *    +-----------------------------------------------------------------------+
 * v2 | 8 bytes Authentication Data (the password for Auth Type 1, else 0)   |
 *    +-----------------------------------------------------------------------+
 * ```
 *
 * Checksums (RFC 1071 one's complement, checksum field zero while summed):
 * - v3 (RFC 5798 §5.2.8): over an IPv4 pseudo-header (source, destination,
 *   zero byte, protocol 112, 16-bit VRRP length) followed by the VRRP
 *   message. keepalived computes the same (vrrp.c vrrp_build_vrrp_v3) and
 *   has `v3_checksum_as_v2` for peers that leave the pseudo-header out;
 *   `checksumAsV2` here is that option.
 * - v2 (RFC 3768 §5.3.8): over the VRRP message alone, authentication data
 *   included.
 *
 * Authentication: RFC 3768 keeps Auth Type only for RFC 2338 compatibility
 * (0 none; 1 and 2 reserved) and RFC 5798 has no field at all. keepalived
 * still sends `auth_type PASS` as type 1 with the password, zero-padded to
 * 8 bytes, in the authentication data, and compares all 8 bytes on receipt
 * (vrrp.c vrrp_check_packet); that is offered here for interop only.
 *
 * @module
 */
import {
  formatIpv4,
  internetChecksum,
  IPPROTO_VRRP,
  isMulticastIpv4,
  parseIpv4,
  parseIpv4Header,
  readIpv4,
  writeIpv4,
} from "./ipv4.ts";

/** The IPv4 multicast group adverts go to (RFC 5798 §5.1.1.2). */
export const VRRP_MULTICAST_GROUP = "224.0.0.18";
/** TTL adverts are sent with and must arrive with (RFC 5798 §5.1.1.3). */
export const VRRP_TTL = 255;
/** The only VRRP message type (RFC 5798 §5.2.2). */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** v2 Auth Type 0: no authentication (RFC 3768 §5.3.6). */
export const AUTH_NONE = 0;
/** v2 Auth Type 1: RFC 2338's simple text password, keepalived's `auth_type PASS`. */
export const AUTH_PASS = 1;
/** Bytes of v2 authentication data (RFC 3768 §5.3.10). */
export const V2_AUTH_BYTES = 8;
/** Bytes before the address list. */
export const VRRP_HEADER_BYTES = 8;
/** The v3 interval field is 12 bits of centiseconds (RFC 5798 §5.2.7). */
export const V3_MAX_INTERVAL_CS = 0x0fff;

/** What an advert says. */
export interface Advert {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /**
   * Advertisement interval in centiseconds: v3's Max Adver Int as sent; v2's
   * Adver Int (whole seconds) × 100, so both versions share one unit.
   */
  intervalCs: number;
  /** The virtual addresses, in packet order. */
  addresses: string[];
  /** v2 Auth Type (0 or 1); always 0 for v3. */
  authType: number;
}

/** What {@link encodeAdvert} sends. */
export interface AdvertFields {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** Centiseconds; for v2 a whole number of seconds (a multiple of 100). */
  intervalCs: number;
  addresses: readonly string[];
  /** v2 only: send Auth Type 1 with this password (the first 8 bytes of its UTF-8). */
  password?: string;
}

/** The IP addresses the v3 pseudo-header checksum covers. */
export interface AdvertAddressing {
  /** Our primary address: the IP source. */
  src: string;
  /** 224.0.0.18, or the unicast peer's address. */
  dst: string;
  /** keepalived's `v3_checksum_as_v2`: leave the pseudo-header out of the v3 checksum. */
  checksumAsV2?: boolean;
}

/** The 8 bytes of v2 authentication data for a password, as keepalived fills them. */
export function passwordBytes(password: string): Uint8Array {
  const out = new Uint8Array(V2_AUTH_BYTES);
  out.set(new TextEncoder().encode(password).subarray(0, V2_AUTH_BYTES));
  return out;
}

function checkField(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`VRRP advert ${name} ${value} is not an integer ${min}..${max}`);
  }
}

/** Length of a VRRP message with `count` addresses. */
export function advertLength(version: 2 | 3, count: number): number {
  return VRRP_HEADER_BYTES + 4 * count + (version === 2 ? V2_AUTH_BYTES : 0);
}

/**
 * Builds one advertisement (the IP payload). Throws a RangeError naming
 * the field when a value does not fit the packet.
 */
export function encodeAdvert(f: AdvertFields, ip: AdvertAddressing): Uint8Array {
  if (f.version !== 2 && f.version !== 3) throw new RangeError(`VRRP advert version ${f.version} is not 2 or 3`);
  checkField("vrid", f.vrid, 1, 255);
  checkField("priority", f.priority, 0, 255);
  checkField("address count", f.addresses.length, 0, 255);
  if (f.version === 3) {
    checkField("interval (centiseconds)", f.intervalCs, 1, V3_MAX_INTERVAL_CS);
    if (f.password !== undefined) throw new RangeError("VRRP version 3 has no authentication: password not allowed");
  } else {
    if (f.intervalCs % 100 !== 0) {
      throw new RangeError(`VRRP v2 advert interval ${f.intervalCs} cs is not a whole number of seconds`);
    }
    checkField("interval (seconds)", f.intervalCs / 100, 1, 255);
  }
  const out = new Uint8Array(advertLength(f.version, f.addresses.length));
  out[0] = (f.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = f.vrid;
  out[2] = f.priority;
  out[3] = f.addresses.length;
  if (f.version === 3) {
    out[4] = f.intervalCs >> 8; // the high 4 bits (reserved) stay 0
    out[5] = f.intervalCs & 255;
  } else {
    out[4] = f.password === undefined ? AUTH_NONE : AUTH_PASS;
    out[5] = f.intervalCs / 100;
  }
  f.addresses.forEach((a, i) => writeIpv4(out, VRRP_HEADER_BYTES + 4 * i, parseIpv4(a)));
  if (f.version === 2 && f.password !== undefined) {
    out.set(passwordBytes(f.password), VRRP_HEADER_BYTES + 4 * f.addresses.length);
  }
  const sum = advertChecksum(out, f.version, parseIpv4(ip.src), parseIpv4(ip.dst), ip.checksumAsV2 ?? false);
  out[6] = sum >> 8;
  out[7] = sum & 255;
  return out;
}

/**
 * The checksum of `msg` as it stands (0 when `msg` carries a correct one; the
 * value to store when its checksum field is 0).
 */
function advertChecksum(msg: Uint8Array, version: number, src: number, dst: number, asV2: boolean): number {
  if (version === 2 || asV2) return internetChecksum(msg);
  const buf = new Uint8Array(12 + msg.length);
  writeIpv4(buf, 0, src);
  writeIpv4(buf, 4, dst);
  buf[9] = IPPROTO_VRRP;
  buf[10] = msg.length >> 8;
  buf[11] = msg.length & 255;
  buf.set(msg, 12);
  return internetChecksum(buf);
}

/**
 * Every reason an advert is dropped, in the order the checks run; an index
 * into the caller's counters. The IP-level ones come from
 * {@link decodeAdvertPacket} only.
 */
export const DROP_REASONS = [
  /** Not an IPv4 packet (version nibble). */
  "notIpv4",
  /** IHL below 5, or a total length shorter than the header or longer than what arrived. */
  "badIpHeader",
  /** The IPv4 header checksum is wrong. */
  "badIpChecksum",
  /** IP protocol is not 112. */
  "notVrrp",
  /** Fewer than the 8 fixed bytes. */
  "truncated",
  /** TTL is not 255 (RFC 5798 §5.1.1.3 / §7.1); not checked for unicast peers, as keepalived. */
  "badTtl",
  /** Version is not the one configured (3, or 2 when selected). */
  "badVersion",
  /** Type is not 1 (ADVERTISEMENT; RFC 5798 §5.2.2: unknown types are discarded). */
  "badType",
  /** The message length does not match the address count (and the auth data for v2). */
  "badLength",
  /** The VRRP checksum is wrong. */
  "badChecksum",
  /** The VRID is not the instance's (§7.1: VRID configured on the interface). */
  "unknownVrid",
  /** Multicast arrived where unicast peers are configured, or the reverse (keepalived's check). */
  "wrongDestination",
  /** v2 Auth Type is neither 0 nor 1 (AH, type 2, is not supported). */
  "badAuthType",
  /** v2 Auth Type differs from the configured one (RFC 3768 §5.3.6). */
  "authTypeMismatch",
  /** v2 password differs (all 8 bytes compared, as keepalived). */
  "authFailure",
  /** Interval 0: a master that never advertises. lvsd's own rule (the RFCs leave it open). */
  "badInterval",
  /** v2 Adver Int differs from ours (RFC 3768 §7.1 MUST). v3 only notes it: backups learn it. */
  "intervalMismatch",
  /** We are the address owner (priority 255): §7.1 drops; RFC 9568 erratum 8298 only logs. Opt-in. */
  "localIsOwner",
  /** v2: the address list differs and the sender is not the owner (RFC 3768 §7.1). v3 only notes it. */
  "addressListMismatch",
] as const;

/** One of {@link DROP_REASONS}. */
export type DropReason = typeof DROP_REASONS[number];

/** A mismatch that is counted but does not drop the advert. */
export type AdvertNote = "intervalMismatch" | "addressListMismatch";

/** What the receiving instance is configured with; every field optional. */
export interface AdvertExpect {
  /** 3 unless 2 is selected. */
  version?: 2 | 3;
  /** The instance's VRID. */
  vrid?: number;
  /** Our advertisement interval in centiseconds (v2: drop on mismatch; v3: note). */
  intervalCs?: number;
  /** Our virtual addresses; when given, the advert's list is compared as a set. */
  addresses?: readonly string[];
  /** v2: our `auth_type PASS` password; absent means Auth Type 0 is expected. */
  password?: string;
  /** We are configured with unicast peers: no TTL check, and the destination must not be multicast. */
  unicast?: boolean;
  /** Drop every advert while we are the address owner (RFC 5798 §7.1 as written; keepalived's strict mode). */
  localIsOwner?: boolean;
  /** keepalived's `v3_checksum_as_v2`. */
  checksumAsV2?: boolean;
}

/** Result of a decode: the advert and counted-but-accepted notes, or the reason it was dropped. */
export type DecodeResult =
  | { ok: true; advert: Advert; notes: AdvertNote[] }
  | { ok: false; reason: DropReason };

function drop(reason: DropReason): DecodeResult {
  return { ok: false, reason };
}

function sameAddressSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map(parseIpv4));
  return set.size === a.length && b.every((x) => set.has(parseIpv4(x)));
}

/**
 * Checks and decodes the VRRP message `bytes` (the IP payload, exactly as
 * long as the IP total length says) that came from `ipSrc` to `ipDst` with
 * `ttl`. Never throws on packet contents; a malformed `expect` (not a
 * dotted quad) does throw.
 */
export function decodeAdvert(
  ipSrc: string | number,
  ipDst: string | number,
  ttl: number,
  bytes: Uint8Array,
  expect: AdvertExpect = {},
): DecodeResult {
  const src = typeof ipSrc === "number" ? ipSrc : parseIpv4(ipSrc);
  const dst = typeof ipDst === "number" ? ipDst : parseIpv4(ipDst);
  const wantVersion = expect.version ?? 3;
  if (bytes.length < VRRP_HEADER_BYTES) return drop("truncated");
  if (!expect.unicast && ttl !== VRRP_TTL) return drop("badTtl");
  const version = bytes[0] >> 4;
  if (version !== wantVersion) return drop("badVersion");
  if ((bytes[0] & 0x0f) !== VRRP_TYPE_ADVERTISEMENT) return drop("badType");
  const count = bytes[3];
  if (bytes.length !== advertLength(wantVersion, count)) return drop("badLength");
  if (advertChecksum(bytes, version, src, dst, expect.checksumAsV2 ?? false) !== 0) return drop("badChecksum");
  const vrid = bytes[1];
  if (expect.vrid !== undefined && vrid !== expect.vrid) return drop("unknownVrid");
  if (expect.unicast !== undefined && isMulticastIpv4(dst) === expect.unicast) return drop("wrongDestination");

  let authType = AUTH_NONE;
  let intervalCs: number;
  if (version === 2) {
    authType = bytes[4];
    if (authType !== AUTH_NONE && authType !== AUTH_PASS) return drop("badAuthType");
    if (authType !== (expect.password === undefined ? AUTH_NONE : AUTH_PASS)) return drop("authTypeMismatch");
    if (expect.password !== undefined) {
      const want = passwordBytes(expect.password);
      const at = VRRP_HEADER_BYTES + 4 * count;
      if (want.some((b, i) => bytes[at + i] !== b)) return drop("authFailure");
    }
    intervalCs = bytes[5] * 100;
  } else {
    intervalCs = ((bytes[4] & 0x0f) << 8) | bytes[5]; // the reserved bits are ignored (§5.2.6)
  }
  if (intervalCs === 0) return drop("badInterval");
  const notes: AdvertNote[] = [];
  if (expect.intervalCs !== undefined && intervalCs !== expect.intervalCs) {
    if (version === 2) return drop("intervalMismatch");
    notes.push("intervalMismatch");
  }
  if (expect.localIsOwner) return drop("localIsOwner");
  const priority = bytes[2];
  const addresses = Array.from({ length: count }, (_, i) => formatIpv4(readIpv4(bytes, VRRP_HEADER_BYTES + 4 * i)));
  if (expect.addresses !== undefined && !sameAddressSet(addresses, expect.addresses)) {
    if (version === 2 && priority !== 255) return drop("addressListMismatch");
    notes.push("addressListMismatch");
  }
  return { ok: true, advert: { version, vrid, priority, intervalCs, addresses, authType }, notes };
}

/** {@link decodeAdvert} plus where the advert came from, for a whole IPv4 packet. */
export type PacketDecodeResult =
  | { ok: true; advert: Advert; notes: AdvertNote[]; src: string; dst: string; ttl: number }
  | { ok: false; reason: DropReason };

/**
 * Checks and decodes a whole IPv4 packet as a raw IPPROTO_VRRP socket
 * delivers it (header included): IPv4 header sanity and protocol 112, then
 * {@link decodeAdvert} on the payload. Trailing bytes after the IP total
 * length (Ethernet padding) are ignored.
 */
export function decodeAdvertPacket(packet: Uint8Array, expect: AdvertExpect = {}): PacketDecodeResult {
  const parsed = parseIpv4Header(packet);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const h = parsed.header;
  if (h.protocol !== IPPROTO_VRRP) return { ok: false, reason: "notVrrp" };
  const r = decodeAdvert(h.src, h.dst, h.ttl, packet.subarray(h.headerLength, h.totalLength), expect);
  if (!r.ok) return r;
  return { ...r, src: formatIpv4(h.src), dst: formatIpv4(h.dst), ttl: h.ttl };
}
