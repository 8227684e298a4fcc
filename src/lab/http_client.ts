/**
 * Load client for the lab, run inside the client namespace with the deno
 * binary (imports only `node:` built-ins so it needs nothing from the network).
 *
 * HTTP mode:
 *
 *     http_client.ts --url http://10.10.0.100/ --count 60 --concurrency 1 [--close]
 *
 * sends `count` GET requests, `concurrency` at a time, and prints one JSON line
 * `{ok, failed, byBody, ms, ...}`. Without `--close` it uses `fetch` (pooled
 * keep-alive connections); with `--close` every request is its own TCP
 * connection (`Connection: close`, written by hand over `node:net` so that the
 * one-request-per-connection behaviour does not depend on an HTTP agent).
 * Bodies of up to 256 bytes are counted by their trimmed text (`"rs1"`); longer
 * ones by `sha256:<hex>`.
 *
 * UDP mode:
 *
 *     http_client.ts --udp 10.10.0.100:7 --count 30 [--reuse-socket]
 *
 * sends `count` datagrams `seq-<i>` and counts replies (`rs1:seq-<i>`) by the
 * text before the first colon. By default every datagram goes out from a fresh
 * socket (a new client port, so a new connection for the director; each stays
 * open until the end, so no port is used twice in one run); with
 * `--reuse-socket` all of them share one socket.
 *
 * Every loop is bounded by `--count` and by `--timeout-ms` (default 30000);
 * each request/datagram by `--request-timeout-ms` (default 5000 for HTTP,
 * 1000 for UDP). Exit code 0 when nothing failed, 1 otherwise, 2 on bad usage.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { Buffer } from "node:buffer";

/** What one run of the client did (the JSON line it prints). */
export interface HttpClientResult {
  /** Requests (or datagrams) answered successfully. */
  ok: number;
  /** Requests that failed: errors, timeouts, non-2xx, or never started before the deadline. */
  failed: number;
  /** Successful answers by body text (HTTP) or by server prefix (UDP). */
  byBody: Record<string, number>;
  /** Wall time of the whole run in milliseconds. */
  ms: number;
  /** Response body bytes received (HTTP) or reply bytes (UDP). */
  bytes: number;
  /** Failure reasons with counts (at most 10 distinct). */
  errors: Record<string, number>;
  /** HTTP status codes seen, with counts. */
  statuses?: Record<string, number>;
}

/** Options of one client run; mirrors the command-line flags. */
export interface HttpClientOptions {
  url?: string;
  udp?: string;
  count?: number;
  concurrency?: number;
  close?: boolean;
  timeoutMs?: number;
  requestTimeoutMs?: number;
  reuseSocket?: boolean;
}

/** Turns options into command-line arguments for this program. */
export function httpClientArgs(opts: HttpClientOptions): string[] {
  const args: string[] = [];
  if (opts.udp !== undefined) args.push("--udp", opts.udp);
  else args.push("--url", opts.url ?? "http://10.10.0.100/");
  if (opts.count !== undefined) args.push("--count", String(opts.count));
  if (opts.concurrency !== undefined) {
    args.push("--concurrency", String(opts.concurrency));
  }
  if (opts.close) args.push("--close");
  if (opts.reuseSocket) args.push("--reuse-socket");
  if (opts.timeoutMs !== undefined) {
    args.push("--timeout-ms", String(opts.timeoutMs));
  }
  if (opts.requestTimeoutMs !== undefined) {
    args.push("--request-timeout-ms", String(opts.requestTimeoutMs));
  }
  return args;
}

class Tally {
  ok = 0;
  failed = 0;
  bytes = 0;
  byBody: Record<string, number> = {};
  errors: Record<string, number> = {};
  statuses: Record<string, number> = {};
  success(key: string, bytes: number) {
    this.ok++;
    this.bytes += bytes;
    this.byBody[key] = (this.byBody[key] ?? 0) + 1;
  }
  failure(reason: string) {
    this.failed++;
    const r = reason.slice(0, 200);
    if (r in this.errors || Object.keys(this.errors).length < 10) {
      this.errors[r] = (this.errors[r] ?? 0) + 1;
    }
  }
  status(code: number) {
    this.statuses[code] = (this.statuses[code] ?? 0) + 1;
  }
}

