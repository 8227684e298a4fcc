/**
 * The shared connection table, driven by packets through the WASM (no
 * sockets): a client packet to the VIP inserts a connection, a real
 * server's reply finds it through the reverse index, the supervisor's sweep
 * expires it, and ActiveConn/InActConn follow the IPVS rules
 * (ip_vs_proto_tcp.c tcp_states[] and tcp_state_active_table; UDP is never
 * active). Services are the fixture's: TCP VIP:80 wrr rs1..rs3 weights
 * 1,2,3 (dest ids 0..2) and UDP VIP:53 rr (dest ids 3..5).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { eth, hex, ip, ipv4, tcp, udp } from "../fixtures/frames.ts";
import { CLIENT_MAC, Fixture, IFACES, natServices, RS_MACS } from "../fixtures/harness.ts";

const EXT = IFACES[0];
const INT = IFACES[1];
const VIP = "10.10.0.100";
const RS = ["10.20.0.11", "10.20.0.12", "10.20.0.13"];

function clientTcp(cip: string, sport: number, flags: string): number[] {
  return eth(
    EXT.mac,
    CLIENT_MAC,
    0x0800,
    ipv4({ src: cip, dst: VIP, proto: 6, payload: tcp({ src: cip, dst: VIP, sport, dport: 80, flags }) }),
  );
}

function serverTcp(rs: string, cip: string, cport: number, flags: string): number[] {
  const m = RS_MACS[RS.indexOf(rs)];
  return eth(
    INT.mac,
    m,
    0x0800,
    ipv4({ src: rs, dst: cip, proto: 6, payload: tcp({ src: rs, dst: cip, sport: 8080, dport: cport, flags }) }),
  );
}

function clientUdp(cip: string, sport: number): number[] {
  return eth(
    EXT.mac,
    CLIENT_MAC,
    0x0800,
    ipv4({ src: cip, dst: VIP, proto: 17, payload: udp({ src: cip, dst: VIP, sport, dport: 53, payload: [1, 2, 3] }) }),
  );
}

function serverUdp(rs: string, cip: string, cport: number): number[] {
  const m = RS_MACS[RS.indexOf(rs)];
  return eth(
    INT.mac,
    m,
    0x0800,
    ipv4({
      src: rs,
      dst: cip,
      proto: 17,
      payload: udp({ src: rs, dst: cip, sport: 53, dport: cport, payload: [4, 5] }),
    }),
  );
}

/** Dotted quad of 4 bytes at `at` of a frame. */
function addrAt(f: Uint8Array, at: number): string {
  return Array.from(f.subarray(at, at + 4)).join(".");
}

/** (src, dst, sport, dport) of an Ethernet/IPv4 (IHL 5) frame. */
function flow(f: Uint8Array): { src: string; dst: string; sport: number; dport: number } {
  return { src: addrAt(f, 26), dst: addrAt(f, 30), sport: (f[34] << 8) | f[35], dport: (f[36] << 8) | f[37] };
}

/** An address or port as the table stores it: wire bytes loaded little-endian. */
function wireAddr(a: string): number {
  const b = ip(a);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}
function wirePort(p: number): number {
  return ((p & 0xff) << 8) | (p >> 8);
}

/** TCP state name of the connection for client cip:cport -> VIP:80 (or "none"). */
function tcpState(fx: Fixture, cip: string, cport: number): string {
  const c = fx.state.exports.conn_lookup_in(6, wireAddr(cip), wirePort(cport), wireAddr(VIP), wirePort(80), fx.now);
  if (c === 0) return "none";
  return fx.state.tcpStates[fx.state.view.getUint32(c + fx.state.layout.CONN_SF, true) & 0xff];
}

/** ActiveConn/InActConn summed over dest ids. */
function totals(fx: Fixture, ids = [0, 1, 2, 3, 4, 5]): { active: number; inactive: number } {
  let active = 0, inactive = 0;
  for (const id of ids) {
    const d = fx.destConns(id);
    active += d.active;
    inactive += d.inactive;
  }
  return { active, inactive };
}

