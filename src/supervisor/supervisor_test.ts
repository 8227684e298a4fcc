import { deepStrictEqual } from "node:assert/strict";
import { addressSets, optionChanges } from "./supervisor.ts";
import { parseConfig } from "../config/mod.ts";

const KERNEL = { connReuseMode: 1, expireNodestConn: false, expireQuiescentTemplate: false, sloppyTcp: false };

Deno.test("reload notes name each changed option by its sysctl name, with the old value", () => {
  deepStrictEqual(optionChanges(KERNEL, { ...KERNEL }), []);
  deepStrictEqual(
    optionChanges(KERNEL, { ...KERNEL, connReuseMode: 2, sloppyTcp: true }),
    ["conn_reuse_mode 2 (was 1)", "sloppy_tcp true (was false)"],
  );
  deepStrictEqual(
    optionChanges({ ...KERNEL, expireNodestConn: true }, { ...KERNEL, expireQuiescentTemplate: true }),
    ["expire_nodest_conn false (was true)", "expire_quiescent_template true (was false)"],
  );
});

Deno.test("XDP address map: VIPs, VRRP virtual addresses (the servers' gateway), NAT dests only, host addresses", async () => {
  const c = parseConfig(
    `interfaces: [{name: ext0}, {name: int0}]
services:
  - {proto: tcp, vip: 10.10.0.100, port: 80, dests: [{address: 10.20.0.11}, {address: 10.20.0.12, forward: route}]}
vrrp_instances:
  - name: VI_1
    interface: ext0
    virtual_router_id: 51
    virtual_ipaddress: [10.10.0.100/24, 10.20.0.1/24 dev int0]
`,
    "test.yaml",
  );
  deepStrictEqual(await addressSets(c, ["10.20.0.5"]), {
    vips: ["10.10.0.100", "10.20.0.1"],
    dests: ["10.20.0.11"],
    locals: ["10.20.0.5"],
  });
});
