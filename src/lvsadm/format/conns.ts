/**
 * `ipvsadm -L -c` (list_conn and print_conn in ipvsadm.c 1.31). ipvsadm
 * reads /proc/net/ip_vs_conn, whose expiry column is whole seconds left
 * (the kernel's ip_vs_conn_seq_show divides the timer's jiffies by HZ),
 * and prints each entry as
 * `"%-3s %-6s %-11s %-18s %-18s %s"`: protocol, expiry as `%02d:%02d`
 * minutes and seconds (minutes not capped), state, then client, virtual
 * and destination address:port, as names unless -n (the port names looked
 * up under the entry's protocol). Wider names simply push the columns.
 *
 * With --persistent-conn the title gains "pe name" and "pe_data" columns;
 * ipvsadm fills them only for entries that carry persistence-engine data,
 * which lvsd does not have, so the rows keep the plain layout.
 *
 * @module
 */

import type { ConnectionView } from "../../api/model.ts";
import { addrPort, type Names } from "./names.ts";
import { left } from "./text.ts";

/** The expiry column: whole seconds left as mm:ss (`sprintf("%02d:%02d", minutes, seconds)`). */
export function expireText(expiresMs: number): string {
  const s = Math.max(0, Math.floor(expiresMs / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

function checked(c: ConnectionView, i: number): ConnectionView {
  const bad = (key: string, expected: string): never => {
    const v = (c as unknown as Record<string, unknown>)[key];
    throw new TypeError(`connection #${i}: "${key}" must be ${expected}, got ${JSON.stringify(v) ?? String(v)}`);
  };
  for (const k of ["proto", "state", "client", "vip", "dest"] as const) {
    if (typeof c[k] !== "string") bad(k, "a string");
  }
  for (const k of ["client_port", "vport", "dport"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > 65535) bad(k, "a port number");
  }
  if (typeof c.expires_ms !== "number" || !Number.isFinite(c.expires_ms)) bad("expires_ms", "a number");
  return c;
}

/** The listing of `conns` in the order given (ipvsadm prints /proc's order, it does not sort). */
export function formatConnections(conns: ConnectionView[], opts: { persistentConn: boolean }, names: Names): string {
  let out = "IPVS connection entries\n";
  out += opts.persistentConn
    ? `pro expire ${left("state", 11)} ${left("source", 18)} ${left("virtual", 18)} ${left("destination", 18)} ${
      left("pe name", 16)
    } pe_data\n`
    : `pro expire ${left("state", 11)} ${left("source", 18)} ${left("virtual", 18)} destination\n`;
  conns.forEach((raw, i) => {
    const c = checked(raw, i);
    const proto = c.proto.toLowerCase();
    out += `${left(c.proto.toUpperCase(), 3)} ${left(expireText(c.expires_ms), 6)} ${left(c.state, 11)} ${
      left(addrPort(c.client, c.client_port, proto, names), 18)
    } ${left(addrPort(c.vip, c.vport, proto, names), 18)} ${addrPort(c.dest, c.dport, proto, names)}\n`;
  });
  return out;
}
