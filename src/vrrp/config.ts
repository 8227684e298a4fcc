/**
 * The settings of one VRRP instance as the state machine uses them, with
 * keepalived's names and defaults, checked and normalised the way
 * keepalived's vrrp_complete_instance() (vrrp.c) does it: a contradiction
 * keepalived resolves with a warning is resolved the same way here and the
 * warning returned; a value out of range is an error.
 *
 * @module
 */
import { parseIpv4 } from "./ipv4.ts";
import { V3_MAX_INTERVAL_CS } from "./packet.ts";

/** What a caller may set (keepalived's instance keywords in brackets). */
export interface VrrpInstanceOptions {
  /** [vrrp_version] 3 (RFC 5798) unless 2 (RFC 3768) is selected. */
  version?: 2 | 3;
  /** [virtual_router_id] 1..255. */
  vrid: number;
  /** [priority] 1..255, 255 = address owner; default 100 (keepalived's VRRP_PRIO_DFL). */
  priority?: number;
  /** [advert_int] in ms; default 1000. v3: a multiple of 10 up to 40950; v2: whole seconds 1..255. */
  advertIntervalMs?: number;
  /** [state] the initial state; default master for priority 255, else backup. */
  initialState?: "master" | "backup";
  /** [nopreempt] a higher-priority backup does not take over from a working master. */
  nopreempt?: boolean;
  /** [preempt_delay] in ms, 0..1000000 (keepalived: 0..1000 s); default 0. */
  preemptDelayMs?: number;
  /** Our primary IPv4 address (the adverts' source), the tie-breaker of RFC 5798 §6.4.3. */
  primaryIp: string;
  /** [garp_master_delay] ms after becoming master to send the second set of GARPs; 0 = none; default 5000. */
  garpMasterDelayMs?: number;
  /** [garp_master_repeat] GARPs per VIP in each set; default 5. */
  garpMasterRepeat?: number;
  /** [garp_master_refresh] ms between periodic GARPs while master; 0 = none (default). */
  garpMasterRefreshMs?: number;
  /** [garp_master_refresh_repeat] GARPs per VIP per refresh; default 1. */
  garpMasterRefreshRepeat?: number;
  /**
   * Answer an advert of lower priority at once with our own (keepalived's
   * default, and RFC 9568's); false is keepalived's `lower_prio_no_advert`,
   * the RFC 5798 rule of discarding it.
   */
  answerLowerPriority?: boolean;
}

/** Every setting resolved. */
export type VrrpInstanceConfig = Required<VrrpInstanceOptions>;

function need(ok: boolean, vrid: unknown, what: string): void {
  if (!ok) throw new RangeError(`VRRP instance (VRID ${vrid}): ${what}`);
}

function isInt(v: number, min: number, max: number): boolean {
  return Number.isInteger(v) && v >= min && v <= max;
}

/**
 * Checks `o` and fills in defaults. Throws a RangeError naming the setting
 * when a value is out of range; returns warnings for what keepalived clears.
 */
export function resolveInstanceConfig(o: VrrpInstanceOptions): { config: VrrpInstanceConfig; warnings: string[] } {
  const version = o.version ?? 3;
  need(version === 2 || version === 3, o.vrid, `version ${version} is not 2 or 3`);
  need(isInt(o.vrid, 1, 255), o.vrid, `virtual_router_id ${o.vrid} is not an integer 1..255`);
  const priority = o.priority ?? 100;
  need(isInt(priority, 1, 255), o.vrid, `priority ${priority} is not an integer 1..255`);
  const interval = o.advertIntervalMs ?? 1000;
  if (version === 3) {
    need(
      isInt(interval, 10, V3_MAX_INTERVAL_CS * 10) && interval % 10 === 0,
      o.vrid,
      `advert_int ${interval} ms is not a multiple of 10 ms (centiseconds) from 10 to ${V3_MAX_INTERVAL_CS * 10}`,
    );
  } else {
    need(
      isInt(interval, 1000, 255000) && interval % 1000 === 0,
      o.vrid,
      `advert_int ${interval} ms is not a whole number of seconds from 1 to 255 (VRRP version 2)`,
    );
  }
  try {
    parseIpv4(o.primaryIp);
  } catch (e) {
    need(false, o.vrid, `primary address: ${(e as Error).message}`);
  }
  const ms = (name: string, v: number | undefined, dflt: number, max: number): number => {
    const x = v ?? dflt;
    need(isInt(x, 0, max), o.vrid, `${name} ${x} is not an integer 0..${max}`);
    return x;
  };
  const config: VrrpInstanceConfig = {
    version,
    vrid: o.vrid,
    priority,
    advertIntervalMs: interval,
    initialState: o.initialState ?? (priority === 255 ? "master" : "backup"),
    nopreempt: o.nopreempt ?? false,
    preemptDelayMs: ms("preempt_delay (ms)", o.preemptDelayMs, 0, 1_000_000),
    primaryIp: o.primaryIp,
    garpMasterDelayMs: ms("garp_master_delay (ms)", o.garpMasterDelayMs, 5000, 86_400_000),
    garpMasterRepeat: ms("garp_master_repeat", o.garpMasterRepeat, 5, 1000),
    garpMasterRefreshMs: ms("garp_master_refresh (ms)", o.garpMasterRefreshMs, 0, 86_400_000),
    garpMasterRefreshRepeat: ms("garp_master_refresh_repeat", o.garpMasterRefreshRepeat, 1, 1000),
    answerLowerPriority: o.answerLowerPriority ?? true,
  };
  need(
    config.initialState === "master" || config.initialState === "backup",
    o.vrid,
    `state ${config.initialState} is not MASTER or BACKUP`,
  );

  // The same clearing, in the same order, as keepalived's vrrp_complete_instance().
  const warnings: string[] = [];
  const tag = `VRRP instance (VRID ${o.vrid})`;
  if (config.priority === 255 && config.nopreempt) {
    warnings.push(`${tag}: nopreempt does not apply to the address owner (priority 255) - cleared`);
    config.nopreempt = false;
  }
  if (config.initialState === "master") {
    if (config.nopreempt) {
      warnings.push(`${tag}: nopreempt needs initial state BACKUP - cleared`);
      config.nopreempt = false;
    }
    if (config.preemptDelayMs > 0) {
      warnings.push(`${tag}: preempt_delay needs initial state BACKUP - cleared`);
      config.preemptDelayMs = 0;
    }
  }
  if (config.preemptDelayMs > 0 && config.nopreempt) {
    warnings.push(`${tag}: preempt_delay has no meaning with nopreempt - cleared`);
    config.preemptDelayMs = 0;
  }
  return { config, warnings };
}
