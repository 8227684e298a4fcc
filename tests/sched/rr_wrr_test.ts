/**
 * Scheduler conformance: the data plane's rr and wrr pick the same dests,
 * in the same order, as the kernel's ip_vs_rr.c and ip_vs_wrr.c.
 *
 * Picks are made with the module's `sched_pick(copy, svcIndex)`, which runs
 * the service's scheduler without a packet and returns the picked dest's
 * position in the service's dest list, in IPVS order: each new dest is added
 * at the list head (list_add in __ip_vs_update_dest), so the list is the
 * reverse of the order in which dests were added. Below, `add` is the order
 * of addition (rs1, rs2, ...) and positions are IPVS positions: with three
 * dests, position 0 = rs3, 1 = rs2, 2 = rs1.
 *
 * ip_vs_rr.c (ip_vs_rr_schedule): the cursor (svc->sched_data) starts at the
 * list head; a pick scans from the dest after the cursor to the end, then
 * from the start up to and including the cursor, and takes the first dest
 * with weight > 0 and no OVERLOAD; the cursor moves to the pick.
 *
 * ip_vs_wrr.c (ip_vs_wrr_schedule): di = gcd of the weights > 0 (1 if none),
 * mw = max weight - (di - 1), cw starts at mw and the cursor at the head.
 * Each pick continues after the cursor and takes the next dest with
 * weight >= cw; when a pass reaches the end of the list, cw -= di and the
 * scan restarts at the head; when cw <= 0 it is reset to mw. mw == 0 (every
 * weight 0) means no dest at all. ip_vs_wrr_dest_changed puts the cursor
 * back at the head and re-fits cw: cw = mw if cw > mw or cw == 0, else if
 * di > 1, cw = (cw / di) * di + 1.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Fixture } from "../fixtures/harness.ts";
import { filler, service } from "./helpers.ts";

async function fixtureFor(scheduler: "rr" | "wrr", weights: number[]): Promise<Fixture> {
  return await Fixture.create([filler("rr"), service(scheduler, weights)]);
}

/** `n` picks of the service at table index 1 in the active table copy. */
function picks(fx: Fixture, n: number): number[] {
  const l = fx.state.layout;
  const copy = Atomics.load(new Uint32Array(fx.state.memory.buffer), (l.CTRL + l.CTRL_GEN) >> 2) & 1;
  return Array.from({ length: n }, () => fx.state.exports.sched_pick(copy, 1, 0, 0, 0, 0));
}

/** `period` repeated until `n` entries. */
function cycle(period: number[], n: number): number[] {
  return Array.from({ length: n }, (_, i) => period[i % period.length]);
}

Deno.test("wrr 1,2,3: rs3 rs3 rs2 rs3 rs2 rs1, repeating", async () => {
  // IPVS list [rs3 w3, rs2 w2, rs1 w1], di 1, mw 3.
  // cw 3: rs3 | cw 2: rs3 rs2 | cw 1: rs3 rs2 rs1 | cw 0 -> mw.
  const fx = await fixtureFor("wrr", [1, 2, 3]);
  deepStrictEqual(picks(fx, 18), cycle([0, 0, 1, 0, 1, 2], 18));
});

Deno.test("wrr 4,3,2: one rs1, then rs2 rs1, then two full passes", async () => {
  // Hand derivation (ip_vs_wrr_schedule):
  //   add order rs1 w4, rs2 w3, rs3 w2 -> IPVS list [rs3 w2, rs2 w3, rs1 w4]
  //   gcd 1 -> di = 1, mw = 4 - (1 - 1) = 4; cw = 4, cursor at the head.
  //   cw 4: rs3 2<4, rs2 3<4, rs1 4>=4 -> rs1 (pos 2); end of list: cw = 3
  //   cw 3: rs3 2<3, rs2 3>=3 -> rs2 (pos 1); rs1 -> pos 2; end: cw = 2
  //   cw 2: rs3, rs2, rs1 -> pos 0, 1, 2; end: cw = 1
  //   cw 1: rs3, rs2, rs1 -> pos 0, 1, 2; end: cw = 0 <= 0 -> cw = mw = 4
  //   period of 9 = 4 + 3 + 2 picks: 2 | 1 2 | 0 1 2 | 0 1 2
  const fx = await fixtureFor("wrr", [4, 3, 2]);
  deepStrictEqual(picks(fx, 27), cycle([2, 1, 2, 0, 1, 2, 0, 1, 2], 27));
});

