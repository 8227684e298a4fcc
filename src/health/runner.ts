/**
 * Health checks in a running director: the monitor checks every dest of
 * every service that has a `health_check`; each transition updates the
 * health states, runs the dest's notify hook, and republishes the table
 * through the supervisor's `effective` transform (effective.ts: failed dests
 * out or at weight 0, quorum with its hooks, the sorry server, slow start).
 * Checks run here, in the supervisor's thread, never in the packet path.
 *
 * @module
 */

import type { Config, ServiceConfig } from "../config/mod.ts";
import { type DestHealth, effectiveServices, type HealthPolicy } from "./effective.ts";
import { HealthMonitor, type HealthState, type HealthTarget } from "./monitor.ts";
import { timing } from "./options.ts";
import type { HealthView } from "../api/model.ts";

/** What the runner needs from the supervisor. */
export interface HealthHost {
  /** The configured table. */
  readonly config: Config;
  /** Set to turn the configured table into the running one. */
  effective: ((configured: Config) => Config) | null;
  /** Publishes the configured table again through `effective`. */
  republish(): Promise<unknown>;
}

const skey = (s: { proto: string; vip: string; port: number }) => `${s.proto}:${s.vip}:${s.port}`;
const dkey = (d: { address: string; port: number }) => `${d.address}:${d.port}`;

/** The monitor id of a dest: service key and dest key. */
function targetId(s: ServiceConfig, d: { address: string; port: number }): string {
  return `${skey(s)}/${dkey(d)}`;
}

/** A service's failure policy from its config. */
export function policyOf(s: ServiceConfig): HealthPolicy {
  const inhibit = s.healthCheck ? timing(s.healthCheck).inhibitOnFailure : false;
  return {
    quorum: s.quorum,
    hysteresis: s.hysteresis,
    sorryServer: s.sorryServer,
    sorryInhibit: s.sorryServerInhibit,
    slowStartMs: s.slowStart * 1000,
    inhibitOnFailure: new Set(inhibit ? s.dests.map(dkey) : []),
  };
}

/** Runs a hook command (sh -c) without waiting for it; its failure is logged. */
export function runHook(command: string, env: Record<string, string>, log: (line: string) => void): void {
  try {
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", command],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.status.then((st) => {
      if (!st.success) log(`lvsd: hook "${command}" exited with ${st.code}`);
    });
  } catch (e) {
    log(`lvsd: cannot run hook "${command}": ${(e as Error).message}`);
  }
}

export class HealthRunner {
  #host: HealthHost;
  #log: (line: string) => void;
  #now: () => number;
  #monitor: HealthMonitor;
  /** Health by service key, then dest key. */
  #health = new Map<string, Map<string, DestHealth>>();
  #quorum = new Map<string, boolean>();
  #pending: ReturnType<typeof setTimeout> | undefined;
  #step: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #started = false;
  /** The configured table of the last update(): tells dests a change adds from those it had. */
  #lastConfigured: Config | null = null;
  /** Monitor ids checked as of the last update(). */
  #targets = new Set<string>();

  constructor(host: HealthHost, opts: { log?: (line: string) => void; now?: () => number } = {}) {
    this.#host = host;
    this.#log = opts.log ?? ((l) => console.log(l));
    this.#now = opts.now ?? (() => performance.now());
    this.#monitor = new HealthMonitor({ onChange: (id, st) => this.#changed(id, st) });
    host.effective = (c) => this.#effective(c);
  }

