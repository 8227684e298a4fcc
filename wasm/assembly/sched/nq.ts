// Never queue, as ip_vs_nq.c (ip_vs_nq_schedule): the first usable dest in
// list order with no active connection is taken at once; if every one is
// busy, sed's choice: the smallest (ActiveConn+1)/weight, compared by
// cross-multiplying in 64 bits, ties to the earlier dest. Dests with
// weight 0 or blocked are skipped.
import { DEST_SIZE } from "../layout";
import { activeConns, blocked, weightOf } from "./scheduler";

export function nqSchedule(dests: u32, n: u32): u32 {
  let least: u32 = 0;
  let loh: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d) || weightOf(d) == 0) continue;
    const active = activeConns(d);
    if (active == 0) return d; // idle: no queue to wait in
    const doh = active + 1;
    if (least == 0 || <i64> loh * <i64> weightOf(d) > <i64> doh * <i64> weightOf(least)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
