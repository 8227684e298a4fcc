/**
 * Child process of tests/hotpath/heap_test.ts (run with
 * --v8-flags=--expose-gc,--trace-gc): pushes frames through the real worker
 * loop, pump() with a MemoryIo, and reports on stderr what the heap did.
 *
 * The measured window is bracketed by explicit gc() calls, which V8 traces
 * with the reason "testing" on stdout, in order with every other GC it
 * traces there: the parent counts the collections between the brackets.
 *
 * Flows: 4 TCP clients and 2 UDP clients of the fixture's services. A setup
 * pass opens them (SYN / first query); the loop then replays established
 * traffic both ways: client data to the VIP and the real servers' answers.
 */
import { CoarseClock, monotonicMs } from "../../src/sys/clock.ts";
import { SharedState } from "../../src/dataplane/shared_state.ts";
import { TablePublisher } from "../../src/dataplane/tables.ts";
import { MemoryIo, type TemplateFrame } from "../../workers/memory_io.ts";
import { pump } from "../../workers/pump.ts";
import { eth, ip, ipv4, mac, tcp, udp } from "../fixtures/frames.ts";
import { CLIENT_MAC, IFACES, natServices, RS_MACS } from "../fixtures/harness.ts";

declare const gc: () => void;

const TOTAL = Number(Deno.args[0] ?? 1_000_000);
const WARMUP = Number(Deno.args[1] ?? 100_000);
const VIP = "10.10.0.100";
const RS = ["10.20.0.11", "10.20.0.12", "10.20.0.13"];
const EXT = IFACES[0];
const INT = IFACES[1];

const state = new SharedState({ connCapacity: 4096, workers: 2 });
for (const i of IFACES) state.setInterface(i.slot, i.ifindex, new Uint8Array(mac(i.mac)), 1500);
await new TablePublisher(state).publish(natServices());
const l = state.layout;
state.exports.io_init(0);
const io = state.ioBase(0);
const commands = new Int32Array(state.memory.buffer);
const commandIndex = (l.CTRL + l.CTRL_WORKER_CMD) >> 2;

// Templates live in worker 1's frame slots (worker 1 never runs here).
let store = state.ioBase(1) + l.IO_SLOTS;
function template(frame: number[], ifindex: number): TemplateFrame {
  const offset = store;
  state.u8.fill(0, offset, offset + 10);
  state.u8.set(frame, offset + 10);
  store += 2048;
  return { offset, length: 10 + frame.length, ifindex };
}
function memoryIo(templates: TemplateFrame[]): MemoryIo {
  return new MemoryIo({
    memory: state.memory,
    region: { rxHdrs: io + l.IO_RX_HDRS, txHdrs: io + l.IO_TX_HDRS, batch: l.BATCH },
    slotData: io + l.IO_SLOTS + l.SLOT_HEADROOM,
    slotSize: l.SLOT_SIZE,
    names: io + l.IO_RX_NAME,
    nameSize: l.NAME_SIZE,
    templates,
  });
}
const bytes = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
const clientTcp = (cip: string, sport: number, flags: string, payload: number[] = []) =>
  eth(
    EXT.mac,
    CLIENT_MAC,
    0x0800,
    ipv4({ src: cip, dst: VIP, proto: 6, payload: tcp({ src: cip, dst: VIP, sport, dport: 80, flags, payload }) }),
  );
const clientUdp = (cip: string, sport: number) =>
  eth(
    EXT.mac,
    CLIENT_MAC,
    0x0800,
    ipv4({
      src: cip,
      dst: VIP,
      proto: 17,
      payload: udp({ src: cip, dst: VIP, sport, dport: 53, payload: bytes(40, sport) }),
    }),
  );

const tcpFlows = [0, 1, 2, 3].map((i) => ({ cip: `10.10.0.${10 + i}`, port: 40000 + i }));
const udpFlows = [0, 1].map((i) => ({ cip: `10.10.0.${20 + i}`, port: 5000 + i }));