/** Records in the LIVE state (expired or not), by scanning the table. */
function liveRecords(fx: Fixture): number {
  const l = fx.state.layout;
  let n = 0;
  for (let i = 0; i < fx.state.connCapacity; i++) {
    if (fx.state.view.getUint32(fx.state.connAt(i) + l.CONN_SLOT, true) === l.SLOT_LIVE) n++;
  }
  return n;
}

function forward(fx: Fixture, frame: number[], ifindex = EXT.ifindex): Uint8Array {
  const r = fx.run(frame, ifindex);
  strictEqual(r.tx, 1, `expected a frame out for ${hex(frame.slice(26, 38))}; drops ${JSON.stringify(fx.drops())}`);
  return r.out;
}

Deno.test("a SYN inserts a connection that the in-key finds and the reply finds by the out-key", async () => {
  const fx = await Fixture.create(natServices());
  const cip = "10.10.0.2";
  const out = forward(fx, clientTcp(cip, 40000, "S"));
  deepStrictEqual(flow(out), { src: cip, dst: RS[2], sport: 40000, dport: 8080 });
  ok(fx.state.exports.conn_lookup_in(6, wireAddr(cip), wirePort(40000), wireAddr(VIP), wirePort(80), fx.now) !== 0);
  const byOut = fx.state.exports.conn_lookup_out(
    6,
    wireAddr(RS[2]),
    wirePort(8080),
    wireAddr(cip),
    wirePort(40000),
    fx.now,
  );
  strictEqual(
    byOut,
    fx.state.exports.conn_lookup_in(6, wireAddr(cip), wirePort(40000), wireAddr(VIP), wirePort(80), fx.now),
  );
  // The reply is SNATed back to VIP:80 towards the client.
  const back = forward(fx, serverTcp(RS[2], cip, 40000, "SA"), INT.ifindex);
  deepStrictEqual(flow(back), { src: VIP, dst: cip, sport: 80, dport: 40000 });
  // A "reply" from another real server for the same client port is not ours.
  const ignored = fx.global(fx.state.layout.G_IGNORED);
  strictEqual(fx.run(serverTcp(RS[1], cip, 40000, "SA"), INT.ifindex).tx, 0);
  strictEqual(fx.global(fx.state.layout.G_IGNORED), ignored + 1);
  // The next client segment of the flow stays on rs3 without a new schedule.
  deepStrictEqual(flow(forward(fx, clientTcp(cip, 40000, "A"))).dst, RS[2]);
  strictEqual(fx.global(fx.state.layout.G_CONNS), 1);
  deepStrictEqual(fx.drops(), {});
});

Deno.test("expiry: the sweep returns ActiveConn/InActConn to 0 at the state's timeout, not before", async () => {
  const fx = await Fixture.create(natServices());
  const t0 = fx.now;
  forward(fx, clientTcp("10.10.0.2", 40000, "S")); // SYN_RECV, 60 s, active
  forward(fx, clientUdp("10.10.0.2", 5000)); // UDP, 300 s, inactive
  deepStrictEqual(fx.destConns(2), { active: 1, inactive: 0 });
  deepStrictEqual(fx.destConns(5), { active: 0, inactive: 1 });
  strictEqual(fx.state.expire(t0 + 59_999), 0);
  deepStrictEqual(totals(fx), { active: 1, inactive: 1 });
  strictEqual(fx.state.expire(t0 + 60_000), 1);
  deepStrictEqual(fx.destConns(2), { active: 0, inactive: 0 });
  strictEqual(fx.state.expire(t0 + 299_999), 0);
  strictEqual(fx.state.expire(t0 + 300_000), 1);
  deepStrictEqual(totals(fx), { active: 0, inactive: 0 });
  strictEqual(fx.state.expire(t0 + 1_000_000), 0, "each connection expires once");
  // The reply finds nothing any more.
  fx.now = t0 + 300_000;
  strictEqual(fx.run(serverTcp(RS[2], "10.10.0.2", 40000, "SA"), INT.ifindex).tx, 0);
  strictEqual(liveRecords(fx), 0);
});

