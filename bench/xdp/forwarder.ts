/**
 * The probe's forwarder: receives every frame on one interface, rewrites it
 * as a router would (Ethernet addresses to the next hop, IPv4 TTL - 1 with
 * the checksum patched, RFC 1624) and sends it out of another, with one of
 * two packet I/O paths:
 *
 * - `packet`: lvsd's own AF_PACKET PacketIo (workers/af_packet.ts:
 *   recvmmsg/sendmmsg batches, PACKET_VNET_HDR, PACKET_AUXDATA,
 *   PACKET_QDISC_BYPASS), its buffers in a shared WebAssembly.Memory;
 * - `xdp`: an XDP program (native mode, BPF link) redirecting the in
 *   interface's queue 0 into an AF_XDP socket whose UMEM is a region of a
 *   shared WebAssembly.Memory, and a second socket on the out interface
 *   sharing that UMEM, so a frame is sent from where it was received.
 *
 * The frame rewrite is the same JS in both (a few byte stores), so the
 * difference measured is the I/O path. The loop never waits busily: when
 * nothing is ready it blocks in poll(2) (at most 100 ms), like a worker.
 *
 *     deno run -A bench/xdp/forwarder.ts --mode xdp|packet --in IF --out IF
 *       --next-hop-mac MAC [--batch 64] [--seconds 60] [--stop FILE]
 *
 * Prints `{"ready":…}` once it forwards, and one JSON line of counters when
 * it stops (the stop file appears, or after --seconds). Run it as root in
 * the namespace that holds the interfaces.
 *
 * @module
 */

import { AfPacketIo, MMSGHDR_SIZE, VNET_HDR_SIZE } from "../../workers/af_packet.ts";
import { addressOf, close, EAGAIN, pointerAt, poll, POLLIN } from "../../src/sys/libc.ts";
import { interfaceIndex, interfaceMac, parseMac } from "../../src/sys/netdev.ts";
import {
  attachXdpLink,
  createXskMap,
  loadXdpProgram,
  redirectAllToXsk,
  XDP_FLAGS_DRV_MODE,
  xskMapSet,
} from "../../src/sys/bpf.ts";
import {
  pageAlignedOffset,
  XDP_COPY,
  XDP_RING_NEED_WAKEUP,
  XDP_USE_NEED_WAKEUP,
  XskSocket,
} from "../../src/sys/xsk.ts";

interface Args {
  mode: "xdp" | "packet";
  in: string;
  out: string;
  nextHopMac: Uint8Array;
  batch: number;
  seconds: number;
  stop: string;
}

function parseArgs(argv: string[]): Args {
  const a: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, "")] = argv[i + 1];
  const mode = a.mode;
  if (mode !== "xdp" && mode !== "packet") {
    throw new Error(`Cannot run the forwarder: --mode "${mode}" is not xdp or packet`);
  }
  if (!a.in || !a.out || !a["next-hop-mac"]) {
    throw new Error("Cannot run the forwarder: --in, --out and --next-hop-mac are required");
  }
  const batch = Number(a.batch ?? 64);
  const seconds = Number(a.seconds ?? 60);
  if (!(batch >= 1 && batch <= 256)) throw new Error(`Cannot run the forwarder: --batch ${a.batch} is not in 1..256`);
  if (!(seconds > 0 && seconds <= 600)) {
    throw new Error(`Cannot run the forwarder: --seconds ${a.seconds} is not in (0, 600]`);
  }
  return {
    mode,
    in: a.in,
    out: a.out,
    nextHopMac: parseMac(a["next-hop-mac"]),
    batch,
    seconds,
    stop: a.stop ?? "",
  };
}

/** Counters both paths report. */
interface Counters {
  /** The first frame received, before the rewrite (hex), to see what the kernel hands over. */
  firstFrame?: string;
  rx: number;
  tx: number;
  dropped: number;
  polls: number;
  loops: number;
  [k: string]: number | string | boolean | Record<string, number> | undefined;
}

