/**
 * The receive worker of `lvsd decap` (a Deno Worker started from the
 * program's entry with the name {@link DECAP_WORKER_NAME}): runs the receive
 * loop until told to stop and reports how it ended.
 *
 * @module
 */
import { DecapCounters } from "./counters.ts";
import { runReceiver } from "./receiver.ts";
import type { TunType } from "./socket.ts";

/** The Worker name src/main.ts routes to this module. */
export const DECAP_WORKER_NAME = "lvsd-decap";

/** The message that starts the worker. */
export interface DecapWorkerInit {
  tunType: TunType;
  socketFd: number;
  tunFd: number;
  device: string;
  vips: number[];
  shared: SharedArrayBuffer;
}

/** What the worker posts: once "ready", then "stopped" or "error". */
export type DecapWorkerReport =
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "error"; message: string };

/** Entry point inside the Worker. */
export function runDecapWorker(init: DecapWorkerInit, post: (m: DecapWorkerReport) => void): void {
  try {
    runReceiver({
      tunType: init.tunType,
      socketFd: init.socketFd,
      tunFd: init.tunFd,
      device: init.device,
      vips: Uint32Array.from(init.vips),
      counters: new DecapCounters(init.shared),
    }, () => post({ type: "ready" }));
    post({ type: "stopped" });
  } catch (e) {
    post({ type: "error", message: (e as Error).message });
  }
}
