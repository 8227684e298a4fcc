/** Seeded random sync connections for the round-trip and fuzz tests (set SYNC_SEED to replay another run). */
import type { SyncConn } from "../../src/sync/wire.ts";

export const SEED = Number(Deno.env.get("SYNC_SEED") ?? 20260515);

export { prng } from "../helpers/prng.ts";

export function randomConn(rand: () => number): SyncConn {
  const int = (n: number) => Math.floor(rand() * n);
  const u32 = () => int(0x100000000);
  const addr = () => [int(256), int(256), int(256), int(256)].join(".");
  const template = rand() < 0.2;
  const proto = rand() < 0.7 ? "tcp" : "udp";
  const fwd = [0, 2, 3][int(3)];
  let flags = fwd | (fwd ? 0x80 : 0) | (rand() < 0.4 ? 0x100 : 0) | (template ? 0x1000 : 0);
  const seq = !template && proto === "tcp" && rand() < 0.25;
  if (seq) flags |= [0x200, 0x400, 0x600][int(3)];
  const c: SyncConn = {
    proto,
    state: template ? int(2) : proto === "tcp" ? int(11) : 0,
    flags,
    caddr: addr(),
    cport: template ? 0 : int(65536),
    vaddr: addr(),
    vport: int(65536),
    daddr: addr(),
    dport: int(65536),
    fwmark: rand() < 0.8 ? 0 : u32(),
    timeout: int(100000),
  };
  if (seq) {
    c.seq = {
      in: { initSeq: u32(), delta: u32(), previousDelta: u32() },
      out: { initSeq: u32(), delta: u32(), previousDelta: u32() },
    };
  }
  return c;
}
