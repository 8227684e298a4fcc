// The locality table that lblc and lblcr share, and the dest choices both
// make (ip_vs_lblc.c / ip_vs_lblcr.c).
//
// The kernel keeps per service a hash of entries daddr -> dest (lblc) or
// daddr -> set of dests (lblcr), changed under the service's sched_lock and
// aged by a timer. Here several workers use one table at once without a
// lock, so each service has LOCALITY_SLOTS fixed entries at
// LOCALITY + svcId * LOCALITY_SIZE, found by linear probing over
// LOCALITY_PROBE slots from hash_32(ntohl(daddr), 10), and every change is
// one atomic store or compare-and-swap of a 64-bit word:
//
//   entry (LOCALITY_ENTRY = 32 bytes)
//   +0  KEY      u64  daddr (wire order) in the low 32 bits, a tag in the
//                     high 32 that goes up by one each time the slot is
//                     claimed; 0 = never used
//   +8  SET      u64  up to SET_MAX dests, 13 bits each: stable dest id + 1
//                     (0 = none), newest in the lowest field; bits 52..63
//                     hold the low 12 bits of the KEY tag it belongs to
//   +16 LASTUSE  u64  ms of the data plane's clock, last lookup (en->lastuse)
//   +24 LASTMOD  u64  ms, last change of the set (lblcr set.lastmod)
//
// A SET whose tag is not its KEY's belongs to an earlier owner of the slot
// and reads as empty, so claiming a slot is a single CAS of KEY and a stale
// writer can never graft its set onto another daddr. lblc keeps one dest
// (field 0). Dests are stable ids, never positions (positions change
// between table copies); an id that is not in the service's current dest
// list reads as absent, so a removed dest simply drops out.
//
// Ageing: an entry not looked up for the expiration time (the kernel's
// lblc_expiration / lblcr_expiration sysctls, 24 h by default) reads as
// absent and its slot is free; the kernel drops such entries from a timer
// (every 30 min for the full check), here they die at the first look. When
// the probe window holds no free slot, the least recently used entry in it
// is replaced: the kernel's table grows instead, and only trims entries
// idle for 6 min (ENTRY_TIMEOUT) once it holds over 16384.
import {
  DEST_ID,
  DEST_SIZE,
  DSTATE,
  DSTATE_ACTIVE,
  DSTATE_INACT,
  DSTATE_SIZE,
  LOCALITY,
  LOCALITY_ENTRY,
  LOCALITY_SIZE,
  LOCALITY_SLOTS,
} from "../layout";
import { hash32, ntohl } from "./hashing";
import { blocked, weightOf } from "./scheduler";

export const LOC_KEY: u32 = 0;
export const LOC_SET: u32 = 8;
export const LOC_LASTUSE: u32 = 16;
export const LOC_LASTMOD: u32 = 24;

/** Slots looked at per lookup or claim. */
export const LOCALITY_PROBE: u32 = 16;
const LOCALITY_BITS: u32 = 10; // log2(LOCALITY_SLOTS)

/** DEFAULT_EXPIRATION of ip_vs_lblc.c and ip_vs_lblcr.c: 24 h. */
export const LOCALITY_EXPIRATION_MS: u64 = 24 * 60 * 60 * 1000;

/** Dests one lblcr entry holds at most (the kernel's set is unbounded). */
export const SET_MAX: u32 = 4;
const FIELD_BITS: u32 = 13; // dest id + 1 <= MAX_DESTS = 4096
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
const MEMBERS_MASK: u64 = ((<u64> 1) << (FIELD_BITS * SET_MAX)) - 1;
const TAG_SHIFT: u64 = FIELD_BITS * SET_MAX; // 52
const TAG_MASK: u64 = 0xfff;

export function localityBase(svcId: u32): u32 {
  return LOCALITY + svcId * LOCALITY_SIZE;
}

function slotAt(base: u32, start: u32, i: u32): u32 {
  return base + ((start + i) & (LOCALITY_SLOTS - 1)) * LOCALITY_ENTRY;
}

function idle(e: u32, now: u64): bool {
  return <i64> (now - atomic.load<u64>(e + LOC_LASTUSE)) >= <i64> LOCALITY_EXPIRATION_MS;
}

/** The live entry for daddr (ip_vs_lblc_get / ip_vs_lblcr_get), or 0. */
export function findEntry(base: u32, daddr: u32, now: u64): u32 {
  const start = hash32(ntohl(daddr), LOCALITY_BITS);
  for (let i: u32 = 0; i < LOCALITY_PROBE; i++) {
    const e = slotAt(base, start, i);
    const k = atomic.load<u64>(e + LOC_KEY);
    if (k != 0 && <u32> k == daddr && !idle(e, now)) return e;
  }
  return 0;
}

/**
 * An entry for daddr to write into: the live one if another worker made it
 * meanwhile, else a claimed slot (an idle entry of daddr itself, a never
 * used slot, an idle one, or the least recently used, in that order of
 * preference) with a new tag, so that its set starts empty. 0 if the claim
 * kept losing races (the caller then goes on without caching, as the
 * kernel does when it cannot allocate an entry).
 */
