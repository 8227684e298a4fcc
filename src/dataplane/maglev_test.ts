/**
 * maglev.ts on its own: the SipHash core against the published reference
 * vectors, and the properties of the tables it builds (Maglev, NSDI'16
 * section 3.4; ip_vs_mh.c for the weights).
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  buildMaglevTable,
  hsiphash32,
  type MaglevDest,
  maglevIndex,
  maglevTabBits,
  MH_KEY1,
  MH_TABLE_SIZES,
  mhHashKey,
  sipHash,
} from "./maglev.ts";
import { buildDhTable, buildShTable } from "./sched_tables.ts";

/** Reference key of the SipHash paper (appendix A) and vectors.h: bytes 00..0f. */
const K0 = 0x0706050403020100n;
const K1 = 0x0f0e0d0c0b0a0908n;

Deno.test("SipHash-2-4 of messages 00 01 02 ... matches the reference vectors (lengths 0, 1, 4, 8, 15)", () => {
  // vectors.h vectors_sip64[len], read as little-endian u64.
  const vectors: Array<[number, bigint]> = [
    [0, 0x726fdb47dd0e0e31n],
    [1, 0x74f839c593dc67fdn],
    [4, 0xcf2794e0277187b7n], // a 4-byte message, the shape hsiphash sees in ip_vs_mh
    [8, 0x93f5f5799a932462n],
    [15, 0xa129ca6149be45e5n], // the paper's worked example
  ];
  for (const [len, want] of vectors) {
    const msg = Uint8Array.from({ length: len }, (_, i) => i);
    strictEqual(sipHash(2, 4, K0, K1, msg), want, `length ${len}`);
  }
});

Deno.test("hsiphash32 is SipHash-1-3 of the u32 in little-endian order, both key words equal, low 32 bits", () => {
  for (const v of [0, 1, 0x0a000001, 0xffffffff]) {
    const msg = new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
    strictEqual(hsiphash32(v, MH_KEY1), Number(sipHash(1, 3, MH_KEY1, MH_KEY1, msg) & 0xffffffffn));
  }
  // 1-3 is not 2-4: the round counts matter.
  const msg = new Uint8Array([1, 0, 0, 0]);
  ok(BigInt(hsiphash32(1, MH_KEY1)) !== (sipHash(2, 4, MH_KEY1, MH_KEY1, msg) & 0xffffffffn));
  // ip_vs_mh_hashkey adds offset, port and address in u32 arithmetic.
  strictEqual(mhHashKey(0xffffffff, 2, MH_KEY1, 0), hsiphash32(1, MH_KEY1));
});

function dests(weights: number[]): MaglevDest[] {
  return weights.map((w, i) => ({ addr: `10.20.${i >> 8}.${i & 0xff}`, port: 8080, lastWeight: w }));
}

function shares(table: Uint16Array, n: number): number[] {
  const c = new Array(n).fill(0);
  for (const e of table) c[e - 1]++;
  return c.map((x) => x / table.length);
}

Deno.test("every entry is filled, each dest's share is within 1% of its weight share (1,2,3 and 10 equal dests)", () => {
  for (const weights of [[1, 2, 3], new Array(10).fill(1), [5, 5, 10, 20]]) {
    const table = buildMaglevTable(dests(weights), 4093);
    strictEqual(table.length, 4093);
    ok(table.every((e) => e >= 1 && e <= weights.length), "every entry names a dest");
    const sum = weights.reduce((a, b) => a + b, 0);
    shares(table, weights.length).forEach((got, i) => {
      const want = weights[i] / sum;
      ok(Math.abs(got - want) <= 0.01 * want, `weights ${weights}: dest ${i} has ${got}, weight share ${want}`);
    });
  }
});

Deno.test("weights whose ratio needs more than IP_VS_MH_TAB_BITS bits are shifted down (1 and 1000 -> turns 1 and 62)", () => {
  // 4093 = primes[12 - 8]: IP_VS_MH_TAB_BITS = 12 / 2 = 6. gcd(1, 1000) = 1,
  // mw = 1000, fls(1000) = 10, rshift = 10 - 6 = 4: turns are 1 >> 4 = 0 ->
  // 1 (non-zero weight), and 1000 >> 4 = 62. Shares 1/63 and 62/63, not 1/1001.
  strictEqual(maglevTabBits(4093), 6);
  const s = shares(buildMaglevTable(dests([1, 1000]), 4093), 2);
  ok(Math.abs(s[0] - 1 / 63) < 0.001, `${s[0]}`);
  // A gcd > 1 divides first: 64 and 128 are turns 1 and 2 (no shift).
  const g = shares(buildMaglevTable(dests([64, 128]), 4093), 2);
  ok(Math.abs(g[0] - 1 / 3) < 0.001, `${g[0]}`);
});

