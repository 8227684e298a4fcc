/**
 * Scheduler conformance for the counting schedulers: lc, wlc, sed, nq, fo,
 * ovf and twos pick what the kernel's ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c,
 * ip_vs_nq.c, ip_vs_fo.c, ip_vs_ovf.c and ip_vs_twos.c pick on the same
 * dests, weights and connection counts.
 *
 * Positions are IPVS list positions: each new dest goes to the list head,
 * so with dests rs1..rsN added in that order, position 0 = rsN and
 * position N-1 = rs1 (see rr_wrr_test.ts). The counters these schedulers
 * read, ActiveConn and InActConn, live per dest id in DSTATE; the tests set
 * them there directly. `sched_pick` does not count a connection itself, so
 * a sequence is made by picking and then counting the new connection on
 * the picked dest, as the packet path does: +1 ActiveConn for a TCP
 * connection once its SYN is in (SYN_RECV counts as active), or +1
 * InActConn for one that stays inactive (e.g. UDP).
 *
 * Overhead below = ActiveConn*256 + InActConn (ip_vs_dest_conn_overhead);
 * every expected sequence is derived by hand in the comment above it.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { instantiate } from "../../src/dataplane/module.ts";
import { Fixture } from "../fixtures/harness.ts";
import { filler, service } from "./helpers.ts";

type Counting = "lc" | "wlc" | "sed" | "nq" | "fo" | "ovf" | "twos";

async function fixtureFor(scheduler: Counting, weights: number[]): Promise<Fixture> {
  const fx = await Fixture.create([filler("rr", 0), service(scheduler, weights)]);
  setConns(fx, 0, 1000, 1000);
  setConns(fx, 1, 1000, 1000);
  return fx;
}

/** Dest id of rsK (1-based, in the order added). */
const rs = (k: number) => 100 + k - 1; // service()'s dest ids start at 100

function dstate(fx: Fixture, id: number, field: string): number {
  const l = fx.state.layout;
  return l.DSTATE + id * l.DSTATE_SIZE + l[field];
}

function setConns(fx: Fixture, id: number, active: number, inactive: number): void {
  fx.state.view.setInt32(dstate(fx, id, "DSTATE_ACTIVE"), active, true);
  fx.state.view.setInt32(dstate(fx, id, "DSTATE_INACT"), inactive, true);
}

function overload(fx: Fixture, id: number, on: boolean): void {
  fx.state.view.setUint32(dstate(fx, id, "DSTATE_FLAGS"), on ? fx.state.layout.DEST_OVERLOAD : 0, true);
}

function activeCopy(fx: Fixture): number {
  const l = fx.state.layout;
  return Atomics.load(new Uint32Array(fx.state.memory.buffer), (l.CTRL + l.CTRL_GEN) >> 2) & 1;
}

/**
 * `n` picks of the service under test; after each, the new connection is
 * counted on the picked dest (`count`: "active", "inactive" or "none").
 */
function picks(fx: Fixture, n: number, count: "active" | "inactive" | "none" = "none", now = 0): number[] {
  const copy = activeCopy(fx);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = fx.state.exports.sched_pick(copy, 1, 0, 0, 0, now);
    out.push(p);
    if (p < 0 || count === "none") continue;
    // Position p is the (p+1)-th newest: id of rs(N - p).
    const id = idAt(fx, p);
    const at = dstate(fx, id, count === "active" ? "DSTATE_ACTIVE" : "DSTATE_INACT");
    fx.state.view.setInt32(at, fx.state.view.getInt32(at, true) + 1, true);
  }
  return out;
}

/** Stable dest id at IPVS position `p` of the service under test (table index 1). */
function idAt(fx: Fixture, p: number): number {
  const l = fx.state.layout;
  const copy = activeCopy(fx);
  const svc = l.SVC + copy * l.SVC_COPY + 1 * l.SVC_SIZE;
  const first = fx.state.view.getUint16(svc + l.SVC_DEST_FIRST, true);
  return fx.state.view.getUint16(l.DEST + copy * l.DEST_COPY + (first + p) * l.DEST_SIZE + l.DEST_ID, true);
}

function cycle(period: number[], n: number): number[] {
  return Array.from({ length: n }, (_, i) => period[i % period.length]);
}

