/**
 * AfPacketIo against the real kernel. A Deno process cannot enter a network
 * namespace, so each test makes its own namespaces and veth pairs, then runs
 * this same file inside them (`ip netns exec NS deno run -A af_packet_test.ts
 * MODE ...`; under `deno run`, `Deno.test` does nothing and the mode at the
 * bottom runs). The in-namespace side asserts with node:assert and prints a
 * JSON summary as its last stdout line; the test checks its exit code.
 *
 * The rx/tx mmsghdr arrays are built here in JS, the way the WASM module
 * builds them in the shared memory.
 */
import { requireRoot, sh, withNamespaces } from "../src/sys/netns_testing.ts";
import assert from "node:assert/strict";
import { AfPacketIo, MAX_POLL_MS, MMSGHDR_SIZE, SOCKADDR_LL_SIZE, VNET_HDR_SIZE } from "./af_packet.ts";
import type { IoRegion } from "./packet_io.ts";
import { addressOf, LibcError, MSG_TRUNC } from "../src/sys/libc.ts";
import { interfaceIndex, interfaceMac } from "../src/sys/netdev.ts";

// ---------------------------------------------------------------------------
// Test I/O regions: what the WASM module lays out per worker.

const BATCH = 128;
// A GSO frame from veth is up to 64 KiB (gso_max_size) plus the vnet header.
const SLOT = 65536 + 256;
const CTL = 64; // cmsghdr + tpacket_auxdata needs 40
const NAME = 32; // sockaddr_ll is 20
const PAGE = 65536;

const SOL_PACKET = 263;
const PACKET_AUXDATA = 8;
const PACKET_OUTGOING = 4;
const AF_PACKET = 17;
const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
const EMSGSIZE = 90;

interface Vnet {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

interface Received {
  /** msg_len: vnet header + frame. */
  len: number;
  msgFlags: number;
  ifindex: number;
  pkttype: number;
  vnet: Vnet;
  aux: { status: number; len: number; snaplen: number } | null;
  /** The Ethernet frame (a copy, vnet header removed). */
  frame: Uint8Array;
}

/** One worker's mmsghdr arrays, iovecs, names, control buffers and frame slots. */
class TestRegion {
  readonly io: IoRegion;
  #view: DataView;
  #bytes: Uint8Array;
  #base: number;
  #iov: number;
  #names: number;
  #ctl: number;
  #rxSlots: number;
  #txSlots: number;

  constructor(memory: WebAssembly.Memory, at: number) {
    this.#bytes = new Uint8Array(memory.buffer);
    this.#view = new DataView(memory.buffer);
    this.#base = addressOf(this.#bytes);
    const rxHdrs = at;
    const txHdrs = rxHdrs + BATCH * MMSGHDR_SIZE;
    this.#iov = txHdrs + BATCH * MMSGHDR_SIZE; // rx then tx, 16 B each
    this.#names = this.#iov + 2 * BATCH * 16;
    this.#ctl = this.#names + 2 * BATCH * NAME;
    this.#rxSlots = this.#ctl + BATCH * CTL;
    this.#txSlots = this.#rxSlots + BATCH * SLOT;
    this.io = { rxHdrs, txHdrs, batch: BATCH };
  }

  static bytes(): number {
    return 2 * BATCH * MMSGHDR_SIZE + 2 * BATCH * 16 + 2 * BATCH * NAME +
      BATCH * CTL + 2 * BATCH * SLOT;
  }

  /** (Re)arms every rx entry: the kernel shrinks msg_namelen/msg_controllen. */
  armRx(): void {
    for (let i = 0; i < BATCH; i++) {
      this.#hdr(
        this.io.rxHdrs + i * MMSGHDR_SIZE,
        this.#names + i * NAME,
        this.#iov + i * 16,
        this.#rxSlots + i * SLOT,
        SLOT,
        this.#ctl + i * CTL,
        CTL,
      );
    }
  }

