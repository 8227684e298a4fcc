/**
 * The one shared WebAssembly.Memory of a director and the supervisor's view
 * of it: the control block, the connection table bounds and the per-worker
 * I/O regions, at the offsets the module exports (wasm/assembly/layout.ts).
 */
import { monotonicMs } from "../sys/clock.ts";
import { constant, type DataplaneExports, dataplaneModule, instantiate, staticString } from "./module.ts";

/** Layout constants the TypeScript side needs, read from the module. */
export interface Layout {
  [name: string]: number;
}

/**
 * The per-worker global counters a listing shows, in index order
 * (G_IN_BATCH is a handshake word, not a count).
 */
export let GLOBAL_COUNTERS: readonly string[] = [];

/** Default IPVS TCP timeouts by state (ip_vs_proto_tcp.c tcp_timeouts[]), seconds. */
export const TCP_TIMEOUTS = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];
const S_ESTABLISHED = 1;
const S_FIN_WAIT = 4;

/** Run-time options of the data plane (IPVS sysctls), see CTRL_OPTIONS. */
export interface DataplaneOptions {
  /** net.ipv4.vs.expire_quiescent_template: drop templates pointing at a weight-0 dest when next used. */
  expireQuiescentTemplate: boolean;
  /**
   * net.ipv4.vs.conn_reuse_mode, 0..3: non-zero schedules a SYN that finds
   * a connection in TIME_WAIT or CLOSE afresh; 2 (and 3) also one in
   * FIN_WAIT of a direct-routing or tunnel connection.
   */
  connReuseMode: number;
  /**
   * net.ipv4.vs.expire_nodest_conn: a packet of a connection whose dest
   * left its service ends the connection instead of being dropped; a SYN on
   * one whose dest has weight 0 is scheduled afresh.
   */
  expireNodestConn: boolean;
  /** net.ipv4.vs.sloppy_tcp: any TCP segment without RST may start a connection. */
  sloppyTcp: boolean;
}

/** The kernel's defaults. */
export const DEFAULT_OPTIONS: Readonly<DataplaneOptions> = Object.freeze({
  expireQuiescentTemplate: false,
  connReuseMode: 1,
  expireNodestConn: false,
  sloppyTcp: false,
});

/** net.ipv4.vs.sync_threshold's default: 3 50 (DEFAULT_SYNC_THRESHOLD, DEFAULT_SYNC_PERIOD). */
export const SYNC_RULE_DEFAULTS = Object.freeze({ threshold: 3, period: 50 });

/** Options for a new shared state. */
export interface SharedStateOptions {
  /** Connection table entries (power of two). */
  connCapacity: number;
  /** Worker I/O regions to reserve. */
  workers: number;
  /** ipvsadm --set tcp tcpfin udp, seconds. */
  timeouts?: { tcp: number; tcpfin: number; udp: number };
  /** Run-time options; the kernel's defaults where absent. */
  options?: Partial<DataplaneOptions>;
  /** Reserve an AF_XDP UMEM per worker (packet_io af_xdp or auto); see CTRL_UMEM_BASE in layout.ts. */
  umem?: boolean;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The shared memory plus the supervisor's own instance of the module. */
export class SharedState {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly exports: DataplaneExports;
  readonly layout: Layout;
  readonly view: DataView;
  readonly u8: Uint8Array;
  readonly connCapacity: number;
  readonly workers: number;
  readonly dropReasons: string[];
  readonly tcpStates: string[];
  readonly schedulers: string[];

