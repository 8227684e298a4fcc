/**
 * The backup's install path under random input: thousands of synced
 * entries (new connections, updates that flip the activity flag and the
 * state, templates, entries for a missing service or dest) go through the
 * real sync_install export, and the dests' ActiveConn / InActConn /
 * PersistConn must always equal what the table holds; once everything has
 * expired, every counter is back at zero and no slot is left live.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Fixture } from "../fixtures/harness.ts";
import type { TableService } from "../../src/dataplane/tables.ts";
import { installConn, type InstallOutcome } from "../../src/sync/install.ts";
import type { SyncConn } from "../../src/sync/layout.ts";
import { IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_TEMPLATE } from "../../src/sync/states.ts";
import { prng } from "../helpers/prng.ts";

const VIP = "10.10.0.100";
const RS = ["10.20.0.11", "10.20.0.12", "10.20.0.13"];

function services(): TableService[] {
  const dests = (base: number, port: number) =>
    RS.map((addr, i) => ({
      id: base + i,
      addr,
      port,
      weight: 1,
      ifaceSlot: 1,
      mac: new Uint8Array([2, 0, 0, 0, 0xaa, i]),
    }));
  return [
    { id: 0, proto: "tcp", vip: VIP, port: 80, scheduler: "rr", dests: dests(0, 8080) },
    {
      id: 1,
      proto: "tcp",
      vip: VIP,
      port: 443,
      scheduler: "rr",
      persistence: { timeout: 60, netmask: "255.255.255.0" },
      dests: dests(3, 443),
    },
    { id: 2, proto: "udp", vip: VIP, port: 53, scheduler: "rr", dests: dests(6, 53) },
  ];
}

/** Counts per dest id from a walk of the table: [active, inactive, persist]. */
function walk(f: Fixture): Map<number, [number, number, number]> {
  const s = f.state;
  const l = s.layout;
  const out = new Map<number, [number, number, number]>();
  for (let i = 0; i < s.connCapacity; i++) {
    const c = s.connAt(i);
    if (s.view.getUint32(c + l.CONN_SLOT, true) !== l.SLOT_LIVE) continue;
    const sf = s.view.getUint32(c + l.CONN_SF, true);
    const flags = (sf >>> 8) & 0xff;
    if (flags & l.CONN_F_DEAD) continue;
    const id = s.view.getUint16(c + l.CONN_DEST_ID, true);
    const e = out.get(id) ?? [0, 0, 0];
    if (flags & l.CONN_F_TEMPLATE) e[2]++;
    else if (flags & l.CONN_F_INACTIVE) e[1]++;
    else e[0]++;
    out.set(id, e);
  }
  return out;
}

function counters(f: Fixture, id: number): [number, number, number] {
  const l = f.state.layout;
  const p = l.DSTATE + id * l.DSTATE_SIZE;
  const v = f.state.view;
  return [
    v.getInt32(p + l.DSTATE_ACTIVE, true),
    v.getInt32(p + l.DSTATE_INACT, true),
    v.getInt32(p + l.DSTATE_PERSIST, true),
  ];
}

Deno.test("sync install property: dest counters always equal the table; all back to zero after expiry", async () => {
  for (const seed of [1, 2, 3, 4]) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const f = await Fixture.create(services(), { connCapacity: 4096 });
    const outcomes: Record<string, number> = {};
    for (let step = 0; step < 3000; step++) {
      const svc = pick([80, 443, 53, 81]); // 81: no such service
      const template = svc === 443 && rnd() < 0.3;
      const proto = svc === 53 ? "udp" : "tcp";
      const client = `10.10.${Math.floor(rnd() * 4)}.${1 + Math.floor(rnd() * 60)}`;
      const c: SyncConn = {
        proto,
        state: proto === "udp" || template ? 0 : pick([1, 1, 1, 4, 5, 6, 7, 8]),
        flags: (template ? IP_VS_CONN_F_TEMPLATE : 0) | (rnd() < 0.4 ? IP_VS_CONN_F_INACTIVE : 0),
        caddr: template ? client.replace(/\.\d+$/, ".0") : client,
        cport: template ? 0 : 1024 + Math.floor(rnd() * 8),
        vaddr: VIP,
        vport: svc,
        daddr: rnd() < 0.05 ? "10.20.0.99" : pick(RS),
        dport: svc === 80 ? 8080 : svc === 81 ? 81 : svc,
        fwmark: 0,
        timeout: 1 + Math.floor(rnd() * 30),
      };
      const o: InstallOutcome = installConn(f.state, c, null, f.now);
      outcomes[o] = (outcomes[o] ?? 0) + 1;
      if (step % 500 === 0) f.now += 5_000; // some expire meanwhile; a sweep ends them
      if (step % 250 === 0) f.state.expire(f.now);
      if (step % 100 === 0) {
        const t = walk(f);
        for (let id = 0; id < 9; id++) {
          deepStrictEqual(counters(f, id), t.get(id) ?? [0, 0, 0], `seed ${seed} step ${step} dest ${id}`);
        }
      }
    }
    for (const o of ["installed", "updated", "no_service", "no_dest"]) {
      strictEqual((outcomes[o] ?? 0) > 0, true, `seed ${seed}: some ${o} (${JSON.stringify(outcomes)})`);
    }
    // Everything expires (templates once they control nothing).
    for (let i = 0; i < 5; i++) {
      f.now += 120_000;
      f.state.expire(f.now);
    }
    for (let id = 0; id < 9; id++) deepStrictEqual(counters(f, id), [0, 0, 0], `seed ${seed} dest ${id} after expiry`);
    strictEqual(walk(f).size, 0);
  }
});
