/**
 * `ipvsadm -S` golden outputs, from the printf calls of
 * print_service_entry (FMT_RULE branch) and print_tunnel_rule in ipvsadm.c
 * 1.31: `"-A %s -s %s"`, `" -p %u"`, `" -M %s"`, `" -o"`, `" -b "` + flags;
 * `"-a %s -r %s %s -w %d"` with fwd_switch's -m/-g/-i, plus
 * `" --tun-type %s"` (ipip), `" --tun-type %s --tun-port %d %s"` (gue) for
 * tunnel dests; and the man page's examples (ipvsadm.8 1.31).
 */
import { strictEqual, throws } from "node:assert/strict";
import { formatSave, NUMERIC } from "../../src/lvsadm/format/mod.ts";
import { dest, service } from "./fixtures.ts";
import type { ServiceView } from "../../src/api/model.ts";

const save = (svcs: ServiceView[], thresholds = false) => formatSave(svcs, { numeric: true, thresholds }, NUMERIC);

Deno.test("-S of an empty table is empty (FMT_RULE prints no header or title)", () => {
  strictEqual(save([]), "");
});

Deno.test("-S of ipvsadm.8 EXAMPLE 1 (Simple Virtual Service): the restore lines with -w 1 made explicit", () => {
  const example = service("tcp", "207.175.44.110", 80, [1, 2, 3, 4, 5].map((h) => dest(`192.168.10.${h}`, 80)), {
    scheduler: "rr",
  });
  strictEqual(
    save([example]),
    "-A -t 207.175.44.110:80 -s rr\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.2:80 -m -w 1\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.3:80 -m -w 1\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.4:80 -m -w 1\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.5:80 -m -w 1\n",
  );
});

Deno.test("-S of ipvsadm.8 EXAMPLE 3's GUE dests without checksums (print_tunnel_rule writes --tun-nocsum)", () => {
  const gue = (h: number, port: number) =>
    dest(`192.168.10.${h}`, 80, { forward: "tunnel", tun_type: "gue", tun_port: port });
  strictEqual(
    save([service("tcp", "207.175.44.110", 80, [gue(1, 6080), gue(4, 6078), gue(5, 6079)], { scheduler: "rr" })]),
    "-A -t 207.175.44.110:80 -s rr\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.1:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.4:80 -i -w 1 --tun-type gue --tun-port 6078 --tun-nocsum\n" +
      "-a -t 207.175.44.110:80 -r 192.168.10.5:80 -i -w 1 --tun-type gue --tun-port 6079 --tun-nocsum\n",
  );
});

Deno.test("-S: NAT, DR, ipip tunnel (1.30+ writes --tun-type ipip), weights", () => {
  strictEqual(
    save([service("tcp", "10.0.0.1", 80, [
      dest("10.20.0.11", 8080, { weight: 3 }),
      dest("10.20.0.12", 80, { forward: "route", weight: 0 }),
      dest("10.20.0.13", 80, { forward: "tunnel", weight: 65535 }),
    ])]),
    "-A -t 10.0.0.1:80 -s wlc\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.11:8080 -m -w 3\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.12:80 -g -w 0\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.13:80 -i -w 65535 --tun-type ipip\n",
  );
});

Deno.test("-S: -u, -p with -M only when not /32, -o, -b, port 0; services sorted (-S never takes --nosort)", () => {
  strictEqual(
    save([
      service("udp", "10.0.0.2", 53, [], {
        scheduler: "rr",
        persistence: { timeout: 300, netmask: "255.255.255.0" },
        ops: true,
      }),
      service("tcp", "10.0.0.3", 80, [], { scheduler: "sh", sched_flags: ["sh-port", "sh-fallback"] }),
      service("tcp", "10.0.0.1", 0, [], { persistence: { timeout: 360, netmask: "255.255.255.255" } }),
      service("udp", "10.0.0.5", 53, [], { scheduler: "wrr", sched_flags: ["flag-2"] }),
    ]),
    "-A -t 10.0.0.1:0 -s wlc -p 360\n" +
      "-A -t 10.0.0.3:80 -s sh -b sh-fallback,sh-port\n" +
      "-A -u 10.0.0.2:53 -s rr -p 300 -M 255.255.255.0 -o\n" +
      "-A -u 10.0.0.5:53 -s wrr -b flag-2\n",
  );
});

Deno.test("-S: mh's table size is saved only when not the default 4093 (lvsd extension, at the line's end)", () => {
  strictEqual(
    save([
      service("tcp", "10.0.0.1", 80, [], { scheduler: "mh", sched_flags: ["mh-port"], mh_table_size: 65521 }),
      service("tcp", "10.0.0.2", 80, [], { scheduler: "mh", mh_table_size: 4093 }),
    ]),
    "-A -t 10.0.0.1:80 -s mh -b mh-port --mh-table-size 65521\n" +
      "-A -t 10.0.0.2:80 -s mh\n",
  );
});

Deno.test("-S of a service group writes its label after -t/-u (lvsd; README Service groups)", () => {
  const group = service(
    "tcp",
    "10.10.0.101",
    80,
    [dest("10.20.0.12", 0, { forward: "route" }), dest("10.20.0.11", 0)],
    {
      scheduler: "wrr",
      persistence: { timeout: 600, netmask: "255.255.255.255" },
    },
  );
  delete group.vip;
  delete group.port;
  group.vips = ["10.10.0.101-10.10.0.110", "10.10.1.0/28"];
  group.ports = [80, "8000-8099"];
  strictEqual(
    save([group]),
    "-A -t 10.10.0.101-10.10.0.110,10.10.1.0/28:80,8000-8099 -s wrr -p 600\n" +
      "-a -t 10.10.0.101-10.10.0.110,10.10.1.0/28:80,8000-8099 -r 10.20.0.11:0 -m -w 1\n" +
      "-a -t 10.10.0.101-10.10.0.110,10.10.1.0/28:80,8000-8099 -r 10.20.0.12:0 -g -w 1\n",
  );
});

Deno.test("-S leaves -x/-y out (as ipvsadm does); the thresholds flag appends -x U -y L to every dest", () => {
  const svcs = [service("tcp", "10.0.0.1", 80, [
    dest("10.20.0.11", 80, { u_threshold: 100, l_threshold: 50 }),
    dest("10.20.0.12", 80, { forward: "tunnel", tun_type: "gue", tun_port: 6080 }),
  ])];
  strictEqual(
    save(svcs),
    "-A -t 10.0.0.1:80 -s wlc\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.11:80 -m -w 1\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.12:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n",
  );
  strictEqual(
    save(svcs, true),
    "-A -t 10.0.0.1:80 -s wlc\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.11:80 -m -w 1 -x 100 -y 50\n" +
      "-a -t 10.0.0.1:80 -r 10.20.0.12:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum -x 0 -y 0\n",
  );
});

Deno.test("-S: a gue dest without tun_port is an error naming it (the config requires one)", () => {
  const bad = service("tcp", "10.0.0.1", 80, [dest("10.20.0.11", 80, { forward: "tunnel", tun_type: "gue" })]);
  throws(
    () => save([bad]),
    /service tcp:10\.0\.0\.1:80 dest 10\.20\.0\.11:80: "tun_port" must be a non-negative integer, got nothing/,
  );
});
