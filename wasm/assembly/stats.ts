// Per-worker counters. Each worker writes only its own slot with plain
// stores (no shared cache lines on the packet path); the supervisor sums the
// slots of all workers when it lists or exports them.
import { STAT_DEST_SIZE, STAT_SVC_SIZE, STATS, STATS_DEST, STATS_STRIDE, STATS_SVC } from "./layout";

// Global counter indexes (u64 each).
export const G_RX_FRAMES: u32 = 0;
export const G_RX_BYTES: u32 = 1;
export const G_TX_FRAMES: u32 = 2;
export const G_TX_BYTES: u32 = 3;
export const G_CONNS: u32 = 4;
export const G_IGNORED: u32 = 5; // not ours: left to the kernel
export const G_ARP_REPLIES: u32 = 6;
export const G_ECHO_REPLIES: u32 = 7;
export const G_GSO_FRAMES: u32 = 8;
export const G_CSUM_PARTIAL: u32 = 9;
export const G_BATCHES: u32 = 10;
// Table generation this worker is reading, with bit 31 set while it is
// inside a batch (0 between batches): the supervisor waits for readers of a
// copy to leave before it rewrites that copy.
export const G_IN_BATCH: u32 = 11;
// Written by the worker's PacketIo (JS), not by the WASM: frames the kernel
// refused on send, frames given up on a full socket buffer, receive errors.
export const G_TX_ERRORS: u32 = 12;
export const G_TX_DROPPED: u32 = 13;
export const G_RX_ERRORS: u32 = 14;
export const G_RX_KERNEL_DROPS: u32 = 15; // PACKET_STATISTICS tp_drops: lvsd fell behind
// Drop reasons take indexes DROP_BASE.. (below); more globals from 48 on.
export const G_ICMP_ERRORS_SENT: u32 = 48; // frag-needed sent to clients
export const G_SEGMENTS: u32 = 50; // segments cut from GSO frames for tunnel dests
export const G_ICMP_RELAYED: u32 = 49; // ICMP errors for a connection passed on (ip_vs_in_icmp/out_icmp)
// Connection sync (sync.ts): records queued for the sync master, and ones
// lost because the worker's ring was full (the master fell behind).
export const G_SYNC_QUEUED: u32 = 60;
export const G_SYNC_QUEUE_FULL: u32 = 61;

// Drop reasons: counter index = DROP_BASE + reason. Names, in order, are in
// DROP_REASON_NAMES; the supervisor reads them from there.
export const DROP_BASE: u32 = 16;
export const D_TRUNCATED: u32 = 0;
export const D_BAD_IP_VERSION: u32 = 1;
export const D_BAD_IHL: u32 = 2;
export const D_BAD_TOTAL_LENGTH: u32 = 3;
export const D_BAD_IP_CHECKSUM: u32 = 4;
export const D_FRAGMENT: u32 = 5;
export const D_BAD_L4_HEADER: u32 = 6;
export const D_BAD_L4_CHECKSUM: u32 = 7;
export const D_NO_CONN: u32 = 8;
export const D_NO_DEST: u32 = 9;
export const D_CONN_TABLE_FULL: u32 = 10;
export const D_ICMP_UNSUPPORTED: u32 = 11;
export const D_PROTO_UNSUPPORTED: u32 = 12;
export const D_OVERSIZE: u32 = 13;
export const D_BAD_ARP: u32 = 14;
export const D_NO_SERVICE: u32 = 15;
export const D_FRAG_NEEDED: u32 = 16; // DF packet too big for the path: answered with ICMP frag-needed
export const D_NEEDS_FRAGMENTATION: u32 = 17; // too big, no DF: IPVS would fragment, lvsd does not
export const D_GSO_TUNNEL: u32 = 18; // a GSO frame for a tunnel dest that is not TCP (cannot be segmented)
// A packet of a connection whose dest left its service: dropped as IPVS
// does with expire_nodest_conn off; with it on, the connection is ended and
// the packet counted here only if it cannot start a new one (TCP non-SYN).
export const D_DEST_UNAVAILABLE: u32 = 19;
export const D_GSO_SEGMENTS: u32 = 20; // a GSO frame for a tunnel dest needing more segments than a call holds
export const D_COUNT: u32 = 21;

export const DROP_REASON_NAMES =
  "truncated,bad_ip_version,bad_ihl,bad_total_length,bad_ip_checksum,fragment,bad_l4_header,bad_l4_checksum,no_conn,no_dest,conn_table_full,icmp_unsupported,proto_unsupported,oversize,bad_arp,no_service,frag_needed,needs_fragmentation,gso_tunnel,dest_unavailable,gso_segments";

// @ts-ignore: decorator

export function statsBase(worker: u32): u32 {
  return STATS + worker * STATS_STRIDE;
}

// @ts-ignore: decorator

export function count(sb: u32, idx: u32, n: u64): void {
  const p = sb + (idx << 3);
  store<u64>(p, load<u64>(p) + n);
}

// @ts-ignore: decorator

export function drop(sb: u32, reason: u32): void {
  count(sb, DROP_BASE + reason, 1);
}

// Per service / per dest: [conns, inpkts, outpkts, inbytes, outbytes].
export const S_CONNS: u32 = 0;
export const S_INPKTS: u32 = 8;
export const S_OUTPKTS: u32 = 16;
export const S_INBYTES: u32 = 24;
export const S_OUTBYTES: u32 = 32;

// @ts-ignore: decorator

export function svcStat(sb: u32, svcId: u32, field: u32, n: u64): void {
  const p = sb + STATS_SVC + svcId * STAT_SVC_SIZE + field;
  store<u64>(p, load<u64>(p) + n);
}

// @ts-ignore: decorator

export function destStat(sb: u32, destId: u32, field: u32, n: u64): void {
  const p = sb + STATS_DEST + destId * STAT_DEST_SIZE + field;
  store<u64>(p, load<u64>(p) + n);
}
