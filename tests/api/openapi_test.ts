/**
 * The OpenAPI document says what the app does: (a) its paths and methods
 * are exactly the routes registered in Hono; (b) real responses of every
 * route parse with the schemas the document was generated from, and every
 * documented success status is seen.
 */

import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ROUTES } from "../../src/api/app.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { contractViolation, routeOf } from "./contract.ts";
import { harness, type Reply, testRenderer } from "./harness.ts";

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
}

Deno.test("(a) the document's paths and methods are exactly the routes registered in the app", async () => {
  const h = harness();
  const doc = (await h.req("GET", "/openapi.json")).body as Doc;
  const registered = h.app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => `${r.method} ${r.path}`)
    .sort();
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`))
    .sort();
  deepStrictEqual(documented, registered);
  // The agreed surface (briefing), not one route more or less.
  deepStrictEqual(documented, [
    "DELETE /v1/services",
    "DELETE /v1/services/:service",
    "DELETE /v1/services/:service/dests/:dest",
    "DELETE /v1/sync/:role",
    "GET /health",
    "GET /metrics",
    "GET /openapi.json",
    "GET /v1/config",
    "GET /v1/connections",
    "GET /v1/health",
    "GET /v1/rates",
    "GET /v1/services",
    "GET /v1/services/:service",
    "GET /v1/services/:service/dests",
    "GET /v1/services/:service/dests/:dest",
    "GET /v1/stats",
    "GET /v1/status",
    "GET /v1/sync",
    "GET /v1/timeouts",
    "GET /v1/vrrp",
    "PATCH /v1/services/:service",
    "PATCH /v1/services/:service/dests/:dest",
    "POST /v1/batch",
    "POST /v1/services",
    "POST /v1/services/:service/dests",
    "POST /v1/stats/zero",
    "PUT /v1/config",
    "PUT /v1/sync/:role",
    "PUT /v1/timeouts",
  ]);
});

Deno.test("the document is OpenAPI 3.1 whose every $ref resolves and operationIds are unique", () => {
  const doc = openApiDocument(ROUTES) as unknown as Doc;
  strictEqual(doc.openapi.startsWith("3.1"), true);
  const refs = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "$ref" && typeof x === "string") refs.add(x);
        else walk(x);
      }
    }
  };
  walk(doc);
  ok(refs.size > 10);
  for (const ref of refs) {
    const m = /^#\/components\/schemas\/(\w+)$/.exec(ref);
    ok(m && m[1] in doc.components.schemas, `unresolved ${ref}`);
  }
  const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
  strictEqual(new Set(ids).size, ids.length);
  ok(!JSON.stringify(doc).includes('"$schema"'), "components are not documents");
});

Deno.test("(b) real responses of every route parse with the document's schemas; every success status is seen", async () => {
  const h = harness({ renderMetrics: testRenderer });
  const seen = new Set<string>();
  const check = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const r: Reply = await h.req(method, path, body, headers);
    strictEqual(contractViolation(method, path, r), "", `${method} ${path} → ${r.status} ${r.text.slice(0, 300)}`);
    const route = routeOf(method, path);
    if (route) seen.add(`${route.method} ${route.path} ${r.status}`);
    return r;
  };
  const svc = "/v1/services/tcp:10.10.0.100:80";
  await check("GET", "/health");
  await check("GET", "/metrics");
  await check("GET", "/openapi.json");
  await check("GET", "/v1/status");
  const config = await check("GET", "/v1/config");
  await check("PUT", "/v1/config", config.body, { "if-match": config.headers.get("etag")! });
  await check("PUT", "/v1/config", config.body, { "if-match": '"99"' });
  await check("PUT", "/v1/config", { interfaces: [] });
  await check("GET", "/v1/services");
  await check("POST", "/v1/services", { proto: "udp", vips: ["10.10.2.0/29"], ports: ["1000-1010"], persistence: {} });
  await check("POST", "/v1/services", { proto: "udp", vips: ["10.10.2.0/29"], ports: ["1000-1010"] });
  await check("GET", "/v1/services/udp:10.10.2.0:1000");
  await check("GET", "/v1/services/udp:10.10.2.0:1000/dests");
  await check("POST", "/v1/services/udp:10.10.2.0:1000/dests", {
    address: "10.20.5.1",
    forward: "tunnel",
    tun_type: "gue",
    tun_port: 6080,
  });
  await check("GET", "/v1/services/udp:10.10.2.0:1000/dests/10.20.5.1:0");
  await check("PATCH", "/v1/services/udp:10.10.2.0:1000/dests/10.20.5.1:0", { u_threshold: 100, l_threshold: 50 });
  await check("PATCH", svc, { scheduler: "mh", mh_table_size: 251, sched_flags: ["mh-port"] });
  await check("PATCH", svc, { scheduler: "mh", mh_table_size: 250 });
  await check("GET", svc);
  await check("GET", `${svc}/dests`);
  await check("POST", `${svc}/dests`, { address: "10.20.0.99", port: 81 });
  await check("POST", `${svc}/dests`, { address: "10.20.0.99", port: 81 });
  await check("GET", `${svc}/dests/10.20.0.99:81`);
  await check("PATCH", `${svc}/dests/10.20.0.99:81`, { weight: 0 });
  await check("DELETE", `${svc}/dests/10.20.0.99:81`);
  await check("DELETE", `${svc}/dests/10.20.0.99:81`);
  await check("POST", "/v1/batch", { ops: [{ op: "set_timeouts", timeouts: { tcp: 100 } }] });
  await check("POST", "/v1/batch", { ops: [{ op: "nope" }] });
  await check("GET", "/v1/connections?limit=1");
  await check("GET", "/v1/connections?limit=0");
  await check("GET", "/v1/stats");
  await check("GET", "/v1/rates");
  await check("POST", "/v1/stats/zero", { service: "tcp:10.10.0.100:80" });
  await check("GET", "/v1/timeouts");
  await check("GET", "/v1/health");
  await check("GET", "/v1/vrrp");
  await check("PUT", "/v1/timeouts", { tcp: 10, tcpfin: 0 });
  await check("GET", "/v1/sync");
  await check("PUT", "/v1/sync/master", { interface: "int0", id: 3 });
  await check("PUT", "/v1/sync/master", { interface: "int0", id: 3 });
  await check("PUT", "/v1/sync/backup", { interface: "int0", group: "10.0.0.1" });
  await check("PUT", "/v1/sync/other", { interface: "int0" });
  await check("GET", "/v1/config");
  await check("DELETE", "/v1/sync/master");
  await check("DELETE", "/v1/sync/master");
  await check("DELETE", svc);
  await check("DELETE", "/v1/services");
  await check("GET", "/v1/services/tcp:10.10.0.100:80");
  for (const route of ROUTES) {
    for (const status of Object.keys(route.responses)) {
      ok(seen.has(`${route.method} ${route.path} ${status}`), `${route.method} ${route.path} ${status} never seen`);
    }
  }
});

Deno.test("contractViolation catches undocumented keys, statuses and content types", () => {
  const reply = (status: number, body: unknown, type = "application/json"): Reply => ({
    status,
    headers: new Headers({ "content-type": type }),
    body,
    text: JSON.stringify(body),
  });
  notStrictEqual(contractViolation("GET", "/v1/timeouts", reply(200, { tcp: 1, tcpfin: 1, udp: 1, sctp: 1 })), "");
  notStrictEqual(contractViolation("GET", "/v1/timeouts", reply(201, { tcp: 1, tcpfin: 1, udp: 1 })), "");
  notStrictEqual(contractViolation("GET", "/v1/timeouts", reply(200, { tcp: 1, tcpfin: 1, udp: 1 }, "text/plain")), "");
  notStrictEqual(
    contractViolation(
      "GET",
      "/v1/timeouts",
      reply(409, { type: "x", title: "x", status: 409, detail: "d" }, "application/problem+json"),
    ),
    "",
  );
  notStrictEqual(
    contractViolation(
      "GET",
      "/v1/nothing",
      reply(404, { type: "x", title: "x", status: 404, detail: "" }, "application/problem+json"),
    ),
    "",
  );
  strictEqual(contractViolation("GET", "/v1/timeouts", reply(200, { tcp: 1, tcpfin: 1, udp: 1 })), "");
});
