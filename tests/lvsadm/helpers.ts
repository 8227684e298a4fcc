/**
 * Shared pieces of the lvsadm tests: a resolver that never leaves the
 * process, a recording formatter, and a recording admin API on loopback.
 */
import type { Resolver } from "../../src/lvsadm/resolver.ts";
import type { Formatter } from "../../src/lvsadm/commands.ts";
import { type Invocation, parseArgs } from "../../src/lvsadm/args.ts";
import type { ConnectionView, ServiceView, StatusView } from "../../src/api/model.ts";

/** Names the tests use: hosts www, db; services http, https (tcp), domain (udp). */
export const fakeResolver: Resolver = {
  host: (name) => Promise.resolve(({ www: "10.0.0.9", db: "10.20.0.7" } as Record<string, string>)[name] ?? null),
  service: (name, proto) =>
    Promise.resolve(
      ({ "http/tcp": 80, "https/tcp": 443, "domain/udp": 53, "domain/tcp": 53 } as Record<string, number>)[
        `${name}/${proto}`
      ] ?? null,
    ),
};

/** Parses `argv`, failing the test when it is refused. */
export async function parseOk(argv: string[]): Promise<Invocation> {
  const r = await parseArgs(argv, fakeResolver);
  if (!r.ok) throw new Error(`${JSON.stringify(argv)} was refused: ${r.message} (exit ${r.code})`);
  return { command: r.command, client: r.client, warnings: r.warnings };
}

/** One formatter call. */
export type FmtCall = { fn: string; args: unknown[] };

/** A formatter that records its calls and prints a tag per call. */
export function recordingFormatter(calls: FmtCall[]): Formatter {
  const NUMERIC = { host: (a: string) => a, service: (p: number) => String(p) };
  return {
    NUMERIC,
    resolveNames: (addrs, ports) => {
      calls.push({ fn: "resolveNames", args: [addrs, ports] });
      return Promise.resolve({ host: (a: string) => `name-of-${a}`, service: (p: number) => `svc-${p}` });
    },
    formatList: (status, services, opts, names) => {
      calls.push({ fn: "formatList", args: [status, services, opts, names] });
      return "IP Virtual Server version 1.2.1 (size=4096)\nLIST\n";
    },
    formatService: (service, opts, names) => {
      calls.push({ fn: "formatService", args: [service, opts, names] });
      return "ONE\n";
    },
    formatConnections: (conns, opts, names) => {
      calls.push({ fn: "formatConnections", args: [conns, opts, names] });
      return `CONNS ${conns.length}\n`;
    },
    formatTimeouts: (t) => {
      calls.push({ fn: "formatTimeouts", args: [t] });
      return `TIMEOUTS ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
    },
    formatSave: (services, opts, names) => {
      calls.push({ fn: "formatSave", args: [services, opts, names] });
      return "SAVE\n";
    },
    healthColumn: (view) => {
      calls.push({ fn: "healthColumn", args: [view] });
      return { dest: () => "up", quorumDown: () => false };
    },
  };
}

export const STATUS: StatusView = {
  version: "0.1.0",
  ipvs_version: "1.2.1",
  pid: 1,
  uptime_s: 5,
  conn_table_size: 4096,
  connections: 0,
  workers: 1,
  worker_restarts: [0],
  interfaces: ["eth0"],
  config_file: null,
  state_file: null,
  generation: 3,
};

const zeroStats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
const zeroRates = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };

export const SERVICE: ServiceView = {
  key: "tcp:10.0.0.1:80",
  proto: "tcp",
  vip: "10.0.0.1",
  port: 80,
  scheduler: "wlc",
  persistence: null,
  ops: false,
  sched_flags: [],
  stats: zeroStats,
  rates: zeroRates,
  dests: [{
    key: "10.20.0.11:80",
    address: "10.20.0.11",
    port: 80,
    forward: "masq",
    weight: 1,
    u_threshold: 0,
    l_threshold: 0,
    active_conns: 0,
    inact_conns: 0,
    persist_conns: 0,
    stats: zeroStats,
    rates: zeroRates,
  }],
};

export function connection(n: number): ConnectionView {
  return {
    proto: "tcp",
    state: "ESTABLISHED",
    expires_ms: 900000,
    client: `192.0.2.${n % 250 + 1}`,
    client_port: 40000 + n,
    vip: "10.0.0.1",
    vport: 80,
    dest: "10.20.0.11",
    dport: 80,
    template: false,
    service: "tcp:10.0.0.1:80",
  };
}

/** A request the fake API received. */
export interface Recorded {
  method: string;
  path: string;
  query: string;
  auth: string | null;
  body: unknown;
}

/** What the fake API answers: status and JSON body (undefined = empty). */
export type Answer = { status: number; body?: unknown; contentType?: string };

/**
 * A fake admin API on 127.0.0.1 (a free port): records every request and
 * answers with `route(request)`.
 */
export async function withFakeApi(
  route: (r: Recorded) => Answer,
  fn: (url: string, requests: Recorded[]) => Promise<void>,
): Promise<void> {
  const requests: Recorded[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    const rec: Recorded = {
      method: req.method,
      path: url.pathname,
      query: url.search,
      auth: req.headers.get("authorization"),
      body: text === "" ? undefined : JSON.parse(text),
    };
    requests.push(rec);
    const a = route(rec);
    const type = a.contentType ?? (a.status >= 400 ? "application/problem+json" : "application/json");
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
      status: a.status,
      headers: a.body === undefined ? {} : { "content-type": type },
    });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, requests);
  } finally {
    await server.shutdown();
  }
}

/** Captured output of one lvsadm run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** io for runLvsadm with `stdin` text and `env`, capturing output into `out`. */
export function testIo(out: { stdout: string; stderr: string }, env: Record<string, string>, stdin = "") {
  return {
    stdin: new Blob([stdin]).stream(),
    stdout: (s: string) => void (out.stdout += s),
    stderr: (s: string) => void (out.stderr += s),
    env: (k: string) => env[k],
  };
}
