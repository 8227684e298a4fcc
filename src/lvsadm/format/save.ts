/**
 * `ipvsadm -S` / `--save` (list_all with FMT_RULE, print_service_entry and
 * print_tunnel_rule in ipvsadm.c 1.31): rules that `-R` reads back, always
 * sorted (ipvsadm refuses --nosort with -S), no header.
 *
 * - Service: `-A -t|-u ADDR:PORT -s SCHED`, then ` -p TIMEOUT` for a
 *   persistent service with ` -M MASK` when the mask is not
 *   255.255.255.255, ` -o` for one-packet scheduling, ` -b FLAGS`.
 * - Dest: `-a -t|-u ADDR:PORT -r ADDR:PORT -m|-g|-i -w WEIGHT`; a tunnel
 *   dest adds ` --tun-type ipip`, ` --tun-type gue --tun-port N --tun-nocsum`
 *   or ` --tun-type gre --tun-nocsum` (lvsd sends no tunnel checksums).
 * - Addresses and ports are names unless -n, as in -L, but not cut to the
 *   listing's columns (only to addrport_to_anyname's 59 characters).
 *
 * lvsd extensions, appended after everything ipvsadm writes so that an
 * ipvsadm line is always a prefix: a service group is named by its label
 * (`-A -t 10.0.0.1-10.0.0.9,10.0.1.0/28:80,8000-8099 ...`); an mh service
 * whose table size is not 4093 gets ` --mh-table-size N`; with
 * `thresholds` each dest gets ` -x U -y L` (ipvsadm does not save them).
 *
 * @module
 */

import type { ServiceView } from "../../api/model.ts";
import { schedFlagsText } from "./flags.ts";
import { addrPort, type Names, NUMERIC } from "./names.ts";
import { destOrder, serviceOrder } from "./list.ts";
import type { DestRow, ServiceRow } from "./view.ts";
import { readService } from "./view.ts";

/** option_from_protocol in ipvsadm.c. */
function serviceOption(proto: string): string {
  return ({ tcp: "-t", udp: "-u", sctp: "--sctp-service" } as Record<string, string>)[proto] ?? "--xxx-service";
}

/** fwd_switch in ipvsadm.c. */
const FORWARD_SWITCHES = { masq: "-m", route: "-g", tunnel: "-i" } as const;

function serviceRule(s: ServiceRow, svcName: string): string {
  let line = `-A ${svcName} -s ${s.scheduler}`;
  if (s.persistence) {
    line += ` -p ${s.persistence.timeout}`;
    if (s.persistence.netmask !== "255.255.255.255") line += ` -M ${s.persistence.netmask}`;
  }
  if (s.ops) line += " -o";
  const flags = schedFlagsText(s.scheduler, s.schedFlags, `service ${s.key}`);
  if (flags) line += ` -b ${flags}`;
  if (s.mhTableSize !== null) line += ` --mh-table-size ${s.mhTableSize}`;
  return line + "\n";
}

/** print_tunnel_rule's additions for a tunnel dest. */
function tunnelOptions(d: DestRow): string {
  if (d.forward !== "tunnel") return "";
  if (d.tunType === "gue") return ` --tun-type gue --tun-port ${d.tunPort} --tun-nocsum`;
  if (d.tunType === "gre") return " --tun-type gre --tun-nocsum";
  return " --tun-type ipip";
}

function destRule(s: ServiceRow, d: DestRow, svcName: string, names: Names, thresholds: boolean): string {
  const dname = addrPort(d.address, d.port, s.proto, names);
  const line = `-a ${svcName} -r ${dname} ${FORWARD_SWITCHES[d.forward]} -w ${d.weight}${tunnelOptions(d)}`;
  return (thresholds ? `${line} -x ${d.uThreshold} -y ${d.lThreshold}` : line) + "\n";
}

/** The save rules of every service and its dests. */
export function formatSave(
  services: ServiceView[],
  opts: { numeric: boolean; thresholds: boolean },
  names: Names,
): string {
  const n = opts.numeric ? NUMERIC : names;
  let out = "";
  for (const s of serviceOrder(services.map(readService), true)) {
    const svcName = `${serviceOption(s.proto)} ${s.groupLabel ?? addrPort(s.vip, s.port, s.proto, n)}`;
    out += serviceRule(s, svcName);
    for (const d of destOrder(s, true)) out += destRule(s, d, svcName, n, opts.thresholds);
  }
  return out;
}
