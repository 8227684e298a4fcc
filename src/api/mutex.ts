/**
 * A lock for async critical sections: each holder runs after the previous
 * one settles, in the order they asked.
 *
 * @module
 */

/** Runs async functions one at a time. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every earlier `run` has settled; resolves or rejects as `fn` does. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(fn);
    // The next holder waits for this one to settle, whether it failed or not.
    this.#tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
