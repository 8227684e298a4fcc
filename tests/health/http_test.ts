/**
 * HTTP_GET / SSL_GET specifics against real servers on 127.0.0.1: what the
 * request carries (path, HTTP/1.0, Host = virtualhost or addr:port), status
 * ranges, digest, regex / regex_no_match, the body bound, and HTTPS with a
 * self-signed certificate made by openssl.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createHash } from "node:crypto";
import { checkHttp, checkHttps, MAX_BODY } from "../../src/health/http.ts";
import type { HttpOptions } from "../../src/health/types.ts";
import { httpServer, type TestServer } from "./servers.ts";
import { selfSignedCert } from "./tls_cert.ts";

const never = new AbortController().signal;
const tls = await selfSignedCert();

/** Runs `fn` with a server, always closing it. */
async function withServer<T>(srv: TestServer, fn: (port: number) => Promise<T>): Promise<T> {
  try {
    return await fn(srv.port);
  } finally {
    await srv.close();
  }
}

function http(port: number, opts: HttpOptions = {}) {
  return checkHttp({ address: "127.0.0.1", port }, { connect_timeout: 2, ...opts }, never);
}

/** A raw TCP server that reads the request and writes `response` bytes, then closes; records the request. */
function rawHttp(response: string | Uint8Array): TestServer & { requests: string[] } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const loop = (async () => {
    for await (const c of l) {
      const buf = new Uint8Array(4096);
      const n = await c.read(buf);
      requests.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
      const bytes = typeof response === "string" ? new TextEncoder().encode(response) : response;
      try {
        let off = 0;
        while (off < bytes.length) off += await c.write(bytes.subarray(off));
      } catch {
        // the checker stopped reading and closed: fine
      }
      c.close();
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    requests,
    async close() {
      l.close();
      await loop;
    },
  };
}

Deno.test("http: sends GET path HTTP/1.0 with Host addr:port by default, or the virtualhost", async () => {
  const srv = rawHttp("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  await withServer(srv, async (port) => {
    strictEqual((await http(port, { path: "/healthz?x=1" })).up, true);
    strictEqual((await http(port, { virtualhost: "www.example.test" })).up, true);
  });
  const [first, second] = srv.requests.map((r) => r.split("\r\n"));
  strictEqual(first[0], "GET /healthz?x=1 HTTP/1.0");
  ok(first.includes(`Host: 127.0.0.1:${srv.port}`), first.join(" | "));
  strictEqual(second[0], "GET / HTTP/1.0");
  ok(second.includes("Host: www.example.test"), second.join(" | "));
  ok(srv.requests.every((r) => r.endsWith("\r\n\r\n")));
});

Deno.test("http: status_code ranges decide (default 200-299)", async () => {
  const status = (code: number) => httpServer(() => new Response(null, { status: code }));
  const cases: [number, string | undefined, boolean][] = [
    [200, undefined, true],
    [204, undefined, true],
    [301, undefined, false],
    [301, "200-299,301", true],
    [302, "200-299,301", false],
    [503, "200-299 503", true],
    [500, undefined, false],
  ];
  for (const [code, ranges, up] of cases) {
    const r = await withServer(status(code), (port) => http(port, { status_code: ranges }));
    strictEqual(r.up, up, `${code} with ${ranges}: ${r.detail}`);
    if (!up) ok(r.detail.includes(`HTTP status ${code} not in`), r.detail);
  }
});

Deno.test("http: a status line without a three-digit code is down", async () => {
  const r = await withServer(rawHttp("HTTP/1.0 OK\r\n\r\nhello"), (port) => http(port));
  strictEqual(r.up, false);
  ok(/status missing/.test(r.detail), r.detail);
});

Deno.test("http: digest is the MD5 of the body, hex, as keepalived's genhash prints it", async () => {
  const body = "<html>healthy</html>\n";
  const md5 = createHash("md5").update(body).digest("hex");
  await withServer(httpServer(() => new Response(body)), async (port) => {
    strictEqual((await http(port, { digest: md5 })).up, true);
    strictEqual((await http(port, { digest: md5.toUpperCase() })).up, true, "hex case does not matter");
    const bad = await http(port, { digest: "0".repeat(32) });
    strictEqual(bad.up, false);
    ok(bad.detail.includes(md5), bad.detail);
  });
});

