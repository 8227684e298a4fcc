/**
 * The config file's schema: what each key accepts, its default, and the
 * normalised, camelCase {@link Config} it becomes.
 *
 * Shape, type and range errors come from zod; "known to IPVS but not built
 * yet" is reported separately from "unknown", so that a user copying an
 * ipvsadm setup learns what is missing rather than that they made a typo.
 * Duplicate detection lives in load.ts because it must also run on services
 * that have other errors.
 *
 * @module
 */

import { z } from "zod";
import { MH_DEFAULT_TABLE_SIZE, MH_TABLE_SIZES } from "../dataplane/maglev.ts";
import type { CheckSpec } from "../health/types.ts";
import { DEFAULT_SYNC_THRESHOLD, SYNC_DEFAULTS, type SyncDaemonsConfig } from "../sync/config.ts";
import { validateCheck } from "../health/options.ts";
import { validateVrrpInstances, vrrpConfigIssues, type VrrpInstanceSpec } from "../vrrp/spec.ts";
import {
  formatIpv4,
  parseIpv4,
  parsePortMember,
  parseVipMember,
  type PortRange,
  type ServiceGroup,
  unusableVip,
} from "./members.ts";

export { parseIpv4 };
export type { PortRange, ServiceGroup };

// ---------------------------------------------------------------- vocabulary

/** Protocols lvsd forwards today. */
export const SUPPORTED_PROTOS = ["tcp", "udp"] as const;
/** IPVS service types that exist but are not built yet. */
export const PLANNED_PROTOS = ["sctp", "fwmark"] as const;

/** Schedulers lvsd implements today. */
export const SUPPORTED_SCHEDULERS = [
  "rr",
  "wrr",
  "lc",
  "wlc",
  "sed",
  "nq",
  "fo",
  "ovf",
  "twos",
  "sh",
  "dh",
  "mh",
  "lblc",
  "lblcr",
] as const;
/** Every mainline IPVS scheduler is built. */
export const PLANNED_SCHEDULERS = [] as const;
/** ipvsadm's default scheduler when -s is not given. */
export const DEFAULT_SCHEDULER: Scheduler = "wlc";

/** Forwarding methods: ipvsadm -m (NAT), -g (direct routing), -i (tunnel). */
export const SUPPORTED_FORWARDS = ["masq", "route", "tunnel"] as const;
/** IPVS's LocalNode is not a thing a userspace director can do. */
export const PLANNED_FORWARDS = [] as const;

/** ipvsadm --tun-type values lvsd encapsulates with. */
export const SUPPORTED_TUN_TYPES = ["ipip", "gue"] as const;
export const PLANNED_TUN_TYPES = ["gre"] as const;

/**
 * ipvsadm -b flags. sh-* apply to sh and mh-* to mh only; flag-1..3 are
 * ipvsadm's generic names for the same bits (IP_VS_SVC_F_SCHED1..3) and are
 * taken with any scheduler, as ipvsadm takes them.
 */
export const SCHED_FLAGS = [
  "sh-fallback",
  "sh-port",
  "mh-fallback",
  "mh-port",
  "flag-1",
  "flag-2",
  "flag-3",
] as const;

/** Values of `ipvsadm --set tcp tcpfin udp` in the kernel (900 120 300). */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  tcp: 900,
  tcpfin: 120,
  udp: 300,
});

/** Connection table entries when the file does not say. */
export const DEFAULT_CONN_TABLE_SIZE = 262144;
/** The mh lookup table size when the file does not say (CONFIG_IP_VS_MH_TAB_INDEX 12). */
export const DEFAULT_MH_TABLE_SIZE = MH_DEFAULT_TABLE_SIZE;
/** libipvs IPVS_SVC_PERSISTENT_TIMEOUT (6*60 s). */
export const DEFAULT_PERSISTENCE_TIMEOUT = 360;

// --------------------------------------------------------------------- types

/** A protocol lvsd forwards. */
export type Proto = (typeof SUPPORTED_PROTOS)[number];
/** A scheduler lvsd implements. */
export type Scheduler = (typeof SUPPORTED_SCHEDULERS)[number];
/** A forwarding method lvsd implements. */
export type Forward = (typeof SUPPORTED_FORWARDS)[number];
/** A tunnel encapsulation lvsd implements. */
export type TunType = (typeof SUPPORTED_TUN_TYPES)[number];
/** An ipvsadm -b scheduler flag. */
export type SchedFlag = (typeof SCHED_FLAGS)[number];

/** Idle timeouts in seconds, as set by `ipvsadm --set tcp tcpfin udp`. */
export interface Timeouts {
  /** TCP ESTABLISHED. */
  tcp: number;
  /** TCP FIN_WAIT. */
  tcpfin: number;
  /** UDP. */
  udp: number;
}

/** A data-plane interface lvsd opens. */
export interface InterfaceConfig {
  name: string;
}

/** Persistence (ipvsadm -p / -M). */
export interface PersistenceConfig {
  /** Seconds a client's template outlives its last connection. */
  timeout: number;
  /** Clients whose addresses agree under this mask share a dest. */
  netmask: string;
}

