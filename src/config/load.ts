/**
 * Reading the config file: YAML → zod schema → normalised {@link Config},
 * with every problem collected and reported in one {@link ConfigError}.
 *
 * @module
 */

import { vrrpInstanceToObject } from "../vrrp/spec.ts";
import { DEFAULT_SYNC_THRESHOLD, syncDaemonToObject, syncFollowToObject } from "../sync/config.ts";
import { type Document, LineCounter, parseDocument, stringify } from "yaml";
import type { z } from "zod";
import { type Config, configSchema, DEFAULT_PACKET_IO, describe, knownKeys, type ServiceConfig } from "./schema.ts";
import { findMemberConflicts } from "./overlaps.ts";
import { parsePortMember, portMemberValue } from "./members.ts";

/** One problem in a config file. */
export interface ConfigIssue {
  /** Where in the document, e.g. `services[0].dests[2].port`; "" = the file. */
  path: string;
  /** Why, e.g. `99999 is out of range (1..65535)`. */
  message: string;
  /** 1-based line of the offending node, when known. */
  line?: number;
}

/**
 * A config that cannot be loaded. The message names the file and lists
 * every issue, one per line; `issues` holds them for the admin API.
 */
export class ConfigError extends Error {
  /** The file (or other source) that failed. */
  readonly source: string;
  /** Every problem found, in document order. */
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => i.path ? `${i.path}: ${i.message}` : i.message);
    const head = `Cannot load config ${JSON.stringify(source)}`;
    super(
      lines.length === 1 ? `${head}: ${lines[0]}` : `${head}: ${lines.length} errors\n  ${lines.join("\n  ")}`,
    );
    this.name = "ConfigError";
    this.source = source;
    this.issues = issues;
  }
}

/**
 * Reads and parses the config file at `path`.
 *
 * @throws {ConfigError} when the file cannot be read or is not valid.
 */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new ConfigError(path, [{ path: "", message: why }]);
  }
  return parseConfig(text, path);
}

/**
 * Parses config YAML. Pure: `source` only names the text in errors.
 *
 * @throws {ConfigError} listing every syntax or validation problem.
 */
export function parseConfig(text: string, source: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    // Syntax errors make the tree unreliable: report them alone.
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return {
          path: "",
          message: `line ${line}, column ${col}: ${e.message}`,
          line,
        };
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // Unresolved or excessive aliases are only found while building values.
    const message = e instanceof Error ? e.message : String(e);
    throw new ConfigError(source, [{ path: "", message }]);
  }
  return validate(value, source, doc, lineCounter);
}

/**
 * Validates an already-decoded config object (snake_case keys, as in the
 * file), e.g. JSON posted to the admin API.
 *
 * @throws {ConfigError} listing every problem.
 */
export function configFromObject(value: unknown, source: string): Config {
  return validate(value, source);
}

function validate(
  value: unknown,
  source: string,
  doc?: Document,
  lineCounter?: LineCounter,
): Config {
  if (value === null || value === undefined) {
    throw new ConfigError(source, [{
      path: "",
      message: 'the file is empty (expected a mapping with at least "interfaces")',
    }]);
  }
  const result = configSchema.safeParse(value, { error: genericMessage });
  const raw: Array<{ path: PropertyKey[]; message: string }> = [];
  if (!result.success) {
    for (const iss of result.error.issues) {
      if (iss.code === "unrecognized_keys") {
        // One issue per key, pathed at the key itself.
        const known = knownKeys(iss.path);
        for (const key of iss.keys) {
          raw.push({
            path: [...iss.path, key],
            message: unknownKey(key, known),
          });
        }
      } else raw.push({ path: iss.path, message: iss.message });
    }
  }
  raw.push(...findDuplicates(value));
  if (raw.length === 0 && result.success) return result.data;

  const issues = raw.map((r, order) => ({
    issue: {
      path: formatPath(r.path),
      message: r.message,
      ...lineOf(r.path, doc, lineCounter),
    } as ConfigIssue,
    order,
  }));
  issues.sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.order - b.order);
  throw new ConfigError(source, issues.map((i) => i.issue));
}

/** Messages for issues that the schema does not word itself. */
function genericMessage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code !== "invalid_type") return undefined;
  if (iss.input === undefined) return "missing (required)";
  const expected: Record<string, string> = {
    // Every number in the config is an integer; zod says "number" when
    // the input is not a number at all.
    int: "an integer",
    number: "an integer",
    string: "a string",
    boolean: "true or false",
    object: "a mapping",
    array: "a list",
  };
  return `expected ${expected[iss.expected] ?? iss.expected}, got ${describe(iss.input)}`;
}

