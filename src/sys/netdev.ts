/**
 * Facts about this host's (or network namespace's) interfaces, addresses,
 * routes and neighbours, for the supervisor. Not hot path.
 *
 * Interface facts come from the kernel through libc (if_nametoindex,
 * ioctl) rather than /sys/class/net: sysfs shows the namespace of whoever
 * mounted it, which is wrong for a process moved with `nsenter --net`.
 * Routes and neighbours come from `ip -j` (iproute2's JSON output).
 *
 * @module
 */

import { createSocket } from "node:dgram";
import {
  AF_INET,
  close,
  ifNameToIndex,
  ioctl,
  LibcError,
  SIOCGIFHWADDR,
  SIOCGIFMTU,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  socket,
} from "./libc.ts";

const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;
const CAP_NET_RAW = 13;

/** The kernel's ifindex of interface `name`; throws naming the interface if there is none. */
export function interfaceIndex(name: string): number {
  checkName(name);
  const index = ifNameToIndex(name);
  if (index === 0) throw LibcError.fromErrno(`Cannot find interface "${name}"`);
  return index;
}

/** The Ethernet (MAC) address of interface `name` (all zero for loopback). */
export function interfaceMac(name: string): Uint8Array {
  const req = ifreq(name, SIOCGIFHWADDR, "the MAC address");
  // ifr_hwaddr is a struct sockaddr: sa_family (the ARPHRD_ type) @16, sa_data @18.
  const type = new DataView(req.buffer).getUint16(16, true);
  if (type !== ARPHRD_ETHER && type !== ARPHRD_LOOPBACK) {
    throw new Error(
      `Cannot read the MAC address of "${name}": it is not an Ethernet interface (hardware type ${type})`,
    );
  }
  return req.slice(18, 24);
}

/** The MTU of interface `name`. */
export function interfaceMtu(name: string): number {
  const req = ifreq(name, SIOCGIFMTU, "the MTU");
  return new DataView(req.buffer).getInt32(16, true);
}

/** Every IPv4 address configured on this host (network namespace), loopback included. */
export async function hostIPv4Addresses(): Promise<string[]> {
  const links = await ipJson(
    ["-4", "addr", "show"],
    "Cannot list IPv4 addresses",
  ) as { addr_info?: { family?: string; local?: string }[] }[];
  const out: string[] = [];
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      if (a.family === "inet" && a.local) out.push(a.local);
    }
  }
  return out;
}

/** The first IPv4 address of interface `name`; throws naming the interface when it has none. */
export async function interfaceIPv4(name: string): Promise<string> {
  const links = await ipJson(
    ["-4", "addr", "show", "dev", name],
    `Cannot read the addresses of interface "${name}"`,
  ) as { addr_info?: { family?: string; local?: string }[] }[];
  for (const link of links) {
    for (const a of link.addr_info ?? []) if (a.family === "inet" && a.local) return a.local;
  }
  throw new Error(`Cannot use interface "${name}": it has no IPv4 address`);
}

/** One route of the main IPv4 table: `dst` is "default" or a prefix ("10.0.0.0/8", or an address for a /32). */
export interface TableRoute {
  dst: string;
  dev: string;
  gateway?: string;
}

/** The main IPv4 routing table, unicast routes only (one `ip` call, for lookups in bulk). */
export async function routeTable(): Promise<TableRoute[]> {
  const routes = await ipJson(
    ["-4", "route", "show", "table", "main"],
    "Cannot read the routing table",
  ) as { dst?: string; dev?: string; gateway?: string; type?: string }[];
  const out: TableRoute[] = [];
  for (const r of routes) {
    if (!r.dst || !r.dev || (r.type && r.type !== "unicast")) continue;
    out.push(r.gateway ? { dst: r.dst, dev: r.dev, gateway: r.gateway } : { dst: r.dst, dev: r.dev });
  }
  return out;
}

/** Where the kernel would send a packet for an address. */
export interface Route {
  /** Outgoing interface. */
  dev: string;
  /** Next hop, when the address is not on-link. */
  gateway?: string;
  /** Source address the kernel would pick. */
  src?: string;
  /** Route type when not "unicast", e.g. "local" for this host's own addresses. */
  type?: string;
}

/** `ip route get ADDR`: the interface, gateway and source address for `addr`. */
export async function routeGet(addr: string): Promise<Route> {
  const routes = await ipJson(
    ["route", "get", addr],
    `Cannot find a route to ${addr}`,
  ) as { dev?: string; gateway?: string; prefsrc?: string; type?: string }[];
  const r = routes[0];
  if (!r?.dev) throw new Error(`Cannot find a route to ${addr}: no interface`);
  const route: Route = { dev: r.dev };
  if (r.gateway) route.gateway = r.gateway;
  if (r.prefsrc) route.src = r.prefsrc;
  if (r.type && r.type !== "unicast") route.type = r.type;
  return route;
}

