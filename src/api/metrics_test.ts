import { deepStrictEqual, match, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import type { DestView, ServiceView, StatusView } from "./model.ts";
import { escapeLabelValue, METRICS_CONTENT_TYPE, type MetricsInput, renderMetrics } from "./metrics.ts";

const STATUS: StatusView = {
  version: "0.3.0",
  ipvs_version: "1.2.1",
  pid: 4242,
  uptime_s: 93.5,
  conn_table_size: 4096,
  connections: 3,
  workers: 2,
  worker_restarts: [0, 1],
  interfaces: ["veth0"],
  config_file: null,
  state_file: null,
  generation: 7,
};

const WEB_DEST: DestView = {
  key: "10.20.0.11:8080",
  address: "10.20.0.11",
  port: 8080,
  forward: "masq",
  weight: 3,
  active_conns: 2,
  inact_conns: 1,
  persist_conns: 0,
  stats: { conns: 12, inpkts: 140, outpkts: 120, inbytes: 9800, outbytes: 150000 },
  rates: { cps: 2, inpps: 25, outpps: 21, inbps: 1700, outbps: 26000 },
};

const SMALL: MetricsInput = {
  status: STATUS,
  services: [
    {
      key: "tcp:10.10.0.100:80",
      proto: "tcp",
      vip: "10.10.0.100",
      port: 80,
      scheduler: "wrr",
      stats: { conns: 12, inpkts: 140, outpkts: 120, inbytes: 9800, outbytes: 150000 },
      rates: { cps: 2, inpps: 25, outpps: 21, inbps: 1700, outbps: 26000 },
      dests: [WEB_DEST],
    },
    {
      key: "udp:10.10.0.100:53",
      proto: "udp",
      vip: "10.10.0.100",
      port: 53,
      scheduler: "rr",
      stats: { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 },
      rates: { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 },
      dests: [],
    },
  ],
  dataplane: { counters: { rx_frames: 1000, tx_frames: 990 }, drops: { no_conn: 4, truncated: 1 } },
};

const GOLDEN = `# HELP lvsd_up 1 while lvsd is running and answering.
# TYPE lvsd_up gauge
lvsd_up 1
# HELP lvsd_build_info Always 1; the lvsd version and the IPVS version it reports.
# TYPE lvsd_build_info gauge
lvsd_build_info{version="0.3.0",ipvs_version="1.2.1"} 1
# HELP lvsd_uptime_seconds Seconds since lvsd started.
# TYPE lvsd_uptime_seconds gauge
lvsd_uptime_seconds 93.5
# HELP lvsd_connection_table_size Connection table slots (ipvsadm's size=).
# TYPE lvsd_connection_table_size gauge
lvsd_connection_table_size 4096
# HELP lvsd_connections Live connection table entries (connections and persistence templates).
# TYPE lvsd_connections gauge
lvsd_connections 3
# HELP lvsd_workers Data-plane worker threads.
# TYPE lvsd_workers gauge
lvsd_workers 2
# HELP lvsd_worker_restarts_total Times each data-plane worker was restarted after a failure.
# TYPE lvsd_worker_restarts_total counter
lvsd_worker_restarts_total{worker="0"} 0
lvsd_worker_restarts_total{worker="1"} 1
# HELP lvsd_config_generation Configuration generation: increments with every applied change.
# TYPE lvsd_config_generation gauge
lvsd_config_generation 7
# HELP lvsd_service_connections_total Connections scheduled (ipvsadm --stats Conns) per service.
# TYPE lvsd_service_connections_total counter
lvsd_service_connections_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 12
lvsd_service_connections_total{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_incoming_packets_total Packets from clients (ipvsadm --stats InPkts) per service.
# TYPE lvsd_service_incoming_packets_total counter
lvsd_service_incoming_packets_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 140
lvsd_service_incoming_packets_total{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_outgoing_packets_total Packets to clients (ipvsadm --stats OutPkts) per service.
# TYPE lvsd_service_outgoing_packets_total counter
lvsd_service_outgoing_packets_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 120
lvsd_service_outgoing_packets_total{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_incoming_bytes_total Bytes from clients (ipvsadm --stats InBytes) per service.
# TYPE lvsd_service_incoming_bytes_total counter
lvsd_service_incoming_bytes_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 9800
lvsd_service_incoming_bytes_total{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_outgoing_bytes_total Bytes to clients (ipvsadm --stats OutBytes) per service.
# TYPE lvsd_service_outgoing_bytes_total counter
lvsd_service_outgoing_bytes_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 150000
lvsd_service_outgoing_bytes_total{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_connections_per_second Connection rate (ipvsadm --rate CPS) per service, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_service_connections_per_second gauge
lvsd_service_connections_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 2
lvsd_service_connections_per_second{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_incoming_packets_per_second Incoming packet rate (ipvsadm --rate InPPS) per service, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_service_incoming_packets_per_second gauge
lvsd_service_incoming_packets_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 25
lvsd_service_incoming_packets_per_second{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_outgoing_packets_per_second Outgoing packet rate (ipvsadm --rate OutPPS) per service, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_service_outgoing_packets_per_second gauge
lvsd_service_outgoing_packets_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 21
lvsd_service_outgoing_packets_per_second{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_incoming_bytes_per_second Incoming byte rate (ipvsadm --rate InBPS) per service, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_service_incoming_bytes_per_second gauge
lvsd_service_incoming_bytes_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 1700
lvsd_service_incoming_bytes_per_second{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_service_outgoing_bytes_per_second Outgoing byte rate (ipvsadm --rate OutBPS) per service, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_service_outgoing_bytes_per_second gauge
lvsd_service_outgoing_bytes_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80"} 26000
lvsd_service_outgoing_bytes_per_second{service="udp:10.10.0.100:53",proto="udp",vip="10.10.0.100",port="53"} 0
# HELP lvsd_dest_connections_total Connections scheduled (ipvsadm --stats Conns) per dest.
# TYPE lvsd_dest_connections_total counter
lvsd_dest_connections_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 12
# HELP lvsd_dest_incoming_packets_total Packets from clients (ipvsadm --stats InPkts) per dest.
# TYPE lvsd_dest_incoming_packets_total counter
lvsd_dest_incoming_packets_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 140
# HELP lvsd_dest_outgoing_packets_total Packets to clients (ipvsadm --stats OutPkts) per dest.
# TYPE lvsd_dest_outgoing_packets_total counter
lvsd_dest_outgoing_packets_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 120
# HELP lvsd_dest_incoming_bytes_total Bytes from clients (ipvsadm --stats InBytes) per dest.
# TYPE lvsd_dest_incoming_bytes_total counter
lvsd_dest_incoming_bytes_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 9800
# HELP lvsd_dest_outgoing_bytes_total Bytes to clients (ipvsadm --stats OutBytes) per dest.
# TYPE lvsd_dest_outgoing_bytes_total counter
lvsd_dest_outgoing_bytes_total{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 150000
# HELP lvsd_dest_connections_per_second Connection rate (ipvsadm --rate CPS) per dest, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_dest_connections_per_second gauge
lvsd_dest_connections_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 2
# HELP lvsd_dest_incoming_packets_per_second Incoming packet rate (ipvsadm --rate InPPS) per dest, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_dest_incoming_packets_per_second gauge
lvsd_dest_incoming_packets_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 25
# HELP lvsd_dest_outgoing_packets_per_second Outgoing packet rate (ipvsadm --rate OutPPS) per dest, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_dest_outgoing_packets_per_second gauge
lvsd_dest_outgoing_packets_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 21
# HELP lvsd_dest_incoming_bytes_per_second Incoming byte rate (ipvsadm --rate InBPS) per dest, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_dest_incoming_bytes_per_second gauge
lvsd_dest_incoming_bytes_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 1700
# HELP lvsd_dest_outgoing_bytes_per_second Outgoing byte rate (ipvsadm --rate OutBPS) per dest, estimated as the kernel's IPVS estimator does (2 s samples, weight 1/4).
# TYPE lvsd_dest_outgoing_bytes_per_second gauge
lvsd_dest_outgoing_bytes_per_second{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 26000
# HELP lvsd_dest_active_connections Active connections per dest (ipvsadm ActiveConn).
# TYPE lvsd_dest_active_connections gauge
lvsd_dest_active_connections{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 2
# HELP lvsd_dest_inactive_connections Inactive connections per dest (ipvsadm InActConn).
# TYPE lvsd_dest_inactive_connections gauge
lvsd_dest_inactive_connections{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 1
# HELP lvsd_dest_persistent_connections Persistence templates bound to each dest (ipvsadm PersistConn).
# TYPE lvsd_dest_persistent_connections gauge
lvsd_dest_persistent_connections{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 0
# HELP lvsd_dest_weight Scheduling weight of each dest (0: drained, gets no new connections).
# TYPE lvsd_dest_weight gauge
lvsd_dest_weight{service="tcp:10.10.0.100:80",proto="tcp",vip="10.10.0.100",port="80",dest_address="10.20.0.11",dest_port="8080"} 3
# HELP lvsd_dataplane_rx_frames_total Frames received by the data plane.
# TYPE lvsd_dataplane_rx_frames_total counter
lvsd_dataplane_rx_frames_total 1000
# HELP lvsd_dataplane_tx_frames_total Frames sent by the data plane.
# TYPE lvsd_dataplane_tx_frames_total counter
lvsd_dataplane_tx_frames_total 990
# HELP lvsd_dataplane_dropped_packets_total Packets the data plane dropped, by reason.
# TYPE lvsd_dataplane_dropped_packets_total counter
lvsd_dataplane_dropped_packets_total{reason="no_conn"} 4
lvsd_dataplane_dropped_packets_total{reason="truncated"} 1
`;

/** Runs `promtool check metrics` (Debian package prometheus, installed by tools/setup.ts) on `text`. */
async function promtool(text: string): Promise<{ code: number; output: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("promtool is not installed: run `deno task setup` (it installs the Debian package prometheus)");
    }
    throw e;
  }
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, output: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
}

