/**
 * The checker of each kind, by name, and {@link runCheck}, which runs the
 * one a spec names.
 *
 * @module
 */

import { checkDns } from "./dns.ts";
import { checkHttp, checkHttps } from "./http.ts";
import { checkMisc } from "./misc.ts";
import { checkTcp } from "./tcp.ts";
import { checkUdp } from "./udp.ts";
import type { CheckKind, CheckResult, CheckSpec, CheckTarget } from "./types.ts";

/** One probe for a spec; the monitor's only view of the checkers (tests substitute it). */
export type RunCheck = (spec: CheckSpec, target: CheckTarget, signal: AbortSignal) => Promise<CheckResult>;

/** Each kind's checker. */
export const CHECKERS: { [K in CheckKind]: RunCheck } = {
  tcp: (s, t, sig) => checkTcp(t, s, sig),
  http: (s, t, sig) => checkHttp(t, s as Extract<CheckSpec, { kind: "http" }>, sig),
  https: (s, t, sig) => checkHttps(t, s as Extract<CheckSpec, { kind: "https" }>, sig),
  udp: (s, t, sig) => checkUdp(t, s as Extract<CheckSpec, { kind: "udp" }>, sig),
  dns: (s, t, sig) => checkDns(t, s as Extract<CheckSpec, { kind: "dns" }>, sig),
  misc: (s, t, sig) => checkMisc(t, s as Extract<CheckSpec, { kind: "misc" }>, sig),
};

/** Runs the checker `spec.kind` names; never throws (a bug in a checker is a down with its message). */
export async function runCheck(spec: CheckSpec, target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
  const fn = CHECKERS[spec.kind];
  if (!fn) return { up: false, detail: `unknown check kind ${JSON.stringify((spec as { kind: unknown }).kind)}` };
  try {
    return await fn(spec, target, signal);
  } catch (e) {
    return { up: false, detail: `check failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
