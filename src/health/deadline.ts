/**
 * One probe's time limit: keepalived's connect_timeout is the whole probe
 * (connect, request, reply), so a probe runs under one deadline that also
 * follows the caller's abort. Every checker closes its socket or process
 * when {@link Deadline.signal} fires; the pending I/O then fails and the
 * checker reports why through {@link Deadline.explain}.
 *
 * @module
 */

/** A time limit joined with an outer abort; dispose it to clear the timer. */
export class Deadline implements Disposable {
  /** Aborts when the time is up or the outer signal aborts. */
  readonly signal: AbortSignal;
  readonly #ctl = new AbortController();
  readonly #outer: AbortSignal;
  readonly #ms: number;
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #onOuter = () => this.#ctl.abort(new Error("check aborted"));
  #timedOut = false;

  /** `ms`: the limit in milliseconds from now. */
  constructor(outer: AbortSignal, ms: number) {
    this.signal = this.#ctl.signal;
    this.#outer = outer;
    this.#ms = ms;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#ctl.abort(new Error(`timed out after ${formatSeconds(ms)}`));
    }, ms);
    if (outer.aborted) this.#onOuter();
    else outer.addEventListener("abort", this.#onOuter, { once: true });
  }

  /** The time limit fired (as opposed to the caller aborting). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /**
   * Waits for `p`, but rejects as soon as the deadline fires. `p` is left to
   * settle on its own (its rejection is swallowed): the caller closes what
   * `p` waits on, which is what ends it. If `p` resolves after the deadline
   * won, its value is handed to `lost` (e.g. a socket to close), so nothing
   * opened late leaks.
   */
  race<T>(p: Promise<T>, lost?: (value: T) => void): Promise<T> {
    let settled = false;
    p.then((v) => {
      if (settled) lost?.(v);
    }, () => {});
    if (this.signal.aborted) {
      settled = true;
      return Promise.reject(this.signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        settled = true;
        reject(this.signal.reason);
      };
      this.signal.addEventListener("abort", onAbort, { once: true });
      p.then((v) => {
        if (settled) return;
        settled = true;
        resolve(v);
      }, (e) => {
        if (settled) return;
        settled = true;
        reject(e);
      }).finally(() => this.signal.removeEventListener("abort", onAbort));
    });
  }

  /** Why the probe failed: the deadline's reason once it fired, else the error's message. */
  explain(e: unknown, what = ""): string {
    if (this.signal.aborted) {
      const r = this.signal.reason;
      return (what ? `${what}: ` : "") + (r instanceof Error ? r.message : String(r));
    }
    return (what ? `${what}: ` : "") + describeError(e);
  }

  /** The limit this deadline was made with, in milliseconds. */
  get ms(): number {
    return this.#ms;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#outer.removeEventListener("abort", this.#onOuter);
  }
}

/** A socket error as a log phrase: "connection refused", not a stack. */
export function describeError(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (e instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (e instanceof Deno.errors.ConnectionAborted) return "connection aborted";
  if (e instanceof Deno.errors.TimedOut) return "timed out";
  if (e instanceof Deno.errors.NetworkUnreachable) return "network unreachable";
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ECONNRESET") return "connection reset";
    return e.message.split("\n")[0] || e.name;
  }
  return String(e);
}

/** 5000 → "5 s", 250 → "0.25 s". */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
