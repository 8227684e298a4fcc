/**
 * Builders of API views (src/api/model.ts) for the lvsadm formatter tests:
 * every key a real GET /v1/services answer has, with the values of a fresh
 * service or dest, overridable per test.
 */
import type { ConnectionView, DestView, ServiceView, StatusView } from "../../src/api/model.ts";
import type { ListOptions } from "../../src/lvsadm/format/mod.ts";

export const ZERO_STATS = Object.freeze({ conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });
export const ZERO_RATES = Object.freeze({ cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });

/** A masq dest with weight 1 and no traffic. */
export function dest(address: string, port: number, over: Record<string, unknown> = {}): DestView {
  return {
    key: `${address}:${port}`,
    address,
    port,
    forward: "masq",
    weight: 1,
    u_threshold: 0,
    l_threshold: 0,
    active_conns: 0,
    inact_conns: 0,
    persist_conns: 0,
    stats: { ...ZERO_STATS },
    rates: { ...ZERO_RATES },
    ...over,
  } as DestView;
}

/** A wlc service of `proto` on vip:port with `dests` (in the order they were added). */
export function service(
  proto: string,
  vip: string,
  port: number,
  dests: DestView[] = [],
  over: Record<string, unknown> = {},
): ServiceView {
  return {
    key: `${proto}:${vip}:${port}`,
    proto,
    vip,
    port,
    scheduler: "wlc",
    persistence: null,
    ops: false,
    sched_flags: [],
    stats: { ...ZERO_STATS },
    rates: { ...ZERO_RATES },
    dests,
    ...over,
  } as ServiceView;
}

/** GET /v1/status of a director with `size` connection slots. */
export function status(size = 4096): StatusView {
  return {
    version: "0.1.0",
    ipvs_version: "1.2.1",
    pid: 4242,
    uptime_s: 60,
    conn_table_size: size,
    connections: 0,
    workers: 2,
    worker_restarts: [0, 0],
    interfaces: ["eth0"],
    config_file: null,
    state_file: null,
    generation: 1,
  };
}

/** `ipvsadm -L -n` (sorted, nothing else). */
export const PLAIN: ListOptions = Object.freeze({
  numeric: true,
  exact: false,
  stats: false,
  rate: false,
  thresholds: false,
  persistentConn: false,
  sort: true,
});

/** One connection entry. */
export function conn(over: Partial<ConnectionView> = {}): ConnectionView {
  return {
    proto: "tcp",
    state: "ESTABLISHED",
    expires_ms: 900_000,
    client: "192.168.1.5",
    client_port: 40000,
    vip: "10.0.0.1",
    vport: 80,
    dest: "10.20.0.11",
    dport: 80,
    template: false,
    service: "tcp:10.0.0.1:80",
    ...over,
  };
}

/** Lines with their trailing blanks removed (published captures lose them). */
export function trimmed(text: string): string {
  return text.split("\n").map((l) => l.trimEnd()).join("\n");
}
