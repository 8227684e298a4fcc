// Weighted round robin, as ip_vs_wrr.c (ip_vs_wrr_schedule): a current
// weight cw starts at mw = max weight - (gcd - 1) and drops by di = gcd
// after each pass over the list; a pass picks, in list order, the dests
// whose weight is >= cw. The state (cl position, cw) is one u64 moved with
// CAS: low 32 bits = position + 1 (0 = list head), high 32 bits = cw.
// mw and di are computed by the supervisor when it builds the table.
import { DEST_SIZE, SCHED, SCHED_SIZE, SVC_WRR_DI, SVC_WRR_MW } from "../layout";
import { blocked, weightOf } from "./scheduler";

export function wrrSchedule(svc: u32, svcId: u32, dests: u32, n: u32): u32 {
  const mw = load<i32>(svc + SVC_WRR_MW);
  const di = load<i32>(svc + SVC_WRR_DI);
  const sp = SCHED + svcId * SCHED_SIZE;
  if (mw <= 0 || n == 0) return 0; // err_noavail
  for (let attempt = 0; attempt < 64; attempt++) {
    const old = atomic.load<u64>(sp);
    let cl = <i32> (<u32> old) - 1;
    let cw = <i32> (old >> 32);
    if (cl >= <i32> n) cl = -1;
    if (cw > mw || cw <= 0) cw = mw;
    const last = cl;
    let stop: i32 = -2; // no stop dest yet
    let lastPass = false;
    let restarted = false;
    let d = cl;
    let found: i32 = -1;
    let over = false;
    while (true) {
      for (d = d + 1; d < <i32> n; d++) {
        const p = dests + <u32> d * DEST_SIZE;
        if (!blocked(p) && weightOf(p) >= cw) {
          found = d;
          break;
        }
        if (d == stop) {
          over = true;
          break;
        }
      }
      if (found >= 0 || over) break;
      d = -1; // back at the list head
      cw -= di;
      if (cw <= 0) {
        cw = mw;
        if (lastPass || last == -1) {
          over = true;
          break;
        }
        restarted = true;
      }
      lastPass = cw <= di;
      if (lastPass && restarted && last != -1) stop = last;
    }
    const pos = found >= 0 ? found : d;
    const next: u64 = (<u64> <u32> cw << 32) | <u64> (<u32> (pos + 1));
    if (atomic.cmpxchg<u64>(sp, old, next) == old) {
      return found >= 0 ? dests + <u32> found * DEST_SIZE : 0;
    }
  }
  return 0;
}
