/**
 * Runs a parsed lvsadm command against the admin API: the changing
 * commands as their single-resource routes (edit_ops.ts), the listings as
 * GETs handed to the formatter.
 *
 * - -L: GET /v1/status and /v1/services (one service: /v1/services/{key});
 *   -c: GET /v1/connections, page after page to the end; --timeout:
 *   GET /v1/timeouts; --daemon: GET /v1/sync, one line per running daemon
 *   (none: nothing, as ipvsadm).
 * - --start-daemon / --stop-daemon: PUT / DELETE /v1/sync/{role}.
 * - -S: GET /v1/services, in -R's format.
 * - -Z: POST /v1/stats/zero, with {"service": key} for one service.
 *
 * Names: without -n, addresses and ports are shown as names (ipvsadm's
 * addrport_to_anyname), also by -S.
 *
 * @module
 */

import type { ConnectionPage, ConnectionView, HealthView, ServiceView, StatusView } from "../api/model.ts";
import type * as format from "./format/mod.ts";
import type { Command } from "./args.ts";
import { serviceKeyOf } from "./address.ts";
import { editOpOf, requestOf } from "./edit_ops.ts";
import { type LvsdClient, LvsdError } from "./client.ts";
import { parseIpv4 } from "../config/members.ts";

/** The output formatter (format/mod.ts; injected in tests). */
export type Formatter = Pick<
  typeof format,
  | "NUMERIC"
  | "resolveNames"
  | "formatList"
  | "formatService"
  | "formatConnections"
  | "formatTimeouts"
  | "formatSave"
  | "healthColumn"
>;

/** What a command runs with. */
export interface RunContext {
  api: Pick<LvsdClient, "request">;
  fmt: Formatter;
  stdout: (s: string) => void;
}

/** Page size for -L -c (the API's largest). */
export const CONNECTION_PAGE = 10000;

/** The addresses and ports a listing shows, for name lookups. */
class Wanted {
  readonly #addrs = new Set<string>();
  readonly #ports = new Map<string, { port: number; proto: string }>();

  addr(a: unknown): void {
    if (typeof a === "string" && parseIpv4(a) !== null) this.#addrs.add(a);
  }

  port(p: unknown, proto: unknown): void {
    if (typeof p === "number" && typeof proto === "string") this.#ports.set(`${p}/${proto}`, { port: p, proto });
  }

