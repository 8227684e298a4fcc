/**
 * `vrrp_instances:` in the config file: keepalived's keywords and defaults,
 * keepalived's rules as clear errors naming the key, the cross checks with
 * the interfaces, and the round trip through the object form.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { configFromObject, configToObject, parseConfig } from "../../src/config/load.ts";
import { parseVirtualAddress } from "../../src/vrrp/spec.ts";
import { managedAddresses, syncRoleFor, unlistedVips } from "../../src/vrrp/service.ts";

const SRC = "test.yaml";
const BASE = `interfaces: [{name: ext0}, {name: int0}]
services:
  - {proto: tcp, vip: 10.10.0.100, port: 80, dests: [{address: 10.20.0.11, port: 80}]}
`;

function yaml(instance: string): string {
  return `${BASE}vrrp_instances:\n  - ${instance.trim().split("\n").join("\n    ")}\n`;
}

const GOOD = `name: VI_1
interface: ext0
state: BACKUP
virtual_router_id: 51
priority: 150
advert_int: 1
virtual_ipaddress: [10.10.0.100/24, 10.20.0.1/24 dev int0]
track_interface: [int0]
track_script: [{script: "true", interval: 2, weight: -20, fall: 2}]
notify_master: /etc/lvsd/master.sh`;

Deno.test("vrrp config: keepalived's keywords and defaults", () => {
  const c = parseConfig(yaml(GOOD), SRC);
  assertEquals(c.vrrpInstances.length, 1);
  const i = c.vrrpInstances[0];
  assertEquals(i.name, "VI_1");
  assertEquals(i.version, 3);
  assertEquals(i.priority, 150);
  assertEquals(i.advertIntervalMs, 1000);
  assertEquals(i.virtualIpaddress, [
    { address: "10.10.0.100", prefix: 24, dev: null },
    { address: "10.20.0.1", prefix: 24, dev: "int0" },
  ]);
  assertEquals(i.trackScript, [{ script: "true", intervalMs: 2000, timeoutMs: 2000, weight: -20, fall: 2, rise: 1 }]);
  assertEquals([i.garpMasterDelayMs, i.garpMasterRepeat, i.garpMasterRefreshMs, i.garpMasterRefreshRepeat], [
    5000,
    5,
    0,
    1,
  ]);
  assertEquals(i.nopreempt, false);
  assertEquals(i.notifyMaster, "/etc/lvsd/master.sh");
  assertEquals(managedAddresses(c.vrrpInstances), [
    { addr: "10.10.0.100", instance: 0 },
    { addr: "10.20.0.1", instance: 0 },
  ]);
  assertEquals(unlistedVips(c.vrrpInstances, ["10.10.0.100", "10.10.0.101"]), ["10.10.0.101"]);
  // Round trip through the object form (GET /v1/config, the state file).
  assertEquals(configFromObject(configToObject(c), SRC), c);
  // Without the block: no key in the object form, nothing managed.
  const plain = parseConfig(BASE, SRC);
  assertEquals(plain.vrrpInstances, []);
  assert(!("vrrp_instances" in configToObject(plain)));
});

Deno.test("vrrp config: v3 advert_int in hundredths; v2 whole seconds with auth_type PASS", () => {
  assertEquals(
    parseConfig(yaml(GOOD.replace("advert_int: 1", "advert_int: 0.35")), SRC).vrrpInstances[0].advertIntervalMs,
    350,
  );
  const v2 = parseConfig(yaml(`${GOOD}\nversion: 2\nauth_type: PASS\nauth_pass: s3cret`), SRC).vrrpInstances[0];
  assertEquals([v2.version, v2.authPass], [2, "s3cret"]);
});

Deno.test("vrrp config: keepalived's rules are refused with the key and the reason", () => {
  const cases: [string, string][] = [
    [
      GOOD.replace("state: BACKUP", "state: MASTER") + "\nnopreempt: true",
      "vrrp_instances[0].nopreempt: needs state BACKUP",
    ],
    [
      GOOD.replace("state: BACKUP", "state: MASTER") + "\npreempt_delay: 5",
      "vrrp_instances[0].preempt_delay: needs state BACKUP",
    ],
    [GOOD + "\nnopreempt: true\npreempt_delay: 5", "preempt_delay: has no meaning with nopreempt"],
    [GOOD + "\nauth_type: PASS\nauth_pass: x", "vrrp_instances[0].auth_type: needs version 2"],
    [GOOD + "\nversion: 2\nauth_type: PASS", "vrrp_instances[0].auth_pass: is required with auth_type PASS"],
    [GOOD + "\nversion: 2\nauth_type: PASS\nauth_pass: toolongpass", "auth_pass: is longer than 8 bytes"],
    [GOOD + "\nversion: 2\nauth_type: AH\nauth_pass: x", "AH is not supported"],
    [
      GOOD.replace("advert_int: 1", "advert_int: 0.5") + "\nversion: 2",
      "advert_int: 0.5 is not a whole number of seconds",
    ],
    [GOOD.replace("advert_int: 1", "advert_int: 0.005"), "advert_int: 0.005 is not a number of seconds 0.01..40.95"],
    [
      GOOD.replace("virtual_router_id: 51", "virtual_router_id: 256"),
      "virtual_router_id: 256 is not an integer 1..255",
    ],
    [GOOD.replace("virtual_router_id: 51\n", ""), "virtual_router_id: is required"],
    [GOOD.replace("priority: 150", "priority: 0"), "priority: 0 is not an integer 1..255"],
    [GOOD.replace("state: BACKUP", "state: LEADER"), 'state: "LEADER" is not MASTER or BACKUP'],
    [GOOD + "\nunicast_src_ip: 10.10.0.5", "unicast_src_ip: applies only with unicast_peer"],
    [
      GOOD.replace("10.20.0.1/24 dev int0", "10.20.0.1/24 dev eth9"),
      '10.20.0.1 would be answered on "eth9", which is not a data-plane interface',
    ],
    [GOOD.replace("10.20.0.1/24 dev int0", "10.20.0.1/24 label x"), 'is not understood (only "dev <interface>"'],
    [GOOD.replace("10.20.0.1/24 dev int0", "224.0.0.5"), "cannot be a virtual address"],
    [GOOD + "\nuse_vmac: true", "vrrp_instances[0].use_vmac: unknown key (not supported yet)"],
    [GOOD + "\nauthentication: {auth_type: PASS}", "write auth_type and auth_pass directly"],
  ];
  for (const [inst, msg] of cases) {
    throws(() => parseConfig(yaml(inst), SRC), (e: Error) => {
      assert(e.message.includes(msg), `expected "${msg}" in:\n${e.message}`);
      return true;
    });
  }
});

Deno.test("vrrp config: across instances: names, VRIDs and addresses are unique; at most 23 addresses", () => {
  const two = (a: string, b: string) =>
    `${BASE}vrrp_instances:\n  - ${a.split("\n").join("\n    ")}\n  - ${b.split("\n").join("\n    ")}\n`;
  const other = GOOD.replace("VI_1", "VI_2").replace("51", "52").replace(
    "[10.10.0.100/24, 10.20.0.1/24 dev int0]",
    "[10.10.0.101]",
  );
  assertEquals(parseConfig(two(GOOD, other), SRC).vrrpInstances.length, 2);
  const cases: [string, string][] = [
    [other.replace("VI_2", "VI_1"), '"VI_1" is the name of instance 1 too'],
    [other.replace("52", "51"), 'VRID 51 on "ext0" is used by instance 1 too'],
    [other.replace("[10.10.0.101]", "[10.10.0.100]"), '10.10.0.100 is held by instance "VI_1" too'],
    [
      other.replace("[10.10.0.101]", `[${Array.from({ length: 22 }, (_, i) => `10.10.1.${i + 1}`).join(", ")}]`),
      "24 virtual_ipaddress entries in all are more than the 23 lvsd holds",
    ],
  ];
  for (const [b, msg] of cases) {
    throws(() => parseConfig(two(GOOD, b), SRC), (e: Error) => {
      assert(e.message.includes(msg), `expected "${msg}" in:\n${e.message}`);
      return true;
    });
  }
});

Deno.test("vrrp config: virtual_ipaddress lines as keepalived writes them", () => {
  assertEquals(parseVirtualAddress("10.0.0.1"), { address: "10.0.0.1", prefix: 32, dev: null });
  assertEquals(parseVirtualAddress("10.0.0.1/24 dev eth1"), { address: "10.0.0.1", prefix: 24, dev: "eth1" });
  assertEquals(typeof parseVirtualAddress("10.0.0.1/33"), "string");
  assertEquals(typeof parseVirtualAddress("10.0.0.300"), "string");
  assertEquals(typeof parseVirtualAddress("10.0.0.1 dev"), "string");
});

Deno.test("vrrp: the sync daemon's role follows the instance as keepalived's lvs_sync_daemon (master only while MASTER)", () => {
  assertEquals((["init", "backup", "master", "fault"] as const).map(syncRoleFor), [
    "backup",
    "backup",
    "master",
    "backup",
  ]);
});
