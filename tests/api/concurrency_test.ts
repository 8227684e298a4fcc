/**
 * Concurrent changes: the read-modify-write of each runs under one lock,
 * so requests that arrive together all land.
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { destKey } from "../../src/api/model.ts";
import { Mutex } from "../../src/api/mutex.ts";
import { harness } from "./harness.ts";

Deno.test("concurrent POSTs to one service all land (none overwrites another)", async () => {
  const h = harness();
  // apply() takes a while, so without the lock every request would read the same config.
  h.backend.applyDelayMs = 5;
  const n = 12;
  const replies = await Promise.all(
    Array.from(
      { length: n },
      (_, k) => h.req("POST", "/v1/services/tcp:10.10.0.100:80/dests", { address: `10.20.1.${k + 1}` }),
    ),
  );
  deepStrictEqual(replies.map((r) => r.status), Array(n).fill(201));
  const keys = h.backend.config().services[0].dests.map(destKey);
  strictEqual(keys.length, 2 + n);
  for (let k = 1; k <= n; k++) strictEqual(keys.includes(`10.20.1.${k}:80`), true, `10.20.1.${k} was lost`);
  strictEqual(h.backend.generation, n);
});

Deno.test("concurrent changes of different kinds all land, in arrival order", async () => {
  const h = harness();
  h.backend.applyDelayMs = 3;
  const replies = await Promise.all([
    h.req("POST", "/v1/services", { proto: "tcp", vip: "10.10.0.120", port: 80 }),
    h.req("PUT", "/v1/timeouts", { udp: 45 }),
    h.req("POST", "/v1/services/tcp:10.10.0.120:80/dests", { address: "10.20.2.1" }),
    h.req("PATCH", "/v1/services/tcp:10.10.0.100:80", { scheduler: "lc" }),
    h.req("DELETE", "/v1/services/udp:10.10.0.100:53"),
  ]);
  deepStrictEqual(replies.map((r) => r.status), [201, 200, 201, 200, 200]);
  const c = h.backend.config();
  strictEqual(c.timeouts.udp, 45);
  strictEqual(c.services.find((s) => s.vip === "10.10.0.120")?.dests[0].address, "10.20.2.1");
  strictEqual(c.services[0].scheduler, "lc");
  strictEqual(c.services.some((s) => s.proto === "udp"), false);
});

Deno.test("a failed change releases the lock; the ones queued behind it still land", async () => {
  const h = harness();
  h.backend.applyDelayMs = 2;
  h.backend.failNextApply = new Error("boom");
  const replies = await Promise.all([
    h.req("POST", "/v1/services/tcp:10.10.0.100:80/dests", { address: "10.20.3.1" }),
    h.req("POST", "/v1/services/tcp:10.10.0.100:80/dests", { address: "10.20.3.2" }),
  ]);
  deepStrictEqual(replies.map((r) => r.status), [500, 201]);
  deepStrictEqual(h.backend.config().services[0].dests.map((d) => d.address), [
    "10.20.0.11",
    "10.20.0.12",
    "10.20.3.2",
  ]);
});

Deno.test("Mutex runs holders one at a time in order, past failures", async () => {
  const m = new Mutex();
  const log: string[] = [];
  const job = (name: string, fail = false) =>
    m.run(async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 1));
      log.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([job("a"), job("b", true), job("c")]);
  deepStrictEqual(log, ["a+", "a-", "b+", "b-", "c+", "c-"]);
  deepStrictEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
});
