/**
 * `GET /metrics`: the director's numbers in the Prometheus text exposition
 * format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Naming follows Prometheus's practice (and passes `promtool check metrics`):
 * an `lvsd_` prefix, base units in the name, `_total` on counters and only on
 * counters, no colons; one metric per meaning, with labels only where the
 * same meaning is split by a dimension (the drops by `reason`, the workers'
 * restarts by `worker`). Per service and per dest the names follow
 * node_exporter's IPVS collector (incoming/outgoing packets and bytes,
 * active/inactive connections, weight), so dashboards carry over.
 *
 * Labels: a service has `service` (its key, `tcp:10.10.0.100:80`) and
 * `proto`, `vip`, `port` taken from that key (for a service group: its first
 * address and port, which is how its key names it); a dest has its service's
 * labels plus `dest_address` and `dest_port`.
 *
 * @module
 */

import type {
  DataplaneView,
  DestView,
  HealthView,
  RatesView,
  ServiceView,
  StatsView,
  StatusView,
  VrrpView,
} from "./model.ts";
import type { SyncBackupStats, SyncDaemonStatus, SyncMasterStats } from "../sync/daemon.ts";

/** The Content-Type of the exposition. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What {@link renderMetrics} shows. */
export interface MetricsInput {
  status: StatusView;
  services: ServiceView[];
  dataplane: DataplaneView;
  /** Health states (GET /v1/health), when there is a health layer. */
  health?: HealthView;
  /** VRRP instances (GET /v1/vrrp), when configured. */
  vrrp?: VrrpView;
  /** The connection-sync daemons running (GET /v1/sync). */
  sync?: SyncDaemonStatus[];
}

type Labels = [name: string, value: string][];
type Sample = [labels: Labels, value: number];

/** Descriptions of the data-plane counters (README "What it shows"); others get a generic one. */
const DATAPLANE_HELP: Record<string, string> = {
  rx_frames: "Frames received by the data plane.",
  tx_frames: "Frames sent by the data plane.",
  conns: "Connections created by the data plane.",
  ignored: "Frames that are not lvsd's, left to the kernel.",
  arp_replies: "ARP replies sent for the VIPs.",
  echo_replies: "ICMP echo replies sent for the VIPs.",
  gso_frames: "GSO frames received.",
  csum_partial: "Frames received with a partial checksum.",
  tx_errors: "Frames the kernel refused to send.",
  tx_dropped: "Frames given up on a full socket buffer.",
  rx_kernel_drops: "Frames the kernel dropped because lvsd fell behind.",
  icmp_errors_sent: "ICMP errors sent by the data plane.",
  icmp_relayed: "ICMP errors passed on for a connection.",
  segments: "Segments cut from GSO frames for tunnel dests.",
  sync_queued: "Connections queued by the workers for the sync master.",
  sync_queue_full: "Connections the sync master missed: a worker's sync ring was full.",
};

/** A label value in the exposition: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text: backslash and line feed escaped (quotes stay as they are in 0.0.4). */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as Go's strconv.ParseFloat (Prometheus's parser) reads it. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** The metric-name form of a counter name: characters outside [a-zA-Z0-9_] become `_`. */
function metricToken(name: string): string {
  if (name === "") throw new Error("metrics: a data-plane counter has an empty name");
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** The exposition under construction: one HELP/TYPE block per family, its samples together. */
class Exposition {
  #out: string[] = [];
  #names = new Set<string>();

  family(name: string, type: "counter" | "gauge", help: string, samples: Sample[]): void {
    if (this.#names.has(name)) {
      throw new Error(`metrics: two metric families are named ${name}`);
    }
    this.#names.add(name);
    if (samples.length === 0) return;
    this.#out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}` : "";
      this.#out.push(`${name}${l} ${formatValue(value)}`);
    }
  }

  text(): string {
    return this.#out.length ? this.#out.join("\n") + "\n" : "";
  }
}

/** `proto`, `vip`, `port` of a service, from its key `proto:vip:port`. */
function serviceLabels(s: ServiceView): Labels {
  const m = /^([a-z0-9]+):(.+):(\d+)$/.exec(s.key);
  if (!m) throw new Error(`metrics: service key ${JSON.stringify(s.key)} is not proto:vip:port`);
  return [["service", s.key], ["proto", m[1]], ["vip", m[2]], ["port", m[3]]];
}

/** A dest's labels: its service's plus `dest_address` and `dest_port` (from its config keys, else its key). */
function destLabels(svc: Labels, d: DestView): Labels {
  let address = typeof d.address === "string" ? d.address : undefined;
  let port = typeof d.port === "number" ? String(d.port) : undefined;
  if (address === undefined || port === undefined) {
    const m = /^(.+):(\d+)$/.exec(d.key);
    if (!m) throw new Error(`metrics: dest key ${JSON.stringify(d.key)} is not address:port`);
    address ??= m[1];
    port ??= m[2];
  }
  return [...svc, ["dest_address", address], ["dest_port", port]];
}