/** Run-time options: the IPVS sysctls lvsd honours (net.ipv4.vs.*), with the kernel's defaults. */
export interface OptionsConfig {
  /**
   * conn_reuse_mode, 0..3 (default 1): a SYN that finds a connection in
   * TIME_WAIT or CLOSE ends it and is scheduled afresh; 2 (or 3) also one
   * in FIN_WAIT of a direct-routing or tunnel connection; 0 never (the new
   * connection goes where the old one went).
   */
  connReuseMode: number;
  /**
   * expire_nodest_conn (default false): a packet of a connection whose
   * dest left its service ends it (false: the packet is dropped and the
   * connection kept until it times out); a SYN on a connection whose dest
   * has weight 0 is scheduled afresh.
   */
  expireNodestConn: boolean;
  /** expire_quiescent_template: templates to a weight-0 dest are dropped when next used. */
  expireQuiescentTemplate: boolean;
  /**
   * sloppy_tcp (default false): any TCP segment without RST that has no
   * connection starts one, not only a SYN (a director taking over
   * established flows; right only with sh, dh or mh).
   */
  sloppyTcp: boolean;
}

/** A real server of a service, with every default filled in. */
export interface DestConfig {
  /** daddr, dotted IPv4. */
  address: string;
  /** dport; defaults to the service port (0 for a port-0 service: the client's port). */
  port: number;
  forward: Forward;
  /** Tunnel encapsulation (forward tunnel only): --tun-type. */
  tunType: TunType;
  /** GUE destination port (--tun-port), 0 unless tunType is gue. */
  tunPort: number;
  /** 0..65535; 0 = quiescent (keeps its connections, gets no new ones). */
  weight: number;
  uThreshold: number;
  lThreshold: number;
  /** Run (sh -c) when its health check finds it up / down (keepalived notify_up / notify_down). */
  notifyUp: string | null;
  notifyDown: string | null;
}

/** A virtual service, with every default filled in. */
export interface ServiceConfig {
  proto: Proto;
  /** vaddr, dotted IPv4; for a service group, its first address. */
  vip: string;
  /** vport; 0 = any port (persistent services only); for a service group, its first port. */
  port: number;
  /**
   * A service group's members (vips:/ports:), null for one vip and port.
   * Members that come to one address and one port are an ordinary service.
   */
  group: ServiceGroup | null;
  scheduler: Scheduler;
  persistence: PersistenceConfig | null;
  ops: boolean;
  schedFlags: SchedFlag[];
  /** mh: entries of the Maglev lookup table, one of the kernel's primes. */
  mhTableSize: number;
  /** The health check run against every dest (keepalived's checker block), null for none. */
  healthCheck: CheckSpec | null;
  /** keepalived quorum: the least total weight of live dests (default 1). */
  quorum: number;
  /** keepalived hysteresis around the quorum (default 0). */
  hysteresis: number;
  /** Run (sh -c) when the quorum is gained / lost. */
  quorumUp: string | null;
  quorumDown: string | null;
  /** Takes the pool while the quorum is lost (keepalived sorry_server). */
  sorryServer: DestConfig | null;
  /** Keep the sorry server in the table at weight 0 while the quorum holds. */
  sorryServerInhibit: boolean;
  /** Seconds over which a dest that comes up (or is added) ramps to its weight (0: none). */
  slowStart: number;
  dests: DestConfig[];
}

/** The admin API (HTTP). */
export interface AdminConfig {
  /** Where it listens; null = no admin API. */
  listen: { host: string; port: number } | null;
  /**
   * The bearer token's file. The daemon reads the token from it, or
   * creates it (random, mode 0600) when it does not exist; lvsadm reads it.
   */
  tokenFile: string;
  /** HTTPS instead of HTTP: PEM certificate chain and key files. */
  tls: { cert: string; key: string } | null;
}

/** Where the admin API listens unless the config says otherwise. */
export const DEFAULT_ADMIN_LISTEN = { host: "127.0.0.1", port: 9470 } as const;
/** The token file lvsd creates and lvsadm reads unless told otherwise. */
export const DEFAULT_TOKEN_FILE = "/run/lvsd/admin.token";
/** Where the running service table is kept across restarts unless told otherwise. */
export const DEFAULT_STATE_FILE = "/var/lib/lvsd/state.yaml";

// ------------------------------------------------------------- packet_io (issue 6)

/** `packet_io`: af_packet (any device), af_xdp (native XDP + AF_XDP sockets, or fail), auto (AF_XDP, else AF_PACKET). */
export const PACKET_IO_CHOICES = ["auto", "af_xdp", "af_packet"] as const;
/** One of {@link PACKET_IO_CHOICES}. */
export type PacketIoChoice = typeof PACKET_IO_CHOICES[number];
/**
 * The default `packet_io`: the one constant to flip to "auto" once the full
 * suite has run on AF_XDP (README, "Packet I/O: AF_XDP").
 */
export const DEFAULT_PACKET_IO: PacketIoChoice = "af_packet";
const packetIoShape = z.enum(PACKET_IO_CHOICES, {
  error: (iss) => `${describe(iss.input)} is not one of ${PACKET_IO_CHOICES.join(", ")}`,
}).default(DEFAULT_PACKET_IO);

