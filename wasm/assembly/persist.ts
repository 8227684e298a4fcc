// Persistence (ipvsadm -p timeout, -M netmask): ip_vs_sched_persist().
//
// A persistent service keeps a client network (caddr & netmask) on one dest
// across connections through a template: a record in the shared connection
// table keyed (proto, caddr & netmask, cport 0, vaddr, vport), with vport 0
// for a port-0 ("any port") service, bound to the dest and counted in its
// PersistConn. A new connection first looks the template up; if it exists
// and its dest is still usable (ip_vs_check_template) the connection goes
// there and is controlled by it; otherwise the scheduler picks a dest and a
// new template is made. Each use re-arms the template for its timeout; it
// never expires while it controls a connection (conn/table.ts).
//
// A service group keys its templates (proto, caddr & netmask, 0, SVC_TADDR,
// 0): one key for all its VIPs and ports, so a client keeps its real server
// across the group's members, as IPVS keys a fwmark service's templates by
// the mark (ip_vs_sched_persist: vaddr = htonl(fwmark), vport 0).
//
// Not built: the FTP special case (a vport 21 service keys its templates
// with vport 0 so that the data connections on other ports follow the
// control connection) and persistence engines (--pe sip).
import {
  CONN_CADDR,
  CONN_CPORT,
  CONN_DADDR,
  CONN_DEST_ID,
  CONN_DPORT,
  CONN_EXPIRES,
  CONN_F_TEMPLATE,
  CONN_FWD,
  CONN_PROTO,
  CONN_PROTO_TEMPLATE,
  CONN_SF,
  CONN_SVC_ID,
  CONN_T_CONTROL_SHIFT,
  CONN_T_TIMEOUT,
  CONN_VADDR,
  CONN_VPORT,
  CTRL,
  CTRL_OPTIONS,
  DEST_ADDR,
  DEST_F_AVAILABLE,
  DEST_FLAGS,
  DEST_FWD,
  DEST_ID,
  DEST_PORT,
  DEST_SIZE,
  DEST_WEIGHT,
  DSTATE,
  DSTATE_PERSIST,
  DSTATE_SIZE,
  OPT_EXPIRE_QUIESCENT_TEMPLATE,
  SVC_F_PERSISTENT,
  SVC_FLAGS,
  SVC_PMASK,
  SVC_PTIMEOUT,
  SVC_SCHED,
  SVC_TADDR,
  SVC_VPORT,
} from "./layout";
import {
  acquireControl,
  claim,
  controlSaturated,
  foundInc,
  invalidateTemplate,
  lookupTemplate,
  publish,
  recordRef,
  releaseControl,
} from "./conn/table";
import { schedule } from "./sched/scheduler";
import * as S from "./stats";

/**
 * What the last persistSchedule() left for the new connection: the record
 * index + 1 of the template that controls it (its CONN_CONTROL), or 0 when
 * none holds it. Per instance, i.e. per worker.
 */
export let persistControl: u32 = 0;

/** The dest with stable id `id` among the service's `n` dests, or 0 (removed). */
function destById(dests: u32, n: u32, id: u32): u32 {
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (<u32> load<u16>(d + DEST_ID) == id) return d;
  }
  return 0;
}

/**
 * ip_vs_check_template(): may a template bound to `d` still be followed?
 * Not when its dest left the service or cannot be reached, nor, with
 * expire_quiescent_template on, when its weight is 0. An overloaded dest
 * (thresholds) is still followed, as in IPVS.
 */
function templateUsable(d: u32): bool {
  if (d == 0 || !(load<u8>(d + DEST_FLAGS) & DEST_F_AVAILABLE)) return false;
  const opts = atomic.load<u32>(CTRL + CTRL_OPTIONS);
  return !((opts & OPT_EXPIRE_QUIESCENT_TEMPLATE) != 0 && load<i32>(d + DEST_WEIGHT) == 0);
}

/**
 * The dport of a new connection to dest `d` for a packet to `vport`
 * (ip_vs_schedule / ip_vs_sched_persist): the dest's port when the packet
 * is for the service's own port, else (a port-0 service, or a dest without
 * a port) the packet's port. All wire order.
 */
// @ts-ignore: decorator

export function connDport(svc: u32, d: u32, vport: u32): u32 {
  const dp = <u32> load<u16>(d + DEST_PORT);
  return dp != 0 && vport == <u32> load<u16>(svc + SVC_VPORT) ? dp : vport;
}

/**
 * Picks the dest of a new connection to service `svc`: through its
 * template when the service is persistent, else by its scheduler. Returns
 * the dest, or 0 after counting the drop. persistControl says which
 * template controls the new connection.
 */