/** The five counters and five rates, for services (`lvsd_service_`) or dests (`lvsd_dest_`). */
function trafficFamilies(
  x: Exposition,
  prefix: string,
  what: string,
  rows: { labels: Labels; stats: StatsView; rates: RatesView }[],
): void {
  const counters: [string, keyof StatsView, string][] = [
    ["connections_total", "conns", "Connections scheduled (ipvsadm --stats Conns)"],
    ["incoming_packets_total", "inpkts", "Packets from clients (ipvsadm --stats InPkts)"],
    ["outgoing_packets_total", "outpkts", "Packets to clients (ipvsadm --stats OutPkts)"],
    ["incoming_bytes_total", "inbytes", "Bytes from clients (ipvsadm --stats InBytes)"],
    ["outgoing_bytes_total", "outbytes", "Bytes to clients (ipvsadm --stats OutBytes)"],
  ];
  for (const [suffix, field, help] of counters) {
    x.family(`${prefix}_${suffix}`, "counter", `${help} per ${what}.`, rows.map((r) => [r.labels, r.stats[field]]));
  }
  const rates: [string, keyof RatesView, string][] = [
    ["connections_per_second", "cps", "Connection rate (ipvsadm --rate CPS)"],
    ["incoming_packets_per_second", "inpps", "Incoming packet rate (ipvsadm --rate InPPS)"],
    ["outgoing_packets_per_second", "outpps", "Outgoing packet rate (ipvsadm --rate OutPPS)"],
    ["incoming_bytes_per_second", "inbps", "Incoming byte rate (ipvsadm --rate InBPS)"],
    ["outgoing_bytes_per_second", "outbps", "Outgoing byte rate (ipvsadm --rate OutBPS)"],
  ];
  for (const [suffix, field, help] of rates) {
    x.family(
      `${prefix}_${suffix}`,
      "gauge",
      `${help} per ${what}, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).`,
      rows.map((r) => [r.labels, r.rates[field]]),
    );
  }
}