Deno.test("expiry: traffic pushes the timeout forward; an expired flow is no_conn before the sweep", async () => {
  const fx = await Fixture.create(natServices());
  const t0 = fx.now;
  forward(fx, clientTcp("10.10.0.2", 40000, "S"));
  fx.now = t0 + 50_000;
  forward(fx, clientTcp("10.10.0.2", 40000, "S")); // retransmit: 60 s from now
  strictEqual(fx.state.expire(t0 + 60_000), 0);
  fx.now = t0 + 110_000;
  strictEqual(tcpState(fx, "10.10.0.2", 40000), "none");
  const r = fx.run(clientTcp("10.10.0.2", 40000, "A"), EXT.ifindex);
  strictEqual(r.tx, 0);
  deepStrictEqual(fx.drops(), { no_conn: 1 });
  // Still counted until reclaimed (as the kernel, until its timer runs), once.
  deepStrictEqual(fx.destConns(2), { active: 1, inactive: 0 });
  strictEqual(fx.state.expire(fx.now), 1);
  deepStrictEqual(fx.destConns(2), { active: 0, inactive: 0 });
});

Deno.test("a new SYN for an expired, unswept key makes one new connection; old one unbound once", async () => {
  const fx = await Fixture.create(natServices());
  forward(fx, clientTcp("10.10.0.2", 40000, "S"));
  fx.now += 61_000;
  forward(fx, clientTcp("10.10.0.2", 40000, "S"));
  strictEqual(tcpState(fx, "10.10.0.2", 40000), "SYN_RECV");
  fx.state.expire(fx.now);
  deepStrictEqual(totals(fx), { active: 1, inactive: 0 });
  strictEqual(liveRecords(fx), 1);
  fx.state.expire(fx.now + 60_000);
  deepStrictEqual(totals(fx), { active: 0, inactive: 0 });
});

Deno.test("reuse: a 64-entry table takes 10x its capacity over time, swept or reclaimed by inserts", async () => {
  const fx = await Fixture.create(natServices(), { connCapacity: 64 });
  const perRound = 32;
  let made = 0;
  for (let round = 0; round < 20; round++) {
    fx.now += 301_000; // past UDP 300 s and TCP SYN_RECV 60 s: every earlier conn is due
    // Even rounds: the supervisor's sweep reclaims; odd: inserts reclaim in their window.
    if (round % 2 === 0) fx.state.expire(fx.now);
    for (let i = 0; i < perRound; i++) {
      const cip = `10.10.${1 + round}.${1 + i}`;
      const sport = 1024 + round * 100 + i;
      if (i % 2 === 0) {
        const out = flow(forward(fx, clientUdp(cip, sport)));
        deepStrictEqual(flow(forward(fx, serverUdp(out.dst, cip, sport), INT.ifindex)), {
          src: VIP,
          dst: cip,
          sport: 53,
          dport: sport,
        });
      } else {
        const out = flow(forward(fx, clientTcp(cip, sport, "S")));
        deepStrictEqual(flow(forward(fx, serverTcp(out.dst, cip, sport, "SA"), INT.ifindex)), {
          src: VIP,
          dst: cip,
          sport: 80,
          dport: sport,
        });
      }
      made++;
    }
    // Every LIVE record is counted exactly once (expired-but-unswept ones too).
    const t = totals(fx);
    strictEqual(t.active + t.inactive, liveRecords(fx), `round ${round}`);
  }
  strictEqual(made, 640);
  strictEqual(fx.global(fx.state.layout.G_CONNS), 640);
  deepStrictEqual(fx.drops(), {});
  fx.state.expire(fx.now + 301_000);
  deepStrictEqual(totals(fx), { active: 0, inactive: 0 });
  strictEqual(liveRecords(fx), 0);
});

