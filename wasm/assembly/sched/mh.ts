// Maglev hashing, as ip_vs_mh.c (ip_vs_mh_schedule). The lookup table (a
// prime number M of entries, SVC_TBL_LEN) is built by the supervisor
// (src/dataplane/maglev.ts) from the dests' offset/skip permutations and
// their last non-zero weights. A packet's entry is
// hsiphash(ntohl(saddr) + port, key1) % M, port being ntohs(sport) with
// mh-port (SVC_F_SCHED2) and 0 without; key1 is the kernel's fixed
// {2654435761, 2654435761}.
//
// The entry's dest is taken if available (weight > 0, no OVERLOAD). If it
// is not: without mh-fallback (SVC_F_SCHED1) there is no dest; with it
// (ip_vs_mh_get_fallback) the i-th retry, i = 0..M-1, rehashes with the
// offset roffset = (i + ihash) % M added to the key and takes the first
// available dest. An empty entry (every weight 0) ends the search.
import { SVC_F_SCHED1, SVC_F_SCHED2, SVC_FLAGS } from "../layout";
import { entryDest, hsiphash4, ntohl, ntohs, tableBase, tableLen, unavailable } from "./hashing";

/** generate_hash_secret(): hash1's key words. */
const MH_KEY1: u64 = 2654435761;

export function mhSchedule(svc: u32, dests: u32, n: u32, saddr: u32, sport: u32): u32 {
  const size = tableLen(svc);
  if (n == 0 || size == 0) return 0;
  const flags = <u32> load<u16>(svc + SVC_FLAGS);
  const key: u32 = (flags & SVC_F_SCHED2 ? ntohs(sport) : 0) + ntohl(saddr);
  const tbl = tableBase(svc);
  const ihash = hsiphash4(key, MH_KEY1) % size;
  let d = entryDest(tbl, ihash, dests, n);
  if (d == 0) return 0;
  if (!unavailable(d)) return d;
  if (!(flags & SVC_F_SCHED1)) return 0;
  for (let offset: u32 = 0; offset < size; offset++) {
    const roffset = (offset + ihash) % size;
    d = entryDest(tbl, hsiphash4(roffset + key, MH_KEY1) % size, dests, n);
    if (d == 0) return 0;
    if (!unavailable(d)) return d;
  }
  return 0;
}
