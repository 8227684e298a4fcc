// The connection table, shared by every worker (lock-free).
//
// Records live in an open-addressed array keyed by the in-key; each slot
// has a state word (EMPTY/BUSY/LIVE/DEAD) claimed with compare-and-swap, so
// two workers never write one record. Replies are found through a second
// array, the reverse index, whose u64 entries are (conn index + 1,
// incarnation): an entry is stale when its record was reused since (the
// incarnation moved on) and is then overwritten. Both arrays are probed over
// at most PROBE slots; a new connection that finds no free slot within that
// window is dropped and counted (table full) and never disturbs another.
//
// Expired records are reclaimed either by the supervisor's sweep or by an
// insert that finds them in its window; whoever wins the LIVE→BUSY CAS
// marks the state word DEAD (one CAS, so a state change racing with it
// either lands before and is accounted for, or fails) and takes the record
// out of ActiveConn/InActConn, exactly once. A worker that found a record
// remembers its incarnation (foundInc): its state change is a CAS on the
// (incarnation, state) pair and fails if the record was reused meanwhile,
// and it re-checks the incarnation after reading the fields it forwards with.
import {
  CONN_CADDR,
  CONN_CPORT,
  CONN_DADDR,
  CONN_DEST_ID,
  CONN_DPORT,
  CONN_EXPIRES,
  CONN_F_DEAD,
  CONN_F_INACTIVE,
  CONN_INC,
  CONN_PROTO,
  CONN_SF,
  CONN_SIZE,
  CONN_SLOT,
  CONN_VADDR,
  CONN_VPORT,
  CTRL,
  CTRL_CONN_BASE,
  CTRL_CONN_CAP,
  CTRL_RIDX_BASE,
  DSTATE,
  DSTATE_ACTIVE,
  DSTATE_INACT,
  DSTATE_SIZE,
  PROBE,
  SLOT_BUSY,
  SLOT_DEAD,
  SLOT_EMPTY,
  SLOT_LIVE,
} from "../layout";
import { hashKey } from "./key";
import { overloadOnUnbind } from "./threshold";

// @ts-ignore: decorator

export function connBase(): u32 {
  return load<u32>(CTRL + CTRL_CONN_BASE);
}

// @ts-ignore: decorator

export function connMask(): u32 {
  return load<u32>(CTRL + CTRL_CONN_CAP) - 1;
}

// @ts-ignore: decorator

function ridxBase(): u32 {
  return load<u32>(CTRL + CTRL_RIDX_BASE);
}

// @ts-ignore: decorator

function ridxMask(): u32 {
  return (load<u32>(CTRL + CTRL_CONN_CAP) << 1) - 1;
}

// @ts-ignore: decorator

export function connAt(idx: u32): u32 {
  return connBase() + idx * CONN_SIZE;
}

/** Incarnation of the record the last lookup (or claim) returned. */
export let foundInc: u32 = 0;

/** Finds a live, unexpired connection by its in-key; returns its address or 0. */
export function lookupIn(proto: u32, caddr: u32, cport: u32, vaddr: u32, vport: u32, now: u64): u32 {
  const mask = connMask();
  const base = connBase();
  let i = hashKey(proto, caddr, cport, vaddr, vport);
  for (let n: u32 = 0; n < PROBE; n++, i++) {
    const c = base + (i & mask) * CONN_SIZE;
    const st = atomic.load<u32>(c + CONN_SLOT);
    if (st == SLOT_EMPTY) return 0; // never used: the key was never inserted past here
    if (st != SLOT_LIVE) continue;
    const inc = atomic.load<u32>(c + CONN_INC);
    if (
      load<u32>(c + CONN_CADDR) == caddr && load<u32>(c + CONN_VADDR) == vaddr &&
      load<u16>(c + CONN_CPORT) == <u16> cport && load<u16>(c + CONN_VPORT) == <u16> vport &&
      load<u8>(c + CONN_PROTO) == <u8> proto && load<u64>(c + CONN_EXPIRES) > now
    ) {
      foundInc = inc;
      return c;
    }
  }
  return 0;
}

