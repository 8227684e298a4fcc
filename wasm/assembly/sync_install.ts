// Connection sync, the backup's half: installs a connection or persistence
// template received from a master into the shared table, as the kernel's
// ip_vs_proc_conn does (net/netfilter/ipvs/ip_vs_sync.c), from the
// supervisor's instance. The dest is found by daddr:dport among the
// service's dests; the forwarding method, tunnel settings and dest-side
// next hop are the backup's own dest's ("connections inherit forwarding
// method from dest", ip_vs_bind_dest). The activity flag of the message is
// kept and counted in ActiveConn/InActConn as the kernel counts a synced
// connection; a template counts in PersistConn. An entry already present is
// updated (state, activity, timeout), never duplicated.
//
// The client-side next hop (CONN_CMAC, CONN_CIFACE) is not in the message:
// the supervisor resolves it from the kernel's routes and neighbours and
// puts the MAC at CTRL_SYNC_CMAC before the call, so that after a takeover
// a reply from the real server (a download under way) reaches the client
// before the client has sent anything.
import {
  AUX_IN_PKTS,
  AUX_OLD_STATE,
  CONN_CADDR,
  CONN_CIFACE,
  CONN_CMAC,
  CONN_CONTROL,
  CONN_CPORT,
  CONN_CVLAN,
  CONN_DADDR,
  CONN_DEST_ID,
  CONN_DEST_IFACE,
  CONN_DPORT,
  CONN_DVLAN,
  CONN_EXPIRES,
  CONN_F_DEAD,
  CONN_F_INACTIVE,
  CONN_F_NOOUTPUT,
  CONN_F_TEMPLATE,
  CONN_FWD,
  CONN_INC,
  CONN_PROTO,
  CONN_PROTO_TEMPLATE,
  CONN_SF,
  CONN_SIZE,
  CONN_SVC_ID,
  CONN_T_TIMEOUT,
  CONN_TUN_PORT,
  CONN_TUN_TYPE,
  CONN_VADDR,
  CONN_VPORT,
  CTRL,
  CTRL_GEN,
  CTRL_NSVC,
  CTRL_SYNC_AUX_BASE,
  CTRL_SYNC_CMAC,
  CTRL_SYNC_THRESHOLD,
  DEST,
  DEST_ADDR,
  DEST_COPY,
  DEST_FWD,
  DEST_ID,
  DEST_IFACE,
  DEST_SIZE,
  DEST_TUN_PORT,
  DEST_TUN_TYPE,
  DEST_VLAN,
  DSTATE,
  DSTATE_ACTIVE,
  DSTATE_INACT,
  DSTATE_PERSIST,
  DSTATE_SIZE,
  FWD_MASQ,
  SVC,
  SVC_COPY,
  SVC_DEST_COUNT,
  SVC_DEST_FIRST,
  SVC_F_PERSISTENT,
  SVC_FLAGS,
  SVC_ID,
  SVC_PMASK,
  SVC_PROTO,
  SVC_SIZE,
  SVC_TADDR,
  SVC_VADDR,
  SVC_VPORT,
  SYNC_AUX_SIZE,
  T_VALID,
} from "./layout";
import {
  acquireControl,
  claim,
  connBase,
  controlSaturated,
  foundInc,
  lookupIn,
  lookupTemplate,
  publish,
  recordRef,
} from "./conn/table";
import { overloadOnBind } from "./conn/threshold";
import { svcLookup } from "./svc_table";
import { connDport } from "./persist";

/** sync_install results (negative: nothing installed). */
export const SYNC_INSTALLED: i32 = 1;
export const SYNC_UPDATED: i32 = 2;
export const SYNC_NO_SERVICE: i32 = -1;
export const SYNC_NO_DEST: i32 = -2;
export const SYNC_TABLE_FULL: i32 = -3;

function auxAt(c: u32): u32 {
  return load<u32>(CTRL + CTRL_SYNC_AUX_BASE) + ((c - connBase()) / CONN_SIZE) * SYNC_AUX_SIZE;
}

/** The service record a template (proto, vaddr, vport) belongs to in `copy`, or 0. */
function templateService(copy: u32, proto: u32, vaddr: u32, vport: u32): u32 {
  const n = load<u32>(CTRL + CTRL_NSVC + copy * 4);
  for (let i: u32 = 0; i < n; i++) {
    const s = SVC + copy * SVC_COPY + i * SVC_SIZE;
    if (load<u8>(s + SVC_PROTO) != <u8> proto) continue;
    if (!(load<u16>(s + SVC_FLAGS) & SVC_F_PERSISTENT)) continue;
    const group = load<u32>(s + SVC_TADDR);
    // A group keys its templates by SVC_TADDR and port 0 (persist.ts).
    if (group != 0 ? group == vaddr && vport == 0 : load<u32>(s + SVC_VADDR) == vaddr) {
      if (group != 0 || vport == 0 || load<u16>(s + SVC_VPORT) == <u16> vport) return s;
    }
  }
  return 0;
}

