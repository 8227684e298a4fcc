/**
 * The bpf(2) system call over Deno FFI, for the few things AF_XDP needs: an
 * XSKMAP, a small XDP program assembled here (no compiler, no libbpf), a BPF
 * link that attaches it to an interface, and BPF_PROG_TEST_RUN to check the
 * program on fixture frames. x86_64 Linux only (syscall number, struct
 * layouts). Setup path only: nothing here runs per packet.
 *
 * Why a BPF link rather than netlink (what `ip link set xdpdrv` and libxdp
 * use): a link is owned by its file descriptor, so the program is detached
 * when the process exits, however it exits (SIGKILL included). A netlink
 * attachment outlives the process and must be found and removed by the next
 * start.
 *
 * @module
 */

import { addressOf, errno, LibcError } from "./libc.ts";

const lib = Deno.dlopen("libc.so.6", {
  // long syscall(long number, ...); glibc's is assembly that only moves
  // registers, so declaring the variadic tail as fixed arguments is safe.
  syscall: { parameters: ["i64", "i64", "buffer", "u32"], result: "i64" },
});

const SYS_bpf = 321;

// enum bpf_cmd
const BPF_MAP_CREATE = 0;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_PROG_LOAD = 5;
const BPF_PROG_TEST_RUN = 10;
const BPF_LINK_CREATE = 28;

/** `BPF_MAP_TYPE_XSKMAP`: queue index → AF_XDP socket. */
export const BPF_MAP_TYPE_XSKMAP = 17;
/** `BPF_PROG_TYPE_XDP` */
export const BPF_PROG_TYPE_XDP = 6;
/** `BPF_XDP`, the attach type of an XDP link. */
export const BPF_XDP = 37;
/** `XDP_FLAGS_SKB_MODE`: generic XDP (after the skb is built; any device). */
export const XDP_FLAGS_SKB_MODE = 1 << 1;
/** `XDP_FLAGS_DRV_MODE`: native XDP in the driver (veth supports it). */
export const XDP_FLAGS_DRV_MODE = 1 << 2;

/** XDP verdicts (`enum xdp_action`). */
export const XDP_ABORTED = 0;
/** Drop the frame. */
export const XDP_DROP = 1;
/** Hand the frame to the kernel's stack as if there were no program. */
export const XDP_PASS = 2;
/** Send the frame back out of the interface it came in on. */
export const XDP_TX = 3;
/** Redirect (here: to the AF_XDP socket a map names). */
export const XDP_REDIRECT = 4;

/** `BPF_FUNC_redirect_map` */
export const BPF_FUNC_REDIRECT_MAP = 51;

/** `struct xdp_md` field offsets (the XDP program's context, r1 at entry). */
export const XDP_MD = { data: 0, dataEnd: 4, dataMeta: 8, ingressIfindex: 12, rxQueueIndex: 16 } as const;

/** Size of one BPF instruction. */
export const INSN_SIZE = 8;

/**
 * A zeroed buffer outside V8's heap. Every buffer whose address goes into a
 * bpf_attr must be one: a typed array of 64 bytes or less made with `new
 * Uint8Array(n)` lives in the heap and can move at any allocation (a BigInt
 * conversion is enough) before the kernel reads it.
 */
function offHeap(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}

function bpf(cmd: number, attr: Uint8Array): number {
  return Number(lib.symbols.syscall(BigInt(SYS_bpf), BigInt(cmd), attr, attr.byteLength));
}

/**
 * One eBPF instruction (see the kernel's Documentation/bpf/standardization):
 * opcode u8, dst_reg:4 | src_reg:4 (little-endian: dst in the low nibble),
 * offset s16, immediate s32.
 */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** Little assembler for the instructions the XDP programs here use. */
