/**
 * applyOps: edits land as ipvsadm's -A/-E/-D/-C/-a/-e/-d/--set would, and
 * refused edits say which op and which path, with 404/409/422.
 */

import { deepStrictEqual as assertEquals, ok as assert, strictEqual as assertStrictEquals } from "node:assert/strict";
import { configToObject } from "../../src/config/mod.ts";
import { applyOps, EditError, singleOpError } from "../../src/api/edit.ts";
import type { EditOp } from "../../src/api/model.ts";
import { destKey, serviceKey } from "../../src/api/model.ts";
import { baseConfig } from "./fake_backend.ts";

/** The EditError `ops` raise on the base config. */
function refused(ops: unknown[]): EditError {
  const config = baseConfig();
  const before = JSON.stringify(configToObject(config));
  let err: unknown;
  try {
    applyOps(config, ops as EditOp[]);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof EditError)) throw new Error(`expected an EditError, got ${err}`);
  assert(err.message.length > 0);
  // Pure: the input config is as it was.
  assertEquals(JSON.stringify(configToObject(config)), before);
  return err;
}

const paths = (e: EditError) => e.errors.map((i) => i.path);

Deno.test("add_service appends the service normalised, dests in order, keys from the normalised form", () => {
  const next = applyOps(baseConfig(), [{
    op: "add_service",
    service: {
      proto: "tcp",
      vip: "10.10.0.200",
      port: 443,
      scheduler: "rr",
      dests: [{ address: "10.20.0.61" }, { address: "10.20.0.62", port: 8443 }],
    },
  }]);
  const s = next.services[next.services.length - 1];
  assertEquals(serviceKey(s), "tcp:10.10.0.200:443");
  assertEquals(s.dests.map(destKey), ["10.20.0.61:443", "10.20.0.62:8443"]);
  assertEquals(s.dests[0].forward, "masq");
  assertEquals(next.services.length, baseConfig().services.length + 1);
});

Deno.test("add_service of an existing key is a 409 naming it", () => {
  const e = refused([{ op: "add_service", service: { proto: "tcp", vip: "10.10.0.100", port: 80 } }]);
  assertEquals(e.status, 409);
  assertEquals(paths(e), ["ops[0].service"]);
  assert(e.message.includes("tcp:10.10.0.100:80 already exists"), e.message);
});

Deno.test("add_service overlapping a service group's members is a 409 naming the group", () => {
  const e = refused([
    { op: "set_timeouts", timeouts: { tcp: 60 } },
    // Exact port 443 on an address of the group's 10.10.1.0/30 (an exact port in a port range would win, not clash).
    { op: "add_service", service: { proto: "tcp", vip: "10.10.1.2", port: 443 } },
  ]);
  assertEquals(e.status, 409);
  assertEquals(paths(e), ["ops[1].service"]);
  assert(e.message.startsWith("ops[1] (add_service): "), e.message);
  assert(e.errors[0].message.includes("service tcp:10.10.1.0:443"), e.errors[0].message);
});

Deno.test("invalid values are 422 with their path in the batch", () => {
  const e = refused([
    { op: "clear" },
    { op: "add_service", service: { proto: "tcp", vip: "10.10.0.9", port: 99999, scheduler: "nope" } },
  ]);
  assertEquals(e.status, 422);
  assertEquals(paths(e).sort(), ["ops[1].service.port", "ops[1].service.scheduler"]);
  assert(e.message.startsWith("ops[1] (add_service): ops[1].service."), e.message);
});

Deno.test("op shapes: unknown op, missing keys, unknown set keys, wrong kinds are 422 naming them", () => {
  let e = refused([{ op: "frobnicate" }]);
  assertEquals(paths(e), ["ops[0].op"]);
  assert(e.errors[0].message.includes("add_service"), e.errors[0].message);
  e = refused([{ service: "tcp:10.10.0.100:80" }]);
  assertEquals(paths(e), ["ops[0].op"]);
  e = refused([{ op: "add_dest", service: "tcp:10.10.0.100:80" }]);
  assertEquals(paths(e), ["ops[0].dest"]);
  assertEquals(e.errors[0].message, "missing (required)");
  e = refused([{ op: "edit_dest", service: "tcp:10.10.0.100:80", dest: "10.20.0.11:80", set: { weigth: 3 } }]);
  assertEquals(paths(e), ["ops[0].set.weigth"]);
  assert(e.errors[0].message.includes("weight"), e.errors[0].message);
  e = refused([{ op: "delete_service", service: 80 }]);
  assertEquals(paths(e), ["ops[0].service"]);
  e = refused([{ op: "clear", extra: true }]);
  assertEquals(paths(e), ["ops[0].extra"]);
  e = refused(["clear"]);
  assertEquals(paths(e), ["ops[0]"]);
  assertEquals(e.status, 422);
});