// ───────────────────────────────────────────────────────────────── lc

Deno.test("lc 1,1,1 from empty, counting active: head first, then in list order (ties go to the earlier dest)", async () => {
  // ip_vs_lc_schedule keeps the first dest with the least overhead (strict <).
  // All 0: rs3 (pos 0); then rs3 256, others 0: rs2; then rs1; then all 256: rs3 ...
  const fx = await fixtureFor("lc", [1, 1, 1]);
  deepStrictEqual(picks(fx, 9, "active"), cycle([0, 1, 2], 9));
});

Deno.test("lc weighs one active connection as 256 inactive ones and ignores weights other than 0", async () => {
  // add rs1 w1, rs2 w100, rs3 w1 -> list [rs3, rs2, rs1].
  // Overheads: rs3 0*256+300 = 300, rs2 1*256+0 = 256, rs1 0*256+255 = 255.
  // p1: min 255 -> rs1 (pos 2), rs1 -> 256 (counting inactive)
  // p2: rs2 256 = rs1 256, rs2 comes first -> pos 1, rs2 -> 257
  // p3: rs1 256 < 257 -> pos 2, rs1 -> 257;  p4: tie 257 -> rs2 (pos 1) ...
  // rs2's weight 100 changes nothing.
  const fx = await fixtureFor("lc", [1, 100, 1]);
  setConns(fx, rs(3), 0, 300);
  setConns(fx, rs(2), 1, 0);
  setConns(fx, rs(1), 0, 255);
  deepStrictEqual(picks(fx, 6, "inactive"), [2, 1, 2, 1, 2, 1]);
});

Deno.test("lc skips weight 0 and OVERLOAD even when they are the least loaded; none left -> -1", async () => {
  // list [rs3 w1, rs2 w0, rs1 w1]; rs2 idle but quiesced, rs3 idle but overloaded.
  const fx = await fixtureFor("lc", [1, 0, 1]);
  setConns(fx, rs(1), 5, 0);
  overload(fx, rs(3), true);
  deepStrictEqual(picks(fx, 3), [2, 2, 2]);
  overload(fx, rs(1), true);
  deepStrictEqual(picks(fx, 2), [-1, -1]);
  overload(fx, rs(3), false);
  deepStrictEqual(picks(fx, 1), [0]);
});

// ───────────────────────────────────────────────────────────────── wlc

Deno.test("wlc 1,2,3 from empty, counting active: 6 4 2 in 12 picks, in the kernel's order", async () => {
  // list [rs3 w3, rs2 w2, rs1 w1]; A = ActiveConn (rs3, rs2, rs1), overhead 256*A.
  // ip_vs_wlc_schedule: least = rs3, then d replaces least if loh*w(d) > doh*w(least).
  // p1  A 0 0 0: nothing beats rs3 (0 > 0 false)                 -> rs3 (0)
  // p2  A 1 0 0: rs2 256*2 > 0*3                                   -> rs2 (1)
  // p3  A 1 1 0: rs2 512 > 768 no; rs1 256*1 > 0                   -> rs1 (2)
  // p4  A 1 1 1: rs2 512 > 768 no; rs1 256 > 768 no                -> rs3 (0)
  // p5  A 2 1 1: rs2 1024 > 768 yes; rs1 256 > 512 no              -> rs2 (1)
  // p6  A 2 2 1: rs2 1024 > 1536 no; rs1 512 > 768 no              -> rs3 (0)
  // p7  A 3 2 1: rs2 1536 > 1536 no (tie); rs1 768 > 768 no (tie)  -> rs3 (0)
  // p8  A 4 2 1: rs2 2048 > 1536 yes; rs1 512 > 512 no             -> rs2 (1)
  // p9  A 4 3 1: rs2 2048 > 2304 no; rs1 1024 > 768 yes            -> rs1 (2)
  // p10 A 4 3 2: rs2 2048 > 2304 no; rs1 1024 > 1536 no            -> rs3 (0)
  // p11 A 5 3 2: rs2 2560 > 2304 yes; rs1 768 > 1024 no            -> rs2 (1)
  // p12 A 5 4 2: rs2 2560 > 3072 no; rs1 1280 > 1536 no            -> rs3 (0)
  const fx = await fixtureFor("wlc", [1, 2, 3]);
  const got = picks(fx, 12, "active");
  deepStrictEqual(got, [0, 1, 2, 0, 1, 0, 0, 1, 2, 0, 1, 0]);
  deepStrictEqual([0, 1, 2].map((p) => got.filter((x) => x === p).length), [6, 4, 2]);
});

