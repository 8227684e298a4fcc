/**
 * Random requests at every route: a few thousand bodies, paths, query
 * strings, methods and headers from a seeded PRNG (set API_FUZZ_SEED to
 * replay a failure). Whatever comes in, the API never answers 500, every
 * failure is a problem document with a detail that its route documents,
 * and a refused request changes nothing.
 */

import { ROUTES } from "../../src/api/app.ts";
import { Problem } from "../../src/api/schemas.ts";
import { contractViolation } from "./contract.ts";
import { BASE_CONFIG_OBJECT, TOKEN } from "./fake_backend.ts";
import { type Harness, harness, testRenderer } from "./harness.ts";
import { prng } from "../helpers/prng.ts";

const SEED = Number(Deno.env.get("API_FUZZ_SEED") ?? 20261201);
const REQUESTS = 3000;
/** A fresh director every so often, so the config does not drift to nothing. */
const RESET_EVERY = 200;

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const chance = (p: number) => rand() < p;

const KEYS = [
  "proto",
  "vip",
  "vips",
  "port",
  "ports",
  "scheduler",
  "persistence",
  "timeout",
  "netmask",
  "ops",
  "sched_flags",
  "mh_table_size",
  "dests",
  "address",
  "forward",
  "tun_type",
  "tun_port",
  "weight",
  "u_threshold",
  "l_threshold",
  "op",
  "service",
  "dest",
  "set",
  "timeouts",
  "tcp",
  "tcpfin",
  "udp",
  "interfaces",
  "name",
  "services",
  "workers",
  "conn_table_size",
  "kernel_guard",
  "status_file",
  "options",
  "key",
  "stats",
  "__proto__",
  "constructor",
  "x",
]; // deno-fmt-ignore

const STRINGS = [
  "", "tcp", "udp", "sctp", "10.10.0.100", "10.10.0.100:80", "tcp:10.10.0.100:80", "10.20.0.11:80", "10.10.1.0/30",
  "10.10.9.1-10.10.9.4", "8000-8010", "rr", "wlc", "mh", "sh", "masq", "route", "tunnel", "gue", "ipip", "sh-port",
  "mh-port", "add_service", "edit_service", "delete_service", "clear", "add_dest", "edit_dest", "delete_dest",
  "set_timeouts", "eth0", "auto", "255.255.255.0", "::1", "0.0.0.0", "255.255.255.255", "é☃", "x".repeat(300),
  "ops[0]", "services[0]", "\u0000", "{}", "null",
]; // deno-fmt-ignore

const NUMBERS = [0, 1, -1, 53, 80, 251, 443, 65535, 65536, 99999, 2147483, 2147483648, 1.5, -0, 1e308, 4093];

function randomJson(depth = 0): unknown {
  const k = int(depth > 3 ? 4 : 7);
  switch (k) {
    case 0:
      return null;
    case 1:
      return chance(0.5);
    case 2:
      return pick(NUMBERS);
    case 3:
      return pick(STRINGS);
    case 4:
    case 5: {
      const o: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) o[pick(KEYS)] = randomJson(depth + 1);
      return o;
    }
    default:
      return Array.from({ length: int(4) }, () => randomJson(depth + 1));
  }
}

/** `v` with one random change somewhere inside: a value replaced, a key dropped or added. */
function mutate(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== "object" || (depth > 0 && chance(0.3))) return randomJson(depth);
  if (Array.isArray(v)) {
    const out = [...v];
    if (out.length === 0 || chance(0.2)) out.push(randomJson(depth + 1));
    else {
      const i = int(out.length);
      out[i] = mutate(out[i], depth + 1);
    }
    return out;
  }
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  const keys = Object.keys(out);
  const r = rand();
  if (keys.length === 0 || r < 0.2) out[pick(KEYS)] = randomJson(depth + 1);
  else if (r < 0.35) delete out[pick(keys)];
  else {
    const key = pick(keys);
    out[key] = mutate(out[key], depth + 1);
  }
  return out;
}