  async names(fmt: Formatter, numeric: boolean): Promise<format.Names> {
    return numeric ? fmt.NUMERIC : await fmt.resolveNames([...this.#addrs], [...this.#ports.values()]);
  }
}

function servicesWanted(services: ServiceView[]): Wanted {
  const w = new Wanted();
  for (const s of services) {
    w.addr(s.vip);
    if (Array.isArray(s.vips)) s.vips.forEach((v) => w.addr(v));
    w.port(s.port, s.proto);
    if (Array.isArray(s.ports)) s.ports.forEach((p) => w.port(p, s.proto));
    for (const d of s.dests ?? []) {
      w.addr(d.address);
      w.port(d.port, s.proto);
    }
  }
  return w;
}

function connectionsWanted(conns: ConnectionView[]): Wanted {
  const w = new Wanted();
  for (const c of conns) {
    for (const a of [c.client, c.vip, c.dest]) w.addr(a);
    for (const p of [c.client_port, c.vport, c.dport]) w.port(p, c.proto);
  }
  return w;
}

/** Every connection, following next_cursor to the end. */
async function allConnections(api: RunContext["api"]): Promise<ConnectionView[]> {
  const out: ConnectionView[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (;;) {
    const q = new URLSearchParams({ limit: String(CONNECTION_PAGE) });
    if (cursor !== null) q.set("cursor", cursor);
    const page = await api.request<ConnectionPage>({ method: "GET", path: `/v1/connections?${q}` });
    out.push(...(page?.items ?? []));
    cursor = page?.next_cursor ?? null;
    if (cursor === null) return out;
    // A cursor handed out twice would never end.
    if (seen.has(cursor)) throw new Error(`lvsd repeated the connection cursor ${JSON.stringify(cursor)}`);
    seen.add(cursor);
  }
}

/** The health column of a listing with --health (GET /v1/health), else undefined. */
async function healthOf(ctx: RunContext, o: format.ListOptions): Promise<format.HealthColumn | undefined> {
  if (!o.health) return undefined;
  return ctx.fmt.healthColumn(await ctx.api.request<HealthView>({ method: "GET", path: "/v1/health" }) ?? undefined);
}

/**
 * Runs `cmd` (any kind but help, version and restore). Throws the
 * client's LvsdError when the API refuses or cannot be reached.
 */
export async function runCommand(cmd: Command, ctx: RunContext): Promise<void> {
  const { api, fmt } = ctx;
  switch (cmd.kind) {
    case "list": {
      const o = cmd.options;
      if (cmd.what === "daemon") {
        const v = await api.request<{ daemons: SyncDaemonLine[] }>({ method: "GET", path: "/v1/sync" });
        ctx.stdout((v?.daemons ?? []).map(daemonLine).join(""));
        return;
      }
      if (cmd.what === "timeouts") {
        const t = await api.request<{ tcp: number; tcpfin: number; udp: number }>({
          method: "GET",
          path: "/v1/timeouts",
        });
        ctx.stdout(fmt.formatTimeouts(t ?? { tcp: 0, tcpfin: 0, udp: 0 }));
        return;
      }
      if (cmd.what === "connections") {
        const conns = await allConnections(api);
        const names = await connectionsWanted(conns).names(fmt, o.numeric);
        ctx.stdout(fmt.formatConnections(conns, { persistentConn: o.persistentConn }, names));
        return;
      }
      if (cmd.service !== null) {
        const key = serviceKeyOf(cmd.service);
        // ipvsadm's list_service: the title and that one service, no version line.
        const one = await api.request<ServiceView>({ method: "GET", path: `/v1/services/${key}` }).catch((e) => {
          throw asIpvsadmError("list", e);
        });
        const names = await servicesWanted(one ? [one] : []).names(fmt, o.numeric);
        if (one) ctx.stdout(fmt.formatService(one, o, names, await healthOf(ctx, o)));
        return;
      }
      const [status, services, health] = await Promise.all([
        api.request<StatusView>({ method: "GET", path: "/v1/status" }),
        api.request<ServiceView[]>({ method: "GET", path: "/v1/services" }),
        healthOf(ctx, o),
      ]);
      const names = await servicesWanted(services ?? []).names(fmt, o.numeric);
      ctx.stdout(fmt.formatList(status as StatusView, services ?? [], o, names, health));
      return;
    }
    case "save": {
      const services = await api.request<ServiceView[]>({ method: "GET", path: "/v1/services" }) ?? [];
      const names = await servicesWanted(services).names(fmt, cmd.numeric);
      ctx.stdout(fmt.formatSave(services, { numeric: cmd.numeric, thresholds: cmd.thresholds }, names));
      return;
    }
    case "zero":
      await api.request({
        method: "POST",
        path: "/v1/stats/zero",
        ...(cmd.service ? { body: { service: serviceKeyOf(cmd.service) } } : {}),
      }).catch((e) => {
        throw asIpvsadmError("zero", e);
      });
      return;
    case "start-daemon": {
      const d = cmd.daemon;
      const body = {
        interface: d.mcastInterface,
        id: d.syncid,
        ...(d.maxlen !== null ? { maxlen: d.maxlen } : {}),
        group: d.group,
        port: d.port,
        ttl: d.ttl,
      };
      await api.request({ method: "PUT", path: `/v1/sync/${cmd.role}`, body }).catch((e) => {
        throw asIpvsadmError("start_daemon", e);
      });
      return;
    }
    case "stop-daemon":
      await api.request({ method: "DELETE", path: `/v1/sync/${cmd.role}` }).catch((e) => {
        throw asIpvsadmError("stop_daemon", e);
      });
      return;
    default: {
      const op = editOpOf(cmd);
      if (op === null) throw new Error(`lvsadm cannot run "${cmd.kind}" here`);
      try {
        await api.request(requestOf(op));
      } catch (e) {
        throw asIpvsadmError(op.op, e);
      }
    }
  }
}

/**
 * What ipvsadm prints when the kernel refuses a change: libipvs's
 * ipvs_strerror() text for the call and errno (libipvs.c), so that scripts
 * that match ipvsadm's messages keep working. lvsd's own detail is kept for
 * refusals ipvsadm has no text for (a value the schema refuses, ...).
 */
const IPVS_STRERROR: Record<string, { 404?: string; 409?: string; dest404?: string }> = {
  add_service: { 409: "Service already exists" },
  edit_service: { 404: "No such service" },
  delete_service: { 404: "No such service" },
  add_dest: { 404: "Service not defined", 409: "Destination already exists" },
  edit_dest: { 404: "Service not defined", dest404: "No such destination" },
  delete_dest: { 404: "Service not defined", dest404: "No such destination" },
  zero: { 404: "No such service" },
  list: { 404: "No such service" },
  // EEXIST / ESRCH from the kernel's sync daemon calls.
  start_daemon: { 409: "Daemon has already run" },
  stop_daemon: { 404: "No daemon is running" },
};

/** A daemon as GET /v1/sync lists it (the fields -L --daemon prints). */
interface SyncDaemonLine {
  role: string;
  interface: string;
  id: number;
  maxlen: number;
  group: string;
  port: number;
  ttl: number;
}

/**
 * ipvsadm's -L --daemon line for one daemon (list_daemon, ipvsadm 1.29+):
 * a kernel with the multicast options returns them all, so all are shown.
 */
export function daemonLine(d: SyncDaemonLine): string {
  return `${d.role} sync daemon (mcast=${d.interface}, syncid=${d.id}, maxlen=${d.maxlen}, group=${d.group}, ` +
    `port=${d.port}, ttl=${d.ttl})\n`;
}

function asIpvsadmError(op: string, e: unknown): unknown {
  if (!(e instanceof LvsdError) || e.kind !== "api" || (e.status !== 404 && e.status !== 409)) return e;
  // ipvsadm has no text for a daemon that VRRP runs (lvs_sync_daemon): lvsd's says why.
  if (/\bfollows VRRP instance\b/.test(String(e.problem?.detail ?? ""))) return e;
  const texts = IPVS_STRERROR[op];
  // The API says which of the two is missing: "dest ... does not exist in service ...".
  const destMissing = e.status === 404 && /^dest\b/i.test(String(e.problem?.detail ?? ""));
  const text = destMissing ? texts?.dest404 : texts?.[e.status];
  return text ? new LvsdError(e.kind, text, e.status, e.problem) : e;
}