  constructor(opts: SharedStateOptions) {
    const cap = opts.connCapacity;
    if (!Number.isInteger(cap) || cap < 16 || (cap & (cap - 1)) !== 0) {
      throw new Error(`Cannot size the connection table: ${cap} is not a power of two ≥ 16`);
    }
    this.module = dataplaneModule();
    // A throw-away instance on a small memory reads the layout constants.
    const probe = instantiate(new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true }), this.module);
    // Every exported global is a layout constant (index.ts re-exports layout.ts).
    const l: Layout = {};
    for (const [n, g] of Object.entries(probe)) if (g instanceof WebAssembly.Global) l[n] = constant(probe, n);
    GLOBAL_COUNTERS = Object.keys(l).filter((n) => n.startsWith("G_") && n !== "G_IN_BATCH").sort((a, b) =>
      l[a] - l[b]
    );
    if (opts.workers < 1 || opts.workers > l.MAX_WORKERS) {
      throw new Error(`Cannot start ${opts.workers} workers: 1..${l.MAX_WORKERS} are supported`);
    }
    const connBase = align(l.FIXED_END, 64);
    const ridxBase = connBase + cap * l.CONN_SIZE;
    // Connection sync: the per-slot array (in_pkts, old_state) and one ring per worker.
    const syncAuxBase = align(ridxBase + cap * 2 * 8, 64);
    const syncRingBase = align(syncAuxBase + cap * l.SYNC_AUX_SIZE, 64);
    const ioBase = align(syncRingBase + opts.workers * l.SYNC_RING_STRIDE, 65536);
    const ioEnd = ioBase + opts.workers * l.IO_STRIDE;
    // UMEMs last, with a page of slack: the kernel needs them page aligned
    // in the process, and that depends on where the memory is mapped.
    const umemStride = l.UMEM_CHUNKS * l.UMEM_CHUNK;
    const total = opts.umem ? align(ioEnd, 65536) + opts.workers * umemStride + 4096 : ioEnd;
    const pages = Math.ceil(total / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    if (opts.umem) {
      const from = align(ioEnd, 65536);
      const base = Number(memoryAddress(this.memory)) + from;
      const umemBase = from + ((4096 - (base % 4096)) % 4096);
      new DataView(this.memory.buffer).setUint32(l.CTRL + l.CTRL_UMEM_BASE, umemBase, true);
      new DataView(this.memory.buffer).setUint32(l.CTRL + l.CTRL_UMEM_STRIDE, umemStride, true);
    }
    this.exports = instantiate(this.memory, this.module);
    if (this.exports.heap_base() >= l.LAYOUT_BASE) {
      throw new Error(`data plane static data (${this.exports.heap_base()} bytes) overlaps the shared layout`);
    }
    this.layout = l;
    this.view = new DataView(this.memory.buffer);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.connCapacity = cap;
    this.workers = opts.workers;
    const c = l.CTRL;
    const v = this.view;
    v.setUint32(c + l.CTRL_MAGIC, l.LAYOUT_MAGIC, true);
    v.setUint32(c + l.CTRL_VERSION, l.LAYOUT_VERSION, true);
    v.setUint32(c + l.CTRL_CONN_CAP, cap, true);
    v.setUint32(c + l.CTRL_CONN_BASE, connBase, true);
    v.setUint32(c + l.CTRL_RIDX_BASE, ridxBase, true);
    v.setUint32(c + l.CTRL_IO_BASE, ioBase, true);
    v.setUint32(c + l.CTRL_SYNC_AUX_BASE, syncAuxBase, true);
    v.setUint32(c + l.CTRL_SYNC_RING_BASE, syncRingBase, true);
    this.setSyncRule(SYNC_RULE_DEFAULTS);
    v.setUint32(c + l.CTRL_WORKERS, opts.workers, true);
    v.setBigUint64(c + l.CTRL_MEM_ADDR, memoryAddress(this.memory), true);
    this.setTimeouts(opts.timeouts ?? { tcp: 900, tcpfin: 120, udp: 300 });
    this.setOptions({ ...DEFAULT_OPTIONS, ...opts.options });
    this.dropReasons = staticString(this.memory, this.exports.drop_reason_names()).split(",");
    this.tcpStates = staticString(this.memory, this.exports.tcp_state_names()).split(",");
    this.schedulers = staticString(this.memory, this.exports.sched_names()).split(",");
  }

  /** ipvsadm --set: tcp = ESTABLISHED, tcpfin = FIN_WAIT, udp = UDP NORMAL. */
  setTimeouts(t: { tcp: number; tcpfin: number; udp: number }): void {
    const base = this.layout.CTRL + this.layout.CTRL_TIMEOUTS;
    TCP_TIMEOUTS.forEach((s, i) => this.view.setUint32(base + i * 4, s, true));
    this.view.setUint32(base + S_ESTABLISHED * 4, t.tcp, true);
    this.view.setUint32(base + S_FIN_WAIT * 4, t.tcpfin, true);
    this.view.setUint32(base + this.layout.TIMEOUT_UDP_SLOT * 4, t.udp, true);
  }

