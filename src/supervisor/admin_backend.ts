/**
 * The running director as the admin API sees it ({@link AdminBackend}):
 * changes go through the supervisor's atomic reload and are then kept in the
 * state file; counters are read from the workers' slots minus baselines
 * (zeroing never writes into memory the workers own); rates come from the
 * kernel's estimator method, sampled every 2 seconds.
 *
 * @module
 */

import {
  checkVips,
  type Config,
  ConfigError,
  configFromObject,
  configToObject,
  type HostReaders,
} from "../config/mod.ts";
import { Mutex } from "../api/mutex.ts";
import type {
  AdminBackend,
  ConnectionPage,
  ConnectionQuery,
  DataplaneView,
  DestRuntime,
  HealthView,
  ServiceRuntime,
  StatsView,
  StatusView,
  VrrpView,
} from "../api/model.ts";
import { destKey, serviceKey } from "../api/model.ts";
import type { TableService } from "../dataplane/tables.ts";
import { IPVS_VERSION, VERSION } from "../version.ts";
import { destConns, statsId, type Totals, totals } from "./counters.ts";
import { scanConnections } from "./connections.ts";
import { statusText } from "./status_text.ts";
import { serviceViews } from "../api/views.ts";
import { ESTIMATION_INTERVAL_MS, RateEstimator } from "./estimator.ts";
import { KEPT_KEYS, prepareState, tableDigest } from "./state_file.ts";
import type { Supervisor } from "./supervisor.ts";
import type { SyncDaemonStatus } from "../sync/daemon.ts";

/** Where the backend keeps things, and what it tells the log. */
export interface BackendOptions {
  configFile: string | null;
  stateFile: string | null;
  /** Digest of the config file's service table (state_file.ts), kept in the state file. */
  configDigest: string;
  log?: (line: string) => void;
  /** How host addresses are read (tests); the system's by default. */
  hostReaders?: HostReaders;
}

export class DirectorBackend implements AdminBackend {
  #sup: Supervisor;
  #opts: BackendOptions;
  /**
   * Starts from the clock's milliseconds (times 1000, plus a random part
   * for two starts in one millisecond), so that a generation (the ETag of
   * GET /v1/config) is not handed out again after a restart, when an
   * If-Match taken before it must not match the new table.
   */
  #generation = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  /** Held by every change: the API's read-modify-write and SIGHUP's reload. */
  readonly lock: Mutex = new Mutex();
  #log: (line: string) => void;
  /** status() counts the table at most once a second (a scan of 16 M slots takes seconds). */
  #connCount = { at: -Infinity, n: 0 };
  #started = Date.now();
  #estimator = new RateEstimator();
  #timer: ReturnType<typeof setInterval>;

  constructor(sup: Supervisor, opts: BackendOptions) {
    this.#sup = sup;
    this.#opts = opts;
    this.#log = opts.log ?? ((l) => console.log(l));
    // An id handed to a newcomer keeps no rate history from its last owner.
    sup.onFreshId = (kind, id, raw) => {
      this.#estimator.forget(statsId(kind, id));
      this.#estimator.reset(statsId(kind, id), raw);
    };
    // What counted before the API existed is no rate: start from the current counts.
    const t = totals(sup.state, sup.services);
    for (const s of sup.services) {
      this.#estimator.reset(statsId("service", s.id), t.services.get(s.id)!);
      for (const d of s.dests) this.#estimator.reset(statsId("dest", d.id), t.dests.get(d.id)!);
    }
    this.#timer = setInterval(() => this.#sample(), ESTIMATION_INTERVAL_MS);
    sup.statusText = () => this.statusText();
  }

  /** Stops the sampling timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#sup.onFreshId = null;
    this.#sup.statusText = null;
  }

  config(): Config {
    return this.#sup.config;
  }

  running(): Config {
    return this.#sup.running;
  }

  /** Provides GET /v1/health (the health runner). */
  healthView: (() => HealthView) | null = null;

  health(): HealthView {
    return this.healthView?.() ?? { services: [] };
  }

