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

/** Runs until the stop word is set (returns) or a fatal error (throws). */
export function runReceiver(opts: ReceiverOptions): void {
  const { socketFd, vips, counters } = opts;
  const values = counters.values;
  const control = counters.control;
  const parse = opts.tunType === "ipip" ? parseIpip : parseGue;
  const tun = new TunWriter(opts.tunFd);

  const buffers = new Uint8Array(new ArrayBuffer(BATCH * BUFFER_SIZE));
  const view = new DataView(buffers.buffer);
  const bufBase = addressOf(buffers);
  const iovs = new ArrayBuffer(BATCH * IOVEC_SIZE);
  const iovBase = addressOf(new Uint8Array(iovs));
  const hdrs = new ArrayBuffer(BATCH * MMSGHDR_SIZE);
  const hdrPtr = pointerAt(addressOf(new Uint8Array(hdrs)));
  // struct mmsghdr (x86_64): msg_name @0, msg_namelen @8, msg_iov @16,
  // msg_iovlen @24, msg_control @32, msg_controllen @40, msg_flags @48,
  // msg_len @56. No name or control data is asked for.
  const iovView = new DataView(iovs);
  const hdrView = new DataView(hdrs);
  for (let i = 0; i < BATCH; i++) {
    iovView.setBigUint64(i * IOVEC_SIZE, BigInt(bufBase + i * BUFFER_SIZE), true);
    iovView.setBigUint64(i * IOVEC_SIZE + 8, BigInt(BUFFER_SIZE), true);
    hdrView.setBigUint64(i * MMSGHDR_SIZE + 16, BigInt(iovBase + i * IOVEC_SIZE), true);
    hdrView.setBigUint64(i * MMSGHDR_SIZE + 24, 1n, true);
  }
  const hdrU32 = new Uint32Array(hdrs);
  const pollBuf = new ArrayBuffer(8);
  new Int32Array(pollBuf)[0] = socketFd;
  new Int16Array(pollBuf)[2] = POLLIN;
  const pollPtr = pointerAt(addressOf(new Uint8Array(pollBuf)));
  const inner = new InnerPacket();

  while (Atomics.load(control, CONTROL_STOP) === 0) {
    const ready = poll(pollPtr, 1, POLL_MS);
    if (ready < 0) {
      if (errno() === EINTR) continue;
      throw LibcError.fromErrno(`Cannot wait for tunnelled packets on ${opts.tunType} socket`);
    }
    if (ready === 0) continue;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE; round++) {
      const n = recvmmsg(socketFd, hdrPtr, BATCH, MSG_DONTWAIT);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        // Nothing left, or a transient shortage: back to poll.
        if (e === EAGAIN || e === ENOMEM || e === ENOBUFS) break;
        throw LibcError.fromErrno(`Cannot receive tunnelled packets on ${opts.tunType} socket`);
      }
      for (let i = 0; i < n; i++) {
        values[RECEIVED]++;
        const length = hdrU32[(i * MMSGHDR_SIZE + 56) >> 2];
        const flags = hdrU32[(i * MMSGHDR_SIZE + 48) >> 2];
        if (flags & MSG_TRUNC) {
          values[verdictCounter(Verdict.truncated)]++;
          continue;
        }
        const start = i * BUFFER_SIZE;
        const verdict = parse(buffers, view, start, length, vips, inner);
        if (verdict !== Verdict.decapsulated) {
          values[verdictCounter(verdict)]++;
          continue;
        }
        if (tun.write(bufBase + inner.offset, inner.length) < 0) {
          const e = errno();
          values[WRITE_ERROR]++;
          Atomics.store(control, CONTROL_LAST_WRITE_ERRNO, e);
          // The device was deleted under us: every further write fails too.
          if (e === EBADFD) {
            throw new LibcError(`Cannot write to TUN device "${opts.device}": it no longer exists`, e);
          }
          continue;
        }
        values[verdictCounter(Verdict.decapsulated)]++;
      }
      if (n < BATCH) break;
    }
  }
}
