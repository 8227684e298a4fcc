/**
 * The running table from health states: keepalived's failed-server,
 * quorum/hysteresis and sorry-server rules (check/ipwrapper.c
 * update_quorum_state), and slow start.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { configFromObject, type DestConfig } from "../../src/config/mod.ts";
import { DEFAULT_POLICY, type DestHealth, effectiveServices, type HealthPolicy } from "../../src/health/effective.ts";

const KEY = "tcp:10.0.0.1:80";

function services(weights = [1, 1, 1, 1]) {
  return configFromObject({
    interfaces: [{ name: "eth0" }],
    services: [{
      proto: "tcp",
      vip: "10.0.0.1",
      port: 80,
      scheduler: "wlc",
      dests: weights.map((weight, i) => ({ address: `10.20.0.${i + 1}`, weight })),
    }],
  }, "t").services;
}

const SORRY: DestConfig = {
  address: "10.30.0.1",
  port: 80,
  forward: "masq",
  tunType: "ipip",
  tunPort: 0,
  weight: 1,
  uThreshold: 0,
  lThreshold: 0,
  notifyUp: null,
  notifyDown: null,
};

/** Health with the dests numbered in `down` failed, every other one up since `since`. */
function health(down: number[], since = -1e9, n = 4): Map<string, Map<string, DestHealth>> {
  const m = new Map<string, DestHealth>();
  for (let i = 1; i <= n; i++) m.set(`10.20.0.${i}:80`, { up: !down.includes(i), upSince: since });
  return new Map([[KEY, m]]);
}

const policy = (p: Partial<HealthPolicy>) => new Map([[KEY, { ...DEFAULT_POLICY, ...p }]]);
const pool = (e: ReturnType<typeof effectiveServices>) => e.services[0].dests.map((d) => `${d.address}/${d.weight}`);

Deno.test("effective: a failed dest leaves the pool; with inhibit_on_failure it stays at weight 0", () => {
  const all = effectiveServices(services(), new Map(), new Map(), new Map(), 0);
  deepStrictEqual(pool(all), ["10.20.0.1/1", "10.20.0.2/1", "10.20.0.3/1", "10.20.0.4/1"]);
  const one = effectiveServices(services(), health([2]), new Map(), new Map(), 0);
  deepStrictEqual(pool(one), ["10.20.0.1/1", "10.20.0.3/1", "10.20.0.4/1"]);
  const inhibit = effectiveServices(
    services(),
    health([2]),
    policy({ inhibitOnFailure: new Set(["10.20.0.2:80"]) }),
    new Map(),
    0,
  );
  deepStrictEqual(pool(inhibit), ["10.20.0.1/1", "10.20.0.2/0", "10.20.0.3/1", "10.20.0.4/1"]);
});

Deno.test("effective: quorum with hysteresis moves its threshold away from the current state (ipwrapper.c)", () => {
  const p = policy({ quorum: 3, hysteresis: 1 });
  let q = new Map<string, boolean>();
  const step = (down: number[]) => {
    const e = effectiveServices(services(), health(down), p, q, 0);
    q = e.quorum;
    return [e.quorum.get(KEY), e.events.map((ev) => `${ev.up ? "up" : "down"} ${ev.weightSum}/${ev.threshold}`)];
  };
  deepStrictEqual(step([]), [true, []]); // starts up: 4 >= 3 + 1
  deepStrictEqual(step([1]), [true, []]); // 3 >= 3 - 1
  deepStrictEqual(step([1, 2]), [true, []]); // 2 is not < 2
  deepStrictEqual(step([1, 2, 3]), [false, ["down 1/2"]]);
  deepStrictEqual(step([1, 2]), [false, []]); // 2 < 3 + 1: still down
  deepStrictEqual(step([1]), [false, []]); // 3 < 4
  deepStrictEqual(step([]), [true, ["up 4/4"]]);
  // Starting with too little weight starts down, without an event.
  const start = effectiveServices(services(), health([1, 2]), p, new Map(), 0);
  deepStrictEqual([start.quorum.get(KEY), start.events.length], [false, 0]);
});

Deno.test("effective: every dest down loses a quorum of 1 (keepalived's !weight_sum)", () => {
  const up = effectiveServices(services(), health([]), new Map(), new Map(), 0);
  const down = effectiveServices(services(), health([1, 2, 3, 4]), new Map(), up.quorum, 0);
  strictEqual(down.quorum.get(KEY), false);
  deepStrictEqual(down.events.map((e) => e.up), [false]);
  deepStrictEqual(pool(down), []);
});

Deno.test("effective: the sorry server replaces the pool while quorum is lost, and leaves (or idles at 0) after", () => {
  const p = policy({ quorum: 2, sorryServer: SORRY, inhibitOnFailure: new Set(["10.20.0.4:80"]) });
  const up = effectiveServices(services(), health([]), p, new Map(), 0);
  deepStrictEqual(pool(up), ["10.20.0.1/1", "10.20.0.2/1", "10.20.0.3/1", "10.20.0.4/1"]);
  // 10.20.0.1 alone (weight 1) is below 2: the alive dest leaves too; the inhibited dead one stays at 0.
  const lost = effectiveServices(services(), health([2, 3, 4]), p, up.quorum, 0);
  deepStrictEqual(pool(lost), ["10.20.0.4/0", "10.30.0.1/1"]);
  const back = effectiveServices(services(), health([3, 4]), p, lost.quorum, 0);
  deepStrictEqual(pool(back), ["10.20.0.1/1", "10.20.0.2/1", "10.20.0.4/0"]);
  // sorry_server_inhibit: it stays in the table at weight 0 while quorum holds.
  const inh = effectiveServices(
    services(),
    health([]),
    policy({ sorryServer: SORRY, sorryInhibit: true }),
    up.quorum,
    0,
  );
  deepStrictEqual(pool(inh).at(-1), "10.30.0.1/0");
});

Deno.test("effective: slow start ramps a returning dest's weight over the window, then stops asking", () => {
  const p = policy({ slowStartMs: 10_000 });
  const h = health([], -1e9);
  h.get(KEY)!.set("10.20.0.2:80", { up: true, upSince: 0 });
  const at = (t: number) => effectiveServices(services([10, 10, 0, 10]), h, p, new Map(), t);
  deepStrictEqual(pool(at(0)), ["10.20.0.1/10", "10.20.0.2/1", "10.20.0.3/0", "10.20.0.4/10"]);
  deepStrictEqual(pool(at(2_500)).slice(0, 2), ["10.20.0.1/10", "10.20.0.2/3"]);
  strictEqual(at(2_500).nextStep, 3_500);
  deepStrictEqual(pool(at(9_999)).slice(0, 2), ["10.20.0.1/10", "10.20.0.2/10"]);
  deepStrictEqual([pool(at(10_000))[1], at(10_000).nextStep], ["10.20.0.2/10", null]);
  // Quorum counts the full weight, not the ramp (keepalived's effective_weight).
  const q = effectiveServices(services([10, 10, 0, 10]), h, policy({ slowStartMs: 10_000, quorum: 30 }), new Map(), 0);
  strictEqual(q.quorum.get(KEY), true);
});

Deno.test("effective: a checker's dynamic weight (MISC_CHECK misc_dynamic) replaces the configured one", () => {
  const h = health([]);
  h.get(KEY)!.set("10.20.0.3:80", { up: true, upSince: -1e9, weight: 7 });
  deepStrictEqual(pool(effectiveServices(services(), h, new Map(), new Map(), 0)), [
    "10.20.0.1/1",
    "10.20.0.2/1",
    "10.20.0.3/7",
    "10.20.0.4/1",
  ]);
});
