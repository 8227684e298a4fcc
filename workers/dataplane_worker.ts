/**
 * A data-plane worker (runs in a Deno Worker). It instantiates the shared
 * module on the shared memory, opens its PacketIo, reports its socket fds to
 * the supervisor (which closes them should this worker die, so a dead
 * socket never stays in the fanout group), then runs the pump until told to
 * stop.
 */
import { instantiate } from "../src/dataplane/module.ts";
import { AfPacketIo } from "./af_packet.ts";
import { type AfXdpInterface, AfXdpIo } from "./af_xdp.ts";
import { CMD_CLOSED, pump } from "./pump.ts";
import { CoarseClock } from "../src/sys/clock.ts";

/** The message that starts a worker. */
export interface WorkerInit {
  worker: number;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  interfaces: { name: string; ifindex: number }[];
  fanoutGroup: number;
  ioBase: number;
  /** Offset of the timespec in the I/O region (IO_CLOCK). */
  ioClock: number;
  /** Offset of this worker's statistics slot and of the counters its PacketIo fills. */
  statsBase: number;
  txErrorsIndex: number;
  txDroppedIndex: number;
  rxErrorsIndex: number;
  rxKernelDropsIndex: number;
  rxHdrs: number;
  txHdrs: number;
  batch: number;
  txBatch: number;
  commandOffset: number;
  /** AF_XDP instead of AF_PACKET: this worker's UMEM and the queues it serves (src/xdp/attach.ts). */
  xdp?: { umemOffset: number; chunks: number; chunkSize: number; interfaces: AfXdpInterface[] } | null;
}

/** Messages a worker posts. */
export type WorkerReport =
  | { type: "fds"; fds: number[]; mappings?: [number, number][]; xskSlots?: [number, number][] }
  | { type: "ready" }
  | { type: "stopped"; frames: number }
  | { type: "error"; message: string };

/** Entry point inside the Worker. */
export function runWorker(init: WorkerInit, post: (m: WorkerReport) => void): void {
  const dp = instantiate(init.memory, init.module);
  dp.io_init(init.worker);
  const region = {
    rxHdrs: init.ioBase + init.rxHdrs,
    txHdrs: init.ioBase + init.txHdrs,
    batch: init.batch,
    txBatch: init.txBatch,
  };
  const io = init.xdp
    ? new AfXdpIo({ memory: init.memory, region, ...init.xdp })
    : new AfPacketIo({ memory: init.memory, region, interfaces: init.interfaces, fanoutGroup: init.fanoutGroup });
  post(
    io instanceof AfXdpIo
      ? { type: "fds", fds: io.fds, mappings: io.mappings, xskSlots: io.slots }
      : { type: "fds", fds: io.fds },
  );
  const u32 = new Uint32Array(init.memory.buffer);
  // A restarted worker continues the counts of the one it replaces.
  const at = [init.txErrorsIndex, init.txDroppedIndex, init.rxErrorsIndex, init.rxKernelDropsIndex].map((i) =>
    (init.statsBase + i * 8) >> 2
  );
  const base = at.map((i) => u32[i]);
  post({ type: "ready" });
  // On a clean stop the worker closes its sockets; if it throws, it leaves
  // them to the supervisor, which closes exactly the fds reported above
  // (closing them here too could close a number the process reused since).
  const frames = pump(io, dp, {
    worker: init.worker,
    batch: init.batch,
    commands: new Int32Array(init.memory.buffer),
    commandIndex: init.commandOffset >> 2,
    clock: new CoarseClock(init.memory, init.ioBase + init.ioClock),
    report: () => {
      // Low 32 bits of u64 counters this worker alone writes.
      u32[at[0]] = base[0] + io.txErrors;
      u32[at[1]] = base[1] + io.txDropped;
      u32[at[2]] = base[2] + io.rxErrors;
      u32[at[3]] = base[3] + io.rxDropped;
    },
  });
  io.close();
  Atomics.store(new Int32Array(init.memory.buffer), init.commandOffset >> 2, CMD_CLOSED);
  post({ type: "stopped", frames });
}
