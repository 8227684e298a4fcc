/**
 * The PacketIo conformance run, shared by every implementation
 * (packet_io_conformance_test.ts runs it for af_packet and af_xdp). It runs
 * as a child process inside a test namespace holding a veth pair va/vb
 * (`deno run packet_io_conformance.ts KIND`), with --expose-gc --trace-gc,
 * and prints one JSON line of observations on stderr; the test asserts.
 *
 * The implementation under test serves va with worker 0's region of a real
 * SharedState, laid out by the WASM's io_init exactly as in production; the
 * far end is an AfPacketIo on vb (worker 1's region) that sends UDP frames
 * to a VIP at va's MAC and counts what comes back. Checked:
 *  - an idle receive() waits about its timeout (≤ 100 ms) and returns 0 (no busy return);
 *  - frames arrive whole in the rx entries: msg_len = 10 + frame, a zeroed
 *    virtio header in front, sll_ifindex, the bytes where the iovec points;
 *  - frames rewritten in place and put in tx entries leave, all of them;
 *  - a frame built outside the receive buffers (a segment) leaves too;
 *  - the receive → reflect → send loop allocates nothing (no GC in a
 *    bracketed window of thousands of frames);
 *  - close() twice is safe and receive() after close() throws.
 */
import { SharedState } from "../src/dataplane/shared_state.ts";
import { interfaceIndex, interfaceMac } from "../src/sys/netdev.ts";
import { AfPacketIo } from "./af_packet.ts";
import { AfXdpIo } from "./af_xdp.ts";
import { XdpAttachment } from "../src/xdp/attach.ts";
import type { PacketIo } from "./packet_io.ts";

declare const gc: () => void;

/** The VIP the test frames go to (the XDP program redirects only what lvsd owns). */
export const CONFORMANCE_VIP = [10, 99, 0, 100];
const MARK = 0x4c565344; // "LVSD" at the start of every test payload
const FRAME_LEN = 14 + 20 + 8 + 64;

