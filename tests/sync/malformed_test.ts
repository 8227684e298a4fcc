/**
 * Every drop reason, each from a golden datagram with one thing broken:
 * the datagram (or, for entry reasons, the entry) is dropped and counted
 * under that reason, and nothing half-parsed comes out.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeMessage, type DecodeResult, type DropReason } from "../../src/sync/wire.ts";
import {
  bytes,
  received,
  SEQ_BYTES,
  SEVERAL_BYTES,
  TCP_DR,
  TCP_DR_BYTES,
  TEMPLATE_BYTES,
  UDP_NAT,
  UDP_NAT_BYTES,
} from "./fixtures.ts";

const HDR = 8;

/** A copy of `b` with `values` written at `off` as big-endian fields of `width` bytes. */
function patch(b: Uint8Array, off: number, width: 1 | 2 | 4, ...values: number[]): Uint8Array {
  const c = b.slice();
  const v = new DataView(c.buffer);
  values.forEach((x, i) => {
    const at = off + i * width;
    if (width === 1) v.setUint8(at, x);
    else if (width === 2) v.setUint16(at, x);
    else v.setUint32(at, x);
  });
  return c;
}

/** Concatenates and rewrites the header's size to the new length (so that only the intended thing is wrong). */
function sized(...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  new DataView(out.buffer).setUint16(2, len);
  return out;
}

/** The entry bytes (after the header) of a one-entry golden datagram. */
const body = (b: Uint8Array) => b.slice(HDR);

/** Sets nr_conns. */
const nr = (b: Uint8Array, n: number) => patch(b, 4, 1, n);

function datagramDrop(r: DecodeResult, reason: DropReason) {
  deepStrictEqual(r, { conns: [], drops: { [reason]: 1 } });
}

const dec = (b: Uint8Array, syncid = 0) => decodeMessage(b, { syncid });

Deno.test("short_header: fewer than 4 bytes; a v1-looking header cut below 8", () => {
  datagramDrop(dec(new Uint8Array(0)), "short_header");
  datagramDrop(dec(new Uint8Array([0, 1, 0])), "short_header");
  datagramDrop(dec(new Uint8Array([0, 1, 0, 6, 1, 1])), "short_header");
});

Deno.test("size_mismatch: the size field is not the datagram length", () => {
  datagramDrop(dec(patch(TCP_DR_BYTES, 2, 2, 45)), "size_mismatch");
  datagramDrop(dec(patch(TCP_DR_BYTES, 2, 2, 43)), "size_mismatch");
  datagramDrop(dec(new Uint8Array([...TCP_DR_BYTES, 0])), "size_mismatch"); // one byte more than size says
  datagramDrop(dec(TCP_DR_BYTES.slice(0, 40)), "size_mismatch"); // cut by the network
});

Deno.test("wrong_syncid: another syncid than ours; ours 0 takes any", () => {
  datagramDrop(dec(TCP_DR_BYTES, 2), "wrong_syncid");
  deepStrictEqual(dec(TCP_DR_BYTES, 1).conns, [received(TCP_DR)]);
  deepStrictEqual(dec(TCP_DR_BYTES, 0).conns, [received(TCP_DR)]);
});

Deno.test("version0: a version 0 message (first byte is nr_conns)", () => {
  const v0 = bytes(`
    01 01 00 1c // v0 header: nr_conns 1, syncid 1, size 28
    00 06 9c 40 00 50 00 50 c0 00 02 0a 0a 0a 00 64 0a 14 00 0b // reserved, TCP, ports, addresses
    00 83 00 01 // flags, state (16 bits each in v0)
  `);
  datagramDrop(dec(v0), "version0");
  datagramDrop(dec(patch(TCP_DR_BYTES, 0, 1, 1)), "version0");
});

Deno.test("unknown_version: version other than 1, or spare not zero", () => {
  datagramDrop(dec(patch(TCP_DR_BYTES, 5, 1, 2)), "unknown_version");
  datagramDrop(dec(patch(TCP_DR_BYTES, 5, 1, 0)), "unknown_version");
  datagramDrop(dec(patch(TCP_DR_BYTES, 5, 1, 0xff)), "unknown_version"); // version is signed: -1
  datagramDrop(dec(patch(TCP_DR_BYTES, 6, 2, 1)), "unknown_version");
});

