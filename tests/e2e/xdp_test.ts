/**
 * AF_XDP end to end, beyond the NAT suite (nat_xdp_test.ts): what stays with
 * the director's kernel, teardown after SIGKILL, and packet_io auto's
 * fallback to AF_PACKET where XDP cannot attach.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { DIRECTOR_EXT_ADDR, type Lab, VIP } from "../../src/lab/mod.ts";
import { configYaml, withDirector } from "./director.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

/** The XDP attachment `ip -d link` reports on the director's interface, or null. */
async function xdpOn(lab: Lab, dev: string): Promise<unknown> {
  const r = await lab.exec(lab.ns.director, ["ip", "-j", "-d", "link", "show", "dev", dev]);
  strictEqual(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { xdp?: unknown }[])[0].xdp ?? null;
}

Deno.test({
  name:
    "e2e [af_xdp]: the director's own services stay reachable; SIGKILL leaves no XDP program and the next start works",
  ...E2E,
  fn: () =>
    withDirector({ packetIo: "af_xdp" }, async (d) => {
      const { lab } = d;
      ok(/packet I\/O: AF_XDP on ext0, int0/.test(d.lvsd.stdout), d.lvsd.stdout);
      for (const dev of ["ext0", "int0"]) {
        const x = await xdpOn(lab, dev) as { mode?: number; prog?: { name?: string } } | null;
        ok(x && x.prog?.name === "lvsd_xdp", `${dev}: ${JSON.stringify(x)}`);
      }
      // A service of the director's own host (not a VIP) on the XDP interface.
      const own = lab.spawn(lab.ns.director, [
        "python3",
        "-m",
        "http.server",
        "8080",
        "--bind",
        DIRECTOR_EXT_ADDR,
      ]);
      try {
        await new Promise((r) => setTimeout(r, 700));
        const curl = await lab.exec(lab.ns.client, [
          "curl",
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "--max-time",
          "5",
          `http://${DIRECTOR_EXT_ADDR}:8080/`,
        ]);
        strictEqual(curl.stdout, "200", curl.stderr);
        // The kernel answers echo for its own address (lvsd only for VIPs).
        const ping = await lab.exec(lab.ns.client, [
          "python3",
          new URL("./ping.py", import.meta.url).pathname,
          DIRECTOR_EXT_ADDR,
          "2",
        ]);
        strictEqual(ping.stdout.trim(), "replies 2/2", ping.stderr);
      } finally {
        await own.stop(2000);
      }
      const before = await lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "12", "--close"]);
      strictEqual(before.failed, 0, JSON.stringify(before));

      d.lvsd.kill("SIGKILL");
      await d.lvsd.status;
      // The BPF links died with the process: nothing left on the interfaces.
      deepStrictEqual([await xdpOn(lab, "ext0"), await xdpOn(lab, "int0")], [null, null]);
      await d.restart();
      const after = await lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "12", "--close"]);
      strictEqual(after.failed, 0, JSON.stringify(after));
      ok(/packet I\/O: AF_XDP/.test(d.lvsd.stdout), d.lvsd.stdout);
      // And a clean stop detaches too.
      await d.stop();
      deepStrictEqual([await xdpOn(lab, "ext0"), await xdpOn(lab, "int0")], [null, null]);
    }),
});

