/**
 * One VRRP instance's state machine: RFC 5798 §6.4 (Initialize, Backup,
 * Master) plus keepalived's FAULT state, its initial-state rules,
 * preempt_delay and gratuitous ARP schedule.
 *
 * Pure and event driven: the caller feeds events (`start`, `shutdown`,
 * `receive`, `timerFired`, `fault`, `recover`, `setPriority`) and carries out
 * the actions each returns, in order. Nothing here touches a socket, a timer
 * or the clock except through the injected {@link Clock}, which is read
 * only to keep timer deadlines and the preempt_delay window.
 *
 * Contract for the caller:
 * - `setTimer` replaces any pending timer of that name; `cancelTimer` drops
 *   it. Durations are exact and often fractional (Skew_Time is a 256th of
 *   an interval): round them as the timer API needs. When a timer runs out, call `timerFired(name)`. A `timerFired` for a
 *   timer that is not armed (cancelled meanwhile) is ignored.
 * - `sendAdvert` means: encode and send an advert now with this priority,
 *   our VIPs and our configured interval (priority 0 = we are resigning).
 * - `becomeMaster`: start answering ARP for the VIPs (and the NAT gateway
 *   address) and forwarding for them. Every other `become*` means: stop at
 *   once. `sendGarp` means: a gratuitous ARP per VIP, `repeat` times.
 * - `notify` runs the notify_master / notify_backup / notify_fault hooks
 *   (`stop` is keepalived's notify_stop).
 *
 * Where keepalived (keepalived/vrrp/vrrp.c, vrrp_scheduler.c) refines the RFC
 * and lvsd follows it:
 * - Initial state BACKUP waits Master_Down_Interval; initial state MASTER
 *   without being the owner waits one Master_Adver_Interval plus the
 *   smallest skew, then takes over unless it heard a better master
 *   (vrrp_init_state). The owner (priority 255) becomes master at once, as
 *   RFC 5798 §6.4.1 says.
 * - preempt_delay: a preempting backup that hears a lower-priority master
 *   accepts its adverts for preempt_delay more (the window opens at the
 *   first such advert and closes on an advert of equal or higher priority
 *   or on entering backup), then discards them and takes over when its
 *   Master_Down_Timer runs out (vrrp_state_backup).
 * - A master answers a lower-priority advert with an advert of its own
 *   unless `answerLowerPriority` is false (lower_prio_no_advert).
 * - FAULT (a tracked interface or script failed): a master sends priority 0
 *   and gives up the VIPs; received adverts and timers are ignored; when
 *   every fault has cleared the instance waits a full Master_Down_Interval
 *   in backup with its own interval, except the owner, which becomes master
 *   (vrrp_state_leave_fault, try_up_instance).
 * - Gratuitous ARPs on becoming master: `garpMasterRepeat` at once, the same
 *   again after `garpMasterDelayMs`, and `garpMasterRefreshRepeat` every
 *   `garpMasterRefreshMs` from `garpMasterDelayMs + garpMasterRefreshMs` on
 *   (vrrp_state_become_master).
 * - `setPriority` (track weights): the owner's priority never changes, others
 *   are clamped to 1..254 (vrrp_set_effective_priority).
 *
 * @module
 */
import { resolveInstanceConfig, type VrrpInstanceConfig, type VrrpInstanceOptions } from "./config.ts";
import { parseIpv4 } from "./ipv4.ts";
import type { Advert } from "./packet.ts";
import { masterDownIntervalMs, minSkewMs, skewTimeMs } from "./timing.ts";

/** The states: RFC 5798's three and keepalived's FAULT. */
export type VrrpState = "init" | "backup" | "master" | "fault";

/**
 * The timers: RFC 5798's Adver_Timer and Master_Down_Timer, and the two
 * gratuitous ARP timers of keepalived.
 */
export type VrrpTimer = "adver" | "masterDown" | "garpDelay" | "garpRefresh";

/** What the caller must do; see the module doc. */
export type VrrpAction =
  | { type: "sendAdvert"; priority: number }
  | { type: "becomeMaster" }
  | { type: "becomeBackup" }
  | { type: "becomeFault" }
  | { type: "becomeInit" }
  | { type: "sendGarp"; repeat: number }
  | { type: "setTimer"; timer: VrrpTimer; ms: number }
  | { type: "cancelTimer"; timer: VrrpTimer }
  | { type: "notify"; state: "master" | "backup" | "fault" | "stop" };

