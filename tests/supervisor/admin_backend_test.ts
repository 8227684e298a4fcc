/**
 * DirectorBackend: changes through the API and SIGHUP reloads share one
 * lock, so neither is built on a stale table nor steals the other's state
 * file; the state file follows the change that is running; ETags are not
 * reused after a restart; a VIP the host owns is refused before it can stop
 * the next start. (Found by review; each test failed before its fix.)
 */
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createApp } from "../../src/api/app.ts";
import { applyOps } from "../../src/api/edit.ts";
import { restoreState } from "../../src/supervisor/state_file.ts";
import { cfg, director } from "./backend_rig.ts";

const TOKEN = "t0ken-for-the-backend-tests";
const auth = { authorization: `Bearer ${TOKEN}` };
const BASE = [{ proto: "tcp", vip: "10.0.0.1", port: 80, dests: [{ address: "10.20.0.1", weight: 1 }] }];
const WITH_SECOND = [...BASE, { proto: "tcp", vip: "10.0.0.2", port: 80, dests: [{ address: "10.20.0.2" }] }];
const weight = (
  w: number,
) => [{ op: "edit_dest" as const, service: "tcp:10.0.0.1:80", dest: "10.20.0.1:80", set: { weight: w } }];

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("backend: an API change and a SIGHUP reload that race both land, in order, and the state file follows", () =>
  withDir(async (dir) => {
    const stateFile = `${dir}/state.yaml`;
    const { sup, backend } = await director(cfg(BASE), stateFile);
    try {
      const gen0 = backend.status().generation;
      // As the API's Committer does it: read, build and apply under the backend's lock.
      const api = backend.lock.run(() => backend.apply(applyOps(backend.config(), weight(7))));
      await new Promise((r) => setTimeout(r, 5));
      const hup = backend.applyConfigFile(cfg(WITH_SECOND));
      await api;
      const notes = await hup;
      ok(notes.includes("reloaded"), notes.join("; "));
      strictEqual(sup.config.services.length, 2, "the reload runs");
      strictEqual(backend.status().generation, gen0 + 2, "two changes");
      const restored = await restoreState(stateFile, cfg(WITH_SECOND));
      strictEqual(restored.kind, "restored", "the state file belongs to the reloaded config file");
      deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.yaml"], "no temp file left");
    } finally {
      backend.close();
    }
  }));

Deno.test("backend: an API edit that arrives during a SIGHUP reload is built on the reloaded table", async () => {
  const { sup, backend } = await director(cfg(BASE), null);
  const app = createApp(backend, { token: TOKEN, log: () => {}, lock: backend.lock });
  try {
    const hup = backend.applyConfigFile(cfg(WITH_SECOND));
    await new Promise((r) => setTimeout(r, 5));
    const res = await app.request("/v1/services/tcp:10.0.0.1:80/dests/10.20.0.1:80", {
      method: "PATCH",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ weight: 7 }),
    });
    await res.body?.cancel();
    await hup;
    strictEqual(res.status, 200);
    strictEqual(sup.config.services.length, 2, "the service the reload added is still there");
    strictEqual(sup.config.services[0].dests[0].weight, 7);
  } finally {
    backend.close();
  }
});

Deno.test("backend: a SIGHUP with the file's services unchanged keeps the running table, as a restart would", () =>
  withDir(async (dir) => {
    const stateFile = `${dir}/state.yaml`;
    const file = cfg(BASE);
    const { sup, backend } = await director(file, stateFile);
    try {
      await backend.apply(applyOps(backend.config(), weight(7)));
      strictEqual((await restoreState(stateFile, file)).kind, "restored");
      const notes = await backend.applyConfigFile(file);
      ok(notes[0].includes("running table is kept"), notes.join("; "));
      strictEqual(sup.config.services[0].dests[0].weight, 7);
      // A file whose services did change wins.
      await backend.applyConfigFile(cfg(WITH_SECOND));
      deepStrictEqual(sup.config.services.map((s) => s.dests[0].weight), [1, 1]);
    } finally {
      backend.close();
    }
  }));

