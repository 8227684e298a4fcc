/**
 * Harness for the VRRP lab tests: the HA lab (two directors, a client, three
 * real servers routing through the floating gateway 10.20.0.1), lvsd with a
 * VRRP instance on either director, and who holds the VIP read where it
 * matters: which MAC answers the client's ARP.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Lab, type LabProcess, VIP } from "../../src/lab/mod.ts";

export const E2E = { sanitizeOps: false, sanitizeResources: false };
const ROOT = new URL("../../", import.meta.url).pathname;
const PROBE = new URL("./arp_probe.py", import.meta.url).pathname;
export const GATEWAY = "10.20.0.1";
export const ADVERT_S = 0.5;
/** Master_Down_Interval of the priority-100 backup (ms): 3 × advert + (256 − 100)/256 × advert. */
export const DOWN_100 = 3 * ADVERT_S * 1000 + (156 / 256) * ADVERT_S * 1000;

export interface Instance {
  priority: number;
  nopreempt?: boolean;
  unicast?: { src: string; peer: string };
  trackInterface?: string[];
  /** preempt_delay in seconds. */
  preemptDelayS?: number;
  /** keepalived's lvs_sync_daemon over int0 (syncid 7): the sync role follows VI_1. */
  sync?: boolean;
  /** The instance's name (default VI_1; lvs_sync_daemon follows it). */
  name?: string;
  /** packet_io (default: lvsd's default, AF_PACKET). */
  packetIo?: "af_xdp" | "af_packet";
}

export function configYaml(i: Instance): string {
  return `workers: 1
conn_table_size: 65536
state_file: null
${i.packetIo ? `packet_io: ${i.packetIo}\n` : ""}interfaces: [ { name: ext0 }, { name: int0 } ]
services:
  - proto: tcp
    vip: ${VIP}
    port: 80
    scheduler: rr
    dests:
      - { address: 10.20.0.11, port: 80 }
      - { address: 10.20.0.12, port: 80 }
      - { address: 10.20.0.13, port: 80 }
vrrp_instances:
  - name: ${i.name ?? "VI_1"}
    interface: ext0
    state: BACKUP
    virtual_router_id: 51
    priority: ${i.priority}
    advert_int: ${ADVERT_S}
${i.nopreempt ? "    nopreempt: true\n" : ""}${
    i.preemptDelayS !== undefined ? `    preempt_delay: ${i.preemptDelayS}\n` : ""
  }${i.trackInterface ? `    track_interface: [${i.trackInterface.join(", ")}]\n` : ""}${
    i.unicast ? `    unicast_src_ip: ${i.unicast.src}\n    unicast_peer: [${i.unicast.peer}]\n` : ""
  }    garp_master_delay: 1
    garp_master_repeat: 2
    virtual_ipaddress:
      - ${VIP}/24
      - ${GATEWAY}/24 dev int0
${i.sync ? `sync_daemon:\n  lvs_sync_daemon: { interface: int0, vrrp_instance: ${i.name ?? "VI_1"}, id: 7 }\n` : ""}`;
}

export class Ha {
  readonly lvsd: (LabProcess | null)[] = [null, null];
  readonly macs: string[] = [];
  constructor(readonly lab: Lab, readonly dir: string) {}

  static async up(): Promise<Ha> {
    if (Deno.uid() !== 0) throw new Error("the VRRP lab tests need root (namespaces, raw sockets)");
    const lab = await Lab.up({ ha: true });
    const ha = new Ha(lab, await Deno.makeTempDir({ prefix: `lvsd-vrrp-${lab.prefix}-` }));
    try {
      await lab.startRealServers();
      for (const ns of ha.directors) ha.macs.push(await lab.mac(ns, "ext0"));
    } catch (e) {
      await ha.down();
      throw e;
    }
    return ha;
  }

  get directors(): string[] {
    return [...this.lab.ns.directors];
  }

  async start(i: number, inst: Instance): Promise<LabProcess> {
    const file = `${this.dir}/lvsd${i}.yaml`;
    await Deno.writeTextFile(file, configYaml(inst));
    const p = this.lab.spawn(this.directors[i], [
      this.lab.deno,
      "run",
      "-A",
      "--cached-only",
      `${ROOT}src/main.ts`,
      "--config",
      file,
      "--token-file",
      `${this.dir}/token${i}`,
      "--status-file",
      `${this.dir}/status${i}.txt`,
    ], { cwd: ROOT });
    this.lvsd[i] = p;
    await p.waitFor("lvsd: ready", 20000);
    return p;
  }