/** Renders the whole exposition; a bad service or dest key throws, naming it. */
export function renderMetrics(input: MetricsInput): string {
  const { status, services, dataplane } = input;
  const x = new Exposition();

  x.family("lvsd_up", "gauge", "1 while lvsd is running and answering.", [[[], 1]]);
  x.family("lvsd_build_info", "gauge", "Always 1; the lvsd version and the IPVS version it reports.", [
    [[["version", status.version], ["ipvs_version", status.ipvs_version]], 1],
  ]);
  x.family("lvsd_uptime_seconds", "gauge", "Seconds since lvsd started.", [[[], status.uptime_s]]);
  x.family("lvsd_connection_table_size", "gauge", "Connection table slots (ipvsadm's size=).", [
    [[], status.conn_table_size],
  ]);
  x.family("lvsd_connections", "gauge", "Live connection table entries (connections and persistence templates).", [
    [[], status.connections],
  ]);
  x.family("lvsd_workers", "gauge", "Data-plane worker threads.", [[[], status.workers]]);
  x.family(
    "lvsd_worker_restarts_total",
    "counter",
    "Times each data-plane worker was restarted after a failure.",
    status.worker_restarts.map((n, i) => [[["worker", String(i)]], n]),
  );
  x.family("lvsd_config_generation", "gauge", "Configuration generation: increments with every applied change.", [
    [[], status.generation],
  ]);

  const svcRows = services.map((s) => ({ svc: s, labels: serviceLabels(s) }));
  trafficFamilies(
    x,
    "lvsd_service",
    "service",
    svcRows.map(({ svc, labels }) => ({ labels, stats: svc.stats, rates: svc.rates })),
  );

  const destRows = svcRows.flatMap(({ svc, labels }) => svc.dests.map((d) => ({ d, labels: destLabels(labels, d) })));
  trafficFamilies(
    x,
    "lvsd_dest",
    "dest",
    destRows.map(({ d, labels }) => ({ labels, stats: d.stats, rates: d.rates })),
  );
  x.family(
    "lvsd_dest_active_connections",
    "gauge",
    "Active connections per dest (ipvsadm ActiveConn).",
    destRows.map(({ d, labels }) => [labels, d.active_conns]),
  );
  x.family(
    "lvsd_dest_inactive_connections",
    "gauge",
    "Inactive connections per dest (ipvsadm InActConn).",
    destRows.map(({ d, labels }) => [labels, d.inact_conns]),
  );
  x.family(
    "lvsd_dest_persistent_connections",
    "gauge",
    "Persistence templates bound to each dest (ipvsadm PersistConn).",
    destRows.map(({ d, labels }) => [labels, d.persist_conns]),
  );
  x.family(
    "lvsd_dest_weight",
    "gauge",
    "Scheduling weight of each dest (0: drained, gets no new connections).",
    destRows.filter(({ d }) => typeof d.weight === "number").map(({ d, labels }) => [labels, d.weight as number]),
  );

  for (const [name, value] of Object.entries(dataplane.counters)) {
    const metric = `lvsd_dataplane_${metricToken(name).replace(/_total$/, "")}_total`;
    x.family(metric, "counter", DATAPLANE_HELP[name] ?? `Data-plane counter ${name}.`, [[[], value]]);
  }
  x.family(
    "lvsd_dataplane_dropped_packets_total",
    "counter",
    "Packets the data plane dropped, by reason.",
    Object.entries(dataplane.drops).map(([reason, n]) => [[["reason", reason]], n]),
  );

  if (input.sync) {
    const d = input.sync;
    const m = d.filter((x) => x.role === "master").map((x) => x.stats as SyncMasterStats);
    const b = d.filter((x) => x.role === "backup").map((x) => x.stats as SyncBackupStats);
    x.family(
      "lvsd_sync_daemon_up",
      "gauge",
      "1 for each connection-sync daemon role running.",
      d.map((s) => [[["role", s.role]], 1] as Sample),
    );
    const both = (f: (s: SyncMasterStats | SyncBackupStats) => number): Sample[] =>
      d.map((s) => [[["role", s.role]], f(s.stats)]);
    x.family(
      "lvsd_sync_datagrams_total",
      "counter",
      "Sync datagrams sent (master) or received (backup).",
      both((s) => s.datagrams),
    );
    x.family(
      "lvsd_sync_conns_total",
      "counter",
      "Sync entries sent (master) or decoded (backup).",
      both((s) => s.conns),
    );
    x.family(
      "lvsd_sync_bytes_total",
      "counter",
      "Sync payload bytes sent (master) or received (backup).",
      both((s) => s.bytes),
    );
    x.family(
      "lvsd_sync_send_errors_total",
      "counter",
      "Sync datagrams the socket refused to send.",
      m.map((s) => [[], s.send_errors] as Sample),
    );
    x.family(
      "lvsd_sync_installed_total",
      "counter",
      "Synced entries the backup installed (new) or updated (present).",
      b.flatMap((s) => [[[["result", "installed"]], s.installed], [[["result", "updated"]], s.updated]] as Sample[]),
    );
    x.family(
      "lvsd_sync_dropped_total",
      "counter",
      "Sync datagrams or entries the backup dropped, by reason.",
      b.flatMap((s) => Object.entries(s.drops).map(([reason, n]) => [[["reason", reason]], n] as Sample)),
    );
  }

  if (input.health) {
    const h = input.health.services;
    x.family(
      "lvsd_service_quorum_up",
      "gauge",
      "1 while a service's live weight holds its quorum, 0 while the quorum is lost.",
      h.map((s) => [[["service", s.key]], s.quorum_up ? 1 : 0] as Sample),
    );
    x.family(
      "lvsd_dest_health_up",
      "gauge",
      "1 while a dest's health check finds it up, 0 while down (checked dests only).",
      h.flatMap((s) =>
        s.dests.filter((d) => d.state !== "unchecked").map((d) => {
          const [address, port] = [d.key.slice(0, d.key.lastIndexOf(":")), d.key.slice(d.key.lastIndexOf(":") + 1)];
          const labels: Labels = [["service", s.key], ["dest_address", address], ["dest_port", port]];
          return [labels, d.state === "up" ? 1 : 0] as Sample;
        })
      ),
    );
  }
  const vrrp = input.vrrp?.instances ?? [];
  if (vrrp.length) {
    const states = ["INIT", "BACKUP", "MASTER", "FAULT"] as const;
    const inst = (v: VrrpView["instances"][number]): Labels => [["instance", v.name], ["vrid", String(v.vrid)]];
    x.family(
      "lvsd_vrrp_state",
      "gauge",
      "1 for the state a VRRP instance is in (INIT, BACKUP, MASTER, FAULT), 0 for the others.",
      vrrp.flatMap((v) => states.map((s) => [[...inst(v), ["state", s]], v.state === s ? 1 : 0] as Sample)),
    );
    x.family(
      "lvsd_vrrp_priority",
      "gauge",
      "The priority a VRRP instance advertises now.",
      vrrp.map((v) => [inst(v), v.priority] as Sample),
    );
    x.family(
      "lvsd_vrrp_adverts_sent_total",
      "counter",
      "VRRP adverts sent.",
      vrrp.map((v) => [inst(v), v.adverts_sent] as Sample),
    );
    x.family(
      "lvsd_vrrp_adverts_received_total",
      "counter",
      "VRRP adverts accepted.",
      vrrp.map((v) => [inst(v), v.adverts_received] as Sample),
    );
    x.family(
      "lvsd_vrrp_adverts_dropped_total",
      "counter",
      "VRRP adverts dropped, by reason (RFC 5798 7.1 receive checks).",
      vrrp.flatMap((v) =>
        Object.entries(v.drops).map(([reason, n]) => [[...inst(v), ["reason", reason]], n] as Sample)
      ),
    );
  }
  return x.text();
}
