/**
 * One VrrpInstance at a time, on a fake clock: the exact actions of every
 * transition of RFC 5798 §6.4 and of keepalived's additions (FAULT,
 * initial state MASTER, GARP schedule, effective priority), the timer
 * formulas, and the configuration rules. Election between several routers
 * is in election_test.ts.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { resolveInstanceConfig, type VrrpInstanceOptions } from "../../src/vrrp/config.ts";
import type { Advert } from "../../src/vrrp/packet.ts";
import { type VrrpAction, VrrpInstance } from "../../src/vrrp/state_machine.ts";
import { masterDownIntervalMs, skewTimeMs } from "../../src/vrrp/timing.ts";

class FakeClock {
  t = 0;
  now(): number {
    return this.t;
  }
}

function make(o: Partial<VrrpInstanceOptions> = {}): { inst: VrrpInstance; clock: FakeClock } {
  const clock = new FakeClock();
  return { inst: new VrrpInstance({ vrid: 51, primaryIp: "10.0.0.2", ...o }, clock), clock };
}

function advert(priority: number, intervalCs = 100, version: 2 | 3 = 3): Advert {
  return { version, vrid: 51, priority, intervalCs, addresses: ["10.0.0.100"], authType: 0 };
}

const PEER_LOW = "10.0.0.1"; // below our 10.0.0.2
const PEER_HIGH = "10.0.0.3";

// Skew and Master_Down_Interval worked out by hand from RFC 5798 §6.1 and RFC 3768 §6.1.
Deno.test("timer formulas: v3 scales the skew with the interval, v2 does not", () => {
  // v3, priority 100, 1 s: skew = 156 × 1000 / 256 = 609.375; down = 3000 + 609.375.
  strictEqual(skewTimeMs(3, 100, 1000), 609.375);
  strictEqual(masterDownIntervalMs(3, 100, 1000), 3609.375);
  // v3, priority 200, 2 s: skew = 56 × 2000 / 256 = 437.5; down = 6437.5.
  strictEqual(masterDownIntervalMs(3, 200, 2000), 6437.5);
  // v2, priority 200, 2 s: skew = 56 / 256 s = 218.75 ms whatever the interval; down = 6218.75.
  strictEqual(skewTimeMs(2, 200, 2000), 218.75);
  strictEqual(masterDownIntervalMs(2, 200, 2000), 6218.75);
  // The owner's skew is the smallest: 1/256 of the interval.
  strictEqual(skewTimeMs(3, 255, 1000), 3.90625);
});

Deno.test("owner (priority 255) starts as master at once (RFC 5798 §6.4.1), advert before GARPs", () => {
  const { inst } = make({ priority: 255 });
  deepStrictEqual(inst.start(), [
    { type: "sendAdvert", priority: 255 },
    { type: "becomeMaster" },
    { type: "sendGarp", repeat: 5 },
    { type: "setTimer", timer: "adver", ms: 1000 },
    { type: "setTimer", timer: "garpDelay", ms: 5000 },
    { type: "notify", state: "master" },
  ]);
  strictEqual(inst.state, "master");
  strictEqual(inst.masterIp, "10.0.0.2");
});

Deno.test("a non-owner starts as backup with Master_Down_Timer = Master_Down_Interval", () => {
  const { inst } = make({ priority: 100 });
  deepStrictEqual(inst.start(), [
    { type: "becomeBackup" },
    { type: "setTimer", timer: "masterDown", ms: 3609.375 },
    { type: "notify", state: "backup" },
  ]);
  throws(() => inst.start(), /already started/);
});

Deno.test("v2 backup waits 3 × advert_int + (256 − priority)/256 s", () => {
  const { inst } = make({ version: 2, priority: 200, advertIntervalMs: 2000 });
  deepStrictEqual(inst.start()[1], { type: "setTimer", timer: "masterDown", ms: 6218.75 });
});

Deno.test("initial state MASTER without owning: one interval plus the smallest skew (keepalived)", () => {
  const { inst } = make({ priority: 150, initialState: "master" });
  deepStrictEqual(inst.start()[1], { type: "setTimer", timer: "masterDown", ms: 1000 + 1000 / 256 });
  strictEqual(inst.state, "backup");
});

Deno.test("Master_Down_Timer runs out: advert, VIPs, GARPs, Adver_Timer (RFC 5798 §6.4.2)", () => {
  const { inst } = make({ priority: 100, garpMasterRefreshMs: 60000, garpMasterRefreshRepeat: 2 });
  inst.start();
  deepStrictEqual(inst.timerFired("masterDown"), [
    { type: "sendAdvert", priority: 100 },
    { type: "becomeMaster" },
    { type: "sendGarp", repeat: 5 },
    { type: "setTimer", timer: "adver", ms: 1000 },
    { type: "setTimer", timer: "garpDelay", ms: 5000 },
    { type: "setTimer", timer: "garpRefresh", ms: 65000 },
    { type: "notify", state: "master" },
  ]);
  deepStrictEqual(inst.timerFired("adver"), [
    { type: "sendAdvert", priority: 100 },
    { type: "setTimer", timer: "adver", ms: 1000 },
  ]);
  deepStrictEqual(inst.timerFired("garpDelay"), [{ type: "sendGarp", repeat: 5 }]);
  deepStrictEqual(inst.timerFired("garpRefresh"), [
    { type: "sendGarp", repeat: 2 },
    { type: "setTimer", timer: "garpRefresh", ms: 60000 },
  ]);
});

Deno.test("a timer that is not armed is ignored (cancelled, fired twice, or never set)", () => {
  const { inst } = make({ priority: 100 });
  deepStrictEqual(inst.timerFired("masterDown"), []); // before start
  inst.start();
  deepStrictEqual(inst.timerFired("adver"), []); // a backup has no Adver_Timer
  inst.timerFired("masterDown");
  deepStrictEqual(inst.timerFired("masterDown"), []); // already fired
  inst.shutdown();
  deepStrictEqual(inst.timerFired("adver"), []); // cancelled by shutdown
});

Deno.test("master shutdown: cancel timers, send priority 0, Initialize (RFC 5798 §6.4.3)", () => {
  const { inst } = make({ priority: 255 });
  inst.start();
  deepStrictEqual(inst.shutdown(), [
    { type: "cancelTimer", timer: "adver" },
    { type: "cancelTimer", timer: "garpDelay" },
    { type: "sendAdvert", priority: 0 },
    { type: "becomeInit" },
    { type: "notify", state: "stop" },
  ]);
  strictEqual(inst.state, "init");
  deepStrictEqual(inst.shutdown(), []);
  // It can start again.
  strictEqual(inst.start()[1].type, "becomeMaster");
});

Deno.test("backup shutdown: cancel Master_Down_Timer, no advert", () => {
  const { inst } = make();
  inst.start();
  deepStrictEqual(inst.shutdown(), [
    { type: "cancelTimer", timer: "masterDown" },
    { type: "becomeInit" },
    { type: "notify", state: "stop" },
  ]);
});

Deno.test("backup: priority 0 sets Master_Down_Timer to Skew_Time (RFC 5798 §6.4.2)", () => {
  const { inst } = make({ priority: 100 });
  inst.start();
  deepStrictEqual(inst.receive(advert(0), PEER_HIGH), [{ type: "setTimer", timer: "masterDown", ms: 609.375 }]);
});

Deno.test("backup: an equal or higher advert resets the timer and teaches Master_Adver_Interval (v3)", () => {
  const { inst, clock } = make({ priority: 100 });
  inst.start();
  clock.t = 500;
  // The master advertises every 0.5 s: down = 3 × 500 + 156 × 500 / 256 = 1804.6875.
  deepStrictEqual(inst.receive(advert(100, 50), PEER_LOW), [{
    type: "setTimer",
    timer: "masterDown",
    ms: 1804.6875,
  }]);
  strictEqual(inst.masterAdverIntervalMs, 500);
  strictEqual(inst.timerDeadline("masterDown"), 500 + 1804.6875);
  strictEqual(inst.masterIp, PEER_LOW);
});

Deno.test("backup v2: the interval is not learnt (RFC 3768 has no Master_Adver_Interval)", () => {
  const { inst } = make({ version: 2, priority: 100 });
  inst.start();
  inst.receive(advert(200, 100, 2), PEER_LOW);
  strictEqual(inst.masterAdverIntervalMs, 1000);
});

Deno.test("backup with preempt discards a lower advert: the timer keeps running", () => {
  const { inst, clock } = make({ priority: 150 });
  inst.start();
  const deadline = inst.timerDeadline("masterDown");
  clock.t = 1000;
  deepStrictEqual(inst.receive(advert(100), PEER_HIGH), []);
  strictEqual(inst.timerDeadline("masterDown"), deadline);
});

Deno.test("backup with nopreempt accepts a lower advert", () => {
  const { inst } = make({ priority: 150, nopreempt: true });
  inst.start();
  strictEqual(inst.receive(advert(100), PEER_HIGH)[0].type, "setTimer");
});

Deno.test("backup with preempt_delay: lower adverts accepted until the window set by the first one closes", () => {
  const { inst, clock } = make({ priority: 150, preemptDelayMs: 10000 });
  inst.start();
  clock.t = 1000;
  strictEqual(inst.receive(advert(100), PEER_HIGH).length, 1); // window opens: until 11000
  clock.t = 10999;
  strictEqual(inst.receive(advert(100), PEER_HIGH).length, 1);
  clock.t = 11000;
  deepStrictEqual(inst.receive(advert(100), PEER_HIGH), []); // closed
  // An advert of equal or higher priority closes the window; the next lower one opens a new one.
  inst.receive(advert(200), PEER_HIGH);
  clock.t = 20000;
  strictEqual(inst.receive(advert(100), PEER_HIGH).length, 1);
  clock.t = 29999;
  strictEqual(inst.receive(advert(100), PEER_HIGH).length, 1);
  clock.t = 30000;
  deepStrictEqual(inst.receive(advert(100), PEER_HIGH), []);
});

function master(o: Partial<VrrpInstanceOptions> = {}): { inst: VrrpInstance; clock: FakeClock } {
  const m = make({ priority: 100, ...o });
  m.inst.start();
  m.inst.timerFired("masterDown");
  return m;
}

Deno.test("master: a higher advert sends it to backup with the advertised interval (RFC 5798 §6.4.3)", () => {
  const { inst } = master();
  deepStrictEqual(inst.receive(advert(101, 200), PEER_LOW), [
    { type: "cancelTimer", timer: "adver" },
    { type: "cancelTimer", timer: "garpDelay" },
    { type: "becomeBackup" },
    // 3 × 2000 + (256 − 100) × 2000 / 256: the skew is ours, the interval the master's.
    { type: "setTimer", timer: "masterDown", ms: 7218.75 },
    { type: "notify", state: "backup" },
  ]);
  strictEqual(inst.masterIp, PEER_LOW);
});

Deno.test("master: equal priority yields only to a higher primary address", () => {
  const a = master();
  strictEqual(a.inst.receive(advert(100), PEER_HIGH)[2].type, "becomeBackup");
  const b = master();
  deepStrictEqual(b.inst.receive(advert(100), PEER_LOW), [{ type: "sendAdvert", priority: 100 }]);
  strictEqual(b.inst.state, "master");
});

Deno.test("master: a lower advert is answered at once (keepalived default) or discarded (lower_prio_no_advert)", () => {
  deepStrictEqual(master().inst.receive(advert(99), PEER_HIGH), [{ type: "sendAdvert", priority: 100 }]);
  deepStrictEqual(master({ answerLowerPriority: false }).inst.receive(advert(99), PEER_HIGH), []);
});

Deno.test("master: priority 0 from another master is answered and the Adver_Timer reset", () => {
  deepStrictEqual(master().inst.receive(advert(0), PEER_HIGH), [
    { type: "sendAdvert", priority: 100 },
    { type: "setTimer", timer: "adver", ms: 1000 },
  ]);
});

Deno.test("adverts of another VRID or version are ignored", () => {
  const { inst } = master();
  deepStrictEqual(inst.receive({ ...advert(200), vrid: 52 }, PEER_HIGH), []);
  deepStrictEqual(inst.receive(advert(200, 100, 2), PEER_HIGH), []);
});

Deno.test("fault from master: priority 0, VIPs dropped, adverts and timers ignored until every fault recovers", () => {
  const { inst } = master();
  deepStrictEqual(inst.fault("eth1"), [
    { type: "cancelTimer", timer: "adver" },
    { type: "cancelTimer", timer: "garpDelay" },
    { type: "sendAdvert", priority: 0 },
    { type: "becomeFault" },
    { type: "notify", state: "fault" },
  ]);
  deepStrictEqual(inst.fault("check_haproxy"), []);
  deepStrictEqual(inst.receive(advert(0), PEER_HIGH), []);
  deepStrictEqual(inst.timerFired("adver"), []);
  deepStrictEqual(inst.recover("eth1"), []);
  deepStrictEqual(inst.faults, ["check_haproxy"]);
  strictEqual(inst.state, "fault");
  // Back to backup with its own interval and a full Master_Down_Interval.
  deepStrictEqual(inst.recover("check_haproxy"), [
    { type: "becomeBackup" },
    { type: "setTimer", timer: "masterDown", ms: 3609.375 },
    { type: "notify", state: "backup" },
  ]);
});

Deno.test("fault from backup sends nothing; a fault before start makes start enter FAULT", () => {
  const { inst } = make();
  inst.start();
  deepStrictEqual(inst.fault(), [
    { type: "cancelTimer", timer: "masterDown" },
    { type: "becomeFault" },
    { type: "notify", state: "fault" },
  ]);
  const early = make();
  deepStrictEqual(early.inst.fault("eth1"), []);
  deepStrictEqual(early.inst.start(), [{ type: "becomeFault" }, { type: "notify", state: "fault" }]);
});

Deno.test("the owner leaves FAULT straight to master", () => {
  const { inst } = make({ priority: 255 });
  inst.start();
  inst.fault();
  const out: VrrpAction[] = inst.recover();
  strictEqual(out[1].type, "becomeMaster");
  strictEqual(inst.state, "master");
});

Deno.test("setPriority: clamped to 1..254, moves a running Master_Down_Timer by the skew change; owner fixed", () => {
  const { inst, clock } = make({ priority: 100 });
  inst.start(); // deadline 3609.375
  clock.t = 1000;
  // Skew at 200 = 56 × 1000 / 256 = 218.75: the deadline moves 390.625 earlier, to 3218.75.
  deepStrictEqual(inst.setPriority(200), [{ type: "setTimer", timer: "masterDown", ms: 2218.75 }]);
  strictEqual(inst.timerDeadline("masterDown"), 3218.75);
  inst.setPriority(300);
  strictEqual(inst.priority, 254);
  inst.setPriority(-20);
  strictEqual(inst.priority, 1);
  const owner = make({ priority: 255 }).inst;
  deepStrictEqual(owner.setPriority(10), []);
  strictEqual(owner.priority, 255);
  // A master just advertises the new value next time.
  const m = master().inst;
  deepStrictEqual(m.setPriority(50), []);
  deepStrictEqual(m.timerFired("adver")[0], { type: "sendAdvert", priority: 50 });
});

Deno.test("config: keepalived's clearing, with warnings", () => {
  const base = { vrid: 9, primaryIp: "10.0.0.1" };
  const a = resolveInstanceConfig({ ...base, initialState: "master", nopreempt: true, preemptDelayMs: 5000 });
  strictEqual(a.config.nopreempt, false);
  strictEqual(a.config.preemptDelayMs, 0);
  deepStrictEqual(a.warnings, [
    "VRRP instance (VRID 9): nopreempt needs initial state BACKUP - cleared",
    "VRRP instance (VRID 9): preempt_delay needs initial state BACKUP - cleared",
  ]);
  const b = resolveInstanceConfig({ ...base, priority: 255, initialState: "backup", nopreempt: true });
  strictEqual(b.config.nopreempt, false);
  const c = resolveInstanceConfig({ ...base, nopreempt: true, preemptDelayMs: 5000 });
  strictEqual(c.config.preemptDelayMs, 0);
  strictEqual(c.config.nopreempt, true);
  deepStrictEqual(resolveInstanceConfig({ ...base, nopreempt: true }).warnings, []);
  // Defaults.
  const d = resolveInstanceConfig(base).config;
  deepStrictEqual(
    [d.version, d.priority, d.advertIntervalMs, d.initialState, d.garpMasterDelayMs, d.garpMasterRepeat],
    [3, 100, 1000, "backup", 5000, 5],
  );
  strictEqual(resolveInstanceConfig({ ...base, priority: 255 }).config.initialState, "master");
});

Deno.test("config: out-of-range settings are refused, naming the setting", () => {
  const base = { vrid: 9, primaryIp: "10.0.0.1" };
  throws(() => resolveInstanceConfig({ ...base, vrid: 0 }), /virtual_router_id 0/);
  throws(() => resolveInstanceConfig({ ...base, priority: 0 }), /VRID 9\): priority 0/);
  throws(() => resolveInstanceConfig({ ...base, advertIntervalMs: 15 }), /advert_int 15 ms/);
  throws(() => resolveInstanceConfig({ ...base, advertIntervalMs: 41000 }), /advert_int 41000 ms/);
  throws(() => resolveInstanceConfig({ ...base, version: 2, advertIntervalMs: 1500 }), /whole number of seconds/);
  throws(() => resolveInstanceConfig({ ...base, primaryIp: "10.0.0" }), /primary address: Cannot parse "10.0.0"/);
  throws(() => resolveInstanceConfig({ ...base, preemptDelayMs: -1 }), /preempt_delay \(ms\) -1/);
  // v3 takes centisecond intervals such as keepalived's advert_int 0.92.
  strictEqual(resolveInstanceConfig({ ...base, advertIntervalMs: 920 }).config.advertIntervalMs, 920);
});
