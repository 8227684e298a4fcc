/**
 * Names without -n: getservbyport (/etc/services) and gethostbyaddr
 * (/etc/hosts, then reverse DNS), read by resolveNames from injectable
 * paths with an injectable reverse lookup (no network in tests); and how
 * ipvsadm fits names into its columns: the service column is cut to 33
 * characters (svc_name[33] = '\0'), a dest to 28 (dname[28] = '\0'),
 * addr:port to 59 (addrport_to_anyname's snprintf into 60 bytes).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  addrPort,
  formatList,
  formatSave,
  listNameQueries,
  NUMERIC,
  parseHosts,
  parseServices,
  resolveNames,
  type ResolveOptions,
} from "../../src/lvsadm/format/mod.ts";
import { ptrName } from "../../src/lvsadm/format/names.ts";
import { dest, PLAIN, service, status, trimmed } from "./fixtures.ts";

const SERVICES = `# Network services, Internet style
tcpmux          1/tcp                           # TCP port service multiplexer
http            80/tcp          www             # WorldWideWeb HTTP
domain          53/tcp                          # Domain Name Server
domain          53/udp
syslog          514/udp
bacula-fd       9102/tcp                        # Bacula File Daemon
www-second      80/tcp
sctp-only       9899/sctp
`;

const HOSTS = `127.0.0.1	localhost
# 10.0.0.1 commented.example
10.0.0.1	web.example.com web
10.0.0.1	second-line.example.com
::1		localhost ip6-localhost
192.168.1.5 client.example
10.20.0.99 a-very-long-real-server-name.datacenter.example.com
`;

/** Writes the fake files and returns options pointing at them. */
async function fakeFiles(extra: ResolveOptions = {}): Promise<ResolveOptions & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "lvsadm-names-" });
  await Deno.writeTextFile(`${dir}/hosts`, HOSTS);
  await Deno.writeTextFile(`${dir}/services`, SERVICES);
  return { dir, hostsFile: `${dir}/hosts`, servicesFile: `${dir}/services`, reverse: null, ...extra };
}

Deno.test("parseServices: the first entry's official name per port and protocol; comments ignored", () => {
  const s = parseServices(SERVICES);
  strictEqual(s.get("80/tcp"), "http");
  strictEqual(s.get("53/udp"), "domain");
  strictEqual(s.get("514/udp"), "syslog");
  strictEqual(s.get("514/tcp"), undefined);
  strictEqual(s.get("9899/sctp"), "sctp-only");
});

Deno.test("parseHosts: an address's first name on its first line (h_name); IPv6 and comments skipped", () => {
  const h = parseHosts(HOSTS);
  strictEqual(h.get("10.0.0.1"), "web.example.com");
  strictEqual(h.get("127.0.0.1"), "localhost");
  strictEqual(h.get("::1"), undefined);
  strictEqual(h.size, 4);
});

Deno.test("resolveNames: files first, reverse DNS only for what /etc/hosts does not name", async () => {
  const asked: string[] = [];
  const opts = await fakeFiles({
    reverse: (addr) => {
      asked.push(addr);
      return Promise.resolve(addr === "10.20.0.11" ? "rs1.example.com" : null);
    },
  });
  try {
    const n = await resolveNames(
      ["10.0.0.1", "10.20.0.11", "10.20.0.12", "10.20.0.11"],
      [{ port: 80, proto: "tcp" }],
      opts,
    );
    strictEqual(n.host("10.0.0.1"), "web.example.com");
    strictEqual(n.host("10.20.0.11"), "rs1.example.com");
    strictEqual(n.host("10.20.0.12"), "10.20.0.12");
    deepStrictEqual(asked.sort(), ["10.20.0.11", "10.20.0.12"], "each unnamed address asked once, named ones not");
    strictEqual(n.service(80, "tcp"), "http");
    strictEqual(n.service(53, "udp"), "domain");
    strictEqual(n.service(514, "tcp"), "514");
    strictEqual(n.service(9899, "sctp"), "sctp-only");
    // port_to_service looks up tcp, udp and sctp only.
    strictEqual(n.service(80, "ip"), "80");
  } finally {
    await Deno.remove(opts.dir, { recursive: true });
  }
});

