/**
 * The admin API's request and response bodies as zod schemas, defined once:
 * the OpenAPI document's components are generated from them
 * (openapi.ts), the tests parse real responses with them, and request
 * envelopes are checked against their key lists (requests.ts).
 *
 * Config-shaped values (a service, a dest, the whole config) are described
 * here for readers of the document; the server validates them with the
 * config file's own schema (src/config/schema.ts), whose messages are the
 * ones a user sees.
 *
 * @module
 */

import { z } from "zod";
import { SCHED_FLAGS, SUPPORTED_FORWARDS, SUPPORTED_PROTOS, SUPPORTED_SCHEDULERS } from "../config/mod.ts";
import { MH_TABLE_SIZES } from "../dataplane/maglev.ts";

/** Every schema with a component name in the OpenAPI document. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

/** The description of each named schema, by name (the document's components carry them). */
export const componentDescriptions: Record<string, string> = {};

function named<T extends z.ZodType>(id: string, description: string, schema: T): T {
  apiSchemas.add(schema, { id, description });
  componentDescriptions[id] = description;
  return schema;
}

const count = z.number().min(0);
const port = z.int().min(0).max(65535);
const ipv4Text = z.string().describe("dotted IPv4 address");

// -------------------------------------------------------------- config forms

const forward = z.enum(SUPPORTED_FORWARDS);
const tunType = z.enum(["ipip", "gue"]);
const scheduler = z.enum(SUPPORTED_SCHEDULERS);
const schedFlags = z.array(z.enum(SCHED_FLAGS));
const mhTableSize = z.literal(MH_TABLE_SIZES as number[]).describe("entries of the Maglev lookup table (a prime)");
const portMember = z.union([port, z.string().describe('a port range "from-to"')]);

/** A dest's config keys, every one given (as GET returns them). */
const destConfigShape = {
  address: ipv4Text,
  port: port.describe("dport (0: the port the client asked for)"),
  forward,
  tun_type: tunType.optional().describe("forward tunnel only"),
  tun_port: port.optional().describe("tun_type gue only"),
  weight: z.int().min(0).max(65535),
  u_threshold: z.int().min(0),
  l_threshold: z.int().min(0),
  notify_up: z.string().optional().describe("run (sh -c) when its health check finds it up"),
  notify_down: z.string().optional().describe("run (sh -c) when its health check finds it down"),
};

export const Persistence = named(
  "Persistence",
  "ipvsadm -p (timeout, seconds) and -M (netmask)",
  z.strictObject({ timeout: z.int().min(1), netmask: ipv4Text }),
);

/** A service's config keys as GET returns them (vip|vips, port|ports; mh_table_size for mh only). */
const serviceConfigShape = {
  proto: z.enum(SUPPORTED_PROTOS),
  vip: ipv4Text.optional(),
  vips: z.array(z.string()).optional().describe("a service group's addresses, ranges and CIDRs"),
  port: port.optional(),
  ports: z.array(portMember).optional().describe("a service group's ports and port ranges"),
  scheduler,
  persistence: Persistence.nullable(),
  ops: z.boolean(),
  sched_flags: schedFlags,
  mh_table_size: mhTableSize.optional(),
  health_check: z.record(z.string(), z.unknown()).optional().describe(
    "the health check of every dest: kind (tcp, http, https, udp, dns, misc) and keepalived's options",
  ),
  quorum: z.int().min(0).optional().describe("least total weight of live dests (default 1)"),
  hysteresis: z.int().min(0).optional(),
  quorum_up: z.string().optional(),
  quorum_down: z.string().optional(),
  sorry_server: z.strictObject({ address: ipv4Text, port, forward, weight: z.int().min(0).max(65535) }).optional(),
  sorry_server_inhibit: z.boolean().optional(),
  slow_start: z.int().min(0).optional().describe("seconds over which a dest that comes up ramps to its weight"),
};