/** The whole config, normalised: every default filled in. */
export interface Config {
  /** Worker count; "auto" is resolved to the core count by the supervisor. */
  workers: number | "auto";
  connTableSize: number;
  kernelGuard: "nftables" | "off";
  /** How workers move frames (issue 6): see {@link PACKET_IO_CHOICES}; {@link DEFAULT_PACKET_IO} when not set. */
  packetIo: PacketIoChoice;
  statusFile: string | null;
  /** The running services, timeouts and options, kept across restarts (null = not kept). */
  stateFile: string | null;
  admin: AdminConfig;
  timeouts: Timeouts;
  options: OptionsConfig;
  interfaces: InterfaceConfig[];
  services: ServiceConfig[];
  /** VIP failover: keepalived's vrrp_instance blocks (src/vrrp); empty = every VIP held, no VRRP. */
  vrrpInstances: VrrpInstanceSpec[];
  /** Connection-sync daemons (ipvsadm --start-daemon; keepalived lvs_sync_daemon), kept across restarts. */
  syncDaemon: SyncDaemonsConfig;
}

// ------------------------------------------------------------------- helpers

/** The largest timeout ipvsadm accepts (seconds). */
const MAX_TIMEOUT = 2147483;
const INT_MAX = 2147483647;

function intRange(min: number, max: number) {
  const error = (iss: { input?: unknown }) => `${iss.input} is out of range (${min}..${max})`;
  return z.int().min(min, { error }).max(max, { error });
}

/**
 * A string that must be one of `supported`; values in `planned` get a
 * "not supported yet" message, anything else an "unknown" one.
 */
function choice<T extends string>(
  what: string,
  supported: readonly T[],
  planned: readonly string[],
  plannedReason: string,
  hints: Record<string, string> = {},
) {
  return z.string().check((ctx) => {
    const v = ctx.value;
    if ((supported as readonly string[]).includes(v)) return;
    const message = planned.includes(v)
      ? `${what} "${v}" is not supported yet (${plannedReason})`
      : `unknown ${what} "${v}" (valid: ${supported.join(", ")}${hints[v] ? `; did you mean "${hints[v]}"?` : ""})`;
    ctx.issues.push({ code: "custom", message, input: v });
  }).transform((v) => v as T);
}

/** A unicast IPv4 address; IPv6 is recognised and reported as not built. */
const ipv4 = z.string().check((ctx) => {
  const v = ctx.value;
  const n = parseIpv4(v);
  let message: string | null = null;
  if (n === null) {
    message = z.ipv6().safeParse(v).success
      ? `IPv6 address "${v}" is not supported yet (this build is IPv4 only)`
      : `"${v}" is not an IPv4 address` + (/[-/]/.test(v) ? " (ranges and CIDRs go in vips, a list)" : "");
  } else {
    const why = unusableVip(n);
    if (why) message = `${v} is ${why}`;
  }
  if (message) ctx.issues.push({ code: "custom", message, input: v });
});

const netmask = z.string().check((ctx) => {
  const n = parseIpv4(ctx.value);
  // A mask is contiguous iff its inverse plus one is a power of two.
  const inv = n === null ? 1 : (~n >>> 0);
  if (n === null || (inv & (inv + 1)) !== 0) {
    ctx.issues.push({
      code: "custom",
      message: `"${ctx.value}" is not an IPv4 netmask`,
      input: ctx.value,
    });
  }
});

/** Linux dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or space. */
const ifname = z.string().check((ctx) => {
  const v = ctx.value;
  let why: string | null = null;
  if (v.length === 0) why = "must not be empty";
  else if (new TextEncoder().encode(v).length > 15) {
    why = "is longer than 15 bytes";
  } else if (v === "." || v === "..") why = "is not allowed";
  else if (/[/:\s]/.test(v)) why = "must not contain '/', ':' or whitespace";
  if (why) {
    ctx.issues.push({
      code: "custom",
      message: `interface name "${v}" ${why}`,
      input: v,
    });
  }
});

/** A check that reports `message` when `when(value)` holds. */
function reject<T>(
  when: (v: T) => boolean,
  message: string | ((v: T) => string),
) {
  return (ctx: { value: T; issues: z.core.$ZodRawIssue[] }) => {
    if (!when(ctx.value)) return;
    ctx.issues.push({
      code: "custom",
      message: typeof message === "string" ? message : message(ctx.value),
      input: ctx.value,
    });
  };
}

// ------------------------------------------------------------------- schemas

/**
 * Rules across a service's keys, as IPVS applies them: port 0 ("any port")
 * only with persistence (ip_vs_schedule refuses it otherwise); -o only for
 * UDP (IPVS ignores it for TCP: say so rather than accept it silently); a
 * port-0 service forwards to the port the client asked for
 * (ip_vs_sched_persist), so its dests have port 0 (or none), and only its. Runs even
 * when other keys of the service are wrong (so it reads the value warily).
 */
