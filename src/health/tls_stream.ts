/**
 * TLS for SSL_GET without certificate verification, as keepalived does it:
 * check_ssl.c never calls SSL_CTX_set_verify, so OpenSSL's default
 * SSL_VERIFY_NONE applies and a self-signed or expired certificate still
 * passes; a health check asks "does the server answer", not "is it who it
 * says". Deno.connectTls always verifies the chain (it can only skip the
 * host name check), so this uses node:tls with `rejectUnauthorized: false`.
 *
 * @module
 */

import tls from "node:tls";
import type { ByteStream } from "./byte_stream.ts";
import type { CheckTarget } from "./types.ts";

/**
 * A TLS connection to `target`, handshake done. `servername` sends SNI
 * (keepalived's enable_sni/sni_name). `signal` abandons the attempt and
 * closes the socket.
 */
export function openTls(target: CheckTarget, servername: string | undefined, signal: AbortSignal): Promise<ByteStream> {
  const socket = tls.connect({
    host: target.address,
    port: target.port,
    rejectUnauthorized: false,
    // An IP address is never sent as SNI (RFC 6066 §3); "" turns node's default off.
    servername: servername ?? "",
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on("data", (d: Uint8Array) => {
    chunks.push(new Uint8Array(d));
    notify();
  });
  socket.on("end", () => {
    ended = true;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  socket.on("error", (e: Error) => {
    failure ??= e;
    notify();
  });

  const close = async () => {
    socket.destroy();
    await closed;
  };
  const stream: ByteStream = {
    write: (data) =>
      new Promise<void>((resolve, reject) => socket.write(data, (e?: Error | null) => (e ? reject(e) : resolve()))),
    async read() {
      while (true) {
        if (chunks.length > 0) return chunks.shift()!;
        if (failure) throw failure;
        if (ended) return null;
        await new Promise<void>((r) => wake = r);
      }
    },
    close,
  };

  return new Promise<ByteStream>((resolve, reject) => {
    const onAbort = () => {
      close().then(() => reject(signal.reason));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(stream);
    });
    socket.once("error", (e: Error) => {
      signal.removeEventListener("abort", onAbort);
      close().then(() => reject(e));
    });
  });
}
