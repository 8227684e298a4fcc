/**
 * `deno task demo`: lvsd balancing a lab in under a minute.
 *
 * Builds a lab, starts the three real servers, starts lvsd in the director
 * namespace with config/demo.yaml, sends 60 HTTP requests (one connection
 * each) and 30 UDP datagrams (one client port each) from the client to the
 * VIP, prints how they were spread against what the weights predict, prints
 * lvsd's status file, stops lvsd with SIGTERM and removes the lab. Nothing is
 * left behind on success, failure or Ctrl-C.
 *
 * Exit code 0 when every request was answered and the spread matches the
 * weights exactly, 1 otherwise.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { Lab, labInterrupted, type LabProcess, REAL_SERVER_ADDRS, VIP } from "./lab.ts";
import type { HttpClientResult } from "./http_client.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const DEADLINE_MS = 55000;
const READY_TIMEOUT_MS = 20000;
/** The status file lists every connection; show its head only. */
const STATUS_LINES = 45;

/** Weights per real server (rs1..rs3) of the first service matching proto/port. */
function configWeights(
  config: unknown,
  proto: string,
  port: number,
): number[] | undefined {
  const services = (config as { services?: unknown[] })?.services;
  if (!Array.isArray(services)) return undefined;
  const svc = services.find((s) => {
    const o = s as Record<string, unknown>;
    return o?.proto === proto && Number(o?.port) === port;
  }) as { dests?: { address?: string; weight?: number }[] } | undefined;
  if (!svc || !Array.isArray(svc.dests)) return undefined;
  return REAL_SERVER_ADDRS.map((a) => {
    const d = svc.dests!.find((d) => d?.address === a);
    return d ? Number(d.weight ?? 1) : 0;
  });
}

function expected(weights: number[], n: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => total ? Math.round((n * w) / total) : 0);
}

function table(
  title: string,
  names: readonly string[],
  weights: number[],
  result: HttpClientResult,
  count: number,
): boolean {
  const want = expected(weights, count);
  const got = names.map((n) => result.byBody[n] ?? 0);
  const other = Object.entries(result.byBody).filter(([k]) => !names.includes(k));
  const ok = result.failed === 0 && other.length === 0 &&
    want.every((w, i) => w === got[i]);
  console.log(`\n${title}`);
  console.log("  server  weight  expected  actual");
  names.forEach((n, i) => {
    console.log(
      `  ${n.padEnd(6)}  ${String(weights[i]).padStart(6)}  ${String(want[i]).padStart(8)}  ${
        String(got[i]).padStart(6)
      }  ${"#".repeat(got[i])}`,
    );
  });
  for (const [k, v] of other) console.log(`  other: ${k} × ${v}`);
  const ratio = got.join(":");
  console.log(
    `  ${result.ok} ok, ${result.failed} failed in ${result.ms} ms; ` +
      `ratio ${ratio} (expected ${want.join(":")}): ${ok ? "as expected" : "MISMATCH"}`,
  );
  for (const [e, n] of Object.entries(result.errors)) {
    console.log(`  error × ${n}: ${e}`);
  }
  return ok;
}