/** A source of monotonic milliseconds. */
export interface Clock {
  now(): number;
}

/** The process's monotonic clock. */
export const systemClock: Clock = { now: () => performance.now() };

const MASTER_TIMERS: readonly VrrpTimer[] = ["adver", "garpDelay", "garpRefresh"];

/** One VRRP instance (one VRID on one interface). */
export class VrrpInstance {
  /** The settings in force (after keepalived's normalisation). */
  readonly config: VrrpInstanceConfig;
  /** What that normalisation cleared, for the caller to log. */
  readonly warnings: readonly string[];
  #clock: Clock;
  #primary: number;
  #state: VrrpState = "init";
  #priority: number;
  #masterAdverIntervalMs: number;
  #deadlines = new Map<VrrpTimer, number>();
  #faults = new Set<string>();
  #preemptUntil: number | null = null;
  #masterIp: string | null = null;

  /** Throws a RangeError naming the setting when `options` are out of range. */
  constructor(options: VrrpInstanceOptions, clock: Clock = systemClock) {
    const { config, warnings } = resolveInstanceConfig(options);
    this.config = config;
    this.warnings = warnings;
    this.#clock = clock;
    this.#primary = parseIpv4(config.primaryIp);
    this.#priority = config.priority;
    this.#masterAdverIntervalMs = config.advertIntervalMs;
  }

  /** The current state. */
  get state(): VrrpState {
    return this.#state;
  }

  /** The priority we advertise (the configured one unless `setPriority` changed it). */
  get priority(): number {
    return this.#priority;
  }

  /** Master_Adver_Interval in ms: the master's interval as learnt (v3), else our own. */
  get masterAdverIntervalMs(): number {
    return this.#masterAdverIntervalMs;
  }