export const DestInput = named(
  "DestInput",
  "A dest in config form (as in the config file): address required, the rest defaulted",
  z.strictObject({
    address: ipv4Text,
    port: port.optional().describe("defaults to the service port"),
    forward: forward.optional().describe("defaults to masq"),
    tun_type: tunType.optional(),
    tun_port: port.optional(),
    weight: z.int().min(0).max(65535).optional().describe("defaults to 1"),
    u_threshold: z.int().min(0).optional(),
    l_threshold: z.int().min(0).optional(),
  }),
);

export const ServiceInput = named(
  "ServiceInput",
  "A service in config form (as in the config file): proto, vip|vips and port|ports required, the rest defaulted",
  z.strictObject({
    proto: z.enum(SUPPORTED_PROTOS),
    vip: ipv4Text.optional(),
    vips: z.array(z.string()).optional(),
    port: port.optional(),
    ports: z.array(portMember).optional(),
    scheduler: scheduler.optional().describe("defaults to wlc"),
    persistence: z.strictObject({ timeout: z.int().min(1).optional(), netmask: ipv4Text.optional() }).nullable()
      .optional(),
    ops: z.boolean().optional(),
    sched_flags: schedFlags.optional(),
    mh_table_size: mhTableSize.optional(),
    dests: z.array(DestInput).optional(),
  }),
);

export const ServiceSet = named(
  "ServiceSet",
  "Service settings to change (ipvsadm -E); keys not given keep their value",
  z.strictObject({
    scheduler: scheduler.optional(),
    persistence: z.strictObject({ timeout: z.int().min(1).optional(), netmask: ipv4Text.optional() }).nullable()
      .optional().describe("null: persistence off"),
    ops: z.boolean().optional(),
    sched_flags: schedFlags.optional(),
    mh_table_size: mhTableSize.optional(),
  }),
);

export const DestSet = named(
  "DestSet",
  "Dest settings to change (ipvsadm -e); keys not given keep their value",
  z.strictObject({
    forward: forward.optional(),
    tun_type: tunType.optional(),
    tun_port: port.optional(),
    weight: z.int().min(0).max(65535).optional(),
    u_threshold: z.int().min(0).optional(),
    l_threshold: z.int().min(0).optional(),
  }),
);

export const Timeouts = named(
  "Timeouts",
  "Idle timeouts in seconds (ipvsadm --set tcp tcpfin udp)",
  z.strictObject({ tcp: z.int().min(1), tcpfin: z.int().min(1), udp: z.int().min(1) }),
);

export const TimeoutsSet = named(
  "TimeoutsSet",
  "Timeouts to change, in seconds; 0 or absent keeps the current value (ipvsadm --set)",
  z.strictObject({
    tcp: z.int().min(0).max(2147483).optional(),
    tcpfin: z.int().min(0).max(2147483).optional(),
    udp: z.int().min(0).max(2147483).optional(),
  }),
);

const configObjectShape = {
  workers: z.union([z.literal("auto"), z.int().min(1).max(16)]),
  conn_table_size: z.int().min(1024),
  kernel_guard: z.enum(["nftables", "off"]),
  packet_io: z.enum(["auto", "af_xdp", "af_packet"]).optional(),
  status_file: z.string().nullable(),
  state_file: z.string().nullable(),
  admin: z.strictObject({
    listen: z.string().describe('host:port, or "off"'),
    token_file: z.string(),
    tls: z.strictObject({ cert: z.string(), key: z.string() }).nullable(),
  }),
  timeouts: Timeouts,
  options: z.strictObject({
    conn_reuse_mode: z.int().min(0).max(3),
    expire_nodest_conn: z.boolean(),
    expire_quiescent_template: z.boolean(),
    sloppy_tcp: z.boolean(),
  }),
  interfaces: z.array(z.strictObject({ name: z.string() })).min(1),
  sync_daemon: z.strictObject({
    master: z.record(z.string(), z.unknown()).nullable(),
    backup: z.record(z.string(), z.unknown()).nullable(),
    sync_threshold: z.tuple([z.int().min(0), z.int().min(0)]).describe(
      "net.ipv4.vs.sync_threshold: threshold and period (default [3, 50])",
    ),
    lvs_sync_daemon: z.record(z.string(), z.unknown()).describe(
      "keepalived's lvs_sync_daemon: one daemon whose role follows a VRRP instance (vrrp_instance)",
    ),
  }).partial().optional().describe(
    "connection-sync daemons and rule (written only when one runs or the rule is not the default)",
  ),
};

