/**
 * Scheduler conformance for the locality schedulers: lblc (ip_vs_lblc.c)
 * and lblcr (ip_vs_lblcr.c), keyed by the packet's destination address.
 *
 * The rules, from the kernel sources:
 * - weighted least connection over the service (__ip_vs_lblc_schedule):
 *   overhead = ActiveConn * 256 + InActConn; the first dest (IPVS list
 *   order, newest first) with weight > 0 and no OVERLOAD starts, a later one
 *   wins if overhead(least) * weight(d) > overhead(d) * weight(least), so
 *   ties keep the earlier dest;
 * - is_overloaded(dest): ActiveConn(dest) > weight(dest) and some dest of
 *   the service has ActiveConn * 2 < weight;
 * - lblc: a cached dest is kept while it has weight > 0 and is not
 *   is_overloaded (OVERLOAD itself is not checked); else re-picked and the
 *   entry re-bound;
 * - lblcr: the cached set's least-loaded member (ip_vs_dest_set_min) is
 *   kept unless it is missing or is_overloaded; then the service-wide pick
 *   joins the set; a set with more than one member not changed for
 *   lblcr_expiration (24 h) loses its most loaded member
 *   (ip_vs_dest_set_max);
 * - entries not used for 24 h are gone.
 * Below, weights 1,1,1 give the list [rs3 (id 102), rs2 (101), rs1 (100)]:
 * positions 0, 1, 2.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Fixture } from "../fixtures/harness.ts";
import { filler, overload, pick, service, setConns, SVC_ID, wire } from "./helpers.ts";

const DAY = 24 * 60 * 60 * 1000;
const SRC = "198.51.100.1";
const A = "192.0.2.1";
const B = "192.0.2.2";
const C = "192.0.2.3";

async function fixtureFor(scheduler: string, weights: number[]): Promise<Fixture> {
  return await Fixture.create([filler(), service(scheduler, weights)]);
}

/** A pick for a packet to `daddr` at fx.now + `at` ms. */
function to(fx: Fixture, daddr: string, at = 0): number {
  return pick(fx, SRC, 40000, daddr, fx.now + at);
}

/** The live locality entry of daddr for the service under test, decoded (see sched/locality.ts). */
function entry(fx: Fixture, daddr: string): { members: number[]; lastuse: number; lastmod: number } | null {
  const l = fx.state.layout;
  const v = fx.state.view;
  const base = l.LOCALITY + SVC_ID * l.LOCALITY_SIZE;
  for (let i = 0; i < l.LOCALITY_SLOTS; i++) {
    const e = base + i * l.LOCALITY_ENTRY;
    const key = v.getBigUint64(e, true);
    if (key === 0n || Number(key & 0xffffffffn) !== wire(daddr)) continue;
    const set = v.getBigUint64(e + 8, true);
    const members: number[] = [];
    if (((set >> 52n) & 0xfffn) === ((key >> 32n) & 0xfffn)) {
      for (let f = 0; f < 4; f++) {
        const id1 = Number((set >> BigInt(13 * f)) & 0x1fffn);
        if (id1) members.push(id1 - 1);
      }
    }
    return { members, lastuse: Number(v.getBigUint64(e + 16, true)), lastmod: Number(v.getBigUint64(e + 24, true)) };
  }
  return null;
}

// ───────────────────────────────────────────── lblc

Deno.test("lblc: a daddr is bound to the least-loaded dest and sticks to it as loads change", async () => {
  const fx = await fixtureFor("lblc", [1, 1, 1]);
  strictEqual(to(fx, A), 0); // all idle: the first in list order, rs3
  deepStrictEqual(entry(fx, A)?.members, [102]);
  setConns(fx, 102, 1); // rs3 busier, but 1 active is not more than weight 1
  strictEqual(to(fx, B), 1); // a new daddr goes to rs2
  setConns(fx, 101, 1, 5);
  strictEqual(to(fx, C), 2); // and the next to rs1
  deepStrictEqual([to(fx, A), to(fx, B), to(fx, C)], [0, 1, 2], "each sticks");
});

