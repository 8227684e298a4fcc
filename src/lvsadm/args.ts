/**
 * lvsadm's argument parser: an ipvsadm command line to a {@link Command},
 * with ipvsadm's semantics, messages and exit codes (ipvsadm.c 1.29
 * parse_options and process_options, plus 1.30's tunnel options), and
 * lvsd's differences said by name.
 *
 * What ipvsadm does, and so lvsadm does:
 * - the command must be the first option (`-Ln`, not `-nL`): a first option
 *   that is no command prints only the "Try ... -h" line and exits 255;
 *   a command later on is "invalid option" (exit 2);
 * - a bad value or combination is one line without the program name, exit
 *   2 (ipvsadm's fail()); a popt error ("-q: unknown option", "-t: missing
 *   argument") exits 255;
 * - -a and -e send a whole dest: what is not given is its default (forward
 *   -g, weight 1, thresholds 0), so `-e` without -m turns a NAT dest into a
 *   direct-routing one, and -g/-i force the dest port to the service port
 *   (process_options);
 * - -A and -E send a whole service: -E without -p turns persistence off,
 *   without -s sets wlc, without -o/-b clears them (libipvs sends the flags
 *   with mask ~0);
 * - `-p` without a value is 360 s (libipvs.h IPVS_SVC_PERSISTENT_TIMEOUT;
 *   the man page says 300, the code uses 360);
 * - -M is taken without -p, and then means nothing (the service is not
 *   persistent); lvsadm says so in a warning.
 *
 * lvsd's differences: IPv6, fwmark services (-f), SCTP (--sctp-service),
 * persistence engines (--pe), GUE checksums (--tun-csum, --tun-remcsum),
 * GRE tunnels and the sync daemon are refused by name; a service group's
 * members may be given after -t/-u; client options (--server, --token-file,
 * --cacert) may come anywhere, also before the command.
 *
 * @module
 */

import { type ListOptions, PLAIN_LIST } from "./format/mod.ts";
import {
  CHECKED_OPTIONS,
  type CheckedOption,
  CLIENT_OPTIONS,
  type CommandName,
  OPTION_TABLE,
  optionProblem,
} from "./options.ts";
import { parseHostPort, parseServiceSpec, type ServiceSpec, stringToNumber } from "./address.ts";
import { parseIpv4 } from "../config/members.ts";
import { PoptScanner } from "./popt.ts";
import type { Resolver } from "./resolver.ts";

export type { ServiceSpec };

/** ipvsadm.c MAX_TIMEOUT: 31 days, for -p and --set. */
export const MAX_TIMEOUT = 86400 * 31;
/** libipvs.h IPVS_SVC_PERSISTENT_TIMEOUT (6*60): `-p` without a value. */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
/** ipvsadm.c DEF_SCHED. */
export const DEFAULT_SCHEDULER = "wlc";
const INT_MAX = 2147483647;

/** ipvsadm.c tryhelp_exit's line (exit 255), with lvsadm's name. */
export const TRY_HELP = "Try `lvsadm -h' or 'lvsadm --help' for more information.";

/** A service's settings as -A/-E send them (all of them, defaults filled in). */
export interface ServiceSettings {
  scheduler: string;
  persistence: { timeout: number; netmask: string } | null;
  ops: boolean;
  /** -b flags by name, each once, in the order given. */
  schedFlags: string[];
  /** --mh-table-size (lvsd); null = not given (kept by -E, the default for -A). */
  mhTableSize: number | null;
}

export type Forward = "masq" | "route" | "tunnel";

/** A dest as -a/-e send it (all of it, defaults filled in). */
export interface DestSettings {
  address: string;
  /** The port after -r; null when none was given. */
  port: number | null;
  forward: Forward;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  /** --tun-type (ipip unless given); meaningful for forward tunnel only. */
  tunType: "ipip" | "gue";
  /** --tun-port, for gue. */
  tunPort: number | null;
}