// Setup: open every flow once.
const setup = [
  ...tcpFlows.map((f) => template(clientTcp(f.cip, f.port, "S"), EXT.ifindex)),
  ...udpFlows.map((f) => template(clientUdp(f.cip, f.port), EXT.ifindex)),
];
const clock = new CoarseClock(state.memory, state.ioBase(0) + l.IO_CLOCK);
pump(memoryIo(setup), state.exports, {
  worker: 0,
  batch: setup.length,
  commands,
  commandIndex,
  clock,
  maxIterations: 1,
});

/** The dest a flow was given: CONN_DADDR of its connection, as a dotted quad. */
function destOf(proto: number, cip: string, cport: number, vport: number): string {
  const le = (a: string) => ip(a).reduce((acc, b, i) => acc + b * 2 ** (8 * i), 0);
  const swap = (p: number) => ((p & 0xff) << 8) | (p >> 8);
  const c = state.exports.conn_lookup_in(proto, le(cip), swap(cport), le(VIP), swap(vport), monotonicMs());
  if (c === 0) throw new Error(`setup: no connection for ${cip}:${cport}`);
  return Array.from(state.u8.subarray(c + l.CONN_DADDR, c + l.CONN_DADDR + 4)).join(".");
}
const traffic: TemplateFrame[] = [];
for (const f of tcpFlows) {
  const rs = destOf(6, f.cip, f.port, 80);
  const m = RS_MACS[RS.indexOf(rs)];
  traffic.push(template(clientTcp(f.cip, f.port, "PA", bytes(512, f.port)), EXT.ifindex));
  traffic.push(template(
    eth(
      INT.mac,
      m,
      0x0800,
      ipv4({
        src: rs,
        dst: f.cip,
        proto: 6,
        payload: tcp({ src: rs, dst: f.cip, sport: 8080, dport: f.port, flags: "PA", payload: bytes(1024, f.port) }),
      }),
    ),
    INT.ifindex,
  ));
}
for (const f of udpFlows) {
  const rs = destOf(17, f.cip, f.port, 53);
  const m = RS_MACS[RS.indexOf(rs)];
  traffic.push(template(clientUdp(f.cip, f.port), EXT.ifindex));
  traffic.push(
    template(
      eth(
        INT.mac,
        m,
        0x0800,
        ipv4({
          src: rs,
          dst: f.cip,
          proto: 17,
          payload: udp({ src: rs, dst: f.cip, sport: 53, dport: f.port, payload: bytes(200, f.port) }),
        }),
      ),
      INT.ifindex,
    ),
  );
}

const mio = memoryIo(traffic);
const opts = {
  worker: 0,
  batch: l.BATCH,
  commands,
  commandIndex,
  clock,
  maxIterations: Math.ceil(WARMUP / l.BATCH),
};
const warm = pump(mio, state.exports, opts);
const measured = { ...opts, maxIterations: Math.ceil((TOTAL - warm) / l.BATCH) };

gc();
gc(); // start bracket: two "testing" collections
const heapBefore = Deno.memoryUsage().heapUsed;
const t0 = performance.now();
const frames = pump(mio, state.exports, measured);
const ms = performance.now() - t0;
const heapAfter = Deno.memoryUsage().heapUsed;
gc(); // end bracket: a third

const global = (i: number) => Number(state.view.getBigUint64(state.statsBase(0) + i * 8, true));
const drops: Record<string, number> = {};
state.dropReasons.forEach((name, i) => {
  if (global(l.DROP_BASE + i)) drops[name] = global(l.DROP_BASE + i);
});
console.error(JSON.stringify({
  frames: warm + frames + setup.length,
  measuredFrames: frames,
  ms,
  heapBefore,
  heapAfter,
  sent: mio.sent,
  rx: global(l.G_RX_FRAMES),
  tx: global(l.G_TX_FRAMES),
  conns: global(l.G_CONNS),
  drops,
}));
