/**
 * Scheduler conformance for the hashing schedulers: sh (ip_vs_sh.c), dh
 * (ip_vs_dh.c) and mh (ip_vs_mh.c), run by the data plane over the tables
 * the supervisor builds.
 *
 * sh/dh: a 256-bucket table. hash_32(x, 8) is the top byte of
 * x * 0x61C88647 (mod 2^32) (include/linux/hash.h). sh hashes
 * ntohl(saddr) (+ ntohs(sport) with sh-port), dh ntohl(daddr). The clients
 * used below, by hand:
 *   10.0.0.k -> 0x0A000000 + k; 0x0A000000 * 0x61C88647 = 0xC6000000 (mod 2^32),
 *   since only 0x0A * 0x47 = 0x2C6 reaches the top byte.
 *   k=1: 0x61C88647 + 0xC6000000 = 0x27C88647 -> bucket 0x27 =  39
 *   k=2: 0xC3910C8E + 0xC6000000 = 0x89910C8E -> bucket 0x89 = 137
 *   k=3: 0x255992D5 + 0xC6000000 = 0xEB5992D5 -> bucket 0xEB = 235
 *   k=4: 0x8722191C + 0xC6000000 = 0x4D22191C -> bucket 0x4D =  77
 *   k=5: 0xE8EA9F63 + 0xC6000000 = 0xAEEA9F63 -> bucket 0xAE = 174
 *   (k * 0x61C88647 mod 2^32 for k = 3, 4, 5: 0x255992D5, 0x8722191C, 0xE8EA9F63.)
 * ip_vs_sh_reassign walks the dest list (IPVS order: newest first) giving
 * each dest `weight` consecutive buckets; ip_vs_dh_reassign gives one each.
 * Positions below are IPVS list positions: with dests added rs1, rs2, rs3,
 * position 0 = rs3, 1 = rs2, 2 = rs1.
 *
 * mh: properties (shares, disruption, stickiness) and agreement with
 * maglev.ts, whose hsiphash is checked against the SipHash reference
 * vectors in src/dataplane/maglev_test.ts.
 */
import { deepStrictEqual, notStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { buildMaglevTable, ipv4Number, maglevIndex, MH_KEY1, mhHashKey } from "../../src/dataplane/maglev.ts";
import type { TableService } from "../../src/dataplane/tables.ts";
import { eth, ipv4, tcp } from "../fixtures/frames.ts";
import { CLIENT_MAC, Fixture, IFACES } from "../fixtures/harness.ts";
import { filler, lookupTable, overload, pick, service, type ServiceOpts, VIP } from "./helpers.ts";

const CLIENTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]; // buckets 39 137 235 77 174

async function fixtureFor(scheduler: string, weights: number[], opts: ServiceOpts = {}): Promise<Fixture> {
  return await Fixture.create([filler(), service(scheduler, weights, opts)]);
}

/** `n` client addresses 172.16.x.y. */
function manyClients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `172.16.${(i >> 8) & 0xff}.${i & 0xff}`);
}

// ───────────────────────────────────────────── sh

Deno.test("sh 1,1,1: bucket b goes to list position b % 3", async () => {
  // 39 % 3 = 0, 137 % 3 = 2, 235 % 3 = 1, 77 % 3 = 2, 174 % 3 = 0.
  const fx = await fixtureFor("sh", [1, 1, 1]);
  deepStrictEqual(CLIENTS.map((c) => pick(fx, c)), [0, 2, 1, 2, 0]);
});

Deno.test("sh weights 1,2: list [rs2 w2, rs1 w1] fills buckets rs2 rs2 rs1, ...", async () => {
  // b % 3 in {0, 1} -> rs2 (pos 0), b % 3 = 2 -> rs1 (pos 1).
  const fx = await fixtureFor("sh", [1, 2]);
  deepStrictEqual(CLIENTS.map((c) => pick(fx, c)), [0, 1, 0, 1, 0]);
  // Added the other way round (rs1 w2, rs2 w1): list [rs2 w1, rs1 w2]:
  // b % 3 = 0 -> rs2 (pos 0), else rs1 (pos 1).
  const other = await fixtureFor("sh", [2, 1]);
  deepStrictEqual(CLIENTS.map((c) => pick(other, c)), [0, 1, 1, 1, 0]);
});