  /** Current timeouts as ipvsadm --set takes them. */
  timeouts(): { tcp: number; tcpfin: number; udp: number } {
    const base = this.layout.CTRL + this.layout.CTRL_TIMEOUTS;
    return {
      tcp: this.view.getUint32(base + S_ESTABLISHED * 4, true),
      tcpfin: this.view.getUint32(base + S_FIN_WAIT * 4, true),
      udp: this.view.getUint32(base + this.layout.TIMEOUT_UDP_SLOT * 4, true),
    };
  }

  /**
   * Sets the run-time options given (the others keep their values) in one
   * atomic store; workers see them from their next packet.
   */
  setOptions(o: Partial<DataplaneOptions>): void {
    const l = this.layout;
    const next = { ...this.options(), ...o };
    const mode = next.connReuseMode;
    if (!Number.isInteger(mode) || mode < 0 || mode > l.OPT_CONN_REUSE_MASK) {
      throw new Error(`Cannot set conn_reuse_mode ${mode}: it is 0..${l.OPT_CONN_REUSE_MASK}`);
    }
    const bits = (next.expireQuiescentTemplate ? l.OPT_EXPIRE_QUIESCENT_TEMPLATE : 0) |
      (next.expireNodestConn ? l.OPT_EXPIRE_NODEST_CONN : 0) |
      (next.sloppyTcp ? l.OPT_SLOPPY_TCP : 0) |
      (mode << l.OPT_CONN_REUSE_SHIFT);
    Atomics.store(new Uint32Array(this.memory.buffer), (l.CTRL + l.CTRL_OPTIONS) >> 2, bits);
  }

  /** Current run-time options. */
  options(): DataplaneOptions {
    const l = this.layout;
    const bits = Atomics.load(new Uint32Array(this.memory.buffer), (l.CTRL + l.CTRL_OPTIONS) >> 2);
    return {
      expireQuiescentTemplate: (bits & l.OPT_EXPIRE_QUIESCENT_TEMPLATE) !== 0,
      connReuseMode: (bits >>> l.OPT_CONN_REUSE_SHIFT) & l.OPT_CONN_REUSE_MASK,
      expireNodestConn: (bits & l.OPT_EXPIRE_NODEST_CONN) !== 0,
      sloppyTcp: (bits & l.OPT_SLOPPY_TCP) !== 0,
    };
  }

  /** Registers a data-plane interface in slot `slot`. */
  setInterface(slot: number, ifindex: number, mac: Uint8Array, mtu: number): void {
    const l = this.layout;
    if (slot >= l.MAX_IFACES) throw new Error(`Cannot use more than ${l.MAX_IFACES} interfaces`);
    const p = l.CTRL + l.CTRL_IFACES + slot * l.IFACE_SIZE;
    this.view.setInt32(p + l.IFACE_INDEX, ifindex, true);
    this.u8.set(mac.subarray(0, 6), p + l.IFACE_MAC);
    this.view.setUint32(p + l.IFACE_MTU, mtu, true);
  }

  /** The director's IPv4 address on interface slot `slot` (the source of tunnelled packets). */
  setInterfaceAddress(slot: number, addr: string): void {
    const l = this.layout;
    const parts = addr.split(".").map(Number);
    this.u8.set(parts, l.CTRL + l.CTRL_IFACES + slot * l.IFACE_SIZE + l.IFACE_ADDR);
  }

  /**
   * The sync rule's sysctls (net.ipv4.vs.sync_threshold = threshold
   * period). Throws naming the value the kernel would refuse.
   */
  setSyncRule(r: { threshold: number; period: number }): void {
    const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
    if (!ok(r.threshold) || !ok(r.period) || (r.period > 0 && r.threshold >= r.period)) {
      throw new Error(
        `Cannot set sync_threshold "${r.threshold} ${r.period}": the threshold must be below a non-zero period`,
      );
    }
    const l = this.layout;
    this.view.setUint32(l.CTRL + l.CTRL_SYNC_THRESHOLD, r.threshold, true);
    this.view.setUint32(l.CTRL + l.CTRL_SYNC_PERIOD, r.period, true);
  }