function serviceRules(value: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  const s = value as Record<string, unknown>;
  const issue = (path: PropertyKey[], message: string, input: unknown) =>
    ctx.addIssue({ code: "custom", message, input, path });
  // Exactly one of vip/vips and of port/ports.
  for (const [one, list, what] of [["vip", "vips", "address"], ["port", "ports", "port"]] as const) {
    if (s[one] === undefined && s[list] === undefined) {
      issue([one], `missing (required): give ${one}, or ${list} (a list) for a service group`, undefined);
    } else if (s[one] !== undefined && s[list] !== undefined) {
      issue([list], `give either ${one} (one ${what}) or ${list} (a list), not both`, s[list]);
    }
  }
  const severalPorts = Array.isArray(s.ports) && multiPortRaw(s.ports);
  if (s.port === 0 && (s.persistence === null || s.persistence === undefined)) {
    issue(["port"], "port 0 (any port) is only valid with persistence", s.port);
  }
  if (s.ops === true && typeof s.proto === "string" && s.proto !== "udp") {
    issue(["ops"], `ops (one-packet scheduling) is only for udp services, not ${s.proto}`, s.ops);
  }
  // The sorry server is a dest like the others as far as ports go.
  const targets: [unknown, PropertyKey[], string][] = [
    ...(Array.isArray(s.dests)
      ? s.dests.map((d, i) => [d, ["dests", i], "dest"] as [unknown, PropertyKey[], string])
      : []),
    ...(s.sorry_server !== null && s.sorry_server !== undefined
      ? [[s.sorry_server, ["sorry_server"], "sorry server"] as [unknown, PropertyKey[], string]]
      : []),
  ];
  for (const [d, at, what] of targets) {
    const port = d !== null && typeof d === "object" ? (d as Record<string, unknown>).port : undefined;
    if (s.port === 0 && port !== undefined && port !== 0) {
      issue(
        [...at, "port"],
        `a port 0 service forwards to the port each client asked for; leave the ${what} port out (or 0)`,
        port,
      );
    } else if (severalPorts && port !== undefined && port !== 0) {
      issue(
        [...at, "port"],
        `a service group of several ports forwards to the port each client asked for; leave the ${what} port out (or 0)`,
        port,
      );
    } else if (s.port !== 0 && !severalPorts && port === 0) {
      issue([...at, "port"], portRange({ input: 0 }), port);
    }
  }
}

const portRange = (iss: { input?: unknown }) => `${iss.input} is out of range (1..65535)`;

/**
 * Whether `ports:` items name more than one port (the dests then take the
 * client's). The items are parsed ({from, to}) or, when the service has
 * other errors, as written.
 */
function multiPortRaw(ports: unknown[]): boolean {
  if (ports.length !== 1) return ports.length > 1;
  const item = ports[0];
  const p = item !== null && typeof item === "object" && "from" in item ? item as PortRange : parsePortMember(item);
  return "from" in p && p.from !== p.to;
}

/** A `vips:` item: an address, a range or a CIDR, to its normalised text. */
const vipMember = z.string().transform((v, ctx) => {
  const m = parseVipMember(v);
  if ("normal" in m) return m.normal;
  ctx.issues.push({ code: "custom", message: m.error, input: v });
  return z.NEVER;
});

/** A `ports:` item: a port or a "from-to" range. */
const portMember = z.unknown().transform((v, ctx): PortRange => {
  const m = parsePortMember(v);
  if ("from" in m) return m;
  ctx.issues.push({ code: "custom", message: m.error, input: v });
  return z.NEVER;
});

const nonEmpty = { error: "must not be empty (a service group needs at least one member)" };

/**
 * vip/port and group of a service from whichever of vip/vips and
 * port/ports it has (the schema has checked that exactly one of each is
 * given). Members that come to one address and one port make an ordinary
 * service, written either way.
 */
function members(s: { vip?: string; vips?: string[]; port?: number; ports?: PortRange[] }) {
  // The fallbacks only keep this total: a service without them has issues,
  // so its output is never used.
  const vips = s.vips ?? [s.vip ?? ""];
  const ports = s.ports ?? [{ from: s.port ?? 0, to: s.port ?? 0 }];
  const single = vips.length === 1 && !/[-/]/.test(vips[0]) && ports.length === 1 && ports[0].from === ports[0].to;
  const several = ports.length > 1 || ports[0].from !== ports[0].to;
  const first = parseVipMember(vips[0]);
  return {
    vip: "range" in first ? formatIpv4(first.range.first) : vips[0],
    port: ports[0].from,
    group: single ? null : { vips: [...vips], ports: ports.map((p) => ({ ...p })) },
    /** What a dest's port defaults to: the service port, or 0 (the client's) for several ports. */
    destPort: several ? 0 : ports[0].from,
  };
}

/** "host:port" (IPv4 or a name; [v6]:port) for the admin API to listen on, or "off". */
const listenAddress = z.string().transform((v, ctx) => {
  if (v === "off") return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    ctx.issues.push({
      code: "custom",
      message: `"${v}" is not host:port (e.g. 127.0.0.1:9470) or "off"`,
      input: v,
    });
    return z.NEVER;
  }
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
});

const path = z.string().min(1, { error: "must not be empty" });

const tlsShape = { cert: path, key: path };

const adminShape = {
  listen: listenAddress.prefault(`${DEFAULT_ADMIN_LISTEN.host}:${DEFAULT_ADMIN_LISTEN.port}`),
  token_file: path.default(DEFAULT_TOKEN_FILE),
  tls: z.strictObject(tlsShape).nullable().default(null),
};

/** A command run with sh -c (hooks). */
const command = z.string().min(1, { error: "must not be empty" });

const timeoutsShape = {
  tcp: intRange(1, MAX_TIMEOUT).default(DEFAULT_TIMEOUTS.tcp),
  tcpfin: intRange(1, MAX_TIMEOUT).default(DEFAULT_TIMEOUTS.tcpfin),
  udp: intRange(1, MAX_TIMEOUT).default(DEFAULT_TIMEOUTS.udp),
};