Deno.test("wlc counts InActConn at 1/256 and keeps the earlier dest on a tie", async () => {
  // add rs1, rs2 (w1 each) -> list [rs2, rs1]; rs2: A0 I254 = 254, rs1: A1 I0 = 256.
  // Counting inactive: p1 254 < 256 -> rs2 (255); p2 255 -> rs2 (256);
  // p3 256 vs 256: 256*1 > 256*1 false -> rs2 (257); p4 257 > 256 -> rs1 (257);
  // p5 tie -> rs2 (258); p6 258 > 257 -> rs1.
  const fx = await fixtureFor("wlc", [1, 1]);
  setConns(fx, rs(2), 0, 254);
  setConns(fx, rs(1), 1, 0);
  deepStrictEqual(picks(fx, 6, "inactive"), [0, 0, 0, 1, 0, 1]);
});

Deno.test("wlc: a dest that comes back empty takes every new connection until it catches up", async () => {
  // The LVS-HOWTO's thundering herd. list [rs3, rs2, rs1] all w1; rs3, rs2 at 10
  // active, rs1 (pos 2) back with 0. rs1 wins while its A < 10 (10 new conns);
  // at A 10 10 10 rs3 (first) takes one, then rs2 (11 > 10), then rs1.
  const fx = await fixtureFor("wlc", [1, 1, 1]);
  setConns(fx, rs(3), 10, 0);
  setConns(fx, rs(2), 10, 0);
  deepStrictEqual(picks(fx, 13, "active"), [...cycle([2], 10), 0, 1, 2]);
});

Deno.test("wlc never picks weight 0 (not even idle, after the first usable dest) or OVERLOAD; none -> -1", async () => {
  // list [rs3 w0, rs2 w2, rs1 w0]: the first stage skips rs3; in the second
  // the kernel does not test the weight, but loh*0 > doh*2 is never true.
  const fx = await fixtureFor("wlc", [0, 2, 0]);
  setConns(fx, rs(2), 50, 0);
  deepStrictEqual(picks(fx, 3, "active"), [1, 1, 1]);
  overload(fx, rs(2), true);
  deepStrictEqual(picks(fx, 2), [-1, -1]);
  const all0 = await fixtureFor("wlc", [0, 0]);
  deepStrictEqual(picks(all0, 2), [-1, -1]);
});

Deno.test("wlc compares in 64 bits: no wrap-around with large counts and weights", async () => {
  // add rs1 w1, rs2 w65535 -> list [rs2 w65535, rs1 w1]; least starts at rs2.
  // rs2 A 20000 (overhead 5,120,000), rs1 A 200 (51,200): rs1 replaces rs2 iff
  // 5,120,000 * 1 > 51,200 * 65535 = 3,355,392,000: no -> rs2 (pos 0).
  // (In 32 bits 3,355,392,000 wraps to -939,575,296 and rs1 would win.)
  // rs2 A 8,000,000 (2,048,000,000, still an int), rs1 A 100 (25,600):
  // 2,048,000,000 > 25,600 * 65535 = 1,677,696,000 -> rs1 (pos 1).
  const fx = await fixtureFor("wlc", [1, 65535]);
  setConns(fx, rs(2), 20000, 0);
  setConns(fx, rs(1), 200, 0);
  deepStrictEqual(picks(fx, 1), [0]);
  setConns(fx, rs(2), 8_000_000, 0);
  setConns(fx, rs(1), 100, 0);
  deepStrictEqual(picks(fx, 1), [1]);
});

// ───────────────────────────────────────────────────────────────── sed

