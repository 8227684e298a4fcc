/**
 * The health runner against a stand-in supervisor (reload = effective()
 * then update(), as DirectorBackend does), and the schema's sorry-server
 * rules. Each "review-h" case failed before its fix (found by review).
 */
import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { type Config, configFromObject } from "../../src/config/mod.ts";
import { type HealthHost, HealthRunner } from "../../src/health/runner.ts";

// A port nothing listens on: every tcp check fails at once (loopback only).
const DEAD = 1;

function cfg(svc: Record<string, unknown>): Config {
  return configFromObject({
    interfaces: [{ name: "eth0" }],
    services: [{ proto: "tcp", vip: "10.0.0.1", port: 80, scheduler: "wlc", ...svc }],
  }, "t");
}

class FakeHost implements HealthHost {
  config: Config;
  effective: ((c: Config) => Config) | null = null;
  running: Config | null = null;
  publishes = 0;
  constructor(c: Config) {
    this.config = c;
  }
  republish(): Promise<unknown> {
    this.publishes++;
    this.running = this.effective ? this.effective(this.config) : this.config;
    return Promise.resolve();
  }
  /** What a supervisor reload does: effective first, then (backend.onApplied) runner.update. */
  reload(c: Config, r: HealthRunner) {
    this.config = c;
    this.running = this.effective ? this.effective(c) : c;
    r.update(c);
  }
}

const dests = (c: Config | null) => c!.services[0].dests.map((d) => `${d.address}:${d.port}/${d.weight}`);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const check = (extra: Record<string, unknown> = {}) => ({
  kind: "misc",
  misc_path: ["/bin/false"],
  delay_loop: 3600,
  warmup: 0,
  retry: 0,
  ...extra,
});

Deno.test("review-h 1: an alpha dest added by a reload to a slow-start service is down, not up", async () => {
  const d1 = { address: "10.20.0.1", port: 80 };
  const start = cfg({ slow_start: 30, health_check: check({ alpha: true }), dests: [] });
  const host = new FakeHost(start);
  const r = new HealthRunner(host, { log: () => {} });
  r.update(start);
  // Reload adds a dest whose check (alpha) starts down and whose probe always fails.
  const next = cfg({ slow_start: 30, health_check: check({ alpha: true }), dests: [{ ...d1, port: DEAD }] });
  host.reload(next, r);
  await wait(300); // the first check ran (and failed): the monitor says down, without announcing it
  await host.republish();
  try {
    equal(r.view(next).services[0].dests[0].state, "down");
    deepStrictEqual(dests(host.running), []);
  } finally {
    await r.stop();
  }
});

Deno.test("review-h 2: removing health_check from a slow-start service brings a failed dest back", async () => {
  const svc = (hc: unknown) => cfg({ slow_start: 30, health_check: hc, dests: [{ address: "10.20.0.1", port: DEAD }] });
  const start = svc(check());
  const host = new FakeHost(start);
  const r = new HealthRunner(host, { log: () => {} });
  r.update(start);
  await wait(300);
  await host.republish();
  deepStrictEqual(dests(host.running), [], "the failing dest went down");
  const next = svc(null); // the operator removes the check
  host.reload(next, r);
  await wait(50);
  try {
    deepStrictEqual(dests(host.running).length, 1, "an unchecked dest is alive");
  } finally {
    await r.stop();
  }
});

Deno.test("review-h 3: a sorry server with a dest's address:port is refused (it would be a duplicate dest)", () => {
  throws(
    () =>
      cfg({
        sorry_server: { address: "10.20.0.1", port: 80 },
        sorry_server_inhibit: true,
        dests: [{ address: "10.20.0.1", port: 80 }],
      }),
    /services\[0\]\.sorry_server: same address:port as services\[0\]\.dests\[0\] \(10\.20\.0\.1:80\)/,
  );
  // The port defaults to the service's on both sides.
  throws(() => cfg({ sorry_server: { address: "10.20.0.1" }, dests: [{ address: "10.20.0.1" }] }), /same address:port/);
});

Deno.test("review-h 4: the schema refuses sorry servers whose port the service cannot use", () => {
  const bad: string[] = [];
  for (
    const svc of [
      { port: 80, sorry_server: { address: "10.30.0.1", port: 0 } }, // port 0 in a port-80 service
      { port: 80, sorry_server: { address: "10.30.0.1", port: 8080, forward: "route" } }, // DR cannot map ports
      { port: undefined, ports: [80, 443], sorry_server: { address: "10.30.0.1", port: 80 } }, // multi-port group
      { port: 0, persistence: { timeout: 300 }, sorry_server: { address: "10.30.0.1", port: 80 } }, // port-0 service
    ]
  ) {
    try {
      cfg(svc);
      bad.push(JSON.stringify(svc));
    } catch { /* refused: good */ }
  }
  deepStrictEqual(bad, []);
});

Deno.test("review-h 5: turning slow_start on for a running service does not ramp its dests that were already up", async () => {
  const svc = (slow: number) =>
    cfg({ slow_start: slow, dests: [{ address: "10.20.0.1", weight: 100 }, { address: "10.20.0.2", weight: 10 }] });
  const start = svc(0);
  const host = new FakeHost(start);
  const r = new HealthRunner(host, { log: () => {} });
  r.update(start);
  await wait(10);
  try {
    host.reload(svc(60), r);
    deepStrictEqual(dests(host.running), ["10.20.0.1:80/100", "10.20.0.2:80/10"]);
  } finally {
    await r.stop();
  }
});

Deno.test("review-h 6: health keys survive configToObject → configFromObject (group, port 0, tunnel sorry server)", async () => {
  const { configToObject } = await import("../../src/config/mod.ts");
  for (
    const svc of [
      {
        port: 0,
        persistence: { timeout: 300 },
        sorry_server: { address: "10.30.0.1", forward: "tunnel", weight: 3 },
        sorry_server_inhibit: true,
        quorum: 0,
        hysteresis: 2,
        quorum_up: "true",
        quorum_down: "false",
        slow_start: 5,
        health_check: { kind: "tcp", alpha: true, inhibit_on_failure: true },
        dests: [{ address: "10.20.0.1", notify_up: "a", notify_down: "b" }],
      },
    ]
  ) {
    const c = cfg(svc);
    deepStrictEqual(configFromObject(configToObject(c), "rt"), c);
  }
});
