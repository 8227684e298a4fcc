/**
 * The supervisor: owns the shared memory, publishes tables, runs the
 * data-plane workers (restarting any that die), resolves dest next hops,
 * expires connections and keeps the kernel guard in place.
 */
import { publishHeldAddresses } from "../vrrp/service.ts";
import { type Config, ConfigError, type OptionsConfig, serviceAddresses, serviceLabel } from "../config/mod.ts";
import { SharedState } from "../dataplane/shared_state.ts";
import { type TableDest, TablePublisher, type TableService } from "../dataplane/tables.ts";
import {
  hostIPv4Addresses,
  interfaceIndex,
  interfaceMac,
  interfaceMtu,
  neighbourTable,
  resolveNeighbour,
  routeGet,
} from "../sys/netdev.ts";
import { close as closeFd } from "../sys/libc.ts";
import { installGuard, removeGuard } from "./kernel_guard.ts";
import { rawCounters, statsId } from "./counters.ts";
import { Baselines } from "./baselines.ts";
import type { StatsView } from "../api/model.ts";
import { planServices } from "./reconfigure.ts";
import type { WorkerInit, WorkerReport } from "../../workers/dataplane_worker.ts";
import { CMD_CLOSED } from "../../workers/pump.ts";
import { SyncBackup, type SyncDaemonStatus, SyncMaster } from "../sync/daemon.ts";
import type { SyncDaemonConfig, SyncRole } from "../sync/config.ts";
import { SyncDaemons } from "../sync/daemons.ts";
import { XdpAttachment } from "../xdp/attach.ts";
import type { AddressSets } from "../xdp/address_map.ts";
import { xskMapDelete } from "../sys/bpf.ts";
import { unmapAt } from "../sys/xsk.ts";

/** How the supervisor is started. */
export interface SupervisorOptions {
  /** Module URL that runs a data-plane worker when loaded in a Worker named "lvsd-dataplane-*". */
  workerUrl: URL;
  statusFile?: string | null;
  log?: (line: string) => void;
}

/** Workers for `workers: auto` (one per core) or a number, capped at what the layout holds. */
export function resolveWorkers(workers: number | "auto"): number {
  return Math.min(workers === "auto" ? navigator.hardwareConcurrency : workers, MAX_WORKERS);
}

/** I/O regions and stats slots in the shared layout (MAX_WORKERS in layout.ts). */
const MAX_WORKERS = 16;

/** How long a new worker may take to open its sockets and report ready. */
const WORKER_READY_MS = 15000;

interface WorkerSlot {
  id: number;
  worker?: Worker;
  fds: number[];
  /** AF_XDP: ring mappings and XSKMAP slots of the worker's sockets (see #reap). */
  mappings: [number, number][];
  xskSlots: [number, number][];
  restarts: number;
  stopping: boolean;
}

/** A running director. */
export class Supervisor {
  readonly state: SharedState;
  services: TableService[];
  #config: Config;
  #opts: SupervisorOptions;
  #publisher: TablePublisher;
  #ifaces: { name: string; ifindex: number }[];
  #slots: WorkerSlot[] = [];
  #tickTimer: ReturnType<typeof setTimeout> | undefined;
  #fanoutGroup: number;
  #log: (line: string) => void;
  #stopped = false;
  #nextHops = new Map<string, { dev: string; hop: string }>();
  #ticks = 0;
  #nextDestId = 0;
  #nextSvcId = 0;
  /** Dests that left their service while connections remain (see planServices). */
  #destTrash = new Map<string, number>();
  /**
   * Told when a service or dest id starts counting afresh (its counters are
   * zeroed): whoever keeps baselines or rate history for the id drops them.
   */
  onFreshId: ((kind: "service" | "dest", id: number, raw: StatsView) => void) | null = null;
  /** Zero points of the counters (ipvsadm -Z, fresh ids): shown counts are raw minus these. */
  readonly baselines: Baselines = new Baselines();
  /** Renders the status text (set by the admin backend, which owns the views, counters and rates). */
  statusText: (() => string) | null = null;
  /** The last table published through {@link effective}; null until the first reload. */
  #running: Config | null = null;
  /** The kernel guard installed now (JSON of its spec), null before the first. */
  #guardSpec: string | null = null;
  /** Tick and reload run one at a time (both publish tables). */
  #serial: Promise<unknown> = Promise.resolve();
  /** The connection-sync daemons running now (src/sync/daemon.ts). */
  #sync: SyncDaemons;
  /** AF_XDP programs and maps while the workers run on AF_XDP; null on AF_PACKET. */
  #xdp: XdpAttachment | null = null;

