/**
 * DNS_CHECK against a tiny responder on 127.0.0.1: the query's bytes, and
 * exactly what keepalived's dns_recv_thread accepts (NOERROR up whatever
 * the answer count; any other RCODE down; wrong ID, a query, or a short
 * datagram ignored while the wait goes on).
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { checkDns } from "../../src/health/dns.ts";
import type { DnsOptions } from "../../src/health/types.ts";
import { type DnsMode, dnsResponder } from "./dns_responder.ts";

const never = new AbortController().signal;

async function check(mode: DnsMode, opts: DnsOptions = {}) {
  const srv = await dnsResponder(mode);
  try {
    const r = await checkDns(
      { address: "127.0.0.1", port: srv.port },
      { connect_timeout: 0.5, ...opts },
      never,
      () => 0x1234,
    );
    return { r, queries: srv.queries };
  } finally {
    await srv.close();
  }
}

Deno.test("dns: the query is one question, RD set, in class IN, with the asked type and name", async () => {
  const { r, queries } = await check("answer", { type: "MX", name: "mail.example.test." });
  strictEqual(r.up, true, r.detail);
  strictEqual(queries.length, 1);
  const q = queries[0];
  deepStrictEqual([...q.subarray(0, 12)], [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const name = [
    4,
    ..."mail".split("").map((c) => c.charCodeAt(0)),
    7,
    ..."example".split("").map((c) => c.charCodeAt(0)),
    4,
    ..."test".split("").map((c) => c.charCodeAt(0)),
    0,
  ];
  deepStrictEqual([...q.subarray(12, 12 + name.length)], name);
  deepStrictEqual([...q.subarray(12 + name.length)], [0, 15, 0, 1], "QTYPE MX (15), QCLASS IN");
});

Deno.test("dns: the defaults are SOA for the root, as keepalived's", async () => {
  const { r, queries } = await check("answer");
  strictEqual(r.up, true);
  deepStrictEqual([...queries[0].subarray(12)], [0, 0, 6, 0, 1]);
  ok(/SOA \.: NOERROR, 1 answer/.test(r.detail), r.detail);
});

Deno.test("dns: every DNS_CHECK type is sent with its QTYPE (case does not matter)", async () => {
  const codes: Record<string, number> = {
    a: 1,
    NS: 2,
    cname: 5,
    SOA: 6,
    MX: 15,
    TXT: 16,
    AAAA: 28,
    RRSIG: 46,
    DNSKEY: 48,
  };
  for (const [type, code] of Object.entries(codes)) {
    const { queries } = await check("answer", { type: type as DnsOptions["type"], name: "x" });
    const q = queries[0];
    strictEqual((q[q.length - 4] << 8) | q[q.length - 3], code, type);
  }
});

Deno.test("dns: NOERROR with answers is up, NXDOMAIN and SERVFAIL are down", async () => {
  strictEqual((await check("answer", { type: "A", name: "www.example.test" })).r.up, true);
  const nx = (await check("nxdomain", { type: "A", name: "nope.example.test" })).r;
  strictEqual(nx.up, false);
  ok(/rcode 3 \(NXDOMAIN\)/.test(nx.detail), nx.detail);
  const sf = (await check("servfail")).r;
  strictEqual(sf.up, false);
  ok(/rcode 2 \(SERVFAIL\)/.test(sf.detail), sf.detail);
});

Deno.test("dns: NOERROR with no answers is up, as keepalived (it never reads ANCOUNT); require_answer makes it down", async () => {
  strictEqual((await check("nodata", { type: "AAAA", name: "v4only.example.test" })).r.up, true);
  const strict = (await check("nodata", { type: "AAAA", name: "v4only.example.test", require_answer: true })).r;
  strictEqual(strict.up, false);
  ok(/NOERROR with no answers/.test(strict.detail), strict.detail);
  strictEqual((await check("answer", { require_answer: true })).r.up, true);
});

Deno.test("dns: a reply with the wrong ID is ignored: down by timeout alone, up when the right one follows", async () => {
  const alone = (await check("wrong-id")).r;
  strictEqual(alone.up, false);
  ok(/timed out.*1 unmatched datagram ignored/.test(alone.detail), alone.detail);
  strictEqual((await check("wrong-id-then-answer")).r.up, true);
});

Deno.test("dns: a datagram without QR, or shorter than a header, is ignored", async () => {
  for (const mode of ["query-bit", "short"] as const) {
    const r = (await check(mode)).r;
    strictEqual(r.up, false, mode);
    ok(/timed out/.test(r.detail), r.detail);
  }
});

Deno.test("dns: a bad type or name is a down result naming it", async () => {
  ok(
    /not a DNS_CHECK type/.test(
      (await checkDns({ address: "127.0.0.1", port: 1 }, { type: "PTR" as "A" }, never)).detail,
    ),
  );
  ok(/empty label/.test((await checkDns({ address: "127.0.0.1", port: 1 }, { name: "a..b" }, never)).detail));
});
