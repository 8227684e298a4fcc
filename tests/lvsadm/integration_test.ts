/**
 * lvsadm against the real admin API in process (createApp over a fake
 * director that keeps the config): the two halves of the contract meet
 * here, with ipvsadm command lines as the LVS-HOWTO and the ipvsadm man page
 * write them, a save file in the form real ipvsadm writes, and the listing
 * the result gives.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createApp } from "../../src/api/app.ts";
import { configFromObject } from "../../src/config/mod.ts";
import { runLvsadm } from "../../src/lvsadm/main.ts";
import { FakeBackend, TOKEN } from "../api/fake_backend.ts";
import { fakeResolver, testIo } from "./helpers.ts";

function director() {
  const backend = new FakeBackend(configFromObject({ interfaces: [{ name: "eth0" }] }, "empty"));
  const app = createApp(backend, { token: TOKEN });
  const fetchFn =
    ((input: string | URL | Request, init?: RequestInit) =>
      Promise.resolve(app.fetch(new Request(input, init)))) as typeof fetch;
  const run = async (args: string[], stdin = "") => {
    const out = { stdout: "", stderr: "" };
    const code = await runLvsadm(
      args,
      testIo(out, { LVSADM_SERVER: "http://lvsd.test", LVSADM_TOKEN: TOKEN }, stdin),
      { fetch: fetchFn, resolver: fakeResolver },
    );
    return { code, ...out };
  };
  const must = async (...args: string[]) => {
    const r = await run(args);
    strictEqual(r.code, 0, `lvsadm ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  return { backend, run, must };
}

/** Dest lines without ActiveConn/InActConn (the fake makes its own numbers up). */
function layout(listing: string): string {
  return listing.split("\n").map((l) => (l.startsWith("  -> ") ? l.replace(/\s+\d+\s+\d+\s*$/, "") : l)).join("\n");
}

Deno.test("lvsadm + API: every edit command lands as ipvsadm would make it", async () => {
  const { backend, run, must } = director();
  await must("-A", "-t", "10.0.0.1:80", "-s", "wrr", "-p");
  await must("-a", "-t", "10.0.0.1:80", "-r", "192.168.10.1:80", "-m", "-w", "2");
  await must("-a", "-t", "10.0.0.1:80", "-r", "192.168.10.2", "-g"); // DR: the service port
  await must("-a", "-t", "10.0.0.1:80", "-r", "192.168.10.3", "-i", "--tun-type", "gue", "--tun-port", "6080");
  let s = backend.config().services[0];
  strictEqual(s.scheduler, "wrr");
  deepStrictEqual(s.persistence, { timeout: 360, netmask: "255.255.255.255" }); // -p alone: 360 s (libipvs)
  deepStrictEqual(
    s.dests.map((d) => [d.address, d.port, d.forward, d.weight, d.tunType, d.tunPort]),
    [
      ["192.168.10.1", 80, "masq", 2, "ipip", 0],
      ["192.168.10.2", 80, "route", 1, "ipip", 0],
      ["192.168.10.3", 80, "tunnel", 1, "gue", 6080],
    ],
  );
  // -E sends the whole service, as ipvsadm does: no -p now means not persistent.
  await must("-E", "-t", "10.0.0.1:80", "-s", "rr");
  s = backend.config().services[0];
  strictEqual(s.scheduler, "rr");
  strictEqual(s.persistence, null);
  strictEqual(s.dests.length, 3, "-E keeps the dests");
  // -e: a GUE tunnel dest becomes a NAT one with another weight; its tunnel settings go.
  await must("-e", "-t", "10.0.0.1:80", "-r", "192.168.10.3:80", "-m", "-w", "0");
  s = backend.config().services[0];
  deepStrictEqual([s.dests[2].forward, s.dests[2].weight, s.dests[2].tunType], ["masq", 0, "ipip"]);
  await must("-d", "-t", "10.0.0.1:80", "-r", "192.168.10.2");
  strictEqual(backend.config().services[0].dests.length, 2);
  await must("--set", "100", "0", "30");
  deepStrictEqual(backend.config().timeouts, { tcp: 100, tcpfin: 120, udp: 30 }); // 0 = unchanged
  strictEqual(await must("-L", "--timeout"), "Timeout (tcp tcpfin udp): 100 120 30\n");
  await must("-D", "-t", "10.0.0.1:80");
  strictEqual(backend.config().services.length, 0);

  // Errors name the thing, exit non-zero, and change nothing.
  await must("-A", "-u", "10.0.0.1:53");
  const gen = backend.generation;
  const dup = await run(["-A", "-u", "10.0.0.1:53"]);
  // ipvsadm's own texts (libipvs ipvs_strerror) and its exit code for a refused change.
  deepStrictEqual([dup.code, dup.stderr], [255, "Service already exists\n"]);
  const missing = await run(["-a", "-t", "10.0.0.9:80", "-r", "192.168.10.1"]);
  deepStrictEqual([missing.code, missing.stderr], [255, "Service not defined\n"]);
  const noDest = await run(["-d", "-u", "10.0.0.1:53", "-r", "192.168.10.1"]);
  deepStrictEqual([noDest.code, noDest.stderr], [255, "No such destination\n"]);
  const badSched = await run(["-E", "-u", "10.0.0.1:53", "-s", "nope"]);
  ok(badSched.code !== 0 && /nope/.test(badSched.stderr), JSON.stringify(badSched));
  strictEqual(backend.generation, gen);
});

