/**
 * Connection states and flags as they travel in IPVS sync messages, the
 * mapping to lvsd's own connection record, and the kernel's rule for which
 * connections are synced and when.
 *
 * Sources (facts, not code): include/net/ip_vs.h (IP_VS_TCP_S_*,
 * IP_VS_UDP_S_*, IP_VS_CTPL_S_*, DEFAULT_SYNC_* sysctl defaults),
 * include/uapi/linux/ip_vs.h (IP_VS_CONN_F_* and the two backup masks),
 * net/netfilter/ipvs/ip_vs_sync.c (ip_vs_sync_conn, ip_vs_sync_conn_needed,
 * ip_vs_proc_sync_conn), ip_vs_core.c (ip_vs_in: the packet count passed to
 * ip_vs_sync_conn) and ip_vs_ctl.c (proc_do_sync_threshold: the sysctl's
 * bounds).
 */

// ── protocols ──

/** IP protocol numbers of the protocols lvsd forwards (IPPROTO_TCP, IPPROTO_UDP). */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** The protocols a SyncConn can carry. SCTP, AH and ESP are IPVS protocols too, but lvsd forwards none of them. */
export type SyncProto = "tcp" | "udp";

export const PROTO_NUMBERS: Readonly<Record<SyncProto, number>> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

/** Protocol name of a wire protocol number, or null for one lvsd does not forward. */
export function protoName(n: number): SyncProto | null {
  return n === IPPROTO_TCP ? "tcp" : n === IPPROTO_UDP ? "udp" : null;
}

// ── states ──
// The state field of a sync entry is the connection's IPVS state number.
// lvsd's data plane numbers TCP states exactly as the kernel does
// (wasm/assembly/proto/tcp.ts S_* and STATE_NAMES; tests/sync/states_test.ts
// checks the two against each other), so numbers pass through unchanged.

export const IP_VS_TCP_S_NONE = 0;
export const IP_VS_TCP_S_ESTABLISHED = 1;
export const IP_VS_TCP_S_SYN_SENT = 2;
export const IP_VS_TCP_S_SYN_RECV = 3;
export const IP_VS_TCP_S_FIN_WAIT = 4;
export const IP_VS_TCP_S_TIME_WAIT = 5;
export const IP_VS_TCP_S_CLOSE = 6;
export const IP_VS_TCP_S_CLOSE_WAIT = 7;
export const IP_VS_TCP_S_LAST_ACK = 8;
export const IP_VS_TCP_S_LISTEN = 9;
export const IP_VS_TCP_S_SYNACK = 10;
/** Number of TCP states: the backup refuses a TCP entry whose state is not below it (ip_vs_proc_sync_conn, pp->num_states). */
export const IP_VS_TCP_S_LAST = 11;

/** UDP has one state. */
export const IP_VS_UDP_S_NORMAL = 0;
export const IP_VS_UDP_S_LAST = 1;

/**
 * Persistence templates use the state field as bits: ASSURED once a
 * connection it controls got going (ip_vs_control_assure_ct). lvsd keeps no
 * such bit, so its templates go out as NONE.
 */
export const IP_VS_CTPL_S_NONE = 0;
export const IP_VS_CTPL_S_ASSURED = 1;
export const IP_VS_CTPL_S_LAST = 2;

/** TCP state names indexed by number, as ipvsadm -L -c prints them (and as lvsd's STATE_NAMES lists them). */
export const TCP_STATE_NAMES: readonly string[] = [
  "NONE",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "SYNACK",
];

/** Template state names (ip_vs_ctpl_state_name_table in ip_vs_proto.c). */
export const CTPL_STATE_NAMES: readonly string[] = ["NONE", "ASSURED"];

/** How many states a protocol has: a non-template entry's state must be below it. */
export function numStates(proto: SyncProto): number {
  return proto === "tcp" ? IP_VS_TCP_S_LAST : IP_VS_UDP_S_LAST;
}

/** Whether `state` is one the backup accepts for this protocol (or for a template). */
export function validState(proto: SyncProto, state: number, template: boolean): boolean {
  const limit = template ? IP_VS_CTPL_S_LAST : numStates(proto);
  return Number.isInteger(state) && state >= 0 && state < limit;
}

/** The name lvsd shows for a state (`lvsadm -L -c`, the API's ConnectionView.state). */
export function stateName(proto: SyncProto, state: number, template: boolean): string {
  if (template) return CTPL_STATE_NAMES[state] ?? "ERR!";
  if (proto === "udp") return state === IP_VS_UDP_S_NORMAL ? "UDP" : "ERR!";
  return TCP_STATE_NAMES[state] ?? "ERR!";
}

