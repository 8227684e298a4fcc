/**
 * Changing commands become the edit operations ipvsadm's semantics call
 * for (whole service / whole dest, the port rules of process_options) and
 * each operation its route.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { editOpOf, requestOf } from "../../src/lvsadm/edit_ops.ts";
import type { EditOp } from "../../src/api/model.ts";
import { parseOk } from "./helpers.ts";

async function opOf(argv: string[]): Promise<EditOp | null> {
  return editOpOf((await parseOk(argv)).command);
}

Deno.test("edit ops: -A sends the whole service in the config's form", async () => {
  deepStrictEqual(await opOf(["-A", "-t", "10.0.0.1:80", "-s", "rr", "-p", "300", "-M", "255.255.255.0"]), {
    op: "add_service",
    service: {
      proto: "tcp",
      vip: "10.0.0.1",
      port: 80,
      scheduler: "rr",
      persistence: { timeout: 300, netmask: "255.255.255.0" },
      ops: false,
      sched_flags: [],
    },
  });
  deepStrictEqual(await opOf(["-A", "-t", "10.0.0.1:80", "-s", "mh", "-b", "mh-port", "--mh-table-size", "251"]), {
    op: "add_service",
    service: {
      proto: "tcp",
      vip: "10.0.0.1",
      port: 80,
      scheduler: "mh",
      persistence: null,
      ops: false,
      sched_flags: ["mh-port"],
      mh_table_size: 251,
    },
  });
});

Deno.test("edit ops: a service group is sent as vips/ports and keyed by its first address and port", async () => {
  deepStrictEqual(await opOf(["-A", "-u", "10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099", "-o", "-p"]), {
    op: "add_service",
    service: {
      proto: "udp",
      vips: ["10.0.0.1-10.0.0.5", "10.1.0.0/28"],
      ports: [80, "8000-8099"],
      scheduler: "wlc",
      persistence: { timeout: 360, netmask: "255.255.255.255" },
      ops: true,
      sched_flags: [],
    },
  });
  deepStrictEqual(await opOf(["-D", "-u", "10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099"]), {
    op: "delete_service",
    service: "udp:10.0.0.1:80",
  });
  // Several addresses, one port: a vips list with port.
  deepStrictEqual(await opOf(["-A", "-t", "10.0.0.0/30:443"]), {
    op: "add_service",
    service: {
      proto: "tcp",
      vips: ["10.0.0.0/30"],
      port: 443,
      scheduler: "wlc",
      persistence: null,
      ops: false,
      sched_flags: [],
    },
  });
});

Deno.test("edit ops: -E sends every setting, so what is not given goes back to its default (persistence off, wlc)", async () => {
  deepStrictEqual(await opOf(["-E", "-t", "10.0.0.1:80"]), {
    op: "edit_service",
    service: "tcp:10.0.0.1:80",
    set: { scheduler: "wlc", persistence: null, ops: false, sched_flags: [] },
  });
});

Deno.test("edit ops: -a leaves the port to the service unless -m maps it; -g/-i force the service port", async () => {
  deepStrictEqual(await opOf(["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.11"]), {
    op: "add_dest",
    service: "tcp:10.0.0.1:80",
    dest: { address: "10.20.0.11", forward: "route", weight: 1, u_threshold: 0, l_threshold: 0 },
  });
  deepStrictEqual(
    await opOf(["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.11:8080", "-m", "-w", "3", "-x", "10", "-y", "5"]),
    {
      op: "add_dest",
      service: "tcp:10.0.0.1:80",
      dest: { address: "10.20.0.11", port: 8080, forward: "masq", weight: 3, u_threshold: 10, l_threshold: 5 },
    },
  );
  // ipvsadm sets dest.port = svc.port for -g and -i: 8080 is dropped.
  deepStrictEqual(await opOf(["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.11:8080", "-g"]), {
    op: "add_dest",
    service: "tcp:10.0.0.1:80",
    dest: { address: "10.20.0.11", forward: "route", weight: 1, u_threshold: 0, l_threshold: 0 },
  });
  deepStrictEqual(
    await opOf(["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.11", "-i", "--tun-type", "gue", "--tun-port", "6080"]),
    {
      op: "add_dest",
      service: "tcp:10.0.0.1:80",
      dest: {
        address: "10.20.0.11",
        forward: "tunnel",
        tun_type: "gue",
        tun_port: 6080,
        weight: 1,
        u_threshold: 0,
        l_threshold: 0,
      },
    },
  );
  deepStrictEqual(await opOf(["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.11", "-i"]), {
    op: "add_dest",
    service: "tcp:10.0.0.1:80",
    dest: { address: "10.20.0.11", forward: "tunnel", tun_type: "ipip", weight: 1, u_threshold: 0, l_threshold: 0 },
  });
});

Deno.test("edit ops: -e without -m names the dest by the service port and makes it route (ipvsadm's whole dest)", async () => {
  // A NAT dest on 8080 edited without -m: ipvsadm forces the port to 80, so
  // the kernel looks up 10.20.0.11:80 (and says "No such destination").
  deepStrictEqual(await opOf(["-e", "-t", "10.0.0.1:80", "-r", "10.20.0.11:8080", "-w", "5"]), {
    op: "edit_dest",
    service: "tcp:10.0.0.1:80",
    dest: "10.20.0.11:80",
    set: { forward: "route", weight: 5, u_threshold: 0, l_threshold: 0 },
  });
  deepStrictEqual(await opOf(["-e", "-t", "10.0.0.1:80", "-r", "10.20.0.11:8080", "-m", "-w", "5"]), {
    op: "edit_dest",
    service: "tcp:10.0.0.1:80",
    dest: "10.20.0.11:8080",
    set: { forward: "masq", weight: 5, u_threshold: 0, l_threshold: 0 },
  });
});

Deno.test("edit ops: -d names the dest by the port given, else the service's (0 for a port-0 or multi-port service)", async () => {
  deepStrictEqual(await opOf(["-d", "-t", "10.0.0.1:80", "-r", "10.20.0.11"]), {
    op: "delete_dest",
    service: "tcp:10.0.0.1:80",
    dest: "10.20.0.11:80",
  });
  deepStrictEqual(await opOf(["-d", "-t", "10.0.0.1:80", "-r", "10.20.0.11:8080"]), {
    op: "delete_dest",
    service: "tcp:10.0.0.1:80",
    dest: "10.20.0.11:8080",
  });
  deepStrictEqual(await opOf(["-d", "-t", "10.0.0.1", "-r", "10.20.0.11"]), {
    op: "delete_dest",
    service: "tcp:10.0.0.1:0",
    dest: "10.20.0.11:0",
  });
  deepStrictEqual(await opOf(["-d", "-t", "10.0.0.1,10.0.0.2:80,81", "-r", "10.20.0.11"]), {
    op: "delete_dest",
    service: "tcp:10.0.0.1:80",
    dest: "10.20.0.11:0",
  });
  // In a group of several ports -g does not force a port (as for a fwmark service).
  deepStrictEqual(await opOf(["-e", "-t", "10.0.0.1,10.0.0.2:80,81", "-r", "10.20.0.11:0", "-w", "2"]), {
    op: "edit_dest",
    service: "tcp:10.0.0.1:80",
    dest: "10.20.0.11:0",
    set: { forward: "route", weight: 2, u_threshold: 0, l_threshold: 0 },
  });
});

Deno.test("edit ops: -C, --set; listings are no edit", async () => {
  deepStrictEqual(await opOf(["-C"]), { op: "clear" });
  deepStrictEqual(await opOf(["--set", "900", "0", "300"]), {
    op: "set_timeouts",
    timeouts: { tcp: 900, tcpfin: 0, udp: 300 },
  });
  strictEqual(await opOf(["-L"]), null);
  strictEqual(await opOf(["-Z"]), null);
});

Deno.test("edit ops: each operation's route", () => {
  const svc = "tcp:10.0.0.1:80";
  deepStrictEqual(requestOf({ op: "add_service", service: { proto: "tcp" } }), {
    method: "POST",
    path: "/v1/services",
    body: { proto: "tcp" },
  });
  deepStrictEqual(requestOf({ op: "edit_service", service: svc, set: { ops: false } }), {
    method: "PATCH",
    path: "/v1/services/tcp:10.0.0.1:80",
    body: { ops: false },
  });
  deepStrictEqual(requestOf({ op: "delete_service", service: svc }), {
    method: "DELETE",
    path: "/v1/services/tcp:10.0.0.1:80",
  });
  deepStrictEqual(requestOf({ op: "clear" }), { method: "DELETE", path: "/v1/services" });
  deepStrictEqual(requestOf({ op: "add_dest", service: svc, dest: { address: "10.20.0.11" } }), {
    method: "POST",
    path: "/v1/services/tcp:10.0.0.1:80/dests",
    body: { address: "10.20.0.11" },
  });
  deepStrictEqual(requestOf({ op: "edit_dest", service: svc, dest: "10.20.0.11:80", set: { weight: 0 } }), {
    method: "PATCH",
    path: "/v1/services/tcp:10.0.0.1:80/dests/10.20.0.11:80",
    body: { weight: 0 },
  });
  deepStrictEqual(requestOf({ op: "delete_dest", service: svc, dest: "10.20.0.11:80" }), {
    method: "DELETE",
    path: "/v1/services/tcp:10.0.0.1:80/dests/10.20.0.11:80",
  });
  deepStrictEqual(requestOf({ op: "set_timeouts", timeouts: { tcp: 1 } }), {
    method: "PUT",
    path: "/v1/timeouts",
    body: { tcp: 1 },
  });
});