Deno.test("lblc: moves a daddr only when its dest has ActiveConn > weight and another dest is below half its weight", async () => {
  const fx = await fixtureFor("lblc", [2, 2, 2]);
  strictEqual(to(fx, A), 0); // rs3
  setConns(fx, 102, 3); // 3 > 2
  setConns(fx, 101, 1); // 1 * 2 < 2? no
  setConns(fx, 100, 1);
  strictEqual(to(fx, A), 0, "nobody is below half its weight: A stays");
  setConns(fx, 100, 0); // rs1: 0 * 2 < 2
  // Least loaded: rs3 768, rs2 256, rs1 0 -> rs1 (pos 2); A is re-bound to it.
  strictEqual(to(fx, A), 2);
  deepStrictEqual(entry(fx, A)?.members, [100]);
  setConns(fx, 100, 2); // not more than its weight: A stays on rs1
  setConns(fx, 101, 0);
  strictEqual(to(fx, A), 2);
});

Deno.test("lblc: a daddr leaves a dest that went to weight 0 or left the service", async () => {
  const fx = await fixtureFor("lblc", [1, 1, 1]);
  strictEqual(to(fx, A), 0); // rs3
  await fx.publisher.publish([filler(), service("lblc", [1, 1, 0])]); // rs3 quiesced
  strictEqual(to(fx, A), 1); // re-picked: rs2
  setConns(fx, 102, 0);
  await fx.publisher.publish([filler(), service("lblc", [1, 1, 1])]);
  strictEqual(to(fx, A), 1, "rs2 keeps it when rs3 is back");
  const without = service("lblc", [1, 1, 1]);
  without.dests.splice(1, 1); // rs2 removed: list [rs3, rs1]
  await fx.publisher.publish([filler(), without]);
  strictEqual(to(fx, A), 0, "the id is not in the list any more: re-picked (rs3)");
});

Deno.test("lblc: OVERLOAD is not checked on the cached dest (as in the kernel), only on a new pick", async () => {
  const fx = await fixtureFor("lblc", [1, 1, 1]);
  strictEqual(to(fx, A), 0);
  overload(fx, [102], true);
  strictEqual(to(fx, A), 0, "A stays on rs3");
  strictEqual(to(fx, B), 1, "a new daddr skips rs3");
  overload(fx, [100, 101, 102], true);
  strictEqual(to(fx, C), -1, "nothing to pick");
  const zero = await fixtureFor("lblc", [0, 0]);
  strictEqual(to(zero, A), -1);
});

Deno.test("lblc: an entry idle for 24 h is gone; each lookup restarts the 24 h", async () => {
  const fx = await fixtureFor("lblc", [1, 1, 1]);
  strictEqual(to(fx, A), 0);
  setConns(fx, 102, 1); // a fresh pick would now choose rs2
  strictEqual(to(fx, A, DAY - 1), 0, "23:59:59.999 later: still bound");
  strictEqual(entry(fx, A)?.lastuse, fx.now + DAY - 1);
  strictEqual(to(fx, A, 2 * DAY - 2), 0, "a day after the last lookup minus 1 ms: still bound");
  strictEqual(to(fx, A, 3 * DAY - 2), 1, "a full day idle: expired, picked afresh (rs2)");
});

Deno.test("lblc: a full probe window gives up its least recently used entry", async () => {
  const fx = await fixtureFor("lblc", [1, 1, 1]);
  strictEqual(to(fx, A), 0);
  strictEqual(to(fx, B), 0);
  setConns(fx, 102, 1); // from now on a fresh pick is rs2 (pos 1)
  // 3000 other daddrs over the 1024 slots, A looked up along the way, B never.
  for (let i = 0; i < 3000; i++) {
    strictEqual(to(fx, `10.${100 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`, 1 + i), 1);
    if (i % 10 === 0) to(fx, A, 1 + i);
  }
  strictEqual(to(fx, A, 4000), 0, "A was kept: recently used");
  strictEqual(entry(fx, B), null, "B's slot went to another daddr");
  strictEqual(to(fx, B, 4000), 1, "B is picked afresh");
});