  /** Puts a frame (vnet header included) into tx entry i, to go out on ifindex. */
  setTx(i: number, data: Uint8Array, ifindex: number): void {
    const slot = this.#txSlots + i * SLOT;
    assert.ok(data.length <= SLOT);
    this.#bytes.set(data, slot);
    const name = this.#names + (BATCH + i) * NAME;
    const v = this.#view;
    this.#bytes.fill(0, name, name + NAME);
    v.setUint16(name, AF_PACKET, true);
    // sll_protocol: the ethertype, network order (tells the kernel what
    // skb->protocol is, which GSO needs).
    v.setUint16(name + 2, v.getUint16(slot + VNET_HDR_SIZE + 12, false), false);
    v.setInt32(name + 4, ifindex, true);
    this.#hdr(
      this.io.txHdrs + i * MMSGHDR_SIZE,
      name,
      this.#iov + (BATCH + i) * 16,
      slot,
      data.length,
      0,
      0,
    );
  }

  /** Decodes rx entry i as filled by the kernel. */
  rx(i: number): Received {
    const v = this.#view;
    const h = this.io.rxHdrs + i * MMSGHDR_SIZE;
    const len = v.getUint32(h + 56, true);
    const msgFlags = v.getInt32(h + 48, true);
    const name = this.#names + i * NAME;
    const slot = this.#rxSlots + i * SLOT;
    const ctl = this.#ctl + i * CTL;
    const controllen = Number(v.getBigUint64(h + 40, true));
    let aux = null;
    if (
      controllen >= 36 && v.getInt32(ctl + 8, true) === SOL_PACKET &&
      v.getInt32(ctl + 12, true) === PACKET_AUXDATA
    ) {
      aux = {
        status: v.getUint32(ctl + 16, true),
        len: v.getUint32(ctl + 20, true),
        snaplen: v.getUint32(ctl + 24, true),
      };
    }
    return {
      len,
      msgFlags,
      ifindex: v.getInt32(name + 4, true),
      pkttype: v.getUint8(name + 10),
      vnet: {
        flags: v.getUint8(slot),
        gsoType: v.getUint8(slot + 1),
        hdrLen: v.getUint16(slot + 2, true),
        gsoSize: v.getUint16(slot + 4, true),
        csumStart: v.getUint16(slot + 6, true),
        csumOffset: v.getUint16(slot + 8, true),
      },
      aux,
      frame: this.#bytes.slice(slot + VNET_HDR_SIZE, slot + len),
    };
  }

  #hdr(
    at: number,
    name: number,
    iov: number,
    buf: number,
    bufLen: number,
    ctl: number,
    ctlLen: number,
  ): void {
    const v = this.#view;
    const abs = (off: number) => BigInt(this.#base + off);
    v.setBigUint64(at, abs(name), true);
    v.setUint32(at + 8, SOCKADDR_LL_SIZE, true);
    v.setBigUint64(at + 16, abs(iov), true);
    v.setBigUint64(at + 24, 1n, true);
    v.setBigUint64(at + 32, ctlLen ? abs(ctl) : 0n, true);
    v.setBigUint64(at + 40, BigInt(ctlLen), true);
    v.setInt32(at + 48, 0, true);
    v.setUint32(at + 56, 0, true);
    v.setBigUint64(iov, abs(buf), true);
    v.setBigUint64(iov + 8, BigInt(bufLen), true);
  }
}

function sharedMemory(workers: number): WebAssembly.Memory {
  const pages = Math.ceil((workers * TestRegion.bytes()) / PAGE) + 1;
  return new WebAssembly.Memory({
    initial: pages,
    maximum: pages,
    shared: true,
  });
}

