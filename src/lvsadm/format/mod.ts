/**
 * The output side of `lvsadm`, lvsd's ipvsadm-compatible CLI: pure
 * functions from the admin API's JSON views (src/api/model.ts) to text
 * byte-identical to what ipvsadm 1.31 prints for the same IPVS state, plus
 * the name lookups a listing without -n needs.
 *
 * Each file follows one ipvsadm function (named in its header): list.ts
 * (-L), conns.ts (-L -c), save.ts (-S), timeouts.ts (--timeout),
 * number.ts (print_largenum), sort.ts (the default sort), names.ts
 * (gethostbyaddr / getservbyport), flags.ts (-b names), view.ts (reading
 * the views).
 *
 * @module
 */

import type { ConnectionView, ServiceView } from "../../api/model.ts";
import { parseIpv4 } from "../../config/members.ts";

export { formatList, formatService, type HealthColumn, healthColumn, type ListOptions, PLAIN_LIST } from "./list.ts";
export { expireText, formatConnections } from "./conns.ts";
export { formatSave } from "./save.ts";
export { formatTimeouts } from "./timeouts.ts";
export { largenum } from "./number.ts";
export {
  addrPort,
  dnsReverse,
  type Names,
  NUMERIC,
  parseHosts,
  parseServices,
  resolveNames,
  type ResolveOptions,
  type ReverseLookup,
} from "./names.ts";

/** What {@link resolveNames} takes. */
export interface NameQueries {
  addrs: string[];
  ports: { port: number; proto: string }[];
}

function queries(items: { addr: string; port: number; proto: string }[]): NameQueries {
  const addrs = [...new Set(items.map((i) => i.addr))];
  const seen = new Set<string>();
  const ports: { port: number; proto: string }[] = [];
  for (const { port, proto } of items) {
    const k = `${port}/${proto}`;
    if (!seen.has(k)) (seen.add(k), ports.push({ port, proto }));
  }
  return { addrs, ports };
}

/**
 * The addresses and ports a listing or save of `services` prints (a
 * group's label is printed as it is, so its members are not looked up).
 */
export function listNameQueries(services: ServiceView[]): NameQueries {
  const items: { addr: string; port: number; proto: string }[] = [];
  for (const s of services) {
    const proto = String(s.proto).toLowerCase();
    const group = s.vips !== undefined || s.ports !== undefined;
    if (!group && typeof s.vip === "string" && typeof s.port === "number") {
      items.push({ addr: s.vip, port: s.port, proto });
    }
    for (const d of Array.isArray(s.dests) ? s.dests : []) {
      if (typeof d.address === "string" && typeof d.port === "number") {
        items.push({ addr: d.address, port: d.port, proto });
      }
    }
  }
  return queries(items.filter((i) => parseIpv4(i.addr) !== null));
}

/** The addresses and ports a connection listing prints. */
export function connNameQueries(conns: ConnectionView[]): NameQueries {
  const items = conns.flatMap((c) => {
    const proto = c.proto.toLowerCase();
    return [
      { addr: c.client, port: c.client_port, proto },
      { addr: c.vip, port: c.vport, proto },
      { addr: c.dest, port: c.dport, proto },
    ];
  });
  return queries(items);
}