Deno.test({
  name: "e2e [auto]: where XDP cannot attach, packet_io auto runs on AF_PACKET and says why in one line",
  ...E2E,
  fn: () =>
    withDirector({
      packetIo: "auto",
      // veth refuses a (non-multi-buffer) XDP program while its peer's MTU
      // is larger than a page can hold.
      setup: async (lab) => {
        const r = await lab.exec(lab.ns.client, ["ip", "link", "set", "eth0", "mtu", "9000"]);
        strictEqual(r.code, 0, r.stderr);
      },
    }, async (d) => {
      const lines = d.lvsd.stdout.split("\n").filter((l) => /packet_io auto/.test(l));
      strictEqual(lines.length, 1, d.lvsd.stdout);
      ok(/AF_XDP is not available \(.*ext0.*\); using AF_PACKET/.test(lines[0]), lines[0]);
      ok(!/packet I\/O: AF_XDP/.test(d.lvsd.stdout), d.lvsd.stdout);
      deepStrictEqual([await xdpOn(d.lab, "ext0"), await xdpOn(d.lab, "int0")], [null, null]);
      const r = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "12", "--close"]);
      strictEqual(r.failed, 0, JSON.stringify(r));
    }),
});

Deno.test({
  name:
    "e2e [af_xdp]: a VIP added by SIGHUP is redirected (the XDP address map follows the table); a removed one is not",
  ...E2E,
  fn: () =>
    withDirector({ packetIo: "af_xdp" }, async (d) => {
      const NEW_VIP = "10.10.0.101";
      const yaml = configYaml({ packetIo: "af_xdp" }) + `  - proto: tcp
    vip: ${NEW_VIP}
    port: 80
    scheduler: rr
    dests:
      - { address: 10.20.0.11, port: 80, forward: masq, weight: 1 }
`;
      const before = await d.lab.runHttpClient([
        "--url",
        `http://${NEW_VIP}/`,
        "--count",
        "2",
        "--close",
        "--request-timeout-ms",
        "500",
      ]);
      strictEqual(before.ok, 0, `the new VIP answered before the reload: ${JSON.stringify(before)}`);
      await Deno.writeTextFile(d.configFile, yaml);
      d.lvsd.kill("SIGHUP");
      await d.lvsd.waitFor(/lvsd: reloaded .*10\.10\.0\.101:80: added/, 10000);
      const after = await d.lab.runHttpClient(["--url", `http://${NEW_VIP}/`, "--count", "6", "--close"]);
      strictEqual(after.failed, 0, JSON.stringify(after));
      deepStrictEqual(after.byBody, { rs1: 6 });
      // Back to the old table: the VIP's frames go to the kernel again (not ours: nothing answers).
      await Deno.writeTextFile(d.configFile, configYaml({ packetIo: "af_xdp" }));
      d.lvsd.kill("SIGHUP");
      await d.lvsd.waitFor(/lvsd: reloaded .*10\.10\.0\.101:80: removed/, 10000);
      const gone = await d.lab.runHttpClient([
        "--url",
        `http://${NEW_VIP}/`,
        "--count",
        "2",
        "--close",
        "--request-timeout-ms",
        "500",
      ]);
      strictEqual(gone.ok, 0, JSON.stringify(gone));
    }),
});

Deno.test({
  name: "e2e [af_xdp]: with fewer queues than workers the log says so and the workers with queues carry the traffic",
  ...E2E,
  fn: () =>
    withDirector({
      packetIo: "af_xdp",
      workers: 2,
      setup: async (lab) => {
        // Peers first: veth refuses XDP while its peer has more tx queues than it has rx queues.
        for (
          const [ns, dev] of [[lab.ns.client, "eth0"], [lab.ns.lan, "dir"], [lab.ns.director, "ext0"], [
            lab.ns.director,
            "int0",
          ]]
        ) {
          const r = await lab.exec(ns, ["ethtool", "-L", dev, "rx", "1", "tx", "1"]);
          strictEqual(r.code, 0, r.stderr);
        }
      },
    }, async (d) => {
      ok(
        /AF_XDP: 2 workers but ext0 has 1, int0 has 1 rx queue\(s\): workers 1\.\.1 get no traffic/.test(d.lvsd.stdout),
        d.lvsd.stdout,
      );
      ok(/1 of 2 workers with queues/.test(d.lvsd.stdout), d.lvsd.stdout);
      const r = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "30", "--close"]);
      strictEqual(r.failed, 0, JSON.stringify(r));
    }),
});