Deno.test("sed 1,2,3 from empty, counting active: period 0 1 0 0 1 2", async () => {
  // list [rs3 w3, rs2 w2, rs1 w1]; overhead = A + 1; replace if loh*w(d) > doh*w(least).
  // p1 A 0 0 0 (1 1 1): rs2 2 > 3 no; rs1 1 > 3 no             -> rs3 (0)
  // p2 A 1 0 0 (2 1 1): rs2 4 > 3 yes; rs1 1 > 2 no             -> rs2 (1)
  // p3 A 1 1 0 (2 2 1): rs2 4 > 6 no; rs1 2 > 3 no              -> rs3 (0)
  // p4 A 2 1 0 (3 2 1): rs2 6 > 6 no; rs1 3 > 3 no              -> rs3 (0)
  // p5 A 3 1 0 (4 2 1): rs2 8 > 6 yes; rs1 2 > 2 no             -> rs2 (1)
  // p6 A 3 2 0 (4 3 1): rs2 8 > 9 no; rs1 4 > 3 yes             -> rs1 (2)
  // A is now 3 2 1 = 3x(1 1 1)+... and p7..p12 repeat the pattern:
  // p7 (4 3 2): rs3 | p8 (5 3 2): rs2 | p9 (5 4 2): rs3 | p10 (6 4 2): rs3 |
  // p11 (7 4 2): rs2 | p12 (7 5 2): rs1 (7 > 6).
  // (wlc on the same input: 0 1 2 0 1 0 — sed's +1 holds the small dest back.)
  const fx = await fixtureFor("sed", [1, 2, 3]);
  deepStrictEqual(picks(fx, 12, "active"), cycle([0, 1, 0, 0, 1, 2], 12));
});

Deno.test("sed ignores InActConn (wlc would not)", async () => {
  // list [rs2 w1, rs1 w1]; rs2 A0 I1000, rs1 A0 I0: sed overheads 1 and 1 -> tie -> rs2.
  const fx = await fixtureFor("sed", [1, 1]);
  setConns(fx, rs(2), 0, 1000);
  deepStrictEqual(picks(fx, 3, "inactive"), [0, 0, 0]);
  const w = await fixtureFor("wlc", [1, 1]);
  setConns(w, rs(2), 0, 1000);
  deepStrictEqual(picks(w, 1), [1]);
});

Deno.test("sed keeps a fast busy dest over a slow idle one; nq sends to the idle one", async () => {
  // add rs1 w1, rs2 w10 -> list [rs2 w10, rs1 w1]; rs2 A5, rs1 A0.
  // sed: rs2 loh 6; rs1: 6*1 > 1*10? no -> rs2 (0).
  // nq: rs2 is busy; rs1 has no active connection -> rs1 (1) at once.
  const s = await fixtureFor("sed", [1, 10]);
  setConns(s, rs(2), 5, 0);
  deepStrictEqual(picks(s, 1), [0]);
  const n = await fixtureFor("nq", [1, 10]);
  setConns(n, rs(2), 5, 0);
  deepStrictEqual(picks(n, 1), [1]);
});

Deno.test("sed skips weight 0 and OVERLOAD; none -> -1", async () => {
  // list [rs3 w1, rs2 w0, rs1 w4]; rs3 overloaded. Only rs1 remains.
  const fx = await fixtureFor("sed", [4, 0, 1]);
  overload(fx, rs(3), true);
  deepStrictEqual(picks(fx, 4, "active"), [2, 2, 2, 2]);
  overload(fx, rs(1), true);
  deepStrictEqual(picks(fx, 1), [-1]);
});

// ───────────────────────────────────────────────────────────────── nq

Deno.test("nq 1,2,3 from empty, counting active: the idle ones first, then as sed", async () => {
  // list [rs3 w3, rs2 w2, rs1 w1]. ip_vs_nq_schedule returns the first usable
  // dest with ActiveConn 0 at once:
  // p1 A 0 0 0 -> rs3 (0) | p2 A 1 0 0 -> rs2 (1) | p3 A 1 1 0 -> rs1 (2)
  // then none idle; least starts at rs3, overhead A + 1, replace if loh*w(d) > doh*w(least):
  // p4 A 1 1 1 (2 2 2): rs2 4 > 6 no; rs1 2 > 6 no   -> rs3 (0)
  // p5 A 2 1 1 (3 2 2): rs2 6 > 6 no; rs1 3 > 6 no   -> rs3 (0)
  // p6 A 3 1 1 (4 2 2): rs2 8 > 6 yes; rs1 2 > 4 no  -> rs2 (1)
  // p7..p12 from A 3 2 1, as sed's p7..p12: 0 1 0 0 1 2.
  const fx = await fixtureFor("nq", [1, 2, 3]);
  deepStrictEqual(picks(fx, 12, "active"), [0, 1, 2, 0, 0, 1, 0, 1, 0, 0, 1, 2]);
});