  /**
   * Checks the dests of `config` (call it after every applied change): new
   * ones start checking, removed ones stop, unchanged ones keep their state.
   * Publishes again when a new dest starts down (alpha).
   */
  update(config: Config): void {
    const targets: HealthTarget[] = [];
    if (this.#stopped) return;
    const keep = new Map<string, Map<string, DestHealth>>();
    let alphaDown = false;
    // At start every dest is simply there (no slow start, as HAProxy does
    // not ramp servers that are up when it starts); later ones ramp.
    const since = this.#started ? this.#now() : -Infinity;
    this.#started = true;
    const before = this.#configuredDests(this.#lastConfigured);
    const added: { sk: string; dk: string; id: string | null }[] = [];
    const checked: { sk: string; dk: string; id: string }[] = [];
    for (const s of config.services) {
      const h = new Map<string, DestHealth>();
      keep.set(skey(s), h);
      if (!s.healthCheck && s.slowStart === 0) continue;
      const old = this.#health.get(skey(s));
      for (const d of s.dests) {
        const id = s.healthCheck ? targetId(s, d) : null;
        if (s.healthCheck) {
          targets.push({ id: id!, address: d.address, port: d.port || s.port, check: s.healthCheck });
          checked.push({ sk: skey(s), dk: dkey(d), id: id! });
        }
        const had = old?.get(dkey(d));
        // Without a check a dest is alive whatever an earlier check said; only its ramp carries over.
        if (had) h.set(dkey(d), s.healthCheck ? had : { up: true, upSince: had.upSince });
        else added.push({ sk: skey(s), dk: dkey(d), id });
      }
    }
    this.#health = keep;
    this.#monitor.update(targets);
    // Targets the monitor did not check before: their state is the monitor's
    // (down with alpha), whatever effective() assumed while the table was published.
    for (const c of checked) {
      if (this.#targets.has(c.id)) continue;
      const st = this.#monitor.state(c.id);
      const h = this.#health.get(c.sk)!;
      const had = h.get(c.dk);
      if (st && had) {
        h.set(c.dk, { up: st.up, weight: st.weight, upSince: had.upSince });
        if (!st.up) alphaDown = true;
      }
    }
    this.#targets = new Set(checked.map((c) => c.id));
    // New dests start their slow start, unless they were in the table already (slow start just turned on).
    for (const a of added) {
      const st = a.id === null ? undefined : this.#monitor.state(a.id);
      const fresh = since !== -Infinity && !before.has(`${a.sk}/${a.dk}`);
      this.#health.get(a.sk)!.set(a.dk, { up: st?.up ?? true, weight: st?.weight, upSince: fresh ? since : -Infinity });
      if (st && !st.up) alphaDown = true;
    }
    this.#lastConfigured = config;
    if (since === -Infinity) {
      // The quorum states start from the table as it starts (ipwrapper.c:
      // up when the live weight reaches quorum + hysteresis); one that starts
      // down runs its quorum_down hook and needs a publish (the sorry server).
      const first = effectiveServices(config.services, this.#health, this.#policies(config), new Map(), this.#now());
      this.#quorum = first.quorum;
      for (const [key, up] of first.quorum) {
        if (up) continue;
        this.#log(`lvsd: health: ${key} starts with the quorum lost`);
        const hook = config.services.find((x) => skey(x) === key)?.quorumDown;
        if (hook) runHook(hook, { LVSD_SERVICE: key, LVSD_QUORUM: "down" }, this.#log);
        alphaDown = true;
      }
    }
    if (alphaDown || (added.length > 0 && since !== -Infinity)) this.#schedule(0);
  }

  /** Stops checking; the table is published without the health layer by the next reload. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pending);
    clearTimeout(this.#step);
    this.#host.effective = null;
    await this.#monitor.stop();
  }

  /** GET /v1/health: every service with a check, slow start or a lost quorum, in the configured order. */
  view(config: Config): HealthView {
    const now = this.#now();
    const services: HealthView["services"] = [];
    for (const s of config.services) {
      const h = this.#health.get(skey(s));
      const quorumUp = this.#quorum.get(skey(s)) ?? true;
      if (!s.healthCheck && s.slowStart === 0 && quorumUp) continue;
      services.push({
        key: skey(s),
        quorum_up: quorumUp,
        dests: s.dests.map((d) => {
          const st = h?.get(dkey(d));
          const state = !s.healthCheck ? "unchecked" as const : st?.up === false ? "down" as const : "up" as const;
          const since = st?.upSince;
          return {
            key: dkey(d),
            state,
            weight: st?.weight ?? null,
            up_for_s: state !== "down" && since !== undefined && Number.isFinite(since)
              ? Math.round((now - since) / 100) / 10
              : null,
          };
        }),
      });
    }
    return { services };
  }

  #changed(id: string, st: HealthState): void {
    const slash = id.indexOf("/");
    const sk = id.slice(0, slash);
    const dk = id.slice(slash + 1);
    const h = this.#health.get(sk);
    const was = h?.get(dk);
    if (!h) return;
    const cameUp = st.up && !(was?.up ?? false);
    h.set(dk, { up: st.up, weight: st.weight, upSince: cameUp ? this.#now() : (was?.upSince ?? this.#now()) });
    if (was?.up !== st.up) {
      this.#log(`lvsd: health: ${sk} dest ${dk} is ${st.up ? "up" : "down"} (${st.detail})`);
      const s = this.#host.config.services.find((x) => skey(x) === sk);
      const d = s?.dests.find((x) => dkey(x) === dk);
      const hook = st.up ? d?.notifyUp : d?.notifyDown;
      if (hook) runHook(hook, { LVSD_SERVICE: sk, LVSD_DEST: dk, LVSD_STATE: st.up ? "up" : "down" }, this.#log);
    }
    this.#schedule(0);
  }

  /** Publishes again after `ms` (transitions that arrive together make one publish). */
  #schedule(ms: number): void {
    if (this.#stopped || this.#pending !== undefined) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#host.republish().catch((e) => this.#log(`lvsd: health: cannot publish: ${(e as Error).message}`));
    }, ms);
  }

  /** "service key/dest key" of every dest of `config`. */
  #configuredDests(config: Config | null): Set<string> {
    return new Set((config?.services ?? []).flatMap((s) => s.dests.map((d) => `${skey(s)}/${dkey(d)}`)));
  }

  #policies(config: Config): Map<string, HealthPolicy> {
    return new Map(config.services.map((s) => [skey(s), policyOf(s)]));
  }

  #effective(configured: Config): Config {
    const policy = this.#policies(configured);
    if (this.#started) {
      // A dest this change adds starts its slow start now, not at the
      // update() that follows the publish; one with a check starts as its
      // check's kind starts (down with alpha) until update() asks the monitor.
      const before = this.#configuredDests(this.#lastConfigured);
      for (const s of configured.services) {
        if (s.slowStart === 0) continue;
        const h = this.#health.get(skey(s)) ?? new Map<string, DestHealth>();
        this.#health.set(skey(s), h);
        const alpha = s.healthCheck ? timing(s.healthCheck).alpha : false;
        for (const d of s.dests) {
          if (h.has(dkey(d))) continue;
          const fresh = !before.has(`${skey(s)}/${dkey(d)}`);
          h.set(dkey(d), { up: !alpha, upSince: fresh ? this.#now() : -Infinity });
        }
      }
    }
    // A service without a check has only alive dests, whatever a check said before it was removed.
    const health = new Map(this.#health);
    for (const s of configured.services) {
      const h = health.get(skey(s));
      if (s.healthCheck || !h) continue;
      health.set(skey(s), new Map([...h].map(([k, v]) => [k, { up: true, upSince: v.upSince }])));
    }
    // A service added at run time that starts without its quorum is a loss, as at start.
    const r = effectiveServices(configured.services, health, policy, this.#quorum, this.#now(), this.#started);
    this.#quorum = r.quorum;
    for (const ev of r.events) {
      this.#log(
        `lvsd: health: ${ev.service} ${
          ev.up ? "gained" : "lost"
        } quorum (live weight ${ev.weightSum}, threshold ${ev.threshold})`,
      );
      const s = configured.services.find((x) => skey(x) === ev.service);
      const hook = ev.up ? s?.quorumUp : s?.quorumDown;
      if (hook) runHook(hook, { LVSD_SERVICE: ev.service, LVSD_QUORUM: ev.up ? "up" : "down" }, this.#log);
    }
    clearTimeout(this.#step);
    if (r.nextStep !== null && !this.#stopped) {
      // A slow start is ramping: publish its next step.
      this.#step = setTimeout(() => this.#schedule(0), Math.max(0, r.nextStep - this.#now()));
    }
    return { ...configured, services: r.services };
  }
}