/** VIP failover instances in config-file form (keepalived's vrrp_instance keywords; read at start only). */
const VrrpInstances = z.array(z.record(z.string(), z.unknown())).describe(
  "VRRP instances (keepalived's vrrp_instance keywords); changed only in the config file, applied at restart",
);

export const ConfigDocument = named(
  "ConfigDocument",
  "The whole running config in config-file form, every default filled in",
  z.strictObject({
    ...configObjectShape,
    services: z.array(z.strictObject({ ...serviceConfigShape, dests: z.array(z.strictObject(destConfigShape)) })),
    vrrp_instances: VrrpInstances.optional(),
  }),
);

export const ConfigInput = named(
  "ConfigInput",
  "A whole config in config-file form (validated as the config file is); only interfaces is required",
  z.strictObject({
    workers: configObjectShape.workers.optional(),
    conn_table_size: configObjectShape.conn_table_size.optional(),
    kernel_guard: configObjectShape.kernel_guard.optional(),
    packet_io: configObjectShape.packet_io,
    status_file: configObjectShape.status_file.optional(),
    state_file: configObjectShape.state_file.optional(),
    admin: configObjectShape.admin.partial().optional(),
    timeouts: Timeouts.partial().optional(),
    options: configObjectShape.options.partial().optional(),
    interfaces: configObjectShape.interfaces,
    services: z.array(ServiceInput).optional(),
    vrrp_instances: VrrpInstances.optional(),
    sync_daemon: configObjectShape.sync_daemon,
  }),
);

// ---------------------------------------------------------------- edit ops

const serviceKeyText = z.string().describe("service key proto:vip:port, e.g. tcp:10.10.0.100:80");
const destKeyText = z.string().describe("dest key address:port, e.g. 10.20.0.11:80");

/** The edit operations, by name: the shapes of {@link EditOp} in model.ts. */
export const editOpSchemas = {
  add_service: z.strictObject({ op: z.literal("add_service"), service: ServiceInput }),
  edit_service: z.strictObject({ op: z.literal("edit_service"), service: serviceKeyText, set: ServiceSet }),
  delete_service: z.strictObject({ op: z.literal("delete_service"), service: serviceKeyText }),
  clear: z.strictObject({ op: z.literal("clear") }),
  add_dest: z.strictObject({ op: z.literal("add_dest"), service: serviceKeyText, dest: DestInput }),
  edit_dest: z.strictObject({
    op: z.literal("edit_dest"),
    service: serviceKeyText,
    dest: destKeyText,
    set: DestSet,
  }),
  delete_dest: z.strictObject({ op: z.literal("delete_dest"), service: serviceKeyText, dest: destKeyText }),
  set_timeouts: z.strictObject({ op: z.literal("set_timeouts"), timeouts: TimeoutsSet }),
} as const;

export const EditOpSchema = named(
  "EditOp",
  "One edit of the running config",
  z.discriminatedUnion("op", Object.values(editOpSchemas) as unknown as [z.ZodObject, ...z.ZodObject[]]),
);

export const Batch = named(
  "Batch",
  "Edits applied in order to a copy of the config and published as one change; the first that fails rejects all",
  z.strictObject({ ops: z.array(EditOpSchema) }),
);

export const ChangeResult = named(
  "ChangeResult",
  "What an applied change did (one note per change) and the config generation it produced",
  z.strictObject({ changes: z.array(z.string()), generation: z.int().min(0) }),
);

export const ZeroRequest = named(
  "ZeroRequest",
  "Which counters to zero (ipvsadm -Z [-t|-u service]); no body or no service: all",
  z.strictObject({ service: serviceKeyText.optional() }),
);

// ------------------------------------------------------------------- views

export const Stats = named(
  "Stats",
  "IPVS counters since start or the last zero (ipvsadm -L --stats)",
  z.strictObject({ conns: count, inpkts: count, outpkts: count, inbytes: count, outbytes: count }),
);

