/**
 * Worker for the expiry-race case of tests/conn/stress_test.ts: replays a
 * few frames (SYN, FIN for some client ports) through its own instance of
 * the module, at a fixed `now`, until the stop flag is set; then posts how
 * many batches it ran.
 */
/// <reference lib="deno.worker" />
import { constant, instantiate } from "../../src/dataplane/module.ts";

/** What the test posts. */
export interface RaceJob {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  worker: number;
  frames: Uint8Array[];
  ifindex: number;
  stop: SharedArrayBuffer;
  now: number;
}

self.onmessage = (e: MessageEvent<RaceJob>) => {
  const j = e.data;
  const dp = instantiate(j.memory, j.module);
  const c = (n: string) => constant(dp, n);
  dp.io_init(j.worker);
  const u8 = new Uint8Array(j.memory.buffer);
  const view = new DataView(j.memory.buffer);
  const io = view.getUint32(c("CTRL") + c("CTRL_IO_BASE"), true) + j.worker * c("IO_STRIDE");
  const stop = new Int32Array(j.stop);
  self.postMessage("ready");
  let batches = 0;
  while (Atomics.load(stop, 0) === 0) {
    j.frames.forEach((f, k) => {
      const v = io + c("IO_SLOTS") + k * c("SLOT_SIZE") + c("SLOT_HEADROOM");
      u8.fill(0, v, v + 10);
      u8.set(f, v + 10);
      view.setUint32(io + c("IO_RX_HDRS") + k * c("MMSGHDR_SIZE") + 56, 10 + f.length, true);
      view.setInt32(io + c("IO_RX_NAME") + k * c("NAME_SIZE") + 4, j.ifindex, true);
    });
    dp.process(j.worker, j.frames.length, j.now);
    batches++;
  }
  self.postMessage(batches);
};
