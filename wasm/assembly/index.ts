// The ABI of the lvsd data-plane module. Everything the TypeScript side
// calls or reads is exported here; the layout constants are exported as
// globals so that TypeScript reads them from the instance instead of
// restating them.
export * from "./layout";
import { DROP_REASON_NAMES } from "./stats";
import { STATE_NAMES } from "./proto/tcp";
import { SCHED_NAMES, schedule } from "./sched/scheduler";
import { framesDone, ioBase, ioInit, processBatch, rearmRx } from "./process";
import { svcHashBuild } from "./svc_table";
import { IO_CLOCK } from "./layout";
import { expireSweep, lookupIn, lookupOut } from "./conn/table";
import { syncInstall } from "./sync_install";
export { SYNC_INSTALLED, SYNC_NO_DEST, SYNC_NO_SERVICE, SYNC_TABLE_FULL, SYNC_UPDATED } from "./sync_install";
import {
  DEST,
  DEST_COPY,
  DEST_SIZE,
  SVC,
  SVC_COPY,
  SVC_DEST_COUNT,
  SVC_DEST_FIRST,
  SVC_ID,
  SVC_SCHED,
  SVC_SIZE,
} from "./layout";

export {
  D_COUNT,
  DROP_BASE,
  G_ARP_REPLIES,
  G_BATCHES,
  G_CONNS,
  G_CSUM_PARTIAL,
  G_ECHO_REPLIES,
  G_GSO_FRAMES,
  G_ICMP_ERRORS_SENT,
  G_ICMP_RELAYED,
  G_IGNORED,
  G_IN_BATCH,
  G_RX_BYTES,
  G_RX_ERRORS,
  G_RX_FRAMES,
  G_RX_KERNEL_DROPS,
  G_SEGMENTS,
  G_SYNC_QUEUE_FULL,
  G_SYNC_QUEUED,
  G_TX_BYTES,
  G_TX_DROPPED,
  G_TX_ERRORS,
  G_TX_FRAMES,
} from "./stats";
export {
  DEST_OVERLOAD,
  SCHED_DH,
  SCHED_FO,
  SCHED_LBLC,
  SCHED_LBLCR,
  SCHED_LC,
  SCHED_MH,
  SCHED_NQ,
  SCHED_OVF,
  SCHED_RR,
  SCHED_SED,
  SCHED_SH,
  SCHED_TWOS,
  SCHED_WLC,
  SCHED_WRR,
} from "./sched/scheduler";

/** Sets up a worker's mmsghdr arrays (pointers into the shared memory). */
export function io_init(worker: u32): void {
  ioInit(worker);
}

/**
 * Handles `n` received frames; returns how many frames to transmit. `now` is
 * the data plane's clock in milliseconds (CLOCK_MONOTONIC_COARSE in
 * production; tests pass any epoch), or negative to read the timespec the
 * worker stored at IO_CLOCK (clock_gettime over FFI: no boxed number in JS).
 */
export function process(worker: u32, n: u32, now: f64): u32 {
  return process_from(worker, 0, n, now);
}

/**
 * Handles received frames [first, n) of `worker`; returns how many frames
 * to transmit. It may stop early (tunnel segments filled the call's
 * segment area): frames_done() then tells where the next call starts.
 */
export function process_from(worker: u32, first: u32, n: u32, now: f64): u32 {
  let t: u64;
  if (now < 0) {
    const ts = ioBase(worker) + IO_CLOCK;
    t = <u64> load<i64>(ts) * 1000 + <u64> (load<i64>(ts + 8) / 1000000);
  } else {
    t = <u64> now;
  }
  const tx = processBatch(worker, first, n, t);
  rearmRx(worker, first, framesDone);
  return tx;
}

/** Rx frames handled so far by the last process/process_from call (n when all). */
export function frames_done(): u32 {
  return framesDone;
}

/** Builds table copy `copy`'s service hash and VIP set from its first `n` service records. */
export function svc_hash_build(copy: u32, n: u32): void {
  svcHashBuild(copy, n);
}

/** Expires connections in slots [first, first+count); returns how many. */
export function expire_sweep(first: u32, count: u32, now: f64): u32 {
  return expireSweep(first, count, <u64> now);
}

/**
 * Installs (or updates) a connection or template received by the sync
 * backup (sync_install.ts); addresses and ports in wire order, the client's
 * next-hop MAC at CTRL_SYNC_CMAC. Returns SYNC_INSTALLED, SYNC_UPDATED or a
 * negative SYNC_* reason.
 */
export function sync_install(
  proto: u32,
  template: u32,
  inactive: u32,
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
  now: f64,
): i32 {
  return syncInstall(
    proto,
    template != 0,
    inactive != 0,
    state,
    caddr,
    cport,
    vaddr,
    vport,
    daddr,
    dport,
    timeout,
    ciface,
    cvlan,
    <u64> now,
  );
}

/** Address of a live connection for an in-key (for tests), or 0. */
export function conn_lookup_in(proto: u32, caddr: u32, cport: u32, vaddr: u32, vport: u32, now: f64): u32 {
  return lookupIn(proto, caddr, cport, vaddr, vport, <u64> now);
}

/** Address of a live connection for an out-key (for tests), or 0. */
export function conn_lookup_out(proto: u32, daddr: u32, dport: u32, caddr: u32, cport: u32, now: f64): u32 {
  return lookupOut(proto, daddr, dport, caddr, cport, <u64> now);
}

/**
 * Runs the service's scheduler once without a packet (scheduler tests), as
 * for a packet from saddr:sport to daddr (wire order) at `now` ms; returns
 * the chosen dest's position in the service's list, or -1.
 */
export function sched_pick(copy: u32, svcIndex: u32, saddr: u32, sport: u32, daddr: u32, now: f64): i32 {
  const svc = SVC + copy * SVC_COPY + svcIndex * SVC_SIZE;
  const dests = DEST + copy * DEST_COPY + <u32> load<u16>(svc + SVC_DEST_FIRST) * DEST_SIZE;
  const d = schedule(
    <u32> load<u8>(svc + SVC_SCHED),
    svc,
    <u32> load<u16>(svc + SVC_ID),
    dests,
    <u32> load<u16>(svc + SVC_DEST_COUNT),
    saddr,
    sport,
    daddr,
    <u64> now,
  );
  return d == 0 ? -1 : <i32> ((d - dests) / DEST_SIZE);
}

/** Pointer to the comma-separated drop reason names (UTF-16, length at ptr-4). */
export function drop_reason_names(): usize {
  return changetype<usize>(DROP_REASON_NAMES);
}

/** Pointer to the comma-separated TCP state names. */
export function tcp_state_names(): usize {
  return changetype<usize>(STATE_NAMES);
}

/** Pointer to the comma-separated scheduler names (index = scheduler id). */
export function sched_names(): usize {
  return changetype<usize>(SCHED_NAMES);
}

/** Address of the module's heap base (must stay below LAYOUT_BASE). */
export function heap_base(): usize {
  return __heap_base;
}
