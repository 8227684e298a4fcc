/**
 * One VRRP instance on the wire: adverts in and out on a raw IP socket
 * (protocol 112, 224.0.0.18 or unicast peers), timers, and everything the
 * pure {@link VrrpInstance} asks for: holding the addresses in the data
 * plane, gratuitous ARPs, notify hooks, the state-change event; plus
 * keepalived's tracking (the instance's interface and track_interface: link
 * down = FAULT; track_script: weight or FAULT).
 *
 * Receiving never spins: one read at a time blocks on a pool thread for at
 * most the socket's receive timeout (250 ms) and is re-armed after it.
 *
 * @module
 */
import { gratuitousArp } from "./arp.ts";
import { type Advert, DROP_REASONS, type DropReason, encodeAdvert, VRRP_MULTICAST_GROUP, VRRP_TTL } from "./packet.ts";
import { decodeAdvertPacket } from "./packet.ts";
import { encodeIpv4Packet, IPPROTO_VRRP } from "./ipv4.ts";
import {
  type Clock,
  systemClock,
  type VrrpAction,
  VrrpInstance,
  type VrrpState,
  type VrrpTimer,
} from "./state_machine.ts";
import { addressDevice, type VrrpInstanceSpec } from "./spec.ts";

/** Sends and receives adverts (whole IPv4 packets). */
export interface AdvertTransport {
  /** One packet into `buf`: its length, 0 after a timeout, -1 once closed. */
  receive(buf: Uint8Array): Promise<number>;
  send(packet: Uint8Array, dst: string): void;
  close(): void;
}

/** Sends Ethernet frames on one interface. */
export interface FrameTransport {
  send(frame: Uint8Array): void;
  close(): void;
}

/** Where the data plane's held bits are (HeldAddresses, or a test double). */
export interface HeldSwitch {
  setHeld(instance: number, held: boolean): void;
}

/** What a runner needs from the host; every part replaceable in tests. */
export interface RunnerHost {
  held: HeldSwitch | null;
  log: (line: string) => void;
  clock?: Clock;
  openAdverts(spec: VrrpInstanceSpec): AdvertTransport;
  openFrames(ifname: string): FrameTransport;
  /** The interface's MAC (GARP sender). */
  mac(ifname: string): Uint8Array;
  /** The interface's primary IPv4 address (the adverts' source without unicast_src_ip). */
  primaryIp(ifname: string): Promise<string>;
  /** Whether the interface's link is up. */
  linkUp(ifname: string): Promise<boolean>;
  /** Runs a command with sh -c; resolves to its exit code (-1 on timeout). */
  run(command: string, timeoutMs: number): Promise<number>;
}

/** Keepalived's state names, as notify scripts and logs show them. */
export const STATE_NAMES: Record<VrrpState, string> = {
  init: "INIT",
  backup: "BACKUP",
  master: "MASTER",
  fault: "FAULT",
};

const TRACK_POLL_MS = 500;

/** Runs one instance. */
export class VrrpRunner {
  readonly spec: VrrpInstanceSpec;
  /** Its bit in the data plane's held mask. */
  readonly index: number;
  /** Told after every state change (the supervisor switches the sync daemon's role here). */
  onStateChange: ((instance: string, state: VrrpState) => void) | null = null;
  /**
   * Adverts dropped, by reason: the codec's (RFC 5798 §7.1) and
   * `unknownPeer`, an advert from an address not in unicast_peer (keepalived
   * accepts those unless `check_unicast_src`; lvsd always checks).
   */
  readonly drops: Record<DropReason | "unknownPeer", number> = Object.fromEntries(
    [...DROP_REASONS, "unknownPeer"].map((r) => [r, 0]),
  ) as Record<DropReason | "unknownPeer", number>;
  /** Adverts accepted / sent, GARP frames sent. */
  readonly counts = { received: 0, sent: 0, garps: 0, sendErrors: 0 };
  /** performance.now() of the last change to MASTER (held flipped), for measurements. */
  becameMasterAt = 0;
  /** Wall-clock ms of the last change to MASTER (0: never), for comparing with other processes. */
  masterSinceEpochMs = 0;
  #host: RunnerHost;
  #vrrp: VrrpInstance | null = null;
  #adverts: AdvertTransport | null = null;
  #frames = new Map<string, FrameTransport>();
  #timers = new Map<VrrpTimer, ReturnType<typeof setTimeout>>();
  #reader: Promise<void> | null = null;
  #tracker: ReturnType<typeof setInterval> | null = null;
  #scripts: { timer: ReturnType<typeof setInterval>; ok: boolean | null; streak: number; running: boolean }[] = [];
  #linkFaults = new Set<string>();
  #primary = "";
  #stopped = false;