const interfaceShape = { name: ifname };

/** net.ipv4.vs.conn_reuse_mode: a bitmap of two bits (the kernel takes any int and tests these). */
const CONN_REUSE_MODES = "0 off, 1 TIME_WAIT and CLOSE, 2 or 3 also FIN_WAIT of route/tunnel connections";

const optionsShape = {
  conn_reuse_mode: z.int({
    error: (iss) => `expected an integer 0..3 (${CONN_REUSE_MODES}), got ${describe(iss.input)}`,
  }).check(reject((v) => v < 0 || v > 3, (v) => `${v} is out of range (${CONN_REUSE_MODES})`)).default(1),
  expire_nodest_conn: z.boolean().default(false),
  expire_quiescent_template: z.boolean().default(false),
  sloppy_tcp: z.boolean().default(false),
};

const persistenceShape = {
  timeout: intRange(1, MAX_TIMEOUT).default(DEFAULT_PERSISTENCE_TIMEOUT),
  netmask: netmask.default("255.255.255.255"),
};

const destShape = {
  address: ipv4,
  // 0 only for a port-0 service (checked with the whole service).
  port: z.int().min(0, { error: portRange }).max(65535, { error: portRange }).optional(),
  forward: choice(
    "forward method",
    SUPPORTED_FORWARDS,
    PLANNED_FORWARDS,
    "",
    { nat: "masq", dr: "route", gatewaying: "route", tun: "tunnel", ipip: "tunnel" },
    // keepalived's lvs_method defaults to NAT; ipvsadm's -a defaults to -g.
  ).default("masq"),
  tun_type: choice(
    "tunnel type",
    SUPPORTED_TUN_TYPES,
    PLANNED_TUN_TYPES,
    `this build has ${SUPPORTED_TUN_TYPES.join(", ")}`,
  ).optional(),
  tun_port: intRange(1, 65535).optional(),
  weight: intRange(0, 65535).default(1),
  // ipvsadm -x / -y accept 0..INT_MAX; 0 = no threshold. Like ipvsadm and
  // the kernel, a lower threshold above the upper one is not refused.
  u_threshold: intRange(0, INT_MAX).default(0),
  l_threshold: intRange(0, INT_MAX).default(0),
  notify_up: command.nullable().default(null),
  notify_down: command.nullable().default(null),
};

/** A sorry server: a dest of its own (keepalived sorry_server [ip] [port], sorry_server_lvs_method). */
const sorryShape = {
  address: ipv4,
  port: z.int().min(0, { error: portRange }).max(65535, { error: portRange }).optional(),
  forward: destShape.forward,
  weight: intRange(0, 65535).default(1),
};

/** A health check block, checked by the health module itself (its kinds and keepalived's options). */
const healthCheck = z.unknown().superRefine((v, ctx) => {
  for (const i of validateCheck(v)) {
    ctx.addIssue({ code: "custom", message: i.message, input: v, path: i.path ? i.path.split(".") : [] });
  }
}).transform((v) => v as CheckSpec);