Deno.test("edit_service keeps the dests and unset keys; persistence null turns it off", () => {
  const next = applyOps(baseConfig(), [
    { op: "edit_service", service: "tcp:10.10.0.100:80", set: { scheduler: "rr", persistence: { timeout: 60 } } },
  ]);
  const s = next.services[0];
  assertEquals(s.scheduler, "rr");
  assertEquals(s.persistence, { timeout: 60, netmask: "255.255.255.255" });
  assertEquals(s.dests.map(destKey), ["10.20.0.11:80", "10.20.0.12:8080"]);
  const off = applyOps(next, [{ op: "edit_service", service: "tcp:10.10.0.100:80", set: { persistence: null } }]);
  assertStrictEquals(off.services[0].persistence, null);
  assertEquals(off.services[0].scheduler, "rr");
});

Deno.test("edit_service away from mh drops mh_table_size; to mh takes it", () => {
  const next = applyOps(baseConfig(), [{
    op: "edit_service",
    service: "tcp:10.10.0.102:80",
    set: { scheduler: "wrr" },
  }]);
  assertEquals(next.services[4].scheduler, "wrr");
  const back = applyOps(next, [
    { op: "edit_service", service: "tcp:10.10.0.102:80", set: { scheduler: "mh", mh_table_size: 509 } },
  ]);
  assertEquals(back.services[4].mhTableSize, 509);
});

Deno.test("edit_service: a problem with a key the request did not set is pathed at set, naming the key", () => {
  // sh → rr leaves the sh-only flag sh-port behind.
  let e = refused([{ op: "edit_service", service: "tcp:10.10.1.0:443", set: { scheduler: "rr" } }]);
  assertEquals(e.status, 422);
  assertEquals(paths(e), ["ops[0].set"]);
  assert(e.errors[0].message.includes("sched_flags[0]"), e.errors[0].message);
  // With the flags cleared in the same set, it is fine.
  applyOps(baseConfig(), [{
    op: "edit_service",
    service: "tcp:10.10.1.0:443",
    set: { scheduler: "rr", sched_flags: [] },
  }]);
  // A port-0 service needs persistence.
  e = refused([{ op: "edit_service", service: "tcp:10.10.0.101:0", set: { persistence: null } }]);
  assertEquals(paths(e), ["ops[0].set"]);
  assert(e.errors[0].message.includes("port 0"), e.errors[0].message);
  // A key it did set is pathed at that key.
  e = refused([{ op: "edit_service", service: "tcp:10.10.0.100:80", set: { ops: true } }]);
  assertEquals(paths(e), ["ops[0].set.ops"]);
});

Deno.test("edit_dest: tunnel → masq drops the tunnel settings; weight changes alone", () => {
  const next = applyOps(baseConfig(), [
    { op: "edit_dest", service: "tcp:10.10.0.101:0", dest: "10.20.0.41:0", set: { forward: "masq", weight: 5 } },
  ]);
  const d = next.services[3].dests[0];
  assertEquals([d.forward, d.tunType, d.tunPort, d.weight], ["masq", "ipip", 0, 5]);
  const obj = (configToObject(next).services as Record<string, unknown>[])[3].dests as Record<string, unknown>[];
  assert(!("tun_type" in obj[0]) && !("tun_port" in obj[0]));
});

Deno.test("edit_dest: masq → tunnel defaults to ipip; gue without tun_port is refused at set", () => {
  const next = applyOps(baseConfig(), [
    { op: "edit_dest", service: "tcp:10.10.0.100:80", dest: "10.20.0.11:80", set: { forward: "tunnel" } },
  ]);
  assertEquals(next.services[0].dests[0].tunType, "ipip");
  const e = refused([
    {
      op: "edit_dest",
      service: "tcp:10.10.0.100:80",
      dest: "10.20.0.11:80",
      set: { forward: "tunnel", tun_type: "gue" },
    },
  ]);
  assertEquals(paths(e), ["ops[0].set"]);
  assert(e.errors[0].message.includes("tun_port"), e.errors[0].message);
  // A masq dest on another port cannot become route (route sends to the service port).
  const r = refused([
    { op: "edit_dest", service: "tcp:10.10.0.100:80", dest: "10.20.0.12:8080", set: { forward: "route" } },
  ]);
  assert(r.errors[0].message.includes("8080"), r.errors[0].message);
});

