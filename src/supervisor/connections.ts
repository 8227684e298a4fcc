/**
 * Reading the shared connection table for the admin API: one pass over the
 * slots, filtered, paged by slot index (the cursor), as `ipvsadm -Lc` reads
 * /proc/net/ip_vs_conn. The workers keep writing while it reads, so a page is
 * a consistent view of each entry it shows (an entry is skipped unless it is
 * live and unexpired), not of the whole table at one instant.
 *
 * The first page scans the whole table to count the matches; the cursor it
 * hands out carries the slot to go on from and that count, so each later
 * page reads only from its slot until it is full: listing N connections
 * costs about one scan, not one per page. (`total` is the first page's.)
 *
 * @module
 */

import type { SharedState } from "../dataplane/shared_state.ts";
import type { TableService } from "../dataplane/tables.ts";
import type { ConnectionPage, ConnectionQuery, ConnectionView } from "../api/model.ts";
import { ConnectionQueryError, serviceKey } from "../api/model.ts";
import { monotonicMs } from "../sys/clock.ts";

/** Default and largest page sizes. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 10000;

export { ConnectionQueryError };

function ip(v: DataView, off: number): string {
  return `${v.getUint8(off)}.${v.getUint8(off + 1)}.${v.getUint8(off + 2)}.${v.getUint8(off + 3)}`;
}

/** Scans the table for entries matching `q`, returning the page after `q.cursor`. */
export function scanConnections(
  state: SharedState,
  services: readonly TableService[],
  q: ConnectionQuery,
  now = monotonicMs(),
  /** false: stop once the page is full (`total` then counts only what was read): a cheap first page. */
  countAll = true,
): ConnectionPage {
  const l = state.layout;
  const v = state.view;
  const keyOf = new Map(services.map((s) => [s.id, serviceKey(s)]));
  let svcId: number | undefined;
  if (q.service !== undefined) {
    const s = services.find((s) => serviceKey(s) === q.service);
    if (!s) throw new ConnectionQueryError("service", `no service ${q.service}`);
    svcId = s.id;
  }
  const limit = q.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ConnectionQueryError("limit", `limit ${q.limit} is out of range (1..${MAX_PAGE})`);
  }
  let from = 0;
  let carried: number | null = null;
  if (q.cursor !== undefined) {
    const m = /^(\d+)\.(\d+)$/.exec(q.cursor);
    from = m ? Number(m[1]) : NaN;
    if (!m || from > state.connCapacity) {
      throw new ConnectionQueryError("cursor", `"${q.cursor}" is not a cursor this table gave`);
    }
    carried = Number(m[2]);
    // A later page needs no count: stop as soon as it is full.
    countAll = false;
  }
  const [destAddr, destPort] = q.dest?.includes(":") ? q.dest.split(":") : [q.dest, undefined];
  const wantState = q.state?.toUpperCase();
  const items: ConnectionView[] = [];
  let total = 0;
  let next: string | null = null;
  for (let i = from; i < state.connCapacity; i++) {
    const c = state.connAt(i);
    if (v.getUint32(c + l.CONN_SLOT, true) !== l.SLOT_LIVE) continue;
    const expires = Number(v.getBigUint64(c + l.CONN_EXPIRES, true));
    if (expires <= now) continue;
    const sid = v.getUint16(c + l.CONN_SVC_ID, true);
    if (svcId !== undefined && sid !== svcId) continue;
    const client = ip(v, c + l.CONN_CADDR);
    if (q.client !== undefined && client !== q.client) continue;
    const dest = ip(v, c + l.CONN_DADDR);
    const dport = v.getUint16(c + l.CONN_DPORT, false);
    if (destAddr !== undefined && (dest !== destAddr || (destPort !== undefined && String(dport) !== destPort))) {
      continue;
    }
    const protoByte = v.getUint8(c + l.CONN_PROTO);
    // Templates carry CONN_PROTO_TEMPLATE and show state NONE (TCP) or UDP,
    // as ip_vs_state_name() gives state 0 for them.
    const template = (protoByte & l.CONN_PROTO_TEMPLATE) !== 0;
    const tcp = (protoByte & ~l.CONN_PROTO_TEMPLATE) === 6;
    const st = tcp ? state.tcpStates[template ? 0 : v.getUint8(c + l.CONN_SF)] : "UDP";
    if (wantState !== undefined && st !== wantState) continue;
    total++;
    if (items.length === limit) {
      next ??= String(i);
      if (!countAll) break;
      continue;
    }
    items.push({
      proto: tcp ? "tcp" : "udp",
      state: st,
      expires_ms: expires - now,
      client,
      client_port: v.getUint16(c + l.CONN_CPORT, false),
      vip: ip(v, c + l.CONN_VADDR),
      vport: v.getUint16(c + l.CONN_VPORT, false),
      dest,
      dport,
      template,
      service: keyOf.get(sid) ?? null,
    });
  }
  const counted = carried ?? total;
  return { total: counted, items, next_cursor: next === null ? null : `${next}.${counted}` };
}
