/**
 * Connection-sync daemon routes (ipvsadm --start-daemon, --stop-daemon,
 * -L --daemon). Starting or stopping one is a config change like any other
 * (the sync_daemon block), so it is kept in the state file and survives a
 * restart.
 *
 * @module
 */

import { type Config, configFromObject, configToObject } from "../config/mod.ts";
import { syncDaemonsToObject } from "../config/load.ts";
import type { SyncRole } from "../sync/config.ts";
import { ApiError } from "./problems.ts";
import { readJson } from "./requests.ts";
import type { ApiContext, RouteSpec } from "./route.ts";
import { SyncDaemonInput, SyncView } from "./schemas.ts";

function roleOf(text: string | undefined): SyncRole {
  if (text === "master" || text === "backup") return text;
  throw new ApiError(404, `no sync daemon role ${JSON.stringify(text ?? "")} (master or backup)`);
}

/** GET /v1/sync's body. */
export function syncView(api: ApiContext): { daemons: unknown[] } {
  return {
    daemons: (api.backend.sync?.() ?? []).map((d) => ({
      role: d.role,
      interface: d.config.mcastInterface,
      id: d.config.syncid,
      maxlen: d.config.maxlen,
      group: d.config.group,
      port: d.config.port,
      ttl: d.config.ttl,
      unicast_peer: d.config.peer,
      stats: { ...d.stats, ...("drops" in d.stats ? { drops: { ...d.stats.drops } } : {}) },
    })),
  };
}

export const syncRoutes: RouteSpec[] = [
  {
    method: "get",
    path: "/v1/sync",
    operationId: "getSync",
    summary: "The connection-sync daemons running, with their counters (ipvsadm -L --daemon)",
    responses: { 200: { description: "The daemons", schema: SyncView } },
    problems: [],
    handle: (c, api) => c.json(syncView(api)),
  },
  {
    method: "put",
    path: "/v1/sync/{role}",
    operationId: "startSync",
    changes: true,
    summary: "Start the master or backup sync daemon (ipvsadm --start-daemon)",
    body: { schema: SyncDaemonInput, required: true },
    responses: { 200: { description: "The daemons now", schema: SyncView } },
    problems: [404, 409, 422],
    handle: async (c, api) => {
      const role = roleOf(c.req.param("role"));
      const body = await readJson(c);
      await api.change((current) => {
        refuseWhileFollowing(current);
        // The kernel refuses a second start with EEXIST (libipvs: "Daemon has already run").
        if (current.syncDaemon[role]) throw new ApiError(409, `the ${role} sync daemon is already running`);
        const obj = configToObject(current);
        obj.sync_daemon = { ...syncDaemonsToObject(current), [role]: body };
        return configFromObject(obj, "admin API");
      });
      return c.json(syncView(api));
    },
  },
  {
    method: "delete",
    path: "/v1/sync/{role}",
    operationId: "stopSync",
    changes: true,
    summary: "Stop the master or backup sync daemon (ipvsadm --stop-daemon)",
    responses: { 200: { description: "The daemons now", schema: SyncView } },
    problems: [404, 409],
    handle: async (c, api) => {
      const role = roleOf(c.req.param("role"));
      await api.change((current) => {
        refuseWhileFollowing(current);
        // ESRCH in the kernel (libipvs: "No daemon is running").
        if (!current.syncDaemon[role]) throw new ApiError(404, `no ${role} sync daemon is running`);
        return { ...current, syncDaemon: { ...current.syncDaemon, [role]: null } };
      });
      return c.json(syncView(api));
    },
  },
];

/**
 * With sync_daemon.lvs_sync_daemon the VRRP state picks the role: a start
 * or stop by hand would fight it (and the block excludes explicit roles).
 */
function refuseWhileFollowing(current: Config): void {
  const f = current.syncDaemon.follow;
  if (f) {
    throw new ApiError(
      409,
      `the sync daemon follows VRRP instance ${f.vrrpInstance} (sync_daemon.lvs_sync_daemon): change that block instead`,
    );
  }
}
