/**
 * `ipvsadm -L --timeout` (list_timeout in ipvsadm.c):
 * `"Timeout (tcp tcpfin udp): %d %d %d\n"`.
 *
 * @module
 */

/** The timeout line; each value must be a whole number of seconds. */
export function formatTimeouts(t: { tcp: number; tcpfin: number; udp: number }): string {
  for (const k of ["tcp", "tcpfin", "udp"] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 0) {
      throw new TypeError(
        `timeouts: "${k}" must be a non-negative integer, got ${JSON.stringify(t[k]) ?? String(t[k])}`,
      );
    }
  }
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}
