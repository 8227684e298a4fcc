/**
 * states.ts against lvsd's data plane (its state numbers and record flags
 * must match what the wire carries) and the kernel's sync rule
 * (ip_vs_sync_conn / ip_vs_sync_conn_needed) case by case.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  checkSyncSysctls,
  controlPkts,
  flagsOnReceive,
  IP_VS_CONN_F_BACKUP_MASK,
  IP_VS_CONN_F_BACKUP_UPD_MASK,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_ONE_PACKET,
  IP_VS_CONN_F_TEMPLATE,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_TCP_S_CLOSE,
  IP_VS_TCP_S_CLOSE_WAIT,
  IP_VS_TCP_S_ESTABLISHED,
  IP_VS_TCP_S_FIN_WAIT,
  IP_VS_TCP_S_LAST_ACK,
  IP_VS_TCP_S_NONE,
  IP_VS_TCP_S_SYN_RECV,
  IP_VS_TCP_S_SYN_SENT,
  IP_VS_TCP_S_SYNACK,
  IP_VS_TCP_S_TIME_WAIT,
  IP_VS_UDP_S_NORMAL,
  LVSD_CONN_F_INACTIVE,
  LVSD_CONN_F_NOOUTPUT,
  LVSD_CONN_F_ONE_PACKET,
  LVSD_CONN_F_TEMPLATE,
  lvsdFlags,
  stateName,
  SYNC_SYSCTL_DEFAULTS,
  syncable,
  type SyncCandidate,
  syncDecision,
  type SyncSysctls,
  TCP_STATE_NAMES,
  timeoutOnReceive,
  wireFlags,
} from "../../src/sync/states.ts";

const ASSEMBLY = new URL("../../wasm/assembly/", import.meta.url);
const source = (path: string) => Deno.readTextFileSync(new URL(path, ASSEMBLY));

/** `export const NAME: type = value;` from an AssemblyScript file. */
function constOf(text: string, name: string): number {
  const m = new RegExp(`export const ${name}: \\w+ = (0x[0-9a-f]+|\\d+);`, "i").exec(text);
  if (!m) throw new Error(`${name} not found`);
  return Number(m[1]);
}

Deno.test("states: lvsd numbers TCP states as the kernel does (wasm/assembly/proto/tcp.ts)", () => {
  const tcp = source("proto/tcp.ts");
  const names = /export const STATE_NAMES =\s*"([^"]+)"/.exec(tcp)?.[1].split(",");
  deepStrictEqual(names, [...TCP_STATE_NAMES]);
  const kernel: Record<string, number> = {
    S_NONE: IP_VS_TCP_S_NONE,
    S_ESTABLISHED: IP_VS_TCP_S_ESTABLISHED,
    S_SYN_SENT: IP_VS_TCP_S_SYN_SENT,
    S_SYN_RECV: IP_VS_TCP_S_SYN_RECV,
    S_FIN_WAIT: IP_VS_TCP_S_FIN_WAIT,
    S_TIME_WAIT: IP_VS_TCP_S_TIME_WAIT,
    S_CLOSE: IP_VS_TCP_S_CLOSE,
    S_CLOSE_WAIT: IP_VS_TCP_S_CLOSE_WAIT,
    S_LAST_ACK: IP_VS_TCP_S_LAST_ACK,
    S_SYNACK: IP_VS_TCP_S_SYNACK,
  };
  for (const [name, n] of Object.entries(kernel)) strictEqual(constOf(tcp, name), n, name);
  strictEqual(constOf(source("proto/udp.ts"), "UDP_S_NORMAL"), IP_VS_UDP_S_NORMAL);
});

Deno.test("states: lvsd's record flag bits and forwarding methods (wasm/assembly/layout.ts)", () => {
  const layout = source("layout.ts");
  strictEqual(constOf(layout, "CONN_F_INACTIVE"), LVSD_CONN_F_INACTIVE);
  strictEqual(constOf(layout, "CONN_F_TEMPLATE"), LVSD_CONN_F_TEMPLATE);
  strictEqual(constOf(layout, "CONN_F_ONE_PACKET"), LVSD_CONN_F_ONE_PACKET);
  strictEqual(constOf(layout, "CONN_F_NOOUTPUT"), LVSD_CONN_F_NOOUTPUT);
  strictEqual(constOf(layout, "FWD_MASQ"), 0);
  strictEqual(constOf(layout, "FWD_TUNNEL"), IP_VS_CONN_F_TUNNEL);
  strictEqual(constOf(layout, "FWD_ROUTE"), IP_VS_CONN_F_DROUTE);
});

