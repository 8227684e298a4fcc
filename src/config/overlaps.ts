/**
 * Services that claim the same (proto, VIP, port), and configs with more
 * members than the table holds.
 *
 * A packet must find exactly one service. Between services of one proto,
 * the more specific member wins (an exact port over a port range over port
 * 0, "any port"), so those may share a VIP; two members of the same kind
 * that share an address and a port are an error, as are overlapping members
 * within one service. Runs on the raw value (like the other duplicate
 * checks) so that it reports even when other keys have errors; members that
 * do not parse are left to the schema.
 *
 * @module
 */
import {
  type AddrRange,
  formatIpv4,
  MAX_TABLE_RECORDS,
  parseIpv4,
  parsePortMember,
  parseVipMember,
  type PortRange,
  unusableVip,
} from "./members.ts";

/** One problem, pathed in the raw document. */
export interface RawIssue {
  path: PropertyKey[];
  message: string;
}

interface Members {
  proto: string;
  /** Written as vip/port (no lists): duplicates keep their classic message. */
  plain: boolean;
  vipKey: "vip" | "vips";
  portKey: "port" | "ports";
  /** Address intervals, sorted and merged. */
  addrs: AddrRange[];
  /** Addresses in all. */
  addrCount: number;
  ports: PortRange[];
}

const rec = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};

/** Sorted, merged address intervals. */
function mergeAddrs(rs: AddrRange[]): AddrRange[] {
  const out: AddrRange[] = [];
  for (const r of [...rs].sort((a, b) => a.first - b.first)) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ ...r });
  }
  return out;
}

/**
 * Reads a service's members and reports overlaps among them; null when
 * they cannot be read (the schema reports why).
 */
function readMembers(svc: Record<string, unknown>, s: number, out: RawIssue[]): Members | null {
  if (typeof svc.proto !== "string") return null;
  let vipKey: "vip" | "vips";
  const addrs: { r: AddrRange; k: number }[] = [];
  if (Array.isArray(svc.vips)) {
    vipKey = "vips";
    svc.vips.forEach((v, k) => {
      const m = typeof v === "string" ? parseVipMember(v) : null;
      if (m && "range" in m) addrs.push({ r: m.range, k });
    });
  } else if (typeof svc.vip === "string") {
    vipKey = "vip";
    const n = parseIpv4(svc.vip);
    if (n !== null && !unusableVip(n)) addrs.push({ r: { first: n, last: n }, k: 0 });
  } else return null;
  let portKey: "port" | "ports";
  const ports: { r: PortRange; k: number }[] = [];
  if (Array.isArray(svc.ports)) {
    portKey = "ports";
    svc.ports.forEach((v, k) => {
      const m = parsePortMember(v);
      if ("from" in m) ports.push({ r: m, k });
    });
  } else if (Number.isInteger(svc.port) && (svc.port as number) >= 0 && (svc.port as number) <= 65535) {
    portKey = "port";
    ports.push({ r: { from: svc.port as number, to: svc.port as number }, k: 0 });
  } else return null;
  if (addrs.length === 0 || ports.length === 0) return null;

  // Within the service: each member against the earlier ones.
  addrs.forEach((a, i) => {
    const other = addrs.slice(0, i).find((b) => a.r.first <= b.r.last && b.r.first <= a.r.last);
    if (other) {
      const shared = formatIpv4(Math.max(a.r.first, other.r.first));
      out.push({ path: ["services", s, "vips", a.k], message: `overlaps vips[${other.k}] (${shared} is in both)` });
    }
  });
  ports.forEach((p, i) => {
    const other = ports.slice(0, i).find((q) => p.r.from <= q.r.to && q.r.from <= p.r.to);
    if (other) {
      const shared = Math.max(p.r.from, other.r.from);
      out.push({
        path: ["services", s, "ports", p.k],
        message: `overlaps ports[${other.k}] (port ${shared} is in both)`,
      });
    }
  });
  const merged = mergeAddrs(addrs.map((a) => a.r));
  return {
    proto: svc.proto,
    plain: vipKey === "vip" && portKey === "port",
    vipKey,
    portKey,
    addrs: merged,
    addrCount: merged.reduce((n, r) => n + r.last - r.first + 1, 0),
    ports: ports.map((p) => p.r),
  };
}

/** The lowest address two sorted, merged interval lists share, or null. */
function sharedAddress(a: AddrRange[], b: AddrRange[]): number | null {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i].first, b[j].first);
    if (lo <= Math.min(a[i].last, b[j].last)) return lo;
    if (a[i].last < b[j].last) i++;
    else j++;
  }
  return null;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** exact port, port range, or any port: only members of one kind compete. */
const kind = (p: PortRange) => p.from === 0 ? "any" : p.from === p.to ? "exact" : "range";

/** A port both services claim with members of the same kind, or null. */
function sharedPort(a: PortRange[], b: PortRange[]): number | null {
  for (const p of a) {
    for (const q of b) {
      if (kind(p) === kind(q) && p.from <= q.to && q.from <= p.to) return Math.max(p.from, q.from);
    }
  }
  return null;
}

/**
 * Overlapping members within and across services, and more table records
 * (addresses × port members, summed over services) than a director holds.
 */
export function findMemberConflicts(services: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  if (!Array.isArray(services)) return out;
  const read: (Members | null)[] = services.map((v, s) => readMembers(rec(v), s, out));
  let records = 0;
  let full = false;
  read.forEach((m, s) => {
    if (!m) return;
    for (let i = 0; i < s; i++) {
      const o = read[i];
      if (!o || o.proto !== m.proto) continue;
      const addr = sharedAddress(o.addrs, m.addrs);
      if (addr === null) continue;
      const port = sharedPort(o.ports, m.ports);
      if (port === null) continue;
      const what = `${m.proto} ${formatIpv4(addr)}:${port}`;
      out.push({
        path: ["services", s],
        message: m.plain && o.plain
          ? `duplicate of services[${i}] (${what})`
          : `overlaps services[${i}] (both have ${what})`,
      });
      break;
    }
    const need = m.addrCount * m.ports.length;
    if (!full && records + need > MAX_TABLE_RECORDS) {
      full = true;
      out.push({
        path: ["services", s, m.vipKey],
        message:
          `needs ${need} table records (${plural(m.addrCount, "address", "addresses")} × ${
            plural(m.ports.length, "port member", "port members")
          })` +
          (records > 0 ? `, and the services before it take ${records}` : "") +
          `: a director holds at most ${MAX_TABLE_RECORDS}`,
      });
    }
    records += need;
  });
  return out;
}
