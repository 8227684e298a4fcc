// The scheduler interface: given a service (this table copy) pick a dest for
// a new connection. Each scheduler is one file; this one dispatches by id.
// Scheduler state (cursors) is shared by all workers at SCHED + svcId*16 and
// moved with compare-and-swap, so workers never take a lock: a worker that
// loses the race recomputes from the winner's state, which yields exactly
// the sequence the kernel produces under its sched_lock.
import {
  DEST_F_AVAILABLE,
  DEST_FLAGS,
  DEST_ID,
  DEST_WEIGHT,
  DSTATE,
  DSTATE_ACTIVE,
  DSTATE_FLAGS,
  DSTATE_INACT,
  DSTATE_SIZE,
} from "../layout";
import { dhSchedule } from "./dh";
import { lblcSchedule } from "./lblc";
import { lblcrSchedule } from "./lblcr";
import { mhSchedule } from "./mh";
import { rrSchedule } from "./rr";
import { shSchedule } from "./sh";
import { wrrSchedule } from "./wrr";
import { lcSchedule } from "./lc";
import { wlcSchedule } from "./wlc";
import { sedSchedule } from "./sed";
import { nqSchedule } from "./nq";
import { foSchedule } from "./fo";
import { ovfSchedule } from "./ovf";
import { twosSchedule } from "./twos";

// Ids of the 14 mainline IPVS schedulers. A name is listed in SCHED_NAMES
// (and so accepted by the supervisor) only once its file exists here.
export const SCHED_RR: u32 = 1;
export const SCHED_WRR: u32 = 2;
export const SCHED_LC: u32 = 3;
export const SCHED_WLC: u32 = 4;
export const SCHED_SED: u32 = 5;
export const SCHED_NQ: u32 = 6;
export const SCHED_FO: u32 = 7;
export const SCHED_OVF: u32 = 8;
export const SCHED_TWOS: u32 = 9;
export const SCHED_SH: u32 = 10;
export const SCHED_DH: u32 = 11;
export const SCHED_MH: u32 = 12;
export const SCHED_LBLC: u32 = 13;
export const SCHED_LBLCR: u32 = 14;
/** Names by id (id 0 unused; an empty name = not built); the supervisor reads them from here. */
export const SCHED_NAMES = ",rr,wrr,lc,wlc,sed,nq,fo,ovf,twos,sh,dh,mh,lblc,lblcr";

export const DEST_OVERLOAD: u32 = 1; // IP_VS_DEST_F_OVERLOAD in DSTATE_FLAGS

/**
 * A dest that may not take new connections whatever its weight: OVERLOAD
 * set (thresholds) or its next hop not resolved yet.
 */
// @ts-ignore: decorator

export function blocked(d: u32): bool {
  if (!(load<u8>(d + DEST_FLAGS) & DEST_F_AVAILABLE)) return true;
  const ds = DSTATE + <u32> load<u16>(d + DEST_ID) * DSTATE_SIZE;
  return (atomic.load<u32>(ds + DSTATE_FLAGS) & DEST_OVERLOAD) != 0;
}

// @ts-ignore: decorator

export function weightOf(d: u32): i32 {
  return load<i32>(d + DEST_WEIGHT);
}

/** ActiveConn of the dest at `d` (shared counter, by its stable id). */
// @ts-ignore: decorator

export function activeConns(d: u32): i32 {
  return atomic.load<i32>(DSTATE + <u32> load<u16>(d + DEST_ID) * DSTATE_SIZE + DSTATE_ACTIVE);
}

/** InActConn of the dest at `d`. */
// @ts-ignore: decorator

export function inactConns(d: u32): i32 {
  return atomic.load<i32>(DSTATE + <u32> load<u16>(d + DEST_ID) * DSTATE_SIZE + DSTATE_INACT);
}

/**
 * ip_vs_dest_conn_overhead(): an active connection is taken to cost 256
 * times an inactive one. An int in the kernel, so it wraps like one here.
 */
// @ts-ignore: decorator

export function connOverhead(d: u32): i32 {
  return (activeConns(d) << 8) + inactConns(d);
}

/**
 * Returns the chosen dest's address in the dest table, or 0. `saddr`,
 * `sport` and `daddr` are the packet's source address/port and destination
 * address in wire order (the hashing schedulers key on them); `now` is the
 * data plane's clock in ms (lblc/lblcr age their entries with it).
 */
export function schedule(
  sched: u32,
  svc: u32,
  svcId: u32,
  dests: u32,
  n: u32,
  saddr: u32,
  sport: u32,
  daddr: u32,
  now: u64,
): u32 {
  switch (sched) {
    case SCHED_WRR:
      return wrrSchedule(svc, svcId, dests, n);
    case SCHED_LC:
      return lcSchedule(dests, n);
    case SCHED_WLC:
      return wlcSchedule(dests, n);
    case SCHED_SED:
      return sedSchedule(dests, n);
    case SCHED_NQ:
      return nqSchedule(dests, n);
    case SCHED_FO:
      return foSchedule(dests, n);
    case SCHED_OVF:
      return ovfSchedule(dests, n);
    case SCHED_TWOS:
      return twosSchedule(dests, n, now);
    case SCHED_SH:
      return shSchedule(svc, dests, n, saddr, sport);
    case SCHED_DH:
      return dhSchedule(svc, dests, n, daddr);
    case SCHED_MH:
      return mhSchedule(svc, dests, n, saddr, sport);
    case SCHED_LBLC:
      return lblcSchedule(svcId, dests, n, daddr, now);
    case SCHED_LBLCR:
      return lblcrSchedule(svcId, dests, n, daddr, now);
  }
  return rrSchedule(svcId, dests, n);
}