Deno.test("backend: ETags are not reused after a restart", async () => {
  const etags: string[] = [];
  for (const services of [[...BASE, { proto: "udp", vip: "10.0.0.9", port: 53 }], []]) {
    const { backend } = await director(cfg(BASE), null);
    await backend.apply(cfg(services));
    const app = createApp(backend, { token: TOKEN, log: () => {} });
    etags.push((await app.request("/v1/config", { headers: auth })).headers.get("etag")!);
    backend.close();
  }
  notStrictEqual(etags[0], etags[1]);
});

Deno.test("backend: a VIP that is an address of this host is refused (422), nothing changes", async () => {
  const { sup, backend } = await director(cfg(BASE), null, ["192.0.2.10"]);
  const app = createApp(backend, { token: TOKEN, log: () => {}, lock: backend.lock });
  try {
    const res = await app.request("/v1/services", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ proto: "tcp", vip: "192.0.2.10", port: 80 }),
    });
    strictEqual(res.status, 422);
    const p = await res.json();
    ok(/192\.0\.2\.10 is an address of this host/.test(JSON.stringify(p)), JSON.stringify(p));
    strictEqual(sup.config.services.length, 1);
  } finally {
    backend.close();
  }
});

Deno.test("backend: settings read at start cannot be changed through the API (422 naming them)", async () => {
  const { sup, backend } = await director(cfg(BASE), null);
  const app = createApp(backend, { token: TOKEN, log: () => {}, lock: backend.lock });
  try {
    const doc = await (await app.request("/v1/config", { headers: auth })).json();
    const res = await app.request("/v1/config", {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ ...doc, workers: 3, status_file: "/tmp/x" }),
    });
    strictEqual(res.status, 422);
    const text = JSON.stringify(await res.json());
    ok(text.includes("workers") && text.includes("status_file"), text);
    strictEqual(sup.config.workers, "auto");
    const same = await app.request("/v1/config", {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(doc),
    });
    strictEqual(same.status, 200);
  } finally {
    backend.close();
  }
});

Deno.test("backend: GET /v1/connections with a service the director lacks or a cursor it never gave is 404/400", async () => {
  const { backend } = await director(cfg(BASE), null);
  const logged: unknown[] = [];
  const app = createApp(backend, { token: TOKEN, log: (_m, e) => logged.push(e) });
  try {
    const a = await app.request("/v1/connections?service=tcp:10.9.9.9:80", { headers: auth });
    strictEqual(a.status, 404);
    await a.body?.cancel();
    const b = await app.request("/v1/connections?cursor=99999", { headers: auth });
    strictEqual(b.status, 400);
    await b.body?.cancel();
    strictEqual(logged.length, 0);
  } finally {
    backend.close();
  }
});

Deno.test("backend: vrrp_instances is shown in GET /v1/config and cannot be changed through the API (read at start)", async () => {
  const { configFromObject } = await import("../../src/config/load.ts");
  const { ConfigDocument } = await import("../../src/api/schemas.ts");
  const config = configFromObject({
    interfaces: [{ name: "eth0" }],
    services: BASE,
    vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 51, virtual_ipaddress: ["10.0.0.1/24"] }],
  }, "t");
  const { sup, backend } = await director(config, null);
  const app = createApp(backend, { token: TOKEN, log: () => {}, lock: backend.lock });
  const put = (body: unknown) =>
    app.request("/v1/config", {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  try {
    const doc = await (await app.request("/v1/config", { headers: auth })).json();
    ok(ConfigDocument.safeParse(doc).success, JSON.stringify(doc));
    strictEqual(doc.vrrp_instances[0].name, "VI_1");
    strictEqual(doc.vrrp_instances[0].priority, 100);
    for (
      const body of [
        { ...doc, vrrp_instances: [{ ...doc.vrrp_instances[0], priority: 200 }] },
        { ...doc, vrrp_instances: undefined },
      ]
    ) {
      const res = await put(body);
      const text = JSON.stringify(await res.json());
      strictEqual(res.status, 422, text);
      ok(text.includes("vrrp_instances"), text);
    }
    strictEqual(sup.config.vrrpInstances[0].priority, 100);
    strictEqual((await put(doc)).status, 200);
  } finally {
    backend.close();
  }
});
