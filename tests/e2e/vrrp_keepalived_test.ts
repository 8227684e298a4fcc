/**
 * lvsd and keepalived as the two routers of one VRRP instance in the HA lab
 * (root; Debian's keepalived): lvsd on director 1, keepalived (VRRP only,
 * its own config, pid files and log in a temp dir) inside director 2's
 * namespace, where it puts the VIP and the servers' gateway on the kernel
 * while MASTER. Who holds the VIP is read from the client: which MAC
 * answers its ARP (never both).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { sh } from "../../src/sys/netns_testing.ts";
import { checkKeepalived, Keepalived } from "../vrrp/keepalived_harness.ts";
import { ADVERT_S, DOWN_100, E2E, GATEWAY, type Ha, MASTER, TO_BACKUP, withHa } from "./vrrp_lab.ts";

function conf(priority: number): string {
  return `global_defs {
  router_id lvsd_lab_interop
}
vrrp_instance VI_1 {
  state BACKUP
  interface ext0
  virtual_router_id 51
  priority ${priority}
  advert_int ${ADVERT_S}
  version 3
  garp_master_delay 1
  virtual_ipaddress {
    ${VIP}/24 dev ext0
    ${GATEWAY}/24 dev int0
  }
}
`;
}

async function until(pred: () => Promise<boolean> | boolean, ms: number, what: string, dump: () => string) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${dump().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function withKeepalived(priority: number, fn: (ha: Ha, ka: Keepalived) => Promise<void>): Promise<void> {
  checkKeepalived();
  await withHa(async (ha) => {
    const dir = await Deno.makeTempDir({ prefix: "lvsd-ka-lab-" });
    const ka = new Keepalived(ha.directors[1], dir, conf(priority), VIP, "ext0");
    try {
      await fn(ha, ka);
    } catch (e) {
      console.error(`keepalived log:\n${ka.log().slice(-4000)}`);
      throw e;
    } finally {
      await ka.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}

Deno.test({
  name:
    "e2e vrrp+keepalived: lvsd (150) is elected over keepalived (100), keepalived takes over on SIGKILL, lvsd preempts",
  ...E2E,
  fn: () =>
    withKeepalived(100, async (ha, ka) => {
      const dump = () => ka.log();
      await ha.start(0, { priority: 150 });
      await ha.waitCount(0, MASTER, 1, 15000);
      // keepalived started first and may have been MASTER until lvsd (150) preempted it.
      await until(async () => !(await ka.holds()), 5000, "keepalived gives the VIP up (BACKUP)", dump);
      assert(/Entering BACKUP STATE/.test(ka.log()), dump());
      await new Promise((r) => setTimeout(r, 4 * ADVERT_S * 1000));
      assertEquals(await ka.holds(), false, "keepalived stays BACKUP while lvsd advertises");
      assertEquals(await ha.arpHolder(), 0, "the client's ARP is answered by director 1 (lvsd)");
      await ha.http(20);
      const killedAt = await ha.kill(0);
      await until(() => ka.holds(), 10000, "keepalived takes the VIP", dump);
      const gap = Date.now() - killedAt;
      console.log(
        `keepalived took the VIP ${gap} ms after SIGKILL of lvsd (Master_Down_Interval ${DOWN_100.toFixed(0)} ms)`,
      );
      assert(gap <= DOWN_100 + 500, `keepalived took ${gap} ms`);
      assertEquals(await ha.arpHolder(), 1, "now director 2's kernel (keepalived) answers");
      await ha.start(0, { priority: 150 });
      await ha.waitCount(0, MASTER, 1, 15000);
      await until(async () => !(await ka.holds()), 5000, "keepalived gives the VIP back", dump);
      assertEquals(await ha.arpHolder(), 0, "director 1 (lvsd) answers again");
      await ha.http(20);
    }),
});

Deno.test({
  name:
    "e2e vrrp+keepalived: keepalived (200) is master and lvsd (100) stays backup; lvsd takes over when keepalived dies",
  ...E2E,
  fn: () =>
    withKeepalived(200, async (ha, ka) => {
      const dump = () => ka.log();
      await until(() => ka.holds(), 15000, "keepalived MASTER", dump);
      await ha.start(0, { priority: 100 });
      await ha.waitCount(0, TO_BACKUP, 1, 10000);
      await new Promise((r) => setTimeout(r, 8 * ADVERT_S * 1000));
      assert(!MASTER.test(ha.lvsd[0]!.stdout), "lvsd stayed BACKUP while keepalived advertises");
      assertEquals(await ha.arpHolder(), 1, "keepalived's director answers, lvsd does not");
      const killedAt = await ka.kill();
      await ha.waitCount(0, MASTER, 1, 10000);
      const takeover = (await ha.masterSince(0)) - killedAt;
      console.log(`lvsd took over ${takeover} ms after SIGKILL of keepalived (bound ${DOWN_100.toFixed(0)} ms)`);
      assert(takeover <= DOWN_100 + 100, `lvsd took ${takeover} ms`);
      // The dead router's box is gone with its addresses (a SIGKILLed keepalived leaves them on the kernel).
      const ns = ha.directors[1];
      await sh("ip", "-n", ns, "addr", "del", `${VIP}/24`, "dev", "ext0");
      await sh("ip", "-n", ns, "addr", "del", `${GATEWAY}/24`, "dev", "int0");
      assertEquals(await ha.arpHolder(), 0, "director 1 (lvsd) answers");
      await ha.http(20);
    }),
});
