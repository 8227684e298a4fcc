/**
 * AF_XDP sockets (XSKs) over Deno FFI, without libxdp: UMEM registration on a
 * region of a shared `WebAssembly.Memory`, the four rings mmapped and read
 * through typed arrays made once, bind, kick. x86_64 Linux only.
 *
 * ```
 *  UMEM (in WASM memory)    chunk 0 | chunk 1 | ... | chunk N-1   (chunkSize each)
 *
 *  fill ring  (user → kernel)  u64 UMEM addresses the kernel may write frames into
 *  rx ring    (kernel → user)  struct xdp_desc { u64 addr; u32 len; u32 options }
 *  tx ring    (user → kernel)  struct xdp_desc to send
 *  completion (kernel → user)  u64 addresses of frames the kernel has sent
 * ```
 *
 * Each ring is one mmap of the socket at a fixed page offset; its producer,
 * consumer and flags words and its descriptor array sit at offsets the kernel
 * reports with getsockopt(XDP_MMAP_OFFSETS). A ring has one producer and one
 * consumer: the producer writes entries, then publishes them with a release
 * store of the producer index; the consumer reads the producer index
 * (acquire), the entries, then releases them with a store of the consumer
 * index. Indexes are free-running u32s; an entry is at index & (size - 1).
 *
 * The ring memory is not WASM memory: it is viewed through
 * `Deno.UnsafePointerView.getArrayBuffer()` once, and the views are plain
 * `Uint32Array`s (u64 addresses are two u32 words, the high one 0: a UMEM is
 * smaller than 4 GiB). Atomics on those views give the ordering: on x86 a
 * plain load is already an acquire and a store a release, but Atomics also
 * stop the JIT from reordering the entry writes past the index store.
 *
 * @module
 */

import { addressOf, close, errno, LibcError, pointerAt } from "./libc.ts";

