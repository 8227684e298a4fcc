/**
 * HealthMonitor on a fake clock with a scripted probe: keepalived's retry
 * and alpha semantics, warmup and jitter spreads, the concurrency cap,
 * live update() and stop().
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import type { RunCheck } from "../../src/health/checkers.ts";
import { HealthMonitor, type HealthState, type HealthTarget } from "../../src/health/monitor.ts";
import type { CheckResult, CheckSpec } from "../../src/health/types.ts";
import { FakeTimers, settle } from "./fake_timers.ts";
import { prng as seeded } from "../helpers/prng.ts";

const UP: CheckResult = { up: true, detail: "ok" };
const DOWN: CheckResult = { up: false, detail: "refused" };

/**
 * A probe whose answers the test scripts per target (by port), taking
 * `durationMs` of fake time, honouring abort, and counting what is in flight.
 */
class ScriptedProbe {
  /** The answer each port gets next (the last one repeats). */
  answers = new Map<number, CheckResult[]>();
  calls: { port: number; at: number }[] = [];
  aborted: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(readonly clock: FakeTimers, public durationMs = 0) {}

  set(port: number, ...results: CheckResult[]): void {
    this.answers.set(port, results);
  }

  callsFor(port: number): number[] {
    return this.calls.filter((c) => c.port === port).map((c) => c.at);
  }

  run: RunCheck = (_spec, target, signal) => {
    this.calls.push({ port: target.port, at: this.clock.now });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const list = this.answers.get(target.port) ?? [UP];
    const result = list.length > 1 ? list.shift()! : list[0];
    return new Promise<CheckResult>((resolve) => {
      const finish = (r: CheckResult) => {
        this.inFlight--;
        resolve(r);
      };
      if (this.durationMs === 0) return finish(result);
      const h = this.clock.setTimeout(() => finish(result), this.durationMs);
      signal.addEventListener("abort", () => {
        this.clock.clearTimeout(h);
        this.aborted.push(target.port);
        finish({ up: false, detail: "aborted" });
      }, { once: true });
    });
  };
}

function target(port: number, check: Partial<CheckSpec> = {}): HealthTarget {
  return { id: `d${port}`, address: "10.20.0.1", port, check: { kind: "tcp", warmup: 0, ...check } as CheckSpec };
}

function rig(opts: { durationMs?: number; concurrency?: number; jitter?: number; seed?: number } = {}) {
  const clock = new FakeTimers();
  const probe = new ScriptedProbe(clock, opts.durationMs ?? 0);
  const events: { id: string; at: number; state: HealthState }[] = [];
  const monitor = new HealthMonitor({
    timers: clock,
    random: seeded(opts.seed ?? 1),
    runCheck: probe.run,
    concurrency: opts.concurrency,
    jitter: opts.jitter ?? 0,
    onChange: (id, state) => events.push({ id, at: clock.now, state }),
  });
  return { clock, probe, events, monitor };
}

Deno.test("monitor: an up dest goes down after retry + 1 failures, each retry after delay_before_retry", async () => {
  const { clock, probe, events, monitor } = rig();
  probe.set(1, UP, DOWN, DOWN, DOWN, UP);
  monitor.update([target(1, { delay_loop: 10, retry: 2, delay_before_retry: 1 })]);
  await clock.advance(0);
  strictEqual(events.length, 0, "a success while up is not a transition");
  await clock.advance(11_000); // fail at 10 s, retry 1 at 11 s
  strictEqual(events.length, 0);
  strictEqual(monitor.state("d1")!.up, true, "still up while retrying");
  await clock.advance(1_000); // retry 2 fails at 12 s: down
  deepStrictEqual(events.map((e) => [e.at, e.state.up, e.state.detail]), [[12_000, false, "refused"]]);
  await clock.advance(10_000); // next check delay_loop after the last: 22 s, a success: up at once
  deepStrictEqual(events.map((e) => [e.at, e.state.up]), [[12_000, false], [22_000, true]]);
  deepStrictEqual(probe.callsFor(1), [0, 10_000, 11_000, 12_000, 22_000]);
  await monitor.stop();
});

