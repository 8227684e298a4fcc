/**
 * Issue 6's go/no-go measurement: does one AF_XDP socket (over FFI, UMEM in
 * a shared WebAssembly.Memory) forward frames on veth for less CPU per packet
 * than lvsd's AF_PACKET PacketIo? Same lab, same run, the two alternated.
 *
 *     deno run -A bench/xdp/probe.ts [--runs 3] [--seconds 5]
 *       [--rates 0,100000] [--out bench/results/NAME]   (root)
 *
 * For each offered rate (0 = the sender as fast as it can), `--runs` times
 * each path (order alternated run by run): start the forwarder
 * (bench/xdp/forwarder.ts) in the forwarder namespace, start the sender
 * (bench/xdp/sender.ts), let both warm up, then over `--seconds` sample:
 *
 * - frames counted at the sink (nftables counter of frames with the sink's
 *   MAC, its address and TTL 63, i.e. rewritten by the forwarder);
 * - machine CPU: busy jiffies of all cores from /proc/stat (user, system,
 *   irq, softirq, ...), so the kernel's softirq work on both veth hops
 *   counts wherever it ran;
 * - the forwarder process's CPU (utime + stime, all threads, from
 *   /proc/PID/stat) and the sender's.
 *
 * CPU per forwarded packet = CPU seconds / frames counted at the sink.
 * After every run it checks that no XDP program is left on the interface.
 * Writes OUT.txt (table, verdict) and OUT.json (every run).
 *
 * @module
 */

import { cpuCount, cpuDelta, machineCpu } from "../cpu.ts";
import { allTasksCpuNs, ksoftirqdPids, processCpuNs, sumCpuNs } from "./task_cpu.ts";
import { inNs, LAB, type ProbeLab, run, sinkCounters, withProbeLab, xdpAttached } from "./lab.ts";

const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);
const DENO = Deno.execPath();
const WARMUP_MS = 1500;
/** A run during which other tasks used more CPU than this is measured again. */
const OTHERS_MAX_CORES = 0.15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `none`: no forwarder (frames dropped at xf0's ingress): the sender's own cost, subtracted from the others. */
type Mode = "none" | "packet" | "xdp";

interface Args {
  runs: number;
  seconds: number;
  rates: number[];
  out: string;
  pin: boolean;
  idleWait: number;
}

function parseArgs(argv: string[]): Args {
  const a: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, "")] = argv[i + 1];
  const o = {
    runs: Number(a.runs ?? 3),
    seconds: Number(a.seconds ?? 5),
    rates: (a.rates ?? "0,100000").split(",").map(Number),
    out: a.out ?? `${HERE}../results/xdp-probe-latest`,
    pin: (a.pin ?? "yes") !== "no",
    idleWait: Number(a["idle-wait"] ?? 60),
  };
  if (
    !(o.runs >= 1 && o.runs <= 10) || !(o.seconds >= 1 && o.seconds <= 30) || o.rates.some((r) => !(r >= 0)) ||
    !(o.idleWait >= 0 && o.idleWait <= 600)
  ) {
    throw new Error(
      `Cannot run the probe: bad arguments ${
        JSON.stringify(a)
      } (runs 1..10, seconds 1..30, rates ≥ 0, idle-wait 0..600)`,
    );
  }
  return o;
}

/** One measured run. */
export interface RunResult {
  mode: Mode;
  rate: number;
  run: number;
  seconds: number;
  /** The sender's own count over its whole run (warm-up included), per second. */
  senderPps: number;
  /** Frames the sender's interface sent during the window, per second. */
  sentPps: number;
  /** Frames counted at the sink (rewritten by the forwarder) during the window, per second. */
  forwardedPps: number;
  sent: number;
  forwarded: number;
  stray: number;
  /** CPU seconds per second (cores) of: the forwarder's threads, the sender's, ksoftirqd (all CPUs). */
  fwdCores: number;
  senderCores: number;
  ksoftirqdCores: number;
  /** Every other task on the machine (other jobs, this driver, kernel threads), from schedstat. */
  othersCores: number;
  /** Forwarder CPU µs per forwarded frame: the director's own CPU. */
  fwdUsPerPkt: number;
  /** (sender + forwarder + ksoftirqd) CPU µs per frame (forwarded; sent for `none`). */
  oursUsPerPkt: number;
  /** Machine-wide busy CPU (/proc/stat) per frame, and the busy fraction: includes other jobs on the machine. */
  machineUsPerPkt: number;
  machineBusy: number;
  /** Machine busy fraction over the second before the run. */
  idleBefore: number;
  /** The forwarder's own counters (rx, tx, drops, polls, kicks, socket stats). */
  forwarder: Record<string, unknown>;
  /** Why the run is left out of the medians (it was repeated), or "" when valid. */
  invalid: string;
}

