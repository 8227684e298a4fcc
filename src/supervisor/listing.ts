/**
 * Plain-text listings of services, dests, counters and connections, in the
 * layout of `ipvsadm -Ln` and `ipvsadm -Lnc` (the ipvsadm-compatible CLI is
 * a separate piece; this is what the supervisor prints and writes to its
 * status file).
 */
import { GLOBAL_COUNTERS, type SharedState } from "../dataplane/shared_state.ts";
import { monotonicMs } from "../sys/clock.ts";
import type { TableService } from "../dataplane/tables.ts";
import { serviceLabel } from "../config/members.ts";
import type { StatsView } from "../api/model.ts";
import type { Baselines } from "./baselines.ts";

/** ipvsadm's names for the forwarding methods. */
const FORWARD_NAMES = { masq: "Masq", route: "Route", tunnel: "Tunnel" } as const;

/** Counters summed over all workers. */
export interface Totals {
  globals: Record<string, number>;
  drops: Record<string, number>;
  services: Map<number, { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number }>;
  dests: Map<number, { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number }>;
}

function sum(state: SharedState, offsetInSlot: number): number {
  let t = 0n;
  for (let w = 0; w < state.workers; w++) t += state.view.getBigUint64(state.statsBase(w) + offsetInSlot, true);
  return Number(t);
}

function fiveCounters(state: SharedState, base: number) {
  return {
    conns: sum(state, base),
    inpkts: sum(state, base + 8),
    outpkts: sum(state, base + 16),
    inbytes: sum(state, base + 24),
    outbytes: sum(state, base + 32),
  };
}

/** The id a service's or dest's counters have in {@link Baselines} and the rate estimator. */
export function statsId(kind: "service" | "dest", id: number): string {
  return kind === "service" ? `svc:${id}` : `dest:${id}`;
}

/** The raw counters of one service or dest id, summed over the workers. */
export function rawCounters(state: SharedState, kind: "service" | "dest", id: number): StatsView {
  const l = state.layout;
  return fiveCounters(
    state,
    kind === "service" ? l.STATS_SVC + id * l.STAT_SVC_SIZE : l.STATS_DEST + id * l.STAT_DEST_SIZE,
  );
}

/**
 * Sums every worker's counters; with `baselines`, as counted since the last
 * zero (ipvsadm -Z), otherwise raw.
 */
export function totals(state: SharedState, services: TableService[], baselines?: Baselines): Totals {
  const l = state.layout;
  let globals: Record<string, number> = {};
  for (const g of GLOBAL_COUNTERS) globals[g.slice(2).toLowerCase()] = sum(state, l[g] * 8);
  let drops: Record<string, number> = {};
  state.dropReasons.forEach((r, i) => (drops[r] = sum(state, (l.DROP_BASE + i) * 8)));
  const svcs = new Map();
  const dests = new Map();
  const read = (kind: "service" | "dest", id: number) => {
    const raw = rawCounters(state, kind, id);
    return baselines ? baselines.read(statsId(kind, id), raw) : raw;
  };
  for (const s of services) {
    svcs.set(s.id, read("service", s.id));
    for (const d of s.dests) dests.set(d.id, read("dest", d.id));
  }
  if (baselines) {
    globals = baselines.readFlat("globals", globals);
    drops = baselines.readFlat("drops", drops);
  }
  return { globals, drops, services: svcs, dests };
}