  /** VRIDs of this director's other instances on the same interface: their adverts are not drops. */
  #siblings: ReadonlySet<number>;

  constructor(spec: VrrpInstanceSpec, index: number, host: RunnerHost, siblingVrids: ReadonlySet<number> = new Set()) {
    this.spec = spec;
    this.index = index;
    this.#host = host;
    this.#siblings = siblingVrids;
  }

  /** The state now ("init" before start and after stop). */
  get state(): VrrpState {
    return this.#vrrp?.state ?? "init";
  }

  /** The address adverts are sent from. */
  get primaryIp(): string {
    return this.#primary;
  }

  /** A summary for status output. */
  snapshot() {
    return {
      name: this.spec.name,
      interface: this.spec.interface,
      vrid: this.spec.virtualRouterId,
      ...(this.#vrrp ? this.#vrrp.snapshot() : {}),
      // keepalived's names (after the spread: the state machine's are lower case).
      state: STATE_NAMES[this.state],
      masterSinceEpochMs: this.masterSinceEpochMs,
      counts: { ...this.counts },
      drops: Object.fromEntries(Object.entries(this.drops).filter(([, n]) => n > 0)),
    };
  }

  /** Opens the sockets and starts the state machine; throws naming what failed. */
  async start(): Promise<void> {
    const s = this.spec;
    this.#primary = s.unicastSrcIp ?? await this.#host.primaryIp(s.interface);
    this.#vrrp = new VrrpInstance({
      version: s.version,
      vrid: s.virtualRouterId,
      priority: s.priority,
      advertIntervalMs: s.advertIntervalMs,
      initialState: s.state === "MASTER" ? "master" : "backup",
      nopreempt: s.nopreempt,
      preemptDelayMs: s.preemptDelayMs,
      primaryIp: this.#primary,
      garpMasterDelayMs: s.garpMasterDelayMs,
      garpMasterRepeat: s.garpMasterRepeat,
      garpMasterRefreshMs: s.garpMasterRefreshMs,
      garpMasterRefreshRepeat: s.garpMasterRefreshRepeat,
    }, this.#host.clock ?? systemClock);
    for (const w of this.#vrrp.warnings) this.#host.log(`lvsd: VRRP instance ${s.name}: ${w}`);
    this.#adverts = this.#host.openAdverts(s);
    try {
      for (const a of s.virtualIpaddress) {
        const dev = addressDevice(s, a);
        if (!this.#frames.has(dev)) this.#frames.set(dev, this.#host.openFrames(dev));
      }
    } catch (e) {
      this.#closeSockets();
      throw e;
    }
    // Links first, so that an instance whose interface is down starts in FAULT.
    for (const ifname of this.#tracked()) {
      if (!(await this.#host.linkUp(ifname))) {
        this.#linkFaults.add(ifname);
        this.#vrrp.fault(`link ${ifname}`);
      }
    }
    this.#host.log(
      `lvsd: VRRP instance ${s.name}: VRID ${s.virtualRouterId} v${s.version} on ${s.interface} from ${this.#primary}, ` +
        `priority ${s.priority}, ${
          s.unicastPeer.length ? `unicast to ${s.unicastPeer.join(", ")}` : VRRP_MULTICAST_GROUP
        }`,
    );
    this.#apply(this.#vrrp.start());
    this.#reader = this.#readLoop();
    this.#tracker = setInterval(() => void this.#checkLinks(), TRACK_POLL_MS);
    // keepalived's vrrp_script: each script on its own interval; `ok` is
    // null until the first verdict.
    this.#scripts = s.trackScript.map((t, i) => ({
      timer: setInterval(() => void this.#runScript(i), t.intervalMs),
      ok: null,
      streak: 0,
      running: false,
    }));
    for (let i = 0; i < this.#scripts.length; i++) void this.#runScript(i);
  }

  /** Resigns (a master sends priority 0, as keepalived on SIGTERM), releases the addresses, closes. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tracker !== null) clearInterval(this.#tracker);
    for (const sc of this.#scripts) clearInterval(sc.timer);
    if (this.#vrrp) this.#apply(this.#vrrp.shutdown());
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#host.held?.setHeld(this.index, false);
    this.#closeSockets();
    await this.#reader;
  }

  #closeSockets(): void {
    this.#adverts?.close();
    for (const f of this.#frames.values()) f.close();
    this.#frames.clear();
  }

  /** The instance's interface plus track_interface (keepalived tracks its own interface by default). */
  #tracked(): string[] {
    return [...new Set([this.spec.interface, ...this.spec.trackInterface])];
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(2048);
    const s = this.spec;
    const expect = {
      version: s.version,
      vrid: s.virtualRouterId,
      intervalCs: s.advertIntervalMs / 10,
      addresses: s.virtualIpaddress.map((a) => a.address),
      password: s.authPass ?? undefined,
      unicast: s.unicastPeer.length > 0,
      localIsOwner: false,
    };
    while (!this.#stopped) {
      const t0 = performance.now();
      let n: number;
      try {
        n = await this.#adverts!.receive(buf);
      } catch (e) {
        this.#host.log(`lvsd: VRRP instance ${s.name}: receive failed: ${(e as Error).message}`);
        n = 0;
      }
      if (n < 0 || this.#stopped) return;
      if (n === 0) {
        // A receive that failed at once must not turn into a spin.
        if (performance.now() - t0 < 50) await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.#onPacket(buf.subarray(0, n), expect);
    }
  }

  #onPacket(packet: Uint8Array, expect: Parameters<typeof decodeAdvertPacket>[1]): void {
    const r = decodeAdvertPacket(packet, expect);
    if (!r.ok) {
      // Each instance has its own socket and sees its siblings' adverts too.
      if (r.reason === "unknownVrid" && this.#siblings.has(packet[((packet[0] & 15) << 2) + 1])) return;
      this.drops[r.reason]++;
      return;
    }
    if (r.src === this.#primary) return; // our own (multicast loop is off; a unicast peer list may echo)
    if (this.spec.unicastPeer.length && !this.spec.unicastPeer.includes(r.src)) {
      this.drops.unknownPeer++;
      return;
    }
    this.counts.received++;
    this.#apply(this.#vrrp!.receive(r.advert as Advert, r.src));
  }

  #apply(actions: VrrpAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case "sendAdvert":
          this.#sendAdvert(a.priority);
          break;
        case "becomeMaster":
          this.#host.held?.setHeld(this.index, true);
          this.becameMasterAt = performance.now();
          this.masterSinceEpochMs = Date.now();
          this.#changed("master");
          break;
        case "becomeBackup":
        case "becomeFault":
        case "becomeInit":
          this.#host.held?.setHeld(this.index, false);
          this.#changed(a.type === "becomeBackup" ? "backup" : a.type === "becomeFault" ? "fault" : "init");
          break;
        case "sendGarp":
          this.#sendGarps(a.repeat);
          break;
        case "setTimer": {
          const old = this.#timers.get(a.timer);
          if (old !== undefined) clearTimeout(old);
          this.#timers.set(
            a.timer,
            setTimeout(() => {
              this.#timers.delete(a.timer);
              if (!this.#stopped) this.#apply(this.#vrrp!.timerFired(a.timer));
            }, Math.max(0, Math.round(a.ms))),
          );
          break;
        }
        case "cancelTimer": {
          const old = this.#timers.get(a.timer);
          if (old !== undefined) clearTimeout(old);
          this.#timers.delete(a.timer);
          break;
        }
        case "notify":
          this.#notify(a.state);
          break;
      }
    }
  }