Deno.test("nq: an idle dest wins whatever its weight; InActConn does not make it busy", async () => {
  // list [rs3 w100, rs2 w100, rs1 w1]; rs3, rs2 busy, rs1 idle with 500 inactive.
  const fx = await fixtureFor("nq", [1, 100, 100]);
  setConns(fx, rs(3), 1, 0);
  setConns(fx, rs(2), 1, 0);
  setConns(fx, rs(1), 0, 500);
  deepStrictEqual(picks(fx, 3, "inactive"), [2, 2, 2]);
});

Deno.test("nq skips weight 0 and OVERLOAD even when idle; none -> -1", async () => {
  // list [rs3 w0 idle, rs2 w1 idle overloaded, rs1 w1 busy].
  const fx = await fixtureFor("nq", [1, 1, 0]);
  setConns(fx, rs(1), 3, 0);
  overload(fx, rs(2), true);
  deepStrictEqual(picks(fx, 2, "active"), [2, 2]);
  overload(fx, rs(1), true);
  deepStrictEqual(picks(fx, 1), [-1]);
});

// ───────────────────────────────────────────────────────────────── fo

Deno.test("fo: always the highest weight, whatever its load; equal weights -> the earlier in the list", async () => {
  // add rs1 w5, rs2 w10, rs3 w10 -> list [rs3 w10, rs2 w10, rs1 w5].
  // ip_vs_fo_schedule takes a dest only if weight > the best so far: rs3.
  const fx = await fixtureFor("fo", [5, 10, 10]);
  setConns(fx, rs(3), 1000, 1000);
  deepStrictEqual(picks(fx, 4, "active"), [0, 0, 0, 0]);
  // Fail over in weight order as dests become overloaded.
  overload(fx, rs(3), true);
  deepStrictEqual(picks(fx, 2), [1, 1]);
  overload(fx, rs(2), true);
  deepStrictEqual(picks(fx, 2), [2, 2]);
  overload(fx, rs(3), false);
  deepStrictEqual(picks(fx, 1), [0]);
});

Deno.test("fo never picks weight 0; every dest at 0 or overloaded -> -1", async () => {
  // list [rs3 w0, rs2 w0, rs1 w1]: the only weight > 0 is rs1.
  const fx = await fixtureFor("fo", [1, 0, 0]);
  deepStrictEqual(picks(fx, 2), [2, 2]);
  overload(fx, rs(1), true);
  deepStrictEqual(picks(fx, 1), [-1]);
});

// ───────────────────────────────────────────────────────────────── ovf

Deno.test("ovf: the highest weight until its ActiveConn exceeds the weight, then the next; then -1", async () => {
  // add rs1 w3, rs2 w2 -> list [rs2 w2, rs1 w3]. A dest qualifies while
  // ActiveConn <= weight (the kernel skips it only when A > w), so rs1 takes
  // 4 connections (A 0..3), then rs2 takes 3 (A 0..2), then nothing qualifies.
  const fx = await fixtureFor("ovf", [3, 2]);
  deepStrictEqual(picks(fx, 8, "active"), [1, 1, 1, 1, 0, 0, 0, -1]);
});

Deno.test("ovf counts only ActiveConn, breaks weight ties by list order, skips weight 0 and OVERLOAD", async () => {
  // list [rs3 w2, rs2 w0, rs1 w2]: rs2 never (w 0); rs3 first of the two w2.
  const fx = await fixtureFor("ovf", [2, 0, 2]);
  setConns(fx, rs(3), 0, 5000); // inactive ones do not count
  deepStrictEqual(picks(fx, 4, "active"), [0, 0, 0, 2]);
  overload(fx, rs(1), true);
  deepStrictEqual(picks(fx, 1), [-1]); // rs3 at A 3 > 2, rs1 overloaded
});

// ───────────────────────────────────────────────────────────────── twos

const N = 3000;

/** How often each position came up in `got`. */
function tally(got: number[], positions: number): number[] {
  const t = new Array(positions).fill(0);
  for (const p of got) t[p]++;
  return t;
}

