// Run-time options (IPVS sysctls) on the path of a packet from a client:
// what becomes of the connection it found (ip_vs_in_hook: conn_reuse_mode,
// expire_nodest_conn) and whether a TCP segment without one may start one
// (tcp_conn_schedule: sloppy_tcp). CTRL_OPTIONS is read per packet, so a
// reload of the config applies from the next packet on.
import {
  CONN_CONTROL,
  CONN_DEST_ID,
  CONN_F_NOOUTPUT,
  CONN_REUSE_FIN_WAIT,
  CONN_SF,
  CTRL,
  CTRL_OPTIONS,
  DEST_REMOVED,
  DSTATE,
  DSTATE_FLAGS,
  DSTATE_SIZE,
  DSTATE_WEIGHT,
  OPT_CONN_REUSE_MASK,
  OPT_CONN_REUSE_SHIFT,
  OPT_EXPIRE_NODEST_CONN,
  OPT_SLOPPY_TCP,
} from "./layout";
import { expireNow } from "./conn/table";
import { IPPROTO_TCP } from "./pkt/ipv4";
import { TH_RST, TH_SYN } from "./pkt/tcp";
import { S_CLOSE, S_FIN_WAIT, S_TIME_WAIT } from "./proto/tcp";

/** checkInConn(): forward with the connection found. */
export const IN_USE: u32 = 0;
/** checkInConn(): it was ended for a new connection on its ports; handle the packet as one without a connection. */
export const IN_ENDED: u32 = 1;
/** checkInConn(): it was ended because its dest left; handle the packet as one without a connection. */
export const IN_ENDED_NODEST: u32 = 2;
/** checkInConn(): drop the packet (its dest left, expire_nodest_conn off). */
export const IN_DROP: u32 = 3;

/**
 * is_new_conn_expected(): may a new connection take over the ports of `c`?
 * Not while a persistence template controls it (the client stays on its
 * dest anyway); for TCP when it is in TIME_WAIT or CLOSE, and with bit
 * value 2 also in FIN_WAIT when only the client's side passes here (direct
 * routing and tunnel: FIN_WAIT is the last state such a director sees).
 * UDP connections are never taken over (the kernel's is_new_conn is false
 * for UDP, so the caller does not ask).
 */
function reuseExpected(c: u32, mode: u32): bool {
  if (load<u32>(c + CONN_CONTROL) != 0) return false;
  const sf = atomic.load<u32>(c + CONN_SF);
  const st = sf & 0xff;
  if (st == <u32> S_TIME_WAIT || st == <u32> S_CLOSE) return true;
  return (mode & CONN_REUSE_FIN_WAIT) != 0 && st == <u32> S_FIN_WAIT && ((sf >> 8) & CONN_F_NOOUTPUT) != 0;
}

/**
 * What ip_vs_in_hook does with connection `c` (incarnation `inc`), found
 * for a packet from the client with TCP flags `tflags`, before using it:
 *
 * 1. A SYN (is_new_conn: the SYN bit, whatever else is set) on a
 *    connection whose dest has weight 0, with expire_nodest_conn on; or,
 *    with conn_reuse_mode non-zero, on one reuseExpected() gives up: the
 *    connection is ended and the SYN scheduled afresh. (The kernel keeps a
 *    connection that controls others; only templates do here, and a
 *    lookup never returns one. No conntrack, so no "old conntrack" drop.)
 * 2. A connection whose dest left its service: the packet is dropped, or
 *    with expire_nodest_conn on the connection is ended and the packet
 *    handled as one without a connection.
 *
 * Returns IN_USE, IN_ENDED, IN_ENDED_NODEST or IN_DROP.
 */
export function checkInConn(c: u32, inc: u32, proto: u32, tflags: u32): u32 {
  const opts = atomic.load<u32>(CTRL + CTRL_OPTIONS);
  const nodest = (opts & OPT_EXPIRE_NODEST_CONN) != 0;
  const ds = DSTATE + <u32> load<u16>(c + CONN_DEST_ID) * DSTATE_SIZE;
  if (proto == IPPROTO_TCP && (tflags & TH_SYN) != 0) {
    const mode = (opts >> OPT_CONN_REUSE_SHIFT) & OPT_CONN_REUSE_MASK;
    if ((nodest && atomic.load<i32>(ds + DSTATE_WEIGHT) == 0) || (mode != 0 && reuseExpected(c, mode))) {
      expireNow(c, inc);
      return IN_ENDED;
    }
  }
  if ((atomic.load<u32>(ds + DSTATE_FLAGS) & DEST_REMOVED) == 0) return IN_USE;
  if (!nodest) return IN_DROP;
  expireNow(c, inc);
  return IN_ENDED_NODEST;
}

/**
 * tcp_conn_schedule(): may a TCP segment with `tflags` that has no
 * connection start one? Never with RST; otherwise only a SYN (SYN+ACK
 * too), or with sloppy_tcp any segment, so that a director that takes over
 * mid-stream (failover, restart) picks established flows up.
 */
export function tcpMayStart(tflags: u32): bool {
  if ((tflags & TH_RST) != 0) return false;
  return (tflags & TH_SYN) != 0 || (atomic.load<u32>(CTRL + CTRL_OPTIONS) & OPT_SLOPPY_TCP) != 0;
}
