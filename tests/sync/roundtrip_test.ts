/**
 * encodeMessage → decodeMessage for seeded random connections at several
 * maxlen values: every datagram fits maxlen and nr_conns, is filled as the
 * kernel fills its sync_buff (the next entry did not fit, or 255 were
 * there), and all connections come back in order with the flags the backup
 * installs. Plus the encoder's refusals.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { decodeMessage, encodeMessage, type SyncConn } from "../../src/sync/wire.ts";
import { received, TCP_DR } from "./fixtures.ts";
import { prng, randomConn, SEED } from "./random.ts";

const entryLen = (c: SyncConn) => (c.seq ? 62 : 36);

for (const maxlen of [70, 71, 100, 256, 512, 1472, 9000, 65535]) {
  Deno.test(`round trip: 600 random connections, maxlen ${maxlen} (seed ${SEED})`, () => {
    const rand = prng(SEED + maxlen);
    const conns = Array.from({ length: 600 }, () => randomConn(rand));
    const syncid = Math.floor(rand() * 256);
    const datagrams = encodeMessage({ syncid, conns }, maxlen);
    const back: SyncConn[] = [];
    let sent = 0;
    datagrams.forEach((d, i) => {
      ok(d.length <= maxlen, `datagram ${i}: ${d.length} bytes > maxlen ${maxlen}`);
      const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
      strictEqual(v.getUint8(1), syncid);
      strictEqual(v.getUint16(2), d.length);
      const n = v.getUint8(4);
      ok(n >= 1);
      sent += n;
      if (i < datagrams.length - 1) {
        const next = conns[sent];
        const pad = (4 - d.length) & 3;
        ok(
          d.length + pad + entryLen(next) > maxlen || n === 255,
          `datagram ${i} (${d.length} bytes, ${n} entries) had room for the next ${entryLen(next)}-byte entry`,
        );
      }
      const r = decodeMessage(d, { syncid });
      deepStrictEqual(r.drops, {});
      back.push(...r.conns);
    });
    strictEqual(sent, conns.length);
    deepStrictEqual(back, conns.map(received));
  });
}

Deno.test("round trip: at most 255 entries per datagram (nr_conns is one byte)", () => {
  const conns = Array.from({ length: 600 }, (_, i) => ({ ...TCP_DR, cport: 1000 + i }));
  const out = encodeMessage({ syncid: 1, conns }, 65535);
  deepStrictEqual(out.map((d) => d[4]), [255, 255, 90]);
  deepStrictEqual(out.map((d) => d.length), [8 + 255 * 36, 8 + 255 * 36, 8 + 90 * 36]);
});

Deno.test("encodeMessage: no connections, no datagram", () => {
  deepStrictEqual(encodeMessage({ syncid: 1, conns: [] }, 1472), []);
});

Deno.test("encodeMessage refuses values that do not fit the wire, naming the field", () => {
  const enc = (c: Record<string, unknown>, maxlen = 1472) =>
    encodeMessage({ syncid: 1, conns: [TCP_DR, { ...TCP_DR, ...c } as SyncConn] }, maxlen);
  throws(() => enc({ caddr: "10.0.0.256" }), /conns\[1\]\.caddr: "10\.0\.0\.256" is not a dotted-quad IPv4 address/);
  throws(() => enc({ vaddr: "2001:db8::1" }), /conns\[1\]\.vaddr/);
  throws(() => enc({ daddr: "010.0.0.1" }), /conns\[1\]\.daddr/);
  throws(() => enc({ cport: 65536 }), /conns\[1\]\.cport: 65536 is not an integer in 0\.\.65535/);
  throws(() => enc({ dport: -1 }), /conns\[1\]\.dport/);
  throws(() => enc({ state: 1.5 }), /conns\[1\]\.state/);
  throws(() => enc({ timeout: 2 ** 32 }), /conns\[1\]\.timeout/);
  throws(() => enc({ fwmark: "1" }), /conns\[1\]\.fwmark: "1" is not an integer/);
  throws(() => enc({ proto: "sctp" }), /conns\[1\]\.proto: "sctp" is not tcp or udp/);
  throws(() => enc({ flags: 0x600 }), /conns\[1\]\.seq: missing, but flags has IP_VS_CONN_F_SEQ_MASK bits/);
  const seq = { in: { initSeq: 1, delta: 2, previousDelta: 3 }, out: { initSeq: 1, delta: 2, previousDelta: 3 } };
  throws(() => enc({ seq }), /conns\[1\]\.seq: given, but flags has no IP_VS_CONN_F_SEQ_MASK bit/);
  throws(() => enc({ flags: 0x200, seq: { ...seq, out: { ...seq.out, delta: -1 } } }), /conns\[1\]\.seq\.out\.delta/);
  throws(() => encodeMessage({ syncid: 256, conns: [TCP_DR] }, 1472), /syncid: 256/);
  throws(() => encodeMessage({ syncid: 1, conns: [TCP_DR] }, 65536), /maxlen: 65536/);
  throws(() => encodeMessage({ syncid: 1, conns: [TCP_DR] }, 43), /maxlen: 43 bytes cannot hold conns\[0\] \(36-byte/);
  throws(() => enc({ flags: 0x200, seq }, 69), /maxlen: 69 bytes cannot hold conns\[1\] \(62-byte/);
  // The smallest maxlen that holds one plain entry works.
  strictEqual(encodeMessage({ syncid: 1, conns: [TCP_DR, TCP_DR] }, 44).length, 2);
});
