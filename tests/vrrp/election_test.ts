/**
 * Elections between several VrrpInstances on the simulated LAN of sim.ts
 * (fake clock, adverts encoded and decoded on the way, no delivery delay).
 * Every expected time is worked out in the comments from RFC 5798 §6.1:
 *   Skew_Time = (256 − Priority) × Master_Adver_Interval / 256
 *   Master_Down_Interval (MDI) = 3 × Master_Adver_Interval + Skew_Time
 * With the 1 s interval used unless stated:
 *   priority 200: skew 218.75,  MDI 3218.75
 *   priority 150: skew 414.0625, MDI 3414.0625
 *   priority 100: skew 609.375, MDI 3609.375
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { VrrpInstanceOptions } from "../../src/vrrp/config.ts";
import { Sim } from "./sim.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";
const C = "10.0.0.3";

function opts(primaryIp: string, priority: number, more: Partial<VrrpInstanceOptions> = {}): VrrpInstanceOptions {
  return { vrid: 51, primaryIp, priority, ...more };
}

Deno.test("two routers: the higher priority is master after its own MDI; the other stays silent", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  sim.run(20000);
  deepStrictEqual(sim.transitions(), [[0, "a", "backup"], [0, "b", "backup"], [3218.75, "a", "master"]]);
  deepStrictEqual(sim.adverts("b"), []);
  // The master advertises every interval from the moment it took over.
  deepStrictEqual(sim.adverts("a").slice(0, 3), [[3218.75, 200], [4218.75, 200], [5218.75, 200]]);
  deepStrictEqual(sim.drops, []);
});

Deno.test("three routers; the master dies; the next priority takes over exactly MDI after the last advert", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200));
  const b = sim.add("b", opts(B, 150));
  sim.add("c", opts(C, 100));
  for (const n of ["a", "b", "c"]) sim.startAt(0, n);
  sim.killAt(10000, "a");
  sim.run(30000);
  // a's last advert before 10000: 3218.75 + 6 × 1000 = 9218.75; b's MDI 3414.0625 -> 12632.8125.
  // c's timer (9218.75 + 3609.375 = 12828.125) is reset by b's first advert before it runs out.
  deepStrictEqual(sim.transitions().filter(([, , s]) => s === "master"), [
    [3218.75, "a", "master"],
    [12632.8125, "b", "master"],
  ]);
  strictEqual(9218.75 + b.inst.masterDownIntervalMs, 12632.8125);
  ok(12632.8125 - 10000 <= b.inst.masterDownIntervalMs, "takeover within Master_Down_Interval of the failure");
  deepStrictEqual(sim.masters(), ["b"]);
  strictEqual(sim.get("c").state, "backup");
  deepStrictEqual(sim.adverts("c"), []);
});

Deno.test("preemption: a returning higher-priority router takes over after its MDI, the old master yields", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "b");
  sim.startAt(5000, "a");
  sim.run(20000);
  // b alone: master at 3609.375. a starts at 5000, discards b's lower adverts (5609.375, ...)
  // and its timer runs out at 5000 + 3218.75; its first advert sends b to backup at once.
  deepStrictEqual(sim.transitions(), [
    [0, "b", "backup"],
    [3609.375, "b", "master"],
    [5000, "a", "backup"],
    [8218.75, "a", "master"],
    [8218.75, "b", "backup"],
  ]);
  deepStrictEqual(sim.adverts("b", 8218.75), []);
});

Deno.test("nopreempt: the returning higher-priority router stays backup while the master lives", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200, { nopreempt: true }));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "b");
  sim.startAt(5000, "a");
  sim.killAt(60000, "b");
  sim.run(70000);
  // b's adverts: 3609.375 + k × 1000; the last before 60000 is 59609.375; a takes over 3218.75 later.
  deepStrictEqual(sim.transitions(), [
    [0, "b", "backup"],
    [3609.375, "b", "master"],
    [5000, "a", "backup"],
    [62828.125, "a", "master"],
  ]);
});

Deno.test("preempt_delay: the lower master is tolerated for the delay after its first advert, then preempted", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200, { preemptDelayMs: 10000 }));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "b");
  sim.startAt(5000, "a");
  sim.run(30000);
  // a hears b first at 5609.375: window until 15609.375. b's adverts up to 14609.375 are
  // accepted (each resets a's timer); the one at 15609.375 is not, so a's timer runs out
  // at 14609.375 + 3218.75 = 17828.125 (without the delay: 8218.75, see the test above).
  deepStrictEqual(sim.transitions().slice(3), [[17828.125, "a", "master"], [17828.125, "b", "backup"]]);
});

Deno.test("equal priority, both masters at once: the higher primary address wins (RFC 5798 §6.4.3)", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 100));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  sim.run(20000);
  // Both timers run out at 3609.375; both become master and hear each other; a (lower address) yields.
  deepStrictEqual(sim.transitions().slice(2), [
    [3609.375, "a", "master"],
    [3609.375, "b", "master"],
    [3609.375, "a", "backup"],
  ]);
  deepStrictEqual(sim.masters(), ["b"]);
  deepStrictEqual(sim.adverts("a", 3609.375 + 1), []);
});

Deno.test("equal priority, one already master: the newcomer stays backup even with a higher address", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 100));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "a");
  sim.startAt(10000, "b");
  sim.run(30000);
  deepStrictEqual(sim.masters(), ["a"]); // a backup accepts an advert of equal priority (§6.4.2)
  deepStrictEqual(sim.adverts("b"), []);
});

Deno.test("priority 0: the master resigns on shutdown and the backup takes over after Skew_Time", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  sim.shutdownAt(10000, "a");
  sim.run(20000);
  deepStrictEqual(sim.adverts("a", 10000), [[10000, 0]]);
  // 10000 + 609.375, where a dead master would have cost 9218.75 + 3609.375 = 12828.125.
  deepStrictEqual(sim.transitions().slice(3), [[10000, "a", "init"], [10609.375, "b", "master"]]);
});

Deno.test("a backup learns the master's advert interval (v3) and times out on it", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200, { advertIntervalMs: 500 }));
  const b = sim.add("b", opts(B, 100, { advertIntervalMs: 1000 }));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  sim.killAt(10000, "a");
  sim.run(13000);
  // a: MDI at 500 ms = 1500 + 56 × 500 / 256 = 1609.375 -> master; adverts every 500 ms,
  // the last at 1609.375 + 16 × 500 = 9609.375. b learnt 500 ms: MDI 1500 + 156 × 500 / 256
  // = 1804.6875 (not its own 3609.375) -> master at 11414.0625.
  deepStrictEqual(sim.transitions().slice(2), [[1609.375, "a", "master"], [11414.0625, "b", "master"]]);
  // As master, b advertises at its own interval (§6.4.3 uses Advertisement_Interval).
  deepStrictEqual(sim.adverts("b"), [[11414.0625, 100], [12414.0625, 100]]);
  strictEqual(b.inst.config.advertIntervalMs, 1000);
  deepStrictEqual(sim.drops, []);
});

Deno.test("v2: a different advert interval is dropped (RFC 3768 §7.1), so both become master", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200, { version: 2, advertIntervalMs: 2000 }));
  sim.add("b", opts(B, 100, { version: 2, advertIntervalMs: 1000 }));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  sim.run(20000);
  deepStrictEqual(sim.masters().sort(), ["a", "b"]);
  ok(sim.drops.length > 0);
  ok(sim.drops.every((d) => d.reason === "intervalMismatch"));
});

Deno.test("v2 with auth_type PASS: same password elects; a wrong one is dropped as authFailure", () => {
  const good = new Sim();
  good.add("a", opts(A, 200, { version: 2 }), ["10.0.0.100"], "s3cret");
  good.add("b", opts(B, 100, { version: 2 }), ["10.0.0.100"], "s3cret");
  good.startAt(0, "a");
  good.startAt(0, "b");
  good.run(20000);
  // v2 skew for 200 is 56/256 s = 218.75 ms: the same as v3 at 1 s.
  deepStrictEqual(good.transitions().slice(2), [[3218.75, "a", "master"]]);
  deepStrictEqual(good.drops, []);

  const bad = new Sim();
  bad.add("a", opts(A, 200, { version: 2 }), ["10.0.0.100"], "s3cret");
  bad.add("b", opts(B, 100, { version: 2 }), ["10.0.0.100"], "other");
  bad.startAt(0, "a");
  bad.startAt(0, "b");
  bad.run(20000);
  deepStrictEqual(bad.masters().sort(), ["a", "b"]);
  ok(bad.drops.every((d) => d.reason === "authFailure"));
});

Deno.test("fault and recover: the faulty master resigns at once, and preempts again after recovering", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  sim.faultAt(10000, "a", "eth1");
  sim.recoverAt(20000, "a", "eth1");
  sim.run(30000);
  // Fault: priority 0 -> b after its skew, 10609.375. Recover: a waits a full MDI in backup
  // (20000 + 3218.75), discarding b's lower adverts, then takes over; b yields at once.
  deepStrictEqual(sim.transitions().slice(3), [
    [10000, "a", "fault"],
    [10609.375, "b", "master"],
    [20000, "a", "backup"],
    [23218.75, "a", "master"],
    [23218.75, "b", "backup"],
  ]);
  deepStrictEqual(sim.adverts("a", 10000).slice(0, 2), [[10000, 0], [23218.75, 200]]);
});

function splitBrain(answerLowerPriority: boolean): Sim {
  const sim = new Sim();
  sim.add("a", opts(A, 200, { answerLowerPriority }));
  sim.add("b", opts(B, 100, { answerLowerPriority }));
  sim.startAt(0, "a");
  sim.startAt(0, "b");
  // Cut at 5000: a's last advert b hears is 4218.75, so b becomes master at 4218.75 + 3609.375.
  sim.partitionAt(5000, "a", "b");
  sim.healAt(10500);
  sim.run(20000);
  return sim;
}

Deno.test("split brain (keepalived default): the higher master answers the lower one's advert, which yields", () => {
  const sim = splitBrain(true);
  // After the heal b speaks first (7828.125 + 3 × 1000 = 10828.125); a answers at once.
  deepStrictEqual(sim.transitions().slice(2), [
    [3218.75, "a", "master"],
    [7828.125, "b", "master"],
    [10828.125, "b", "backup"],
  ]);
  deepStrictEqual(sim.adverts("b", 10828.125), [[10828.125, 100]]); // the advert that lost, then silence
  deepStrictEqual(sim.masters(), ["a"]);
});

Deno.test("split brain (lower_prio_no_advert, RFC 5798): resolved at the higher master's next advert", () => {
  const sim = splitBrain(false);
  // a ignores b's 10828.125 advert; b yields on a's next one, 3218.75 + 8 × 1000 = 11218.75.
  deepStrictEqual(sim.transitions().slice(2), [
    [3218.75, "a", "master"],
    [7828.125, "b", "master"],
    [11218.75, "b", "backup"],
  ]);
  deepStrictEqual(sim.adverts("b", 10828.125 + 1), []);
  deepStrictEqual(sim.masters(), ["a"]);
});

Deno.test("initial state MASTER (non-owner) takes over after one interval when alone", () => {
  const sim = new Sim();
  sim.add("b", opts(B, 100, { initialState: "master" }));
  sim.startAt(0, "b");
  sim.run(5000);
  deepStrictEqual(sim.transitions(), [[0, "b", "backup"], [1003.90625, "b", "master"]]);
});

Deno.test("initial state MASTER (non-owner) yields to a better master already there", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 200));
  sim.add("b", opts(B, 100, { initialState: "master" }));
  sim.startAt(0, "a");
  sim.startAt(5000, "b");
  sim.run(20000);
  // a's advert at 5218.75 reaches b before its 6003.90625 deadline.
  deepStrictEqual(sim.masters(), ["a"]);
  deepStrictEqual(sim.adverts("b"), []);
});

Deno.test("the owner (priority 255) is master at once and preempts a running master", () => {
  const sim = new Sim();
  sim.add("a", opts(A, 255));
  sim.add("b", opts(B, 100));
  sim.startAt(0, "b");
  sim.startAt(5000, "a");
  sim.run(10000);
  deepStrictEqual(sim.transitions().slice(2), [[5000, "a", "master"], [5000, "b", "backup"]]);
});
