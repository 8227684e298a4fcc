/**
 * The admin API's data model: what the HTTP routes return and what the
 * daemon behind them provides. The JSON shapes here are the API's contract
 * (the OpenAPI document describes them, `lvsadm` reads them); the
 * {@link AdminBackend} interface is what a running director implements and
 * what the in-process tests fake.
 *
 * Identities, used in URLs:
 * - a service is `proto:vip:port`, e.g. `tcp:10.10.0.100:80`; a service
 *   group is named by its first address and first port (members of one proto
 *   never overlap, so that is unique);
 * - a dest is `address:port` within its service, e.g. `10.20.0.11:80`.
 *
 * Config-shaped parts (service and dest settings) use the config file's
 * snake_case keys, so a service posted to the API is written exactly as in
 * the YAML file and validated by the same schema.
 *
 * @module
 */

import type { SyncDaemonStatus } from "../sync/daemon.ts";
import type { Config, ServiceConfig } from "../config/mod.ts";

/** Five IPVS counters, as `ipvsadm -L --stats` shows them (since start or the last zero). */
export interface StatsView {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

/**
 * Rates from the kernel estimator's method (ip_vs_est.c: sampled every 2 s,
 * exponentially weighted), per second, as `ipvsadm -L --rate` shows them.
 */
export interface RatesView {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

/** Run-time numbers of one dest. */
export interface DestRuntime {
  /** ActiveConn. */
  active_conns: number;
  /** InActConn. */
  inact_conns: number;
  /** PersistConn: persistence templates bound to the dest. */
  persist_conns: number;
  stats: StatsView;
  rates: RatesView;
}

/** Run-time numbers of one service and its dests (by dest key). */
export interface ServiceRuntime {
  stats: StatsView;
  rates: RatesView;
  dests: Map<string, DestRuntime>;
}

/**
 * A dest as `GET /v1/services` returns it: the config keys (address, port,
 * forward, tun_type/tun_port for tunnel dests, weight, u_threshold,
 * l_threshold) plus `key` and the run-time numbers.
 */
export type DestView = Record<string, unknown> & DestRuntime & { key: string };

/**
 * A service as `GET /v1/services` returns it: its config keys (proto,
 * vip|vips, port|ports, scheduler, persistence, ops, sched_flags,
 * mh_table_size for mh), `key`, stats, rates, and its dests in the order
 * they were added (ipvsadm lists newest first: the CLI reverses).
 */
export type ServiceView = Record<string, unknown> & {
  key: string;
  stats: StatsView;
  rates: RatesView;
  dests: DestView[];
};

/** One connection (or persistence template) as `GET /v1/connections` returns it. */
export interface ConnectionView {
  /** "tcp" | "udp". */
  proto: string;
  /** IPVS state name: ESTABLISHED, SYN_RECV, ..., NONE for a TCP template, UDP for UDP. */
  state: string;
  /** Milliseconds until it expires. */
  expires_ms: number;
  client: string;
  client_port: number;
  /** The address and port the client sent to (for a group template: the group's mark, see README). */
  vip: string;
  vport: number;
  dest: string;
  dport: number;
  /** A persistence template (client port 0), not a connection. */
  template: boolean;
  /** The key of the service it belongs to, when known. */
  service: string | null;
}

/** Filters of `GET /v1/connections` (all optional, combined with AND). */
export interface ConnectionQuery {
  /** A service key. */
  service?: string;
  /** Client address. */
  client?: string;
  /** Dest address, or address:port. */
  dest?: string;
  /** State name, case-insensitive. */
  state?: string;
  /** Page size (default 100, max 10000). */
  limit?: number;
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor?: string;
}

/**
 * What {@link AdminBackend.connections} throws for a query it cannot answer:
 * a service that does not exist, a cursor it did not give, a bad limit.
 */
export class ConnectionQueryError extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
    this.name = "ConnectionQueryError";
  }
}

/** A page of connections. */
export interface ConnectionPage {
  /** Connections matching the filters in the whole table (at the time of the scan). */
  total: number;
  items: ConnectionView[];
  /** Cursor for the next page, null at the end. */
  next_cursor: string | null;
}

/** Data-plane counters summed over the workers, since start or the last zero. */
export interface DataplaneView {
  /** rx_frames, tx_frames, conns, ignored, arp_replies, ... (README "What it shows"). */
  counters: Record<string, number>;
  /** Packets dropped, by reason. */
  drops: Record<string, number>;
}

/** `GET /v1/vrrp`: each VRRP instance's state and counters (VIP failover). */
export interface VrrpView {
  instances: {
    name: string;
    interface: string;
    vrid: number;
    version: 2 | 3;
    /** keepalived's names: INIT, BACKUP, MASTER, FAULT. */
    state: "INIT" | "BACKUP" | "MASTER" | "FAULT";
    /** The priority advertised now (the configured one moved by track_script weights). */
    priority: number;
    /** The master's address as last accepted (ours while MASTER); null before any. */
    master_ip: string | null;
    master_adver_interval_ms: number;
    /** What keeps the instance in FAULT (links, scripts); empty otherwise. */
    faults: string[];
    /** Wall-clock ms of the last change to MASTER; 0: never. */
    master_since_ms: number;
    adverts_sent: number;
    adverts_received: number;
    garps_sent: number;
    /** Adverts dropped, by reason (RFC 5798 §7.1 checks), only non-zero ones. */
    drops: Record<string, number>;
  }[];
}

