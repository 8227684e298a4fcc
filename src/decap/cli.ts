/**
 * `lvsd decap`: the real-server side of LVS tunnel mode for hosts without
 * the ipip module. Takes what the director sends (IPIP, or GUE on a UDP
 * port), checks the inner packet is IPv4 to a VIP, and writes it into a TUN
 * device that holds the VIPs, so the local stack answers the client
 * directly, from the VIP. See device.ts for what it sets up and why.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { close, errnoName } from "../sys/libc.ts";
import { checkDeviceName, TunDevice } from "../sys/tun.ts";
import { DecapCounters } from "./counters.ts";
import { configureDevice, SysctlChanges } from "./device.ts";
import { vipTable } from "./parse.ts";
import { openTunnelSocket, type TunType } from "./socket.ts";
import { DECAP_WORKER_NAME, type DecapWorkerInit, type DecapWorkerReport } from "./worker.ts";

/** The `lvsd decap --help` text. */
export const DECAP_USAGE = `lvsd decap: receive LVS tunnel-mode (IPIP or GUE) packets on a real server

Usage: lvsd decap --vip ADDR[,ADDR...] [--tun-type ipip|gue] [--tun-port N] [--device NAME]

  --vip ADDR[,ADDR]   the virtual service addresses (IPv4) served here; repeatable
  --tun-type TYPE     what the director sends (ipvsadm --tun-type): ipip (default) or gue
  --tun-port N        the GUE UDP port (ipvsadm --tun-port); required with gue
  --device NAME       the TUN device to create (default lvsd-tun0)

It creates the TUN device, puts each VIP on it as a /32, turns off reverse-path
filtering on it (and lowers net.ipv4.conf.all.rp_filter from strict to loose),
raises net.ipv4.conf.all.arp_ignore to 1 and arp_announce to 2 so this host
never answers ARP for a VIP, then writes every inner IPv4 packet addressed to a
VIP into the device. Replies leave by the normal route, from the VIP. On stop
the device (with its addresses) is removed and the 'all' sysctls are restored.

Signals: SIGINT/SIGTERM stop cleanly; SIGUSR2 prints the counters
(received, decapsulated, not_ipv4_inner, bad_gue_header, not_for_vip,
truncated, write_error), which are also printed at exit.
Exit codes: 0 ok, 1 runtime error (e.g. cannot create the device), 2 bad usage.`;

/** What `lvsd decap` was asked to do. */
export interface DecapOptions {
  vips: string[];
  tunType: TunType;
  tunPort?: number;
  device: string;
}

/** Parses `lvsd decap` arguments: the options, or a usage error message. */
export function parseDecapArgs(args: string[]): DecapOptions | { help: true } | { error: string } {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        vip: { type: "string", multiple: true },
        "tun-type": { type: "string" },
        "tun-port": { type: "string" },
        device: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (values.help) return { help: true };
  const vips = (values.vip ?? []).flatMap((v) => v.split(",")).map((v) => v.trim());
  if (vips.length === 0) return { error: "--vip is required: the VIPs this real server serves" };
  for (const v of vips) {
    try {
      vipTable([v]);
    } catch {
      return { error: `--vip "${v}" is not an IPv4 address` };
    }
  }
  const dup = vips.find((v, i) => vips.indexOf(v) !== i);
  if (dup) return { error: `--vip ${dup} is given twice` };
  const tunType = values["tun-type"] ?? "ipip";
  if (tunType !== "ipip" && tunType !== "gue") {
    return { error: `--tun-type "${tunType}" is not supported (ipip or gue)` };
  }
  let tunPort: number | undefined;
  if (values["tun-port"] !== undefined) {
    if (tunType !== "gue") return { error: "--tun-port only goes with --tun-type gue" };
    const text = values["tun-port"];
    tunPort = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(tunPort >= 1 && tunPort <= 65535)) return { error: `--tun-port "${text}" is not a port (1..65535)` };
  } else if (tunType === "gue") {
    return { error: "--tun-type gue needs --tun-port (the port the director sends to)" };
  }
  const device = values.device ?? "lvsd-tun0";
  const bad = checkDeviceName(device);
  if (bad) return { error: `--device "${device}" is not an interface name: ${bad}` };
  return { vips, tunType, tunPort, device };
}

