/**
 * Summaries of the benchmark's runs: median/min/max per variant and
 * workload, the printed table (with ratios to `direct` and `nft-nat`) and
 * the rows of bench/results/latest.json.
 *
 * @module
 */

/** One measured run of one variant and workload. */
export interface Run {
  /** The measured value (req/s, conn/s, MB/s, pps). */
  value: number;
  /** Machine CPU (all cores, incl. softirq) per request/packet, µs. */
  cpuUsPerReq: number;
  /** Machine busy fraction over the run (0..1 of all cores). */
  machineBusy: number;
  /** CPU of the wrk/flood process in cores (wrk only). */
  clientCores?: number;
  /** CPU of the userspace director process in cores (lvsd, haproxy). */
  directorCores?: number;
  /** What the client offered (UDP: datagrams/s sent). */
  offered?: number;
  p50Ms?: number;
  p99Ms?: number;
  errors?: number;
  /** TCP segments retransmitted in the client, director and server namespaces. */
  retrans?: number;
  /** SYNs the client retransmitted. */
  synRetrans?: number;
  /** SYN-ACKs the servers (and haproxy) retransmitted. */
  synAckRetrans?: number;
  /** Connections dropped at a full listen queue (all namespaces). */
  listenDrops?: number;
  /** Machine busy fraction just before the run (other load on the box). */
  background: number;
}

/** A workload the benchmark runs. */
export interface Workload {
  name: string;
  unit: string;
  what: string;
}

/** A row of latest.json. */
export interface ResultRow {
  variant: string;
  workload: string;
  median: number | null;
  min: number | null;
  max: number | null;
  unit: string;
  runs?: number;
  cpu_us_per_req?: number;
  machine_busy?: number;
  client_cores?: number;
  director_cores?: number;
  offered?: number;
  delivered_ratio?: number;
  p50_ms?: number;
  p99_ms?: number;
  errors?: number;
  ratio_to_direct?: number | null;
  ratio_to_nft_nat?: number | null;
  notes?: string;
  [extra: string]: unknown;
}

/** Median of the values (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const p = Math.pow(10, Math.max(0, digits - Math.ceil(Math.log10(Math.abs(x) || 1))));
  return Math.round(x * p) / p;
}

/**
 * Flags a workload's runs: when wrk used ≥ 0.9 of a core while the machine
 * had CPU to spare the client was the limit, not the path under test.
 */
export function flags(runs: Run[], udp: boolean): string[] {
  const out: string[] = [];
  const busy = median(runs.map((r) => r.machineBusy));
  const client = runs.some((r) => r.clientCores !== undefined)
    ? median(runs.map((r) => r.clientCores ?? 0))
    : undefined;
  if (busy >= 0.9) out.push(`machine CPU saturated (${pct(busy)})`);
  // (For UDP the offered/delivered note below says it better.)
  if (!udp && client !== undefined && client >= 0.9) {
    out.push(busy < 0.9 ? `client-bound (wrk ${pct(client)} of a core)` : `wrk ${pct(client)} of a core`);
  }
  if (udp) {
    const o = median(runs.map((r) => r.offered ?? 0));
    const v = median(runs.map((r) => r.value));
    if (o > 0) {
      out.push(
        `offered ${fmt(o)} pps, delivered ${pct(v / o)}` +
          (v / o >= 0.99 ? " (sender-bound)" : ""),
      );
    }
  }
  const errs = runs.reduce((a, r) => a + (r.errors ?? 0), 0);
  if (errs) out.push(`${errs} wrk errors`);
  const noisy = runs.filter((r) => r.background > 0.15).length;
  if (noisy) {
    out.push(
      `NOISY: machine busy before ${noisy}/${runs.length} runs (other load)`,
    );
  }
  const sum = (k: "retrans" | "synRetrans" | "synAckRetrans" | "listenDrops") =>
    runs.reduce((a, r) => a + (r[k] ?? 0), 0);
  if (sum("retrans")) {
    out.push(
      `${sum("retrans")} TCP retransmits (${sum("synRetrans")} SYN, ${sum("synAckRetrans")} SYN-ACK)` +
        (sum("listenDrops") ? `, ${sum("listenDrops")} listen drops` : ""),
    );
  }
  return out;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** A number for the table: thousands separated, 3 significant digits below 100. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  return String(round(x, 3));
}

