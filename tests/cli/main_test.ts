/**
 * The lvsd command: bad input gets a clear message (file, path, reason),
 * exit code 2 and no stack trace; a clean stop restores the kernel.
 */
import { ok, strictEqual } from "node:assert/strict";
import { Lab } from "../../src/lab/mod.ts";
import { configYaml, withDirector } from "../e2e/director.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const STATE = "/nonexistent-lvsd-cli-test/state.yaml";

async function lvsd(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    // Never the host's state file: a test must not restore (or write) it.
    args: ["run", "-A", "--cached-only", MAIN, ...args, "--state-file", STATE, "--admin-listen", "off"],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function noStack(text: string): void {
  ok(!/^\s+at /m.test(text), `a stack trace was printed:\n${text}`);
}

async function withConfig(yaml: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lvsd-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/lvsd.yaml`, yaml);
    await fn(`${dir}/lvsd.yaml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: a missing config file is exit 2 naming the file", async () => {
  const r = await lvsd(["--config", "/nonexistent/lvsd.yaml"]);
  strictEqual(r.code, 2);
  ok(r.stderr.includes(`Cannot load config "/nonexistent/lvsd.yaml": file not found`), r.stderr);
  noStack(r.stderr);
});

Deno.test("cli: a port out of range and a duplicate dest are exit 2 naming path and reason", async () => {
  const yaml = configYaml().replace("port: 80\n", "port: 99999\n").replace(
    "      - { address: 10.20.0.12, port: 7,",
    "      - { address: 10.20.0.11, port: 7,",
  );
  await withConfig(yaml, async (path) => {
    const r = await lvsd(["--config", path]);
    strictEqual(r.code, 2, r.stderr);
    ok(r.stderr.includes("services[0].port: 99999 is out of range (1..65535)"), r.stderr);
    ok(/services\[1\]\.dests\[1\].*duplicate|duplicate.*services\[1\]\.dests\[1\]/.test(r.stderr), r.stderr);
    noStack(r.stderr);
  });
});

Deno.test("cli: a missing interface is exit 2 naming it", async () => {
  await withConfig(configYaml().replace("{ name: int0 }", "{ name: lvsdnoif0 }"), async (path) => {
    const r = await lvsd(["--config", path]);
    strictEqual(r.code, 2, r.stderr);
    ok(r.stderr.includes(`interface "lvsdnoif0" does not exist`), r.stderr);
    noStack(r.stderr);
  });
});

Deno.test("cli: --workers that is not a number of workers is exit 2", async () => {
  await withConfig(configYaml(), async (path) => {
    const r = await lvsd(["--config", path, "--workers", "lots"]);
    strictEqual(r.code, 2);
    ok(r.stderr.includes(`"lots" is not a number of workers`), r.stderr);
    noStack(r.stderr);
  });
});

Deno.test({
  name: "cli: a VIP that is an address of the director is exit 2 naming the interface",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const lab = await Lab.up();
    try {
      await withConfig(configYaml().replaceAll("vip: 10.10.0.100", "vip: 10.10.0.1"), async (path) => {
        const r = await lab.exec(lab.ns.director, [
          Deno.execPath(),
          "run",
          "-A",
          "--cached-only",
          MAIN,
          "--config",
          path,
          "--state-file",
          STATE,
        ]);
        strictEqual(r.code, 2, r.stderr);
        ok(/VIP 10\.10\.0\.1 is an address of this host \(interface ext0\)/.test(r.stderr), r.stderr);
        noStack(r.stderr);
      });
    } finally {
      await lab.down();
    }
  },
});

Deno.test({
  name: "cli: a clean stop removes the nftables guard table and leaves no worker behind",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDirector({}, async (d) => {
      const during = await d.lab.exec(d.lab.ns.director, ["nft", "list", "tables"]);
      ok(during.stdout.includes("table netdev lvsd"), during.stdout);
      await d.stop();
      strictEqual(d.lvsd.status ? (await d.lvsd.status).code : 0, 0);
      ok(d.lvsd.stdout.includes("lvsd: stopped"), d.lvsd.stdout);
      const after = await d.lab.exec(d.lab.ns.director, ["nft", "list", "tables"]);
      ok(!after.stdout.includes("lvsd"), after.stdout);
    }),
});

Deno.test("cli: a status file in a missing directory is exit 2 naming it", async () => {
  await withConfig(configYaml().replace("{ name: int0 }", "{ name: lo }"), async (path) => {
    const r = await lvsd(["--config", path, "--status-file", "/nonexistent-dir/status.txt"]);
    strictEqual(r.code, 2, r.stderr);
    ok(r.stderr.includes(`directory "/nonexistent-dir" does not exist`), r.stderr);
    noStack(r.stderr);
  });
});

Deno.test("cli: lvsd adm runs lvsadm (version; an unreachable director is exit 2 naming the address)", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--cached-only", MAIN, "adm", ...args],
      env: { LVSADM_TOKEN: "some-token-for-the-test" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const v = await run(["-v"]);
  strictEqual(v.code, 0, v.stderr);
  ok(v.stdout.startsWith("lvsadm v"), v.stdout);
  // Port 9 (discard) on loopback: nothing listens in a test run.
  const down = await run(["-L", "-n", "--server", "http://127.0.0.1:9"]);
  strictEqual(down.code, 2, down.stderr);
  ok(down.stderr.includes("127.0.0.1:9"), down.stderr);
  noStack(down.stderr);
});