Deno.test("monitor: while down, checks run every delay_loop (no retries) and one success brings it up", async () => {
  const { clock, probe, events, monitor } = rig();
  probe.set(1, UP, DOWN, DOWN, DOWN, DOWN, UP);
  monitor.update([target(1, { delay_loop: 5, retry: 0, delay_before_retry: 1 })]);
  await clock.advance(25_000);
  deepStrictEqual(probe.callsFor(1), [0, 5_000, 10_000, 15_000, 20_000, 25_000]);
  deepStrictEqual(events.map((e) => [e.at, e.state.up]), [[5_000, false], [25_000, true]]);
  await monitor.stop();
});

Deno.test("monitor: without alpha a dest starts up and its very first failure takes it down (keepalived)", async () => {
  const { clock, probe, events, monitor } = rig();
  probe.set(1, DOWN);
  monitor.update([target(1, { retry: 3 })]);
  strictEqual(monitor.state("d1")!.up, true);
  await clock.advance(0);
  deepStrictEqual(events.map((e) => [e.id, e.state.up]), [["d1", false]]);
  deepStrictEqual(probe.callsFor(1), [0], "no retries before the first verdict");
  await monitor.stop();
});

Deno.test("monitor: with alpha a dest starts down, a failure changes nothing, the first success brings it up", async () => {
  const { clock, probe, events, monitor } = rig();
  probe.set(1, DOWN, UP);
  probe.set(2, UP);
  monitor.update([target(1, { alpha: true, delay_loop: 3 }), target(2, { alpha: true })]);
  strictEqual(monitor.state("d1")!.up, false);
  strictEqual(monitor.state("d2")!.up, false);
  strictEqual(events.length, 0, "the initial state is not announced");
  await clock.advance(0);
  deepStrictEqual(events.map((e) => [e.id, e.state.up]), [["d2", true]]);
  await clock.advance(3_000);
  deepStrictEqual(events.map((e) => [e.id, e.at, e.state.up]), [["d2", 0, true], ["d1", 3_000, true]]);
  await monitor.stop();
});

Deno.test("monitor: retry and delay_before_retry defaults follow the kind (HTTP 3 s, DNS delay_loop and 3 retries)", async () => {
  const { clock, probe, events, monitor } = rig();
  probe.set(1, UP, DOWN);
  probe.set(2, UP, DOWN);
  monitor.update([
    target(1, { kind: "http", delay_loop: 20 } as Partial<CheckSpec>),
    target(2, { kind: "dns", delay_loop: 20 } as Partial<CheckSpec>),
  ]);
  await clock.advance(200_000);
  // HTTP: retry 1, 3 s apart: fail at 20, retry at 23 → down.
  deepStrictEqual(probe.callsFor(1).slice(0, 3), [0, 20_000, 23_000]);
  // DNS: retry 3, delay_loop apart: 20, 40, 60, 80 → down at 80.
  deepStrictEqual(probe.callsFor(2).slice(0, 5), [0, 20_000, 40_000, 60_000, 80_000]);
  deepStrictEqual(events.map((e) => [e.id, e.at]), [["d1", 23_000], ["d2", 80_000]]);
  await monitor.stop();
});

Deno.test("monitor: warmup spreads 1000 dests' first checks over delay_loop by default", async () => {
  const { clock, probe, monitor } = rig({ seed: 7 });
  const targets = Array.from({ length: 1000 }, (_, i) => target(i + 1, { delay_loop: 60, warmup: undefined }));
  monitor.update(targets);
  await clock.advance(60_000);
  const firsts = targets.map((t) => probe.callsFor(t.port)[0]);
  ok(firsts.every((t) => t !== undefined && t >= 0 && t <= 60_000), "every dest checked once within delay_loop");
  // Ten 6-second bins, ~100 each for a uniform spread.
  const bins = new Array(10).fill(0);
  for (const t of firsts) bins[Math.min(9, Math.floor(t / 6_000))]++;
  ok(bins.every((n) => n >= 70 && n <= 130), `uneven spread: ${bins}`);
  ok(new Set(firsts).size >= 990, "not probed at the same instant");
  await monitor.stop();
});

Deno.test("monitor: an explicit warmup bounds the first check", async () => {
  const { clock, probe, monitor } = rig({ seed: 3 });
  const targets = Array.from({ length: 200 }, (_, i) => target(i + 1, { delay_loop: 60, warmup: 2 }));
  monitor.update(targets);
  await clock.advance(2_000);
  const firsts = targets.map((t) => probe.callsFor(t.port)[0]);
  ok(firsts.every((t) => t !== undefined && t <= 2_000));
  ok(Math.max(...firsts) - Math.min(...firsts) > 1_500, "spread over the warmup");
  await monitor.stop();
});

