// Shortest expected delay, as ip_vs_sed.c (ip_vs_sed_schedule): wlc's
// search with the overhead ActiveConn + 1 (the connection being placed
// counts; inactive ones do not), i.e. the smallest (ActiveConn+1)/weight,
// compared as loh * weight(d) > doh * weight(least) in 64 bits. Starts at
// the first usable dest in list order; ties keep the earlier dest.
import { DEST_SIZE } from "../layout";
import { activeConns, blocked, weightOf } from "./scheduler";

export function sedSchedule(dests: u32, n: u32): u32 {
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
  let loh = activeConns(least) + 1;
  for (i++; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d)) continue;
    const doh = activeConns(d) + 1;
    if (<i64> loh * <i64> weightOf(d) > <i64> doh * <i64> weightOf(least)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
