/**
 * The receive loop of `lvsd decap`: tunnelled packets in with recvmmsg
 * (up to {@link BATCH} per system call), inner packets out to the TUN device
 * with one write each (a TUN fd takes one packet per write). It blocks its
 * thread, so it runs in a Worker; the main thread stops it through a shared
 * control word, which the loop checks at least every {@link POLL_MS} ms.
 *
 * Steady state allocates nothing: the receive buffers, the mmsghdr/iovec
 * arrays and the pollfd are made once, the kernel gets pointer objects made
 * once, and per-packet results go into one reused {@link InnerPacket}.
 *
 * Errors are bounded: EINTR/EAGAIN retry, a transient ENOMEM/ENOBUFS on
 * receive waits for the next poll, a failed TUN write is counted
 * (`write_error`, last errno kept) and the loop goes on; a socket or device
 * that is gone (EBADF, EBADFD, ...) ends the loop with an error naming it.
 *
 * @module
 */
import {
  addressOf,
  EAGAIN,
  EBADFD,
  EINTR,
  ENOBUFS,
  ENOMEM,
  errno,
  LibcError,
  MSG_DONTWAIT,
  MSG_TRUNC,
  pointerAt,
  poll,
  POLLIN,
  recvmmsg,
} from "../sys/libc.ts";
import { TunWriter } from "../sys/tun.ts";
import {
  CONTROL_LAST_WRITE_ERRNO,
  CONTROL_STOP,
  DecapCounters,
  RECEIVED,
  verdictCounter,
  WRITE_ERROR,
} from "./counters.ts";
import { InnerPacket, parseGue, parseIpip, Verdict } from "./parse.ts";
import type { TunType } from "./socket.ts";

/** Packets per recvmmsg. */
export const BATCH = 32;
/** Bytes per receive buffer: the largest IPv4 datagram (a reassembled one can be that long). */
export const BUFFER_SIZE = 65536;
/** Longest wait in poll before the stop word is checked again. */
export const POLL_MS = 100;
// Batches taken per wakeup before poll and the stop word are looked at again.
const MAX_BATCHES_PER_WAKE = 64;

const MMSGHDR_SIZE = 64;
const IOVEC_SIZE = 16;

/** What the loop needs; every fd belongs to the process and stays open while it runs. */
export interface ReceiverOptions {
  tunType: TunType;
  /** The socket from openTunnelSocket(). */
  socketFd: number;
  /** The TUN device's fd. */
  tunFd: number;
  /** TUN device name, for error messages. */
  device: string;
  /** VIPs (vipTable()). */
  vips: Uint32Array;
  counters: DecapCounters;
}

/**
 * Runs until the stop word is set (returns) or a fatal error (throws);
 * `onReady` is called once the buffers are set up and packets are taken.
 */
export function runReceiver(opts: ReceiverOptions, onReady: () => void = () => {}): void {
  const receiver = new Receiver(opts);
  onReady();
  const control = opts.counters.control;
  while (Atomics.load(control, CONTROL_STOP) === 0) receiver.step(POLL_MS);
}

/** The receive buffers and system-call arguments, made once; {@link step} moves packets. */
export class Receiver {
  #opts: ReceiverOptions;
  #parse: typeof parseIpip;
  #tun: TunWriter;
  #buffers: Uint8Array;
  #view: DataView;
  #bufBase: number;
  #hdrPtr: Deno.PointerObject;
  #hdrU32: Uint32Array;
  #pollPtr: Deno.PointerObject;
  #inner = new InnerPacket();
  // Keep the iovec and pollfd storage referenced: the kernel is given their addresses.
  #iovs: ArrayBuffer;
  #pollBuf: ArrayBuffer;

