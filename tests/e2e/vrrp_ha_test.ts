/**
 * VIP failover end to end (root, the HA lab: two lvsd directors, a client,
 * three real servers that route through the floating gateway 10.20.0.1).
 * One VRRP instance holds the VIP and the servers' gateway. Who holds the
 * VIP is read where it matters: which MAC answers the client's ARP.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Lab, type LabProcess, VIP } from "../../src/lab/mod.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const ROOT = new URL("../../", import.meta.url).pathname;
const PROBE = new URL("./arp_probe.py", import.meta.url).pathname;
const GATEWAY = "10.20.0.1";
const ADVERT_S = 0.5;
/** Master_Down_Interval of the priority-100 backup (ms): 3 × advert + (256 − 100)/256 × advert. */
const DOWN_100 = 3 * ADVERT_S * 1000 + (156 / 256) * ADVERT_S * 1000;

interface Instance {
  priority: number;
  nopreempt?: boolean;
  unicast?: { src: string; peer: string };
}

function configYaml(i: Instance): string {
  return `workers: 1
conn_table_size: 65536
state_file: null
interfaces: [ { name: ext0 }, { name: int0 } ]
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
  - name: VI_1
    interface: ext0
    state: BACKUP
    virtual_router_id: 51
    priority: ${i.priority}
    advert_int: ${ADVERT_S}
${i.nopreempt ? "    nopreempt: true\n" : ""}${
    i.unicast ? `    unicast_src_ip: ${i.unicast.src}\n    unicast_peer: [${i.unicast.peer}]\n` : ""
  }    garp_master_delay: 1
    garp_master_repeat: 2
    virtual_ipaddress:
      - ${VIP}/24
      - ${GATEWAY}/24 dev int0
`;
}

class Ha {
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

async function withHa(fn: (ha: Ha) => Promise<void>): Promise<void> {
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

const MASTER = /VRRP instance VI_1: BACKUP -> MASTER/;
const TO_BACKUP = /VRRP instance VI_1: (INIT|MASTER) -> BACKUP/;

Deno.test({
  name:
    "e2e vrrp: election, HTTP through the master, SIGKILL -> takeover within 3 × advert_int + skew, preemption back",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      await ha.start(0, { priority: 150 });
      await ha.start(1, { priority: 100 });
      await ha.waitCount(0, MASTER, 1, 10000);
      await ha.waitCount(1, TO_BACKUP, 1, 10000);
      assertEquals(await ha.arpHolder(), 0, "director 1 (priority 150) answers ARP for the VIP");
      const before = await ha.http(30);
      assertEquals(Object.keys(before).sort(), ["rs1", "rs2", "rs3"]);
      // The real servers' gateway is director 1 as well (answered on int0).
      const rsNeigh = await ha.lab.exec(ha.lab.ns.servers[0], ["ip", "neigh", "show", GATEWAY]);
      const int0 = [await ha.lab.mac(ha.directors[0], "int0"), await ha.lab.mac(ha.directors[1], "int0")];
      assert(rsNeigh.stdout.includes(int0[0]), `rs1's gateway is director 1: ${rsNeigh.stdout}`);

      // Kill the master; watch the client's ARP answers change hands.
      const watch = ha.probe(5, 10);
      await new Promise((r) => setTimeout(r, 300));
      const killedAt = await ha.kill(0);
      await ha.waitCount(1, MASTER, 1, 10000);
      const since = await ha.masterSince(1);
      await watch.status;
      const changes = watch.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((l) => l.mac);
      const first2 = changes.find((c) => c.mac === ha.macs[1]);
      assert(first2, `director 2 never answered ARP: ${watch.stdout}`);
      const takeover = since - killedAt;
      const arpAfterMaster = first2.t - since;
      console.log(
        `takeover: MASTER ${takeover} ms after SIGKILL (bound ${DOWN_100.toFixed(0)} ms), ` +
          `ARP answered ${arpAfterMaster} ms after MASTER (probe every 5 ms), ${first2.t - killedAt} ms after the kill`,
      );
      assert(takeover <= DOWN_100 + 100, `takeover ${takeover} ms > ${DOWN_100} ms + 100 ms`);
      assert(arpAfterMaster <= 100, `ARP answered ${arpAfterMaster} ms after becoming master`);
      // New requests go through director 2; the servers' replies through its gateway.
      const after = await ha.http(30);
      assertEquals(Object.keys(after).sort(), ["rs1", "rs2", "rs3"]);
      const rsNeigh2 = await ha.lab.exec(ha.lab.ns.servers[0], ["ip", "neigh", "show", GATEWAY]);
      assert(rsNeigh2.stdout.includes(int0[1]), `rs1's gateway moved to director 2 (GARP): ${rsNeigh2.stdout}`);

      // Director 1 returns with the higher priority and preempts.
      await ha.start(0, { priority: 150 });
      await ha.waitCount(0, MASTER, 1, 10000);
      await ha.waitCount(1, /VRRP instance VI_1: MASTER -> BACKUP/, 1, 5000);
      assertEquals(await ha.arpHolder(), 0, "director 1 holds the VIP again");
      await ha.http(10);
    }),
});

Deno.test({
  name: "e2e vrrp: nopreempt keeps the current master when the higher priority returns",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      await ha.start(0, { priority: 150, nopreempt: true });
      await ha.start(1, { priority: 100, nopreempt: true });
      await ha.waitCount(0, MASTER, 1, 10000);
      await ha.waitCount(1, TO_BACKUP, 1, 10000);
      await ha.kill(0);
      await ha.waitCount(1, MASTER, 1, 10000);
      await ha.start(0, { priority: 150, nopreempt: true });
      await ha.waitCount(0, TO_BACKUP, 1, 10000);
      await new Promise((r) => setTimeout(r, 6 * ADVERT_S * 1000));
      assert(!MASTER.test(ha.lvsd[0]!.stdout), "the returning director 1 stayed BACKUP");
      assertEquals(await ha.arpHolder(), 1, "director 2 keeps the VIP");
      await ha.http(10);
    }),
});

Deno.test({
  name: "e2e vrrp: unicast peers elect and fail over without multicast",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      await ha.start(0, { priority: 150, unicast: { src: "10.10.0.5", peer: "10.10.0.6" } });
      await ha.start(1, { priority: 100, unicast: { src: "10.10.0.6", peer: "10.10.0.5" } });
      await ha.waitCount(0, MASTER, 1, 10000);
      await ha.waitCount(1, TO_BACKUP, 1, 10000);
      assertEquals(await ha.arpHolder(), 0);
      await ha.http(10);
      const killedAt = await ha.kill(0);
      await ha.waitCount(1, MASTER, 1, 10000);
      const takeover = (await ha.masterSince(1)) - killedAt;
      console.log(`unicast takeover: ${takeover} ms (bound ${DOWN_100.toFixed(0)} ms)`);
      assert(takeover <= DOWN_100 + 100);
      assertEquals(await ha.arpHolder(), 1);
      await ha.http(10);
    }),
});
