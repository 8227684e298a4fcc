/**
 * Health checks end to end, as keepalived runs them for IPVS: an HTTP check
 * finds a real server that stops answering, the quorum is lost and the sorry
 * server takes the pool (the quorum_down hook runs); the server comes back,
 * the quorum returns and the sorry server leaves.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { type Director, httpServiceYaml, withDirector } from "./director.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

/** Drops (or lets through again) TCP to port 80 inside a real server's namespace: its HTTP server "stops". */
async function blockHttp(d: Director, server: number, on: boolean): Promise<void> {
  const ns = d.lab.ns.servers[server];
  const script = on
    ? "add table inet lvsdtest\nadd chain inet lvsdtest in { type filter hook input priority 0; }\n" +
      "add rule inet lvsdtest in tcp dport 80 drop\n"
    : "delete table inet lvsdtest\n";
  const r = await d.lab.exec(ns, ["nft", "-f", "-"], { stdin: script });
  strictEqual(r.code, 0, r.stderr);
}

/** Polls `fn` until it holds (at most `ms`). */
async function until(what: string, fn: () => Promise<boolean>, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function spread(d: Director, n: number): Promise<Record<string, number>> {
  const r = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", String(n), "--close"]);
  strictEqual(r.failed, 0, JSON.stringify(r));
  return r.byBody;
}

Deno.test({
  name: "e2e health: a dead server leaves, quorum lost brings the sorry server (hook runs), recovery undoes both",
  ...E2E,
  fn: async () => {
    const flag = `/tmp/lvsd-quorum-down-${crypto.randomUUID()}`;
    try {
      await withDirector({
        yaml: httpServiceYaml(
          "rr",
          ["port: 80, weight: 1", "port: 80, weight: 1"],
          "    health_check: { kind: http, path: /, delay_loop: 1, connect_timeout: 1, retry: 0 }\n" +
            "    quorum: 2\n" +
            `    quorum_down: "touch ${flag}"\n` +
            "    sorry_server: { address: 10.20.0.13 }\n",
        ),
      }, async (d) => {
        deepStrictEqual(await spread(d, 20), { rs1: 10, rs2: 10 });
        const t0 = Date.now();
        await blockHttp(d, 0, true);
        // rs1 fails its check: live weight 1 < quorum 2, so the sorry server (rs3) takes the pool.
        await until("the sorry server takes the pool", async () => /-> 10\.20\.0\.13:80 /.test(await d.status()));
        const failover = Date.now() - t0;
        const st = await d.status();
        ok(!/-> 10\.20\.0\.1[12]:80 /.test(st), st);
        deepStrictEqual(await spread(d, 10), { rs3: 10 });
        // The API and /metrics say why.
        const token = (await Deno.readTextFile(d.tokenFile)).trim();
        const get = async (path: string) =>
          (await d.lab.exec(d.lab.ns.director, [
            "curl",
            "-sf",
            "-H",
            `Authorization: Bearer ${token}`,
            `http://127.0.0.1:9470${path}`,
          ])).stdout;
        const health = JSON.parse(await get("/v1/health"));
        deepStrictEqual(health.services[0].quorum_up, false, JSON.stringify(health));
        deepStrictEqual(
          health.services[0].dests.map((x: { key: string; state: string }) => `${x.key} ${x.state}`),
          ["10.20.0.11:80 down", "10.20.0.12:80 up"],
        );
        // lvsadm -L -n --health shows the same, in ipvsadm's layout plus one column.
        const adm = await d.lab.exec(d.lab.ns.director, [
          d.lab.deno,
          "run",
          "-A",
          "--cached-only",
          new URL("../../src/main.ts", import.meta.url).pathname,
          "adm",
          "-L",
          "-n",
          "--health",
        ], { env: { LVSADM_TOKEN_FILE: d.tokenFile } });
        strictEqual(adm.code, 0, adm.stderr);
        const lines = adm.stdout.split("\n");
        ok(lines[2].endsWith("InActConn Health"), adm.stdout);
        ok(lines[3].endsWith(" quorum down"), adm.stdout);
        ok(/^ {2}-> 10\.20\.0\.13:80 .* sorry$/.test(lines[4]), adm.stdout);
        const metrics = await get("/metrics");
        ok(metrics.includes(`lvsd_service_quorum_up{service="tcp:${VIP}:80"} 0\n`), metrics);
        ok(
          metrics.includes(
            `lvsd_dest_health_up{service="tcp:${VIP}:80",dest_address="10.20.0.11",dest_port="80"} 0\n`,
          ),
          metrics,
        );
        await until("the quorum_down hook ran", () => Deno.stat(flag).then(() => true, () => false), 3000);
        await blockHttp(d, 0, false);
        await until("rs1 and rs2 are back", async () => /-> 10\.20\.0\.11:80 /.test(await d.status()));
        ok(!/-> 10\.20\.0\.13:80 /.test(await d.status()));
        deepStrictEqual(await spread(d, 20), { rs1: 10, rs2: 10 });
        console.log(`health: dead server found and sorry server in after ${failover} ms (delay_loop 1 s, timeout 1 s)`);
      });
    } finally {
      await Deno.remove(flag).catch(() => {});
    }
  },
});
