// Overflow, as ip_vs_ovf.c (ip_vs_ovf_schedule): the usable dest with the
// highest weight whose ActiveConn does not exceed its weight (ActiveConn ==
// weight still qualifies); when it fills up, the next highest takes the
// overflow. Equal weights: the first in list order. Inactive connections
// do not count (so it suits TCP better than UDP).
import { DEST_SIZE } from "../layout";
import { activeConns, blocked, weightOf } from "./scheduler";

export function ovfSchedule(dests: u32, n: u32): u32 {
  let pick: u32 = 0;
  let hw: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    const w = weightOf(d);
    if (blocked(d) || activeConns(d) > w || w == 0) continue;
    if (pick == 0 || w > hw) {
      pick = d;
      hw = w;
    }
  }
  return pick;
}
