/**
 * The counters of `lvsd decap`, shared between the receive worker (the only
 * writer) and the main thread (which prints them on SIGUSR2 and at exit).
 *
 * Every received packet is counted once in `received` and once in exactly
 * one of the others, so received = decapsulated + the drops + write_error.
 *
 * @module
 */
import type { VerdictCode } from "./parse.ts";

/** Counter names, in the order they are printed and stored. */
export const COUNTER_NAMES = [
  "received",
  "decapsulated",
  "not_ipv4_inner",
  "bad_gue_header",
  "not_for_vip",
  "truncated",
  "write_error",
] as const;

/** A counter name. */
export type CounterName = typeof COUNTER_NAMES[number];

/** Index of `received`. */
export const RECEIVED = 0;
/** Index of `write_error`: an inner packet the TUN device refused. */
export const WRITE_ERROR = 6;

/** The counter a verdict is counted in (`decapsulated` only once the write succeeded). */
export function verdictCounter(v: VerdictCode): number {
  return 1 + v;
}

// Float64 counters (exact to 2^53), then int32 control words.
const CONTROL_OFFSET = 8 * 8;
/** Control word: set to 1 by the main thread to stop the worker. */
export const CONTROL_STOP = 0;
/** Control word: errno of the last failed TUN write, 0 if none. */
export const CONTROL_LAST_WRITE_ERRNO = 1;

/**
 * Counters and control words in one SharedArrayBuffer. The worker stores the
 * counters with plain stores (one writer; aligned 8-byte stores do not tear
 * on x86_64), the control words with Atomics.
 */
export class DecapCounters {
  /** The shared memory, to pass to the worker. */
  readonly buffer: SharedArrayBuffer;
  /** The counters, indexed as {@link COUNTER_NAMES}. */
  readonly values: Float64Array;
  /** The control words. */
  readonly control: Int32Array;

  /** @param buffer the shared memory of an existing instance (in the worker), or none to make one */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(CONTROL_OFFSET + 4 * 4);
    this.values = new Float64Array(this.buffer, 0, COUNTER_NAMES.length);
    this.control = new Int32Array(this.buffer, CONTROL_OFFSET, 4);
  }

  /** Tells the worker to stop (it looks at least every POLL_MS). */
  requestStop(): void {
    Atomics.store(this.control, CONTROL_STOP, 1);
  }

  /** The counters by name. */
  snapshot(): Record<CounterName, number> {
    return Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, this.values[i]])) as Record<CounterName, number>;
  }

  /** One line, `received=N decapsulated=N ... write_error=N` (plus the last write errno, if any). */
  format(errnoName: (code: number) => string): string {
    const line = COUNTER_NAMES.map((n, i) => `${n}=${this.values[i]}`).join(" ");
    const last = Atomics.load(this.control, CONTROL_LAST_WRITE_ERRNO);
    return last ? `${line} (last write error ${errnoName(last)})` : line;
  }
}