/** What to list (ipvsadm process_options: -c, then a service, then --timeout, then --daemon). */
export type ListWhat = "services" | "connections" | "timeouts" | "daemon";

/** One parsed command line. */
export type Command =
  | { kind: "add-service" | "edit-service"; service: ServiceSpec; settings: ServiceSettings }
  | { kind: "delete-service"; service: ServiceSpec }
  | { kind: "flush" }
  | { kind: "add-server" | "edit-server"; service: ServiceSpec; dest: DestSettings }
  | { kind: "delete-server"; service: ServiceSpec; dest: { address: string; port: number | null } }
  | { kind: "list"; what: ListWhat; service: ServiceSpec | null; options: ListOptions }
  | { kind: "zero"; service: ServiceSpec | null }
  | { kind: "set"; timeouts: { tcp: number; tcpfin: number; udp: number } }
  | { kind: "restore" }
  | { kind: "save"; numeric: boolean; thresholds: boolean }
  | { kind: "start-daemon"; role: "master" | "backup"; daemon: DaemonSettings }
  | { kind: "stop-daemon"; role: "master" | "backup" }
  | { kind: "help" }
  | { kind: "version" };

/** --start-daemon's options, ipvsadm's defaults filled in (--mcast-interface eth0, DEF_MCAST_IFN). */
export interface DaemonSettings {
  mcastInterface: string;
  syncid: number;
  /** --sync-maxlen; null = the kernel's default (the interface MTU - 28). */
  maxlen: number | null;
  group: string;
  port: number;
  ttl: number;
}

/** How to reach lvsd, when given on the command line. */
export interface ClientOptions {
  server?: string;
  tokenFile?: string;
  caCert?: string;
}

/** A parsed command line. */
export interface Invocation {
  command: Command;
  client: ClientOptions;
  /** Things that are accepted but mean less than they seem (printed to stderr). */
  warnings: string[];
}

/** The parser's answer: an invocation, or the message and exit code ipvsadm would give. */
export type ParseResult = ({ ok: true } & Invocation) | { ok: false; code: number; message: string };

/** A refusal with its exit code (ipvsadm's fail(), tryhelp_exit, popt errors). */
class Refusal {
  constructor(readonly code: number, readonly message: string) {}
}

/** ipvsadm.c fail(2, ...). */
function fail(message: string, code = 2): never {
  throw new Refusal(code, message);
}

/** ipvsadm.c parse_timeout. */
function parseTimeout(text: string, min: number, max: number): number {
  const n = stringToNumber(text, min, max);
  if (n === null) fail(`invalid timeout value \`${text}' specified`);
  return n;
}

/** ipvsadm's -b flags, and the scheduler each is tied to (parse_sched_flags; mh-* since 1.30). */
const SCHED_FLAG_SCHEDULER: Record<string, string | null> = {
  "flag-1": null,
  "flag-2": null,
  "flag-3": null,
  "sh-fallback": "sh",
  "sh-port": "sh",
  "mh-fallback": "mh",
  "mh-port": "mh",
};

/** ipvsadm.c parse_sched_flags: comma-separated names, checked against the scheduler (wlc when none given). */
function parseSchedFlags(scheduler: string, text: string): string[] {
  const sched = scheduler === "" ? DEFAULT_SCHEDULER : scheduler;
  const words = text.split(",").filter((w) => w !== "");
  // strtok finds no word in "," (ipvsadm then dereferences NULL).
  if (words.length === 0) fail(`invalid scheduler flag \`${text}'`);
  const out: string[] = [];
  for (const w of words) {
    if (!(w in SCHED_FLAG_SCHEDULER)) fail(`invalid scheduler flag \`${w}'`);
    const only = SCHED_FLAG_SCHEDULER[w];
    if (only !== null && only !== sched) fail(`incompatible scheduler flag \`${w}'`);
    if (!out.includes(w)) out.push(w);
  }
  return out;
}

