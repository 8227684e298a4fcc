/**
 * The benchmark's real servers (nginx + a UDP counting sink in each real
 * server namespace) and the four ways of reaching them from the client:
 * `direct`, `lvsd-nat`, `haproxy` and `nft-nat`.
 *
 * Everything runs inside the lab's namespaces; every process is started by
 * us (tracked by the lab, so it is also killed by PID if we die) and stopped
 * by its PID; every address, sysctl and nftables table a variant adds is
 * removed by its `down()`.
 *
 * @module
 */
import { type Lab, type LabProcess, REAL_SERVER_ADDRS, VIP, which } from "../src/lab/lab.ts";
import { childPids } from "./cpu.ts";

/** Repository root (with a trailing slash). */
export const ROOT = decodeURIComponent(
  new URL("../", import.meta.url).pathname,
);
/** UDP port of the flood (the lab's echo port; here a counting sink). */
export const UDP_PORT = 7;
/** Name of every nftables table the benchmark makes. */
const NFT_TABLE = "lvsdbench";

const NFT = which("nft") ?? "/usr/sbin/nft";
const SYSCTL = which("sysctl") ?? "/usr/sbin/sysctl";
const NGINX = which("nginx") ?? "/usr/sbin/nginx";
const HAPROXY = which("haproxy") ?? "/usr/sbin/haproxy";
const CURL = which("curl") ?? "/usr/bin/curl";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sysctl(lab: Lab, ns: string, kv: string) {
  await lab.exec(ns, [SYSCTL, "-qw", kv], { check: true });
}

async function nft(lab: Lab, ns: string, script: string) {
  await lab.exec(ns, [NFT, "-f", "-"], { stdin: script, check: true });
}

/** Polls `curl url` in `ns` until it answers 200, or throws after `ms`. */
async function waitHttp(lab: Lab, ns: string, url: string, ms = 10000) {
  const until = performance.now() + ms;
  let last = "";
  while (performance.now() < until) {
    const r = await lab.exec(ns, [
      CURL,
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--max-time",
      "1",
      url,
    ], { timeoutMs: 3000 });
    last = r.stdout || r.stderr;
    if (r.stdout === "200") return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 from ${ns} (last: ${last})`);
}

/** nginx in every real-server namespace plus the UDP sink counters. */
export class Servers {
  #lab: Lab;
  #dir: string;
  #procs: LabProcess[] = [];

  constructor(lab: Lab, tmpDir: string) {
    this.#lab = lab;
    this.#dir = tmpDir;
  }

  /** Starts nginx (1 worker) in rs1..rs3 and installs the UDP sinks. */
  async up(): Promise<void> {
    const lab = this.#lab;
    const oneMiB = new Uint8Array(1 << 20);
    for (let i = 0; i < oneMiB.length; i++) oneMiB[i] = (i * 7 + 3) & 0xff;
    await Deno.writeFile(`${this.#dir}/1m`, oneMiB);
    for (const [i, name] of lab.serverNames.entries()) {
      const d = `${this.#dir}/${name}`;
      await Deno.mkdir(d, { recursive: true });
      await Deno.writeTextFile(`${d}/nginx.conf`, nginxConf(name, d, this.#dir));
      this.#procs.push(lab.spawn(lab.ns.servers[i], [
        NGINX,
        "-p",
        `${d}/`,
        "-e",
        `${d}/error.log`,
        "-c",
        `${d}/nginx.conf`,
        "-g",
        "daemon off;",
      ]));
      // The sink: count and drop UDP to the flood port before any socket
      // (no receiver can be the bottleneck, and no ICMP goes back).
      await nft(
        lab,
        lab.ns.servers[i],
        `table inet ${NFT_TABLE} {
  counter udpsink { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    udp dport ${UDP_PORT} counter name udpsink drop
  }
}
`,
      );
    }
    await Promise.all(
      lab.ns.servers.map((ns, i) =>
        Promise.race([
          waitHttp(lab, ns, `http://${REAL_SERVER_ADDRS[i]}/`),
          this.#procs[i].status.then(() => {
            throw new Error(
              `nginx in ${ns} exited: ${this.#procs[i].stderr.trim()}`,
            );
          }),
        ])
      ),
    );
  }

  /** Datagrams the sinks of all three servers have counted so far. */
  async udpCount(): Promise<number> {
    const counts = await Promise.all(this.#lab.ns.servers.map(async (ns) => {
      const r = await this.#lab.exec(ns, [
        NFT,
        "-j",
        "list",
        "counter",
        "inet",
        NFT_TABLE,
        "udpsink",
      ], { check: true });
      const j = JSON.parse(r.stdout);
      const c = j.nftables.find((o: Record<string, unknown>) => o.counter);
      return Number(c.counter.packets);
    }));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Stops exactly the nginx masters we started (and checks their workers went). */
  async down(): Promise<void> {
    const workers = this.#procs.flatMap((p) => childPids(p.pid));
    await Promise.all(this.#procs.map((p) => p.stop(3000)));
    this.#procs = [];
    for (const pid of workers) {
      try {
        Deno.kill(pid, 0);
        console.error(`bench: nginx worker ${pid} outlived its master`);
      } catch { /* gone, as it should be */ }
    }
  }
}

