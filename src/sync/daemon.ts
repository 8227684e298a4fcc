/**
 * The connection-sync daemons (ipvsadm --start-daemon master|backup): the
 * master drains the workers' sync rings (queue.ts) and multicasts (or
 * unicasts to a peer) IPVS sync protocol v1 datagrams; the backup joins the
 * group, decodes what arrives (wire.ts), counts what it drops and installs
 * the rest into the shared table (install.ts). Both may run at once, as the
 * kernel's may. UDP through node:dgram (Deno 2.9's implementation does
 * addMembership, setMulticastInterface, setMulticastTTL).
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import type { SharedState } from "../dataplane/shared_state.ts";
import { interfaceIPv4, interfaceMtu } from "../sys/netdev.ts";
import { monotonicMs } from "../sys/clock.ts";
import { decodeMessage } from "./decode.ts";
import { encodeMessage } from "./encode.ts";
import { MESG_HEADER_SIZE, SYNC_V4_SIZE, type SyncConn } from "./layout.ts";
import { drainRings, queuedCount } from "./queue.ts";
import { installConn, type InstallOutcome } from "./install.ts";
import { ClientHops, IDLE_REFRESH_MS } from "./client_hops.ts";
import { isTemplate } from "./states.ts";

import type { SyncDaemonConfig, SyncRole } from "./config.ts";
export { SYNC_DEFAULTS } from "./config.ts";
export type { SyncDaemonConfig, SyncRole } from "./config.ts";

/** How long a partial datagram may wait (the kernel waits up to 2 s; lvsd 100 ms). */
export const MAX_SEND_DELAY_MS = 100;
/** The backup socket's receive buffer asked for (bytes). */
const RECV_BUFFER = 4 << 20;
/** How often the master looks at the rings for a full datagram's worth while connections flow. */
const POLL_MS = 10;
/**
 * ... and once they stopped for a second (100 empty polls): an idle master
 * wakes 10 times a second, not 100, and what it then finds has waited up to
 * 100 ms already, so it goes at once.
 */
const IDLE_POLL_MS = MAX_SEND_DELAY_MS;
const IDLE_AFTER_POLLS = 100;

/** The master's counters. */
export interface SyncMasterStats {
  datagrams: number;
  conns: number;
  bytes: number;
  send_errors: number;
  /** Queued connections already ended or reused when the master read them. */
  stale: number;
}

/** The backup's counters; `drops` by reason (the decoder's, and why an entry could not be installed). */
export interface SyncBackupStats {
  datagrams: number;
  bytes: number;
  conns: number;
  installed: number;
  updated: number;
  /** Connections installed before their client's next hop was known that got it later. */
  late_hops: number;
  drops: Record<string, number>;
}

/** What a running daemon reports. */
export interface SyncDaemonStatus {
  role: SyncRole;
  config: SyncDaemonConfig & { maxlen: number };
  stats: SyncMasterStats | SyncBackupStats;
}

async function openSocket(cfg: SyncDaemonConfig, forBackup: boolean, ifaceAddr: string): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: forBackup });
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    sock.once("error", fail);
    const done = () => {
      sock.off("error", fail);
      resolve();
    };
    if (forBackup) sock.bind(cfg.port, done);
    else sock.bind(0, ifaceAddr, done);
  });
  return sock;
}

/** The master: rings → datagrams. */
export class SyncMaster {
  readonly config: SyncDaemonConfig & { maxlen: number };
  readonly stats: SyncMasterStats = { datagrams: 0, conns: 0, bytes: 0, send_errors: 0, stale: 0 };
  #state: SharedState;
  #sock: dgram.Socket;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSend = 0;
  #emptyPolls = 0;
  #perDatagram: number;
  #dest: string;
  #stopped = false;
  /** Sends handed to the socket and not yet done: the socket closes once they are (stop). */
  #pending = 0;
  #closeWhenSent = false;
  #log: (line: string) => void;

  private constructor(
    state: SharedState,
    config: SyncDaemonConfig & { maxlen: number },
    sock: dgram.Socket,
    log: (l: string) => void,
  ) {
    this.#state = state;
    this.config = config;
    this.#sock = sock;
    this.#log = log;
    this.#dest = config.peer ?? config.group;
    this.#perDatagram = Math.min(255, Math.floor((config.maxlen - MESG_HEADER_SIZE) / SYNC_V4_SIZE));
    sock.on("error", (e) => {
      this.stats.send_errors++;
      this.#log(`lvsd: sync master: ${e.message}`);
    });
  }