Deno.test("twos never picks a dest with weight 0 or OVERLOAD, and always finds one while one is usable", async () => {
  // add rs1 w1, rs2 w0, rs3 w2, rs4 w0, rs5 w1 -> list [rs5 w1, rs4 w0, rs3 w2, rs2 w0, rs1 w1]
  const fx = await fixtureFor("twos", [1, 0, 2, 0, 1]);
  const got = picks(fx, N, "active");
  const t = tally(got, 5);
  strictEqual(t[1] + t[3], 0, `weight-0 dests picked: ${t}`);
  strictEqual(got.includes(-1), false);
  ok(t[0] > 0 && t[2] > 0 && t[4] > 0, `every usable dest is drawn at times: ${t}`);
  overload(fx, rs(3), true);
  overload(fx, rs(5), true);
  deepStrictEqual(picks(fx, 50), cycle([4], 50), "only rs1 left");
  overload(fx, rs(1), true);
  deepStrictEqual(picks(fx, 5), [-1, -1, -1, -1, -1]);
  const none = await fixtureFor("twos", [0, 0]);
  deepStrictEqual(picks(none, 3), [-1, -1, -1]);
});

Deno.test("twos with weights 1:3 and equal load: the heavier gets clearly more, in the kernel's proportion", async () => {
  // Equal load: weight2*overhead1 > weight1*overhead2 is 0 > 0, so the first
  // draw always stands. A draw is r = rand % (total+1) = rand % 5, walked
  // down the list (r -= weight until r <= 0), so the list head also gets r = 0:
  //   list [rs2 w3, rs1 w1]: r 0..3 -> rs2, r 4 -> rs1: heavier 4/5;
  //   list [rs2 w1, rs1 w3]: r 0,1 -> rs2, r 2..4 -> rs1: heavier 3/5.
  // Over 3000 picks one standard deviation is under 0.01; the bands are +-0.06.
  const headHeavy = await fixtureFor("twos", [1, 3]);
  const a = tally(picks(headHeavy, N), 2);
  const fa = a[0] / N;
  ok(fa > 0.74 && fa < 0.86, `w3 at the head: ${a} (${fa.toFixed(3)}, expected ~0.8)`);
  const tailHeavy = await fixtureFor("twos", [3, 1]);
  const b = tally(picks(tailHeavy, N), 2);
  const fb = b[1] / N;
  ok(fb > 0.54 && fb < 0.66, `w3 second: ${b} (${fb.toFixed(3)}, expected ~0.6)`);
});

Deno.test("twos gives the loaded dest a connection only when both draws land on it", async () => {
  // list [rs2 w1 A100, rs1 w1 A0]; total+1 = 3: r 0,1 -> rs2, r 2 -> rs1, so
  // a draw is rs2 with p = 2/3. Whenever one draw is rs1 it wins (less load),
  // so rs2 is picked with p = (2/3)^2 = 4/9 ~ 0.444, not the 2/3 of a single
  // weighted draw. Counted as "none" so the loads stay as set.
  const fx = await fixtureFor("twos", [1, 1]);
  setConns(fx, rs(2), 100, 0);
  const t = tally(picks(fx, N), 2);
  const f = t[0] / N;
  ok(f > 0.384 && f < 0.504, `loaded dest picked ${t} (${f.toFixed(3)}, expected ~0.444)`);
});

Deno.test("twos: two module instances on one memory (two workers) draw different sequences", async () => {
  // Each instance seeds its own generator from a number it takes from the
  // control block; the picks of one must not replay the other's.
  const fx = await fixtureFor("twos", [1, 1, 1, 1, 1, 1, 1, 1]);
  const other = instantiate(fx.state.memory, fx.state.module);
  const copy = activeCopy(fx);
  const mine = picks(fx, 64);
  const theirs = Array.from({ length: 64 }, () => other.sched_pick(copy, 1, 0, 0, 0, 0));
  strictEqual(theirs.includes(-1), false);
  ok(mine.join() !== theirs.join(), `same sequence in two instances: ${mine.join()}`);
  ok(new Set(mine).size >= 6, `a sequence of 64 picks over 8 equal dests uses most of them: ${mine.join()}`);
});