const SERVICE_KEYS = [
  "tcp:10.10.0.100:80",
  "udp:10.10.0.100:53",
  "tcp:10.10.1.0:443",
  "tcp:10.10.0.101:0",
  "tcp:10.10.0.102:80",
  "TCP:10.10.0.100:080",
  "tcp%3A10.10.0.100%3A80",
  "tcp:10.10.0.9:80",
  "web",
  "%ZZ",
  "%00",
  "tcp:999.1.1.1:80",
  "x".repeat(200),
  "tcp:10.10.0.100:80%2Fdests",
]; // deno-fmt-ignore
const DEST_KEYS = ["10.20.0.11:80", "10.20.0.12:8080", "10.20.0.31:0", "10.20.0.41:0", "10.20.0.51:80", "10.20.0.11", "1.2.3.4:5", "%3A", "-"];

/** Well-formed bodies per route (mutated most of the time). */
const EXAMPLES: Record<string, unknown[]> = {
  "put /v1/config": [BASE_CONFIG_OBJECT, { interfaces: [{ name: "eth0" }] }],
  "post /v1/services": [
    { proto: "tcp", vip: "10.10.0.130", port: 80, dests: [{ address: "10.20.9.1" }] },
    { proto: "udp", vips: ["10.10.3.0/30"], ports: ["2000-2010"], persistence: { timeout: 60 } },
    BASE_CONFIG_OBJECT.services[0],
  ],
  "patch /v1/services/{service}": [{ scheduler: "rr" }, { persistence: null }, { scheduler: "mh", mh_table_size: 251 }],
  "post /v1/services/{service}/dests": [{ address: "10.20.9.2" }, {
    address: "10.20.9.3",
    forward: "tunnel",
    tun_type: "gue",
    tun_port: 1,
  }],
  "patch /v1/services/{service}/dests/{dest}": [{ weight: 0 }, { forward: "route" }, {
    forward: "tunnel",
    tun_type: "gue",
  }],
  "post /v1/batch": [
    { ops: [{ op: "clear" }, { op: "add_service", service: { proto: "tcp", vip: "10.10.0.140", port: 22 } }] },
    { ops: [{ op: "add_dest", service: "tcp:10.10.0.100:80", dest: { address: "10.20.9.9" } }] },
    { ops: [{ op: "edit_dest", service: "tcp:10.10.0.100:80", dest: "10.20.0.11:80", set: { weight: 7 } }] },
    { ops: [{ op: "set_timeouts", timeouts: { tcp: 5 } }, { op: "delete_service", service: "udp:10.10.0.100:53" }] },
  ],
  "post /v1/stats/zero": [{}, { service: "tcp:10.10.0.100:80" }],
  "put /v1/timeouts": [{ tcp: 10 }, { tcp: 0, tcpfin: 0, udp: 0 }],
}; // deno-fmt-ignore

const QUERY_NAMES = ["service", "client", "dest", "state", "limit", "cursor", "sevice", "", "limit[]"];
const QUERY_VALUES = [
  "",
  "1",
  "100",
  "10000",
  "10001",
  "0",
  "-5",
  "1e3",
  "tcp:10.10.0.100:80",
  "192.0.2.1",
  "10.20.0.11:80",
  "ESTABLISHED",
  "%ZZ",
  "a b",
  "x".repeat(600),
];

interface Req {
  method: string;
  path: string;
  body?: BodyInit;
  headers: Record<string, string>;
}

