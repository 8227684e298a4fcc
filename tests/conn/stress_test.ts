/**
 * Several workers on one connection table at once: each (a Deno Worker with
 * its own instance of the module on the shared memory, see stress_worker.ts)
 * opens thousands of connections from distinct client ports while it
 * answers, as the real servers, the connections another worker opened. The
 * CAS-claimed slots, the reverse index and the ActiveConn/InActConn atomics
 * must come out exact: nothing lost, nothing counted twice.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { SharedState } from "../../src/dataplane/shared_state.ts";
import { TablePublisher } from "../../src/dataplane/tables.ts";
import { eth, hex, ipv4, mac, tcp } from "../fixtures/frames.ts";
import { CLIENT_MAC, Fixture, IFACES, natServices, RS_MACS } from "../fixtures/harness.ts";
import type { RaceJob } from "./expiry_race_worker.ts";
import type { StressJob, StressResult } from "./stress_worker.ts";
import { startTogether } from "../helpers/start_together.ts";

const WORKERS = 4;
const PER_WORKER = 3000;
const NOW = 1_700_000_000_000;
const VIP = "10.10.0.100";
const CIP = "10.10.0.2";
const RS = ["10.20.0.11", "10.20.0.12", "10.20.0.13"];

Deno.test("batch: 64 SYNs in one process() call come out as 64 intact NATed frames", async () => {
  // Single-threaded ground truth for the workers below: a full batch, each
  // tx entry checked byte for byte against the frame built from scratch.
  const fx = await Fixture.create(natServices());
  const s = fx.state;
  const l = s.layout;
  const io = s.ioBase(0);
  const memAddr = s.view.getBigUint64(l.CTRL + l.CTRL_MEM_ADDR, true);
  const n = l.BATCH;
  for (let i = 0; i < n; i++) {
    const f = eth(
      IFACES[0].mac,
      CLIENT_MAC,
      0x0800,
      ipv4({
        src: CIP,
        dst: VIP,
        proto: 6,
        payload: tcp({ src: CIP, dst: VIP, sport: 20000 + i, dport: 80, flags: "S" }),
      }),
    );
    const v = io + l.IO_SLOTS + i * l.SLOT_SIZE + l.SLOT_HEADROOM;
    s.u8.fill(0, v, v + 10);
    s.u8.set(f, v + 10);
    s.view.setUint32(io + l.IO_RX_HDRS + i * l.MMSGHDR_SIZE + 56, 10 + f.length, true);
    s.view.setUint16(io + l.IO_RX_NAME + i * l.NAME_SIZE, 17, true);
    s.view.setInt32(io + l.IO_RX_NAME + i * l.NAME_SIZE + 4, IFACES[0].ifindex, true);
  }
  strictEqual(s.exports.process(0, n, fx.now), n);
  const wrr = [2, 2, 1, 2, 1, 0]; // rs3 rs3 rs2 rs3 rs2 rs1 (weights 1,2,3)
  const bad: string[] = [];
  for (let t = 0; t < n; t++) {
    const th = io + l.IO_TX_HDRS + t * l.MMSGHDR_SIZE;
    const iov = Number(s.view.getBigUint64(th + 16, true) - memAddr);
    const base = Number(s.view.getBigUint64(iov, true) - memAddr);
    const len = Number(s.view.getBigUint64(iov + 8, true));
    const rs = wrr[t % 6];
    const want = eth(
      RS_MACS[rs],
      IFACES[1].mac,
      0x0800,
      ipv4({
        src: CIP,
        dst: RS[rs],
        proto: 6,
        payload: tcp({ src: CIP, dst: RS[rs], sport: 20000 + t, dport: 8080, flags: "S" }),
      }),
    );
    const got = hex(s.u8.subarray(base, base + len));
    const expected = hex([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...want]);
    if (got !== expected) bad.push(`tx ${t} (rx slot at +${base - io}):\n  expected ${expected}\n  actual   ${got}`);
  }
  deepStrictEqual(bad, [], `${bad.length} of ${n} transmitted frames differ:\n${bad.join("\n")}`);
});

Deno.test(`stress: ${WORKERS} workers open ${WORKERS * PER_WORKER} connections and answer each other's`, async () => {
  const state = new SharedState({ connCapacity: 65536, workers: WORKERS });
  for (const i of IFACES) state.setInterface(i.slot, i.ifindex, new Uint8Array(mac(i.mac)), 1500);
  await new TablePublisher(state).publish(natServices());
  const l = state.layout;

  const logs = Array.from({ length: WORKERS }, () => new SharedArrayBuffer(4 + PER_WORKER * 12));
  const go = new SharedArrayBuffer(4);
  const jobs = Array.from({ length: WORKERS }, (_, i): StressJob => ({
    memory: state.memory,
    module: state.module,
    worker: i,
    count: PER_WORKER,
    firstPort: 10000 + i * PER_WORKER,
    ownLog: logs[i],
    peerLog: logs[(i + 1) % WORKERS],
    peerCount: PER_WORKER,
    go,
    now: NOW,
    ext: { ifindex: IFACES[0].ifindex, mac: IFACES[0].mac },
    int: { ifindex: IFACES[1].ifindex, mac: IFACES[1].mac },
    clientMac: CLIENT_MAC,
    vip: VIP,
    cip: CIP,
    rs: RS,
    rsMacs: RS_MACS,
  }));
  const results = await startTogether<StressJob, StressResult>(
    new URL("./stress_worker.ts", import.meta.url),
    jobs,
    go,
    "stress worker",
  );

  const total = WORKERS * PER_WORKER;
  for (const r of results) {
    console.log(
      `worker ${r.worker}: ${r.opened} opened, ${r.repliesForwarded}/${r.repliesSent} replies in ${r.batches} batches, ${
        r.ms.toFixed(0)
      } ms`,
    );
    deepStrictEqual(
      {
        opened: r.opened,
        badOpens: r.badOpens,
        sent: r.repliesSent,
        forwarded: r.repliesForwarded,
        badReplies: r.badReplies,
      },
      { opened: PER_WORKER, badOpens: 0, sent: PER_WORKER, forwarded: PER_WORKER, badReplies: 0 },
      `worker ${r.worker}: every frame comes out intact and every reply finds its connection (opened by another worker)`,
    );
  }
  // Every worker logged every connection it opened.
  for (const log of logs) strictEqual(Atomics.load(new Int32Array(log), 0), PER_WORKER);

  // Counters over all workers: no drops, nothing left to the kernel.
  const global = (idx: number) => {
    let t = 0n;
    for (let w = 0; w < WORKERS; w++) t += state.view.getBigUint64(state.statsBase(w) + idx * 8, true);
    return Number(t);
  };
  const drops: Record<string, number> = {};
  state.dropReasons.forEach((name, i) => {
    const n = global(l.DROP_BASE + i);
    if (n) drops[name] = n;
  });
  deepStrictEqual(drops, {});
  strictEqual(global(l.G_IGNORED), 0);
  strictEqual(global(l.G_CONNS), total);
  strictEqual(global(l.G_RX_FRAMES), 2 * total);
  strictEqual(global(l.G_TX_FRAMES), 2 * total);

  // Scan the table: one LIVE record per client port, no duplicates, and the
  // state each reply left it in.
  const ports = new Set<number>();
  const scan = new Map<number, { active: number; inactive: number }>();
  const states: Record<string, number> = {};
  let live = 0;
  for (let i = 0; i < state.connCapacity; i++) {
    const c = state.connAt(i);
    if (state.view.getUint32(c + l.CONN_SLOT, true) !== l.SLOT_LIVE) continue;
    live++;
    const port = state.view.getUint16(c + l.CONN_CPORT, false);
    ok(!ports.has(port), `client port ${port} has two records`);
    ports.add(port);
    const sf = state.view.getUint32(c + l.CONN_SF, true);
    const proto = state.view.getUint8(c + l.CONN_PROTO);
    const name = proto === 17 ? "UDP" : state.tcpStates[sf & 0xff];
    states[name] = (states[name] ?? 0) + 1;
    const id = state.view.getUint16(c + l.CONN_DEST_ID, true);
    const s = scan.get(id) ?? { active: 0, inactive: 0 };
    if ((sf >> 8) & l.CONN_F_INACTIVE) s.inactive++;
    else s.active++;
    scan.set(id, s);
  }
  strictEqual(live, total);
  strictEqual(ports.size, total);
  // Ports p % 4 == 3 are UDP; TCP even ports got a SYN-ACK, odd ones a RST.
  const udp = total / 4, tcpSa = total / 2, tcpRst = total / 4;
  deepStrictEqual(states, { UDP: udp, SYN_RECV: tcpSa, CLOSE: tcpRst });

  // ActiveConn/InActConn per dest equal what the records say.
  let active = 0, inactive = 0;
  for (let id = 0; id < 6; id++) {
    const p = l.DSTATE + id * l.DSTATE_SIZE;
    const d = {
      active: state.view.getInt32(p + l.DSTATE_ACTIVE, true),
      inactive: state.view.getInt32(p + l.DSTATE_INACT, true),
    };
    deepStrictEqual(d, scan.get(id) ?? { active: 0, inactive: 0 }, `dest ${id}`);
    active += d.active;
    inactive += d.inactive;
  }
  deepStrictEqual({ active, inactive }, { active: tcpSa, inactive: tcpRst + udp });
  // The shared wrr cursor split the TCP connections 1:2:3 over rs1..rs3, exactly.
  const tcpBy = [0, 1, 2].map((id) => (scan.get(id)?.active ?? 0) + (scan.get(id)?.inactive ?? 0));
  const tcpTotal = tcpSa + tcpRst;
  deepStrictEqual(tcpBy, [tcpTotal / 6, (2 * tcpTotal) / 6, (3 * tcpTotal) / 6]);

  // The sweep takes everything out, exactly once.
  strictEqual(state.expire(NOW + 301_000), total);
  for (let id = 0; id < 6; id++) {
    const p = l.DSTATE + id * l.DSTATE_SIZE;
    deepStrictEqual([state.view.getInt32(p + l.DSTATE_ACTIVE, true), state.view.getInt32(p + l.DSTATE_INACT, true)], [
      0,
      0,
    ], `dest ${id}`);
  }
});

// A packet that found its connection (lookupIn/lookupOut) may still be
// using the record while the supervisor's sweep (or another worker's claim)
// reclaims it. Its state transition must then fail (the CAS on the
// (incarnation, state) pair sees DEAD or a new incarnation) instead of
// moving the counters of a connection already unbound. The window is a
// packet whose batch `now` is just before the expiry while the sweeper's
// clock is just past it; here the two clocks are far apart so that the
// window is open all the time.
Deno.test({
  name: "stress: packets racing the expiry sweep leave ActiveConn/InActConn at 0",
  fn: async () => {
    const state = new SharedState({ connCapacity: 16, workers: 2 });
    for (const i of IFACES) state.setInterface(i.slot, i.ifindex, new Uint8Array(mac(i.mac)), 1500);
    await new TablePublisher(state).publish(natServices());
    const l = state.layout;
    // SYN (-> SYN_RECV, active) and FIN (-> TIME_WAIT, inactive) in turn: every
    // packet moves a counter.
    const seg = (flags: string, sport: number) =>
      new Uint8Array(
        eth(
          IFACES[0].mac,
          CLIENT_MAC,
          0x0800,
          ipv4({ src: CIP, dst: VIP, proto: 6, payload: tcp({ src: CIP, dst: VIP, sport, dport: 80, flags }) }),
        ),
      );
    const frames = [1000, 1001, 1002].flatMap((p) => [seg("S", p), seg("FA", p)]);
    const stop = new SharedArrayBuffer(4);
    const w = new Worker(new URL("./expiry_race_worker.ts", import.meta.url), { type: "module" });
    try {
      let next: (v: unknown) => void = () => {};
      w.onmessage = (e) => next(e.data);
      let msg = new Promise((r) => next = r);
      const job: RaceJob = {
        memory: state.memory,
        module: state.module,
        worker: 1,
        frames,
        ifindex: IFACES[0].ifindex,
        stop,
        now: NOW,
      };
      w.postMessage(job);
      await msg; // ready
      msg = new Promise((r) => next = r);
      const t0 = performance.now();
      while (performance.now() - t0 < 500) state.expire(NOW + 10_000_000);
      Atomics.store(new Int32Array(stop), 0, 1);
      await msg;
    } finally {
      w.terminate();
    }
    state.expire(NOW + 10_000_000);
    for (let id = 0; id < 6; id++) {
      const p = l.DSTATE + id * l.DSTATE_SIZE;
      deepStrictEqual([state.view.getInt32(p + l.DSTATE_ACTIVE, true), state.view.getInt32(p + l.DSTATE_INACT, true)], [
        0,
        0,
      ], `dest ${id}: [ActiveConn, InActConn]`);
    }
  },
});

// Persistence templates under the same race. Two workers, each for its own
// client, replay SYN then FIN on one port to a persistent service: each SYN
// ends the connection in TIME_WAIT (its control goes back, the template's
// count drops to 0) and makes a new one (a control is taken again). The
// sweep's clock sits 61 s ahead: past the templates' expiry (re-armed for
// 60 s on each use) but not the TIME_WAIT connections' (120 s), so it tries
// to end the templates right while the workers take and give back
// controls. A template must never be reclaimed while it controls a
// connection, and its count must equal the live connections naming it.
Deno.test({
  name: "stress: templates taking controls while the sweep ends them keep exact counts",
  fn: async () => {
    const state = new SharedState({ connCapacity: 64, workers: 3 });
    for (const i of IFACES) state.setInterface(i.slot, i.ifindex, new Uint8Array(mac(i.mac)), 1500);
    const services = natServices();
    services[0].persistence = { timeout: 60, netmask: "255.255.255.255" };
    await new TablePublisher(state).publish(services);
    const l = state.layout;
    const seg = (cip: string, flags: string) =>
      new Uint8Array(
        eth(
          IFACES[0].mac,
          CLIENT_MAC,
          0x0800,
          ipv4({ src: cip, dst: VIP, proto: 6, payload: tcp({ src: cip, dst: VIP, sport: 2000, dport: 80, flags }) }),
        ),
      );
    const clients = ["10.10.0.21", "10.10.0.22"];
    const stop = new SharedArrayBuffer(4);
    const workers = clients.map(() =>
      new Worker(new URL("./expiry_race_worker.ts", import.meta.url), { type: "module" })
    );
    let sweeps = 0;
    try {
      const waits = workers.map((w, k) => {
        let got = 0;
        let wake: () => void = () => {};
        w.onmessage = () => {
          got++;
          wake();
        };
        const job: RaceJob = {
          memory: state.memory,
          module: state.module,
          worker: k + 1,
          frames: [seg(clients[k], "S"), seg(clients[k], "FA")],
          ifindex: IFACES[0].ifindex,
          stop,
          now: NOW,
        };
        w.postMessage(job);
        return (n: number) =>
          new Promise<void>((r) => {
            wake = () => got >= n && r();
            wake();
          });
      });
      await Promise.all(waits.map((wait) => wait(1))); // ready
      const t0 = performance.now();
      while (performance.now() - t0 < 500) {
        state.expire(NOW + 61_000);
        sweeps++;
      }
      Atomics.store(new Int32Array(stop), 0, 1);
      await Promise.all(waits.map((wait) => wait(2)));
    } finally {
      for (const w of workers) w.terminate();
    }
    ok(sweeps > 100, `only ${sweeps} sweeps ran`);
    // One more sweep with the workers stopped, so that nothing they do hides
    // a template ended under its connection (a SYN would make a new one).
    state.expire(NOW + 61_000);
    const ip = (c: number) => Array.from(state.u8.subarray(c + l.CONN_CADDR, c + l.CONN_CADDR + 4)).join(".");
    const recs: { ref: number; template: boolean; client: string; dest: number; sf: number; control: number }[] = [];
    for (let i = 0; i < state.connCapacity; i++) {
      const c = state.connAt(i);
      if (state.view.getUint32(c + l.CONN_SLOT, true) !== l.SLOT_LIVE) continue;
      recs.push({
        ref: i + 1,
        template: (state.view.getUint8(c + l.CONN_PROTO) & l.CONN_PROTO_TEMPLATE) !== 0,
        client: ip(c),
        dest: state.view.getUint16(c + l.CONN_DEST_ID, true),
        sf: state.view.getUint32(c + l.CONN_SF, true),
        control: state.view.getUint32(c + l.CONN_CONTROL, true),
      });
    }
    // Each client: at most one connection (the sweep also ends SYN_RECV ones,
    // whose 60 s are past its clock), controlled by its live template on the
    // same dest.
    for (const cip of clients) {
      const mine = recs.filter((r) => r.client === cip && !r.template);
      ok(mine.length <= 1, `${cip}: ${mine.length} connections`);
      for (const c of mine) {
        const t = recs.find((r) => r.ref === c.control);
        ok(t?.template, `${cip}: its connection's template was reclaimed under it`);
        deepStrictEqual([t.client, t.dest], [cip, c.dest], `${cip}: its template`);
      }
    }
    for (const t of recs.filter((r) => r.template)) {
      strictEqual(
        t.sf >>> l.CONN_T_CONTROL_SHIFT,
        recs.filter((r) => r.control === t.ref).length,
        `template of ${t.client}: controls`,
      );
    }
    const counters = (id: number) => {
      const p = l.DSTATE + id * l.DSTATE_SIZE;
      return [l.DSTATE_ACTIVE, l.DSTATE_INACT, l.DSTATE_PERSIST].map((f) => state.view.getInt32(p + f, true));
    };
    for (let id = 0; id < 6; id++) {
      const at = recs.filter((r) => r.dest === id);
      const want = [
        at.filter((r) => !r.template && !((r.sf >> 8) & l.CONN_F_INACTIVE)).length,
        at.filter((r) => !r.template && (r.sf >> 8) & l.CONN_F_INACTIVE).length,
        at.filter((r) => r.template).length,
      ];
      deepStrictEqual(counters(id), want, `dest ${id}: [ActiveConn, InActConn, PersistConn]`);
    }
    // Then everything ends: connections first, their templates after them.
    state.expire(NOW + 1e12);
    state.expire(NOW + 1e12 + 61_000);
    for (let id = 0; id < 6; id++) deepStrictEqual(counters(id), [0, 0, 0], `dest ${id}: [Active, InAct, Persist]`);
  },
});