  /** The sync rule's sysctls now. */
  syncRule(): { threshold: number; period: number } {
    const l = this.layout;
    return {
      threshold: this.view.getUint32(l.CTRL + l.CTRL_SYNC_THRESHOLD, true),
      period: this.view.getUint32(l.CTRL + l.CTRL_SYNC_PERIOD, true),
    };
  }

  /** Turns the workers' sync queueing on (a sync master runs) or off. */
  setSyncMaster(on: boolean): void {
    const l = this.layout;
    Atomics.store(new Uint32Array(this.memory.buffer), (l.CTRL + l.CTRL_SYNC_STATE) >> 2, on ? l.SYNC_MASTER : 0);
  }

  /** Byte offset of worker `w`'s sync ring. */
  syncRingBase(w: number): number {
    return this.view.getUint32(this.layout.CTRL + this.layout.CTRL_SYNC_RING_BASE, true) +
      w * this.layout.SYNC_RING_STRIDE;
  }

  /** True while connections or persistence templates still count against dest `id`. */
  destInUse(id: number): boolean {
    const l = this.layout;
    const p = l.DSTATE + id * l.DSTATE_SIZE;
    const i32 = new Int32Array(this.memory.buffer);
    return Atomics.load(i32, (p + l.DSTATE_ACTIVE) >> 2) !== 0 || Atomics.load(i32, (p + l.DSTATE_INACT) >> 2) !== 0 ||
      Atomics.load(i32, (p + l.DSTATE_PERSIST) >> 2) !== 0;
  }

  /** Byte offset of worker `w`'s I/O region. */
  ioBase(w: number): number {
    return this.view.getUint32(this.layout.CTRL + this.layout.CTRL_IO_BASE, true) + w * this.layout.IO_STRIDE;
  }

  /** Byte offset of worker `w`'s AF_XDP UMEM, or null if none was reserved (packet_io af_packet). */
  umemBase(w: number): number | null {
    const base = this.view.getUint32(this.layout.CTRL + this.layout.CTRL_UMEM_BASE, true);
    if (base === 0) return null;
    return base + w * this.view.getUint32(this.layout.CTRL + this.layout.CTRL_UMEM_STRIDE, true);
  }

  /** Byte offset of worker `w`'s statistics slot. */
  statsBase(w: number): number {
    return this.layout.STATS + w * this.layout.STATS_STRIDE;
  }

  /** Byte offset of connection record `i`. */
  connAt(i: number): number {
    return this.view.getUint32(this.layout.CTRL + this.layout.CTRL_CONN_BASE, true) + i * this.layout.CONN_SIZE;
  }

  /** Sets worker `w`'s command word: 0 run, 1 stop, 2 crash (fault injection); the worker sets 3 once closed. */
  setWorkerCommand(w: number, cmd: number): void {
    Atomics.store(
      new Int32Array(this.memory.buffer),
      (this.layout.CTRL + this.layout.CTRL_WORKER_CMD + w * 4) >> 2,
      cmd,
    );
  }

  /** Worker `w`'s command word. */
  workerCommand(w: number): number {
    return Atomics.load(
      new Int32Array(this.memory.buffer),
      (this.layout.CTRL + this.layout.CTRL_WORKER_CMD + w * 4) >> 2,
    );
  }

  /** Expires due connections over the whole table; returns how many. */
  expire(now = monotonicMs()): number {
    return this.exports.expire_sweep(0, this.connCapacity, now);
  }
}

/** Process address of byte 0 of a shared memory (for kernel-facing pointers). */
export function memoryAddress(memory: WebAssembly.Memory): bigint {
  const p = Deno.UnsafePointer.of(new Uint8Array(memory.buffer));
  return BigInt(Deno.UnsafePointer.value(p));
}
