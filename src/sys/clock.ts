/**
 * A wall clock the data plane reads without allocating: each call stores a
 * `struct timespec` (CLOCK_REALTIME_COARSE, a vDSO read) at a fixed place in
 * the shared memory, where the WASM reads it. Date.now() would box a double
 * on every batch.
 */
import { addressOf, CLOCK_REALTIME_COARSE, clockGettime, pointerAt } from "./libc.ts";

/** See the module doc. */
export class CoarseClock {
  #ptr: Deno.PointerObject;

  /** `offset`: where in `memory` the 16-byte timespec goes. */
  constructor(memory: WebAssembly.Memory, offset: number) {
    this.#ptr = pointerAt(addressOf(new Uint8Array(memory.buffer)) + offset);
  }

  /** Stores the current time at the clock's offset. */
  read(): void {
    clockGettime(CLOCK_REALTIME_COARSE, this.#ptr);
  }
}
