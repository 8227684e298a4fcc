import assert from "node:assert/strict";
import { SharedState } from "../dataplane/shared_state.ts";
import {
  MAX_TABLE_RECORDS,
  memberKey,
  parsePortMember,
  parseVipMember,
  serviceAddresses,
  serviceLabel,
} from "./members.ts";

Deno.test("VIP members: address, full and last-octet ranges, CIDR; normalised text", () => {
  const normal = (t: string) => {
    const m = parseVipMember(t);
    return "normal" in m ? m.normal : m.error;
  };
  assert.equal(normal("10.0.0.1"), "10.0.0.1");
  assert.equal(normal("10.0.0.1-20"), "10.0.0.1-10.0.0.20");
  assert.equal(normal("10.0.0.1-10.0.0.20"), "10.0.0.1-10.0.0.20");
  assert.equal(normal("10.0.0.250-10.0.1.3"), "10.0.0.250-10.0.1.3");
  assert.equal(normal("10.0.0.0/28"), "10.0.0.0/28");
  assert.equal(normal("10.0.0.7/32"), "10.0.0.7");
  assert.equal(normal("10.0.0.7-7"), "10.0.0.7");
  assert.match(normal("10.0.0.1-256"), /is not an IPv4 address, range/, "an octet over 255 is no range");
  assert.match(normal("10.0.0.1-01"), /is not an IPv4 address, range/);
  assert.match(normal("10.0.0.0/08"), /is not an IPv4 address, range/);
  assert.equal(
    normal("223.255.255.255-224.0.0.0"),
    "223.255.255.255-224.0.0.0 includes 224.0.0.0, a multicast address",
  );
  assert.equal(normal("0.0.0.0/0"), "0.0.0.0/0 includes 0.0.0.0, not a usable address");
});

Deno.test("port members: a port or a from-to range; never port 0", () => {
  assert.deepEqual(parsePortMember(80), { from: 80, to: 80 });
  assert.deepEqual(parsePortMember("8000-8099"), { from: 8000, to: 8099 });
  assert.deepEqual(parsePortMember("0-10"), {
    error: "0-10: port 0 (any port) cannot be a member of ports; use port: 0 instead",
  });
  assert.deepEqual(parsePortMember(1.5), { error: 'expected a port or a "from-to" range, got 1.5' });
  assert.deepEqual(parsePortMember(true), { error: 'expected a port or a "from-to" range, got boolean' });
});

Deno.test("memberKey: the same member set however it is written; an ordinary service keeps vip:port", () => {
  const g = (vips: string[], ports: { from: number; to: number }[]) => ({ vip: "x", port: 0, group: { vips, ports } });
  const a = g(["10.0.0.0/28", "10.0.1.5"], [{ from: 80, to: 80 }, { from: 81, to: 90 }]);
  const b = g(["10.0.1.5", "10.0.0.8-10.0.0.15", "10.0.0.0-10.0.0.7"], [{ from: 80, to: 90 }]);
  assert.equal(memberKey(a), "10.0.0.0-10.0.0.15,10.0.1.5:80-90");
  assert.equal(memberKey(b), memberKey(a));
  assert.notEqual(memberKey(g(["10.0.0.0/28"], [{ from: 80, to: 90 }])), memberKey(a));
  assert.equal(memberKey({ vip: "10.0.0.1", port: 80 }), "10.0.0.1:80");
  assert.equal(memberKey({ vip: "10.0.0.1", port: 0, group: null }), "10.0.0.1:0");
});

Deno.test("serviceLabel and serviceAddresses of a group", () => {
  const s = {
    vip: "10.0.0.1",
    port: 80,
    group: { vips: ["10.0.0.1-10.0.0.3", "10.0.1.0/31"], ports: [{ from: 80, to: 80 }, { from: 8000, to: 8099 }] },
  };
  assert.equal(serviceLabel(s), "10.0.0.1-10.0.0.3,10.0.1.0/31:80,8000-8099");
  assert.deepEqual(serviceAddresses(s), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.0", "10.0.1.1"]);
  assert.equal(serviceLabel({ vip: "10.0.0.1", port: 443 }), "10.0.0.1:443");
});

Deno.test("MAX_TABLE_RECORDS is the layout's SVC_RECORDS; the hashes have room for twice as many", () => {
  const l = new SharedState({ connCapacity: 1024, workers: 1 }).layout;
  assert.equal(MAX_TABLE_RECORDS, l.SVC_RECORDS);
  assert.ok(l.SVC_HASH_SLOTS >= 2 * l.SVC_RECORDS);
  assert.ok(l.VIP_HASH_SLOTS >= 2 * l.SVC_RECORDS);
  assert.ok(l.SVC_RECORDS < 0xffff, "record index + 1 fits a u16 hash slot");
});
