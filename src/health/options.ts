/**
 * Check options: keepalived's defaults, resolved to milliseconds, and the
 * validation that turns a bad option into an issue naming it and why.
 *
 * Defaults, as keepalived sets them (acassen/keepalived, keepalived/check/):
 * - delay_loop 60 s: KEEPALIVED_DEFAULT_DELAY (include/check_data.h).
 * - connect_timeout 5 s: alloc_vs, `connection_to = 5 * TIMER_HZ` (check_data.c).
 * - retry 1 (queue_checker in check_api.c), DNS 3 (DNS_DEFAULT_RETRY,
 *   check_dns.h), MISC 0 (misc_check_handler, check_misc.c).
 * - delay_before_retry 1 s (queue_checker), HTTP/SSL 3 s (http_get_handler,
 *   check_http.c), DNS delay_loop (dns_check_handler sets 0, which
 *   check_data.c's defaulting turns into delay_loop).
 * - warmup = delay_loop when not given (check_data.c: `checker->warmup =
 *   rs->warmup != ULONG_MAX ? rs->warmup : checker->delay_loop`), so by
 *   default first checks spread over one delay_loop.
 * - misc_timeout = delay_loop when not given (misc_check_thread).
 *
 * One lvsd difference: UDP_CHECK's max_reply_length defaults to 65535, not
 * 255, because lvsd always waits for a reply (see udp.ts) where keepalived
 * applies the length limits only with require_reply.
 *
 * @module
 */

import { parseHex } from "./hex.ts";
import { encodeName } from "./dns_packet.ts";
import { parseStatusCodes } from "./status_codes.ts";
import { CHECK_KINDS, type CheckKind, type CheckSpec, type CommonOptions, DNS_TYPES } from "./types.ts";

/** The monitor's view of a check's options, in milliseconds. */
export interface Timing {
  delayLoopMs: number;
  connectTimeoutMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  warmupMs: number;
  alpha: boolean;
  inhibitOnFailure: boolean;
}

/** keepalived's defaults, in seconds. */
export const DEFAULTS = {
  delay_loop: 60,
  connect_timeout: 5,
  retry: 1,
  delay_before_retry: 1,
} as const;

const RETRY_BY_KIND: Partial<Record<CheckKind, number>> = { dns: 3, misc: 0 };
const DELAY_BEFORE_RETRY_BY_KIND: Partial<Record<CheckKind, number>> = { http: 3, https: 3 };

/** Resolves the monitor's options of `spec`, defaults applied. */
export function timing(spec: CheckSpec): Timing {
  const delayLoop = spec.delay_loop ?? DEFAULTS.delay_loop;
  const delayBeforeRetry = spec.delay_before_retry ??
    (spec.kind === "dns" ? delayLoop : DELAY_BEFORE_RETRY_BY_KIND[spec.kind] ?? DEFAULTS.delay_before_retry);
  return {
    delayLoopMs: delayLoop * 1000,
    connectTimeoutMs: connectTimeoutMs(spec),
    retry: spec.retry ?? RETRY_BY_KIND[spec.kind] ?? DEFAULTS.retry,
    delayBeforeRetryMs: delayBeforeRetry * 1000,
    warmupMs: (spec.warmup ?? delayLoop) * 1000,
    alpha: spec.alpha ?? false,
    inhibitOnFailure: spec.inhibit_on_failure ?? false,
  };
}

/** connect_timeout in milliseconds (default 5 s). */
export function connectTimeoutMs(opts: CommonOptions): number {
  return (opts.connect_timeout ?? DEFAULTS.connect_timeout) * 1000;
}

/** One bad option: where (`http.status_code`) and why. */
export interface CheckIssue {
  path: string;
  message: string;
}

/** Longest time accepted, in seconds: setTimeout takes at most 2^31−1 ms (~24.8 days). */
export const MAX_SECONDS = 2_000_000;

const COMMON_KEYS = [
  "kind",
  "delay_loop",
  "connect_timeout",
  "retry",
  "delay_before_retry",
  "warmup",
  "alpha",
  "inhibit_on_failure",
];
const KIND_KEYS: Record<CheckKind, string[]> = {
  tcp: [],
  http: ["path", "status_code", "digest", "regex", "regex_no_match", "virtualhost", "enable_sni", "sni_name"],
  https: ["path", "status_code", "digest", "regex", "regex_no_match", "virtualhost", "enable_sni", "sni_name"],
  udp: ["payload", "payload_text", "require_reply", "reply_regex", "min_reply_length", "max_reply_length"],
  dns: ["type", "name", "require_answer"],
  misc: ["misc_path", "misc_timeout", "misc_dynamic"],
};

/**
 * Every problem with a check as configured (empty = valid). `at` prefixes
 * each path, e.g. `services[0].health_check`.
 */
