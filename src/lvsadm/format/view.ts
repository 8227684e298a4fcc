/**
 * Reads the API's service and dest views (src/api/model.ts: config keys in
 * snake_case plus run-time numbers) into the typed rows the formatters
 * print. A view that lacks a key or has one of the wrong type is an error
 * that names the service (or dest), the key and what was found, so a
 * mismatched daemon is reported rather than printed as garbage.
 *
 * @module
 */

import type { DestView, RatesView, ServiceView, StatsView } from "../../api/model.ts";
import { MH_DEFAULT_TABLE_SIZE } from "../../dataplane/maglev.ts";
import { formatIpv4, parseIpv4, parseVipMember } from "../../config/members.ts";

/** Forwarding methods (ipvsadm -m, -g, -i). */
export type Forward = "masq" | "route" | "tunnel";
/** Tunnel encapsulations (ipvsadm 1.30+ --tun-type; uapi IP_VS_CONN_F_TUNNEL_TYPE_*). */
export type TunType = "ipip" | "gue" | "gre";

/** One dest, ready to print. */
export interface DestRow {
  address: string;
  /** The address, host order, for sorting. */
  addrNum: number;
  port: number;
  forward: Forward;
  tunType: TunType;
  tunPort: number;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  active: number;
  inactive: number;
  persistent: number;
  stats: StatsView;
  rates: RatesView;
}

/** One service, ready to print. */
export interface ServiceRow {
  key: string;
  proto: string;
  /** The address (a group: its first address), IPv4, host order, for sorting. */
  addrNum: number;
  vip: string;
  /** The port (a group: its first port). */
  port: number;
  /** A service group's label (`vips:ports`, as serviceLabel in config/members.ts), null for one vip and port. */
  groupLabel: string | null;
  scheduler: string;
  persistence: { timeout: number; netmask: string } | null;
  ops: boolean;
  schedFlags: string[];
  /** mh's table size when it is not the default 4093 (an lvsd extension), else null. */
  mhTableSize: number | null;
  stats: StatsView;
  rates: RatesView;
  /** In the API's order (the order they were added). */
  dests: DestRow[];
}

const FORWARDS: readonly string[] = ["masq", "route", "tunnel"];
const TUN_TYPES: readonly string[] = ["ipip", "gue", "gre"];

function shown(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v) ?? String(v);
}

/** Reads typed keys of one view object, naming it in errors. */
class Reader {
  constructor(private readonly obj: Record<string, unknown>, private readonly where: string) {}

