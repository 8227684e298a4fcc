/**
 * The sync daemons on real sockets (loopback): connections made through a
 * master director's data plane reach a backup director's table through
 * its rings, the encoder, UDP multicast and the decoder; malformed and
 * foreign datagrams are dropped, counted per reason, and install nothing.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { eth, ipv4, tcp } from "../fixtures/frames.ts";
import { CLIENT_MAC, Fixture, IFACES, natServices } from "../fixtures/harness.ts";
import { SYNC_DEFAULTS, SyncBackup, type SyncDaemonConfig, SyncMaster } from "../../src/sync/daemon.ts";
import { scanConnections } from "../../src/supervisor/connections.ts";
import { encodeMessage } from "../../src/sync/wire.ts";
import type { SyncConn } from "../../src/sync/layout.ts";

const VIP = "10.10.0.100";
/** Interface names that exist nowhere: client next hops stay unresolved (no traffic leaves loopback). */
const NO_IFACES = ["lvsd-test-none0", "lvsd-test-none1"];
const log = () => {};

function fromClient(cip: string, cport: number, flags: string): number[] {
  return eth(
    IFACES[0].mac,
    CLIENT_MAC,
    0x0800,
    ipv4({ src: cip, dst: VIP, proto: 6, payload: tcp({ src: cip, dst: VIP, sport: cport, dport: 80, flags }) }),
  );
}

function config(port: number, extra: Partial<SyncDaemonConfig> = {}): SyncDaemonConfig {
  return { ...SYNC_DEFAULTS, mcastInterface: "lo", syncid: 9, port, ...extra };
}

/** A port unlikely to be taken (the test may run next to other helpers' tests). */
function testPort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("sync daemons: 300 connections through a master's data plane are in the backup's table (multicast on lo)", async () => {
  const port = testPort();
  const m = await Fixture.create(natServices());
  const b = await Fixture.create(natServices());
  const backup = await SyncBackup.start(b.state, config(port), NO_IFACES, log, () => b.now);
  const master = await SyncMaster.start(m.state, config(port), log);
  try {
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) {
      const cip = `10.10.${1 + (i >> 8)}.${i & 255 || 1}`;
      m.now = b.now; // one clock is enough here
      m.run(fromClient(cip, 30000 + i, "S"));
      m.run(fromClient(cip, 30000 + i, "A"));
      m.run(fromClient(cip, 30000 + i, "PA")); // packet 3: queued
    }
    strictEqual(m.global(m.state.layout.G_SYNC_QUEUED), 300);
    await until(() => backup.stats.installed === 300, 3000, "300 installs");
    const ms = performance.now() - t0;
    // Full datagrams go at once (40 entries per 1472 bytes on lo's MTU 65536: fewer, bigger datagrams).
    ok(ms < 1000, `installed in ${ms.toFixed(0)} ms`);
    strictEqual(master.stats.conns, 300);
    strictEqual(backup.stats.conns, 300);
    deepStrictEqual(backup.stats.drops, {});
    const onMaster = scanConnections(m.state, natServices(), { limit: 1000 }, m.now).items;
    const onBackup = scanConnections(b.state, natServices(), { limit: 1000 }, b.now).items;
    strictEqual(onBackup.length, 300);
    const key = (c: { client: string; client_port: number; dest: string; dport: number; state: string }) =>
      `${c.client}:${c.client_port}>${c.dest}:${c.dport} ${c.state}`;
    deepStrictEqual(onBackup.map(key).sort(), onMaster.map(key).sort());
    // Active on both sides, per dest.
    for (const id of [0, 1, 2]) deepStrictEqual(b.destConns(id), m.destConns(id));
  } finally {
    master.stop();
    backup.stop();
  }
});

Deno.test("sync daemons: a partial datagram goes out within 100 ms, also after the master idled", async () => {
  const port = testPort();
  const m = await Fixture.create(natServices());
  const b = await Fixture.create(natServices());
  const backup = await SyncBackup.start(b.state, config(port), NO_IFACES, log, () => b.now);
  const master = await SyncMaster.start(m.state, config(port), log);
  try {
    m.run(fromClient("10.10.0.2", 30000, "S"));
    m.run(fromClient("10.10.0.2", 30000, "A"));
    const t0 = performance.now();
    m.run(fromClient("10.10.0.2", 30000, "PA"));
    await until(() => backup.stats.installed === 1, 1000, "one install");
    const ms = performance.now() - t0;
    ok(ms <= 100 + 30, `one connection waited ${ms.toFixed(0)} ms (limit 100 ms + one poll and scheduling slack)`);
    strictEqual(master.stats.datagrams, 1);
    // Idle for more than a second: the master polls 10 times a second, and
    // what it finds goes at once, still within the bound.
    await new Promise((r) => setTimeout(r, 1300));
    m.run(fromClient("10.10.0.2", 30001, "S"));
    m.run(fromClient("10.10.0.2", 30001, "A"));
    const t1 = performance.now();
    m.run(fromClient("10.10.0.2", 30001, "PA"));
    await until(() => backup.stats.installed === 2, 1000, "the second install");
    const idleMs = performance.now() - t1;
    ok(idleMs <= 100 + 30, `after idling, one connection waited ${idleMs.toFixed(0)} ms`);
  } finally {
    master.stop();
    backup.stop();
  }
});

function conn(over: Partial<SyncConn> = {}): SyncConn {
  return {
    proto: "tcp",
    state: 1,
    flags: 0,
    caddr: "10.10.0.2",
    cport: 31000,
    vaddr: VIP,
    vport: 80,
    daddr: "10.20.0.13",
    dport: 8080,
    fwmark: 0,
    timeout: 900,
    ...over,
  };
}

