/**
 * bpf.ts and xsk.ts against the real kernel (root). A Deno process cannot
 * enter a network namespace, so the tests make namespaces and a veth pair,
 * then run this same file inside them (`ip netns exec NS deno run -A
 * xsk_test.ts MODE ...`; under `deno run`, `Deno.test` does nothing and the
 * mode at the bottom runs). A mode asserts with node:assert and prints a
 * JSON summary as its last stdout line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { requireRoot, sh, withNamespaces } from "./netns_testing.ts";
import {
  attachXdpLink,
  createXskMap,
  encode,
  loadXdpProgram,
  redirectAllToXsk,
  testRunXdp,
  XDP_FLAGS_DRV_MODE,
  XDP_PASS,
  XDP_REDIRECT,
  xskMapSet,
} from "./bpf.ts";
import {
  pageAlignedOffset,
  XDP_COPY,
  XDP_RING_NEED_WAKEUP,
  XDP_USE_NEED_WAKEUP,
  XDP_ZEROCOPY,
  XskSocket,
} from "./xsk.ts";
import { addressOf, close, LibcError, pointerAt, poll, POLLIN } from "./libc.ts";
import { interfaceIndex } from "./netdev.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("the probe's XDP program encodes as written and passes frames while its XSKMAP is empty", () => {
  requireRoot("bpf(2)");
  // By hand from the instruction format: opcode, src<<4|dst, off (LE s16), imm (LE s32).
  assert.equal(
    hex(encode(redirectAllToXsk(7))),
    "6112100000000000" + // r2 = *(u32 *)(r1 + 16): ctx->rx_queue_index
      "1811000007000000" + "0000000000000000" + // r1 = map fd 7 (BPF_PSEUDO_MAP_FD)
      "b703000002000000" + // r3 = XDP_PASS
      "8500000033000000" + // call bpf_redirect_map (51)
      "9500000000000000", // exit
  );
  const map = createXskMap(1, "t_xsks");
  const prog = loadXdpProgram(redirectAllToXsk(map), "t_redirect");
  try {
    const frame = new Uint8Array(60).map((_, i) => i);
    const r = testRunXdp(prog, frame);
    assert.equal(r.verdict, XDP_PASS);
    assert.deepEqual(r.frame, frame);
  } finally {
    close(prog);
    close(map);
  }
});

Deno.test("a program the verifier rejects fails with the verifier's reason", () => {
  requireRoot("bpf(2)");
  // exit without setting r0
  assert.throws(
    () => loadXdpProgram([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], "t_bad"),
    (e: unknown) =>
      e instanceof LibcError && e.code === "EACCES" &&
      e.message.startsWith('Cannot load XDP program "t_bad" (1 instructions): EACCES') &&
      /verifier log:[\s\S]*R0 !read_ok/.test(e.message),
  );
});

// ---------------------------------------------------------------------------
// Modes run inside a namespace.

/**
 * In the namespace of `dev`: an XSK (rx + tx, copy mode, need_wakeup) with its
 * UMEM in a shared WebAssembly.Memory, the probe's program attached natively
 * with a BPF link; reflects `count` frames (MACs, IPs and UDP ports swapped)
 * and reports what it saw.
 */
