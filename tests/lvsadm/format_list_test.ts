/**
 * `ipvsadm -L` golden outputs. Each expected text cites its source: a
 * published capture of real ipvsadm output (compared with trailing blanks
 * removed, which the captures lose), or the printf formats of ipvsadm.c
 * 1.31 (list_all, print_title, print_service_entry, print_largenum,
 * fwd_tun_info), worked out with an independent printf.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { formatList, formatService, healthColumn, type ListOptions, NUMERIC } from "../../src/lvsadm/format/mod.ts";
import { dest, PLAIN, service, status, trimmed } from "./fixtures.ts";

const PLAIN_TITLE = "Prot LocalAddress:Port Scheduler Flags\n" +
  "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

Deno.test("-Ln, empty table: the version line with the table size, then the title (list_all, print_title)", () => {
  // list_all: "IP Virtual Server version %d.%d.%d (size=%d)\n"; print_title's plain title.
  strictEqual(
    formatList(status(262144), [], PLAIN, NUMERIC),
    "IP Virtual Server version 1.2.1 (size=262144)\n" + PLAIN_TITLE,
  );
});

Deno.test("-Ln reproduces keepalived#2295's capture", () => {
  // https://github.com/acassen/keepalived/issues/2295, quoted in
  // ipvs-keepalived-facts.md §1.7.
  const capture = "IP Virtual Server version 1.2.1 (size=4096)\n" +
    "Prot LocalAddress:Port Scheduler Flags\n" +
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
    "TCP  192.168.132.226:6443 rr\n" +
    "  -> 192.168.138.116:6443         Masq    1      0          0\n";
  const out = formatList(
    status(4096),
    [service("tcp", "192.168.132.226", 6443, [dest("192.168.138.116", 6443)], { scheduler: "rr" })],
    PLAIN,
    NUMERIC,
  );
  strictEqual(trimmed(out), capture);
  // The capture lost what printf wrote: "%-10u\n" pads InActConn to 10.
  strictEqual(out.split("\n")[4], "  -> 192.168.138.116:6443         Masq    1      0          0         ");
});

Deno.test("-Ln reproduces kube-keepalived-vip#117's persistent service line", () => {
  // https://github.com/aledbf/kube-keepalived-vip/issues/117: "TCP  10.249.159.12:443 wlc persistent 1800".
  const out = formatList(
    status(),
    [service("tcp", "10.249.159.12", 443, [], { persistence: { timeout: 1800, netmask: "255.255.255.255" } })],
    PLAIN,
    NUMERIC,
  );
  strictEqual(out.split("\n")[3], "TCP  10.249.159.12:443 wlc persistent 1800");
});

Deno.test("-Ln: NAT, DR and tunnel dests, weight 0 and 65535, wide counters (print_service_entry)", () => {
  // "  -> %-28s %-7s %-6d %-10u %-10u\n" with fwd_name's Masq/Route/Tunnel.
  const out = formatList(
    status(),
    [
      service("tcp", "10.0.0.1", 80, [
        dest("10.20.0.11", 8080, { weight: 3, active_conns: 12, inact_conns: 7 }),
        dest("10.20.0.12", 80, { forward: "route", weight: 0 }),
        dest("10.20.0.13", 80, {
          forward: "tunnel",
          tun_type: "ipip",
          weight: 65535,
          active_conns: 1234567890,
          inact_conns: 4294967295,
        }),
      ], { scheduler: "rr" }),
    ],
    PLAIN,
    NUMERIC,
  );
  strictEqual(
    out,
    "IP Virtual Server version 1.2.1 (size=4096)\n" + PLAIN_TITLE +
      "TCP  10.0.0.1:80 rr\n" +
      "  -> 10.20.0.11:8080              Masq    3      12         7         \n" +
      "  -> 10.20.0.12:80                Route   0      0          0         \n" +
      "  -> 10.20.0.13:80                Tunnel  65535  1234567890 4294967295\n",
  );
});

Deno.test("-Ln: persistent with a mask, ops, -b flags by scheduler (print_service_entry, print_sched_flags 1.31)", () => {
  // " persistent %u", " mask %s" when not 255.255.255.255, " ops"; flags in " (...)".
  const lines = formatList(
    status(),
    [
      service("udp", "10.0.0.2", 53, [], { persistence: { timeout: 300, netmask: "255.255.255.0" }, ops: true }),
      service("tcp", "10.0.0.3", 80, [], { scheduler: "sh", sched_flags: ["sh-port", "sh-fallback"] }),
      service("tcp", "10.0.0.4", 80, [], { scheduler: "mh", sched_flags: ["mh-port"], mh_table_size: 65521 }),
      service("tcp", "10.0.0.5", 80, [], { scheduler: "wrr", sched_flags: ["flag-3", "flag-1"] }),
      service("tcp", "10.0.0.6", 80, [], { scheduler: "sh", sched_flags: ["flag-2"] }),
    ],
    PLAIN,
    NUMERIC,
  ).split("\n").slice(3, -1);
  deepStrictEqual(lines, [
    "TCP  10.0.0.3:80 sh (sh-fallback,sh-port)",
    "TCP  10.0.0.4:80 mh (mh-port)",
    "TCP  10.0.0.5:80 wrr (flag-1,flag-3)",
    // The kernel keeps bits, not names: flag-2 under sh is sh-port.
    "TCP  10.0.0.6:80 sh (sh-port)",
    "UDP  10.0.0.2:53 wlc persistent 300 mask 255.255.255.0 ops",
  ]);
});

Deno.test("-Ln: a port-0 service prints :0", () => {
  const out = formatList(
    status(),
    [service("tcp", "10.0.0.1", 0, [dest("10.20.0.11", 0)], {
      persistence: { timeout: 360, netmask: "255.255.255.255" },
    })],
    PLAIN,
    NUMERIC,
  );
  deepStrictEqual(out.split("\n").slice(3, 5), [
    "TCP  10.0.0.1:0 wlc persistent 360",
    "  -> 10.20.0.11:0                 Masq    1      0          0         ",
  ]);
});

Deno.test("-Ln: a service group is named by its label, whole (lvsd; README Service groups)", () => {
  const group = service("tcp", "10.10.0.101", 80, [dest("10.20.0.11", 0)], { scheduler: "wrr" });
  delete group.vip;
  delete group.port;
  group.vips = ["10.10.0.101-10.10.0.110", "10.10.1.0/28"];
  group.ports = [80, "8000-8099"];
  const out = formatList(status(), [group], PLAIN, NUMERIC);
  strictEqual(out.split("\n")[3], "TCP  10.10.0.101-10.10.0.110,10.10.1.0/28:80,8000-8099 wrr");
});

Deno.test("-Ln --stats reproduces kube-router#160's capture (services and dests sorted)", () => {
  // https://github.com/cloudnativelabs/kube-router/pull/160 (ipvsadm -ln --stats).
  const capture = "IP Virtual Server version 1.2.1 (size=4096)\n" +
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n" +
    "  -> RemoteAddress:Port\n" +
    "TCP  10.3.0.1:443                        0        0        0        0        0\n" +
    "  -> 172.17.4.101:443                    0        0        0        0        0\n" +
    "TCP  10.3.0.10:53                        0        0        0        0        0\n" +
    "  -> 10.2.0.3:53                         0        0        0        0        0\n" +
    "TCP  10.3.0.42:80                    14209   111769    74613  7207174  8334358\n" +
    "  -> 10.2.1.22:80                        2       12        8      774      894\n" +
    "  -> 10.2.1.23:80                        2       12        8      774      894\n" +
    "  -> 10.2.1.24:80                        2       12        8      774      894\n" +
    "  -> 10.2.1.25:80                        3       18       12     1161     1341\n" +
    "  -> 10.2.1.26:80                        3       18       12     1161     1341\n" +
    "  -> 10.2.1.27:80                        3       18       12     1161     1341\n" +
    "  -> 10.2.1.28:80                        3       18       12     1161     1341\n" +
    "  -> 10.2.1.29:80                        3       18       12     1161     1341\n";
  const small = { conns: 2, inpkts: 12, outpkts: 8, inbytes: 774, outbytes: 894 };
  const big = { conns: 3, inpkts: 18, outpkts: 12, inbytes: 1161, outbytes: 1341 };
  // Given out of order, as a director may hold them: the listing sorts.
  const web = service("tcp", "10.3.0.42", 80, [
    ...[29, 28, 27, 26, 25].map((h) => dest(`10.2.1.${h}`, 80, { stats: big })),
    ...[24, 23, 22].map((h) => dest(`10.2.1.${h}`, 80, { stats: small })),
  ], { stats: { conns: 14209, inpkts: 111769, outpkts: 74613, inbytes: 7207174, outbytes: 8334358 } });
  const out = formatList(
    status(),
    [
      web,
      service("tcp", "10.3.0.10", 53, [dest("10.2.0.3", 53)]),
      service("tcp", "10.3.0.1", 443, [dest("172.17.4.101", 443)]),
    ],
    { ...PLAIN, stats: true },
    NUMERIC,
  );
  strictEqual(out, capture);
});

Deno.test("-Ln --stats: K/M/G/T in service and dest rows; --exact prints them whole (print_largenum)", () => {
  const svcStats = {
    conns: 99_999_999,
    inpkts: 100_000_000,
    outpkts: 999_999_999,
    inbytes: 1e9,
    outbytes: 99_999_999_999,
  };
  const dstStats = { conns: 1e11, inpkts: 99_999_999_999_999, outpkts: 1e14, inbytes: (1n << 64n) - 1n, outbytes: 0 };
  const svcs = [service("tcp", "10.0.0.1", 80, [dest("10.20.0.11", 80, { stats: dstStats })], { stats: svcStats })];
  const scaled = formatList(status(), svcs, { ...PLAIN, stats: true }, NUMERIC).split("\n");
  // "%-33s" then five print_largenum; 18446744T fills its 9 columns, so it touches the 100T before it.
  strictEqual(scaled[3], "TCP  10.0.0.1:80                  99999999  100000K  999999K    1000M   99999M");
  strictEqual(scaled[4], "  -> 10.20.0.11:80                    100G   99999G     100T18446744T        0");
  const whole = formatList(status(), svcs, { ...PLAIN, stats: true, exact: true }, NUMERIC).split("\n");
  strictEqual(whole[3], "TCP  10.0.0.1:80                  99999999 100000000 999999999 1000000000 99999999999");
  strictEqual(
    whole[4],
    "  -> 10.20.0.11:80                100000000000 99999999999999 100000000000000 18446744073709551615        0",
  );
});

Deno.test("-Ln --rate: title, service rates scaled, a dest's CPS/InPPS/OutPPS never scaled (print_service_entry)", () => {
  // Dest rows: "  -> %-28s %8llu %8llu %8llu" then print_largenum for InBPS and OutBPS.
  const rates = { cps: 123456789, inpps: 100_000_000, outpps: 5, inbps: 1e9, outbps: 250_000_000_000 };
  const svcs = [service("tcp", "10.0.0.1", 80, [dest("10.20.0.11", 80, { rates })], { rates })];
  const out = formatList(status(), svcs, { ...PLAIN, rate: true }, NUMERIC);
  strictEqual(
    out,
    "IP Virtual Server version 1.2.1 (size=4096)\n" +
      "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n" +
      "  -> RemoteAddress:Port\n" +
      "TCP  10.0.0.1:80                   123456K  100000K        5    1000M     250G\n" +
      "  -> 10.20.0.11:80                123456789 100000000        5    1000M     250G\n",
  );
  const exact = formatList(status(), svcs, { ...PLAIN, rate: true, exact: true }, NUMERIC).split("\n");
  strictEqual(exact[4], "  -> 10.20.0.11:80                123456789 100000000        5 1000000000 250000000000");
});

Deno.test("-Ln --thresholds and --persistent-conn: titles and dest columns (print_title, print_service_entry)", () => {
  const svcs = [service("tcp", "10.0.0.1", 80, [
    dest("10.20.0.11", 80, {
      u_threshold: 100,
      l_threshold: 50,
      active_conns: 7,
      inact_conns: 3,
      weight: 5,
      persist_conns: 42,
    }),
  ], { scheduler: "rr", persistence: { timeout: 60, netmask: "255.255.255.255" } })];
  const thr = formatList(status(), svcs, { ...PLAIN, thresholds: true }, NUMERIC).split("\n");
  deepStrictEqual(thr.slice(1, 5), [
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ",
    "  -> RemoteAddress:Port",
    "TCP  10.0.0.1:80 rr persistent 60",
    "  -> 10.20.0.11:80                100        50         7          3         ",
  ]);
  const pc = formatList(status(), svcs, { ...PLAIN, persistentConn: true }, NUMERIC).split("\n");
  deepStrictEqual(pc.slice(1, 5), [
    "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ",
    "  -> RemoteAddress:Port",
    "TCP  10.0.0.1:80 rr persistent 60",
    "  -> 10.20.0.11:80                5         42          7          3         ",
  ]);
});

Deno.test("-Ln --tun-info (1.30+): TunnelInfo column, n/a for other methods (print_title, fwd_tun_info)", () => {
  const out = formatList(
    status(),
    [service("tcp", "10.0.0.1", 80, [
      dest("10.20.0.11", 80),
      dest("10.20.0.13", 80, { forward: "tunnel", tun_type: "gue", tun_port: 6080 }),
      dest("10.20.0.14", 80, { forward: "tunnel", tun_type: "ipip" }),
    ])],
    { ...PLAIN, tunInfo: true },
    NUMERIC,
  ).split("\n");
  deepStrictEqual(out.slice(1, 7), [
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn",
    "TCP  10.0.0.1:80 wlc",
    "  -> 10.20.0.11:80                Masq    n/a           1      0          0         ",
    "  -> 10.20.0.13:80                Tunnel  gue:6080:-c   1      0          0         ",
    "  -> 10.20.0.14:80                Tunnel  ipip          1      0          0         ",
  ]);
});

Deno.test("--stats wins over --rate, --thresholds and --persistent-conn, as in print_title's if-chain", () => {
  const svcs = [service("tcp", "10.0.0.1", 80, [dest("10.20.0.11", 80)])];
  const all: ListOptions = { ...PLAIN, stats: true, rate: true, thresholds: true, persistentConn: true, tunInfo: true };
  strictEqual(formatList(status(), svcs, all, NUMERIC), formatList(status(), svcs, { ...PLAIN, stats: true }, NUMERIC));
  const rest: ListOptions = { ...PLAIN, thresholds: true, persistentConn: true };
  strictEqual(
    formatList(status(), svcs, rest, NUMERIC),
    formatList(status(), svcs, { ...PLAIN, thresholds: true }, NUMERIC),
  );
});

Deno.test("--nosort: services in the API's order, dests newest first (IPVS adds dests at the list head)", () => {
  const svcs = [
    service("udp", "10.0.0.9", 53, [dest("10.20.0.11", 53), dest("10.20.0.13", 53), dest("10.20.0.12", 53)]),
    service("tcp", "10.0.0.1", 80),
  ];
  const names = (o: ListOptions) =>
    formatList(status(), svcs, o, NUMERIC).split("\n").slice(3, -1).map((l) => /\S+:\d+/.exec(l)?.[0]);
  deepStrictEqual(names({ ...PLAIN, sort: false }), [
    "10.0.0.9:53",
    "10.20.0.12:53",
    "10.20.0.13:53",
    "10.20.0.11:53",
    "10.0.0.1:80",
  ]);
  // Sorted: TCP (6) before UDP (17), dests by address.
  deepStrictEqual(names(PLAIN), ["10.0.0.1:80", "10.0.0.9:53", "10.20.0.11:53", "10.20.0.12:53", "10.20.0.13:53"]);
});

Deno.test("-L -t service: the title and that service, without the version line (list_service)", () => {
  const out = formatService(service("tcp", "10.0.0.1", 80, [dest("10.20.0.11", 80)]), PLAIN, NUMERIC);
  strictEqual(
    out,
    PLAIN_TITLE + "TCP  10.0.0.1:80 wlc\n" + "  -> 10.20.0.11:80                Masq    1      0          0         \n",
  );
});

Deno.test("a view that is not as the API contract says is an error naming the service, key and value", () => {
  const bad = service("tcp", "10.0.0.1", 80, [dest("10.20.0.11", 80, { forward: "nat" })]);
  throws(
    () => formatList(status(), [bad], PLAIN, NUMERIC),
    /service tcp:10\.0\.0\.1:80 dest 10\.20\.0\.11:80: "forward" must be one of masq, route, tunnel, got "nat"/,
  );
  const noSched = service("tcp", "10.0.0.1", 80);
  delete noSched.scheduler;
  throws(
    () => formatList(status(), [noSched], PLAIN, NUMERIC),
    /service tcp:10\.0\.0\.1:80: "scheduler" must be a string, got nothing/,
  );
  throws(
    () => formatList(status(), [service("tcp", "10.0.0.1", 80, [], { sched_flags: ["sh-bogus"] })], PLAIN, NUMERIC),
    /service tcp:10\.0\.0\.1:80: unknown scheduler flag "sh-bogus"/,
  );
  throws(
    () =>
      formatList(
        status(),
        [service("tcp", "10.0.0.1", 80, [], { stats: { conns: 1 } })],
        { ...PLAIN, stats: true },
        NUMERIC,
      ),
    /service tcp:10\.0\.0\.1:80: "stats" must be an object with numbers conns, inpkts, outpkts, inbytes, outbytes/,
  );
});

Deno.test("-Ln --health (lvsd): a Health column after ipvsadm's padded InActConn; sorry server; quorum down", () => {
  const svc = service("tcp", "10.10.0.100", 80, [
    dest("10.20.0.11", 80, { weight: 1 }),
    dest("10.20.0.12", 80, { weight: 0 }),
    dest("10.20.0.99", 80, { weight: 1 }),
  ], { scheduler: "rr" });
  const udp = service("udp", "10.10.0.100", 53, [dest("10.20.0.11", 53)], { scheduler: "rr" });
  const health = healthColumn({
    services: [{
      key: "tcp:10.10.0.100:80",
      quorum_up: false,
      dests: [
        { key: "10.20.0.11:80", state: "up", weight: null, up_for_s: null },
        { key: "10.20.0.12:80", state: "down", weight: null, up_for_s: null },
      ],
    }],
  });
  const out = formatList(status(), [svc, udp], { ...PLAIN, numeric: true, health: true }, NUMERIC, health);
  strictEqual(
    out,
    "IP Virtual Server version 1.2.1 (size=4096)\n" +
      "Prot LocalAddress:Port Scheduler Flags\n" +
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Health\n" +
      "TCP  10.10.0.100:80 rr quorum down\n" +
      "  -> 10.20.0.11:80                Masq    1      0          0          up\n" +
      "  -> 10.20.0.12:80                Masq    0      0          0          down\n" +
      "  -> 10.20.0.99:80                Masq    1      0          0          sorry\n" +
      "UDP  10.10.0.100:53 rr\n" +
      "  -> 10.20.0.11:53                Masq    1      0          0          -\n",
  );
  // Without the flag the same call is ipvsadm's layout, byte for byte.
  strictEqual(
    formatList(status(), [svc], { ...PLAIN, numeric: true }, NUMERIC, health).split("\n").slice(2, 4).join("\n"),
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.10.0.100:80 rr",
  );
  // No health layer at all: every dest "-", no quorum note.
  strictEqual(
    formatService(svc, { ...PLAIN, numeric: true, health: true }, NUMERIC).split("\n")[2],
    "TCP  10.10.0.100:80 rr",
  );
});