Deno.test("truncated_entry: an entry's fixed part or its size runs past the datagram", () => {
  // Two entries announced, the second cut to 20 bytes.
  datagramDrop(dec(nr(sized(TCP_DR_BYTES, body(TCP_DR_BYTES).slice(0, 20)), 2)), "truncated_entry");
  // The entry says 40 bytes, the datagram holds 36.
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR + 2, 2, 40)), "truncated_entry");
  // The SEQ entry without its last 4 option bytes.
  datagramDrop(dec(sized(SEQ_BYTES.slice(0, SEQ_BYTES.length - 4))), "truncated_entry");
});

Deno.test("entry_version: the top 4 bits of ver_size are not 0", () => {
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR + 2, 2, 0x1024)), "entry_version");
});

Deno.test("entry_type: a type that is neither IPv4 nor IPv6", () => {
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR, 1, 2)), "entry_type");
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR, 1, 0x80)), "entry_type");
});

Deno.test("entry_size: size smaller than the fixed entry", () => {
  // A 36-byte IPv4 entry that says 30 (6 bytes left over are not its business: the size is wrong first).
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR + 2, 2, 30)), "entry_size");
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR + 2, 2, 0)), "entry_size");
  // An IPv6 type on a 36-byte entry.
  datagramDrop(dec(patch(TCP_DR_BYTES, HDR, 1, 1)), "entry_size");
});

/** TCP_DR's datagram with `opt` appended to its entry (entry size and datagram size fixed up). */
function withOption(...opt: number[]): Uint8Array {
  const b = sized(TCP_DR_BYTES, new Uint8Array(opt));
  return patch(b, HDR + 2, 2, 36 + opt.length);
}

Deno.test("bad_option: a TLV cut short, length 0, past the entry, wrong SEQ_DATA length, an option twice", () => {
  datagramDrop(dec(withOption(0x41)), "bad_option"); // only the type byte
  datagramDrop(dec(withOption(0x41, 0)), "bad_option"); // length 0
  datagramDrop(dec(withOption(0x41, 3, 1, 2)), "bad_option"); // 3 bytes announced, 2 there
  datagramDrop(dec(withOption(1, 12, ...new Array(12).fill(0))), "bad_option"); // SEQ_DATA of 12 bytes
  const seq = [1, 24, ...new Array(24).fill(0)];
  datagramDrop(dec(withOption(...seq, ...seq)), "bad_option"); // SEQ_DATA twice
  datagramDrop(dec(withOption(3, 17, ...new Array(17).fill(0x61))), "bad_option"); // PE_NAME over 16
  datagramDrop(dec(withOption(2, 1, 0x61, 2, 1, 0x62)), "bad_option"); // PE_DATA twice
  datagramDrop(dec(withOption(3, 1, 0x61, 3, 1, 0x62)), "bad_option"); // PE_NAME twice
  // The option walk stops at the entry's size: an option that would fit in the datagram but not the entry.
  const b = patch(sized(withOption(0x41, 4, 1, 2, 3, 4)), HDR + 2, 2, 36 + 3);
  datagramDrop(dec(b), "bad_option");
});

Deno.test("options the receiver may skip: an unknown type with IPVS_OPT_F_PARAM, PE_NAME without PE_DATA", () => {
  deepStrictEqual(dec(withOption(0x45, 2, 9, 9)), { conns: [received(TCP_DR)], drops: {} });
  deepStrictEqual(dec(withOption(0x40, 1, 9)), { conns: [received(TCP_DR)], drops: {} });
  deepStrictEqual(dec(withOption(3, 3, 0x73, 0x69, 0x70)), { conns: [received(TCP_DR)], drops: {} });
  // A known type with the optional bit is still that option (the kernel masks the bit off before the switch).
  const seq = dec(withOption(0x41, 24, ...new Array(23).fill(0), 7));
  deepStrictEqual(seq.conns[0].seq?.out.previousDelta, 7);
});

Deno.test("bad_padding: non-zero bytes between entries or after the last", () => {
  // SEVERAL: entry 1 is 62 bytes, padding at 70..71.
  datagramDrop(dec(patch(SEVERAL_BYTES, 71, 1, 0xee)), "bad_padding");
  // One byte of tail padding after a 62-byte last entry is allowed when zero, refused otherwise.
  deepStrictEqual(dec(sized(SEQ_BYTES, new Uint8Array([0, 0]))).drops, {});
  datagramDrop(dec(sized(SEQ_BYTES, new Uint8Array([0, 1]))), "bad_padding");
});