function modeReflect(dev: string, count: string): unknown {
  const want = Number(count);
  const ifindex = interfaceIndex(dev);
  const memory = new WebAssembly.Memory({ initial: 70, maximum: 100, shared: true });
  const bytes = new Uint8Array(memory.buffer);
  const offset = pageAlignedOffset(memory, 1000);
  const umem = { memory, offset, chunks: 1024, chunkSize: 2048 };
  const ring = { rxSize: 512, txSize: 512, fillSize: 1024, completionSize: 512 };

  // veth has no zero-copy AF_XDP: forcing it fails, copy mode works.
  let zeroCopyError = "";
  try {
    XskSocket.open({ ifname: dev, ifindex, queue: 0, umem, ...ring, bindFlags: XDP_ZEROCOPY }).close();
  } catch (e) {
    zeroCopyError = e instanceof LibcError ? e.code : String(e);
  }
  const xsk = XskSocket.open({
    ifname: dev,
    ifindex,
    queue: 0,
    umem,
    ...ring,
    bindFlags: XDP_COPY | XDP_USE_NEED_WAKEUP,
  });
  const map = createXskMap(1, "t_xsks");
  const prog = loadXdpProgram(redirectAllToXsk(map), "t_redirect");
  let link = -1;
  try {
    xskMapSet(map, 0, xsk.fd);
    const verdictWithSocket = testRunXdp(prog, new Uint8Array(60)).verdict;
    link = attachXdpLink(prog, ifindex, XDP_FLAGS_DRV_MODE, dev);
    const rx = xsk.rx!, tx = xsk.tx!, fill = xsk.fill!, comp = xsk.completion!;
    for (let k = 0; k < 1024; k++) {
      fill.entries[k * 2] = k * 2048;
      fill.entries[k * 2 + 1] = 0;
    }
    Atomics.store(fill.producer, 0, 1024);
    // A pointer does not keep its buffer alive: revents is read after each
    // poll, which keeps `pollFd` (and the memory the kernel writes) alive.
    const pollFd = new Int16Array(new ArrayBuffer(8));
    new Int32Array(pollFd.buffer)[0] = xsk.fd;
    pollFd[2] = POLLIN;
    const pollPtr = pointerAt(addressOf(new Uint8Array(pollFd.buffer)));
    let pollErrors = 0;
    console.log(JSON.stringify({ ready: true }));

    let got = 0, sent = 0, kicks = 0, txNeedWakeup = 0, fillNeedWakeup = 0;
    const frames: string[] = [];
    let rxCons = 0, txProd = 0, fillProd = 1024, compCons = 0;
    const until = performance.now() + 15000;
    while (got < want && performance.now() < until) {
      if (Atomics.load(fill.flags, 0) & XDP_RING_NEED_WAKEUP) fillNeedWakeup++;
      const n = (Atomics.load(rx.producer, 0) - rxCons) >>> 0;
      for (let i = 0; i < n; i++) {
        const e = ((rxCons + i) & rx.mask) * 4;
        const addr = rx.entries[e], len = rx.entries[e + 2];
        assert.equal(rx.entries[e + 1], 0);
        const at = offset + addr;
        const f = bytes.subarray(at, at + len);
        if (frames.length < 2) frames.push(hex(f));
        if (len >= 42 && f[12] === 0x08 && f[13] === 0 && f[23] === 17) {
          swap(f, 0, 6, 6); // MACs
          swap(f, 26, 30, 4); // IPs
          swap(f, 34, 36, 2); // UDP ports
          const t = (txProd & tx.mask) * 4;
          tx.entries[t] = addr;
          tx.entries[t + 1] = 0;
          tx.entries[t + 2] = len;
          tx.entries[t + 3] = 0;
          txProd = (txProd + 1) >>> 0;
          sent++;
        }
      }
      rxCons = (rxCons + n) >>> 0;
      got += n;
      Atomics.store(rx.consumer, 0, rxCons);
      Atomics.store(tx.producer, 0, txProd);
      if (n > 0 && Atomics.load(tx.flags, 0) & XDP_RING_NEED_WAKEUP) {
        txNeedWakeup++;
        kicks++;
        xsk.kick();
      }
      const done = (Atomics.load(comp.producer, 0) - compCons) >>> 0;
      for (let j = 0; j < done; j++) {
        const s = ((compCons + j) & comp.mask) * 2;
        const d = ((fillProd + j) & fill.mask) * 2;
        fill.entries[d] = comp.entries[s];
        fill.entries[d + 1] = 0;
      }
      compCons = (compCons + done) >>> 0;
      fillProd = (fillProd + done) >>> 0;
      Atomics.store(comp.consumer, 0, compCons);
      Atomics.store(fill.producer, 0, fillProd);
      if (n === 0 && (poll(pollPtr, 1, 10) < 0 || (pollFd[3] & ~POLLIN) !== 0)) pollErrors++;
    }
    return {
      got,
      sent,
      pollErrors,
      kicks,
      txNeedWakeup,
      fillNeedWakeup,
      zeroCopy: xsk.zeroCopy,
      zeroCopyError,
      verdictWithSocket,
      frames,
      stats: xsk.stats(),
      umemAddress: offset,
    };
  } finally {
    if (link >= 0) close(link);
    close(prog);
    close(map);
    xsk.close();
  }
}

