/**
 * decodeMessage on seeded random bytes and on mutated valid messages (bits
 * flipped, bytes overwritten, cut, extended, with and without the size field
 * fixed up so the damage reaches the entries): it never throws, a datagram
 * drop yields no connection at all, the counts add up to nr_conns, and
 * every connection it returns is a valid entry found, field for field, at
 * a 4-aligned entry position of the datagram.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { formatIpv4 } from "../../src/config/members.ts";
import {
  DATAGRAM_DROP_REASONS,
  decodeMessage,
  type DecodeResult,
  DROP_REASONS,
  encodeMessage,
  ENTRY_DROP_REASONS,
  type SyncConn,
} from "../../src/sync/wire.ts";
import { received } from "./fixtures.ts";
import { prng, randomConn, SEED } from "./random.ts";

const PROTO: Record<string, number> = { tcp: 6, udp: 17 };
const BACKUP_MASK_AND_SYNC = 0x1f87 | 0x20;

/** Where in `d` (4-aligned, from `from`) an IPv4 entry holds exactly `c`'s fields; -1 if nowhere. */
function findEntry(d: Uint8Array, c: SyncConn, from: number): number {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let o = from; o + 36 <= d.length; o += 4) {
    const size = v.getUint16(o + 2);
    if (
      v.getUint8(o) === 0 && v.getUint8(o + 1) === PROTO[c.proto] && size >> 12 === 0 && (size & 0xfff) >= 36 &&
      o + (size & 0xfff) <= d.length &&
      ((v.getUint32(o + 4) & 0x1f87) | 0x20) === c.flags && v.getUint16(o + 8) === c.state &&
      v.getUint16(o + 10) === c.cport && v.getUint16(o + 12) === c.vport && v.getUint16(o + 14) === c.dport &&
      v.getUint32(o + 16) === c.fwmark && v.getUint32(o + 20) === c.timeout &&
      formatIpv4(v.getUint32(o + 24)) === c.caddr && formatIpv4(v.getUint32(o + 28)) === c.vaddr &&
      formatIpv4(v.getUint32(o + 32)) === c.daddr
    ) return o;
  }
  return -1;
}

/** The invariants every decode must keep, whatever the bytes. */
function check(d: Uint8Array, syncid: number, what: string): DecodeResult {
  let r: DecodeResult;
  try {
    r = decodeMessage(d, { syncid });
  } catch (e) {
    throw new Error(`${what}: decodeMessage threw ${e} on ${Array.from(d).join(",")}`);
  }
  const reasons = Object.keys(r.drops);
  for (const k of reasons) ok((DROP_REASONS as readonly string[]).includes(k), `${what}: unknown reason ${k}`);
  const datagram = reasons.filter((k) => (DATAGRAM_DROP_REASONS as readonly string[]).includes(k));
  if (datagram.length) {
    deepStrictEqual(r, { conns: [], drops: { [datagram[0]]: 1 } }, `${what}: a datagram drop must be all`);
    return r;
  }
  const entryDrops = (ENTRY_DROP_REASONS as readonly string[]).reduce(
    (n, k) => n + (r.drops[k as keyof typeof r.drops] ?? 0),
    0,
  );
  strictEqual(r.conns.length + entryDrops, d[4], `${what}: conns + entry drops != nr_conns`);
  let from = 8;
  for (const c of r.conns) {
    ok(c.proto === "tcp" || c.proto === "udp", what);
    const template = (c.flags & 0x1000) !== 0;
    ok(c.state < (template ? 2 : c.proto === "tcp" ? 11 : 1), `${what}: state ${c.state}`);
    strictEqual(c.flags & ~BACKUP_MASK_AND_SYNC, 0, `${what}: flags ${c.flags.toString(16)}`);
    ok(c.flags & 0x20, `${what}: SYNC flag missing`);
    const at = findEntry(d, c, from);
    ok(at >= 0, `${what}: returned ${JSON.stringify(c)}, which no entry of the datagram holds`);
    from = at + 36;
  }
  return r;
}

Deno.test(`fuzz: random bytes (seed ${SEED})`, () => {
  const rand = prng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  for (let i = 0; i < 20000; i++) {
    const d = new Uint8Array(int(i % 2 ? 300 : 24));
    for (let j = 0; j < d.length; j++) d[j] = int(256);
    const syncid = int(3);
    if (rand() < 0.7 && d.length >= 8) {
      // A plausible header, so the bytes after it get read as entries.
      d[0] = 0;
      d[1] = syncid;
      d[2] = d.length >> 8;
      d[3] = d.length & 255;
      d[4] = int(4);
      d[5] = 1;
      d[6] = d[7] = 0;
      if (rand() < 0.5 && d.length >= 12) {
        d[8] = 0;
        d[9] = rand() < 0.5 ? 6 : 17;
        d[10] = 0;
        d[11] = 36 + int(Math.max(1, d.length - 44));
      }
    }
    check(d, syncid, `random ${i}`);
  }
});

Deno.test(`fuzz: mutated valid messages (seed ${SEED})`, () => {
  const rand = prng(SEED ^ 0x5eed);
  const int = (n: number) => Math.floor(rand() * n);
  let decodedSome = 0;
  for (let i = 0; i < 3000; i++) {
    const conns = Array.from({ length: 1 + int(6) }, () => randomConn(rand));
    const syncid = int(256);
    const [d] = encodeMessage({ syncid, conns }, 1472);
    // Unmutated, it reads back whole.
    deepStrictEqual(check(d, syncid, `valid ${i}`), { conns: conns.map(received), drops: {} });
    for (let m = 0; m < 12; m++) {
      let x = d.slice();
      switch (m % 4) {
        case 0: // flip 1..3 bits
          for (let k = 1 + int(3); k > 0; k--) x[int(x.length)] ^= 1 << int(8);
          break;
        case 1: // overwrite a byte
          x[int(x.length)] = int(256);
          break;
        case 2: // cut
          x = x.slice(0, int(x.length));
          break;
        case 3: // extend
          x = new Uint8Array([...x, ...Array.from({ length: 1 + int(8) }, () => (rand() < 0.5 ? 0 : int(256)))]);
          break;
      }
      if (m >= 4 && x.length >= 4) {
        // Fix the size field up so the damage is looked at past the header.
        x[2] = x.length >> 8;
        x[3] = x.length & 255;
      }
      const r = check(x, syncid, `mutation ${i}.${m}`);
      if (r.conns.length) decodedSome++;
    }
  }
  // The mutations must not all be caught by the header checks, or this test proves little.
  ok(decodedSome > 5000, `only ${decodedSome} mutated datagrams yielded connections`);
});
