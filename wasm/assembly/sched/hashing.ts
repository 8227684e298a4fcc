// What the hashing schedulers (sh, dh, mh) share: the kernel's hash
// functions and the lookup tables the supervisor builds per table copy
// (src/dataplane/sched_tables.ts writes them; this side only reads).
//
// Addresses and ports arrive in wire order as loaded from the frame
// (little-endian loads of big-endian bytes), so ntohl/ntohs are byte swaps.
import { DEST_SIZE, SCHED_TBL, SCHED_TBL_COPY, SVC, SVC_COPY, SVC_TBL_LEN, SVC_TBL_OFF } from "../layout";
import { blocked, weightOf } from "./scheduler";

/** include/linux/hash.h GOLDEN_RATIO_32. */
const GOLDEN_RATIO_32: u32 = 0x61c88647;

/** hash_32(val, bits): the top `bits` bits of val * GOLDEN_RATIO_32 (mod 2^32). */
export function hash32(val: u32, bits: u32): u32 {
  return (val * GOLDEN_RATIO_32) >> (32 - bits);
}

/** ntohl of a wire-order address loaded little-endian. */
export function ntohl(v: u32): u32 {
  return bswap<u32>(v);
}

/** ntohs of a wire-order port loaded little-endian into the low 16 bits. */
export function ntohs(v: u32): u32 {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/**
 * Address of entry 0 of the service's lookup table in its own table copy
 * (the copy is the one the service record sits in).
 */
export function tableBase(svc: u32): u32 {
  const copy: u32 = svc >= SVC + SVC_COPY ? 1 : 0;
  return SCHED_TBL + copy * SCHED_TBL_COPY + load<u32>(svc + SVC_TBL_OFF) * 2;
}

/** Entries in the service's lookup table (0 = none built). */
export function tableLen(svc: u32): u32 {
  return load<u32>(svc + SVC_TBL_LEN);
}

/**
 * The dest a table entry names (entry = list position + 1), or 0 for an
 * empty entry (a service without dests, or mh with every weight 0).
 */
export function entryDest(tbl: u32, i: u32, dests: u32, n: u32): u32 {
  const e = <u32> load<u16>(tbl + i * 2);
  if (e == 0 || e > n) return 0;
  return dests + (e - 1) * DEST_SIZE;
}

/**
 * is_unavailable() of ip_vs_sh.c / ip_vs_mh.c: weight <= 0 or OVERLOAD.
 * A dest whose next hop is not resolved yet cannot take a connection here
 * either, so it counts as unavailable too (the kernel has no such state).
 */
export function unavailable(d: u32): bool {
  return weightOf(d) <= 0 || blocked(d);
}

// SipHash constants ("somepseudorandomlygeneratedbytes").
const SIP_C0: u64 = 0x736f6d6570736575;
const SIP_C1: u64 = 0x646f72616e646f6d;
const SIP_C2: u64 = 0x6c7967656e657261;
const SIP_C3: u64 = 0x7465646279746573;

/**
 * hsiphash(&v, 4, key) of a 64-bit kernel, whose key halves are both `k`:
 * there hsiphash is SipHash-1-3 (one compression round, three finalisation
 * rounds) with 64-bit key words, truncated to 32 bits. The 4-byte message
 * is the u32 in host (little-endian) byte order, so it is the tail word b
 * together with the length byte: b = 4 << 56 | v.
 */
export function hsiphash4(v: u32, k: u64): u32 {
  let v0 = k ^ SIP_C0;
  let v1 = k ^ SIP_C1;
  let v2 = k ^ SIP_C2;
  let v3 = k ^ SIP_C3;
  const b: u64 = (<u64> 4 << 56) | <u64> v;
  v3 ^= b;
  for (let r = 0; r < 4; r++) {
    v0 += v1;
    v1 = rotl<u64>(v1, 13);
    v1 ^= v0;
    v0 = rotl<u64>(v0, 32);
    v2 += v3;
    v3 = rotl<u64>(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl<u64>(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl<u64>(v1, 17);
    v1 ^= v2;
    v2 = rotl<u64>(v2, 32);
    if (r == 0) {
      // End of the one compression round: finalisation starts.
      v0 ^= b;
      v2 ^= 0xff;
    }
  }
  return <u32> (v0 ^ v1 ^ v2 ^ v3);
}
