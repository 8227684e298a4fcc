/**
 * MISC_CHECK: exit statuses with and without misc_dynamic (keepalived's
 * misc_check_child_thread), the timeout killing the whole process group
 * (SIGTERM, then SIGKILL after the grace), the clean environment.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { checkMisc, KILL_GRACE_MS, MISC_PATH_ENV } from "../../src/health/misc.ts";
import type { MiscOptions } from "../../src/health/types.ts";

const never = new AbortController().signal;
const target = { address: "127.0.0.1", port: 8080 };
const sh = (script: string, ...args: string[]) => ["/bin/sh", "-c", script, "sh", ...args];

function run(opts: MiscOptions) {
  return checkMisc(target, { misc_timeout: 5, ...opts }, never);
}

/** The process is gone, or a zombie waiting for init to reap it (it no longer runs). */
function gone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
  } catch {
    return true;
  }
}

Deno.test("misc: exit 0 is up, anything else down without misc_dynamic", async () => {
  for (const [code, up] of [[0, true], [1, false], [2, false], [5, false], [255, false]] as const) {
    const r = await run({ misc_path: sh(`exit ${code}`) });
    strictEqual(r.up, up, `exit ${code}: ${r.detail}`);
    strictEqual(r.weight, undefined);
    strictEqual(r.detail, `exit status ${code}`);
  }
});

Deno.test("misc: misc_dynamic: 0 up at the configured weight, 1 down, 2..255 up with weight exit − 2", async () => {
  const cases: [number, boolean, number | undefined][] = [[0, true, undefined], [1, false, undefined], [2, true, 0], [
    5,
    true,
    3,
  ], [255, true, 253]];
  for (const [code, up, weight] of cases) {
    const r = await run({ misc_path: sh(`exit ${code}`), misc_dynamic: true });
    deepStrictEqual([r.up, r.weight], [up, weight], `exit ${code}: ${r.detail}`);
  }
});

Deno.test("misc: on misc_timeout the whole process group is terminated and the check waits for it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    // The script starts a background child, records both pids, then waits.
    const r = await run({
      misc_path: sh('sleep 30 & echo $! > "$1/child"; echo $$ > "$1/self"; wait', dir),
      misc_timeout: 0.5,
    });
    const took = performance.now() - t0;
    strictEqual(r.up, false);
    ok(/timed out after 0\.5 s, killed/.test(r.detail), r.detail);
    ok(took >= 480 && took < 1_200, `took ${took} ms`);
    for (const f of ["self", "child"]) {
      const pid = Number((await Deno.readTextFile(`${dir}/${f}`)).trim());
      ok(gone(pid), `${f} (pid ${pid}) still running`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("misc: a program that ignores SIGTERM is killed with SIGKILL after the grace", async () => {
  const t0 = performance.now();
  const r = await run({ misc_path: sh('trap "" TERM; sleep 30'), misc_timeout: 0.3 });
  const took = performance.now() - t0;
  strictEqual(r.up, false);
  ok(/timed out/.test(r.detail), r.detail);
  ok(took >= 300 + KILL_GRACE_MS - 50 && took < 300 + KILL_GRACE_MS + 800, `took ${took} ms`);
});

Deno.test("misc: the program gets a clean environment: PATH and the dest, nothing of lvsd's", async () => {
  Deno.env.set("LVSD_HEALTH_TEST_SECRET", "do-not-leak");
  const file = await Deno.makeTempFile();
  try {
    strictEqual((await run({ misc_path: ["/bin/sh", "-c", 'env > "$0"', file] })).up, true);
    const env = Object.fromEntries(
      (await Deno.readTextFile(file)).trim().split("\n").map((
        l,
      ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    strictEqual(env.PATH, MISC_PATH_ENV);
    strictEqual(env.LVSD_DEST_ADDR, "127.0.0.1");
    strictEqual(env.LVSD_DEST_PORT, "8080");
    strictEqual(env.LVSD_HEALTH_TEST_SECRET, undefined);
    strictEqual(env.HOME, undefined);
    // What remains is what /bin/sh sets itself (PWD, maybe SHLVL, OLDPWD, _).
    const extra = Object.keys(env).filter((k) =>
      !["PATH", "LVSD_DEST_ADDR", "LVSD_DEST_PORT", "PWD", "SHLVL", "OLDPWD", "_"].includes(k)
    );
    deepStrictEqual(extra, []);
  } finally {
    Deno.env.delete("LVSD_HEALTH_TEST_SECRET");
    await Deno.remove(file);
  }
});

Deno.test("misc: arguments are passed as argv, not through a shell", async () => {
  const file = await Deno.makeTempFile();
  try {
    await run({ misc_path: ["/bin/sh", "-c", 'printf "%s|" "$@" > "$0"', file, "a b", "$HOME", "*"] });
    strictEqual(await Deno.readTextFile(file), "a b|$HOME|*|");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("misc: a program that does not exist is down, saying so", async () => {
  const r = await run({ misc_path: ["/nonexistent/lvsd-check"] });
  strictEqual(r.up, false);
  ok(/cannot run \/nonexistent\/lvsd-check: not found/.test(r.detail), r.detail);
});

Deno.test("misc: misc_timeout defaults to delay_loop", async () => {
  const t0 = performance.now();
  const r = await checkMisc(target, { misc_path: sh("exec sleep 30"), delay_loop: 0.3 }, never);
  ok(/timed out after 0\.3 s/.test(r.detail), r.detail);
  ok(performance.now() - t0 < 1_000);
});