Deno.test("sh weights 1,2,3: list [rs3 w3, rs2 w2, rs1 w1], period 6", async () => {
  // b % 6 in {0,1,2} -> pos 0, {3,4} -> pos 1, 5 -> pos 2.
  // 39 % 6 = 3, 137 % 6 = 5, 235 % 6 = 1, 77 % 6 = 5, 174 % 6 = 0.
  const fx = await fixtureFor("sh", [1, 2, 3]);
  deepStrictEqual(CLIENTS.map((c) => pick(fx, c)), [1, 2, 0, 2, 0]);
});

Deno.test("sh: a source always gets the same dest, whatever its port and however often", async () => {
  const fx = await fixtureFor("sh", [1, 2, 3]);
  for (const c of CLIENTS) {
    const first = pick(fx, c);
    for (let i = 0; i < 50; i++) strictEqual(pick(fx, c, 1024 + i * 997), first, c);
  }
});

Deno.test("sh-port: the source port is added to the address before hashing, and spreads one client", async () => {
  const fx = await fixtureFor("sh", [1, 1, 1], { flags: ["sh-port"] });
  // ntohl(10.0.0.1) + 1 = ntohl(10.0.0.2): bucket 137 -> pos 2; port 0 keeps bucket 39 -> pos 0.
  strictEqual(pick(fx, "10.0.0.1", 1), 2);
  strictEqual(pick(fx, "10.0.0.1", 0), 0);
  strictEqual(pick(fx, "10.0.0.1", 2), 1); // = 10.0.0.3: bucket 235 -> pos 1
  const counts = [0, 0, 0];
  for (let p = 1024; p < 4024; p++) counts[pick(fx, "10.0.0.1", p)]++;
  for (const c of counts) ok(c > 800 && c < 1200, `ports spread ${counts}`);
  // The same port is the same dest every time.
  strictEqual(pick(fx, "10.0.0.1", 5555), pick(fx, "10.0.0.1", 5555));
});

Deno.test("sh: an unavailable dest gives no dest without sh-fallback", async () => {
  const fx = await fixtureFor("sh", [1, 1, 1, 1]); // [rs4, rs3, rs2, rs1] ids 103..100
  strictEqual(pick(fx, "10.0.0.1"), 3); // bucket 39 % 4 = 3 -> rs1 (id 100)
  overload(fx, [100], true);
  strictEqual(pick(fx, "10.0.0.1"), -1);
  overload(fx, [100], false);
  const quiesced = await fixtureFor("sh", [0, 1, 1, 1]); // rs1 weight 0: same buckets (one per round)
  strictEqual(pick(quiesced, "10.0.0.1"), -1);
  strictEqual(pick(quiesced, "10.0.0.2"), 1); // 137 % 4 = 1
});

Deno.test("sh-fallback probes from 2*hash as ip_vs_sh_get_fallback does, not from the next bucket", async () => {
  // [rs4, rs3, rs2, rs1]: bucket b -> pos b % 4. 10.0.0.1 hashes to 39 -> pos 3 (rs1).
  // rs1 unavailable: offset 0 probes (roffset 39 + ihash 39) & 255 = 78 -> 78 % 4 = 2 -> rs2.
  // (The next bucket, 40, would have been pos 0.)
  for (const sched of ["sh-fallback", "flag-1"]) {
    const fx = await fixtureFor("sh", [1, 1, 1, 1], { flags: [sched] });
    overload(fx, [100], true);
    strictEqual(pick(fx, "10.0.0.1"), 2, sched);
    // rs2 too: 79 % 4 = 3 (rs1 again), 80 % 4 = 0 -> rs4.
    overload(fx, [101], true);
    strictEqual(pick(fx, "10.0.0.1"), 0, sched);
    // Weight 0 counts as unavailable too.
    const q = await fixtureFor("sh", [0, 1, 1, 1], { flags: [sched] });
    strictEqual(pick(q, "10.0.0.1"), 2, sched);
  }
});

Deno.test("sh-fallback with every dest unavailable, and sh without dests, give no dest", async () => {
  const fx = await fixtureFor("sh", [1, 1, 1], { flags: ["sh-fallback"] });
  overload(fx, [100, 101, 102], true);
  deepStrictEqual(CLIENTS.map((c) => pick(fx, c)), [-1, -1, -1, -1, -1]);
  const none = await fixtureFor("sh", [], { flags: ["sh-fallback"] });
  strictEqual(pick(none, "10.0.0.1"), -1);
});

