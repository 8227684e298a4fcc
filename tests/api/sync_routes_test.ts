/**
 * The sync daemon routes: starting and stopping a daemon is a config
 * change (the sync_daemon block, kept by the state file), refused with
 * the kernel's EEXIST / ESRCH meanings and the schema's own errors.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { harness } from "./harness.ts";

Deno.test("sync routes: start, list, refuse a second start, stop, refuse a second stop", async () => {
  const h = harness();
  deepStrictEqual((await h.req("GET", "/v1/sync")).body, { daemons: [] });
  const started = await h.req("PUT", "/v1/sync/master", { interface: "int0", id: 3, unicast_peer: "10.20.0.6" });
  strictEqual(started.status, 200);
  deepStrictEqual(h.backend.config().syncDaemon, {
    master: {
      mcastInterface: "int0",
      syncid: 3,
      maxlen: null,
      group: "224.0.0.81",
      port: 8848,
      ttl: 1,
      peer: "10.20.0.6",
    },
    backup: null,
    syncThreshold: [3, 50],
  });
  const listed = (await h.req("GET", "/v1/sync")).body as { daemons: Record<string, unknown>[] };
  deepStrictEqual(listed.daemons.map((d) => [d.role, d.interface, d.id, d.maxlen, d.unicast_peer]), [
    ["master", "int0", 3, 1472, "10.20.0.6"],
  ]);
  // The config document shows the block (what GET /v1/config and the state file keep).
  const doc = (await h.req("GET", "/v1/config")).body as Record<string, unknown>;
  deepStrictEqual(doc.sync_daemon, {
    master: { interface: "int0", id: 3, group: "224.0.0.81", port: 8848, ttl: 1, unicast_peer: "10.20.0.6" },
    backup: null,
    sync_threshold: [3, 50],
  });
  const again = await h.req("PUT", "/v1/sync/master", { interface: "int0" });
  strictEqual(again.status, 409);
  const generation = h.backend.generation;
  const bad = await h.req("PUT", "/v1/sync/backup", { interface: "int0", group: "10.0.0.1", ttl: 0 });
  strictEqual(bad.status, 422);
  const paths = ((bad.body as { errors: { path: string }[] }).errors ?? []).map((e) => e.path).sort();
  deepStrictEqual(paths, ["sync_daemon.backup.group", "sync_daemon.backup.ttl"]);
  strictEqual(h.backend.generation, generation, "a refused start changes nothing");
  strictEqual((await h.req("PUT", "/v1/sync/both", { interface: "int0" })).status, 404);
  strictEqual((await h.req("DELETE", "/v1/sync/master")).status, 200);
  deepStrictEqual(h.backend.config().syncDaemon, { master: null, backup: null, syncThreshold: [3, 50] });
  strictEqual((await h.req("DELETE", "/v1/sync/master")).status, 404);
  const after = (await h.req("GET", "/v1/config")).body as Record<string, unknown>;
  strictEqual("sync_daemon" in after, false, "written only while a daemon runs");
});

Deno.test("sync routes: the rule (sync_threshold) is part of the config; one the kernel refuses is a 422", async () => {
  const h = harness();
  const doc = (await h.req("GET", "/v1/config")).body as Record<string, unknown>;
  const put = (syncThreshold: number[]) =>
    h.req("PUT", "/v1/config", { ...doc, sync_daemon: { sync_threshold: syncThreshold } });
  strictEqual((await put([5, 100])).status, 200);
  deepStrictEqual(h.backend.config().syncDaemon.syncThreshold, [5, 100]);
  const bad = await put([50, 50]);
  strictEqual(bad.status, 422);
  deepStrictEqual(((bad.body as { errors: { path: string }[] }).errors ?? []).map((e) => e.path), [
    "sync_daemon.sync_threshold",
  ]);
  deepStrictEqual(h.backend.config().syncDaemon.syncThreshold, [5, 100], "a refused rule changes nothing");
});

Deno.test("sync routes: with lvs_sync_daemon the VRRP state runs the daemon; a start or stop by hand is a 409 saying so", async () => {
  const { parseConfig } = await import("../../src/config/mod.ts");
  const { FakeBackend } = await import("./fake_backend.ts");
  const config = parseConfig(
    `interfaces: [{name: ext0}, {name: int0}]
vrrp_instances:
  - {name: VI_1, interface: ext0, virtual_router_id: 51, virtual_ipaddress: [10.10.0.100/24]}
sync_daemon:
  lvs_sync_daemon: {interface: int0, vrrp_instance: VI_1, id: 7}
`,
    "test.yaml",
  );
  const h = harness({ backend: new FakeBackend(config) });
  for (const [method, body] of [["PUT", { interface: "int0" }], ["DELETE", undefined]] as const) {
    const r = await h.req(method, "/v1/sync/master", body);
    strictEqual(r.status, 409);
    strictEqual(
      (r.body as { detail: string }).detail,
      "the sync daemon follows VRRP instance VI_1 (sync_daemon.lvs_sync_daemon): change that block instead",
    );
  }
  strictEqual(h.backend.generation, 0, "nothing changed");
});