/** `GET /v1/health`: what the health checks found, per service with a check or a quorum policy. */
export interface HealthView {
  services: {
    key: string;
    /** Whether the live weight holds the quorum (keepalived's quorum state). */
    quorum_up: boolean;
    dests: {
      key: string;
      /** up or down; "unchecked" for a service without health_check (slow start only). */
      state: "up" | "down" | "unchecked";
      /** MISC_CHECK misc_dynamic's weight, null when the configured one applies. */
      weight: number | null;
      /** Seconds since it last came up; null if it is down or has been up since the start. */
      up_for_s: number | null;
    }[];
  }[];
}

/** `GET /v1/status`. */
export interface StatusView {
  /** lvsd's version. */
  version: string;
  /** The IPVS version ipvsadm prints in its header (1.2.1). */
  ipvs_version: string;
  pid: number;
  uptime_s: number;
  /** Connection table slots (ipvsadm's "size="). */
  conn_table_size: number;
  /** Live entries (connections and templates). */
  connections: number;
  workers: number;
  worker_restarts: number[];
  interfaces: string[];
  config_file: string | null;
  state_file: string | null;
  /** Increments with every applied change (also the ETag of GET /v1/config). */
  generation: number;
}

/**
 * What the admin API needs from a running director. Every change goes
 * through {@link AdminBackend.apply} with a whole new config: the director
 * builds its tables off to the side and publishes them with one atomic flip,
 * then persists the config to its state file; a config that cannot be
 * applied throws and changes nothing.
 */
export interface AdminBackend {
  /** The configured table, normalised: what edits change and the state file keeps. */
  config(): Config;
  /**
   * The table the data plane runs, when it differs from {@link config}
   * (health checks took failed dests out, a sorry server in, ramped weights):
   * what listings (GET /v1/services, stats, rates, /metrics) show, as ipvsadm
   * shows keepalived's IPVS table. Absent: config().
   */
  running?(): Config;
  /** Applies `next` atomically; resolves with one note per change. */
  apply(next: Config): Promise<string[]>;
  /** Run-time numbers of the running services, by service key. */
  runtime(): Map<string, ServiceRuntime>;
  connections(query: ConnectionQuery): ConnectionPage;
  dataplane(): DataplaneView;
  /** Zeroes the counters (and rates) of one service and its dests, or of everything. */
  zero(serviceKey?: string): void;
  status(): StatusView;
  /** Health states (absent: no health layer, GET /v1/health lists nothing). */
  health?(): HealthView;
  /** VRRP instances (absent or empty: no vrrp_instances). */
  vrrp?(): VrrpView;
  /** The connection-sync daemons running (absent: none, GET /v1/sync lists nothing). */
  sync?(): SyncDaemonStatus[];
}

/** The key of a service: `proto:vip:port` (a group: its first address and port). */
export function serviceKey(s: Pick<ServiceConfig, "proto" | "vip" | "port">): string {
  return `${s.proto}:${s.vip}:${s.port}`;
}

/** The key of a dest within its service: `address:port`. */
export function destKey(d: { address: string; port: number }): string {
  return `${d.address}:${d.port}`;
}

/**
 * One edit of the running configuration, as `POST /v1/batch` takes a list of
 * them (applied in order to a copy, published as one change; the first that
 * fails rejects the whole batch, naming its index, and changes nothing).
 * The single-resource routes (POST /v1/services, PATCH .../dests/{dest}, ...)
 * are each one of these. `lvsadm -R` sends a save file as one batch.
 *
 * - `service` in add_service / `dest` in add_dest: config-form objects
 *   (snake_case keys as in the YAML file; add_service may carry dests).
 * - `set` in edit_service: any of scheduler, persistence (null = off), ops,
 *   sched_flags, mh_table_size; in edit_dest: any of forward, tun_type,
 *   tun_port, weight, u_threshold, l_threshold. Keys not given keep their
 *   value.
 * - set_timeouts: tcp/tcpfin/udp in seconds; 0 or absent = unchanged, as
 *   `ipvsadm --set`.
 *
 * Errors: a service or dest that does not exist → 404; one that already
 * exists (or overlaps a service group's members) → 409; a value the schema
 * refuses → 422, each problem with its path in the batch (e.g.
 * `ops[2].service.port`).
 */
export type EditOp =
  | { op: "add_service"; service: Record<string, unknown> }
  | { op: "edit_service"; service: string; set: Record<string, unknown> }
  | { op: "delete_service"; service: string }
  | { op: "clear" }
  | { op: "add_dest"; service: string; dest: Record<string, unknown> }
  | { op: "edit_dest"; service: string; dest: string; set: Record<string, unknown> }
  | { op: "delete_dest"; service: string; dest: string }
  | { op: "set_timeouts"; timeouts: { tcp?: number; tcpfin?: number; udp?: number } };