  /** "af_xdp" or "af_packet": what the workers use (packet_io auto resolved at start). */
  get packetIo(): "af_xdp" | "af_packet" {
    return this.#xdp ? "af_xdp" : "af_packet";
  }

  private constructor(
    config: Config,
    opts: SupervisorOptions,
    state: SharedState,
    ifaces: { name: string; ifindex: number }[],
  ) {
    this.#config = config;
    this.#opts = opts;
    this.state = state;
    this.#publisher = new TablePublisher(state);
    this.#ifaces = ifaces;
    this.#fanoutGroup = Deno.pid & 0xffff;
    this.#log = opts.log ?? ((l) => console.log(l));
    this.services = this.#plan(config);
    const names = ifaces.map((i) => i.name);
    this.#sync = new SyncDaemons(
      (role, cfg) =>
        role === "master" ? SyncMaster.start(state, cfg, this.#log) : SyncBackup.start(state, cfg, names, this.#log),
      this.#log,
    );
  }

  /** Builds the shared state, installs the guard, resolves dests, starts workers. */
  static async start(config: Config, opts: SupervisorOptions): Promise<Supervisor> {
    const workers = resolveWorkers(config.workers);
    const state = new SharedState({
      connCapacity: config.connTableSize,
      workers,
      timeouts: config.timeouts,
      options: config.options,
      umem: config.packetIo !== "af_packet",
    });
    // VRRP: the held-address list goes in before any worker runs, so that a
    // backup never answers for an address, not even for a moment.
    publishHeldAddresses(state, config.vrrpInstances);
    const [threshold, period] = config.syncDaemon.syncThreshold;
    state.setSyncRule({ threshold, period });
    const ifaces = config.interfaces.map((i, slot) => {
      const ifindex = interfaceIndex(i.name);
      state.setInterface(slot, ifindex, interfaceMac(i.name), interfaceMtu(i.name));
      return { name: i.name, ifindex };
    });
    const sup = new Supervisor(config, opts, state, ifaces);
    try {
      if (config.kernelGuard === "nftables") {
        await sup.#guard(guardFor(config, config));
      }
      if (config.packetIo !== "af_packet") await sup.#attachXdp(config, workers);
      await sup.#resolveDests(2000);
      await sup.#publisher.publish(sup.services);
      for (let w = 0; w < workers; w++) {
        sup.#slots.push({ id: w, fds: [], mappings: [], xskSlots: [], restarts: 0, stopping: false });
      }
      await Promise.all(sup.#slots.map((s) => sup.#spawn(s)));
      sup.#scheduleTick();
      // A configured daemon that cannot start (its interface went away) is
      // logged, not fatal: the director still forwards.
      for (const role of ["master", "backup"] as const) {
        const cfg = config.syncDaemon[role];
        if (!cfg) continue;
        await sup.startSync(role, cfg).catch((e) =>
          sup.#log(`lvsd: cannot start the ${role} sync daemon: ${(e as Error).message}`)
        );
      }
    } catch (e) {
      await sup.stop();
      throw e;
    }
    return sup;
  }

  /**
   * packet_io af_xdp or auto: attaches lvsd's XDP program to every
   * data-plane interface. auto falls back to AF_PACKET with one line saying
   * why; af_xdp fails the start.
   */
  async #attachXdp(config: Config, workers: number): Promise<void> {
    const ifaces = this.#ifaces.map((i) => ({ ...i, mac: interfaceMac(i.name) }));
    let xdp: XdpAttachment;
    try {
      xdp = XdpAttachment.attach(ifaces, workers, await addressSets(config));
    } catch (e) {
      const why = (e as Error).message.split("\n")[0];
      if (config.packetIo === "af_xdp") throw new Error(`packet_io af_xdp: ${why}`);
      this.#log(`lvsd: packet_io auto: AF_XDP is not available (${why}); using AF_PACKET`);
      return;
    }
    this.#xdp = xdp;
    for (const n of xdp.notes) this.#log(n);
    this.#log(
      `lvsd: packet I/O: AF_XDP on ${this.#ifaces.map((i) => i.name).join(", ")} ` +
        `(native XDP program attached with BPF links, ${xdp.activeWorkers} of ${workers} workers with queues)`,
    );
  }

  /**
   * Resolves the interface and next-hop MAC of every dest that has none yet
   * (each address once, all in parallel); returns true when something changed.
   */
  async #resolveDests(timeoutMs: number, services: TableService[] = this.services): Promise<boolean> {
    const pending = services.flatMap((s) => s.dests).filter((d) => !d.mac);
    const addrs = [...new Set(pending.map((d) => d.addr))];
    const found = await Promise.all(addrs.map((a) => this.#resolveOne(a, timeoutMs)));
    let changed = false;
    addrs.forEach((addr, i) => {
      const hop = found[i];
      if (!hop) return;
      for (const d of pending.filter((d) => d.addr === addr)) {
        d.ifaceSlot = hop.slot;
        d.mac = hop.mac;
        changed = true;
      }
    });
    return changed;
  }

  async #resolveOne(addr: string, timeoutMs: number): Promise<{ slot: number; mac: Uint8Array } | null> {
    try {
      const route = await routeGet(addr);
      const slot = this.#ifaces.findIndex((i) => i.name === route.dev);
      if (slot < 0) {
        this.#log(
          `lvsd: dest ${addr} is reached through "${route.dev}", which is not a data-plane interface; it gets no connections`,
        );
        return null;
      }
      const hop = route.gateway ?? addr;
      const mac = await resolveNeighbour(hop, route.dev, timeoutMs);
      if (!mac) return null;
      this.#nextHops.set(addr, { dev: route.dev, hop });
      // Tunnel packets leave from the address the kernel would use there.
      if (route.src) this.state.setInterfaceAddress(slot, route.src);
      return { slot, mac };
    } catch (e) {
      this.#log(`lvsd: cannot resolve dest ${addr}: ${(e as Error).message}`);
      return null;
    }
  }

  /**
   * Follows next-hop MAC changes (a real server replaced, a gateway failed
   * over) from the kernel's neighbour table; returns true when one changed.
   */
  async #refreshNextHops(): Promise<boolean> {
    const table = await neighbourTable();
    let changed = false;
    for (const d of this.services.flatMap((s) => s.dests)) {
      const nh = this.#nextHops.get(d.addr);
      if (!d.mac || !nh) continue;
      const mac = table.get(`${nh.dev}|${nh.hop}`);
      if (mac && mac.some((b, i) => b !== d.mac![i])) {
        this.#log(`lvsd: next hop of dest ${d.addr} changed MAC`);
        d.mac = mac;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Runs the housekeeping tick one second after the previous one ended (so
   * two never overlap) and keeps going whatever one of them throws: a full
   * disk or a failed `ip` call is logged, not fatal.
   */
  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#tickTimer = setTimeout(async () => {
      try {
        await this.#tick();
      } catch (e) {
        this.#log(`lvsd: housekeeping failed: ${(e as Error).message}`);
      }
      this.#scheduleTick();
    }, 1000);
  }

  /**
   * Installs the kernel guard for `spec` unless it is the one installed: a
   * weight change (lvsadm -e, slow start, a health check) changes no VIP and
   * no dest, and need not run nft.
   */
  async #guard(spec: ReturnType<typeof guardFor>): Promise<void> {
    const text = JSON.stringify(spec);
    if (text === this.#guardSpec) return;
    await installGuard(spec);
    this.#guardSpec = text;
  }

  /** Runs `fn` after every earlier tick or reload has finished. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => {});
    return run;
  }

  /** planServices with this director's id space; remembers where new dest ids continue. */
  #plan(config: Config): TableService[] {
    const ids = {
      maxServices: this.state.layout.MAX_SERVICES,
      maxDests: this.state.layout.MAX_DESTS,
      destInUse: (id: number) => this.state.destInUse(id),
      nextDestId: this.#nextDestId,
      nextSvcId: this.#nextSvcId,
      trash: this.#destTrash,
      // A fresh id counts from zero: a new zero point, not a store into
      // the slots the workers own.
      fresh: (kind: "service" | "dest", id: number) => {
        const raw = rawCounters(this.state, kind, id);
        this.baselines.zero(statsId(kind, id), raw);
        this.onFreshId?.(kind, id, raw);
      },
    };
    const next = planServices(this.services ?? [], config, ids);
    this.#nextDestId = ids.nextDestId;
    this.#nextSvcId = ids.nextSvcId;
    return next;
  }

  /** The configured table (what a restart would need to change stays as started): what the API edits and saves. */
  get config(): Config {
    return this.#config;
  }

  /** The table the data plane runs: {@link config} as {@link effective} leaves it. */
  get running(): Config {
    return this.#running ?? this.#config;
  }

  /**
   * Turns the configured table into the one to run (the health layer:
   * failed dests out, quorum, sorry servers, slow-start weights); applied by
   * every reload. Call {@link republish} when its answer changes.
   */
  effective: ((configured: Config) => Config) | null = null;

  /** Publishes the configured table again through {@link effective} (health state changed). */
  republish(): Promise<string[]> {
    return this.reload(this.#config);
  }

  /**
   * Applies a new config without a restart (SIGHUP): services and dests
   * that stay keep their ids, counters and connections; weights, schedulers,
   * methods and timeouts take effect for new connections at once, run-time
   * options (conn_reuse_mode, expire_nodest_conn, ...) from the next packet.
   * A removed dest's connections stay (what becomes of their packets is
   * expire_nodest_conn's business); added back, a dest gets its id again
   * while they remain. What the
   * running layout cannot change (interfaces, workers, table size, kernel
   * guard) is named and left as it is until a restart. Returns what
   * changed, one line each; throws, changing nothing, if the new tables
   * cannot be built.
   */
  reload(config: Config): Promise<string[]> {
    return this.#exclusive(async () => {
      const notes: string[] = [];
      const old = this.#config;
      if (JSON.stringify(config.interfaces) !== JSON.stringify(old.interfaces)) {
        notes.push("interfaces changed: takes effect at the next restart");
      }
      if (config.workers !== old.workers) notes.push("workers changed: takes effect at the next restart");
      if (config.connTableSize !== old.connTableSize) {
        notes.push("conn_table_size changed: takes effect at the next restart");
      }
      if (config.kernelGuard !== old.kernelGuard) notes.push("kernel_guard changed: takes effect at the next restart");
      // The VRRP instances own sockets, timers and the held-address list the
      // workers read; they run as started until a restart.
      if (JSON.stringify(config.vrrpInstances) !== JSON.stringify(old.vrrpInstances)) {
        notes.push("vrrp_instances changed: takes effect at the next restart (the running instances are kept)");
      }
      // lvs_sync_daemon follows a running instance: the instances change only at a restart.
      const follow = config.syncDaemon.follow?.vrrpInstance;
      if (follow !== undefined && !old.vrrpInstances.some((i) => i.name === follow)) {
        throw new ConfigError("sync_daemon", [{
          path: "sync_daemon.lvs_sync_daemon.vrrp_instance",
          message: `"${follow}" is not a running VRRP instance (${
            old.vrrpInstances.map((i) => i.name).join(", ") || "none runs"
          }): vrrp_instances change only at a restart`,
        }]);
      }
      if (config.packetIo !== old.packetIo) notes.push("packet_io changed: takes effect at the next restart");
      // Sync daemons first: one that cannot start refuses the change before anything flips.
      // Refused like a config the director cannot run (the API answers 422).
      await this.#sync.applyChange(old.syncDaemon, config.syncDaemon, notes).catch((e) => {
        throw e instanceof ConfigError
          ? e
          : new ConfigError("sync_daemon", [{ path: "sync_daemon", message: (e as Error).message }]);
      });
      try {
        return await this.#reloadTables(config, old, notes);
      } catch (e) {
        // Refused after the sync step: the daemons go back to what runs.
        await this.#sync.applyChange(config.syncDaemon, old.syncDaemon, []).catch(() => {});
        throw e;
      }
    });
  }

  /** The rest of {@link reload}: plan, next hops, guard, XDP map, one flip. */
  async #reloadTables(config: Config, old: Config, notes: string[]): Promise<string[]> {
    // What runs: the configured table as health checks, quorum and slow
    // start leave it (src/health), or the configured one.
    const running = this.effective ? this.effective(config) : config;
    const next = this.#plan(running);
    const before = new Map(this.services.map((s) => [s.id, s]));
    for (const s of next) {
      const p = before.get(s.id);
      const name = `${s.proto.toUpperCase()} ${serviceLabel(s)}`;
      if (!p) notes.push(`${name}: added (${s.dests.length} dests)`);
      else if (
        JSON.stringify({ ...p, dests: p.dests.map(strip) }) !== JSON.stringify({ ...s, dests: s.dests.map(strip) })
      ) {
        notes.push(`${name}: changed`);
      }
      before.delete(s.id);
    }
    for (const p of before.values()) notes.push(`${p.proto.toUpperCase()} ${serviceLabel(p)}: removed`);
    if (JSON.stringify(config.timeouts) !== JSON.stringify(old.timeouts)) {
      const t = config.timeouts;
      notes.push(`timeouts: tcp ${t.tcp} tcpfin ${t.tcpfin} udp ${t.udp}`);
    }
    const options = optionChanges(old.options, config.options);
    if (options.length) notes.push(`options: ${options.join(", ")}`);
    // Next hops for the new dests first (they resolve on `next`, not on
    // what runs), then the guard for the new VIPs, then one flip; if the
    // flip fails the old guard goes back and the running tables stay.
    await this.#resolveDests(2000, next);
    const previous = this.#guardSpec;
    // The guard covers every configured dest and what health adds (sorry
    // servers), so that a dest failing and coming back does not run nft.
    if (old.kernelGuard === "nftables") await this.#guard(guardFor(union(config, running), old));
    // The XDP program must redirect the new VIPs before the flip, and may
    // keep redirecting removed ones a moment: lvsd counts what it ignores.
    // The VRRP addresses are the running instances' (they change at a restart).
    try {
      if (this.#xdp) {
        this.#xdp.addresses.sync(await addressSets({ ...union(config, running), vrrpInstances: old.vrrpInstances }));
      }
      await this.#publisher.publish(next);
    } catch (e) {
      if (old.kernelGuard === "nftables" && previous) await this.#guard(JSON.parse(previous)).catch(() => {});
      if (this.#xdp) {
        await addressSets(union(old, this.#running ?? old)).then((a) => this.#xdp?.addresses.sync(a)).catch(() => {});
      }
      throw e;
    }
    this.services = next;
    this.#running = running;
    this.state.setTimeouts(config.timeouts);
    this.state.setOptions(config.options);
    const [threshold, period] = config.syncDaemon.syncThreshold;
    this.state.setSyncRule({ threshold, period });
    // Keep what a restart would need to change in the running config.
    this.#config = {
      ...config,
      interfaces: old.interfaces,
      workers: old.workers,
      connTableSize: old.connTableSize,
      kernelGuard: old.kernelGuard,
      vrrpInstances: old.vrrpInstances,
      packetIo: old.packetIo,
    };
    return notes;
  }

  async #tick(): Promise<void> {
    await this.#exclusive(() => this.#tickOnce());
  }

  async #tickOnce(): Promise<void> {
    if (this.#stopped) return;
    this.state.expire();
    let changed = false;
    if (this.services.some((s) => s.dests.some((d) => !d.mac))) changed = await this.#resolveDests(300);
    if (++this.#ticks % 10 === 0) changed = (await this.#refreshNextHops().catch(() => false)) || changed;
    if (changed) await this.#publisher.publish(this.services);
    if (this.#opts.statusFile) await this.writeStatus(this.#opts.statusFile);
  }

  /** Writes the listing atomically (temp file + rename). */
  async writeStatus(path: string): Promise<void> {
    const tmp = `${path}.tmp`;
    await Deno.writeTextFile(tmp, this.listing());
    await Deno.rename(tmp, path);
  }

  /** Services, counters and connections as plain text (status_text.ts), once the admin backend provides it. */
  listing(): string {
    return this.statusText?.() ?? "lvsd: starting\n";
  }

  #spawn(slot: WorkerSlot): Promise<void> {
    const l = this.state.layout;
    const w = new Worker(this.#opts.workerUrl, { type: "module", name: `lvsd-dataplane-${slot.id}` });
    slot.worker = w;
    slot.fds = [];
    slot.stopping = false;
    this.state.setWorkerCommand(slot.id, 0);
    return new Promise((resolve, reject) => {
      let ready = false;
      // A worker that never reports ready (stuck loading or opening its
      // sockets) must not hang the start: fail with a message instead.
      const timer = setTimeout(() => {
        if (ready) return;
        this.#reap(slot);
        reject(new Error(`Cannot start data-plane worker ${slot.id}: not ready after ${WORKER_READY_MS / 1000} s`));
      }, WORKER_READY_MS);
      w.onmessage = (e: MessageEvent<WorkerReport>) => {
        const m = e.data;
        if (m.type === "fds") {
          slot.fds = m.fds;
          slot.mappings = m.mappings ?? [];
          slot.xskSlots = m.xskSlots ?? [];
        } else if (m.type === "ready") {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (m.type === "stopped") {
          slot.fds = [];
          slot.mappings = [];
          slot.xskSlots = [];
        }
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        const msg = e.message;
        if (!ready) {
          clearTimeout(timer);
          this.#reap(slot);
          reject(new Error(`Cannot start data-plane worker ${slot.id}: ${msg}`));
          return;
        }
        this.#log(`lvsd: worker ${slot.id} died (${msg}); restarting it`);
        this.#reap(slot);
        if (!this.#stopped) {
          slot.restarts++;
          this.#respawn(slot, 0);
        }
      };
      const init: WorkerInit = {
        worker: slot.id,
        memory: this.state.memory,
        module: this.state.module,
        interfaces: this.#ifaces,
        fanoutGroup: this.#fanoutGroup,
        ioBase: this.state.ioBase(slot.id),
        ioClock: l.IO_CLOCK,
        statsBase: this.state.statsBase(slot.id),
        txErrorsIndex: l.G_TX_ERRORS,
        txDroppedIndex: l.G_TX_DROPPED,
        rxErrorsIndex: l.G_RX_ERRORS,
        rxKernelDropsIndex: l.G_RX_KERNEL_DROPS,
        rxHdrs: l.IO_RX_HDRS,
        txHdrs: l.IO_TX_HDRS,
        batch: l.BATCH,
        txBatch: l.TX_MAX,
        commandOffset: l.CTRL + l.CTRL_WORKER_CMD + slot.id * 4,
        xdp: this.#xdp
          ? {
            umemOffset: this.state.umemBase(slot.id)!,
            chunks: l.UMEM_CHUNKS,
            chunkSize: l.UMEM_CHUNK,
            interfaces: this.#xdp.queuesFor(slot.id),
          }
          : null,
      };
      w.postMessage(init);
    });
  }

  /** Starts a replacement; if that fails too, tries again later (1 s, 2 s, … 30 s). */
  #respawn(slot: WorkerSlot, attempt: number): void {
    const delay = attempt === 0 ? 0 : Math.min(30000, 1000 * 2 ** (attempt - 1));
    setTimeout(() => {
      if (this.#stopped) return;
      this.#spawn(slot).catch((err) => {
        this.#log(`lvsd: ${err.message}; retrying`);
        this.#respawn(slot, attempt + 1);
      });
    }, delay);
  }

  /**
   * Terminates a worker and closes the sockets it left (they belong to the
   * process) unless it closed them itself: it says so in its command word
   * (CMD_CLOSED), which settles the race with a "stopped" message in flight.
   */
  #reap(slot: WorkerSlot): void {
    slot.worker?.terminate();
    slot.worker = undefined;
    const closed = this.state.workerCommand(slot.id) === CMD_CLOSED;
    if (!closed) {
      // An AF_XDP socket lives while its rings are mapped: out of the map
      // (its queue's frames go to the kernel meanwhile), unmapped, closed,
      // so that the replacement can bind the same queue.
      for (const [map, queue] of slot.xskSlots) {
        try {
          xskMapDelete(map, queue);
        } catch { /* the map is closed at stop */ }
      }
      for (const [addr, len] of slot.mappings) unmapAt(addr, len);
      for (const fd of slot.fds) closeFd(fd);
    }
    slot.fds = [];
    slot.mappings = [];
    slot.xskSlots = [];
  }

  /** Fault injection for tests: makes worker `id` throw inside its loop. */
  crashWorker(id: number): void {
    this.state.setWorkerCommand(id, 2);
  }

  /** Restarts so far, per worker. */
  restarts(): number[] {
    return this.#slots.map((s) => s.restarts);
  }

  /**
   * Starts the sync daemon `role` with `cfg` at run time (lvsadm
   * --start-daemon through a reload, or a VRRP state change); one already
   * running with another config is replaced, with the same config it is
   * left alone. Throws, leaving the role as it was, when the interface or
   * socket cannot be used. Not kept in the config: a reload leaves a role
   * alone unless its sync_daemon block changes.
   */
  startSync(role: SyncRole, cfg: SyncDaemonConfig): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error("the director is stopping"));
    return this.#sync.start(role, cfg);
  }

  /** Stops the sync daemon `role`; returns false when none was running. */
  stopSync(role: SyncRole): boolean {
    return this.#sync.stop(role);
  }

  /** The sync daemons running now, master first, with their counters. */
  syncStatus(): SyncDaemonStatus[] {
    return this.#sync.status();
  }

  /** Stops workers (joined, sockets closed), timers, the sync daemons and the kernel guard. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#tickTimer);
    await this.#sync.close(); // a start under way ends first, then is stopped
    await Promise.all(this.#slots.map((slot) => this.#stopWorker(slot)));
    // Detach after the sockets are closed (the links die with the process anyway).
    this.#xdp?.close();
    this.#xdp = null;
    if (this.#config.kernelGuard === "nftables") await removeGuard();
  }

  async #stopWorker(slot: WorkerSlot): Promise<void> {
    const w = slot.worker;
    if (!w) return;
    slot.stopping = true;
    const done = new Promise<void>((resolve) => {
      const prev = w.onmessage;
      w.onmessage = (e: MessageEvent<WorkerReport>) => {
        prev?.call(w, e);
        if (e.data.type === "stopped") resolve();
      };
    });
    this.state.setWorkerCommand(slot.id, 1);
    // A worker polls at most 100 ms at a time; allow several rounds.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    this.#reap(slot);
  }
}

/** `configured` with the dests only `running` has (sorry servers) added to its services. */
function union(configured: Config, running: Config): Config {
  if (configured === running) return configured;
  const extra = new Map(running.services.map((s) => [`${s.proto}:${s.vip}:${s.port}`, s.dests]));
  return {
    ...configured,
    services: configured.services.map((s) => {
      const have = new Set(s.dests.map((d) => `${d.address}:${d.port}`));
      const more = (extra.get(`${s.proto}:${s.vip}:${s.port}`) ?? []).filter((d) =>
        !have.has(`${d.address}:${d.port}`)
      );
      return more.length ? { ...s, dests: [...s.dests, ...more] } : s;
    }),
  };
}