function nginxConf(name: string, d: string, root: string): string {
  return `# generated by bench/variants.ts
worker_processes 1;
user root;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  sendfile on;
  tcp_nopush on;
  server {
    listen 80 backlog=4096;
    location = / { default_type text/plain; return 200 "${name}\\n"; }
    location = /1m { default_type application/octet-stream; alias ${root}/1m; }
  }
}
`;
}

/** One way from the client to the real servers. */
export interface Variant {
  name: string;
  /** Where the client sends HTTP and UDP. */
  target: string;
  /** Whether the UDP flood applies. */
  udp: boolean;
  /** One-line description for the report. */
  what: string;
  /** PID of the userspace director process, when there is one. */
  pid(): number | undefined;
  up(): Promise<void>;
  down(): Promise<void>;
}

/** Shared by the variants. */
export interface VariantContext {
  lab: Lab;
  tmpDir: string;
  /** Where lvsd writes its status file. */
  statusFile: string;
  /** Copy of lvsd's last status file goes here (or nowhere when undefined). */
  keepStatusAs?: string;
  /** Checkout whose src/main.ts is run as lvsd (default: this one). */
  lvsdDir?: string;
}

/** Client → rs1 through the director's kernel routing (ip_forward=1). */
export function direct(c: VariantContext): Variant {
  const dir = c.lab.ns.director;
  return {
    name: "direct",
    target: REAL_SERVER_ADDRS[0],
    udp: true,
    what: "client → rs1 only, routed by the director's kernel",
    pid: () => undefined,
    async up() {
      await sysctl(c.lab, dir, "net.ipv4.ip_forward=1");
      await waitHttp(c.lab, c.lab.ns.client, `http://${REAL_SERVER_ADDRS[0]}/`);
    },
    async down() {
      await sysctl(c.lab, dir, "net.ipv4.ip_forward=0");
    },
  };
}

/** Forwarding methods the benchmark runs lvsd with. */
export type BenchForward = "masq" | "route" | "tunnel";

/** The lvsd config the benchmark uses. */
export function lvsdConfig(forward: BenchForward = "masq", packetIo?: "af_xdp"): string {
  const dests = (port: number) =>
    REAL_SERVER_ADDRS.map((a) => `      - { address: ${a}, port: ${port}, forward: ${forward}, weight: 1 }`).join("\n");
  return `# generated by bench/variants.ts
workers: auto
kernel_guard: nftables
packet_io: ${packetIo ?? "af_packet"}
interfaces:
  - name: ext0
  - name: int0
services:
  - proto: tcp
    vip: ${VIP}
    port: 80
    scheduler: rr
    dests:
${dests(80)}
  - proto: udp
    vip: ${VIP}
    port: ${UDP_PORT}
    scheduler: rr
    dests:
${dests(UDP_PORT)}
`;
}

/** lvsd in the director namespace, NAT (masq), rr over rs1..rs3. */
export function lvsdNat(c: VariantContext): Variant {
  return lvsdVariant(c, "masq");
}

/**
 * lvsd with direct routing: the real servers hold the VIP on lo and answer
 * the client through the lab's router path, so only requests (and ACKs)
 * cross the director.
 */
export function lvsdDr(c: VariantContext): Variant {
  return lvsdVariant(c, "route");
}

