/**
 * AF_PACKET implementation of {@link PacketIo}: one raw packet socket per
 * interface, frames moved in batches with recvmmsg/sendmmsg straight into and
 * out of the shared WebAssembly.Memory. Works on every Linux device; AF_XDP
 * is the faster path where it is available.
 *
 * What every received frame looks like (all written by the kernel into the
 * buffers the WASM module pointed the rx mmsghdr entries at):
 *
 * ```
 * iovec:   +-------------------------+---------------------------------+
 *          | virtio_net_hdr (10 B)   | Ethernet frame (VLAN tag        |
 *          | flags u8, gso_type u8,  | stripped: see auxdata)          |
 *          | hdr_len u16, gso_size   |                                 |
 *          | u16, csum_start u16,    |                                 |
 *          | csum_offset u16 (LE)    |                                 |
 *          +-------------------------+---------------------------------+
 * msg_name:    struct sockaddr_ll (20 B): sll_ifindex @4, sll_pkttype @10
 * msg_control: cmsghdr (16 B) + struct tpacket_auxdata (20 B): tp_status,
 *              tp_len, tp_snaplen, tp_mac, tp_net, tp_vlan_tci, tp_vlan_tpid
 * ```
 *
 * Frames sent must carry the same 10-byte header in front (all zero for a
 * plain frame) and name the outgoing interface in msg_name (a sockaddr_ll
 * with sll_family AF_PACKET, sll_protocol the ethertype, sll_ifindex), so
 * any of the sockets can send on any interface; we always use the first.
 *
 * Seen on veth (Linux 6.18, af_packet_test.ts): frames from a namespace's
 * TCP stack arrive as GSO super-frames of up to 64 KiB (gso_type TCPV4,
 * gso_size = MSS, hdr_len = L2..L4 header length) and every TCP frame,
 * GSO or not, has NEEDS_CSUM with csum_start/csum_offset set and the
 * checksum field holding only the pseudo-header sum (length included);
 * tp_status then has TP_STATUS_CSUMNOTREADY (8), plus 0x100 for GSO TCP.
 * So a rewritten frame must keep its vnet header when sent on (the kernel
 * or NIC finishes the checksum and segments), or the WASM must finish the
 * checksum itself. Such frames, sent with their vnet header, cross a veth
 * unchanged (still one GSO frame, still NEEDS_CSUM). Frames sent with an
 * all-zero vnet header arrive with an all-zero one.
 *
 * @module
 */

import type { IoRegion, PacketIo } from "./packet_io.ts";
import {
  addressOf,
  AF_PACKET,
  bind,
  close,
  EAGAIN,
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  ENOBUFS,
  ENOTSOCK,
  errno,
  LibcError,
  MSG_DONTWAIT,
  packetStatistics,
  pointerAt,
  poll,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  recvmmsg,
  sendmmsg,
  setsockoptInt,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  socket,
  SOL_SOCKET,
} from "../src/sys/libc.ts";

/** Bytes per `struct mmsghdr` on x86_64. */
export const MMSGHDR_SIZE = 64;
/** Bytes per `struct sockaddr_ll`. */
export const SOCKADDR_LL_SIZE = 20;
/** Bytes of the `struct virtio_net_hdr` in front of every frame (PACKET_VNET_HDR). */
export const VNET_HDR_SIZE = 10;
/** Longest wait in one receive(), so a worker notices shutdown promptly. */
export const MAX_POLL_MS = 100;

const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_AUXDATA = 8;
const PACKET_VNET_HDR = 15;
const PACKET_FANOUT = 18;
const PACKET_IGNORE_OUTGOING = 23;
const PACKET_QDISC_BYPASS = 20;
const PACKET_FANOUT_HASH = 0;
// Linux >= 6.2 (older kernels ignore the bit). A fanout member is fed by the
// group's hook, not its own, so PACKET_IGNORE_OUTGOING on the socket alone
// does not hide outgoing frames once it joins a group.
const PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
const SOCKET_BUFFER_BYTES = 4 << 20;
// A full socket buffer or qdisc (EAGAIN/ENOBUFS) is waited on this many
// times, 1 ms each, before the rest of the batch is dropped.
const TX_RETRIES = 4;

/** An interface the sockets attach to. */
export interface AfPacketInterface {
  /** Interface name, used in error messages. */
  name: string;
  /** Its ifindex in the current network namespace. */
  ifindex: number;
}

/** What {@link AfPacketIo} needs. */
export interface AfPacketOptions {
  /** The shared memory holding the region's mmsghdr arrays and everything they point at. */
  memory: WebAssembly.Memory;
  /** This worker's mmsghdr arrays. */
  region: IoRegion;
  /** Interfaces to receive from, one socket each; the same list, in the same order, in every worker. */
  interfaces: AfPacketInterface[];
  /**
   * Base PACKET_FANOUT group id (0..65535). A fanout group is bound to one
   * device, so the interface at position i joins group
   * {@link fanoutGroupId}(fanoutGroup, i); every worker passing the same base
   * shares each interface's frames by flow hash.
   */
  fanoutGroup: number;
}

