/**
 * Connection sync, the whole pipeline in one process on loopback: how many
 * new connections per second a master director's sync gets to a backup
 * without losing one. A master SharedState takes real frames through the
 * data-plane WASM (SYN, ACK, ACK from distinct clients: the third client
 * packet is the one the kernel's rule syncs at), its SyncMaster drains the
 * worker ring and multicasts on lo; a SyncBackup (its own SharedState, same
 * services) receives, decodes and installs. Both ends share this process's
 * one core, so the figure is conservative for two directors.
 *
 *     deno run -A bench/sync_pipeline.ts
 */
import { SharedState } from "../src/dataplane/shared_state.ts";
import { EXT, memoryDirector } from "./memory_director.ts";
import { SYNC_DEFAULTS, SyncBackup, SyncMaster } from "../src/sync/daemon.ts";

async function director(slots: number): Promise<SharedState> {
  const s = await memoryDirector(slots);
  // Touch the table, reverse index and sync array once, as a director
  // that has run a while has: the first write to each page is a page
  // fault, which would otherwise be counted as sync work.
  const l = s.layout;
  const from = s.view.getUint32(l.CTRL + l.CTRL_CONN_BASE, true);
  const to = s.view.getUint32(l.CTRL + l.CTRL_IO_BASE, true);
  s.u8.fill(0, from, to);
  return s;
}

/** Writes a TCP segment with `flags` from client `c` to the VIP into worker 0's slot `i`. */
function frame(s: SharedState, i: number, c: number, flags: number): void {
  const l = s.layout, v = s.view, io = s.ioBase(0);
  const vnet = io + l.IO_SLOTS + i * l.SLOT_SIZE + l.SLOT_HEADROOM;
  s.u8.fill(0, vnet, vnet + 10);
  v.setUint8(vnet, 2); // DATA_VALID: no L4 checksum to compute
  const f = vnet + 10;
  s.u8.set([2, 0, 0, 0, 0xe, 1, 2, 0, 0, 0, 0xcc, 1, 8, 0], f);
  const ip = f + 14;
  s.u8.set([
    0x45,
    0,
    0,
    40,
    0,
    1,
    0x40,
    0,
    64,
    6,
    0,
    0,
    10,
    64 + ((c >>> 16) & 63),
    (c >>> 8) & 255,
    c & 255,
    10,
    10,
    0,
    100,
  ], ip);
  let sum = 0;
  for (let k = 0; k < 20; k += 2) if (k !== 10) sum += v.getUint16(ip + k, false);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(ip + 10, ~sum & 0xffff, false);
  const t = ip + 20;
  s.u8.fill(0, t, t + 20);
  v.setUint16(t, 1024 + (c >>> 22), false);
  v.setUint16(t + 2, 80, false);
  v.setUint8(t + 12, 0x50);
  v.setUint8(t + 13, flags);
  v.setUint32(io + l.IO_RX_HDRS + i * 64 + 56, 10 + 54, true);
  v.setInt32(io + l.IO_RX_NAME + i * l.NAME_SIZE + 4, EXT, true);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = 1_700_000_000_000;
const log = () => {};
console.log("lvsd sync pipeline (one process, loopback multicast): new connections/s offered for 2 s each");
console.log("offered/s    achieved/s   entries sent   received   installed   lost   queue_full   datagrams");
let best = 0;
for (const rate of [10_000, 25_000, 50_000, 100_000, 150_000, 200_000]) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const m = await director(1 << 20);
  const b = await director(1 << 20);
  const cfg = { ...SYNC_DEFAULTS, mcastInterface: "lo", port, maxlen: 1472 };
  const backup = await SyncBackup.start(b, cfg, [], log, () => now);
  const master = await SyncMaster.start(m, cfg, log);
  const tickMs = 5;
  const perTick = Math.round(rate * tickMs / 1000);
  let made = 0;
  const t0 = performance.now();
  const end = t0 + 2000;
  while (performance.now() < end) {
    const due = Math.min(Math.round((performance.now() - t0) / 1000 * rate), made + perTick * 4);
    while (made < due) {
      let i = 0;
      for (; i + 3 <= m.layout.BATCH && made < due; made++) {
        frame(m, i++, made, 0x02);
        frame(m, i++, made, 0x10);
        frame(m, i++, made, 0x10);
      }
      m.exports.process(0, i, now);
    }
    await sleep(1);
  }
  const secs = (performance.now() - t0) / 1000;
  await sleep(300);
  master.flush(true);
  await sleep(300);
  const queueFull = Number(m.view.getBigUint64(m.statsBase(0) + m.layout.G_SYNC_QUEUE_FULL * 8, true));
  const lost = master.stats.conns - backup.stats.conns + queueFull;
  console.log(
    `${rate.toLocaleString("en").padStart(9)}   ${Math.round(made / secs).toLocaleString("en").padStart(10)}   ${
      master.stats.conns.toLocaleString("en").padStart(12)
    }   ${backup.stats.conns.toLocaleString("en").padStart(8)}   ${
      backup.stats.installed.toLocaleString("en").padStart(9)
    }   ${String(lost).padStart(4)}   ${String(queueFull).padStart(10)}   ${
      master.stats.datagrams.toLocaleString("en").padStart(9)
    }`,
  );
  if (lost === 0 && master.stats.conns === made) best = Math.max(best, Math.round(made / secs));
  master.stop();
  backup.stop();
}
console.log(
  `highest rate with every connection installed on the backup: ${best.toLocaleString("en")} new connections/s`,
);