export function pickDest(
  svc: u32,
  svcId: u32,
  dests: u32,
  n: u32,
  proto: u32,
  saddr: u32,
  sport: u32,
  daddr: u32,
  dport: u32,
  now: u64,
  sb: u32,
): u32 {
  persistControl = 0;
  if (load<u16>(svc + SVC_FLAGS) & SVC_F_PERSISTENT) {
    return persistSchedule(svc, svcId, dests, n, proto, saddr, sport, daddr, dport, now, sb);
  }
  const d = schedule(<u32> load<u8>(svc + SVC_SCHED), svc, svcId, dests, n, saddr, sport, daddr, now);
  if (d == 0) S.drop(sb, S.D_NO_DEST);
  return d;
}

/**
 * Picks the dest of a new connection to persistent service `svc` from
 * saddr:sport to daddr:dport (wire order) and leaves the controlling
 * template in persistControl. Returns the dest, or 0 after counting the
 * drop (no dest, or no room for a template).
 */
function persistSchedule(
  svc: u32,
  svcId: u32,
  dests: u32,
  n: u32,
  proto: u32,
  saddr: u32,
  sport: u32,
  daddr: u32,
  dport: u32,
  now: u64,
  sb: u32,
): u32 {
  persistControl = 0;
  const snet = saddr & load<u32>(svc + SVC_PMASK);
  // Connections to the service's own port share a template for that port;
  // a port-0 service keys its template with port 0 (any port); a group
  // keys every member's with its SVC_TADDR and port 0.
  const group = load<u32>(svc + SVC_TADDR);
  const tvaddr = group != 0 ? group : daddr;
  const tport = group == 0 && dport == <u32> load<u16>(svc + SVC_VPORT) ? dport : 0;
  let t = lookupTemplate(proto, snet, tvaddr, tport, now);
  let d: u32 = 0;
  if (t != 0) {
    const inc = foundInc;
    d = destById(dests, n, <u32> load<u16>(t + CONN_DEST_ID));
    if (!templateUsable(d)) {
      invalidateTemplate(t, inc);
      t = 0;
    } else if (!acquireControl(t, inc)) {
      t = 0; // ended or invalidated by another worker meanwhile
    } else if (!controlSaturated) {
      persistControl = recordRef(t);
    }
  }
  if (t == 0) {
    d = schedule(<u32> load<u8>(svc + SVC_SCHED), svc, svcId, dests, n, saddr, sport, daddr, now);
    if (d == 0) {
      S.drop(sb, S.D_NO_DEST);
      return 0;
    }
    t = newTemplate(svc, svcId, d, proto, snet, tvaddr, tport, now);
    if (t == 0) {
      S.drop(sb, S.D_CONN_TABLE_FULL);
      return 0;
    }
    persistControl = recordRef(t);
  }
  // Each use re-arms the template (ip_vs_conn_put on it). It cannot be
  // reclaimed under us: we hold a control (or its count is saturated).
  atomic.store<u64>(t + CONN_EXPIRES, now + <u64> atomic.load<u32>(t + CONN_T_TIMEOUT) * 1000);
  return d;
}

/**
 * Makes a template bound to dest `d`, already controlling the connection
 * being made; returns it or 0 when the table has no room.
 */
function newTemplate(svc: u32, svcId: u32, d: u32, proto: u32, snet: u32, vaddr: u32, tport: u32, now: u64): u32 {
  const t = claim(proto | CONN_PROTO_TEMPLATE, snet, 0, vaddr, tport, now);
  if (t == 0) return 0;
  const destId = <u32> load<u16>(d + DEST_ID);
  const timeout = load<u32>(svc + SVC_PTIMEOUT);
  store<u8>(t + CONN_PROTO, <u8> (proto | CONN_PROTO_TEMPLATE));
  store<u32>(t + CONN_CADDR, snet);
  store<u16>(t + CONN_CPORT, 0);
  store<u32>(t + CONN_VADDR, vaddr);
  store<u16>(t + CONN_VPORT, <u16> tport);
  store<u32>(t + CONN_DADDR, load<u32>(d + DEST_ADDR));
  // The kernel's template dport: the dest's for a service-port template, 0 for any port.
  store<u16>(t + CONN_DPORT, tport != 0 ? load<u16>(d + DEST_PORT) : 0);
  store<u16>(t + CONN_DEST_ID, <u16> destId);
  store<u16>(t + CONN_SVC_ID, <u16> svcId);
  store<u8>(t + CONN_FWD, load<u8>(d + DEST_FWD));
  atomic.store<u32>(t + CONN_T_TIMEOUT, timeout);
  atomic.store<u64>(t + CONN_EXPIRES, now + <u64> timeout * 1000);
  atomic.store<u32>(t + CONN_SF, (CONN_F_TEMPLATE << 8) | (1 << CONN_T_CONTROL_SHIFT)); // was DEAD since claim()
  atomic.add<i32>(DSTATE + destId * DSTATE_SIZE + DSTATE_PERSIST, 1);
  publish(t, now); // a template never fails: it takes no reverse index entry
  return t;
}

/** Gives back the control persistSchedule() took, when no connection came of it. */
export function persistAbandon(): void {
  if (persistControl != 0) releaseControl(persistControl);
  persistControl = 0;
}