/** Finds a live connection by its out-key (a reply from a real server). */
export function lookupOut(proto: u32, daddr: u32, dport: u32, caddr: u32, cport: u32, now: u64): u32 {
  const mask = ridxMask();
  const rb = ridxBase();
  const base = connBase();
  let i = hashKey(proto, daddr, dport, caddr, cport);
  for (let n: u32 = 0; n < PROBE; n++, i++) {
    const e = atomic.load<u64>(rb + ((i & mask) << 3));
    if (e == 0) return 0;
    const c = base + (<u32> e - 1) * CONN_SIZE;
    if (atomic.load<u32>(c + CONN_SLOT) != SLOT_LIVE) continue;
    if (atomic.load<u32>(c + CONN_INC) != <u32> (e >> 32)) continue;
    if (
      load<u32>(c + CONN_DADDR) == daddr && load<u32>(c + CONN_CADDR) == caddr &&
      load<u16>(c + CONN_DPORT) == <u16> dport && load<u16>(c + CONN_CPORT) == <u16> cport &&
      load<u8>(c + CONN_PROTO) == <u8> proto && load<u64>(c + CONN_EXPIRES) > now
    ) {
      foundInc = <u32> (e >> 32);
      return c;
    }
  }
  return 0;
}

/** True while `c` is still the live record of incarnation `inc`. */
// @ts-ignore: decorator

export function stillLive(c: u32, inc: u32): bool {
  return atomic.load<u32>(c + CONN_SLOT) == SLOT_LIVE && atomic.load<u32>(c + CONN_INC) == inc;
}

/**
 * ip_vs_unbind_dest(): takes a connection with state word `sf` out of its
 * dest's counters, then lets the dest's OVERLOAD mark go if it has drained
 * far enough (thresholds).
 */
// @ts-ignore: decorator

function unbindDest(c: u32, sf: u32): void {
  const ds = DSTATE + <u32> load<u16>(c + CONN_DEST_ID) * DSTATE_SIZE;
  if (sf & (CONN_F_INACTIVE << 8)) {
    atomic.sub<i32>(ds + DSTATE_INACT, 1);
  } else {
    atomic.sub<i32>(ds + DSTATE_ACTIVE, 1);
  }
  overloadOnUnbind(ds);
}

/** Marks a record we hold BUSY as DEAD and unbinds it, from its final state word. */
function reclaim(c: u32): void {
  while (true) {
    const v = atomic.load<u64>(c + CONN_INC);
    const sf = <u32> (v >> 32);
    if (sf & (CONN_F_DEAD << 8)) return; // already accounted for
    const dead = (<u64> (sf | (CONN_F_DEAD << 8)) << 32) | (v & 0xffffffff);
    if (atomic.cmpxchg<u64>(c + CONN_INC, v, dead) == v) {
      unbindDest(c, sf);
      return;
    }
  }
}

/**
 * Claims a slot for a new connection in the in-key's window and marks it
 * BUSY with a new incarnation (in foundInc); the caller fills it and calls
 * publish(). Returns 0 when the window is full of live connections.
 */
export function claim(proto: u32, caddr: u32, cport: u32, vaddr: u32, vport: u32, now: u64): u32 {
  const mask = connMask();
  const base = connBase();
  let i = hashKey(proto, caddr, cport, vaddr, vport);
  for (let n: u32 = 0; n < PROBE; n++, i++) {
    const c = base + (i & mask) * CONN_SIZE;
    const st = atomic.load<u32>(c + CONN_SLOT);
    let got = false;
    if (st == SLOT_EMPTY || st == SLOT_DEAD) {
      got = atomic.cmpxchg<u32>(c + CONN_SLOT, st, SLOT_BUSY) == st;
    } else if (st == SLOT_LIVE && load<u64>(c + CONN_EXPIRES) <= now) {
      got = atomic.cmpxchg<u32>(c + CONN_SLOT, SLOT_LIVE, SLOT_BUSY) == SLOT_LIVE;
      if (got) reclaim(c);
    }
    if (got) {
      // New incarnation first, before any field changes: a worker still
      // holding the old one sees the change and drops what it read.
      const inc = atomic.load<u32>(c + CONN_INC) + 1;
      atomic.store<u64>(c + CONN_INC, (<u64> (CONN_F_DEAD << 8) << 32) | <u64> inc);
      foundInc = inc;
      return c;
    }
  }
  return 0;
}

/**
 * Makes a filled BUSY record visible: links its out-key into the reverse
 * index and stores LIVE. The dest's InActConn was already counted by the
 * caller (new connections start inactive, as with IP_VS_CONN_F_INACTIVE in
 * __ip_vs_update_dest). Returns false when the reverse index window is
 * full; the record is then released again.
 */