/** Summarises the runs of one variant and workload into a row. */
export function summarise(
  variant: string,
  w: Workload,
  runs: Run[],
  udp: boolean,
): ResultRow {
  if (runs.length === 0) {
    return {
      variant,
      workload: w.name,
      median: null,
      min: null,
      max: null,
      unit: w.unit,
      notes: "n/a",
    };
  }
  const vals = runs.map((r) => r.value);
  const row: ResultRow = {
    variant,
    workload: w.name,
    median: round(median(vals), 4),
    min: round(Math.min(...vals), 4),
    max: round(Math.max(...vals), 4),
    unit: w.unit,
    runs: runs.length,
    cpu_us_per_req: round(median(runs.map((r) => r.cpuUsPerReq))),
    machine_busy: round(median(runs.map((r) => r.machineBusy))),
    background_busy_max: round(Math.max(...runs.map((r) => r.background))),
  };
  const opt = (k: keyof Run) => {
    const xs = runs.map((r) => r[k]).filter((x) => typeof x === "number");
    return xs.length ? round(median(xs as number[])) : undefined;
  };
  const set = (name: string, v: number | undefined) => {
    if (v !== undefined) row[name] = v;
  };
  set("client_cores", opt("clientCores"));
  set("director_cores", opt("directorCores"));
  // The director process's own CPU per request (per MB for bulk): what DR
  // and tunnelling save against NAT, where replies cross the director too.
  const perReq = runs.map((r) => r.directorCores !== undefined && r.value ? r.directorCores * 1e6 / r.value : NaN)
    .filter((x) => !Number.isNaN(x));
  if (perReq.length) row.director_us_per_req = round(median(perReq));
  set("offered", opt("offered"));
  set("p50_ms", opt("p50Ms"));
  set("p99_ms", opt("p99Ms"));
  const total = (k: "errors" | "retrans" | "synRetrans" | "synAckRetrans" | "listenDrops") =>
    runs.reduce((a, r) => a + (r[k] ?? 0), 0);
  if (runs.some((r) => r.errors !== undefined)) {
    row.errors = total("errors");
    row.tcp_retransmits = total("retrans");
    row.tcp_syn_retransmits = total("synRetrans");
    row.tcp_synack_retransmits = total("synAckRetrans");
    row.listen_drops = total("listenDrops");
  }
  if (row.offered) row.delivered_ratio = round((row.median ?? 0) / row.offered);
  const f = flags(runs, udp);
  if (f.length) row.notes = f.join("; ");
  row.raw = runs.map((r) => round(r.value, 4));
  return row;
}

/** Fills in ratio_to_direct and ratio_to_nft_nat for every row. */
export function addRatios(rows: ResultRow[]): void {
  for (const r of rows) {
    const base = (v: string) => rows.find((x) => x.variant === v && x.workload === r.workload)?.median;
    const ratio = (b: number | null | undefined) => r.median !== null && b ? round(r.median / b) : null;
    r.ratio_to_direct = ratio(base("direct"));
    r.ratio_to_nft_nat = ratio(base("nft-nat"));
  }
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The printed table: one block per workload, one line per variant. */
export function table(
  workloads: Workload[],
  variants: string[],
  rows: ResultRow[],
): string {
  const out: string[] = [];
  for (const w of workloads) {
    out.push("");
    out.push(`${w.name}: ${w.unit} — ${w.what}`);
    const latency = rows.some((r) => r.workload === w.name && r.p50_ms);
    out.push(
      "  " + pad("variant", 9) + pad("median", 11, true) +
        pad("[min – max]", 24, true) + pad("×direct", 9, true) +
        pad("×nft", 7, true) + pad("CPU µs/req", 12, true) + pad("dir µs/req", 12, true) +
        (latency ? pad("p50 ms", 8, true) + pad("p99 ms", 8, true) : "") +
        "  notes",
    );
    for (const v of variants) {
      const r = rows.find((x) => x.variant === v && x.workload === w.name);
      if (!r) continue;
      const range = r.median === null ? "" : `[${fmt(r.min)} – ${fmt(r.max)}]`;
      const x = (q: number | null | undefined) => q === null || q === undefined ? "–" : q.toFixed(2);
      out.push(
        "  " + pad(v, 9) + pad(fmt(r.median), 11, true) +
          pad(range, 24, true) + pad(x(r.ratio_to_direct), 9, true) +
          pad(x(r.ratio_to_nft_nat), 7, true) +
          pad(r.median === null ? "" : fmt(r.cpu_us_per_req), 12, true) +
          pad(typeof r.director_us_per_req === "number" ? fmt(r.director_us_per_req) : "", 12, true) +
          (latency
            ? pad(r.p50_ms ? fmt(r.p50_ms) : "", 8, true) +
              pad(r.p99_ms ? fmt(r.p99_ms) : "", 8, true)
            : "") +
          (r.notes ? `  ${r.notes}` : ""),
      );
    }
  }
  return out.join("\n");
}
