/**
 * Scheduler state the supervisor prepares while it publishes a table copy:
 *
 * - lookup tables of the hashing schedulers, written into the copy being
 *   published (region SCHED_TBL + copy * SCHED_TBL_COPY, u16 entries = dest
 *   position in that copy's service list + 1, 0 = none), located by the
 *   service's SVC_TBL_OFF (in entries) and SVC_TBL_LEN:
 *   - sh: 256 buckets as ip_vs_sh_reassign fills them (each dest, in IPVS
 *     list order, takes `weight` consecutive buckets, at least one);
 *   - dh: 256 buckets as ip_vs_dh_reassign fills them (one each, in turn);
 *   - mh: the Maglev table (maglev.ts) of the service's mh_table_size.
 *   Every publish rewrites the whole copy, so offsets are handed out from 0
 *   again each time.
 * - each dest's last non-zero weight (ip_vs_ctl.c last_weight), which mh
 *   builds from: kept per service across publishes;
 * - the locality tables of lblc/lblcr services (shared by all copies),
 *   cleared when the service is new to them or a dest id they may hold now
 *   names another real server.
 *
 * @module
 */
import type { SharedState } from "./shared_state.ts";
import type { TableService } from "./tables.ts";
import { buildMaglevTable, MH_DEFAULT_TABLE_SIZE } from "./maglev.ts";
import { memberKey, serviceLabel } from "../config/members.ts";

/** IP_VS_SH_TAB_SIZE and IP_VS_DH_TAB_SIZE. */
export const HASH_TAB_SIZE = 256;

/** ip_vs_sh_reassign(): weights in IPVS list order. */
export function buildShTable(weights: readonly number[]): Uint16Array {
  const t = new Uint16Array(HASH_TAB_SIZE);
  if (weights.length === 0) return t;
  let p = 0;
  let count = 0;
  for (let i = 0; i < HASH_TAB_SIZE; i++) {
    t[i] = p + 1;
    // A dest keeps taking buckets until it has `weight` of them (one at
    // least: weight 0 still gets a bucket, and is then unavailable).
    if (++count >= weights[p]) {
      p = (p + 1) % weights.length;
      count = 0;
    }
  }
  return t;
}

/** ip_vs_dh_reassign(): `n` dests, one bucket each in turn. */
export function buildDhTable(n: number): Uint16Array {
  const t = new Uint16Array(HASH_TAB_SIZE);
  if (n > 0) { for (let i = 0; i < HASH_TAB_SIZE; i++) t[i] = (i % n) + 1; }
  return t;
}

interface DestMemo {
  addr: string;
  port: number;
  lastWeight: number;
}

/** Lookup tables, last weights and locality resets for TablePublisher. */
export class SchedTables {
  #state: SharedState;
  #copy = 0;
  #next = 0;
  /** service id -> dest id -> what the dest was at the last successful publish. */
  #dests = new Map<number, Map<number, DestMemo>>();
  #pending = new Map<number, Map<number, DestMemo>>();
  /** service id -> the last mh table built (rebuilt only when its inputs change). */
  #mh = new Map<number, { key: string; table: Uint16Array }>();
  /** service id -> identity and dest id -> addr:port the locality table may refer to. */
  #locality = new Map<number, { identity: string; ids: Map<number, string> }>();

  constructor(state: SharedState) {
    this.#state = state;
  }

  /** Starts writing copy `copy`: its table region is handed out from entry 0. */
  begin(copy: number): void {
    this.#copy = copy;
    this.#next = 0;
    this.#pending = new Map();
  }

