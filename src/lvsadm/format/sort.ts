/**
 * ipvsadm's sort (the default; --nosort turns it off for -L, and -S always
 * sorts): `ipvs_sort_services(get, ipvs_cmp_services)` and
 * `ipvs_sort_dests(d, ipvs_cmp_dests)` in libipvs.c, which call qsort.
 *
 * Two details decide the order and are reproduced here:
 * - The comparators subtract unsigned 32-bit fields (fwmark, the address
 *   after ntohl) and keep the difference in an `int`, so it wraps: an
 *   address 2^31 or more above another sorts BEFORE it (192.168.0.1 lists
 *   before 10.0.0.1). 16-bit fields (af, protocol, port) promote to int and
 *   compare normally. The man page's "ascending order" holds only within
 *   half the address space.
 * - With that wrap the order is not transitive, so the result depends on
 *   the sort algorithm: glibc's qsort is a top-down merge sort
 *   (stdlib/msort.c msort_with_tmp: halves n/2 and n - n/2, left taken when
 *   cmp <= 0), which {@link glibcMergeSort} follows step by step.
 *
 * lvsd's service groups stand where IPVS has fwmark services: ipvs_cmp_services
 * compares fwmark first and ordinary services have 0, so groups come after
 * every ordinary service; among themselves they compare by proto, first
 * address and first port.
 *
 * @module
 */

import type { DestRow, ServiceRow } from "./view.ts";

/** A C `int r = a - b` of two u32 values: the difference wrapped to 32 bits, signed. */
function u32Diff(a: number, b: number): number {
  return (a - b) | 0;
}

/** IP protocol numbers (ipvs_cmp_services compares se->protocol). */
const PROTO_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

/**
 * ipvs_cmp_services: fwmark (a group here: 1), af, protocol, address
 * (wrapping), port. The af step is left out: lvsd serves IPv4 only.
 */
export function cmpServices(a: ServiceRow, b: ServiceRow): number {
  let r = u32Diff(a.groupLabel ? 1 : 0, b.groupLabel ? 1 : 0);
  if (r !== 0) return r;
  r = (PROTO_NUMBERS[a.proto] ?? 0) - (PROTO_NUMBERS[b.proto] ?? 0);
  if (r !== 0) return r;
  r = u32Diff(a.addrNum, b.addrNum);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** ipvs_cmp_dests: address (wrapping), then port. */
export function cmpDests(a: DestRow, b: DestRow): number {
  const r = u32Diff(a.addrNum, b.addrNum);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** glibc qsort's merge sort (msort_with_tmp): the same comparisons in the same order. */
export function glibcMergeSort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const out = [...items];
  const sort = (lo: number, n: number): void => {
    if (n <= 1) return;
    const n1 = Math.floor(n / 2);
    const n2 = n - n1;
    sort(lo, n1);
    sort(lo + n1, n2);
    const merged: T[] = [];
    let i = lo;
    let j = lo + n1;
    let left = n1;
    let rightLeft = n2;
    while (left > 0 && rightLeft > 0) {
      if (cmp(out[i], out[j]) <= 0) {
        merged.push(out[i++]);
        left--;
      } else {
        merged.push(out[j++]);
        rightLeft--;
      }
    }
    while (left-- > 0) merged.push(out[i++]);
    // What is left of the right half is already in place.
    for (let k = 0; k < merged.length; k++) out[lo + k] = merged[k];
  };
  sort(0, out.length);
  return out;
}
