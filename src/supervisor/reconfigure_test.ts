import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { parseConfig } from "../config/mod.ts";
import { planServices } from "./reconfigure.ts";

function config(services: string): ReturnType<typeof parseConfig> {
  return parseConfig(`interfaces: [{ name: ext0 }]\nservices:\n${services}`, "test.yaml");
}

const A =
  `  - { proto: tcp, vip: 10.10.0.100, port: 80, dests: [ { address: 10.20.0.11 }, { address: 10.20.0.12 } ] }\n`;
const B = `  - { proto: udp, vip: 10.10.0.100, port: 53, dests: [ { address: 10.20.0.13 } ] }\n`;

function ids(inUse: number[] = [], nextDestId = 0) {
  return { maxServices: 256, maxDests: 4096, destInUse: (id: number) => inUse.includes(id), nextDestId };
}

Deno.test("reload: services and dests that stay keep their ids and next hops; new ones get fresh ids", () => {
  const space = ids();
  const first = planServices([], config(A + B), space);
  deepStrictEqual(first.map((s) => [s.id, s.dests.map((d) => d.id)]), [[0, [0, 1]], [1, [2]]]);
  first[0].dests[0].mac = new Uint8Array(6).fill(1);
  first[0].dests[0].ifaceSlot = 1;
  const changed = A.replace("{ address: 10.20.0.12 }", "{ address: 10.20.0.12, weight: 0 }, { address: 10.20.0.14 }");
  const next = planServices(first, config(B + changed), space);
  deepStrictEqual(next.map((s) => [s.id, s.dests.map((d) => d.id)]), [[1, [2]], [0, [0, 1, 3]]]);
  deepStrictEqual(next[1].dests[0].mac, new Uint8Array(6).fill(1), "the next hop is kept");
  strictEqual(next[1].dests[0].ifaceSlot, 1);
  strictEqual(next[1].dests[1].weight, 0);
  strictEqual(next[1].dests[2].mac, null, "a new dest is resolved before it takes connections");
});

Deno.test("reload: a removed dest's id is not reused while connections still count against it", () => {
  const space = ids();
  const first = planServices([], config(A), space); // ids 0, 1
  const without = planServices(first, config(A.replace(", { address: 10.20.0.12 }", "")), space);
  deepStrictEqual(without[0].dests.map((d) => d.id), [0]);
  // Ids continue after the last one handed out; after wrapping, busy ones are skipped.
  const wrap = ids([1, 2], 4095);
  const again = planServices(without, config(A.replace("10.20.0.12", "10.20.0.99")), wrap);
  deepStrictEqual(again[0].dests.map((d) => d.id), [0, 4095]);
  const more = planServices(again, config(A.replace("10.20.0.12", "10.20.0.99") + B), wrap);
  deepStrictEqual(more.map((s) => s.dests.map((d) => d.id)), [[0, 4095], [3]]);
});

Deno.test("reload: no room for a dest is an error that names the reason", () => {
  const full = { maxServices: 256, maxDests: 2, destInUse: () => true, nextDestId: 0 };
  throws(() => planServices([], config(A), full), /Cannot add a dest: all 2 dest ids are taken/);
});

Deno.test("reload: a dest added back while its connections remain gets its old id (the kernel's dest trash)", () => {
  const inUse = new Set<number>();
  const trash = new Map<string, number>();
  const space = { ...ids(), destInUse: (id: number) => inUse.has(id), trash };
  const first = planServices([], config(A), space); // 10.20.0.11 id 0, 10.20.0.12 id 1
  inUse.add(1); // connections to 10.20.0.12 remain
  const without = planServices(first, config(A.replace(", { address: 10.20.0.12 }", "")), space);
  deepStrictEqual(without[0].dests.map((d) => d.id), [0]);
  deepStrictEqual([...trash], [["tcp 10.10.0.100:80 10.20.0.12:80", 1]]);
  const back = planServices(without, config(A), space);
  deepStrictEqual(back[0].dests.map((d) => [d.addr, d.id]), [["10.20.0.11", 0], ["10.20.0.12", 1]]);
  strictEqual(trash.size, 0);
  strictEqual(back[0].dests[1].mac, null, "its next hop is resolved again");
});

