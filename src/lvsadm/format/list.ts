/**
 * `ipvsadm -L` / `-l` (list_all, list_service, print_title and
 * print_service_entry in ipvsadm.c 1.31): the header, one of the column
 * titles, then each service and its dests, in ipvsadm's printf layouts.
 *
 * When several listing options are given, ipvsadm's order of precedence
 * holds: --stats, then --rate, --thresholds, --persistent-conn, --tun-info.
 *
 * @module
 */

import type { HealthView, ServiceView, StatusView } from "../../api/model.ts";
import { schedFlagsText } from "./flags.ts";
import { addrPort, type Names, NUMERIC } from "./names.ts";
import { largenum, u64 } from "./number.ts";
import { cmpDests, cmpServices, glibcMergeSort } from "./sort.ts";
import { cut, left, right } from "./text.ts";
import { type DestRow, readService, type ServiceRow } from "./view.ts";

/** ipvsadm's listing options. */
export interface ListOptions {
  /** -n: numbers, not names. */
  numeric: boolean;
  /** --exact: whole counters, not K/M/G/T. */
  exact: boolean;
  /** --stats. */
  stats: boolean;
  /** --rate. */
  rate: boolean;
  /** --thresholds. */
  thresholds: boolean;
  /** --persistent-conn. */
  persistentConn: boolean;
  /** --sort (ipvsadm's default); false is --nosort. */
  sort: boolean;
  /** --tun-info (ipvsadm 1.30+): each dest's tunnel type, port and checksum mode. */
  tunInfo?: boolean;
  /**
   * --health (lvsd only): a last column with each dest's health check state,
   * and "quorum down" after a service that lost its quorum. Off, the layout
   * is ipvsadm's byte for byte.
   */
  health?: boolean;
}

/**
 * What the health column says, by service key and dest key (from
 * `GET /v1/health`): "up", "down", "-" (not checked); a dest of the running
 * table that the checks do not know is the sorry server ("sorry").
 */
export interface HealthColumn {
  dest(serviceKey: string, destKey: string): string;
  quorumDown(serviceKey: string): boolean;
}

/** The health column from `GET /v1/health` (undefined or empty: no health layer, every dest "-"). */
export function healthColumn(view: HealthView | undefined): HealthColumn {
  const services = new Map((view?.services ?? []).map((s) => [s.key, s]));
  return {
    dest(serviceKey, destKey) {
      const s = services.get(serviceKey);
      if (!s) return "-";
      const d = s.dests.find((x) => x.key === destKey);
      if (!d) return "sorry";
      return d.state === "unchecked" ? "-" : d.state;
    },
    quorumDown: (serviceKey) => services.get(serviceKey)?.quorum_up === false,
  };
}

const NO_HEALTH = healthColumn(undefined);

/** `ipvsadm -L` with no list option: names resolved, the plain columns, sorted (sorting is ipvsadm 1.3x's default). */
export const PLAIN_LIST: Readonly<ListOptions> = Object.freeze({
  numeric: false,
  exact: false,
  stats: false,
  rate: false,
  thresholds: false,
  persistentConn: false,
  sort: true,
});

/** protocol_name in ipvsadm.c. */
export function protocolName(proto: string): string {
  return ({ tcp: "TCP", udp: "UDP", sctp: "SCTP" } as Record<string, string>)[proto] ?? "?";
}

/** fwd_name in ipvsadm.c. */
const FORWARD_NAMES = { masq: "Masq", route: "Route", tunnel: "Tunnel" } as const;

/** The services in listing order: sorted as ipvsadm sorts, or as the API gave them. */
export function serviceOrder(rows: ServiceRow[], sort: boolean): ServiceRow[] {
  return sort ? glibcMergeSort(rows, cmpServices) : rows;
}

/**
 * A service's dests in listing order: sorted as ipvsadm sorts, or (--nosort)
 * newest first, as IPVS keeps them (ip_vs_add_dest adds at the head of the
 * list) while the API lists them in the order they were added.
 */
export function destOrder(s: ServiceRow, sort: boolean): DestRow[] {
  return sort ? glibcMergeSort(s.dests, cmpDests) : [...s.dests].reverse();
}

/** print_title. */
export function title(opts: ListOptions): string {
  const prot = left("Prot LocalAddress:Port", 33);
  const under = "  -> RemoteAddress:Port\n";
  if (opts.stats) {
    return `${prot} ${
      ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"].map((c) => right(c, 8)).join(" ")
    }\n${under}`;
  }
  if (opts.rate) {
    return `${prot} ${["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"].map((c) => right(c, 8)).join(" ")}\n${under}`;
  }
  if (opts.thresholds) {
    return `${prot} ${
      ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"].map((c) => left(c, 10)).join(" ")
    }\n${under}`;
  }
  if (opts.persistentConn) {
    return `${prot} ${left("Weight", 9)} ${left("PersistConn", 11)} ${left("ActiveConn", 10)} ${
      left("InActConn", 10)
    }\n${under}`;
  }
  const health = opts.health ? " Health" : "";
  if (opts.tunInfo) {
    return "Prot LocalAddress:Port Scheduler Flags\n" +
      `  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn${health}\n`;
  }
  return "Prot LocalAddress:Port Scheduler Flags\n" +
    `  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn${health}\n`;
}

/**
 * The service column: `"%-4s %s"` of protocol and address:port, cut to 33
 * characters (`svc_name[33] = '\0'`). A service group (lvsd's counterpart
 * of a fwmark service, which ipvsadm shows as `FWM  <mark>`) shows its
 * label whole: cut, it would name nothing.
 */