const serviceShape = {
  proto: choice(
    "proto",
    SUPPORTED_PROTOS,
    PLANNED_PROTOS,
    `this build has ${SUPPORTED_PROTOS.join(", ")}`,
  ),
  // One of vip (an address) and vips (a service group's addresses, ranges
  // and CIDRs), and one of port and ports (checked with the whole service).
  vip: ipv4.optional(),
  vips: z.array(vipMember).min(1, nonEmpty).optional(),
  // 0 is a valid vport (any port) only with persistence (checked with the
  // whole service below), so the range message names the usable range.
  port: z.int().min(0, { error: portRange }).max(65535, { error: portRange }).optional(),
  ports: z.array(portMember).min(1, nonEmpty).optional(),
  scheduler: choice(
    "scheduler",
    SUPPORTED_SCHEDULERS,
    PLANNED_SCHEDULERS,
    `this build has ${SUPPORTED_SCHEDULERS.join(", ")}`,
  ).default(DEFAULT_SCHEDULER),
  persistence: z.strictObject(persistenceShape).nullable().default(null),
  ops: z.boolean().default(false),
  sched_flags: z.array(
    z.enum(SCHED_FLAGS, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a scheduler flag (valid: ${SCHED_FLAGS.join(", ")})`,
    }),
  ).default([]),
  // The kernel's choice of sizes (ip_vs_mh.c primes[]); the default is
  // applied in the transform so that a size given with another scheduler
  // can be told from the default.
  mh_table_size: z.int().check(reject(
    (v) => !MH_TABLE_SIZES.includes(v),
    (v) => `${v} is not a Maglev table size (valid: ${MH_TABLE_SIZES.join(", ")})`,
  )).optional(),
  health_check: healthCheck.nullable().default(null),
  quorum: intRange(0, INT_MAX).default(1),
  hysteresis: intRange(0, INT_MAX).default(0),
  quorum_up: command.nullable().default(null),
  quorum_down: command.nullable().default(null),
  sorry_server: z.strictObject(sorryShape).nullable().default(null),
  sorry_server_inhibit: z.boolean().default(false),
  slow_start: intRange(0, 86400).default(0),
  dests: z.array(z.strictObject(destShape)).default([]),
};

/**
 * Rules between a dest's keys and its service's (ipvsadm.c): DR and tunnel
 * real servers get the service port (only NAT maps ports), tun_type and
 * tun_port only mean something for tunnel, and GUE needs a port.
 */
function checkDests(
  ctx: {
    value: {
      port?: number;
      ports?: PortRange[];
      dests: { port?: number; forward: string; tun_type?: string; tun_port?: number }[];
      sorry_server: { address: string; port?: number; forward: string } | null;
    };
    issues: z.core.$ZodRawIssue[];
  },
): void {
  const svc = ctx.value;
  // A group of several ports has no one service port (serviceRules checks its dests).
  const one = svc.ports?.length === 1 && svc.ports[0].from === svc.ports[0].to ? svc.ports[0].from : undefined;
  const port = svc.port ?? one;
  const sorry = svc.sorry_server;
  if (sorry && sorry.forward !== "masq" && sorry.port !== undefined && port !== undefined && sorry.port !== port) {
    ctx.issues.push({
      code: "custom",
      message:
        `${sorry.port} differs from the service port ${port}: only forward masq can map ports (${sorry.forward} sends to the service port)`,
      input: sorry,
      path: ["sorry_server", "port"],
    });
  }
  svc.dests.forEach((d, i) => {
    const issue = (key: string, message: string) =>
      ctx.issues.push({ code: "custom", message, input: d, path: ["dests", i, key] });
    if (d.forward !== "masq" && d.port !== undefined && port !== undefined && d.port !== port) {
      issue(
        "port",
        `${d.port} differs from the service port ${port}: only forward masq can map ports (${d.forward} sends to the service port)`,
      );
    }
    if (d.forward !== "tunnel") {
      if (d.tun_type !== undefined) issue("tun_type", `only applies to forward tunnel (this dest is ${d.forward})`);
      if (d.tun_port !== undefined) issue("tun_port", `only applies to forward tunnel (this dest is ${d.forward})`);
    } else if ((d.tun_type ?? "ipip") === "gue") {
      if (d.tun_port === undefined) issue("tun_port", "is required with tun_type gue (the real server's GUE UDP port)");
    } else if (d.tun_port !== undefined) issue("tun_port", "only applies to tun_type gue");
  });
}

/** Scheduler-specific keys on a service that names another scheduler. */
function schedulerOptions(ctx: {
  value: { scheduler: string; sched_flags: string[]; mh_table_size?: number; dests: unknown[] };
  issues: z.core.$ZodRawIssue[];
}): void {
  const s = ctx.value;
  s.sched_flags.forEach((f, i) => {
    const only = f.startsWith("sh-") ? "sh" : f.startsWith("mh-") ? "mh" : null;
    if (only && s.scheduler !== only) {
      ctx.issues.push({
        code: "custom",
        message: `"${f}" applies to the ${only} scheduler only (this service uses ${s.scheduler})`,
        input: f,
        path: ["sched_flags", i],
      });
    }
  });
  const size = s.mh_table_size ?? DEFAULT_MH_TABLE_SIZE;
  if (s.scheduler === "mh" && s.dests.length > size) {
    // ip_vs_mh_reassign refuses more dests than table entries (-EINVAL).
    ctx.issues.push({
      code: "custom",
      message: `${s.dests.length} dests do not fit an mh table of ${size} entries (raise mh_table_size)`,
      input: s.dests.length,
      path: ["dests"],
    });
  }
  if (s.mh_table_size !== undefined && s.scheduler !== "mh") {
    ctx.issues.push({
      code: "custom",
      message: `mh_table_size applies to the mh scheduler only (this service uses ${s.scheduler})`,
      input: s.mh_table_size,
      path: ["mh_table_size"],
    });
  }
}

// ------------------------------------------------------------ VIP failover

/** `vrrp_instances:` checked by the VRRP module itself (keepalived's keywords and rules; src/vrrp/spec.ts). */
const vrrpInstances = z.unknown().superRefine((v, ctx) => {
  for (const i of validateVrrpInstances(v).issues) {
    ctx.addIssue({ code: "custom", message: i.message, input: v, path: i.path });
  }
}).transform((v) => validateVrrpInstances(v).instances);

/** Every VRRP address must be answered on a data-plane interface. */
function vrrpInterfaces(
  ctx: {
    value: { interfaces: { name: string }[]; vrrp_instances?: VrrpInstanceSpec[] };
    issues: z.core.$ZodRawIssue[];
  },
): void {
  // Only once the block itself is valid (with its own errors it is still the raw input).
  const list = ctx.value.vrrp_instances ?? [];
  if (!Array.isArray(list) || list.some((i) => !Array.isArray(i?.virtualIpaddress))) return;
  const names = ctx.value.interfaces.map((i) => i.name);
  for (const i of vrrpConfigIssues(list, names)) {
    ctx.issues.push({ code: "custom", message: i.message, input: null, path: ["vrrp_instances", ...i.path] });
  }
}

// ---------------------------------------------------------- sync_daemon
// Connection sync (issue 7): one block per role, keepalived's
// lvs_sync_daemon words (interface, id, maxlen, port, ttl, group) plus
// unicast_peer for networks without multicast.
const multicastGroup = z.string().check(reject(
  (v: string) => (parseIpv4(v) ?? 0) >>> 28 !== 0xe,
  (v: string) => `${JSON.stringify(v)} is not an IPv4 multicast address (224.0.0.0/4)`,
));
const syncDaemonShape = {
  interface: ifname,
  id: intRange(0, 255).default(SYNC_DEFAULTS.syncid),
  maxlen: intRange(1, 65535 - 20 - 8).optional(),
  group: multicastGroup.default(SYNC_DEFAULTS.group),
  port: intRange(1, 65535).default(SYNC_DEFAULTS.port),
  ttl: intRange(1, 255).default(SYNC_DEFAULTS.ttl),
  unicast_peer: ipv4.optional(),
};
// net.ipv4.vs.sync_threshold "threshold period": proc_do_sync_threshold
// wants both ≥ 0 and the threshold below a non-zero period.
const syncThreshold = z.tuple([intRange(0, INT_MAX), intRange(0, INT_MAX)]).check(reject(
  ([t, p]: [number, number]) => p > 0 && t >= p,
  ([t, p]: [number, number]) => `threshold ${t} must be below the period ${p} (or the period 0: sync once)`,
));
// keepalived's global `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] ...`:
// one daemon whose role follows the instance (master while MASTER).
const syncFollowShape = { ...syncDaemonShape, vrrp_instance: z.string().min(1, { error: "must not be empty" }) };
const syncDaemonsShape = {
  master: z.strictObject(syncDaemonShape).nullable().default(null),
  backup: z.strictObject(syncDaemonShape).nullable().default(null),
  sync_threshold: syncThreshold.default([...DEFAULT_SYNC_THRESHOLD] as [number, number]),
  lvs_sync_daemon: z.strictObject(syncFollowShape).optional(),
};

/** lvs_sync_daemon names a configured VRRP instance and leaves the roles to it. */
function syncFollowRules(
  ctx: {
    value: {
      vrrp_instances?: { name: string }[];
      sync_daemon: { master: unknown; backup: unknown; lvs_sync_daemon?: { vrrp_instance: string } };
    };
    issues: z.core.$ZodRawIssue[];
  },
): void {
  const f = ctx.value.sync_daemon.lvs_sync_daemon;
  if (!f) return;
  const path = ["sync_daemon", "lvs_sync_daemon"];
  const names = Array.isArray(ctx.value.vrrp_instances) ? ctx.value.vrrp_instances.map((i) => i?.name) : [];
  if (!names.includes(f.vrrp_instance)) {
    ctx.issues.push({
      code: "custom",
      input: f.vrrp_instance,
      path: [...path, "vrrp_instance"],
      message: `"${f.vrrp_instance}" is not a vrrp_instances name${
        names.length ? ` (configured: ${names.join(", ")})` : " (no vrrp_instances are configured)"
      }`,
    });
  }
  if (ctx.value.sync_daemon.master || ctx.value.sync_daemon.backup) {
    ctx.issues.push({
      code: "custom",
      input: null,
      path,
      message: "cannot be combined with sync_daemon.master or .backup: the VRRP instance's state picks the role",
    });
  }
}
function syncDaemonFrom(d: z.output<z.ZodObject<typeof syncDaemonShape>> | null) {
  return d && {
    mcastInterface: d.interface,
    syncid: d.id,
    maxlen: d.maxlen ?? null,
    group: d.group,
    port: d.port,
    ttl: d.ttl,
    peer: d.unicast_peer ?? null,
  };
}

const rootShape = {
  workers: z.union([z.literal("auto"), intRange(1, 16)], {
    error: (iss) =>
      Number.isInteger(iss.input)
        ? `${iss.input} is out of range (1..16)`
        : `expected "auto" or an integer 1..16, got ${describe(iss.input)}`,
  }).default("auto"),
  conn_table_size: intRange(1024, 16777216)
    // Power of two so that a hash can be masked into a bucket index.
    .check(reject(
      (v) => (v & (v - 1)) !== 0,
      (v) => `${v} is not a power of two`,
    )).default(DEFAULT_CONN_TABLE_SIZE),
  kernel_guard: z.enum(["nftables", "off"], {
    error: (iss) => `${describe(iss.input)} is not one of nftables, off`,
  }).default("nftables"),
  packet_io: packetIoShape,
  status_file: z.string().min(1, { error: "must not be empty" }).nullable()
    .default(null),
  state_file: path.nullable().default(DEFAULT_STATE_FILE),
  admin: z.strictObject(adminShape).prefault({}),
  timeouts: z.strictObject(timeoutsShape).prefault({}),
  options: z.strictObject(optionsShape).prefault({}),
  interfaces: z.array(z.strictObject(interfaceShape))
    .min(1, { error: "at least one interface is required" }),
  // A director may start empty and get its services from the admin API.
  services: z.array(
    z.strictObject(serviceShape).check(checkDests).check(schedulerOptions).superRefine(serviceRules, {
      when: () => true,
    }),
  ).default([]),
  vrrp_instances: vrrpInstances.optional(),
  sync_daemon: z.strictObject(syncDaemonsShape).prefault({}),
};

/** The file's schema; its output is snake_case and turned into Config below. */
/**
 * Entries of the scheduler lookup-table area per table copy (layout.ts
 * SCHED_TBL_ENTRIES; a test checks the two agree): mh tables take their
 * size each, sh and dh 256 (IP_VS_SH_TAB_SIZE / IP_VS_DH_TAB_SIZE).
 */
export const SCHED_TABLE_ENTRIES = 1048576;

function tableEntries(
  ctx: { value: { services: { scheduler: string; mh_table_size?: number }[] }; issues: z.core.$ZodRawIssue[] },
): void {
  let need = 0;
  for (const s of ctx.value.services) {
    if (s.scheduler === "mh") need += s.mh_table_size ?? DEFAULT_MH_TABLE_SIZE;
    else if (s.scheduler === "sh" || s.scheduler === "dh") need += 256;
  }
  if (need > SCHED_TABLE_ENTRIES) {
    ctx.issues.push({
      code: "custom",
      message:
        `the mh/sh/dh lookup tables need ${need} entries in all, more than the ${SCHED_TABLE_ENTRIES} lvsd holds (lower mh_table_size)`,
      input: need,
      path: ["services"],
    });
  }
}

export const configSchema = z.strictObject(rootShape).check(tableEntries).check(vrrpInterfaces).check(syncFollowRules)
  .transform(
    (c): Config => ({
      syncDaemon: {
        master: syncDaemonFrom(c.sync_daemon.master),
        backup: syncDaemonFrom(c.sync_daemon.backup),
        syncThreshold: [c.sync_daemon.sync_threshold[0], c.sync_daemon.sync_threshold[1]],
        ...(c.sync_daemon.lvs_sync_daemon
          ? {
            follow: {
              ...syncDaemonFrom(c.sync_daemon.lvs_sync_daemon)!,
              vrrpInstance: c.sync_daemon.lvs_sync_daemon.vrrp_instance,
            },
          }
          : {}),
      },
      workers: c.workers,
      connTableSize: c.conn_table_size,
      kernelGuard: c.kernel_guard,
      packetIo: c.packet_io,
      statusFile: c.status_file,
      stateFile: c.state_file,
      admin: {
        listen: c.admin.listen,
        tokenFile: c.admin.token_file,
        tls: c.admin.tls && { ...c.admin.tls },
      },
      timeouts: { ...c.timeouts },
      options: {
        connReuseMode: c.options.conn_reuse_mode,
        expireNodestConn: c.options.expire_nodest_conn,
        expireQuiescentTemplate: c.options.expire_quiescent_template,
        sloppyTcp: c.options.sloppy_tcp,
      },
      interfaces: c.interfaces.map((i) => ({ name: i.name })),
      services: c.services.map((s) => {
        const m = members(s);
        return {
          proto: s.proto,
          vip: m.vip,
          port: m.port,
          group: m.group,
          scheduler: s.scheduler,
          persistence: s.persistence && { ...s.persistence },
          ops: s.ops,
          schedFlags: [...s.sched_flags],
          mhTableSize: s.mh_table_size ?? DEFAULT_MH_TABLE_SIZE,
          healthCheck: s.health_check,
          quorum: s.quorum,
          hysteresis: s.hysteresis,
          quorumUp: s.quorum_up,
          quorumDown: s.quorum_down,
          sorryServer: s.sorry_server && {
            address: s.sorry_server.address,
            port: s.sorry_server.port ?? m.destPort,
            forward: s.sorry_server.forward,
            tunType: "ipip" as const,
            tunPort: 0,
            weight: s.sorry_server.weight,
            uThreshold: 0,
            lThreshold: 0,
            notifyUp: null,
            notifyDown: null,
          },
          sorryServerInhibit: s.sorry_server_inhibit,
          slowStart: s.slow_start,
          dests: s.dests.map((d) => ({
            address: d.address,
            port: d.port ?? m.destPort,
            forward: d.forward,
            tunType: d.tun_type ?? "ipip",
            tunPort: d.tun_port ?? 0,
            weight: d.weight,
            uThreshold: d.u_threshold,
            lThreshold: d.l_threshold,
            notifyUp: d.notify_up,
            notifyDown: d.notify_down,
          })),
        };
      }),
      vrrpInstances: c.vrrp_instances ?? [],
    }),
  );

/**
 * The keys allowed in the mapping at `path` (list indexes ignored), for
 * "did you mean" hints on unknown keys.
 */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  const at = path.filter((p) => typeof p === "string").join(".");
  const shapes: Record<string, object> = {
    "": rootShape,
    "timeouts": timeoutsShape,
    "admin": adminShape,
    "admin.tls": tlsShape,
    "options": optionsShape,
    "interfaces": interfaceShape,
    "services": serviceShape,
    "services.persistence": persistenceShape,
    "services.dests": destShape,
    "services.sorry_server": sorryShape,
    "sync_daemon": syncDaemonsShape,
    "sync_daemon.master": syncDaemonShape,
    "sync_daemon.backup": syncDaemonShape,
    "sync_daemon.lvs_sync_daemon": syncFollowShape,
  };
  return Object.keys(shapes[at] ?? {});
}

/** A short human description of a YAML value, for "got ..." messages. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null (an empty value)";
  if (typeof v === "string") {
    return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  }
  if (Array.isArray(v)) return "a list";
  if (v instanceof Uint8Array) return "binary data";
  if (typeof v === "object") return "a mapping";
  return String(v);
}
