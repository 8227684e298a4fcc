/**
 * The director's life: the config file (with the command line's
 * overrides), the state file, the host checks, the admin API's address, the
 * supervisor and its workers, the admin API, signals, and a clean stop.
 *
 * @module
 */

import type { Config } from "./config/mod.ts";

/** The director's command-line flags (parsed by main.ts). */
export interface DirectorArgs {
  config?: string;
  "check-config"?: string;
  "status-file"?: string;
  workers?: string;
  "packet-io"?: string;
  "state-file"?: string;
  "admin-listen"?: string;
  "token-file"?: string;
}

/**
 * Runs the director until SIGINT/SIGTERM; resolves with the exit code (0
 * stopped cleanly, 1 runtime error, 2 bad config or host). `workerUrl` is
 * the module the data-plane workers start from (main.ts itself).
 */
export async function runDirector(args: DirectorArgs, workerUrl: URL): Promise<number> {
  const { loadConfig, ConfigError, checkHost, configFromObject, configToObject } = await import("./config/mod.ts");
  const path = args["check-config"] ?? args.config ?? "/etc/lvsd/lvsd.yaml";
  /**
   * The flags that override config keys, applied to the file at start and at
   * every reload. The admin flags go through the schema, so they get its
   * checks and messages.
   */
  const withFlags = (c: Config): Config => {
    if (args.workers !== undefined) {
      const n = Number(args.workers);
      if (!Number.isInteger(n) || n < 1 || n > 16) {
        throw new ConfigError("--workers", [{
          path: "",
          message: `"${args.workers}" is not a number of workers (1..16)`,
        }]);
      }
      c = { ...c, workers: n };
    }
    if (args["packet-io"] !== undefined) {
      const v = args["packet-io"];
      if (v !== "auto" && v !== "af_xdp" && v !== "af_packet") {
        throw new ConfigError("--packet-io", [{ path: "", message: `"${v}" is not one of auto, af_xdp, af_packet` }]);
      }
      c = { ...c, packetIo: v };
    }
    if (args["status-file"] !== undefined) c = { ...c, statusFile: args["status-file"] };
    const flags: Record<string, unknown> = {};
    if (args["state-file"] !== undefined) flags.state_file = args["state-file"];
    const admin: Record<string, unknown> = {};
    if (args["admin-listen"] !== undefined) admin.listen = args["admin-listen"];
    if (args["token-file"] !== undefined) admin.token_file = args["token-file"];
    if (!Object.keys(flags).length && !Object.keys(admin).length) return c;
    const obj = configToObject(c);
    return configFromObject(
      { ...obj, ...flags, admin: { ...(obj.admin as Record<string, unknown>), ...admin } },
      "command line",
    );
  };
  let config;
  try {
    config = withFlags(await loadConfig(path));
  } catch (e) {
    console.error(e instanceof ConfigError ? e.message : `lvsd: ${(e as Error).message}`);
    return 2;
  }
  if (args["check-config"] !== undefined) {
    const { SharedState } = await import("./dataplane/shared_state.ts");
    const { resolveWorkers } = await import("./supervisor/mod.ts");
    // The data plane loads and the memory for this config can be laid out.
    new SharedState({ connCapacity: config.connTableSize, workers: resolveWorkers(config.workers) });
    console.log(
      `lvsd: config "${path}" is valid: ${config.services.length} services, ${
        config.services.reduce((n, s) => n + s.dests.length, 0)
      } dests`,
    );
    return 0;
  }
  const fileConfig = config;
  const { restoreState, tableDigest, writeState } = await import("./supervisor/state_file.ts");
  const configDigest = await tableDigest(fileConfig);
  let stateCurrent = false;
  /** Keeps a state file that cannot be used aside (never overwritten: it may be all an operator has). */
  const setAside = async (file: string, why: string) => {
    const aside = `${file}.invalid`;
    await Deno.rename(file, aside).catch(() => {});
    console.error(`lvsd: state file "${file}" not restored (${why}); moved to "${aside}", using the config file`);
  };
  if (config.stateFile) {
    const r = await restoreState(config.stateFile, fileConfig);
    if (r.kind === "restored") {
      config = r.config;
      stateCurrent = true;
      console.log(`lvsd: restored ${config.services.length} services from the state file "${config.stateFile}"`);
    } else if (r.kind === "config-changed") {
      console.log(
        `lvsd: the services in "${path}" changed since the state file "${config.stateFile}" was written: using the config file`,
      );
    } else if (r.kind === "invalid") {
      await setAside(config.stateFile, r.reason);
    }
  }
  let problems = await checkHost(config);
  if (problems.length && stateCurrent) {
    // The host changed under a restored table (a VIP is now an address of
    // this host, ...): if the config file's own table can start, start it.
    const fileProblems = await checkHost(fileConfig);
    if (fileProblems.length === 0) {
      await setAside(fileConfig.stateFile!, problems.join("; "));
      config = fileConfig;
      stateCurrent = false;
      problems = [];
    }
  }
  if (problems.length) {
    console.error(`lvsd: cannot start:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    return 2;
  }
  // Listeners before anything is set up: a SIGTERM during start or right
  // after "ready" must stop cleanly (guard removed, sockets closed), not
  // kill the process with the default action.
  const stopped = new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
    Deno.addSignalListener("SIGTERM", () => resolve());
  });
  // The admin API's address first: a second lvsd started by mistake fails
  // here, before it replaces the kernel guard or opens packet sockets that
  // would take frames from the running one. Requests wait for "ready".
  let admin: import("./api/server.ts").AdminServer | null = null;
  let handle: (req: Request) => Response | Promise<Response> = () =>
    new Response("lvsd is starting\n", { status: 503, headers: { "retry-after": "1" } });
  let token = "";
  if (config.admin.listen) {
    try {
      const { loadOrCreateToken } = await import("./api/token.ts");
      const { serveAdmin } = await import("./api/server.ts");
      token = await loadOrCreateToken(config.admin.tokenFile);
      admin = await serveAdmin((req) => handle(req), config.admin.listen, config.admin.tls);
    } catch (e) {
      console.error(`lvsd: ${(e as Error).message}`);
      return 1;
    }
  }
  const { Supervisor } = await import("./supervisor/mod.ts");
  let sup;
  try {
    sup = await Supervisor.start(config, {
      workerUrl,
      statusFile: config.statusFile,
    });
  } catch (e) {
    console.error(`lvsd: ${(e as Error).message}`);
    await admin?.close();
    return 1;
  }
  const s = sup;
  const { DirectorBackend } = await import("./supervisor/admin_backend.ts");
  const backend = new DirectorBackend(s, { configFile: path, stateFile: config.stateFile, configDigest });
  // Health checks, quorum, sorry servers, slow start (src/health): they shape the table the workers run.
  const { HealthRunner } = await import("./health/runner.ts");
  const health = new HealthRunner(s);
  health.update(s.config);
  backend.onApplied = (c) => health.update(c);
  backend.healthView = () => health.view(s.config);
  // VIP failover (src/vrrp): the instances hold their addresses only while MASTER.
  let vrrp: import("./vrrp/service.ts").VrrpService | null = null;
  let follower: import("./sync/follow_vrrp.ts").VrrpSyncFollower | null = null;
  if (config.vrrpInstances.length) {
    const { VrrpService, unlistedVips } = await import("./vrrp/service.ts");
    const { serviceAddresses } = await import("./config/members.ts");
    const loose = unlistedVips(config.vrrpInstances, config.services.flatMap(serviceAddresses));
    if (loose.length) {
      console.log(
        `lvsd: warning: VIPs in no vrrp_instance are answered by every director: ${loose.join(", ")}`,
      );
    }
    vrrp = new VrrpService(s.state, config.vrrpInstances);
    const v = vrrp;
    backend.vrrpView = () => v.view();
    // keepalived's lvs_sync_daemon: the sync daemon's role follows an instance.
    const { VrrpSyncFollower } = await import("./sync/follow_vrrp.ts");
    const f = new VrrpSyncFollower(s, (line) => console.log(line));
    follower = f;
    const stateOf = (name: string | undefined) => v.view().instances.find((i) => i.name === name)?.state ?? null;
    vrrp.onStateChange((instance, state) => void f.onStateChange(instance, state));
    backend.onApplied = (c) => {
      health.update(c);
      void f.configure(c.syncDaemon.follow, stateOf(c.syncDaemon.follow?.vrrpInstance), c.syncDaemon);
    };
    try {
      await vrrp.start();
      await f.configure(s.config.syncDaemon.follow, stateOf(s.config.syncDaemon.follow?.vrrpInstance));
    } catch (e) {
      console.error(`lvsd: cannot start VRRP: ${(e as Error).message}`);
      await admin?.close();
      await health.stop();
      backend.close();
      await s.stop();
      return 1;
    }
  }
  try {
    if (config.stateFile && !stateCurrent) await writeState(config.stateFile, config, configDigest);
  } catch (e) {
    console.error(`lvsd: cannot write the state file "${config.stateFile}": ${(e as Error).message}`);
    await admin?.close();
    await vrrp?.stop();
    await health.stop();
    backend.close();
    await s.stop();
    return 1;
  }
  if (admin) {
    const { createApp } = await import("./api/app.ts");
    const { renderMetrics } = await import("./api/metrics.ts");
    const app = createApp(backend, { token, renderMetrics, lock: backend.lock });
    handle = (req) => app.fetch(req);
    console.log(`lvsd: admin API on ${admin.url} (token in "${config.admin.tokenFile}")`);
  }
  Deno.addSignalListener("SIGUSR2", () => {
    console.log(s.listing());
    // VRRP: state, priority, master, adverts sent/received, drops by reason.
    for (const v of vrrp?.snapshot() ?? []) console.log(`lvsd: VRRP ${JSON.stringify(v)}`);
  });
  // SIGHUP re-reads the config file and applies it live (as keepalived
  // does); a file that does not load changes nothing.
  Deno.addSignalListener("SIGHUP", async () => {
    try {
      const next = withFlags(await loadConfig(path));
      const notes = await backend.applyConfigFile(next);
      console.log(`lvsd: reloaded "${path}": ${notes.length ? notes.join("; ") : "no change"}`);
    } catch (e) {
      const msg = e instanceof ConfigError ? e.message : `Cannot reload "${path}": ${(e as Error).message}`;
      console.error(`lvsd: ${msg}; the running configuration is unchanged`);
    }
  });
  // Fault injection for the worker-restart test, only when asked for.
  if (Deno.env.get("LVSD_FAULT_INJECTION") === "1") Deno.addSignalListener("SIGTTIN", () => s.crashWorker(0));
  console.log(
    `lvsd: ready: ${config.services.length} services on ${
      config.interfaces.map((i) => i.name).join(", ")
    }, ${s.state.workers} workers`,
  );
  await stopped;
  console.log("lvsd: stopping");
  // First, so that a MASTER resigns (priority 0) and the backup takes over at once.
  await vrrp?.stop();
  await follower?.close();
  await admin?.close();
  await health.stop();
  backend.close();
  await s.stop();
  console.log("lvsd: stopped");
  return 0;
}
