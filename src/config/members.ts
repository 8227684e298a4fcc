/**
 * Service group members: the VIPs and ports one service answers on.
 *
 * A service group (the userspace counterpart of an IPVS fwmark service and
 * of keepalived's virtual_server_group) is one service — one dest list, one
 * scheduler state, one set of counters — reached at several VIPs and ports.
 * Its `vips:` items are an address, a range ("10.0.0.1-10.0.0.20", or
 * keepalived's last-octet form "10.0.0.1-20") or a CIDR ("10.0.0.0/28");
 * its `ports:` items are a port or a range ("8000-8099").
 *
 * Pure functions only: the config schema, the overlap checks, the
 * supervisor and the table publisher share them.
 *
 * @module
 */

/**
 * Table records one director holds: one per (VIP address, port member) of
 * every service. Equals SVC_RECORDS in wasm/assembly/layout.ts (a test
 * checks), where the stable-id limit MAX_SERVICES is separate.
 */
export const MAX_TABLE_RECORDS = 4096;

/** An inclusive interval of IPv4 addresses, host order. */
export interface AddrRange {
  first: number;
  last: number;
}

/** An inclusive interval of ports; from == to for one port, 0..0 = any port. */
export interface PortRange {
  from: number;
  to: number;
}

/** The members of a service group, normalised. */
export interface ServiceGroup {
  /**
   * VIP members in config order, each normalised: "10.0.0.1", a range in full
   * form "10.0.0.1-10.0.0.20", or a CIDR by its network "10.0.0.0/28".
   */
  vips: string[];
  /** Port members in config order; [{ from: 0, to: 0 }] = any port (port 0). */
  ports: PortRange[];
}

/** What a service's members are read from (ServiceConfig and TableService both fit). */
export interface Membered {
  vip: string;
  port: number;
  group?: ServiceGroup | null;
}

/** Parses dotted-quad IPv4 strictly (no leading zeros: they read as octal). */
export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let n = 0;
  for (const part of m.slice(1)) {
    if (part.length > 1 && part[0] === "0") return null;
    const b = Number(part);
    if (b > 255) return null;
    n = n * 256 + b;
  }
  return n;
}

/** Dotted quad of a host-order address. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Address blocks that cannot be a VIP, and why (RFC 1122 3.2.1.3, RFC 5771, RFC 1112 4). */
const UNUSABLE: Array<[number, number, string]> = [
  [0x00000000, 0x00ffffff, "not a usable address"],
  [0x7f000000, 0x7fffffff, "a loopback address"],
  [0xe0000000, 0xefffffff, "a multicast address"],
  [0xf0000000, 0xffffffff, "a reserved/broadcast address"],
];

/** Why address `n` cannot be a VIP ("a loopback address", ...), or null. */
export function unusableVip(n: number): string | null {
  for (const [lo, hi, why] of UNUSABLE) if (n >= lo && n <= hi) return why;
  return null;
}

/** The lowest address of `r` that cannot be a VIP, with the reason, or null. */
function firstUnusable(r: AddrRange): { addr: number; why: string } | null {
  let best: { addr: number; why: string } | null = null;
  for (const [lo, hi, why] of UNUSABLE) {
    if (r.last < lo || r.first > hi) continue;
    const addr = Math.max(lo, r.first);
    if (!best || addr < best.addr) best = { addr, why };
  }
  return best;
}

/**
 * Parses one `vips:` item. Returns its addresses and normalised text, or
 * why it is not a member.
 */
export function parseVipMember(text: string): { range: AddrRange; normal: string } | { error: string } {
  const bad = { error: `"${text}" is not an IPv4 address, range (a.b.c.d-e.f.g.h or a.b.c.d-h) or CIDR (a.b.c.d/n)` };
  let range: AddrRange;
  const cidr = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const dash = /^([^-]+)-([^-]+)$/.exec(text);
  if (cidr) {
    const net = parseIpv4(cidr[1]);
    const len = Number(cidr[2]);
    if (net === null || len > 32 || (cidr[2].length > 1 && cidr[2][0] === "0")) return bad;
    const size = 2 ** (32 - len);
    if (net % size !== 0) {
      const base = net - (net % size);
      return { error: `${text} has host bits set (the network is ${formatIpv4(base)}/${len})` };
    }
    range = { first: net, last: net + size - 1 };
  } else if (dash) {
    const first = parseIpv4(dash[1]);
    let last: number | null;
    if (/^\d{1,3}$/.test(dash[2])) {
      // keepalived's form: the last octet of the range's end.
      const octet = Number(dash[2]);
      last = first === null || octet > 255 || (dash[2].length > 1 && dash[2][0] === "0")
        ? null
        : first - (first & 255) + octet;
    } else last = parseIpv4(dash[2]);
    if (first === null || last === null) return bad;
    if (last < first) return { error: `${text} is an inverted range (it ends before it starts)` };
    range = { first, last };
  } else {
    const n = parseIpv4(text);
    if (n === null) return bad;
    range = { first: n, last: n };
  }
  const unusable = firstUnusable(range);
  if (unusable) {
    const addr = formatIpv4(unusable.addr);
    return {
      error: range.first === range.last ? `${addr} is ${unusable.why}` : `${text} includes ${addr}, ${unusable.why}`,
    };
  }
  return { range, normal: vipMemberText(range, cidr ? Number(cidr[2]) : null) };
}

