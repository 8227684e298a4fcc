/**
 * `deno task bench`: lvsd against the kernel and haproxy, side by side, in
 * one lab (see bench/README.md for how to read the output).
 *
 *     deno run -A bench/main.ts [--runs 3] [--seconds 5]
 *       [--variants direct,lvsd-nat,lvsd-xdp,lvsd-dr,lvsd-tun,haproxy,nft-nat]
 *       [--workloads keepalive,newconn,bulk,udp]
 *
 * Builds a lab, starts nginx in the three real-server namespaces, then for
 * each variant sets it up, runs every workload `--runs` times from the client
 * namespace and tears it down. Prints a table and writes
 * bench/results/latest.json. The lab, every process and every temp file are
 * removed on success, failure, Ctrl-C and the overall deadline.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Lab, labInterrupted } from "../src/lab/lab.ts";
import { SharedState } from "../src/dataplane/shared_state.ts";
import { cpuCount, cpuDelta, machineCpu, processCpu } from "./cpu.ts";
import { addRatios, fmt, type ResultRow, type Run, summarise, table, type Workload } from "./report.ts";
import {
  direct,
  haproxy,
  lvsdDr,
  lvsdNat,
  lvsdTun,
  lvsdXdp,
  nftNat,
  ROOT,
  Servers,
  UDP_PORT,
  type Variant,
  type VariantContext,
} from "./variants.ts";
import { DONE_LUA, execTimed, runWrk } from "./wrk.ts";

const DEADLINE_MS = 12 * 60 * 1000;
const DEFAULT_OUT = `${ROOT}bench/results/latest.json`;
const UDP_SECONDS = 3;
const UDP_SIZE = 64;
const UDP_FLOWS = 12;
const UDP_MAX = 10_000_000;

const WORKLOADS: Workload[] = [
  {
    name: "keepalive",
    unit: "req/s",
    what: "GET / over 32 keep-alive connections (wrk -t1 -c32 --latency)",
  },
  {
    name: "newconn",
    unit: "conn/s",
    what: "GET / with Connection: close, one connection per request (wrk -t1 -c32)",
  },
  {
    name: "bulk",
    unit: "MB/s",
    what: "GET /1m (1 MiB) over 4 keep-alive connections (wrk -t1 -c4)",
  },
  {
    name: "udp",
    unit: "pps",
    what: `${UDP_SIZE}-byte UDP datagrams for ${UDP_SECONDS} s from ${UDP_FLOWS} client ports, counted at the servers`,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Machine busy fraction above which it is not quiet enough to measure. */
const QUIET_BUSY = 0.15;
/** Longest wait for quiet before one measurement, and over the whole bench. */
const QUIET_WAIT_MS = 20_000;
let quietBudgetMs = 150_000;

/**
 * Waits (bounded) until the machine is quiet — other processes on the box
 * use the same cores and show up in the CPU numbers — and returns the busy
 * fraction of the last 0.5 s sampled.
 */
async function waitQuiet(): Promise<number> {
  const until = performance.now() + Math.min(QUIET_WAIT_MS, quietBudgetMs);
  const t0 = performance.now();
  let busy = 1;
  do {
    const a = machineCpu();
    await sleep(500);
    busy = cpuDelta(a, machineCpu()).busyFraction;
  } while (busy > QUIET_BUSY && performance.now() < until);
  quietBudgetMs = Math.max(0, quietBudgetMs - (performance.now() - t0 - 500));
  return busy;
}

/** Bytes per lvsd connection-table entry, read from the data-plane module. */
function connTableRow(): ResultRow {
  const s = new SharedState({ connCapacity: 1024, workers: 1 });
  const conn = s.layout.CONN_SIZE;
  const ridx = 2 * 8;
  let nfct: number | undefined;
  try {
    const line = Deno.readTextFileSync("/proc/slabinfo").split("\n").find((
      l,
    ) => l.startsWith("nf_conntrack "));
    if (line) nfct = Number(line.trim().split(/\s+/)[3]);
  } catch { /* no slabinfo */ }
  return {
    variant: "lvsd-nat",
    workload: "conn_table_bytes_per_entry",
    median: conn + ridx,
    min: conn + ridx,
    max: conn + ridx,
    unit: "B/entry",
    conn_size: conn,
    reverse_index_bytes: ridx,
    ...(nfct ? { kernel_nf_conntrack_object_bytes: nfct } : {}),
    notes: `CONN_SIZE ${conn} + reverse index 2×8` +
      (nfct ? `; kernel nf_conntrack slab object: ${nfct} B` : ""),
  };
}

