/**
 * The whole hot-standby story end to end (issue 7's kill-the-master test),
 * in the HA lab: two lvsd directors, one VRRP instance holding the VIP and
 * the servers' gateway, keepalived's lvs_sync_daemon so that the sync role
 * follows VRRP. 100 downloads are held mid-transfer through the master and
 * must all be in the backup's table; the master is SIGKILLed; the backup
 * takes the VIPs over and every download completes with the right checksum
 * and no reset. Then failback: the old master returns (preempt_delay), gets
 * the running connections from the new master's sync, takes the VIPs back,
 * and a second 100 downloads that crossed the failback complete as well.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ConnectionPage } from "../../src/api/model.ts";
import { configYaml, E2E, type Ha, MASTER, TO_BACKUP, withHa } from "./vrrp_lab.ts";

/** Client ports of the live connections in director i's table (one page of up to 10,000). */
async function clientPorts(ha: Ha, i: number): Promise<Map<number, { state: string; dest: string }>> {
  const page = await ha.get(i, "/v1/connections?limit=10000") as ConnectionPage;
  return new Map(page.items.filter((c) => !c.template).map((c) => [c.client_port, { state: c.state, dest: c.dest }]));
}

/** Polls until every port is in director i's table; returns the ms it took. */
async function untilSynced(ha: Ha, i: number, ports: number[], ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const have = await clientPorts(ha, i);
    const missing = ports.filter((p) => !have.has(p));
    if (!missing.length) return Date.now() - t0;
    if (Date.now() - t0 > ms) {
      throw new Error(`director ${i + 1} lacks ${missing.length} of ${ports.length} connections after ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name: "e2e failover: 100 downloads survive SIGKILL of the master (VRRP + sync), and a failback (preempt_delay)",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      await ha.start(0, { priority: 150, sync: true, preemptDelayS: 5 });
      await ha.start(1, { priority: 100, sync: true });
      await ha.waitCount(0, MASTER, 1, 15000);
      await ha.waitCount(1, TO_BACKUP, 1, 10000);
      await ha.waitCount(0, /lvs_sync_daemon: master/, 1, 5000);
      await ha.waitCount(1, /lvs_sync_daemon: backup/, 1, 5000);
      assertEquals(await ha.arpHolder(), 0, "director 1 holds the VIP");

      // 100 downloads of 1 MiB at 48 KiB/s (about 21 s each), all mid-transfer.
      const a = await ha.lab.startDownloads({ count: 100, bytes: 1 << 20, rate: 48 * 1024, timeoutMs: 90000 });
      const syncMs = await untilSynced(ha, 1, a.ports, 10000);
      const onMaster = await clientPorts(ha, 0);
      const onBackup = await clientPorts(ha, 1);
      for (const p of a.ports) {
        assertEquals(onBackup.get(p)?.dest, onMaster.get(p)?.dest, `port ${p}: the backup's dest is the master's`);
      }

      const killedAt = await ha.kill(0);
      await ha.waitCount(1, MASTER, 1, 10000);
      const takeover = (await ha.masterSince(1)) - killedAt;
      await ha.waitCount(1, /lvs_sync_daemon: master/, 1, 5000);
      assertEquals(await ha.arpHolder(), 1, "director 2 holds the VIP");
      const ra = await a.done;
      console.log(
        `failover: 100 connections in the backup's table ${syncMs} ms after the last started; ` +
          `MASTER ${takeover} ms after SIGKILL; downloads ${ra.ok}/100 ok ${JSON.stringify(ra.reasons)} in ${ra.ms} ms`,
      );
      assertEquals(ra.ok, 100, JSON.stringify(ra));
      assertEquals(ra.failed, 0);

      // Failback: 100 more downloads through director 2, then director 1 returns.
      const b = await ha.lab.startDownloads({ count: 100, bytes: 1 << 20, rate: 48 * 1024, timeoutMs: 90000 });
      await ha.start(0, { priority: 150, sync: true, preemptDelayS: 5 });
      // As BACKUP it runs the backup daemon and learns the running connections before it preempts.
      await ha.waitCount(0, /lvs_sync_daemon: backup/, 1, 5000);
      const resyncMs = await untilSynced(ha, 0, b.ports, 5000);
      await ha.waitCount(0, MASTER, 1, 15000);
      await ha.waitCount(1, /VRRP instance VI_1: MASTER -> BACKUP/, 1, 5000);
      assertEquals(await ha.arpHolder(), 0, "director 1 holds the VIP again");
      const rb = await b.done;
      console.log(
        `failback: the returning director had the 100 running connections ${resyncMs} ms after its start; ` +
          `downloads ${rb.ok}/100 ok ${JSON.stringify(rb.reasons)}`,
      );
      assertEquals(rb.ok, 100, JSON.stringify(rb));
      assert(rb.failed === 0);
      await ha.http(10);
    }),
});

Deno.test({
  name: "e2e lvs_sync_daemon: a reload that points it at an instance that does not run is refused, sync keeps running",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      const p = await ha.start(0, { priority: 150, sync: true });
      await ha.waitCount(0, MASTER, 1, 15000);
      await ha.waitCount(0, /lvs_sync_daemon: master/, 1, 5000);
      // vrrp_instances change only at a restart: renaming the instance and what follows it cannot apply now.
      await Deno.writeTextFile(`${ha.dir}/lvsd0.yaml`, configYaml({ priority: 150, sync: true, name: "VI_2" }));
      p.kill("SIGHUP");
      const end = Date.now() + 10000;
      while (!/"VI_2" is not a running VRRP instance \(VI_1\)/.test(p.stderr)) {
        if (Date.now() > end) throw new Error(`no refusal logged:\n${p.stdout.slice(-1500)}\n${p.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert(/the running configuration is unchanged/.test(p.stderr), p.stderr);
      const sync = await ha.get(0, "/v1/sync") as { daemons: { role: string }[] };
      assertEquals(sync.daemons.map((d) => d.role), ["master"]);
      const cfg = await ha.get(0, "/v1/config") as { sync_daemon: { lvs_sync_daemon: { vrrp_instance: string } } };
      assertEquals(cfg.sync_daemon.lvs_sync_daemon.vrrp_instance, "VI_1");
    }),
});