Deno.test("reload: a dest added back after its connections are gone, or to another service, gets a new id", () => {
  const inUse = new Set<number>();
  const trash = new Map<string, number>();
  const space = { ...ids(), destInUse: (id: number) => inUse.has(id), trash };
  const first = planServices([], config(A), space);
  inUse.add(1);
  const without = planServices(first, config(A.replace(", { address: 10.20.0.12 }", "")), space);
  // The same address in another service is another dest.
  const other = planServices(
    without,
    config(A.replace(", { address: 10.20.0.12 }", "") + B.replace("13", "12")),
    space,
  );
  deepStrictEqual(other.map((s) => s.dests.map((d) => d.id)), [[0], [2]]);
  inUse.clear();
  const back = planServices(other, config(A + B.replace("13", "12")), space);
  deepStrictEqual(back[0].dests.map((d) => d.id), [0, 3], "no connections left: a fresh id");
  strictEqual(trash.size, 0);
});

Deno.test("reload: a whole service removed and added back while connections remain gets its dests' ids back", () => {
  const inUse = new Set<number>();
  const trash = new Map<string, number>();
  const space = { ...ids(), destInUse: (id: number) => inUse.has(id), trash };
  const first = planServices([], config(A + B), space); // A: 0, 1; B: 2
  inUse.add(0).add(1);
  const gone = planServices(first, config(B), space);
  strictEqual(trash.size, 2);
  const back = planServices(gone, config(B + A), space);
  deepStrictEqual(back.map((s) => s.dests.map((d) => d.id)), [[2], [0, 1]]);
});

Deno.test("reload: a plan that fails leaves the trash as it was", () => {
  const trash = new Map<string, number>([["tcp 10.10.0.100:80 10.20.0.99:80", 7]]);
  const full = { maxServices: 256, maxDests: 8, destInUse: () => true, nextDestId: 0, trash };
  throws(() => planServices([], config(A), full), /Cannot add a dest/);
  deepStrictEqual([...trash], [["tcp 10.10.0.100:80 10.20.0.99:80", 7]]);
});

Deno.test("reload: a service group keeps its id while its members are only rewritten", () => {
  const space = ids();
  const group = (vips: string, ports: string) =>
    `  - { proto: tcp, vips: [${vips}], ports: [${ports}], dests: [ { address: 10.20.0.11 } ] }\n`;
  const first = planServices([], config(A + group("10.10.1.0/28", "8000-8099")), space);
  deepStrictEqual(first[1].group, { vips: ["10.10.1.0/28"], ports: [{ from: 8000, to: 8099 }] });
  const rewritten = planServices(
    first,
    config(A + group("10.10.1.8-10.10.1.15, 10.10.1.0-7", "8050-8099, 8000-8049")),
    space,
  );
  strictEqual(rewritten[1].id, first[1].id, "same members, written otherwise: same service");
  deepStrictEqual(rewritten[1].dests.map((d) => d.id), first[1].dests.map((d) => d.id));
  deepStrictEqual(rewritten[1].group?.vips, ["10.10.1.8-10.10.1.15", "10.10.1.0-10.10.1.7"]);
  const grown = planServices(rewritten, config(A + group("10.10.1.0/27", "8000-8099")), space);
  strictEqual(grown[0].id, first[0].id);
  // Other members: another service (its dests are new, with fresh ids).
  strictEqual(grown[1].dests[0].id === first[1].dests[0].id, false, "other members: another service");
});

Deno.test("reload: a service added as another is removed gets a new id, and fresh ids are reported for zeroing", () => {
  const fresh: string[] = [];
  const space = { ...ids(), nextSvcId: 0, fresh: (kind: string, id: number) => fresh.push(`${kind} ${id}`) };
  const first = planServices([], config(A), space);
  deepStrictEqual(fresh, ["service 0", "dest 0", "dest 1"]);
  fresh.length = 0;
  // The old service goes, a new one comes in the same change: its
  // connections may linger under id 0, so the newcomer must not share it.
  const next = planServices(first, config(B), space);
  deepStrictEqual(next.map((s) => s.id), [1]);
  deepStrictEqual(fresh, ["service 1", "dest 2"]);
});