// States in which the kernel holds a usable link-layer address. PROBE is a
// STALE entry being re-checked; NOARP/PERMANENT are static.
const USABLE_STATES = new Set([
  "REACHABLE",
  "STALE",
  "DELAY",
  "PROBE",
  "PERMANENT",
  "NOARP",
]);

/**
 * The MAC address the kernel's neighbour table holds for `addr` on `dev`,
 * or null if there is none yet (INCOMPLETE) or resolution failed (FAILED).
 */
export async function neighbourMac(
  addr: string,
  dev: string,
): Promise<Uint8Array | null> {
  const entries = await ipJson(
    ["neigh", "show", "to", addr, "dev", dev],
    `Cannot read the neighbour entry of ${addr} on "${dev}"`,
  ) as { dst?: string; lladdr?: string; state?: string[] }[];
  for (const e of entries) {
    if (e.dst !== addr || !e.lladdr) continue;
    if ((e.state ?? []).some((s) => USABLE_STATES.has(s))) {
      return parseMac(e.lladdr);
    }
  }
  return null;
}

/**
 * Every usable entry of the kernel's IPv4 neighbour table, keyed
 * `"dev|addr"` (one `ip` call, for periodic refreshes of many dests).
 */
export async function neighbourTable(): Promise<Map<string, Uint8Array>> {
  const entries = await ipJson(
    ["-4", "neigh", "show"],
    "Cannot read the neighbour table",
  ) as { dst?: string; dev?: string; lladdr?: string; state?: string[] }[];
  const out = new Map<string, Uint8Array>();
  for (const e of entries) {
    if (!e.dst || !e.dev || !e.lladdr) continue;
    if ((e.state ?? []).some((s) => USABLE_STATES.has(s))) out.set(`${e.dev}|${e.dst}`, parseMac(e.lladdr));
  }
  return out;
}

/**
 * The MAC address of on-link neighbour `addr` on `dev`, making the kernel
 * resolve it (ARP or neighbour discovery) if needed: sends one small UDP
 * datagram to `addr` port 9 (discard), again every second, and polls the
 * neighbour table until the entry is usable or `timeoutMs` has passed
 * (then null). `addr` must be on-link through `dev`; for an address behind
 * a gateway, resolve the gateway (see {@link routeGet}).
 */
export async function resolveNeighbour(
  addr: string,
  dev: string,
  timeoutMs: number,
): Promise<Uint8Array | null> {
  const deadline = Date.now() + timeoutMs;
  let mac = await neighbourMac(addr, dev);
  if (mac) return mac;
  const udp = createSocket(addr.includes(":") ? "udp6" : "udp4");
  // Send failures (e.g. EHOSTUNREACH once resolution has failed) change
  // nothing: the neighbour table is the answer either way.
  udp.on("error", () => {});
  try {
    let nextSend = 0;
    while (true) {
      const now = Date.now();
      if (now >= nextSend) {
        udp.send(new Uint8Array(1), 9, addr, () => {});
        nextSend = now + 1000;
      }
      await new Promise((r) => setTimeout(r, Math.min(20, deadline - now)));
      mac = await neighbourMac(addr, dev);
      if (mac || Date.now() >= deadline) return mac;
    }
  } finally {
    udp.close();
  }
}

/** Whether this process may open raw/packet sockets (CAP_NET_RAW in its effective set). */
export function hasCapNetRaw(): boolean {
  const status = Deno.readTextFileSync("/proc/self/status");
  const m = status.match(/^CapEff:\s*([0-9a-f]+)$/m);
  if (!m) return false;
  return ((BigInt("0x" + m[1]) >> BigInt(CAP_NET_RAW)) & 1n) === 1n;
}

/** Parses "aa:bb:cc:dd:ee:ff" into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`Cannot parse MAC address "${text}"`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes as "aa:bb:cc:dd:ee:ff". */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
}

function checkName(name: string): void {
  if (name.length === 0 || new TextEncoder().encode(name).length >= IFNAMSIZ) {
    throw new Error(
      `Cannot find interface "${name}": a name has 1 to ${IFNAMSIZ - 1} bytes`,
    );
  }
}

/** Runs one SIOCGIF* ioctl on a throw-away socket and returns the `struct ifreq`. */
function ifreq(name: string, request: number, what: string): Uint8Array {
  checkName(name);
  const req = new Uint8Array(IFREQ_SIZE);
  req.set(new TextEncoder().encode(name));
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw LibcError.fromErrno(`Cannot read ${what} of "${name}"`);
  }
  try {
    if (ioctl(fd, request, req) < 0) {
      throw LibcError.fromErrno(`Cannot read ${what} of "${name}"`);
    }
    return req;
  } finally {
    close(fd);
  }
}

async function ipJson(args: string[], what: string): Promise<unknown[]> {
  const out = await new Deno.Command("ip", {
    args: ["-j", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    throw new Error(`${what}: ${stderr || `ip exited with ${out.code}`}`);
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  // `ip -j` prints nothing at all (not "[]") when there is nothing to show.
  if (text === "") return [];
  const parsed = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`${what}: unexpected ip output`);
  return parsed;
}
