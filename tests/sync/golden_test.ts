/**
 * Golden datagrams (tests/sync/fixtures.ts, written from the kernel's struct
 * layout): the encoder must produce exactly these bytes, and the decoder
 * must read back what the kernel's backup would install.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { decodeMessage, encodeMessage, type SyncConn } from "../../src/sync/wire.ts";
import {
  IPV6_BYTES,
  PE_BYTES,
  received,
  SEQ,
  SEQ_BYTES,
  SEVERAL,
  SEVERAL_BYTES,
  TCP_DR,
  TCP_DR_BYTES,
  TEMPLATE,
  TEMPLATE_BYTES,
  toHex,
  UDP_NAT,
  UDP_NAT_BYTES,
} from "./fixtures.ts";

const cases: Array<[string, number, SyncConn[], Uint8Array]> = [
  ["one TCP entry (DR)", 1, [TCP_DR], TCP_DR_BYTES],
  ["one UDP entry (NAT)", 200, [UDP_NAT], UDP_NAT_BYTES],
  ["a persistence template", 0, [TEMPLATE], TEMPLATE_BYTES],
  ["an entry with IPVS_OPT_SEQ_DATA", 1, [SEQ], SEQ_BYTES],
  ["several entries with padding", 1, SEVERAL, SEVERAL_BYTES],
];

for (const [name, syncid, conns, golden] of cases) {
  Deno.test(`golden: ${name}: encodeMessage gives the kernel's bytes`, () => {
    const out = encodeMessage({ syncid, conns }, 1472);
    strictEqual(out.length, 1);
    strictEqual(toHex(out[0]), toHex(golden));
  });
  Deno.test(`golden: ${name}: decodeMessage reads it back`, () => {
    deepStrictEqual(decodeMessage(golden, { syncid }), { conns: conns.map(received), drops: {} });
  });
}

Deno.test("golden: the master strips IP_VS_CONN_F_HASHED from the flags it sends", () => {
  const out = encodeMessage({ syncid: 1, conns: [{ ...TCP_DR, flags: TCP_DR.flags | 0x40 }] }, 1472);
  strictEqual(toHex(out[0]), toHex(TCP_DR_BYTES));
});

Deno.test("golden: the backup keeps only IP_VS_CONN_F_BACKUP_MASK of the flags and adds SYNC", () => {
  const b = TCP_DR_BYTES.slice();
  // DROUTE|NOOUTPUT (0x83) plus NFCT 1 << 16, ONE_PACKET 0x2000, HASHED 0x40 and SYNC 0x20
  new DataView(b.buffer).setUint32(12, 0x000120e3);
  deepStrictEqual(decodeMessage(b, { syncid: 1 }).conns.map((c) => c.flags), [0xa3]);
});

Deno.test("golden: an IPv6 entry is parsed and counted; the IPv4 entry after it is returned", () => {
  deepStrictEqual(decodeMessage(IPV6_BYTES, { syncid: 1 }), {
    conns: [received(TCP_DR)],
    drops: { ipv6_unsupported: 1 },
  });
});

Deno.test("golden: persistence-engine options are parsed and the entry counted as unsupported", () => {
  deepStrictEqual(decodeMessage(PE_BYTES, { syncid: 1 }), { conns: [], drops: { pe_unsupported: 1 } });
});

Deno.test("golden: syncid 0 on the backup accepts any syncid", () => {
  deepStrictEqual(decodeMessage(UDP_NAT_BYTES, { syncid: 0 }).conns, [received(UDP_NAT)]);
});