export const Rates = named(
  "Rates",
  "Per-second rates, estimated as IPVS does (ipvsadm -L --rate)",
  z.strictObject({ cps: count, inpps: count, outpps: count, inbps: count, outbps: count }),
);

export const DestView = named(
  "DestView",
  "A dest: its config keys, key and run-time numbers",
  z.strictObject({
    ...destConfigShape,
    key: destKeyText,
    active_conns: count,
    inact_conns: count,
    persist_conns: count,
    stats: Stats,
    rates: Rates,
  }),
);

export const ServiceView = named(
  "ServiceView",
  "A service: its config keys, key, run-time numbers and dests (in the order they were added)",
  z.strictObject({ ...serviceConfigShape, key: serviceKeyText, stats: Stats, rates: Rates, dests: z.array(DestView) }),
);

export const ServiceList = named("ServiceList", "Services in the order they were added", z.array(ServiceView));
export const DestList = named("DestList", "Dests in the order they were added", z.array(DestView));

export const OpenApiDocument = named(
  "OpenApiDocument",
  "An OpenAPI 3.1 document",
  z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.record(z.string(), z.looseObject({})) }),
);

export const DataplaneView = named(
  "DataplaneView",
  "Data-plane counters summed over the workers, and drops by reason",
  z.strictObject({ counters: z.record(z.string(), count), drops: z.record(z.string(), count) }),
);

export const HealthView = named(
  "HealthView",
  "What the health checks found: per service its quorum state and each dest's state",
  z.strictObject({
    services: z.array(z.strictObject({
      key: z.string(),
      quorum_up: z.boolean(),
      dests: z.array(z.strictObject({
        key: z.string(),
        state: z.enum(["up", "down", "unchecked"]),
        weight: z.int().min(0).nullable(),
        up_for_s: z.number().min(0).nullable(),
      })),
    })),
  }),
);

export const VrrpView = named(
  "VrrpView",
  "VIP failover: each VRRP instance's state and counters (empty without vrrp_instances)",
  z.strictObject({
    instances: z.array(z.strictObject({
      name: z.string(),
      interface: z.string(),
      vrid: z.int().min(1).max(255),
      version: z.union([z.literal(2), z.literal(3)]),
      state: z.enum(["INIT", "BACKUP", "MASTER", "FAULT"]),
      priority: z.int().min(0).max(255),
      master_ip: z.string().nullable(),
      master_adver_interval_ms: z.number().min(0),
      faults: z.array(z.string()),
      master_since_ms: z.int().min(0).describe("wall-clock ms of the last change to MASTER; 0 = never"),
      adverts_sent: z.int().min(0),
      adverts_received: z.int().min(0),
      garps_sent: z.int().min(0),
      drops: z.record(z.string(), z.int().min(0)).describe("adverts dropped, by reason (RFC 5798 7.1 checks)"),
    })),
  }),
);

export const StatusView = named(
  "StatusView",
  "The director's state",
  z.strictObject({
    version: z.string(),
    ipvs_version: z.string(),
    pid: z.int(),
    uptime_s: count,
    conn_table_size: count,
    connections: count,
    workers: count,
    worker_restarts: z.array(count),
    interfaces: z.array(z.string()),
    config_file: z.string().nullable(),
    state_file: z.string().nullable(),
    generation: z.int().min(0),
  }),
);

export const ConnectionView = named(
  "ConnectionView",
  "One connection or persistence template (ipvsadm -L -c)",
  z.strictObject({
    proto: z.string(),
    state: z.string(),
    expires_ms: count,
    client: z.string(),
    client_port: port,
    vip: z.string(),
    vport: port,
    dest: z.string(),
    dport: port,
    template: z.boolean(),
    service: z.string().nullable(),
  }),
);

export const ConnectionPage = named(
  "ConnectionPage",
  "A page of connections matching the filters",
  z.strictObject({ total: count, items: z.array(ConnectionView), next_cursor: z.string().nullable() }),
);