/** The normalised text of a VIP member (a CIDR keeps its form unless it is one address). */
function vipMemberText(r: AddrRange, prefix: number | null): string {
  if (r.first === r.last) return formatIpv4(r.first);
  if (prefix !== null) return `${formatIpv4(r.first)}/${prefix}`;
  return `${formatIpv4(r.first)}-${formatIpv4(r.last)}`;
}

/** The addresses of a normalised VIP member (as parseVipMember produced it). */
export function vipMemberRange(normal: string): AddrRange {
  const r = parseVipMember(normal);
  if ("error" in r) throw new Error(`Cannot read VIP member "${normal}": ${r.error}`);
  return r.range;
}

/**
 * Parses one `ports:` item: a port 1..65535 or a string "from-to". Port 0
 * (any port) is a service of its own (`port: 0`), never a member.
 */
export function parsePortMember(v: unknown): PortRange | { error: string } {
  const inRange = (p: number) => p >= 1 && p <= 65535;
  if (typeof v === "number") {
    if (v === 0) return { error: "port 0 (any port) cannot be a member of ports; use port: 0 instead" };
    if (!Number.isInteger(v)) return { error: `expected a port or a "from-to" range, got ${v}` };
    if (!inRange(v)) return { error: `${v} is out of range (1..65535)` };
    return { from: v, to: v };
  }
  const m = typeof v === "string" ? /^(\d{1,5})-(\d{1,5})$/.exec(v) : null;
  if (!m) {
    return {
      error: `expected a port or a "from-to" range, got ${typeof v === "string" ? JSON.stringify(v) : typeof v}`,
    };
  }
  const from = Number(m[1]);
  const to = Number(m[2]);
  for (const p of [from, to]) {
    if (p === 0) return { error: `${v}: port 0 (any port) cannot be a member of ports; use port: 0 instead` };
    if (!inRange(p)) return { error: `${v}: ${p} is out of range (1..65535)` };
  }
  if (to < from) return { error: `${v} is an inverted range (it ends before it starts)` };
  return { from, to };
}

/** `80` or `"8000-8099"`: how a port member is written in the config. */
export function portMemberValue(p: PortRange): number | string {
  return p.from === p.to ? p.from : `${p.from}-${p.to}`;
}

/** Number of addresses in a set of VIP members (without listing them). */
export function vipCount(vips: readonly string[]): number {
  return vips.reduce((n, v) => {
    const r = vipMemberRange(v);
    return n + r.last - r.first + 1;
  }, 0);
}

/** Every address of a service, in member order (one for an ordinary service). */
export function serviceAddresses(s: Membered): string[] {
  if (!s.group) return [s.vip];
  const out: string[] = [];
  for (const v of s.group.vips) {
    const r = vipMemberRange(v);
    for (let a = r.first; a <= r.last; a++) out.push(formatIpv4(a));
  }
  return out;
}

/** The port members of a service (one for an ordinary service). */
export function servicePorts(s: Membered): PortRange[] {
  return s.group ? s.group.ports : [{ from: s.port, to: s.port }];
}

/**
 * Whether the service answers on more than one port (a port range or
 * several ports): its dests then take the port each client asked for.
 */
export function multiPort(s: Membered): boolean {
  const ports = servicePorts(s);
  return ports.length > 1 || ports[0].from !== ports[0].to;
}

/** Sorted, merged intervals of `ranges` (adjacent ones joined). */
function merge<T extends { lo: number; hi: number }>(ranges: T[]): { lo: number; hi: number }[] {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  const out: { lo: number; hi: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else out.push({ lo: r.lo, hi: r.hi });
  }
  return out;
}

/**
 * The members of a service as one canonical text, "vips:ports" — the same
 * for every way of writing the same set (order, CIDR or range, split or
 * joined ranges). For an ordinary service it is "vip:port". Reload keys a
 * service by it, so a group keeps its id, counters and scheduler state
 * while its members are only rewritten.
 */
export function memberKey(s: Membered): string {
  const addrs = s.group ? s.group.vips.map(vipMemberRange).map((r) => ({ lo: r.first, hi: r.last })) : null;
  const a = addrs
    ? merge(addrs).map((r) => r.lo === r.hi ? formatIpv4(r.lo) : `${formatIpv4(r.lo)}-${formatIpv4(r.hi)}`).join(",")
    : s.vip;
  const p = merge(servicePorts(s).map((r) => ({ lo: r.from, hi: r.to })))
    .map((r) => r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`).join(",");
  return `${a}:${p}`;
}

/** How listings and messages name a service: "10.0.0.1:80", "10.0.0.0/28,10.0.1.5:80,8000-8099". */
export function serviceLabel(s: Membered): string {
  if (!s.group) return `${s.vip}:${s.port}`;
  return `${s.group.vips.join(",")}:${s.group.ports.map(portMemberValue).join(",")}`;
}