export function validateCheck(value: unknown, at = ""): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const p = (key: string) => (at ? `${at}.${key}` : key);
  const add = (key: string, message: string) => issues.push({ path: p(key), message });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [{ path: at, message: "a health check must be an object with a kind" }];
  }
  const o = value as Record<string, unknown>;
  const kinds = Object.keys(CHECK_KINDS);
  if (typeof o.kind !== "string" || !kinds.includes(o.kind)) {
    add("kind", `${JSON.stringify(o.kind)} is not a check kind (one of ${kinds.join(", ")})`);
    return issues;
  }
  const kind = o.kind as CheckKind;
  const allowed = [...COMMON_KEYS, ...KIND_KEYS[kind]];
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) add(key, `unknown option for a ${kind} check (known: ${allowed.slice(1).join(", ")})`);
  }

  const seconds = (key: string, min: "positive" | "non-negative") => {
    const v = o[key];
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v)) add(key, `${JSON.stringify(v)} is not a number of seconds`);
    else if (min === "positive" ? v <= 0 : v < 0) add(key, `${v} must be ${min === "positive" ? "> 0" : ">= 0"}`);
    else if (v > MAX_SECONDS) add(key, `${v} is longer than ${MAX_SECONDS} s`);
  };
  const int = (key: string, lo: number, hi: number) => {
    const v = o[key];
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      add(key, `${JSON.stringify(v)} is not an integer in ${lo}..${hi}`);
    }
  };
  const bool = (key: string) => {
    if (o[key] !== undefined && typeof o[key] !== "boolean") add(key, `${JSON.stringify(o[key])} is not true or false`);
  };
  const str = (key: string): string | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string") {
      add(key, `${JSON.stringify(v)} is not a string`);
      return undefined;
    }
    return v;
  };
  const headerSafe = (key: string) => {
    const v = str(key);
    if (v !== undefined && (v === "" || hasSpaceOrControl(v))) {
      add(key, `${JSON.stringify(v)} must be non-empty with no spaces or control characters`);
    }
  };
  const regex = (key: string) => {
    const v = str(key);
    if (v === undefined) return;
    try {
      new RegExp(v);
    } catch (e) {
      add(key, `${JSON.stringify(v)} is not a valid regular expression: ${(e as Error).message}`);
    }
  };
  const parsed = (key: string, parse: (s: string) => unknown) => {
    const v = str(key);
    if (v === undefined) return;
    try {
      parse(v);
    } catch (e) {
      add(key, (e as Error).message);
    }
  };

  seconds("delay_loop", "positive");
  seconds("connect_timeout", "positive");
  seconds("delay_before_retry", "non-negative");
  seconds("warmup", "non-negative");
  int("retry", 0, 1_000_000);
  bool("alpha");
  bool("inhibit_on_failure");

  switch (kind) {
    case "http":
    case "https":
      {
        const path = str("path");
        if (path !== undefined && (!path.startsWith("/") || hasSpaceOrControl(path))) {
          add("path", `${JSON.stringify(path)} must start with / and have no spaces or control characters`);
        }
      }
      parsed("status_code", parseStatusCodes);
      parsed("digest", (s) => {
        if (!/^[0-9a-fA-F]{32}$/.test(s)) throw new Error(`${JSON.stringify(s)} is not an MD5 digest (32 hex digits)`);
      });
      regex("regex");
      bool("regex_no_match");
      if (o.regex_no_match === true && o.regex === undefined) add("regex_no_match", "needs regex");
      headerSafe("virtualhost");
      bool("enable_sni");
      headerSafe("sni_name");
      break;
    case "udp":
      parsed("payload", (s) => parseHex(s));
      str("payload_text");
      if (o.payload !== undefined && o.payload_text !== undefined) {
        add("payload_text", "give payload or payload_text, not both");
      }
      parsed("require_reply", (s) => parseHex(s, true));
      regex("reply_regex");
      int("min_reply_length", 0, 65535);
      int("max_reply_length", 0, 65535);
      if (
        typeof o.min_reply_length === "number" && typeof o.max_reply_length === "number" &&
        o.min_reply_length > o.max_reply_length
      ) add("min_reply_length", `${o.min_reply_length} is more than max_reply_length ${o.max_reply_length}`);
      break;
    case "dns": {
      const t = str("type");
      if (t !== undefined && !(t.toUpperCase() in DNS_TYPES)) {
        add("type", `${JSON.stringify(t)} is not a DNS_CHECK type (one of ${Object.keys(DNS_TYPES).join(", ")})`);
      }
      parsed("name", encodeName);
      bool("require_answer");
      break;
    }
    case "misc": {
      const argv = o.misc_path;
      if (
        !Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string" || a.includes("\0")) ||
        argv[0] === ""
      ) add("misc_path", "must be a non-empty list of strings: the program, then its arguments");
      seconds("misc_timeout", "positive");
      bool("misc_dynamic");
      break;
    }
  }
  return issues;
}

/**
 * The spec with DNS `type` upper-cased (keepalived compares it without
 * case), after {@link validateCheck} found no issues.
 *
 * @throws {Error} naming every issue, when the spec is not valid.
 */
export function normaliseCheck(value: unknown): CheckSpec {
  const issues = validateCheck(value);
  if (issues.length > 0) {
    throw new Error(`Cannot use health check: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
  const spec = { ...(value as CheckSpec) };
  if (spec.kind === "dns" && spec.type) spec.type = spec.type.toUpperCase() as typeof spec.type;
  return spec;
}

/** A space or control character would let a value break out of its HTTP header line. */
function hasSpaceOrControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return /\s/.test(s);
}