Deno.test("wrr 2,4,6 (gcd 2): cw steps 5, 3, 1", async () => {
  // IPVS list [rs3 w6, rs2 w4, rs1 w2]; di = 2, mw = 6 - (2 - 1) = 5.
  // cw 5: rs3 | cw 3: rs3 rs2 | cw 1: rs3 rs2 rs1 | cw -1 -> mw.
  // Same order as weights 1,2,3: a common factor changes nothing.
  const fx = await fixtureFor("wrr", [2, 4, 6]);
  deepStrictEqual(picks(fx, 18), cycle([0, 0, 1, 0, 1, 2], 18));
});

Deno.test("wrr 5,1: rs1 four times, then rs2 rs1", async () => {
  // IPVS list [rs2 w1, rs1 w5]; di 1, mw 5.
  // cw 5, 4, 3, 2: rs1 only | cw 1: rs2 rs1 | cw 0 -> mw.
  const fx = await fixtureFor("wrr", [5, 1]);
  deepStrictEqual(picks(fx, 18), cycle([1, 1, 1, 1, 0, 1], 18));
});

Deno.test("wrr with a weight-0 dest never picks it", async () => {
  // add rs1 w2, rs2 w0, rs3 w1 -> list [rs3 w1, rs2 w0, rs1 w2]; di = gcd(1, 2) = 1
  // (weight 0 is left out of the gcd), mw 2. cw 2: rs1 | cw 1: rs3 rs1 (rs2 0 < 1).
  const fx = await fixtureFor("wrr", [2, 0, 1]);
  const got = picks(fx, 30);
  deepStrictEqual(got, cycle([2, 0, 2], 30));
  strictEqual(got.includes(1), false);
});

Deno.test("wrr and rr with every weight 0 pick nothing (-1)", async () => {
  // wrr: mw = 0 - (1 - 1) = 0 -> err_noavail. rr: no dest has weight > 0.
  const w = await fixtureFor("wrr", [0, 0, 0]);
  deepStrictEqual(picks(w, 5), [-1, -1, -1, -1, -1]);
  const r = await fixtureFor("rr", [0, 0, 0]);
  deepStrictEqual(picks(r, 5), [-1, -1, -1, -1, -1]);
});

Deno.test("rr 1,1,1: head first, then on in list order, wrapping", async () => {
  const fx = await fixtureFor("rr", [1, 1, 1]);
  deepStrictEqual(picks(fx, 9), cycle([0, 1, 2], 9));
});

Deno.test("rr ignores the weights except 0: 5,0,9 alternates rs3 rs1, never rs2", async () => {
  // list [rs3 w9, rs2 w0, rs1 w5]: rs2 is skipped (weight > 0 required).
  const fx = await fixtureFor("rr", [5, 0, 9]);
  deepStrictEqual(picks(fx, 8), cycle([0, 2], 8));
});

Deno.test("rr with the head dest at weight 0 starts at the second", async () => {
  // add rs1 w1, rs2 w1, rs3 w0 -> list [rs3 w0, rs2, rs1].
  const fx = await fixtureFor("rr", [1, 1, 0]);
  deepStrictEqual(picks(fx, 8), cycle([1, 2], 8));
});

Deno.test("rr with one usable dest keeps picking it (the cursor itself is re-checked)", async () => {
  // list [rs3 w0, rs2 w3, rs1 w0]: the second pass reaches `last` = rs2 and takes it.
  const fx = await fixtureFor("rr", [0, 3, 0]);
  deepStrictEqual(picks(fx, 4), [1, 1, 1, 1]);
});

Deno.test("wrr with equal weights is rr order (1,1,1 and 3,3,3)", async () => {
  const rr = await fixtureFor("rr", [1, 1, 1, 1]);
  const expected = picks(rr, 12);
  deepStrictEqual(expected, cycle([0, 1, 2, 3], 12));
  for (const w of [1, 3]) {
    // 3,3,3,3: di 3, mw 3 - 2 = 1: one pass at cw 1, then cw -2 -> mw.
    const fx = await fixtureFor("wrr", [w, w, w, w]);
    deepStrictEqual(picks(fx, 12), expected, `weights ${w}`);
  }
});

Deno.test("wrr over 600 picks splits exactly by weight", async () => {
  // Each weight set sums (after dividing by the gcd) to a divisor of 600,
  // so 600 picks are whole periods.
  for (const add of [[1, 2, 3], [5, 1], [2, 4, 6], [4, 3, 2, 1], [7, 2, 1], [3, 0, 1, 1, 1]]) {
    const fx = await fixtureFor("wrr", add);
    const counts = new Array(add.length).fill(0);
    for (const p of picks(fx, 600)) counts[p]++;
    const list = [...add].reverse();
    const sum = list.reduce((a, b) => a + b, 0);
    deepStrictEqual(counts, list.map((w) => (600 * w) / sum), `weights ${add}`);
  }
});

