// One-packet scheduling (ipvsadm -o, UDP only): every datagram is scheduled
// on its own and no connection is kept. IPVS makes an
// IP_VS_CONN_F_ONE_PACKET connection that is never hashed and is freed
// after the packet; here it is a record of the worker's own outside the
// table, filled and forwarded with like any new connection, then left.
//
// So a real server's reply finds no connection: with masq it is not
// translated back (IPVS's ip_vs_out finds nothing either and lets it pass
// unchanged); -o suits direct routing, tunnels and one-way traffic.
import { CONN_SIZE, CTRL, CTRL_OPS_CONN, MAX_WORKERS, STATS, STATS_STRIDE, SVC_F_ONEPACKET, SVC_FLAGS } from "./layout";
import { IPPROTO_UDP } from "./pkt/ipv4";
import { claim, onePacketRecord } from "./conn/table";
import { persistAbandon } from "./persist";
import * as S from "./stats";

/**
 * The record a new connection to `svc` is made in: the worker's one-packet
 * record for -o (UDP), else a claimed table slot. Returns 0 after counting
 * the drop and giving back a template control (the table is full). `sb` is
 * the worker's stats slot, which says which worker this is.
 */
export function newRecord(
  svc: u32,
  proto: u32,
  saddr: u32,
  sport: u32,
  daddr: u32,
  dport: u32,
  now: u64,
  sb: u32,
): u32 {
  if ((load<u16>(svc + SVC_FLAGS) & SVC_F_ONEPACKET) != 0 && proto == IPPROTO_UDP) {
    return onePacketRecord((sb - STATS) / STATS_STRIDE);
  }
  const c = claim(proto, saddr, sport, daddr, dport, now);
  if (c == 0) {
    persistAbandon();
    S.drop(sb, S.D_CONN_TABLE_FULL);
  }
  return c;
}

/** True for a worker's one-packet record, which is never in the table. */
// @ts-ignore: decorator

export function isOnePacket(c: u32): bool {
  return c >= CTRL + CTRL_OPS_CONN && c < CTRL + CTRL_OPS_CONN + MAX_WORKERS * CONN_SIZE;
}
