/**
 * TCP_CHECK: the dest is up when a TCP connection to it completes within
 * connect_timeout; the connection is closed at once (keepalived's
 * tcp_check_thread closes the fd on connect_success and sends nothing).
 *
 * @module
 */

import { Deadline } from "./deadline.ts";
import { connectTimeoutMs } from "./options.ts";
import type { CheckResult, CheckTarget, TcpOptions } from "./types.ts";

/** Connects to `target` and closes; never throws. */
export async function checkTcp(target: CheckTarget, opts: TcpOptions, signal: AbortSignal): Promise<CheckResult> {
  using deadline = new Deadline(signal, connectTimeoutMs(opts));
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await deadline.race(
      Deno.connect({ hostname: target.address, port: target.port, signal: deadline.signal }),
      closeQuietly,
    );
    return { up: true, detail: "connected" };
  } catch (e) {
    return { up: false, detail: deadline.explain(e, "connect") };
  } finally {
    closeQuietly(conn);
  }
}

/** Closes a Deno socket that may already be closed. */
export function closeQuietly(c: { close(): void } | undefined): void {
  try {
    c?.close();
  } catch {
    // already closed (BadResource): nothing left to release
  }
}
