/**
 * What the scheduler conformance tests share: a service under test (stable
 * id 7, table index 1) behind a filler service that takes table index 0,
 * dest table entries, SCHED_TBL entries and locality slot 1, so that every
 * offset the schedulers use is non-zero; picks through the module's
 * `sched_pick`; and the shared per-dest state the schedulers read.
 */
import type { TableService } from "../../src/dataplane/tables.ts";
import { mac } from "../fixtures/frames.ts";
import { type Fixture, RS_MACS } from "../fixtures/harness.ts";

export const SVC_ID = 7;
export const VIP = "10.10.0.100";

/** Options of the service under test. */
export interface ServiceOpts {
  flags?: string[];
  mhTableSize?: number;
  /** Dest ids start here (rs1 = firstId, rs2 = firstId + 1, ...). */
  firstId?: number;
}

/** The service under test with dests rs1..rsN (10.20.0.11...) added in this order. */
export function service(scheduler: string, weights: number[], opts: ServiceOpts = {}): TableService {
  const first = opts.firstId ?? 100;
  return {
    id: SVC_ID,
    proto: "tcp",
    vip: VIP,
    port: 80,
    scheduler,
    schedFlags: opts.flags ?? [],
    mhTableSize: opts.mhTableSize,
    dests: weights.map((weight, i) => ({
      id: first + i,
      addr: `10.20.0.${11 + i}`,
      port: 8080,
      weight,
      ifaceSlot: 1,
      mac: new Uint8Array(mac(RS_MACS[i % RS_MACS.length])),
    })),
  };
}

/**
 * Table index 0: a service of its own, by default sh (256 SCHED_TBL entries
 * before ours), with two dests whose ids start at `firstId`.
 */
export function filler(scheduler = "sh", firstId = 50): TableService {
  return {
    id: 1,
    proto: "udp",
    vip: VIP,
    port: 53,
    scheduler,
    dests: [0, 1].map((i) => ({
      id: firstId + i,
      addr: `10.20.0.${31 + i}`,
      port: 53,
      weight: 1,
      ifaceSlot: 1,
      mac: new Uint8Array(mac(RS_MACS[i])),
    })),
  };
}

/** An address as the data plane holds it: the wire bytes loaded as a little-endian u32. */
export function wire(addr: string): number {
  const b = addr.split(".").map(Number);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

/** A port as the data plane holds it: the two wire bytes loaded little-endian. */
export function wirePort(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

/** The active table copy. */
export function activeCopy(fx: Fixture): number {
  const l = fx.state.layout;
  return Atomics.load(new Uint32Array(fx.state.memory.buffer), (l.CTRL + l.CTRL_GEN) >> 2) & 1;
}

/** One pick of the service at table index 1 for a packet saddr:sport -> daddr; list position or -1. */
export function pick(fx: Fixture, saddr: string, sport = 0, daddr = VIP, now = fx.now): number {
  return fx.state.exports.sched_pick(activeCopy(fx), 1, wire(saddr), wirePort(sport), wire(daddr), now);
}

/** Sets or clears IP_VS_DEST_F_OVERLOAD (DSTATE_FLAGS bit 0) of dest ids. */
export function overload(fx: Fixture, ids: number[], on: boolean): void {
  const l = fx.state.layout;
  for (const id of ids) fx.state.view.setUint32(l.DSTATE + id * l.DSTATE_SIZE + l.DSTATE_FLAGS, on ? 1 : 0, true);
}

/** Sets a dest id's ActiveConn and InActConn. */
export function setConns(fx: Fixture, id: number, active: number, inactive = 0): void {
  const l = fx.state.layout;
  const p = l.DSTATE + id * l.DSTATE_SIZE;
  fx.state.view.setInt32(p + l.DSTATE_ACTIVE, active, true);
  fx.state.view.setInt32(p + l.DSTATE_INACT, inactive, true);
}

/** The service's lookup table in the active copy, as the data plane reads it. */
export function lookupTable(fx: Fixture, svcIndex = 1): Uint16Array {
  const l = fx.state.layout;
  const copy = activeCopy(fx);
  const svc = l.SVC + copy * l.SVC_COPY + svcIndex * l.SVC_SIZE;
  const off = fx.state.view.getUint32(svc + l.SVC_TBL_OFF, true);
  const len = fx.state.view.getUint32(svc + l.SVC_TBL_LEN, true);
  const at = l.SCHED_TBL + copy * l.SCHED_TBL_COPY + off * 2;
  return Uint16Array.from({ length: len }, (_, i) => fx.state.view.getUint16(at + i * 2, true));
}
