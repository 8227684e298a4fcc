// Locality-based least connection with replication, as ip_vs_lblcr.c
// (ip_vs_lblcr_schedule): each packet daddr is bound to a set of dests
// (entry format in locality.ts; at most SET_MAX = 4 stable dest ids, newest
// first, where the kernel's set is unbounded).
//
//   no entry -> the weighted least-connection dest of the service; a new
//     entry with the set {it};
//   entry -> lastuse refreshed; n = the weighted least-connection member
//     (ip_vs_dest_set_min: members that are not OVERLOADed and have a next
//     hop; the first must have weight > 0);
//     if the set has more than one member and has not changed for the
//     expiration time (lblcr_expiration, 24 h): its most loaded member
//     (ip_vs_dest_set_max, weight > 0 only) is dropped;
//     if n exists and is not is_overloaded() (ActiveConn > weight while some
//     dest of the service is below half its weight) -> n;
//     otherwise -> the weighted least-connection dest of the whole service,
//     added to the set (newest first).
//   Any change of the set sets its lastmod.
// Bound: when a fifth dest joins a full set, the set's most loaded member
// leaves first (the one the kernel's shrink rule would drop next); if no
// member has weight > 0, the oldest leaves. Members whose id is no longer
// in the service's dest list read as absent and are dropped at the next
// change of the set.
import { DEST_ID } from "../layout";
import {
  claimEntry,
  destById,
  dropMember,
  field,
  findEntry,
  isOverloaded,
  leastLoaded,
  LOC_KEY,
  LOC_LASTMOD,
  LOC_LASTUSE,
  LOC_SET,
  LOCALITY_EXPIRATION_MS,
  localityBase,
  members,
  overhead,
  pushMember,
  SET_MAX,
  setWord,
} from "./locality";
import { blocked, weightOf } from "./scheduler";

export function lblcrSchedule(svcId: u32, dests: u32, n: u32, daddr: u32, now: u64): u32 {
  const base = localityBase(svcId);
  let e = findEntry(base, daddr, now);
  if (e != 0) {
    atomic.store<u64>(e + LOC_LASTUSE, now);
    const m = liveMembers(members(atomic.load<u64>(e + LOC_KEY), atomic.load<u64>(e + LOC_SET)), dests, n);
    const least = setMin(m, dests, n);
    const lastmod = atomic.load<u64>(e + LOC_LASTMOD);
    if (
      field(m, 1) != 0 && <i64> (now - lastmod) > <i64> LOCALITY_EXPIRATION_MS &&
      atomic.cmpxchg<u64>(e + LOC_LASTMOD, lastmod, now) == lastmod
    ) {
      // This worker won the right to shrink the set once for this period.
      shrink(e, daddr, dests, n);
    }
    if (least != 0 && !isOverloaded(least, dests, n)) return least;
  }
  const d = leastLoaded(dests, n);
  if (d == 0) return 0;
  if (e == 0) e = claimEntry(base, daddr, now);
  if (e != 0) insert(e, daddr, <u32> load<u16>(d + DEST_ID), dests, n, now);
  return d;
}

/** `m` keeping only members whose dest is in the current list, in order. */
function liveMembers(m: u64, dests: u32, n: u32): u64 {
  let out: u64 = 0;
  for (let i: i32 = <i32> SET_MAX - 1; i >= 0; i--) {
    const f = field(m, <u32> i);
    if (f != 0 && destById(dests, n, f - 1) != 0) out = pushMember(out, f - 1);
  }
  return out;
}

/** ip_vs_dest_set_min over the members (in set order), or 0. */
function setMin(m: u64, dests: u32, n: u32): u32 {
  let least: u32 = 0;
  let loh: i64 = 0;
  for (let i: u32 = 0; i < SET_MAX; i++) {
    const f = field(m, i);
    if (f == 0) break;
    const d = destById(dests, n, f - 1);
    if (d == 0 || blocked(d)) continue;
    if (least == 0) {
      if (weightOf(d) > 0) {
        least = d;
        loh = overhead(d);
      }
      continue;
    }
    const doh = overhead(d);
    if (loh * <i64> weightOf(d) > doh * <i64> weightOf(least)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_dest_set_max: the member index of the most loaded dest with weight > 0, or -1. */
function setMaxIndex(m: u64, dests: u32, n: u32): i32 {
  let most: i32 = -1;
  let mostD: u32 = 0;
  let moh: i64 = 0;
  for (let i: u32 = 0; i < SET_MAX; i++) {
    const f = field(m, i);
    if (f == 0) break;
    const d = destById(dests, n, f - 1);
    if (d == 0 || weightOf(d) <= 0) continue;
    const doh = overhead(d);
    if (most < 0 || moh * <i64> weightOf(d) < doh * <i64> weightOf(mostD)) {
      most = <i32> i;
      mostD = d;
      moh = doh;
    }
  }
  return most;
}

/** Drops the most loaded member if the set still has more than one. */
function shrink(e: u32, daddr: u32, dests: u32, n: u32): void {
  for (let attempt = 0; attempt < 8; attempt++) {
    const k = atomic.load<u64>(e + LOC_KEY);
    if (<u32> k != daddr) return;
    const old = atomic.load<u64>(e + LOC_SET);
    const m = liveMembers(members(k, old), dests, n);
    if (field(m, 1) == 0) return;
    const i = setMaxIndex(m, dests, n);
    if (i < 0) return;
    if (atomic.cmpxchg<u64>(e + LOC_SET, old, setWord(k, dropMember(m, <u32> i))) == old) return;
  }
}

/** ip_vs_dest_set_insert(check): adds dest id as the newest member unless present. */
function insert(e: u32, daddr: u32, id: u32, dests: u32, n: u32, now: u64): void {
  for (let attempt = 0; attempt < 8; attempt++) {
    const k = atomic.load<u64>(e + LOC_KEY);
    if (<u32> k != daddr) return; // the slot went to another daddr meanwhile
    const old = atomic.load<u64>(e + LOC_SET);
    let m = liveMembers(members(k, old), dests, n);
    let present = false;
    for (let i: u32 = 0; i < SET_MAX; i++) if (field(m, i) == id + 1) present = true;
    if (present) return;
    if (field(m, SET_MAX - 1) != 0) {
      const i = setMaxIndex(m, dests, n);
      m = dropMember(m, i < 0 ? SET_MAX - 1 : <u32> i);
    }
    if (atomic.cmpxchg<u64>(e + LOC_SET, old, setWord(k, pushMember(m, id))) == old) {
      atomic.store<u64>(e + LOC_LASTMOD, now);
      return;
    }
  }
}
