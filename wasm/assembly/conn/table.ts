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
//
// Persistence templates live here too (see layout.ts): a template is found
// only by lookupTemplate(), skips the reverse index, and counts the
// connections it controls in its state word. Reclaiming a controlled
// connection gives its control back; a template that still controls one is
// never reclaimed: when it expires it is re-armed for 60 s instead, as
// ip_vs_conn_expire() does.
import {
  CONN_CADDR,
  CONN_CONTROL,
  CONN_CPORT,
  CONN_DADDR,
  CONN_DEST_ID,
  CONN_DPORT,
  CONN_EXPIRES,
  CONN_F_DEAD,
  CONN_F_INACTIVE,
  CONN_F_TEMPLATE,
  CONN_INC,
  CONN_PROTO,
  CONN_PROTO_TEMPLATE,
  CONN_SF,
  CONN_SIZE,
  CONN_SLOT,
  CONN_T_CONTROL_MAX,
  CONN_T_CONTROL_SHIFT,
  CONN_T_TIMEOUT,
  CONN_VADDR,
  CONN_VPORT,
  CTRL,
  CTRL_CONN_BASE,
  CTRL_CONN_CAP,
  CTRL_OPS_CONN,
  CTRL_RIDX_BASE,
  CTRL_SYNC_AUX_BASE,
  DSTATE,
  DSTATE_ACTIVE,
  DSTATE_INACT,
  DSTATE_PERSIST,
  DSTATE_SIZE,
  PROBE,
  SLOT_BUSY,
  SLOT_DEAD,
  SLOT_EMPTY,
  SLOT_LIVE,
  SYNC_AUX_SIZE,
  T_INVALID,
  T_VALID,
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
  if (sf & (CONN_F_TEMPLATE << 8)) {
    atomic.sub<i32>(ds + DSTATE_PERSIST, 1); // templates count as PersistConn only
  } else if (sf & (CONN_F_INACTIVE << 8)) {
    atomic.sub<i32>(ds + DSTATE_INACT, 1);
  } else {
    atomic.sub<i32>(ds + DSTATE_ACTIVE, 1);
  }
  overloadOnUnbind(ds);
}

/** Connections a template with state word `sf` controls. */
// @ts-ignore: decorator

function controlsOf(sf: u32): u32 {
  return sf >> CONN_T_CONTROL_SHIFT;
}

/**
 * Marks a record we hold BUSY as DEAD and unbinds it, from its final state
 * word; a controlled connection gives its control back to its template.
 * Returns false, leaving the record as it was, for a template that controls
 * connections (ip_vs_conn_expire: "do I control anybody?").
 */
function reclaim(c: u32): bool {
  while (true) {
    const v = atomic.load<u64>(c + CONN_INC);
    const sf = <u32> (v >> 32);
    if (sf & (CONN_F_DEAD << 8)) return true; // already accounted for
    if (controlsOf(sf) != 0) return false;
    const dead = (<u64> (sf | (CONN_F_DEAD << 8)) << 32) | (v & 0xffffffff);
    if (atomic.cmpxchg<u64>(c + CONN_INC, v, dead) == v) {
      unbindDest(c, sf);
      const ctl = atomic.load<u32>(c + CONN_CONTROL);
      if (ctl != 0) releaseControl(ctl);
      return true;
    }
  }
}

/**
 * ip_vs_conn_expire's expire_later for a template that still controls
 * connections: look again in 60 s, and from then on each use re-arms it for
 * 60 s too (the kernel leaves cp->timeout at 60 s).
 */
// @ts-ignore: decorator

function rearmTemplate(c: u32, now: u64): void {
  atomic.store<u32>(c + CONN_T_TIMEOUT, 60);
  atomic.store<u64>(c + CONN_EXPIRES, now + 60000);
}

/**
 * Ends record `c`, seen LIVE and expired at `now`: returns true with the
 * record held BUSY and reclaimed (the caller stores DEAD or reuses it), or
 * false when it is not ours to end: another worker took it first, or it is
 * a template that still controls connections (re-armed instead).
 */
function endExpired(c: u32, now: u64): bool {
  // Hold the slot before anything else: a template re-armed without it
  // could be reclaimed and reused by another worker between the check and
  // the stores, which would then land in someone else's record (review).
  if (atomic.cmpxchg<u32>(c + CONN_SLOT, SLOT_LIVE, SLOT_BUSY) != SLOT_LIVE) return false;
  // The caller saw it expired before the CAS: if it was ended and reused
  // by another worker meanwhile, it is a live connection now (review).
  if (atomic.load<u64>(c + CONN_EXPIRES) > now) {
    atomic.store<u32>(c + CONN_SLOT, SLOT_LIVE);
    return false;
  }
  if (controlsOf(atomic.load<u32>(c + CONN_SF)) == 0 && reclaim(c)) return true;
  rearmTemplate(c, now); // a template still controlling connections (or it took one while we looked)
  atomic.store<u32>(c + CONN_SLOT, SLOT_LIVE);
  return false;
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
      got = endExpired(c, now);
    }
    if (got) {
      // New incarnation first, before any field changes: a worker still
      // holding the old one sees the change and drops what it read.
      const inc = atomic.load<u32>(c + CONN_INC) + 1;
      atomic.store<u64>(c + CONN_INC, (<u64> (CONN_F_DEAD << 8) << 32) | <u64> inc);
      atomic.store<u32>(c + CONN_CONTROL, 0); // not controlled unless the filler says so
      // Sync rule state starts afresh (in_pkts 0, old_state NONE).
      store<u64>(load<u32>(CTRL + CTRL_SYNC_AUX_BASE) + (i & mask) * SYNC_AUX_SIZE, 0);
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
  if (atomic.load<u32>(c + CONN_SF) & (CONN_F_TEMPLATE << 8)) {
    // Replies never look for templates: no reverse index entry.
    atomic.store<u32>(c + CONN_SLOT, SLOT_LIVE);
    return true;
  }
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
        if (endExpired(o, now)) {
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
    if (endExpired(c, now)) {
      atomic.store<u32>(c + CONN_SLOT, SLOT_DEAD);
      expired++;
    }
  }
  return expired;
}

