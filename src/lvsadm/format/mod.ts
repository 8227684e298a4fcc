/**
 * STUB, for the cli branch to compile and test against. The real module
 * (ipvsadm's listing, connection, timeout and save formats) is written on
 * the fmt branch with these same exports; at merge take that file, not
 * this one.
 *
 * @module
 */

import type { ConnectionView, ServiceView, StatusView } from "../../api/model.ts";

export interface ListOptions {
  numeric: boolean;
  exact: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  sort: boolean;
}

export interface Names {
  host(addr: string): string;
  service(port: number, proto: string): string;
}

export const NUMERIC: Names = { host: (a) => a, service: (p) => String(p) };

export function resolveNames(_addrs: string[], _ports: { port: number; proto: string }[]): Promise<Names> {
  return Promise.resolve(NUMERIC);
}

export function formatList(status: StatusView, services: ServiceView[], _o: ListOptions, _n: Names): string {
  return `STUB list ${status.ipvs_version} ${services.map((s) => s.key).join(" ")}\n`;
}

export function formatConnections(conns: ConnectionView[], _o: { persistentConn: boolean }, _n: Names): string {
  return `STUB connections ${conns.length}\n`;
}

export function formatTimeouts(t: { tcp: number; tcpfin: number; udp: number }): string {
  return `STUB timeouts ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}

export function formatSave(services: ServiceView[], _o: { numeric: boolean; thresholds: boolean }, _n: Names): string {
  return `STUB save ${services.map((s) => s.key).join(" ")}\n`;
}
