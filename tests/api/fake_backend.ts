/**
 * A director for the admin API's tests: holds a config, counts the
 * generations apply() makes, reports made-up run-time numbers, and can be
 * told to fail its next apply().
 *
 * @module
 */

import type { SyncDaemonStatus } from "../../src/sync/daemon.ts";
import { type Config, configFromObject } from "../../src/config/mod.ts";
import type {
  AdminBackend,
  ConnectionPage,
  ConnectionQuery,
  ConnectionView,
  DataplaneView,
  DestRuntime,
  ServiceRuntime,
  StatusView,
} from "../../src/api/model.ts";
import { ConnectionQueryError, destKey, serviceKey } from "../../src/api/model.ts";

/** The admin token the tests use. */
export const TOKEN = "s3cret-admin-token-for-tests";

/**
 * The config the tests start from: plain services, a service group, a
 * port-0 persistent service with a GUE tunnel dest, an mh service.
 */
export const BASE_CONFIG_OBJECT = {
  interfaces: [{ name: "eth0" }],
  services: [
    {
      proto: "tcp",
      vip: "10.10.0.100",
      port: 80,
      scheduler: "wlc",
      dests: [
        { address: "10.20.0.11", weight: 1 },
        { address: "10.20.0.12", port: 8080, weight: 2 },
      ],
    },
    {
      proto: "udp",
      vip: "10.10.0.100",
      port: 53,
      scheduler: "rr",
      ops: true,
      dests: [{ address: "10.20.0.21", forward: "route" }],
    },
    {
      proto: "tcp",
      vips: ["10.10.1.0/30"],
      ports: [443, "8000-8010"],
      scheduler: "sh",
      sched_flags: ["sh-port"],
      persistence: { timeout: 600 },
      dests: [{ address: "10.20.0.31", forward: "route" }],
    },
    {
      proto: "tcp",
      vip: "10.10.0.101",
      port: 0,
      persistence: { timeout: 300, netmask: "255.255.255.0" },
      dests: [{ address: "10.20.0.41", forward: "tunnel", tun_type: "gue", tun_port: 6080 }],
    },
    {
      proto: "tcp",
      vip: "10.10.0.102",
      port: 80,
      scheduler: "mh",
      mh_table_size: 251,
      dests: [{ address: "10.20.0.51" }],
    },
  ],
};

export function baseConfig(): Config {
  return configFromObject(structuredClone(BASE_CONFIG_OBJECT), "test base config");
}

function stats(n: number) {
  return { conns: n, inpkts: 10 * n, outpkts: 9 * n, inbytes: 1000 * n, outbytes: 900 * n };
}

function rates(n: number) {
  return { cps: n, inpps: 2 * n, outpps: 2 * n, inbps: 200 * n, outbps: 180 * n };
}

/** A fake {@link AdminBackend}. */
export class FakeBackend implements AdminBackend {
  #config: Config;
  /** Applied changes so far. */
  generation = 0;
  /** Configs passed to apply(), in order (also the refused ones). */
  readonly applied: Config[] = [];
  /** When set, the next apply() throws this (and changes nothing). */
  failNextApply: Error | null = null;
  /** When set, apply() waits this many ms before it stores the config (lets requests overlap). */
  applyDelayMs = 0;
  /** Calls of zero(), with their argument. */
  readonly zeroed: (string | undefined)[] = [];
  /** Queries connections() was called with. */
  readonly queries: ConnectionQuery[] = [];
  /** The service key runtime() leaves out (its numbers must read as zeros). */
  missingRuntime = "tcp:10.10.0.102:80";

  constructor(config: Config = baseConfig()) {
    this.#config = config;
  }

  config(): Config {
    return this.#config;
  }

  async apply(next: Config): Promise<string[]> {
    this.applied.push(next);
    if (this.applyDelayMs > 0) await new Promise((r) => setTimeout(r, this.applyDelayMs));
    else await Promise.resolve();
    const fail = this.failNextApply;
    if (fail) {
      this.failNextApply = null;
      throw fail;
    }
    const before = this.#config.services.length;
    this.#config = next;
    this.generation++;
    return [`generation ${this.generation}: ${before} -> ${next.services.length} services`];
  }

  /** The sync daemons its config says run, with made-up counters. */
  sync(): SyncDaemonStatus[] {
    return (["master", "backup"] as const).flatMap((role) => {
      const c = this.#config.syncDaemon[role];
      if (!c) return [];
      const stats = role === "master" ? { datagrams: 3, conns: 100, bytes: 3624, send_errors: 0, stale: 1 } : {
        datagrams: 4,
        conns: 100,
        bytes: 3632,
        installed: 90,
        updated: 10,
        late_hops: 0,
        drops: { wrong_syncid: 1 },
      };
      return [{ role, config: { ...c, maxlen: c.maxlen ?? 1472 }, stats }];
    });
  }

  runtime(): Map<string, ServiceRuntime> {
    const out = new Map<string, ServiceRuntime>();
    this.#config.services.forEach((s, i) => {
      const key = serviceKey(s);
      if (key === this.missingRuntime) return;
      const dests = new Map<string, DestRuntime>();
      s.dests.forEach((d, j) => {
        const n = 100 * (i + 1) + j;
        dests.set(destKey(d), { active_conns: n, inact_conns: j, persist_conns: 0, stats: stats(n), rates: rates(n) });
      });
      out.set(key, { stats: stats(i + 1), rates: rates(i + 1), dests });
    });
    return out;
  }

  connections(query: ConnectionQuery): ConnectionPage {
    this.queries.push(query);
    // As the director does (src/supervisor/connections.ts): a service it does not have, a cursor it never gave.
    if (query.service !== undefined && !this.#config.services.some((s) => serviceKey(s) === query.service)) {
      throw new ConnectionQueryError("service", `no service ${query.service}`);
    }
    if (query.cursor !== undefined && query.cursor !== "c1") {
      throw new ConnectionQueryError("cursor", `"${query.cursor}" is not a cursor this table gave`);
    }
    const all: ConnectionView[] = [0, 1, 2].map((k) => ({
      proto: "tcp",
      state: k === 2 ? "NONE" : "ESTABLISHED",
      expires_ms: 1000 * (k + 1),
      client: `192.0.2.${k + 1}`,
      client_port: k === 2 ? 0 : 40000 + k,
      vip: "10.10.0.100",
      vport: 80,
      dest: "10.20.0.11",
      dport: 80,
      template: k === 2,
      service: "tcp:10.10.0.100:80",
    }));
    const items = all.slice(0, query.limit ?? 100);
    return { total: all.length, items, next_cursor: items.length < all.length ? "c1" : null };
  }

  dataplane(): DataplaneView {
    return { counters: { rx_frames: 1234, tx_frames: 1200, conns: 17 }, drops: { bad_checksum: 3 } };
  }

  zero(serviceKey?: string): void {
    this.zeroed.push(serviceKey);
  }

  status(): StatusView {
    return {
      version: "0.1.0",
      ipvs_version: "1.2.1",
      pid: 4242,
      uptime_s: 12.5,
      conn_table_size: 262144,
      connections: 3,
      workers: 2,
      worker_restarts: [0, 0],
      interfaces: this.#config.interfaces.map((i) => i.name),
      config_file: "/etc/lvsd.yaml",
      state_file: null,
      generation: this.generation,
    };
  }
}

/** Request options with the admin token and, when `body` is given, a JSON body. */
export function authed(method = "GET", body?: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  };
}