Deno.test("nr_conns_mismatch: the announced entries do not end where the datagram ends", () => {
  datagramDrop(dec(nr(TCP_DR_BYTES, 2)), "nr_conns_mismatch"); // datagram ends after 1 of 2
  datagramDrop(dec(nr(sized(TCP_DR_BYTES, body(UDP_NAT_BYTES)), 1)), "nr_conns_mismatch"); // 2 entries, says 1
  datagramDrop(dec(nr(TCP_DR_BYTES, 0)), "nr_conns_mismatch"); // 1 entry, says 0
  datagramDrop(dec(sized(TCP_DR_BYTES, new Uint8Array(4))), "nr_conns_mismatch"); // 4 zero bytes more
  datagramDrop(dec(sized(SEQ_BYTES, new Uint8Array(3))), "nr_conns_mismatch"); // past the padding boundary
  // An empty message is well-formed and yields nothing.
  deepStrictEqual(dec(new Uint8Array([0, 1, 0, 8, 0, 1, 0, 0])), { conns: [], drops: {} });
});

Deno.test("a framing error in a later entry drops the whole datagram, earlier entries included", () => {
  const good = sized(TCP_DR_BYTES, body(UDP_NAT_BYTES));
  deepStrictEqual(dec(nr(good, 2)).conns, [received(TCP_DR), received(UDP_NAT)]);
  datagramDrop(dec(nr(patch(good, HDR + 36, 1, 2), 2)), "entry_type");
});

/** TCP_DR followed by `second` (a one-entry datagram's entry), nr_conns 2. */
const pair = (second: Uint8Array) => nr(sized(TCP_DR_BYTES, second), 2);

Deno.test("unknown_protocol: the entry is skipped, the others kept", () => {
  for (const proto of [132, 50, 1, 0]) {
    const r = dec(pair(patch(body(UDP_NAT_BYTES), 1, 1, proto)));
    deepStrictEqual(r, { conns: [received(TCP_DR)], drops: { unknown_protocol: 1 } });
  }
  // Templates too (the kernel does not check a template's protocol; lvsd cannot hold one it does not forward).
  const r = dec(pair(patch(body(TEMPLATE_BYTES), 1, 1, 132)));
  deepStrictEqual(r, { conns: [received(TCP_DR)], drops: { unknown_protocol: 1 } });
});

Deno.test("invalid_state: TCP ≥ 11, UDP ≥ 1, template ≥ 2", () => {
  const cases: Array<[Uint8Array, number]> = [
    [body(TCP_DR_BYTES), 11],
    [body(TCP_DR_BYTES), 0xffff],
    [body(UDP_NAT_BYTES), 1],
    [body(TEMPLATE_BYTES), 2],
  ];
  for (const [entry, state] of cases) {
    const r = dec(pair(patch(entry, 8, 2, state)));
    deepStrictEqual(r, { conns: [received(TCP_DR)], drops: { invalid_state: 1 } });
  }
  // The edges that are valid.
  strictEqual(dec(pair(patch(body(TCP_DR_BYTES), 8, 2, 10))).conns.length, 2);
  strictEqual(dec(pair(patch(body(TEMPLATE_BYTES), 8, 2, 0))).conns.length, 2);
});

Deno.test("unknown_option: an unknown mandatory option skips its entry (the options after it are not read)", () => {
  const opt = [5, 2, 9, 9, /* not a valid TLV, never looked at: */ 0x41, 0];
  const entry = patch(new Uint8Array([...body(TCP_DR_BYTES), ...opt]), 2, 2, 36 + opt.length);
  const ok = dec(nr(sized(TCP_DR_BYTES, entry), 2));
  deepStrictEqual(ok, { conns: [received(TCP_DR)], drops: { unknown_option: 1 } });
  // Type 0 and type 0x3f are unknown mandatory types as well.
  for (const t of [0, 0x3f]) {
    deepStrictEqual(dec(withOption(t, 1, 0)), { conns: [], drops: { unknown_option: 1 } });
  }
});

Deno.test("pe_unsupported and ipv6_unsupported count per entry", () => {
  const pe = dec(withOption(2, 2, 0x61, 0x62, 3, 3, 0x73, 0x69, 0x70));
  deepStrictEqual(pe, { conns: [], drops: { pe_unsupported: 1 } });
  const v6 = new Uint8Array(72);
  v6.set([1, 6, 0, 72]);
  const r = dec(nr(sized(TCP_DR_BYTES, v6, v6, body(UDP_NAT_BYTES)), 4));
  deepStrictEqual(r, { conns: [received(TCP_DR), received(UDP_NAT)], drops: { ipv6_unsupported: 2 } });
});

Deno.test("decodeMessage refuses a syncid option outside 0..255 (a caller's mistake, not the datagram's)", () => {
  throws(() => decodeMessage(TCP_DR_BYTES, { syncid: 256 }), /syncid: 256 is not an integer in 0\.\.255/);
});