Deno.test("sh: a dest whose next hop is unresolved is unavailable (fallback moves on)", async () => {
  const svc = service("sh", [1, 1, 1, 1], { flags: ["sh-fallback"] });
  svc.dests[0].mac = null; // rs1
  const fx = await Fixture.create([filler(), svc]);
  strictEqual(pick(fx, "10.0.0.1"), 2);
});

Deno.test("sh: changing a weight rebuilds the buckets (ip_vs_sh_dest_changed)", async () => {
  const fx = await fixtureFor("sh", [1, 1, 1]);
  deepStrictEqual(CLIENTS.map((c) => pick(fx, c)), [0, 2, 1, 2, 0]);
  await fx.publisher.publish([filler(), service("sh", [1, 2, 3])]);
  deepStrictEqual(CLIENTS.map((c) => pick(fx, c)), [1, 2, 0, 2, 0]);
});

// ───────────────────────────────────────────── dh

Deno.test("dh: bucket hash_32(daddr) -> position b % n; weights do not shape the table", async () => {
  // Same buckets as sh above, keyed by the destination address this time.
  for (const weights of [[1, 1, 1], [1, 2, 3]]) {
    const fx = await fixtureFor("dh", weights);
    deepStrictEqual(CLIENTS.map((d) => pick(fx, "192.0.2.1", 0, d)), [0, 2, 1, 2, 0], `weights ${weights}`);
  }
  const two = await fixtureFor("dh", [1, 2]); // b % 2: 39 77 137 235 odd -> pos 1, 174 -> pos 0
  deepStrictEqual(CLIENTS.map((d) => pick(two, "192.0.2.1", 0, d)), [1, 1, 1, 1, 0]);
});

Deno.test("dh keys on the destination address only", async () => {
  const fx = await fixtureFor("dh", [1, 1, 1]);
  for (const src of ["192.0.2.1", "198.51.100.7", "10.0.0.3"]) {
    for (const port of [0, 1, 40000]) strictEqual(pick(fx, src, port, "10.0.0.2"), 2);
  }
});

Deno.test("dh: an unavailable dest gives no dest (dh has no fallback)", async () => {
  const fx = await fixtureFor("dh", [1, 1, 1]);
  overload(fx, [100], true); // rs1 = pos 2
  strictEqual(pick(fx, "192.0.2.1", 0, "10.0.0.2"), -1);
  strictEqual(pick(fx, "192.0.2.1", 0, "10.0.0.1"), 0);
  const q = await fixtureFor("dh", [1, 0, 1]); // rs2 (pos 1) quiesced
  strictEqual(pick(q, "192.0.2.1", 0, "10.0.0.3"), -1);
  const none = await fixtureFor("dh", []);
  strictEqual(pick(none, "192.0.2.1", 0, "10.0.0.3"), -1);
});

// ───────────────────────────────────────────── mh

Deno.test("mh picks the entry hsiphash(ntohl(saddr) [+ ntohs(sport)]) % M of the table maglev.ts builds", async () => {
  for (const [flags, size] of [[[], 4093], [["mh-port"], 251]] as const) {
    const weights = [1, 2, 3, 1];
    const fx = await fixtureFor("mh", weights, { flags: [...flags], mhTableSize: size });
    const list = service("mh", weights).dests.toReversed().map((d) => ({
      addr: d.addr,
      port: d.port,
      lastWeight: d.weight,
    }));
    const table = buildMaglevTable(list, size);
    deepStrictEqual(lookupTable(fx), table, "the data plane reads the table the builder made");
    const withPort = flags.length > 0;
    manyClients(2000).forEach((c, i) => {
      const port = 1024 + i;
      strictEqual(pick(fx, c, port), table[maglevIndex(c, port, size, withPort)] - 1, `${c}:${port}`);
    });
  }
});