Deno.test("removing one of N dests moves about 1/N of the table: bounded by 1.5/N, the rest stays", () => {
  for (const n of [3, 5, 10, 20]) {
    const before = dests(new Array(n).fill(1));
    const t1 = buildMaglevTable(before, 4093);
    for (const gone of [0, Math.floor(n / 2), n - 1]) {
      const after = before.filter((_, i) => i !== gone);
      const t2 = buildMaglevTable(after, 4093);
      let moved = 0;
      let ownedByGone = 0;
      for (let i = 0; i < t1.length; i++) {
        if (t1[i] - 1 === gone) ownedByGone++;
        if (before[t1[i] - 1].addr !== after[t2[i] - 1].addr) moved++;
      }
      const frac = moved / t1.length;
      // The removed dest's own entries must move; Maglev moves a few more.
      ok(moved >= ownedByGone, `n=${n}: ${moved} moved, the removed dest had ${ownedByGone}`);
      ok(frac <= 1.5 / n, `n=${n}, removed ${gone}: ${(frac * 100).toFixed(1)}% moved, bound ${(150 / n).toFixed(1)}%`);
    }
  }
});

Deno.test("the same dests build the same table; a dest's port is part of its permutation", () => {
  const a = buildMaglevTable(dests([1, 1, 1]), 251);
  deepStrictEqual(buildMaglevTable(dests([1, 1, 1]), 251), a);
  const moved = dests([1, 1, 1]).map((d) => ({ ...d, port: 8081 }));
  ok(buildMaglevTable(moved, 251).some((e, i) => e !== a[i]), "the dest port is part of the permutation");
});

Deno.test("last weight 0 takes no entry; all 0 leaves the table empty; more dests than entries is an error", () => {
  const t = buildMaglevTable(dests([1, 0, 1]), 251);
  ok(!t.includes(2), "a dest added with weight 0 takes no entry");
  ok(t.every((e) => e === 1 || e === 3));
  ok(buildMaglevTable(dests([0, 0]), 251).every((e) => e === 0));
  ok(buildMaglevTable([], 251).every((e) => e === 0));
  throws(() => buildMaglevTable(dests(new Array(252).fill(1)), 251), /252 dests: more dests than entries/);
  throws(() => buildMaglevTable(dests([1]), 4091), /the sizes are 251, 509/);
});

Deno.test("table sizes and IP_VS_MH_TAB_BITS follow CONFIG_IP_VS_MH_TAB_INDEX 8..17", () => {
  deepStrictEqual(MH_TABLE_SIZES.map(maglevTabBits), [4, 4, 5, 5, 6, 6, 7, 7, 8, 8]);
  for (const size of MH_TABLE_SIZES) {
    const t = buildMaglevTable(dests([1, 2]), size);
    strictEqual(t.length, size);
    ok(t.every((e) => e === 1 || e === 2));
  }
});

Deno.test("maglevIndex hashes the client address, and the port only when asked", () => {
  strictEqual(maglevIndex("10.0.0.1", 1234, 4093, false), maglevIndex("10.0.0.1", 99, 4093, false));
  // ntohl(10.0.0.1) + 1 == ntohl(10.0.0.2): the kernel adds port and address.
  strictEqual(maglevIndex("10.0.0.1", 1, 4093, true), maglevIndex("10.0.0.2", 0, 4093, false));
  const seen = new Set<number>();
  for (let p = 0; p < 100; p++) seen.add(maglevIndex("10.0.0.1", 1024 + p, 4093, true));
  ok(seen.size > 90, `${seen.size} distinct entries for 100 ports`);
});

Deno.test("sh table: each dest in list order takes `weight` consecutive buckets (one at least), round and round", () => {
  deepStrictEqual(Array.from(buildShTable([1, 1, 1]).subarray(0, 7)), [1, 2, 3, 1, 2, 3, 1]);
  deepStrictEqual(Array.from(buildShTable([3, 2, 1]).subarray(0, 13)), [1, 1, 1, 2, 2, 3, 1, 1, 1, 2, 2, 3, 1]);
  // Weight 0 still takes one bucket per round (++d_count >= 0 moves on at once).
  deepStrictEqual(Array.from(buildShTable([0, 2]).subarray(0, 6)), [1, 2, 2, 1, 2, 2]);
  strictEqual(buildShTable([1, 2]).length, 256);
  ok(buildShTable([]).every((e) => e === 0));
});

Deno.test("dh table: one bucket per dest in turn, whatever the weights", () => {
  deepStrictEqual(Array.from(buildDhTable(3).subarray(0, 7)), [1, 2, 3, 1, 2, 3, 1]);
  strictEqual(buildDhTable(3)[255], 1); // 255 % 3 = 0: the first dest again
  ok(buildDhTable(0).every((e) => e === 0));
});