  /** Rewrites director i's config and sends SIGHUP; resolves with the reload's log line. */
  async reload(i: number, inst: Instance): Promise<string> {
    const p = this.lvsd[i]!;
    const before = (p.stdout.match(/lvsd: reloaded /g) ?? []).length;
    await Deno.writeTextFile(`${this.dir}/lvsd${i}.yaml`, configYaml(inst));
    p.kill("SIGHUP");
    const end = Date.now() + 10000;
    while ((p.stdout.match(/lvsd: reloaded /g) ?? []).length <= before) {
      if (Date.now() > end) {
        throw new Error(`director ${i + 1} did not log a reload\n${p.stdout.slice(-2000)}\n${p.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return p.stdout.split("\n").filter((l) => l.startsWith("lvsd: reloaded ")).at(-1)!;
  }

  /** GET /v1/vrrp from director i's admin API (127.0.0.1:9470 in its namespace). */
  vrrpView(i: number): Promise<{ instances: Record<string, unknown>[] }> {
    return this.get(i, "/v1/vrrp") as Promise<{ instances: Record<string, unknown>[] }>;
  }

  /** GET `path` (JSON) from director i's admin API. */
  async get(i: number, path: string): Promise<unknown> {
    const token = (await Deno.readTextFile(`${this.dir}/token${i}`)).trim();
    const r = await this.lab.exec(this.directors[i], [
      "curl",
      "-sf",
      "-m",
      "5",
      "-H",
      `Authorization: Bearer ${token}`,
      `http://127.0.0.1:9470${path}`,
    ]);
    if (r.code !== 0) throw new Error(`GET ${path} on director ${i + 1}: curl exit ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** SIGKILL of director i's lvsd; the wall-clock time of the kill. */
  async kill(i: number): Promise<number> {
    const p = this.lvsd[i]!;
    p.kill("SIGKILL");
    const t = Date.now();
    await p.status;
    this.lvsd[i] = null;
    return t;
  }

  /** Waits until director i's lvsd has logged `re` `n` times. */
  async waitCount(i: number, re: RegExp, n: number, ms: number): Promise<void> {
    const end = Date.now() + ms;
    const g = new RegExp(re.source, "g");
    while ((this.lvsd[i]!.stdout.match(g) ?? []).length < n) {
      if (Date.now() > end) {
        throw new Error(`director ${i + 1}: no ${n}× ${re} within ${ms} ms\n${this.lvsd[i]!.stdout.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Which director answers the client's ARP for `addr` now (index, or -1: nobody within 1 s). */
  async arpHolder(addr = VIP): Promise<number> {
    const r = await this.lab.exec(this.lab.ns.client, ["python3", PROBE, "eth0", addr, "10.10.0.2", "50", "1"]);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const macs = lines.filter((l) => l.mac).map((l) => l.mac as string);
    assert(new Set(macs).size <= 1, `two directors answered ARP for ${addr}: ${macs.join(", ")} (split brain)`);
    return macs.length ? this.macs.indexOf(macs[0]) : -1;
  }

  /** Starts an ARP probe that reports each change of the answering MAC (every `everyMs`, for `seconds`). */
  probe(everyMs: number, seconds: number): LabProcess {
    return this.lab.spawn(this.lab.ns.client, [
      "python3",
      PROBE,
      "eth0",
      VIP,
      "10.10.0.2",
      String(everyMs),
      String(seconds),
    ]);
  }

  /** New HTTP requests through the VIP: all must succeed. */
  async http(count: number): Promise<Record<string, number>> {
    const r = await this.lab.runHttpClient([
      "--url",
      `http://${VIP}/`,
      "--count",
      String(count),
      "--close",
      "--timeout-ms",
      "20000",
    ]);
    assertEquals(r.failed, 0, JSON.stringify(r));
    return r.byBody;
  }

  /** The wall-clock ms director i's instance last became MASTER (from its SIGUSR2 snapshot). */
  async masterSince(i: number): Promise<number> {
    const p = this.lvsd[i]!;
    const before = (p.stdout.match(/lvsd: VRRP \{/g) ?? []).length;
    p.kill("SIGUSR2");
    const end = Date.now() + 3000;
    while ((p.stdout.match(/lvsd: VRRP \{/g) ?? []).length <= before) {
      if (Date.now() > end) throw new Error("no VRRP snapshot on SIGUSR2");
      await new Promise((r) => setTimeout(r, 20));
    }
    const line = p.stdout.split("\n").filter((l) => l.startsWith("lvsd: VRRP {")).at(-1)!;
    return JSON.parse(line.slice("lvsd: VRRP ".length)).masterSinceEpochMs;
  }

  async down(): Promise<void> {
    for (const p of this.lvsd) if (p && !p.exited) await p.stop(3000).catch(() => {});
    await this.lab.down();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

export async function withHa(fn: (ha: Ha) => Promise<void>): Promise<void> {
  const ha = await Ha.up();
  try {
    await fn(ha);
  } catch (e) {
    ha.lvsd.forEach((p, i) => p && console.error(`director ${i + 1} output:\n${p.stdout.slice(-3000)}\n${p.stderr}`));
    throw e;
  } finally {
    await ha.down();
  }
}

/** The state-change lines lvsd logs. */
export const MASTER = /VRRP instance VI_1: BACKUP -> MASTER/;
export const TO_BACKUP = /VRRP instance VI_1: (INIT|MASTER) -> BACKUP/;