/**
 * Router rewrite of the frame at `at` (`len` bytes) in `b`: destination MAC
 * ← next hop, source MAC ← our out interface, IPv4 TTL - 1 with the header
 * checksum patched incrementally (RFC 1624: the TTL is the high byte of its
 * 16-bit word, so the sum grows by 0x0100). False (drop) for a non-IPv4
 * frame or an expiring TTL. Allocates nothing.
 */
function makeRewrite(nextHop: Uint8Array, self: Uint8Array) {
  const [d0, d1, d2, d3, d4, d5] = nextHop;
  const [s0, s1, s2, s3, s4, s5] = self;
  return (b: Uint8Array, at: number, len: number): boolean => {
    if (len < 34 || b[at + 12] !== 0x08 || b[at + 13] !== 0x00) return false;
    const ttl = b[at + 22];
    if (ttl <= 1) return false;
    b[at] = d0, b[at + 1] = d1, b[at + 2] = d2, b[at + 3] = d3, b[at + 4] = d4, b[at + 5] = d5;
    b[at + 6] = s0, b[at + 7] = s1, b[at + 8] = s2, b[at + 9] = s3, b[at + 10] = s4, b[at + 11] = s5;
    b[at + 22] = ttl - 1;
    let sum = ((b[at + 24] << 8) | b[at + 25]) + 0x0100;
    sum = (sum & 0xffff) + (sum >>> 16);
    b[at + 24] = sum >>> 8;
    b[at + 25] = sum & 0xff;
    return true;
  };
}

