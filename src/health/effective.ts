/**
 * From the configured table and what the health checks found to the table
 * the data plane runs: keepalived's rules for failed real servers, quorum
 * (with hysteresis) and the sorry server (check/ipwrapper.c:
 * update_quorum_state, perform_quorum_state, weigh_live_realservers), plus a
 * slow start that keepalived lacks (HAProxy's `slowstart`): a dest that
 * comes up ramps its weight over a window instead of taking every new
 * connection at once.
 *
 * Pure: the caller keeps the health states and the quorum states between
 * calls and publishes the returned services when they differ from what runs.
 *
 * @module
 */

import type { DestConfig, ServiceConfig } from "../config/mod.ts";

/** What the checks say about one dest. */
export interface DestHealth {
  /** Alive (a dest without a checker is always alive). */
  up: boolean;
  /** A weight the checker set (MISC_CHECK misc_dynamic: exit code − 2); the configured one otherwise. */
  weight?: number;
  /** When it last came up (or was added), ms on the caller's clock: the start of its slow start. */
  upSince: number;
}

/** A service's failure policy, as keepalived's virtual_server names it. */
export interface HealthPolicy {
  /** Minimum total weight of alive dests (keepalived default 1). */
  quorum: number;
  /** Quorum is lost below quorum − hysteresis and gained at quorum + hysteresis (default 0). */
  hysteresis: number;
  /** Replaces the pool while quorum is lost; null for none. */
  sorryServer: DestConfig | null;
  /** Keep the sorry server in the table at weight 0 while quorum holds (sorry_server_inhibit). */
  sorryInhibit: boolean;
  /** Slow-start window in ms (0: none). */
  slowStartMs: number;
  /** Dests (by address:port) that stay at weight 0 when they fail instead of leaving (inhibit_on_failure). */
  inhibitOnFailure: ReadonlySet<string>;
}

/** A quorum transition, for quorum_up / quorum_down hooks and the log. */
export interface QuorumEvent {
  service: string;
  up: boolean;
  /** Total weight of alive dests at the transition, and the threshold it crossed. */
  weightSum: number;
  threshold: number;
}

/** The result of {@link effectiveServices}. */
export interface Effective {
  services: ServiceConfig[];
  /** Quorum state per service key, to pass back next time. */
  quorum: Map<string, boolean>;
  events: QuorumEvent[];
  /** The next time (ms) a slow start changes a weight, null if none is ramping: call again then. */
  nextStep: number | null;
}

const dkey = (d: { address: string; port: number }) => `${d.address}:${d.port}`;
const skey = (s: { proto: string; vip: string; port: number }) => `${s.proto}:${s.vip}:${s.port}`;

/** How often a ramping weight is recomputed (a published table per step). */
export const SLOW_START_STEP_MS = 1000;

/**
 * The services the data plane should run now. `health` is keyed by service
 * key then dest key (missing = alive since forever); `policy` by service
 * key (missing = keepalived's defaults without sorry server or slow start);
 * `quorum` holds the states of the previous call (missing = first call,
 * started as keepalived starts: up when the alive weight reaches quorum +
 * hysteresis).
 */
export function effectiveServices(
  services: readonly ServiceConfig[],
  health: ReadonlyMap<string, ReadonlyMap<string, DestHealth>>,
  policy: ReadonlyMap<string, HealthPolicy>,
  quorum: ReadonlyMap<string, boolean>,
  now: number,
  /** Report a service new to `quorum` that starts without its quorum as a loss (one added at run time). */
  reportNewLosses = false,
): Effective {
  const out: ServiceConfig[] = [];
  const states = new Map<string, boolean>();
  const events: QuorumEvent[] = [];
  let nextStep: number | null = null;
  for (const s of services) {
    const key = skey(s);
    const p = policy.get(key) ?? DEFAULT_POLICY;
    const h = health.get(key);
    const alive: DestConfig[] = [];
    const inhibited: DestConfig[] = [];
    let weightSum = 0;
    for (const d of s.dests) {
      const st = h?.get(dkey(d));
      const weight = st?.weight ?? d.weight;
      if (st && !st.up) {
        if (p.inhibitOnFailure.has(dkey(d))) inhibited.push({ ...d, weight: 0 });
        continue;
      }
      weightSum += weight;
      let w = weight;
      const since = st?.upSince;
      if (p.slowStartMs > 0 && since !== undefined && weight > 0 && now - since < p.slowStartMs) {
        w = Math.max(1, Math.ceil((weight * Math.max(0, now - since)) / p.slowStartMs));
        const step = now + SLOW_START_STEP_MS;
        nextStep = nextStep === null ? step : Math.min(nextStep, step);
      }
      alive.push({ ...d, weight: w });
    }
    // ipwrapper.c update_quorum_state: the threshold moves by the
    // hysteresis away from the current state.
    const was = quorum.get(key);
    let up: boolean;
    if (was === undefined) {
      up = weightSum >= p.quorum + p.hysteresis;
      if (!up && reportNewLosses) {
        events.push({ service: key, up, weightSum, threshold: p.quorum + p.hysteresis });
      }
    } else {
      const threshold = p.quorum + (was ? -1 : 1) * p.hysteresis;
      up = was ? !(weightSum === 0 || weightSum < threshold) : weightSum >= threshold;
      if (up !== was) events.push({ service: key, up, weightSum, threshold });
    }
    states.set(key, up);
    let dests: DestConfig[];
    if (!up && p.sorryServer) {
      // Quorum lost: the alive dests leave the pool, the sorry server takes it.
      dests = [...inhibited, { ...p.sorryServer }];
    } else {
      dests = [...alive, ...inhibited];
      if (p.sorryServer && p.sorryInhibit) dests.push({ ...p.sorryServer, weight: 0 });
    }
    // Keep the configured order (IPVS lists by when a dest was added).
    const order = new Map(s.dests.map((d, i) => [dkey(d), i]));
    dests.sort((a, b) => (order.get(dkey(a)) ?? s.dests.length) - (order.get(dkey(b)) ?? s.dests.length));
    out.push({ ...s, dests });
  }
  return { services: out, quorum: states, events, nextStep };
}

/** keepalived's defaults: quorum 1, no hysteresis, no sorry server; lvsd's: no slow start. */
export const DEFAULT_POLICY: HealthPolicy = Object.freeze({
  quorum: 1,
  hysteresis: 0,
  sorryServer: null,
  sorryInhibit: false,
  slowStartMs: 0,
  inhibitOnFailure: new Set<string>(),
});
