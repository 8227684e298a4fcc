/**
 * The connection an HTTP or HTTPS check talks over: plain TCP (Deno.connect)
 * or TLS (tls_stream.ts), behind one small interface so http.ts has one
 * request/response path. Every check opens its own connection and closes it
 * (keepalived opens a new socket per check); nothing is pooled.
 *
 * @module
 */

import type { CheckTarget } from "./types.ts";

/** A byte stream a check owns and must close. */
export interface ByteStream {
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** The next chunk, or null at end of stream. */
  read(): Promise<Uint8Array | null>;
  /** Closes the connection and releases its resource; safe to call twice; resolves once released. */
  close(): Promise<void>;
}

const READ_SIZE = 16 * 1024;

/** A TCP connection to `target`; `signal` abandons the connect. */
export async function openTcp(target: CheckTarget, signal: AbortSignal): Promise<ByteStream> {
  const conn = await Deno.connect({ hostname: target.address, port: target.port, signal });
  return tcpStream(conn);
}

/** Wraps an open Deno connection. */
export function tcpStream(conn: Deno.Conn): ByteStream {
  let closed = false;
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    async read() {
      const buf = new Uint8Array(READ_SIZE);
      const n = await conn.read(buf);
      return n === null ? null : buf.subarray(0, n);
    },
    close() {
      if (!closed) {
        closed = true;
        try {
          conn.close();
        } catch {
          // already closed by the peer's reset or a failed read
        }
      }
      return Promise.resolve();
    },
  };
}
