import assert from "node:assert/strict";
import { checkHost, findExecutable, hasCapability, type HostReaders, parseConfig, systemReaders } from "./mod.ts";

const CONFIG = parseConfig(
  `
interfaces: [{ name: ext0 }, { name: int0 }]
services:
  - { proto: tcp, vip: 10.10.0.100, port: 80 }
  - { proto: udp, vip: 10.10.0.100, port: 53 }
  - { proto: tcp, vip: 10.10.0.101, port: 80 }
`,
  "test",
);

/** CapEff with every capability (root) and with none (a plain user). */
const ROOT_STATUS = "Name:\tdeno\nCapEff:\t000001ffffffffff\n";
const USER_STATUS = "Name:\tdeno\nCapEff:\t0000000000000000\n";

const IP_ADDR = JSON.stringify([
  {
    ifname: "lo",
    addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }],
  },
  {
    ifname: "eth0",
    addr_info: [
      { family: "inet", local: "192.0.2.5", prefixlen: 24 },
      { family: "inet6", local: "fe80::1", prefixlen: 64 },
    ],
  },
]);

/** A healthy root host; `over` replaces single readers. */
function fakeHost(over: Partial<HostReaders> = {}): HostReaders {
  return {
    readTextFile: (path) =>
      path === "/proc/self/status" ? Promise.resolve(ROOT_STATUS) : Promise.reject(new Deno.errors.NotFound(path)),
    exists: (path) =>
      Promise.resolve(
        ["/sys/class/net/ext0", "/sys/class/net/int0"].includes(path),
      ),
    isExecutable: (path) => Promise.resolve(["/usr/sbin/nft", "/usr/bin/ip"].includes(path)),
    run: (program, args) =>
      program.endsWith("/ip") && args.join(" ") === "-j addr"
        ? Promise.resolve(IP_ADDR)
        : Promise.reject(new Error(`unexpected ${program} ${args}`)),
    pathEnv: () => "/usr/local/bin:/usr/bin",
    ...over,
  };
}

Deno.test("a healthy host has no problems", async () => {
  assert.deepEqual(await checkHost(CONFIG, fakeHost()), []);
});

Deno.test("CapEff bits are read as a 64-bit mask", () => {
  assert.equal(hasCapability(ROOT_STATUS, 13), true);
  assert.equal(hasCapability(USER_STATUS, 13), false);
  assert.equal(hasCapability("CapEff:\t0000000000002000\n", 13), true); // only NET_RAW
  assert.equal(hasCapability("CapEff:\t0000000000002000\n", 12), false);
  assert.equal(hasCapability("Name: x\n", 13), false);
});

Deno.test("without CAP_NET_RAW (not root)", async () => {
  const problems = await checkHost(
    CONFIG,
    fakeHost({ readTextFile: () => Promise.resolve(USER_STATUS) }),
  );
  assert.ok(
    problems.includes("lvsd needs CAP_NET_RAW (run as root)"),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => p.includes("kernel_guard: nftables needs CAP_NET_ADMIN")),
  );
});

Deno.test("CAP_NET_ADMIN is only needed for the nftables guard", async () => {
  const rawOnly = fakeHost({
    readTextFile: () => Promise.resolve("CapEff:\t0000000000002000\n"),
  });
  assert.deepEqual(
    await checkHost({ ...CONFIG, kernelGuard: "off" }, rawOnly),
    [],
  );
  assert.deepEqual(await checkHost(CONFIG, rawOnly), [
    "kernel_guard: nftables needs CAP_NET_ADMIN (run as root, or set kernel_guard: off)",
  ]);
});

Deno.test("missing interfaces are named", async () => {
  const c = { ...CONFIG, interfaces: [{ name: "ext0" }, { name: "ext9" }] };
  assert.deepEqual(await checkHost(c, fakeHost()), [
    'interface "ext9" does not exist',
  ]);
});

