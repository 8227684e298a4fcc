/**
 * The supervisor's side of AF_XDP: the address map, one XSKMAP and one XDP
 * program per data-plane interface, attached natively with BPF links, and
 * which device queues each worker serves. Workers open the sockets
 * (workers/af_xdp.ts) and put them in the XSKMAPs.
 *
 * Teardown: every attachment is a BPF link owned by a file descriptor of
 * this process, so the programs leave the interfaces when {@link close}
 * closes the links, and also when the process dies in any way (SIGKILL
 * included): nothing is left for the next start to clean up. A program some
 * other tool attached through netlink makes the attach fail (EBUSY), and
 * lvsd says so instead of replacing it.
 *
 * @module
 */

import { attachXdpLink, createXskMap, loadXdpProgram, XDP_FLAGS_DRV_MODE } from "../sys/bpf.ts";
import { close, LibcError } from "../sys/libc.ts";
import { pageAlignedOffset, XDP_COPY, XDP_USE_NEED_WAKEUP, XskSocket } from "../sys/xsk.ts";
import { AddressMap, type AddressSets } from "./address_map.ts";
import { lvsdXdpProgram } from "./program.ts";

/** Queues an XSKMAP can name (veth allows up to the CPU count; NICs up to their channel count). */
const MAX_QUEUES = 64;

/** A data-plane interface as the supervisor knows it. */
export interface XdpInterface {
  name: string;
  ifindex: number;
  mac: Uint8Array;
}

/** What one worker serves on one interface. */
export interface WorkerQueues {
  name: string;
  ifindex: number;
  queues: number[];
  xskMapFd: number;
}

/** The rx queues the kernel uses on `dev` now (/sys/class/net/DEV/queues/rx-N). */
export function rxQueues(dev: string): number {
  let n = 0;
  for (const e of Deno.readDirSync(`/sys/class/net/${dev}/queues`)) if (e.name.startsWith("rx-")) n++;
  return n;
}

/** The programs, maps and links of a running director. */
export class XdpAttachment {
  readonly addresses: AddressMap;
  /** Workers that get queues: min(workers, the smallest queue count). */
  readonly activeWorkers: number;
  /** Log lines worth saying once (fewer queues than workers, ...). */
  readonly notes: string[] = [];
  #ifaces: XdpInterface[];
  #queues: number[];
  #xskMaps: number[] = [];
  #progs: number[] = [];
  #links: number[] = [];

  private constructor(ifaces: XdpInterface[], queues: number[], workers: number) {
    this.#ifaces = ifaces;
    this.#queues = queues;
    const fewest = Math.min(...queues);
    this.activeWorkers = Math.min(workers, fewest);
    if (fewest < workers) {
      const which = ifaces.map((f, i) => `${f.name} has ${queues[i]}`).filter((_, i) => queues[i] < workers);
      this.notes.push(
        `lvsd: AF_XDP: ${workers} workers but ${which.join(", ")} rx queue(s): ` +
          `workers ${this.activeWorkers}..${workers - 1} get no traffic (ethtool -L DEV combined ${workers}, or rx/tx)`,
      );
    }
    this.addresses = new AddressMap();
  }

  /**
   * Checks that AF_XDP works here (an XSK binds on every interface), then
   * loads and attaches the program on each. Throws, leaving nothing behind,
   * with the reason (no native XDP on the device, missing capability, a
   * program already there, ...).
   */
  static attach(ifaces: XdpInterface[], workers: number, sets: AddressSets): XdpAttachment {
    const queues = ifaces.map((i) => rxQueues(i.name));
    if (queues.some((q) => q > MAX_QUEUES)) {
      throw new Error(`Cannot use AF_XDP: more than ${MAX_QUEUES} rx queues on an interface`);
    }
    for (const i of ifaces) probeSocket(i);
    const a = new XdpAttachment(ifaces, queues, workers);
    try {
      a.addresses.sync(sets);
      for (const i of ifaces) {
        const map = createXskMap(MAX_QUEUES, "lvsd_xsks");
        a.#xskMaps.push(map);
        const prog = loadXdpProgram(lvsdXdpProgram(i.mac, a.addresses.fd, map), "lvsd_xdp");
        a.#progs.push(prog);
        try {
          a.#links.push(attachXdpLink(prog, i.ifindex, XDP_FLAGS_DRV_MODE, i.name));
        } catch (e) {
          // veth's reasons, which the errno alone does not say.
          const code = e instanceof LibcError ? e.code : "";
          if (code === "ENOSPC") (e as Error).message += " (veth: its peer has more tx queues than it has rx queues)";
          if (code === "ERANGE") (e as Error).message += " (veth: the peer's MTU is too large for XDP)";
          throw e;
        }
      }
    } catch (e) {
      a.close();
      throw e;
    }
    return a;
  }

  /** What worker `w` serves: queue q of each interface where q % activeWorkers === w (none past activeWorkers). */
  queuesFor(w: number): WorkerQueues[] {
    if (w >= this.activeWorkers) return [];
    return this.#ifaces.map((i, k) => ({
      name: i.name,
      ifindex: i.ifindex,
      queues: Array.from({ length: this.#queues[k] }, (_, q) => q).filter((q) => q % this.activeWorkers === w),
      xskMapFd: this.#xskMaps[k],
    }));
  }

  /** Detaches (closes the links), then frees programs and maps; safe twice. */
  close(): void {
    for (const fd of [...this.#links, ...this.#progs, ...this.#xskMaps]) close(fd);
    this.#links = [];
    this.#progs = [];
    this.#xskMaps = [];
    this.addresses.close();
  }
}

/**
 * Opens and closes one AF_XDP socket on queue 0 of `i` with a small UMEM of
 * its own: the cheapest way to learn whether the kernel, the capabilities
 * and the device allow AF_XDP before anything is attached.
 */
function probeSocket(i: XdpInterface): void {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
  const offset = pageAlignedOffset(memory, 0);
  const chunks = Math.floor((memory.buffer.byteLength - offset) / 2048);
  XskSocket.open({
    ifname: i.name,
    ifindex: i.ifindex,
    queue: 0,
    umem: { memory, offset, chunks: Math.min(chunks, 32), chunkSize: 2048 },
    rxSize: 32,
    txSize: 32,
    fillSize: 32,
    completionSize: 32,
    bindFlags: XDP_COPY | XDP_USE_NEED_WAKEUP,
  }).close();
}
