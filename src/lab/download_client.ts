/**
 * Holds many long downloads open at once (the lab's failover load), run
 * inside the client namespace with the deno binary (only `node:` imports).
 *
 *     download_client.ts --host 10.10.0.100 --path /slow/1048576/65536 --count 100 [--timeout-ms 120000]
 *
 * Opens `count` TCP connections to host:80 at once, each its own
 * `GET path` with `Connection: close`, written by hand over `node:net` so
 * that one download is one connection the director can be asked about.
 * Prints `started N ports P1,P2,...` once every connection has its response
 * headers (every download is then mid-transfer: the test may now kill a
 * director), then one JSON line {@link DownloadResult} when all have ended.
 * A body counts as ok only when it is complete (Content-Length) and its
 * SHA-256 is the real servers' deterministic pattern's (real_server.ts).
 *
 * Bounded: every connection is destroyed at `--timeout-ms`. Exit code 0 when
 * every download was ok, 1 otherwise, 2 on bad usage.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { Buffer } from "node:buffer";

/** The JSON line the client prints last. */
export interface DownloadResult {
  ok: number;
  failed: number;
  /** Failures by kind: reset, closed_early, bad_status, bad_sha256, timeout, connect. */
  reasons: Record<string, number>;
  /** Bytes received in bodies, all connections. */
  bytes: number;
  /** From the first connect to the last end. */
  ms: number;
  /** Each connection's local port, in start order. */
  ports: number[];
  /** The first few failures' details. */
  errors: string[];
}

/** Byte `i` of the real servers' pattern (real_server.ts patternByte). */
function patternSha256(n: number): string {
  const h = createHash("sha256");
  const chunk = Buffer.alloc(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 3) & 0xff;
  for (let left = n; left > 0; left -= chunk.length) h.update(chunk.subarray(0, Math.min(left, chunk.length)));
  return h.digest("hex");
}

/** One download over its own connection. */
function download(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
  onHeaders: (localPort: number) => void,
  expected: Map<number, string>,
): Promise<{ ok: true; bytes: number } | { ok: false; reason: string; detail: string; bytes: number }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const h = createHash("sha256");
    let head = Buffer.alloc(0);
    let length = -1;
    let got = 0;
    let done = false;
    const finish = (r: { ok: true; bytes: number } | { ok: false; reason: string; detail: string; bytes: number }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const fail = (reason: string, detail: string) => finish({ ok: false, reason, detail, bytes: got });
    const timer = setTimeout(() => fail("timeout", `${got} of ${length} bytes after ${timeoutMs} ms`), timeoutMs);
    const body = (b: Buffer) => {
      got += b.length;
      h.update(b);
      if (got < length) return;
      const sha = h.digest("hex");
      let want = expected.get(length);
      if (want === undefined) expected.set(length, want = patternSha256(length));
      if (got > length) fail("bad_sha256", `${got} bytes for a Content-Length of ${length}`);
      else if (sha !== want) fail("bad_sha256", `sha256 ${sha} is not the pattern's`);
      else finish({ ok: true, bytes: got });
    };
    sock.on("connect", () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    sock.on("data", (b: Buffer) => {
      if (length >= 0) return body(b);
      head = Buffer.concat([head, b]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const text = head.subarray(0, end).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const cl = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (!status || status[1] !== "200" || !cl) return fail("bad_status", text.split("\r\n")[0]);
      length = Number(cl[1]);
      onHeaders(sock.localPort ?? 0);
      const rest = head.subarray(end + 4);
      if (rest.length) body(rest);
      else if (length === 0) body(Buffer.alloc(0));
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      const reason = e.code === "ECONNRESET" ? "reset" : length < 0 && got === 0 ? "connect" : "error";
      fail(reason, `${e.code ?? ""} ${e.message}`);
    });
    sock.on("close", () => fail("closed_early", `${got} of ${length} bytes`));
  });
}

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        host: { type: "string" },
        port: { type: "string", default: "80" },
        path: { type: "string", default: "/slow/1048576/65536" },
        count: { type: "string", default: "100" },
        "timeout-ms": { type: "string", default: "120000" },
      },
    }).values;
  } catch (e) {
    console.error(`download_client: ${(e as Error).message}`);
    return 2;
  }
  const count = Number(values.count);
  const timeoutMs = Number(values["timeout-ms"]);
  const port = Number(values.port);
  if (!values.host || !(count >= 1 && count <= 10000) || !(timeoutMs > 0) || !(port >= 1 && port <= 65535)) {
    console.error("usage: download_client.ts --host ADDR [--port 80] [--path P] [--count 1..10000] [--timeout-ms N]");
    return 2;
  }
  const t0 = performance.now();
  const ports: number[] = [];
  const expected = new Map<number, string>();
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      download(values.host!, port, values.path!, timeoutMs, (p) => {
        ports.push(p);
        if (ports.length === count) console.log(`started ${count} ports ${ports.join(",")}`);
      }, expected)),
  );
  const out: DownloadResult = { ok: 0, failed: 0, reasons: {}, bytes: 0, ms: 0, ports, errors: [] };
  for (const r of results) {
    out.bytes += r.bytes;
    if (r.ok) {
      out.ok++;
      continue;
    }
    out.failed++;
    out.reasons[r.reason] = (out.reasons[r.reason] ?? 0) + 1;
    if (out.errors.length < 5) out.errors.push(`${r.reason}: ${r.detail}`);
  }
  out.ms = Math.round(performance.now() - t0);
  console.log(JSON.stringify(out));
  return out.failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