function serviceName(s: ServiceRow, names: Names): string {
  if (s.groupLabel) return `${left(protocolName(s.proto), 4)} ${s.groupLabel}`;
  return cut(`${left(protocolName(s.proto), 4)} ${addrPort(s.vip, s.port, s.proto, names)}`, 33);
}

/** The service line's scheduler part: " (flags)", " persistent N", " mask M", " ops". */
function schedulerPart(s: ServiceRow): string {
  const flags = schedFlagsText(s.scheduler, s.schedFlags, `service ${s.key}`);
  let text = ` ${s.scheduler}${flags ? ` (${flags})` : ""}`;
  if (s.persistence) {
    text += ` persistent ${s.persistence.timeout}`;
    if (s.persistence.netmask !== "255.255.255.255") text += ` mask ${s.persistence.netmask}`;
  }
  return s.ops ? text + " ops" : text;
}

/** Five print_largenum columns. */
function largenums(values: Record<string, number | bigint>, keys: readonly string[], exact: boolean, what: string) {
  return keys.map((k) => largenum(values[k], exact, `${what}.${k}`)).join("");
}

const STATS = ["conns", "inpkts", "outpkts", "inbytes", "outbytes"] as const;
const RATES = ["cps", "inpps", "outpps", "inbps", "outbps"] as const;

function serviceLine(s: ServiceRow, opts: ListOptions, names: Names, health: HealthColumn): string {
  const name = serviceName(s, names);
  const what = `service ${s.key}`;
  if (opts.stats) return left(name, 33) + largenums({ ...s.stats }, STATS, opts.exact, `${what} stats`) + "\n";
  if (opts.rate) return left(name, 33) + largenums({ ...s.rates }, RATES, opts.exact, `${what} rates`) + "\n";
  const quorum = opts.health && health.quorumDown(s.key) ? " quorum down" : "";
  return name + schedulerPart(s) + quorum + "\n";
}

/** fwd_tun_info (1.30+): "ipip", "gue:PORT:-c", "gre:-c"; "n/a" when not a tunnel. lvsd sends no checksums (-c). */
function tunInfo(d: DestRow): string {
  if (d.forward !== "tunnel") return "n/a";
  if (d.tunType === "gue") return `gue:${d.tunPort}:-c`;
  if (d.tunType === "gre") return "gre:-c";
  return "ipip";
}

function destLine(s: ServiceRow, d: DestRow, opts: ListOptions, names: Names, health: HealthColumn): string {
  const name = `  -> ${left(cut(addrPort(d.address, d.port, s.proto, names), 28), 28)}`;
  const what = `service ${s.key} dest ${d.address}:${d.port}`;
  if (opts.stats) return name + largenums({ ...d.stats }, STATS, opts.exact, `${what} stats`) + "\n";
  if (opts.rate) {
    // ipvsadm prints a dest's CPS, InPPS and OutPPS with "%8llu" (never
    // scaled, --exact or not) and only its byte rates with print_largenum.
    const plain = (["cps", "inpps", "outpps"] as const).map((k) =>
      ` ${right(u64(d.rates[k], `${what} rates.${k}`), 8)}`
    );
    return name + plain.join("") + largenums({ ...d.rates }, ["inbps", "outbps"], opts.exact, `${what} rates`) + "\n";
  }
  if (opts.thresholds) {
    return `${name} ${[d.uThreshold, d.lThreshold, d.active, d.inactive].map((n) => left(n, 10)).join(" ")}\n`;
  }
  if (opts.persistentConn) {
    return `${name} ${left(d.weight, 9)} ${left(d.persistent, 11)} ${left(d.active, 10)} ${left(d.inactive, 10)}\n`;
  }
  const fwd = left(FORWARD_NAMES[d.forward], 7);
  // ipvsadm's last column is padded ("%-10d"): the health word follows the padding.
  const state = opts.health ? ` ${health.dest(s.key, `${d.address}:${d.port}`)}` : "";
  if (opts.tunInfo) {
    return `${name} ${fwd} ${left(tunInfo(d), 13)} ${left(d.weight, 6)} ${left(d.active, 10)} ${
      left(d.inactive, 10)
    }${state}\n`;
  }
  return `${name} ${fwd} ${left(d.weight, 6)} ${left(d.active, 10)} ${left(d.inactive, 10)}${state}\n`;
}

/** print_service_entry: the service line, then its dests. */
function serviceEntry(s: ServiceRow, opts: ListOptions, names: Names, health: HealthColumn): string {
  return serviceLine(s, opts, names, health) +
    destOrder(s, opts.sort).map((d) => destLine(s, d, opts, names, health)).join("");
}

/**
 * `ipvsadm -L [options]` (list_all): "IP Virtual Server version V (size=N)",
 * the column titles, then every service.
 */
export function formatList(
  status: Pick<StatusView, "ipvs_version" | "conn_table_size">,
  services: ServiceView[],
  opts: ListOptions,
  names: Names,
  health: HealthColumn = NO_HEALTH,
): string {
  const n = opts.numeric ? NUMERIC : names;
  const rows = serviceOrder(services.map(readService), opts.sort);
  return `IP Virtual Server version ${status.ipvs_version} (size=${status.conn_table_size})\n` + title(opts) +
    rows.map((s) => serviceEntry(s, opts, n, health)).join("");
}

/** `ipvsadm -L -t|-u service [options]` (list_service): the column titles and that service, no version line. */
export function formatService(
  service: ServiceView,
  opts: ListOptions,
  names: Names,
  health: HealthColumn = NO_HEALTH,
): string {
  return title(opts) + serviceEntry(readService(service), opts, opts.numeric ? NUMERIC : names, health);
}
