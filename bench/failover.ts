/**
 * `deno task bench:failover` (also run at the end of `deno task bench`):
 * the failover gap of a two-director lvsd cluster, in the HA lab.
 *
 *     deno run -A bench/failover.ts [--runs 3] [--conns 50] [--out bench/results/NAME]
 *
 * Each run builds the HA lab (tests/e2e/vrrp_lab.ts: one VRRP instance,
 * advert_int 0.5 s, holding the VIP and the servers' gateway; keepalived's
 * lvs_sync_daemon following it), holds `--conns` paced downloads open
 * through the master, waits until the backup has all of them, SIGKILLs the
 * master and measures:
 *
 * - gap: from the kill to the first TCP frame the backup forwards to a real
 *   server (seen on its port of the servers' bridge by first_frame.py);
 * - takeover: from the kill to the backup's VRRP MASTER transition;
 * - survivors: downloads that complete with the right length and sha256.
 *
 * Prints median and [min – max] over the runs and writes JSON. Every lab,
 * process and temp file is removed on every exit path; each run is bounded.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Ha, MASTER, TO_BACKUP, withHa } from "../tests/e2e/vrrp_lab.ts";
import type { ConnectionPage } from "../src/api/model.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FIRST_FRAME = `${ROOT}bench/first_frame.py`;

interface RunResult {
  gapMs: number | null;
  takeoverMs: number;
  survived: number;
  conns: number;
  reasons: Record<string, number>;
  syncedMs: number;
}

async function allSynced(ha: Ha, ports: number[], ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const page = await ha.get(1, "/v1/connections?limit=10000") as ConnectionPage;
    const have = new Set(page.items.map((c) => c.client_port));
    if (ports.every((p) => have.has(p))) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`the backup lacks connections after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function oneRun(conns: number): Promise<RunResult> {
  let out!: RunResult;
  await withHa(async (ha) => {
    await ha.start(0, { priority: 150, sync: true });
    await ha.start(1, { priority: 100, sync: true });
    await ha.waitCount(0, MASTER, 1, 15000);
    await ha.waitCount(1, TO_BACKUP, 1, 10000);
    await ha.waitCount(1, /lvs_sync_daemon: backup/, 1, 5000);
    // 512 KiB at 32 KiB/s: 16 s per download, so all are mid-transfer at the kill.
    const d = await ha.lab.startDownloads({ count: conns, bytes: 512 * 1024, rate: 32 * 1024, timeoutMs: 90000 });
    const syncedMs = await allSynced(ha, d.ports, 10000);
    const backupMac = await ha.lab.mac(ha.directors[1], "int0");
    const watch = ha.lab.spawn(ha.lab.ns.lan, ["python3", FIRST_FRAME, "dir2", backupMac, "30"]);
    await watch.waitFor(/^ready$/m, 5000);
    const killedAt = await ha.kill(0);
    await ha.waitCount(1, MASTER, 1, 10000);
    const takeoverMs = (await ha.masterSince(1)) - killedAt;
    const first = JSON.parse((await watch.output()).stdout.trim().split("\n").pop()!) as { t: number | null };
    const r = await d.done;
    out = {
      gapMs: first.t === null ? null : Math.round(first.t - killedAt),
      takeoverMs,
      survived: r.ok,
      conns,
      reasons: r.reasons,
      syncedMs,
    };
  });
  return out;
}

function stat(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return {
    median: s.length % 2 ? s[mid] : Math.round((s[mid - 1] + s[mid]) / 2),
    min: s[0],
    max: s[s.length - 1],
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      conns: { type: "string", default: "50" },
      out: { type: "string", default: `${ROOT}bench/results/latest-failover.json` },
    },
  });
  const runs = Number(values.runs);
  const conns = Number(values.conns);
  if (!(runs >= 1 && runs <= 10) || !(conns >= 1 && conns <= 500)) {
    console.error("usage: failover.ts [--runs 1..10] [--conns 1..500] [--out FILE]");
    return 2;
  }
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun(conns);
    console.log(
      `failover run ${i + 1}/${runs}: gap ${r.gapMs ?? "none"} ms, takeover ${r.takeoverMs} ms, ` +
        `${r.survived}/${r.conns} connections survived ${JSON.stringify(r.reasons)}`,
    );
    results.push(r);
  }
  const gaps = results.map((r) => r.gapMs).filter((g): g is number => g !== null);
  const g = gaps.length ? stat(gaps) : null;
  const t = stat(results.map((r) => r.takeoverMs));
  const s = stat(results.map((r) => r.survived));
  const lines = [
    `failover (HA lab, advert_int 0.5 s, priorities 150/100, lvs_sync_daemon, ${conns} downloads held open, ${runs} runs)`,
    `  gap: SIGKILL of the master -> first packet forwarded by the backup: ${
      g ? `median ${g.median} ms [${g.min} – ${g.max}]` : "never seen"
    }${gaps.length < runs ? ` (${runs - gaps.length} runs saw none)` : ""}`,
    `  VRRP takeover (backup MASTER): median ${t.median} ms [${t.min} – ${t.max}]`,
    `  connections surviving: median ${s.median}/${conns} [${s.min} – ${s.max}]`,
  ];
  console.log(lines.join("\n"));
  await Deno.writeTextFile(
    values.out,
    JSON.stringify({ date: new Date().toISOString(), conns, runs: results }, null, 2),
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