/**
 * The PACKET_FANOUT group id used for the interface at `position`. Group
 * ids are per network namespace; pick bases so that the ranges
 * [base, base + interfaces) of different lvsd instances do not overlap.
 */
export function fanoutGroupId(fanoutGroup: number, position: number): number {
  return (fanoutGroup + position) & 0xffff;
}

/** Batched AF_PACKET I/O for one worker; see the module comment for the frame format. */
export class AfPacketIo implements PacketIo {
  /** Implementation name. */
  readonly kind = "af_packet";
  /**
   * Whether the kernel keeps frames sent on these interfaces (by lvsd or
   * the host) away from these sockets. False only on kernels before 6.2,
   * where fanout sockets also see PACKET_OUTGOING frames (sll_pkttype 4)
   * and the caller must skip them.
   */
  readonly ignoresOutgoing: boolean;

  #names: string[];
  #fds: number[] = [];
  #batch: number;
  #txBatch: number;
  #rx: Deno.PointerObject[] = [];
  #tx: Deno.PointerObject[] = [];
  // struct pollfd[n] for receive, and one for waiting on a full send buffer;
  // ArrayBuffer-backed so the storage is off the V8 heap and never moves.
  #pollBuf: ArrayBuffer;
  #pollPtr: Deno.PointerObject;
  #revents: Int16Array;
  #txPollBuf: ArrayBuffer;
  #txPollPtr: Deno.PointerObject;
  #next = 0;
  #closed = false;
  #txDropped = 0;
  #txErrors = 0;
  #lastTxErrno = 0;
  #rxErrors = 0;
  #rxDropped = 0;
  #lastRxErrno = 0;