async function statusFileAfter(path: string, since: number): Promise<string> {
  // lvsd rewrites the file every second: wait for a copy newer than the load.
  const until = Date.now() + 2500;
  while (Date.now() < until) {
    try {
      const st = await Deno.stat(path);
      if ((st.mtime?.getTime() ?? 0) >= since) {
        return await Deno.readTextFile(path);
      }
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return (await Deno.readTextFile(path)) +
      "\n(note: not rewritten since the requests)";
  } catch {
    return "(lvsd wrote no status file)";
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      // For trying the demo against another program (e.g. a stand-in).
      main: { type: "string", default: "src/main.ts" },
      config: { type: "string", default: "config/demo.yaml" },
      requests: { type: "string", default: "60" },
      datagrams: { type: "string", default: "30" },
    },
  });
  if (Deno.uid() !== 0) {
    console.error("lvsd demo: must run as root (network namespaces)");
    return 1;
  }
  const requests = Number(values.requests);
  const datagrams = Number(values.datagrams);
  const configPath = `${ROOT}${values.config}`;
  let config: unknown;
  try {
    config = parseYaml(await Deno.readTextFile(configPath));
  } catch (e) {
    console.error(`lvsd demo: Cannot read ${configPath}: ${e}`);
    return 1;
  }
  const httpWeights = configWeights(config, "tcp", 80) ?? [1, 2, 3];
  const udpWeights = configWeights(config, "udp", 7);

  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1) + " s";
  const lab = await Lab.up();
  const watchdog = setTimeout(() => {
    console.error(
      `lvsd demo: still running after ${DEADLINE_MS / 1000} s: giving up`,
    );
    lab.down().finally(() => Deno.exit(1));
  }, DEADLINE_MS);
  let lvsd: LabProcess | undefined;
  try {
    console.log(
      `lvsd demo: lab ${lab.prefix} up: client ${lab.addr.client} → VIP ${VIP} → ` +
        `director (${lab.ns.director}) → ${lab.serverNames.length} real servers ` +
        `${lab.addr.servers.join(", ")} (${secs()})`,
    );
    await lab.startRealServers();
    console.log(`lvsd demo: real servers ready (${secs()})`);

    const statusFile = `/tmp/lvsd-demo-${lab.prefix}.txt`;
    const demoDir = await Deno.makeTempDir({ prefix: `lvsd-demo-${lab.prefix}-` });
    lab.onDown(async () => {
      await Deno.remove(statusFile).catch(() => {});
      await Deno.remove(demoDir, { recursive: true }).catch(() => {});
    });
    const argv = [
      lab.deno,
      "run",
      "-A",
      "--cached-only",
      values.main,
      "--config",
      values.config,
      "--status-file",
      statusFile,
      // The demo's own state and token, gone with the lab.
      "--state-file",
      `${demoDir}/state.yaml`,
      "--token-file",
      `${demoDir}/admin.token`,
    ];
    console.log(
      `lvsd demo: starting in ${lab.ns.director}: ${argv.slice(1).join(" ")}`,
    );
    lvsd = lab.spawn(lab.ns.director, argv, { cwd: ROOT, echo: "  lvsd │ " });
    await lvsd.waitFor("lvsd: ready", READY_TIMEOUT_MS);
    console.log(`lvsd demo: lvsd is ready (${secs()})`);

    console.log(
      `lvsd demo: ${requests} HTTP requests to http://${VIP}/, one connection each`,
    );
    const http = await lab.runHttpClient([
      "--url",
      `http://${VIP}/`,
      "--count",
      String(requests),
      "--concurrency",
      "1",
      "--close",
      "--timeout-ms",
      "20000",
      "--request-timeout-ms",
      "3000",
    ]);
    let ok = table(
      `HTTP ${VIP}:80 (wrr)`,
      lab.serverNames,
      httpWeights,
      http,
      requests,
    );
    if (udpWeights && datagrams > 0) {
      const udp = await lab.runHttpClient([
        "--udp",
        `${VIP}:7`,
        "--count",
        String(datagrams),
        "--timeout-ms",
        "8000",
        "--request-timeout-ms",
        "1000",
      ]);
      ok = table(
        `UDP ${VIP}:7 (one client port per datagram)`,
        lab.serverNames,
        udpWeights,
        udp,
        datagrams,
      ) && ok;
    }
    const loadDone = Date.now();
    console.log(`\nlvsd status file ${statusFile}:`);
    const status = await statusFileAfter(statusFile, loadDone);
    const lines = status.trimEnd().split("\n");
    for (const l of lines.slice(0, STATUS_LINES)) console.log(`  ${l}`);
    if (lines.length > STATUS_LINES) {
      console.log(`  … ${lines.length - STATUS_LINES} more lines in the file`);
    }

    // The operator's view: ipvsadm's listing, through the admin API.
    const admArgs = ["-L", "-n", "--stats"];
    console.log(`\nlvsd demo: lvsadm ${admArgs.join(" ")} (lvsd adm: ipvsadm's commands over the admin API):`);
    const adm = await lab.exec(lab.ns.director, [
      lab.deno,
      "run",
      "-A",
      "--cached-only",
      values.main,
      "adm",
      "--token-file",
      `${demoDir}/admin.token`,
      ...admArgs,
    ], { cwd: ROOT });
    for (const l of adm.stdout.trimEnd().split("\n")) console.log(`  ${l}`);
    if (adm.code !== 0) {
      console.error(`lvsd demo: lvsadm failed (exit ${adm.code}): ${adm.stderr.trim()}`);
      ok = false;
    }

    const st = await lvsd.stop(5000);
    console.log(
      `\nlvsd demo: lvsd stopped with SIGTERM: ${
        st.signal ? `killed by ${st.signal}` : `exit code ${st.code}`
      } (${secs()})`,
    );
    // A clean exit, or the default action of SIGTERM, both count as stopped.
    if (!(st.code === 0 || st.signal === "SIGTERM")) ok = false;
    return ok ? 0 : 1;
  } catch (e) {
    const sig = labInterrupted();
    if (sig) {
      console.error(`lvsd demo: interrupted (${sig})`);
      return sig === "SIGINT" ? 130 : 143;
    }
    console.error(`lvsd demo: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    await lab.down();
    console.log(`lvsd demo: lab ${lab.prefix} removed (${secs()})`);
  }
}

if (import.meta.main) Deno.exit(await main());