/** Fails unless promtool accepts `text` without a single lint problem. */
async function assertPromtoolClean(text: string) {
  const { code, output } = await promtool(text);
  strictEqual(output, "", `promtool reported problems:\n${output}`);
  strictEqual(code, 0, `promtool exited with ${code}`);
}

/**
 * What promtool 2.42 does not check: each family's samples follow its own
 * TYPE line in one block, no family appears twice, no series repeats.
 */
function assertWellGrouped(text: string) {
  let family = "";
  const families = new Set<string>();
  const series = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (type) {
      strictEqual(families.has(type[1]), false, `family ${type[1]} appears twice`);
      families.add(type[1]);
      family = type[1];
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line)?.[0];
    strictEqual(name, family, `sample outside its family block: ${line}`);
    const key = line.slice(0, line.lastIndexOf(" "));
    strictEqual(series.has(key), false, `series repeated: ${key}`);
    series.add(key);
  }
}

Deno.test("golden exposition for a small director", () => {
  strictEqual(renderMetrics(SMALL), GOLDEN);
  strictEqual(METRICS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("promtool check metrics accepts the exposition without a lint problem", async () => {
  const text = renderMetrics(SMALL);
  await assertPromtoolClean(text);
  assertWellGrouped(text);
});

Deno.test("promtool does flag broken expositions, so the check above can fail", async () => {
  // A lint problem: a counter without _total and without HELP (exit 3 in promtool 2.42).
  const lint = await promtool("# TYPE lvsd_requests counter\nlvsd_requests 1\n");
  notStrictEqual(lint.code, 0);
  match(lint.output, /_total/);
  match(lint.output, /no help text/);
  // A parse error: an unescaped quote inside a label value.
  const parse = await promtool('# HELP x_total h\n# TYPE x_total counter\nx_total{a="say "hi""} 1\n');
  notStrictEqual(parse.code, 0);
  match(parse.output, /parsing error/);
  // Our own output with one label value's escaping undone no longer parses.
  const escaped = renderMetrics({ ...SMALL, status: { ...STATUS, version: 'rc "1"' } });
  const undone = escaped.replace('version="rc \\"1\\""', 'version="rc "1""');
  notStrictEqual(undone, escaped);
  notStrictEqual((await promtool(undone)).code, 0);
  // And the grouping check catches a family split in two.
  throws(() => assertWellGrouped("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n"), /outside its family/);
});

Deno.test("label values with backslash, double quote and line feed are escaped", async () => {
  strictEqual(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const input: MetricsInput = {
    ...SMALL,
    status: { ...STATUS, version: 'v1 "quoted"\\path\nsecond line' },
    dataplane: { counters: {}, drops: { 'odd "reason"\\x\ny': 2 } },
  };
  const text = renderMetrics(input);
  match(text, /^lvsd_build_info\{version="v1 \\"quoted\\"\\\\path\\nsecond line",ipvs_version="1\.2\.1"\} 1$/m);
  match(text, /^lvsd_dataplane_dropped_packets_total\{reason="odd \\"reason\\"\\\\x\\ny"\} 2$/m);
  await assertPromtoolClean(text);
  assertWellGrouped(text);
});

Deno.test("a service group is labelled by its key; dest labels fall back to the dest key", async () => {
  const group: ServiceView = {
    key: "tcp:10.10.0.200:8000",
    proto: "tcp",
    vips: ["10.10.0.200", "10.10.0.201"],
    ports: [8000, 8001],
    scheduler: "mh",
    stats: { conns: 1, inpkts: 2, outpkts: 3, inbytes: 4, outbytes: 5 },
    rates: { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 },
    // A dest view without address/port keys: the labels come from its key.
    dests: [{ ...WEB_DEST, key: "10.20.0.12:9000", address: undefined, port: undefined, weight: 0 }],
  };
  const text = renderMetrics({ ...SMALL, services: [group] });
  const labels = 'service="tcp:10.10.0.200:8000",proto="tcp",vip="10.10.0.200",port="8000"';
  match(text, new RegExp(`^lvsd_service_connections_total\\{${labels}\\} 1$`, "m"));
  match(text, new RegExp(`^lvsd_dest_weight\\{${labels},dest_address="10\\.20\\.0\\.12",dest_port="9000"\\} 0$`, "m"));
  await assertPromtoolClean(text);
});

Deno.test("every data-plane counter is its own metric; drops are one metric by reason", async () => {
  const counters = {
    rx_frames: 1,
    tx_frames: 2,
    conns: 3,
    ignored: 4,
    arp_replies: 5,
    echo_replies: 6,
    gso_frames: 7,
    csum_partial: 8,
    tx_errors: 9,
    tx_dropped: 10,
    rx_kernel_drops: 11,
    icmp_errors_sent: 12,
    icmp_relayed: 13,
    segments: 14,
    "future-thing": 15,
  };
  const drops = { truncated: 1, bad_ip_checksum: 2, no_conn: 3, no_dest: 4, frag_needed: 5 };
  const text = renderMetrics({ ...SMALL, services: [], dataplane: { counters, drops } });
  for (const [name, v] of Object.entries(counters)) {
    const metric = `lvsd_dataplane_${name.replace("-", "_")}_total`;
    match(text, new RegExp(`^# TYPE ${metric} counter\n${metric} ${v}$`, "m"));
  }
  match(text, /^# HELP lvsd_dataplane_future_thing_total Data-plane counter future-thing\.$/m);
  const dropLines = text.split("\n").filter((l) => l.startsWith("lvsd_dataplane_dropped_packets_total{"));
  deepStrictEqual(
    dropLines,
    Object.entries(drops).map(([r, n]) => `lvsd_dataplane_dropped_packets_total{reason="${r}"} ${n}`),
  );
  // With no services, no per-service or per-dest family is written at all.
  strictEqual(/lvsd_(service|dest)_/.test(text), false);
  await assertPromtoolClean(text);
  assertWellGrouped(text);
});

Deno.test("large, fractional and non-finite values are written as Prometheus parses them", async () => {
  const big = 2 ** 60;
  const text = renderMetrics({
    ...SMALL,
    status: { ...STATUS, uptime_s: 0.25 },
    dataplane: { counters: { rx_frames: big, tx_frames: Number.MAX_SAFE_INTEGER }, drops: { no_conn: NaN } },
  });
  match(text, /^lvsd_uptime_seconds 0\.25$/m);
  match(text, /^lvsd_dataplane_rx_frames_total 1152921504606847000$/m);
  match(text, /^lvsd_dataplane_tx_frames_total 9007199254740991$/m);
  match(text, /^lvsd_dataplane_dropped_packets_total\{reason="no_conn"\} NaN$/m);
  await assertPromtoolClean(text);
});

Deno.test("bad keys and colliding counter names are refused, naming them", () => {
  throws(
    () => renderMetrics({ ...SMALL, services: [{ ...SMALL.services[0], key: "web" }] }),
    /service key "web" is not proto:vip:port/,
  );
  throws(
    () =>
      renderMetrics({
        ...SMALL,
        services: [{ ...SMALL.services[0], dests: [{ ...WEB_DEST, key: "nowhere", address: undefined }] }],
      }),
    /dest key "nowhere" is not address:port/,
  );
  throws(
    () => renderMetrics({ ...SMALL, dataplane: { counters: { "rx.frames": 1, rx_frames: 2 }, drops: {} } }),
    /two metric families are named lvsd_dataplane_rx_frames_total/,
  );
  throws(
    () => renderMetrics({ ...SMALL, dataplane: { counters: { dropped_packets: 1 }, drops: {} } }),
    /two metric families are named lvsd_dataplane_dropped_packets_total/,
  );
});

Deno.test("metrics: health states as gauges (quorum per service, up/down per checked dest), promtool-clean", async () => {
  const text = renderMetrics({
    ...SMALL,
    health: {
      services: [{
        key: "tcp:10.10.0.100:80",
        quorum_up: false,
        dests: [
          { key: "10.20.0.11:80", state: "down", weight: null, up_for_s: null },
          { key: "10.20.0.12:8080", state: "up", weight: 3, up_for_s: 12.5 },
        ],
      }, {
        key: "udp:10.10.0.100:53",
        quorum_up: true,
        dests: [{ key: "10.20.0.21:53", state: "unchecked", weight: null, up_for_s: null }],
      }],
    },
  });
  ok(text.includes('\nlvsd_service_quorum_up{service="tcp:10.10.0.100:80"} 0\n'), text);
  ok(text.includes('\nlvsd_service_quorum_up{service="udp:10.10.0.100:53"} 1\n'), text);
  ok(
    text.includes(
      '\nlvsd_dest_health_up{service="tcp:10.10.0.100:80",dest_address="10.20.0.11",dest_port="80"} 0\n' +
        'lvsd_dest_health_up{service="tcp:10.10.0.100:80",dest_address="10.20.0.12",dest_port="8080"} 1\n',
    ),
    text,
  );
  ok(!text.includes('dest_address="10.20.0.21"'), "an unchecked dest has no health sample");
  assertWellGrouped(text);
  await assertPromtoolClean(text);
});

Deno.test("metrics: VRRP instances: state as a one-hot gauge, priority, adverts sent/received/dropped by reason", async () => {
  const vrrp = {
    instances: [{
      name: "VI_1",
      interface: "ext0",
      vrid: 51,
      version: 3 as const,
      state: "BACKUP" as const,
      priority: 100,
      master_ip: "10.10.0.5",
      master_adver_interval_ms: 1000,
      faults: [],
      master_since_ms: 0,
      adverts_sent: 0,
      adverts_received: 42,
      garps_sent: 0,
      drops: { badTtl: 3, authFailure: 1 },
    }],
  };
  const text = renderMetrics({ ...SMALL, vrrp });
  ok(text.includes('\nlvsd_vrrp_state{instance="VI_1",vrid="51",state="BACKUP"} 1\n'), text);
  ok(text.includes('\nlvsd_vrrp_state{instance="VI_1",vrid="51",state="MASTER"} 0\n'), text);
  ok(text.includes('\nlvsd_vrrp_priority{instance="VI_1",vrid="51"} 100\n'), text);
  ok(text.includes('\nlvsd_vrrp_adverts_received_total{instance="VI_1",vrid="51"} 42\n'), text);
  ok(text.includes('\nlvsd_vrrp_adverts_dropped_total{instance="VI_1",vrid="51",reason="badTtl"} 3\n'), text);
  ok(!renderMetrics(SMALL).includes("lvsd_vrrp_"), "no VRRP families without instances");
  assertWellGrouped(text);
  await assertPromtoolClean(text);
});

Deno.test("sync daemons: their families, and promtool accepts them", async () => {
  const sync: MetricsInput["sync"] = [
    {
      role: "master",
      config: { mcastInterface: "int0", syncid: 1, maxlen: 1472, group: "224.0.0.81", port: 8848, ttl: 1, peer: null },
      stats: { datagrams: 3, conns: 100, bytes: 3624, send_errors: 0, stale: 1 },
    },
    {
      role: "backup",
      config: { mcastInterface: "int0", syncid: 2, maxlen: 1472, group: "224.0.0.81", port: 8848, ttl: 1, peer: null },
      stats: {
        datagrams: 4,
        conns: 100,
        bytes: 3632,
        installed: 90,
        updated: 10,
        late_hops: 0,
        drops: { wrong_syncid: 1, no_dest: 2 },
      },
    },
  ];
  const text = renderMetrics({ ...SMALL, sync });
  match(text, /^lvsd_sync_daemon_up\{role="master"\} 1$/m);
  match(text, /^lvsd_sync_conns_total\{role="backup"\} 100$/m);
  match(text, /^lvsd_sync_installed_total\{result="updated"\} 10$/m);
  match(text, /^lvsd_sync_dropped_total\{reason="no_dest"\} 2$/m);
  match(text, /^lvsd_sync_send_errors_total 0$/m);
  await assertPromtoolClean(text);
  assertWellGrouped(text);
});