/** lvsd tunnelling (IPIP) to real servers that decapsulate with `lvsd decap`. */
export function lvsdTun(c: VariantContext): Variant {
  return lvsdVariant(c, "tunnel");
}

/**
 * lvsd NAT on AF_XDP (packet_io: af_xdp): as many veth queues on the
 * director as cores (one worker per queue), and tx checksum offload off on
 * the client's and real servers' veths while it runs (AF_XDP does not carry
 * CHECKSUM_PARTIAL: README, "Packet I/O: AF_XDP"; a lab artifact, put back
 * in down()).
 */
export function lvsdXdp(c: VariantContext): Variant {
  return lvsdVariant(c, "masq", "af_xdp");
}

const VARIANT_NAMES = { masq: "lvsd-nat", route: "lvsd-dr", tunnel: "lvsd-tun" } as const;

/** tx checksum offload (and the segmentation that needs it) on the client's and real servers' veths. */
async function senderOffloads(lab: Lab, on: boolean): Promise<void> {
  const v = on ? "on" : "off";
  const args = on ? ["tx", v, "tso", v, "gso", v] : ["tx", v];
  for (const ns of [lab.ns.client, ...lab.ns.servers]) {
    await lab.exec(ns, ["ethtool", "-K", "eth0", ...args], { check: true });
  }
}

function lvsdVariant(c: VariantContext, forward: BenchForward, packetIo?: "af_xdp"): Variant {
  let proc: LabProcess | undefined;
  const servers = REAL_SERVER_ADDRS.map((_, i) => i);
  return {
    name: packetIo ? "lvsd-xdp" : VARIANT_NAMES[forward],
    target: VIP,
    udp: true,
    what: packetIo
      ? `lvsd (AF_XDP + WASM), ${forward}, rr over 3 servers`
      : `lvsd (AF_PACKET + WASM), ${forward}, rr over 3 servers`,
    pid: () => proc?.pid,
    async up() {
      if (packetIo) {
        const q = String(navigator.hardwareConcurrency);
        for (const dev of ["ext0", "int0"]) {
          await c.lab.exec(c.lab.ns.director, ["ethtool", "-L", dev, "rx", q, "tx", q], { check: true });
        }
        // veth picks the rx queue by the peer's tx queue: the peers need as many.
        await c.lab.exec(c.lab.ns.client, ["ethtool", "-L", "eth0", "rx", q, "tx", q], { check: true });
        await c.lab.exec(c.lab.ns.lan, ["ethtool", "-L", "dir", "rx", q, "tx", q], { check: true });
        await senderOffloads(c.lab, false);
      }
      if (forward === "route") await c.lab.directReturn(servers, { vipOnLo: true });
      if (forward === "tunnel") {
        await c.lab.directReturn(servers, { vipOnLo: false });
        await c.lab.startDecap(servers);
      }
      const cfg = `${c.tmpDir}/lvsd.yaml`;
      await Deno.writeTextFile(cfg, lvsdConfig(forward, packetIo));
      // lvsd has been seen to start silently and never print "ready" (once
      // in a few starts, only while other deno processes ran on the box):
      // say what it was doing, then try once more.
      for (let attempt = 1;; attempt++) {
        proc = c.lab.spawn(c.lab.ns.director, [
          c.lab.deno,
          "run",
          "-A",
          "--cached-only",
          "src/main.ts",
          "--config",
          cfg,
          "--status-file",
          c.statusFile,
          "--state-file",
          `${c.tmpDir}/state.yaml`,
          "--token-file",
          `${c.tmpDir}/admin.token`,
        ], { cwd: c.lvsdDir ?? ROOT });
        try {
          await proc.waitFor("lvsd: ready", 30000);
          break;
        } catch (e) {
          console.error(
            `bench: lvsd start ${attempt} failed: ${stuckWhere(proc.pid)}`,
          );
          await proc.stop(3000);
          await c.lab.exec(c.lab.ns.director, [
            NFT,
            "delete",
            "table",
            "netdev",
            "lvsd",
          ]);
          if (attempt === 2) throw e;
        }
      }
      await waitHttp(c.lab, c.lab.ns.client, `http://${VIP}/`);
    },
    async down() {
      if (!proc) return;
      if (c.keepStatusAs) {
        await Deno.copyFile(c.statusFile, c.keepStatusAs).catch(() => {});
      }
      const st = await proc.stop(5000);
      if (!(st.code === 0 || st.signal === "SIGTERM")) {
        console.error(
          `bench: lvsd ended with ${st.signal ?? `exit ${st.code}`}:\n${
            proc.stderr.trim().split("\n").slice(-10).join("\n")
          }`,
        );
      }
      proc = undefined;
      if (forward !== "masq") await c.lab.restoreReturn(servers);
      if (packetIo) await senderOffloads(c.lab, true);
      const r = await c.lab.exec(c.lab.ns.director, [NFT, "list", "tables"]);
      if (r.stdout.trim()) {
        console.error(
          `bench: warning: nftables tables left in the director after lvsd: ${r.stdout.trim()}`,
        );
      }
    },
  };
}

