/**
 * The data plane's clock: CLOCK_MONOTONIC_COARSE in milliseconds, so that
 * connection timeouts neither fire all at once nor stall when the wall clock
 * is stepped (NTP, VM resume). Workers read it without allocating: each call
 * stores a `struct timespec` (a vDSO read) at a fixed place in the shared
 * memory, where the WASM reads it; Date.now() would box a double per batch.
 * The supervisor reads the same clock with monotonicMs().
 */
import { addressOf, CLOCK_MONOTONIC_COARSE, clockGettime, pointerAt } from "./libc.ts";

/** See the module doc. */
export class CoarseClock {
  #ptr: Deno.PointerObject;

  /** `offset`: where in `memory` the 16-byte timespec goes. */
  constructor(memory: WebAssembly.Memory, offset: number) {
    this.#ptr = pointerAt(addressOf(new Uint8Array(memory.buffer)) + offset);
  }

  /** Stores the current time at the clock's offset. */
  read(): void {
    clockGettime(CLOCK_MONOTONIC_COARSE, this.#ptr);
  }
}

const ts = new BigInt64Array(2);
const tsPtr = pointerAt(addressOf(new Uint8Array(ts.buffer)));

/** The data plane's clock in milliseconds (not the wall clock: compare, do not display). */
export function monotonicMs(): number {
  clockGettime(CLOCK_MONOTONIC_COARSE, tsPtr);
  return Number(ts[0]) * 1000 + Math.floor(Number(ts[1]) / 1e6);
}
