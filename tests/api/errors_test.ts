/**
 * Failures: each is an RFC 9457 problem with the right status, a detail
 * naming the thing and the reason, errors with paths for validation, and
 * nothing changed.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ConfigError, configToObject } from "../../src/config/mod.ts";
import { MAX_BODY_BYTES } from "../../src/api/app.ts";
import type { Problem } from "../../src/api/problems.ts";
import { contractViolation } from "./contract.ts";
import { authed } from "./fake_backend.ts";
import { harness, type Reply } from "./harness.ts";

type H = ReturnType<typeof harness>;

/** A problem reply of `status` whose detail matches `detail`; the config is as it was. */
async function fails(
  h: H,
  status: number,
  detail: RegExp,
  method: string,
  path: string,
  init?: { body?: unknown; raw?: BodyInit; headers?: Record<string, string> },
): Promise<Problem> {
  const before = JSON.stringify(configToObject(h.backend.config()));
  const generation = h.backend.generation;
  let r: Reply;
  if (init?.raw !== undefined) {
    const base = authed(method);
    r = await h.raw(path, {
      ...base,
      headers: { ...(base.headers as Record<string, string>), ...init.headers },
      body: init.raw,
    });
  } else r = await h.req(method, path, init?.body, init?.headers);
  strictEqual(r.status, status, `${method} ${path}: ${r.text}`);
  strictEqual(contractViolation(method, path, r), "");
  const p = r.body as Problem;
  ok(detail.test(p.detail), `detail ${JSON.stringify(p.detail)} does not match ${detail}`);
  strictEqual(JSON.stringify(configToObject(h.backend.config())), before, "the config changed");
  strictEqual(h.backend.generation, generation);
  return p;
}

Deno.test("400: no body, not JSON, wrong content type, malformed JSON", async () => {
  const h = harness();
  await fails(h, 400, /no body/, "POST", "/v1/services");
  await fails(h, 400, /not valid JSON/, "POST", "/v1/batch", {
    raw: "{ops: [",
    headers: { "content-type": "application/json" },
  });
  await fails(h, 400, /content type "text\/plain".*application\/json/, "PUT", "/v1/timeouts", {
    raw: '{"tcp": 5}',
    headers: { "content-type": "text/plain" },
  });
  // A byte body carries no content type of its own (a string body would be text/plain).
  await fails(h, 400, /no Content-Type/, "PATCH", "/v1/services/tcp:10.10.0.100:80", {
    raw: new TextEncoder().encode('{"scheduler":"rr"}'),
  });
  await fails(h, 400, /not valid JSON/, "POST", "/v1/stats/zero", {
    raw: "{",
    headers: { "content-type": "application/json" },
  });
  strictEqual(h.backend.zeroed.length, 0);
});

Deno.test("400: bad query parameters are named", async () => {
  const h = harness();
  const cases: [string, string, RegExp][] = [
    ["limit=0", "limit", /not an integer 1\.\.10000/],
    ["limit=10001", "limit", /1\.\.10000/],
    ["limit=ten", "limit", /"ten"/],
    ["limit=1.5", "limit", /1\.\.10000/],
    ["service=10.10.0.100:80", "service", /not a service key/],
    ["client=300.1.1.1", "client", /not an IPv4 address/],
    ["dest=10.20.0.11:99999", "dest", /address:port/],
    ["state=SYN-RECV", "state", /state name/],
    ["sevice=tcp:10.10.0.100:80", "sevice", /unknown query parameter/],
    ["limit=5&limit=6", "limit", /more than once/],
    ["client=", "client", /empty/],
  ];
  for (const [query, param, why] of cases) {
    const p = await fails(h, 400, new RegExp(`query parameter ${param}`), "GET", `/v1/connections?${query}`);
    strictEqual(p.errors?.[0].path, param, query);
    ok(why.test(p.errors![0].message), `${query}: ${p.errors![0].message}`);
  }
  strictEqual(h.backend.queries.length, 0);
});