Deno.test("monitor: jitter pulls dests that start in step apart (and without it they stay in step)", async () => {
  for (const jitter of [0.1, 0]) {
    const { clock, probe, monitor } = rig({ jitter, seed: 11 });
    const targets = Array.from({ length: 1000 }, (_, i) => target(i + 1, { delay_loop: 60, warmup: 0 }));
    monitor.update(targets);
    await clock.advance(60_000);
    const seconds = targets.map((t) => probe.callsFor(t.port)[1]);
    ok(seconds.every((t) => t !== undefined && t >= 54_000 && t <= 60_000), "second check within delay_loop − 10 %");
    if (jitter) {
      ok(new Set(seconds).size >= 990, "second checks at distinct instants");
      ok(Math.max(...seconds) - Math.min(...seconds) > 5_000, "spread over most of 10 % of delay_loop");
    } else {
      strictEqual(new Set(seconds).size, 1, "no jitter: all at 60 s");
    }
    await monitor.stop();
  }
});

Deno.test("monitor: never more checks in flight than the concurrency cap, and every due check runs", async () => {
  const { clock, probe, monitor } = rig({ durationMs: 100, concurrency: 64 });
  const targets = Array.from({ length: 1000 }, (_, i) => target(i + 1, { delay_loop: 60, warmup: 0 }));
  let maxSeen = 0;
  monitor.update(targets);
  for (let t = 0; t < 2_000; t += 50) {
    await clock.advance(50);
    maxSeen = Math.max(maxSeen, monitor.inFlight);
  }
  strictEqual(probe.maxInFlight, 64, "the cap is reached and never exceeded");
  ok(maxSeen <= 64);
  strictEqual(new Set(probe.calls.map((c) => c.port)).size, 1000, "queued checks all ran");
  // 1000 checks of 100 ms, 64 at a time: 16 waves.
  strictEqual(Math.max(...probe.calls.map((c) => c.at)), 1_500);
  await monitor.stop();
});

Deno.test("monitor: update() keeps unchanged dests' state and schedule, restarts changed ones, adds new ones", async () => {
  const { clock, probe, events, monitor } = rig();
  probe.set(1, DOWN);
  probe.set(2, UP);
  const a = target(1, { delay_loop: 10, retry: 0 });
  monitor.update([a, target(2, { delay_loop: 10 })]);
  await clock.advance(0);
  strictEqual(monitor.state("d1")!.up, false);
  await clock.advance(4_000);

  // Same spec in a new object, keys in another order: unchanged.
  const same: HealthTarget = {
    port: 1,
    check: { retry: 0, delay_loop: 10, warmup: 0, kind: "tcp" },
    address: "10.20.0.1",
    id: "d1",
  };
  monitor.update([same, target(2, { delay_loop: 10 }), target(3, { delay_loop: 10 })]);
  strictEqual(monitor.state("d1")!.up, false, "state kept");
  await clock.advance(6_000);
  deepStrictEqual(probe.callsFor(1), [0, 10_000], "schedule kept: next check still at 10 s");
  deepStrictEqual(probe.callsFor(3), [4_000], "new dest checked after its warmup (0)");

  // A changed check restarts at once (warmup 0), keeping the down state until a verdict.
  probe.set(1, UP);
  monitor.update([target(1, { delay_loop: 10, retry: 0, connect_timeout: 2 }), target(2, { delay_loop: 10 })]);
  strictEqual(monitor.state("d1")!.up, false);
  strictEqual(monitor.state("d3"), undefined, "dropped dest forgotten");
  await clock.advance(0);
  strictEqual(monitor.state("d1")!.up, true);
  deepStrictEqual(events.map((e) => [e.id, e.at, e.state.up]), [["d1", 0, false], ["d1", 10_000, true]]);
  await monitor.stop();
});

Deno.test("monitor: update() aborts a removed dest's check in flight and reports nothing for it", async () => {
  const { clock, probe, events, monitor } = rig({ durationMs: 1_000 });
  probe.set(1, DOWN);
  monitor.update([target(1), target(2)]);
  await clock.advance(500);
  strictEqual(monitor.inFlight, 2);
  monitor.update([target(2)]);
  await settle();
  deepStrictEqual(probe.aborted, [1]);
  strictEqual(monitor.state("d1"), undefined);
  await clock.advance(120_000);
  strictEqual(events.length, 0);
  deepStrictEqual(probe.callsFor(1), [0], "never checked again");
  await monitor.stop();
});

