/**
 * The running director as the admin API sees it ({@link AdminBackend}):
 * changes go through the supervisor's atomic reload and are then kept in the
 * state file; counters are read from the workers' slots minus baselines
 * (zeroing never writes into memory the workers own); rates come from the
 * kernel's estimator method, sampled every 2 seconds.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type {
  AdminBackend,
  ConnectionPage,
  ConnectionQuery,
  DataplaneView,
  DestRuntime,
  ServiceRuntime,
  StatsView,
  StatusView,
} from "../api/model.ts";
import { destKey, serviceKey } from "../api/model.ts";
import type { TableService } from "../dataplane/tables.ts";
import { IPVS_VERSION, VERSION } from "../version.ts";
import { destConns, statsId, totals } from "./listing.ts";
import { scanConnections } from "./connections.ts";
import { ESTIMATION_INTERVAL_MS, RateEstimator } from "./estimator.ts";
import { prepareState, tableDigest } from "./state_file.ts";
import type { Supervisor } from "./supervisor.ts";

/** Where the backend keeps things, and what it tells the log. */
export interface BackendOptions {
  configFile: string | null;
  stateFile: string | null;
  /** Digest of the config file's service table (state_file.ts), kept in the state file. */
  configDigest: string;
  log?: (line: string) => void;
}

export class DirectorBackend implements AdminBackend {
  #sup: Supervisor;
  #opts: BackendOptions;
  #generation = 1;
  #started = Date.now();
  #estimator = new RateEstimator();
  #timer: ReturnType<typeof setInterval>;

  constructor(sup: Supervisor, opts: BackendOptions) {
    this.#sup = sup;
    this.#opts = opts;
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
  }

  /** Stops the sampling timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#sup.onFreshId = null;
  }

  config(): Config {
    return this.#sup.config;
  }

  /**
   * Applies `next` with the supervisor's atomic reload and keeps it in the
   * state file. The file is written (and synced) before the change and
   * renamed into place after it, so a full disk refuses the change instead
   * of losing it at the next restart.
   */
  async apply(next: Config): Promise<string[]> {
    const path = this.#opts.stateFile;
    const prepared = path ? await prepareState(path, next, this.#opts.configDigest) : null;
    let notes: string[];
    try {
      notes = await this.#sup.reload(next);
    } catch (e) {
      await prepared?.discard();
      throw e;
    }
    await prepared?.commit();
    this.#generation++;
    return notes;
  }

  /** SIGHUP: the config file's table replaces the running one and becomes the state file's reference. */
  async applyConfigFile(fileConfig: Config): Promise<string[]> {
    const digest = this.#opts.configDigest;
    this.#opts.configDigest = await tableDigest(fileConfig);
    try {
      return await this.apply(fileConfig);
    } catch (e) {
      this.#opts.configDigest = digest;
      throw e;
    }
  }

  runtime(): Map<string, ServiceRuntime> {
    const state = this.#sup.state;
    const services = this.#sup.services;
    const t = totals(state, services, this.#sup.baselines);
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
    const t = totals(this.#sup.state, this.#sup.services, this.#sup.baselines);
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

  status(): StatusView {
    const sup = this.#sup;
    const page = scanConnections(sup.state, sup.services, { limit: 1 });
    return {
      version: VERSION,
      ipvs_version: IPVS_VERSION,
      pid: Deno.pid,
      uptime_s: Math.floor((Date.now() - this.#started) / 1000),
      conn_table_size: sup.state.connCapacity,
      connections: page.total,
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