Deno.test("404: unknown routes, services and dests, named", async () => {
  const h = harness();
  await fails(h, 404, /no route \/v1\/nothing/, "GET", "/v1/nothing");
  await fails(h, 404, /"tcp:10.10.0.99:80" does not exist/, "GET", "/v1/services/tcp:10.10.0.99:80");
  await fails(h, 404, /proto:vip:port/, "GET", "/v1/services/web");
  await fails(h, 404, /does not exist/, "PATCH", "/v1/services/tcp:10.10.0.99:80", { body: { scheduler: "rr" } });
  await fails(h, 404, /does not exist/, "DELETE", "/v1/services/tcp:10.10.0.99:80");
  await fails(h, 404, /does not exist/, "GET", "/v1/services/tcp:10.10.0.99:80/dests");
  await fails(h, 404, /does not exist/, "POST", "/v1/services/tcp:10.10.0.99:80/dests", {
    body: { address: "10.20.0.1" },
  });
  await fails(
    h,
    404,
    /dest "10.20.0.99:80" does not exist in service tcp:10.10.0.100:80/,
    "GET",
    "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.99:80",
  );
  await fails(h, 404, /address:port/, "DELETE", "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.11");
  await fails(h, 404, /does not exist/, "PATCH", "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.99:80", {
    body: { weight: 1 },
  });
  await fails(h, 404, /does not exist/, "POST", "/v1/stats/zero", { body: { service: "tcp:10.10.0.99:80" } });
  // The director's own refusal of a filter is the client's mistake, never a 500.
  await fails(h, 404, /no service tcp:10.10.0.99:80/, "GET", "/v1/connections?service=tcp:10.10.0.99:80");
  await fails(h, 400, /not a cursor this table gave/, "GET", "/v1/connections?cursor=99999");
  await fails(h, 404, /ops\[1\] \(delete_dest\)/, "POST", "/v1/batch", {
    body: { ops: [{ op: "clear" }, { op: "delete_dest", service: "tcp:10.10.0.100:80", dest: "10.20.0.11:80" }] },
  });
  strictEqual(h.backend.zeroed.length, 0);
});

Deno.test("405: a known path with another method, with Allow", async () => {
  const h = harness();
  const r = await h.req("PUT", "/v1/services");
  strictEqual(r.status, 405);
  strictEqual(contractViolation("PUT", "/v1/services", r), "");
  const allow = r.headers.get("allow")!.split(", ").sort();
  deepStrictEqual(allow, ["DELETE", "GET", "HEAD", "POST"]);
  ok((r.body as Problem).detail.includes("PUT is not allowed on /v1/services"));
  strictEqual((await h.req("POST", "/v1/services/tcp:10.10.0.100:80")).status, 405);
  strictEqual((await h.req("DELETE", "/v1/status")).status, 405);
});

Deno.test("409: an existing service or dest, or a group overlap", async () => {
  const h = harness();
  await fails(h, 409, /service tcp:10.10.0.100:80 already exists/, "POST", "/v1/services", {
    body: { proto: "tcp", vip: "10.10.0.100", port: 80 },
  });
  await fails(h, 409, /overlaps service tcp:10.10.1.0:443/, "POST", "/v1/services", {
    body: { proto: "tcp", vips: ["10.10.1.3"], port: 443 },
  });
  await fails(h, 409, /dest 10.20.0.12:8080 already exists/, "POST", "/v1/services/tcp:10.10.0.100:80/dests", {
    body: { address: "10.20.0.12", port: 8080 },
  });
  const p = await fails(h, 409, /^ops\[1\] \(add_service\)/, "POST", "/v1/batch", {
    body: {
      ops: [
        { op: "add_service", service: { proto: "udp", vip: "10.10.0.9", port: 53 } },
        { op: "add_service", service: { proto: "udp", vip: "10.10.0.9", port: 53 } },
      ],
    },
  });
  deepStrictEqual(p.errors?.map((e) => e.path), ["ops[1].service"]);
});

Deno.test("412: If-Match naming another generation, or a weak tag", async () => {
  const h = harness();
  const doc = configToObject(h.backend.config());
  await fails(h, 412, /generation "0".*"7"/, "PUT", "/v1/config", { body: doc, headers: { "if-match": '"7"' } });
  await fails(h, 412, /generation/, "PUT", "/v1/config", { body: doc, headers: { "if-match": 'W/"0"' } });
  await fails(h, 400, /not a list of entity tags/, "PUT", "/v1/config", { body: doc, headers: { "if-match": "0" } });
  strictEqual(h.backend.applied.length, 0);
});