/** The dest of service `svc` a synced entry names (daddr, and dport for a connection), or 0. */
function findDest(copy: u32, svc: u32, template: bool, daddr: u32, vport: u32, dport: u32): u32 {
  const dests = DEST + copy * DEST_COPY + <u32> load<u16>(svc + SVC_DEST_FIRST) * DEST_SIZE;
  const n = <u32> load<u16>(svc + SVC_DEST_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (load<u32>(d + DEST_ADDR) != daddr) continue;
    if (template || connDport(svc, d, vport) == dport) return d;
  }
  return 0;
}

/**
 * Moves existing record `c` to `state` with the INACTIVE bit of `inactive`
 * (the kernel's IP_VS_CONN_F_BACKUP_UPD_MASK), keeping its dest counters
 * right; then pushes its expiry to now + timeout.
 */
function update(c: u32, state: u32, inactive: bool, expires: u64): void {
  for (let attempt = 0; attempt < 8; attempt++) {
    const v = atomic.load<u64>(c + CONN_INC);
    const sf = <u32> (v >> 32);
    if (sf & (CONN_F_DEAD << 8)) return;
    const was = ((sf >> 8) & CONN_F_INACTIVE) != 0;
    let nf = sf >> 8;
    if (inactive) nf |= CONN_F_INACTIVE;
    else nf &= ~CONN_F_INACTIVE;
    const next = (<u64> ((sf & 0xffff0000) | (state & 0xff) | ((nf & 0xff) << 8)) << 32) | (v & 0xffffffff);
    if (atomic.cmpxchg<u64>(c + CONN_INC, v, next) == v) {
      if (was != inactive) {
        const ds = DSTATE + <u32> load<u16>(c + CONN_DEST_ID) * DSTATE_SIZE;
        atomic.add<i32>(ds + (inactive ? DSTATE_INACT : DSTATE_ACTIVE), 1);
        atomic.sub<i32>(ds + (inactive ? DSTATE_ACTIVE : DSTATE_INACT), 1);
      }
      break;
    }
  }
  atomic.store<u64>(c + CONN_EXPIRES, expires);
}

/**
 * Installs or updates one synced entry (all addresses and ports in wire
 * order). `template`: a persistence template; `inactive`: the message's
 * IP_VS_CONN_F_INACTIVE; `timeout` in seconds (what the message carried,
 * or the receiver's default when it carried 0); the client-side next hop
 * MAC is read from CTRL_SYNC_CMAC, its interface slot and 802.1Q TCI are
 * `ciface` and `cvlan`. Returns SYNC_INSTALLED, SYNC_UPDATED or a negative
 * SYNC_* reason.
 */
