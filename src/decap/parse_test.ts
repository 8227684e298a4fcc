/**
 * The parse functions on byte fixtures: every verdict, and where the inner
 * packet is found, for IPIP, GUE variant 0 (as IPVS's ipvs_gue_encap()
 * builds it) and GUE variant 1.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { COUNTER_NAMES, verdictCounter } from "./counters.ts";
import { InnerPacket, parseGue, parseIpip, Verdict, type VerdictCode, vipTable } from "./parse.ts";

const VIP = "10.0.0.100";
const VIPS = vipTable(["10.0.0.99", VIP]);

function hex(s: string): number[] {
  const clean = s.replace(/\s+/g, "");
  return Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(i * 2, i * 2 + 2), 16));
}

// Client 192.168.50.7:40000 -> VIP 10.0.0.100:80, TCP SYN, 40 bytes
// (IPv4 header 45 00 0028 ..., proto 6, TCP header without options).
const INNER_SYN = hex(`
  45000028 00010000 4006 7dbc c0a83207 0a000064
  9c400050 000004d2 00000000 5002ffff 116d0000`);
// The same to 10.1.2.3, a VIP of nobody.
const INNER_OTHER = [...INNER_SYN.slice(0, 16), 10, 1, 2, 3, ...INNER_SYN.slice(20)];
// A bare IPv6 header (version 6).
const INNER_V6 = [0x60, ...new Array(39).fill(0)];

// Outer IPv4 header director 10.9.0.1 -> real server 10.9.0.2, protocol 4;
// total length patched per fixture.
function outerIpip(inner: number[], extra: { ihl?: number; total?: number } = {}): number[] {
  const ihl = extra.ihl ?? 5;
  const total = extra.total ?? ihl * 4 + inner.length;
  const opts = new Array((ihl - 5) * 4).fill(1); // NOP options
  return [
    0x40 | ihl,
    0,
    total >> 8,
    total & 0xff,
    0,
    0,
    0x40,
    0,
    64,
    4,
    0,
    0,
    10,
    9,
    0,
    1,
    10,
    9,
    0,
    2,
    ...opts,
    ...inner,
  ];
}

/** GUE variant 0: first byte (Ver|C|Hlen), proto/ctype, flags (big endian), optional words. */
function gue0(first: number, proto: number, flags: number, options: number[], inner: number[]): number[] {
  return [first, proto, flags >> 8, flags & 0xff, ...options, ...inner];
}

interface Case {
  name: string;
  bytes: number[];
  verdict: VerdictCode;
  /** Offset and length of the inner packet (decapsulated only), relative to the fixture start. */
  inner?: [number, number];
}

function check(parse: typeof parseIpip, c: Case): void {
  // Put the fixture at a non-zero offset of a larger buffer, as the receive
  // loop does, with garbage around it.
  const at = 100;
  const buf = new Uint8Array(at + c.bytes.length + 50).fill(0xee);
  buf.set(c.bytes, at);
  const out = new InnerPacket();
  const v = parse(buf, new DataView(buf.buffer), at, c.bytes.length, VIPS, out);
  strictEqual(v, c.verdict, `${c.name}: verdict ${COUNTER_NAMES[verdictCounter(v)]}`);
  if (c.inner) deepStrictEqual([out.offset - at, out.length], c.inner, `${c.name}: inner packet`);
}

Deno.test("decap parse: IPIP", () => {
  const cases: Case[] = [
    { name: "SYN to a VIP", bytes: outerIpip(INNER_SYN), verdict: Verdict.decapsulated, inner: [20, 40] },
    {
      name: "outer with 8 bytes of options (IHL 7)",
      bytes: outerIpip(INNER_SYN, { ihl: 7 }),
      verdict: Verdict.decapsulated,
      inner: [28, 40],
    },
    {
      name: "received bytes beyond the outer total length are not part of the inner packet",
      bytes: [...outerIpip(INNER_SYN), 0, 0, 0, 0, 0, 0],
      verdict: Verdict.decapsulated,
      inner: [20, 40],
    },
    {
      name: "inner padding beyond its total length is left out",
      bytes: outerIpip([...INNER_SYN, 0, 0, 0, 0]),
      verdict: Verdict.decapsulated,
      inner: [20, 40],
    },
    { name: "inner to another address", bytes: outerIpip(INNER_OTHER), verdict: Verdict.notForVip },
    { name: "inner IPv6", bytes: outerIpip(INNER_V6), verdict: Verdict.notIpv4Inner },
    { name: "shorter than an outer header", bytes: outerIpip(INNER_SYN).slice(0, 19), verdict: Verdict.truncated },
    { name: "outer IHL past the end", bytes: outerIpip([], { ihl: 15 }).slice(0, 40), verdict: Verdict.truncated },
    { name: "outer IHL below 5", bytes: [0x44, ...outerIpip(INNER_SYN).slice(1)], verdict: Verdict.truncated },
    { name: "no inner packet at all", bytes: outerIpip([]), verdict: Verdict.truncated },
    { name: "inner cut to 12 bytes", bytes: outerIpip(INNER_SYN.slice(0, 12)), verdict: Verdict.truncated },
    {
      name: "outer total length cuts the inner packet",
      bytes: outerIpip(INNER_SYN, { total: 20 + 30 }),
      verdict: Verdict.truncated,
    },
    {
      name: "inner total length longer than what arrived",
      bytes: outerIpip([0x45, 0, 0, 200, ...INNER_SYN.slice(4)]),
      verdict: Verdict.truncated,
    },
    {
      name: "inner total length shorter than its header",
      bytes: outerIpip([0x45, 0, 0, 19, ...INNER_SYN.slice(4)]),
      verdict: Verdict.truncated,
    },
    {
      name: "inner IHL below 5",
      bytes: outerIpip([0x44, ...INNER_SYN.slice(1)]),
      verdict: Verdict.truncated,
    },
  ];
  for (const c of cases) check(parseIpip, c);
});

