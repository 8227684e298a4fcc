/**
 * MISC_CHECK: run misc_path (argv, no shell) and judge its exit status, as
 * keepalived's misc_check_child_thread (check_misc.c) does: 0 is up; with
 * misc_dynamic, 1 is down and 2..255 is up with weight = status − 2
 * (0..253); without it, anything but 0 is down.
 *
 * The program runs with a clean environment (PATH plus LVSD_DEST_ADDR and
 * LVSD_DEST_PORT, so one script can serve every dest), no stdin and its
 * output discarded, in its own process group (detached: setsid) so a
 * timeout reaches whatever it started. On misc_timeout (default delay_loop,
 * keepalived's default too) the group gets SIGTERM and, {@link KILL_GRACE_MS}
 * later, SIGKILL — keepalived's sequence. The check resolves only after the
 * child has been reaped.
 *
 * @module
 */

import { DEFAULTS } from "./options.ts";
import { formatSeconds } from "./deadline.ts";
import type { CheckResult, CheckTarget, MiscOptions } from "./types.ts";

/** Between SIGTERM and SIGKILL (keepalived waits 2 s: SCRIPT_STATE_REQUESTING_TERMINATION). */
export const KILL_GRACE_MS = 2000;
/** The only variable the program inherits, besides LVSD_DEST_*. */
export const MISC_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Runs the program; never throws. */
export async function checkMisc(target: CheckTarget, opts: MiscOptions, signal: AbortSignal): Promise<CheckResult> {
  const [program, ...args] = opts.misc_path ?? [];
  if (!program) return { up: false, detail: "invalid option: misc_path is empty" };
  const timeoutMs = (opts.misc_timeout ?? opts.delay_loop ?? DEFAULTS.delay_loop) * 1000;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      clearEnv: true,
      env: { PATH: MISC_PATH_ENV, LVSD_DEST_ADDR: target.address, LVSD_DEST_PORT: String(target.port) },
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "not found"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message;
    return { up: false, detail: `cannot run ${program}: ${why}` };
  }

  let timedOut = false;
  let aborted = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const group = (sig: Deno.Signal) => {
    try {
      Deno.kill(-child.pid, sig);
    } catch {
      // the group is gone already
    }
  };
  const terminate = () => {
    group("SIGTERM");
    killTimer = setTimeout(() => group("SIGKILL"), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    terminate();
  }, timeoutMs);
  const onAbort = () => {
    aborted = true;
    clearTimeout(timer);
    terminate();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });

  const status = await child.status;
  clearTimeout(timer);
  clearTimeout(killTimer);
  signal.removeEventListener("abort", onAbort);

  if (timedOut) return { up: false, detail: `timed out after ${formatSeconds(timeoutMs)}, killed` };
  if (aborted) return { up: false, detail: "check aborted" };
  if (status.signal) return { up: false, detail: `killed by ${status.signal}` };
  const code = status.code;
  if (code === 0) return { up: true, detail: "exit status 0" };
  if (opts.misc_dynamic && code >= 2 && code <= 255) {
    return { up: true, weight: code - 2, detail: `exit status ${code}: weight ${code - 2}` };
  }
  return { up: false, detail: `exit status ${code}` };
}
