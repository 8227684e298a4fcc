/**
 * Runs the health checks of many dests and reports when one goes down or
 * comes back, with keepalived's semantics (the epilog of every checker, e.g.
 * tcp_epilog in check_tcp.c, and the start-up state set in check_data.c):
 *
 * - A dest that is up and fails is retried `retry` times, each after
 *   `delay_before_retry`; the failure after the last retry declares it down
 *   (retry + 1 consecutive failures). One success brings it back up.
 * - Before its first check a dest is up, or down with `alpha`. keepalived
 *   starts every checker with its retries used up ("For non alpha mode, one
 *   failure is enough initially", check_data.c), so a dest whose very first
 *   check fails goes down at once; the same holds after its check changes.
 * - The next check runs `delay_loop` after the previous one ended (after
 *   `delay_before_retry` while retrying).
 * - The first check waits a random time in [0, warmup] (keepalived's
 *   register_checkers_thread), warmup defaulting to delay_loop, so by
 *   default a thousand dests' first checks spread over one delay_loop.
 *
 * lvsd adds: every later delay is shortened by up to {@link DEFAULT_JITTER}
 * of itself at random, so dests that fell into step (all down together
 * after a switch failed, or `warmup: 0`) drift apart again; and a global
 * cap on checks in flight (a due check waits in FIFO order for a slot; its
 * connect_timeout starts when it runs).
 *
 * onChange fires on transitions only (up→down, down→up) and, while up, when
 * a MISC_CHECK with misc_dynamic changes the weight. A dest's initial state
 * (up, or down with alpha) is not announced: read it with {@link
 * HealthMonitor.state} after {@link HealthMonitor.update}.
 *
 * @module
 */

import { type RunCheck, runCheck as realRunCheck } from "./checkers.ts";
import { type Timing, timing } from "./options.ts";
import type { CheckResult, CheckSpec } from "./types.ts";

/** A dest to watch: its id (e.g. the dest key), where to probe, and how. */
export interface HealthTarget {
  id: string;
  address: string;
  port: number;
  check: CheckSpec;
}

/** A dest's health as the monitor last judged it. */
export interface HealthState {
  up: boolean;
  /** MISC_CHECK misc_dynamic's weight while up; absent = the configured weight. */
  weight?: number;
  /** The last check's detail (or why the state is what it is before the first check). */
  detail: string;
}

/** Timer functions; tests pass a fake clock. */
export interface HealthTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** How the monitor runs. */
export interface HealthMonitorOptions {
  /** Called on transitions (and MISC dynamic weight changes). */
  onChange?: (id: string, state: HealthState) => void;
  /** Most checks in flight at once. Default {@link DEFAULT_CONCURRENCY}. */
  concurrency?: number;
  /** Default: the global setTimeout/clearTimeout. */
  timers?: HealthTimers;
  /** A number in [0, 1). Default Math.random. */
  random?: () => number;
  /** The probe. Default: the real checkers (checkers.ts). */
  runCheck?: RunCheck;
  /** Up to this fraction of each later delay is taken off at random. Default {@link DEFAULT_JITTER}. */
  jitter?: number;
}

/** Checks in flight at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 64;
/** Later delays are shortened by up to 10 %. */
export const DEFAULT_JITTER = 0.1;

const REAL_TIMERS: HealthTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface Entry {
  target: HealthTarget;
  /** What must stay equal for the entry to keep its state across update(). */
  key: string;
  timing: Timing;
  state: HealthState;
  hasRun: boolean;
  /** keepalived's retry_it: retries spent on the current run of failures. */
  retryIt: number;
  timer?: unknown;
  /** The check in flight, if any. */
  running?: AbortController;
  queued: boolean;
  removed: boolean;
}

/** See the module doc. */
export class HealthMonitor {
  readonly #entries = new Map<string, Entry>();
  readonly #queue: Entry[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #onChange: (id: string, state: HealthState) => void;
  readonly #limit: number;
  readonly #timers: HealthTimers;
  readonly #random: () => number;
  readonly #run: RunCheck;
  readonly #jitter: number;
  #stopped = false;