  /** Writes the service's lookup table (if its scheduler has one) and SVC_TBL_OFF/LEN at `p`. */
  write(svc: TableService, p: number): void {
    const s = this.#state;
    const l = s.layout;
    const list = this.#listWithLastWeights(svc);
    let table: Uint16Array | null = null;
    if (svc.scheduler === "sh") table = buildShTable(list.map((d) => d.weight));
    else if (svc.scheduler === "dh") table = buildDhTable(list.length);
    else if (svc.scheduler === "mh") table = this.#maglev(svc, list);
    if (!table) {
      s.view.setUint32(p + l.SVC_TBL_OFF, 0, true);
      s.view.setUint32(p + l.SVC_TBL_LEN, 0, true);
      return;
    }
    if (this.#next + table.length > l.SCHED_TBL_ENTRIES) {
      throw new Error(
        `Cannot publish service ${serviceLabel(svc)}: its ${svc.scheduler} lookup table of ${table.length} entries ` +
          `does not fit (${this.#next} of the ${l.SCHED_TBL_ENTRIES} scheduler table entries, SCHED_TBL_ENTRIES, ` +
          `are taken by the services before it)`,
      );
    }
    const at = l.SCHED_TBL + this.#copy * l.SCHED_TBL_COPY + this.#next * 2;
    for (let i = 0; i < table.length; i++) s.view.setUint16(at + i * 2, table[i], true);
    s.view.setUint32(p + l.SVC_TBL_OFF, this.#next, true);
    s.view.setUint32(p + l.SVC_TBL_LEN, table.length, true);
    this.#next += table.length;
  }

  /** Clears lblc/lblcr locality entries that could now name the wrong dest (called for every service). */
  locality(svc: TableService): void {
    this.#resetLocalityIfStale(svc);
  }

  /** Adopts the last weights of a publish that went through. */
  commit(): void {
    for (const [id, m] of this.#pending) this.#dests.set(id, m);
  }

  /**
   * The dests in IPVS list order with their last non-zero weight: a dest
   * new to the service takes its weight even if 0 (ip_vs_ctl.c sets
   * last_weight on add, and on update only to a non-zero weight).
   */
  #listWithLastWeights(svc: TableService): (DestMemo & { weight: number })[] {
    const prev = this.#dests.get(svc.id);
    const next = new Map<number, DestMemo>();
    const list = [...svc.dests].reverse().map((d) => {
      const was = prev?.get(d.id);
      const same = was && was.addr === d.addr && was.port === d.port;
      const lastWeight = same && d.weight === 0 ? was.lastWeight : d.weight;
      next.set(d.id, { addr: d.addr, port: d.port, lastWeight });
      return { addr: d.addr, port: d.port, lastWeight, weight: d.weight };
    });
    this.#pending.set(svc.id, next);
    return list;
  }

  #maglev(svc: TableService, list: DestMemo[]): Uint16Array {
    const size = svc.mhTableSize ?? MH_DEFAULT_TABLE_SIZE;
    const key = `${size}|` + list.map((d) => `${d.addr}:${d.port}:${d.lastWeight}`).join(",");
    const cached = this.#mh.get(svc.id);
    if (cached?.key === key) return cached.table;
    let table: Uint16Array;
    try {
      table = buildMaglevTable(list, size);
    } catch (e) {
      const why = (e as Error).message;
      throw new Error(`Cannot publish service ${serviceLabel(svc)}: ${why[0].toLowerCase()}${why.slice(1)}`);
    }
    this.#mh.set(svc.id, { key, table });
    return table;
  }

  #resetLocalityIfStale(svc: TableService): void {
    if (svc.scheduler !== "lblc" && svc.scheduler !== "lblcr") {
      this.#locality.delete(svc.id);
      return;
    }
    const identity = `${svc.proto} ${memberKey(svc)} ${svc.scheduler}`;
    const known = this.#locality.get(svc.id);
    let stale = !known || known.identity !== identity;
    const ids = stale ? new Map<number, string>() : known!.ids;
    for (const d of svc.dests) {
      const where = `${d.addr}:${d.port}`;
      if (ids.has(d.id) && ids.get(d.id) !== where) stale = true;
    }
    if (stale) {
      ids.clear();
      this.#clearLocality(svc.id);
    }
    for (const d of svc.dests) ids.set(d.id, `${d.addr}:${d.port}`);
    this.#locality.set(svc.id, { identity, ids });
  }

  /** Zeroes the service's locality entries, one atomic word at a time (workers may be using them). */
  #clearLocality(svcId: number): void {
    const l = this.#state.layout;
    const words = new BigUint64Array(
      this.#state.memory.buffer,
      l.LOCALITY + svcId * l.LOCALITY_SIZE,
      l.LOCALITY_SIZE / 8,
    );
    for (let i = 0; i < words.length; i++) Atomics.store(words, i, 0n);
  }
}
