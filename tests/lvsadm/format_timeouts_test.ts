/**
 * `ipvsadm -L --timeout`: list_timeout's
 * `"Timeout (tcp tcpfin udp): %d %d %d\n"` (ipvsadm.c); the kernel's
 * defaults give the line quoted in ipvs-keepalived-facts.md §1.5.
 */
import { strictEqual, throws } from "node:assert/strict";
import { formatTimeouts } from "../../src/lvsadm/format/mod.ts";

Deno.test("--timeout: the defaults print as in §1.5 (900 120 300)", () => {
  strictEqual(formatTimeouts({ tcp: 900, tcpfin: 120, udp: 300 }), "Timeout (tcp tcpfin udp): 900 120 300\n");
});

Deno.test("--timeout: other values in tcp, tcpfin, udp order; a bad value is an error naming it", () => {
  strictEqual(formatTimeouts({ tcp: 7200, tcpfin: 1, udp: 2147483 }), "Timeout (tcp tcpfin udp): 7200 1 2147483\n");
  throws(
    () => formatTimeouts({ tcp: 900, tcpfin: 1.5, udp: 300 }),
    /timeouts: "tcpfin" must be a non-negative integer, got 1\.5/,
  );
});