/** ActiveConn / InActConn of a dest id. */
export function destConns(state: SharedState, id: number): { active: number; inactive: number } {
  const l = state.layout;
  const p = l.DSTATE + id * l.DSTATE_SIZE;
  return {
    active: Atomics.load(new Int32Array(state.memory.buffer), (p + l.DSTATE_ACTIVE) >> 2),
    inactive: Atomics.load(new Int32Array(state.memory.buffer), (p + l.DSTATE_INACT) >> 2),
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s + " " : s.padEnd(n);
}

/**
 * The " (a,b)" ipvsadm prints after the scheduler for -b flags: each of the
 * three bits under the scheduler's own name for it (sh-fallback/sh-port for
 * sh, mh-fallback/mh-port for mh), flag-N otherwise; "" when none is set.
 */
export function schedFlagsText(scheduler: string, flags: readonly string[] = []): string {
  const bit = (f: string) =>
    f === "flag-1" || f.endsWith("-fallback") ? 0 : f === "flag-2" || f.endsWith("-port") ? 1 : 2;
  const set = new Set<number>(flags.map(bit));
  const names = scheduler === "sh" || scheduler === "mh"
    ? [`${scheduler}-fallback`, `${scheduler}-port`, "flag-3"]
    : ["flag-1", "flag-2", "flag-3"];
  const shown = [0, 1, 2].filter((b) => set.has(b)).map((b) => names[b]);
  return shown.length > 0 ? ` (${shown.join(",")})` : "";
}

/** `ipvsadm -Ln` layout, newest dest first as IPVS lists them. */
export function listServices(state: SharedState, services: TableService[]): string {
  const lines = [
    `IP Virtual Server version 1.2.1 (size=${state.connCapacity})`,
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
  ];
  for (const s of services) {
    lines.push(
      // ipvsadm: "%-4s %s" then " %s" scheduler, " (flags)", " persistent N",
      // " mask M" (when not /32), " ops".
      `${pad(s.proto.toUpperCase(), 4)} ${serviceLabel(s)} ${s.scheduler}${schedFlagsText(s.scheduler, s.schedFlags)}${
        s.persistence
          ? ` persistent ${s.persistence.timeout}${
            s.persistence.netmask !== "255.255.255.255" ? ` mask ${s.persistence.netmask}` : ""
          }`
          : ""
      }${s.ops ? " ops" : ""}`,
    );
    for (const d of [...s.dests].reverse()) {
      const c = destConns(state, d.id);
      lines.push(
        `  -> ${pad(`${d.addr}:${d.port}`, 28)} ${pad(FORWARD_NAMES[d.forward ?? "masq"], 7)} ${
          pad(String(d.weight), 6)
        } ${pad(String(c.active), 10)} ${c.inactive}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** Per-service and per-dest counters plus global counters and drops. */
export function listStats(state: SharedState, services: TableService[], baselines?: Baselines): string {
  const t = totals(state, services, baselines);
  const lines = [
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
    "  -> RemoteAddress:Port",
  ];
  const row = (c: { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number }) =>
    [c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes].map((n) => String(n).padStart(8)).join(" ");
  for (const s of services) {
    lines.push(`${pad(s.proto.toUpperCase(), 4)} ${pad(serviceLabel(s), 30)}${row(t.services.get(s.id)!)}`);
    for (const d of [...s.dests].reverse()) {
      lines.push(`  -> ${pad(`${d.addr}:${d.port}`, 30)}${row(t.dests.get(d.id)!)}`);
    }
  }
  lines.push("", "Data plane: " + Object.entries(t.globals).map(([k, v]) => `${k}=${v}`).join(" "));
  const drops = Object.entries(t.drops).filter(([, v]) => v > 0);
  lines.push("Drops: " + (drops.length ? drops.map(([k, v]) => `${k}=${v}`).join(" ") : "none"));
  return lines.join("\n") + "\n";
}

function ipString(v: DataView, off: number): string {
  return [0, 1, 2, 3].map((i) => v.getUint8(off + i)).join(".");
}

/** `ipvsadm -Lnc` layout (expire as mm:ss), at most `limit` entries. */
export function listConnections(state: SharedState, now = monotonicMs(), limit = 1000): string {
  const l = state.layout;
  const v = state.view;
  const lines = [
    "IPVS connection entries",
    "pro expire state       source                virtual               destination",
  ];
  let shown = 0;
  for (let i = 0; i < state.connCapacity && shown < limit; i++) {
    const c = state.connAt(i);
    if (v.getUint32(c + l.CONN_SLOT, true) !== l.SLOT_LIVE) continue;
    const expires = Number(v.getBigUint64(c + l.CONN_EXPIRES, true));
    if (expires <= now) continue;
    // Templates carry CONN_PROTO_TEMPLATE in their proto and show in state
    // NONE (TCP) or UDP, as ip_vs_state_name() gives state 0 for them.
    const template = (v.getUint8(c + l.CONN_PROTO) & l.CONN_PROTO_TEMPLATE) !== 0;
    const proto = (v.getUint8(c + l.CONN_PROTO) & ~l.CONN_PROTO_TEMPLATE) === 6 ? "TCP" : "UDP";
    const secs = Math.ceil((expires - now) / 1000);
    const exp = `${String(Math.floor(secs / 60)).padStart(2, "0")}:${String(secs % 60).padStart(2, "0")}`;
    const st = proto === "TCP" ? state.tcpStates[template ? 0 : v.getUint8(c + l.CONN_SF)] : "UDP";
    const ep = (a: number, p: number) => `${ipString(v, c + a)}:${v.getUint16(c + p, false)}`;
    lines.push(
      `${proto} ${exp}  ${pad(st, 11)} ${pad(ep(l.CONN_CADDR, l.CONN_CPORT), 21)} ${
        pad(ep(l.CONN_VADDR, l.CONN_VPORT), 21)
      } ${ep(l.CONN_DADDR, l.CONN_DPORT)}`,
    );
    shown++;
  }
  return lines.join("\n") + "\n";
}