Deno.test("lblc: the table is cleared when a dest id comes back as another real server", async () => {
  const fx = await fixtureFor("lblc", [1, 1, 1]);
  strictEqual(to(fx, A), 0);
  ok(entry(fx, A));
  const moved = service("lblc", [1, 1, 1]);
  moved.dests[2].addr = "10.20.0.99"; // id 102 is now another server
  await fx.publisher.publish([filler(), moved]);
  strictEqual(entry(fx, A), null);
  // A weight change keeps the table (ids are checked at use).
  strictEqual(to(fx, A), 0);
  const reweighted = service("lblc", [3, 1, 1]);
  reweighted.dests[2].addr = "10.20.0.99";
  await fx.publisher.publish([filler(), reweighted]);
  deepStrictEqual(entry(fx, A)?.members, [102]);
});

// ───────────────────────────────────────────── lblcr

Deno.test("lblcr: a new daddr gets the set {least-loaded dest} and sticks to it", async () => {
  const fx = await fixtureFor("lblcr", [1, 1, 1]);
  strictEqual(to(fx, A), 0);
  const e = entry(fx, A)!;
  deepStrictEqual(e.members, [102]);
  strictEqual(e.lastmod, fx.now);
  setConns(fx, 102, 1);
  strictEqual(to(fx, A), 0);
  strictEqual(to(fx, B), 1);
});

Deno.test("lblcr: the set grows by the service's least-loaded dest when its best member is overloaded", async () => {
  const fx = await fixtureFor("lblcr", [1, 1, 1]);
  strictEqual(to(fx, A), 0); // {rs3}
  setConns(fx, 102, 2); // rs3: 2 > 1, and rs2/rs1 are idle (0 * 2 < 1)
  strictEqual(to(fx, A, 10), 1); // rs2 joins (rs2 and rs1 tie: the earlier wins)
  let e = entry(fx, A)!;
  deepStrictEqual(e.members, [101, 102], "newest first");
  strictEqual(e.lastmod, fx.now + 10);
  strictEqual(to(fx, A, 20), 1, "set_min: rs2 (overhead 0) over rs3 (512)");
  deepStrictEqual(entry(fx, A)!.members, [101, 102], "no change");
  // rs2 at 1 active (not overloaded) but rs3 lighter now: set_min takes rs3.
  setConns(fx, 102, 0, 3);
  setConns(fx, 101, 1);
  strictEqual(to(fx, A, 30), 0);
  // Both members overloaded and rs1 idle: rs1 joins.
  setConns(fx, 102, 2);
  setConns(fx, 101, 2);
  strictEqual(to(fx, A, 40), 2);
  e = entry(fx, A)!;
  deepStrictEqual(e.members, [100, 101, 102]);
  strictEqual(e.lastmod, fx.now + 40);
});

