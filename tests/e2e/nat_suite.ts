/**
 * End to end through real network namespaces: real kernel TCP/UDP stacks on
 * a client and three real servers, lvsd as the NAT director in between.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { patternBytes, VIP } from "../../src/lab/mod.ts";
import { counter, withDirector } from "./director.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

/**
 * The NAT end-to-end tests on one packet I/O implementation (nat_test.ts:
 * AF_PACKET, nat_xdp_test.ts: AF_XDP); names carry "[af_xdp] " for the latter.
 */
export function natSuite(io: "af_packet" | "af_xdp"): void {
  const tag = io === "af_packet" ? "" : `[${io}] `;

  Deno.test({
    name: tag + "e2e: 300 HTTP requests through the VIP land on the servers 1:2:3 (wrr, IPVS order)",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io, weights: [1, 2, 3] }, async (d) => {
        const r = await d.lab.runHttpClient([
          "--url",
          `http://${VIP}/`,
          "--count",
          "300",
          "--close",
          "--timeout-ms",
          "60000",
        ]);
        strictEqual(r.failed, 0, JSON.stringify(r));
        // ip_vs_wrr.c over rs3,rs2,rs1 (newest first) with weights 3,2,1 gives
        // rs3 rs3 rs2 rs3 rs2 rs1 per cycle of 6: exactly 50/100/150 of 300.
        deepStrictEqual(r.byBody, { rs1: 50, rs2: 100, rs3: 150 });
        const st = await d.status();
        ok(/TCP {2}10\.10\.0\.100:80\s+wrr/.test(st), st);
        strictEqual(counter(st, "conns"), 300, st);
      }),
  });

  Deno.test({
    name: tag + "e2e: a 1 MiB download through NAT arrives intact (GSO frames forwarded whole)",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io }, async (d) => {
        const expected = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(patternBytes(1 << 20)))),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        for (let i = 0; i < 3; i++) {
          const r = await d.lab.exec(d.lab.ns.client, ["bash", "-c", `curl -sf -m 20 http://${VIP}/1m | sha256sum`]);
          strictEqual(r.code, 0, r.stderr);
          strictEqual(r.stdout.split(" ")[0], expected, `download ${i} differs`);
        }
        const st = await d.status();
        strictEqual(counter(st, "bad_l4_checksum"), 0, st);
        strictEqual(counter(st, "oversize"), 0, st);
      }),
  });

  Deno.test({
    name: tag + "e2e: UDP echo through the VIP works and is spread rr over the servers",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io }, async (d) => {
        const r = await d.lab.runHttpClient([
          "--udp",
          `${VIP}:7`,
          "--count",
          "30",
          "--timeout-ms",
          "15000",
          "--request-timeout-ms",
          "1000",
        ]);
        strictEqual(r.failed, 0, JSON.stringify(r));
        deepStrictEqual(r.byBody, { rs1: 10, rs2: 10, rs3: 10 });
        const st = await d.status();
        ok(/UDP {2}10\.10\.0\.100:7\s+rr/.test(st), st);
      }),
  });

  Deno.test({
    name: tag + "e2e: lvsd answers ARP and ICMP echo for the VIP",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io }, async (d) => {
        const r = await d.lab.exec(d.lab.ns.client, [
          "python3",
          new URL("./ping.py", import.meta.url).pathname,
          VIP,
          "5",
        ]);
        strictEqual(r.stdout.trim(), "replies 5/5", r.stderr);
        const neigh = await d.lab.exec(d.lab.ns.client, ["ip", "neigh", "show", VIP]);
        ok(neigh.stdout.includes(await d.lab.mac(d.lab.ns.director, "ext0")), neigh.stdout);
        const st = await d.status();
        ok(counter(st, "echo_replies") >= 5, st);
        ok(counter(st, "arp_replies") >= 1, st);
      }),
  });

  Deno.test({
    name: tag + "e2e: 50 concurrent clients, 500 connections, no failures",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io, weights: [1, 1, 1] }, async (d) => {
        const r = await d.lab.runHttpClient([
          "--url",
          `http://${VIP}/`,
          "--count",
          "500",
          "--concurrency",
          "50",
          "--close",
          "--timeout-ms",
          "60000",
        ]);
        strictEqual(r.failed, 0, JSON.stringify(r));
        strictEqual(r.ok, 500);
        const total = Object.values(r.byBody as Record<string, number>).reduce((a, b) => a + b, 0);
        strictEqual(total, 500);
        for (const n of Object.values(r.byBody as Record<string, number>)) ok(n > 100, JSON.stringify(r.byBody));
      }),
  });

  Deno.test({
    name: tag + "e2e: a barrage of malformed frames is dropped and counted, traffic keeps flowing",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io }, async (d) => {
        const mac = await d.lab.mac(d.lab.ns.director, "ext0");
        const r = await d.lab.exec(d.lab.ns.client, [
          "python3",
          new URL("./malformed.py", import.meta.url).pathname,
          "eth0",
          mac,
          VIP,
          "2000",
        ]);
        strictEqual(r.code, 0, r.stderr);
        const h = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "30", "--close"]);
        strictEqual(h.failed, 0, JSON.stringify(h));
        const st = await d.status();
        // Under AF_XDP a frame too short for an IPv4 header never reaches
        // lvsd: the XDP program passes it to the kernel (src/xdp/program.ts).
        for (
          const reason of [
            ...(io === "af_xdp" ? [] : ["truncated"]),
            "bad_ip_version",
            "bad_ihl",
            "bad_total_length",
            "bad_ip_checksum",
            "fragment",
            "bad_l4_header",
            "bad_l4_checksum",
          ]
        ) {
          ok(counter(st, reason) > 0, `no ${reason} drops counted:\n${st}`);
        }
      }),
  });

  /** Captures RST and ICMP errors sent from the VIP while `load` runs. */
  async function captureKernelNoise(
    d: Parameters<Parameters<typeof withDirector>[1]>[0],
    load: () => Promise<unknown>,
  ): Promise<string[]> {
    const filter =
      `src host ${VIP} and ((tcp[tcpflags] & tcp-rst != 0) or (icmp and icmp[icmptype] != icmp-echoreply))`;
    // tcpdump says "listening on" on stderr: merge it so waitFor sees it.
    const cap = d.lab.spawn(d.lab.ns.client, ["bash", "-c", `exec tcpdump -i eth0 -nn -l -U '${filter}' 2>&1`]);
    await cap.waitFor(/listening on/, 10000);
    await load();
    await new Promise((r) => setTimeout(r, 500));
    await cap.stop(3000);
    return cap.stdout.split("\n").filter((l) => /\d\d:\d\d:\d\d/.test(l));
  }

  Deno.test({
    name: tag + "e2e: the director's kernel stays silent (capture: RST/ICMP without the guard, none with it)",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io, kernelGuard: "off" }, async (d) => {
        // The classic LVS mistake: the VIP is also a local address of the
        // director, so its kernel answers the SYN lvsd is balancing with a RST
        // and the UDP datagram with ICMP port unreachable.
        const load = () =>
          Promise.all([
            d.lab.runHttpClient([
              "--url",
              `http://${VIP}:80/`,
              "--count",
              "10",
              "--close",
              "--request-timeout-ms",
              "2000",
            ]),
            d.lab.runHttpClient(["--udp", `${VIP}:7`, "--count", "5", "--request-timeout-ms", "500"]),
          ]);
        const vipOnKernel = ["ip", "addr", "add", `${VIP}/32`, "dev", "lo"];
        strictEqual((await d.lab.exec(d.lab.ns.director, vipOnKernel)).code, 0);
        const without = await captureKernelNoise(d, load);
        if (io === "af_xdp") {
          // The XDP program hands VIP frames to lvsd before the kernel's
          // stack: the kernel never sees them, guard or not.
          deepStrictEqual(without, [], `the kernel answered under AF_XDP without the guard:\n${without.join("\n")}`);
        } else {
          ok(
            without.length > 0,
            "the capture saw no RST/ICMP from the director's kernel even without the guard: it cannot prove anything",
          );
        }

        await d.stop();
        await d.lab.exec(d.lab.ns.director, ["ip", "addr", "del", `${VIP}/32`, "dev", "lo"]);
        await d.restart((await import("./director.ts")).configYaml({ kernelGuard: "nftables", packetIo: io }));
        strictEqual((await d.lab.exec(d.lab.ns.director, vipOnKernel)).code, 0);
        const withGuard = await captureKernelNoise(d, load);
        deepStrictEqual(withGuard, [], `the kernel answered despite the guard:\n${withGuard.join("\n")}`);
        const h = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "12", "--close"]);
        strictEqual(h.failed, 0, JSON.stringify(h));
      }),
  });

  Deno.test({
    name: tag + "e2e: a worker killed under load is restarted and traffic recovers within 2 s",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io, workers: 2, weights: [1, 1, 1] }, async (d) => {
        const load = d.lab.runHttpClient([
          "--url",
          `http://${VIP}/`,
          "--count",
          "600",
          "--concurrency",
          "4",
          "--close",
          "--request-timeout-ms",
          "1000",
          "--timeout-ms",
          "60000",
        ]);
        await new Promise((r) => setTimeout(r, 800));
        const killedAt = Date.now();
        Deno.kill(d.lvsd.pid, "SIGTTIN"); // fault injection (LVSD_FAULT_INJECTION=1): worker 0 throws inside its loop
        await d.lvsd.waitFor(/worker 0 died/, 5000);
        // Recovery: a fresh connection succeeds within 2 s of the kill.
        let recovered = -1;
        while (Date.now() - killedAt < 5000) {
          const r = await d.lab.runHttpClient([
            "--url",
            `http://${VIP}/`,
            "--count",
            "6",
            "--close",
            "--request-timeout-ms",
            "500",
          ]);
          if (r.failed === 0) {
            recovered = Date.now() - killedAt;
            break;
          }
        }
        ok(recovered >= 0 && recovered <= 2000, `traffic recovered after ${recovered} ms`);
        const r = await load;
        ok(r.ok > 500, `load during the restart: ${JSON.stringify(r)}`);
      }),
  });

  Deno.test({
    name: tag + "e2e: an idle director uses < 2% CPU",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io, workers: 2 }, async (d) => {
        // Time on CPU of every thread, in ns (schedstat: exact, where the tick
        // counts of /proc/PID/stat are sampled and overcount light loads).
        const cpuNs = async () => {
          let ns = 0;
          for await (const t of Deno.readDir(`/proc/${d.lvsd.pid}/task`)) {
            const text = await Deno.readTextFile(`/proc/${d.lvsd.pid}/task/${t.name}/schedstat`).catch(() => "0");
            ns += Number(text.split(" ")[0]);
          }
          return ns;
        };
        // Past start-up work (start-up compilation settles within ~4 s; a fresh lab still has IPv6 chatter).
        await new Promise((r) => setTimeout(r, 8000));
        const t0 = await cpuNs();
        const w0 = Date.now();
        await new Promise((r) => setTimeout(r, 6000));
        const cpu = ((await cpuNs()) - t0) / 1e6 / (Date.now() - w0);
        console.log(`idle lvsd: ${(cpu * 100).toFixed(2)}% CPU`);
        ok(cpu < 0.02, `idle lvsd used ${(cpu * 100).toFixed(2)}% CPU`);
      }),
  });

  Deno.test({
    name: tag +
      "e2e: a failing housekeeping step (status file directory gone) is logged; lvsd keeps forwarding and stops cleanly",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io }, async (d) => {
        const dir = d.statusFile.slice(0, d.statusFile.lastIndexOf("/"));
        const saved = `${dir}.saved`;
        await Deno.rename(dir, saved);
        try {
          await d.lvsd.waitFor(/housekeeping failed/, 5000);
          const r = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "6", "--close"]);
          strictEqual(r.failed, 0, JSON.stringify(r));
          ok(!d.lvsd.exited, "lvsd died");
        } finally {
          await Deno.rename(saved, dir);
        }
      }),
  });

  Deno.test({
    name: tag + "e2e: SIGUSR1 neither kills lvsd nor opens Deno's inspector (a root debugger on 127.0.0.1:9229)",
    ...E2E,
    fn: () =>
      withDirector({ packetIo: io }, async (d) => {
        await new Promise((r) => setTimeout(r, 1500)); // past Deno's own SIGUSR1 set-up
        Deno.kill(d.lvsd.pid, "SIGUSR1");
        await new Promise((r) => setTimeout(r, 700));
        const ss = await d.lab.exec(d.lab.ns.director, ["ss", "-Hltn"]);
        ok(!/:9229\b/.test(ss.stdout), `something listens on 9229:\n${ss.stdout}`);
        ok(!/Debugger listening/.test(d.lvsd.stderr + d.lvsd.stdout), d.lvsd.stderr);
        strictEqual(d.lvsd.exited, false, "lvsd still runs");
        Deno.kill(d.lvsd.pid, "SIGUSR2");
        await d.lvsd.waitFor(/IP Virtual Server version/, 5000);
        const r = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "6", "--close"]);
        strictEqual(r.failed, 0, JSON.stringify(r));
      }),
  });
}