export const asm = {
  /** `dst = *(u32 *)(src + off)` (BPF_LDX | BPF_MEM | BPF_W) */
  ldxw: (dst: number, src: number, off: number): Insn[] => [{ code: 0x61, dst, src, off, imm: 0 }],
  /** `dst = imm` (BPF_ALU64 | BPF_MOV | BPF_K) */
  mov64Imm: (dst: number, imm: number): Insn[] => [{ code: 0xb7, dst, src: 0, off: 0, imm }],
  /**
   * `dst = map` for the map with file descriptor `fd` (BPF_LD | BPF_DW |
   * BPF_IMM with src BPF_PSEUDO_MAP_FD): two instruction slots; the
   * verifier replaces the fd by the map's address.
   */
  ldMapFd: (dst: number, fd: number): Insn[] => [
    { code: 0x18, dst, src: 1, off: 0, imm: fd },
    { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
  ],
  /** Call helper `id`: arguments in r1..r5, result in r0. */
  call: (id: number): Insn[] => [{ code: 0x85, dst: 0, src: 0, off: 0, imm: id }],
  /** Return r0. */
  exit: (): Insn[] => [{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }],
};

/** The byte encoding of a program. */
export function encode(insns: Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const v = new DataView(out.buffer);
  insns.forEach((i, k) => {
    const at = k * INSN_SIZE;
    v.setUint8(at, i.code);
    v.setUint8(at + 1, (i.src << 4) | (i.dst & 0xf));
    v.setInt16(at + 2, i.off, true);
    v.setInt32(at + 4, i.imm, true);
  });
  return out;
}

/**
 * The probe's XDP program: every frame of the queue goes to the AF_XDP
 * socket at that queue's index in `xskMapFd`, or is passed to the kernel if
 * there is none:
 *
 * ```
 * r2 = ctx->rx_queue_index
 * r1 = xskmap
 * r3 = XDP_PASS          ; flags: the low bits are the verdict on a miss
 * r0 = bpf_redirect_map(r1, r2, r3)
 * exit
 * ```
 *
 * Only for benchmarks and tests: lvsd's real program must redirect only what
 * lvsd owns (frames to a VIP, replies from real servers, ARP for VIPs) and
 * XDP_PASS the rest, or the host's own traffic (SSH, the admin API, ARP for
 * its addresses) never reaches its kernel.
 */
export function redirectAllToXsk(xskMapFd: number): Insn[] {
  return [
    ...asm.ldxw(2, 1, XDP_MD.rxQueueIndex),
    ...asm.ldMapFd(1, xskMapFd),
    ...asm.mov64Imm(3, XDP_PASS),
    ...asm.call(BPF_FUNC_REDIRECT_MAP),
    ...asm.exit(),
  ];
}

/** Creates an XSKMAP with `entries` slots (one per queue); its fd. */
export function createXskMap(entries: number, name = "lvsd_xsks"): number {
  const attr = new Uint8Array(72);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_MAP_TYPE_XSKMAP, true);
  v.setUint32(4, 4, true); // key: u32 queue index
  v.setUint32(8, 4, true); // value: u32 socket fd
  v.setUint32(12, entries, true);
  attr.set(new TextEncoder().encode(name.slice(0, 15)), 28); // map_name[16]
  const fd = bpf(BPF_MAP_CREATE, attr);
  if (fd < 0) throw LibcError.fromErrno(`Cannot create XSKMAP "${name}" (${entries} entries)`);
  return fd;
}

/** Puts the AF_XDP socket `xskFd` at index `queue` of XSKMAP `mapFd`. */
export function xskMapSet(mapFd: number, queue: number, xskFd: number): void {
  const kvBytes = offHeap(8);
  new DataView(kvBytes.buffer).setUint32(0, queue, true);
  new DataView(kvBytes.buffer).setUint32(4, xskFd, true);
  const attr = new Uint8Array(32);
  const v = new DataView(attr.buffer);
  v.setUint32(0, mapFd, true);
  v.setBigUint64(8, BigInt(addressOf(kvBytes)), true);
  v.setBigUint64(16, BigInt(addressOf(kvBytes) + 4), true);
  v.setBigUint64(24, 0n, true); // BPF_ANY
  const r = bpf(BPF_MAP_UPDATE_ELEM, attr);
  void kvBytes.length; // referenced until the kernel has read it
  if (r < 0) {
    throw LibcError.fromErrno(`Cannot put AF_XDP socket ${xskFd} at queue ${queue} of XSKMAP ${mapFd}`);
  }
}