Deno.test("states: flag masks and the mapping to and from lvsd's record", () => {
  strictEqual(IP_VS_CONN_F_BACKUP_MASK, 0x1f87);
  strictEqual(IP_VS_CONN_F_BACKUP_UPD_MASK, 0x0700);
  // A DR connection not yet established: DROUTE | NOOUTPUT | INACTIVE.
  const dr = { fwd: 3, lvsdFlags: LVSD_CONN_F_INACTIVE | LVSD_CONN_F_NOOUTPUT };
  strictEqual(wireFlags(dr), 0x183);
  deepStrictEqual(lvsdFlags(0x183), dr);
  strictEqual(wireFlags({ fwd: 0, lvsdFlags: LVSD_CONN_F_TEMPLATE }), IP_VS_CONN_F_TEMPLATE);
  strictEqual(wireFlags({ fwd: 2, lvsdFlags: LVSD_CONN_F_ONE_PACKET }), 0x2002);
  // Received: ONE_PACKET, HASHED, NFCT (bit 16) go, SYNC comes; SEQ/NO_CPORT have no lvsd bit.
  // NFCT | ONE_PACKET | bits 0,1,4..11  ->  DROUTE | NOOUTPUT | INACTIVE | SEQ | NO_CPORT | SYNC.
  strictEqual(flagsOnReceive(0x12ff3), 0x0fa3);
  deepStrictEqual(lvsdFlags(flagsOnReceive(0x1e00 | IP_VS_CONN_F_ONE_PACKET)), {
    fwd: 0,
    lvsdFlags: LVSD_CONN_F_TEMPLATE,
  });
});

Deno.test("states: names and timeouts on receive", () => {
  strictEqual(stateName("tcp", IP_VS_TCP_S_TIME_WAIT, false), "TIME_WAIT");
  strictEqual(stateName("udp", 0, false), "UDP");
  strictEqual(stateName("tcp", 0, true), "NONE");
  strictEqual(stateName("udp", 1, true), "ASSURED");
  strictEqual(stateName("tcp", 11, false), "ERR!");
  const tcpTable = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];
  strictEqual(timeoutOnReceive({ timeout: 77, state: 1, flags: 0 }, tcpTable), 77);
  strictEqual(timeoutOnReceive({ timeout: 0, state: IP_VS_TCP_S_CLOSE, flags: 0 }, tcpTable), 10);
  strictEqual(timeoutOnReceive({ timeout: 0, state: 0, flags: IP_VS_CONN_F_TEMPLATE }, tcpTable), 180);
});

const tcp = (state: number, oldState: number, pkts: number, flags = 0): SyncCandidate => ({
  proto: "tcp",
  state,
  oldState,
  pkts,
  flags,
});

Deno.test("sync rule: TCP syncs only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT", () => {
  for (const s of [IP_VS_TCP_S_NONE, IP_VS_TCP_S_SYN_SENT, IP_VS_TCP_S_SYN_RECV, IP_VS_TCP_S_LAST_ACK, 9, 10]) {
    for (const pkts of [1, 3, 53]) strictEqual(syncable(tcp(s, IP_VS_TCP_S_NONE, pkts)), false, `state ${s}`);
  }
});

Deno.test("sync rule: ESTABLISHED syncs when pkts % sync_period == sync_threshold, even on entering it", () => {
  const at = (pkts: number, old = IP_VS_TCP_S_ESTABLISHED) => syncable(tcp(IP_VS_TCP_S_ESTABLISHED, old, pkts));
  deepStrictEqual([1, 2, 3, 4, 50, 52, 53, 54, 103, 153].map((p) => at(p)), [
    false,
    false,
    true,
    false,
    false,
    false,
    true,
    false,
    true,
    true,
  ]);
  // Entering ESTABLISHED (from SYN_RECV) is not forced: packet 2 waits, packet 3 goes.
  strictEqual(at(2, IP_VS_TCP_S_SYN_RECV), false);
  deepStrictEqual(syncDecision(tcp(IP_VS_TCP_S_ESTABLISHED, IP_VS_TCP_S_SYN_RECV, 3)), {
    sync: true,
    forced: true,
    oldState: IP_VS_TCP_S_ESTABLISHED,
    syncEndtime: 0,
  });
});

Deno.test("sync rule: a change into FIN_WAIT, CLOSE, CLOSE_WAIT or TIME_WAIT syncs at once", () => {
  for (const s of [IP_VS_TCP_S_FIN_WAIT, IP_VS_TCP_S_CLOSE, IP_VS_TCP_S_CLOSE_WAIT, IP_VS_TCP_S_TIME_WAIT]) {
    const d = syncDecision(tcp(s, IP_VS_TCP_S_ESTABLISHED, 17));
    deepStrictEqual(d, { sync: true, forced: true, oldState: s, syncEndtime: 0 }, `state ${s}`);
    // Once synced in that state, only the packet rule.
    strictEqual(syncable(tcp(s, s, 17)), false);
    strictEqual(syncable(tcp(s, s, 53)), true);
  }
  // The old state only moves when it syncs (a skipped packet keeps it).
  deepStrictEqual(syncDecision(tcp(IP_VS_TCP_S_SYN_RECV, IP_VS_TCP_S_NONE, 3)).oldState, IP_VS_TCP_S_NONE);
});

