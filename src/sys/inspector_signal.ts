/**
 * Deno (since 2.9.2, like Node.js) starts its inspector on 127.0.0.1:9229
 * when the process receives SIGUSR1. lvsd runs as root, so that would hand
 * any local user who can reach the port code execution as root the moment
 * someone sends the daemon SIGUSR1 (an operator's habit from other
 * daemons is enough). Deno installs its handler about 500 ms after start;
 * lvsd sets SIGUSR1 to "ignore" once that has happened, so the signal does
 * nothing at all. Listings and counters use SIGUSR2 instead.
 */
import { ignoreSignal, SIGUSR1 } from "./libc.ts";

/** After Deno's grace period, with margin. */
const AFTER_MS = 1000;

/** Ignores SIGUSR1 from about a second after start, for the rest of the process's life. */
export function disableInspectorSignal(): void {
  const t = setTimeout(() => ignoreSignal(SIGUSR1), AFTER_MS);
  Deno.unrefTimer(t);
}