const lib = Deno.dlopen("libc.so.6", {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // Hot path (the transmit kick): pointers passed as null, so nothing is
  // allocated per call.
  sendto: { parameters: ["i32", "pointer", "usize", "i32", "pointer", "u32"], result: "i32" },
  recvfrom: { parameters: ["i32", "pointer", "usize", "i32", "pointer", "pointer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
});

/** `AF_XDP` */
export const AF_XDP = 44;
/** `SOL_XDP` */
export const SOL_XDP = 283;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;

// Socket options (linux/if_xdp.h).
const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_TX_RING = 3;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_STATISTICS = 7;
const XDP_OPTIONS = 8;
/** Linux >= 6.17: descriptors one sendto() may send in copy mode (default 32). */
const XDP_MAX_TX_SKB_BUDGET = 9;

// sxdp_flags
/** Bind flag: use the UMEM of the socket named in sxdp_shared_umem_fd. */
export const XDP_SHARED_UMEM = 1 << 0;
/** Bind flag: force copy mode. */
export const XDP_COPY = 1 << 1;
/** Bind flag: force zero-copy mode (fails where the driver has none, e.g. veth). */
export const XDP_ZEROCOPY = 1 << 2;
/** Bind flag: the kernel sets XDP_RING_NEED_WAKEUP when a ring needs a syscall to move. */
export const XDP_USE_NEED_WAKEUP = 1 << 3;
/** Ring flag: the kernel needs a sendto (tx) / poll or recvfrom (fill) to make progress. */
export const XDP_RING_NEED_WAKEUP = 1 << 0;

// mmap page offsets of the rings.
const XDP_PGOFF_RX_RING = 0n;
const XDP_PGOFF_TX_RING = 0x80000000n;
const XDP_UMEM_PGOFF_FILL_RING = 0x100000000n;
const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000n;

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_POPULATE = 0x8000;
const MSG_DONTWAIT = 0x40;

/** Bytes per `struct xdp_desc`. */
export const XDP_DESC_SIZE = 16;
/** Headroom the kernel leaves in front of a received frame in copy mode (XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;

/**
 * One mmapped ring. `entries` views the descriptor array as u32 words: 4 per
 * xdp_desc (addr lo, addr hi, len, options) on rx/tx, 2 per u64 address on
 * fill/completion.
 */
export class XskRing {
  /** Entries (a power of two). */
  readonly size: number;
  /** size - 1 */
  readonly mask: number;
  /** The producer index word. */
  readonly producer: Uint32Array;
  /** The consumer index word. */
  readonly consumer: Uint32Array;
  /** The flags word (XDP_RING_NEED_WAKEUP). */
  readonly flags: Uint32Array;
  /** The entries as u32 words. */
  readonly entries: Uint32Array;
  #base: Deno.PointerObject;
  #length: number;

  /** Views a ring mapped at `base` with the kernel's offsets. */
  constructor(base: Deno.PointerObject, length: number, size: number, off: RingOffsets, entryBytes: number) {
    this.size = size;
    this.mask = size - 1;
    this.#base = base;
    this.#length = length;
    const buf = Deno.UnsafePointerView.getArrayBuffer(base, length);
    this.producer = new Uint32Array(buf, off.producer, 1);
    this.consumer = new Uint32Array(buf, off.consumer, 1);
    this.flags = new Uint32Array(buf, off.flags, 1);
    this.entries = new Uint32Array(buf, off.desc, (size * entryBytes) / 4);
  }

  /**
   * Where the ring is mapped: [address, length]. A mapping keeps the socket
   * alive after its fd is closed (still bound, still in its XSKMAP), so whoever
   * closes the fds of a dead worker must unmap these too ({@link unmapAt}).
   */
  get mapping(): [number, number] {
    return [Number(Deno.UnsafePointer.value(this.#base)), this.#length];
  }

  /** Unmaps the ring; its views must not be used afterwards. */
  unmap(): void {
    lib.symbols.munmap(this.#base, BigInt(this.#length));
  }
}

/** Where a ring's words sit inside its mapping (struct xdp_ring_offset). */
export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
  flags: number;
}

/** The UMEM: a page-aligned region of a shared WebAssembly.Memory, cut into equal chunks. */
export interface UmemSpec {
  /** The memory holding the UMEM; frames are read and written through its buffer. */
  memory: WebAssembly.Memory;
  /** Byte offset of the UMEM in the memory; base address + offset must be page aligned. */
  offset: number;
  /** Number of chunks. */
  chunks: number;
  /** Bytes per chunk: 2048 or 4096 (a power of two between 2048 and the page size). */
  chunkSize: number;
}

/** What {@link XskSocket.open} needs. */
export interface XskOptions {
  /** Interface name, for error messages. */
  ifname: string;
  ifindex: number;
  /** Device queue to bind to. */
  queue: number;
  /** Register this UMEM (the first socket), or share the UMEM of `shareWith`. */
  umem?: UmemSpec;
  /** A bound socket whose UMEM this one uses (XDP_SHARED_UMEM). */
  shareWith?: XskSocket;
  /** Ring sizes (powers of two); 0 = no such ring. */
  rxSize: number;
  txSize: number;
  /** Fill and completion ring sizes (needed unless sharing the same device and queue). */
  fillSize: number;
  completionSize: number;
  /** Bind flags for a UMEM owner: XDP_COPY, XDP_USE_NEED_WAKEUP, ... (a sharing socket inherits them). */
  bindFlags: number;
  /** Copy-mode descriptors per sendto (Linux >= 6.17); ignored where unsupported. */
  txBudget?: number;
}

/** Socket statistics (struct xdp_statistics). */
export interface XskStats {
  rxDropped: number;
  rxInvalidDescs: number;
  txInvalidDescs: number;
  rxRingFull: number;
  rxFillRingEmptyDescs: number;
  txRingEmptyDescs: number;
}

/** One bound AF_XDP socket with its mapped rings. */
export class XskSocket {
  /** The socket fd (for poll, the XSKMAP, and sharing its UMEM). */
  readonly fd: number;
  /** Rings this socket has (null where it has none). */
  readonly rx: XskRing | null;
  readonly tx: XskRing | null;
  readonly fill: XskRing | null;
  readonly completion: XskRing | null;
  /** Whether the kernel runs this socket in zero-copy mode (XDP_OPTIONS). */
  readonly zeroCopy: boolean;
  /** Whether XDP_MAX_TX_SKB_BUDGET was accepted (else the kernel sends 32 per sendto). */
  readonly txBudgetSet: boolean;
  /** Byte offset of the UMEM inside the WASM memory. */
  readonly umemOffset: number;
  readonly name: string;
  #closed = false;

  private constructor(
    fd: number,
    rings: { rx: XskRing | null; tx: XskRing | null; fill: XskRing | null; completion: XskRing | null },
    zeroCopy: boolean,
    txBudgetSet: boolean,
    umemOffset: number,
    name: string,
  ) {
    this.fd = fd;
    this.rx = rings.rx;
    this.tx = rings.tx;
    this.fill = rings.fill;
    this.completion = rings.completion;
    this.zeroCopy = zeroCopy;
    this.txBudgetSet = txBudgetSet;
    this.umemOffset = umemOffset;
    this.name = name;
  }

  /** Opens, configures, maps and binds a socket; throws a {@link LibcError} naming the interface and step. */
  static open(o: XskOptions): XskSocket {
    const name = `${o.ifname} queue ${o.queue}`;
    const fd = lib.symbols.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) throw LibcError.fromErrno(`Cannot open AF_XDP socket for "${name}"`);
    const mapped: XskRing[] = [];
    try {
      let umemOffset: number;
      if (o.umem) {
        registerUmem(fd, o.umem, name);
        umemOffset = o.umem.offset;
      } else if (o.shareWith) {
        umemOffset = o.shareWith.umemOffset;
      } else {
        throw new Error(`Cannot open AF_XDP socket for "${name}": neither a UMEM nor a socket to share one with`);
      }
      const setSize = (opt: number, n: number, what: string) => {
        if (n === 0) return;
        if (setsockoptU32(fd, SOL_XDP, opt, n) < 0) {
          throw LibcError.fromErrno(`Cannot size the ${what} ring (${n}) of AF_XDP socket "${name}"`);
        }
      };
      setSize(XDP_RX_RING, o.rxSize, "rx");
      setSize(XDP_TX_RING, o.txSize, "tx");
      setSize(XDP_UMEM_FILL_RING, o.fillSize, "fill");
      setSize(XDP_UMEM_COMPLETION_RING, o.completionSize, "completion");

      const off = mmapOffsets(fd, name);
      const map = (pgoff: bigint, n: number, ro: RingOffsets, entryBytes: number, what: string) => {
        if (n === 0) return null;
        const length = ro.desc + n * entryBytes;
        const p = lib.symbols.mmap(null, BigInt(length), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
        if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
          throw LibcError.fromErrno(`Cannot mmap the ${what} ring of AF_XDP socket "${name}"`);
        }
        const ring = new XskRing(p, length, n, ro, entryBytes);
        mapped.push(ring);
        return ring;
      };
      const rings = {
        rx: map(XDP_PGOFF_RX_RING, o.rxSize, off.rx, XDP_DESC_SIZE, "rx"),
        tx: map(XDP_PGOFF_TX_RING, o.txSize, off.tx, XDP_DESC_SIZE, "tx"),
        fill: map(XDP_UMEM_PGOFF_FILL_RING, o.fillSize, off.fill, 8, "fill"),
        completion: map(XDP_UMEM_PGOFF_COMPLETION_RING, o.completionSize, off.completion, 8, "completion"),
      };

      let txBudgetSet = false;
      if (o.txBudget && o.txSize) {
        txBudgetSet = setsockoptU32(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, o.txBudget) === 0;
      }

      // struct sockaddr_xdp { u16 family; u16 flags; u32 ifindex; u32 queue_id; u32 shared_umem_fd; }
      const sa = new Uint8Array(16);
      const v = new DataView(sa.buffer);
      v.setUint16(0, AF_XDP, true);
      // A socket sharing another's UMEM may pass no flag but XDP_SHARED_UMEM:
      // it inherits copy/zero-copy and need_wakeup from the UMEM's owner.
      v.setUint16(2, o.shareWith ? XDP_SHARED_UMEM : o.bindFlags, true);
      v.setUint32(4, o.ifindex, true);
      v.setUint32(8, o.queue, true);
      v.setUint32(12, o.shareWith ? o.shareWith.fd : 0, true);
      if (lib.symbols.bind(fd, sa, 16) < 0) {
        throw LibcError.fromErrno(
          `Cannot bind AF_XDP socket to "${name}" (ifindex ${o.ifindex}${o.shareWith ? ", shared UMEM" : ""})`,
        );
      }
      const zeroCopy = (getsockoptU32(fd, SOL_XDP, XDP_OPTIONS) ?? 0) & 1;
      return new XskSocket(fd, rings, zeroCopy === 1, txBudgetSet, umemOffset, name);
    } catch (e) {
      for (const r of mapped) r.unmap();
      close(fd);
      throw e;
    }
  }

  /**
   * Asks the kernel to send what is on the tx ring: sendto(fd, NULL, 0,
   * MSG_DONTWAIT). In copy mode this runs the transmit itself (up to the
   * budget: an skb per frame, handed to the driver). Returns 0, or the
   * errno: EAGAIN (budget used up, completion ring full, device busy: call
   * again later), ENOBUFS/EBUSY (dropped by the device). Never allocates.
   */
  kick(): number {
    const r = lib.symbols.sendto(this.fd, null, 0n, MSG_DONTWAIT, null, 0);
    return r < 0 ? errno() : 0;
  }

  /** Wakes the kernel to refill from the fill ring (recvfrom with MSG_DONTWAIT); 0 or the errno. */
  wakeRx(): number {
    const r = lib.symbols.recvfrom(this.fd, null, 0n, MSG_DONTWAIT, null, null);
    return r < 0 ? errno() : 0;
  }

  /** The kernel's drop counters for this socket. */
  stats(): XskStats {
    const b = new BigUint64Array(6);
    const len = new Uint32Array([48]);
    const r = lib.symbols.getsockopt(
      this.fd,
      SOL_XDP,
      XDP_STATISTICS,
      new Uint8Array(b.buffer),
      new Uint8Array(len.buffer),
    );
    if (r < 0) throw LibcError.fromErrno(`Cannot read the statistics of AF_XDP socket "${this.name}"`);
    const n = b.map((x) => x);
    return {
      rxDropped: Number(n[0]),
      rxInvalidDescs: Number(n[1]),
      txInvalidDescs: Number(n[2]),
      rxRingFull: Number(n[3]),
      rxFillRingEmptyDescs: Number(n[4]),
      txRingEmptyDescs: Number(n[5]),
    };
  }

  /** Unmaps the rings and closes the socket (which also removes it from any XSKMAP); safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of [this.rx, this.tx, this.fill, this.completion]) r?.unmap();
    close(this.fd);
  }
}

/** The UMEM's first byte must be page aligned; this finds the first aligned offset at or after `from`. */
export function pageAlignedOffset(memory: WebAssembly.Memory, from: number, page = 4096): number {
  const base = addressOf(new Uint8Array(memory.buffer));
  const at = base + from;
  return from + ((page - (at % page)) % page);
}

function registerUmem(fd: number, u: UmemSpec, name: string): void {
  const bytes = new Uint8Array(u.memory.buffer);
  const len = u.chunks * u.chunkSize;
  const addr = addressOf(bytes) + u.offset;
  if (u.offset < 0 || u.offset + len > bytes.byteLength) {
    throw new RangeError(
      `Cannot register the UMEM of AF_XDP socket "${name}": ${len} bytes at offset ${u.offset} do not fit in the ${bytes.byteLength}-byte memory`,
    );
  }
  if (addr % 4096 !== 0) {
    throw new RangeError(
      `Cannot register the UMEM of AF_XDP socket "${name}": address 0x${addr.toString(16)} is not page aligned`,
    );
  }
  // struct xdp_umem_reg { u64 addr; u64 len; u32 chunk_size; u32 headroom; u32 flags; u32 tx_metadata_len; }
  // The kernel accepts the 24-, 28- and 32-byte versions; 24 is the oldest.
  const reg = new Uint8Array(24);
  const v = new DataView(reg.buffer);
  v.setBigUint64(0, BigInt(addr), true);
  v.setBigUint64(8, BigInt(len), true);
  v.setUint32(16, u.chunkSize, true);
  v.setUint32(20, 0, true); // headroom: the kernel keeps XDP_PACKET_HEADROOM anyway
  if (lib.symbols.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg, reg.byteLength) < 0) {
    throw LibcError.fromErrno(
      `Cannot register the ${len}-byte UMEM (${u.chunks} × ${u.chunkSize}) of AF_XDP socket "${name}"`,
    );
  }
}

function mmapOffsets(fd: number, name: string): Record<"rx" | "tx" | "fill" | "completion", RingOffsets> {
  // struct xdp_mmap_offsets { struct xdp_ring_offset rx, tx, fr, cr; }, each { u64 producer, consumer, desc, flags; }
  const b = new BigUint64Array(16);
  const len = new Uint32Array([128]);
  if (lib.symbols.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, new Uint8Array(b.buffer), new Uint8Array(len.buffer)) < 0) {
    throw LibcError.fromErrno(`Cannot read the ring offsets of AF_XDP socket "${name}"`);
  }
  if (len[0] !== 128) {
    // Kernels before 5.4 report 96 bytes (no flags word): no need_wakeup.
    throw new Error(`Cannot map the rings of AF_XDP socket "${name}": XDP_MMAP_OFFSETS is ${len[0]} bytes, not 128`);
  }
  const ring = (i: number): RingOffsets => ({
    producer: Number(b[i * 4]),
    consumer: Number(b[i * 4 + 1]),
    desc: Number(b[i * 4 + 2]),
    flags: Number(b[i * 4 + 3]),
  });
  return { rx: ring(0), tx: ring(1), fill: ring(2), completion: ring(3) };
}

function setsockoptU32(fd: number, level: number, opt: number, value: number): number {
  const b = new Uint32Array([value]);
  return lib.symbols.setsockopt(fd, level, opt, new Uint8Array(b.buffer), 4);
}

function getsockoptU32(fd: number, level: number, opt: number): number | null {
  const b = new Uint32Array([0, 4]);
  const bytes = new Uint8Array(b.buffer);
  const r = lib.symbols.getsockopt(fd, level, opt, bytes.subarray(0, 4), bytes.subarray(4, 8));
  return r < 0 ? null : b[0];
}

/** A pointer to `offset` in `memory` (setup only). */
export function memoryPointer(memory: WebAssembly.Memory, offset: number): Deno.PointerObject {
  return pointerAt(addressOf(new Uint8Array(memory.buffer)) + offset);
}

/** munmap(2) of a ring a dead worker left ({@link XskRing.mapping}); setup path only. */
export function unmapAt(address: number, length: number): void {
  lib.symbols.munmap(pointerAt(address), BigInt(length));
}
