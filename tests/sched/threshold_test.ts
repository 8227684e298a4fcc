/**
 * Connection thresholds (ipvsadm -x / -y) through real frames: a dest is
 * marked OVERLOAD when a new connection brings its ActiveConn + InActConn
 * to u_threshold (ip_vs_bind_dest), and the mark goes when a connection
 * ends and the total is below l_threshold, or, with no l_threshold, when
 * total * 4 < u_threshold * 3 (ip_vs_unbind_dest). Re-publishing a dest
 * clears the mark when its u_threshold is removed or raised
 * (__ip_vs_update_dest).
 *
 * The service is fo (weighted failover) with rs1 at weight 2 and rs2 at
 * weight 1: every SYN goes to rs1 unless it is overloaded, so where a SYN
 * lands shows the mark. A connection is ended either by a RST from its
 * real server (SYN_RECV -> CLOSE, 10 s) and a sweep 10 s later, or by its
 * SYN_RECV timeout (60 s) running out.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { TableDest, TableService } from "../../src/dataplane/tables.ts";
import { eth, ipv4, mac, tcp } from "../fixtures/frames.ts";
import { CLIENT_MAC, Fixture, IFACES, RS_MACS } from "../fixtures/harness.ts";

const EXT = IFACES[0];
const INT = IFACES[1];
const VIP = "10.10.0.100";
const CIP = "10.10.0.2";
const RS1 = { id: 0, addr: "10.20.0.11", mac: RS_MACS[0] };
const RS2 = { id: 1, addr: "10.20.0.12", mac: RS_MACS[1] };
const CLOSE_MS = 10_000;

function dest(rs: typeof RS1, weight: number, thresholds: { u?: number; l?: number } = {}): TableDest {
  return {
    id: rs.id,
    addr: rs.addr,
    port: 8080,
    weight,
    ifaceSlot: 1,
    mac: new Uint8Array(mac(rs.mac)),
    uThreshold: thresholds.u ?? 0,
    lThreshold: thresholds.l ?? 0,
  };
}

function foService(dests: TableDest[]): TableService[] {
  return [{ id: 0, proto: "tcp", vip: VIP, port: 80, scheduler: "fo", dests }];
}

/** rs1 (weight 2, the given thresholds) and rs2 (weight 1, none). */
function twoDests(thresholds: { u?: number; l?: number }): TableService[] {
  return foService([dest(RS1, 2, thresholds), dest(RS2, 1)]);
}

/** Sends a SYN from the client's port `sport`; returns the real server it went to, or null. */
function syn(fx: Fixture, sport: number): string | null {
  const f = eth(
    EXT.mac,
    CLIENT_MAC,
    0x0800,
    ipv4({ src: CIP, dst: VIP, proto: 6, payload: tcp({ src: CIP, dst: VIP, sport, dport: 80, flags: "S" }) }),
  );
  const r = fx.run(f);
  return r.tx === 0 ? null : Array.from(r.out.subarray(14 + 16, 14 + 20)).join(".");
}

/** Ends the connection of client port `sport` on `rs`: RST from the server, then a sweep once CLOSE has timed out. */
function close(fx: Fixture, rs: typeof RS1, sport: number): void {
  const f = eth(
    INT.mac,
    rs.mac,
    0x0800,
    ipv4({
      src: rs.addr,
      dst: CIP,
      proto: 6,
      payload: tcp({ src: rs.addr, dst: CIP, sport: 8080, dport: sport, flags: "R" }),
    }),
  );
  strictEqual(fx.run(f, INT.ifindex).tx, 1, `RST of ${rs.addr} for port ${sport} forwarded`);
  fx.now += CLOSE_MS;
  strictEqual(fx.state.exports.expire_sweep(0, fx.state.connCapacity, fx.now), 1, "exactly that connection ended");
}

function overloaded(fx: Fixture, id: number): boolean {
  const l = fx.state.layout;
  return (fx.state.view.getUint32(l.DSTATE + id * l.DSTATE_SIZE + l.DSTATE_FLAGS, true) & l.DEST_OVERLOAD) !== 0;
}

function total(fx: Fixture, id: number): number {
  const c = fx.destConns(id);
  return c.active + c.inactive;
}

Deno.test("u_threshold 4, no l_threshold: OVERLOAD at the 4th connection, cleared when total*4 < 12 (at 2, not 3)", async () => {
  const fx = await Fixture.create(twoDests({ u: 4 }));
  for (let i = 0; i < 3; i++) strictEqual(syn(fx, 40000 + i), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), false, "3 < 4");
  strictEqual(syn(fx, 40003), RS1.addr);
  strictEqual(total(fx, RS1.id), 4);
  strictEqual(overloaded(fx, RS1.id), true, "4 >= 4");
  strictEqual(syn(fx, 40004), RS2.addr, "the next SYN goes elsewhere");

  close(fx, RS1, 40000);
  strictEqual(total(fx, RS1.id), 3);
  strictEqual(overloaded(fx, RS1.id), true, "3*4 = 12 is not < 4*3 = 12");
  strictEqual(syn(fx, 40005), RS2.addr);

  close(fx, RS1, 40001);
  strictEqual(total(fx, RS1.id), 2);
  strictEqual(overloaded(fx, RS1.id), false, "2*4 = 8 < 12");
  strictEqual(syn(fx, 40006), RS1.addr);
  strictEqual(syn(fx, 40007), RS1.addr, "3 -> 4: overloaded again by this one");
  strictEqual(overloaded(fx, RS1.id), true);
  strictEqual(syn(fx, 40008), RS2.addr);
  deepStrictEqual(fx.drops(), {});
});

