/**
 * A connected UDP socket for one check (UDP_CHECK, DNS_CHECK): connected,
 * as keepalived connects it (udp_bind_connect), so the kernel hands it only
 * datagrams from the dest. node:dgram, because Deno.listenDatagram still
 * needs --unstable-net.
 *
 * What it cannot do: see ICMP port-unreachable. keepalived sets IP_RECVERR
 * and fails the check on one; Deno's dgram never reports it (tried: a
 * connected node:dgram socket sending to a closed port emits no error), so a
 * closed port here looks like a silent server and fails by timeout.
 *
 * @module
 */

import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import type { CheckTarget } from "./types.ts";

/** One datagram exchange: send, then take replies one at a time. */
export interface UdpExchange extends AsyncDisposable {
  send(data: Uint8Array): Promise<void>;
  /** The next datagram from the dest. */
  receive(): Promise<Uint8Array>;
  /** Closes the socket; resolves once it is released. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens a socket connected to `target`. Close it (or `await using`) on every path. */
export async function openUdp(target: CheckTarget, signal: AbortSignal): Promise<UdpExchange> {
  const sock = dgram.createSocket(target.address.includes(":") ? "udp6" : "udp4");
  const queue: Uint8Array[] = [];
  let failure: Error | undefined;
  let isClosed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const closed = new Promise<void>((resolve) =>
    sock.once("close", () => {
      isClosed = true;
      notify();
      resolve();
    })
  );
  sock.on("message", (msg: Uint8Array) => {
    queue.push(new Uint8Array(msg));
    notify();
  });
  sock.on("error", (e: Error) => {
    failure ??= e;
    notify();
  });
  let closing = false;
  const close = async () => {
    if (!closing) {
      closing = true;
      try {
        sock.close();
      } catch {
        return; // never bound: nothing to release
      }
    }
    await closed;
  };
  const ex: UdpExchange = {
    send: (data) =>
      new Promise<void>((resolve, reject) =>
        sock.send(Buffer.from(data), (e: Error | null) => (e ? reject(e) : resolve()))
      ),
    async receive() {
      while (true) {
        if (queue.length > 0) return queue.shift()!;
        if (failure) throw failure;
        if (isClosed || closing) throw new Error("socket closed");
        await new Promise<void>((r) => wake = r);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  try {
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      sock.once("error", reject);
      sock.connect(target.port, target.address, () => {
        signal.removeEventListener("abort", onAbort);
        sock.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await close();
    throw e;
  }
  return ex;
}
