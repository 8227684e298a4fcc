/**
 * Virtual service and real server addresses as lvsadm takes them after -t,
 * -u and -r: ipvsadm's `host[:port]` (ipvsadm.c parse_service: a dotted
 * quad or a host name, a port number 0..65535 or a service name), and, as
 * lvsd's extension, a service group's members written as the listing shows
 * them: `10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099` (addresses, ranges and
 * CIDRs, then ports and port ranges, each list comma-separated).
 *
 * Left out on purpose: inet_aton's shorthand forms ("10.1", "0x0a000001",
 * octal "010.0.0.1"), which read as other addresses than they seem; such
 * text is refused as ipvsadm refuses a name that does not resolve.
 *
 * @module
 */

import { formatIpv4, parseIpv4, parsePortMember, parseVipMember, type PortRange } from "../config/members.ts";
import type { Resolver } from "./resolver.ts";

/** A virtual service as named on the command line. */
export interface ServiceSpec {
  proto: "tcp" | "udp";
  /** As typed (for messages). */
  text: string;
  /** vaddr; a group's first address. */
  vip: string;
  /** vport (0 when none was given: "any port"); a group's first port. */
  port: number;
  /** A group's VIP members (normalised as the config normalises them), null for one address. */
  vips: string[] | null;
  /** A group's port members, null for one port. */
  ports: PortRange[] | null;
}

/** Why an address was refused. */
export type AddressProblem =
  /** Not an address (ipvsadm's "illegal ... address[:port] specified"), with lvsd's reason when it has one. */
  | { problem: "illegal"; why?: string }
  /** An IPv6 address: lvsd is IPv4 only. */
  | { problem: "ipv6" };

/** ipvsadm.c str_is_digit (true for ""). */
function allDigits(s: string): boolean {
  return /^\d*$/.test(s);
}

/**
 * ipvsadm.c string_to_number: strtol in base 10 (leading blanks and a sign
 * allowed, nothing after the digits), then a range check; null when it
 * fails.
 */
export function stringToNumber(s: string, min: number, max: number): number | null {
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return null;
  const n = Number(s.trim());
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

/**
 * ipvsadm's IPv6 forms, which lvsd refuses by name: `[addr]:port`, or text
 * that inet_pton(AF_INET6) takes whole (checked by the URL parser's IPv6
 * rules).
 */
function looksIpv6(text: string): boolean {
  if (text.startsWith("[")) return true;
  if (!text.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  return URL.canParse(`http://[${text}]/`);
}

/** A host: a dotted quad as is, else a name looked up (dotted digits are never looked up). */
async function hostAddress(host: string, resolver: Resolver): Promise<string | null> {
  if (parseIpv4(host) !== null) return host;
  if (host === "" || /^[\d.]+$/.test(host)) return null;
  return await resolver.host(host);
}

/** A port: a number 0..65535 or a service name of `proto` (none known: names do not resolve). */
async function portNumber(text: string, proto: string | null, resolver: Resolver): Promise<number | null> {
  const n = stringToNumber(text, 0, 65535);
  if (n !== null) return n;
  return proto === null || text === "" ? null : await resolver.service(text, proto);
}

/**
 * ipvsadm.c parse_service for one address: `host` or `host:port`. The port
 * is null when none was given.
 */
export async function parseHostPort(
  text: string,
  proto: string | null,
  resolver: Resolver,
): Promise<{ addr: string; port: number | null } | AddressProblem> {
  if (allDigits(text)) return { problem: "illegal" };
  if (looksIpv6(text)) return { problem: "ipv6" };
  const colon = text.lastIndexOf(":");
  const host = colon < 0 ? text : text.slice(0, colon);
  const addr = await hostAddress(host, resolver);
  if (addr === null) return { problem: "illegal" };
  if (colon < 0) return { addr, port: null };
  const port = await portNumber(text.slice(colon + 1), proto, resolver);
  return port === null ? { problem: "illegal" } : { addr, port };
}

/** Whether `text` names a service group rather than one address and port. */
function isGroup(addrPart: string, portPart: string | null): boolean {
  if (addrPart.includes(",") || (portPart ?? "").includes(",")) return true;
  if (/^\d+-\d+$/.test(portPart ?? "")) return true;
  // A range or CIDR of addresses (digits and dots around "-" or "/"); "web-1" stays a host name.
  return /^[\d.]+(-[\d.]+|\/\d+)$/.test(addrPart);
}

/** A virtual service: `host[:port]`, or a service group's members. */
export async function parseServiceSpec(
  text: string,
  proto: "tcp" | "udp",
  resolver: Resolver,
): Promise<ServiceSpec | AddressProblem> {
  if (looksIpv6(text)) return { problem: "ipv6" };
  const colon = text.lastIndexOf(":");
  const addrPart = colon < 0 ? text : text.slice(0, colon);
  const portPart = colon < 0 ? null : text.slice(colon + 1);
  if (!isGroup(addrPart, portPart)) {
    const one = await parseHostPort(text, proto, resolver);
    if ("problem" in one) return one;
    return { proto, text, vip: one.addr, port: one.port ?? 0, vips: null, ports: null };
  }
  const vips: string[] = [];
  let first: string | null = null;
  for (const item of addrPart.split(",")) {
    const m = parseVipMember(item);
    if ("error" in m) return { problem: "illegal", why: m.error };
    first ??= formatIpv4(m.range.first);
    vips.push(m.normal);
  }
  const ports: PortRange[] = [];
  for (const item of portPart === null ? [] : portPart.split(",")) {
    const range = /^\d+-\d+$/.test(item) ? parsePortMember(item) : null;
    if (range !== null) {
      if ("error" in range) return { problem: "illegal", why: range.error };
      ports.push(range);
      continue;
    }
    const port = await portNumber(item, proto, resolver);
    if (port === null) return { problem: "illegal", why: `"${item}" is not a port, a port range or a service name` };
    if (port === 0) return { problem: "illegal", why: "port 0 (any port) cannot be a member of a port list" };
    ports.push({ from: port, to: port });
  }
  const onePort = ports.length <= 1 && (ports.length === 0 || ports[0].from === ports[0].to);
  const oneVip = vips.length === 1 && !/[-/]/.test(vips[0]);
  return {
    proto,
    text,
    vip: first as string,
    port: ports[0]?.from ?? 0,
    vips: oneVip ? null : vips,
    ports: onePort ? null : ports,
  };
}

/** The service's key in the API: `proto:vip:port` (a group: its first address and port). */
export function serviceKeyOf(s: ServiceSpec): string {
  return `${s.proto}:${s.vip}:${s.port}`;
}

/**
 * The port a dest of `s` has when none is given: the service port, or 0
 * (the port each client asked for) for a group of several ports, as for an
 * IPVS fwmark service.
 */
export function defaultDestPort(s: ServiceSpec): number {
  return s.ports !== null ? 0 : s.port;
}

/** The members of `s` in the config's form: vip|vips and port|ports. */
export function serviceMembers(s: ServiceSpec): Record<string, unknown> {
  return {
    ...(s.vips === null ? { vip: s.vip } : { vips: [...s.vips] }),
    ...(s.ports === null
      ? { port: s.port }
      : { ports: s.ports.map((p) => p.from === p.to ? p.from : `${p.from}-${p.to}`) }),
  };
}