  fail(key: string, expected: string): never {
    throw new TypeError(`${this.where}: "${key}" must be ${expected}, got ${shown(this.obj[key])}`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  string(key: string): string {
    const v = this.obj[key];
    return typeof v === "string" ? v : this.fail(key, "a string");
  }

  uint(key: string, fallback?: number): number {
    const v = this.obj[key];
    if (v === undefined && fallback !== undefined) return fallback;
    return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : this.fail(key, "a non-negative integer");
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return fallback;
    return typeof v === "boolean" ? v : this.fail(key, "true or false");
  }

  ipv4(key: string): string {
    const v = this.string(key);
    return parseIpv4(v) !== null ? v : this.fail(key, "an IPv4 address");
  }

  oneOf(key: string, values: readonly string[], fallback?: string): string {
    const v = this.obj[key];
    if (v === undefined && fallback !== undefined) return fallback;
    return typeof v === "string" && values.includes(v) ? v : this.fail(key, `one of ${values.join(", ")}`);
  }

  record(key: string): Record<string, unknown> {
    const v = this.obj[key];
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? v as Record<string, unknown>
      : this.fail(key, "an object");
  }

  list(key: string): unknown[] {
    const v = this.obj[key];
    return Array.isArray(v) ? v : this.fail(key, "a list");
  }

  /** Five numbers (stats or rates); each is checked when printed. */
  five<T>(key: string, names: readonly string[]): T {
    const r = this.record(key);
    for (const n of names) {
      if (typeof r[n] !== "number" && typeof r[n] !== "bigint") {
        this.fail(key, `an object with numbers ${names.join(", ")}`);
      }
    }
    return r as T;
  }
}

const STATS_KEYS = ["conns", "inpkts", "outpkts", "inbytes", "outbytes"] as const;
const RATES_KEYS = ["cps", "inpps", "outpps", "inbps", "outbps"] as const;

function readDest(view: DestView, where: string): DestRow {
  const r = new Reader(view as Record<string, unknown>, where);
  const forward = r.oneOf("forward", FORWARDS) as Forward;
  const address = r.ipv4("address");
  // A tunnel dest without tun_type is ipip (the kernel's type 0); gue needs its port.
  const tunType = (forward === "tunnel" ? r.oneOf("tun_type", TUN_TYPES, "ipip") : "ipip") as TunType;
  return {
    address,
    addrNum: parseIpv4(address) ?? 0,
    port: r.uint("port"),
    forward,
    tunType,
    tunPort: tunType === "gue" ? r.uint("tun_port") : 0,
    weight: r.uint("weight"),
    uThreshold: r.uint("u_threshold", 0),
    lThreshold: r.uint("l_threshold", 0),
    active: r.uint("active_conns"),
    inactive: r.uint("inact_conns"),
    persistent: r.uint("persist_conns"),
    stats: r.five<StatsView>("stats", STATS_KEYS),
    rates: r.five<RatesView>("rates", RATES_KEYS),
  };
}

/** The members of a group as the config writes them: `vips` items, `ports` items (80 or "8000-8099"). */
function groupOf(r: Reader): { vips: string[]; ports: string[] } | null {
  if (!r.has("vips") && !r.has("ports")) return null;
  const vips = r.has("vips") ? r.list("vips") : [r.ipv4("vip")];
  const ports = r.has("ports") ? r.list("ports") : [r.uint("port")];
  if (vips.length === 0 || !vips.every((v) => typeof v === "string" && "range" in parseVipMember(v))) {
    r.fail("vips", "a list of addresses, ranges and CIDRs");
  }
  if (ports.length === 0 || !ports.every((p) => typeof p === "number" || typeof p === "string")) {
    r.fail("ports", "a list of ports and port ranges");
  }
  return { vips: vips as string[], ports: ports.map(String) };
}

/** A service view as a row; throws a TypeError naming the service and key when the view is not as model.ts says. */
export function readService(view: ServiceView): ServiceRow {
  const key = typeof view.key === "string" ? view.key : "(a service without a key)";
  const where = `service ${key}`;
  const r = new Reader(view as Record<string, unknown>, where);
  const group = groupOf(r);
  let vip: string;
  let port: number;
  if (group) {
    const first = parseVipMember(group.vips[0]);
    // groupOf checked every member parses.
    vip = "range" in first ? formatIpv4(first.range.first) : group.vips[0];
    port = Number(/^\d+/.exec(group.ports[0])?.[0] ?? 0);
  } else {
    vip = r.ipv4("vip");
    port = r.uint("port");
  }
  const scheduler = r.string("scheduler");
  let persistence: ServiceRow["persistence"] = null;
  if (view.persistence !== undefined && view.persistence !== null) {
    const p = new Reader(r.record("persistence"), `${where} persistence`);
    persistence = { timeout: p.uint("timeout"), netmask: p.ipv4("netmask") };
  }
  const flags = view.sched_flags === undefined ? [] : r.list("sched_flags");
  if (!flags.every((f) => typeof f === "string")) r.fail("sched_flags", "a list of flag names");
  const mh = scheduler === "mh" ? r.uint("mh_table_size", MH_DEFAULT_TABLE_SIZE) : MH_DEFAULT_TABLE_SIZE;
  return {
    key,
    proto: r.string("proto").toLowerCase(),
    addrNum: parseIpv4(vip) ?? 0,
    vip,
    port,
    groupLabel: group ? `${group.vips.join(",")}:${group.ports.join(",")}` : null,
    scheduler,
    persistence,
    ops: r.bool("ops", false),
    schedFlags: flags as string[],
    mhTableSize: mh === MH_DEFAULT_TABLE_SIZE ? null : mh,
    stats: r.five<StatsView>("stats", STATS_KEYS),
    rates: r.five<RatesView>("rates", RATES_KEYS),
    dests: r.list("dests").map((d, i) => {
      if (d === null || typeof d !== "object") r.fail("dests", "a list of dest objects");
      const dk = typeof (d as DestView).key === "string" ? (d as DestView).key : `#${i}`;
      return readDest(d as DestView, `${where} dest ${dk}`);
    }),
  };
}