function bodyKey(body: Uint8Array): string {
  if (body.length <= 256) {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(body).trim();
    // deno-lint-ignore no-control-regex
    if (!/[\x00-\x08\x0e-\x1f]/.test(text)) return text;
  }
  return "sha256:" + createHash("sha256").update(body).digest("hex");
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    return code ? `${code}: ${e.message}` : `${e.name}: ${e.message}`;
  }
  return String(e);
}

/** Runs `count` jobs, `concurrency` at a time, none started after `deadline`. */
async function pool(
  count: number,
  concurrency: number,
  deadline: number,
  tally: Tally,
  job: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      if (performance.now() >= deadline) {
        tally.failure("not started: total time limit reached");
        continue;
      }
      await job(i);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane),
  );
}

async function fetchOnce(
  url: string,
  ms: number,
  tally: Tally,
): Promise<void> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
    const body = new Uint8Array(await res.arrayBuffer());
    tally.status(res.status);
    if (res.status >= 200 && res.status < 300) {
      tally.success(bodyKey(body), body.length);
    } else tally.failure(`HTTP ${res.status}`);
  } catch (e) {
    tally.failure(errorText(e));
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** Decodes an HTTP/1.1 chunked body (RFC 9112 section 7.1). */
function dechunk(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let o = 0;
  const dec = new TextDecoder();
  while (o < b.length) {
    let e = o;
    while (e + 1 < b.length && !(b[e] === 13 && b[e + 1] === 10)) e++;
    const size = parseInt(dec.decode(b.subarray(o, e)).split(";")[0], 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    if (size === 0) break;
    parts.push(b.subarray(e + 2, e + 2 + size));
    o = e + 2 + size + 2;
  }
  return concat(parts);
}

/** One request on its own TCP connection, read to EOF. */
function closeOnce(u: URL, ms: number, tally: Tally): Promise<void> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let settled = false;
    const port = Number(u.port || 80);
    const sock = net.connect({ host: u.hostname, port });
    const finish = (err?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) {
        tally.failure(err);
        return resolve();
      }
      try {
        const all = concat(chunks);
        const h = indexOfCrlfCrlf(all);
        if (h < 0) throw new Error("no complete response header");
        const head = new TextDecoder().decode(all.subarray(0, h));
        const status = Number(head.split(" ")[1]);
        let body = all.subarray(h + 4);
        const lower = head.toLowerCase();
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
          body = dechunk(body);
        } else if (cl && body.length !== Number(cl[1])) {
          throw new Error(
            `short body: ${body.length} of ${cl[1]} bytes`,
          );
        }
        tally.status(status);
        if (status >= 200 && status < 300) {
          tally.success(bodyKey(body), body.length);
        } else tally.failure(`HTTP ${status}`);
      } catch (e) {
        tally.failure(errorText(e));
      }
      resolve();
    };
    const timer = setTimeout(
      () => finish(`timeout after ${ms} ms`),
      ms,
    );
    sock.on("connect", () => {
      sock.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
          `User-Agent: lvsd-lab\r\nConnection: close\r\n\r\n`,
      );
    });
    sock.on("data", (d: Buffer) => chunks.push(new Uint8Array(d)));
    sock.on("end", () => finish());
    sock.on("error", (e: Error) => finish(errorText(e)));
  });
}

function udpOnce(
  host: string,
  port: number,
  payload: string,
  ms: number,
  tally: Tally,
  shared?: dgram.Socket,
  pending?: Map<string, (msg: Buffer) => void>,
  held?: dgram.Socket[],
): Promise<void> {
  return new Promise((resolve) => {
    const sock = shared ?? dgram.createSocket("udp4");
    // A fresh socket stays open until the run ends: closed, its port could
    // come back for a later datagram, which would then be the same
    // connection for the director (and not be scheduled afresh).
    if (!shared) held?.push(sock);
    let settled = false;
    const finish = (reply?: Buffer, err?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pending?.delete(payload);
      if (reply) {
        const text = reply.toString("utf8");
        const colon = text.indexOf(":");
        if (colon < 0 || text.slice(colon + 1) !== payload) {
          tally.failure(`unexpected reply: ${text.slice(0, 60)}`);
        } else tally.success(text.slice(0, colon), reply.length);
      } else tally.failure(err ?? "no reply");
      resolve();
    };
    const timer = setTimeout(
      () => finish(undefined, `no reply within ${ms} ms`),
      ms,
    );
    if (pending) pending.set(payload, (m) => finish(m));
    else sock.on("message", (m: Buffer) => finish(m));
    sock.on("error", (e: Error) => finish(undefined, errorText(e)));
    sock.send(Buffer.from(payload), port, host, (e: Error | null) => {
      if (e) finish(undefined, errorText(e));
    });
  });
}

