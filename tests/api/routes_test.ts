/**
 * Every route's success path: what it returns and what it changes, with
 * each response held to the OpenAPI document (contract.ts).
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { configToObject } from "../../src/config/mod.ts";
import type { ServiceView } from "../../src/api/model.ts";
import { METRICS_CONTENT_TYPE } from "../../src/api/routes_meta.ts";
import { contractViolation } from "./contract.ts";
import { BASE_CONFIG_OBJECT } from "./fake_backend.ts";
import { harness, type Reply, testRenderer } from "./harness.ts";

/** The request, checked against the document, then returned. */
async function call(
  h: ReturnType<typeof harness>,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Reply> {
  const r = await h.req(method, path, body, headers);
  strictEqual(contractViolation(method, path, r), "", `${method} ${path}: ${r.text}`);
  return r;
}

Deno.test("GET /health, /v1/status, /openapi.json", async () => {
  const h = harness();
  deepStrictEqual((await h.raw("/health")).body, { status: "ok" });
  const status = await call(h, "GET", "/v1/status");
  deepStrictEqual(status.body, h.backend.status());
  const doc = (await call(h, "GET", "/openapi.json")).body as { openapi: string };
  strictEqual(doc.openapi, "3.1.1");
});

Deno.test("GET /metrics renders the status, services and data plane in Prometheus text 0.0.4", async () => {
  let seen: { services: ServiceView[] } | null = null;
  const h = harness({
    renderMetrics: (input) => {
      seen = input;
      return testRenderer(input);
    },
  });
  const r = await call(h, "GET", "/metrics");
  strictEqual(r.status, 200);
  strictEqual(r.headers.get("content-type"), METRICS_CONTENT_TYPE);
  ok(r.text.includes("lvsd_services 5\n") && r.text.includes("lvsd_rx_frames 1234"), r.text);
  strictEqual(seen!.services[0].key, "tcp:10.10.0.100:80");
  const without = await harness().req("GET", "/metrics");
  strictEqual(without.status, 501);
});

Deno.test("GET /v1/config is configToObject with the generation as ETag; PUT replaces it", async () => {
  const h = harness();
  const got = await call(h, "GET", "/v1/config");
  deepStrictEqual(got.body, configToObject(h.backend.config()));
  strictEqual(got.headers.get("etag"), '"0"');
  const next = structuredClone(BASE_CONFIG_OBJECT) as Record<string, unknown>;
  next.services = (next.services as unknown[]).slice(0, 2);
  next.timeouts = { tcp: 60 };
  const put = await call(h, "PUT", "/v1/config", next);
  strictEqual(put.status, 200);
  strictEqual((put.body as { generation: number }).generation, 1);
  ok((put.body as { changes: string[] }).changes.length > 0);
  strictEqual(put.headers.get("etag"), '"1"');
  strictEqual(h.backend.config().services.length, 2);
  deepStrictEqual(h.backend.config().timeouts, { tcp: 60, tcpfin: 120, udp: 300 });
  // If-Match naming the running generation (or *) applies.
  strictEqual((await call(h, "PUT", "/v1/config", next, { "if-match": '"1"' })).status, 200);
  strictEqual((await call(h, "PUT", "/v1/config", next, { "if-match": '"0", "2"' })).status, 200);
  strictEqual((await call(h, "PUT", "/v1/config", next, { "if-match": "*" })).status, 200);
  strictEqual(h.backend.generation, 4);
});

Deno.test("GET /v1/services: config keys, keys, run-time numbers (zeros where the director has none)", async () => {
  const h = harness();
  const r = await call(h, "GET", "/v1/services");
  const list = r.body as ServiceView[];
  deepStrictEqual(list.map((s) => s.key), [
    "tcp:10.10.0.100:80",
    "udp:10.10.0.100:53",
    "tcp:10.10.1.0:443",
    "tcp:10.10.0.101:0",
    "tcp:10.10.0.102:80",
  ]);
  deepStrictEqual(list[0].dests.map((d) => d.key), ["10.20.0.11:80", "10.20.0.12:8080"]);
  strictEqual(list[0].dests[1].active_conns, 101);
  strictEqual(list[0].stats.conns, 1);
  // The group: vips/ports as written, dests keyed with port 0 (the client's port).
  deepStrictEqual([list[2].vips, list[2].ports, list[2].dests[0].key], [
    ["10.10.1.0/30"],
    [443, "8000-8010"],
    "10.20.0.31:0",
  ]);
  // The GUE dest shows its tunnel settings; the masq ones do not.
  deepStrictEqual([list[3].dests[0].tun_type, list[3].dests[0].tun_port], ["gue", 6080]);
  ok(!("tun_type" in list[0].dests[0]));
  // runtime() leaves the mh service out: zeros.
  deepStrictEqual(list[4].stats, { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });
  strictEqual(list[4].dests[0].active_conns, 0);
  strictEqual(list[4].mh_table_size, 251);
});

Deno.test("POST /v1/services adds (201, Location), GET shows it, PATCH edits it, DELETE removes it", async () => {
  const h = harness();
  const add = await call(h, "POST", "/v1/services", {
    proto: "udp",
    vip: "10.10.0.110",
    port: 5060,
    dests: [{ address: "10.20.0.71" }],
  });
  strictEqual(add.status, 201);
  strictEqual(add.headers.get("location"), "/v1/services/udp%3A10.10.0.110%3A5060");
  const view = add.body as ServiceView;
  strictEqual(view.key, "udp:10.10.0.110:5060");
  strictEqual(view.scheduler, "wlc");
  deepStrictEqual(view.dests.map((d) => d.key), ["10.20.0.71:5060"]);
  strictEqual(h.backend.generation, 1);

  const got = await call(h, "GET", add.headers.get("location")!);
  deepStrictEqual(got.body, view);

  const patch = await call(h, "PATCH", "/v1/services/udp:10.10.0.110:5060", { scheduler: "rr", ops: true });
  deepStrictEqual([(patch.body as ServiceView).scheduler, (patch.body as ServiceView).ops], ["rr", true]);
  strictEqual((patch.body as ServiceView).dests.length, 1);

  const del = await call(h, "DELETE", "/v1/services/udp:10.10.0.110:5060");
  strictEqual(del.status, 200);
  strictEqual((del.body as { generation: number }).generation, 3);
  strictEqual(h.backend.config().services.length, 5);
});

Deno.test("DELETE /v1/services clears every service (ipvsadm -C)", async () => {
  const h = harness();
  const r = await call(h, "DELETE", "/v1/services");
  strictEqual(r.status, 200);
  deepStrictEqual(h.backend.config().services, []);
  deepStrictEqual((await call(h, "GET", "/v1/services")).body, []);
});

Deno.test("dest routes: list, add (201), show, edit, delete", async () => {
  const h = harness();
  const list = await call(h, "GET", "/v1/services/tcp:10.10.0.100:80/dests");
  deepStrictEqual((list.body as { key: string }[]).map((d) => d.key), ["10.20.0.11:80", "10.20.0.12:8080"]);
  const add = await call(h, "POST", "/v1/services/tcp:10.10.0.100:80/dests", { address: "10.20.0.13", weight: 3 });
  strictEqual(add.status, 201);
  strictEqual(add.headers.get("location"), "/v1/services/tcp%3A10.10.0.100%3A80/dests/10.20.0.13%3A80");
  deepStrictEqual([(add.body as { key: string }).key, (add.body as { weight: number }).weight], ["10.20.0.13:80", 3]);
  const one = await call(h, "GET", "/v1/services/tcp%3A10.10.0.100%3A80/dests/10.20.0.12%3A8080");
  strictEqual((one.body as { active_conns: number }).active_conns, 101);
  const edit = await call(h, "PATCH", "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.11:80", { weight: 0 });
  strictEqual((edit.body as { weight: number }).weight, 0);
  strictEqual(h.backend.config().services[0].dests[0].weight, 0);
  const del = await call(h, "DELETE", "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.12:8080");
  strictEqual(del.status, 200);
  deepStrictEqual(h.backend.config().services[0].dests.map((d) => d.address), ["10.20.0.11", "10.20.0.13"]);
  strictEqual(h.backend.generation, 3);
});

Deno.test("POST /v1/batch applies every op as one change", async () => {
  const h = harness();
  const r = await call(h, "POST", "/v1/batch", {
    ops: [
      { op: "delete_service", service: "udp:10.10.0.100:53" },
      { op: "add_dest", service: "tcp:10.10.0.100:80", dest: { address: "10.20.0.14" } },
      { op: "set_timeouts", timeouts: { udp: 60 } },
    ],
  });
  deepStrictEqual([(r.body as { generation: number }).generation, h.backend.applied.length], [1, 1]);
  strictEqual(h.backend.config().services.length, 4);
  strictEqual(h.backend.config().timeouts.udp, 60);
  // An empty batch is a change of nothing, still applied as one generation.
  strictEqual((await call(h, "POST", "/v1/batch", { ops: [] })).status, 200);
});

Deno.test("GET /v1/connections passes the filters and page size on (limit defaults to 100)", async () => {
  const h = harness();
  const all = await call(h, "GET", "/v1/connections");
  strictEqual((all.body as { total: number }).total, 3);
  deepStrictEqual(h.backend.queries[0], { limit: 100 });
  const some = await call(
    h,
    "GET",
    "/v1/connections?service=TCP:10.10.0.100:80&client=192.0.2.1&dest=10.20.0.11:080&state=established&limit=2&cursor=c1",
  );
  strictEqual((some.body as { items: unknown[] }).items.length, 2);
  deepStrictEqual(h.backend.queries[1], {
    service: "tcp:10.10.0.100:80",
    client: "192.0.2.1",
    dest: "10.20.0.11:80",
    state: "established",
    limit: 2,
    cursor: "c1",
  });
  deepStrictEqual(h.backend.queries.length, 2);
  await call(h, "GET", "/v1/connections?dest=10.20.0.11&limit=10000");
  deepStrictEqual(h.backend.queries[2], { dest: "10.20.0.11", limit: 10000 });
});

Deno.test("GET /v1/stats and /v1/rates: every service and dest by key", async () => {
  const h = harness();
  const stats = (await call(h, "GET", "/v1/stats")).body as {
    dataplane: unknown;
    services: { key: string; stats: { conns: number }; dests: { key: string; stats: { conns: number } }[] }[];
  };
  deepStrictEqual(stats.dataplane, h.backend.dataplane());
  deepStrictEqual([stats.services[1].key, stats.services[1].stats.conns], ["udp:10.10.0.100:53", 2]);
  deepStrictEqual(stats.services[0].dests[1], {
    key: "10.20.0.12:8080",
    stats: { conns: 101, inpkts: 1010, outpkts: 909, inbytes: 101000, outbytes: 90900 },
  });
  const rates = (await call(h, "GET", "/v1/rates")).body as { services: { key: string; rates: { cps: number } }[] };
  deepStrictEqual([rates.services[2].key, rates.services[2].rates.cps], ["tcp:10.10.1.0:443", 3]);
});

Deno.test("POST /v1/stats/zero: everything without a body or service, one service with one", async () => {
  const h = harness();
  strictEqual((await call(h, "POST", "/v1/stats/zero")).status, 204);
  strictEqual((await call(h, "POST", "/v1/stats/zero", {})).status, 204);
  strictEqual((await call(h, "POST", "/v1/stats/zero", { service: "UDP:10.10.0.100:053" })).status, 204);
  deepStrictEqual(h.backend.zeroed, [undefined, undefined, "udp:10.10.0.100:53"]);
  strictEqual(h.backend.generation, 0);
});

Deno.test("GET/PUT /v1/timeouts (ipvsadm --set: 0 or absent keeps a value)", async () => {
  const h = harness();
  deepStrictEqual((await call(h, "GET", "/v1/timeouts")).body, { tcp: 900, tcpfin: 120, udp: 300 });
  const put = await call(h, "PUT", "/v1/timeouts", { tcp: 0, tcpfin: 30 });
  deepStrictEqual(put.body, { tcp: 900, tcpfin: 30, udp: 300 });
  deepStrictEqual(h.backend.config().timeouts, { tcp: 900, tcpfin: 30, udp: 300 });
});
