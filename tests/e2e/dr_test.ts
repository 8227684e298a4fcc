/**
 * End to end with direct routing: the real servers hold the VIP on lo
 * (arp_ignore=1, arp_announce=2) and answer the client themselves through
 * the site's "router" (the client's second link), so only requests cross
 * the director. Also a service mixing NAT and DR dests.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { patternBytes, VIP } from "../../src/lab/mod.ts";
import { configYaml, counter, httpServiceYaml, sha256Hex, withDirector } from "./director.ts";

const HERE = new URL("./", import.meta.url).pathname;

const E2E = { sanitizeOps: false, sanitizeResources: false };

function drYaml(forwards: string[], weights = [1, 2, 3]): string {
  return httpServiceYaml("wrr", forwards.map((f, i) => `port: 80, forward: ${f}, weight: ${weights[i]}`));
}

Deno.test({
  name: "e2e DR: HTTP through the VIP is spread 1:2:3, replies bypass the director, 1 MiB arrives intact",
  ...E2E,
  fn: () =>
    withDirector({
      yaml: drYaml(["route", "route", "route"]),
      setup: (lab) => lab.directReturn([0, 1, 2], { vipOnLo: true }),
    }, async (d) => {
      const r = await d.lab.runHttpClient([
        "--url",
        `http://${VIP}/`,
        "--count",
        "60",
        "--close",
        "--timeout-ms",
        "30000",
      ]);
      strictEqual(r.failed, 0, JSON.stringify(r));
      deepStrictEqual(r.byBody, { rs1: 10, rs2: 20, rs3: 30 });
      const expected = await sha256Hex(patternBytes(1 << 20));
      const got = await d.lab.exec(d.lab.ns.client, ["bash", "-c", `curl -sf -m 20 http://${VIP}/1m | sha256sum`]);
      strictEqual(got.code, 0, got.stderr);
      strictEqual(got.stdout.split(" ")[0], expected);
      const st = await d.status();
      strictEqual(counter(st, "conns"), 61, st);
      // The 1 MiB reply never crossed the director: it forwarded requests and ACKs only.
      ok(counter(st, "tx_bytes") < 400_000, st);
      ok(/-> 10\.20\.0\.13:80\s+Route\s+3/.test(st), st);
    }),
});

Deno.test({
  name: "e2e mixed methods: one service with a NAT dest and two DR dests",
  ...E2E,
  fn: () =>
    withDirector({
      yaml: drYaml(["masq", "route", "route"], [1, 1, 1]),
      setup: (lab) => lab.directReturn([1, 2], { vipOnLo: true }),
    }, async (d) => {
      const r = await d.lab.runHttpClient([
        "--url",
        `http://${VIP}/`,
        "--count",
        "30",
        "--close",
        "--timeout-ms",
        "30000",
      ]);
      strictEqual(r.failed, 0, JSON.stringify(r));
      deepStrictEqual(r.byBody, { rs1: 10, rs2: 10, rs3: 10 });
      const st = await d.status();
      ok(/-> 10\.20\.0\.11:80\s+Masq/.test(st), st);
      ok(/-> 10\.20\.0\.12:80\s+Route/.test(st), st);
    }),
});

Deno.test({
  name: "e2e drain: after SIGHUP with weight 0 a server keeps its established connection and gets no new ones",
  ...E2E,
  fn: () =>
    withDirector({ weights: [1, 1, 1], scheduler: "rr" }, async (d) => {
      const go = `/tmp/lvsd-drain-${d.lab.prefix}`;
      const held = d.lab.spawn(d.lab.ns.client, ["python3", `${HERE}keepalive_client.py`, VIP, go]);
      try {
        const first = (await held.waitFor(/^first (rs\d)$/m, 10000)).match(/first (rs\d)/)![1];
        const drained = Number(first.slice(2));
        // The LVS-HOWTO maintenance step: set the server's weight to 0.
        const yaml = configYaml({ weights: [1, 2, 3].map((i) => (i === drained ? 0 : 1)), scheduler: "rr" });
        await Deno.writeTextFile(d.configFile, yaml);
        d.lvsd.kill("SIGHUP");
        await d.lvsd.waitFor(/lvsd: reloaded .*TCP 10\.10\.0\.100:80: changed/, 10000);
        const r = await d.lab.runHttpClient([
          "--url",
          `http://${VIP}/`,
          "--count",
          "20",
          "--close",
          "--timeout-ms",
          "20000",
        ]);
        strictEqual(r.failed, 0, JSON.stringify(r));
        strictEqual(
          r.byBody[first],
          undefined,
          `the drained ${first} got new connections: ${JSON.stringify(r.byBody)}`,
        );
        strictEqual(Object.values(r.byBody).reduce((a, b) => a + b, 0), 20);
        await Deno.writeTextFile(go, "");
        const second = (await held.waitFor(/^second (rs\d)$/m, 10000)).match(/second (rs\d)/)![1];
        strictEqual(second, first, "the established connection stayed on the drained server");
        const st = await d.status();
        ok(new RegExp(`-> 10\\.20\\.0\\.1${drained}:80\\s+Masq\\s+0 `).test(st), st);
      } finally {
        held.kill("SIGKILL");
        await Deno.remove(go).catch(() => {});
      }
    }),
});
