/**
 * ipvsadm's default sort (--sort): libipvs.c ipvs_cmp_services and
 * ipvs_cmp_dests through glibc's qsort (stdlib/msort.c, a top-down merge
 * sort). The comparators keep `ntohl(a) - ntohl(b)` of two u32 addresses
 * in an int, so the difference wraps: addresses 2^31 or more apart compare
 * the "wrong" way round, and the result then depends on the merge order.
 */
import { deepStrictEqual } from "node:assert/strict";
import { formatList, formatSave, NUMERIC } from "../../src/lvsadm/format/mod.ts";
import { glibcMergeSort } from "../../src/lvsadm/format/sort.ts";
import { dest, PLAIN, service, status } from "./fixtures.ts";
import type { ServiceView } from "../../src/api/model.ts";

/** The service column of each service line of a -Ln listing. */
function order(services: ServiceView[]): string[] {
  return formatList(status(), services, PLAIN, NUMERIC).split("\n").slice(3)
    .filter((l) => /^[A-Z?]/.test(l)).map((l) => l.slice(5).split(" ")[0]);
}

Deno.test("sort: 192.168.0.1 lists before 10.0.0.1 (the u32 difference wraps in ipvs_cmp_services' int)", () => {
  // 0x0A000001 - 0xC0A80001 wraps to 0x49580000, a positive int: 10.0.0.1 > 192.168.0.1.
  const a = service("tcp", "10.0.0.1", 80);
  const b = service("tcp", "192.168.0.1", 80);
  deepStrictEqual(order([a, b]), ["192.168.0.1:80", "10.0.0.1:80"]);
  deepStrictEqual(order([b, a]), ["192.168.0.1:80", "10.0.0.1:80"]);
  // Within half the address space the order is the ascending one the man page promises.
  deepStrictEqual(order([service("tcp", "10.0.0.9", 80), service("tcp", "10.0.0.10", 80)]), [
    "10.0.0.9:80",
    "10.0.0.10:80",
  ]);
});

Deno.test("sort: with a non-transitive triple the result follows glibc's merge order", () => {
  // 10.0.0.1 < 80.0.0.1 < 150.0.0.1 pairwise, but 150.0.0.1 < 10.0.0.1 (wrap).
  // msort of [150, 80, 10]: left [150]; right [80, 10] -> [10, 80];
  // merge: cmp(150, 10) < 0 takes 150 first -> [150, 10, 80].
  const s = (a: string) => service("tcp", a, 80);
  deepStrictEqual(order([s("10.0.0.1"), s("80.0.0.1"), s("150.0.0.1")]), [
    "10.0.0.1:80",
    "80.0.0.1:80",
    "150.0.0.1:80",
  ]);
  deepStrictEqual(order([s("150.0.0.1"), s("80.0.0.1"), s("10.0.0.1")]), [
    "150.0.0.1:80",
    "10.0.0.1:80",
    "80.0.0.1:80",
  ]);
});

Deno.test("sort: protocol before address, port last; groups after ordinary services (fwmark first in the comparator)", () => {
  const group = service("tcp", "10.0.0.0", 80, [], {});
  delete group.vip;
  group.vips = ["10.0.0.0/28"];
  deepStrictEqual(
    order([group, service("udp", "10.0.0.1", 53), service("tcp", "10.0.0.2", 443), service("tcp", "10.0.0.2", 80)]),
    ["10.0.0.2:80", "10.0.0.2:443", "10.0.0.1:53", "10.0.0.0/28:80"],
  );
});

Deno.test("sort: dests by address (wrapping) then port (ipvs_cmp_dests); -S sorts the same way", () => {
  const svc = service("tcp", "10.0.0.1", 0, [
    dest("10.20.0.1", 81),
    dest("172.16.0.1", 80),
    dest("10.20.0.1", 80),
    dest("10.20.0.0", 90),
  ], { persistence: { timeout: 360, netmask: "255.255.255.255" } });
  const listed = formatList(status(), [svc], PLAIN, NUMERIC).split("\n").filter((l) => l.startsWith("  -> 1"))
    .map((l) => l.slice(5).split(" ")[0]);
  // 172.16.0.1 is more than 2^31 above 10.20.0.1: it sorts first.
  deepStrictEqual(listed, ["172.16.0.1:80", "10.20.0.0:90", "10.20.0.1:80", "10.20.0.1:81"]);
  const saved = formatSave([svc], { numeric: true, thresholds: false }, NUMERIC).split("\n").filter((l) =>
    l.startsWith("-a")
  )
    .map((l) => l.split(" ")[4]);
  deepStrictEqual(saved, listed);
});

Deno.test("glibcMergeSort: with a consistent order it is a stable ascending sort", () => {
  const items = [5, 3, 9, 3, 1, 8, 2, 7, 3].map((v, i) => ({ v, i }));
  const sorted = glibcMergeSort(items, (a, b) => a.v - b.v);
  deepStrictEqual(sorted.map((x) => x.v), [1, 2, 3, 3, 3, 5, 7, 8, 9]);
  deepStrictEqual(sorted.filter((x) => x.v === 3).map((x) => x.i), [1, 3, 8]);
  deepStrictEqual(items.map((x) => x.v), [5, 3, 9, 3, 1, 8, 2, 7, 3], "the input is not changed");
});