/** Where a process's threads wait (wchan), for a hung start. */
function stuckWhere(pid: number): string {
  const out: string[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const base = `/proc/${pid}/task/${t.name}`;
      const comm = Deno.readTextFileSync(`${base}/comm`).trim();
      const wchan = Deno.readTextFileSync(`${base}/wchan`).trim();
      out.push(`${comm}:${wchan}`);
    }
  } catch { /* gone */ }
  return out.length ? `threads waiting in ${out.join(" ")}` : "process gone";
}

async function addVip(lab: Lab) {
  await lab.exec(lab.ns.director, [
    "ip",
    "addr",
    "add",
    `${VIP}/32`,
    "dev",
    "ext0",
  ], { check: true });
}

async function delVip(lab: Lab) {
  await lab.exec(lab.ns.director, [
    "ip",
    "addr",
    "del",
    `${VIP}/32`,
    "dev",
    "ext0",
  ]);
}

/** haproxy (TCP mode) on the VIP in the director namespace. */
export function haproxy(c: VariantContext): Variant {
  let proc: LabProcess | undefined;
  return {
    name: "haproxy",
    target: VIP,
    udp: false,
    what: "haproxy mode tcp, roundrobin over 3 servers (VIP on ext0)",
    pid: () => proc?.pid,
    async up() {
      const cfg = `${c.tmpDir}/haproxy.cfg`;
      await Deno.writeTextFile(
        cfg,
        `# generated by bench/variants.ts
global
  # haproxy sizes its FD limit from this (2 per connection + margin).
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind ${VIP}:80
  default_backend be
backend be
  balance roundrobin
${
          REAL_SERVER_ADDRS.map((a, i) => `  server rs${i + 1} ${a}:80`).join(
            "\n",
          )
        }
`,
      );
      await addVip(c.lab);
      proc = c.lab.spawn(c.lab.ns.director, [HAPROXY, "-f", cfg, "-db"]);
      await Promise.race([
        waitHttp(c.lab, c.lab.ns.client, `http://${VIP}/`),
        proc.status.then(() => {
          throw new Error(`haproxy exited: ${proc?.stderr.trim()}`);
        }),
      ]);
    },
    async down() {
      if (proc) await proc.stop(3000);
      proc = undefined;
      await delVip(c.lab);
    },
  };
}

/** Kernel NAT: nftables dnat with numgen round robin, ip_forward=1. */
export function nftNat(c: VariantContext): Variant {
  const dir = c.lab.ns.director;
  const map = REAL_SERVER_ADDRS.map((a, i) => `${i} : ${a}`).join(", ");
  return {
    name: "nft-nat",
    target: VIP,
    udp: true,
    what: "kernel nftables dnat numgen inc mod 3 (VIP on ext0)",
    pid: () => undefined,
    async up() {
      await addVip(c.lab);
      await sysctl(c.lab, dir, "net.ipv4.ip_forward=1");
      await nft(
        c.lab,
        dir,
        `table ip ${NFT_TABLE} {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${VIP} tcp dport 80 dnat to numgen inc mod 3 map { ${map} }
    ip daddr ${VIP} udp dport ${UDP_PORT} dnat to numgen inc mod 3 map { ${map} }
  }
}
`,
      );
      await waitHttp(c.lab, c.lab.ns.client, `http://${VIP}/`);
    },
    async down() {
      await c.lab.exec(dir, [NFT, "delete", "table", "ip", NFT_TABLE]);
      await sysctl(c.lab, dir, "net.ipv4.ip_forward=0");
      await delVip(c.lab);
    },
  };
}