Deno.test("add_dest: the port defaults to the service's; a duplicate is a 409; a wrong port is 422 at dest.port", () => {
  const next = applyOps(baseConfig(), [{
    op: "add_dest",
    service: "tcp:10.10.0.100:80",
    dest: { address: "10.20.0.13" },
  }]);
  assertEquals(next.services[0].dests.map(destKey), ["10.20.0.11:80", "10.20.0.12:8080", "10.20.0.13:80"]);
  let e = refused([{ op: "add_dest", service: "tcp:10.10.0.100:80", dest: { address: "10.20.0.11" } }]);
  assertEquals(e.status, 409);
  assert(e.message.includes("10.20.0.11:80 already exists"), e.message);
  e = refused([{ op: "add_dest", service: "tcp:10.10.0.101:0", dest: { address: "10.20.0.42", port: 80 } }]);
  assertEquals([e.status, paths(e)], [422, ["ops[0].dest.port"]]);
});

Deno.test("missing services and dests are 404, keys compared normalised", () => {
  let e = refused([{ op: "delete_service", service: "tcp:10.10.0.250:80" }]);
  assertEquals(e.status, 404);
  assert(e.message.includes('"tcp:10.10.0.250:80" does not exist'), e.message);
  e = refused([{ op: "delete_dest", service: "tcp:10.10.0.100:80", dest: "10.20.0.99:80" }]);
  assertEquals(e.status, 404);
  assert(e.message.includes("10.20.0.99:80") && e.message.includes("tcp:10.10.0.100:80"), e.message);
  e = refused([{ op: "delete_service", service: "nonsense" }]);
  assert(e.message.includes("proto:vip:port"), e.message);
  const next = applyOps(baseConfig(), [{
    op: "delete_dest",
    service: "TCP:10.10.0.100:080",
    dest: "10.20.0.12:08080",
  }]);
  assertEquals(next.services[0].dests.map(destKey), ["10.20.0.11:80"]);
});

Deno.test("set_timeouts: 0 and absent keep the value (ipvsadm --set); out of range is 422", () => {
  const next = applyOps(baseConfig(), [{ op: "set_timeouts", timeouts: { tcp: 0, udp: 30 } }]);
  assertEquals(next.timeouts, { tcp: 900, tcpfin: 120, udp: 30 });
  const e = refused([{ op: "set_timeouts", timeouts: { tcpfin: 3000000 } }]);
  assertEquals(paths(e), ["ops[0].timeouts.tcpfin"]);
  const f = refused([{ op: "set_timeouts", timeouts: { tcp: -1, fin: 3 } }]);
  assertEquals(paths(f).sort(), ["ops[0].timeouts.fin", "ops[0].timeouts.tcp"]);
});

Deno.test("a batch applies in order to a copy: later ops see earlier ones; a failure names its index", () => {
  const next = applyOps(baseConfig(), [
    { op: "clear" },
    { op: "add_service", service: { proto: "udp", vip: "10.10.0.7", port: 53 } },
    { op: "add_dest", service: "udp:10.10.0.7:53", dest: { address: "10.20.0.7" } },
    { op: "edit_dest", service: "udp:10.10.0.7:53", dest: "10.20.0.7:53", set: { weight: 0 } },
  ]);
  assertEquals(next.services.length, 1);
  assertEquals(next.services[0].dests[0].weight, 0);
  const e = refused([
    { op: "clear" },
    { op: "add_service", service: { proto: "udp", vip: "10.10.0.7", port: 53 } },
    { op: "add_dest", service: "udp:10.10.0.8:53", dest: { address: "10.20.0.7" } },
  ]);
  assertEquals(e.status, 404);
  assert(e.message.startsWith("ops[2] (add_dest): "), e.message);
});

Deno.test("whole-config limits are traced to the op that crossed them", () => {
  // An mh table of 251 entries takes at most 251 dests (ip_vs_mh_reassign).
  const ops: EditOp[] = [];
  for (let n = 0; n < 251; n++) {
    ops.push({ op: "add_dest", service: "tcp:10.10.0.102:80", dest: { address: `10.30.${n >> 8}.${(n & 255) + 1}` } });
  }
  const e = refused(ops);
  assertEquals(e.status, 422);
  assertEquals(paths(e), ["ops[250]"]);
  assert(e.errors[0].message.includes("do not fit an mh table of 251"), e.errors[0].message);
});

Deno.test("singleOpError: paths and detail relative to the route's body", () => {
  let e = singleOpError(refused([{ op: "add_service", service: { proto: "tcp", vip: "10.10.0.9", port: 99999 } }]));
  assertEquals(paths(e), ["port"]);
  assertEquals(e.message, "port: 99999 is out of range (1..65535)");
  e = singleOpError(refused([{ op: "edit_service", service: "tcp:10.10.1.0:443", set: { scheduler: "rr" } }]));
  assertEquals(paths(e), [""]);
  assert(e.message.startsWith("the service's sched_flags[0]"), e.message);
  e = singleOpError(refused([{ op: "add_dest", service: "tcp:10.10.0.100:80", dest: { address: "10.20.0.11" } }]));
  assertEquals(e.status, 409);
  assert(!e.message.includes("ops["), e.message);
});