Deno.test("lblcr: a set unchanged for 24 h drops its most loaded member, once per period", async () => {
  const fx = await fixtureFor("lblcr", [1, 1, 1]);
  to(fx, A);
  setConns(fx, 102, 2);
  to(fx, A); // + rs2
  setConns(fx, 101, 2);
  to(fx, A); // + rs1: {rs1, rs2, rs3}, lastmod = now
  deepStrictEqual(entry(fx, A)!.members, [100, 101, 102]);
  setConns(fx, 100, 0);
  setConns(fx, 101, 3); // the most loaded: 768
  setConns(fx, 102, 2); // 512
  strictEqual(to(fx, A, DAY / 2), 2, "half a day: set_min rs1, no shrink");
  deepStrictEqual(entry(fx, A)!.members, [100, 101, 102]);
  strictEqual(to(fx, A, DAY), 2, "exactly 24 h after the change: not yet (time_after is strict)");
  deepStrictEqual(entry(fx, A)!.members, [100, 101, 102]);
  strictEqual(to(fx, A, DAY + 1), 2);
  deepStrictEqual(entry(fx, A)!.members, [100, 102], "rs2, the most loaded, left");
  strictEqual(entry(fx, A)!.lastmod, fx.now + DAY + 1);
  strictEqual(to(fx, A, DAY + 2), 2);
  deepStrictEqual(entry(fx, A)!.members, [100, 102], "the next shrink waits another 24 h");
  // Lookups within each day keep the entry itself alive (lastuse).
  strictEqual(to(fx, A, 1.5 * DAY), 2);
  deepStrictEqual(entry(fx, A)!.members, [100, 102]);
  strictEqual(to(fx, A, 2 * DAY + 2), 2);
  deepStrictEqual(entry(fx, A)!.members, [100], "rs3 left; one member is never dropped");
  strictEqual(to(fx, A, 2.5 * DAY), 2);
  strictEqual(to(fx, A, 3.5 * DAY), 2);
  deepStrictEqual(entry(fx, A)!.members, [100]);
});

Deno.test("lblcr: a set holds at most 4 dests; a fifth replaces the most loaded member", async () => {
  const fx = await fixtureFor("lblcr", [1, 1, 1, 1, 1]); // [rs5 104, rs4 103, rs3 102, rs2 101, rs1 100]
  const loads = [0, 0, 0, 0, 0];
  const grow = (expect: number) => {
    strictEqual(to(fx, A), expect);
    // Overload every member so that the next pick grows the set again.
    for (const id of entry(fx, A)!.members) setConns(fx, id, loads[id - 100] += 2);
  };
  grow(0);
  grow(1);
  grow(2);
  grow(3);
  deepStrictEqual(entry(fx, A)!.members, [101, 102, 103, 104]);
  setConns(fx, 103, 9); // rs4: the most loaded member
  strictEqual(to(fx, A), 4);
  deepStrictEqual(entry(fx, A)!.members, [100, 101, 102, 104], "rs1 joined, rs4 left");
});

Deno.test("lblcr: members that left the service or went to weight 0 are skipped", async () => {
  const fx = await fixtureFor("lblcr", [1, 1, 1]);
  to(fx, A);
  setConns(fx, 102, 2);
  strictEqual(to(fx, A), 1); // {rs2, rs3}
  setConns(fx, 102, 0);
  const noRs2 = service("lblcr", [1, 1, 1]);
  noRs2.dests.splice(1, 1); // list [rs3, rs1]
  await fx.publisher.publish([filler(), noRs2]);
  strictEqual(to(fx, A), 0, "rs3, the member still listed");
  await fx.publisher.publish([filler(), service("lblcr", [1, 1, 0])]); // rs2 back, rs3 at weight 0
  strictEqual(to(fx, A), 1, "rs2 (back with the same id and address) serves, rs3 is quiesced");
  await fx.publisher.publish([filler(), service("lblcr", [1, 0, 0])]);
  strictEqual(to(fx, A), 2, "no member with weight > 0: rs1 joins");
  deepStrictEqual(entry(fx, A)!.members, [100, 101, 102]);
});

Deno.test("lblcr: an entry idle for 24 h is gone with its set", async () => {
  const fx = await fixtureFor("lblcr", [1, 1, 1]);
  to(fx, A);
  setConns(fx, 102, 2);
  to(fx, A); // {rs2, rs3}
  setConns(fx, 102, 0, 1); // overhead 1
  setConns(fx, 101, 1); // overhead 256
  strictEqual(to(fx, A, DAY - 1), 0, "still {rs2, rs3}: set_min is rs3");
  strictEqual(to(fx, A, 2 * DAY - 1), 2, "idle a full day: new set, least loaded of all is rs1");
  deepStrictEqual(entry(fx, A)!.members, [100]);
});