/** Runs the client with the given options and returns its tally. */
export async function runHttpClient(
  opts: HttpClientOptions,
): Promise<HttpClientResult> {
  const count = opts.count ?? 60;
  const concurrency = opts.concurrency ?? 1;
  const start = performance.now();
  const deadline = start + (opts.timeoutMs ?? 30000);
  const tally = new Tally();
  if (opts.udp !== undefined) {
    const m = /^(.+):(\d+)$/.exec(opts.udp);
    if (!m) throw new Error(`Cannot parse --udp "${opts.udp}": want host:port`);
    const [host, port] = [m[1], Number(m[2])];
    const ms = opts.requestTimeoutMs ?? 1000;
    let shared: dgram.Socket | undefined;
    let pending: Map<string, (msg: Buffer) => void> | undefined;
    const held: dgram.Socket[] = [];
    if (opts.reuseSocket) {
      shared = dgram.createSocket("udp4");
      const p = pending = new Map();
      shared.on("message", (msg: Buffer) => {
        const text = msg.toString("utf8");
        p.get(text.slice(text.indexOf(":") + 1))?.(msg);
      });
    }
    try {
      await pool(
        count,
        concurrency,
        deadline,
        tally,
        (i) => udpOnce(host, port, `seq-${i}`, ms, tally, shared, pending, held),
      );
    } finally {
      shared?.close();
      for (const s of held) s.close();
    }
  } else {
    const url = opts.url ?? "http://10.10.0.100/";
    const u = new URL(url);
    const ms = opts.requestTimeoutMs ?? 5000;
    await pool(count, concurrency, deadline, tally, (_i) => {
      const left = Math.max(1, Math.min(ms, deadline - performance.now()));
      return opts.close ? closeOnce(u, left, tally) : fetchOnce(url, left, tally);
    });
  }
  const result: HttpClientResult = {
    ok: tally.ok,
    failed: tally.failed,
    byBody: tally.byBody,
    ms: Math.round(performance.now() - start),
    bytes: tally.bytes,
    errors: tally.errors,
  };
  if (opts.udp === undefined) result.statuses = tally.statuses;
  return result;
}

function positiveInt(name: string, v: string | undefined, dflt: number) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`Cannot parse --${name} "${v}": want a whole number`);
  }
  return n;
}

async function main() {
  let opts: HttpClientOptions;
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        url: { type: "string" },
        udp: { type: "string" },
        count: { type: "string" },
        concurrency: { type: "string" },
        close: { type: "boolean" },
        "reuse-socket": { type: "boolean" },
        "timeout-ms": { type: "string" },
        "request-timeout-ms": { type: "string" },
      },
    });
    opts = {
      url: values.url,
      udp: values.udp,
      count: positiveInt("count", values.count, 60),
      concurrency: Math.max(
        1,
        positiveInt("concurrency", values.concurrency, 1),
      ),
      close: values.close ?? false,
      reuseSocket: values["reuse-socket"] ?? false,
      timeoutMs: positiveInt("timeout-ms", values["timeout-ms"], 30000),
      requestTimeoutMs: values["request-timeout-ms"] === undefined
        ? undefined
        : positiveInt("request-timeout-ms", values["request-timeout-ms"], 0),
    };
  } catch (e) {
    console.error(`http_client: ${e instanceof Error ? e.message : e}`);
    Deno.exit(2);
  }
  const result = await runHttpClient(opts);
  console.log(JSON.stringify(result));
  Deno.exit(result.failed === 0 ? 0 : 1);
}

if (import.meta.main) await main();
