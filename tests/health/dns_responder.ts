/**
 * A tiny DNS responder for DNS_CHECK tests: answers each query according to
 * `mode` and records the queries it got. Built by hand from RFC 1035 §4.1
 * so the test does not share code with the checker's packet builder.
 */

import { type TestServer, udpServer } from "./servers.ts";

/** How the responder answers. */
export type DnsMode =
  | "answer" // NOERROR, ANCOUNT 1 (an A record)
  | "nodata" // NOERROR, ANCOUNT 0
  | "nxdomain" // RCODE 3
  | "servfail" // RCODE 2
  | "wrong-id" // a NOERROR answer with the ID + 1
  | "wrong-id-then-answer" // the wrong-ID answer, then the right one
  | "query-bit" // the right ID but QR clear (a query, not a response)
  | "short" // 6 bytes
  | "silent";

/** A responder and what it received. */
export interface DnsResponder extends TestServer {
  queries: Uint8Array[];
}

/** Starts a responder on 127.0.0.1 (`port` 0 = any). */
export async function dnsResponder(mode: DnsMode, port = 0): Promise<DnsResponder> {
  const queries: Uint8Array[] = [];
  const srv = await udpServer((q) => {
    queries.push(q);
    if (mode === "silent") return null;
    if (mode === "short") return new Uint8Array(6);
    const id = (q[0] << 8) | q[1];
    const rcode = mode === "nxdomain" ? 3 : mode === "servfail" ? 2 : 0;
    const ancount = mode === "answer" || mode.startsWith("wrong-id") ? 1 : 0;
    const qr = mode === "query-bit" ? 0 : 0x80;
    const make = (rid: number) => reply(q, rid & 0xffff, qr, rcode, ancount);
    if (mode === "wrong-id") return make(id + 1);
    if (mode === "wrong-id-then-answer") return [make(id + 1), make(id)];
    return make(id);
  }, port);
  return { port: srv.port, queries, close: () => srv.close() };
}

/** A response to query `q`: header, the question copied, and `ancount` A records (127.0.0.9). */
function reply(q: Uint8Array, id: number, qr: number, rcode: number, ancount: number): Uint8Array {
  // Question: from byte 12 to the end of QNAME + 4.
  let i = 12;
  while (q[i] !== 0) i += q[i] + 1;
  const question = q.subarray(12, i + 5);
  const answer = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 9]; // name ptr, A, IN, TTL 60, RDLEN 4
  const out = new Uint8Array(12 + question.length + answer.length * ancount);
  out[0] = (id >> 8) & 0xff;
  out[1] = id & 0xff;
  out[2] = qr | 0x01; // QR, RD
  out[3] = 0x80 | rcode; // RA, RCODE
  out[5] = 1; // QDCOUNT
  out[7] = ancount;
  out.set(question, 12);
  for (let k = 0; k < ancount; k++) out.set(answer, 12 + question.length + k * answer.length);
  return out;
}