Deno.test("resolveNames: a reverse lookup that does not answer in time leaves the address numeric", async () => {
  let aborted = false;
  const opts = await fakeFiles({
    timeoutMs: 30,
    reverse: (_addr, signal) =>
      new Promise((resolve) => signal.addEventListener("abort", () => (aborted = true, resolve("too.late")))),
  });
  try {
    const started = performance.now();
    const n = await resolveNames(["10.9.9.9"], [], opts);
    strictEqual(n.host("10.9.9.9"), "10.9.9.9");
    ok(aborted, "the lookup was told to stop");
    ok(performance.now() - started < 1000, "it waited about the timeout, not longer");
  } finally {
    await Deno.remove(opts.dir, { recursive: true });
  }
});

Deno.test("resolveNames: missing files and a failing resolver mean numbers, not errors", async () => {
  const n = await resolveNames(["10.0.0.1"], [{ port: 80, proto: "tcp" }], {
    hostsFile: "/nonexistent/hosts",
    servicesFile: "/nonexistent/services",
    reverse: () => Promise.reject(new Error("SERVFAIL")),
  });
  strictEqual(n.host("10.0.0.1"), "10.0.0.1");
  strictEqual(n.service(80, "tcp"), "80");
});

Deno.test("ptrName: the in-addr.arpa name dnsReverse asks for", () => {
  strictEqual(ptrName("10.0.62.121"), "121.62.0.10.in-addr.arpa");
});

Deno.test("-L (names) reproduces kube-router#415's capture: names cut at 33 and 28 characters", async () => {
  // https://github.com/cloudnativelabs/kube-router/issues/415 (ipvsadm -L on
  // an EC2 node): the node's name fills the service column and is cut with
  // its port; a dest's name is cut to 28; ports 80 and 9102 are named.
  const capture = "IP Virtual Server version 1.2.1 (size=4096)\n" +
    "Prot LocalAddress:Port Scheduler Flags\n" +
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.96.5.4:9090              Masq    1      0          0\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> ip-10-0-62-92.ec2.internal:9 Masq    1      0          0\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.96.6.18:9109             Masq    1      0          0\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.98.125.10:http           Masq    1      2          14\n" +
    "  -> 100.99.0.16:http             Masq    1      0          14\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.96.6.22:http             Masq    1      1          1\n" +
    "  -> 100.97.16.8:http             Masq    1      1          1\n" +
    "  -> 100.97.142.16:http           Masq    1      0          1\n" +
    "  -> 100.98.180.22:http           Masq    1      0          1\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.99.43.2:bacula-fd        Masq    1      0          0\n" +
    "  -> 100.99.70.6:bacula-fd        Masq    1      0          0\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.99.76.7:bacula-fd        Masq    1      0          0\n" +
    "TCP  ip-10-0-62-121.ec2.internal: rr\n" +
    "  -> 100.99.43.2:9125             Masq    1      0          0\n" +
    "  -> 100.99.70.6:9125             Masq    1      0          0\n";
  const node = "10.0.62.121";
  const svc = (port: number, dests: [string, number, number, number][]) =>
    service(
      "tcp",
      node,
      port,
      dests.map(([a, p, act, inact]) => dest(a, p, { active_conns: act, inact_conns: inact })),
      { scheduler: "rr" },
    );
  const services = [
    svc(30008, [["100.99.43.2", 9125, 0, 0], ["100.99.70.6", 9125, 0, 0]]),
    svc(30001, [["100.96.5.4", 9090, 0, 0]]),
    svc(30002, [["10.0.62.92", 9100, 0, 0]]),
    svc(30003, [["100.96.6.18", 9109, 0, 0]]),
    svc(30004, [["100.99.0.16", 80, 0, 14], ["100.98.125.10", 80, 2, 14]]),
    svc(30005, [["100.98.180.22", 80, 0, 1], ["100.97.142.16", 80, 0, 1], ["100.96.6.22", 80, 1, 1], [
      "100.97.16.8",
      80,
      1,
      1,
    ]]),
    svc(30006, [["100.99.43.2", 9102, 0, 0], ["100.99.70.6", 9102, 0, 0]]),
    svc(30007, [["100.99.76.7", 9102, 0, 0]]),
  ];
  const opts = await fakeFiles({
    // EC2's DNS names its addresses ip-a-b-c-d.ec2.internal; the pods' have none.
    reverse: (a) => Promise.resolve(a.startsWith("10.0.62.") ? `ip-${a.replaceAll(".", "-")}.ec2.internal` : null),
  });
  try {
    const q = listNameQueries(services);
    const names = await resolveNames(q.addrs, q.ports, opts);
    const out = formatList(status(), services, { ...PLAIN, numeric: false }, names);
    strictEqual(trimmed(out), capture);
    // -n ignores the names it is given.
    ok(formatList(status(), services, PLAIN, names).includes("TCP  10.0.62.121:30001 rr\n"));
  } finally {
    await Deno.remove(opts.dir, { recursive: true });
  }
});

