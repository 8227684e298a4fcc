/**
 * DNS_CHECK: one query (type, name) over UDP to the dest, default port 53.
 * What keepalived's dns_recv_thread (check_dns.c) accepts, exactly:
 * - a datagram shorter than the 12-byte header, one whose ID is not the
 *   query's, or one without the QR bit is ignored and the wait goes on;
 * - the first reply with the ID and QR decides: RCODE 0 (NOERROR) is up,
 *   any other RCODE is down;
 * - the answer count is NOT looked at: NOERROR with no answers (NODATA) is
 *   up. `require_answer: true` (lvsd) also demands ANCOUNT > 0.
 * No reply within connect_timeout is down.
 *
 * @module
 */

import { Deadline } from "./deadline.ts";
import { buildQuery, parseHeader, rcodeName } from "./dns_packet.ts";
import { connectTimeoutMs } from "./options.ts";
import { openUdp, type UdpExchange } from "./udp_socket.ts";
import { type CheckResult, type CheckTarget, DNS_TYPES, type DnsOptions, type DnsType } from "./types.ts";

/** The port used when the dest has none (port 0: a port-wildcard service). */
export const DNS_PORT = 53;

/** Queries the dest; never throws. `randomId` is for tests. */
export async function checkDns(
  target: CheckTarget,
  opts: DnsOptions,
  signal: AbortSignal,
  randomId: () => number = () => crypto.getRandomValues(new Uint16Array(1))[0],
): Promise<CheckResult> {
  const type = (opts.type ?? "SOA").toUpperCase() as DnsType;
  const qtype = DNS_TYPES[type];
  const id = randomId() & 0xffff;
  let query: Uint8Array;
  try {
    if (qtype === undefined) throw new Error(`${JSON.stringify(opts.type)} is not a DNS_CHECK type`);
    query = buildQuery(id, opts.name ?? ".", qtype);
  } catch (e) {
    return { up: false, detail: `invalid option: ${(e as Error).message}` };
  }
  const to = { address: target.address, port: target.port || DNS_PORT };
  using deadline = new Deadline(signal, connectTimeoutMs(opts));
  let sock: UdpExchange | undefined;
  let step = "connect";
  let ignored = 0;
  try {
    sock = await deadline.race(openUdp(to, deadline.signal), (s) => void s.close());
    step = "send";
    await deadline.race(sock.send(query));
    step = "reply";
    while (true) {
      const reply = await deadline.race(sock.receive());
      const h = parseHeader(reply);
      if (!h || h.id !== id || !h.isResponse) {
        ignored++;
        continue;
      }
      const what = `${type} ${opts.name ?? "."}`;
      if (h.rcode !== 0) return { up: false, detail: `${what}: rcode ${rcodeName(h.rcode)}` };
      if (opts.require_answer && h.ancount === 0) return { up: false, detail: `${what}: NOERROR with no answers` };
      return { up: true, detail: `${what}: NOERROR, ${h.ancount} answer${h.ancount === 1 ? "" : "s"}` };
    }
  } catch (e) {
    const note = ignored ? ` (${ignored} unmatched datagram${ignored === 1 ? "" : "s"} ignored)` : "";
    return { up: false, detail: deadline.explain(e, step) + note };
  } finally {
    await sock?.close();
  }
}