/** 1.30 tunnel_types_v_options: tun-port, tun-nocsum, tun-csum, tun-remcsum per tunnel type. */
const TUNNEL_TYPES_V_OPTIONS: Record<"ipip" | "gue", string> = { ipip: "xxxx", gue: "+111" };
const TUNNEL_OPTIONS = ["tun-port", "tun-nocsum", "tun-csum", "tun-remcsum"] as const;

/** ipvsadm 1.30 tunnel_opt_check. */
function tunnelProblem(type: "ipip" | "gue", given: ReadonlySet<CheckedOption>): string | null {
  let exclusive: string | null = null;
  for (let j = 0; j < TUNNEL_OPTIONS.length; j++) {
    const opt = TUNNEL_OPTIONS[j];
    const rule = TUNNEL_TYPES_V_OPTIONS[type][j];
    if (!given.has(opt)) {
      if (rule === "+") return `You need to supply the '${opt}' option for the '${type}' tunnel type`;
      continue;
    }
    if (rule === "x") return `Illegal '${opt}' option with the '${type}' tunnel type`;
    if (rule === "1") {
      if (exclusive === null) exclusive = opt;
      else return `The option '${opt}' conflicts with the '${exclusive}' option in the '${type}' tunnel type`;
    }
  }
  return null;
}

/** The first option decides the command (ipvsadm.c parse_options' first switch). */
const COMMAND_OF_OPTION: Record<string, CommandName | "help" | "version"> = {
  "add-service": "add-service",
  "edit-service": "edit-service",
  "delete-service": "delete-service",
  "clear": "flush",
  "list": "list",
  "zero": "zero",
  "add-server": "add-server",
  "edit-server": "edit-server",
  "delete-server": "delete-server",
  "set": "set",
  "restore": "restore",
  "save": "save",
  "start-daemon": "start-daemon",
  "stop-daemon": "stop-daemon",
  "help": "help",
  "version": "version",
};

/** Options that set nothing in the compatibility check (--sort is a no-op, -6 fails before -f anyway). */
const UNCHECKED = new Set(["sort", "ipv6", ...CLIENT_OPTIONS]);

function noListOptions(): ListOptions {
  return { ...PLAIN_LIST };
}

/**
 * Parses one command line (without the program name). `resolver` looks up
 * host and service names.
 */
