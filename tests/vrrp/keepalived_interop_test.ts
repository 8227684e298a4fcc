/**
 * Interop with keepalived's VRRP (root, namespaces, Debian's keepalived):
 * lvsd's VRRP runner and keepalived (VRRP only, no fork, its config, pid
 * files and log in a temp dir, run inside its own namespace) as the two
 * routers of one instance. Each elects, yields and takes over as RFC 5798
 * says; keepalived's holding is read from its kernel (it puts the VIP on
 * eth0 while MASTER), lvsd's from its state events.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { withNamespaces } from "../../src/sys/netns_testing.ts";
import { checkKeepalived, Keepalived } from "./keepalived_harness.ts";
import { link, Speaker } from "./speaker_harness.ts";

const VIP = "10.0.0.100";

function keepalivedConf(o: { priority: number; version: 2 | 3; advert: number; auth?: string }): string {
  return `global_defs {
  router_id lvsd_interop
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${o.priority}
  advert_int ${o.advert}
  version ${o.version}
  garp_master_delay 1
${o.auth ? `  authentication {\n    auth_type PASS\n    auth_pass ${o.auth}\n  }\n` : ""}  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

function lvsdInstance(o: { priority: number; version: 2 | 3; advert: number; auth?: string }) {
  return {
    name: "VI_1",
    interface: "eth0",
    virtual_router_id: 51,
    priority: o.priority,
    advert_int: o.advert,
    version: o.version,
    virtual_ipaddress: [`${VIP}/24`],
    garp_master_delay: 1,
    ...(o.auth ? { auth_type: "PASS", auth_pass: o.auth } : {}),
  };
}

async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string, dump: () => string) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${dump().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const version of [3, 2] as const) {
  const advert = 1;
  const auth = version === 2 ? "lvsdpw" : undefined;
  // Master_Down_Interval of a priority-100 backup: 3 × 1 s + (256 − 100)/256 s.
  const down100 = 3000 + 156 * 1000 / 256;

  Deno.test(`keepalived interop v${version}: lvsd (150) elects over keepalived (100); keepalived takes over on SIGKILL; lvsd preempts back`, async () => {
    checkKeepalived();
    await withNamespaces(2, async (ns) => {
      await link(ns);
      const dir = Deno.makeTempDirSync({ prefix: "lvsd-ka-" });
      const ka = new Keepalived(ns[1], dir, keepalivedConf({ priority: 100, version, advert, auth }), VIP);
      let lvsd: Speaker | null = new Speaker(ns[0], [lvsdInstance({ priority: 150, version, advert, auth })]);
      try {
        const dump = () => `keepalived log:\n${ka.log()}\nlvsd: ${JSON.stringify(lvsd?.events.slice(-6))}`;
        await until(() => lvsd!.state === "master", 8000, "lvsd MASTER", dump);
        // keepalived, which starts faster, may have been MASTER for a moment before lvsd
        // preempted it: it gives the VIP up, then stays BACKUP for several intervals.
        await until(async () => !(await ka.holds()), 4000, "keepalived BACKUP without the VIP", dump);
        for (let i = 0; i < 6; i++) {
          assertEquals(await ka.holds(), false, `keepalived must not hold ${VIP} while lvsd is master\n${dump()}`);
          await new Promise((r) => setTimeout(r, 500));
        }
        assertEquals(lvsd.state, "master");
        assert(/Entering BACKUP STATE/i.test(ka.log()), `keepalived logged BACKUP\n${ka.log()}`);
        const killedAt = await lvsd.kill();
        lvsd = null;
        await until(() => ka.holds(), 8000, "keepalived takes over", dump);
        const gap = Date.now() - killedAt;
        console.log(
          `v${version}: keepalived took over ${gap} ms after SIGKILL of lvsd (Master_Down_Interval ${
            down100.toFixed(0)
          } ms)`,
        );
        // Polled every 50 ms plus `ip` runs: allow 1 interval of phase + 400 ms of polling.
        assert(gap <= down100 + 400, `keepalived took ${gap} ms`);
        // lvsd returns with the higher priority and preempts (no nopreempt): keepalived yields.
        lvsd = new Speaker(ns[0], [lvsdInstance({ priority: 150, version, advert, auth })]);
        await until(() => lvsd!.state === "master", 8000, "lvsd preempts", dump);
        await until(async () => !(await ka.holds()), 4000, "keepalived yields the VIP", dump);
      } finally {
        await lvsd?.end();
        await ka.stop();
        Deno.removeSync(dir, { recursive: true });
      }
    });
  });

  Deno.test(`keepalived interop v${version}: keepalived (200) is master, lvsd (100) backup; SIGKILL of keepalived -> lvsd within Master_Down_Interval`, async () => {
    checkKeepalived();
    await withNamespaces(2, async (ns) => {
      await link(ns);
      const dir = Deno.makeTempDirSync({ prefix: "lvsd-ka-" });
      const ka = new Keepalived(ns[1], dir, keepalivedConf({ priority: 200, version, advert, auth }), VIP);
      const lvsd = new Speaker(ns[0], [lvsdInstance({ priority: 100, version, advert, auth })]);
      try {
        const dump = () => `keepalived log:\n${ka.log()}\nlvsd: ${JSON.stringify(lvsd.events.slice(-6))}`;
        await until(() => ka.holds(), 10000, "keepalived MASTER", dump);
        await until(() => lvsd.state === "backup", 3000, "lvsd BACKUP", dump);
        // lvsd stays backup: it hears keepalived's adverts.
        await new Promise((r) => setTimeout(r, 4500));
        assertEquals(lvsd.events.some((e) => e.ev === "state" && e.state === "master"), false, dump());
        const killedAt = await ka.kill();
        await until(() => lvsd.state === "master", 8000, "lvsd takes over", dump);
        const gap = lvsd.enteredAt("master")! - killedAt;
        console.log(
          `v${version}: lvsd took over ${gap} ms after SIGKILL of keepalived (bound ${down100.toFixed(0)} ms)`,
        );
        assert(gap <= down100 + 100, `lvsd took ${gap} ms`);
      } finally {
        await lvsd.end();
        await ka.stop();
        Deno.removeSync(dir, { recursive: true });
      }
    });
  });
}