Deno.test("monitor: stop() aborts checks in flight, clears every timer and resolves when they ended", async () => {
  const { clock, probe, monitor } = rig({ durationMs: 5_000, concurrency: 2 });
  monitor.update([target(1), target(2), target(3)]);
  await clock.advance(1_000);
  strictEqual(monitor.inFlight, 2);
  await monitor.stop();
  strictEqual(monitor.inFlight, 0);
  deepStrictEqual(probe.aborted.sort(), [1, 2]);
  strictEqual(clock.pending, 0, "no timer left behind");
  await clock.advance(600_000);
  strictEqual(probe.calls.length, 2, "the queued check never started");
  throws(() => monitor.update([target(1)]), /monitor is stopped/);
});

Deno.test("monitor: MISC dynamic weights are reported while up, and only when they change", async () => {
  const { clock, probe, events, monitor } = rig();
  const w = (weight?: number): CheckResult => ({ up: true, weight, detail: `w${weight}` });
  probe.set(1, w(3), w(3), w(5), w(undefined), DOWN, w(7));
  monitor.update([target(1, { kind: "misc", misc_path: ["/bin/true"], delay_loop: 1 } as Partial<CheckSpec>)]);
  await clock.advance(5_000);
  deepStrictEqual(events.map((e) => [e.at, e.state.up, e.state.weight]), [
    [0, true, 3],
    [2_000, true, 5],
    [3_000, true, undefined],
    [4_000, false, undefined],
    [5_000, true, 7],
  ]);
  await monitor.stop();
});

Deno.test("monitor: a duplicate id is refused and changes nothing", async () => {
  const { monitor } = rig();
  monitor.update([target(1)]);
  throws(() => monitor.update([target(2), target(2)]), /target id "d2" is listed twice/);
  deepStrictEqual([...monitor.states().keys()], ["d1"]);
  await monitor.stop();
});

Deno.test("monitor: a throwing onChange or probe does not stop the checks", async () => {
  const clock = new FakeTimers();
  let calls = 0;
  const errors: string[] = [];
  const origError = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const monitor = new HealthMonitor({
      timers: clock,
      jitter: 0,
      runCheck: () => {
        calls++;
        if (calls === 1) throw new Error("probe bug");
        return Promise.resolve(UP);
      },
      onChange: () => {
        throw new Error("listener bug");
      },
    });
    monitor.update([target(1, { delay_loop: 1 })]);
    await clock.advance(0);
    strictEqual(monitor.state("d1")!.up, false);
    ok(/check failed: probe bug/.test(monitor.state("d1")!.detail));
    await clock.advance(1_000);
    strictEqual(monitor.state("d1")!.up, true);
    strictEqual(calls, 2);
    strictEqual(errors.length, 2);
    ok(errors.every((e) => /onChange for d1 threw: listener bug/.test(e)));
    await monitor.stop();
  } finally {
    console.error = origError;
  }
});

Deno.test("monitor: bad construction options are refused with the reason", () => {
  throws(() => new HealthMonitor({ concurrency: 0 }), /concurrency 0 is not a positive integer/);
  throws(() => new HealthMonitor({ jitter: 1 }), /jitter 1 is not in \[0, 1\)/);
});

Deno.test("monitor: runs the real checkers by default (a TCP dest on 127.0.0.1)", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accept = (async () => {
    for await (const c of l) c.close();
  })().catch(() => {});
  const seen: HealthState[] = [];
  const monitor = new HealthMonitor({ onChange: (_id, s) => seen.push(s) });
  const port = (l.addr as Deno.NetAddr).port;
  monitor.update([{
    id: "real",
    address: "127.0.0.1",
    port,
    check: { kind: "tcp", warmup: 0, delay_loop: 0.05, retry: 0 },
  }]);
  await new Promise((r) => setTimeout(r, 100));
  strictEqual(monitor.state("real")!.up, true);
  strictEqual(monitor.state("real")!.detail, "connected");
  l.close();
  await accept;
  for (let i = 0; i < 40 && monitor.state("real")!.up; i++) await new Promise((r) => setTimeout(r, 25));
  strictEqual(monitor.state("real")!.up, false, "down once the port closed");
  // Refused, or reset when a connect was under way as the listener closed.
  ok(seen.some((s) => !s.up && /refused|reset/.test(s.detail)), JSON.stringify(seen));
  await monitor.stop();
});