/** `lvsd decap ARGS`: runs until SIGINT/SIGTERM; the exit code. */
export async function decapMain(args: string[], workerUrl: URL): Promise<number> {
  const parsed = parseDecapArgs(args);
  if ("help" in parsed) {
    console.log(DECAP_USAGE);
    return 0;
  }
  if ("error" in parsed) {
    console.error(`lvsd decap: ${parsed.error}\n\n${DECAP_USAGE}`);
    return 2;
  }
  const opts = parsed;
  const log = (line: string) => console.log(`lvsd decap: ${line}`);
  // Listeners first: a SIGTERM during setup must still tear down.
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const counters = new DecapCounters();
  const printCounters = () => log(counters.format(errnoName));
  Deno.addSignalListener("SIGUSR2", printCounters);

  const sysctls = new SysctlChanges(log);
  let socketFd = -1;
  let tun: TunDevice | undefined;
  let worker: ReceiveWorker | undefined;
  let code = 0;
  try {
    socketFd = openTunnelSocket(opts.tunType, opts.tunPort);
    tun = TunDevice.open(opts.device);
    await configureDevice(opts.device, opts.vips, sysctls);
    const init: DecapWorkerInit = {
      tunType: opts.tunType,
      socketFd,
      tunFd: tun.fd,
      device: opts.device,
      vips: Array.from(vipTable(opts.vips)),
      shared: counters.buffer,
    };
    worker = new ReceiveWorker(workerUrl, init);
    await worker.ready;
    log(
      `ready: ${opts.tunType}${
        opts.tunType === "gue" ? ` on UDP port ${opts.tunPort}` : ""
      } -> TUN device ${opts.device}, VIPs ${opts.vips.join(", ")}`,
    );
    const why = await Promise.race([stopped.then(() => null), worker.ended]);
    if (why !== null) {
      console.error(`lvsd decap: ${why}`);
      code = 1;
    } else log("stopping");
  } catch (e) {
    console.error(`lvsd decap: ${(e as Error).message}`);
    code = 1;
  } finally {
    if (worker) await worker.stop(counters);
    if (socketFd >= 0) close(socketFd);
    // Closing the fd deletes the device, its addresses and routes.
    tun?.close();
    await sysctls.restore();
    if (worker) printCounters();
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGUSR2", printCounters);
  }
  if (code === 0) log("stopped");
  return code;
}

// A worker that cannot even load in this long is reported, not waited on.
const WORKER_START_MS = 20000;
// The loop looks at the stop word every POLL_MS; this is far beyond that.
const WORKER_STOP_MS = 3000;

/** The receive worker: started, running, ended. */
class ReceiveWorker {
  /** Resolves once the loop runs; rejects if the worker fails or does not start in time. */
  readonly ready: Promise<void>;
  /** Resolves when the worker is done: null after a requested stop, else why it failed. */
  readonly ended: Promise<string | null>;
  #worker: Worker;

  constructor(url: URL, init: DecapWorkerInit) {
    this.#worker = new Worker(url, { type: "module", name: DECAP_WORKER_NAME });
    let end!: (why: string | null) => void;
    this.ended = new Promise((resolve) => end = resolve);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the receive worker did not start within ${WORKER_START_MS} ms`)),
        WORKER_START_MS,
      );
      this.ended.then((why) => {
        clearTimeout(timer);
        reject(new Error(why ?? "the receive worker stopped before it started"));
      });
      this.#worker.onmessage = (e: MessageEvent<DecapWorkerReport>) => {
        const m = e.data;
        if (m.type === "ready") {
          clearTimeout(timer);
          resolve();
        } else end(m.type === "error" ? m.message : null);
      };
      this.#worker.onerror = (e) => {
        e.preventDefault();
        end(`the receive worker failed: ${e.message}`);
      };
    });
    // Nobody awaits `ready` once it is settled another way.
    this.ready.catch(() => {});
    this.#worker.postMessage(init);
  }

  /** Asks the loop to stop, waits for it (at most WORKER_STOP_MS), then ends the Worker. */
  async stop(counters: DecapCounters): Promise<void> {
    counters.requestStop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, WORKER_STOP_MS));
    await Promise.race([this.ended, late]);
    clearTimeout(timer);
    this.#worker.terminate();
  }
}
