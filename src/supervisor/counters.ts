/**
 * Reading the counters the workers keep (one slot each, summed here), with
 * zero points applied, and the dests' ActiveConn/InActConn. The text views
 * of them are lvsadm's formatter (status_text.ts, src/lvsadm/format).
 */
import { GLOBAL_COUNTERS, type SharedState } from "../dataplane/shared_state.ts";
import type { TableService } from "../dataplane/tables.ts";
import type { StatsView } from "../api/model.ts";
import type { Baselines } from "./baselines.ts";

/** Counters summed over all workers. */
export interface Totals {
  globals: Record<string, number>;
  drops: Record<string, number>;
  services: Map<number, { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number }>;
  dests: Map<number, { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number }>;
}

function sum(state: SharedState, offsetInSlot: number): number {
  let t = 0n;
  for (let w = 0; w < state.workers; w++) t += state.view.getBigUint64(state.statsBase(w) + offsetInSlot, true);
  return Number(t);
}

function fiveCounters(state: SharedState, base: number) {
  return {
    conns: sum(state, base),
    inpkts: sum(state, base + 8),
    outpkts: sum(state, base + 16),
    inbytes: sum(state, base + 24),
    outbytes: sum(state, base + 32),
  };
}

/** The id a service's or dest's counters have in {@link Baselines} and the rate estimator. */
export function statsId(kind: "service" | "dest", id: number): string {
  return kind === "service" ? `svc:${id}` : `dest:${id}`;
}

/** The raw counters of one service or dest id, summed over the workers. */
export function rawCounters(state: SharedState, kind: "service" | "dest", id: number): StatsView {
  const l = state.layout;
  return fiveCounters(
    state,
    kind === "service" ? l.STATS_SVC + id * l.STAT_SVC_SIZE : l.STATS_DEST + id * l.STAT_DEST_SIZE,
  );
}

/**
 * Sums every worker's counters; with `baselines`, as counted since the last
 * zero (ipvsadm -Z), otherwise raw.
 */
export function totals(state: SharedState, services: TableService[], baselines?: Baselines): Totals {
  const l = state.layout;
  let globals: Record<string, number> = {};
  for (const g of GLOBAL_COUNTERS) globals[g.slice(2).toLowerCase()] = sum(state, l[g] * 8);
  let drops: Record<string, number> = {};
  state.dropReasons.forEach((r, i) => (drops[r] = sum(state, (l.DROP_BASE + i) * 8)));
  const svcs = new Map();
  const dests = new Map();
  const read = (kind: "service" | "dest", id: number) => {
    const raw = rawCounters(state, kind, id);
    return baselines ? baselines.read(statsId(kind, id), raw) : raw;
  };
  for (const s of services) {
    svcs.set(s.id, read("service", s.id));
    for (const d of s.dests) dests.set(d.id, read("dest", d.id));
  }
  if (baselines) {
    globals = baselines.readFlat("globals", globals);
    drops = baselines.readFlat("drops", drops);
  }
  return { globals, drops, services: svcs, dests };
}

/** ActiveConn / InActConn of a dest id. */
export function destConns(state: SharedState, id: number): { active: number; inactive: number } {
  const l = state.layout;
  const p = l.DSTATE + id * l.DSTATE_SIZE;
  return {
    active: Atomics.load(new Int32Array(state.memory.buffer), (p + l.DSTATE_ACTIVE) >> 2),
    inactive: Atomics.load(new Int32Array(state.memory.buffer), (p + l.DSTATE_INACT) >> 2),
  };
}