function unknownKey(key: string, known: string[]): string {
  const flat = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const near = known.find((k) => flat(k) === flat(key)) ??
    known.find((k) => editDistance(k, key) <= 2);
  return near ? `unknown key (did you mean "${near}"?)` : "unknown key";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length];
}

/** `["services", 0, "dests", 2, "port"]` → `services[0].dests[2].port`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(p))) {
      out += out ? `.${String(p)}` : String(p);
    } else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** The line of the nearest node that exists along `path`. */
function lineOf(
  path: readonly PropertyKey[],
  doc?: Document,
  lineCounter?: LineCounter,
): { line?: number } {
  if (!doc || !lineCounter) return {};
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as
      | { range?: [number, number, number] }
      | undefined;
    if (node?.range) return { line: lineCounter.linePos(node.range[0]).line };
  }
  return {};
}

/**
 * Duplicate or overlapping services (overlaps.ts), dests (address+port,
 * the port defaulting to the service's) and interfaces. Runs on the raw value so
 * duplicates are reported even when the entries have other errors.
 */
function findDuplicates(
  value: unknown,
): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  const rec = (v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};
  const list = (v: unknown) => (Array.isArray(v) ? v : []);
  const prim = (...vs: unknown[]) => vs.every((v) => typeof v === "string" || typeof v === "number");
  const root = rec(value);

  const once = (seen: Map<string, number>, key: string, i: number) => {
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    return first;
  };

  const ifaces = new Map<string, number>();
  list(root.interfaces).forEach((x, i) => {
    const name = rec(x).name;
    if (typeof name !== "string") return;
    const first = once(ifaces, name, i);
    if (first !== undefined) {
      out.push({
        path: ["interfaces", i, "name"],
        message: `duplicate of interfaces[${first}] (${JSON.stringify(name)})`,
      });
    }
  });

  out.push(...findMemberConflicts(root.services));
  list(root.services).forEach((x, s) => {
    const { dests } = rec(x);
    const port = defaultDestPort(rec(x));
    const seen = new Map<string, number>();
    const sorry = rec(rec(x).sorry_server);
    const sorryPort = sorry.port ?? port;
    list(dests).forEach((y, d) => {
      const dest = rec(y);
      if (prim(sorry.address, sorryPort) && dest.address === sorry.address && (dest.port ?? port) === sorryPort) {
        out.push({
          path: ["services", s, "sorry_server"],
          message:
            `same address:port as services[${s}].dests[${d}] (${sorry.address}:${sorryPort}): a sorry server is another server`,
        });
      }
    });
    list(dests).forEach((y, d) => {
      const dest = rec(y);
      const dport = dest.port ?? port;
      if (!prim(dest.address, dport)) return;
      const what = `${dest.address}:${dport}`;
      const first = once(seen, what, d);
      if (first !== undefined) {
        out.push({
          path: ["services", s, "dests", d],
          message: `duplicate of services[${s}].dests[${first}] (${what})`,
        });
      }
    });
  });
  return out;
}

/**
 * The port a dest of a raw service defaults to: the service's port, the one
 * port of a group, or 0 (the client's port) for a group of several ports.
 */
function defaultDestPort(svc: Record<string, unknown>): unknown {
  if (!Array.isArray(svc.ports)) return svc.port;
  const one = svc.ports.length === 1 ? parsePortMember(svc.ports[0]) : null;
  return one && "from" in one && one.from === one.to ? one.from : 0;
}

/** vip/vips and port/ports as the file writes them (a list only where one is needed). */
function membersToObject(s: ServiceConfig): Record<string, unknown> {
  if (!s.group) return { vip: s.vip, port: s.port };
  const { vips, ports } = s.group;
  const oneVip = vips.length === 1 && !/[-/]/.test(vips[0]);
  const onePort = ports.length === 1 && ports[0].from === ports[0].to;
  return {
    ...(oneVip ? { vip: vips[0] } : { vips: [...vips] }),
    ...(onePort ? { port: ports[0].from } : { ports: ports.map(portMemberValue) }),
  };
}

