// TCP connection states, timeouts and transitions as in the kernel's
// net/netfilter/ipvs/ip_vs_proto_tcp.c (tcp_states[], tcp_state_active_table,
// tcp_timeouts[]). The tables are facts about IPVS; lvsd follows them so that
// ActiveConn/InActConn and expiry match what ipvsadm users see.

export const S_NONE: u8 = 0;
export const S_ESTABLISHED: u8 = 1;
export const S_SYN_SENT: u8 = 2;
export const S_SYN_RECV: u8 = 3;
export const S_FIN_WAIT: u8 = 4;
export const S_TIME_WAIT: u8 = 5;
export const S_CLOSE: u8 = 6;
export const S_CLOSE_WAIT: u8 = 7;
export const S_LAST_ACK: u8 = 8;
export const S_LISTEN: u8 = 9;
export const S_SYNACK: u8 = 10;
export const S_COUNT: u32 = 11;

export const STATE_NAMES =
  "NONE,ESTABLISHED,SYN_SENT,SYN_RECV,FIN_WAIT,TIME_WAIT,CLOSE,CLOSE_WAIT,LAST_ACK,LISTEN,SYNACK";

/** Default timeouts in seconds, indexed by state (tcp_timeouts[]). */
export const DEFAULT_TIMEOUTS: StaticArray<u32> = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];

/** States counted in ActiveConn (tcp_state_active_table). */
// @ts-ignore: decorator

export function isActive(state: u32): bool {
  return state == S_ESTABLISHED || state == S_SYN_SENT || state == S_SYN_RECV ||
    state == S_SYNACK;
}

export const DIR_INPUT: u32 = 0; // client -> director
export const DIR_OUTPUT: u32 = 4; // real server -> client (through a NAT director)
export const DIR_INPUT_ONLY: u32 = 8; // DR/TUN: replies bypass the director

// Rows: direction offset + flag index (syn 0, fin 1, ack 2, rst 3);
// columns: current state (sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA).
// Verbatim from tcp_states[] in today's ip_vs_proto_tcp.c. Since sloppy_tcp
// was added, an ACK from the client on a connection in NONE moves it to
// ESTABLISHED (older kernels moved it to CLOSE). Only a connection that a
// segment other than a SYN started (sloppy_tcp) is in NONE when its first
// segment is handled: a director taking over an established flow counts it
// as active, with the tcp timeout.
export const NEXT_STATE: StaticArray<u8> = [
  // INPUT
  /*syn*/ 3,
  1,
  1,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  /*fin*/ 6,
  7,
  2,
  5,
  5,
  5,
  6,
  7,
  8,
  9,
  5,
  /*ack*/ 1,
  1,
  2,
  1,
  4,
  5,
  6,
  7,
  6,
  9,
  1,
  /*rst*/ 6,
  6,
  6,
  3,
  6,
  6,
  6,
  6,
  8,
  9,
  3,
  // OUTPUT
  /*syn*/ 2,
  1,
  2,
  3,
  2,
  2,
  2,
  2,
  2,
  9,
  3,
  /*fin*/ 5,
  4,
  2,
  5,
  4,
  5,
  6,
  5,
  8,
  9,
  5,
  /*ack*/ 1,
  1,
  2,
  1,
  4,
  5,
  6,
  7,
  8,
  1,
  1,
  /*rst*/ 6,
  6,
  2,
  6,
  6,
  5,
  6,
  6,
  6,
  6,
  6,
  // INPUT-ONLY
  /*syn*/ 3,
  1,
  1,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  /*fin*/ 6,
  4,
  2,
  5,
  4,
  5,
  6,
  7,
  8,
  9,
  5,
  /*ack*/ 1,
  1,
  2,
  1,
  4,
  5,
  6,
  7,
  6,
  9,
  1,
  /*rst*/ 6,
  6,
  6,
  3,
  6,
  6,
  6,
  6,
  8,
  9,
  6,
];

/** tcp_state_idx(): rst > syn > fin > ack; -1 when none is set. */
// @ts-ignore: decorator

export function flagIndex(flags: u32): i32 {
  if (flags & 0x04) return 3;
  if (flags & 0x02) return 0;
  if (flags & 0x01) return 1;
  if (flags & 0x10) return 2;
  return -1;
}

/** Next state for a segment with `flags` seen in direction `dir`. */
// @ts-ignore: decorator

export function nextState(state: u32, dir: u32, flags: u32): u32 {
  const idx = flagIndex(flags);
  // set_tcp_state(): a segment with none of the four flags moves to CLOSE.
  if (idx < 0) return S_CLOSE;
  return unchecked(NEXT_STATE[(dir + <u32> idx) * S_COUNT + state]);
}
