/**
 * End to end: a service group of three VIPs on the client subnet, through
 * real kernel TCP stacks. lvsd answers ARP for every member and keeps one
 * wrr sequence for the group; the kernel guard takes the members as one
 * address range.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { counter, withDirector } from "./director.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

const GROUP_YAML = `workers: 2
conn_table_size: 65536
kernel_guard: nftables
interfaces: [ { name: ext0 }, { name: int0 } ]
services:
  - proto: tcp
    vips: [10.10.0.100-102]
    port: 80
    scheduler: wrr
    dests:
      - { address: 10.20.0.11, weight: 1 }
      - { address: 10.20.0.12, weight: 2 }
      - { address: 10.20.0.13, weight: 3 }
`;

Deno.test({
  name: "e2e: HTTP to three VIPs of one group continues one wrr sequence (rs3 rs3 rs2 rs3 rs2 rs1)",
  ...E2E,
  fn: () =>
    withDirector({ yaml: GROUP_YAML }, async (d) => {
      const vips = ["10.10.0.100", "10.10.0.101", "10.10.0.102"];
      const bodies: string[] = [];
      // One request at a time, so the sequence is the scheduler's order.
      for (let i = 0; i < 6; i++) {
        const r = await d.lab.exec(d.lab.ns.client, ["curl", "-sf", "-m", "10", `http://${vips[i % 3]}/`]);
        strictEqual(r.code, 0, `request ${i} to ${vips[i % 3]}: ${r.stderr}`);
        bodies.push(r.stdout.trim());
      }
      // ip_vs_wrr.c over rs3,rs2,rs1 (newest first) with weights 3,2,1.
      deepStrictEqual(bodies, ["rs3", "rs3", "rs2", "rs3", "rs2", "rs1"]);
      const st = await d.status();
      ok(/TCP {2}10\.10\.0\.100-10\.10\.0\.102:80\s+wrr/.test(st), st);
      strictEqual(counter(st, "conns"), 6, st);
      const guard = await d.lab.exec(d.lab.ns.director, ["nft", "list", "table", "netdev", "lvsd"]);
      strictEqual(guard.code, 0, guard.stderr);
      ok(guard.stdout.includes("10.10.0.100-10.10.0.102"), guard.stdout);
    }),
});