export const StatsReport = named(
  "StatsReport",
  "Counters of the data plane, every service and every dest",
  z.strictObject({
    dataplane: DataplaneView,
    services: z.array(z.strictObject({
      key: serviceKeyText,
      stats: Stats,
      dests: z.array(z.strictObject({ key: destKeyText, stats: Stats })),
    })),
  }),
);

export const RatesReport = named(
  "RatesReport",
  "Rates of every service and every dest",
  z.strictObject({
    services: z.array(z.strictObject({
      key: serviceKeyText,
      rates: Rates,
      dests: z.array(z.strictObject({ key: destKeyText, rates: Rates })),
    })),
  }),
);

export const Health = named("Health", "The API answers", z.strictObject({ status: z.literal("ok") }));

export const Problem = named(
  "Problem",
  "RFC 9457 problem details; errors lists each validation problem with its path",
  z.strictObject({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().min(1),
    errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  }),
);

/** `GET /v1/connections` query parameters (all optional). */
export const connectionQueryParams = {
  service: "only connections of this service (key proto:vip:port)",
  client: "only this client address",
  dest: "only this dest (address or address:port)",
  state: "only this state (ESTABLISHED, SYN_RECV, ..., case-insensitive)",
  limit: "page size, 1..10000 (default 100)",
  cursor: "next_cursor of the previous page",
} as const;

// ---------------------------------------------------------------- connection sync

const syncDaemonFields = {
  interface: z.string().describe("the multicast interface (ipvsadm --mcast-interface)"),
  id: z.int().min(0).max(255).describe("syncid (0 = a backup takes any)"),
  maxlen: z.int().min(1).max(65507).describe("UDP payload bytes per datagram (--sync-maxlen)"),
  group: ipv4Text.describe("multicast group (--mcast-group)"),
  port: z.int().min(1).max(65535).describe("UDP port (--mcast-port)"),
  ttl: z.int().min(1).max(255).describe("multicast TTL (--mcast-ttl)"),
  unicast_peer: ipv4Text.describe("send to (master) or take from (backup) this address instead of the group"),
};

export const SyncDaemonInput = named(
  "SyncDaemonInput",
  "A sync daemon to start, in config-file form (the sync_daemon block's master or backup; keepalived's lvs_sync_daemon words); only interface is required",
  z.strictObject({
    interface: syncDaemonFields.interface,
    id: syncDaemonFields.id.optional(),
    maxlen: syncDaemonFields.maxlen.optional(),
    group: syncDaemonFields.group.optional(),
    port: syncDaemonFields.port.optional(),
    ttl: syncDaemonFields.ttl.optional(),
    unicast_peer: syncDaemonFields.unicast_peer.optional(),
  }),
);

export const SyncDaemonView = named(
  "SyncDaemonView",
  "A running sync daemon: its settings (maxlen resolved) and counters",
  z.strictObject({
    role: z.enum(["master", "backup"]),
    interface: syncDaemonFields.interface,
    id: syncDaemonFields.id,
    maxlen: syncDaemonFields.maxlen,
    group: syncDaemonFields.group,
    port: syncDaemonFields.port,
    ttl: syncDaemonFields.ttl,
    unicast_peer: ipv4Text.nullable(),
    stats: z.strictObject({
      datagrams: count.describe("datagrams sent (master) or received (backup)"),
      bytes: count,
      conns: count.describe("entries sent (master) or decoded (backup)"),
      send_errors: count.optional().describe("master: sends the socket refused"),
      stale: count.optional().describe("master: queued connections already ended when read"),
      installed: count.optional().describe("backup: entries installed as new connections or templates"),
      updated: count.optional().describe("backup: entries that updated one already present"),
      late_hops: count.optional().describe(
        "backup: connections that got their client next hop after they were installed (it was not resolved yet)",
      ),
      drops: z.record(z.string(), count).optional().describe(
        "backup: dropped datagrams or entries by reason (wrong_syncid, size_mismatch, ..., no_service, no_dest)",
      ),
    }),
  }),
);

export const SyncView = named(
  "SyncView",
  "The connection-sync daemons running now (ipvsadm -L --daemon), master first",
  z.strictObject({ daemons: z.array(SyncDaemonView) }),
);