// ── connection flags (include/uapi/linux/ip_vs.h) ──
// Only bits 0..15 are meant for the backup; the master sends the whole word
// minus HASHED, and the backup keeps only IP_VS_CONN_F_BACKUP_MASK of it and
// adds SYNC.

export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_LOCALNODE = 0x0001;
export const IP_VS_CONN_F_TUNNEL = 0x0002;
export const IP_VS_CONN_F_DROUTE = 0x0003;
export const IP_VS_CONN_F_BYPASS = 0x0004;
export const IP_VS_CONN_F_SYNC = 0x0020;
export const IP_VS_CONN_F_HASHED = 0x0040;
export const IP_VS_CONN_F_NOOUTPUT = 0x0080;
export const IP_VS_CONN_F_INACTIVE = 0x0100;
export const IP_VS_CONN_F_OUT_SEQ = 0x0200;
export const IP_VS_CONN_F_IN_SEQ = 0x0400;
export const IP_VS_CONN_F_SEQ_MASK = 0x0600;
export const IP_VS_CONN_F_NO_CPORT = 0x0800;
export const IP_VS_CONN_F_TEMPLATE = 0x1000;
export const IP_VS_CONN_F_ONE_PACKET = 0x2000;

/** Bits a backup takes from a received entry (everything else is masked off on receive). */
export const IP_VS_CONN_F_BACKUP_MASK = IP_VS_CONN_F_FWD_MASK | IP_VS_CONN_F_NOOUTPUT | IP_VS_CONN_F_INACTIVE |
  IP_VS_CONN_F_SEQ_MASK | IP_VS_CONN_F_NO_CPORT | IP_VS_CONN_F_TEMPLATE;

/** Bits a later entry may change on a connection the backup already has (ip_vs_proc_conn). */
export const IP_VS_CONN_F_BACKUP_UPD_MASK = IP_VS_CONN_F_INACTIVE | IP_VS_CONN_F_SEQ_MASK;

/** Flags as the backup installs them from the wire word (ip_vs_proc_sync_conn). */
export function flagsOnReceive(wire: number): number {
  return ((wire & IP_VS_CONN_F_BACKUP_MASK) | IP_VS_CONN_F_SYNC) >>> 0;
}

/** Whether an entry (by its flags) is a persistence template. */
export function isTemplate(flags: number): boolean {
  return (flags & IP_VS_CONN_F_TEMPLATE) !== 0;
}

// ── lvsd's connection record (wasm/assembly/layout.ts) ──
// lvsd keeps its own flag bits in CONN_SF (bits 8..15) and the forwarding
// method in a byte of its own (CONN_FWD, holding IP_VS_CONN_F_FWD_MASK
// values). These mirror layout.ts; tests/sync/states_test.ts reads that file
// and fails if they drift.

export const LVSD_CONN_F_INACTIVE = 0x01;
export const LVSD_CONN_F_TEMPLATE = 0x02;
export const LVSD_CONN_F_ONE_PACKET = 0x04;
export const LVSD_CONN_F_NOOUTPUT = 0x08;

/** The parts of an lvsd record that become the wire flags. */
export interface LvsdConnFlags {
  /** Forwarding method, an IP_VS_CONN_F_FWD_MASK value (lvsd's FWD_*: MASQ 0, TUNNEL 2, DROUTE 3). */
  fwd: number;
  /** lvsd CONN_F_* bits. */
  lvsdFlags: number;
}

const LVSD_TO_WIRE: ReadonlyArray<[number, number]> = [
  [LVSD_CONN_F_INACTIVE, IP_VS_CONN_F_INACTIVE],
  [LVSD_CONN_F_TEMPLATE, IP_VS_CONN_F_TEMPLATE],
  [LVSD_CONN_F_ONE_PACKET, IP_VS_CONN_F_ONE_PACKET],
  [LVSD_CONN_F_NOOUTPUT, IP_VS_CONN_F_NOOUTPUT],
];

/** Kernel flag word of an lvsd record (what the master puts on the wire). */
export function wireFlags(c: LvsdConnFlags): number {
  let f = c.fwd & IP_VS_CONN_F_FWD_MASK;
  for (const [lvsd, wire] of LVSD_TO_WIRE) if (c.lvsdFlags & lvsd) f |= wire;
  return f >>> 0;
}

/**
 * lvsd record bits of a received flag word. SYNC, NO_CPORT and the SEQ bits
 * have no lvsd counterpart and are left out (lvsd has no FTP helper, so it
 * never adjusts sequence numbers); ONE_PACKET never arrives (it is not in
 * the backup mask).
 */
export function lvsdFlags(wire: number): LvsdConnFlags {
  let f = 0;
  for (const [lvsd, w] of LVSD_TO_WIRE) if (wire & w) f |= lvsd;
  return { fwd: wire & IP_VS_CONN_F_FWD_MASK, lvsdFlags: f };
}