/** TCP loss symptoms so far, summed over the namespaces (client first). */
interface TcpCounters {
  /** Segments retransmitted (RetransSegs), all namespaces. */
  retrans: number;
  /** SYNs the client retransmitted (TCPSynRetrans of the first namespace). */
  synRetrans: number;
  /** SYN-ACKs the others retransmitted (their TCPSynRetrans). */
  synAckRetrans: number;
  /** Connections dropped at a full listen queue (ListenDrops). */
  listenDrops: number;
}

async function tcpCounters(lab: Lab, namespaces: readonly string[]): Promise<TcpCounters> {
  const one = async (ns: string) => {
    const r = await lab.exec(ns, ["cat", "/proc/net/snmp", "/proc/net/netstat"]);
    const field = (proto: string, name: string) => {
      const lines = r.stdout.split("\n").filter((l) => l.startsWith(`${proto}: `));
      const keys = lines[0]?.split(/\s+/) ?? [];
      const vals = lines[1]?.split(/\s+/) ?? [];
      const i = keys.indexOf(name);
      return i > 0 ? Number(vals[i]) : 0;
    };
    return {
      retrans: field("Tcp", "RetransSegs"),
      syn: field("TcpExt", "TCPSynRetrans"),
      listenDrops: field("TcpExt", "ListenDrops"),
    };
  };
  const all = await Promise.all(namespaces.map(one));
  return {
    retrans: all.reduce((a, x) => a + x.retrans, 0),
    synRetrans: all[0].syn,
    synAckRetrans: all.slice(1).reduce((a, x) => a + x.syn, 0),
    listenDrops: all.reduce((a, x) => a + x.listenDrops, 0),
  };
}

interface Ctx {
  lab: Lab;
  servers: Servers;
  lua: string;
  seconds: number;
  ncpu: number;
}

