/**
 * Host and service names for listings without -n, as ipvsadm finds them:
 * `addr_to_host` calls gethostbyaddr (nsswitch "files dns": /etc/hosts,
 * then a reverse DNS lookup) and `port_to_service` calls getservbyport
 * (/etc/services) for tcp, udp and sctp only; anything unresolved stays
 * numeric (`addr_to_anyname`, `port_to_anyname` in ipvsadm.c).
 *
 * Lookups are done up front ({@link resolveNames}) so that the formatters
 * stay pure and synchronous.
 *
 * @module
 */

import { parseIpv4 } from "../../config/members.ts";
import { cut } from "./text.ts";

/** Names for addresses and ports (a listing without -n). */
export interface Names {
  /** The host name of an address, or the address itself. */
  host(addr: string): string;
  /** The service name of a port of a protocol ("tcp", "udp", ...), or the number. */
  service(port: number, proto: string): string;
}

/** -n: addresses and ports as they are. */
export const NUMERIC: Names = Object.freeze({
  host: (addr: string) => addr,
  service: (port: number) => String(port),
});

/** A reverse (PTR) lookup of an IPv4 address: its name, or null. */
export type ReverseLookup = (addr: string, signal: AbortSignal) => Promise<string | null>;

/** Where {@link resolveNames} looks; the defaults are the system's. */
export interface ResolveOptions {
  /** Default /etc/hosts. */
  hostsFile?: string;
  /** Default /etc/services. */
  servicesFile?: string;
  /** Reverse DNS for addresses /etc/hosts does not name; null: none. Default {@link dnsReverse}. */
  reverse?: ReverseLookup | null;
  /** How long all reverse lookups together may take, in ms (default 1500); late ones stay numeric. */
  timeoutMs?: number;
}

/** getservbyport's protocols (port_to_service in ipvsadm.c). */
const SERVICE_PROTOS = new Set(["tcp", "udp", "sctp"]);

/**
 * /etc/hosts as gethostbyaddr reads it: address → the first name after it
 * (h_name), the first line for an address winning. Only IPv4 lines count.
 */
export function parseHosts(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const [addr, name] = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (!name || parseIpv4(addr) === null || names.has(addr)) continue;
    names.set(addr, name);
  }
  return names;
}

/**
 * /etc/services as getservbyport reads it: "port/proto" → the entry's
 * official name (s_name), the first entry winning.
 */
export function parseServices(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const [name, portProto] = raw.replace(/#.*/, "").trim().split(/\s+/);
    const m = portProto ? /^(\d{1,5})\/([a-z0-9-]+)$/i.exec(portProto) : null;
    if (!name || !m) continue;
    const key = `${Number(m[1])}/${m[2].toLowerCase()}`;
    if (!names.has(key)) names.set(key, name);
  }
  return names;
}

/** The in-addr.arpa name of an IPv4 address. */
export function ptrName(addr: string): string {
  return `${addr.split(".").reverse().join(".")}.in-addr.arpa`;
}

/** Reverse DNS through the system resolver (Deno.resolveDns PTR); null when none answers. */
export async function dnsReverse(addr: string, signal: AbortSignal): Promise<string | null> {
  try {
    const names = await Deno.resolveDns(ptrName(addr), "PTR", { signal });
    return names.length > 0 ? names[0].replace(/\.$/, "") : null;
  } catch {
    return null;
  }
}

/** A file's text, or "" when it is missing or unreadable (the libc lookups then find nothing). */
async function readOptional(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) return "";
    throw e;
  }
}

/** `p`'s value, or null once `signal` aborts. */
function untilAbort<T>(p: Promise<T | null>, signal: AbortSignal): Promise<T | null> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(null);
    const stop = () => resolve(null);
    signal.addEventListener("abort", stop, { once: true });
    p.then(resolve, () => resolve(null)).finally(() => signal.removeEventListener("abort", stop));
  });
}

/**
 * Names for a listing without -n: /etc/services for every port, /etc/hosts
 * for every address, and a reverse DNS lookup for each of `addrs` the
 * hosts file does not name (in parallel, within `timeoutMs`). The whole
 * services file is read, so `ports` only documents what the listing needs.
 */
export async function resolveNames(
  addrs: string[],
  _ports: { port: number; proto: string }[],
  options: ResolveOptions = {},
): Promise<Names> {
  const [hostsText, servicesText] = await Promise.all([
    readOptional(options.hostsFile ?? "/etc/hosts"),
    readOptional(options.servicesFile ?? "/etc/services"),
  ]);
  const hosts = parseHosts(hostsText);
  const services = parseServices(servicesText);
  const reverse = options.reverse === undefined ? dnsReverse : options.reverse;
  if (reverse) {
    const ask = [...new Set(addrs)].filter((a) => !hosts.has(a) && parseIpv4(a) !== null);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), options.timeoutMs ?? 1500);
    try {
      const found = await Promise.all(ask.map((a) => untilAbort(reverse(a, deadline.signal), deadline.signal)));
      ask.forEach((a, i) => {
        const name = found[i];
        if (name) hosts.set(a, name);
      });
    } finally {
      clearTimeout(timer);
      deadline.abort();
    }
  }
  return {
    host: (addr) => hosts.get(addr) ?? addr,
    service: (port, proto) => {
      const p = proto.toLowerCase();
      return (SERVICE_PROTOS.has(p) ? services.get(`${port}/${p}`) : undefined) ?? String(port);
    },
  };
}

/**
 * `addr:port` as ipvsadm's addrport_to_anyname writes it: names or
 * numbers, IPv6 in brackets, cut to the 59 characters of its 60-byte
 * buffer.
 */
export function addrPort(addr: string, port: number, proto: string, names: Names): string {
  const host = names.host(addr);
  const text = addr.includes(":") ? `[${host}]:${names.service(port, proto)}` : `${host}:${names.service(port, proto)}`;
  return cut(text, 59);
}