Deno.test("http: the digest covers exactly Content-Length bytes, and the body up to the close without one", async () => {
  const md5 = (s: string) => createHash("md5").update(s).digest("hex");
  await withServer(rawHttp("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"), async (port) => {
    strictEqual((await http(port, { digest: md5("hello") })).up, true);
  });
  await withServer(rawHttp("HTTP/1.0 200 OK\r\n\r\nno length here"), async (port) => {
    strictEqual((await http(port, { digest: md5("no length here") })).up, true);
  });
});

Deno.test("http: regex must match the body; regex_no_match inverts it", async () => {
  await withServer(httpServer(() => new Response("status: GREEN\nload: 0.3")), async (port) => {
    strictEqual((await http(port, { regex: "status: (GREEN|YELLOW)" })).up, true);
    const miss = await http(port, { regex: "status: RED" });
    strictEqual(miss.up, false);
    ok(/does not match \/status: RED\//.test(miss.detail), miss.detail);
    strictEqual((await http(port, { regex: "status: RED", regex_no_match: true })).up, true);
    const hit = await http(port, { regex: "GREEN", regex_no_match: true });
    strictEqual(hit.up, false);
    ok(/body matches/.test(hit.detail), hit.detail);
  });
});

Deno.test("http: a body beyond the bound is refused for digest/regex, and not read at all without them", async () => {
  const big = new Uint8Array(MAX_BODY + 10).fill(97);
  await withServer(httpServer(() => new Response(big)), async (port) => {
    const r = await http(port, { regex: "a" });
    strictEqual(r.up, false);
    ok(/body larger than/.test(r.detail), r.detail);
    strictEqual((await http(port)).up, true, "status only: the head is enough");
  });
});

Deno.test("http: a response head that never ends is bounded", async () => {
  const endless = "HTTP/1.0 200 OK\r\n" + "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(2000);
  const r = await withServer(rawHttp(endless), (port) => http(port));
  strictEqual(r.up, false);
  ok(/head larger than/.test(r.detail), r.detail);
});

Deno.test("http: the connection closing mid-head is down", async () => {
  const r = await withServer(rawHttp("HTTP/1.0 200 OK\r\nContent-"), (port) => http(port));
  strictEqual(r.up, false);
  ok(/before the end of the response head/.test(r.detail), r.detail);
});

Deno.test("http: bad options are a down result naming the option, not a throw", async () => {
  const r = await http(1, { status_code: "2xx" });
  deepStrictEqual(r.up, false);
  ok(/status_code "2xx"/.test(r.detail), r.detail);
  ok(/regular expression|Invalid/.test((await http(1, { regex: "(" })).detail));
});

Deno.test("http: every check is a new connection", async () => {
  let conns = 0;
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const loop = (async () => {
    for await (const c of l) {
      conns++;
      await c.read(new Uint8Array(1024));
      // Offers keep-alive; a pooled client would reuse it.
      await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"));
      c.close();
    }
  })().catch(() => {});
  const port = (l.addr as Deno.NetAddr).port;
  for (let i = 0; i < 3; i++) strictEqual((await http(port)).up, true);
  l.close();
  await loop;
  strictEqual(conns, 3);
});

Deno.test("https: a self-signed certificate is accepted (no verification, as keepalived), status and body checked", async () => {
  const body = "secure ok";
  const md5 = createHash("md5").update(body).digest("hex");
  let host = "";
  const srv = httpServer((req) => {
    host = req.headers.get("host") ?? "";
    return new Response(body);
  }, tls);
  await withServer(srv, async (port) => {
    const https = (o: HttpOptions) => checkHttps({ address: "127.0.0.1", port }, { connect_timeout: 2, ...o }, never);
    const r = await https({ digest: md5, regex: "secure", virtualhost: "app.example.test" });
    strictEqual(r.up, true, r.detail);
    strictEqual(host, "app.example.test");
    strictEqual((await https({ enable_sni: true, sni_name: "app.example.test" })).up, true);
    strictEqual((await https({ status_code: "500" })).up, false);
  });
});

Deno.test("https: a plain-TCP server is down with a TLS error", async () => {
  const r = await withServer(
    httpServer(() => new Response("plain")),
    (port) => checkHttps({ address: "127.0.0.1", port }, { connect_timeout: 2 }, never),
  );
  strictEqual(r.up, false);
  ok(r.detail.startsWith("connect:"), r.detail);
});

Deno.test("http: a body beyond the bound without Content-Length is refused too", async () => {
  const big = "HTTP/1.0 200 OK\r\n\r\n" + "a".repeat(MAX_BODY + 1);
  const r = await withServer(rawHttp(big), (port) => http(port, { regex: "a" }));
  strictEqual(r.up, false);
  ok(/body larger than/.test(r.detail), r.detail);
});