// ── persistence templates ──

/**
 * Finds the valid template for (proto, snet, vaddr, vport) (ip_vs_ct_in_get);
 * returns its address (incarnation in foundInc) or 0. A template past its
 * expiry that still controls connections is found: it only waits for a
 * sweep to re-arm it.
 */
export function lookupTemplate(proto: u32, snet: u32, vaddr: u32, vport: u32, now: u64): u32 {
  const mask = connMask();
  const base = connBase();
  const tproto = proto | CONN_PROTO_TEMPLATE;
  let i = hashKey(tproto, snet, 0, vaddr, vport);
  for (let n: u32 = 0; n < PROBE; n++, i++) {
    const c = base + (i & mask) * CONN_SIZE;
    const st = atomic.load<u32>(c + CONN_SLOT);
    if (st == SLOT_EMPTY) return 0;
    if (st != SLOT_LIVE) continue;
    const v = atomic.load<u64>(c + CONN_INC);
    const sf = <u32> (v >> 32);
    if (
      load<u8>(c + CONN_PROTO) == <u8> tproto && load<u32>(c + CONN_CADDR) == snet &&
      load<u32>(c + CONN_VADDR) == vaddr && load<u16>(c + CONN_VPORT) == <u16> vport &&
      (sf & (CONN_F_TEMPLATE << 8)) != 0 && (sf & (CONN_F_DEAD << 8)) == 0 && (sf & 0xff) == T_VALID &&
      (load<u64>(c + CONN_EXPIRES) > now || controlsOf(sf) != 0)
    ) {
      foundInc = <u32> v;
      return c;
    }
  }
  return 0;
}

/** Set by acquireControl(): the template may be used but its control count is full. */
export let controlSaturated: bool = false;

/**
 * Counts one more connection controlled by template `t` of incarnation
 * `inc` (ip_vs_control_add). Returns false when the template was ended,
 * invalidated or reused meanwhile (it must not be used then), true when it
 * holds the new connection, or true with `controlSaturated` set when its
 * count is full (usable, but the new connection is not counted).
 */
export function acquireControl(t: u32, inc: u32): bool {
  controlSaturated = false;
  while (true) {
    const v = atomic.load<u64>(t + CONN_INC);
    if (<u32> v != inc) return false;
    const sf = <u32> (v >> 32);
    if ((sf & (CONN_F_DEAD << 8)) != 0 || (sf & 0xff) != T_VALID) return false;
    if (controlsOf(sf) == CONN_T_CONTROL_MAX) {
      controlSaturated = true;
      return true;
    }
    const next = (<u64> (sf + (1 << CONN_T_CONTROL_SHIFT)) << 32) | <u64> inc;
    if (atomic.cmpxchg<u64>(t + CONN_INC, v, next) == v) return true;
  }
}

/**
 * Gives back one control of the template at record index `ctl - 1`
 * (ip_vs_control_del). A template that controls anything is never
 * reclaimed, so the record is still that template.
 */
export function releaseControl(ctl: u32): void {
  const t = connAt(ctl - 1);
  while (true) {
    const v = atomic.load<u64>(t + CONN_INC);
    const sf = <u32> (v >> 32);
    if (controlsOf(sf) == 0) return; // never taken (cannot happen): do not wrap
    const next = (<u64> (sf - (1 << CONN_T_CONTROL_SHIFT)) << 32) | (v & 0xffffffff);
    if (atomic.cmpxchg<u64>(t + CONN_INC, v, next) == v) return;
  }
}

/**
 * Invalidates template `t` of incarnation `inc` (ip_vs_check_template found
 * its dest unusable): it is never found again, and stays, counted in its
 * dest's PersistConn, until it expires.
 */
export function invalidateTemplate(t: u32, inc: u32): void {
  while (true) {
    const v = atomic.load<u64>(t + CONN_INC);
    if (<u32> v != inc) return;
    const sf = <u32> (v >> 32);
    if ((sf & (CONN_F_DEAD << 8)) != 0 || (sf & 0xff) != T_VALID) return;
    const next = (<u64> ((sf & ~0xff) | T_INVALID) << 32) | <u64> inc;
    if (atomic.cmpxchg<u64>(t + CONN_INC, v, next) == v) return;
  }
}

/** Record index + 1 of record `c`: what CONN_CONTROL holds. */
// @ts-ignore: decorator

export function recordRef(c: u32): u32 {
  return (c - connBase()) / CONN_SIZE + 1;
}

/**
 * The worker's one-packet record (-o): a LIVE record outside the table,
 * with a new incarnation in foundInc, for the caller to fill and forward
 * with. Only this worker ever touches it.
 */
export function onePacketRecord(worker: u32): u32 {
  const c = CTRL + CTRL_OPS_CONN + worker * CONN_SIZE;
  const inc = load<u32>(c + CONN_INC) + 1;
  store<u64>(c + CONN_INC, <u64> inc);
  store<u32>(c + CONN_CONTROL, 0);
  store<u32>(c + CONN_SLOT, SLOT_LIVE);
  foundInc = inc;
  return c;
}