/** `BPF_MAP_TYPE_HASH` */
export const BPF_MAP_TYPE_HASH = 1;

/** Creates a map of `type` (e.g. {@link BPF_MAP_TYPE_HASH}) with fixed key and value sizes; its fd. */
export function createMap(type: number, keySize: number, valueSize: number, entries: number, name: string): number {
  const attr = new Uint8Array(72);
  const v = new DataView(attr.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, keySize, true);
  v.setUint32(8, valueSize, true);
  v.setUint32(12, entries, true);
  attr.set(new TextEncoder().encode(name.slice(0, 15)), 28); // map_name[16]
  const fd = bpf(BPF_MAP_CREATE, attr);
  if (fd < 0) throw LibcError.fromErrno(`Cannot create BPF map "${name}" (${entries} entries)`);
  return fd;
}

/** Sets `key` to `value` in map `mapFd` (BPF_ANY); setup path only. */
export function mapUpdate(mapFd: number, key: Uint8Array, value: Uint8Array): void {
  const k = offHeap(key.length);
  k.set(key);
  const val = offHeap(value.length);
  val.set(value);
  const attr = new Uint8Array(32);
  const v = new DataView(attr.buffer);
  v.setUint32(0, mapFd, true);
  v.setBigUint64(8, BigInt(addressOf(k)), true);
  v.setBigUint64(16, BigInt(addressOf(val)), true);
  const r = bpf(BPF_MAP_UPDATE_ELEM, attr);
  void k.length, val.length; // referenced until the kernel has read them
  if (r < 0) throw LibcError.fromErrno(`Cannot update BPF map ${mapFd}`);
}

/** Removes `key` from map `mapFd` (no error if absent). */
export function mapDelete(mapFd: number, key: Uint8Array): void {
  const k = offHeap(key.length);
  k.set(key);
  const attr = new Uint8Array(32);
  const v = new DataView(attr.buffer);
  v.setUint32(0, mapFd, true);
  v.setBigUint64(8, BigInt(addressOf(k)), true);
  const r = bpf(BPF_MAP_DELETE_ELEM, attr);
  void k.length;
  if (r < 0 && errno() !== 2 /* ENOENT */) throw LibcError.fromErrno(`Cannot delete from BPF map ${mapFd}`);
}

/** Removes index `queue` from XSKMAP `mapFd` (no error if it was empty). */
export function xskMapDelete(mapFd: number, queue: number): void {
  const key = offHeap(4);
  new DataView(key.buffer).setUint32(0, queue, true);
  const attr = new Uint8Array(32);
  const v = new DataView(attr.buffer);
  v.setUint32(0, mapFd, true);
  v.setBigUint64(8, BigInt(addressOf(key)), true);
  const r = bpf(BPF_MAP_DELETE_ELEM, attr);
  void key.length; // referenced until the kernel has read it
  if (r < 0 && errno() !== 2 /* ENOENT */) {
    throw LibcError.fromErrno(`Cannot delete queue ${queue} from XSKMAP ${mapFd}`);
  }
}

/**
 * Loads an XDP program; its fd. On a verifier rejection, loads it again with
 * the verifier log on and puts the log in the error.
 */
