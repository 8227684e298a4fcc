/**
 * Connection-table scale, in memory (no sockets): how fast the data plane
 * creates and finds connections as a large table fills, and at what
 * occupancy new connections start to be dropped (conn_table_full).
 *
 *     deno run -A bench/conn_scale.ts [--slots 1048576]
 *
 * Frames are TCP SYNs (new connections) and ACKs (lookups of existing ones)
 * from distinct client address/port pairs, written straight into worker 0's
 * frame slots and handed to the module's `process` 64 at a time, as the
 * AF_PACKET worker does. Only the `process` calls are timed. The vnet header
 * says DATA_VALID, as a NIC with checksum offload would, so the L4 checksum
 * is not recomputed per frame.
 */
import { parseArgs } from "node:util";
import { EXT, memoryDirector } from "./memory_director.ts";

const { values } = parseArgs({ args: Deno.args, options: { slots: { type: "string", default: String(1 << 20) } } });
const slots = Number(values.slots);
const state = await memoryDirector(slots);
const l = state.layout;

const v = state.view;
const io = state.ioBase(0);
const BATCH = l.BATCH;

/** IPv4 header checksum of a 20-byte header at `p`. */
function ipChecksum(p: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) if (i !== 10) sum += v.getUint16(p + i, false);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Writes a SYN or ACK from client `c` (index) to the VIP into slot `i`. */
function frame(i: number, c: number, flags: number): void {
  const vnet = io + l.IO_SLOTS + i * l.SLOT_SIZE + l.SLOT_HEADROOM;
  state.u8.fill(0, vnet, vnet + 10);
  v.setUint8(vnet, 2); // VIRTIO_NET_HDR_F_DATA_VALID
  const f = vnet + 10;
  state.u8.set([2, 0, 0, 0, 0xe, 1, 2, 0, 0, 0, 0xcc, 1, 8, 0], f);
  const ip = f + 14;
  const caddr = [10, 64 + ((c >>> 24) & 63), (c >>> 16) & 255, (c >>> 8) & 255];
  state.u8.set([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, ...caddr, 10, 10, 0, 100], ip);
  v.setUint16(ip + 10, ipChecksum(ip), false);
  const t = ip + 20;
  state.u8.fill(0, t, t + 20);
  v.setUint16(t, 1024 + (c & 255) * 200 + 7, false); // source port
  v.setUint16(t + 2, 80, false);
  v.setUint8(t + 12, 0x50);
  v.setUint8(t + 13, flags);
  v.setUint32(io + l.IO_RX_HDRS + i * 64 + 56, 10 + 54, true);
  v.setInt32(io + l.IO_RX_NAME + i * l.NAME_SIZE + 4, EXT, true);
}

function counter(i: number): number {
  return Number(v.getBigUint64(state.statsBase(0) + i * 8, true));
}
const dropsFull = () => counter(l.DROP_BASE + state.dropReasons.indexOf("conn_table_full"));

const now = 1_000_000;
let created = 0;
let firstDropAt = -1;
console.log(
  `lvsd conn-table scale: ${slots} slots (${(slots * 88 / 2 ** 20).toFixed(0)} MiB at 88 B/slot), one worker`,
);
console.log("occupancy   new conns/s (SYN)   lookups/s (ACK, existing)   conn_table_full so far");
for (const target of [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) {
  let synNs = 0, synN = 0;
  while (created < target * slots) {
    const n = Math.min(BATCH, Math.ceil(target * slots) - created);
    for (let i = 0; i < n; i++) frame(i, created + i, 0x02);
    const t0 = performance.now();
    state.exports.process(0, n, now);
    synNs += (performance.now() - t0) * 1e6;
    synN += n;
    const before = dropsFull();
    created += n;
    if (firstDropAt < 0 && before > 0) firstDropAt = (created - n) / slots;
  }
  // Lookups: ACKs for random existing connections.
  let ackNs = 0, ackN = 0;
  for (let b = 0; b < 2000; b++) {
    for (let i = 0; i < BATCH; i++) frame(i, Math.floor(Math.random() * created), 0x10);
    const t0 = performance.now();
    state.exports.process(0, BATCH, now);
    ackNs += (performance.now() - t0) * 1e6;
    ackN += BATCH;
  }
  console.log(
    `${(target * 100).toFixed(0).padStart(6)} %   ${
      Math.round(synN / (synNs / 1e9)).toLocaleString("en").padStart(17)
    }   ${Math.round(ackN / (ackNs / 1e9)).toLocaleString("en").padStart(25)}   ${
      dropsFull().toLocaleString("en").padStart(22)
    }`,
  );
}
console.log(
  `first conn_table_full at ${
    firstDropAt < 0 ? "never (up to 80%)" : `${(firstDropAt * 100).toFixed(1)}% occupancy`
  }; ` +
    `live connections counted in the listing: ${counter(l.G_CONNS).toLocaleString("en")}`,
);
