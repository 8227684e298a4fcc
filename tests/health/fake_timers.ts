/**
 * A fake clock for HealthMonitor tests: timers fire only when the test
 * advances time, in due order, with pending promise callbacks run after
 * each one, so a test can step through hours of checks in milliseconds.
 */

import type { HealthTimers } from "../../src/health/monitor.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** See the module doc. */
export class FakeTimers implements HealthTimers {
  now = 0;
  #next = 1;
  #timers = new Map<number, Timer>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { id, at: this.now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Fires every timer due up to now + ms, in order, settling promises after each. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    while (true) {
      let first: Timer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= end && (!first || t.at < first.at || (t.at === first.at && t.id < first.id))) first = t;
      }
      if (!first) break;
      this.#timers.delete(first.id);
      this.now = first.at;
      first.fn();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

/** Lets chains of resolved promises run to the end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
