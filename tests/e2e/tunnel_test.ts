/**
 * End to end with IPIP and GUE tunnelling: the real servers have no ipip
 * module (this kernel has none), so each runs `lvsd decap`, which takes the
 * encapsulated packets off a raw (or UDP) socket and hands the inner ones to
 * its stack through a TUN device holding the VIP. Replies go from the VIP
 * straight to the client through the router path.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { patternBytes, VIP } from "../../src/lab/mod.ts";
import { counter, httpServiceYaml, sha256Hex, withDirector } from "./director.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

function tunYaml(tun: string, weights = [1, 2, 3]): string {
  return httpServiceYaml("wrr", weights.map((w) => `forward: tunnel, ${tun} weight: ${w}`));
}

for (const mode of ["ipip", "gue"] as const) {
  Deno.test({
    name: `e2e tunnel (${mode}): HTTP spread 1:2:3 through lvsd decap, 1 MiB down and up intact`,
    ...E2E,
    fn: () =>
      withDirector({
        yaml: tunYaml(mode === "gue" ? "tun_type: gue, tun_port: 6080," : ""),
        setup: async (lab) => {
          await lab.directReturn([0, 1, 2], { vipOnLo: false });
          await lab.startDecap([0, 1, 2], mode === "gue" ? { tunType: "gue", tunPort: 6080 } : {});
        },
      }, async (d) => {
        const r = await d.lab.runHttpClient([
          "--url",
          `http://${VIP}/`,
          "--count",
          "60",
          "--close",
          "--timeout-ms",
          "30000",
        ]);
        strictEqual(r.failed, 0, JSON.stringify(r));
        deepStrictEqual(r.byBody, { rs1: 10, rs2: 20, rs3: 30 });
        const data = patternBytes(1 << 20);
        const expected = await sha256Hex(data);
        const down = await d.lab.exec(d.lab.ns.client, ["bash", "-c", `curl -sf -m 20 http://${VIP}/1m | sha256sum`]);
        strictEqual(down.code, 0, down.stderr);
        strictEqual(down.stdout.split(" ")[0], expected, "download");
        // The upload crosses the director as GSO frames: cut into segments, each tunnelled.
        const file = await Deno.makeTempFile({ prefix: "lvsd-upload-" });
        try {
          await Deno.writeFile(file, data);
          const up = await d.lab.exec(d.lab.ns.client, [
            "curl",
            "-sf",
            "-m",
            "20",
            "--data-binary",
            `@${file}`,
            `http://${VIP}/sha256`,
          ]);
          strictEqual(up.code, 0, up.stderr);
          strictEqual(up.stdout.trim(), expected, "upload");
        } finally {
          await Deno.remove(file);
        }
        const st = await d.status();
        strictEqual(counter(st, "gso_tunnel"), 0, st);
        ok(counter(st, "segments") > 0, `the upload came as GSO frames and was cut into segments:\n${st}`);
        strictEqual(counter(st, "needs_fragmentation"), 0, st);
        ok(/-> 10\.20\.0\.13:80\s+Tunnel\s+3/.test(st), st);
      }),
  });
}
