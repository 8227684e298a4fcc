/**
 * A lab real server, run inside a real-server namespace with the deno binary
 * (imports only `node:` built-ins, nothing that needs the network to load).
 *
 *     real_server.ts --name rs1 --http-port 80 --udp-port 7
 *
 * HTTP (Deno.serve on 0.0.0.0):
 * - `GET /`        → `rs1\n` (text/plain)
 * - `GET /1m`      → 1 MiB of deterministic bytes: byte i = (i*7+3) & 0xff
 * - `GET /size/N`  → N bytes of the same sequence (N ≤ 64 MiB)
 * - `GET /slow/N/R` → the same N bytes paced at R bytes/s (R ≥ 1024; a chunk
 *                    every 50 ms): a long download that stays mid-transfer
 * - `POST /sha256` → the hex SHA-256 of the request body (an upload sink)
 * - `GET /whoami`  → JSON `{name, remote, host}`: the address:port the server
 *                    saw the connection come from (proves NAT keeps caddr)
 *                    and the Host header
 *
 * UDP (node:dgram on 0.0.0.0): every datagram is answered with
 * `${name}:` + payload, to the address it came from.
 *
 * Prints `ready` on stdout once both sockets listen.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as dgram from "node:dgram";
import { Buffer } from "node:buffer";

/** Largest body `/size/N` serves. */
export const MAX_BODY = 64 * 1024 * 1024;

/** Byte `i` of every deterministic body the real servers send. */
export function patternByte(i: number): number {
  return (i * 7 + 3) & 0xff;
}

/** The first `n` bytes of the deterministic body sequence. */
export function patternBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = patternByte(i);
  return b;
}

// The sequence has period 256, so a chunk whose length is a multiple of 256
// can be repeated back to back without breaking it.
const CHUNK = patternBytes(64 * 1024);
const ONE_MIB = patternBytes(1024 * 1024);

function patternStream(n: number): ReadableStream<Uint8Array> {
  let left = n;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (left <= 0) return c.close();
      const k = Math.min(left, CHUNK.length);
      c.enqueue(CHUNK.slice(0, k));
      left -= k;
    },
  });
}

/** The pattern's first `n` bytes, `rate` bytes per second in 50 ms chunks. */
function pacedStream(n: number, rate: number): ReadableStream<Uint8Array> {
  const chunk = Math.max(1, Math.round(rate / 20));
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent >= n) return c.close();
      if (sent > 0) await new Promise((r) => timer = setTimeout(r, 50));
      const k = Math.min(chunk, n - sent);
      // The pattern has period 256: each copy starts at its byte's phase.
      const bytes = new Uint8Array(k);
      for (let i = 0; i < k;) {
        const phase = (sent + i) % 256;
        const len = Math.min(CHUNK.length - phase, k - i);
        bytes.set(CHUNK.subarray(phase, phase + len), i);
        i += len;
      }
      c.enqueue(bytes);
      sent += k;
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}

function body(n: number): Response {
  const headers = {
    "content-type": "application/octet-stream",
    "content-length": String(n),
  };
  if (n <= ONE_MIB.length) {
    return new Response(ONE_MIB.slice(0, n), { headers });
  }
  return new Response(patternStream(n), { headers });
}

/** Starts both listeners; resolves once they listen. */
export async function serveRealServer(
  name: string,
  httpPort: number,
  udpPort: number,
): Promise<{ close(): Promise<void> }> {
  const hello = new TextEncoder().encode(`${name}\n`);
  const ac = new AbortController();
  let listening!: () => void;
  const httpUp = new Promise<void>((r) => listening = r);
  const server = Deno.serve({
    hostname: "0.0.0.0",
    port: httpPort,
    signal: ac.signal,
    onListen: () => listening(),
  }, async (req, info) => {
    const path = new URL(req.url).pathname;
    if (req.method === "POST" && path === "/sha256") {
      // An upload sink: answers with the SHA-256 of the body it received.
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await req.arrayBuffer()));
      return new Response(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") + "\n");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (path === "/") {
      return new Response(hello.slice(), {
        headers: { "content-type": "text/plain" },
      });
    }
    if (path === "/1m") return body(ONE_MIB.length);
    if (path === "/whoami") {
      const r = info.remoteAddr;
      return Response.json({
        name,
        remote: `${r.hostname}:${r.port}`,
        host: req.headers.get("host") ?? "",
      });
    }
    const slow = /^\/slow\/(\d+)\/(\d+)$/.exec(path);
    if (slow) {
      const n = Number(slow[1]);
      const rate = Number(slow[2]);
      if (n > MAX_BODY || rate < 1024) {
        return new Response(`size must be at most ${MAX_BODY} and rate at least 1024\n`, { status: 400 });
      }
      return new Response(pacedStream(n, rate), {
        headers: { "content-type": "application/octet-stream", "content-length": String(n) },
      });
    }
    const m = /^\/size\/(\d+)$/.exec(path);
    if (m) {
      const n = Number(m[1]);
      if (n > MAX_BODY) {
        return new Response(`size must be at most ${MAX_BODY}\n`, {
          status: 400,
        });
      }
      return body(n);
    }
    return new Response("not found\n", { status: 404 });
  });
  const sock = dgram.createSocket("udp4");
  const prefix = Buffer.from(`${name}:`);
  sock.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    sock.send(Buffer.concat([prefix, msg]), rinfo.port, rinfo.address);
  });
  const udpUp = new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(udpPort, "0.0.0.0", () => resolve());
  });
  await Promise.all([httpUp, udpUp]);
  return {
    async close() {
      ac.abort();
      sock.close();
      await server.finished;
    },
  };
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      name: { type: "string" },
      "http-port": { type: "string", default: "80" },
      "udp-port": { type: "string", default: "7" },
    },
  });
  const name = values.name;
  const httpPort = Number(values["http-port"]);
  const udpPort = Number(values["udp-port"]);
  if (!name || !Number.isInteger(httpPort) || !Number.isInteger(udpPort)) {
    console.error(
      "usage: real_server.ts --name rs1 [--http-port 80] [--udp-port 7]",
    );
    Deno.exit(2);
  }
  await serveRealServer(name, httpPort, udpPort);
  console.log("ready");
}

if (import.meta.main) await main();