/** host:port as the config writes it (an IPv6 host in brackets). */
function listenText(l: { host: string; port: number }): string {
  return `${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;
}

/**
 * A service's health keys as the file writes them: only those that differ
 * from the defaults (a service without health checks reads as before).
 */
function healthToObject(s: ServiceConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (s.healthCheck) o.health_check = structuredClone(s.healthCheck);
  if (s.quorum !== 1) o.quorum = s.quorum;
  if (s.hysteresis !== 0) o.hysteresis = s.hysteresis;
  if (s.quorumUp !== null) o.quorum_up = s.quorumUp;
  if (s.quorumDown !== null) o.quorum_down = s.quorumDown;
  if (s.sorryServer) {
    const d = s.sorryServer;
    o.sorry_server = { address: d.address, port: d.port, forward: d.forward, weight: d.weight };
  }
  if (s.sorryServerInhibit) o.sorry_server_inhibit = true;
  if (s.slowStart !== 0) o.slow_start = s.slowStart;
  return o;
}

/** The config as a plain snake_case object, with every field explicit. */
export function configToObject(config: Config): Record<string, unknown> {
  return {
    workers: config.workers,
    conn_table_size: config.connTableSize,
    kernel_guard: config.kernelGuard,
    // Written only when it differs from the default, so documents stay as they were.
    ...(config.packetIo !== DEFAULT_PACKET_IO ? { packet_io: config.packetIo } : {}),
    status_file: config.statusFile,
    state_file: config.stateFile,
    admin: {
      listen: config.admin.listen ? listenText(config.admin.listen) : "off",
      token_file: config.admin.tokenFile,
      tls: config.admin.tls && { ...config.admin.tls },
    },
    timeouts: { ...config.timeouts },
    options: {
      conn_reuse_mode: config.options.connReuseMode,
      expire_nodest_conn: config.options.expireNodestConn,
      expire_quiescent_template: config.options.expireQuiescentTemplate,
      sloppy_tcp: config.options.sloppyTcp,
    },
    interfaces: config.interfaces.map((i) => ({ name: i.name })),
    services: config.services.map((s) => ({
      proto: s.proto,
      ...membersToObject(s),
      scheduler: s.scheduler,
      persistence: s.persistence && { ...s.persistence },
      ops: s.ops,
      sched_flags: [...s.schedFlags],
      ...(s.scheduler === "mh" ? { mh_table_size: s.mhTableSize } : {}),
      ...healthToObject(s),
      dests: s.dests.map((d) => ({
        address: d.address,
        port: d.port,
        forward: d.forward,
        ...(d.forward === "tunnel" ? { tun_type: d.tunType } : {}),
        ...(d.forward === "tunnel" && d.tunType === "gue" ? { tun_port: d.tunPort } : {}),
        weight: d.weight,
        u_threshold: d.uThreshold,
        l_threshold: d.lThreshold,
        ...(d.notifyUp !== null ? { notify_up: d.notifyUp } : {}),
        ...(d.notifyDown !== null ? { notify_down: d.notifyDown } : {}),
      })),
    })),
    // Only when configured, so that a config without VRRP reads as before.
    ...(config.vrrpInstances.length ? { vrrp_instances: config.vrrpInstances.map(vrrpInstanceToObject) } : {}),
    // Written only when a daemon runs (configs without one stay as they were).
    ...(config.syncDaemon.master || config.syncDaemon.backup || config.syncDaemon.follow ||
        JSON.stringify(config.syncDaemon.syncThreshold) !== JSON.stringify(DEFAULT_SYNC_THRESHOLD)
      ? { sync_daemon: syncDaemonsToObject(config) }
      : {}),
  };
}

/** The sync_daemon block of a config (both roles, null for one not running). */
export function syncDaemonsToObject(config: Config): Record<string, unknown> {
  const d = config.syncDaemon;
  return {
    master: d.master && syncDaemonToObject(d.master),
    backup: d.backup && syncDaemonToObject(d.backup),
    sync_threshold: [...d.syncThreshold],
    ...(d.follow ? { lvs_sync_daemon: syncFollowToObject(d.follow) } : {}),
  };
}

/**
 * Renders a config as YAML that {@link parseConfig} reads back to an equal
 * Config (used to persist state changed through the admin API).
 */
export function configToYaml(config: Config): string {
  // lineWidth 0: never fold long strings such as status_file paths.
  return stringify(configToObject(config), { lineWidth: 0 });
}
