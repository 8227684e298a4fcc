/**
 * End to end with lvsadm, as the LVS-HOWTO builds a cluster with ipvsadm:
 * lvsd starts with no services, the cluster is built entirely with lvsadm
 * commands through the admin API, traffic flows, the counters match what the
 * client sent, weights change under load without a failed request, and a
 * restart brings the same table back from the state file.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { type Director, withDirector } from "./director.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const E2E = { sanitizeOps: false, sanitizeResources: false };

const EMPTY = `workers: 2
conn_table_size: 65536
interfaces: [ { name: ext0 }, { name: int0 } ]
services: []
`;

/** Runs `lvsd adm ARGS` (lvsadm) in the director's namespace. */
async function lvsadm(
  d: Director,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [d.lab.deno, "run", "-A", "--cached-only", `${ROOT}src/main.ts`, "adm", ...args];
  return await d.lab.exec(d.lab.ns.director, argv, { env: { LVSADM_TOKEN_FILE: d.tokenFile }, stdin });
}

/** lvsadm that must succeed; returns its stdout. */
async function must(d: Director, ...args: string[]): Promise<string> {
  const r = await lvsadm(d, args);
  strictEqual(r.code, 0, `lvsadm ${args.join(" ")}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A listing without the ActiveConn/InActConn columns (connections come and go). */
function layout(listing: string): string {
  return listing.split("\n").map((l) => l.startsWith("  -> ") ? l.replace(/\s+\d+\s+\d+\s*$/, "") : l).join("\n");
}

/** The --stats --exact row of `addr:port` (service or dest) as numbers. */
function statsRow(listing: string, addrPort: string): number[] {
  const line = listing.split("\n").find((l) => l.split(/\s+/).some((w) => w === addrPort));
  ok(line, `no row for ${addrPort} in:\n${listing}`);
  return line.trim().split(/\s+/).slice(-5).map(Number);
}

Deno.test({
  name: "e2e lvsadm: build a cluster from nothing, count traffic exactly, reweight under load, restart keeps it",
  ...E2E,
  fn: () =>
    withDirector({ yaml: EMPTY }, async (d) => {
      const empty = await must(d, "-L", "-n");
      strictEqual(
        empty,
        "IP Virtual Server version 1.2.1 (size=65536)\n" +
          "Prot LocalAddress:Port Scheduler Flags\n" +
          "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
      );
      // As the LVS-HOWTO sets up a LVS-NAT director with ipvsadm.
      await must(d, "-A", "-t", `${VIP}:80`, "-s", "wrr");
      for (const [i, w] of [[1, 1], [2, 2], [3, 3]]) {
        await must(d, "-a", "-t", `${VIP}:80`, "-r", `10.20.0.1${i}:80`, "-m", "-w", String(w));
      }
      await must(d, "-A", "-u", `${VIP}:7`, "-s", "rr");
      for (const i of [1, 2, 3]) await must(d, "-a", "-u", `${VIP}:7`, "-r", `10.20.0.1${i}:7`, "-m");
      // Errors as ipvsadm gives them, and nothing changes.
      const dup = await lvsadm(d, ["-A", "-t", `${VIP}:80`, "-s", "rr"]);
      ok(dup.code !== 0 && /exists/i.test(dup.stderr), JSON.stringify(dup));

      const http = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "60", "--close"]);
      strictEqual(http.failed, 0, JSON.stringify(http));
      deepStrictEqual(http.byBody, { rs1: 10, rs2: 20, rs3: 30 });
      const udp = await d.lab.runHttpClient(["--udp", `${VIP}:7`, "--count", "30"]);
      strictEqual(udp.failed, 0, JSON.stringify(udp));

      const stats = await must(d, "-L", "-n", "--stats", "--exact");
      // 60 connections; 30 datagrams each way, one "connection" each.
      strictEqual(statsRow(stats, `${VIP}:80`)[0], 60, stats);
      deepStrictEqual(statsRow(stats, `10.20.0.13:80`)[0], 30, stats);
      deepStrictEqual(statsRow(stats, `${VIP}:7`).slice(0, 3), [30, 30, 30], stats);
      deepStrictEqual([1, 2, 3].map((i) => statsRow(stats, `10.20.0.1${i}:7`).slice(0, 3)), [
        [10, 10, 10],
        [10, 10, 10],
        [10, 10, 10],
      ]);

      // The same counts in /metrics (token required, /health without), and promtool accepts the exposition.
      const token = (await Deno.readTextFile(d.tokenFile)).trim();
      const curl = (path: string, auth = true) =>
        d.lab.exec(d.lab.ns.director, [
          "curl",
          "-s",
          "-o",
          "-",
          "-w",
          "\n%{http_code}",
          ...(auth ? ["-H", `Authorization: Bearer ${token}`] : []),
          `http://127.0.0.1:9470${path}`,
        ]);
      const metrics = (await curl("/metrics")).stdout;
      ok(metrics.endsWith("\n200"), metrics.slice(-200));
      ok(
        metrics.includes(
          `lvsd_service_connections_total{service="tcp:${VIP}:80",proto="tcp",vip="${VIP}",port="80"} 60\n`,
        ),
        metrics,
      );
      const lint = await d.lab.exec(d.lab.ns.director, ["promtool", "check", "metrics"], {
        stdin: metrics.slice(0, metrics.lastIndexOf("\n") + 1),
      });
      strictEqual(lint.code, 0, lint.stdout + lint.stderr);
      ok((await curl("/metrics", false)).stdout.endsWith("\n401"));
      ok((await curl("/health", false)).stdout.endsWith("\n200"));

      // What is read from the config file at start cannot be changed through the API (it would not survive a
      // restart): refused whole with the key named; sending the config back unchanged is fine.
      const cfg = JSON.parse((await curl("/v1/config")).stdout.replace(/\n\d+$/, ""));
      const put = (body: unknown) =>
        d.lab.exec(d.lab.ns.director, [
          "curl",
          "-s",
          "-w",
          "\n%{http_code}",
          "-X",
          "PUT",
          "-H",
          `Authorization: Bearer ${token}`,
          "-H",
          "content-type: application/json",
          "--data-binary",
          "@-",
          "http://127.0.0.1:9470/v1/config",
        ], { stdin: JSON.stringify(body) });
      const refused = (await put({ ...cfg, workers: 1 })).stdout;
      ok(refused.endsWith("\n422") && refused.includes("workers"), refused);
      ok((await put(cfg)).stdout.endsWith("\n200"));

      // Weights change under load: not one request fails.
      const load = d.lab.runHttpClient([
        "--url",
        `http://${VIP}/`,
        "--count",
        "1500",
        "--concurrency",
        "8",
        "--close",
      ]);
      const editMs: number[] = [];
      for (const w of ["0", "5", "1"]) {
        for (const [rs, weight] of [["10.20.0.11", w], ["10.20.0.12", w === "0" ? "4" : "2"]]) {
          const t0 = performance.now();
          await must(d, "-e", "-t", `${VIP}:80`, "-r", `${rs}:80`, "-m", "-w", weight);
          editMs.push(performance.now() - t0);
        }
      }
      // One change through the API alone (curl), for the record.
      const apiMs: string[] = [];
      for (const w of [3, 2]) {
        const r = await d.lab.exec(d.lab.ns.director, [
          "curl",
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code} %{time_total}",
          "-X",
          "PATCH",
          "-H",
          `Authorization: Bearer ${token}`,
          "-H",
          "content-type: application/json",
          "--data",
          JSON.stringify({ weight: w }),
          `http://127.0.0.1:9470/v1/services/tcp:${VIP}:80/dests/10.20.0.13:80`,
        ]);
        ok(r.stdout.startsWith("200 "), r.stdout);
        apiMs.push((Number(r.stdout.split(" ")[1]) * 1000).toFixed(1));
      }
      console.log(`PATCH weight through the API: ${apiMs.join(", ")} ms`);
      // The whole lvsadm process (a Deno start) per change, for the record.
      console.log(`lvsadm -e under load: ${editMs.map((m) => m.toFixed(0)).join(", ")} ms`);
      const under = await load;
      strictEqual(under.failed, 0, JSON.stringify(under));
      strictEqual(under.ok, 1500);

      // -S then -C then -R gives the same table back.
      const before = await must(d, "-L", "-n");
      const saved = await must(d, "-S", "-n");
      await must(d, "-C");
      strictEqual((await must(d, "-L", "-n")).split("\n").length, 4);
      const restore = await lvsadm(d, ["-R"], saved);
      strictEqual(restore.code, 0, restore.stderr);
      strictEqual(layout(await must(d, "-L", "-n")), layout(before));

      // A restart restores the table from the state file (the config file has no services).
      const table = await must(d, "-L", "-n");
      await d.stop();
      await d.restart();
      strictEqual(layout(await must(d, "-L", "-n")), layout(table));
      const again = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "9", "--close"]);
      strictEqual(again.failed, 0, JSON.stringify(again));
    }),
});