/** A save file as ipvsadm -S -n writes it (ipvsadm.8 EXAMPLE 1's rules; 1.30's GUE form). */
const IPVSADM_SAVE = `-A -t 207.175.44.110:80 -s rr
-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.2:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.3:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.4:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.5:80 -m -w 1
-A -u 10.0.0.1:53 -s sh -b sh-port
-a -u 10.0.0.1:53 -r 192.168.11.1:53 -g -w 3
-A -t 10.0.0.2:443 -s wlc -p 300 -M 255.255.255.0
-a -t 10.0.0.2:443 -r 192.168.12.1:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
`;

Deno.test("lvsadm + API: a save file written by ipvsadm restores whole; -S gives it back; -L lists it", async () => {
  const { backend, run, must } = director();
  const r = await run(["-R"], IPVSADM_SAVE);
  strictEqual(r.code, 0, r.stderr);
  strictEqual(backend.generation, 1, "one change for the whole file");
  strictEqual(backend.config().services.length, 3);
  // -S sorts as ipvsadm does; every line of the file comes back.
  const saved = await must("-S", "-n");
  deepStrictEqual(saved.trimEnd().split("\n").sort(), IPVSADM_SAVE.trimEnd().split("\n").sort());
  // The listing, in ipvsadm's layout (print_service_entry / print_title).
  const listing = layout(await must("-L", "-n"));
  ok(listing.startsWith("IP Virtual Server version 1.2.1 (size="), listing);
  ok(listing.includes("\nTCP  207.175.44.110:80 rr\n"), listing);
  ok(listing.includes("\nUDP  10.0.0.1:53 sh (sh-port)\n"), listing);
  ok(listing.includes("\nTCP  10.0.0.2:443 wlc persistent 300 mask 255.255.255.0\n"), listing);
  ok(listing.includes("\n  -> 192.168.12.1:443             Tunnel  1"), listing);
  ok(listing.includes("\n  -> 192.168.11.1:53              Route   3"), listing);

  // A file with one bad line changes nothing and names the line.
  const bad = IPVSADM_SAVE.replace(
    "-a -u 10.0.0.1:53 -r 192.168.11.1:53 -g -w 3",
    "-a -u 10.0.0.1:53 -r 192.168.11.1:53 -g -w x",
  );
  const { backend: b2, run: run2 } = director();
  const refused = await run2(["-R"], bad);
  ok(refused.code !== 0, refused.stderr);
  ok(/line 8/.test(refused.stderr), refused.stderr);
  strictEqual(b2.generation, 0);
  strictEqual(b2.config().services.length, 0);
  // A line for a feature lvsd lacks is refused by name, not skipped.
  const fwm = await run2(["-R"], "-A -f 1 -s rr\n");
  ok(fwm.code !== 0 && /fwmark/i.test(fwm.stderr), fwm.stderr);
  // A restore on top of a table that has the service: refused whole (ipvsadm: "Service already exists").
  const again = await run(["-R"], IPVSADM_SAVE);
  ok(again.code !== 0 && /exist/i.test(again.stderr), again.stderr);
  strictEqual(backend.generation, 1);
});

Deno.test("lvsadm + API: -Z zeroes through the API; -L -n --stats reads the numbers the API gives", async () => {
  const { backend, must } = director();
  await must("-A", "-t", "10.0.0.1:80", "-s", "rr");
  await must("-a", "-t", "10.0.0.1:80", "-r", "192.168.10.1", "-m");
  await must("-Z", "-t", "10.0.0.1:80");
  await must("-Z");
  deepStrictEqual(backend.zeroed, ["tcp:10.0.0.1:80", undefined]);
  const stats = await must("-L", "-n", "--stats", "--exact");
  // The fake's numbers: service 1 conn (i + 1), dest 100 (100 * (i + 1) + j).
  ok(/\nTCP {2}10\.0\.0\.1:80\s+1\s+10\s+9\s+1000\s+900\n/.test(stats), stats);
  ok(/\n {2}-> 192\.168\.10\.1:80\s+100\s+1000\s+900\s+100000\s+90000\n/.test(stats), stats);
});