Deno.test("422: schema errors with their paths in the route's body or the batch", async () => {
  const h = harness();
  let p = await fails(h, 422, /^port: 99999 is out of range/, "POST", "/v1/services", {
    body: { proto: "tcp", vip: "10.10.0.9", port: 99999, scheduler: "wlcc", colour: "red" },
  });
  deepStrictEqual(p.errors?.map((e) => e.path).sort(), ["colour", "port", "scheduler"]);
  ok(p.errors!.find((e) => e.path === "scheduler")!.message.includes('unknown scheduler "wlcc"'));
  p = await fails(h, 422, /weigth/, "PATCH", "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.11:80", {
    body: { weigth: 2 },
  });
  deepStrictEqual(p.errors?.map((e) => e.path), ["weigth"]);
  p = await fails(h, 422, /weight/, "PATCH", "/v1/services/tcp:10.10.0.100:80/dests/10.20.0.11:80", {
    body: { weight: 70000 },
  });
  deepStrictEqual(p.errors?.map((e) => e.path), ["weight"]);
  p = await fails(h, 422, /.+/, "PATCH", "/v1/services/tcp:10.10.0.100:80", { body: [1, 2] });
  deepStrictEqual(p.errors?.map((e) => e.path), [""]);
  p = await fails(h, 422, /^ops\[0\] \(add_dest\): ops\[0\]\.dest\.address/, "POST", "/v1/batch", {
    body: { ops: [{ op: "add_dest", service: "tcp:10.10.0.100:80", dest: { address: "10.20.0" } }] },
  });
  p = await fails(h, 422, /ops/, "POST", "/v1/batch", { body: { opz: [] } });
  deepStrictEqual(p.errors?.map((e) => e.path), ["ops", "opz"]);
  p = await fails(h, 422, /interfaces/, "PUT", "/v1/config", { body: { services: [] } });
  ok(p.errors?.some((e) => e.path === "interfaces"));
  p = await fails(h, 422, /tcp/, "PUT", "/v1/timeouts", { body: { tcp: "fast" } });
  deepStrictEqual(p.errors?.map((e) => e.path), ["tcp"]);
  p = await fails(h, 422, /service/, "POST", "/v1/stats/zero", { body: { service: 5, all: true } });
  deepStrictEqual(p.errors?.map((e) => e.path).sort(), ["all", "service"]);
  strictEqual(h.backend.zeroed.length, 0);
});

Deno.test("the director refusing a config: 422 for a ConfigError, 500 otherwise, nothing changed, no stack", async () => {
  const h = harness();
  h.backend.failNextApply = new ConfigError("director", [{ path: "interfaces[0].name", message: "no such interface" }]);
  const p = await fails(h, 422, /director refused the config.*no such interface/, "DELETE", "/v1/services");
  deepStrictEqual(p.errors, [{ path: "interfaces[0].name", message: "no such interface" }]);
  h.backend.failNextApply = new Error("table build failed at /secret/path.ts:12");
  const r = await h.req("DELETE", "/v1/services");
  strictEqual(r.status, 500);
  strictEqual(contractViolation("DELETE", "/v1/services", r), "");
  ok(!r.text.includes("secret") && !r.text.includes(".ts:"), r.text);
  strictEqual(h.logged.length, 1);
  strictEqual(h.backend.config().services.length, 5);
  // The lock was released: the next change goes through.
  strictEqual((await h.req("DELETE", "/v1/services")).status, 200);
});

Deno.test("413: a body over the limit", async () => {
  const h = harness();
  const r = await h.raw("/v1/batch", {
    ...authed("POST"),
    headers: { ...(authed("POST").headers as Record<string, string>), "content-type": "application/json" },
    body: " ".repeat(MAX_BODY_BYTES + 1),
  });
  strictEqual(r.status, 413);
  strictEqual(contractViolation("POST", "/v1/batch", r), "");
});

Deno.test('422: a "__proto__" key is an unknown key like any other (not a prototype)', async () => {
  const h = harness();
  const raw = '{"__proto__": {"x": 1}, "proto": "tcp", "vip": "10.10.0.150", "port": 80}';
  let p = await fails(h, 422, /__proto__: unknown key/, "POST", "/v1/services", {
    raw,
    headers: { "content-type": "application/json" },
  });
  deepStrictEqual(p.errors?.map((e) => e.path), ["__proto__"]);
  p = await fails(h, 422, /ops\[0\]\.service\.__proto__/, "POST", "/v1/batch", {
    raw: `{"ops": [{"op": "add_service", "service": ${raw}}]}`,
    headers: { "content-type": "application/json" },
  });
  p = await fails(h, 422, /__proto__/, "POST", "/v1/services/tcp:10.10.0.100:80/dests", {
    raw: '{"address": "10.20.0.77", "__proto__": {"weight": 5}}',
    headers: { "content-type": "application/json" },
  });
});