  /** Skew_Time in ms for our priority and the current Master_Adver_Interval. */
  get skewTimeMs(): number {
    return skewTimeMs(this.config.version, this.#priority, this.#masterAdverIntervalMs);
  }

  /** Master_Down_Interval in ms. */
  get masterDownIntervalMs(): number {
    return masterDownIntervalMs(this.config.version, this.#priority, this.#masterAdverIntervalMs);
  }

  /** The master's address as last accepted (ours while master); null before any. */
  get masterIp(): string | null {
    return this.#masterIp;
  }

  /** The faults not yet recovered. */
  get faults(): string[] {
    return [...this.#faults];
  }

  /** When `timer` runs out, on the injected clock; undefined when it is not armed. */
  timerDeadline(timer: VrrpTimer): number | undefined {
    return this.#deadlines.get(timer);
  }

  /** Startup (RFC 5798 §6.4.1). Throws when the instance is already running. */
  start(): VrrpAction[] {
    if (this.#state !== "init") throw new Error(`VRRP instance (VRID ${this.config.vrid}) already started`);
    const out: VrrpAction[] = [];
    this.#masterAdverIntervalMs = this.config.advertIntervalMs;
    if (this.#faults.size > 0) {
      this.#enterFault(out);
    } else if (this.#isOwner() && this.config.initialState === "master") {
      this.#enterMaster(out);
    } else if (this.config.initialState === "master") {
      this.#enterBackup(out, this.#masterAdverIntervalMs + minSkewMs(this.config.version, this.#masterAdverIntervalMs));
    } else {
      this.#enterBackup(out, this.masterDownIntervalMs);
    }
    return out;
  }

  /** Shutdown: a master resigns with priority 0 (RFC 5798 §6.4.3); every state goes to Initialize. */
  shutdown(): VrrpAction[] {
    const out: VrrpAction[] = [];
    if (this.#state === "init") return out;
    this.#cancelAll(out);
    if (this.#state === "master") out.push({ type: "sendAdvert", priority: 0 });
    this.#state = "init";
    this.#preemptUntil = null;
    out.push({ type: "becomeInit" }, { type: "notify", state: "stop" });
    return out;
  }

  /**
   * An advert that passed the receive checks (decodeAdvert), from `srcIp`
   * (the IP source, a dotted quad: the sender's primary address).
   * RFC 5798 §6.4.2 in Backup, §6.4.3 in Master; ignored in Initialize and FAULT.
   */
  receive(advert: Advert, srcIp: string): VrrpAction[] {
    const out: VrrpAction[] = [];
    if (advert.vrid !== this.config.vrid || advert.version !== this.config.version) return out;
    if (this.#state === "backup") this.#backupReceive(out, advert, srcIp);
    else if (this.#state === "master") this.#masterReceive(out, advert, srcIp);
    return out;
  }

  /** A timer set by an earlier `setTimer` ran out. */
  timerFired(timer: VrrpTimer): VrrpAction[] {
    const out: VrrpAction[] = [];
    if (!this.#deadlines.delete(timer)) return out;
    const c = this.config;
    switch (timer) {
      case "masterDown": // Backup: the master is gone (or resigned, or lost to our preemption)
        this.#enterMaster(out);
        break;
      case "adver":
        out.push({ type: "sendAdvert", priority: this.#priority });
        this.#setTimer(out, "adver", c.advertIntervalMs);
        break;
      case "garpDelay":
        this.#garp(out, c.garpMasterRepeat);
        break;
      case "garpRefresh":
        this.#garp(out, c.garpMasterRefreshRepeat);
        this.#setTimer(out, "garpRefresh", c.garpMasterRefreshMs);
        break;
    }
    return out;
  }

  /**
   * A tracked interface or script failed (`reason` names it). The instance
   * stays in FAULT until every reason has recovered.
   */
  fault(reason = "fault"): VrrpAction[] {
    const out: VrrpAction[] = [];
    const first = this.#faults.size === 0;
    this.#faults.add(reason);
    if (!first || this.#state === "init" || this.#state === "fault") return out;
    const wasMaster = this.#state === "master";
    this.#cancelAll(out);
    if (wasMaster) out.push({ type: "sendAdvert", priority: 0 });
    this.#enterFault(out);
    return out;
  }

  /** `reason` recovered; with no fault left the instance leaves FAULT. */
  recover(reason = "fault"): VrrpAction[] {
    const out: VrrpAction[] = [];
    this.#faults.delete(reason);
    if (this.#faults.size > 0 || this.#state !== "fault") return out;
    this.#masterAdverIntervalMs = this.config.advertIntervalMs;
    if (this.#isOwner() && this.config.initialState === "master") this.#enterMaster(out);
    else this.#enterBackup(out, this.masterDownIntervalMs);
    return out;
  }

  /**
   * Sets the priority from tracking weights (keepalived's effective
   * priority). The owner's stays 255; others are clamped to 1..254. A
   * running Master_Down_Timer moves by the change in Skew_Time; a master
   * advertises the new priority from its next advert on.
   */
  setPriority(priority: number): VrrpAction[] {
    const out: VrrpAction[] = [];
    if (!Number.isFinite(priority)) {
      throw new RangeError(`VRRP instance (VRID ${this.config.vrid}): priority ${priority} is not a number`);
    }
    if (this.config.priority === 255) return out;
    const next = Math.min(254, Math.max(1, Math.round(priority)));
    if (next === this.#priority) return out;
    const oldSkew = this.skewTimeMs;
    this.#priority = next;
    const deadline = this.#deadlines.get("masterDown");
    if (this.#state === "backup" && deadline !== undefined) {
      this.#setTimer(out, "masterDown", Math.max(0, deadline + this.skewTimeMs - oldSkew - this.#clock.now()));
    }
    return out;
  }

  /** A plain summary for status output. */
  snapshot(): {
    state: VrrpState;
    priority: number;
    masterIp: string | null;
    masterAdverIntervalMs: number;
    faults: string[];
  } {
    return {
      state: this.#state,
      priority: this.#priority,
      masterIp: this.#masterIp,
      masterAdverIntervalMs: this.#masterAdverIntervalMs,
      faults: this.faults,
    };
  }

  // RFC 5798 §6.4.2 "If an ADVERTISEMENT is received", with keepalived's preempt_delay.
  #backupReceive(out: VrrpAction[], advert: Advert, srcIp: string): void {
    const c = this.config;
    if (advert.priority === 0) {
      // The master resigned: take over after Skew_Time, so the best backup goes first.
      this.#setTimer(out, "masterDown", this.skewTimeMs);
      return;
    }
    const now = this.#clock.now();
    const inDelay = c.preemptDelayMs > 0 && (this.#preemptUntil === null || this.#preemptUntil > now);
    if (c.nopreempt || advert.priority >= this.#priority || inDelay) {
      if (c.version === 3) this.#masterAdverIntervalMs = advert.intervalCs * 10;
      this.#masterIp = srcIp;
      this.#setTimer(out, "masterDown", this.masterDownIntervalMs);
      if (c.preemptDelayMs > 0) {
        if (advert.priority >= this.#priority) this.#preemptUntil = null;
        else if (this.#preemptUntil === null) this.#preemptUntil = now + c.preemptDelayMs;
      }
    }
    // Otherwise a lower-priority master and we preempt: discard it and let
    // the Master_Down_Timer run out.
  }

  // RFC 5798 §6.4.3 "If an ADVERTISEMENT is received".
  #masterReceive(out: VrrpAction[], advert: Advert, srcIp: string): void {
    const c = this.config;
    if (advert.priority === 0) {
      // A master resigned while we are master too: assert ourselves at once.
      out.push({ type: "sendAdvert", priority: this.#priority });
      this.#setTimer(out, "adver", c.advertIntervalMs);
      return;
    }
    const src = parseIpv4(srcIp);
    const higher = advert.priority > this.#priority || (advert.priority === this.#priority && src > this.#primary);
    if (higher) {
      this.#cancelAll(out);
      if (c.version === 3) this.#masterAdverIntervalMs = advert.intervalCs * 10;
      this.#masterIp = srcIp;
      this.#preemptUntil = null;
      this.#enterBackup(out, this.masterDownIntervalMs);
    } else if (c.answerLowerPriority && src !== this.#primary) {
      out.push({ type: "sendAdvert", priority: this.#priority });
    }
  }

  #isOwner(): boolean {
    return this.config.priority === 255;
  }

  // Backup's Master_Down_Timer ran out, or startup/recovery of the owner.
  // The advert goes first so that the old master drops the VIPs before our
  // gratuitous ARPs land (keepalived's order in vrrp_state_master_tx).
  #enterMaster(out: VrrpAction[]): void {
    const c = this.config;
    this.#state = "master";
    this.#masterIp = c.primaryIp;
    this.#preemptUntil = null;
    this.#cancel(out, "masterDown");
    out.push({ type: "sendAdvert", priority: this.#priority }, { type: "becomeMaster" });
    this.#garp(out, c.garpMasterRepeat);
    this.#setTimer(out, "adver", c.advertIntervalMs);
    if (c.garpMasterDelayMs > 0) this.#setTimer(out, "garpDelay", c.garpMasterDelayMs);
    if (c.garpMasterRefreshMs > 0) this.#setTimer(out, "garpRefresh", c.garpMasterDelayMs + c.garpMasterRefreshMs);
    out.push({ type: "notify", state: "master" });
  }

  #enterBackup(out: VrrpAction[], downMs: number): void {
    this.#state = "backup";
    this.#preemptUntil = null;
    out.push({ type: "becomeBackup" });
    this.#setTimer(out, "masterDown", downMs);
    out.push({ type: "notify", state: "backup" });
  }

  #enterFault(out: VrrpAction[]): void {
    this.#state = "fault";
    this.#preemptUntil = null;
    out.push({ type: "becomeFault" }, { type: "notify", state: "fault" });
  }

  #garp(out: VrrpAction[], repeat: number): void {
    if (repeat > 0) out.push({ type: "sendGarp", repeat });
  }

  #setTimer(out: VrrpAction[], timer: VrrpTimer, ms: number): void {
    this.#deadlines.set(timer, this.#clock.now() + ms);
    out.push({ type: "setTimer", timer, ms });
  }

  #cancel(out: VrrpAction[], timer: VrrpTimer): void {
    if (this.#deadlines.delete(timer)) out.push({ type: "cancelTimer", timer });
  }

  #cancelAll(out: VrrpAction[]): void {
    this.#cancel(out, "masterDown");
    for (const t of MASTER_TIMERS) this.#cancel(out, t);
  }
}