function randomRequest(): Req {
  const headers: Record<string, string> = {};
  const auth = rand();
  if (auth < 0.94) headers.authorization = `Bearer ${TOKEN}`;
  else if (auth < 0.97) {
    headers.authorization = pick(["Bearer", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, "Bearer  x", `bearer ${TOKEN}`]);
  }
  let method: string;
  let path: string;
  let body: unknown = undefined;
  if (chance(0.06)) {
    method = pick(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
    path = pick([
      "/",
      "//v1//services",
      "/v1/services/",
      "/v1/../v1/status",
      "/v1/services/a/b/c/d",
      "/V1/STATUS",
      "/v1/services/%",
      "/health/",
      "/v2",
    ]);
  } else {
    const route = pick(ROUTES);
    method = chance(0.05) ? pick(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]) : route.method.toUpperCase();
    // Mostly keys that exist (the first five services and dests), so edits get past the lookup.
    const svc = chance(0.7) ? SERVICE_KEYS[int(5)] : pick(SERVICE_KEYS);
    const dest = chance(0.7) ? DEST_KEYS[int(5)] : pick(DEST_KEYS);
    path = route.path.replace("{service}", svc).replace("{dest}", dest);
    if (route.query || chance(0.05)) {
      const parts = Array.from({ length: int(4) }, () => `${pick(QUERY_NAMES)}=${pick(QUERY_VALUES)}`);
      if (parts.length) path += `?${parts.join("&")}`;
    }
    const examples = EXAMPLES[`${route.method} ${route.path}`];
    if (route.body || chance(0.05)) {
      body = examples && chance(0.8) ? (chance(0.4) ? pick(examples) : mutate(pick(examples))) : randomJson();
    }
    if (route.headers && chance(0.3)) headers["if-match"] = pick(['"0"', '"1"', "*", 'W/"0"', "0", '"0", "5"', ""]);
  }
  // fetch's Request refuses a body with GET and HEAD.
  if ((body === undefined && !chance(0.05)) || method === "GET" || method === "HEAD") return { method, path, headers };
  const form = rand();
  if (form < 0.85) {
    headers["content-type"] = pick([
      "application/json",
      "application/json; charset=utf-8",
      "application/merge-patch+json",
    ]);
    return { method, path, headers, body: JSON.stringify(body ?? null) };
  }
  if (form < 0.92) {
    const text = JSON.stringify(body ?? {});
    headers["content-type"] = "application/json";
    return { method, path, headers, body: text.slice(0, int(text.length)) + pick(["", "}", ",", "\u0000", "]"]) };
  }
  if (form < 0.97) headers["content-type"] = pick(["text/plain", "application/x-www-form-urlencoded", "json"]);
  return { method, path, headers, body: new TextEncoder().encode(JSON.stringify(body ?? {})) };
}

Deno.test(`fuzz: ${REQUESTS} random requests (seed ${SEED}): never a 500, problems with details, 4xx change nothing`, async () => {
  let h: Harness = harness({ renderMetrics: testRenderer });
  const statuses = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    if (i % RESET_EVERY === 0) h = harness({ renderMetrics: testRenderer });
    const req = randomRequest();
    const before = h.backend.config();
    const generation = h.backend.generation;
    const zeroed = h.backend.zeroed.length;
    const res = await h.raw(req.path, { method: req.method, headers: req.headers, body: req.body });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const where = `request ${i} (API_FUZZ_SEED=${SEED}): ${req.method} ${req.path} ${JSON.stringify(req.headers)} ` +
      `${typeof req.body === "string" ? req.body.slice(0, 400) : req.body ? "<bytes>" : ""} → ${res.status} ${
        res.text.slice(0, 400)
      }`;
    if (res.status >= 500 || h.logged.length > 0) throw new Error(`server error at ${where}\n${h.logged.join("\n")}`);
    if (res.status >= 400) {
      // A HEAD answer has the headers of the GET answer and no body (RFC 9110 section 9.3.2).
      const p = req.method === "HEAD"
        ? Problem.safeParse({ type: "-", title: "-", status: res.status, detail: res.headers.get("content-type") })
        : Problem.safeParse(res.body);
      if (!p.success || p.data.detail.trim() === "") throw new Error(`not a problem with a detail at ${where}`);
      if (h.backend.config() !== before || h.backend.generation !== generation || h.backend.zeroed.length !== zeroed) {
        throw new Error(`a ${res.status} changed something at ${where}`);
      }
    }
    const broken = contractViolation(req.method, req.path, res);
    if (broken) throw new Error(`${broken} at ${where}`);
  }
  // The run reached past the envelope checks: successes and each kind of refusal happened.
  for (const s of [200, 201, 400, 401, 404, 405, 409, 422]) {
    if (!statuses.has(s)) throw new Error(`no ${s} in ${REQUESTS} requests: ${JSON.stringify([...statuses])}`);
  }
});