export function syncInstall(
  proto: u32,
  template: bool,
  inactive: bool,
  state: u32,
  caddr: u32,
  cport: u32,
  vaddr: u32,
  vport: u32,
  daddr: u32,
  dport: u32,
  timeout: u32,
  ciface: u32,
  cvlan: u32,
  now: u64,
): i32 {
  const copy = atomic.load<u32>(CTRL + CTRL_GEN) & 1;
  const svc = template ? templateService(copy, proto, vaddr, vport) : svcLookup(copy, proto, vaddr, vport);
  if (svc == 0) return SYNC_NO_SERVICE;
  const d = findDest(copy, svc, template, daddr, vport, dport);
  if (d == 0) return SYNC_NO_DEST;
  const expires = now + <u64> timeout * 1000;
  const threshold = load<u32>(CTRL + CTRL_SYNC_THRESHOLD);
  const destId = <u32> load<u16>(d + DEST_ID);
  const ds = DSTATE + destId * DSTATE_SIZE;
  if (template) {
    const t = lookupTemplate(proto, caddr, vaddr, vport, now);
    if (t != 0) {
      atomic.store<u32>(t + CONN_T_TIMEOUT, timeout);
      atomic.store<u64>(t + CONN_EXPIRES, expires);
      return SYNC_UPDATED;
    }
    const n = claim(proto | CONN_PROTO_TEMPLATE, caddr, 0, vaddr, vport, now);
    if (n == 0) return SYNC_TABLE_FULL;
    store<u8>(n + CONN_PROTO, <u8> (proto | CONN_PROTO_TEMPLATE));
    store<u32>(n + CONN_CADDR, caddr);
    store<u16>(n + CONN_CPORT, 0);
    store<u32>(n + CONN_VADDR, vaddr);
    store<u16>(n + CONN_VPORT, <u16> vport);
    store<u32>(n + CONN_DADDR, daddr);
    store<u16>(n + CONN_DPORT, <u16> dport);
    store<u16>(n + CONN_DEST_ID, <u16> destId);
    store<u16>(n + CONN_SVC_ID, load<u16>(svc + SVC_ID));
    store<u8>(n + CONN_FWD, load<u8>(d + DEST_FWD));
    atomic.store<u32>(n + CONN_T_TIMEOUT, timeout);
    atomic.store<u64>(n + CONN_EXPIRES, expires);
    store<u32>(auxAt(n) + AUX_IN_PKTS, threshold);
    atomic.store<u32>(n + CONN_SF, (CONN_F_TEMPLATE << 8) | T_VALID); // no controls yet
    atomic.add<i32>(ds + DSTATE_PERSIST, 1);
    publish(n, now);
    return SYNC_INSTALLED;
  }
  const c = lookupIn(proto, caddr, cport, vaddr, vport, now);
  if (c != 0) {
    update(c, state, inactive, expires);
    // ip_vs_proc_conn: in_pkts = sync_threshold, old_state = state.
    const a = auxAt(c);
    atomic.store<u32>(a + AUX_IN_PKTS, threshold);
    store<u8>(a + AUX_OLD_STATE, <u8> state);
    return SYNC_UPDATED;
  }
  const n = claim(proto, caddr, cport, vaddr, vport, now);
  if (n == 0) return SYNC_TABLE_FULL;
  const fwd = load<u8>(d + DEST_FWD);
  store<u8>(n + CONN_PROTO, <u8> proto);
  store<u8>(n + CONN_CIFACE, <u8> ciface);
  store<u16>(n + CONN_CVLAN, <u16> cvlan);
  store<u32>(n + CONN_CADDR, caddr);
  store<u32>(n + CONN_VADDR, vaddr);
  store<u32>(n + CONN_DADDR, daddr);
  store<u16>(n + CONN_CPORT, <u16> cport);
  store<u16>(n + CONN_VPORT, <u16> vport);
  store<u16>(n + CONN_DPORT, <u16> dport);
  store<u16>(n + CONN_DEST_ID, <u16> destId);
  store<u16>(n + CONN_SVC_ID, load<u16>(svc + SVC_ID));
  store<u8>(n + CONN_DEST_IFACE, load<u8>(d + DEST_IFACE));
  store<u8>(n + CONN_FWD, fwd);
  store<u8>(n + CONN_TUN_TYPE, load<u8>(d + DEST_TUN_TYPE));
  store<u16>(n + CONN_TUN_PORT, load<u16>(d + DEST_TUN_PORT));
  store<u16>(n + CONN_DVLAN, load<u16>(d + DEST_VLAN));
  memory.copy(n + CONN_CMAC, CTRL + CTRL_SYNC_CMAC, 6);
  // The template of a persistent service, if it came first (the
  // supervisor installs a datagram's templates before its connections),
  // controls the connection as on the master.
  if (load<u16>(svc + SVC_FLAGS) & SVC_F_PERSISTENT) {
    const group = load<u32>(svc + SVC_TADDR);
    const tvaddr = group != 0 ? group : vaddr;
    const tport = group == 0 && <u16> vport == load<u16>(svc + SVC_VPORT) ? vport : 0;
    const t = lookupTemplate(proto, caddr & load<u32>(svc + SVC_PMASK), tvaddr, tport, now);
    if (t != 0 && acquireControl(t, foundInc) && !controlSaturated) store<u32>(n + CONN_CONTROL, recordRef(t));
  }
  const a = auxAt(n);
  store<u32>(a + AUX_IN_PKTS, threshold);
  store<u8>(a + AUX_OLD_STATE, <u8> state);
  const flags = (inactive ? CONN_F_INACTIVE : 0) | (fwd != FWD_MASQ ? CONN_F_NOOUTPUT : 0);
  atomic.store<u32>(n + CONN_SF, (state & 0xff) | (flags << 8));
  atomic.store<u64>(n + CONN_EXPIRES, expires);
  atomic.add<i32>(ds + (inactive ? DSTATE_INACT : DSTATE_ACTIVE), 1);
  overloadOnBind(ds);
  if (!publish(n, now)) return SYNC_TABLE_FULL; // publish() took it back out of the counters
  return SYNC_INSTALLED;
}