Deno.test("mh: each dest's share of the table and of 20000 clients follows its weight (1,2,3 and 10 equal)", async () => {
  for (const weights of [[1, 2, 3], new Array(10).fill(1)]) {
    const fx = await fixtureFor("mh", weights);
    const list = [...weights].reverse(); // IPVS order
    const sum = weights.reduce((a, b) => a + b, 0);
    const table = lookupTable(fx);
    strictEqual(table.length, 4093);
    const inTable = new Array(list.length).fill(0);
    for (const e of table) inTable[e - 1]++;
    const byClients = new Array(list.length).fill(0);
    const clients = manyClients(20000);
    for (const c of clients) byClients[pick(fx, c)]++;
    list.forEach((w, i) => {
      const want = w / sum;
      ok(
        Math.abs(inTable[i] / table.length - want) <= 0.01 * want,
        `table: weights ${weights} pos ${i}: ${inTable[i]}`,
      );
      ok(Math.abs(byClients[i] / clients.length - want) <= 0.1 * want, `clients: pos ${i}: ${byClients[i]}`);
    });
  }
});

Deno.test("mh: removing one of 10 dests moves its clients and few others (about 1/N in all)", async () => {
  const n = 10;
  const fx = await fixtureFor("mh", new Array(n).fill(1));
  const addrOf = (svc: TableService, pos: number) => pos < 0 ? "none" : svc.dests.toReversed()[pos].addr;
  const before = service("mh", new Array(n).fill(1));
  const clients = manyClients(20000);
  const was = clients.map((c) => addrOf(before, pick(fx, c)));
  const after = service("mh", new Array(n).fill(1));
  after.dests.splice(4, 1); // rs5 leaves
  await fx.publisher.publish([filler(), after]);
  const now = clients.map((c) => addrOf(after, pick(fx, c)));
  let moved = 0;
  let othersMoved = 0;
  clients.forEach((_, i) => {
    if (was[i] !== now[i]) moved++;
    if (was[i] === "10.20.0.15") notStrictEqual(now[i], "10.20.0.15");
    else if (was[i] !== now[i]) othersMoved++;
  });
  const frac = moved / clients.length;
  ok(frac >= 0.08 && frac <= 1.5 / n, `${(frac * 100).toFixed(1)}% of clients moved`);
  ok(othersMoved / clients.length <= 0.5 / n, `${othersMoved} clients of the remaining dests moved`);
});

Deno.test("sh and mh: a client sticks to its dest across picks, ports and workers (SYNs through two workers)", async () => {
  for (const scheduler of ["sh", "mh"]) {
    const fx = await Fixture.create([filler(), service(scheduler, [1, 2, 3])], { workers: 2 });
    const dests = ["10.20.0.13", "10.20.0.12", "10.20.0.11"]; // IPVS order
    const seen = new Set<string>();
    for (const c of manyClients(40)) {
      const want = dests[pick(fx, c)];
      seen.add(want);
      for (let i = 0; i < 4; i++) {
        const sport = 30000 + i;
        const frame = eth(
          IFACES[0].mac,
          CLIENT_MAC,
          0x0800,
          ipv4({ src: c, dst: VIP, proto: 6, payload: tcp({ src: c, dst: VIP, sport, dport: 80, flags: "S" }) }),
        );
        const out = fx.run(frame, IFACES[0].ifindex, {}, i % 2).out;
        strictEqual(Array.from(out.subarray(30, 34)).join("."), want, `${scheduler} ${c}:${sport} via worker ${i % 2}`);
      }
    }
    strictEqual(seen.size, 3, `${scheduler}: the 40 clients use every dest`);
  }
});

Deno.test("mh-port: the port joins the hash and spreads one client over the dests", async () => {
  const plain = await fixtureFor("mh", [1, 1, 1]);
  const first = pick(plain, "10.0.0.1", 1000);
  for (let p = 1001; p < 1100; p++) strictEqual(pick(plain, "10.0.0.1", p), first);
  const fx = await fixtureFor("mh", [1, 1, 1], { flags: ["mh-port"] });
  const counts = [0, 0, 0];
  for (let p = 1024; p < 4024; p++) counts[pick(fx, "10.0.0.1", p)]++;
  for (const c of counts) ok(c > 800 && c < 1200, `ports spread ${counts}`);
});

