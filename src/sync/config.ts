/**
 * How a connection-sync daemon is configured: ipvsadm's --start-daemon
 * options, written in the config file as keepalived's `lvs_sync_daemon`
 * names them (`sync_daemon:` block, src/config/schema.ts). No I/O here.
 */

/** A daemon role: what sends (master) or receives (backup). */
export type SyncRole = "master" | "backup";

/** What a daemon is started with. */
export interface SyncDaemonConfig {
  /** --mcast-interface: the interface the datagrams leave or arrive on. */
  mcastInterface: string;
  /** --syncid 0..255: stamped on what the master sends; a backup with 0 takes any. */
  syncid: number;
  /** --sync-maxlen: UDP payload bytes per datagram; null = the interface MTU - 28 (the kernel's default). */
  maxlen: number | null;
  /** --mcast-group (224.0.0.81). */
  group: string;
  /** --mcast-port (8848). */
  port: number;
  /** --mcast-ttl (1). */
  ttl: number;
  /**
   * Unicast instead of multicast (networks without it): the master sends
   * to this address, the backup takes datagrams from it only.
   */
  peer: string | null;
}

/** The defaults of the kernel and ipvsadm (DEF_MCAST_IFN eth0 is ipvsadm's, used by lvsadm). */
export const SYNC_DEFAULTS: Readonly<Omit<SyncDaemonConfig, "mcastInterface">> = Object.freeze({
  syncid: 0,
  maxlen: null,
  group: "224.0.0.81",
  port: 8848,
  ttl: 1,
  peer: null,
});

/**
 * Both roles (null = not running) and the rule the master's workers follow
 * (net.ipv4.vs.sync_threshold: threshold and period, "3 50" by default).
 */
export interface SyncDaemonsConfig {
  master: SyncDaemonConfig | null;
  backup: SyncDaemonConfig | null;
  syncThreshold: readonly [threshold: number, period: number];
  /**
   * keepalived's `lvs_sync_daemon INTERFACE VRRP_INSTANCE ...`: one daemon
   * whose role follows a VRRP instance (master while it is MASTER, backup
   * otherwise). Absent: the roles are the two blocks above.
   */
  follow?: SyncFollowConfig;
}

/** A daemon that follows a VRRP instance's state (`sync_daemon.lvs_sync_daemon`). */
export interface SyncFollowConfig extends SyncDaemonConfig {
  /** The vrrp_instances entry (by name) whose state picks the role. */
  vrrpInstance: string;
}

/** net.ipv4.vs.sync_threshold's default (DEFAULT_SYNC_THRESHOLD 3, DEFAULT_SYNC_PERIOD 50). */
export const DEFAULT_SYNC_THRESHOLD: readonly [number, number] = Object.freeze([3, 50]) as readonly [number, number];

/** No daemon, the kernel's rule. */
export const NO_SYNC_DAEMONS: Readonly<SyncDaemonsConfig> = Object.freeze({
  master: null,
  backup: null,
  syncThreshold: DEFAULT_SYNC_THRESHOLD,
});

/** The config file's form of `lvs_sync_daemon` (a daemon that follows a VRRP instance). */
export function syncFollowToObject(c: SyncFollowConfig): Record<string, unknown> {
  return { vrrp_instance: c.vrrpInstance, ...syncDaemonToObject(c) };
}

/** The config file's form of one daemon (keepalived's lvs_sync_daemon words). */
export function syncDaemonToObject(c: SyncDaemonConfig): Record<string, unknown> {
  return {
    interface: c.mcastInterface,
    id: c.syncid,
    ...(c.maxlen !== null ? { maxlen: c.maxlen } : {}),
    group: c.group,
    port: c.port,
    ttl: c.ttl,
    ...(c.peer !== null ? { unicast_peer: c.peer } : {}),
  };
}
