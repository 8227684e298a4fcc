// Weighted least connection, as ip_vs_wlc.c (ip_vs_wlc_schedule): the dest
// with the smallest overhead/weight, overhead = ActiveConn*256 + InActConn.
// No division: the kernel compares loh * weight(d) > doh * weight(least) in
// 64 bits. The first usable dest in list order (weight > 0, not blocked)
// is the starting pick; later dests replace it only when strictly less
// loaded, so ties go to the earlier one. Later dests are not checked for
// weight 0 (as in the kernel): with weight 0 the left side is 0 and never
// greater, so they are never picked anyway.
import { DEST_SIZE } from "../layout";
import { blocked, connOverhead, weightOf } from "./scheduler";

export function wlcSchedule(dests: u32, n: u32): u32 {
  let least: u32 = 0;
  let i: u32 = 0;
  for (; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (!blocked(d) && weightOf(d) > 0) {
      least = d;
      break;
    }
  }
  if (least == 0) return 0;
  let loh = connOverhead(least);
  for (i++; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d)) continue;
    const doh = connOverhead(d);
    if (<i64> loh * <i64> weightOf(d) > <i64> doh * <i64> weightOf(least)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
