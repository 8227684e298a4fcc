/**
 * Rates per service and per dest, estimated as the kernel's IPVS does it
 * (net/netfilter/ipvs/ip_vs_est.c), so `ipvsadm -L --rate` style numbers mean
 * the same here as on a kernel director.
 *
 * The kernel's method, every 2 seconds for each estimator
 * (ip_vs_chain_estimation() since 6.2, estimation_timer() before):
 *
 *     rate = (counter - last) << 9        conns, inpkts, outpkts
 *     rate = (counter - last) << 4        inbytes, outbytes
 *     last = counter
 *     avg += ((s64)rate - (s64)avg) >> 2
 *
 * The shifts are "per second, fixed point, divided by the 2 s interval":
 * counts are kept scaled by 2^10 (2^10 / 2 s = << 9), bytes by 2^5
 * (2^5 / 2 s = << 4); `>> 2` is the weight W = 1/4 of
 * `avgrate = avgrate * (1 - W) + rate * W`, an arithmetic (flooring) shift on
 * a signed 64-bit value. Reading out rounds as ip_vs_read_estimator() does:
 *
 *     cps/pps = (avg + 0x1FF) >> 10       bps = (avg + 0xF) >> 5
 *
 * Linux 6.2 (commit 705dd3444081 "ipvs: use kthreads for stats estimation",
 * in the "Networking for 6.2" pull) moved estimation from one timer into
 * kthreads that spread the estimators over 50 ticks of a 2 s period
 * (IPVS_EST_NTICKS, IPVS_EST_TICK = 2 * HZ / 50), but each estimator is
 * still estimated once per 2 s with the same shifts and the same readout.
 *
 * The averages and the last counters are BigInts, as the kernel's are u64:
 * no precision is lost in the scaled arithmetic however large the counters.
 * The limit is the input: counters arrive as Numbers (StatsView), exact up to
 * 2^53 (9 PB of bytes); the rates returned are Numbers too, exact below 2^53
 * per second. The kernel's u64 would wrap at 2^64; a BigInt does not (no
 * counter gets there).
 *
 * The caller calls {@link RateEstimator.sample} every
 * {@link ESTIMATION_INTERVAL_MS}: the math assumes 2 s between samples, as
 * the kernel's does.
 *
 * @module
 */

import type { RatesView, StatsView } from "../api/model.ts";

/** How often {@link RateEstimator.sample} must be called (the kernel's 2 * HZ). */
export const ESTIMATION_INTERVAL_MS = 2000;

/** The five counters, in the order of the tables below. */
const COUNTERS = ["conns", "inpkts", "outpkts", "inbytes", "outbytes"] as const;
/** The rate each counter gives. */
const RATES = ["cps", "inpps", "outpps", "inbps", "outbps"] as const;
/** Per-sample shift of the 2 s delta: 2^10 per second for counts, 2^5 for bytes, halved for the interval. */
const DELTA_SHIFT = [9n, 9n, 9n, 4n, 4n] as const;
/** Readout: the fixed-point scale and the rounding ip_vs_read_estimator() adds first. */
const READ_SHIFT = [10n, 10n, 10n, 5n, 5n] as const;
const READ_ROUND = [0x1ffn, 0x1ffn, 0x1ffn, 0xfn, 0xfn] as const;
/** The EWMA weight W = 2^-2. */
const WEIGHT_SHIFT = 2n;

interface Estimator {
  /** The counters at the last sample (the kernel's last_conns, ..., last_outbytes). */
  last: bigint[];
  /** The scaled averages (the kernel's cps, inpps, outpps, inbps, outbps). */
  avg: bigint[];
}

function counterValue(id: string, name: string, v: unknown): bigint {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`rate estimator: ${id} counter ${name} must be a non-negative integer, got ${String(v)}`);
  }
  return BigInt(v);
}

/**
 * One estimator per id (opaque strings such as `svc:3` or `dest:7`), fed the
 * raw, monotonically increasing counters of that service or dest (never the
 * zeroed ones: zeroing is {@link RateEstimator.reset}, as `ipvsadm -Z` zeroes
 * the kernel's estimator without touching its counters).
 */
export class RateEstimator {
  #est = new Map<string, Estimator>();

  /**
   * One 2-second estimation step for `id`.
   *
   * An id not seen before starts from last = 0 and averages 0: in the kernel
   * a new service or dest has its counters and estimator zeroed together
   * (kzalloc), so its first estimation counts everything since it was
   * created. A service or dest whose counters did not start at 0 should be
   * registered with `reset(id, counters)` first.
   *
   * A counter below its last value means the counter was restarted; the
   * interval's traffic is unknown, so that sample counts as 0 for it (no
   * spike) and counting resumes from the new value.
   */
  sample(id: string, counters: StatsView): void {
    const now = COUNTERS.map((c) => counterValue(id, c, counters[c]));
    let e = this.#est.get(id);
    if (!e) {
      e = { last: [0n, 0n, 0n, 0n, 0n], avg: [0n, 0n, 0n, 0n, 0n] };
      this.#est.set(id, e);
    }
    for (let i = 0; i < COUNTERS.length; i++) {
      const delta = now[i] >= e.last[i] ? now[i] - e.last[i] : 0n;
      const rate = delta << DELTA_SHIFT[i];
      e.last[i] = now[i];
      // BigInt >> floors, as the kernel's arithmetic shift of an s64 does.
      e.avg[i] += (rate - e.avg[i]) >> WEIGHT_SHIFT;
    }
  }

  /** The rates per second of `id`, rounded as ip_vs_read_estimator(); zeros for an unknown id. */
  rates(id: string): RatesView {
    const out: RatesView = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
    const e = this.#est.get(id);
    if (!e) return out;
    for (let i = 0; i < RATES.length; i++) {
      out[RATES[i]] = Number((e.avg[i] + READ_ROUND[i]) >> READ_SHIFT[i]);
    }
    return out;
  }

  /**
   * Zeroes the rates of `id`, as ip_vs_zero_estimator(): averages 0, last =
   * the current counters. In the kernel "current" is kstats, the counters as
   * the estimator last read them, so without `counters` the last sample's
   * counters stay as they are; with `counters` they become the new last
   * values (registering the id if it was not known).
   */
  reset(id: string, counters?: StatsView): void {
    const last = counters ? COUNTERS.map((c) => counterValue(id, c, counters[c])) : undefined;
    const e = this.#est.get(id);
    if (e) {
      if (last) e.last = last;
      e.avg = [0n, 0n, 0n, 0n, 0n];
    } else if (last) {
      this.#est.set(id, { last, avg: [0n, 0n, 0n, 0n, 0n] });
    } // else: nothing estimated yet, its rates are already 0
  }

  /** Drops `id` (its service or dest was deleted: the kernel's ip_vs_stop_estimator). */
  forget(id: string): void {
    this.#est.delete(id);
  }

  /**
   * The fixed-point averages of `id` as the kernel stores them (rates scaled
   * by 2^10, byte rates by 2^5), for tests and debug dumps; undefined for an
   * unknown id.
   */
  scaled(id: string): Record<(typeof RATES)[number], bigint> | undefined {
    const e = this.#est.get(id);
    if (!e) return undefined;
    return { cps: e.avg[0], inpps: e.avg[1], outpps: e.avg[2], inbps: e.avg[3], outbps: e.avg[4] };
  }

  /** How many ids are estimated (for tests and leak checks). */
  get size(): number {
    return this.#est.size;
  }
}
