/**
 * Health checks for dests: one checker per kind (TCP, HTTP, HTTPS, UDP,
 * DNS, MISC) with keepalived's options and semantics, and the monitor that
 * runs them for many dests.
 *
 * @module
 */

export { CHECK_KINDS, DNS_TYPES } from "./types.ts";
export type {
  CheckFn,
  CheckKind,
  CheckResult,
  CheckSpec,
  CheckTarget,
  CommonOptions,
  DnsOptions,
  DnsType,
  HttpOptions,
  MiscOptions,
  TcpOptions,
  UdpOptions,
} from "./types.ts";
export { type CheckIssue, DEFAULTS, normaliseCheck, type Timing, timing, validateCheck } from "./options.ts";
export { CHECKERS, type RunCheck, runCheck } from "./checkers.ts";
export { checkTcp } from "./tcp.ts";
export { checkHttp, checkHttps } from "./http.ts";
export { checkUdp } from "./udp.ts";
export { checkDns } from "./dns.ts";
export { checkMisc } from "./misc.ts";
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_JITTER,
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthState,
  type HealthTarget,
  type HealthTimers,
} from "./monitor.ts";