/** ip_vs_mh_get_fallback over a table, by hand from the kernel's loop. */
function mhFallback(table: Uint16Array, saddr: string, down: Set<number>): number {
  const m = table.length;
  const addr = ipv4Number(saddr);
  const ihash = mhHashKey(addr, 0, MH_KEY1) % m;
  if (!down.has(table[ihash] - 1)) return table[ihash] - 1;
  for (let offset = 0; offset < m; offset++) {
    const roffset = (offset + ihash) % m;
    const e = table[mhHashKey(addr, 0, MH_KEY1, roffset) % m];
    if (!down.has(e - 1)) return e - 1;
  }
  return -1;
}

Deno.test("mh: an unavailable dest gives no dest; mh-fallback rehashes with the kernel's offsets", async () => {
  const weights = [1, 1, 1, 1, 1];
  const plain = await fixtureFor("mh", weights);
  const fx = await fixtureFor("mh", weights, { flags: ["mh-fallback"] });
  overload(plain, [102], true); // rs3 = pos 2
  overload(fx, [102], true);
  const table = lookupTable(fx);
  let rerouted = 0;
  for (const c of manyClients(3000)) {
    const home = table[maglevIndex(c, 0, table.length, false)] - 1;
    if (home === 2) {
      strictEqual(pick(plain, c), -1, c);
      const got = pick(fx, c);
      strictEqual(got, mhFallback(table, c, new Set([2])), c);
      notStrictEqual(got, 2);
      rerouted++;
    } else {
      strictEqual(pick(plain, c), home, c);
      strictEqual(pick(fx, c), home, c);
    }
  }
  ok(rerouted > 400, `${rerouted} clients of rs3 were rerouted`);
  overload(fx, [100, 101, 102, 103, 104], true);
  strictEqual(pick(fx, "10.0.0.1"), -1, "every dest unavailable");
});

Deno.test("mh: draining a dest (weight 0) keeps the table (last_weight); a dest added at weight 0 takes no entry", async () => {
  const fx = await fixtureFor("mh", [1, 1, 1]);
  const t1 = lookupTable(fx);
  await fx.publisher.publish([filler(), service("mh", [1, 0, 1])]); // rs2 (pos 1) drained
  deepStrictEqual(lookupTable(fx), t1, "the table is built from the last non-zero weight");
  for (const c of manyClients(300)) {
    const home = t1[maglevIndex(c, 0, t1.length, false)] - 1;
    strictEqual(pick(fx, c), home === 1 ? -1 : home, c);
  }
  // Back to weight 1: still the same table.
  await fx.publisher.publish([filler(), service("mh", [1, 1, 1])]);
  deepStrictEqual(lookupTable(fx), t1);
  // rs4 added with weight 0 goes to the head of the list (pos 0) and takes no entry.
  await fx.publisher.publish([filler(), service("mh", [1, 1, 1, 0])]);
  deepStrictEqual(lookupTable(fx), t1.map((e) => e + 1));
});

Deno.test("mh: every weight 0 from the start leaves the table empty: no dest", async () => {
  const fx = await fixtureFor("mh", [0, 0], { flags: ["mh-fallback"] });
  ok(lookupTable(fx).every((e) => e === 0));
  strictEqual(pick(fx, "10.0.0.1"), -1);
});

Deno.test("mh_table_size sets the table length; tables that overflow SCHED_TBL_ENTRIES fail the publish cleanly", async () => {
  const small = await fixtureFor("mh", [1, 1], { mhTableSize: 251 });
  strictEqual(lookupTable(small).length, 251);
  const big = (i: number): TableService => ({
    ...service("mh", [1], { mhTableSize: 131071, firstId: 200 + i }),
    id: 10 + i,
    port: 1000 + i,
  });
  // 256 (filler) + 4093 + 7 x 131071 = 921846 entries fit in the 1048576 of a copy; an 8th 131071 does not.
  const fx = await Fixture.create([filler(), service("mh", [1, 1]), ...Array.from({ length: 7 }, (_, i) => big(i))]);
  const before = pick(fx, "10.0.0.1");
  await rejects(
    fx.publisher.publish([filler(), service("mh", [1, 1]), ...Array.from({ length: 8 }, (_, i) => big(i))]),
    /Cannot publish service 10\.10\.0\.100:1007: its mh lookup table of 131071 entries does not fit .*SCHED_TBL_ENTRIES/,
  );
  strictEqual(pick(fx, "10.0.0.1"), before, "the active copy is untouched");
});
