/**
 * One data-plane worker for tests/conn/stress_test.ts: its own instance of
 * the module on the shared memory, its own I/O region. It opens `count`
 * connections (TCP SYNs, every fourth one UDP) from distinct client ports,
 * logs each one's (client port, dest, proto) in its shared log as soon as
 * the data plane forwarded it, and meanwhile answers, as the real servers,
 * the connections its peer worker logged.
 */
/// <reference lib="deno.worker" />
import { constant, instantiate } from "../../src/dataplane/module.ts";
import { eth, ipv4, tcp, udp } from "../fixtures/frames.ts";

/** What the test posts to each worker. */
export interface StressJob {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  worker: number;
  /** Connections to open; client ports firstPort .. firstPort+count-1. */
  count: number;
  firstPort: number;
  /** Int32Array views: [0] = entries, then [port, rs index, proto] per entry. */
  ownLog: SharedArrayBuffer;
  peerLog: SharedArrayBuffer;
  peerCount: number;
  /** Int32 flag the test sets to 1 to start every worker at once. */
  go: SharedArrayBuffer;
  now: number;
  ext: { ifindex: number; mac: string };
  int: { ifindex: number; mac: string };
  clientMac: string;
  vip: string;
  cip: string;
  rs: string[];
  rsMacs: string[];
}

/** What a worker posts back. */
export interface StressResult {
  worker: number;
  opened: number;
  /** Forwarded new connections whose frame was not client:port -> rs:port. */
  badOpens: number;
  repliesSent: number;
  repliesForwarded: number;
  /** Forwarded replies whose rewritten frame was not VIP:port -> client:cport. */
  badReplies: number;
  batches: number;
  ms: number;
}

self.onmessage = (e: MessageEvent<StressJob>) => {
  self.postMessage(run(e.data));
};

