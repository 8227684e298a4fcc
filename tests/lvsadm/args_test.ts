/**
 * lvsadm's parser against ipvsadm: each refused argument list gets the
 * message and exit code ipvsadm gives (the function of ipvsadm.c 1.29, or
 * of the 1.30 tunnel patch, that produces it is named with each case), or
 * lvsd's own refusal by name; accepted lists give the command ipvsadm would
 * send.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseArgs, TRY_HELP } from "../../src/lvsadm/args.ts";
import { fakeResolver, parseOk } from "./helpers.ts";

/** [argv, exit code, message, where ipvsadm (or lvsd) says it]. */
const REFUSED: [string[], number, string, string][] = [
  // parse_options' first switch: the command must come first.
  [["-nL"], 255, TRY_HELP, "parse_options: first option not a command -> tryhelp_exit(-1)"],
  [["foo"], 255, TRY_HELP, "parse_options: no option at all -> tryhelp_exit"],
  [["-q"], 255, TRY_HELP, "parse_options: poptGetNextOpt < 0 -> tryhelp_exit"],
  [["--list=x"], 255, TRY_HELP, "popt UNWANTEDARG on the first option -> tryhelp_exit"],
  [["--server", "http://x:1", "foo"], 255, TRY_HELP, "lvsd: client options, then only a leftover"],
  // popt errors in the loop: "%s: %s" with poptBadOption/poptStrerror, return -1.
  [["-L", "-q"], 255, "-q: unknown option", "parse_options: c < -1"],
  [["-Lq"], 255, "-Lq: unknown option", "poptBadOption is the whole cluster"],
  [["-L", "-t"], 255, "-t: missing argument", "POPT_ERROR_NOARG"],
  [["-L", "--numeric=1"], 255, "--numeric=1: option does not take an argument", "POPT_ERROR_UNWANTEDARG"],
  [["-L", "-n=1"], 255, "-n=1: option does not take an argument", "popt: '=' after a short option without value"],
  // parse_options loop default: a command or -h after the first option.
  [["-L", "-A"], 2, "invalid option `-A'", "parse_options loop default"],
  [["-L", "-h"], 2, "invalid option `-h'", "parse_options loop default"],
  [["-L", "--start-daemon", "master"], 2, "invalid option `master'", "poptBadOption is the option's value"],
  // set_option.
  [["-A", "-t", "10.0.0.1:80", "-u", "10.0.0.2:53"], 2, "multiple 'service-address' options specified", "set_option"],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m", "-g"],
    2,
    "multiple 'forwarding-method' options specified",
    "set_option",
  ],
  [["-L", "-n", "-n"], 2, "multiple 'numeric' options specified", "set_option"],
  // generic_opt_check with commands_v_options.
  [["-A"], 2, "You need to supply the 'service-address' option for the 'add-service' command", "generic_opt_check"],
  [["-a", "-t", "10.0.0.1:80"], 2, "You need to supply the 'real-server' option for the 'add-server' command", "+"],
  [["-A", "-t", "10.0.0.1:80", "-w", "3"], 2, "Illegal 'weight' option with the 'add-service' command", "x"],
  [["-C", "-n"], 2, "Illegal 'numeric' option with the 'flush' command", "x"],
  [["-R", "-n"], 2, "Illegal 'numeric' option with the 'restore' command", "x"],
  [["-Z", "-n"], 2, "Illegal 'numeric' option with the 'zero' command", "x"],
  [
    ["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"],
    2,
    "Illegal 'forwarding-method' option with the 'delete-server' command",
    "x",
  ],
  [["--set", "1", "2", "3", "-n"], 2, "Illegal 'numeric' option with the 'set' command", "x"],
  [
    ["-A", "-t", "10.0.0.1:80", "--tun-type", "ipip"],
    2,
    "Illegal 'tun-type' option with the 'add-service' command",
    "1.30 table",
  ],
  [
    ["-L", "-c", "--timeout"],
    2,
    "The option 'timeout' conflicts with the 'connection' option in the 'list' command",
    "generic_opt_check '1'",
  ],
  [
    ["-L", "-c", "-t", "10.0.0.1:80"],
    2,
    "The option 'service-address' conflicts with the 'connection' option in the 'list' command",
    "'1'",
  ],
  [
    ["-L", "--daemon", "--timeout"],
    2,
    "The option 'daemon' conflicts with the 'timeout' option in the 'list' command",
    "'1'",
  ],
  // process_options, CMD_LIST.
  [["-L", "-c", "--stats"], 2, "options conflicts in the list command", "process_options"],
  [["-L", "--timeout", "--persistent-conn"], 2, "options conflicts in the list command", "process_options"],
  // lvsd's --health goes with the plain listing only.
  [["-L", "--health", "--stats"], 2, "options conflicts in the list command", "lvsd --health"],
  [["-L", "-c", "--health"], 2, "options conflicts in the list command", "lvsd --health"],
  [["-S", "--health"], 2, "Illegal 'health' option with the 'save' command", "lvsd column"],
  // process_options, CMD_ADD/CMD_EDIT.
  [["-A", "-t", "10.0.0.1"], 2, "Zero port specified for non-persistent service", "process_options"],
  [["-E", "-t", "10.0.0.1:0"], 2, "Zero port specified for non-persistent service", "process_options"],
  [["-A", "-t", "10.0.0.1:53", "-o"], 2, "One-Packet Scheduling is only for UDP virtual services", "process_options"],
  // parse_service.
  [["-A", "-t", "80"], 2, "illegal virtual server address[:port] specified", "parse_service: str_is_digit"],
  [["-A", "-t", "10.0.0.1:99999"], 2, "illegal virtual server address[:port] specified", "string_to_number"],
  [["-A", "-t", "nohost:80"], 2, "illegal virtual server address[:port] specified", "host_to_addr"],
  [["-A", "-t", "10.0.0.1:nosuch"], 2, "illegal virtual server address[:port] specified", "service_to_port"],
  [["-A", "-t", "10.0.0.1:"], 2, "illegal virtual server address[:port] specified", "empty port"],
  [["-A", "-t", "10.1:80"], 2, "illegal virtual server address[:port] specified", "lvsd: no inet_aton shorthand"],
  [["-A", "-u", "10.0.0.1:domain1"], 2, "illegal virtual server address[:port] specified", "service_to_port"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:x"], 2, "illegal real server address[:port] specified", "parse_service"],
  // A named port after -r needs the protocol of a -t/-u given before it.
  [
    ["-a", "-r", "10.0.0.2:http", "-t", "10.0.0.1:80"],
    2,
    "illegal real server address[:port] specified",
    "t_dest copy",
  ],
  // string_to_number ranges.
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "65536"], 2, "illegal weight specified", "-w 0..65535"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "-1"], 2, "illegal weight specified", "-w"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "0x10"], 2, "illegal weight specified", "strtol base 10"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "7 "], 2, "illegal weight specified", "trailing blank"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-x", "abc"], 2, "illegal u_threshold specified", "-x"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-y", "2147483648"], 2, "illegal l_threshold specified", "-y"],
  // parse_timeout.
  [["-A", "-t", "10.0.0.1:80", "-p", "abc"], 2, "invalid timeout value `abc' specified", "parse_timeout"],
  [["-A", "-t", "10.0.0.1:80", "-p", "0"], 2, "invalid timeout value `0' specified", "-p min 1"],
  [["-A", "-t", "10.0.0.1:80", "-p", "2678401"], 2, "invalid timeout value `2678401' specified", "MAX_TIMEOUT"],
  [["-A", "-t", "10.0.0.1:80", "-po"], 2, "invalid timeout value `o' specified", "popt: rest of the cluster"],
  [["-A", "-t", "10.0.0.1:80", "-p", "-M", "255.0.0"], 2, "illegal virtual server persistent mask specified", "-M"],
  [["--set", "1", "2"], 2, "--set option requires 3 timeout values", "parse_options CMD_TIMEOUT"],
  [["--set", "a", "2", "3"], 2, "invalid timeout value `a' specified", "parse_timeout"],
  [["--set", "1", "2", "3", "4"], 2, "unexpected argument 4", "parse_options"],
  [["-L", "extra"], 2, "unexpected argument extra", "parse_options"],
  [["-L", "--", "-n"], 2, "unexpected argument -n", "popt: after -- every word is a leftover"],
  // parse_sched_flags (after the leftovers, before generic_opt_check).
  [["-A", "-t", "10.0.0.1:80", "-b", "bogus"], 2, "invalid scheduler flag `bogus'", "parse_sched_flags"],
  [["-A", "-t", "10.0.0.1:80", "-b", "sh-port"], 2, "incompatible scheduler flag `sh-port'", "default sched wlc"],
  [["-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", "mh-port"], 2, "incompatible scheduler flag `mh-port'", "1.30 mh"],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-b", "x"], 2, "invalid scheduler flag `x'", "before the table"],
  // start/stop daemon.
  [["--start-daemon", "bogus"], 2, "illegal start-daemon parameter specified", "parse_options TAG_START_DAEMON"],
  [["--stop-daemon", "bogus"], 2, "illegal start_daemon specified", "parse_options TAG_STOP_DAEMON (sic)"],
  [["--start-daemon", "master", "--mcast-port", "0"], 2, "illegal mcast-port specified", "TAG_MCAST_PORT"],
  [["--start-daemon", "master", "--syncid", "256"], 2, "illegal syncid specified", "'I'"],
  [["--start-daemon", "master", "--mcast-group", "10.0.0.1"], 2, "invalid IPv4 mcast-group `10.0.0.1'", "IN_MULTICAST"],
  [["--start-daemon", "master", "--mcast-ttl", "0"], 2, "illegal mcast-ttl specified", "TAG_MCAST_TTL"],
  [["--start-daemon", "master", "--sync-maxlen", "65508"], 2, "illegal sync-maxlen specified", "65535-20-8"],
  [["--start-daemon", "master", "-n"], 2, "Illegal 'numeric' option with the 'start-daemon' command", "table"],
  [
    ["--start-daemon", "master", "--mcast-group", "ff02::81"],
    2,
    "an IPv6 mcast-group (ff02::81) is not supported by lvsd: its sync daemon is IPv4 only",
    "lvsd: IPv4 sync only",
  ],
  // -6 without -f.
  [["-L", "-6"], 2, "-6 used before -f\n", "parse_options '6'"],
  // 1.30 tunnel options.
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-type", "gue"],
    2,
    "You need to supply the 'tun-port' option for the 'gue' tunnel type",
    "tunnel_opt_check",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-port", "6080"],
    2,
    "Illegal 'tun-port' option with the 'ipip' tunnel type",
    "tunnel_opt_check",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m", "--tun-type", "ipip"],
    2,
    "Tunnel options conflict with forward method",
    "process_options",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--tun-type", "gue", "--tun-port", "6080"],
    2,
    "Tunnel options conflict with forward method",
    "-g is the default",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-type", "vxlan"],
    2,
    "illegal tunnel type specified",
    "1.30",
  ],
  [["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-port", "0"], 2, "illegal tunnel port specified", "1.30"],
  // lvsd's own option.
  [["-A", "-t", "10.0.0.1:80", "--mh-table-size", "x"], 2, "illegal mh-table-size specified", "lvsd"],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--mh-table-size", "251"],
    2,
    "Illegal 'mh-table-size' option with the 'add-server' command",
    "lvsd column",
  ],
  [["-L", "--save-thresholds"], 2, "Illegal 'save-thresholds' option with the 'list' command", "lvsd column"],
  // lvsd refuses by name what it does not have.
  [
    ["-A", "-f", "1"],
    2,
    "fwmark services (-f) are not supported by lvsd; a service group does their job: -t 10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099",
    "lvsd",
  ],
  [
    ["-A", "--sctp-service", "10.0.0.1:80"],
    2,
    "SCTP services (--sctp-service) are not supported by lvsd: it has -t (TCP) and -u (UDP)",
    "lvsd",
  ],
  [["-A", "-t", "10.0.0.1:80", "--pe", "sip"], 2, "persistence engines (--pe sip) are not supported by lvsd", "lvsd"],
  [
    ["-A", "-t", "[2001:db8::1]:80"],
    2,
    "IPv6 virtual services are not supported by lvsd ([2001:db8::1]:80): it is IPv4 only",
    "lvsd",
  ],
  [
    ["-A", "-t", "2001:db8::1"],
    2,
    "IPv6 virtual services are not supported by lvsd (2001:db8::1): it is IPv4 only",
    "lvsd",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "2001:db8::2", "-i"],
    2,
    "IPv6 real servers are not supported by lvsd (2001:db8::2): it is IPv4 only",
    "lvsd",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-type", "gre"],
    2,
    "tunnel type gre is not supported by lvsd: it has ipip and gue",
    "lvsd",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-csum"],
    2,
    "--tun-csum is not supported by lvsd: it sends GUE without a UDP checksum (--tun-nocsum, the default)",
    "lvsd",
  ],
  [
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-remcsum"],
    2,
    "--tun-remcsum is not supported by lvsd: it sends GUE without a UDP checksum (--tun-nocsum, the default)",
    "lvsd",
  ],
  [["-L", "--tun-info"], 2, "--tun-info is not supported by lvsadm yet (-S shows the tunnel options)", "lvsd"],
  // Service group members (lvsd's extension) that do not parse.
  [
    ["-A", "-t", "10.0.0.5-10.0.0.1:80"],
    2,
    "illegal virtual server address[:port] specified (10.0.0.5-10.0.0.1 is an inverted range (it ends before it starts))",
    "members.ts",
  ],
  [
    ["-A", "-t", "10.0.0.1,10.0.0.2:80,0"],
    2,
    "illegal virtual server address[:port] specified (port 0 (any port) cannot be a member of a port list)",
    "lvsd",
  ],
  [
    ["-A", "-t", "10.0.0.1,www:80"],
    2,
    'illegal virtual server address[:port] specified ("www" is not an IPv4 address, range (a.b.c.d-e.f.g.h or a.b.c.d-h) or CIDR (a.b.c.d/n))',
    "members.ts",
  ],
];