export function claimEntry(base: u32, daddr: u32, now: u64): u32 {
  const start = hash32(ntohl(daddr), LOCALITY_BITS);
  for (let attempt = 0; attempt < 4; attempt++) {
    let pick: u32 = 0;
    let pickKey: u64 = 0;
    let pickRank: u32 = 4;
    let pickUse: u64 = 0;
    for (let i: u32 = 0; i < LOCALITY_PROBE; i++) {
      const e = slotAt(base, start, i);
      const k = atomic.load<u64>(e + LOC_KEY);
      const used = atomic.load<u64>(e + LOC_LASTUSE);
      let rank: u32;
      if (k == 0) {
        rank = 1;
      } else {
        const stale = <i64> (now - used) >= <i64> LOCALITY_EXPIRATION_MS;
        if (<u32> k == daddr) {
          if (!stale) return e;
          rank = 0;
        } else {
          rank = stale ? 2 : 3;
        }
      }
      if (rank < pickRank || (rank == 3 && pickRank == 3 && used < pickUse)) {
        pick = e;
        pickKey = k;
        pickRank = rank;
        pickUse = used;
      }
    }
    const key: u64 = <u64> daddr | (((pickKey >> 32) + 1) << 32);
    if (atomic.cmpxchg<u64>(pick + LOC_KEY, pickKey, key) == pickKey) {
      atomic.store<u64>(pick + LOC_LASTUSE, now);
      atomic.store<u64>(pick + LOC_LASTMOD, now);
      return pick;
    }
  }
  return 0;
}

/** The members of a SET word read with its KEY (empty if the tags differ). */
export function members(key: u64, set: u64): u64 {
  return ((set >> TAG_SHIFT) & TAG_MASK) == ((key >> 32) & TAG_MASK) ? set & MEMBERS_MASK : 0;
}

/** A SET word holding `m` for the slot owner of `key`. */
export function setWord(key: u64, m: u64): u64 {
  return (m & MEMBERS_MASK) | (((key >> 32) & TAG_MASK) << TAG_SHIFT);
}

/** Field i of a member word: dest id + 1, 0 = none. */
export function field(m: u64, i: u32): u32 {
  return <u32> ((m >> (<u64> (i * FIELD_BITS))) & FIELD_MASK);
}

/** `m` with dest id pushed in as the newest member (the oldest falls off if full). */
export function pushMember(m: u64, id: u32): u64 {
  return ((m << FIELD_BITS) | <u64> (id + 1)) & MEMBERS_MASK;
}

/** `m` without field i, the later fields closing up. */
export function dropMember(m: u64, i: u32): u64 {
  const low: u64 = i == 0 ? 0 : m & (((<u64> 1) << (<u64> (i * FIELD_BITS))) - 1);
  const high: u64 = (m >> (<u64> ((i + 1) * FIELD_BITS))) << (<u64> (i * FIELD_BITS));
  return low | high;
}

/** The dest with stable id `id` in the service's current list, or 0. */
export function destById(dests: u32, n: u32, id: u32): u32 {
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (<u32> load<u16>(d + DEST_ID) == id) return d;
  }
  return 0;
}

function dstate(d: u32): u32 {
  return DSTATE + <u32> load<u16>(d + DEST_ID) * DSTATE_SIZE;
}

export function activeConns(d: u32): i32 {
  return atomic.load<i32>(dstate(d) + DSTATE_ACTIVE);
}

/** ip_vs_dest_conn_overhead(): ActiveConn * 256 + InActConn. */
export function overhead(d: u32): i64 {
  const s = dstate(d);
  return ((<i64> atomic.load<i32>(s + DSTATE_ACTIVE)) << 8) + <i64> atomic.load<i32>(s + DSTATE_INACT);
}

/**
 * is_overloaded() of ip_vs_lblc.c / ip_vs_lblcr.c: the dest has more active
 * connections than its weight while some dest of the service has fewer
 * than half its weight.
 */
export function isOverloaded(d: u32, dests: u32, n: u32): bool {
  if (activeConns(d) <= weightOf(d)) return false;
  for (let i: u32 = 0; i < n; i++) {
    const o = dests + i * DEST_SIZE;
    if (<i64> activeConns(o) * 2 < <i64> weightOf(o)) return true;
  }
  return false;
}

/**
 * __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule: weighted least connection
 * over the whole list. The first dest with weight > 0 that is not OVERLOADed
 * (nor without a next hop) starts; a later one wins when
 * overhead(least) * weight(d) > overhead(d) * weight(least), so ties keep
 * the earlier dest and weight 0 never wins.
 */
export function leastLoaded(dests: u32, n: u32): u32 {
  let least: u32 = 0;
  let loh: i64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d)) continue;
    if (least == 0) {
      if (weightOf(d) > 0) {
        least = d;
        loh = overhead(d);
      }
      continue;
    }
    const doh = overhead(d);
    if (loh * <i64> weightOf(d) > doh * <i64> weightOf(least)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
