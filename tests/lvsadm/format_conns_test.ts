/**
 * `ipvsadm -L -c` golden outputs: list_conn's title and print_conn's row,
 * `"%-3s %-6s %-11s %-18s %-18s %s"` with expiry `"%02d:%02d"` (ipvsadm.c
 * 1.31), from the whole seconds /proc/net/ip_vs_conn shows (the kernel's
 * ip_vs_conn_seq_show: jiffies left / HZ, truncated).
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { connNameQueries, expireText, formatConnections, NUMERIC, resolveNames } from "../../src/lvsadm/format/mod.ts";
import { conn } from "./fixtures.ts";

const TITLE = "IPVS connection entries\npro expire state       source             virtual            destination\n";

Deno.test("-Lnc, no entries: the two title lines (list_conn)", () => {
  strictEqual(formatConnections([], { persistentConn: false }, NUMERIC), TITLE);
});

Deno.test("-Lnc reproduces kubernetes#76664's UDP row", () => {
  // https://github.com/kubernetes/kubernetes/issues/76664, quoted in
  // ipvs-keepalived-facts.md §1.7; 04:24 is 264 s (264.9 s left shows 264).
  const capture = "IPVS connection entries\n" +
    "pro expire state       source             virtual            destination\n" +
    "UDP 04:24  UDP         192.168.127.89:44117 192.168.127.89:514 192.168.129.116:514\n";
  const out = formatConnections(
    [conn({
      proto: "udp",
      state: "UDP",
      expires_ms: 264_900,
      client: "192.168.127.89",
      client_port: 44117,
      vip: "192.168.127.89",
      vport: 514,
      dest: "192.168.129.116",
      dport: 514,
    })],
    { persistentConn: false },
    NUMERIC,
  );
  strictEqual(out, capture);
});

Deno.test("-Lnc: TCP states, UDP, templates (client port 0, NONE), a group's template, in the order given", () => {
  const rows = [
    conn({ expires_ms: 900_000 }),
    conn({ state: "SYN_RECV", expires_ms: 59_999, client: "192.168.1.6", client_port: 40001, dest: "10.20.0.12" }),
    conn({ state: "FIN_WAIT", expires_ms: 119_500, client: "192.168.1.7", client_port: 40002 }),
    conn({ state: "TIME_WAIT", expires_ms: 120_000, client: "192.168.1.8", client_port: 40003 }),
    conn({ state: "CLOSE", expires_ms: 9_001, client: "192.168.1.9", client_port: 40004 }),
    conn({
      proto: "udp",
      state: "UDP",
      expires_ms: 300_000,
      client_port: 5353,
      vip: "10.0.0.2",
      vport: 53,
      dest: "10.20.0.21",
      dport: 53,
    }),
    // A persistence template of a port-0 service with mask /24.
    conn({
      state: "NONE",
      expires_ms: 360_000,
      client: "192.168.1.0",
      client_port: 0,
      vport: 0,
      dport: 0,
      template: true,
    }),
    // A service group's template: keyed by the group's mark, shown as 0.0.0.1:0 (README), protocol IP as for fwmark.
    conn({
      proto: "ip",
      state: "NONE",
      expires_ms: 6_000_000,
      client_port: 0,
      vip: "0.0.0.1",
      vport: 0,
      dest: "10.20.0.31",
      dport: 0,
      template: true,
    }),
    // Already due: never a negative time.
    conn({ state: "CLOSE_WAIT", expires_ms: -20, client: "192.168.100.200", client_port: 65535 }),
  ];
  const out = formatConnections(rows, { persistentConn: false }, NUMERIC);
  strictEqual(
    out,
    TITLE +
      "TCP 15:00  ESTABLISHED 192.168.1.5:40000  10.0.0.1:80        10.20.0.11:80\n" +
      "TCP 00:59  SYN_RECV    192.168.1.6:40001  10.0.0.1:80        10.20.0.12:80\n" +
      "TCP 01:59  FIN_WAIT    192.168.1.7:40002  10.0.0.1:80        10.20.0.11:80\n" +
      "TCP 02:00  TIME_WAIT   192.168.1.8:40003  10.0.0.1:80        10.20.0.11:80\n" +
      "TCP 00:09  CLOSE       192.168.1.9:40004  10.0.0.1:80        10.20.0.11:80\n" +
      "UDP 05:00  UDP         192.168.1.5:5353   10.0.0.2:53        10.20.0.21:53\n" +
      "TCP 06:00  NONE        192.168.1.0:0      10.0.0.1:0         10.20.0.11:0\n" +
      "IP  100:00 NONE        192.168.1.5:0      0.0.0.1:0          10.20.0.31:0\n" +
      // A source wider than 18 pushes the rest right, as printf does.
      "TCP 00:00  CLOSE_WAIT  192.168.100.200:65535 10.0.0.1:80        10.20.0.11:80\n",
  );
});

Deno.test("-Lnc --persistent-conn: the title gains pe name and pe_data; rows without pe data keep the plain layout", () => {
  const out = formatConnections([conn()], { persistentConn: true }, NUMERIC);
  deepStrictEqual(out.split("\n"), [
    "IPVS connection entries",
    "pro expire state       source             virtual            destination        pe name          pe_data",
    "TCP 15:00  ESTABLISHED 192.168.1.5:40000  10.0.0.1:80        10.20.0.11:80",
    "",
  ]);
});

Deno.test("-Lc (names): addresses and ports named under the entry's protocol", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lvsadm-conns-" });
  try {
    await Deno.writeTextFile(`${dir}/hosts`, "10.0.0.1 web.example.com\n192.168.1.5 client.example\n");
    await Deno.writeTextFile(`${dir}/services`, "http 80/tcp www\ndomain 53/udp\n");
    const rows = [
      conn({ expires_ms: 899_999 }),
      conn({ proto: "udp", state: "UDP", expires_ms: 1000, client_port: 80, vip: "10.0.0.1", vport: 53, dport: 53 }),
    ];
    const q = connNameQueries(rows);
    const names = await resolveNames(q.addrs, q.ports, {
      hostsFile: `${dir}/hosts`,
      servicesFile: `${dir}/services`,
      reverse: null,
    });
    const lines = formatConnections(rows, { persistentConn: false }, names).split("\n");
    strictEqual(lines[2], "TCP 14:59  ESTABLISHED client.example:40000 web.example.com:http 10.20.0.11:http");
    // Port 80 has no udp name here: it stays a number; 53/udp is "domain".
    strictEqual(lines[3], "UDP 00:01  UDP         client.example:80  web.example.com:domain 10.20.0.11:domain");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expireText: %02d:%02d of whole seconds, minutes uncapped", () => {
  deepStrictEqual([0, 999, 1000, 61_000, 3_599_999, 6_000_000].map(expireText), [
    "00:00",
    "00:00",
    "00:01",
    "01:01",
    "59:59",
    "100:00",
  ]);
});

Deno.test("a malformed connection is an error naming its index and key", () => {
  throws(
    () => formatConnections([conn(), conn({ client_port: 70000 })], { persistentConn: false }, NUMERIC),
    /connection #1: "client_port" must be a port number, got 70000/,
  );
});