function main(kind: string): Record<string, unknown> {
  const state = new SharedState({ connCapacity: 1024, workers: 2, umem: true });
  const l = state.layout;
  state.exports.io_init(0);
  state.exports.io_init(1);
  const u8 = state.u8;
  const v = state.view;
  const va = { name: "va", ifindex: interfaceIndex("va"), mac: interfaceMac("va") };
  const vb = { name: "vb", ifindex: interfaceIndex("vb"), mac: interfaceMac("vb") };
  const region = (w: number) => ({
    rxHdrs: state.ioBase(w) + l.IO_RX_HDRS,
    txHdrs: state.ioBase(w) + l.IO_TX_HDRS,
    batch: l.BATCH,
    txBatch: l.TX_MAX,
  });
  const memAddr = Number(v.getBigUint64(l.CTRL + l.CTRL_MEM_ADDR, true));
  let xdp: XdpAttachment | null = null;
  let io: PacketIo & { fds?: number[] };
  if (kind === "af_xdp") {
    xdp = XdpAttachment.attach([va], 1, { vips: ["10.99.0.100"], dests: [], locals: ["10.99.0.1"] });
    io = new AfXdpIo({
      memory: state.memory,
      region: region(0),
      umemOffset: state.umemBase(0)!,
      chunks: l.UMEM_CHUNKS,
      chunkSize: l.UMEM_CHUNK,
      interfaces: xdp.queuesFor(0),
    });
  } else {
    io = new AfPacketIo({ memory: state.memory, region: region(0), interfaces: [va], fanoutGroup: 4100 });
  }
  const peer = new AfPacketIo({ memory: state.memory, region: region(1), interfaces: [vb], fanoutGroup: 4200 });

  // Peer frames: built once in worker 1's frame slots, sent by index.
  const peerSlots = state.ioBase(1) + l.IO_SEGS; // the peer's tx frames (its rx uses IO_SLOTS)
  const frameAt = (i: number) => peerSlots + i * 256;
  for (let i = 0; i < l.BATCH; i++) {
    const p = frameAt(i);
    u8.fill(0, p, p + 10 + FRAME_LEN);
    const f = p + 10;
    u8.set(va.mac, f);
    u8.set(vb.mac, f + 6);
    u8.set(
      [0x08, 0x00, 0x45, 0, 0, 20 + 8 + 64, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 99, 0, 2, ...CONFORMANCE_VIP],
      f + 12,
    );
    u8.set([0x13, 0x88, 0x00, 0x07, 0, 72, 0, 0], f + 34); // UDP 5000 -> 7, no checksum
    v.setUint32(f + 42, MARK, false);
    const tx = state.ioBase(1) + l.IO_TX_IOV + i * l.IOVEC_SIZE;
    v.setBigUint64(tx, BigInt(memAddr + p), true);
    v.setBigUint64(tx + 8, BigInt(10 + FRAME_LEN), true);
    const nm = state.ioBase(1) + l.IO_TX_NAME + i * l.NAME_SIZE;
    v.setUint16(nm, 17, true);
    v.setUint16(nm + 2, 0x0800, false);
    v.setInt32(nm + 4, vb.ifindex, true);
  }
  const peerSend = (n: number, seq: number) => {
    for (let i = 0; i < n; i++) v.setUint32(frameAt(i) + 10 + 46, seq + i, false);
    return peer.send(n);
  };
  /** Frames back at vb carrying the mark, with va's MAC as source (reflected ones). */
  const peerDrain = (want: number, ms: number) => {
    let got = 0;
    const until = Date.now() + ms;
    while (got < want && Date.now() < until) {
      const n = peer.receive(0, l.BATCH, 20);
      for (let i = 0; i < n; i++) {
        const f = state.ioBase(1) + l.IO_SLOTS + i * l.SLOT_SIZE + l.SLOT_HEADROOM + 10;
        if (v.getUint32(f + 42, false) === MARK && u8[f + 6] === va.mac[0] && u8[f + 11] === va.mac[5]) got++;
      }
      rearm(1, n);
    }
    return got;
  };
  /** What the WASM does after a batch (process_from): the kernel shrank these fields. */
  const rearm = (w: number, n: number) => {
    for (let i = 0; i < n; i++) {
      const h = state.ioBase(w) + l.IO_RX_HDRS + i * l.MMSGHDR_SIZE;
      v.setUint32(h + 8, l.NAME_SIZE, true);
      v.setUint32(h + 40, l.CMSG_SIZE, true);
      v.setUint32(h + 44, 0, true);
      v.setUint32(h + 48, 0, true);
    }
  };
  const rx = (i: number) => ({
    hdr: state.ioBase(0) + l.IO_RX_HDRS + i * l.MMSGHDR_SIZE,
    name: state.ioBase(0) + l.IO_RX_NAME + i * l.NAME_SIZE,
    iov: state.ioBase(0) + l.IO_RX_IOV + i * l.IOVEC_SIZE,
  });
  const ioReceive = (want: number, ms: number) => {
    let got = 0;
    const until = Date.now() + ms;
    rearm(0, l.BATCH);
    while (got < want && Date.now() < until) got += io.receive(got, l.BATCH - got, 20);
    return got;
  };
  /** Swaps MACs in place and points tx entry i at rx frame i. */
  const reflect = (n: number) => {
    for (let i = 0; i < n; i++) {
      const hdr = state.ioBase(0) + l.IO_RX_HDRS + i * l.MMSGHDR_SIZE;
      const iov = state.ioBase(0) + l.IO_RX_IOV + i * l.IOVEC_SIZE;
      const base = v.getUint32(iov, true) + v.getUint32(iov + 4, true) * 4294967296;
      const off = base - memAddr;
      const f = off + 10;
      for (let k = 0; k < 6; k++) {
        const t = u8[f + k];
        u8[f + k] = u8[f + 6 + k];
        u8[f + 6 + k] = t;
      }
      const tx = state.ioBase(0) + l.IO_TX_IOV + i * l.IOVEC_SIZE;
      v.setUint32(tx, base >>> 0, true);
      v.setUint32(tx + 4, Math.floor(base / 4294967296), true);
      v.setUint32(tx + 8, v.getUint32(hdr + 56, true), true);
      v.setUint32(tx + 12, 0, true);
      const nm = state.ioBase(0) + l.IO_TX_NAME + i * l.NAME_SIZE;
      v.setUint16(nm, 17, true);
      v.setUint16(nm + 2, 0x0800, false);
      v.setInt32(nm + 4, va.ifindex, true);
    }
  };

  const out: Record<string, unknown> = { kind: io.kind };
  try {
    // 1. Idle.
    let t0 = performance.now();
    out.idle = io.receive(0, l.BATCH, 80);
    out.idleMs = Math.round(performance.now() - t0);

    // 2. Frames arrive whole.
    const K = 40;
    peerSend(K, 1000);
    const got = ioReceive(K, 2000);
    out.received = got;
    const seqs: number[] = [];
    let shapeOk = true;
    for (let i = 0; i < got; i++) {
      const e = rx(i);
      const base = Number(v.getBigUint64(e.iov, true)) - memAddr;
      const len = v.getUint32(e.hdr + 56, true);
      if (len !== 10 + FRAME_LEN) shapeOk = false;
      if (v.getInt32(e.name + 4, true) !== va.ifindex) shapeOk = false;
      if (u8.subarray(base, base + 10).some((b) => b !== 0)) shapeOk = false;
      if (v.getUint32(base + 10 + 42, false) !== MARK) shapeOk = false;
      seqs.push(v.getUint32(base + 10 + 46, false));
    }
    out.shapeOk = shapeOk;
    out.seqs = seqs.sort((a, b) => a - b).join(",") === Array.from({ length: K }, (_, i) => 1000 + i).join(",");

    // 3. In-place reflection leaves.
    reflect(got);
    out.sent = io.send(got);
    out.reflected = peerDrain(got, 2000);

    // 4. A frame built outside the receive buffers (a segment slot).
    const seg = state.ioBase(0) + l.IO_SEGS;
    u8.copyWithin(seg, frameAt(0), frameAt(0) + 10 + FRAME_LEN);
    u8.set(vb.mac, seg + 10);
    u8.set(va.mac, seg + 16);
    const tx0 = state.ioBase(0) + l.IO_TX_IOV;
    v.setBigUint64(tx0, BigInt(memAddr + seg), true);
    v.setBigUint64(tx0 + 8, BigInt(10 + FRAME_LEN), true);
    out.segmentSent = io.send(1);
    out.segmentBack = peerDrain(1, 2000);

    // 5. The loop allocates nothing: thousands of frames through it.
    const ROUNDS = Number(Deno.env.get("CONFORMANCE_ROUNDS") ?? 3000);
    const warm = () => {
      const n = peerSend(32, 0);
      const g = ioReceive(n, 500);
      reflect(g);
      io.send(g);
      return peerDrain(g, 500);
    };
    for (let r = 0; r < 300; r++) warm();
    gc();
    gc();
    t0 = performance.now();
    let loops = 0;
    for (let r = 0; r < ROUNDS; r++) loops += warm();
    const ms = performance.now() - t0;
    gc();
    out.loopFrames = loops;
    out.loopMs = Math.round(ms);
  } finally {
    io.close();
    io.close();
    try {
      io.receive(0, 1, 0);
      out.receiveAfterClose = "returned";
    } catch (e) {
      out.receiveAfterClose = (e as Error).message;
    }
    peer.close();
    xdp?.close();
  }
  return out;
}

if (import.meta.main) {
  const r = main(Deno.args[0]);
  console.error(JSON.stringify(r));
}