for (const [argv, code, message, where] of REFUSED) {
  Deno.test(`args: ${JSON.stringify(argv)} -> exit ${code} (${where})`, async () => {
    const r = await parseArgs(argv, fakeResolver);
    ok(!r.ok, `accepted: ${JSON.stringify(r)}`);
    strictEqual(r.message, message);
    strictEqual(r.code, code);
  });
}

Deno.test("args: no argument lists the table (ipvsadm.c main: argc == 1)", async () => {
  const r = await parseOk([]);
  deepStrictEqual(r.command, {
    kind: "list",
    what: "services",
    service: null,
    options: {
      numeric: false,
      exact: false,
      stats: false,
      rate: false,
      thresholds: false,
      persistentConn: false,
      sort: true,
    },
  });
  // Client options alone are still "no argument".
  const c = await parseOk(["--server", "http://127.0.0.1:1"]);
  strictEqual(c.command.kind, "list");
  strictEqual(c.client.server, "http://127.0.0.1:1");
});

Deno.test("args: -L -n --health asks for the health column (lvsd only)", async () => {
  const r = await parseOk(["-L", "-n", "--health"]);
  strictEqual(r.command.kind, "list");
  if (r.command.kind === "list") strictEqual(r.command.options.health, true);
});

Deno.test("args: -A fills ipvsadm's defaults (wlc, not persistent, no flags)", async () => {
  const r = await parseOk(["-A", "-t", "10.0.0.1:80"]);
  deepStrictEqual(r.command, {
    kind: "add-service",
    service: { proto: "tcp", text: "10.0.0.1:80", vip: "10.0.0.1", port: 80, vips: null, ports: null },
    settings: { scheduler: "wlc", persistence: null, ops: false, schedFlags: [], mhTableSize: null },
  });
  deepStrictEqual(r.warnings, []);
});

