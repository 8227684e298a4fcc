/**
 * Zeroing counters (`ipvsadm -Z`, `POST /v1/stats/zero`) without writing into
 * the counter slots: the workers own those (one writer each, plain stores),
 * and a supervisor store racing a worker's read-add-write would be lost or
 * undo the worker's increment. Instead the supervisor remembers the raw
 * values at the moment of zeroing and shows `raw - baseline`.
 *
 * This is how the kernel does it too: ip_vs_zero_stats() copies the current
 * counters into `kstats0` ("get current counters as zero point") and
 * ip_vs_copy_stats() shows `kstats - kstats0`; the per-cpu counters the
 * packet path writes are never touched.
 *
 * Ids are opaque strings (e.g. `svc:3`, `dest:7`, `dataplane:drops`).
 *
 * @module
 */

import type { StatsView } from "../api/model.ts";

const STATS_KEYS = ["conns", "inpkts", "outpkts", "inbytes", "outbytes"] as const;

function checkValue(id: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`baselines: ${id} counter ${name} must be a finite non-negative number, got ${String(v)}`);
  }
  return v;
}

/**
 * `raw - base`, never negative. A raw value below its baseline means the
 * counter itself was restarted from 0 after the zero point (a reused slot):
 * everything it holds now came after the zero, so the baseline no longer
 * applies and the raw value is shown (the caller drops that baseline).
 */
function since(raw: number, base: number): number {
  return raw >= base ? raw - base : raw;
}

/** Zero points of counters, by id. */
export class Baselines {
  #stats = new Map<string, StatsView>();
  #flat = new Map<string, Record<string, number>>();

  /** The five counters of `id` since its last zero (raw values if never zeroed). */
  read(id: string, raw: StatsView): StatsView {
    const out = {} as StatsView;
    for (const k of STATS_KEYS) checkValue(id, k, raw[k]);
    const base = this.#stats.get(id);
    for (const k of STATS_KEYS) {
      const b = base?.[k] ?? 0;
      if (base && raw[k] < b) base[k] = 0; // restarted: see since()
      out[k] = since(raw[k], b);
    }
    return out;
  }

  /** Makes the current raw values of `id` its zero point. */
  zero(id: string, raw: StatsView): void {
    const base = {} as StatsView;
    for (const k of STATS_KEYS) base[k] = checkValue(id, k, raw[k]);
    this.#stats.set(id, base);
  }

  /**
   * A flat set of counters (the data plane's counters, or its drops by
   * reason) since the last zero of `id`. Names not known at the zero (a drop
   * reason seen for the first time) count from 0; names the baseline has but
   * `raw` lacks are left out.
   */
  readFlat(id: string, raw: Record<string, number>): Record<string, number> {
    for (const [k, v] of Object.entries(raw)) checkValue(id, k, v);
    const base = this.#flat.get(id);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) {
      const b = base && Object.hasOwn(base, k) ? base[k] : 0;
      if (base && v < b) base[k] = 0; // restarted: see since()
      out[k] = since(v, b);
    }
    return out;
  }

  /** Makes the current raw values of the flat set `id` its zero point. */
  zeroFlat(id: string, raw: Record<string, number>): void {
    const base: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) base[k] = checkValue(id, k, v);
    this.#flat.set(id, base);
  }

  /** Drops the zero points of `id` (its service or dest was deleted). */
  forget(id: string): void {
    this.#stats.delete(id);
    this.#flat.delete(id);
  }

  /** How many ids have a zero point (for tests and leak checks). */
  get size(): number {
    return new Set([...this.#stats.keys(), ...this.#flat.keys()]).size;
  }
}