Deno.test("-S without -n names addresses and ports like -L, without the listing's cuts (print_service_entry FMT_RULE)", async () => {
  const opts = await fakeFiles();
  try {
    const svcs = [service("tcp", "10.0.0.1", 80, [
      dest("192.168.1.5", 80, { forward: "route" }),
      dest("10.20.0.99", 80, { forward: "route" }),
    ])];
    const q = listNameQueries(svcs);
    const names = await resolveNames(q.addrs, q.ports, opts);
    strictEqual(
      formatSave(svcs, { numeric: false, thresholds: false }, names),
      // Sorted by address as ipvsadm sorts: 192.168.1.5 comes before 10.20.0.99 (see format_sort_test.ts).
      "-A -t web.example.com:http -s wlc\n" +
        "-a -t web.example.com:http -r client.example:http -g -w 1\n" +
        "-a -t web.example.com:http -r a-very-long-real-server-name.datacenter.example.com:http -g -w 1\n",
    );
    strictEqual(
      formatSave(svcs, { numeric: true, thresholds: false }, names),
      "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 192.168.1.5:80 -g -w 1\n-a -t 10.0.0.1:80 -r 10.20.0.99:80 -g -w 1\n",
    );
  } finally {
    await Deno.remove(opts.dir, { recursive: true });
  }
});

Deno.test("addrPort: addrport_to_anyname's 60-byte buffer keeps 59 characters", () => {
  const long = { host: () => "h".repeat(70), service: NUMERIC.service };
  strictEqual(addrPort("10.0.0.1", 80, "tcp", long), "h".repeat(59));
  strictEqual(addrPort("10.0.0.1", 80, "tcp", NUMERIC), "10.0.0.1:80");
});

Deno.test("listNameQueries: service and dest addresses and ports under the service's protocol; groups' labels are not looked up", () => {
  const group = service("udp", "10.1.0.1", 53, [dest("10.20.0.2", 53)]);
  group.vips = ["10.1.0.1-10.1.0.5"];
  delete group.vip;
  const q = listNameQueries([service("tcp", "10.0.0.1", 80, [dest("10.20.0.1", 8080)]), group]);
  deepStrictEqual(q.addrs, ["10.0.0.1", "10.20.0.1", "10.20.0.2"]);
  deepStrictEqual(q.ports, [{ port: 80, proto: "tcp" }, { port: 8080, proto: "tcp" }, { port: 53, proto: "udp" }]);
});
