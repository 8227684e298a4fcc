/**
 * The sync backup's side: installs decoded entries into the shared table
 * through the module's sync_install (wasm/assembly/sync_install.ts), with
 * the client-side next hop the caller resolved.
 */
import type { SharedState } from "../dataplane/shared_state.ts";
import { ipv4Number } from "./addr_cache.ts";
import type { SyncConn } from "./layout.ts";
import { IP_VS_CONN_F_INACTIVE, isTemplate, PROTO_NUMBERS, timeoutOnReceive } from "./states.ts";

/** Where replies to a client go: the interface slot, the next hop's MAC, the 802.1Q TCI. */
export interface ClientHop {
  slot: number;
  mac: Uint8Array;
  vlan?: number;
}

/** What an install did: a new entry, an update of one present, or why nothing was installed. */
export type InstallOutcome = "installed" | "updated" | "no_service" | "no_dest" | "conn_table_full";

const OUTCOMES: Record<number, InstallOutcome> = {
  1: "installed",
  2: "updated",
  [-1]: "no_service",
  [-2]: "no_dest",
  [-3]: "conn_table_full",
};

/** Wire-order u32 of a dotted quad, as the table stores it (loaded little-endian from frame bytes). */
function wire32(addr: string): number {
  const n = ipv4Number(addr)!;
  return (((n & 0xff) << 24) | ((n >>> 8 & 0xff) << 16) | ((n >>> 16 & 0xff) << 8) | (n >>> 24)) >>> 0;
}

function wire16(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

/** The kernel's timeouts by TCP state and for UDP, as the receiver's defaults (a 0 timeout on the wire). */
function defaultTimeouts(state: SharedState, conn: SyncConn): number[] {
  const l = state.layout;
  const base = l.CTRL + l.CTRL_TIMEOUTS;
  if (conn.proto === "udp") return [state.view.getUint32(base + l.TIMEOUT_UDP_SLOT * 4, true)];
  return Array.from({ length: 11 }, (_, i) => state.view.getUint32(base + i * 4, true));
}

/**
 * Installs or updates one received entry (flags as decodeMessage returns
 * them) at `now` (the data plane's clock, ms). `hop` is the client-side
 * next hop; without one, replies before the client's next packet go
 * nowhere useful (the next client packet sets it).
 */
export function installConn(state: SharedState, conn: SyncConn, hop: ClientHop | null, now: number): InstallOutcome {
  const l = state.layout;
  state.u8.fill(0, l.CTRL + l.CTRL_SYNC_CMAC, l.CTRL + l.CTRL_SYNC_CMAC + 6);
  if (hop) state.u8.set(hop.mac.subarray(0, 6), l.CTRL + l.CTRL_SYNC_CMAC);
  const r = state.exports.sync_install(
    PROTO_NUMBERS[conn.proto],
    isTemplate(conn.flags) ? 1 : 0,
    conn.flags & IP_VS_CONN_F_INACTIVE ? 1 : 0,
    conn.state,
    wire32(conn.caddr),
    wire16(conn.cport),
    wire32(conn.vaddr),
    wire16(conn.vport),
    wire32(conn.daddr),
    wire16(conn.dport),
    // The receiver's defaults are read only for an entry that carries no timeout.
    conn.timeout > 0 ? conn.timeout : timeoutOnReceive(conn, defaultTimeouts(state, conn)),
    hop?.slot ?? 0,
    hop?.vlan ?? 0,
    now,
  );
  return OUTCOMES[r] ?? "no_service";
}