// ── timeouts on receive ──

/** Seconds a template gets when its entry carries no timeout (ip_vs_proc_conn: 3*60*HZ). */
export const TEMPLATE_DEFAULT_TIMEOUT = 180;

/**
 * Timeout (seconds) the backup gives a received entry: the one it carries,
 * or, when that is 0, the protocol's timeout for its state (`table`, indexed
 * by state; lvsd's tcp table or [udp]) and 180 s for templates, as
 * ip_vs_proc_conn does.
 */
export function timeoutOnReceive(
  entry: { timeout: number; state: number; flags: number },
  table: readonly number[],
): number {
  if (entry.timeout > 0) return entry.timeout;
  if (isTemplate(entry.flags)) return TEMPLATE_DEFAULT_TIMEOUT;
  return table[entry.state] ?? TEMPLATE_DEFAULT_TIMEOUT;
}

// ── which connections sync, and when ──

/** The sync sysctls (net.ipv4.vs.*), with the kernel's defaults in SYNC_SYSCTL_DEFAULTS. */
export interface SyncSysctls {
  /** sync_threshold[0]: the packet count at which a connection syncs (within each period). */
  syncThreshold: number;
  /** sync_threshold[1] (sync_period): 0 syncs only once per state, at syncThreshold packets. */
  syncPeriod: number;
  /** sync_refresh_period in milliseconds (the sysctl is seconds; 0 = off). */
  syncRefreshPeriodMs: number;
  /** sync_retries, 0..3: extra sends at refresh_period/8 while within the refresh period. */
  syncRetries: number;
  /** sync_persist_mode: 1 = connections controlled by a template are not synced, only the template. */
  syncPersistMode: number;
}

/** DEFAULT_SYNC_THRESHOLD 3, DEFAULT_SYNC_PERIOD 50, DEFAULT_SYNC_REFRESH_PERIOD 0, DEFAULT_SYNC_RETRIES 0 (include/net/ip_vs.h); sync_persist_mode 0. */
export const SYNC_SYSCTL_DEFAULTS: Readonly<SyncSysctls> = {
  syncThreshold: 3,
  syncPeriod: 50,
  syncRefreshPeriodMs: 0,
  syncRetries: 0,
  syncPersistMode: 0,
};

/**
 * Throws a RangeError naming the sysctl when the values are ones the kernel
 * refuses: proc_do_sync_threshold wants both numbers ≥ 0 and the threshold
 * below a non-zero period; sync_retries is clamped to 0..3.
 */
