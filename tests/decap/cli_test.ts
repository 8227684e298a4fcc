/**
 * `lvsd decap` on the command line: bad flags are exit 2 with a message
 * naming the flag and the usage, no stack trace; --help is exit 0; a device
 * that cannot be created is exit 1 naming it, with nothing changed.
 */
import { ok, strictEqual } from "node:assert/strict";
import { requireRoot, sh, withNamespaces } from "../../src/sys/netns_testing.ts";
import { parseDecapArgs } from "../../src/decap/cli.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function lvsd(args: string[], ns?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [Deno.execPath(), "run", "-A", "--cached-only", MAIN, ...args];
  const out = await new Deno.Command(ns ? "ip" : argv[0], {
    args: ns ? ["netns", "exec", ns, ...argv] : argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("decap cli: --help is exit 0 with the usage; lvsd --help mentions decap", async () => {
  const r = await lvsd(["decap", "--help"]);
  strictEqual(r.code, 0, r.stderr);
  ok(r.stdout.includes("Usage: lvsd decap --vip ADDR"), r.stdout);
  const top = await lvsd(["--help"]);
  strictEqual(top.code, 0);
  ok(top.stdout.includes("lvsd decap --vip ADDR"), top.stdout);
});

Deno.test("decap cli: bad flags are exit 2 naming the flag and the reason, no stack", async () => {
  const cases: [string[], string][] = [
    [[], "--vip is required"],
    [["--vip", "10.0.0"], `--vip "10.0.0" is not an IPv4 address`],
    [["--vip", "10.0.0.1,10.0.0.300"], `--vip "10.0.0.300" is not an IPv4 address`],
    [["--vip", "10.0.0.1", "--vip", "10.0.0.1"], "--vip 10.0.0.1 is given twice"],
    [["--vip", "10.0.0.1", "--tun-type", "gre"], `--tun-type "gre" is not supported (ipip or gue)`],
    [["--vip", "10.0.0.1", "--tun-type", "gue"], "--tun-type gue needs --tun-port"],
    [["--vip", "10.0.0.1", "--tun-port", "6080"], "--tun-port only goes with --tun-type gue"],
    [["--vip", "10.0.0.1", "--tun-type", "gue", "--tun-port", "0"], `--tun-port "0" is not a port (1..65535)`],
    [["--vip", "10.0.0.1", "--tun-type", "gue", "--tun-port", "65536"], `--tun-port "65536" is not a port`],
    [["--vip", "10.0.0.1", "--device", "a-name-far-too-long"], `--device "a-name-far-too-long" is not an interface`],
    [["--vip", "10.0.0.1", "--device", "a/b"], `--device "a/b" is not an interface name`],
    [["--vip", "10.0.0.1", "--bogus"], "Unknown option '--bogus'"],
    [["--vip", "10.0.0.1", "extra"], "Unexpected argument 'extra'"],
  ];
  for (const [args, message] of cases) {
    const r = await lvsd(["decap", ...args]);
    strictEqual(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    ok(r.stderr.includes(`lvsd decap: ${message}`), `${args.join(" ")}:\n${r.stderr}`);
    ok(r.stderr.includes("Usage: lvsd decap"), r.stderr);
    ok(!/^\s+at /m.test(r.stderr), `a stack trace was printed:\n${r.stderr}`);
  }
});

Deno.test("decap cli: the parsed options", () => {
  strictEqual(
    JSON.stringify(parseDecapArgs(["--vip", "10.0.0.1, 10.0.0.2", "--vip", "10.0.0.3"])),
    JSON.stringify({ vips: ["10.0.0.1", "10.0.0.2", "10.0.0.3"], tunType: "ipip", device: "lvsd-tun0" }),
  );
  strictEqual(
    JSON.stringify(parseDecapArgs(["--vip=10.0.0.1", "--tun-type=gue", "--tun-port=6080", "--device", "tun7"])),
    JSON.stringify({ vips: ["10.0.0.1"], tunType: "gue", tunPort: 6080, device: "tun7" }),
  );
});

Deno.test({
  name: "decap cli: a device name taken by another interface is exit 1 naming it; nothing is changed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireRoot("lvsd decap in a network namespace");
    await withNamespaces(1, async ([ns]) => {
      const before = await sh("ip", "netns", "exec", ns, "sysctl", "net.ipv4.conf.all");
      const r = await lvsd(["decap", "--vip", "10.0.0.100", "--device", "lo"], ns);
      strictEqual(r.code, 1, r.stderr);
      ok(
        r.stderr.includes(
          `Cannot create TUN device "lo" (an interface of that name exists and is not a TUN device): EINVAL`,
        ),
        r.stderr,
      );
      ok(!/^\s+at /m.test(r.stderr), r.stderr);
      strictEqual(await sh("ip", "netns", "exec", ns, "sysctl", "net.ipv4.conf.all"), before);
      ok(!(await sh("ip", "-n", ns, "-o", "addr")).includes("10.0.0.100"));
    });
  },
});