/** Receives until `want` frames matching `keep` arrived or `ms` passed. */
function collect(
  ios: [AfPacketIo, TestRegion][],
  want: number,
  ms: number,
  keep: (r: Received) => boolean,
): Received[][] {
  const out: Received[][] = ios.map(() => []);
  const deadline = Date.now() + ms;
  let total = 0;
  while (total < want && Date.now() < deadline) {
    ios.forEach(([io, region], w) => {
      region.armRx();
      const n = io.receive(0, BATCH, 5);
      for (let i = 0; i < n; i++) {
        const r = region.rx(i);
        if (keep(r)) {
          out[w].push(r);
          total++;
        }
      }
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Frames and checksums.

/** One's-complement sum of 16-bit big-endian words (RFC 1071), unfolded. */
function sum16(b: Uint8Array, from: number, to: number, acc = 0): number {
  for (let i = from; i + 1 < to; i += 2) acc += (b[i] << 8) | b[i + 1];
  if ((to - from) & 1) acc += b[to - 1] << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/** IPv4 pseudo-header sum (RFC 793 §3.1), unfolded. */
function pseudo(f: Uint8Array, ip: number, proto: number, len: number): number {
  return sum16(f, ip + 12, ip + 20) + proto + len;
}

/**
 * An Ethernet + IPv4 frame carrying `l4` (a UDP or TCP header and payload).
 * Its L4 checksum is left as given.
 */
function ipv4Frame(
  dst: Uint8Array,
  src: Uint8Array,
  proto: number,
  id: number,
  l4: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(14 + 20 + l4.length);
  const v = new DataView(f.buffer);
  f.set(dst, 0);
  f.set(src, 6);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + l4.length);
  v.setUint16(18, id);
  v.setUint8(22, 64);
  v.setUint8(23, proto);
  f.set([10, 99, 0, 1, 10, 99, 0, 2], 26);
  v.setUint16(24, ~fold(sum16(f, 14, 34)) & 0xffff);
  f.set(l4, 34);
  return f;
}

/** A UDP frame from port `sport` to port 7 with `payload` bytes of a pattern keyed by sport. */
function udpFrame(
  dst: Uint8Array,
  src: Uint8Array,
  sport: number,
  payload: number,
): Uint8Array {
  const l4 = new Uint8Array(8 + payload);
  const v = new DataView(l4.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, 7);
  v.setUint16(4, 8 + payload);
  for (let i = 0; i < payload; i++) l4[8 + i] = (sport + i * 7) & 0xff;
  return ipv4Frame(dst, src, 17, sport, l4);
}

function withVnet(frame: Uint8Array, vnet?: Partial<Vnet>): Uint8Array {
  const out = new Uint8Array(VNET_HDR_SIZE + frame.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, vnet?.flags ?? 0);
  v.setUint8(1, vnet?.gsoType ?? 0);
  v.setUint16(2, vnet?.hdrLen ?? 0, true);
  v.setUint16(4, vnet?.gsoSize ?? 0, true);
  v.setUint16(6, vnet?.csumStart ?? 0, true);
  v.setUint16(8, vnet?.csumOffset ?? 0, true);
  out.set(frame, VNET_HDR_SIZE);
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------
// In-namespace modes.

/**
 * Two "workers" (two AfPacketIo on one shared memory, same fanout base) on
 * both ends of a veth pair; worker 0 sends on va, both receive on vb.
 */
function modeFrames(a: string, b: string): unknown {
  const ia = interfaceIndex(a);
  const ib = interfaceIndex(b);
  const macA = interfaceMac(a);
  const macB = interfaceMac(b);
  const memory = sharedMemory(2);
  const regions = [0, 1].map((w) => new TestRegion(memory, w * Math.ceil(TestRegion.bytes() / 8) * 8));
  const interfaces = [{ name: a, ifindex: ia }, { name: b, ifindex: ib }];
  const group = 1000 + (Deno.pid % 50000);
  const ios = regions.map((region) =>
    new AfPacketIo({
      memory,
      region: region.io,
      interfaces,
      fanoutGroup: group,
    })
  );
  assert.equal(ios[0].kind, "af_packet");
  assert.equal(ios[0].ignoresOutgoing, true);

  // 99 UDP frames of 60..1514 bytes plus one 9014-byte jumbo (MTU 9000),
  // distinct source ports so the fanout hash spreads them; entry 50 is too
  // big for the MTU and must be skipped, not fail the batch.
  const sent = new Map<number, Uint8Array>();
  const tx = regions[0];
  let e = 0;
  for (let k = 0; k < 100; k++) {
    if (e === 50) {
      tx.setTx(e++, withVnet(udpFrame(macB, macA, 9999, 9100 - 42)), ia);
    }
    const size = k === 99 ? 9014 : 60 + ((k * 149) % 1455);
    const frame = udpFrame(macB, macA, 10000 + k, size - 42);
    sent.set(10000 + k, frame);
    tx.setTx(e++, withVnet(frame), ia);
  }
  const t0 = performance.now();
  assert.equal(ios[0].send(e), 100);
  const sendMs = performance.now() - t0;
  assert.equal(ios[0].txErrors, 1);
  assert.equal(ios[0].lastTxErrno, EMSGSIZE);
  assert.equal(ios[0].txDropped, 0);

  const isOurs = (r: Received) =>
    r.frame.length >= 42 && r.frame[23] === 17 &&
    new DataView(r.frame.buffer).getUint16(36) === 7;
  const got = collect(
    [[ios[0], regions[0]], [ios[1], regions[1]]],
    100,
    3000,
    isOurs,
  );
  const all = got.flat();
  assert.equal(all.length, 100, `received ${all.length} of 100 frames`);
  const seen = new Set<number>();
  for (const r of all) {
    const sport = new DataView(r.frame.buffer).getUint16(34);
    assert.ok(!seen.has(sport), `frame ${sport} received twice`);
    seen.add(sport);
    const want = sent.get(sport);
    assert.ok(want, `unexpected frame from port ${sport}`);
    assert.equal(hex(r.frame), hex(want), `frame ${sport} bytes`);
    assert.equal(r.len, VNET_HDR_SIZE + want.length);
    assert.equal(r.msgFlags & MSG_TRUNC, 0);
    // Received on vb only: va's socket must not see what went out on va.
    assert.equal(
      r.ifindex,
      ib,
      `frame ${sport} came in on ifindex ${r.ifindex}`,
    );
    assert.notEqual(r.pkttype, PACKET_OUTGOING);
    assert.equal(r.vnet.gsoType, 0);
    assert.equal(r.vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
    assert.ok(r.aux, "PACKET_AUXDATA control message missing");
    assert.equal(r.aux.len, want.length);
  }
  assert.ok(
    got[0].length > 0 && got[1].length > 0,
    `fanout did not spread: ${got[0].length} + ${got[1].length}`,
  );
  const plainVnetFlags = [...new Set(all.map((r) => r.vnet.flags))];

  // A checksum-partial frame keeps NEEDS_CSUM, csum_start and csum_offset
  // across veth; its checksum field holds the pseudo-header sum.
  const partial = udpFrame(macB, macA, 20001, 100);
  new DataView(partial.buffer).setUint16(
    40,
    fold(pseudo(partial, 14, 17, 108)),
  );
  tx.setTx(
    0,
    withVnet(partial, { flags: 1, csumStart: 34, csumOffset: 6 }),
    ia,
  );
  // A TSO frame bigger than the MTU: 20000 bytes of TCP payload, mss 1448.
  const payload = 20000;
  const tcp = new Uint8Array(20 + payload);
  const tv = new DataView(tcp.buffer);
  tv.setUint16(0, 20002);
  tv.setUint16(2, 7);
  tv.setUint32(4, 1);
  tv.setUint8(12, 5 << 4);
  tv.setUint8(13, 0x18); // PSH ACK
  tv.setUint16(14, 65535);
  for (let i = 0; i < payload; i++) tcp[20 + i] = i & 0xff;
  const gso = ipv4Frame(macB, macA, 6, 20002, tcp);
  new DataView(gso.buffer).setUint16(
    50,
    fold(pseudo(gso, 14, 6, 20 + payload)),
  );
  tx.setTx(
    1,
    withVnet(gso, {
      flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gsoType: VIRTIO_NET_HDR_GSO_TCPV4,
      hdrLen: 54,
      gsoSize: 1448,
      csumStart: 34,
      csumOffset: 16,
    }),
    ia,
  );
  assert.equal(ios[0].send(2), 2);
  const isExtra = (r: Received) => {
    const port = r.frame.length >= 42 ? new DataView(r.frame.buffer).getUint16(34) : 0;
    return port === 20001 || port === 20002;
  };
  const extra = collect(
    [[ios[0], regions[0]], [ios[1], regions[1]]],
    2 + Math.ceil(payload / 1448),
    1000,
    isExtra,
  ).flat();
  const p = extra.find((r) => new DataView(r.frame.buffer).getUint16(34) === 20001);
  assert.ok(p, "checksum-partial frame not received");
  assert.equal(hex(p.frame), hex(partial));
  assert.equal(p.vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 1);
  assert.equal(p.vnet.csumStart, 34);
  assert.equal(p.vnet.csumOffset, 6);
  const segs = extra.filter((r) => new DataView(r.frame.buffer).getUint16(34) === 20002);
  const gsoPayload = segs.reduce(
    (s, r) => s + new DataView(r.frame.buffer).getUint16(16) - 40,
    0,
  );
  assert.equal(gsoPayload, payload, "TSO frame payload lost on the way");

  // Idle: a poll with no traffic returns 0 after about the timeout, and
  // timeouts are clamped to MAX_POLL_MS.
  regions[1].armRx();
  let t = performance.now();
  assert.equal(ios[1].receive(0, BATCH, 50), 0);
  const idleMs = performance.now() - t;
  assert.ok(idleMs >= 45 && idleMs < 400, `idle receive took ${idleMs} ms`);
  t = performance.now();
  assert.equal(ios[1].receive(0, BATCH, 5000), 0);
  const clampedMs = performance.now() - t;
  assert.ok(
    clampedMs >= MAX_POLL_MS - 5 && clampedMs < MAX_POLL_MS + 300,
    `receive(5000) took ${clampedMs} ms`,
  );
  assert.equal(ios[1].receive(0, BATCH, 0), 0);

  for (const io of ios) {
    io.close();
    io.close();
    assert.deepEqual(io.fds, []);
    assert.throws(() => io.receive(0, 1, 0), /closed/);
    assert.throws(() => io.send(1), /closed/);
  }
  return {
    perWorker: got.map((g) => g.length),
    sendMs: Number(sendMs.toFixed(2)),
    plainVnetFlags,
    partial: { vnet: p.vnet, auxStatus: p.aux?.status },
    gso: segs.map((r) => ({
      len: r.frame.length,
      vnet: r.vnet,
      auxStatus: r.aux?.status,
    })),
    idleMs: Math.round(idleMs),
    clampedMs: Math.round(clampedMs),
  };
}

/** Listens on `dev` until the client's FIN went by; summarises the vnet headers of incoming TCP frames. */
function modeCapture(dev: string, seconds: string): unknown {
  const memory = sharedMemory(1);
  const region = new TestRegion(memory, 0);
  const io = new AfPacketIo({
    memory,
    region: region.io,
    interfaces: [{ name: dev, ifindex: interfaceIndex(dev) }],
    fanoutGroup: 7,
  });
  console.log("ready");
  const deadline = Date.now() + Number(seconds) * 1000;
  const kinds = new Map<string, {
    count: number;
    minLen: number;
    maxLen: number;
    example: Vnet;
    auxStatus: number[];
    csum: Set<string>;
  }>();
  let payloadBytes = 0;
  let truncated = 0;
  let wrongLength = 0;
  let finAt = 0;
  while (Date.now() < deadline && (finAt === 0 || Date.now() < finAt + 300)) {
    region.armRx();
    const n = io.receive(0, BATCH, 20);
    for (let i = 0; i < n; i++) {
      const r = region.rx(i);
      const f = r.frame;
      if (f.length < 54 || f[12] !== 8 || f[13] !== 0 || f[23] !== 6) continue;
      const v = new DataView(f.buffer);
      const totLen = v.getUint16(16);
      const ihl = (f[14] & 15) * 4;
      const thl = (f[14 + ihl + 12] >> 4) * 4;
      const data = totLen - ihl - thl;
      payloadBytes += data;
      if (r.msgFlags & MSG_TRUNC) truncated++;
      if (totLen + 14 !== f.length) wrongLength++;
      if (f[14 + ihl + 13] & 1) finAt ||= Date.now();
      const key = `flags=${r.vnet.flags} gso_type=${r.vnet.gsoType}` +
        (f.length > 1514 ? " (>1514 B)" : "");
      let k = kinds.get(key);
      if (!k) {
        k = {
          count: 0,
          minLen: f.length,
          maxLen: 0,
          example: r.vnet,
          auxStatus: [],
          csum: new Set(),
        };
        kinds.set(key, k);
      }
      k.count++;
      k.minLen = Math.min(k.minLen, f.length);
      k.maxLen = Math.max(k.maxLen, f.length);
      if (r.aux && !k.auxStatus.includes(r.aux.status)) {
        k.auxStatus.push(r.aux.status);
      }
      // What the TCP checksum field holds.
      const check = v.getUint16(14 + ihl + 16);
      const l4 = totLen - ihl;
      if (r.vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        k.csum.add(
          check === fold(pseudo(f, 14, 6, l4))
            ? "pseudo-header sum incl. length"
            : check === fold(pseudo(f, 14, 6, 0))
            ? "pseudo-header sum without length"
            : "other",
        );
      } else {
        const full = fold(pseudo(f, 14, 6, l4) + sum16(f, 14 + ihl, f.length));
        k.csum.add(full === 0xffff ? "complete, valid" : "complete, INVALID");
      }
    }
  }
  io.close();
  return {
    payloadBytes,
    truncated,
    wrongLength,
    sawFin: finAt !== 0,
    kinds: Object.fromEntries(
      [...kinds].map(([key, k]) => [key, { ...k, csum: [...k.csum] }]),
    ),
  };
}

async function modeTcpServer(addr: string, port: string): Promise<unknown> {
  const listener = Deno.listen({ hostname: addr, port: Number(port) });
  console.log("listening");
  const conn = await listener.accept();
  let bytes = 0;
  const buf = new Uint8Array(1 << 16);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    bytes += n;
  }
  conn.close();
  listener.close();
  return { bytes };
}

async function modeTcpClient(
  addr: string,
  port: string,
  bytes: string,
): Promise<unknown> {
  const conn = await Deno.connect({ hostname: addr, port: Number(port) });
  const chunk = new Uint8Array(1 << 16).fill(0x5a);
  let left = Number(bytes);
  while (left > 0) {
    const n = await conn.write(chunk.subarray(0, Math.min(left, chunk.length)));
    left -= n;
  }
  conn.close();
  return { sent: Number(bytes) };
}

if (import.meta.main) {
  const [mode, ...args] = Deno.args;
  const run: Record<string, (...a: string[]) => unknown> = {
    frames: modeFrames,
    capture: modeCapture,
    "tcp-server": modeTcpServer,
    "tcp-client": modeTcpClient,
  };
  const result = await run[mode](...args);
  console.log(JSON.stringify(result));
}

// ---------------------------------------------------------------------------
// The tests: namespaces, veths, and this file run inside them.

const IP = "ip";

/** This file in `mode` inside namespace `ns`; resolves to its JSON summary. */
function spawnInNs(ns: string, ...args: string[]) {
  const child = new Deno.Command(IP, {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "-A",
      import.meta.filename!,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let buffered = "";
  const nextLine = async (): Promise<string | null> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.next();
      if (done) return null;
      buffered += value;
    }
    const i = buffered.indexOf("\n");
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    return line;
  };
  const stderr = new Response(child.stderr).text();
  return {
    nextLine,
    async result(): Promise<Record<string, unknown>> {
      let last = "";
      for (let l = await nextLine(); l !== null; l = await nextLine()) last = l;
      const status = await child.status;
      if (!status.success) {
        throw new Error(`${args.join(" ")} in ${ns} failed:\n${await stderr}`);
      }
      return JSON.parse(last);
    },
  };
}

Deno.test("AfPacketIo sends and receives batches on a veth pair", async () => {
  requireRoot("network namespaces, veth pairs, AF_PACKET sockets");
  await withNamespaces(1, async ([ns]) => {
    await sh(
      IP,
      "-n",
      ns,
      "link",
      "add",
      "va",
      "mtu",
      "9000",
      "type",
      "veth",
      "peer",
      "name",
      "vb",
      "mtu",
      "9000",
    );
    await sh(IP, "-n", ns, "link", "set", "va", "up");
    await sh(IP, "-n", ns, "link", "set", "vb", "up");
    const r = await spawnInNs(ns, "frames", "va", "vb").result();
    console.log(JSON.stringify(r));
  });
});

Deno.test("AfPacketIo sees TCP over veth whole: GSO frames with NEEDS_CSUM", async () => {
  requireRoot("network namespaces, veth pairs, AF_PACKET sockets");
  await withNamespaces(2, async ([client, server]) => {
    await sh(
      IP,
      "-n",
      client,
      "link",
      "add",
      "c0",
      "type",
      "veth",
      "peer",
      "name",
      "s0",
      "netns",
      server,
    );
    await sh(IP, "-n", client, "addr", "add", "10.201.0.1/24", "dev", "c0");
    await sh(IP, "-n", server, "addr", "add", "10.201.0.2/24", "dev", "s0");
    await sh(IP, "-n", client, "link", "set", "c0", "up");
    await sh(IP, "-n", server, "link", "set", "s0", "up");
    const capture = spawnInNs(server, "capture", "s0", "20");
    assert.equal(await capture.nextLine(), "ready");
    const srv = spawnInNs(server, "tcp-server", "10.201.0.2", "5001");
    assert.equal(await srv.nextLine(), "listening");
    const bytes = 4 << 20;
    await spawnInNs(client, "tcp-client", "10.201.0.2", "5001", String(bytes))
      .result();
    assert.equal((await srv.result()).bytes, bytes);
    const cap = await capture.result() as {
      payloadBytes: number;
      truncated: number;
      wrongLength: number;
      sawFin: boolean;
      kinds: Record<string, { count: number; maxLen: number; example: Vnet }>;
    };
    console.log(JSON.stringify(cap));
    assert.ok(cap.sawFin);
    assert.equal(cap.truncated, 0);
    assert.equal(cap.wrongLength, 0);
    assert.ok(
      cap.payloadBytes >= bytes,
      `saw ${cap.payloadBytes} of ${bytes} payload bytes`,
    );
    const big = Object.values(cap.kinds).find((k) =>
      k.maxLen > 1514 && k.example.gsoType === VIRTIO_NET_HDR_GSO_TCPV4 &&
      (k.example.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0
    );
    assert.ok(big, "no GSO TCPv4 frame with NEEDS_CSUM seen");
  });
});

Deno.test("AfPacketIo names the interface it cannot bind to", () => {
  requireRoot("network namespaces, veth pairs, AF_PACKET sockets");
  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: 1,
    shared: true,
  });
  const region = { rxHdrs: 0, txHdrs: 8 * MMSGHDR_SIZE, batch: 8 };
  assert.throws(
    () =>
      new AfPacketIo({
        memory,
        region,
        interfaces: [{ name: "lvsd-missing", ifindex: 0x7ffffff0 }],
        fanoutGroup: 1,
      }),
    (e: unknown) =>
      e instanceof LibcError && e.code === "ENODEV" &&
      e.message ===
        `Cannot bind AF_PACKET socket to "lvsd-missing" (ifindex ${0x7ffffff0}): ENODEV (No such device)`,
  );
  assert.throws(
    () =>
      new AfPacketIo({
        memory,
        region: { ...region, batch: 10000 },
        interfaces: [{ name: "lo", ifindex: 1 }],
        fanoutGroup: 1,
      }),
    /not 8-byte aligned inside the 65536-byte memory/,
  );
  assert.throws(
    () =>
      new AfPacketIo({
        memory,
        region,
        interfaces: [{ name: "lo", ifindex: 1 }],
        fanoutGroup: 70000,
      }),
    /fanout group 70000 is not in 0..65535/,
  );
});