export function publish(c: u32, now: u64): bool {
  const inc = atomic.load<u32>(c + CONN_INC);
  const idx = (c - connBase()) / CONN_SIZE;
  const entry: u64 = (<u64> inc << 32) | <u64> (idx + 1);
  const proto = <u32> load<u8>(c + CONN_PROTO);
  const mask = ridxMask();
  const rb = ridxBase();
  const base = connBase();
  let i = hashKey(
    proto,
    load<u32>(c + CONN_DADDR),
    <u32> load<u16>(c + CONN_DPORT),
    load<u32>(c + CONN_CADDR),
    <u32> load<u16>(c + CONN_CPORT),
  );
  for (let n: u32 = 0; n < PROBE; n++, i++) {
    const p = rb + ((i & mask) << 3);
    const e = atomic.load<u64>(p);
    let free = e == 0;
    if (!free) {
      const o = base + (<u32> e - 1) * CONN_SIZE;
      const st = atomic.load<u32>(o + CONN_SLOT);
      free = o == c || st == SLOT_DEAD || st == SLOT_EMPTY ||
        atomic.load<u32>(o + CONN_INC) != <u32> (e >> 32);
      if (!free && st == SLOT_LIVE && atomic.load<u64>(o + CONN_EXPIRES) <= now) {
        // Its connection expired: end it properly before taking its entry,
        // so no worker can revive a record that replies can no longer find.
        if (atomic.cmpxchg<u32>(o + CONN_SLOT, SLOT_LIVE, SLOT_BUSY) == SLOT_LIVE) {
          reclaim(o);
          atomic.store<u32>(o + CONN_SLOT, SLOT_DEAD);
          free = true;
        }
      }
    }
    if (free && atomic.cmpxchg<u64>(p, e, entry) == e) {
      atomic.store<u32>(c + CONN_SLOT, SLOT_LIVE);
      return true;
    }
  }
  reclaim(c);
  atomic.store<u32>(c + CONN_SLOT, SLOT_DEAD);
  return false;
}

/**
 * Ends connection `c` of incarnation `inc` now (ip_vs_conn_expire_now), e.g.
 * when a new SYN reuses the ports of one in TIME_WAIT.
 */
export function expireNow(c: u32, inc: u32): void {
  if (atomic.load<u32>(c + CONN_INC) != inc) return;
  if (atomic.cmpxchg<u32>(c + CONN_SLOT, SLOT_LIVE, SLOT_BUSY) != SLOT_LIVE) return;
  if (atomic.load<u32>(c + CONN_INC) != inc) {
    atomic.store<u32>(c + CONN_SLOT, SLOT_LIVE); // reused meanwhile: not ours to end
    return;
  }
  reclaim(c);
  atomic.store<u32>(c + CONN_SLOT, SLOT_DEAD);
}

/**
 * Pushes the expiry of `c` (incarnation `inc`) to `expires`, unless it has
 * already expired (a sweep may be ending it: never revive) or was reused.
 */
export function refreshExpiry(c: u32, inc: u32, now: u64, expires: u64): void {
  for (let attempt = 0; attempt < 4; attempt++) {
    const old = atomic.load<u64>(c + CONN_EXPIRES);
    if (old <= now || atomic.load<u32>(c + CONN_INC) != inc) return;
    if (atomic.cmpxchg<u64>(c + CONN_EXPIRES, old, expires) == old) return;
  }
}

/**
 * Reclaims expired connections among `count` slots from `first`; returns
 * how many were expired. Run by the supervisor's instance once a second.
 */
export function expireSweep(first: u32, count: u32, now: u64): u32 {
  const cap = load<u32>(CTRL + CTRL_CONN_CAP);
  const base = connBase();
  let end = first + count;
  if (end > cap) end = cap;
  let expired: u32 = 0;
  for (let i = first; i < end; i++) {
    const c = base + i * CONN_SIZE;
    if (atomic.load<u32>(c + CONN_SLOT) != SLOT_LIVE) continue;
    if (load<u64>(c + CONN_EXPIRES) > now) continue;
    if (atomic.cmpxchg<u32>(c + CONN_SLOT, SLOT_LIVE, SLOT_BUSY) == SLOT_LIVE) {
      reclaim(c);
      atomic.store<u32>(c + CONN_SLOT, SLOT_DEAD);
      expired++;
    }
  }
  return expired;
}