function hex(b: Uint8Array, at: number, len: number): string {
  return Array.from(b.subarray(at, at + Math.min(len, 128)), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Checks, at most every 100 ms of loops, whether to stop. */
function makeStopper(args: Args) {
  const until = performance.now() + args.seconds * 1000;
  let next = 0;
  return (): boolean => {
    const now = performance.now();
    if (now < next) return false;
    next = now + 100;
    if (now >= until) return true;
    if (!args.stop) return false;
    try {
      Deno.statSync(args.stop);
      return true;
    } catch {
      return false;
    }
  };
}

function runPacket(args: Args): Counters {
  const batch = args.batch;
  const inIndex = interfaceIndex(args.in);
  const outIndex = interfaceIndex(args.out);
  const rewrite = makeRewrite(args.nextHopMac, interfaceMac(args.out));
  const FRAME = 2048 + VNET_HDR_SIZE;
  // Layout in the memory: rx mmsghdrs | tx mmsghdrs | iovecs | names | control | frames.
  const RX = 0;
  const TX = RX + batch * MMSGHDR_SIZE;
  const RX_IOV = TX + batch * MMSGHDR_SIZE;
  const TX_IOV = RX_IOV + batch * 16;
  const NAMES = TX_IOV + batch * 16;
  const TX_NAME = NAMES + batch * 24;
  const CTL = TX_NAME + 24;
  const CTL_SIZE = 64;
  const FRAMES = (CTL + batch * CTL_SIZE + 4095) & ~4095;
  const memory = new WebAssembly.Memory({
    initial: Math.ceil((FRAMES + batch * FRAME) / 65536) + 1,
    shared: true,
    maximum: 1024,
  });
  const bytes = new Uint8Array(memory.buffer);
  const dv = new DataView(memory.buffer);
  const u32 = new Uint32Array(memory.buffer);
  const base = addressOf(bytes);
  const put64 = (at: number, v: number) => dv.setBigUint64(at, BigInt(v), true);
  for (let i = 0; i < batch; i++) {
    const r = RX + i * MMSGHDR_SIZE;
    put64(r, base + NAMES + i * 24);
    dv.setUint32(r + 8, 20, true);
    put64(r + 16, base + RX_IOV + i * 16);
    put64(r + 24, 1);
    put64(r + 32, base + CTL + i * CTL_SIZE);
    put64(r + 40, CTL_SIZE);
    put64(RX_IOV + i * 16, base + FRAMES + i * FRAME);
    put64(RX_IOV + i * 16 + 8, FRAME);
    const t = TX + i * MMSGHDR_SIZE;
    put64(t, base + TX_NAME);
    dv.setUint32(t + 8, 20, true);
    put64(t + 16, base + TX_IOV + i * 16);
    put64(t + 24, 1);
    put64(TX_IOV + i * 16, base + FRAMES + i * FRAME);
  }
  // Each frame's address as two u32 words, so the loop copies words and
  // never handles a number above 2^31 (which V8 would box).
  const frameAddr = new Uint32Array(batch * 2);
  for (let i = 0; i < batch; i++) {
    const addr = base + FRAMES + i * FRAME;
    frameAddr[i * 2] = addr % 0x100000000;
    frameAddr[i * 2 + 1] = Math.floor(addr / 0x100000000);
  }
  // struct sockaddr_ll naming the out interface (family, protocol ETH_P_IP, ifindex).
  dv.setUint16(TX_NAME, 17, true);
  dv.setUint16(TX_NAME + 2, 0x0800, false);
  dv.setInt32(TX_NAME + 4, outIndex, true);
  dv.setUint8(TX_NAME + 11, 6);

  const io = new AfPacketIo({
    memory,
    region: { rxHdrs: RX, txHdrs: TX, batch },
    interfaces: [{ name: args.in, ifindex: inIndex }],
    fanoutGroup: 4242,
  });
  const c: Counters = { rx: 0, tx: 0, dropped: 0, polls: 0, loops: 0 };
  const stop = makeStopper(args);
  console.log(JSON.stringify({ ready: "packet", in: args.in, out: args.out }));
  try {
    while (true) {
      c.loops++;
      const n = io.receive(0, batch, 100);
      if (n === 0) {
        c.polls++;
        if (stop()) break;
        continue;
      }
      if (c.rx === 0) c.firstFrame = hex(bytes, FRAMES, u32[(RX >>> 2) + 14]);
      c.rx += n;
      let out = 0;
      for (let i = 0; i < n; i++) {
        const r = (RX + i * MMSGHDR_SIZE) >>> 2;
        const len = u32[r + 14]; // msg_len @56
        u32[r + 2] = 20; // msg_namelen back to full size
        u32[r + 10] = CTL_SIZE; // msg_controllen
        // Send entry `out` points at frame `out`; forward in place by
        // pointing it at frame i.
        if (!rewrite(bytes, FRAMES + i * FRAME + VNET_HDR_SIZE, len - VNET_HDR_SIZE)) {
          c.dropped++;
          continue;
        }
        const iov = (TX_IOV + out * 16) >>> 2;
        u32[iov] = frameAddr[i * 2];
        u32[iov + 1] = frameAddr[i * 2 + 1];
        u32[iov + 2] = len;
        out++;
      }
      if (out > 0) c.tx += io.send(out);
      if ((c.loops & 1023) === 0 && stop()) break;
    }
    c.txDropped = io.txDropped;
    c.txErrors = io.txErrors;
    c.rxDroppedKernel = io.rxDropped;
  } finally {
    io.close();
  }
  return c;
}

function runXdp(args: Args): Counters {
  const batch = args.batch;
  // Rings as deep as the AF_PACKET socket's 4 MiB receive buffer (about
  // 4-5k small frames), so both paths ride out the same scheduling gaps.
  const CHUNK = 2048;
  const CHUNKS = 8192;
  const RING = 4096;
  const memory = new WebAssembly.Memory({ initial: (CHUNKS * CHUNK) / 65536 + 1, maximum: 1024, shared: true });
  const bytes = new Uint8Array(memory.buffer);
  const umemOffset = pageAlignedOffset(memory, 0);
  const inIndex = interfaceIndex(args.in);
  const outIndex = interfaceIndex(args.out);
  const rewrite = makeRewrite(args.nextHopMac, interfaceMac(args.out));

  const fds: number[] = [];
  const socks: XskSocket[] = [];
  try {
    const rxSock = XskSocket.open({
      ifname: args.in,
      ifindex: inIndex,
      queue: 0,
      umem: { memory, offset: umemOffset, chunks: CHUNKS, chunkSize: CHUNK },
      rxSize: RING,
      txSize: 0,
      fillSize: CHUNKS,
      completionSize: RING,
      bindFlags: XDP_COPY | XDP_USE_NEED_WAKEUP,
    });
    socks.push(rxSock);
    // Another device: the kernel wants this socket's own fill and completion
    // rings (its own buffer pool over the same UMEM). Its fill ring stays
    // empty: nothing is redirected to it.
    const txSock = XskSocket.open({
      ifname: args.out,
      ifindex: outIndex,
      queue: 0,
      shareWith: rxSock,
      rxSize: 0,
      txSize: RING,
      fillSize: 64,
      completionSize: CHUNKS,
      bindFlags: 0,
      txBudget: RING,
    });
    socks.push(txSock);
    const map = createXskMap(1, "probe_xsks");
    fds.push(map);
    xskMapSet(map, 0, rxSock.fd);
    const prog = loadXdpProgram(redirectAllToXsk(map), "probe_redirect");
    fds.push(prog);
    const link = attachXdpLink(prog, inIndex, XDP_FLAGS_DRV_MODE, args.in);
    fds.push(link);

    const rx = rxSock.rx!, fill = rxSock.fill!, tx = txSock.tx!, comp = txSock.completion!;
    const rxE = rx.entries, fillE = fill.entries, txE = tx.entries, compE = comp.entries;
    const rxMask = rx.mask, fillMask = fill.mask, txMask = tx.mask, compMask = comp.mask;
    // Our side of each index, kept locally; the kernel's side is read with
    // Atomics. All are u32 in the rings: locals wrap with >>> 0.
    let rxCons = rx.consumer[0], fillProd = fill.producer[0], txProd = tx.producer[0], compCons = comp.consumer[0];
    for (let k = 0; k < CHUNKS; k++) {
      const e = ((fillProd + k) & fillMask) * 2;
      fillE[e] = k * CHUNK;
      fillE[e + 1] = 0;
    }
    fillProd = (fillProd + CHUNKS) >>> 0;
    Atomics.store(fill.producer, 0, fillProd);

    // struct pollfd { int fd; short events; short revents; }. The kernel
    // writes revents through pollPtr, and a pointer does not keep its buffer
    // alive: `pollFd` is read after every poll so the buffer outlives the
    // loop. (Without that, V8 freed it mid-run and poll's revents store
    // corrupted malloc's free lists: SIGSEGV in a V8 worker thread.)
    const pollFd = new Int16Array(new ArrayBuffer(8));
    new Int32Array(pollFd.buffer)[0] = rxSock.fd;
    pollFd[2] = POLLIN;
    const pollPtr = pointerAt(addressOf(new Uint8Array(pollFd.buffer)));

    const c: Counters = {
      rx: 0,
      tx: 0,
      dropped: 0,
      polls: 0,
      loops: 0,
      kicks: 0,
      kickEagain: 0,
      kickOtherErr: 0,
      txNeedWakeupSeen: 0,
      txNoWakeupSeen: 0,
      fillNeedWakeupSeen: 0,
      txRingFull: 0,
      zeroCopy: rxSock.zeroCopy,
      txBudgetSet: txSock.txBudgetSet,
    };
    let pollErrors = 0, pollTimeouts = 0, pollEmpty = 0;
    let kicks = 0, kickEagain = 0, kickOther = 0, txNeed = 0, txNoNeed = 0, fillNeed = 0, txFull = 0;
    const kick = (): number => {
      kicks++;
      const e = txSock.kick();
      if (e === EAGAIN) kickEagain++;
      else if (e !== 0) kickOther++;
      return e;
    };
    const stop = makeStopper(args);
    console.log(JSON.stringify({ ready: "xdp", in: args.in, out: args.out, zeroCopy: rxSock.zeroCopy }));
    let pendingTx = false;
    while (true) {
      c.loops++;
      // Frames the out device has sent go back to the in socket's fill ring.
      const cp = Atomics.load(comp.producer, 0);
      const done = (cp - compCons) >>> 0;
      if (done > 0) {
        for (let j = 0; j < done; j++) {
          const f = ((fillProd + j) & fillMask) * 2;
          const s = ((compCons + j) & compMask) * 2;
          fillE[f] = compE[s];
          fillE[f + 1] = 0;
        }
        fillProd = (fillProd + done) >>> 0;
        compCons = (compCons + done) >>> 0;
        Atomics.store(fill.producer, 0, fillProd);
        Atomics.store(comp.consumer, 0, compCons);
      }
      if (Atomics.load(fill.flags, 0) & XDP_RING_NEED_WAKEUP) {
        fillNeed++;
        rxSock.wakeRx();
      }
      let n = (Atomics.load(rx.producer, 0) - rxCons) >>> 0;
      if (n === 0) {
        if (pendingTx) {
          // The last kick left frames on the tx ring (EAGAIN): retry before sleeping.
          pendingTx = kick() === EAGAIN;
          if (pendingTx) continue;
        }
        c.polls++;
        const ready = poll(pollPtr, 1, 100);
        if (ready < 0 || (pollFd[3] & ~POLLIN) !== 0) pollErrors++;
        else if (ready === 0) pollTimeouts++;
        else if (Atomics.load(rx.producer, 0) === rxCons) pollEmpty++;
        if (stop()) break;
        continue;
      }
      if (n > batch) n = batch;
      if (c.rx === 0) {
        c.firstFrame = hex(bytes, umemOffset + rxE[(rxCons & rxMask) * 4], rxE[(rxCons & rxMask) * 4 + 2]);
      }
      const txFree = tx.size - ((txProd - Atomics.load(tx.consumer, 0)) >>> 0);
      let queued = 0;
      for (let i = 0; i < n; i++) {
        const e = ((rxCons + i) & rxMask) * 4;
        const addr = rxE[e];
        const len = rxE[e + 2];
        if (queued < txFree && rewrite(bytes, umemOffset + addr, len)) {
          const t = ((txProd + queued) & txMask) * 4;
          txE[t] = addr;
          txE[t + 1] = 0;
          txE[t + 2] = len;
          txE[t + 3] = 0;
          queued++;
        } else {
          // Dropped: the chunk goes straight back to the fill ring.
          if (queued >= txFree) txFull++;
          const f = (fillProd & fillMask) * 2;
          fillE[f] = addr;
          fillE[f + 1] = 0;
          fillProd = (fillProd + 1) >>> 0;
          c.dropped++;
        }
      }
      rxCons = (rxCons + n) >>> 0;
      Atomics.store(rx.consumer, 0, rxCons);
      Atomics.store(fill.producer, 0, fillProd);
      c.rx += n;
      if (queued > 0) {
        txProd = (txProd + queued) >>> 0;
        Atomics.store(tx.producer, 0, txProd);
        c.tx += queued;
        if (Atomics.load(tx.flags, 0) & XDP_RING_NEED_WAKEUP) {
          txNeed++;
          pendingTx = kick() === EAGAIN;
        } else {
          txNoNeed++;
        }
      }
      if ((c.loops & 1023) === 0 && stop()) break;
    }

    Object.assign(c, {
      kicks,
      kickEagain,
      kickOtherErr: kickOther,
      txNeedWakeupSeen: txNeed,
      txNoWakeupSeen: txNoNeed,
      fillNeedWakeupSeen: fillNeed,
      txRingFull: txFull,
      pollErrors,
      pollTimeouts,
      pollEmpty,
      rxSocket: { ...rxSock.stats() },
      txSocket: { ...txSock.stats() },
    });
    return c;
  } finally {
    // Closing the link fd detaches the program; the process exit would too.
    for (const fd of fds.reverse()) close(fd);
    for (const s of socks.reverse()) s.close();
  }
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const t0 = performance.now();
  const c = args.mode === "xdp" ? runXdp(args) : runPacket(args);
  console.log(JSON.stringify({ done: args.mode, seconds: (performance.now() - t0) / 1000, ...c }));
}
