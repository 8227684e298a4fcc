/**
 * A small discrete-event simulator for VRRP tests: several VrrpInstances on
 * one fake clock and one simulated LAN. Each instance's actions are carried
 * out as a real caller would: timers become events, and every advert is
 * encoded with encodeAdvert and passed through decodeAdvert (with the
 * receiver's expectations) before the receiver sees it, so the codec and
 * the state machine are tested together. Events at the same instant run in
 * the order they were scheduled.
 */
import { decodeAdvert, type DropReason, encodeAdvert, VRRP_MULTICAST_GROUP } from "../../src/vrrp/packet.ts";
import type { VrrpInstanceOptions } from "../../src/vrrp/config.ts";
import { type VrrpAction, VrrpInstance, type VrrpState, type VrrpTimer } from "../../src/vrrp/state_machine.ts";

interface Event {
  at: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

/** One action as it happened. */
export interface LogEntry {
  at: number;
  router: string;
  action: VrrpAction;
}

/** One simulated box running one instance. */
export class Router {
  alive = true;
  readonly timers = new Map<VrrpTimer, Event>();
  constructor(
    readonly name: string,
    readonly inst: VrrpInstance,
    readonly vips: string[],
    readonly password: string | undefined,
  ) {}
  get ip(): string {
    return this.inst.config.primaryIp;
  }
  get state(): VrrpState {
    return this.inst.state;
  }
}

export class Sim {
  now = 0;
  /** Delivery delay of an advert. */
  latencyMs = 0;
  readonly clock = { now: () => this.now };
  readonly routers = new Map<string, Router>();
  readonly log: LogEntry[] = [];
  readonly drops: { at: number; to: string; reason: DropReason }[] = [];
  #queue: Event[] = [];
  #seq = 0;
  #blocked = new Set<string>();

  /** Adds a router; `password` makes it send and expect v2 auth_type PASS. */
  add(name: string, options: VrrpInstanceOptions, vips = ["10.0.0.100"], password?: string): Router {
    const r = new Router(name, new VrrpInstance(options, this.clock), vips, password);
    this.routers.set(name, r);
    return r;
  }

  get(name: string): Router {
    const r = this.routers.get(name);
    if (!r) throw new Error(`no router ${name}`);
    return r;
  }

  /** Runs `fn` at time `at`. */
  at(at: number, fn: () => void): void {
    this.#schedule(at, fn);
  }

  startAt(at: number, name: string): void {
    this.at(at, () => this.apply(this.get(name), this.get(name).inst.start()));
  }

  /** The box dies: it sends nothing more and hears nothing (no priority 0 advert). */
  killAt(at: number, name: string): void {
    this.at(at, () => {
      const r = this.get(name);
      r.alive = false;
      for (const e of r.timers.values()) e.cancelled = true;
      r.timers.clear();
    });
  }

  /** An orderly stop: the instance's own shutdown (a master sends priority 0). */
  shutdownAt(at: number, name: string): void {
    this.at(at, () => this.apply(this.get(name), this.get(name).inst.shutdown()));
  }

  faultAt(at: number, name: string, reason?: string): void {
    this.at(at, () => this.apply(this.get(name), this.get(name).inst.fault(reason)));
  }

  recoverAt(at: number, name: string, reason?: string): void {
    this.at(at, () => this.apply(this.get(name), this.get(name).inst.recover(reason)));
  }

  /** Adverts between `a` and `b` are lost, both ways, from `at` on. */
  partitionAt(at: number, a: string, b: string): void {
    this.at(at, () => {
      this.#blocked.add(`${a}>${b}`);
      this.#blocked.add(`${b}>${a}`);
    });
  }

  healAt(at: number): void {
    this.at(at, () => this.#blocked.clear());
  }

  /**
   * Runs every event up to and including `until`; the clock ends there.
   * Throws after `maxEvents` (an advert storm between instances would
   * otherwise never end, with no delivery delay).
   */
  run(until: number, maxEvents = 100_000): void {
    for (let n = 0;; n++) {
      if (n >= maxEvents) throw new Error(`simulation ran ${maxEvents} events before ${until} ms: advert storm?`);
      this.#queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const e = this.#queue[0];
      if (!e || e.at > until) break;
      this.#queue.shift();
      if (e.cancelled) continue;
      this.now = e.at;
      e.run();
    }
    this.now = until;
  }

  /** Carries out one instance's actions. */
  apply(r: Router, actions: VrrpAction[]): void {
    for (const action of actions) {
      this.log.push({ at: this.now, router: r.name, action });
      if (action.type === "setTimer") {
        const old = r.timers.get(action.timer);
        if (old) old.cancelled = true;
        const e = this.#schedule(this.now + action.ms, () => {
          r.timers.delete(action.timer);
          this.apply(r, r.inst.timerFired(action.timer));
        });
        r.timers.set(action.timer, e);
      } else if (action.type === "cancelTimer") {
        const old = r.timers.get(action.timer);
        if (old) old.cancelled = true;
        r.timers.delete(action.timer);
      } else if (action.type === "sendAdvert") {
        this.#send(r, action.priority);
      }
    }
  }

  #send(from: Router, priority: number): void {
    const c = from.inst.config;
    const bytes = encodeAdvert(
      {
        version: c.version,
        vrid: c.vrid,
        priority,
        intervalCs: c.advertIntervalMs / 10,
        addresses: from.vips,
        password: from.password,
      },
      { src: from.ip, dst: VRRP_MULTICAST_GROUP },
    );
    for (const to of this.routers.values()) {
      if (to === from || this.#blocked.has(`${from.name}>${to.name}`)) continue;
      this.#schedule(this.now + this.latencyMs, () => {
        if (!to.alive) return;
        const tc = to.inst.config;
        const r = decodeAdvert(from.ip, VRRP_MULTICAST_GROUP, 255, bytes, {
          version: tc.version,
          vrid: tc.vrid,
          intervalCs: tc.advertIntervalMs / 10,
          addresses: to.vips,
          password: to.password,
        });
        if (!r.ok) {
          this.drops.push({ at: this.now, to: to.name, reason: r.reason });
          return;
        }
        this.apply(to, to.inst.receive(r.advert, from.ip));
      });
    }
  }

  #schedule(at: number, run: () => void): Event {
    const e = { at, seq: this.#seq++, run, cancelled: false };
    this.#queue.push(e);
    return e;
  }

  // ---- reading the log ----

  /** State changes as [time, router, state], in order. */
  transitions(name?: string): [number, string, string][] {
    const names: Record<string, string> = {
      becomeMaster: "master",
      becomeBackup: "backup",
      becomeFault: "fault",
      becomeInit: "init",
    };
    return this.log
      .filter((e) => (name === undefined || e.router === name) && e.action.type in names)
      .map((e) => [e.at, e.router, names[e.action.type]]);
  }

  /** Times `name` sent an advert (with its priority), optionally from `since` on. */
  adverts(name: string, since = -Infinity): [number, number][] {
    return this.log
      .filter((e) => e.router === name && e.at >= since && e.action.type === "sendAdvert")
      .map((e) => [e.at, (e.action as { priority: number }).priority]);
  }

  /** Routers currently master. */
  masters(): string[] {
    return [...this.routers.values()].filter((r) => r.alive && r.state === "master").map((r) => r.name);
  }
}