Deno.test("decap parse: GUE variants 0 and 1", () => {
  const cases: Case[] = [
    {
      name: "variant 0 as IPVS sends it (Hlen 0, proto 4, no flags)",
      bytes: gue0(0x00, 4, 0, [], INNER_SYN),
      verdict: Verdict.decapsulated,
      inner: [4, 40],
    },
    {
      name: "variant 0 with optional fields (Hlen 2) skipped",
      bytes: gue0(0x02, 4, 0, [1, 2, 3, 4, 5, 6, 7, 8], INNER_SYN),
      verdict: Verdict.decapsulated,
      inner: [12, 40],
    },
    {
      name: "variant 0, P flag with all private flags clear",
      bytes: gue0(0x01, 4, 0x0001, [0, 0, 0, 0], INNER_SYN),
      verdict: Verdict.decapsulated,
      inner: [8, 40],
    },
    { name: "variant 1 (IPv4 right after UDP)", bytes: INNER_SYN, verdict: Verdict.decapsulated, inner: [0, 40] },
    { name: "variant 1, IPv6", bytes: INNER_V6, verdict: Verdict.notIpv4Inner },
    { name: "variant 1, version nibble 5", bytes: [0x55, ...INNER_SYN.slice(1)], verdict: Verdict.notIpv4Inner },
    { name: "variant 0 to another address", bytes: gue0(0, 4, 0, [], INNER_OTHER), verdict: Verdict.notForVip },
    { name: "variant 0, proto 41 (IPv6)", bytes: gue0(0, 41, 0, [], INNER_V6), verdict: Verdict.notIpv4Inner },
    { name: "variant 0, proto 17", bytes: gue0(0, 17, 0, [], INNER_SYN), verdict: Verdict.notIpv4Inner },
    {
      name: "variant 0, proto 4 but an IPv6 packet inside",
      bytes: gue0(0, 4, 0, [], INNER_V6),
      verdict: Verdict.notIpv4Inner,
    },
    { name: "version 2", bytes: gue0(0x80, 4, 0, [], INNER_SYN), verdict: Verdict.badGueHeader },
    { name: "version 3", bytes: gue0(0xc0, 4, 0, [], INNER_SYN), verdict: Verdict.badGueHeader },
    { name: "control message (C bit)", bytes: gue0(0x20, 0, 0, [], INNER_SYN), verdict: Verdict.badGueHeader },
    { name: "unknown standard flag", bytes: gue0(0x00, 4, 0x8000, [], INNER_SYN), verdict: Verdict.badGueHeader },
    {
      name: "P flag without room for the private flags (Hlen 0)",
      bytes: gue0(0x00, 4, 0x0001, [], INNER_SYN),
      verdict: Verdict.badGueHeader,
    },
    {
      name: "REMCSUM (IPVS --tun-flags remcsum): not supported",
      bytes: gue0(0x02, 4, 0x0001, [0x80, 0, 0, 0, 0, 20, 0, 16], INNER_SYN),
      verdict: Verdict.badGueHeader,
    },
    { name: "empty payload", bytes: [], verdict: Verdict.truncated },
    { name: "3 bytes of a variant-0 header", bytes: [0, 4, 0], verdict: Verdict.truncated },
    { name: "Hlen past the end", bytes: gue0(0x05, 4, 0, [0, 0, 0, 0], []), verdict: Verdict.truncated },
    { name: "header only, no inner packet", bytes: gue0(0, 4, 0, [], []), verdict: Verdict.truncated },
    { name: "inner cut short", bytes: gue0(0, 4, 0, [], INNER_SYN.slice(0, 30)), verdict: Verdict.truncated },
    { name: "variant 1 cut short", bytes: INNER_SYN.slice(0, 19), verdict: Verdict.truncated },
  ];
  for (const c of cases) check(parseGue, c);
});

Deno.test("decap parse: VIP table and counter order", () => {
  deepStrictEqual(Array.from(vipTable(["10.0.0.100", "255.255.255.255", "0.0.0.0"])), [0x0a000064, 0xffffffff, 0]);
  for (const bad of ["10.0.0", "10.0.0.256", "10.0.0.01", "a.b.c.d", "10.0.0.1/32", ""]) {
    throws(() => vipTable([bad]), /Cannot parse VIP/, bad);
  }
  // Each verdict is counted under its own name.
  deepStrictEqual(
    Object.entries(Verdict).map(([k, v]) => [k, COUNTER_NAMES[verdictCounter(v)]]),
    [
      ["decapsulated", "decapsulated"],
      ["notIpv4Inner", "not_ipv4_inner"],
      ["badGueHeader", "bad_gue_header"],
      ["notForVip", "not_for_vip"],
      ["truncated", "truncated"],
    ],
  );
});
