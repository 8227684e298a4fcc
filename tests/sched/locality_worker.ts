/**
 * One scheduling thread for the locality stress test (locality_stress_test.ts):
 * its own instance of the module on the shared memory, picking dests for a
 * pseudo-random stream of destination addresses while it moves dests'
 * ActiveConn up and down and its clock forward (entries expire, sets grow
 * and shrink), all at once with the other threads on the same table.
 */
/// <reference lib="deno.worker" />
import { constant, instantiate } from "../../src/dataplane/module.ts";

/** What the test posts to each thread. */
export interface LocalityJob {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  copy: number;
  /** Table index of the service under test. */
  svcIndex: number;
  /** Destination addresses (wire order) to pick for. */
  daddrs: number[];
  /** Stable ids of the service's dests. */
  ids: number[];
  picks: number;
  seed: number;
  now: number;
  /** Clock step per pick, ms. */
  step: number;
  /**
   * Int32 [0]: flag the test sets to 1 to start every thread at once;
   * [1]: the shared clock, in steps (one per pick of any thread), so that
   * time runs forward for all threads together as the workers' clock does.
   */
  go: SharedArrayBuffer;
}

/** What a thread posts back: how many picks returned each list position (-1 last). */
export interface LocalityResult {
  positions: number[];
}

self.onmessage = (e: MessageEvent<LocalityJob>) => {
  const j = e.data;
  const dp = instantiate(j.memory, j.module);
  const active = new Int32Array(j.memory.buffer);
  const at = (id: number) =>
    (constant(dp, "DSTATE") + id * constant(dp, "DSTATE_SIZE") + constant(dp, "DSTATE_ACTIVE")) >> 2;
  const positions = new Array(j.ids.length + 1).fill(0);
  let x = j.seed >>> 0;
  // An LCG's low bits repeat with short periods: use the high 16.
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 16;
  self.postMessage("ready");
  const shared = new Int32Array(j.go);
  Atomics.wait(shared, 0, 0);
  for (let i = 0; i < j.picks; i++) {
    const daddr = j.daddrs[next() % j.daddrs.length];
    const now = j.now + Atomics.add(shared, 1, 1) * j.step;
    const pos = dp.sched_pick(j.copy, j.svcIndex, 0x0100a8c0, 0x5000, daddr, now);
    positions[pos < 0 ? j.ids.length : pos]++;
    if (i % 8 === 0) {
      // Load comes and goes (never below 0), so dests cross is_overloaded both ways.
      const id = j.ids[next() % j.ids.length];
      if (next() & 1) Atomics.add(active, at(id), 1);
      else if (Atomics.load(active, at(id)) > 0) Atomics.sub(active, at(id), 1);
    }
  }
  self.postMessage({ positions } satisfies LocalityResult);
};