async function sender(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return s;
}

Deno.test("sync backup: malformed and foreign datagrams are dropped per reason and never install half a connection", async () => {
  const port = testPort();
  const b = await Fixture.create(natServices());
  const backup = await SyncBackup.start(b.state, config(port), NO_IFACES, log, () => b.now);
  const s = await sender();
  try {
    const send = (d: Uint8Array) => s.send(Buffer.from(d), port, "127.0.0.1");
    const good = encodeMessage({ syncid: 9, conns: [conn(), conn({ cport: 31001 })] }, 1472)[0];
    const wrongId = encodeMessage({ syncid: 8, conns: [conn()] }, 1472)[0];
    const truncated = good.slice(0, good.length - 10);
    const badSize = good.slice();
    badSize[3] ^= 1; // header size no longer the datagram's
    const v0 = good.slice();
    v0[0] = 2; // first byte non-zero: a version 0 message
    const badType = encodeMessage({ syncid: 9, conns: [conn(), conn({ cport: 31002 })] }, 1472)[0];
    // Second entry's type set to 2 (unknown): a framing error after a good entry.
    badType[8 + 36] = 2;
    const unknownProto = good.slice();
    unknownProto[8 + 1] = 132; // SCTP in the first entry: skipped, the second installs
    for (const d of [wrongId, truncated, badSize, v0, badType, new Uint8Array([0, 9]), unknownProto]) send(d);
    await until(() => backup.stats.datagrams === 7, 2000, "7 datagrams");
    deepStrictEqual(backup.stats.drops, {
      wrong_syncid: 1,
      size_mismatch: 2, // truncated (size says more) and the altered size
      version0: 1,
      entry_type: 1,
      short_header: 1,
      unknown_protocol: 1,
    });
    // Only the second entry of the last datagram: nothing from the broken ones.
    const list = scanConnections(b.state, natServices(), {}, b.now).items;
    deepStrictEqual(list.map((c) => c.client_port), [31001]);
    strictEqual(backup.stats.installed, 1);
    // Entries for what the backup does not have.
    send(encodeMessage({ syncid: 9, conns: [conn({ vport: 81 }), conn({ daddr: "10.20.0.99" })] }, 1472)[0]);
    await until(() => backup.stats.datagrams === 8, 2000, "the 8th datagram");
    const drops: Record<string, number> = backup.stats.drops;
    deepStrictEqual([drops.no_service, drops.no_dest], [1, 1]);
    strictEqual(scanConnections(b.state, natServices(), {}, b.now).total, 1);
  } finally {
    s.close();
    backup.stop();
  }
});

Deno.test("sync daemons: unicast to a peer; a backup with a peer takes datagrams from it only", async () => {
  const port = testPort();
  const m = await Fixture.create(natServices());
  const b = await Fixture.create(natServices());
  const backup = await SyncBackup.start(b.state, config(port, { peer: "127.0.0.1" }), NO_IFACES, log, () => b.now);
  const master = await SyncMaster.start(m.state, config(port, { peer: "127.0.0.1" }), log);
  const other = await SyncBackup.start(b.state, config(port + 1, { peer: "127.0.0.2" }), NO_IFACES, log);
  const s = await sender();
  try {
    master.send([conn()]);
    await until(() => backup.stats.installed === 1, 2000, "the unicast install");
    s.send(Buffer.from(encodeMessage({ syncid: 9, conns: [conn({ cport: 1 })] }, 1472)[0]), port + 1, "127.0.0.1");
    await until(() => other.stats.datagrams === 1, 2000, "the foreign datagram");
    deepStrictEqual(other.stats.drops, { foreign_sender: 1 });
    strictEqual(other.stats.installed, 0);
  } finally {
    s.close();
    master.stop();
    backup.stop();
    other.stop();
  }
});

Deno.test("sync master: a maxlen that cannot hold one entry, or an interface that does not exist, refuses to start", async () => {
  const m = await Fixture.create(natServices());
  await rejects(SyncMaster.start(m.state, config(testPort(), { maxlen: 43 }), log), /maxlen 43 cannot hold one entry/);
  await rejects(
    SyncMaster.start(m.state, config(testPort(), { mcastInterface: "lvsd-test-none0" }), log),
    /lvsd-test-none0/,
  );
  // Nothing half-started: the workers were never told to queue.
  const l = m.state.layout;
  strictEqual(m.state.view.getUint32(l.CTRL + l.CTRL_SYNC_STATE, true), 0);
});

Deno.test("sync master: what is queued when it stops is still sent", async () => {
  const port = testPort();
  const m = await Fixture.create(natServices());
  const b = await Fixture.create(natServices());
  const backup = await SyncBackup.start(b.state, config(port), NO_IFACES, log, () => b.now);
  const master = await SyncMaster.start(m.state, config(port), log);
  try {
    for (let i = 0; i < 5; i++) {
      m.run(fromClient("10.10.0.3", 32000 + i, "S"));
      m.run(fromClient("10.10.0.3", 32000 + i, "A"));
      m.run(fromClient("10.10.0.3", 32000 + i, "PA"));
    }
    master.stop(); // before the 100 ms are up
    await until(() => backup.stats.installed === 5, 1000, "the last 5 installs");
    strictEqual(master.stats.conns, 5);
  } finally {
    master.stop();
    backup.stop();
  }
});
