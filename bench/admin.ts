/**
 * `deno task bench:admin`: what the control plane costs at scale, in
 * process on one core (no lab): a director with 256 services of 16 dests
 * (4096 dests, the layout's limit), and
 *
 * - one weight change planned and published (planServices + the table
 *   flip, what `lvsadm -e` costs the supervisor, without the nft guard call),
 * - `applyOps` of one edit and of a 4096-op batch (`lvsadm -R` of a full
 *   table) against that config, validation included,
 * - `GET /v1/services` and `GET /metrics` through the Hono app,
 * - `lvsadm -L -n --stats` formatting of the same views.
 *
 * Prints medians of several runs; results are for comparing builds on one
 * machine, not absolute claims.
 *
 * @module
 */

import { configFromObject } from "../src/config/mod.ts";
import { SharedState } from "../src/dataplane/shared_state.ts";
import { TablePublisher } from "../src/dataplane/tables.ts";
import { planServices } from "../src/supervisor/reconfigure.ts";
import { applyOps } from "../src/api/edit.ts";
import { createApp } from "../src/api/app.ts";
import { renderMetrics } from "../src/api/metrics.ts";
import { serviceViews } from "../src/api/views.ts";
import { formatList, NUMERIC, PLAIN_LIST } from "../src/lvsadm/format/mod.ts";
import type { EditOp } from "../src/api/model.ts";
import { FakeBackend, TOKEN } from "../tests/api/fake_backend.ts";

const SERVICES = 256;
const DESTS = 16;
const RUNS = 7;

function table(weightOf = (_s: number, _d: number) => 1) {
  return {
    interfaces: [{ name: "eth0" }],
    services: Array.from({ length: SERVICES }, (_, s) => ({
      proto: "tcp",
      vip: `10.${100 + (s >> 8)}.${s & 255}.1`,
      port: 80,
      scheduler: "wlc",
      dests: Array.from({ length: DESTS }, (_, d) => ({
        address: `10.20.${s & 255}.${d + 1}`,
        weight: weightOf(s, d),
      })),
    })),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function time(name: string, fn: () => unknown | Promise<unknown>, extra = ""): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  console.log(`${name.padEnd(58)} ${median(ms).toFixed(2).padStart(8)} ms${extra ? `  ${extra}` : ""}`);
}

const config = configFromObject(table(), "bench");
console.log(`control plane, ${SERVICES} services x ${DESTS} dests, median of ${RUNS}:`);

// The supervisor's part of a change: plan with stable ids, build the copy, flip.
const state = new SharedState({ connCapacity: 65536, workers: 1 });
const publisher = new TablePublisher(state);
const ids = {
  maxServices: state.layout.MAX_SERVICES,
  maxDests: state.layout.MAX_DESTS,
  destInUse: (id: number) => state.destInUse(id),
  nextDestId: 0,
  nextSvcId: 0,
  trash: new Map<string, number>(),
};
const withMacs = <T extends { dests: { mac: Uint8Array | null }[] }>(svcs: T[]) => {
  for (const s of svcs) for (const d of s.dests) d.mac ??= new Uint8Array([2, 0, 0, 0, 0, 1]);
  return svcs;
};
let running = withMacs(planServices([], config, ids));
await publisher.publish(running);
let flip = 0;
await time("one weight change: plan + build + publish the tables", async () => {
  const next = configFromObject(table((s, d) => (s === 7 && d === 3 ? 2 + (flip++ & 1) : 1)), "bench");
  running = withMacs(planServices(running, next, ids));
  await publisher.publish(running);
});

const oneEdit: EditOp[] = [{ op: "edit_dest", service: "tcp:10.100.7.1:80", dest: "10.20.7.4:80", set: { weight: 0 } }];
await time("applyOps: one edit_dest, whole config validated", () => applyOps(config, oneEdit));
const empty = configFromObject({ interfaces: [{ name: "eth0" }] }, "bench");
const restoreOps: EditOp[] = table().services.flatMap((s) => [
  { op: "add_service" as const, service: { proto: s.proto, vip: s.vip, port: s.port, scheduler: s.scheduler } },
  ...s.dests.map((d) => ({
    op: "add_dest" as const,
    service: `tcp:${s.vip}:80`,
    dest: { address: d.address, port: 80, forward: "masq", weight: d.weight },
  })),
]);
await time(`applyOps: ${restoreOps.length} ops (lvsadm -R of the table)`, () => applyOps(empty, restoreOps));

const backend = new FakeBackend(config);
const app = createApp(backend, { token: TOKEN, renderMetrics });
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
let bytes = 0;
await time("GET /v1/services (JSON)", async () => {
  bytes = (await (await app.request("/v1/services", auth)).arrayBuffer()).byteLength;
}, "");
console.log(`${"".padEnd(58)} ${(bytes / 1024).toFixed(0).padStart(8)} KiB`);
await time("GET /metrics (Prometheus text)", async () => {
  bytes = (await (await app.request("/metrics", auth)).arrayBuffer()).byteLength;
});
console.log(`${"".padEnd(58)} ${(bytes / 1024).toFixed(0).padStart(8)} KiB`);
const views = serviceViews(config, backend.runtime());
const status = backend.status();
const opts = { ...PLAIN_LIST, numeric: true, stats: true };
await time("lvsadm -L -n --stats: format the views", () => formatList(status, views, opts, NUMERIC));
