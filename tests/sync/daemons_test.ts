/**
 * The sync roles of a director (src/sync/daemons.ts) with a fake daemon
 * factory: run-time starts and stops (what VRRP will drive) survive
 * unrelated reloads, a changed block restarts its role, a failed start
 * leaves the role as it was, concurrent starts never leave a daemon
 * running unaccounted for.
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { type SyncDaemonHandle, SyncDaemons } from "../../src/sync/daemons.ts";
import { NO_SYNC_DAEMONS, SYNC_DEFAULTS, type SyncDaemonConfig, type SyncRole } from "../../src/sync/config.ts";

function cfg(over: Partial<SyncDaemonConfig> = {}): SyncDaemonConfig {
  return { ...SYNC_DEFAULTS, mcastInterface: "int0", ...over };
}

/** A factory whose daemons record their life; `failOn` interfaces refuse to start; starts take `delayMs`. */
function fakes(failOn = new Set<string>(), delayMs = 0) {
  const alive = new Set<string>();
  const log: string[] = [];
  let n = 0;
  const factory = async (role: SyncRole, c: SyncDaemonConfig): Promise<SyncDaemonHandle> => {
    await new Promise((r) => setTimeout(r, delayMs));
    if (failOn.has(c.mcastInterface)) throw new Error(`Cannot use interface "${c.mcastInterface}"`);
    const id = `${role}#${++n}(${c.mcastInterface},${c.syncid})`;
    alive.add(id);
    log.push(`start ${id}`);
    return {
      config: { ...c, maxlen: c.maxlen ?? 1472 },
      stats: { datagrams: 0, conns: 0, bytes: 0, send_errors: 0, stale: 0 },
      stop() {
        alive.delete(id);
        log.push(`stop ${id}`);
      },
    };
  };
  return { factory, alive, log };
}

Deno.test("sync roles: a run-time start is not undone by a reload that leaves sync_daemon as it was", async () => {
  const f = fakes();
  const d = new SyncDaemons(f.factory);
  await d.start("master", cfg({ syncid: 3 })); // e.g. VRRP became master
  const notes: string[] = [];
  await d.applyChange(NO_SYNC_DAEMONS, NO_SYNC_DAEMONS, notes); // an unrelated edit
  deepStrictEqual([notes, [...f.alive]], [[], ["master#1(int0,3)"]]);
  // The same start again changes nothing; another config replaces it.
  await d.start("master", cfg({ syncid: 3 }));
  await d.start("master", cfg({ syncid: 4 }));
  deepStrictEqual([...f.alive], ["master#2(int0,4)"]);
  deepStrictEqual(d.status().map((s) => [s.role, s.config.syncid, s.config.maxlen]), [["master", 4, 1472]]);
  strictEqual(d.stop("master"), true);
  strictEqual(d.stop("master"), false);
  deepStrictEqual([...f.alive], []);
});

Deno.test("sync roles: a changed block starts, restarts or stops its role only", async () => {
  const f = fakes();
  const d = new SyncDaemons(f.factory);
  const notes: string[] = [];
  await d.applyChange(NO_SYNC_DAEMONS, { master: null, backup: cfg() }, notes);
  await d.start("master", cfg({ syncid: 9 })); // run time
  await d.applyChange({ master: null, backup: cfg() }, { master: null, backup: cfg({ syncid: 2 }) }, notes);
  deepStrictEqual(notes, ["backup sync daemon: started", "backup sync daemon: started"]);
  deepStrictEqual([...f.alive].sort(), ["backup#3(int0,2)", "master#2(int0,9)"]);
  await d.applyChange({ master: null, backup: cfg({ syncid: 2 }) }, NO_SYNC_DAEMONS, notes);
  deepStrictEqual(notes.at(-1), "backup sync daemon: stopped");
  deepStrictEqual([...f.alive], ["master#2(int0,9)"]);
  // The backup's replacement listened before the old one went (shared port).
  deepStrictEqual(f.log.slice(0, 4), [
    "start backup#1(int0,0)",
    "start master#2(int0,9)",
    "start backup#3(int0,2)",
    "stop backup#1(int0,0)",
  ]);
});

Deno.test("sync roles: a start that fails leaves the role as it was", async () => {
  const f = fakes(new Set(["nosuch0"]));
  const d = new SyncDaemons(f.factory);
  await d.start("master", cfg());
  await d.start("backup", cfg());
  await rejects(d.start("master", cfg({ mcastInterface: "nosuch0" })), /nosuch0/);
  await rejects(d.start("backup", cfg({ mcastInterface: "nosuch0" })), /nosuch0/);
  await rejects(d.applyChange(NO_SYNC_DAEMONS, { master: null, backup: cfg({ mcastInterface: "nosuch0" }) }, []));
  // The master was restarted with its old config; the backup never stopped.
  deepStrictEqual(d.status().map((s) => [s.role, s.config.mcastInterface]), [["master", "int0"], ["backup", "int0"]]);
  strictEqual(f.alive.size, 2);
});

Deno.test("sync roles: concurrent starts run one at a time; close waits for one under way and stops all", async () => {
  const f = fakes(new Set(), 20);
  const d = new SyncDaemons(f.factory);
  await Promise.all([
    d.start("master", cfg({ syncid: 1 })),
    d.start("master", cfg({ syncid: 2 })),
    d.start("backup", cfg()),
  ]);
  deepStrictEqual([...f.alive].sort(), ["backup#3(int0,0)", "master#2(int0,2)"]);
  const late = d.start("backup", cfg({ syncid: 5 }));
  await new Promise((r) => setTimeout(r, 5)); // under way (a start takes 20 ms here)
  await d.close();
  await late;
  deepStrictEqual(f.log.slice(-4), [
    "start backup#4(int0,5)", // the start under way finished,
    "stop backup#3(int0,0)",
    "stop master#2(int0,2)", // then close stopped both roles
    "stop backup#4(int0,5)",
  ]);
  deepStrictEqual([...f.alive], []);
  await rejects(d.start("master", cfg()), /stopping/);
});