Deno.test("table full: new connections are dropped and counted; accepted ones keep working", async () => {
  const fx = await Fixture.create(natServices(), { connCapacity: 16 });
  const accepted: { cip: string; sport: number; rs: string }[] = [];
  const tried = 64;
  for (let i = 0; i < tried; i++) {
    const cip = `10.10.7.${1 + i}`;
    const sport = 30000 + i;
    const r = fx.run(clientTcp(cip, sport, "S"), EXT.ifindex);
    if (r.tx === 1) accepted.push({ cip, sport, rs: flow(r.out).dst });
  }
  const drops = fx.drops();
  ok(accepted.length > 0 && accepted.length <= 16, `accepted ${accepted.length}`);
  deepStrictEqual(drops, { conn_table_full: tried - accepted.length });
  strictEqual(fx.global(fx.state.layout.G_CONNS), accepted.length);
  deepStrictEqual(totals(fx), { active: accepted.length, inactive: 0 });
  strictEqual(liveRecords(fx), accepted.length);
  // Every accepted connection still maps both ways to its own client and dest.
  for (const a of accepted) {
    deepStrictEqual(flow(forward(fx, serverTcp(a.rs, a.cip, a.sport, "SA"), INT.ifindex)), {
      src: VIP,
      dst: a.cip,
      sport: 80,
      dport: a.sport,
    });
    deepStrictEqual(flow(forward(fx, clientTcp(a.cip, a.sport, "A"))), {
      src: a.cip,
      dst: a.rs,
      sport: a.sport,
      dport: 8080,
    });
    strictEqual(tcpState(fx, a.cip, a.sport), "ESTABLISHED");
  }
  // A reply for a rejected client is not forwarded.
  const rejected = Array.from({ length: tried }, (_, i) => i).find((i) => !accepted.some((a) => a.sport === 30000 + i));
  ok(rejected !== undefined);
  strictEqual(fx.run(serverTcp(RS[2], `10.10.7.${1 + rejected}`, 30000 + rejected, "SA"), INT.ifindex).tx, 0);
  deepStrictEqual(totals(fx), { active: accepted.length, inactive: 0 });
  // Once the accepted ones expire, the table takes new connections again.
  fx.now += 901_000;
  for (let i = 0; i < 8; i++) forward(fx, clientTcp("10.10.8.1", 20000 + i, "S"));
  fx.state.expire(fx.now);
  deepStrictEqual(totals(fx), { active: 8, inactive: 0 });
});

Deno.test("TCP accounting: SYN active; client FIN -> CLOSE_WAIT inactive; TIME_WAIT times out", async () => {
  const fx = await Fixture.create(natServices());
  const c = "10.10.0.2";
  const steps: [string, number[], number][] = [
    ["SYN_RECV", clientTcp(c, 40000, "S"), EXT.ifindex],
    ["SYN_RECV", serverTcp(RS[2], c, 40000, "SA"), INT.ifindex],
    ["ESTABLISHED", clientTcp(c, 40000, "A"), EXT.ifindex],
    ["ESTABLISHED", serverTcp(RS[2], c, 40000, "PA"), INT.ifindex],
    ["CLOSE_WAIT", clientTcp(c, 40000, "FA"), EXT.ifindex],
    ["TIME_WAIT", serverTcp(RS[2], c, 40000, "FA"), INT.ifindex],
    ["TIME_WAIT", clientTcp(c, 40000, "A"), EXT.ifindex],
  ];
  const counts: { active: number; inactive: number }[] = [];
  for (const [state, frame, ifindex] of steps) {
    forward(fx, frame, ifindex);
    strictEqual(tcpState(fx, c, 40000), state);
    counts.push(fx.destConns(2));
  }
  const A = { active: 1, inactive: 0 }, I = { active: 0, inactive: 1 };
  deepStrictEqual(counts, [A, A, A, A, I, I, I]);
  strictEqual(fx.state.expire(fx.now + 119_999), 0); // TIME_WAIT 120 s
  strictEqual(fx.state.expire(fx.now + 120_000), 1);
  deepStrictEqual(fx.destConns(2), { active: 0, inactive: 0 });
});

Deno.test("TCP accounting: server FIN first -> FIN_WAIT inactive, 120 s (tcpfin)", async () => {
  const fx = await Fixture.create(natServices());
  const c = "10.10.0.2";
  forward(fx, clientTcp(c, 40000, "S"));
  forward(fx, serverTcp(RS[2], c, 40000, "SA"), INT.ifindex);
  forward(fx, clientTcp(c, 40000, "A"));
  forward(fx, serverTcp(RS[2], c, 40000, "FA"), INT.ifindex);
  strictEqual(tcpState(fx, c, 40000), "FIN_WAIT");
  deepStrictEqual(fx.destConns(2), { active: 0, inactive: 1 });
  forward(fx, clientTcp(c, 40000, "A"));
  strictEqual(tcpState(fx, c, 40000), "FIN_WAIT");
  forward(fx, clientTcp(c, 40000, "FA"));
  strictEqual(tcpState(fx, c, 40000), "TIME_WAIT");
  deepStrictEqual(fx.destConns(2), { active: 0, inactive: 1 });
});

