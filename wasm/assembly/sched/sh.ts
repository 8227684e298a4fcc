// Source hashing, as ip_vs_sh.c (ip_vs_sh_schedule). The supervisor fills a
// 256-bucket table (IP_VS_SH_TAB_SIZE) exactly as ip_vs_sh_reassign does:
// walking the dest list in IPVS order and giving each dest `weight`
// consecutive buckets (at least one), round and round until 256 are
// filled. A packet's bucket is hash_32(ntohl(saddr) + port, 8), where port
// is ntohs(sport) with sh-port (SVC_F_SCHED2) and 0 without.
//
// The bucket's dest is taken if available (weight > 0, no OVERLOAD). If it
// is not: without sh-fallback (SVC_F_SCHED1) there is no dest; with it the
// kernel (ip_vs_sh_get_fallback) probes 256 more buckets, the i-th at
// (roffset + ihash) & 255 with roffset = (i + ihash) & 255, i.e. starting at
// 2 * ihash, and takes the first available dest.
import { SVC_F_SCHED1, SVC_F_SCHED2, SVC_FLAGS } from "../layout";
import { entryDest, hash32, ntohl, ntohs, tableBase, tableLen, unavailable } from "./hashing";

const SH_TAB_BITS: u32 = 8;
const SH_TAB_MASK: u32 = (1 << SH_TAB_BITS) - 1;

export function shSchedule(svc: u32, dests: u32, n: u32, saddr: u32, sport: u32): u32 {
  if (n == 0 || tableLen(svc) != SH_TAB_MASK + 1) return 0;
  const flags = <u32> load<u16>(svc + SVC_FLAGS);
  const port: u32 = flags & SVC_F_SCHED2 ? ntohs(sport) : 0;
  const tbl = tableBase(svc);
  const ihash = hash32(port + ntohl(saddr), SH_TAB_BITS);
  let d = entryDest(tbl, ihash, dests, n);
  if (d == 0) return 0;
  if (!unavailable(d)) return d;
  if (!(flags & SVC_F_SCHED1)) return 0;
  for (let offset: u32 = 0; offset <= SH_TAB_MASK; offset++) {
    const roffset = (offset + ihash) & SH_TAB_MASK;
    d = entryDest(tbl, (roffset + ihash) & SH_TAB_MASK, dests, n);
    if (d == 0) return 0;
    if (!unavailable(d)) return d;
  }
  return 0;
}