Deno.test("a VIP the kernel owns is reported once with its interface", async () => {
  const c = structuredClone(CONFIG);
  c.services[0].vip = c.services[1].vip = "192.0.2.5";
  assert.deepEqual(await checkHost(c, fakeHost()), [
    "VIP 192.0.2.5 is an address of this host (interface eth0); " +
    "lvsd answers for VIPs itself, remove it from the kernel",
  ]);
});

Deno.test("a VRRP virtual_ipaddress the kernel owns (e.g. the servers' gateway) is reported", async () => {
  const c = structuredClone(CONFIG);
  c.vrrpInstances = [{
    name: "VI_1",
    interface: "ext0",
    state: "BACKUP",
    virtualRouterId: 51,
    priority: 100,
    advertIntervalMs: 1000,
    nopreempt: false,
    preemptDelayMs: 0,
    virtualIpaddress: [{ address: "10.10.0.100", prefix: 32, dev: null }, {
      address: "192.0.2.5",
      prefix: 24,
      dev: "int0",
    }],
    trackInterface: [],
    trackScript: [],
    unicastSrcIp: null,
    unicastPeer: [],
    notifyMaster: null,
    notifyBackup: null,
    notifyFault: null,
    version: 3,
    authPass: null,
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    garpMasterRefreshRepeat: 1,
  }];
  assert.deepEqual(await checkHost(c, fakeHost()), [
    "virtual_ipaddress 192.0.2.5 is an address of this host (interface eth0); " +
    "lvsd answers for it while its VRRP instance is MASTER, remove it from the kernel",
  ]);
});

Deno.test("ip failing is reported, not ignored", async () => {
  const problems = await checkHost(
    CONFIG,
    fakeHost({ run: () => Promise.reject(new Error("boom")) }),
  );
  assert.deepEqual(problems, [
    "cannot list this host's addresses (ip -j addr): boom",
  ]);
});

Deno.test("no services: ip is not run", async () => {
  const c = { ...CONFIG, services: [] };
  const host = fakeHost({ run: () => Promise.reject(new Error("ran")) });
  assert.deepEqual(await checkHost(c, host), []);
});

Deno.test("nft is found on PATH or in /usr/sbin, and only needed for nftables", async () => {
  const noNft = fakeHost({
    isExecutable: (p) => Promise.resolve(p === "/usr/bin/ip"),
  });
  assert.deepEqual(await checkHost(CONFIG, noNft), [
    "kernel_guard: nftables needs the nft program, not found on PATH or in /usr/sbin " +
    "(install nftables, or set kernel_guard: off)",
  ]);
  assert.deepEqual(
    await checkHost({ ...CONFIG, kernelGuard: "off" }, noNft),
    [],
  );

  const onPath = fakeHost({
    isExecutable: (p) => Promise.resolve(p === "/opt/nft/bin/nft"),
    pathEnv: () => "/opt/nft/bin/",
  });
  assert.equal(await findExecutable("nft", onPath), "/opt/nft/bin/nft");
  assert.equal(await findExecutable("nft", fakeHost()), "/usr/sbin/nft");
  assert.equal(await findExecutable("nope", fakeHost()), null);
});

Deno.test("the system readers work here (no root needed)", async () => {
  const status = await systemReaders.readTextFile("/proc/self/status");
  assert.match(status, /^CapEff:/m);
  assert.equal(await systemReaders.exists("/sys/class/net/lo"), true);
  assert.equal(await systemReaders.exists("/sys/class/net/no-such-if0"), false);
  assert.equal(await systemReaders.isExecutable("/proc/self/status"), false);
  const sh = await findExecutable("sh");
  if (!sh) throw new Error("no sh on PATH");
  assert.ok(sh.endsWith("/sh"));
  assert.equal(await systemReaders.run(sh, ["-c", "echo hi"]), "hi\n");
  await assert.rejects(
    systemReaders.run(sh, ["-c", "echo bad >&2; exit 3"]),
    /: bad$/,
  );
});