  constructor(opts: HealthMonitorOptions = {}) {
    const limit = opts.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`Cannot start health checks: concurrency ${limit} is not a positive integer`);
    }
    const jitter = opts.jitter ?? DEFAULT_JITTER;
    if (!(jitter >= 0 && jitter < 1)) throw new Error(`Cannot start health checks: jitter ${jitter} is not in [0, 1)`);
    this.#onChange = opts.onChange ?? (() => {});
    this.#limit = limit;
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.#random = opts.random ?? Math.random;
    this.#run = opts.runCheck ?? realRunCheck;
    this.#jitter = jitter;
  }

  /**
   * Watches exactly `targets` from now on: new ids start (first check after
   * warmup), ids that are gone stop (a check in flight is aborted), ids
   * whose address, port and check are unchanged keep their state and
   * schedule, and ids whose probe changed restart their checks keeping
   * their current up/down state.
   *
   * @throws {Error} on a duplicate id or after stop(); nothing is changed then.
   */
  update(targets: readonly HealthTarget[]): void {
    if (this.#stopped) throw new Error("Cannot update health checks: the monitor is stopped");
    const seen = new Set<string>();
    for (const t of targets) {
      if (seen.has(t.id)) {
        throw new Error(`Cannot update health checks: target id ${JSON.stringify(t.id)} is listed twice`);
      }
      seen.add(t.id);
    }
    for (const [id, e] of this.#entries) {
      if (!seen.has(id)) this.#remove(e);
    }
    for (const t of targets) {
      const key = stableJson({ address: t.address, port: t.port, check: t.check });
      const old = this.#entries.get(t.id);
      if (old && old.key === key) {
        old.target = t;
        continue;
      }
      const tm = timing(t.check);
      const state: HealthState = old
        ? { up: old.state.up, detail: "check changed, not checked yet" }
        : { up: !tm.alpha, detail: tm.alpha ? "alpha: down until the first success" : "not checked yet" };
      if (old) this.#remove(old);
      const e: Entry = {
        target: t,
        key,
        timing: tm,
        state,
        hasRun: false,
        retryIt: tm.retry,
        queued: false,
        removed: false,
      };
      this.#entries.set(t.id, e);
      if (old?.state.up && old.state.weight !== undefined) this.#emit(e);
      this.#schedule(e, tm.warmupMs * this.#random());
    }
  }

  /** A dest's current health, or undefined when it is not watched. */
  state(id: string): HealthState | undefined {
    const e = this.#entries.get(id);
    return e ? { ...e.state } : undefined;
  }

  /** Every watched dest's health. */
  states(): Map<string, HealthState> {
    return new Map([...this.#entries].map(([id, e]) => [id, { ...e.state }]));
  }

  /** Checks running now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Stops every timer, aborts every check in flight, and resolves once they have all ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const e of this.#entries.values()) this.#remove(e);
    this.#entries.clear();
    await Promise.all([...this.#inFlight]);
  }

  #remove(e: Entry): void {
    e.removed = true;
    if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
    e.timer = undefined;
    e.running?.abort(new Error("health check removed"));
    if (e.queued) {
      const i = this.#queue.indexOf(e);
      if (i >= 0) this.#queue.splice(i, 1);
      e.queued = false;
    }
    if (this.#entries.get(e.target.id) === e) this.#entries.delete(e.target.id);
  }

  #schedule(e: Entry, ms: number): void {
    e.timer = this.#timers.setTimeout(() => {
      e.timer = undefined;
      if (e.removed) return;
      if (this.#inFlight.size < this.#limit) this.#start(e);
      else {
        e.queued = true;
        this.#queue.push(e);
      }
    }, ms);
  }

  #start(e: Entry): void {
    const ac = new AbortController();
    e.running = ac;
    // Wrapped so that a probe that throws synchronously is a failed check, not a crashed timer.
    const probe =
      (async () => await this.#run(e.target.check, { address: e.target.address, port: e.target.port }, ac.signal))();
    const done: Promise<void> = probe
      .then(
        (res) => res,
        (err): CheckResult => ({ up: false, detail: `check failed: ${err instanceof Error ? err.message : err}` }),
      )
      .then((res) => {
        this.#inFlight.delete(done);
        e.running = undefined;
        if (!e.removed && !ac.signal.aborted) this.#apply(e, res);
        this.#pump();
      });
    this.#inFlight.add(done);
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight.size < this.#limit && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      next.queued = false;
      if (!next.removed) this.#start(next);
    }
  }

  /** keepalived's checker epilog (tcp_epilog, check_tcp.c), then the next check. */
  #apply(e: Entry, res: CheckResult): void {
    const t = e.timing;
    const s = e.state;
    let delay = t.delayLoopMs;
    let changed = false;
    if (res.up) {
      e.retryIt = 0;
      if (!s.up) changed = true;
      if (s.up && s.weight !== res.weight) changed = true;
      s.up = true;
      s.weight = res.weight;
    } else if ((s.up || !e.hasRun) && e.retryIt >= t.retry) {
      e.retryIt = 0;
      if (s.up) changed = true;
      s.up = false;
      s.weight = undefined;
    } else if (s.up) {
      delay = t.delayBeforeRetryMs;
      e.retryIt++;
    }
    e.hasRun = true;
    s.detail = res.detail;
    if (changed) this.#emit(e);
    if (!e.removed) this.#schedule(e, delay * (1 - this.#jitter * this.#random()));
  }

  #emit(e: Entry): void {
    try {
      this.#onChange(e.target.id, { ...e.state });
    } catch (err) {
      // A listener's bug must not stop the checks; say so where an operator looks.
      console.error(`health: onChange for ${e.target.id} threw: ${err instanceof Error ? err.message : err}`);
    }
  }
}

/** JSON with object keys sorted, so equal specs compare equal whatever their key order. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(v);
}