/** What the kernel guard needs: the running interfaces, the new VIPs and dests. */
function guardFor(config: Config, running: Config) {
  return {
    interfaces: running.interfaces.map((i) => i.name),
    // Every address of every service group too.
    // And VRRP's addresses (the servers' gateway): lvsd answers for them
    // while MASTER; the kernel, which never owns them, stays out of it.
    vips: [
      ...new Set([
        ...config.services.flatMap(serviceAddresses),
        ...running.vrrpInstances.flatMap((i) => i.virtualIpaddress.map((a) => a.address)),
      ]),
    ],
    dests: config.services.flatMap((s) => s.dests.map((d) => ({ proto: s.proto, addr: d.address, port: d.port }))),
  };
}

/**
 * What lvsd's XDP program redirects: every VIP (group members too) and
 * every VRRP virtual address (lvsd answers ARP for the servers' gateway
 * while MASTER: the kernel does not own it), NAT dests (replies to
 * non-local addresses), and the host's own addresses (frames to them stay
 * with the kernel).
 */
export async function addressSets(config: Config, locals?: string[]): Promise<AddressSets> {
  return {
    vips: [
      ...new Set([
        ...config.services.flatMap(serviceAddresses),
        ...config.vrrpInstances.flatMap((i) => i.virtualIpaddress.map((v) => v.address)),
      ]),
    ],
    dests: [
      ...new Set(config.services.flatMap((s) => s.dests.filter((d) => d.forward === "masq").map((d) => d.address))),
    ],
    locals: locals ?? await hostIPv4Addresses(),
  };
}

/** The options' names in the config file (the kernel's sysctl names). */
const OPTION_NAMES: Record<keyof OptionsConfig, string> = {
  connReuseMode: "conn_reuse_mode",
  expireNodestConn: "expire_nodest_conn",
  expireQuiescentTemplate: "expire_quiescent_template",
  sloppyTcp: "sloppy_tcp",
};

/** "name new (was old)" for each run-time option that differs. */
export function optionChanges(before: OptionsConfig, after: OptionsConfig): string[] {
  return (Object.keys(OPTION_NAMES) as (keyof OptionsConfig)[])
    .filter((k) => before[k] !== after[k])
    .map((k) => `${OPTION_NAMES[k]} ${after[k]} (was ${before[k]})`);
}

/** A dest without what the supervisor learns at run time (for change detection). */
function strip(d: TableDest) {
  return { ...d, ifaceSlot: 0, mac: null };
}
