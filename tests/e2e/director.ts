/**
 * End-to-end harness: a lab (client, director, three real servers in their
 * own network namespaces), lvsd started in the director namespace with a
 * generated config, and guaranteed teardown.
 */
import { Lab, type LabProcess, VIP } from "../../src/lab/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running lab + lvsd. */
export interface Director {
  lab: Lab;
  lvsd: LabProcess;
  statusFile: string;
  /** The config file lvsd was started with (rewrite it and send SIGHUP to reload). */
  configFile: string;
  /** The state file (kept across restart()). */
  stateFile: string;
  /** The admin API token file lvsd created (the API listens on 127.0.0.1:9470 in the director namespace). */
  tokenFile: string;
  /** The current status listing (waits for a fresh write). */
  status(): Promise<string>;
  /** Starts lvsd again (after stop) with the same or another config. */
  restart(yaml?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Config options for the generated YAML. */
export interface DirectorConfig {
  workers?: number;
  kernelGuard?: "nftables" | "off";
  /** packet_io (written only when given); af_xdp also prepares the lab for it ({@link prepareForXdp}). */
  packetIo?: "auto" | "af_xdp" | "af_packet";
  weights?: number[];
  scheduler?: "rr" | "wrr";
  connTableSize?: number;
  /** Program to run instead of src/main.ts (e.g. a bundle outside the repo). */
  entry?: string;
  /** The whole config instead of the generated one. */
  yaml?: string;
  /** Runs after the real servers are up, before lvsd starts (e.g. Lab.directReturn). */
  setup?: (lab: Lab) => Promise<void>;
}

/** The YAML lvsd is started with. */
export function configYaml(c: DirectorConfig = {}): string {
  const w = c.weights ?? [1, 2, 3];
  const dests = (port: number, weights: number[]) =>
    weights.map((wt, i) => `      - { address: 10.20.0.${11 + i}, port: ${port}, forward: masq, weight: ${wt} }`).join(
      "\n",
    );
  return `workers: ${c.workers ?? 2}
conn_table_size: ${c.connTableSize ?? 65536}
kernel_guard: ${c.kernelGuard ?? "nftables"}
${c.packetIo ? `packet_io: ${c.packetIo}\n` : ""}interfaces: [ { name: ext0 }, { name: int0 } ]
services:
  - proto: tcp
    vip: ${VIP}
    port: 80
    scheduler: ${c.scheduler ?? "wrr"}
    dests:
${dests(80, w)}
  - proto: udp
    vip: ${VIP}
    port: 7
    scheduler: rr
    dests:
${dests(7, [1, 1, 1])}
`;
}

function requireRoot(): void {
  if (Deno.uid() !== 0) throw new Error("end-to-end tests need root (network namespaces, AF_PACKET): run them as root");
}

/** Runs `fn` with a lab and lvsd; always tears everything down. */
export async function withDirector(cfg: DirectorConfig, fn: (d: Director) => Promise<void>): Promise<void> {
  requireRoot();
  const lab = await Lab.up();
  const dir = await Deno.makeTempDir({ prefix: `lvsd-e2e-${lab.prefix}-` });
  const statusFile = `${dir}/status.txt`;
  const configFile = `${dir}/lvsd.yaml`;
  const stateFile = `${dir}/state.yaml`;
  const tokenFile = `${dir}/admin.token`;
  let lvsd: LabProcess | undefined;
  const start = async (yaml: string) => {
    await Deno.writeTextFile(configFile, yaml);
    lvsd = lab.spawn(lab.ns.director, [
      lab.deno,
      "run",
      "-A",
      "--cached-only",
      cfg.entry ?? `${ROOT}src/main.ts`,
      "--config",
      configFile,
      "--status-file",
      statusFile,
      "--state-file",
      stateFile,
      "--token-file",
      tokenFile,
    ], { cwd: ROOT, env: { LVSD_FAULT_INJECTION: "1" } });
    await lvsd.waitFor("lvsd: ready", 20000);
  };
  try {
    await lab.startRealServers();
    if (cfg.packetIo === "af_xdp") await prepareForXdp(lab, cfg.workers ?? 2);
    await cfg.setup?.(lab);
    await start(cfg.yaml ?? configYaml(cfg));
    const d: Director = {
      lab,
      get lvsd() {
        return lvsd!;
      },
      statusFile,
      configFile,
      stateFile,
      tokenFile,
      async status() {
        const t0 = Date.now();
        const before = await Deno.stat(statusFile).then((s) => s.mtime?.getTime() ?? 0).catch(() => 0);
        while (Date.now() - t0 < 3000) {
          const m = await Deno.stat(statusFile).then((s) => s.mtime?.getTime() ?? 0).catch(() => 0);
          if (m > before) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        return await Deno.readTextFile(statusFile);
      },
      async restart(yaml?: string) {
        await start(yaml ?? cfg.yaml ?? configYaml(cfg));
      },
      async stop() {
        if (lvsd && !lvsd.exited) {
          const st = await lvsd.stop(5000);
          if (st.code !== 0) throw new Error(`lvsd exited with ${st.code}:\n${lvsd.stdout}\n${lvsd.stderr}`);
        }
      },
    };
    await fn(d);
    await d.stop();
  } catch (e) {
    if (lvsd) console.error(`lvsd output:\n${lvsd.stdout}\n${lvsd.stderr}`);
    throw e;
  } finally {
    if (lvsd && !lvsd.exited) await lvsd.stop(3000).catch(() => {});
    await lab.down();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * What an AF_XDP run needs from the lab: as many rx/tx queues on the
 * director's veths and their peers as workers (one XSK per queue), and tx checksum offload
 * off on the client's and the real servers' veths. The latter is a lab
 * artifact: a frame a local stack sends over veth carries "checksum not done
 * yet" (CHECKSUM_PARTIAL) in its skb, which AF_XDP does not pass on, so the
 * director would forward a TCP/UDP checksum holding only the pseudo-header
 * sum. Frames from a real wire always carry complete checksums.
 */
export async function prepareForXdp(lab: Lab, workers: number): Promise<void> {
  const run = async (ns: string, args: string[]) => {
    const r = await lab.exec(ns, args);
    if (r.code !== 0) throw new Error(`${args.join(" ")} in ${ns}: ${r.stderr}`);
  };
  const q = String(Math.max(1, Math.min(workers, navigator.hardwareConcurrency)));
  for (const dev of ["ext0", "int0"]) await run(lab.ns.director, ["ethtool", "-L", dev, "rx", q, "tx", q]);
  // veth delivers a frame to the rx queue numbered like the tx queue its
  // peer sent it on: the peers need as many tx queues, or all goes to queue 0.
  await run(lab.ns.client, ["ethtool", "-L", "eth0", "rx", q, "tx", q]);
  await run(lab.ns.lan, ["ethtool", "-L", "dir", "rx", q, "tx", q]);
  await run(lab.ns.client, ["ethtool", "-K", "eth0", "tx", "off"]);
  for (const ns of lab.ns.servers) await run(ns, ["ethtool", "-K", "eth0", "tx", "off"]);
}

/** A counter from the status listing's "Drops:" or "Data plane:" lines. */
export function counter(status: string, name: string): number {
  const m = status.match(new RegExp(`\\b${name}=(\\d+)`));
  return m ? Number(m[1]) : 0;
}

/**
 * A config with one TCP :80 service on the VIP over rs1..rsN, one dest line
 * each as written by `dest(i)` (the inside of its `{ }` after the address).
 */
export function httpServiceYaml(
  scheduler: string,
  dests: string[],
  serviceExtra = "",
): string {
  const lines = dests.map((d, i) => `      - { address: 10.20.0.${11 + i}, ${d} }`).join("\n");
  return `workers: 2
conn_table_size: 65536
interfaces: [ { name: ext0 }, { name: int0 } ]
services:
  - proto: tcp
    vip: ${VIP}
    port: 80
    scheduler: ${scheduler}
${serviceExtra}    dests:
${lines}
`;
}

/** Hex SHA-256 of `bytes` (to compare with `sha256sum` in a namespace). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
