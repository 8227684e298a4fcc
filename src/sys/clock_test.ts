import { ok } from "node:assert/strict";
import { CoarseClock, monotonicMs } from "./clock.ts";

Deno.test("the data plane's clock is the monotonic clock (since boot), not the wall clock", () => {
  const uptimeMs = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 1000;
  const now = monotonicMs();
  ok(Math.abs(now - uptimeMs) < 2000, `monotonicMs ${now} vs /proc/uptime ${uptimeMs}`);
  ok(Math.abs(now - Date.now()) > 1e9, "it must not be wall-clock time");
});

Deno.test("CoarseClock stores the same clock as a timespec in the shared memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  new CoarseClock(memory, 64).read();
  const v = new DataView(memory.buffer);
  const ms = Number(v.getBigInt64(64, true)) * 1000 + Number(v.getBigInt64(72, true)) / 1e6;
  ok(Math.abs(ms - monotonicMs()) < 50, `${ms} vs ${monotonicMs()}`);
});
