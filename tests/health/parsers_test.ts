/** The small parsers the checkers share: keepalived hex strings, status_code lists, DNS names, HTTP heads. */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { matchesHexPrefix, parseHex, toHex } from "../../src/health/hex.ts";
import { parseStatusCodes } from "../../src/health/status_codes.ts";
import { buildQuery, encodeName, parseHeader } from "../../src/health/dns_packet.ts";
import { buildRequest, defaultHost, parseHead } from "../../src/health/http_response.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("hex: pairs, spaces between bytes, a lone digit before a space is a byte (read_hex_str)", () => {
  strictEqual(toHex(parseHex("deadBEEF").bytes), "deadbeef");
  strictEqual(toHex(parseHex(" 1 02\t0a f ").bytes), "01020a0f");
  strictEqual(toHex(parseHex("abc").bytes), "ab0c", "odd digit count: the last digit is its own byte");
  throws(() => parseHex("xx"), /"x" at 0 is not a hex digit$/);
  throws(() => parseHex("   "), /no bytes/);
});

Deno.test("hex: x wildcards set the mask, and the prefix match ignores those bits", () => {
  const p = parseHex("1x xF", true);
  deepStrictEqual([...p.bytes], [0x10, 0x0f]);
  deepStrictEqual([...p.mask], [0x0f, 0xf0]);
  ok(matchesHexPrefix(new Uint8Array([0x1a, 0x3f, 0x99]), p));
  ok(!matchesHexPrefix(new Uint8Array([0x2a, 0x3f]), p));
  ok(matchesHexPrefix(new Uint8Array([0x17]), p), "a reply shorter than the pattern is compared over its length");
});

Deno.test("status_code: codes and ranges, commas or spaces; default 200-299", () => {
  const d = parseStatusCodes();
  ok(d.has(200) && d.has(299) && !d.has(199) && !d.has(300) && !d.has(0));
  strictEqual(d.text, "200-299");
  const c = parseStatusCodes(" 200-204, 301 404 ");
  deepStrictEqual([200, 204, 205, 301, 302, 404].map((n) => c.has(n)), [true, true, false, true, false, true]);
  strictEqual(c.text, "200-204,301,404");
  throws(() => parseStatusCodes("99"), /"99" is not a code or range in 100-599/);
  throws(() => parseStatusCodes("600"), /"600"/);
  throws(() => parseStatusCodes("300-200"), /"300-200"/);
  throws(() => parseStatusCodes(","), /no codes/);
});

Deno.test("dns: names encode as length-prefixed labels; the root is one zero byte", () => {
  deepStrictEqual([...encodeName("")], [0]);
  deepStrictEqual([...encodeName(".")], [0]);
  deepStrictEqual([...encodeName("a.bc")], [1, 97, 2, 98, 99, 0]);
  deepStrictEqual([...encodeName("a.bc.")], [1, 97, 2, 98, 99, 0], "a trailing dot is the same name");
  throws(() => encodeName(".a"), /empty label/);
  throws(() => encodeName("a..b"), /empty label/);
  throws(() => encodeName(`${"a".repeat(63)}.`.repeat(4) + "b"), /longer than 255 bytes/);
});

Deno.test("dns: a query's header, and the reply fields read back", () => {
  const q = buildQuery(0xbeef, "x", 1);
  deepStrictEqual([...q], [0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 120, 0, 0, 1, 0, 1]);
  deepStrictEqual(parseHeader(q), { id: 0xbeef, isResponse: false, rcode: 0, ancount: 0 });
  const r = Uint8Array.from([0xbe, 0xef, 0x81, 0x83, 0, 1, 0, 2, 0, 0, 0, 0]);
  deepStrictEqual(parseHeader(r), { id: 0xbeef, isResponse: true, rcode: 3, ancount: 2 });
  strictEqual(parseHeader(r.subarray(0, 11)), null);
});

Deno.test("http: the head ends at the blank line; code from the status line; Content-Length", () => {
  deepStrictEqual(parseHead(bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\nbody")), {
    status: 404,
    bodyStart: 46,
    contentLength: 12,
  });
  strictEqual(parseHead(bytes("HTTP/1.0 200 OK\r\nX: y\r\n")), null, "no blank line yet");
  strictEqual(parseHead(bytes("HTTP/1.0 200\r\n\r\n"))!.status, 200, "a status line with no reason phrase");
  strictEqual(parseHead(bytes("HTTP/1.0 20x OK\r\n\r\n"))!.status, 0);
  strictEqual(parseHead(bytes("HTTP/1.0 999 What\r\n\r\n"))!.status, 0, "outside 100..599");
  strictEqual(parseHead(bytes("HTTP/1.0 200 OK\r\ncontent-length: nope\r\n\r\n"))!.contentLength, undefined);
});

Deno.test("http: the request and the default Host (IPv6 in brackets)", () => {
  strictEqual(
    new TextDecoder().decode(buildRequest("/x", "h:1")),
    "GET /x HTTP/1.0\r\nUser-Agent: lvsd-healthcheck\r\nHost: h:1\r\n\r\n",
  );
  strictEqual(defaultHost("10.0.0.1", 80), "10.0.0.1:80");
  strictEqual(defaultHost("2001:db8::1", 443), "[2001:db8::1]:443");
});