Deno.test("sync rule: UDP by packet count only; templates whenever considered; one-packet never", () => {
  const udp = (pkts: number): SyncCandidate => ({ proto: "udp", state: 0, oldState: 0, pkts, flags: 0 });
  deepStrictEqual([2, 3, 4, 53].map((p) => syncable(udp(p))), [false, true, false, true]);
  for (const pkts of [1, 2, 4, 99]) strictEqual(syncable(tcp(0, 0, pkts, IP_VS_CONN_F_TEMPLATE)), true);
  strictEqual(syncable({ ...udp(3), flags: IP_VS_CONN_F_ONE_PACKET }), false);
  strictEqual(syncable(tcp(IP_VS_TCP_S_FIN_WAIT, 1, 3, IP_VS_CONN_F_ONE_PACKET)), false);
  strictEqual(controlPkts({ flags: IP_VS_CONN_F_TEMPLATE, inPktsAfterIncrement: 8 }), 8);
  strictEqual(controlPkts({ flags: 0, inPktsAfterIncrement: 8 }), 3);
});

Deno.test("sync rule: sync_period 0 syncs once, at sync_threshold packets (templates too)", () => {
  const s: SyncSysctls = { ...SYNC_SYSCTL_DEFAULTS, syncPeriod: 0 };
  deepStrictEqual([2, 3, 4, 53].map((p) => syncable(tcp(1, 1, p), s)), [false, true, false, false]);
  deepStrictEqual([2, 3, 53].map((p) => syncable(tcp(0, 0, p, IP_VS_CONN_F_TEMPLATE), s)), [false, true, false]);
  // State changes other than into ESTABLISHED still force.
  strictEqual(syncable(tcp(IP_VS_TCP_S_CLOSE, 1, 40), s), true);
});

Deno.test("sync rule: sync_persist_mode leaves connections under a template to the template", () => {
  const s: SyncSysctls = { ...SYNC_SYSCTL_DEFAULTS, syncPersistMode: 1 };
  strictEqual(syncable({ ...tcp(IP_VS_TCP_S_FIN_WAIT, 1, 3), inPersistence: true }, s), false);
  strictEqual(syncable({ ...tcp(IP_VS_TCP_S_FIN_WAIT, 1, 3), inPersistence: false }, s), true);
  strictEqual(syncable({ ...tcp(0, 0, 5, IP_VS_CONN_F_TEMPLATE), inPersistence: true }, s), true);
  strictEqual(syncable({ ...tcp(IP_VS_TCP_S_FIN_WAIT, 1, 3), inPersistence: true }), true); // mode 0
});

Deno.test("sync rule: sync_refresh_period and sync_retries", () => {
  const s: SyncSysctls = { ...SYNC_SYSCTL_DEFAULTS, syncPeriod: 0, syncRefreshPeriodMs: 10_000, syncRetries: 2 };
  const est = (nowMs: number, syncEndtime: number) =>
    syncDecision({ ...tcp(1, 1, 999), nowMs, timeoutMs: 900_000, syncEndtime }, s);
  // Never synced: goes, announcing expiry 900000.
  deepStrictEqual(est(0, 0), { sync: true, forced: false, oldState: 1, syncEndtime: 900_000 });
  // Within the refresh period: a retry only after refresh/8 (1250 ms), counted in the low bits.
  strictEqual(est(1000, 900_000).sync, false);
  deepStrictEqual(est(2000, 900_000), { sync: true, forced: false, oldState: 1, syncEndtime: 902_001 });
  strictEqual(est(3000, 902_001).sync, false);
  deepStrictEqual(est(3300, 902_001).syncEndtime, 903_302);
  strictEqual(est(5000, 903_302).sync, false); // retries used up
  // Past the refresh period: goes again, retry count reset.
  deepStrictEqual(est(20_000, 903_302), { sync: true, forced: false, oldState: 1, syncEndtime: 920_000 });
  // With sync_retries 0, nothing within the period.
  strictEqual(
    syncDecision({ ...tcp(1, 1, 3), nowMs: 2000, timeoutMs: 900_000, syncEndtime: 900_000 }, {
      ...s,
      syncRetries: 0,
    }).sync,
    false,
  );
});

Deno.test("sync sysctls: the kernel's defaults pass, what proc_do_sync_threshold refuses throws", () => {
  checkSyncSysctls(SYNC_SYSCTL_DEFAULTS);
  checkSyncSysctls({ ...SYNC_SYSCTL_DEFAULTS, syncThreshold: 100, syncPeriod: 0 });
  throws(
    () => checkSyncSysctls({ ...SYNC_SYSCTL_DEFAULTS, syncThreshold: 50 }),
    /sync_threshold: 50 must be below sync_period 50/,
  );
  throws(() => checkSyncSysctls({ ...SYNC_SYSCTL_DEFAULTS, syncPeriod: -1 }), /sync_period: -1/);
  throws(
    () => checkSyncSysctls({ ...SYNC_SYSCTL_DEFAULTS, syncRetries: 4 }),
    /sync_retries: 4 is not an integer in 0\.\.3/,
  );
});
