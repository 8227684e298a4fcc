/**
 * VIP failover end to end (root, the HA lab): two lvsd directors with one
 * VRRP instance holding the VIP and the servers' gateway 10.20.0.1.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { ADVERT_S, DOWN_100, E2E, GATEWAY, MASTER, TO_BACKUP, withHa } from "./vrrp_lab.ts";

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
      // The API shows both sides of the election.
      const [v1, v2] = [(await ha.vrrpView(0)).instances[0], (await ha.vrrpView(1)).instances[0]];
      assertEquals([v1.state, v1.priority, v1.master_ip], ["MASTER", 150, "10.10.0.5"]);
      assertEquals([v2.state, v2.priority, v2.master_ip], ["BACKUP", 100, "10.10.0.5"]);
      assert((v2.adverts_received as number) > 0 && (v1.adverts_sent as number) > 0, JSON.stringify([v1, v2]));
      assert((v1.garps_sent as number) >= 4, `2 addresses x garp_master_repeat 2: ${JSON.stringify(v1)}`);
      // A frame for the VIP that reaches the backup anyway (a stale ARP entry) is ignored by
      // lvsd and dropped by its kernel guard: the client times out, it is not reset.
      await ha.lab.exec(ha.lab.ns.client, ["ip", "neigh", "replace", VIP, "lladdr", ha.macs[1], "dev", "eth0"]);
      const stale = await ha.lab.exec(ha.lab.ns.client, ["curl", "-s", "-o", "/dev/null", "-m", "2", `http://${VIP}/`]);
      assertEquals(stale.code, 28, `curl through the backup: exit ${stale.code} (7 = refused/RST, 28 = timeout)`);
      await ha.lab.exec(ha.lab.ns.client, ["ip", "neigh", "del", VIP, "dev", "eth0"]);
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
      // vrrp_instances is read at start: a SIGHUP that changes it says so and changes nothing.
      const line = await ha.reload(0, { priority: 250, nopreempt: true });
      assert(line.includes("vrrp_instances changed: takes effect at the next restart"), line);
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

Deno.test({
  name:
    "e2e vrrp: track_interface: the master's server link goes down -> FAULT, the backup takes over; back up -> preempts",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      await ha.start(0, { priority: 150, trackInterface: ["int0"] });
      await ha.start(1, { priority: 100 });
      await ha.waitCount(0, MASTER, 1, 10000);
      await ha.waitCount(1, TO_BACKUP, 1, 10000);
      // Director 1's port on the servers' LAN (its int0's peer) goes down.
      const cutAt = Date.now();
      await ha.lab.exec(ha.lab.ns.lan, ["ip", "link", "set", "dir", "down"]);
      await ha.waitCount(0, /VRRP instance VI_1: MASTER -> FAULT/, 1, 5000);
      await ha.waitCount(1, MASTER, 1, 5000);
      // A master going to FAULT resigns (priority 0): the backup waits only its skew, not Master_Down_Interval.
      const gap = (await ha.masterSince(1)) - cutAt;
      console.log(`track_interface: director 2 MASTER ${gap} ms after director 1's int0 link went down`);
      assert(gap < DOWN_100, `takeover after FAULT took ${gap} ms`);
      assertEquals(await ha.arpHolder(), 1);
      await ha.http(10);
      await ha.lab.exec(ha.lab.ns.lan, ["ip", "link", "set", "dir", "up"]);
      await ha.waitCount(0, /VRRP instance VI_1: FAULT -> BACKUP/, 1, 5000);
      await ha.waitCount(0, MASTER, 2, 10000);
      assertEquals(await ha.arpHolder(), 0);
      await ha.http(10);
    }),
});

Deno.test({
  name:
    "e2e vrrp on AF_XDP: the XDP program passes ARP for the servers' gateway to lvsd; takeover and HTTP as on AF_PACKET",
  ...E2E,
  fn: () =>
    withHa(async (ha) => {
      // AF_XDP loses CHECKSUM_PARTIAL from local veth senders (README, "Packet I/O: AF_XDP"): a lab artifact.
      for (const ns of [ha.lab.ns.client, ...ha.lab.ns.servers]) {
        const r = await ha.lab.exec(ns, ["ethtool", "-K", "eth0", "tx", "off"]);
        assertEquals(r.code, 0, r.stderr);
      }
      const p0 = await ha.start(0, { priority: 150, packetIo: "af_xdp" });
      await ha.start(1, { priority: 100, packetIo: "af_xdp" });
      assert(!/using AF_PACKET/.test(p0.stdout), p0.stdout);
      await ha.waitCount(0, MASTER, 1, 10000);
      await ha.waitCount(1, TO_BACKUP, 1, 10000);
      assertEquals(await ha.arpHolder(), 0);
      // The servers reach the client through 10.20.0.1, which only lvsd answers (via the XDP redirect).
      await ha.lab.exec(ha.lab.ns.servers[0], ["ip", "neigh", "flush", "to", GATEWAY]);
      assertEquals(Object.keys(await ha.http(30)).sort(), ["rs1", "rs2", "rs3"]);
      const int0 = [await ha.lab.mac(ha.directors[0], "int0"), await ha.lab.mac(ha.directors[1], "int0")];
      const n1 = await ha.lab.exec(ha.lab.ns.servers[0], ["ip", "neigh", "show", GATEWAY]);
      assert(n1.stdout.includes(int0[0]), `rs1 resolved its gateway to director 1: ${n1.stdout}`);
      await ha.kill(0);
      await ha.waitCount(1, MASTER, 1, 10000);
      assertEquals(await ha.arpHolder(), 1);
      assertEquals(Object.keys(await ha.http(30)).sort(), ["rs1", "rs2", "rs3"]);
      const n2 = await ha.lab.exec(ha.lab.ns.servers[0], ["ip", "neigh", "show", GATEWAY]);
      assert(n2.stdout.includes(int0[1]), `rs1's gateway moved to director 2: ${n2.stdout}`);
    }),
});