Deno.test("args: -p takes an optional value the popt way; alone it is 360 s (libipvs.h, not the man page's 300)", async () => {
  const timeout = async (argv: string[]) => {
    const c = (await parseOk(argv)).command;
    return c.kind === "add-service" ? c.settings.persistence?.timeout : undefined;
  };
  strictEqual(await timeout(["-A", "-t", "10.0.0.1:80", "-p"]), 360);
  strictEqual(await timeout(["-A", "-t", "10.0.0.1:80", "-p", "600"]), 600);
  strictEqual(await timeout(["-A", "-t", "10.0.0.1:80", "-p300"]), 300);
  strictEqual(await timeout(["-A", "-t", "10.0.0.1:80", "-p=45"]), 45);
  strictEqual(await timeout(["-A", "-t", "10.0.0.1:80", "--persistent=46"]), 46);
  strictEqual(await timeout(["-A", "-t", "10.0.0.1:80", "-p", "2678400"]), 2678400);
  // The next word starts with "-": no value.
  const c = (await parseOk(["-A", "-t", "10.0.0.1:80", "-p", "-s", "rr"])).command;
  ok(c.kind === "add-service");
  deepStrictEqual(c.settings.persistence, { timeout: 360, netmask: "255.255.255.255" });
  strictEqual(c.settings.scheduler, "rr");
  // A port-0 service is fine when persistent.
  const z = (await parseOk(["-A", "-t", "10.0.0.1", "-p"])).command;
  ok(z.kind === "add-service" && z.service.port === 0);
});

