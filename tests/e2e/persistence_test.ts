/**
 * End to end: a persistent service (-p) keeps a client on one real server
 * across new connections, while the same scheduler without persistence
 * spreads them.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { httpServiceYaml, withDirector } from "./director.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

function yaml(persistent: boolean): string {
  return httpServiceYaml(
    "rr",
    ["forward: masq", "forward: masq", "forward: masq"],
    persistent ? "    persistence: { timeout: 360 }\n" : "",
  );
}

Deno.test({
  name: "e2e persistence: 20 connections from one client all land on one server (rr alone spreads them)",
  ...E2E,
  fn: () =>
    withDirector({ yaml: yaml(true) }, async (d) => {
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
      const servers = Object.keys(r.byBody);
      strictEqual(servers.length, 1, `one server for the client: ${JSON.stringify(r.byBody)}`);
      strictEqual(r.byBody[servers[0]], 20);
      const st = await d.status();
      ok(/TCP {2}10\.10\.0\.100:80\s+rr persistent 360/.test(st), st);
      // The template: client port 0, listed as NONE, as ipvsadm -Lnc shows it.
      ok(/TCP \d\d:\d\d\s+NONE\s+10\.10\.0\.2:0\s+10\.10\.0\.100:80/.test(st), st);
      // Without persistence the same requests go round robin.
      await d.stop();
      await d.restart(yaml(false));
      const spread = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "9", "--close"]);
      deepStrictEqual(spread.byBody, { rs1: 3, rs2: 3, rs3: 3 });
    }),
});
