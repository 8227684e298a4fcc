import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert, rejects } from "node:assert";
const PING_PY = new URL("../../tests/e2e/ping.py", import.meta.url).pathname;

import { HA_DIRECTOR_EXT_ADDRS, HA_DIRECTOR_INT_ADDRS, Lab, listNamespaces, VIP } from "./lab.ts";

Deno.test("HA lab: two directors on both LANs, floating gateways moved by holdGateway, client links", async (t) => {
  if (Deno.uid() !== 0) throw new Error("lab_ha_test needs root: it builds network namespaces");
  const lab = await Lab.up({ ha: true });
  try {
    const addrs = async (ns: string) => (await lab.exec(ns, ["ip", "-4", "-o", "addr"], { check: true })).stdout;
    /** Up to 3 ICMP echoes, 1 s each (this machine has no ping(8)): code 0 when one is answered. */
    const ping = async (ns: string, to: string, tries = 3) => {
      const r = await lab.exec(ns, ["python3", PING_PY, to, String(tries)]);
      return { code: /replies [1-9]/.test(r.stdout) ? 0 : 1 };
    };
    /** The MAC a namespace has for an address after talking to it. */
    const neighbour = async (ns: string, to: string) => {
      const r = await lab.exec(ns, ["ip", "-j", "neigh", "show", "to", to], { check: true });
      return (JSON.parse(r.stdout)[0]?.lladdr ?? "") as string;
    };

    await t.step("namespaces, own addresses, nothing floating assigned, no forwarding", async () => {
      assertEquals(lab.ns.directors, [`${lab.prefix}-dir`, `${lab.prefix}-dir2`]);
      assertEquals(lab.namespaces.length, 7);
      const present = listNamespaces();
      for (const ns of lab.namespaces) assert(present.includes(ns), ns);
      for (const [i, ns] of lab.ns.directors.entries()) {
        const a = await addrs(ns);
        assertMatch(a, new RegExp(`ext0\\s+inet ${HA_DIRECTOR_EXT_ADDRS[i].replaceAll(".", "\\.")}/24`));
        assertMatch(a, new RegExp(`int0\\s+inet ${HA_DIRECTOR_INT_ADDRS[i].replaceAll(".", "\\.")}/24`));
        assert(!a.includes("10.20.0.1/") && !a.includes("10.10.0.1/"), `gateway assigned in ${ns}`);
        assertEquals((await lab.exec(ns, ["cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim(), "0");
      }
      for (const ns of lab.namespaces) assert(!(await addrs(ns)).includes(VIP), `VIP assigned in ${ns}`);
      assertEquals(lab.addr.directorsExt, HA_DIRECTOR_EXT_ADDRS);
      assertEquals(lab.addr.directorsInt, HA_DIRECTOR_INT_ADDRS);
    });

    await t.step("both directors reach the client, the servers and each other", async () => {
      for (const [i, ns] of lab.ns.directors.entries()) {
        assertEquals((await ping(ns, lab.addr.client)).code, 0, `${ns} → client`);
        for (const rs of lab.addr.servers) assertEquals((await ping(ns, rs)).code, 0, `${ns} → ${rs}`);
        assertEquals((await ping(ns, HA_DIRECTOR_INT_ADDRS[1 - i])).code, 0, `${ns} → other director`);
      }
    });

    await t.step("holdGateway moves 10.20.0.1 and 10.10.0.1 between the directors' kernels", async () => {
      const intMac = [await lab.mac("dir", "int0"), await lab.mac("dir2", "int0")];
      const extMac = [await lab.mac("dir", "ext0"), await lab.mac("dir2", "ext0")];
      assert((await ping(lab.ns.servers[0], "10.20.0.1", 1)).code !== 0, "gateway answers before it is held");
      for (const i of [0, 1, 0]) {
        await lab.holdGateway(i);
        assertMatch(await addrs(lab.ns.directors[i]), /int0\s+inet 10\.20\.0\.1\/24/);
        assert(!(await addrs(lab.ns.directors[1 - i])).includes("10.20.0.1/"));
        assertEquals((await ping(lab.ns.servers[0], "10.20.0.1")).code, 0);
        assertEquals(await neighbour(lab.ns.servers[0], "10.20.0.1"), intMac[i]);
        assertEquals((await ping(lab.ns.client, "10.10.0.1")).code, 0);
        assertEquals(await neighbour(lab.ns.client, "10.10.0.1"), extMac[i]);
      }
      await lab.holdGateway(null);
      assert((await ping(lab.ns.servers[0], "10.20.0.1", 1)).code !== 0, "gateway answers after release");
      await rejects(lab.holdGateway(2), /no director 2/);
    });

    await t.step("setClientLink cuts and restores one director's client LAN port", async () => {
      await lab.setClientLink(1, false);
      assert((await ping(lab.ns.client, HA_DIRECTOR_EXT_ADDRS[1], 1)).code !== 0);
      assertEquals((await ping(lab.ns.client, HA_DIRECTOR_EXT_ADDRS[0])).code, 0);
      await lab.setClientLink(1, true);
      assertEquals((await ping(lab.ns.client, HA_DIRECTOR_EXT_ADDRS[1])).code, 0);
    });
  } finally {
    await lab.down();
  }
  for (const ns of lab.namespaces) assert(!listNamespaces().includes(ns), `${ns} left behind`);
});
