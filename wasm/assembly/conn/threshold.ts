// Connection thresholds (ipvsadm -x upper / -y lower), as ip_vs_bind_dest
// and ip_vs_unbind_dest in ip_vs_conn.c: a dest whose connections
// (ActiveConn + InActConn) reach its upper threshold is marked OVERLOAD and
// the schedulers pass it over; the mark goes again only once the dest has
// drained below the lower threshold, or below 3/4 of the upper one when no
// lower threshold is set. The gap keeps a dest near its limit from
// flapping in and out of the schedule on every connection.
//
// The thresholds are read from the dest's state line, where the supervisor
// mirrors them when it publishes: a connection that ends knows only its
// dest id, and binding reads the same place so that a threshold change and
// the clearing that goes with it are seen together. The kernel compares an
// int total with u32 thresholds, i.e. as unsigned with u32 wrap-around in
// `total * 4 < u * 3`; so does this. As in the kernel, the flag updates are
// not serialised with other workers' counter updates: a racing pair can
// move the mark one connection early or late, but never leaves it stuck,
// since the connection whose bind set it checks again when it ends.
import { DSTATE_ACTIVE, DSTATE_FLAGS, DSTATE_INACT, DSTATE_LTHRESH, DSTATE_UTHRESH } from "../layout";
import { DEST_OVERLOAD } from "../sched/scheduler";

// @ts-ignore: decorator

function totalConns(ds: u32): u32 {
  return <u32> (atomic.load<i32>(ds + DSTATE_ACTIVE) + atomic.load<i32>(ds + DSTATE_INACT));
}

/** After a connection was counted on the dest whose state line is `ds`. */
export function overloadOnBind(ds: u32): void {
  const u = atomic.load<u32>(ds + DSTATE_UTHRESH);
  if (u == 0 || totalConns(ds) < u) return;
  // Read first: most binds find the flag already as it should be, and a
  // read does not take the shared line away from the other workers.
  if (!(atomic.load<u32>(ds + DSTATE_FLAGS) & DEST_OVERLOAD)) atomic.or<u32>(ds + DSTATE_FLAGS, DEST_OVERLOAD);
}

/** After a connection was taken off the dest whose state line is `ds`. */
export function overloadOnUnbind(ds: u32): void {
  if (!(atomic.load<u32>(ds + DSTATE_FLAGS) & DEST_OVERLOAD)) return;
  const l = atomic.load<u32>(ds + DSTATE_LTHRESH);
  const u = atomic.load<u32>(ds + DSTATE_UTHRESH);
  let clear = true; // no thresholds (any more): nothing holds the mark
  if (l != 0) clear = totalConns(ds) < l;
  else if (u != 0) clear = totalConns(ds) * 4 < u * 3;
  if (clear) atomic.and<u32>(ds + DSTATE_FLAGS, ~DEST_OVERLOAD);
}
