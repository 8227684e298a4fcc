/**
 * UDP_CHECK specifics against a real UDP server on 127.0.0.1: the payload
 * sent (hex, text, keepalived-like default), require_reply prefixes with
 * wildcards, reply_regex, reply length limits, and silence.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { checkUdp } from "../../src/health/udp.ts";
import type { UdpOptions } from "../../src/health/types.ts";
import { udpServer } from "./servers.ts";

const never = new AbortController().signal;
const text = (s: string) => new TextEncoder().encode(s);

/** A server replying `reply` (or echoing), recording what it received. */
async function server(reply?: Uint8Array) {
  const got: Uint8Array[] = [];
  const srv = await udpServer((m) => {
    got.push(m);
    return reply ?? m;
  });
  return { ...srv, got };
}

async function check(port: number, opts: UdpOptions) {
  return await checkUdp({ address: "127.0.0.1", port }, { connect_timeout: 0.5, ...opts }, never);
}

Deno.test("udp: payload is sent as hex bytes, or as text with payload_text", async () => {
  const srv = await server();
  try {
    strictEqual((await check(srv.port, { payload: "de ad be ef 0" })).up, true);
    strictEqual((await check(srv.port, { payload_text: "PING\n" })).up, true);
    strictEqual((await check(srv.port, {})).up, true);
    deepStrictEqual([...srv.got[0]], [0xde, 0xad, 0xbe, 0xef, 0x00]);
    deepStrictEqual([...srv.got[1]], [...text("PING\n")]);
    strictEqual(srv.got[2].length, 32, "the default payload is 32 bytes, as keepalived's");
    ok(new TextDecoder().decode(srv.got[2]).startsWith("lvsd check - "));
  } finally {
    await srv.close();
  }
});

Deno.test("udp: require_reply is a hex prefix with x wildcards, compared over the shorter length (keepalived)", async () => {
  const srv = await server(new Uint8Array([0x01, 0x02, 0xab, 0xcd]));
  try {
    const cases: [string, boolean][] = [
      ["01 02", true],
      ["0102abcd", true],
      ["01 02 ax xd", true],
      ["xx xx xx xx", true],
      ["01 03", false],
      ["01 02 ab ce", false],
      ["01 02 ab cd ee ff", true], // the reply is shorter: only its 4 bytes are compared, as check_udp_reply does
    ];
    for (const [pattern, up] of cases) {
      const r = await check(srv.port, { require_reply: pattern });
      strictEqual(r.up, up, `${pattern}: ${r.detail}`);
      if (!up) ok(/does not start with/.test(r.detail), r.detail);
    }
  } finally {
    await srv.close();
  }
});

Deno.test("udp: reply_regex matches the reply as text", async () => {
  const srv = await server(text("+PONG role=master"));
  try {
    strictEqual((await check(srv.port, { reply_regex: "^\\+PONG" })).up, true);
    const r = await check(srv.port, { reply_regex: "role=slave" });
    strictEqual(r.up, false);
    ok(/does not match/.test(r.detail), r.detail);
  } finally {
    await srv.close();
  }
});

Deno.test("udp: min/max_reply_length bound the reply", async () => {
  const srv = await server(new Uint8Array(10));
  try {
    strictEqual((await check(srv.port, { min_reply_length: 10, max_reply_length: 10 })).up, true);
    const short = await check(srv.port, { min_reply_length: 11 });
    strictEqual(short.up, false);
    ok(/10 bytes is outside 11\.\.65535/.test(short.detail), short.detail);
    strictEqual((await check(srv.port, { max_reply_length: 9 })).up, false);
  } finally {
    await srv.close();
  }
});

Deno.test("udp: silence is down (a reply is always required)", async () => {
  const srv = await udpServer(() => null);
  try {
    const r = await check(srv.port, { payload_text: "hello?" });
    strictEqual(r.up, false);
    ok(/reply: timed out/.test(r.detail), r.detail);
  } finally {
    await srv.close();
  }
});

Deno.test("udp: a bad hex option is a down result naming it", async () => {
  const r = await check(1, { payload: "zz" });
  strictEqual(r.up, false);
  ok(/Cannot parse hex "zz"/.test(r.detail), r.detail);
});
