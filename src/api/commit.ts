/**
 * Changing the running configuration: read it, build the next one, hand
 * that to the director, one change at a time. The read-modify-write runs
 * under a lock so that two requests that arrive together both land (the
 * second edits what the first produced) instead of one overwriting the
 * other.
 *
 * @module
 */

import { type Config, ConfigError } from "../config/mod.ts";
import type { AdminBackend } from "./model.ts";
import { Mutex } from "./mutex.ts";
import { ApiError } from "./problems.ts";

/** What an applied change did. */
export interface Committed {
  /** One note per change, from the director. */
  changes: string[];
  /** The config generation after the change (the new ETag). */
  generation: number;
  /** The config now running. */
  config: Config;
}

/** The ETag of config generation `n` (RFC 9110 section 8.8.3: a quoted opaque tag). */
export function etagOf(generation: number): string {
  return `"${generation}"`;
}

/**
 * Whether an If-Match header value names generation `n` (RFC 9110 section
 * 13.1.1: `*`, or a list of entity tags compared strongly, so a weak tag
 * never matches).
 *
 * @throws {ApiError} 400 for a value that is not a list of entity tags.
 */
export function ifMatchHolds(header: string, generation: number): boolean {
  if (header.trim() === "*") return true;
  const tags = header.split(",").map((t) => t.trim());
  for (const t of tags) {
    if (!/^(?:W\/)?"[^"]*"$/.test(t)) {
      throw new ApiError(
        400,
        `If-Match ${JSON.stringify(header.slice(0, 80))} is not a list of entity tags (e.g. "7")`,
      );
    }
  }
  return tags.includes(etagOf(generation));
}

/** Serialises config changes through one {@link AdminBackend}. */
export class Committer {
  readonly #backend: AdminBackend;
  readonly #lock: Mutex;

  /** `lock`: shared with whatever else changes the director (its SIGHUP reload), so that no change is built on a stale table. */
  constructor(backend: AdminBackend, lock: Mutex = new Mutex()) {
    this.#backend = backend;
    this.#lock = lock;
  }

  /**
   * Builds the next config from the running one with `build` (which may
   * throw to refuse) and applies it, with the lock held throughout.
   * `ifMatch`, when given, must name the running generation.
   *
   * @throws {ApiError} 412 when If-Match does not hold; 422 when the director refuses the config.
   */
  change(build: (current: Config) => Config, ifMatch?: string): Promise<Committed> {
    return this.#lock.run(async () => {
      if (ifMatch !== undefined) {
        const generation = this.#backend.status().generation;
        if (!ifMatchHolds(ifMatch, generation)) {
          throw new ApiError(
            412,
            `the config changed: it is generation ${etagOf(generation)}, If-Match asked for ${ifMatch.slice(0, 80)}`,
          );
        }
      }
      const next = build(this.#backend.config());
      let changes: string[];
      try {
        changes = await this.#backend.apply(next);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const errors = e.issues.map((i) => ({ path: i.path, message: i.message }));
        throw new ApiError(422, `the director refused the config: ${e.message}`, { errors });
      }
      return { changes, generation: this.#backend.status().generation, config: next };
    });
  }
}
