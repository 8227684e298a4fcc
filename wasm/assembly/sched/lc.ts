// Least connection, as ip_vs_lc.c (ip_vs_lc_schedule): among the dests
// that may take connections (weight not 0, not blocked) the one with the
// smallest connection overhead, ActiveConn*256 + InActConn. The kernel
// holds the overheads in unsigned ints and replaces its pick only on a
// strictly smaller one, so equal overheads go to the first in list order
// (the newest dest). The weight only matters as "0 = quiesced".
import { DEST_SIZE } from "../layout";
import { blocked, connOverhead, weightOf } from "./scheduler";

export function lcSchedule(dests: u32, n: u32): u32 {
  let least: u32 = 0;
  let loh: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d) || weightOf(d) == 0) continue;
    const doh = <u32> connOverhead(d);
    if (least == 0 || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