  /** Provides GET /v1/vrrp (the VRRP instances). */
  vrrpView: (() => VrrpView) | null = null;

  vrrp(): VrrpView {
    return this.vrrpView?.() ?? { instances: [] };
  }

  sync(): SyncDaemonStatus[] {
    return this.#sup.syncStatus();
  }

  /** Told after every applied change (API or SIGHUP) with the configured table now in force. */
  onApplied: ((config: Config) => void) | null = null;

  /**
   * Applies `next` (a change through the admin API, which holds
   * {@link lock} around its read-modify-write) with the supervisor's atomic
   * reload, and keeps it in the state file. Refused, changing nothing: a
   * change of what is read at start only, a VIP that is an address of this
   * host (the next start would refuse it).
   */
  async apply(next: Config): Promise<string[]> {
    refuseStartupKeys(this.#sup.config, next);
    const hostVips = await checkVips(next, this.#opts.hostReaders);
    if (hostVips.length) throw new ConfigError("admin API", hostVips.map((message) => ({ path: "services", message })));
    return await this.#apply(next, this.#opts.configDigest);
  }

  /**
   * SIGHUP (takes {@link lock} itself). If the services, timeouts and
   * options in the file changed since the state file was written, the file
   * is the newer intent: its table replaces the running one. If not, the
   * running table (with every change made through the API) stays, as at
   * start, and only the rest of the file applies.
   */
  applyConfigFile(fileConfig: Config): Promise<string[]> {
    return this.lock.run(async () => {
      const digest = await tableDigest(fileConfig);
      if (digest === this.#opts.configDigest) {
        const running = configToObject(this.#sup.config);
        const merged = configToObject(fileConfig);
        for (const k of KEPT_KEYS) merged[k] = running[k];
        const notes = await this.#apply(configFromObject(merged, "reload"), digest);
        return ["services unchanged in the config file: the running table is kept", ...notes];
      }
      return await this.#apply(fileConfig, digest);
    });
  }

  /**
   * Reload, then the state file. The file is written and synced before the
   * change (a full disk refuses the change rather than losing it at the next
   * restart) and renamed into place after it. Once the tables are flipped
   * the change is in force whatever follows: a failed rename is logged, and
   * the next change writes the file again.
   */
  async #apply(next: Config, configDigest: string): Promise<string[]> {
    const path = this.#opts.stateFile;
    const prepared = path ? await prepareState(path, next, configDigest) : null;
    let notes: string[];
    try {
      notes = await this.#sup.reload(next);
    } catch (e) {
      await prepared?.discard();
      throw e;
    }
    this.#generation++;
    this.#opts.configDigest = configDigest;
    this.onApplied?.(this.#sup.config);
    try {
      await prepared?.commit();
    } catch (e) {
      await prepared?.discard();
      this.#log(
        `lvsd: the change is applied but the state file "${path}" was not updated (${
          (e as Error).message
        }); a restart now would come back without it`,
      );
    }
    return notes;
  }

  runtime(): Map<string, ServiceRuntime> {
    return this.#runtime(this.#totals());
  }

  /** Every counter since its zero point, read once. */
  #totals(): Totals {
    return totals(this.#sup.state, this.#sup.services, this.#sup.baselines);
  }

  #runtime(t: Totals): Map<string, ServiceRuntime> {
    const state = this.#sup.state;
    const services = this.#sup.services;
    const l = state.layout;
    const i32 = new Int32Array(state.memory.buffer);
    const out = new Map<string, ServiceRuntime>();
    for (const s of services) {
      const dests = new Map<string, DestRuntime>();
      for (const d of s.dests) {
        const c = destConns(state, d.id);
        dests.set(destKey({ address: d.addr, port: d.port }), {
          active_conns: c.active,
          inact_conns: c.inactive,
          persist_conns: Atomics.load(i32, (l.DSTATE + d.id * l.DSTATE_SIZE + l.DSTATE_PERSIST) >> 2),
          stats: t.dests.get(d.id)!,
          rates: this.#estimator.rates(statsId("dest", d.id)),
        });
      }
      out.set(serviceKey(s), {
        stats: t.services.get(s.id)!,
        rates: this.#estimator.rates(statsId("service", s.id)),
        dests,
      });
    }
    return out;
  }

  connections(query: ConnectionQuery): ConnectionPage {
    return scanConnections(this.#sup.state, this.#sup.services, query);
  }

  dataplane(): DataplaneView {
    const t = this.#totals();
    return { counters: t.globals, drops: t.drops };
  }

  /** ipvsadm -Z [-t service]: zero points move to the current counts; rates restart from 0. */
  zero(key?: string): void {
    const { state, services, baselines } = this.#sup;
    const t = totals(state, services);
    const zero = (kind: "service" | "dest", id: number, raw: StatsView) => {
      baselines.zero(statsId(kind, id), raw);
      this.#estimator.reset(statsId(kind, id), raw);
    };
    for (const s of services) {
      if (key !== undefined && serviceKey(s) !== key) continue;
      zero("service", s.id, t.services.get(s.id)!);
      for (const d of s.dests) zero("dest", d.id, t.dests.get(d.id)!);
    }
    if (key === undefined) {
      // ip_vs_zero_all also zeroes the totals.
      baselines.zeroFlat("globals", t.globals);
      baselines.zeroFlat("drops", t.drops);
    }
  }

  /** SIGUSR2's listing and the status file (status_text.ts); cheap enough for every second. */
  statusText(): string {
    const sup = this.#sup;
    const t = this.#totals();
    return statusText(
      { ipvs_version: IPVS_VERSION, conn_table_size: sup.state.connCapacity },
      serviceViews(sup.running, this.#runtime(t)),
      { counters: t.globals, drops: t.drops },
      // The first 50 only, without counting the rest: a full scan of a big table every second is not cheap.
      scanConnections(sup.state, sup.services, { limit: 50 }, undefined, false),
      sup.syncStatus(),
    );
  }

  status(): StatusView {
    const sup = this.#sup;
    const now = Date.now();
    if (now - this.#connCount.at >= 1000) {
      this.#connCount = { at: now, n: scanConnections(sup.state, sup.services, { limit: 1 }).total };
    }
    return {
      version: VERSION,
      ipvs_version: IPVS_VERSION,
      pid: Deno.pid,
      uptime_s: Math.floor((Date.now() - this.#started) / 1000),
      conn_table_size: sup.state.connCapacity,
      connections: this.#connCount.n,
      workers: sup.state.workers,
      worker_restarts: sup.restarts(),
      interfaces: sup.config.interfaces.map((i) => i.name),
      config_file: this.#opts.configFile,
      state_file: this.#opts.stateFile,
      generation: this.#generation,
    };
  }

  /** One estimator sample of every service and dest (every 2 s). */
  #sample(): void {
    const services: TableService[] = this.#sup.services;
    // Raw counts: zero points do not change a difference.
    const t = totals(this.#sup.state, services);
    for (const s of services) {
      this.#estimator.sample(statsId("service", s.id), t.services.get(s.id)!);
      for (const d of s.dests) this.#estimator.sample(statsId("dest", d.id), t.dests.get(d.id)!);
    }
  }
}

/**
 * The API changes the service table (services, timeouts, options), which
 * the state file keeps. The rest (interfaces, workers, table size, guard,
 * files, the admin API itself) is read from the config file at start: a
 * change to it through the API would be lost at the next restart, so it is
 * refused, naming each key, and nothing changes.
 */
function refuseStartupKeys(running: Config, next: Config): void {
  const a = configToObject(running);
  const b = configToObject(next);
  // Both sides' keys: a key left out (vrrp_instances is only written when
  // configured) is a change too.
  const issues = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !(KEPT_KEYS as readonly string[]).includes(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => ({
      path: k,
      message: "cannot be changed through the admin API (it is read from the config file at start: edit the file)",
    }));
  if (issues.length) throw new ConfigError("admin API", issues);
}
