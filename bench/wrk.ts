/**
 * Running wrk in the lab's client namespace and reading its result.
 *
 * wrk gets a Lua `done()` hook that prints its summary as one JSON line
 * (requests, bytes, duration, errors, latency percentiles), and runs under
 * `bash -c '...; times'` so the CPU time wrk itself used is known exactly.
 *
 * @module
 */
import type { Lab } from "../src/lab/lab.ts";

/** What one wrk run did. */
export interface WrkResult {
  requests: number;
  bytes: number;
  seconds: number;
  errors: {
    connect: number;
    read: number;
    write: number;
    status: number;
    timeout: number;
  };
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** CPU seconds wrk used (user + system). */
  wrkCpu: number;
}

/** The Lua hook that prints wrk's summary as a JSON line. */
export const DONE_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean,
    latency.max))
end
`;

/** Options of {@link runWrk}. */
export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Extra headers, e.g. `Connection: close`. */
  headers?: string[];
  /** Path of the Lua file holding {@link DONE_LUA}. */
  script: string;
}

function seconds(t: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/** Runs one wrk (`-t 1`) in the client namespace. */
export async function runWrk(lab: Lab, o: WrkOptions): Promise<WrkResult> {
  const args = [
    "-t",
    "1",
    "-c",
    String(o.connections),
    "-d",
    `${o.seconds}s`,
    "--timeout",
    "2s",
    "--latency",
    "-s",
    o.script,
    ...(o.headers ?? []).flatMap((h) => ["-H", h]),
    o.url,
  ];
  const r = await execTimed(lab, lab.ns.client, ["wrk", ...args], {
    timeoutMs: (o.seconds + 15) * 1000,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("BENCHJSON "));
  if (r.code !== 0 || !line) {
    throw new Error(
      `wrk ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  const j = JSON.parse(line.slice("BENCHJSON ".length));
  return {
    requests: j.requests,
    bytes: j.bytes,
    seconds: j.duration_us / 1e6,
    errors: {
      connect: j.connect,
      read: j.read,
      write: j.write,
      status: j.status,
      timeout: j.timeout,
    },
    p50Ms: j.p50_us / 1000,
    p99Ms: j.p99_us / 1000,
    meanMs: j.mean_us / 1000,
    maxMs: j.max_us / 1000,
    wrkCpu: r.cpu,
  };
}

/**
 * Runs a command in a lab namespace under `bash -c '...; times'` and returns
 * its output plus the CPU seconds (user + system) it and its children used.
 */
export async function execTimed(
  lab: Lab,
  ns: string,
  argv: string[],
  opts: { timeoutMs: number },
): Promise<{ code: number; stdout: string; stderr: string; cpu: number }> {
  const r = await lab.exec(ns, [
    "bash",
    "-c",
    '"$@"; rc=$?; echo BENCHTIMES; times; exit $rc',
    "bash",
    ...argv,
  ], opts);
  // `times` prints the shell's and then the children's user/system times.
  const [out, t = ""] = r.stdout.split("BENCHTIMES\n");
  const [u, s] = (t.trim().split("\n")[1] ?? "").split(/\s+/).map(seconds);
  return { code: r.code, stdout: out, stderr: r.stderr, cpu: u + s };
}
