/**
 * Compile-readiness: the program runs from a single bundled file copied
 * outside the repository, with no source tree beside it (the .wasm is
 * embedded and the data-plane workers start from the same file). This is
 * what `deno compile` packs; denort itself cannot be fetched here.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { withDirector } from "./director.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test({
  name: "bundle: lvsd runs from one file outside the repo and balances real traffic",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lvsd-bundle-" });
    try {
      const out = `${dir}/lvsd.js`;
      const b = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", `${ROOT}src/main.ts`, "-o", out],
        stderr: "piped",
      }).output();
      strictEqual(b.code, 0, new TextDecoder().decode(b.stderr));
      await Deno.copyFile(`${ROOT}config/demo.yaml`, `${dir}/demo.yaml`);
      const check = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", out, "--check-config", "demo.yaml"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(check.stdout);
      strictEqual(check.code, 0, new TextDecoder().decode(check.stderr));
      ok(text.includes("is valid"), text);
      await withDirector({ entry: out, weights: [1, 1, 1] }, async (d) => {
        const r = await d.lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "12", "--close"]);
        strictEqual(r.failed, 0, JSON.stringify(r));
        deepStrictEqual(r.byBody, { rs1: 4, rs2: 4, rs3: 4 });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
