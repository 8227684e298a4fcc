import assert from "node:assert/strict";
import { guardScript } from "./kernel_guard.ts";

Deno.test("guard: NAT replies are dropped by source address and port, any port for a port-0 service's dests", () => {
  const script = guardScript({
    interfaces: ["ext0"],
    vips: ["10.10.0.100"],
    dests: [
      { proto: "tcp", addr: "10.20.0.11", port: 8080 },
      { proto: "tcp", addr: "10.20.0.12", port: 0 },
      { proto: "udp", addr: "10.20.0.12", port: 0 },
      { proto: "tcp", addr: "10.20.0.12", port: 0 },
    ],
  });
  const rules = script.split("\n").map((l) => l.trim()).filter((l) => l.includes("drop"));
  assert.deepEqual(rules, [
    'ip daddr { 10.10.0.100 } counter drop comment "to a VIP: lvsd answers"',
    'fib daddr type != local ip saddr { 10.20.0.12 } meta l4proto tcp counter drop comment "NAT replies (any port): lvsd rewrites"',
    'fib daddr type != local ip saddr . tcp sport { 10.20.0.11 . 8080 } counter drop comment "NAT replies: lvsd rewrites"',
    'fib daddr type != local ip saddr { 10.20.0.12 } meta l4proto udp counter drop comment "NAT replies (any port): lvsd rewrites"',
  ]);
});

Deno.test("guard: a service group's VIPs are one set of non-overlapping ranges", () => {
  const vips = ["10.10.0.103", "10.10.0.101", "10.10.0.102", "10.10.0.200", "10.10.0.101", "10.10.1.0", "10.10.0.255"];
  const script = guardScript({ interfaces: ["ext0"], vips, dests: [] });
  const rule = script.split("\n").map((l) => l.trim()).find((l) => l.startsWith("ip daddr"));
  assert.equal(
    rule,
    'ip daddr { 10.10.0.101-10.10.0.103, 10.10.0.200, 10.10.0.255-10.10.1.0 } counter drop comment "to a VIP: lvsd answers"',
  );
});
