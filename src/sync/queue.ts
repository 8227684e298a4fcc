/**
 * The sync master's side of the workers' sync rings (wasm/assembly/sync.ts):
 * drains every ring and turns each queued (record, incarnation) into the
 * SyncConn the wire carries, reading the record itself from the shared
 * connection table. A record reused since it was queued (its incarnation
 * moved on, or it is no longer live) is skipped and counted: the connection
 * it named is gone, and the new one will be queued on its own.
 */
import type { SharedState } from "../dataplane/shared_state.ts";
import { ipv4Text } from "./addr_cache.ts";
import type { SyncConn } from "./layout.ts";
import { IP_VS_CTPL_S_NONE, protoName, wireFlags } from "./states.ts";

/** A u32 view of the shared memory (its size never changes), one per state. */
const views = new WeakMap<SharedState, Uint32Array>();
function words(state: SharedState): Uint32Array {
  let v = views.get(state);
  if (!v) views.set(state, v = new Uint32Array(state.memory.buffer));
  return v;
}

/** What one drain found. */
export interface DrainResult {
  conns: SyncConn[];
  /** Queued records whose slot was reused or ended before the master read it. */
  stale: number;
}

/**
 * Reads connection record `idx` as a sync entry if it is still live with
 * incarnation `inc`, else null. The timeout is the one the kernel sends
 * (cp->timeout): the state's timeout, or a template's persistence timeout.
 */
export function readSyncConn(state: SharedState, idx: number, inc: number): SyncConn | null {
  const l = state.layout;
  const v = state.view;
  const c = state.connAt(idx);
  const u32 = words(state);
  if (Atomics.load(u32, (c + l.CONN_SLOT) >> 2) !== l.SLOT_LIVE) return null;
  if (Atomics.load(u32, (c + l.CONN_INC) >> 2) !== inc) return null;
  const sf = Atomics.load(u32, (c + l.CONN_SF) >> 2);
  const lflags = (sf >>> 8) & 0xff;
  if (lflags & l.CONN_F_DEAD) return null;
  const protoByte = v.getUint8(c + l.CONN_PROTO);
  const template = (lflags & l.CONN_F_TEMPLATE) !== 0;
  const proto = protoName(protoByte & ~l.CONN_PROTO_TEMPLATE);
  if (!proto) return null;
  const timeouts = l.CTRL + l.CTRL_TIMEOUTS;
  const timeout = template
    ? v.getUint32(c + l.CONN_T_TIMEOUT, true)
    : v.getUint32(timeouts + (proto === "udp" ? l.TIMEOUT_UDP_SLOT : sf & 0xff) * 4, true);
  const conn: SyncConn = {
    proto,
    state: template ? IP_VS_CTPL_S_NONE : sf & 0xff,
    flags: wireFlags({ fwd: v.getUint8(c + l.CONN_FWD), lvsdFlags: lflags & ~l.CONN_F_DEAD }),
    caddr: ipv4Text(v.getUint32(c + l.CONN_CADDR, false)),
    cport: v.getUint16(c + l.CONN_CPORT, false),
    vaddr: ipv4Text(v.getUint32(c + l.CONN_VADDR, false)),
    vport: v.getUint16(c + l.CONN_VPORT, false),
    daddr: ipv4Text(v.getUint32(c + l.CONN_DADDR, false)),
    dport: v.getUint16(c + l.CONN_DPORT, false),
    fwmark: 0,
    timeout,
  };
  // Read again: a record reused while we read it may have mixed fields.
  if (Atomics.load(u32, (c + l.CONN_INC) >> 2) !== inc) return null;
  if (Atomics.load(u32, (c + l.CONN_SLOT) >> 2) !== l.SLOT_LIVE) return null;
  return conn;
}

/** Takes everything queued on every worker's ring (up to `max` entries in all). */
export function drainRings(state: SharedState, max = Infinity): DrainResult {
  const l = state.layout;
  const u32 = words(state);
  const out: DrainResult = { conns: [], stale: 0 };
  const mask = l.SYNC_RING_SLOTS - 1;
  for (let w = 0; w < state.workers && out.conns.length + out.stale < max; w++) {
    const r = state.syncRingBase(w);
    const head = Atomics.load(u32, (r + l.SYNC_RING_HEAD) >> 2);
    let tail = Atomics.load(u32, (r + l.SYNC_RING_TAIL) >> 2);
    while (tail !== head && out.conns.length + out.stale < max) {
      const e = r + l.SYNC_RING_ENTRIES + (tail & mask) * 8;
      const ref = state.view.getUint32(e, true);
      const inc = state.view.getUint32(e + 4, true);
      tail = (tail + 1) >>> 0;
      const c = ref === 0 ? null : readSyncConn(state, ref - 1, inc);
      if (c) out.conns.push(c);
      else out.stale++;
    }
    Atomics.store(u32, (r + l.SYNC_RING_TAIL) >> 2, tail); // frees the slots for the worker
  }
  return out;
}

/** Entries waiting on the rings now (for the drain timer: a full datagram goes at once). */
export function queuedCount(state: SharedState): number {
  const l = state.layout;
  const u32 = words(state);
  let n = 0;
  for (let w = 0; w < state.workers; w++) {
    const r = state.syncRingBase(w);
    n += (Atomics.load(u32, (r + l.SYNC_RING_HEAD) >> 2) - Atomics.load(u32, (r + l.SYNC_RING_TAIL) >> 2)) >>> 0;
  }
  return n;
}