  /** Opens and configures one socket per interface; throws a {@link LibcError} naming the interface. */
  constructor(options: AfPacketOptions) {
    const { memory, region, interfaces, fanoutGroup } = options;
    if (interfaces.length === 0) {
      throw new Error("Cannot open AF_PACKET sockets: no interfaces given");
    }
    if (
      !Number.isInteger(fanoutGroup) || fanoutGroup < 0 ||
      fanoutGroup > 0xffff
    ) {
      throw new RangeError(
        `Cannot open AF_PACKET sockets: fanout group ${fanoutGroup} is not in 0..65535`,
      );
    }
    const bytes = new Uint8Array(memory.buffer);
    const { rxHdrs, txHdrs, batch } = region;
    const txBatch = region.txBatch ?? batch;
    if (!Number.isInteger(batch) || batch < 1) {
      throw new RangeError(
        `Cannot open AF_PACKET sockets: batch ${batch} is not a positive integer`,
      );
    }
    if (!Number.isInteger(txBatch) || txBatch < batch) {
      throw new RangeError(`Cannot open AF_PACKET sockets: txBatch ${txBatch} is smaller than batch ${batch}`);
    }
    for (const [what, at, n] of [["rx", rxHdrs, batch], ["tx", txHdrs, txBatch]] as const) {
      if (
        !Number.isInteger(at) || at < 0 || at % 8 !== 0 ||
        at + n * MMSGHDR_SIZE > bytes.byteLength
      ) {
        throw new RangeError(
          `Cannot open AF_PACKET sockets: the ${what} mmsghdr array at ${at} (${n} entries) is not 8-byte aligned inside the ${bytes.byteLength}-byte memory`,
        );
      }
    }
    this.#batch = batch;
    this.#txBatch = txBatch;
    this.#names = interfaces.map((i) => i.name);

    // Every address the hot path passes to the kernel, made once: a pointer
    // object per entry costs nothing per call (see src/sys/libc.ts).
    const base = addressOf(bytes);
    for (let i = 0; i < batch; i++) this.#rx.push(pointerAt(base + rxHdrs + i * MMSGHDR_SIZE));
    for (let i = 0; i < txBatch; i++) this.#tx.push(pointerAt(base + txHdrs + i * MMSGHDR_SIZE));
    this.#pollBuf = new ArrayBuffer(8 * interfaces.length);
    this.#pollPtr = pointerAt(addressOf(new Uint8Array(this.#pollBuf)));
    this.#revents = new Int16Array(this.#pollBuf);
    this.#txPollBuf = new ArrayBuffer(8);
    this.#txPollPtr = pointerAt(addressOf(new Uint8Array(this.#txPollBuf)));

    try {
      interfaces.forEach((iface, position) => {
        const fd = openSocket(iface);
        this.#fds.push(fd);
        joinFanout(fd, fanoutGroupId(fanoutGroup, position), iface.name);
      });
    } catch (e) {
      this.close();
      throw e;
    }
    this.ignoresOutgoing = kernelAtLeast(6, 2);

    const fds = new Int32Array(this.#pollBuf);
    this.#fds.forEach((fd, i) => {
      fds[i * 2] = fd;
      this.#revents[i * 4 + 2] = POLLIN;
    });
    new Int32Array(this.#txPollBuf)[0] = this.#fds[0];
    new Int16Array(this.#txPollBuf)[2] = POLLOUT;
  }

  /**
   * The open socket fds (empty once closed), so a supervisor can close
   * them if this worker dies: a dead member would otherwise keep its share
   * of the fanout group's flows. Only while the worker has not closed them
   * itself: fd numbers are reused.
   */
  get fds(): number[] {
    return [...this.#fds];
  }

  /** Frames given up on because the send buffer or the device queue stayed full. */
  get txDropped(): number {
    return this.#txDropped;
  }

  /** Frames the kernel refused one by one (EMSGSIZE, ENETDOWN, EINVAL for a bad header, ...). */
  get txErrors(): number {
    return this.#txErrors;
  }

  /** The errno of the last refused frame (0 if none). */
  get lastTxErrno(): number {
    return this.#lastTxErrno;
  }

  /**
   * Frames the kernel dropped before lvsd read them (socket buffer full:
   * PACKET_STATISTICS tp_drops), summed over this io's sockets. Reading it
   * makes one getsockopt per socket: call it now and then, not per batch.
   */
  get rxDropped(): number {
    for (const fd of this.#fds) {
      const st = packetStatistics(fd);
      if (st) this.#rxDropped += st.drops;
    }
    return this.#rxDropped;
  }

  /** Receive errors passed over, e.g. ENETDOWN when an interface goes down. */
  get rxErrors(): number {
    return this.#rxErrors;
  }

  /** The errno of the last receive error passed over (0 if none). */
  get lastRxErrno(): number {
    return this.#lastRxErrno;
  }

  /**
   * Receives up to `max` frames into rx entries `first`, `first + 1`, ...
   * Tries every socket without waiting first (under load that is one
   * syscall per socket per batch); only when all are empty does it poll, for
   * at most min(timeoutMs, {@link MAX_POLL_MS}). The socket tried first
   * rotates so that one busy interface cannot starve another.
   *
   * The kernel shrinks msg_namelen and msg_controllen of filled entries to
   * what it wrote; reset them before the entry is used again.
   */
  receive(first: number, max: number, timeoutMs: number): number {
    if (this.#closed) {
      throw new Error("Cannot receive: the AF_PACKET sockets are closed");
    }
    if (first < 0 || max < 0 || first + max > this.#batch) {
      throw new RangeError(
        `Cannot receive ${max} frames at entry ${first}: the batch has ${this.#batch} entries`,
      );
    }
    if (max === 0) return 0;
    const got = this.#drain(first, max, false);
    if (got > 0 || timeoutMs <= 0) return got;
    const ready = poll(
      this.#pollPtr,
      this.#fds.length,
      timeoutMs < MAX_POLL_MS ? timeoutMs : MAX_POLL_MS,
    );
    if (ready > 0) return this.#drain(first, max, true);
    if (ready < 0) {
      const e = errno();
      if (e !== EINTR) {
        throw new LibcError("Cannot poll AF_PACKET sockets", e);
      }
    }
    return 0;
  }

  /**
   * Sends tx entries 0..count-1 on the first socket (msg_name picks the
   * interface), continuing after partial sends. A full buffer is waited on
   * briefly, then the rest counts as {@link txDropped}; a frame the kernel
   * refuses is skipped and counted in {@link txErrors}, so one bad frame
   * never stops a worker. Throws only if the socket or memory is unusable.
   */
  send(count: number): number {
    if (this.#closed) {
      throw new Error("Cannot send: the AF_PACKET sockets are closed");
    }
    if (count < 0 || count > this.#txBatch) {
      throw new RangeError(
        `Cannot send ${count} frames: the tx array has ${this.#txBatch} entries`,
      );
    }
    const fd = this.#fds[0];
    let next = 0;
    let sent = 0;
    let stalls = 0;
    while (next < count) {
      const r = sendmmsg(fd, this.#tx[next], count - next, MSG_DONTWAIT);
      if (r > 0) {
        next += r;
        sent += r;
        stalls = 0;
        continue;
      }
      const e = r < 0 ? errno() : EAGAIN;
      if (e === EINTR) continue;
      if (e === EAGAIN || e === ENOBUFS) {
        if (stalls++ === TX_RETRIES) {
          this.#txDropped += count - next;
          break;
        }
        // EAGAIN: wait for send-buffer space; ENOBUFS (the device queue
        // dropped it) has nothing to wait on, so just sleep 1 ms.
        poll(this.#txPollPtr, e === EAGAIN ? 1 : 0, 1);
        continue;
      }
      if (e === EBADF || e === EFAULT || e === ENOTSOCK) {
        throw new LibcError(
          `Cannot send on the AF_PACKET socket of "${this.#names[0]}"`,
          e,
        );
      }
      this.#txErrors++;
      this.#lastTxErrno = e;
      next++;
    }
    return sent;
  }

  /** Closes every socket; safe to call twice. */
  close(): void {
    this.#closed = true;
    for (const fd of this.#fds) close(fd);
    this.#fds = [];
  }

  #drain(first: number, max: number, polled: boolean): number {
    const fds = this.#fds;
    const n = fds.length;
    let got = 0;
    for (let k = 0; k < n && got < max; k++) {
      let i = this.#next + k;
      if (i >= n) i -= n;
      if (polled) {
        const revents = this.#revents[i * 4 + 3];
        if (revents === 0) continue;
        if (revents & POLLNVAL) {
          throw new LibcError(
            `Cannot poll the AF_PACKET socket of "${this.#names[i]}"`,
            EBADF,
          );
        }
      }
      const r = recvmmsg(
        fds[i],
        this.#rx[first + got],
        max - got,
        MSG_DONTWAIT,
      );
      if (r > 0) got += r;
      else if (r < 0) this.#receiveError(i);
    }
    this.#next = this.#next + 1 === n ? 0 : this.#next + 1;
    return got;
  }

  #receiveError(i: number): void {
    const e = errno();
    if (e === EAGAIN || e === EINTR) return;
    if (e === EBADF || e === EFAULT || e === ENOTSOCK || e === EINVAL) {
      throw new LibcError(
        `Cannot receive from the AF_PACKET socket of "${this.#names[i]}"`,
        e,
      );
    }
    // ENETDOWN and the like: the interface went down; the socket resumes
    // when it comes back up, so this is the supervisor's business.
    this.#rxErrors++;
    this.#lastRxErrno = e;
  }
}

function openSocket(iface: AfPacketInterface): number {
  const { name, ifindex } = iface;
  // Protocol 0: the socket receives nothing until bind() names the
  // interface and ETH_P_ALL, so no frame from another interface slips in
  // while the options are being set.
  const fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw LibcError.fromErrno(`Cannot open AF_PACKET socket on "${name}"`);
  }
  try {
    const set = (level: number, option: number, label: string, v = 1) => {
      if (setsockoptInt(fd, level, option, v) < 0) {
        throw LibcError.fromErrno(
          `Cannot set ${label} on the AF_PACKET socket of "${name}"`,
        );
      }
    };
    set(SOL_PACKET, PACKET_VNET_HDR, "PACKET_VNET_HDR");
    set(SOL_PACKET, PACKET_AUXDATA, "PACKET_AUXDATA");
    set(SOL_PACKET, PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING");
    // Frames lvsd sends skip the qdisc layer (as pktgen does): the director
    // forwards, it does not shape, and the qdisc lock and enqueue/dequeue
    // are a measurable part of the per-frame send cost.
    set(SOL_PACKET, PACKET_QDISC_BYPASS, "PACKET_QDISC_BYPASS");
    // The FORCE variants ignore net.core.[rw]mem_max but need CAP_NET_ADMIN.
    if (
      setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER_BYTES) < 0
    ) {
      set(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", SOCKET_BUFFER_BYTES);
    }
    if (
      setsockoptInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER_BYTES) < 0
    ) {
      set(SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", SOCKET_BUFFER_BYTES);
    }
    const addr = new Uint8Array(SOCKADDR_LL_SIZE);
    const view = new DataView(addr.buffer);
    view.setUint16(0, AF_PACKET, true);
    view.setUint16(2, ETH_P_ALL, false); // network byte order
    view.setInt32(4, ifindex, true);
    if (bind(fd, addr) < 0) {
      throw LibcError.fromErrno(
        `Cannot bind AF_PACKET socket to "${name}" (ifindex ${ifindex})`,
      );
    }
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** Joins fanout group `id`, hashing flows across its members. */
function joinFanout(fd: number, id: number, name: string): void {
  const arg = id |
    ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_IGNORE_OUTGOING) << 16);
  if (setsockoptInt(fd, SOL_PACKET, PACKET_FANOUT, arg) < 0) {
    throw LibcError.fromErrno(
      `Cannot join PACKET_FANOUT group ${id} on "${name}"`,
    );
  }
}

/** Whether the running kernel is at least `major.minor`. */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = Deno.osRelease().split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}