/** Runs one workload once against a variant that is up. */
async function measure(
  c: Ctx,
  v: Variant,
  w: Workload,
): Promise<Run> {
  const pid = v.pid();
  const background = await waitQuiet();
  if (w.name === "udp") {
    const u0 = await c.servers.udpCount();
    const m0 = machineCpu();
    const d0 = pid ? processCpu(pid) : undefined;
    const r = await execTimed(c.lab, c.lab.ns.client, [
      c.lab.deno,
      "run",
      "--no-config",
      "--cached-only",
      "-A",
      `${ROOT}bench/udpflood.ts`,
      "--dst",
      v.target,
      "--port",
      String(UDP_PORT),
      "--size",
      String(UDP_SIZE),
      "--seconds",
      String(UDP_SECONDS),
      "--flows",
      String(UDP_FLOWS),
      "--max",
      String(UDP_MAX),
    ], { timeoutMs: (UDP_SECONDS + 20) * 1000 });
    await sleep(300); // let the director drain what it still holds
    const m1 = machineCpu();
    const d1 = pid ? processCpu(pid) : undefined;
    const u1 = await c.servers.udpCount();
    const line = r.stdout.trim().split("\n").pop() ?? "";
    let flood: { sent: number; seconds: number };
    try {
      flood = JSON.parse(line);
    } catch {
      throw new Error(
        `udpflood printed no result (exit ${r.code}): ${r.stdout}${r.stderr}`,
      );
    }
    const delivered = u1 - u0;
    const cpu = cpuDelta(m0, m1);
    const wall = (m1.at - m0.at) / 1000;
    return {
      value: delivered / flood.seconds,
      offered: flood.sent / flood.seconds,
      cpuUsPerReq: delivered ? cpu.cpuSeconds * 1e6 / delivered : NaN,
      machineBusy: cpu.busyFraction,
      clientCores: r.cpu / flood.seconds,
      directorCores: d0 !== undefined && d1 !== undefined ? (d1 - d0) / wall : undefined,
      background,
    };
  }
  const tcpNs = [c.lab.ns.client, c.lab.ns.director, ...c.lab.ns.servers];
  const t0 = await tcpCounters(c.lab, tcpNs);
  const m0 = machineCpu();
  const d0 = pid ? processCpu(pid) : undefined;
  const url = `http://${v.target}/${w.name === "bulk" ? "1m" : ""}`;
  const r = await runWrk(c.lab, {
    url,
    connections: w.name === "bulk" ? 4 : 32,
    seconds: c.seconds,
    headers: w.name === "newconn" ? ["Connection: close"] : [],
    script: c.lua,
  });
  const m1 = machineCpu();
  const d1 = pid ? processCpu(pid) : undefined;
  const t1 = await tcpCounters(c.lab, tcpNs);
  const cpu = cpuDelta(m0, m1);
  const wall = (m1.at - m0.at) / 1000;
  const errors = r.errors.connect + r.errors.read + r.errors.write +
    r.errors.status + r.errors.timeout;
  return {
    value: w.name === "bulk" ? r.bytes / r.seconds / 1e6 : r.requests / r.seconds,
    cpuUsPerReq: r.requests ? cpu.cpuSeconds * 1e6 / r.requests : NaN,
    machineBusy: cpu.busyFraction,
    clientCores: r.wrkCpu / r.seconds,
    directorCores: d0 !== undefined && d1 !== undefined ? (d1 - d0) / wall : undefined,
    p50Ms: w.name === "keepalive" ? r.p50Ms : undefined,
    p99Ms: w.name === "keepalive" ? r.p99Ms : undefined,
    errors,
    retrans: t1.retrans - t0.retrans,
    synRetrans: t1.synRetrans - t0.synRetrans,
    synAckRetrans: t1.synAckRetrans - t0.synAckRetrans,
    listenDrops: t1.listenDrops - t0.listenDrops,
    background,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      seconds: { type: "string", default: "5" },
      variants: {
        type: "string",
        default: "direct,lvsd-nat,lvsd-xdp,lvsd-dr,lvsd-tun,haproxy,nft-nat",
      },
      workloads: { type: "string", default: "keepalive,newconn,bulk,udp" },
      out: { type: "string", default: DEFAULT_OUT },
      // Run lvsd from another checkout (e.g. to compare a fix).
      "lvsd-dir": { type: "string" },
    },
  });
  if (Deno.uid() !== 0) {
    console.error("lvsd bench: must run as root (network namespaces)");
    return 1;
  }
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  if (!(runs >= 1 && runs <= 5) || !(seconds >= 1 && seconds <= 10)) {
    console.error("lvsd bench: --runs must be 1..5 and --seconds 1..10");
    return 2;
  }
  const workloads = values.workloads.split(",").map((n) => {
    const w = WORKLOADS.find((w) => w.name === n);
    if (!w) throw new Error(`unknown workload ${n}`);
    return w;
  });
  const t0 = performance.now();
  const secs = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  const tmpDir = await Deno.makeTempDir({ prefix: "lvsd-bench-" });
  const lab = await Lab.up();
  lab.onDown(() => Deno.remove(tmpDir, { recursive: true }).catch(() => {}));
  const watchdog = setTimeout(() => {
    console.error(
      `lvsd bench: still running after ${DEADLINE_MS / 1000} s: giving up`,
    );
    lab.down().finally(() => Deno.exit(1));
  }, DEADLINE_MS);
  const servers = new Servers(lab, tmpDir);
  const vctx: VariantContext = {
    lab,
    tmpDir,
    statusFile: `${tmpDir}/lvsd-status.txt`,
    // Next to the results: bench/results/lvsd-status.txt for the default --out.
    keepStatusAs: values.out === DEFAULT_OUT
      ? `${ROOT}bench/results/lvsd-status.txt`
      : `${values.out.replace(/\.json$/, "")}.lvsd-status.txt`,
    lvsdDir: values["lvsd-dir"],
  };
  const makers: Record<string, (c: VariantContext) => Variant> = {
    direct,
    "lvsd-nat": lvsdNat,
    "lvsd-xdp": lvsdXdp,
    "lvsd-dr": lvsdDr,
    "lvsd-tun": lvsdTun,
    haproxy,
    "nft-nat": nftNat,
  };
  const variants = values.variants.split(",").map((n) => {
    if (!makers[n]) throw new Error(`unknown variant ${n}`);
    return makers[n](vctx);
  });
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  try {
    console.log(
      `lvsd bench: lab ${lab.prefix} up; ${cpuCount()} CPUs; ${runs} runs × ` +
        `${workloads.map((w) => w.name).join(", ")} × ` +
        `${variants.map((v) => v.name).join(", ")}`,
    );
    // Lots of short connections: let the client (and haproxy, which opens
    // its own) reuse TIME_WAIT ports and use the whole port range.
    for (const ns of [lab.ns.client, lab.ns.director]) {
      for (
        const kv of [
          "net.ipv4.tcp_tw_reuse=1",
          "net.ipv4.ip_local_port_range=1024 65535",
        ]
      ) {
        await lab.exec(ns, ["sysctl", "-qw", kv], { check: true });
      }
    }
    const lua = `${tmpDir}/done.lua`;
    await Deno.writeTextFile(lua, DONE_LUA);
    await servers.up();
    console.log(`lvsd bench: nginx up in rs1..rs3 (${secs()})`);
    const ctx: Ctx = { lab, servers, lua, seconds, ncpu: cpuCount() };
    for (const [vi, v] of variants.entries()) {
      const byWorkload = new Map<string, Run[]>(
        workloads.map((w) => [w.name, []]),
      );
      let idleBusy: number | undefined;
      try {
        // Each variant gets its own slice of client ports. Otherwise a real
        // server still holds TIME_WAIT sockets (60 s) for the same
        // client:port from the previous variant, made with other TCP
        // timestamps (Linux offsets them per address pair: client→rs1 in
        // `direct`, client→VIP in the others); it then rejects the new SYN
        // and the client has to retry: thousands of SYN retransmits that are
        // the bench's doing, not the variant's.
        const slice = Math.floor((65536 - 1024) / variants.length);
        const lo = 1024 + vi * slice;
        await lab.exec(lab.ns.client, ["sysctl", "-qw", `net.ipv4.ip_local_port_range=${lo} ${lo + slice - 1}`], {
          check: true,
        });
        await v.up();
        const i0 = machineCpu();
        await sleep(1000);
        const idle = cpuDelta(i0, machineCpu());
        idleBusy = idle.busyFraction;
        console.log(
          `lvsd bench: ${v.name} up: ${v.what}; idle machine CPU ${Math.round(idle.busyFraction * 100)}% (${secs()})`,
        );
        for (let run = 1; run <= runs; run++) {
          for (const w of workloads) {
            if (w.name === "udp" && !v.udp) continue;
            const r = await measure(ctx, v, w);
            byWorkload.get(w.name)!.push(r);
            console.log(
              `  ${v.name} run ${run} ${w.name}: ${fmt(r.value)} ${w.unit}, ` +
                `${fmt(r.cpuUsPerReq)} µs CPU/req, machine ${Math.round(r.machineBusy * 100)}%` +
                (r.clientCores !== undefined
                  ? `, ${w.name === "udp" ? "sender" : "wrk"} ${Math.round(r.clientCores * 100)}%`
                  : "") +
                (r.directorCores !== undefined ? `, director ${Math.round(r.directorCores * 100)}%` : "") +
                (r.offered ? `, offered ${fmt(r.offered)} pps` : "") +
                (r.errors ? `, ${r.errors} errors` : "") +
                (r.retrans
                  ? `, ${r.retrans} TCP retransmits (${r.synRetrans} SYN, ${r.synAckRetrans} SYN-ACK)` +
                    (r.listenDrops ? `, ${r.listenDrops} listen drops` : "")
                  : ""),
            );
          }
        }
      } catch (e) {
        if (labInterrupted()) throw e;
        const msg = `${v.name}: ${e instanceof Error ? e.message : e}`;
        problems.push(msg);
        console.error(`lvsd bench: ${msg}`);
      } finally {
        await v.down().catch((e) => problems.push(`${v.name} teardown: ${e instanceof Error ? e.message : e}`));
      }
      for (const w of workloads) {
        const row = summarise(v.name, w, byWorkload.get(w.name)!, w.name === "udp");
        if (w.name === "udp" && !v.udp) row.notes = "n/a (no UDP)";
        if (idleBusy !== undefined && row.median !== null) {
          row.idle_machine_busy = Math.round(idleBusy * 1000) / 1000;
        }
        rows.push(row);
      }
    }
    addRatios(rows);
    rows.push(connTableRow());
    console.log(table(workloads, variants.map((v) => v.name), rows));
    const ct = rows[rows.length - 1];
    console.log(`\nconn table: ${ct.median} ${ct.unit} (${ct.notes})`);
    if (problems.length) {
      console.log(`\nproblems:\n  ${problems.join("\n  ")}`);
    }
    await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
    await Deno.writeTextFile(values.out, JSON.stringify(rows, null, 2) + "\n");
    console.log(`\nlvsd bench: wrote ${values.out} (${secs()})`);
    return problems.length ? 1 : 0;
  } catch (e) {
    const sig = labInterrupted();
    if (sig) {
      console.error(`lvsd bench: interrupted (${sig})`);
      return sig === "SIGINT" ? 130 : 143;
    }
    console.error(`lvsd bench: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    await servers.down().catch(() => {});
    await lab.down();
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    console.log(`lvsd bench: lab ${lab.prefix} removed (${secs()})`);
  }
}

if (import.meta.main) Deno.exit(await main());
