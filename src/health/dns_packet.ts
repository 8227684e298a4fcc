/**
 * The one DNS message DNS_CHECK sends and the header fields it reads back
 * (RFC 1035 §4.1). Built here, as keepalived builds it (check_dns.c
 * dns_make_query): a random ID, RD set, one question of the asked type in
 * class IN, no other sections (no EDNS).
 *
 * Header (RFC 1035 §4.1.1), 12 bytes, big-endian:
 *
 * ```
 *   0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * ```
 *
 * Question (§4.1.2): QNAME as length-prefixed labels ending in a zero
 * byte, then QTYPE and QCLASS (1 = IN), 16 bits each.
 *
 * @module
 */

/** Bytes in a DNS header. */
export const DNS_HEADER_LEN = 12;
/** RD: recursion desired (bit 8 of the flags word). */
const FLAG_RD = 0x0100;
/** QR: this message is a response (bit 15). */
const FLAG_QR = 0x8000;
/** QCLASS IN. */
const CLASS_IN = 1;

/** RFC 1035 §4.1.1 and RFC 6895 names of the RCODEs a server commonly returns. */
export const RCODE_NAMES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

/**
 * The QNAME for `name`: "" and "." are the root; a trailing dot is allowed;
 * an empty label ("a..b", ".a") is refused, as keepalived's dns_name_handler
 * refuses it; labels are at most 63 bytes and the name 255 (RFC 1035 §2.3.4).
 *
 * @throws {Error} `Cannot parse DNS name "…": …`.
 */
export function encodeName(name: string): Uint8Array {
  if (name === "" || name === ".") return new Uint8Array([0]);
  const bad = (why: string) => new Error(`Cannot parse DNS name ${JSON.stringify(name)}: ${why}`);
  const labels = (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
  const enc = new TextEncoder();
  const out: number[] = [];
  for (const label of labels) {
    if (label === "") throw bad("it has an empty label");
    const b = enc.encode(label);
    if (b.length > 63) throw bad(`label ${JSON.stringify(label)} is longer than 63 bytes`);
    out.push(b.length, ...b);
  }
  out.push(0);
  if (out.length > 255) throw bad("it is longer than 255 bytes");
  return Uint8Array.from(out);
}

/** A query for (name, qtype) with the given 16-bit ID. */
export function buildQuery(id: number, name: string, qtype: number): Uint8Array {
  const qname = encodeName(name);
  const msg = new Uint8Array(DNS_HEADER_LEN + qname.length + 4);
  const v = new DataView(msg.buffer);
  v.setUint16(0, id & 0xffff);
  v.setUint16(2, FLAG_RD);
  v.setUint16(4, 1); // QDCOUNT
  msg.set(qname, DNS_HEADER_LEN);
  v.setUint16(DNS_HEADER_LEN + qname.length, qtype);
  v.setUint16(DNS_HEADER_LEN + qname.length + 2, CLASS_IN);
  return msg;
}

/** The header fields DNS_CHECK looks at. */
export interface ReplyHeader {
  id: number;
  /** QR bit: a response, not a query. */
  isResponse: boolean;
  rcode: number;
  ancount: number;
}

/** The header of `msg`, or null when it is shorter than a header. */
export function parseHeader(msg: Uint8Array): ReplyHeader | null {
  if (msg.length < DNS_HEADER_LEN) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = v.getUint16(2);
  return { id: v.getUint16(0), isResponse: (flags & FLAG_QR) !== 0, rcode: flags & 0x000f, ancount: v.getUint16(6) };
}

/** "3 (NXDOMAIN)". */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ? `${rcode} (${RCODE_NAMES[rcode]})` : `${rcode}`;
}