export function checkSyncSysctls(s: SyncSysctls): void {
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${name}: ${v} is not an integer in ${min}..${max}`);
    }
  };
  int("sync_threshold", s.syncThreshold, 0, 0x7fffffff);
  int("sync_period", s.syncPeriod, 0, 0x7fffffff);
  if (s.syncPeriod > 0 && s.syncThreshold >= s.syncPeriod) {
    throw new RangeError(
      `sync_threshold: ${s.syncThreshold} must be below sync_period ${s.syncPeriod} (or sync_period 0)`,
    );
  }
  int("sync_refresh_period", s.syncRefreshPeriodMs, 0, 0x7fffffff);
  int("sync_retries", s.syncRetries, 0, 3);
  int("sync_persist_mode", s.syncPersistMode, 0, 1);
}

/** TCP states in which a TCP connection is synced at all (ip_vs_sync_conn_needed). */
export const TCP_SYNC_STATES: ReadonlySet<number> = new Set([
  IP_VS_TCP_S_ESTABLISHED,
  IP_VS_TCP_S_FIN_WAIT,
  IP_VS_TCP_S_CLOSE,
  IP_VS_TCP_S_CLOSE_WAIT,
  IP_VS_TCP_S_TIME_WAIT,
]);

/** What the sync decision looks at for one connection or template. */
export interface SyncCandidate {
  proto: SyncProto;
  /** Current state. */
  state: number;
  /** The state at the last sync (cp->old_state); a new connection starts at 0 (NONE). */
  oldState: number;
  /**
   * The packet count handed to ip_vs_sync_conn: the connection's in_pkts
   * after counting this client packet (ip_vs_in); for a template, its own
   * in_pkts after the increment made for the connection it controls; for a
   * one-packet connection, syncThreshold.
   */
  pkts: number;
  /** Kernel IP_VS_CONN_F_* flags (template, one-packet, ...). */
  flags: number;
  /** Controlled by a persistence template (in_persistence()); only matters with sync_persist_mode. */
  inPersistence?: boolean;
  /** Only with syncRefreshPeriodMs > 0: the current time (ms). */
  nowMs?: number;
  /** Only with syncRefreshPeriodMs > 0: the connection's timeout (ms). */
  timeoutMs?: number;
  /**
   * Only with syncRefreshPeriodMs > 0: cp->sync_endtime, the expiry time (ms)
   * the last sync announced, rounded down to a multiple of 4 with the retry
   * count in its low 2 bits. 0 for a connection never synced.
   */
  syncEndtime?: number;
}

/** The outcome, with the per-connection fields the kernel updates when it syncs. */
export interface SyncDecision {
  sync: boolean;
  /**
   * The kernel's `force`: a TCP connection whose state differs from the
   * last synced one. Outside ESTABLISHED that alone makes it sync; into
   * ESTABLISHED it still waits for the packet rule.
   */
  forced: boolean;
  /** cp->old_state after the call (only changes when it syncs). */
  oldState: number;
  /** cp->sync_endtime after the call (only changes when it syncs). */
  syncEndtime: number;
}

/**
 * Whether the kernel would put this connection into a sync message now,
 * as ip_vs_sync_conn and ip_vs_sync_conn_needed decide it (pure: the caller
 * stores oldState/syncEndtime back):
 * - one-packet connections (IP_VS_CONN_F_ONE_PACKET) never;
 * - with sync_persist_mode, connections controlled by a template never;
 * - TCP only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT; a
 *   change into one of those other than ESTABLISHED syncs at once (forced);
 *   ESTABLISHED waits for the packet rule below like any packet;
 * - with sync_refresh_period > 0, not while the expiry time it would
 *   announce is within min(refresh period, max(timeout/2, 10 s)) of the
 *   last one announced, except for sync_retries resends spaced refresh/8;
 * - with sync_period > 0: when pkts % sync_period == sync_threshold
 *   (templates skip this test: they sync each time their connection does);
 *   with sync_period 0 and no refresh period: only when pkts ==
 *   sync_threshold, i.e. once.
 * UDP (one state) and templates never force. When a connection syncs (or is
 * one-packet), the kernel then considers its controlling template the same
 * way, with the template's own in_pkts incremented (controlPkts).
 */
export function syncDecision(c: SyncCandidate, sysctls: SyncSysctls = SYNC_SYSCTL_DEFAULTS): SyncDecision {
  const orig = c.syncEndtime ?? 0;
  const no: SyncDecision = { sync: false, forced: false, oldState: c.oldState, syncEndtime: orig };
  if (c.flags & IP_VS_CONN_F_ONE_PACKET) return no;
  const template = isTemplate(c.flags);
  const timeout = c.timeoutMs ?? 0;
  const now = c.nowMs ?? 0;
  let n = Math.floor((now + timeout) / 4) * 4;
  let force = false;
  if (!template) {
    if (sysctls.syncPersistMode && c.inPersistence) return no;
    if (c.proto === "tcp") {
      if (!TCP_SYNC_STATES.has(c.state)) return no;
      force = c.state !== c.oldState;
      if (force && c.state !== IP_VS_TCP_S_ESTABLISHED) {
        return { sync: true, forced: true, oldState: c.state, syncEndtime: n };
      }
    }
  }
  const refresh = sysctls.syncRefreshPeriodMs;
  if (refresh > 0) {
    const diff = n - orig;
    const minDiff = Math.max(Math.floor(timeout / 2), 10_000);
    if (Math.abs(diff) < Math.min(refresh, minDiff)) {
      const retries = orig & 3;
      if (retries >= sysctls.syncRetries) return no;
      if (now < orig - timeout + Math.floor(refresh / 8)) return no;
      n |= retries + 1;
    }
  }
  const period = sysctls.syncPeriod;
  if (period > 0) {
    if (!template && c.pkts % period !== sysctls.syncThreshold) return no;
  } else if (!refresh && c.pkts !== sysctls.syncThreshold) {
    return no;
  }
  return { sync: true, forced: force, oldState: c.state, syncEndtime: n };
}

/** `syncDecision(c, sysctls).sync`: the predicate. */
export function syncable(c: SyncCandidate, sysctls: SyncSysctls = SYNC_SYSCTL_DEFAULTS): boolean {
  return syncDecision(c, sysctls).sync;
}

/**
 * The packet count with which a controlling connection is considered after
 * the one it controls (ip_vs_sync_conn, label `control`): a template uses
 * its own in_pkts after incrementing it (pass that value); any other
 * controller is considered with sync_threshold, which passes the packet rule.
 */
export function controlPkts(
  control: { flags: number; inPktsAfterIncrement: number },
  sysctls: SyncSysctls = SYNC_SYSCTL_DEFAULTS,
): number {
  return isTemplate(control.flags) ? control.inPktsAfterIncrement : sysctls.syncThreshold;
}