function swap(f: Uint8Array, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = f[a + i];
    f[a + i] = f[b + i];
    f[b + i] = t;
  }
}

/** Attaches the probe's program to `dev` with a BPF link, says so, and waits (to be killed). */
async function modeAttachAndWait(dev: string): Promise<unknown> {
  const map = createXskMap(1, "t_xsks");
  const prog = loadXdpProgram(redirectAllToXsk(map), "t_redirect");
  attachXdpLink(prog, interfaceIndex(dev), XDP_FLAGS_DRV_MODE, dev);
  console.log(JSON.stringify({ ready: true }));
  await sleep(30000);
  return { timedOut: true };
}

/** Sends `count` UDP datagrams to addr:port from port 40000 and counts what comes back within 3 s. */
async function modeUdpPing(addr: string, port: string, count: string): Promise<unknown> {
  const sock = createSocket("udp4");
  let back = 0;
  const payloads = new Set<string>();
  sock.on("message", (m) => {
    back++;
    payloads.add(new TextDecoder().decode(m));
  });
  await new Promise<void>((r) => sock.bind(40000, r));
  for (let i = 0; i < Number(count); i++) {
    await new Promise<void>((r, j) => sock.send(`ping ${i}`, Number(port), addr, (e) => e ? j(e) : r()));
  }
  const until = performance.now() + 3000;
  while (back < Number(count) && performance.now() < until) await sleep(20);
  sock.close();
  return { back, distinct: payloads.size };
}

if (import.meta.main) {
  const [mode, ...args] = Deno.args;
  const run: Record<string, (...a: string[]) => unknown> = {
    reflect: modeReflect,
    "attach-and-wait": modeAttachAndWait,
    "udp-ping": modeUdpPing,
  };
  console.log(JSON.stringify(await run[mode](...args)));
}

// ---------------------------------------------------------------------------
// The tests that need namespaces.

function spawnInNs(ns: string, ...args: string[]) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", import.meta.filename!, ...args],
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
    child,
    nextLine,
    async result(): Promise<Record<string, unknown>> {
      let last = "";
      for (let l = await nextLine(); l !== null; l = await nextLine()) last = l;
      const status = await child.status;
      if (!status.success) throw new Error(`${args.join(" ")} in ${ns} failed:\n${await stderr}`);
      return JSON.parse(last);
    },
  };
}

