/**
 * The decap receive path allocates nothing per packet: 500,000 GUE packets
 * through recvmmsg, parse and the TUN write (tests/decap/heap_loop.ts, in a
 * namespace of its own) with no V8 collection at all in the measured window
 * and heapUsed growing by less than 1 MiB (a per-packet allocation of even a
 * few bytes fills the young generation many times over in 450,000 packets).
 * The rate is printed, not asserted.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { requireRoot, withNamespaces } from "../../src/sys/netns_testing.ts";

const TOTAL = 500_000;
const WARMUP = 50_000;

Deno.test({
  name: "decap hot path: 450k packets through recvmmsg/parse/TUN write trigger no GC, heap grows < 1 MiB",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireRoot("a TUN device in a network namespace");
    await withNamespaces(1, async ([ns]) => {
      const child = new URL("./heap_loop.ts", import.meta.url).pathname;
      const out = await new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          Deno.execPath(),
          "run",
          "-A",
          "--cached-only",
          "--v8-flags=--expose-gc,--trace-gc",
          child,
          String(TOTAL),
          String(WARMUP),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      const stdout = new TextDecoder().decode(out.stdout);
      strictEqual(out.code, 0, `heap_loop.ts failed:\n${stderr}`);
      const r = JSON.parse(stderr.trim().split("\n").at(-1)!);
      // Every packet was decapsulated and written (the kernel drops them after).
      ok(r.measured >= TOTAL - WARMUP, `measured ${r.measured} packets`);
      deepStrictEqual(
        { ...r.counters, received: 0, decapsulated: 0 },
        {
          received: 0,
          decapsulated: 0,
          not_ipv4_inner: 0,
          bad_gue_header: 0,
          not_for_vip: 0,
          truncated: 0,
          write_error: 0,
        },
      );
      strictEqual(r.counters.decapsulated, r.counters.received);
      const gcLines = stdout.split("\n").filter((s) => /\d+ ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark)/.test(s));
      const brackets = gcLines.flatMap((s, i) => (/testing/.test(s) ? [i] : []));
      strictEqual(brackets.length, 3, `expected 3 gc() brackets in the trace:\n${gcLines.join("\n")}`);
      const during = gcLines.slice(brackets[1] + 1, brackets[2]);
      strictEqual(during.length, 0, `V8 collected ${during.length} times in the measured loop:\n${during.join("\n")}`);
      const growth = r.heapAfter - r.heapBefore;
      ok(growth < 1024 * 1024, `heapUsed grew by ${growth} bytes over ${r.measured} packets`);
      console.log(
        `decap hot path: ${r.measured} packets in ${r.ms.toFixed(0)} ms = ${
          (r.measured / r.ms).toFixed(0)
        } kpps (sender on the same thread), heapUsed ${growth >= 0 ? "+" : ""}${growth} B, 0 GCs`,
      );
    });
  },
});