  constructor(opts: ReceiverOptions) {
    this.#opts = opts;
    this.#parse = opts.tunType === "ipip" ? parseIpip : parseGue;
    this.#tun = new TunWriter(opts.tunFd);
    this.#buffers = new Uint8Array(new ArrayBuffer(BATCH * BUFFER_SIZE));
    this.#view = new DataView(this.#buffers.buffer);
    this.#bufBase = addressOf(this.#buffers);
    this.#iovs = new ArrayBuffer(BATCH * IOVEC_SIZE);
    const iovBase = addressOf(new Uint8Array(this.#iovs));
    const hdrs = new ArrayBuffer(BATCH * MMSGHDR_SIZE);
    this.#hdrPtr = pointerAt(addressOf(new Uint8Array(hdrs)));
    // struct mmsghdr (x86_64): msg_name @0, msg_namelen @8, msg_iov @16,
    // msg_iovlen @24, msg_control @32, msg_controllen @40, msg_flags @48,
    // msg_len @56. No name or control data is asked for.
    const iovView = new DataView(this.#iovs);
    const hdrView = new DataView(hdrs);
    for (let i = 0; i < BATCH; i++) {
      iovView.setBigUint64(i * IOVEC_SIZE, BigInt(this.#bufBase + i * BUFFER_SIZE), true);
      iovView.setBigUint64(i * IOVEC_SIZE + 8, BigInt(BUFFER_SIZE), true);
      hdrView.setBigUint64(i * MMSGHDR_SIZE + 16, BigInt(iovBase + i * IOVEC_SIZE), true);
      hdrView.setBigUint64(i * MMSGHDR_SIZE + 24, 1n, true);
    }
    this.#hdrU32 = new Uint32Array(hdrs);
    this.#pollBuf = new ArrayBuffer(8);
    new Int32Array(this.#pollBuf)[0] = opts.socketFd;
    new Int16Array(this.#pollBuf)[2] = POLLIN;
    this.#pollPtr = pointerAt(addressOf(new Uint8Array(this.#pollBuf)));
  }

  /**
   * Waits up to `timeoutMs` for packets, then handles what is there (at most
   * MAX_BATCHES_PER_WAKE batches): the number of packets received.
   */
  step(timeoutMs: number): number {
    const { socketFd, vips, counters, tunType } = this.#opts;
    const values = counters.values;
    const buffers = this.#buffers;
    const view = this.#view;
    const hdrU32 = this.#hdrU32;
    const inner = this.#inner;
    const parse = this.#parse;
    const ready = poll(this.#pollPtr, 1, timeoutMs);
    if (ready < 0) {
      if (errno() === EINTR) return 0;
      throw LibcError.fromErrno(`Cannot wait for tunnelled packets on the ${tunType} socket`);
    }
    if (ready === 0) return 0;
    let total = 0;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE; round++) {
      const n = recvmmsg(socketFd, this.#hdrPtr, BATCH, MSG_DONTWAIT);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        // Nothing left, or a transient shortage: back to poll.
        if (e === EAGAIN || e === ENOMEM || e === ENOBUFS) break;
        throw LibcError.fromErrno(`Cannot receive tunnelled packets on the ${tunType} socket`);
      }
      total += n;
      for (let i = 0; i < n; i++) {
        values[RECEIVED]++;
        const length = hdrU32[(i * MMSGHDR_SIZE + 56) >> 2];
        const flags = hdrU32[(i * MMSGHDR_SIZE + 48) >> 2];
        if (flags & MSG_TRUNC) {
          values[verdictCounter(Verdict.truncated)]++;
          continue;
        }
        const verdict = parse(buffers, view, i * BUFFER_SIZE, length, vips, inner);
        if (verdict !== Verdict.decapsulated) {
          values[verdictCounter(verdict)]++;
          continue;
        }
        if (this.#tun.write(this.#bufBase + inner.offset, inner.length) < 0) {
          const e = errno();
          values[WRITE_ERROR]++;
          Atomics.store(counters.control, CONTROL_LAST_WRITE_ERRNO, e);
          // The device was deleted under us: every further write fails too.
          if (e === EBADFD) {
            throw new LibcError(`Cannot write to TUN device "${this.#opts.device}": it no longer exists`, e);
          }
          continue;
        }
        values[verdictCounter(Verdict.decapsulated)]++;
      }
      if (n < BATCH) break;
    }
    return total;
  }
}
