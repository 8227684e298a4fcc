import { strictEqual } from "node:assert/strict";
import { SharedState } from "../dataplane/shared_state.ts";
import { listServices, schedFlagsText } from "./listing.ts";

Deno.test("scheduler flags are listed as ipvsadm names them for the scheduler", () => {
  strictEqual(schedFlagsText("sh", ["sh-port", "sh-fallback"]), " (sh-fallback,sh-port)");
  strictEqual(schedFlagsText("sh", ["flag-2"]), " (sh-port)");
  strictEqual(schedFlagsText("mh", ["flag-1", "mh-port"]), " (mh-fallback,mh-port)");
  strictEqual(schedFlagsText("wrr", ["flag-3", "flag-1"]), " (flag-1,flag-3)");
  strictEqual(schedFlagsText("rr", []), "");
  strictEqual(schedFlagsText("rr"), "");
});

Deno.test("listServices shows the flags after the scheduler", () => {
  const state = new SharedState({ connCapacity: 1024, workers: 1 });
  const text = listServices(state, [{
    id: 0,
    proto: "tcp",
    vip: "10.10.0.100",
    port: 443,
    scheduler: "mh",
    schedFlags: ["mh-fallback"],
    dests: [],
  }]);
  // ipvsadm prints the address unpadded: "%-4s %s" then " %s".
  strictEqual(text.split("\n")[3], "TCP  10.10.0.100:443 mh (mh-fallback)");
});

Deno.test("listServices names a service group by its members", () => {
  const state = new SharedState({ connCapacity: 1024, workers: 1 });
  const text = listServices(state, [{
    id: 0,
    proto: "tcp",
    vip: "10.10.0.101",
    port: 80,
    group: { vips: ["10.10.0.101-10.10.0.120"], ports: [{ from: 80, to: 80 }, { from: 8000, to: 8099 }] },
    scheduler: "rr",
    dests: [],
  }]);
  strictEqual(text.split("\n")[3], "TCP  10.10.0.101-10.10.0.120:80,8000-8099 rr");
});