Deno.test("rr over 600 picks splits evenly over the dests with weight > 0", async () => {
  const fx = await fixtureFor("rr", [1, 7, 0, 2]);
  const counts = [0, 0, 0, 0];
  for (const p of picks(fx, 600)) counts[p]++;
  deepStrictEqual(counts, [200, 0, 200, 200]); // list [rs4 w2, rs3 w0, rs2 w7, rs1 w1]
});

Deno.test("re-publishing changed weights puts the wrr cursor back at the head, cw kept", async () => {
  // 1,2,3: five picks 0 0 1 0 1 leave the cursor on rs2 (pos 1) with cw 1.
  const fx = await fixtureFor("wrr", [1, 2, 3]);
  deepStrictEqual(picks(fx, 5), [0, 0, 1, 0, 1]);
  // rs2 2 -> 3: list [rs3 w3, rs2 w3, rs1 w1], di 1, mw 3; cw 1 <= mw is kept.
  // From the head at cw 1: 0 1 2 | cw 0 -> 3: 0 1 | cw 2: 0 1 | cw 1: 0 1 2 ...
  // (Without the reset the next pick would continue after rs2: rs1, pos 2.)
  await fx.publisher.publish([filler("rr"), service("wrr", [1, 3, 3])]);
  deepStrictEqual(picks(fx, 12), [0, 1, 2, 0, 1, 0, 1, 0, 1, 2, 0, 1]);
});

Deno.test("re-publishing into a gcd > 1 re-fits cw to (cw / di) * di + 1", async () => {
  // add rs1 w2, rs2 w4, rs3 w3 -> list [rs3 w3, rs2 w4, rs1 w2], di 1, mw 4.
  // First pick at cw 4: rs2 (pos 1); the cursor stays on rs2 with cw 4.
  const fx = await fixtureFor("wrr", [2, 4, 3]);
  deepStrictEqual(picks(fx, 1), [1]);
  // rs3 3 -> 6: list [rs3 w6, rs2 w4, rs1 w2], di 2, mw 5; cw 4 <= 5 and
  // di > 1 -> cw = (4 / 2) * 2 + 1 = 5. From the head:
  //   cw 5: rs3 | cw 3: rs3 rs2 | cw 1: rs3 rs2 rs1 | cw -1 -> 5 ...
  // (Keeping cw 4 would give rs3 rs2 first.)
  await fx.publisher.publish([filler("rr"), service("wrr", [2, 4, 6])]);
  deepStrictEqual(picks(fx, 12), cycle([0, 0, 1, 0, 1, 2], 12));
});

Deno.test("re-publishing unchanged tables keeps the wrr cursor where it was", async () => {
  const fx = await fixtureFor("wrr", [1, 2, 3]);
  deepStrictEqual(picks(fx, 4), [0, 0, 1, 0]);
  await fx.publisher.publish([filler("rr"), service("wrr", [1, 2, 3])]);
  deepStrictEqual(picks(fx, 8), [1, 2, 0, 0, 1, 0, 1, 2]);
});

Deno.test("a dest whose next hop is unresolved is skipped by rr and wrr", async () => {
  for (const sched of ["rr", "wrr"] as const) {
    const svc = service(sched, [1, 1, 1]);
    svc.dests[1].mac = null; // rs2, pos 1
    const fx = await Fixture.create([filler("rr"), svc]);
    deepStrictEqual(picks(fx, 6), cycle([0, 2], 6), sched);
  }
});

/** Sets or clears IP_VS_DEST_F_OVERLOAD (DSTATE_FLAGS bit 0) of dest ids. */
function overload(fx: Fixture, ids: number[], on: boolean): void {
  const l = fx.state.layout;
  for (const id of ids) fx.state.view.setUint32(l.DSTATE + id * l.DSTATE_SIZE + l.DSTATE_FLAGS, on ? 1 : 0, true);
}