Deno.test("args: -M without -p is taken (as by ipvsadm) and has no effect, with a warning", async () => {
  const r = await parseOk(["-A", "-t", "10.0.0.1:80", "-M", "255.255.255.0"]);
  ok(r.command.kind === "add-service");
  strictEqual(r.command.settings.persistence, null);
  deepStrictEqual(r.warnings, ["-M 255.255.255.0 has no effect without -p: the service is not persistent"]);
  const p = await parseOk(["-A", "-t", "10.0.0.1:80", "-p", "-M", "255.255.255.0"]);
  ok(p.command.kind === "add-service");
  deepStrictEqual(p.command.settings.persistence, { timeout: 360, netmask: "255.255.255.0" });
  deepStrictEqual(p.warnings, []);
});

Deno.test("args: -a defaults are ipvsadm's: -g (route), weight 1, thresholds 0, no port given", async () => {
  const r = await parseOk(["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2"]);
  deepStrictEqual(r.command.kind === "add-server" && r.command.dest, {
    address: "10.0.0.2",
    port: null,
    forward: "route",
    weight: 1,
    uThreshold: 0,
    lThreshold: 0,
    tunType: "ipip",
    tunPort: null,
  });
});

Deno.test("args: -e without -m is a route dest with weight 1 unless said (ipvsadm sends the whole dest)", async () => {
  const r = await parseOk(["-e", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-w", "5"]);
  ok(r.command.kind === "edit-server");
  strictEqual(r.command.dest.forward, "route");
  strictEqual(r.command.dest.weight, 5);
  strictEqual(r.command.dest.uThreshold, 0);
  strictEqual(r.command.dest.port, 8080);
});

Deno.test("args: strtol-style numbers: a sign and leading blanks are taken", async () => {
  const w = async (v: string) => {
    const c = (await parseOk(["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", v])).command;
    return c.kind === "add-server" ? c.dest.weight : -1;
  };
  strictEqual(await w("+5"), 5);
  strictEqual(await w(" 7"), 7);
  strictEqual(await w("0"), 0);
  strictEqual(await w("65535"), 65535);
});

Deno.test("args: host and service names are looked up (-t www:http, -u www:domain)", async () => {
  const t = (await parseOk(["-A", "-t", "www:http"])).command;
  ok(t.kind === "add-service");
  strictEqual(t.service.vip, "10.0.0.9");
  strictEqual(t.service.port, 80);
  const u = (await parseOk(["-A", "-u", "www:domain"])).command;
  ok(u.kind === "add-service" && u.service.port === 53 && u.service.proto === "udp");
  const r = (await parseOk(["-a", "-t", "www:http", "-r", "db:https", "-m"])).command;
  ok(r.kind === "add-server");
  strictEqual(r.dest.address, "10.20.0.7");
  strictEqual(r.dest.port, 443);
});

Deno.test("args: a service group's members after -t (lvsd's extension)", async () => {
  const r = (await parseOk(["-A", "-u", "10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099", "-o"])).command;
  ok(r.kind === "add-service");
  deepStrictEqual(r.service, {
    proto: "udp",
    text: "10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099",
    vip: "10.0.0.1",
    port: 80,
    vips: ["10.0.0.1-10.0.0.5", "10.1.0.0/28"],
    ports: [{ from: 80, to: 80 }, { from: 8000, to: 8099 }],
  });
  // keepalived's last-octet range; one port.
  const k = (await parseOk(["-D", "-t", "10.0.0.1-20:443"])).command;
  ok(k.kind === "delete-service");
  deepStrictEqual([k.service.vips, k.service.ports, k.service.port], [["10.0.0.1-10.0.0.20"], null, 443]);
  // A host name with a dash stays a host name.
  const h = await parseArgs(["-A", "-t", "web-1:80"], fakeResolver);
  ok(!h.ok && h.message === "illegal virtual server address[:port] specified");
});

Deno.test("args: -b flags by name, each once; -b '' is no flag (sched_flags_arg[0] == 0)", async () => {
  const f = async (argv: string[]) => {
    const c = (await parseOk(argv)).command;
    return c.kind === "add-service" ? c.settings.schedFlags : null;
  };
  deepStrictEqual(await f(["-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", "sh-port,sh-fallback,sh-port"]), [
    "sh-port",
    "sh-fallback",
  ]);
  deepStrictEqual(await f(["-A", "-t", "10.0.0.1:80", "-s", "mh", "-b", "mh-fallback"]), ["mh-fallback"]);
  deepStrictEqual(await f(["-A", "-t", "10.0.0.1:80", "-b", "flag-1,flag-3"]), ["flag-1", "flag-3"]);
  deepStrictEqual(await f(["-A", "-t", "10.0.0.1:80", "-b", ""]), []);
});

Deno.test("args: --set takes three timeouts, 0 allowed (parse_timeout 0..MAX_TIMEOUT)", async () => {
  deepStrictEqual((await parseOk(["--set", "900", "120", "300"])).command, {
    kind: "set",
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  });
  deepStrictEqual((await parseOk(["--set", "0", "0", "5"])).command, {
    kind: "set",
    timeouts: { tcp: 0, tcpfin: 0, udp: 5 },
  });
});

Deno.test("args: --start-daemon with every option, ipvsadm's defaults otherwise; --stop-daemon", async () => {
  const full = (await parseOk([
    "--start-daemon",
    "backup",
    "--mcast-interface=int0",
    "--syncid",
    "7",
    "--sync-maxlen",
    "1400",
    "--mcast-group",
    "239.1.2.3",
    "--mcast-port",
    "9000",
    "--mcast-ttl",
    "3",
  ])).command;
  deepStrictEqual(full, {
    kind: "start-daemon",
    role: "backup",
    daemon: { mcastInterface: "int0", syncid: 7, maxlen: 1400, group: "239.1.2.3", port: 9000, ttl: 3 },
  });
  deepStrictEqual((await parseOk(["--start-daemon", "master"])).command, {
    kind: "start-daemon",
    role: "master",
    daemon: { mcastInterface: "eth0", syncid: 0, maxlen: null, group: "224.0.0.81", port: 8848, ttl: 1 },
  });
  deepStrictEqual((await parseOk(["--stop-daemon", "backup", "--syncid", "3"])).command, {
    kind: "stop-daemon",
    role: "backup",
  });
});

Deno.test("args: list forms: clusters, -l, -c, --timeout, --daemon, one service, format flags", async () => {
  const l = (await parseOk(["-Ln", "--stats", "--exact", "--nosort"])).command;
  deepStrictEqual(l, {
    kind: "list",
    what: "services",
    service: null,
    options: {
      numeric: true,
      exact: true,
      stats: true,
      rate: false,
      thresholds: false,
      persistentConn: false,
      sort: false,
    },
  });
  const c = (await parseOk(["-l", "-c", "-n", "--persistent-conn"])).command;
  ok(c.kind === "list" && c.what === "connections" && c.options.persistentConn);
  ok((await parseOk(["-L", "--timeout"])).command.kind === "list");
  const t = (await parseOk(["-L", "--timeout"])).command;
  ok(t.kind === "list" && t.what === "timeouts");
  const d = (await parseOk(["--list", "--daemon"])).command;
  ok(d.kind === "list" && d.what === "daemon");
  const s = (await parseOk(["-L", "-t", "10.0.0.1:80", "--rate", "-X", "--sort"])).command;
  ok(s.kind === "list" && s.what === "services" && s.service?.vip === "10.0.0.1" && s.options.rate && s.options.exact);
  const th = (await parseOk(["-L", "--thresholds"])).command;
  ok(th.kind === "list" && th.options.thresholds);
});

Deno.test("args: -At10.0.0.1:80 (a value in the cluster) and --tcp-service=", async () => {
  const a = (await parseOk(["-At10.0.0.1:80", "-srr"])).command;
  ok(a.kind === "add-service" && a.service.vip === "10.0.0.1" && a.settings.scheduler === "rr");
  const b = (await parseOk(["--add-service", "--tcp-service=10.0.0.1:81"])).command;
  ok(b.kind === "add-service" && b.service.port === 81);
});

Deno.test("args: -S, -Z, -C, -R, -D, -d", async () => {
  deepStrictEqual((await parseOk(["-S", "-n"])).command, { kind: "save", numeric: true, thresholds: false });
  deepStrictEqual((await parseOk(["--save", "--save-thresholds"])).command, {
    kind: "save",
    numeric: false,
    thresholds: true,
  });
  deepStrictEqual((await parseOk(["-Z"])).command, { kind: "zero", service: null });
  const z = (await parseOk(["-Z", "-t", "10.0.0.1:80"])).command;
  ok(z.kind === "zero" && z.service?.port === 80);
  deepStrictEqual((await parseOk(["-C"])).command, { kind: "flush" });
  deepStrictEqual((await parseOk(["-R"])).command, { kind: "restore" });
  const d = (await parseOk(["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2"])).command;
  deepStrictEqual(d.kind === "delete-server" && d.dest, { address: "10.0.0.2", port: null });
});

Deno.test("args: tunnel dests: ipip by default, gue with its port and --tun-nocsum", async () => {
  const i = (await parseOk(["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i"])).command;
  ok(i.kind === "add-server" && i.dest.forward === "tunnel" && i.dest.tunType === "ipip");
  const g = (await parseOk(
    ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-nocsum"],
  )).command;
  ok(g.kind === "add-server" && g.dest.tunType === "gue" && g.dest.tunPort === 6080);
});

Deno.test("args: -h and -v answer at once, whatever follows (usage_exit, version_exit)", async () => {
  deepStrictEqual((await parseOk(["-h", "--bogus"])).command, { kind: "help" });
  deepStrictEqual((await parseOk(["--help"])).command, { kind: "help" });
  deepStrictEqual((await parseOk(["-v"])).command, { kind: "version" });
});

Deno.test("args: client options anywhere, also before the command", async () => {
  const r = await parseOk(["--server", "https://lb:9470", "-L", "--token-file", "/t", "-n", "--cacert=/ca.pem"]);
  deepStrictEqual(r.client, { server: "https://lb:9470", tokenFile: "/t", caCert: "/ca.pem" });
  ok(r.command.kind === "list" && r.command.options.numeric);
});

Deno.test("args: --mh-table-size goes with -A/-E", async () => {
  const r = (await parseOk(["-E", "-t", "10.0.0.1:80", "-s", "mh", "--mh-table-size", "251"])).command;
  ok(r.kind === "edit-service" && r.settings.mhTableSize === 251);
});
