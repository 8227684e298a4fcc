import { ok, strictEqual } from "node:assert/strict";
import { statusText } from "./status_text.ts";
import type { ServiceView } from "../api/model.ts";

const zero = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
const noRates = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
const SERVICE: ServiceView = {
  key: "tcp:10.10.0.100:80",
  proto: "tcp",
  vip: "10.10.0.100",
  port: 80,
  scheduler: "wrr",
  persistence: null,
  ops: false,
  sched_flags: [],
  stats: { conns: 123456789, inpkts: 5, outpkts: 4, inbytes: 300, outbytes: 200 },
  rates: noRates,
  dests: [{
    key: "10.20.0.11:80",
    address: "10.20.0.11",
    port: 80,
    forward: "masq",
    weight: 2,
    u_threshold: 0,
    l_threshold: 0,
    active_conns: 1,
    inact_conns: 7,
    persist_conns: 0,
    stats: zero,
    rates: noRates,
  }],
};

Deno.test("status text: ipvsadm -Ln, then --stats --exact, the data plane, drops, the first connections", () => {
  const text = statusText(
    { ipvs_version: "1.2.1", conn_table_size: 65536 },
    [SERVICE],
    { counters: { rx_frames: 10, conns: 3 }, drops: { no_conn: 2, truncated: 0 } },
    {
      total: 51,
      next_cursor: "99",
      items: [{
        proto: "tcp",
        state: "ESTABLISHED",
        expires_ms: 899_000,
        client: "10.10.0.2",
        client_port: 40000,
        vip: "10.10.0.100",
        vport: 80,
        dest: "10.20.0.11",
        dport: 80,
        template: false,
        service: SERVICE.key,
      }],
    },
  );
  const lines = text.split("\n");
  strictEqual(lines[0], "IP Virtual Server version 1.2.1 (size=65536)");
  strictEqual(lines.filter((l) => l.startsWith("IP Virtual Server version")).length, 1, "one version line");
  ok(text.includes("\nTCP  10.10.0.100:80 wrr\n  -> 10.20.0.11:80                Masq    2      1          7"), text);
  // --exact: the whole number, never 123456K.
  ok(/\nTCP {2}10\.10\.0\.100:80 +123456789 +5 +4 +300 +200\n/.test(text), text);
  ok(text.includes("\nData plane: rx_frames=10 conns=3\nDrops: no_conn=2\n"), text);
  ok(/\nTCP 14:59 {2}ESTABLISHED 10\.10\.0\.2:40000 +10\.10\.0\.100:80 +10\.20\.0\.11:80\n/.test(text), text);
  ok(text.endsWith("… more: lvsadm -L -n -c lists them all\n"), text);
});
