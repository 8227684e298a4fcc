// Destination hashing, as ip_vs_dh.c (ip_vs_dh_schedule). The supervisor
// fills a 256-bucket table as ip_vs_dh_reassign does: one bucket per dest,
// round robin over the dest list in IPVS order (weights play no part in
// the assignment). A packet's bucket is hash_32(ntohl(daddr), 8); its dest
// is taken if it has weight > 0 and is not OVERLOADed (and its next hop is
// resolved); otherwise there is no dest: dh has no fallback.
import { entryDest, hash32, ntohl, tableBase, tableLen, unavailable } from "./hashing";

const DH_TAB_BITS: u32 = 8;

export function dhSchedule(svc: u32, dests: u32, n: u32, daddr: u32): u32 {
  if (n == 0 || tableLen(svc) != <u32> 1 << DH_TAB_BITS) return 0;
  const d = entryDest(tableBase(svc), hash32(ntohl(daddr), DH_TAB_BITS), dests, n);
  if (d == 0 || unavailable(d)) return 0;
  return d;
}