export function loadXdpProgram(insns: Insn[], name = "lvsd_xdp"): number {
  const code = offHeap(insns.length * INSN_SIZE);
  code.set(encode(insns));
  const license = offHeap(4);
  license.set([0x47, 0x50, 0x4c, 0]); // "GPL": the helpers used are GPL-only
  const attempt = (log: Uint8Array | null) => {
    const attr = new Uint8Array(128);
    const v = new DataView(attr.buffer);
    v.setUint32(0, BPF_PROG_TYPE_XDP, true);
    v.setUint32(4, insns.length, true);
    v.setBigUint64(8, BigInt(addressOf(code)), true);
    v.setBigUint64(16, BigInt(addressOf(license)), true);
    if (log) {
      v.setUint32(24, 1, true); // log_level
      v.setUint32(28, log.byteLength, true);
      v.setBigUint64(32, BigInt(addressOf(log)), true);
    }
    attr.set(new TextEncoder().encode(name.slice(0, 15)), 48); // prog_name[16]
    v.setUint32(68, BPF_XDP, true); // expected_attach_type
    const fd = bpf(BPF_PROG_LOAD, attr);
    void code.length, license.length; // referenced until the kernel has read them
    return fd;
  };
  const fd = attempt(null);
  if (fd >= 0) return fd;
  const code0 = errno();
  const log = offHeap(64 * 1024);
  const again = attempt(log);
  if (again >= 0) return again;
  const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0) < 0 ? log.length : log.indexOf(0))).trim();
  const e = new LibcError(`Cannot load XDP program "${name}" (${insns.length} instructions)`, code0);
  if (text) e.message += `; verifier log:\n${text}`;
  throw e;
}

/**
 * Attaches XDP program `progFd` to interface `ifindex` with a BPF link (see
 * the module comment: detached when the link fd is closed or the process
 * exits). `flags`: {@link XDP_FLAGS_DRV_MODE} for native XDP. Returns the
 * link fd. EBUSY means another program (e.g. a netlink-attached one) is
 * already there.
 */
export function attachXdpLink(progFd: number, ifindex: number, flags: number, ifname = `ifindex ${ifindex}`): number {
  const attr = new Uint8Array(64);
  const v = new DataView(attr.buffer);
  v.setUint32(0, progFd, true);
  v.setUint32(4, ifindex, true); // target_ifindex
  v.setUint32(8, BPF_XDP, true);
  v.setUint32(12, flags, true);
  const fd = bpf(BPF_LINK_CREATE, attr);
  if (fd < 0) {
    const mode = flags & XDP_FLAGS_DRV_MODE ? "native" : flags & XDP_FLAGS_SKB_MODE ? "generic" : "default";
    throw LibcError.fromErrno(`Cannot attach XDP program (${mode} mode) to "${ifname}"`);
  }
  return fd;
}

/** Result of one {@link testRunXdp}. */
export interface XdpTestRun {
  /** The program's verdict (XDP_PASS, XDP_REDIRECT, ...). */
  verdict: number;
  /** The frame as the program left it. */
  frame: Uint8Array;
}

/**
 * Runs XDP program `progFd` once on `frame` (BPF_PROG_TEST_RUN) with
 * rx_queue_index `queue` on interface `ifindex` (0: none; a nonzero queue
 * needs a real interface that has it). Nothing is sent or redirected.
 */
export function testRunXdp(progFd: number, frame: Uint8Array, ifindex = 0, queue = 0): XdpTestRun {
  const dataIn = offHeap(frame.length);
  dataIn.set(frame);
  const dataOut = offHeap(frame.length + 256);
  const ctxBytes = offHeap(24); // struct xdp_md
  const ctx = new Uint32Array(ctxBytes.buffer);
  ctx[3] = ifindex;
  ctx[4] = queue;
  const attr = new Uint8Array(80);
  const v = new DataView(attr.buffer);
  v.setUint32(0, progFd, true);
  v.setUint32(8, dataIn.length, true);
  v.setUint32(12, dataOut.length, true);
  v.setBigUint64(16, BigInt(addressOf(dataIn)), true);
  v.setBigUint64(24, BigInt(addressOf(dataOut)), true);
  v.setUint32(32, 1, true); // repeat
  if (ifindex !== 0 || queue !== 0) {
    v.setUint32(40, ctx.byteLength, true);
    v.setBigUint64(48, BigInt(addressOf(ctxBytes)), true);
  }
  if (bpf(BPF_PROG_TEST_RUN, attr) < 0) {
    throw LibcError.fromErrno(`Cannot test-run XDP program ${progFd} on a ${frame.length}-byte frame`);
  }
  // The buffers stay referenced until the kernel is done with them.
  void dataIn.length, ctxBytes.length;
  return { verdict: v.getUint32(4, true), frame: dataOut.slice(0, v.getUint32(12, true)) };
}
