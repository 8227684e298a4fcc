// Round robin, as ip_vs_rr.c: the cursor starts at the list head; each pick
// continues after the cursor, wrapping once, and skips dests with weight 0
// (quiescent) or OVERLOAD. The cursor is the position in the service's dest
// list (IPVS order: newest dest first), 0 meaning the head.
import { DEST_SIZE, SCHED, SCHED_SIZE } from "../layout";
import { blocked, weightOf } from "./scheduler";

// @ts-ignore: decorator

function usable(d: u32): bool {
  return weightOf(d) > 0 && !blocked(d);
}

export function rrSchedule(svcId: u32, dests: u32, n: u32): u32 {
  const sp = SCHED + svcId * SCHED_SIZE;
  for (let attempt = 0; attempt < 64; attempt++) {
    const old = atomic.load<u64>(sp);
    let last = <i32> (<u32> old) - 1; // -1: head
    if (last >= <i32> n) last = -1;
    let hit: i32 = -1;
    // First pass: after the cursor to the end; second: from the start up to
    // and including the cursor (the kernel stops when it meets `last`).
    for (let i = last + 1; i < <i32> n; i++) {
      if (usable(dests + <u32> i * DEST_SIZE)) {
        hit = i;
        break;
      }
    }
    if (hit < 0 && last >= 0) {
      for (let i: i32 = 0; i <= last; i++) {
        if (usable(dests + <u32> i * DEST_SIZE)) {
          hit = i;
          break;
        }
      }
    }
    if (hit < 0) return 0;
    const next: u64 = <u64> (hit + 1);
    if (atomic.cmpxchg<u64>(sp, old, next) == old) return dests + <u32> hit * DEST_SIZE;
  }
  return 0;
}
