// Locality-based least connection, as ip_vs_lblc.c (ip_vs_lblc_schedule):
// each packet daddr is bound to one dest in the service's locality table
// (entry format in locality.ts; field 0 of the SET word is the dest).
//
//   entry for daddr, its dest has a next hop, weight > 0 and is not
//   is_overloaded() (more ActiveConn than weight while some dest of the
//   service is below half its weight)  -> that dest, lastuse refreshed;
//   otherwise -> the weighted least-connection dest of the whole service,
//   and the entry is (re)bound to it.
//
// As in the kernel, the cached dest is not checked for OVERLOAD (the
// connection thresholds): only the least-connection pick skips it.
import { DEST_F_AVAILABLE, DEST_FLAGS, DEST_ID } from "../layout";
import {
  claimEntry,
  destById,
  field,
  findEntry,
  isOverloaded,
  leastLoaded,
  LOC_KEY,
  LOC_LASTUSE,
  LOC_SET,
  localityBase,
  members,
  setWord,
} from "./locality";
import { weightOf } from "./scheduler";

export function lblcSchedule(svcId: u32, dests: u32, n: u32, daddr: u32, now: u64): u32 {
  const base = localityBase(svcId);
  const e = findEntry(base, daddr, now);
  if (e != 0) {
    atomic.store<u64>(e + LOC_LASTUSE, now);
    const id1 = field(members(atomic.load<u64>(e + LOC_KEY), atomic.load<u64>(e + LOC_SET)), 0);
    if (id1 != 0) {
      const d = destById(dests, n, id1 - 1);
      if (
        d != 0 && (load<u8>(d + DEST_FLAGS) & DEST_F_AVAILABLE) != 0 && weightOf(d) > 0 &&
        !isOverloaded(d, dests, n)
      ) return d;
    }
  }
  const d = leastLoaded(dests, n);
  if (d == 0) return 0;
  // ip_vs_lblc_new: bind daddr to the new dest (a fresh entry if none).
  const w = e != 0 ? e : claimEntry(base, daddr, now);
  if (w != 0) {
    const k = atomic.load<u64>(w + LOC_KEY);
    if (<u32> k == daddr) {
      atomic.store<u64>(w + LOC_SET, setWord(k, <u64> load<u16>(d + DEST_ID) + 1));
      atomic.store<u64>(w + LOC_LASTUSE, now);
    }
  }
  return d;
}