  /** Opens the socket and turns the workers' queueing on. Throws (changing nothing) when the interface is unusable. */
  static async start(state: SharedState, cfg: SyncDaemonConfig, log: (l: string) => void): Promise<SyncMaster> {
    const addr = await interfaceIPv4(cfg.mcastInterface);
    const maxlen = cfg.maxlen ?? interfaceMtu(cfg.mcastInterface) - 28;
    if (maxlen < MESG_HEADER_SIZE + SYNC_V4_SIZE) {
      throw new RangeError(
        `Cannot start the master sync daemon: maxlen ${maxlen} cannot hold one entry (${
          MESG_HEADER_SIZE + SYNC_V4_SIZE
        } bytes with the header)`,
      );
    }
    const sock = await openSocket(cfg, false, addr);
    try {
      if (!cfg.peer) {
        sock.setMulticastInterface(addr);
        sock.setMulticastTTL(cfg.ttl);
        sock.setMulticastLoopback(false); // as the kernel's master (set_mcast_loop 0)
      } else {
        sock.setTTL(cfg.ttl);
      }
    } catch (e) {
      sock.close();
      throw e;
    }
    const m = new SyncMaster(state, { ...cfg, maxlen }, sock, log);
    drainRings(state); // whatever an earlier master left queued is old news
    state.setSyncMaster(true);
    m.#lastSend = monotonicMs();
    m.#schedule();
    return m;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const idle = this.#emptyPolls >= IDLE_AFTER_POLLS;
    this.#timer = setTimeout(() => {
      try {
        const sent = this.flush(idle);
        this.#emptyPolls = sent === 0 && queuedCount(this.#state) === 0 ? this.#emptyPolls + 1 : 0;
      } catch (e) {
        this.#log(`lvsd: sync master: ${(e as Error).message}`);
      }
      this.#schedule();
    }, idle ? IDLE_POLL_MS : POLL_MS);
  }

  /**
   * Sends what the rings hold: at once when a full datagram's worth is
   * queued, else when the oldest may have waited MAX_SEND_DELAY_MS (or
   * `force`). Returns the connections sent.
   */
  flush(force: boolean): number {
    const now = monotonicMs();
    const queued = queuedCount(this.#state);
    if (queued === 0) {
      this.#lastSend = now;
      return 0;
    }
    if (!force && queued < this.#perDatagram && now - this.#lastSend < MAX_SEND_DELAY_MS) return 0;
    this.#lastSend = now;
    const { conns, stale } = drainRings(this.#state);
    this.stats.stale += stale;
    if (conns.length === 0) return 0;
    this.send(conns);
    return conns.length;
  }

  /** Encodes and sends connections (also used by tests). */
  send(conns: SyncConn[]): void {
    for (const d of encodeMessage({ syncid: this.config.syncid, conns }, this.config.maxlen)) {
      this.stats.datagrams++;
      this.stats.bytes += d.length;
      this.stats.conns += d[4];
      this.#pending++;
      this.#sock.send(Buffer.from(d.buffer, d.byteOffset, d.length), this.config.port, this.#dest, (e) => {
        if (e) this.stats.send_errors++;
        if (--this.#pending === 0 && this.#closeWhenSent) this.#sock.close();
      });
    }
  }

  /** Stops queueing and sending; what is queued is sent first (the socket closes once it is out). */
  stop(): void {
    if (this.#stopped) return;
    this.#state.setSyncMaster(false);
    try {
      this.flush(true);
    } catch { /* stopping anyway */ }
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#pending === 0) this.#sock.close();
    else this.#closeWhenSent = true;
  }
}

/** Counts one more drop for `reason`. */
function bump(drops: Record<string, number>, reason: string, n = 1): void {
  drops[reason] = (drops[reason] ?? 0) + n;
}

/** Connections installed before their client's next hop had a MAC, by "dev|hop" (bounded). */
const MAX_WAITING = 100_000;

/** The backup: datagrams → table. */
export class SyncBackup {
  readonly config: SyncDaemonConfig & { maxlen: number };
  readonly stats: SyncBackupStats = {
    datagrams: 0,
    bytes: 0,
    conns: 0,
    installed: 0,
    updated: 0,
    late_hops: 0,
    drops: {},
  };
  #state: SharedState;
  #sock: dgram.Socket;
  #hops: ClientHops;
  #waiting = new Map<string, SyncConn[]>();
  #waitingCount = 0;
  #timer: ReturnType<typeof setInterval>;
  #log: (line: string) => void;
  #now: () => number;
  /** Called after each datagram is installed (tests, the e2e measurement). */
  onInstall: ((conns: SyncConn[], outcomes: InstallOutcome[]) => void) | null = null;

  private constructor(
    state: SharedState,
    config: SyncDaemonConfig & { maxlen: number },
    sock: dgram.Socket,
    hops: ClientHops,
    log: (l: string) => void,
    now: () => number,
  ) {
    this.#state = state;
    this.config = config;
    this.#sock = sock;
    this.#hops = hops;
    this.#log = log;
    this.#now = now;
    sock.on("message", (msg: Uint8Array, rinfo: { address: string }) => this.receive(msg, rinfo.address));
    sock.on("error", (e) => this.#log(`lvsd: sync backup: ${e.message}`));
    this.#timer = setInterval(() => this.#housekeep().catch((e) => this.#log(`lvsd: sync backup: ${e.message}`)), 1000);
  }

  /**
   * Joins the group on the interface (or listens for the peer) and starts
   * installing. `ifaces`: the data-plane interface names by slot (where
   * client next hops may be). `now`: the data plane's clock (ms), which
   * installed entries expire by.
   */
  static async start(
    state: SharedState,
    cfg: SyncDaemonConfig,
    ifaces: readonly string[],
    log: (l: string) => void,
    now: () => number = monotonicMs,
  ): Promise<SyncBackup> {
    const addr = await interfaceIPv4(cfg.mcastInterface);
    const maxlen = cfg.maxlen ?? interfaceMtu(cfg.mcastInterface) - 28;
    const hops = new ClientHops(ifaces, log);
    await hops.refresh();
    const sock = await openSocket(cfg, true, addr);
    try {
      if (!cfg.peer) sock.addMembership(cfg.group, addr);
      // Room for a burst while the loop is busy (the kernel sizes its
      // sync sockets by sync_sock_size); capped by net.core.rmem_max.
      sock.setRecvBufferSize(RECV_BUFFER);
    } catch (e) {
      sock.close();
      throw e;
    }
    return new SyncBackup(state, { ...cfg, maxlen }, sock, hops, log, now);
  }

  /** Handles one datagram from `from` (the socket's handler; tests call it directly). */
  receive(msg: Uint8Array, from: string): void {
    this.stats.datagrams++;
    this.stats.bytes += msg.length;
    if (this.config.peer && from !== this.config.peer) {
      bump(this.stats.drops, "foreign_sender");
      return;
    }
    const { conns, drops } = decodeMessage(msg, { syncid: this.config.syncid });
    for (const [reason, n] of Object.entries(drops)) bump(this.stats.drops, reason, n);
    if (conns.length === 0) return;
    // Templates first: a connection then finds the template that controls it.
    const ordered = [...conns.filter((c) => isTemplate(c.flags)), ...conns.filter((c) => !isTemplate(c.flags))];
    const now = this.#now();
    const outcomes: InstallOutcome[] = [];
    for (const c of ordered) {
      const hop = isTemplate(c.flags) ? null : this.#hops.lookup(c.caddr);
      // Without a MAC yet the interface is still known; the MAC follows (#housekeep).
      const info = hop ? hop.hopInfo ?? { slot: hop.slot, mac: new Uint8Array(6) } : null;
      const o = installConn(this.#state, c, info, now);
      outcomes.push(o);
      this.stats.conns++;
      if (o === "installed") this.stats.installed++;
      else if (o === "updated") this.stats.updated++;
      else bump(this.stats.drops, o);
      if (o === "installed" && hop && !hop.hopInfo && this.#waitingCount < MAX_WAITING) {
        const key = `${hop.dev}|${hop.hop}`;
        const list = this.#waiting.get(key) ?? [];
        if (list.length === 0) this.#waiting.set(key, list);
        list.push(c);
        this.#waitingCount++;
      }
    }
    this.onInstall?.(ordered, outcomes);
  }

  /** Refreshes the cached routes and neighbours; gives connections waiting for a next hop its MAC. */
  async #housekeep(): Promise<void> {
    await this.#hops.refresh(this.#waiting.size > 0 ? 1000 : IDLE_REFRESH_MS);
    const resolved = this.#hops.takeResolved();
    for (const [key, hop] of resolved) {
      const list = this.#waiting.get(key);
      if (!list) continue;
      this.#waiting.delete(key);
      this.#waitingCount -= list.length;
      for (const c of list) this.#patchHop(c, hop.slot, hop.mac);
    }
    this.#hops.retry(this.#waiting.keys());
  }

  /** Writes a client next hop into an installed connection that still has none. */
  #patchHop(c: SyncConn, slot: number, mac: Uint8Array): void {
    const s = this.#state;
    const l = s.layout;
    const w32 = (a: string) => {
      const p = a.split(".").map(Number);
      return ((p[3] << 24) | (p[2] << 16) | (p[1] << 8) | p[0]) >>> 0;
    };
    const w16 = (p: number) => ((p & 0xff) << 8) | (p >> 8);
    const rec = s.exports.conn_lookup_in(
      6 + (c.proto === "udp" ? 11 : 0),
      w32(c.caddr),
      w16(c.cport),
      w32(c.vaddr),
      w16(c.vport),
      this.#now(),
    );
    if (rec === 0) return;
    if (s.u8.subarray(rec + l.CONN_CMAC, rec + l.CONN_CMAC + 6).some((b) => b !== 0)) return; // the client spoke meanwhile
    s.u8.set(mac.subarray(0, 6), rec + l.CONN_CMAC);
    s.view.setUint8(rec + l.CONN_CIFACE, slot);
    this.stats.late_hops++;
  }

  stop(): void {
    clearInterval(this.#timer);
    try {
      if (!this.config.peer) this.#sock.dropMembership(this.config.group);
    } catch { /* closing anyway */ }
    this.#sock.close();
  }
}