Deno.test("wrr with every dest overloaded fails and leaves the state as the kernel does", async () => {
  // 1,2,3: list [rs3 w3 (id 102), rs2 w2 (101), rs1 w1 (100)].
  const a = await fixtureFor("wrr", [1, 2, 3]);
  deepStrictEqual(picks(a, 2), [0, 0]); // cursor rs3, cw 2
  overload(a, [100, 101, 102], true);
  // last = rs3: pass cw 2 finds nothing, cw 1 (last_pass), nothing, cw 0 -> mw 3
  // with last_pass set -> err_over with the cursor at the head, cw 3.
  deepStrictEqual(picks(a, 2), [-1, -1]);
  overload(a, [100, 101, 102], false);
  deepStrictEqual(picks(a, 6), [0, 0, 1, 0, 1, 2]);

  const b = await fixtureFor("wrr", [1, 2, 3]);
  deepStrictEqual(picks(b, 5), [0, 0, 1, 0, 1]); // cursor rs2, cw 1
  overload(b, [100, 101, 102], true);
  // cw 1 after rs2: nothing; cw 0 -> 3 (restarted); 3, 2: nothing; cw 1 is
  // the last pass and stop = last = rs2: rs3, rs2 -> err_over, cursor rs2, cw 1.
  deepStrictEqual(picks(b, 2), [-1, -1]);
  overload(b, [100, 101, 102], false);
  deepStrictEqual(picks(b, 6), [2, 0, 0, 1, 0, 1]);
});

Deno.test("wrr with one dest overloaded shares among the others by weight", async () => {
  const fx = await fixtureFor("wrr", [1, 2, 3]);
  deepStrictEqual(picks(fx, 5), [0, 0, 1, 0, 1]); // cursor rs2, cw 1
  overload(fx, [102], true); // rs3, pos 0
  // cw 1: rs1 | cw 3: - | cw 2: rs2 | cw 1: rs2 rs1 | ...
  deepStrictEqual(picks(fx, 8), [2, 1, 1, 2, 1, 1, 2, 1]);
  // The last pick was rs2 at cw 2. Cleared: cw 2 after rs2: - | cw 1: rs3 rs2
  // rs1 | cw 0 -> 3: rs3 | cw 2: rs3 rs2.
  overload(fx, [102], false);
  deepStrictEqual(picks(fx, 6), [0, 1, 2, 0, 0, 1]);
});

Deno.test("rr skips an overloaded dest and comes back to it when cleared", async () => {
  const fx = await fixtureFor("rr", [1, 1, 1]);
  deepStrictEqual(picks(fx, 1), [0]);
  overload(fx, [101], true); // rs2, pos 1
  deepStrictEqual(picks(fx, 4), [2, 0, 2, 0]);
  overload(fx, [101], false);
  deepStrictEqual(picks(fx, 3), [1, 2, 0]);
});

Deno.test("rr keeps its cursor on the same dest when a dest is added (ip_vs_rr has no update hook)", async () => {
  // rs1,rs2,rs3 added: IPVS list [rs3, rs2, rs1]; two picks leave the cursor on rs2 (pos 1).
  const fx = await fixtureFor("rr", [1, 1, 1]);
  deepStrictEqual(picks(fx, 2), [0, 1]);
  // rs4 added: it goes to the head, [rs4, rs3, rs2, rs1]; the cursor stays on
  // rs2 (now pos 2), so the next pick is rs1 (pos 3), then the head (rs4).
  await fx.publisher.publish([filler("rr"), service("rr", [1, 1, 1, 1])]);
  deepStrictEqual(picks(fx, 4), [3, 0, 1, 2]);
});

Deno.test("rr goes back to the list head when its cursor's dest is removed", async () => {
  const fx = await fixtureFor("rr", [1, 1, 1]);
  deepStrictEqual(picks(fx, 1), [0]); // cursor on rs3 (pos 0)
  await fx.publisher.publish([filler("rr"), service("rr", [1, 1])]); // rs3 removed: [rs2, rs1]
  deepStrictEqual(picks(fx, 3), [0, 1, 0]);
});

Deno.test("rr moves its cursor to the previous entry when its dest is removed (ip_vs_rr_del_dest)", async () => {
  const fx = await fixtureFor("rr", [1, 1, 1, 1]); // [rs4, rs3, rs2, rs1]
  deepStrictEqual(picks(fx, 3), [0, 1, 2]); // cursor on rs2 (pos 2)
  // rs2 removed: [rs4, rs3, rs1]; the cursor moves to rs3, so rs1 is next.
  const svc = service("rr", [1, 1, 1, 1]);
  svc.dests.splice(1, 1);
  await fx.publisher.publish([filler("rr"), svc]);
  deepStrictEqual(picks(fx, 3), [2, 0, 1]);
});
