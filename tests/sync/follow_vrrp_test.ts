/**
 * keepalived's lvs_sync_daemon in lvsd: the `sync_daemon.lvs_sync_daemon`
 * block (names a VRRP instance, excludes the explicit roles, round trips)
 * and the follower that switches the daemon's role with the instance's
 * state (src/sync/follow_vrrp.ts), with a fake supervisor.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { configFromObject, configToObject, parseConfig } from "../../src/config/load.ts";
import { roleForState, VrrpSyncFollower } from "../../src/sync/follow_vrrp.ts";
import type { SyncDaemonConfig, SyncFollowConfig, SyncRole } from "../../src/sync/config.ts";
import { SYNC_DEFAULTS } from "../../src/sync/config.ts";

const SRC = "test.yaml";
const BASE = `interfaces: [{name: ext0}, {name: int0}]
services:
  - {proto: tcp, vip: 10.10.0.100, port: 80, dests: [{address: 10.20.0.11, port: 80}]}
vrrp_instances:
  - {name: VI_1, interface: ext0, state: BACKUP, virtual_router_id: 51, priority: 100, virtual_ipaddress: [10.10.0.100/24]}
`;

Deno.test("lvs_sync_daemon config: follows a named instance, keepalived's words, round trip", () => {
  const c = parseConfig(`${BASE}sync_daemon:\n  lvs_sync_daemon: {interface: int0, vrrp_instance: VI_1, id: 7}\n`, SRC);
  deepStrictEqual(c.syncDaemon.follow, { ...SYNC_DEFAULTS, mcastInterface: "int0", syncid: 7, vrrpInstance: "VI_1" });
  strictEqual(c.syncDaemon.master, null);
  strictEqual(c.syncDaemon.backup, null);
  deepStrictEqual(configFromObject(configToObject(c), SRC), c);
  // Without it nothing changes in the object form.
  strictEqual("sync_daemon" in configToObject(parseConfig(BASE, SRC)), false);
});

Deno.test("lvs_sync_daemon config: an unknown instance or explicit roles beside it are refused by name", () => {
  throws(
    () => parseConfig(`${BASE}sync_daemon:\n  lvs_sync_daemon: {interface: int0, vrrp_instance: VI_9}\n`, SRC),
    /sync_daemon\.lvs_sync_daemon\.vrrp_instance: "VI_9" is not a vrrp_instances name \(configured: VI_1\)/,
  );
  throws(
    () =>
      parseConfig(
        `${BASE}sync_daemon:\n  lvs_sync_daemon: {interface: int0, vrrp_instance: VI_1}\n  master: {interface: int0}\n`,
        SRC,
      ),
    /sync_daemon\.lvs_sync_daemon: cannot be combined with sync_daemon\.master or \.backup/,
  );
  throws(
    () => parseConfig(`${BASE}sync_daemon:\n  lvs_sync_daemon: {interface: int0}\n`, SRC),
    /sync_daemon\.lvs_sync_daemon\.vrrp_instance/,
  );
});

/** A supervisor stand-in that records starts and stops; `failOn` roles refuse to start. */
function roles(failOn = new Set<SyncRole>()) {
  const log: string[] = [];
  const running = new Set<SyncRole>();
  return {
    log,
    running,
    startSync(role: SyncRole, cfg: SyncDaemonConfig) {
      if (failOn.has(role)) return Promise.reject(new Error("no such interface"));
      if ("vrrpInstance" in cfg) throw new Error("the instance name leaked into the daemon config");
      running.add(role);
      log.push(`start ${role} ${cfg.mcastInterface}/${cfg.syncid}`);
      return Promise.resolve();
    },
    stopSync(role: SyncRole) {
      const was = running.delete(role);
      if (was) log.push(`stop ${role}`);
      return was;
    },
  };
}

const FOLLOW: SyncFollowConfig = { ...SYNC_DEFAULTS, mcastInterface: "int0", syncid: 7, vrrpInstance: "VI_1" };

Deno.test("follower: backup while BACKUP/FAULT/INIT, master while MASTER, one role at a time", async () => {
  deepStrictEqual(["MASTER", "master", "BACKUP", "FAULT", "INIT"].map(roleForState), [
    "master",
    "master",
    "backup",
    "backup",
    "backup",
  ]);
  const r = roles();
  const lines: string[] = [];
  const f = new VrrpSyncFollower(r, (l) => lines.push(l));
  await f.configure(FOLLOW, "BACKUP");
  strictEqual(f.role, "backup");
  await f.onStateChange("VI_2", "master"); // another instance: ignored
  strictEqual(f.role, "backup");
  await f.onStateChange("VI_1", "master");
  await f.onStateChange("VI_1", "master"); // no change: nothing restarts
  strictEqual(f.role, "master");
  await f.onStateChange("VI_1", "fault");
  await f.onStateChange("VI_1", "backup");
  deepStrictEqual(r.log, [
    "start backup int0/7",
    "stop backup",
    "start master int0/7",
    "stop master",
    "start backup int0/7",
  ]);
  deepStrictEqual([...r.running], ["backup"]);
  // A changed block restarts the role with it; removing it stops the daemon.
  await f.configure({ ...FOLLOW, syncid: 8 }, "BACKUP");
  deepStrictEqual(r.log.slice(-2), ["stop backup", "start backup int0/8"]);
  await f.configure(undefined, "BACKUP");
  deepStrictEqual([...r.running], []);
  strictEqual(f.role, null);
  await f.onStateChange("VI_1", "master"); // not following any more
  deepStrictEqual([...r.running], []);
  strictEqual(lines.filter((l) => l.includes("lvs_sync_daemon: master")).length, 1);
});

Deno.test("follower: a role that cannot start is logged and leaves no role running; the next change tries again", async () => {
  const r = roles(new Set(["master"]));
  const lines: string[] = [];
  const f = new VrrpSyncFollower(r, (l) => lines.push(l));
  await f.configure(FOLLOW, "BACKUP");
  await f.onStateChange("VI_1", "master");
  strictEqual(f.role, null);
  deepStrictEqual([...r.running], []);
  strictEqual(lines.some((l) => /cannot start the master sync daemon: no such interface/.test(l)), true);
  await f.onStateChange("VI_1", "backup");
  strictEqual(f.role, "backup");
});

Deno.test("follower: replaced by an explicit role (reload), it leaves that role running instead of stopping it", async () => {
  const r = roles();
  const f = new VrrpSyncFollower(r, () => {});
  await f.configure(FOLLOW, "MASTER");
  deepStrictEqual([...r.running], ["master"]);
  // The reload started sync_daemon.master itself (SyncDaemons.applyChange), then tells the follower.
  await f.configure(undefined, "MASTER", { master: { mcastInterface: "int0" }, backup: null });
  deepStrictEqual([...r.running], ["master"]);
  strictEqual(f.role, null);
  // An instance that does not run: nothing starts, and it says so.
  const lines: string[] = [];
  const g = new VrrpSyncFollower(roles(), (l) => lines.push(l));
  await g.configure(FOLLOW, null);
  strictEqual(g.role, null);
  strictEqual(lines.some((l) => /VI_1 is not running: no sync daemon/.test(l)), true);
});
