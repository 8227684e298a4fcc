/**
 * Several threads on one locality table at once (lblc and lblcr): each a
 * Deno Worker with its own instance of the module on the shared memory (see
 * locality_worker.ts), picking for the same destination addresses while
 * loads change and the clock runs over days, so that entries are claimed,
 * re-bound, expired, grown and shrunk concurrently. Every entry must come out
 * whole: a key naming one of the addresses used, a set of distinct ids of the
 * service's dests, at most one for lblc and four for lblcr; and every pick
 * must have named a dest.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Fixture } from "../fixtures/harness.ts";
import { activeCopy, filler, service, SVC_ID, wire } from "./helpers.ts";
import type { LocalityJob, LocalityResult } from "./locality_worker.ts";
import { startTogether } from "../helpers/start_together.ts";

const THREADS = 4;
const PICKS = 20000;

async function storm(scheduler: "lblc" | "lblcr"): Promise<void> {
  const weights = [1, 2, 1, 3, 1];
  const svc = service(scheduler, weights);
  const fx = await Fixture.create([filler(), svc]);
  const ids = svc.dests.map((d) => d.id);
  const daddrs = Array.from({ length: 300 }, (_, i) => wire(`192.0.${2 + (i >> 8)}.${i & 0xff}`));
  const go = new SharedArrayBuffer(8);
  const jobs = Array.from({ length: THREADS }, (_, i): LocalityJob => ({
    memory: fx.state.memory,
    module: fx.state.module,
    copy: activeCopy(fx),
    svcIndex: 1,
    daddrs,
    ids,
    picks: PICKS,
    seed: 12345 + i * 7919,
    now: fx.now,
    // 4 x 20000 picks x 3 s on the shared clock = 2.8 days: entries idle
    // for a day expire and sets unchanged for a day shrink, while other
    // threads use them.
    step: 3_000,
    go,
  }));
  const results = await startTogether<LocalityJob, LocalityResult>(
    new URL("./locality_worker.ts", import.meta.url),
    jobs,
    go,
    "locality thread",
  );

  const positions = results.reduce((a, r) => a.map((v, i) => v + r.positions[i]), new Array(ids.length + 1).fill(0));
  strictEqual(positions[ids.length], 0, "every pick named a dest");
  strictEqual(positions.reduce((a, b) => a + b, 0), THREADS * PICKS);

  const l = fx.state.layout;
  const v = fx.state.view;
  const base = l.LOCALITY + SVC_ID * l.LOCALITY_SIZE;
  const known = new Set(daddrs);
  let live = 0;
  let sizes = [0, 0, 0, 0, 0];
  for (let s = 0; s < l.LOCALITY_SLOTS; s++) {
    const e = base + s * l.LOCALITY_ENTRY;
    const key = v.getBigUint64(e, true);
    if (key === 0n) continue;
    ok(known.has(Number(key & 0xffffffffn)), `slot ${s}: key ${key.toString(16)} names no address used`);
    const set = v.getBigUint64(e + 8, true);
    if (((set >> 52n) & 0xfffn) !== ((key >> 32n) & 0xfffn)) continue; // claimed, set not written yet / stale
    const members: number[] = [];
    for (let f = 0; f < 4; f++) {
      const id1 = Number((set >> BigInt(13 * f)) & 0x1fffn);
      if (id1) members.push(id1 - 1);
    }
    live++;
    sizes = sizes.map((n, i) => n + (members.length === i ? 1 : 0));
    deepStrictEqual(new Set(members).size, members.length, `slot ${s}: duplicate members ${members}`);
    for (const id of members) ok(ids.includes(id), `slot ${s}: member ${id} is not a dest of the service`);
    ok(members.length <= (scheduler === "lblc" ? 1 : 4), `slot ${s}: ${members.length} members`);
    ok(members.length >= 1, `slot ${s}: a live entry without dests`);
  }
  ok(live > 0, "entries were made");
  console.log(`${scheduler}: picks by position ${positions.slice(0, -1)}, ${live} live entries, set sizes ${sizes}`);
}

Deno.test("lblc: 4 threads x 20000 picks on one locality table leave only whole entries", async () => {
  await storm("lblc");
});

Deno.test("lblcr: 4 threads x 20000 picks on one locality table leave only whole entries and bounded sets", async () => {
  await storm("lblcr");
});
