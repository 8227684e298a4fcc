/**
 * What SIGUSR2 prints and the status file holds: the table as `ipvsadm -Ln`
 * and `ipvsadm -Ln --stats --exact` print it (the same formatter as
 * lvsadm), the data-plane counters and drops, and the first connections as
 * `ipvsadm -Lnc` prints them.
 *
 * @module
 */

import type { SyncDaemonStatus } from "../sync/daemon.ts";
import { daemonLine } from "../lvsadm/commands.ts";
import type { ConnectionPage, DataplaneView, ServiceView, StatusView } from "../api/model.ts";
import { formatConnections, formatList, type ListOptions, NUMERIC, PLAIN_LIST } from "../lvsadm/format/mod.ts";

/** `-L -n`. */
const PLAIN: ListOptions = { ...PLAIN_LIST, numeric: true };

/** One sync daemon: ipvsadm's -L --daemon line, then its counters. */
function syncLine(d: SyncDaemonStatus): string {
  const c = d.config;
  const flat = Object.entries(d.stats).flatMap(([k, v]) =>
    typeof v === "number" ? [`${k}=${v}`] : Object.entries(v).map(([r, n]) => `drop_${r}=${n}`)
  );
  return daemonLine({
    role: d.role,
    interface: c.mcastInterface,
    id: c.syncid,
    maxlen: c.maxlen,
    group: c.group,
    port: c.port,
    ttl: c.ttl,
  }) +
    `  ${flat.join(" ")}\n`;
}

/** The status text of a director. */
export function statusText(
  header: Pick<StatusView, "ipvs_version" | "conn_table_size">,
  services: ServiceView[],
  dataplane: DataplaneView,
  connections: ConnectionPage,
  sync: SyncDaemonStatus[] = [],
): string {
  const stats = formatList(header, services, { ...PLAIN, stats: true, exact: true }, NUMERIC);
  const drops = Object.entries(dataplane.drops).filter(([, v]) => v > 0);
  const more = connections.next_cursor === null ? "" : "… more: lvsadm -L -n -c lists them all\n";
  return [
    formatList(header, services, PLAIN, NUMERIC),
    // The version line once is enough.
    stats.slice(stats.indexOf("\n") + 1),
    "Data plane: " + Object.entries(dataplane.counters).map(([k, v]) => `${k}=${v}`).join(" ") + "\n" +
    "Drops: " + (drops.length ? drops.map(([k, v]) => `${k}=${v}`).join(" ") : "none") + "\n" +
    sync.map(syncLine).join(""),
    formatConnections(connections.items, { persistentConn: false }, NUMERIC) + more,
  ].join("\n");
}