  #last: VrrpState = "init";
  #changed(state: VrrpState): void {
    if (state === this.#last) return;
    this.#host.log(`lvsd: VRRP instance ${this.spec.name}: ${STATE_NAMES[this.#last]} -> ${STATE_NAMES[state]}`);
    this.#last = state;
    try {
      this.onStateChange?.(this.spec.name, state);
    } catch (e) {
      this.#host.log(`lvsd: VRRP instance ${this.spec.name}: state-change listener failed: ${(e as Error).message}`);
    }
  }

  #sendAdvert(priority: number): void {
    const s = this.spec;
    const dsts = s.unicastPeer.length ? s.unicastPeer : [VRRP_MULTICAST_GROUP];
    for (const dst of dsts) {
      try {
        const payload = encodeAdvert({
          version: s.version,
          vrid: s.virtualRouterId,
          priority,
          intervalCs: s.advertIntervalMs / 10,
          addresses: s.virtualIpaddress.map((a) => a.address),
          password: s.authPass ?? undefined,
        }, { src: this.#primary, dst });
        // TOS 0xc0 (internetwork control), as keepalived sends it.
        const packet = encodeIpv4Packet({
          src: this.#primary,
          dst,
          protocol: IPPROTO_VRRP,
          ttl: VRRP_TTL,
          tos: 0xc0,
          payload,
        });
        this.#adverts!.send(packet, dst);
        this.counts.sent++;
      } catch (e) {
        this.counts.sendErrors++;
        if (this.counts.sendErrors <= 3 || this.counts.sendErrors % 100 === 0) {
          this.#host.log(`lvsd: VRRP instance ${s.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  #sendGarps(repeat: number): void {
    const s = this.spec;
    for (let r = 0; r < repeat; r++) {
      for (const a of s.virtualIpaddress) {
        const dev = addressDevice(s, a);
        try {
          this.#frames.get(dev)!.send(gratuitousArp(a.address, this.#host.mac(dev)));
          this.counts.garps++;
        } catch (e) {
          this.#host.log(`lvsd: VRRP instance ${s.name}: gratuitous ARP for ${a.address}: ${(e as Error).message}`);
        }
      }
    }
  }

  #notify(state: "master" | "backup" | "fault" | "stop"): void {
    const s = this.spec;
    const cmd = state === "master"
      ? s.notifyMaster
      : state === "backup"
      ? s.notifyBackup
      : state === "fault"
      ? s.notifyFault
      : null;
    if (!cmd) return;
    // As keepalived: the command as written, not waited for by the state machine.
    this.#host.run(cmd, 60_000).then((code) => {
      if (code !== 0) this.#host.log(`lvsd: VRRP instance ${s.name}: notify_${state} "${cmd}" exited ${code}`);
    }, (e) => this.#host.log(`lvsd: VRRP instance ${s.name}: notify_${state} "${cmd}": ${(e as Error).message}`));
  }

  async #checkLinks(): Promise<void> {
    if (this.#stopped || !this.#vrrp) return;
    for (const ifname of this.#tracked()) {
      let up: boolean;
      try {
        up = await this.#host.linkUp(ifname);
      } catch {
        up = false;
      }
      if (this.#stopped) return;
      const reason = `link ${ifname}`;
      if (!up && !this.#linkFaults.has(ifname)) {
        this.#linkFaults.add(ifname);
        this.#host.log(`lvsd: VRRP instance ${this.spec.name}: ${ifname} is down: FAULT`);
        this.#apply(this.#vrrp.fault(reason));
      } else if (up && this.#linkFaults.has(ifname)) {
        this.#linkFaults.delete(ifname);
        this.#host.log(`lvsd: VRRP instance ${this.spec.name}: ${ifname} is up again`);
        this.#apply(this.#vrrp.recover(reason));
      }
    }
  }

  async #runScript(i: number): Promise<void> {
    const t = this.spec.trackScript[i];
    const st = this.#scripts[i];
    if (!st || st.running || this.#stopped) return;
    st.running = true;
    let code: number;
    try {
      code = await this.#host.run(t.script, t.timeoutMs);
    } catch {
      code = -1;
    }
    st.running = false;
    if (this.#stopped || !this.#vrrp) return;
    const ok = code === 0;
    // fall/rise: the result must repeat before the script changes its verdict.
    if (ok === (st.ok ?? !ok)) {
      st.streak = 0;
    } else {
      st.streak++;
      const need = st.ok === null ? 1 : ok ? t.rise : t.fall;
      if (st.streak >= need) {
        st.ok = ok;
        st.streak = 0;
        this.#host.log(
          `lvsd: VRRP instance ${this.spec.name}: track_script "${t.script}" ${ok ? "succeeds" : "fails"}`,
        );
        if (t.weight === 0) this.#apply(ok ? this.#vrrp.recover(`script ${i}`) : this.#vrrp.fault(`script ${i}`));
        else this.#applyWeights();
      }
    }
  }

  /** keepalived's effective priority: the configured one plus each weighted script's contribution. */
  #applyWeights(): void {
    let p = this.spec.priority;
    this.spec.trackScript.forEach((t, i) => {
      const ok = this.#scripts[i]?.ok;
      if (t.weight > 0 && ok === true) p += t.weight;
      if (t.weight < 0 && ok === false) p += t.weight;
    });
    this.#apply(this.#vrrp!.setPriority(p));
  }
}