async function vethPair(a: string, b: string): Promise<{ aMac: string; bMac: string }> {
  await sh("ip", "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b);
  await sh("ip", "-n", a, "addr", "add", "10.99.0.1/24", "dev", "va");
  await sh("ip", "-n", b, "addr", "add", "10.99.0.2/24", "dev", "vb");
  await sh("ip", "-n", a, "link", "set", "va", "up");
  await sh("ip", "-n", b, "link", "set", "vb", "up");
  const mac = async (ns: string, dev: string) =>
    (JSON.parse(await sh("ip", "-n", ns, "-j", "link", "show", "dev", dev)) as { address: string }[])[0].address;
  const bMac = await mac(b, "vb");
  // Under the program every frame of vb goes to the socket, ARP included: a
  // static neighbour entry stands in for ARP.
  await sh("ip", "-n", a, "neigh", "replace", "10.99.0.2", "lladdr", bMac, "nud", "permanent", "dev", "va");
  return { aMac: await mac(a, "va"), bMac };
}

async function xdpOn(ns: string, dev: string): Promise<unknown> {
  return (JSON.parse(await sh("ip", "-n", ns, "-j", "-d", "link", "show", "dev", dev)) as { xdp?: unknown }[])[0].xdp ??
    null;
}

Deno.test("an AF_XDP socket with its UMEM in WASM memory receives and sends on a veth", async () => {
  requireRoot("network namespaces, veth pairs, BPF, AF_XDP");
  await withNamespaces(2, async ([a, b]) => {
    await vethPair(a, b);
    // The sender's own stack leaves UDP checksums to the "hardware" on veth
    // (CHECKSUM_PARTIAL); AF_XDP gets the bytes without that note, so the
    // first datagram arrives with only the pseudo-header sum in its checksum.
    // With tx checksum offload off, the sender computes it in full and the
    // reflected datagrams (addresses and ports swapped: same sum) are valid.
    const reflector = spawnInNs(b, "reflect", "vb", "21");
    assert.equal(await reflector.nextLine(), JSON.stringify({ ready: true }));
    assert.notEqual(await xdpOn(b, "vb"), null, "no XDP program on vb while the reflector runs");
    const partial = await spawnInNs(a, "udp-ping", "10.99.0.2", "9", "1").result();
    assert.equal(partial.back, 0, "a datagram with a partial checksum came back valid");
    await sh("ip", "netns", "exec", a, "ethtool", "-K", "va", "tx", "off");
    const ping = await spawnInNs(a, "udp-ping", "10.99.0.2", "9", "20").result();
    const r = await reflector.result() as {
      got: number;
      sent: number;
      pollErrors: number;
      kicks: number;
      txNeedWakeup: number;
      zeroCopy: boolean;
      zeroCopyError: string;
      verdictWithSocket: number;
      frames: string[];
      stats: Record<string, number>;
    };
    assert.deepEqual(ping, { back: 20, distinct: 20 });
    assert.equal(r.got, 21);
    assert.equal(r.pollErrors, 0);
    assert.equal(r.sent, 21);
    assert.equal(r.zeroCopy, false);
    assert.equal(r.zeroCopyError, "EOPNOTSUPP");
    assert.equal(r.verdictWithSocket, XDP_REDIRECT);
    // In copy mode the tx ring always asks for a sendto.
    assert.equal(r.txNeedWakeup, r.kicks);
    assert.ok(r.kicks > 0);
    assert.equal(r.stats.rxDropped + r.stats.rxRingFull + r.stats.rxInvalidDescs + r.stats.txInvalidDescs, 0);
    // The first frame: 10.99.0.1:40000 → 10.99.0.2:9, "ping 0"; its UDP
    // checksum field (bytes 40-41) holds the folded pseudo-header sum, not a
    // checksum over the datagram.
    const f = Uint8Array.from(r.frames[0].match(/../g)!.map((x) => parseInt(x, 16)));
    assert.equal(hex(f.subarray(26, 38)), "0a6300010a6300029c400009");
    assert.equal(new TextDecoder().decode(f.subarray(42)), "ping 0");
    const pseudo = 0x0a63 + 0x0001 + 0x0a63 + 0x0002 + 17 + 14;
    assert.equal((f[40] << 8) | f[41], (pseudo & 0xffff) + (pseudo >>> 16));
    assert.equal(await xdpOn(b, "vb"), null, "the XDP program outlived its link");
  });
});

Deno.test("the XDP program goes away when the process holding its link is SIGKILLed", async () => {
  requireRoot("network namespaces, veth pairs, BPF");
  await withNamespaces(2, async ([a, b]) => {
    await vethPair(a, b);
    const holder = spawnInNs(b, "attach-and-wait", "vb");
    assert.equal(await holder.nextLine(), JSON.stringify({ ready: true }));
    const xdp = await xdpOn(b, "vb") as { prog?: { name?: string } };
    assert.equal(xdp?.prog?.name, "t_redirect");
    holder.child.kill("SIGKILL");
    assert.equal((await holder.child.status).signal, "SIGKILL");
    await holder.child.stdout.cancel().catch(() => {});
    // The link is released with the last reference to its file; give the
    // kernel's deferred release a moment.
    let left: unknown = xdp;
    for (let i = 0; i < 50 && left !== null; i++) {
      await sleep(20);
      left = await xdpOn(b, "vb");
    }
    assert.equal(left, null);
  });
});