export async function parseArgs(argv: readonly string[], resolver: Resolver): Promise<ParseResult> {
  try {
    return { ok: true, ...await parse(argv, resolver) };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

async function parse(argv: readonly string[], resolver: Resolver): Promise<Invocation> {
  const client: ClientOptions = {};
  const warnings: string[] = [];
  const takeClient = (long: string, arg: string) => {
    if (long === "server") client.server = arg;
    else if (long === "token-file") client.tokenFile = arg;
    else client.caCert = arg;
  };
  const scanner = new PoptScanner(argv, OPTION_TABLE);

  let ev = scanner.next();
  while (ev.type === "option" && CLIENT_OPTIONS.has(ev.def.long)) {
    takeClient(ev.def.long, ev.arg ?? "");
    ev = scanner.next();
  }
  // ipvsadm.c main: no argument at all lists the table.
  if (ev.type === "end" && scanner.leftovers.length === 0) {
    return { command: { kind: "list", what: "services", service: null, options: noListOptions() }, client, warnings };
  }
  if (ev.type !== "option" || !(ev.def.long in COMMAND_OF_OPTION)) fail(TRY_HELP, 255);
  const first = COMMAND_OF_OPTION[ev.def.long];
  if (first === "help") return { command: { kind: "help" }, client, warnings };
  if (first === "version") return { command: { kind: "version" }, client, warnings };
  const cmd: CommandName = first;
  const startArg = ev.arg;
  if (cmd === "start-daemon" || cmd === "stop-daemon") {
    if (ev.arg !== "master" && ev.arg !== "backup") {
      // Both messages as ipvsadm.c words them.
      fail(cmd === "start-daemon" ? "illegal start-daemon parameter specified" : "illegal start_daemon specified");
    }
  }

  const given = new Set<CheckedOption>();
  const setOption = (opt: CheckedOption) => {
    if (given.has(opt)) fail(`multiple '${opt}' options specified`);
    given.add(opt);
  };
  let service: ServiceSpec | null = null;
  let proto: "tcp" | "udp" | null = null;
  let scheduler = "";
  let persistentTimeout: number | null = null;
  let netmask = "255.255.255.255";
  let dest: { address: string; port: number | null } | null = null;
  let forward: Forward = "route";
  let weight = 1;
  let uThreshold = 0;
  let lThreshold = 0;
  let ops = false;
  let schedFlagsText = "";
  let tunType: "ipip" | "gue" = "ipip";
  let tunPort: number | null = null;
  let mhTableSize: number | null = null;
  const daemon: DaemonSettings = {
    mcastInterface: "eth0",
    syncid: 0,
    maxlen: null,
    group: "224.0.0.81",
    port: 8848,
    ttl: 1,
  };

  for (;;) {
    ev = scanner.next();
    if (ev.type === "end") break;
    // ipvsadm prints popt's error after the option and returns -1.
    if (ev.type === "error") fail(`${ev.bad}: ${ev.error}`, 255);
    const arg = ev.arg ?? "";
    const name = ev.def.long;
    if (CLIENT_OPTIONS.has(name)) {
      takeClient(name, arg);
      continue;
    }
    if ((CHECKED_OPTIONS as readonly string[]).includes(name) && !UNCHECKED.has(name)) {
      setOption(name as CheckedOption);
    }
    switch (name) {
      case "tcp-service":
      case "udp-service": {
        setOption("service-address");
        proto = name === "tcp-service" ? "tcp" : "udp";
        const s = await parseServiceSpec(arg, proto, resolver);
        if ("problem" in s) {
          if (s.problem === "ipv6") fail(`IPv6 virtual services are not supported by lvsd (${arg}): it is IPv4 only`);
          fail(`illegal virtual server address[:port] specified${s.why ? ` (${s.why})` : ""}`);
        }
        service = s;
        break;
      }
      case "sctp-service":
        setOption("service-address");
        fail("SCTP services (--sctp-service) are not supported by lvsd: it has -t (TCP) and -u (UDP)");
        break;
      case "fwmark-service":
        setOption("service-address");
        fail(
          "fwmark services (-f) are not supported by lvsd; a service group does their job: " +
            "-t 10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099",
        );
        break;
      case "scheduler":
        scheduler = arg;
        break;
      case "persistent":
        persistentTimeout = ev.arg === null ? DEFAULT_PERSISTENT_TIMEOUT : parseTimeout(arg, 1, MAX_TIMEOUT);
        break;
      case "netmask":
        // parse_netmask: inet_aton or a host name; lvsd takes a dotted quad.
        if (parseIpv4(arg) === null) fail("illegal virtual server persistent mask specified");
        netmask = arg;
        break;
      case "real-server": {
        // A service name after -r is looked up for the protocol of a -t/-u
        // given before it, as ipvsadm copies the service parsed so far.
        const d = await parseHostPort(arg, proto, resolver);
        if ("problem" in d) {
          if (d.problem === "ipv6") fail(`IPv6 real servers are not supported by lvsd (${arg}): it is IPv4 only`);
          fail("illegal real server address[:port] specified");
        }
        dest = { address: d.addr, port: d.port };
        break;
      }
      case "masquerading":
      case "ipip":
      case "gatewaying":
        setOption("forwarding-method");
        forward = name === "masquerading" ? "masq" : name === "ipip" ? "tunnel" : "route";
        break;
      case "weight":
        weight = stringToNumber(arg, 0, 65535) ?? fail("illegal weight specified");
        break;
      case "u-threshold":
        uThreshold = stringToNumber(arg, 0, INT_MAX) ?? fail("illegal u_threshold specified");
        break;
      case "l-threshold":
        lThreshold = stringToNumber(arg, 0, INT_MAX) ?? fail("illegal l_threshold specified");
        break;
      case "syncid":
        daemon.syncid = stringToNumber(arg, 0, 255) ?? fail("illegal syncid specified");
        break;
      case "mcast-group":
        if (arg.includes(":")) {
          if (!/^ff[0-9a-f]{0,2}:/i.test(arg) || !URL.canParse(`http://[${arg}]/`)) {
            fail(`invalid IPv6 mcast-group \`${arg}'`);
          }
          fail(`an IPv6 mcast-group (${arg}) is not supported by lvsd: its sync daemon is IPv4 only`);
        } else {
          const a = parseIpv4(arg);
          if (a === null || a >>> 28 !== 0xe) fail(`invalid IPv4 mcast-group \`${arg}'`);
          daemon.group = arg;
        }
        break;
      case "mcast-port":
        daemon.port = stringToNumber(arg, 1, 65535) ?? fail("illegal mcast-port specified");
        break;
      case "mcast-ttl":
        daemon.ttl = stringToNumber(arg, 1, 255) ?? fail("illegal mcast-ttl specified");
        break;
      case "sync-maxlen":
        daemon.maxlen = stringToNumber(arg, 1, 65535 - 20 - 8) ?? fail("illegal sync-maxlen specified");
        break;
      case "ipv6":
        // -6 only qualifies a fwmark service, which must come first.
        fail("-6 used before -f\n");
        break;
      case "ops":
        ops = true;
        break;
      case "pe":
        fail(`persistence engines (--pe ${arg}) are not supported by lvsd`);
        break;
      case "sched-flags":
        schedFlagsText = arg;
        break;
      case "tun-type":
        if (arg === "gre") fail("tunnel type gre is not supported by lvsd: it has ipip and gue");
        if (arg !== "ipip" && arg !== "gue") fail("illegal tunnel type specified");
        tunType = arg;
        break;
      case "tun-port":
        tunPort = stringToNumber(arg, 1, 65535) ?? fail("illegal tunnel port specified");
        break;
      case "tun-csum":
      case "tun-remcsum":
        fail(`--${name} is not supported by lvsd: it sends GUE without a UDP checksum (--tun-nocsum, the default)`);
        break;
      case "mh-table-size":
        mhTableSize = stringToNumber(arg, 1, INT_MAX) ?? fail("illegal mh-table-size specified");
        break;
      case "mcast-interface":
        daemon.mcastInterface = arg;
        break;
      case "connection":
      case "numeric":
      case "timeout":
      case "daemon":
      case "stats":
      case "rate":
      case "thresholds":
      case "persistent-conn":
      case "nosort":
      case "sort":
      case "exact":
      case "tun-info":
      case "tun-nocsum":
      case "save-thresholds":
      case "health":
        break;
      default:
        // A command after the first option, -h, -v: ipvsadm's loop has no case for them.
        fail(`invalid option \`${ev.bad}'`);
    }
  }

  const leftovers = [...scanner.leftovers];
  let timeouts = { tcp: 0, tcpfin: 0, udp: 0 };
  if (cmd === "set") {
    if (leftovers.length < 3) fail("--set option requires 3 timeout values");
    const [tcp, tcpfin, udp] = leftovers.splice(0, 3).map((t) => parseTimeout(t, 0, MAX_TIMEOUT));
    timeouts = { tcp, tcpfin, udp };
  }
  if (leftovers.length > 0) fail(`unexpected argument ${leftovers[0]}`);
  // ipvsadm skips -b "" (sched_flags_arg[0] == '\0').
  const schedFlags = schedFlagsText === "" ? [] : parseSchedFlags(scheduler, schedFlagsText);

  const problem = optionProblem(cmd, given);
  if (problem !== null) fail(problem);

  if (cmd === "add-service" || cmd === "edit-service") {
    const svc = service as ServiceSpec;
    if (svc.port === 0 && persistentTimeout === null) fail("Zero port specified for non-persistent service");
    if (ops && svc.proto !== "udp") fail("One-Packet Scheduling is only for UDP virtual services");
    if (given.has("netmask") && persistentTimeout === null) {
      warnings.push(`-M ${netmask} has no effect without -p: the service is not persistent`);
    }
    const settings: ServiceSettings = {
      scheduler: scheduler === "" ? DEFAULT_SCHEDULER : scheduler,
      persistence: persistentTimeout === null ? null : { timeout: persistentTimeout, netmask },
      ops,
      schedFlags,
      mhTableSize,
    };
    return { command: { kind: cmd, service: svc, settings }, client, warnings };
  }
  if (cmd === "add-server" || cmd === "edit-server") {
    const tunOptions = ["tun-type", "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum"] as const;
    if (tunOptions.some((o) => given.has(o)) && forward !== "tunnel") {
      fail("Tunnel options conflict with forward method");
    }
    const tunnel = tunnelProblem(tunType, given);
    if (tunnel !== null) fail(tunnel);
    const d = dest as { address: string; port: number | null };
    return {
      command: {
        kind: cmd,
        service: service as ServiceSpec,
        dest: { address: d.address, port: d.port, forward, weight, uThreshold, lThreshold, tunType, tunPort },
      },
      client,
      warnings,
    };
  }
  switch (cmd) {
    case "delete-service":
      return { command: { kind: cmd, service: service as ServiceSpec }, client, warnings };
    case "delete-server":
      return {
        command: { kind: cmd, service: service as ServiceSpec, dest: dest as { address: string; port: number | null } },
        client,
        warnings,
      };
    case "flush":
    case "restore":
      return { command: { kind: cmd }, client, warnings };
    case "zero":
      return { command: { kind: cmd, service }, client, warnings };
    case "set":
      return { command: { kind: cmd, timeouts }, client, warnings };
    case "save":
      return {
        command: { kind: cmd, numeric: given.has("numeric"), thresholds: given.has("save-thresholds") },
        client,
        warnings,
      };
    case "list": {
      const has = (o: CheckedOption) => given.has(o);
      // process_options, CMD_LIST.
      if (
        ((has("connection") || has("timeout") || has("daemon")) &&
          (has("stats") || has("rate") || has("thresholds"))) ||
        ((has("timeout") || has("daemon")) && has("persistent-conn"))
      ) fail("options conflicts in the list command");
      if (has("tun-info")) fail("--tun-info is not supported by lvsadm yet (-S shows the tunnel options)");
      // lvsd's --health adds a column to the plain listing only.
      if (
        has("health") &&
        (has("connection") || has("timeout") || has("daemon") || has("stats") || has("rate") ||
          has("thresholds") || has("persistent-conn"))
      ) fail("options conflicts in the list command");
      const what: ListWhat = has("connection")
        ? "connections"
        : service !== null
        ? "services"
        : has("timeout")
        ? "timeouts"
        : has("daemon")
        ? "daemon"
        : "services";
      const options: ListOptions = {
        numeric: has("numeric"),
        exact: has("exact"),
        stats: has("stats"),
        rate: has("rate"),
        thresholds: has("thresholds"),
        persistentConn: has("persistent-conn"),
        sort: !has("nosort"),
        ...(has("health") ? { health: true } : {}),
      };
      return { command: { kind: "list", what, service, options }, client, warnings };
    }
    case "start-daemon":
      return { command: { kind: cmd, role: startArg as "master" | "backup", daemon }, client, warnings };
    case "stop-daemon":
      return { command: { kind: cmd, role: startArg as "master" | "backup" }, client, warnings };
  }
}
