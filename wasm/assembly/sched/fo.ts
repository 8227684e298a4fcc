// Weighted failover, as ip_vs_fo.c (ip_vs_fo_schedule): every new
// connection goes to the usable dest with the highest weight, whatever its
// load; among equal weights the first in list order (the pick changes only
// on a strictly higher weight). Weight 0 never beats the starting mark 0.
import { DEST_SIZE } from "../layout";
import { blocked, weightOf } from "./scheduler";

export function foSchedule(dests: u32, n: u32): u32 {
  let pick: u32 = 0;
  let hw: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d)) continue;
    const w = weightOf(d);
    if (w > hw) {
      pick = d;
      hw = w;
    }
  }
  return pick;
}