Deno.test("TCP accounting: RST from either side -> CLOSE, inactive, gone after 10 s", async () => {
  for (const side of ["client", "server"]) {
    const fx = await Fixture.create(natServices());
    const c = "10.10.0.2";
    forward(fx, clientTcp(c, 40000, "S"));
    forward(fx, serverTcp(RS[2], c, 40000, "SA"), INT.ifindex);
    forward(fx, clientTcp(c, 40000, "A"));
    deepStrictEqual(fx.destConns(2), { active: 1, inactive: 0 });
    if (side === "client") forward(fx, clientTcp(c, 40000, "R"));
    else forward(fx, serverTcp(RS[2], c, 40000, "R"), INT.ifindex);
    strictEqual(tcpState(fx, c, 40000), "CLOSE", side);
    deepStrictEqual(fx.destConns(2), { active: 0, inactive: 1 }, side);
    strictEqual(fx.state.expire(fx.now + 9_999), 0);
    strictEqual(fx.state.expire(fx.now + 10_000), 1);
    deepStrictEqual(fx.destConns(2), { active: 0, inactive: 0 }, side);
  }
});

Deno.test("TCP accounting: a client RST in SYN_RECV leaves it SYN_RECV (tcp_states[] INPUT rst sSR -> sSR)", async () => {
  const fx = await Fixture.create(natServices());
  forward(fx, clientTcp("10.10.0.2", 40000, "S"));
  forward(fx, clientTcp("10.10.0.2", 40000, "R"));
  strictEqual(tcpState(fx, "10.10.0.2", 40000), "SYN_RECV");
  deepStrictEqual(fx.destConns(2), { active: 1, inactive: 0 });
});

Deno.test("TCP: a first segment without SYN (or with SYN+RST) makes no connection", async () => {
  const fx = await Fixture.create(natServices());
  strictEqual(fx.run(clientTcp("10.10.0.2", 40000, "A"), EXT.ifindex).tx, 0);
  strictEqual(fx.run(clientTcp("10.10.0.2", 40001, "SR"), EXT.ifindex).tx, 0);
  deepStrictEqual(fx.drops(), { no_conn: 2 });
  strictEqual(liveRecords(fx), 0);
  deepStrictEqual(totals(fx), { active: 0, inactive: 0 });
});

Deno.test("UDP connections are counted in InActConn only, both directions", async () => {
  const fx = await Fixture.create(natServices());
  // rr over [rs3 id 5, rs2 id 4, rs1 id 3]: three clients, one each.
  const rs: string[] = [];
  for (let i = 0; i < 3; i++) rs.push(flow(forward(fx, clientUdp("10.10.0.2", 5000 + i))).dst);
  deepStrictEqual(rs, [RS[2], RS[1], RS[0]]);
  for (let i = 0; i < 3; i++) forward(fx, serverUdp(rs[i], "10.10.0.2", 5000 + i), INT.ifindex);
  for (const id of [3, 4, 5]) deepStrictEqual(fx.destConns(id), { active: 0, inactive: 1 });
  deepStrictEqual(totals(fx, [0, 1, 2]), { active: 0, inactive: 0 });
  // The reply refreshed the 300 s timeout.
  fx.now += 200_000;
  forward(fx, serverUdp(rs[0], "10.10.0.2", 5000), INT.ifindex);
  strictEqual(fx.state.expire(fx.now + 100_000), 2);
  deepStrictEqual(fx.destConns(5), { active: 0, inactive: 1 });
  strictEqual(fx.state.expire(fx.now + 300_000), 1);
  deepStrictEqual(totals(fx), { active: 0, inactive: 0 });
});