Deno.test("u_threshold 4, l_threshold 2: the mark stays down to 2 and goes below it", async () => {
  const fx = await Fixture.create(twoDests({ u: 4, l: 2 }));
  for (let i = 0; i < 4; i++) strictEqual(syn(fx, 41000 + i), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), true);
  close(fx, RS1, 41000);
  strictEqual(overloaded(fx, RS1.id), true, "3 is not < 2");
  close(fx, RS1, 41001);
  strictEqual(total(fx, RS1.id), 2);
  strictEqual(overloaded(fx, RS1.id), true, "2 is not < 2 (without l_threshold, 2 would have cleared it)");
  strictEqual(syn(fx, 41004), RS2.addr);
  close(fx, RS1, 41002);
  strictEqual(total(fx, RS1.id), 1);
  strictEqual(overloaded(fx, RS1.id), false, "1 < 2");
  strictEqual(syn(fx, 41005), RS1.addr);
});

Deno.test("every dest overloaded: the SYN is dropped as no_dest; a connection timing out lets the next one in", async () => {
  const fx = await Fixture.create(foService([dest(RS1, 1, { u: 2 })]));
  const t0 = fx.now;
  strictEqual(syn(fx, 42000), RS1.addr);
  fx.now = t0 + 1000;
  strictEqual(syn(fx, 42001), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), true);
  fx.now = t0 + 2000;
  strictEqual(syn(fx, 42002), null);
  deepStrictEqual(fx.drops(), { no_dest: 1 });
  // SYN_RECV lasts 60 s: at t0 + 60 s only the first connection has expired.
  fx.now = t0 + 60_000;
  strictEqual(fx.state.exports.expire_sweep(0, fx.state.connCapacity, fx.now), 1);
  strictEqual(total(fx, RS1.id), 1);
  strictEqual(overloaded(fx, RS1.id), false, "1*4 = 4 < 2*3 = 6");
  strictEqual(syn(fx, 42003), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), true);
  deepStrictEqual(fx.drops(), { no_dest: 1 });
});

Deno.test("re-publishing thresholds: removing or raising u_threshold clears OVERLOAD, lowering it or changing l does not", async () => {
  const fx = await Fixture.create(twoDests({ u: 2 }));
  strictEqual(syn(fx, 43000), RS1.addr);
  strictEqual(syn(fx, 43001), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), true);

  // Raised 2 -> 3: cleared at once; the next connection (3 >= 3) sets it again.
  await fx.publisher.publish(twoDests({ u: 3 }));
  strictEqual(overloaded(fx, RS1.id), false);
  strictEqual(syn(fx, 43002), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), true);

  // Removed: cleared, and no longer set by any number of connections.
  await fx.publisher.publish(twoDests({}));
  strictEqual(overloaded(fx, RS1.id), false);
  strictEqual(syn(fx, 43003), RS1.addr);
  strictEqual(syn(fx, 43004), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), false, "5 connections, no threshold");

  // Set again (0 -> 2 is a raise): clear until the next connection to it.
  await fx.publisher.publish(twoDests({ u: 2 }));
  strictEqual(overloaded(fx, RS1.id), false);
  strictEqual(syn(fx, 43005), RS1.addr);
  strictEqual(overloaded(fx, RS1.id), true);

  // Only l changes, then u is lowered: the mark stays (the kernel leaves it to the next bind/unbind).
  await fx.publisher.publish(twoDests({ u: 2, l: 1 }));
  strictEqual(overloaded(fx, RS1.id), true);
  await fx.publisher.publish(twoDests({ u: 1, l: 1 }));
  strictEqual(overloaded(fx, RS1.id), true);
  strictEqual(syn(fx, 43006), RS2.addr);

  // Unchanged u re-published: still set.
  await fx.publisher.publish(twoDests({ u: 1, l: 1 }));
  strictEqual(overloaded(fx, RS1.id), true);
});

Deno.test("u_threshold removed while overloaded: the next connection to end clears whatever is left", async () => {
  // ip_vs_unbind_dest with both thresholds 0 clears the mark. Here the mark
  // is set by hand (as a racing worker could leave it) with no thresholds.
  const fx = await Fixture.create(twoDests({}));
  strictEqual(syn(fx, 44000), RS1.addr);
  strictEqual(syn(fx, 44001), RS1.addr);
  const l = fx.state.layout;
  fx.state.view.setUint32(l.DSTATE + RS1.id * l.DSTATE_SIZE + l.DSTATE_FLAGS, l.DEST_OVERLOAD, true);
  strictEqual(syn(fx, 44002), RS2.addr);
  close(fx, RS1, 44000);
  strictEqual(overloaded(fx, RS1.id), false);
  strictEqual(syn(fx, 44003), RS1.addr);
});
