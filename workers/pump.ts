/**
 * The data-plane loop of one worker: receive a batch, let the WASM handle
 * it, send what it built. Shared by the real worker and the hot-path tests,
 * so what is measured is what runs. Nothing in the loop allocates: the
 * PacketIo moves descriptors only, `process` works in shared memory, the
 * clock is stored there by an FFI call that returns a small integer, and
 * the command word is read with Atomics on a view made once.
 */
import type { PacketIo } from "./packet_io.ts";

/** What the loop needs from the data-plane instance. */
export interface PumpTarget {
  process(worker: number, n: number, now: number): number;
  /** Continues a batch that process() stopped early (see frames_done). */
  process_from(worker: number, first: number, n: number, now: number): number;
  /** Frames the last call handled; less than n when it stopped early. */
  frames_done(): number;
}

/** Worker command word values (CTRL_WORKER_CMD). */
export const CMD_RUN = 0;
export const CMD_STOP = 1;
export const CMD_CRASH = 2;
/** Set by the worker itself once its sockets are closed (the supervisor must not close them again). */
export const CMD_CLOSED = 3;

/** Options for one run of the loop. */
export interface PumpOptions {
  worker: number;
  batch: number;
  /** Int32Array over the shared memory and the index of this worker's command word. */
  commands: Int32Array;
  commandIndex: number;
  /** Upper bound on iterations (tests); unbounded when omitted. */
  maxIterations?: number;
  /** Poll timeout; ≤ 100 ms so a worker sees stop and table changes promptly. */
  pollMs?: number;
  /** Stores the time where `process(worker, n, -1)` reads it (the worker's IO_CLOCK). */
  clock: { read(): void };
  /** Called when idle and every 256 batches (e.g. to publish socket error counters). */
  report?: () => void;
}

/** Runs until the command word says stop; throws on CMD_CRASH (fault injection). */
export function pump(io: PacketIo, dp: PumpTarget, o: PumpOptions): number {
  const pollMs = o.pollMs ?? 100;
  const limit = o.maxIterations ?? Infinity;
  const clock = o.clock;
  let frames = 0;
  for (let it = 0; it < limit; it++) {
    const cmd = Atomics.load(o.commands, o.commandIndex);
    if (cmd === CMD_STOP) break;
    if (cmd === CMD_CRASH) throw new Error(`worker ${o.worker} crashed on request (fault injection)`);
    const n = io.receive(0, o.batch, pollMs);
    if (n === 0 || (it & 255) === 0) o.report?.();
    if (n === 0) continue;
    frames += n;
    clock.read();
    let tx = dp.process(o.worker, n, -1);
    if (tx > 0) io.send(tx);
    // A batch of tunnel uploads can fill the segment area before its end:
    // send what is built, then go on from where it stopped.
    for (let done = dp.frames_done(); done < n; done = dp.frames_done()) {
      tx = dp.process_from(o.worker, done, n, -1);
      if (tx > 0) io.send(tx);
    }
  }
  return frames;
}