function run(j: StressJob): StressResult {
  const dp = instantiate(j.memory, j.module);
  const c = (n: string) => constant(dp, n);
  dp.io_init(j.worker);
  const u8 = new Uint8Array(j.memory.buffer);
  const view = new DataView(j.memory.buffer);
  const io = view.getUint32(c("CTRL") + c("CTRL_IO_BASE"), true) + j.worker * c("IO_STRIDE");
  const memAddr = view.getBigUint64(c("CTRL") + c("CTRL_MEM_ADDR"), true);
  const batch = c("BATCH");
  const own = new Int32Array(j.ownLog);
  const peer = new Int32Array(j.peerLog);
  const rsIndex = new Map(j.rs.map((a, i) => [a, i]));

  const put = (slot: number, frame: number[], ifindex: number) => {
    const v = io + c("IO_SLOTS") + slot * c("SLOT_SIZE") + c("SLOT_HEADROOM");
    u8.fill(0, v, v + 10);
    u8.set(frame, v + 10);
    view.setUint32(io + c("IO_RX_HDRS") + slot * c("MMSGHDR_SIZE") + 56, 10 + frame.length, true);
    const name = io + c("IO_RX_NAME") + slot * c("NAME_SIZE");
    view.setUint16(name, 17, true);
    view.setInt32(name + 4, ifindex, true);
  };
  const open = (port: number): number[] =>
    port % 4 === 3
      ? eth(
        j.ext.mac,
        j.clientMac,
        0x0800,
        ipv4({
          src: j.cip,
          dst: j.vip,
          proto: 17,
          payload: udp({ src: j.cip, dst: j.vip, sport: port, dport: 53, payload: [1, 2] }),
        }),
      )
      : eth(
        j.ext.mac,
        j.clientMac,
        0x0800,
        ipv4({
          src: j.cip,
          dst: j.vip,
          proto: 6,
          payload: tcp({ src: j.cip, dst: j.vip, sport: port, dport: 80, flags: "S" }),
        }),
      );
  // The real server's answer: UDP data, or for TCP a SYN-ACK (stays active)
  // on even ports and a RST (-> CLOSE, inactive) on odd ones.
  const reply = (port: number, rs: number, proto: number): number[] => {
    const src = j.rs[rs];
    const payload = proto === 17
      ? udp({ src, dst: j.cip, sport: 53, dport: port, payload: [3] })
      : tcp({ src, dst: j.cip, sport: 8080, dport: port, flags: port % 2 === 0 ? "SA" : "R" });
    return eth(j.int.mac, j.rsMacs[rs], 0x0800, ipv4({ src, dst: j.cip, proto, payload }));
  };

  self.postMessage("ready"); // then wait for the start flag
  Atomics.wait(new Int32Array(j.go), 0, 0);
  const t0 = performance.now();
  let opened = 0, badOpens = 0, repliesSent = 0, repliesForwarded = 0, badReplies = 0, batches = 0, logged = 0;
  const expect = new Int32Array(batch); // client ports of this batch's replies, in order
  while (opened < j.count || repliesSent < j.peerCount) {
    // A peer whose connections were dropped never logs them all: give up
    // (the test then fails on the counts) rather than hang.
    if (performance.now() - t0 > 20_000) break;
    let n = 0, r = 0, next = 0;
    // Half a batch of each when both kinds are pending.
    const peerReady = Atomics.load(peer, 0);
    while (n < batch && (opened < j.count || repliesSent < peerReady)) {
      if (opened < j.count && (n % 2 === 0 || repliesSent >= peerReady)) {
        put(n++, open(j.firstPort + opened), j.ext.ifindex);
        opened++;
      } else if (repliesSent < peerReady) {
        const e = 1 + repliesSent * 3;
        put(n++, reply(peer[e], peer[e + 1], peer[e + 2]), j.int.ifindex);
        expect[r++] = peer[e];
        repliesSent++;
      }
    }
    if (n === 0) {
      Atomics.wait(peer, 0, peerReady, 1);
      continue;
    }
    const tx = dp.process(j.worker, n, j.now);
    batches++;
    for (let t = 0; t < tx; t++) {
      const th = io + c("IO_TX_HDRS") + t * c("MMSGHDR_SIZE");
      const iov = Number(view.getBigUint64(th + 16, true) - memAddr);
      const f = Number(view.getBigUint64(iov, true) - memAddr) + 10;
      const name = Number(view.getBigUint64(th, true) - memAddr);
      const ifindex = view.getInt32(name + 4, true);
      const src = u8.subarray(f + 26, f + 30).join(".");
      const dst = u8.subarray(f + 30, f + 34).join(".");
      const sport = (u8[f + 34] << 8) | u8[f + 35];
      const dport = (u8[f + 36] << 8) | u8[f + 37];
      if (ifindex === j.int.ifindex) {
        // A new connection went out to its dest: log it for the peer. A frame
        // that is not client:port -> rs:port was damaged on the way out; it
        // is counted and logged against rs1 so the peer does not wait for it.
        const rs = rsIndex.get(dst) ?? -1;
        const proto = u8[f + 23];
        if (
          rs < 0 || src !== j.cip || dport !== (proto === 17 ? 53 : 8080) || sport < j.firstPort ||
          sport >= j.firstPort + j.count
        ) badOpens++;
        const e = 1 + logged * 3;
        own[e] = sport;
        own[e + 1] = rs < 0 ? 0 : rs;
        own[e + 2] = proto;
        logged++;
      } else {
        repliesForwarded++;
        const vport = u8[f + 23] === 17 ? 53 : 80;
        if (src !== j.vip || dst !== j.cip || sport !== vport) badReplies++;
        if (dport !== expect[next++]) badReplies++;
      }
    }
    if (tx > 0) {
      Atomics.store(own, 0, logged);
      Atomics.notify(own, 0);
    }
  }
  return {
    worker: j.worker,
    opened,
    badOpens,
    repliesSent,
    repliesForwarded,
    badReplies,
    batches,
    ms: performance.now() - t0,
  };
}