/**
 * A run whose numbers cannot stand for the path: a process gone before the
 * second sample (NaN CPU), or, at a paced rate, the offered rate not sent or
 * not forwarded (the sender or the forwarder starved by other jobs on the
 * machine: per-packet CPU then measures the stall, not the path).
 */
export function invalidReason(r: Omit<RunResult, "invalid">): string {
  if (![r.fwdCores, r.senderCores, r.ksoftirqdCores, r.oursUsPerPkt].every(Number.isFinite)) {
    return "a process ended before the second sample";
  }
  // The probe itself (sleeping, two spawns per sample) and kernel threads
  // stay well below this on a quiet machine.
  if (r.othersCores > OTHERS_MAX_CORES) return `other tasks used ${r.othersCores.toFixed(2)} cores during the run`;
  if (r.rate > 0) {
    if (Math.abs(r.sentPps - r.rate) > 0.03 * r.rate) return `sent ${Math.round(r.sentPps)} pps, not ${r.rate}`;
    if (r.mode !== "none" && r.forwardedPps < 0.97 * r.sentPps) {
      return `forwarded ${Math.round(r.forwardedPps)} of ${Math.round(r.sentPps)} pps`;
    }
  }
  return "";
}

/** A child process whose stdout lines we read. */
class Child {
  readonly pid: number;
  readonly #proc: Deno.ChildProcess;
  readonly #lines: string[] = [];
  #ended: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(cmd: string[]) {
    const proc = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" }).spawn();
    this.#proc = proc;
    this.pid = proc.pid;
    this.#ended = (async () => {
      let buf = "";
      for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          this.#lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
          this.#waiters.splice(0).forEach((w) => w());
        }
      }
      if (buf) this.#lines.push(buf);
      this.#waiters.splice(0).forEach((w) => w());
    })();
  }

  /** Waits (bounded) for a stdout line; throws with the child's stderr if it ends first. */
  async line(n: number, ms: number, what: string): Promise<string> {
    const until = performance.now() + ms;
    while (this.#lines.length <= n) {
      const left = until - performance.now();
      if (left <= 0) throw new Error(`Cannot start ${what}: no output within ${ms} ms`);
      let done = false;
      await Promise.race([
        new Promise<void>((r) => this.#waiters.push(r)),
        sleep(left),
        this.#ended.then(() => done = true),
      ]);
      if (done && this.#lines.length <= n) {
        const err = await new Response(this.#proc.stderr).text().catch(() => "");
        throw new Error(`Cannot start ${what}: it exited: ${err.trim()}`);
      }
    }
    return this.#lines[n];
  }

  /** Waits (bounded) for the child to exit; kills it by PID after `ms`. */
  async finish(ms: number): Promise<{ code: number; lines: string[]; stderr: string }> {
    const timer = setTimeout(() => this.kill(), ms);
    const [status] = await Promise.all([this.#proc.status, this.#ended]);
    clearTimeout(timer);
    const err = await new Response(this.#proc.stderr).text().catch(() => "");
    return { code: status.code, lines: this.#lines, stderr: err };
  }

  kill(): void {
    try {
      this.#proc.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

const live = new Set<Child>();

async function sentFrames(lab: ProbeLab): Promise<number> {
  const j = JSON.parse(await run(["ip", "-n", lab.sender, "-s", "-j", "link", "show", "dev", LAB.senderIf])) as {
    stats64: { tx: { packets: number } };
  }[];
  return j[0].stats64.tx.packets;
}

/** Waits (at most `seconds`) until the machine is below 10% busy over a second; returns the last busy fraction. */
async function waitIdle(seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  while (true) {
    const a = machineCpu();
    await sleep(1000);
    const busy = cpuDelta(a, machineCpu()).busyFraction;
    if (busy < 0.1 || performance.now() >= until) return busy;
  }
}

function pinned(args: Args, cpu: number): string[] {
  return args.pin && cpuCount() > cpu ? ["taskset", "-c", String(cpu)] : [];
}

async function measure(args: Args, lab: ProbeLab, mode: Mode, rate: number, runNo: number): Promise<RunResult> {
  const seconds = args.seconds;
  const stopFile = await Deno.makeTempFile({ prefix: "lvsd-xdp-probe-stop-" });
  await Deno.remove(stopFile);
  let fwd: Child | undefined;
  let sender: Child | undefined;
  try {
    const idleBefore = await waitIdle(args.idleWait);
    if (mode !== "none") {
      fwd = new Child([
        "ip",
        "netns",
        "exec",
        lab.fwd,
        ...pinned(args, 1),
        DENO,
        "run",
        "-A",
        "--no-config",
        `${HERE}forwarder.ts`,
        "--mode",
        mode,
        "--in",
        LAB.fwdIn,
        "--out",
        LAB.fwdOut,
        "--next-hop-mac",
        lab.sinkMac,
        "--seconds",
        String(seconds + 20),
        "--stop",
        stopFile,
      ]);
      live.add(fwd);
      await fwd.line(0, 15000, `the ${mode} forwarder`);
    }
    // Margin after the window: under load our own sampling (two spawns) runs late.
    const senderSeconds = (WARMUP_MS / 1000) + seconds + 3;
    sender = new Child([
      "ip",
      "netns",
      "exec",
      lab.sender,
      ...pinned(args, 0),
      DENO,
      "run",
      "-A",
      "--no-config",
      `${HERE}sender.ts`,
      "--dst",
      LAB.sinkIp,
      "--seconds",
      String(senderSeconds),
      "--pps",
      String(rate),
    ]);
    live.add(sender);
    await sleep(WARMUP_MS);
    const soft = ksoftirqdPids();
    const sample = async () => {
      const [c, sent] = await Promise.all([sinkCounters(lab), sentFrames(lab)]);
      return {
        c,
        sent,
        m: machineCpu(),
        f: fwd ? processCpuNs(fwd.pid) : 0,
        s: processCpuNs(sender!.pid),
        k: sumCpuNs(soft),
        all: allTasksCpuNs(),
      };
    };
    const a = await sample();
    await sleep(seconds * 1000);
    const b = await sample();
    const senderDone = await sender.finish(senderSeconds * 1000 + 10000);
    live.delete(sender);
    const senderPps = (JSON.parse(
      senderDone.lines.findLast((l) => l.startsWith("{")) ?? "{}",
    ) as { pps?: number }).pps ??
      NaN;
    let counters: Record<string, unknown> = {};
    if (fwd) {
      await Deno.writeTextFile(stopFile, "");
      const done = await fwd.finish(10000);
      live.delete(fwd);
      const last = done.lines.findLast((l) => l.startsWith('{"done"'));
      if (!last) {
        throw new Error(
          `Cannot read the ${mode} forwarder's counters (exit code ${done.code}): ${
            done.lines.join(" / ")
          } ${done.stderr.trim()}`,
        );
      }
      counters = JSON.parse(last);
    }
    const attached = await xdpAttached(lab);
    if (attached !== null) {
      throw new Error(`XDP program still attached to ${LAB.fwdIn} after the ${mode} run: ${JSON.stringify(attached)}`);
    }
    const dt = (b.m.at - a.m.at) / 1000;
    const sent = b.sent - a.sent;
    const forwarded = b.c.fwd - a.c.fwd;
    const perPkt = mode === "none" ? sent : forwarded;
    const machine = cpuDelta(a.m, b.m);
    const fwdNs = b.f - a.f, senderNs = b.s - a.s, softNs = b.k - a.k;
    const othersNs = (b.all - a.all) - (fwdNs + senderNs + softNs);
    const result = {
      mode,
      rate,
      run: runNo,
      seconds: dt,
      senderPps,
      sentPps: sent / dt,
      forwardedPps: forwarded / dt,
      sent,
      forwarded,
      stray: b.c.other - a.c.other,
      fwdCores: fwdNs / 1e9 / dt,
      senderCores: senderNs / 1e9 / dt,
      ksoftirqdCores: softNs / 1e9 / dt,
      othersCores: othersNs / 1e9 / dt,
      fwdUsPerPkt: mode === "none" ? 0 : fwdNs / 1e3 / forwarded,
      oursUsPerPkt: (fwdNs + senderNs + softNs) / 1e3 / perPkt,
      machineUsPerPkt: (machine.cpuSeconds * 1e6) / perPkt,
      machineBusy: machine.busyFraction,
      idleBefore,
      forwarder: counters,
    };
    return { ...result, invalid: invalidReason(result) };
  } finally {
    await Deno.writeTextFile(stopFile, "").catch(() => {});
    for (const c of [sender, fwd]) {
      if (c && live.has(c)) {
        c.kill();
        await c.finish(5000).catch(() => {});
        live.delete(c);
      }
    }
    await Deno.remove(stopFile).catch(() => {});
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

/** Per (rate, mode): medians and min–max over the runs. */
export interface SummaryRow {
  rate: number;
  mode: Mode;
  runs: number;
  sentPps: Stat;
  forwardedPps: Stat;
  fwdUsPerPkt: Stat;
  oursUsPerPkt: Stat;
  machineUsPerPkt: Stat;
  fwdCores: Stat;
  senderCores: Stat;
  ksoftirqdCores: Stat;
  machineBusy: Stat;
  /**
   * The whole forwarding cost, kernel included: median (sender + forwarder +
   * ksoftirqd) µs/pkt minus the same for `none` at this rate (null at the
   * unpaced rate, where the sender's rate differs between paths).
   */
  directorUsPerPkt: number | null;
}

export function summarize(all: RunResult[]): SummaryRow[] {
  const results = all.filter((r) => !r.invalid);
  const rows: SummaryRow[] = [];
  for (const rate of [...new Set(results.map((r) => r.rate))]) {
    const base = results.filter((r) => r.rate === rate && r.mode === "none");
    const baseUs = base.length ? median(base.map((r) => r.oursUsPerPkt)) : null;
    for (const mode of ["none", "packet", "xdp"] as const) {
      const rs = results.filter((r) => r.rate === rate && r.mode === mode);
      if (!rs.length) continue;
      const stat = (f: (r: RunResult) => number): Stat => {
        const v = rs.map(f);
        return { median: median(v), min: Math.min(...v), max: Math.max(...v) };
      };
      const ours = stat((r) => r.oursUsPerPkt);
      rows.push({
        rate,
        mode,
        runs: rs.length,
        sentPps: stat((r) => r.sentPps),
        forwardedPps: stat((r) => r.forwardedPps),
        fwdUsPerPkt: stat((r) => r.fwdUsPerPkt),
        oursUsPerPkt: ours,
        machineUsPerPkt: stat((r) => r.machineUsPerPkt),
        fwdCores: stat((r) => r.fwdCores),
        senderCores: stat((r) => r.senderCores),
        ksoftirqdCores: stat((r) => r.ksoftirqdCores),
        machineBusy: stat((r) => r.machineBusy),
        directorUsPerPkt: baseUs === null || mode === "none" || rate === 0 ? null : ours.median - baseUs,
      });
    }
  }
  return rows;
}

async function environment(lab: ProbeLab) {
  const offloads = await inNs(lab.fwd, ["ethtool", "-k", LAB.fwdIn]).catch((e) => String(e));
  const pick = (name: string) => offloads.match(new RegExp(`^${name}: (\\S+)`, "m"))?.[1] ?? "?";
  // Queues in use (ethtool -l "Current hardware settings"), not the allocated maximum.
  const channels = await inNs(lab.fwd, ["ethtool", "-l", LAB.fwdIn]).catch((e) => String(e));
  const current = channels.slice(channels.indexOf("Current"));
  return {
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    cpus: cpuCount(),
    fwdInGro: pick("generic-receive-offload"),
    fwdInTso: pick("tcp-segmentation-offload"),
    fwdInRxQueues: Number(current.match(/^RX:\s+(\d+)/m)?.[1] ?? NaN),
    fwdInTxQueues: Number(current.match(/^TX:\s+(\d+)/m)?.[1] ?? NaN),
  };
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

const rateName = (rate: number) => rate === 0 ? "max" : `${rate / 1000}k pps`;
const range = (x: Stat, d = 2) => `${fmt(x.median, d)} [${fmt(x.min, d)}-${fmt(x.max, d)}]`;

function report(args: Args, env: Record<string, unknown>, results: RunResult[]): string {
  const rows = summarize(results);
  const L: string[] = [];
  L.push(`# lvsd AF_XDP go/no-go probe (issue 6, step 1), ${new Date().toISOString()}`);
  L.push(
    `# kernel ${env.kernel}, deno ${env.deno} (V8 ${env.v8}), ${env.cpus} CPUs; ${args.runs} runs × ${args.seconds} s per row, paths alternated${
      args.pin ? "; sender pinned to CPU 0, forwarder to CPU 1" : ""
    }`,
  );
  L.push(
    `# xf0 (forwarder in): GRO ${env.fwdInGro}, TSO ${env.fwdInTso}, ${env.fwdInRxQueues} rx / ${env.fwdInTxQueues} tx queues in use; 64-byte UDP payload (106-byte frames)`,
  );
  L.push("#");
  L.push(
    "# fwd µs/pkt: the forwarder process's CPU (all threads, /proc/PID/task/*/schedstat) per frame counted at the sink.",
  );
  L.push("# ours µs/pkt: sender + forwarder + ksoftirqd CPU per frame (per frame sent for `none`).");
  L.push(
    "# director µs/pkt: ours minus ours of `none` (no forwarder) at the same rate: all the forwarding costs, kernel",
  );
  L.push("#   receive and transmit paths included, the sender's own UDP work taken out.");
  L.push(
    "# machine µs/pkt: /proc/stat busy time of all CPUs per frame, for reference only: tick-sampled (it under- and",
  );
  L.push("#   over-counts short bursts) and it includes other jobs on this shared machine.");
  L.push(
    `# A repetition (none, packet, xdp back to back) is measured again if in any of its runs other tasks used more than`,
  );
  L.push(
    `#   ${OTHERS_MAX_CORES} cores (schedstat of every task), the paced rate was not sent or not forwarded, or a process was gone.`,
  );
  L.push("");
  L.push(
    [
      "offered".padEnd(10),
      "path (runs)".padEnd(11),
      "sent pps".padStart(9),
      "forwarded pps [min-max]".padEnd(30),
      "fwd µs/pkt [min-max]".padEnd(22),
      "ours µs/pkt [min-max]".padEnd(23),
      "director µs/pkt".padStart(15),
      "fwd cores".padStart(9),
      "sender cores".padStart(12),
      "ksoftirqd".padStart(9),
      "machine µs/pkt (busy)".padStart(22),
    ].join(" "),
  );
  for (const r of rows) {
    L.push(
      [
        rateName(r.rate).padEnd(10),
        `${r.mode} (${r.runs})`.padEnd(11),
        fmt(r.sentPps.median, 0).padStart(9),
        (r.mode === "none" ? "-" : range(r.forwardedPps, 0)).padEnd(30),
        (r.mode === "none" ? "-" : range(r.fwdUsPerPkt)).padEnd(22),
        range(r.oursUsPerPkt).padEnd(23),
        (r.directorUsPerPkt === null ? "-" : fmt(r.directorUsPerPkt)).padStart(15),
        fmt(r.fwdCores.median).padStart(9),
        fmt(r.senderCores.median).padStart(12),
        fmt(r.ksoftirqdCores.median).padStart(9),
        `${fmt(r.machineUsPerPkt.median)} (${fmt(r.machineBusy.median * 100, 0)}%)`.padStart(22),
      ].join(" "),
    );
  }
  L.push("");
  L.push("Ratios xdp / packet (medians, same run):");
  for (const rate of [...new Set(rows.map((r) => r.rate))]) {
    const p = rows.find((r) => r.rate === rate && r.mode === "packet");
    const x = rows.find((r) => r.rate === rate && r.mode === "xdp");
    if (!p || !x) continue;
    const dir = p.directorUsPerPkt !== null && x.directorUsPerPkt !== null
      ? `, director µs/pkt ×${fmt(x.directorUsPerPkt / p.directorUsPerPkt)}`
      : "";
    L.push(
      `  ${rateName(rate)}: forwarded pps ×${fmt(x.forwardedPps.median / p.forwardedPps.median)}, fwd µs/pkt ×${
        fmt(x.fwdUsPerPkt.median / p.fwdUsPerPkt.median)
      }, ours µs/pkt ×${fmt(x.oursUsPerPkt.median / p.oursUsPerPkt.median)}${dir}`,
    );
  }
  L.push("");
  L.push("Ratios xdp / packet per repetition (each pair measured back to back), median [min-max]:");
  for (const rate of [...new Set(rows.map((r) => r.rate))]) {
    const valid = results.filter((r) => r.rate === rate && !r.invalid);
    const fwd: number[] = [], dir: number[] = [];
    for (const k of [...new Set(valid.map((r) => r.run))]) {
      const of = (m: Mode) => valid.find((r) => r.run === k && r.mode === m);
      const p = of("packet"), x = of("xdp"), n = of("none");
      if (!p || !x) continue;
      fwd.push(x.fwdUsPerPkt / p.fwdUsPerPkt);
      if (n) dir.push((x.oursUsPerPkt - n.oursUsPerPkt) / (p.oursUsPerPkt - n.oursUsPerPkt));
    }
    if (!fwd.length) continue;
    const st = (v: number[]) => `${fmt(median(v))} [${fmt(Math.min(...v))}-${fmt(Math.max(...v))}]`;
    L.push(
      `  ${rateName(rate)}: fwd µs/pkt ×${st(fwd)}${
        dir.length ? `, director µs/pkt ×${st(dir)}` : ""
      } (${fwd.length} pairs)`,
    );
  }
  L.push("");
  const paced = [...new Set(rows.map((r) => r.rate))].filter((r) => r > 0).map((rate) => ({
    rate,
    p: rows.find((r) => r.rate === rate && r.mode === "packet"),
    x: rows.find((r) => r.rate === rate && r.mode === "xdp"),
  })).filter((c) => c.p?.directorUsPerPkt != null && c.x?.directorUsPerPkt != null);
  if (paced.length) {
    const wins = paced.every((c) =>
      c.x!.directorUsPerPkt! < c.p!.directorUsPerPkt! && c.x!.fwdUsPerPkt.median < c.p!.fwdUsPerPkt.median
    );
    const how = paced.map((c) =>
      `${rateName(c.rate)}: director ${fmt(c.x!.directorUsPerPkt!)} vs ${fmt(c.p!.directorUsPerPkt!)} µs/pkt (×${
        fmt(c.x!.directorUsPerPkt! / c.p!.directorUsPerPkt!)
      }), forwarder process ${fmt(c.x!.fwdUsPerPkt.median)} vs ${fmt(c.p!.fwdUsPerPkt.median)} (×${
        fmt(c.x!.fwdUsPerPkt.median / c.p!.fwdUsPerPkt.median)
      })`
    ).join("; ");
    L.push(
      wins
        ? `Verdict: GO. AF_XDP forwards for less CPU per packet than AF_PACKET at every paced rate: ${how}.`
        : `Verdict: NO-GO. AF_XDP does not use less CPU per forwarded packet than AF_PACKET at every paced rate: ${how}.`,
    );
    L.push("");
  }
  L.push("Per run (frames/wake: frames per loop pass that had frames; idle: machine busy in the second before):");
  for (const r of results) {
    const f = r.forwarder as Record<string, number> & { rxSocket?: Record<string, number> };
    const passes = f.loops - f.polls;
    const io = r.mode === "xdp"
      ? `, kicks ${f.kicks} (EAGAIN ${f.kickEagain}), tx need_wakeup set ${f.txNeedWakeupSeen}/${
        f.txNeedWakeupSeen + f.txNoWakeupSeen
      }, fill need_wakeup ${f.fillNeedWakeupSeen}, polls ${f.polls} (timeouts ${f.pollTimeouts}, woke to an empty ring ${f.pollEmpty}, errors ${f.pollErrors}), rx ring full ${f.rxSocket?.rxRingFull}, fill empty ${f.rxSocket?.rxFillRingEmptyDescs}`
      : r.mode === "packet"
      ? `, tx dropped ${f.txDropped}, rx dropped by the kernel ${f.rxDroppedKernel}`
      : "";
    L.push(
      `  ${rateName(r.rate).padEnd(8)} ${r.mode.padEnd(6)} #${r.run}: sent ${fmt(r.sentPps, 0)} pps, forwarded ${
        fmt(r.forwardedPps, 0)
      } pps; CPU fwd ${fmt(r.fwdCores)} + sender ${fmt(r.senderCores)} + ksoftirqd ${fmt(r.ksoftirqdCores)} cores = ${
        fmt(r.oursUsPerPkt)
      } µs/pkt (fwd ${fmt(r.fwdUsPerPkt)}); other tasks ${fmt(r.othersCores)} cores; machine ${
        fmt(r.machineBusy * 100, 0)
      }% busy (idle before ${fmt(r.idleBefore * 100, 0)}%)${
        r.mode === "none" ? "" : `; frames/wake ${fmt(f.rx / Math.max(1, passes), 1)}`
      }${io}${r.stray ? `; STRAY ${r.stray}` : ""}${r.invalid ? `; EXCLUDED: ${r.invalid}` : ""}`,
    );
  }
  const first = (m: Mode) => (results.find((r) => r.mode === m)?.forwarder as { firstFrame?: string })?.firstFrame;
  L.push("");
  L.push("First frame each path received (hex, before the rewrite):");
  L.push(`  packet (vnet hdr + frame): ${first("packet") ?? "-"}`);
  L.push(`  xdp (frame):               ${first("xdp") ?? "-"}`);
  return L.join("\n") + "\n";
}

async function main() {
  if (Deno.uid() !== 0) throw new Error("Cannot run the probe: it needs root (network namespaces, BPF, AF_XDP)");
  const args = parseArgs(Deno.args);
  const stopAll = () => {
    for (const c of live) c.kill();
  };
  Deno.addSignalListener("SIGINT", stopAll);
  Deno.addSignalListener("SIGTERM", stopAll);
  try {
    await withProbeLab(async (lab) => {
      const env = await environment(lab);
      const results: RunResult[] = [];
      for (const rate of args.rates) {
        for (let k = 0; k < args.runs; k++) {
          const paths: Mode[] = k % 2 === 0 ? ["packet", "xdp"] : ["xdp", "packet"];
          const order: Mode[] = rate === 0 ? paths : ["none", ...paths];
          for (let attempt = 0, valid = false; !valid && attempt < 4; attempt++) {
            // The paths of one repetition are measured back to back; if any
            // of them is invalid, the whole repetition is measured again (at
            // most three times), so each pair stays a same-conditions comparison.
            const batch: RunResult[] = [];
            for (const mode of order) batch.push(await measure(args, lab, mode, rate, k + 1));
            valid = batch.every((r) => !r.invalid);
            if (!valid) {
              const why = batch.filter((r) => r.invalid).map((r) => `${r.mode}: ${r.invalid}`).join("; ");
              for (const r of batch) r.invalid ||= `repeated with its repetition (${why})`;
            }
            results.push(...batch);
          }
          for (const r of results.filter((r) => r.rate === rate && r.run === k + 1)) {
            console.error(
              `${rateName(rate)} ${r.mode} #${k + 1}: sent ${fmt(r.sentPps, 0)} pps, forwarded ${
                fmt(r.forwardedPps, 0)
              } pps, fwd ${fmt(r.fwdUsPerPkt)} µs/pkt, ours ${fmt(r.oursUsPerPkt)} µs/pkt, machine ${
                fmt(r.machineBusy * 100, 0)
              }% busy (idle before ${fmt(r.idleBefore * 100, 0)}%)${r.invalid ? `; INVALID: ${r.invalid}` : ""}`,
            );
          }
        }
      }
      const text = report(args, env, results);
      console.log(text);
      await Deno.writeTextFile(`${args.out}.txt`, text);
      await Deno.writeTextFile(
        `${args.out}.json`,
        JSON.stringify({ args, env, summary: summarize(results), runs: results }, null, 2) + "\n",
      );
      console.error(`wrote ${args.out}.txt and ${args.out}.json`);
    });
  } finally {
    stopAll();
    Deno.removeSignalListener("SIGINT", stopAll);
    Deno.removeSignalListener("SIGTERM", stopAll);
  }
}

if (import.meta.main) await main();
