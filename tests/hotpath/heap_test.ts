/**
 * Hot-path discipline: 1,000,000 frames through the real worker loop
 * (workers/pump.ts with workers/memory_io.ts over the WASM data plane) do
 * not allocate on the JS heap. Checked twice, in a child process started
 * with --expose-gc --trace-gc (heap_loop.ts):
 *  - heapUsed grows by less than 1 MiB over the 900,000 frames measured
 *    after a 100,000-frame warm-up;
 *  - V8 runs no collection at all in that window: the child brackets it
 *    with gc() calls (traced with reason "testing") and every GC V8 traces
 *    in between is a failure. (A per-frame allocation of even a few bytes
 *    fills the young generation many times over in 900,000 frames.)
 * The frame rate is printed, not asserted.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";

const TOTAL = 1_000_000;
const WARMUP = 100_000;

Deno.test("hot path: 1M frames through pump() grow the heap < 1 MiB and trigger no GC", async () => {
  const child = new URL("./heap_loop.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc,--trace-gc", child.pathname, String(TOTAL), String(WARMUP)],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const stdout = new TextDecoder().decode(out.stdout);
  strictEqual(out.code, 0, `heap_loop.ts failed:\n${stderr}`);
  const r = JSON.parse(stderr.trim().split("\n").at(-1)!);

  // The loop really forwarded traffic: every frame in, every frame out.
  ok(r.frames >= TOTAL, `ran ${r.frames} frames`);
  deepStrictEqual(r.drops, {});
  strictEqual(r.rx, r.frames);
  strictEqual(r.tx, r.frames);
  strictEqual(r.conns, 6, "the 6 flows were opened once, then only found");

  // GC lines between the 2nd and 3rd "testing" collection (--trace-gc goes
  // to stdout through V8's own buffer, so only their relative order counts).
  const gcLines = stdout.split("\n").filter((s) => /\d+ ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark)/.test(s));
  const brackets = gcLines.flatMap((s, i) => (/testing/.test(s) ? [i] : []));
  strictEqual(brackets.length, 3, `expected 3 gc() brackets in the trace:\n${gcLines.join("\n")}`);
  const during = gcLines.slice(brackets[1] + 1, brackets[2]);
  strictEqual(
    during.length,
    0,
    `V8 collected garbage ${during.length} times during the measured loop:\n${during.slice(0, 5).join("\n")}`,
  );

  const growth = r.heapAfter - r.heapBefore;
  ok(growth < 1024 * 1024, `heapUsed grew by ${growth} bytes over ${r.measuredFrames} frames`);
  console.log(
    `hot path: ${r.measuredFrames} frames in ${r.ms.toFixed(0)} ms = ${
      (r.measuredFrames / r.ms * 1000 / 1e6).toFixed(2)
    } Mframes/s, ` +
      `heapUsed ${r.heapBefore} -> ${r.heapAfter} (${growth >= 0 ? "+" : ""}${growth} B, ` +
      `${(growth / (r.measuredFrames / 64)).toFixed(1)} B per 64-frame batch), 0 GCs`,
  );
});
