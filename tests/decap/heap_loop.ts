/**
 * Child process of tests/decap/heap_test.ts, run inside a fresh network
 * namespace with --v8-flags=--expose-gc,--trace-gc: pushes GUE packets
 * through the real receive path (recvmmsg, parse, TUN write) of
 * src/decap/receiver.ts and reports on stderr what the heap did.
 *
 * Packets are sent on loopback with sendmmsg from buffers made once, by this
 * same thread between receive steps, so nothing but the code under test runs.
 * The inner packets carry a wrong IPv4 header checksum on purpose: the
 * kernel drops them as soon as they leave the TUN device, so the measurement
 * is not spent in (or disturbed by) the local stack answering them.
 *
 * The measured window is bracketed by gc() calls ("testing" in the trace);
 * the parent counts the collections V8 traces in between.
 */
import { addressOf, AF_INET, pointerAt, sendmmsg, SOCK_CLOEXEC, SOCK_DGRAM, socket } from "../../src/sys/libc.ts";
import { TunDevice } from "../../src/sys/tun.ts";
import { DecapCounters } from "../../src/decap/counters.ts";
import { BATCH, Receiver } from "../../src/decap/receiver.ts";
import { vipTable } from "../../src/decap/parse.ts";
import { openTunnelSocket } from "../../src/decap/socket.ts";

declare const gc: () => void;

const TOTAL = Number(Deno.args[0] ?? 500_000);
const WARMUP = Number(Deno.args[1] ?? 50_000);
const PORT = 6080;
const VIP = "10.0.0.100";

const tun = TunDevice.open("lvsdheap0");
await new Deno.Command("ip", { args: ["link", "set", "lvsdheap0", "up"] }).output();
await new Deno.Command("ip", { args: ["addr", "add", `${VIP}/32`, "dev", "lvsdheap0"] }).output();
const rxFd = openTunnelSocket("gue", PORT);
const counters = new DecapCounters();
const receiver = new Receiver({
  tunType: "gue",
  socketFd: rxFd,
  tunFd: tun.fd,
  device: tun.name,
  vips: vipTable([VIP]),
  counters,
});

// One GUE packet: variant 0 header + IPv4/UDP 192.0.2.7:1000 -> VIP:9,
// 64 bytes of payload, IP header checksum deliberately 0xffff (wrong).
const inner = new Uint8Array(20 + 8 + 64);
inner.set([0x45, 0, 0, inner.length, 0, 0, 0x40, 0, 64, 17, 0xff, 0xff, 192, 0, 2, 7, 10, 0, 0, 100]);
inner.set([0x03, 0xe8, 0, 9, 0, 8 + 64, 0, 0], 20);
const packet = new Uint8Array(4 + inner.length);
packet.set([0, 4, 0, 0]);
packet.set(inner, 4);

// The sender: BATCH mmsghdr entries, all pointing at the same packet and
// the same sockaddr_in 127.0.0.1:PORT.
const txFd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
const sa = new Uint8Array(16);
new DataView(sa.buffer).setUint16(0, AF_INET, true);
new DataView(sa.buffer).setUint16(2, PORT);
sa.set([127, 0, 0, 1], 4);
const iov = new ArrayBuffer(16);
new DataView(iov).setBigUint64(0, BigInt(addressOf(packet)), true);
new DataView(iov).setBigUint64(8, BigInt(packet.length), true);
const hdrs = new ArrayBuffer(BATCH * 64);
const hv = new DataView(hdrs);
for (let i = 0; i < BATCH; i++) {
  hv.setBigUint64(i * 64, BigInt(addressOf(sa)), true);
  hv.setUint32(i * 64 + 8, 16, true);
  hv.setBigUint64(i * 64 + 16, BigInt(addressOf(new Uint8Array(iov))), true);
  hv.setBigUint64(i * 64 + 24, 1n, true);
}
const hdrPtr = pointerAt(addressOf(new Uint8Array(hdrs)));

/** Sends and receives until `target` packets were received (bounded). */
function run(target: number): number {
  const start = counters.values[0];
  for (let i = 0; i < target; i++) {
    if (counters.values[0] - start >= target) break;
    if (sendmmsg(txFd, hdrPtr, BATCH, 0) < 0) throw new Error("sendmmsg failed");
    receiver.step(0);
  }
  return counters.values[0] - start;
}

run(WARMUP);
gc();
gc(); // start bracket: two "testing" collections
const heapBefore = Deno.memoryUsage().heapUsed;
const t0 = performance.now();
const measured = run(TOTAL - WARMUP);
const ms = performance.now() - t0;
const heapAfter = Deno.memoryUsage().heapUsed;
gc(); // end bracket: a third

console.error(JSON.stringify({ measured, ms, heapBefore, heapAfter, counters: counters.snapshot() }));
tun.close();
