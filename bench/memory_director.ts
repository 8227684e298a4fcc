/**
 * A director in memory for the in-process benchmarks (conn_scale.ts,
 * sync_pipeline.ts): one worker, an outside interface (ifindex
 * {@link EXT}) and an inside one ({@link INT}), and TCP 10.10.0.100:80
 * balanced rr over 10.20.0.11..13 with resolved next hops. No sockets.
 */
import { SharedState } from "../src/dataplane/shared_state.ts";
import { TablePublisher, type TableService } from "../src/dataplane/tables.ts";

/** The kernel ifindex of the outside (client) and inside (servers) interface. */
export const EXT = 10, INT = 11;

/** The one service. */
const SERVICES: TableService[] = [{
  id: 0,
  proto: "tcp",
  vip: "10.10.0.100",
  port: 80,
  scheduler: "rr",
  dests: [11, 12, 13].map((h, i) => ({
    id: i,
    addr: `10.20.0.${h}`,
    port: 80,
    weight: 1,
    ifaceSlot: 1,
    mac: new Uint8Array([2, 0, 0, 0, 0xaa, h]),
  })),
}];

/** A published one-worker director with `slots` connection slots, worker 0's I/O region initialised. */
export async function memoryDirector(slots: number): Promise<SharedState> {
  const s = new SharedState({ connCapacity: slots, workers: 1 });
  s.setInterface(0, EXT, new Uint8Array([2, 0, 0, 0, 0xe, 1]), 1500);
  s.setInterface(1, INT, new Uint8Array([2, 0, 0, 0, 1, 1]), 1500);
  await new TablePublisher(s).publish(SERVICES);
  s.exports.io_init(0);
  return s;
}
