// Connection sync, the master's half in the packet path: after each client
// packet of a connection, the kernel's rule (ip_vs_sync_conn and
// ip_vs_sync_conn_needed, net/netfilter/ipvs/ip_vs_sync.c; the TypeScript
// twin is syncDecision in src/sync/states.ts) decides whether the
// connection goes to the backups now. If so its (record index,
// incarnation) is queued on this worker's ring in shared memory; the
// supervisor's sync master drains the rings, reads the records and builds
// the datagrams. Nothing is sent or allocated here, and a full ring loses
// the record (counted in G_SYNC_QUEUE_FULL), never the packet.
//
// sync_refresh_period and sync_retries (0 by default in the kernel) are not
// built: with them 0 the rule is the packet rule below.
import {
  AUX_IN_PKTS,
  AUX_OLD_STATE,
  CONN_CONTROL,
  CONN_F_TEMPLATE,
  CONN_INC,
  CONN_PROTO,
  CONN_SF,
  CONN_SIZE,
  CTRL,
  CTRL_SYNC_AUX_BASE,
  CTRL_SYNC_PERIOD,
  CTRL_SYNC_RING_BASE,
  CTRL_SYNC_STATE,
  CTRL_SYNC_THRESHOLD,
  STATS,
  STATS_STRIDE,
  SYNC_AUX_SIZE,
  SYNC_MASTER,
  SYNC_RING_ENTRIES,
  SYNC_RING_HEAD,
  SYNC_RING_SLOTS,
  SYNC_RING_STRIDE,
  SYNC_RING_TAIL,
} from "./layout";
import { connBase } from "./conn/table";
import { IPPROTO_TCP } from "./pkt/ipv4";
import { S_CLOSE, S_CLOSE_WAIT, S_ESTABLISHED, S_FIN_WAIT, S_TIME_WAIT } from "./proto/tcp";
import * as S from "./stats";

function auxAt(idx: u32): u32 {
  return load<u32>(CTRL + CTRL_SYNC_AUX_BASE) + idx * SYNC_AUX_SIZE;
}

/** TCP states the kernel syncs in (ip_vs_sync_conn_needed). */
function tcpSyncState(st: u32): bool {
  return st == S_ESTABLISHED || st == S_FIN_WAIT || st == S_CLOSE || st == S_CLOSE_WAIT || st == S_TIME_WAIT;
}

/**
 * ip_vs_sync_conn_needed with sync_refresh_period 0, for record `c` (aux
 * entry `a`) after its packet count became `pkts`. Stores old_state when it
 * says yes, as the kernel does.
 */
function needed(c: u32, a: u32, pkts: u32): bool {
  const sf = atomic.load<u32>(c + CONN_SF);
  const threshold = load<u32>(CTRL + CTRL_SYNC_THRESHOLD);
  const period = load<u32>(CTRL + CTRL_SYNC_PERIOD);
  if (sf & (CONN_F_TEMPLATE << 8)) {
    // Templates skip the state and period tests: they go whenever a
    // connection they control does (or once, with sync_period 0).
    return period > 0 || pkts == threshold;
  }
  const st = sf & 0xff;
  if (<u32> load<u8>(c + CONN_PROTO) == IPPROTO_TCP) {
    if (!tcpSyncState(st)) return false;
    // A change of state forces a sync, except into ESTABLISHED, which
    // still waits for the packet rule.
    if (st != <u32> load<u8>(a + AUX_OLD_STATE) && st != S_ESTABLISHED) {
      store<u8>(a + AUX_OLD_STATE, <u8> st);
      return true;
    }
  }
  if (period > 0) {
    if (pkts % period != threshold) return false;
  } else if (pkts != threshold) {
    return false;
  }
  store<u8>(a + AUX_OLD_STATE, <u8> st);
  return true;
}

/** Queues (record index, incarnation) on the ring of the worker whose stats slot is `sb`; counts a full ring. */
function push(idx: u32, inc: u32, sb: u32): void {
  const worker = (sb - STATS) / STATS_STRIDE;
  const r = load<u32>(CTRL + CTRL_SYNC_RING_BASE) + worker * SYNC_RING_STRIDE;
  const head = load<u32>(r + SYNC_RING_HEAD); // only this worker writes it
  const tail = atomic.load<u32>(r + SYNC_RING_TAIL);
  if (head - tail >= SYNC_RING_SLOTS) {
    S.count(sb, S.G_SYNC_QUEUE_FULL, 1);
    return;
  }
  store<u64>(r + SYNC_RING_ENTRIES + (head & (SYNC_RING_SLOTS - 1)) * 8, (<u64> inc << 32) | <u64> (idx + 1));
  atomic.store<u32>(r + SYNC_RING_HEAD, head + 1); // publishes the entry
  S.count(sb, S.G_SYNC_QUEUED, 1);
}

/**
 * Called for each client packet of table connection `c` (incarnation
 * `inc`) after its state transition, by the worker whose stats slot is
 * `sb`. One load when this director is not a sync master.
 */
export function syncAfterIn(c: u32, inc: u32, sb: u32): void {
  if ((atomic.load<u32>(CTRL + CTRL_SYNC_STATE) & SYNC_MASTER) == 0) return;
  const idx = (c - connBase()) / CONN_SIZE;
  const a = auxAt(idx);
  const pkts = atomic.add<u32>(a + AUX_IN_PKTS, 1) + 1;
  if (!needed(c, a, pkts)) return;
  push(idx, inc, sb);
  // Its controller (a persistence template) is considered next, with the
  // template's own packet count incremented (ip_vs_sync_conn, `control`).
  const ctl = load<u32>(c + CONN_CONTROL);
  if (ctl == 0) return;
  const t = connBase() + (ctl - 1) * CONN_SIZE;
  // A template that controls a connection is never reclaimed: stable.
  const tinc = atomic.load<u32>(t + CONN_INC);
  const ta = auxAt(ctl - 1);
  const tp = atomic.add<u32>(ta + AUX_IN_PKTS, 1) + 1;
  if (needed(t, ta, tp)) push(ctl - 1, tinc, sb);
}
