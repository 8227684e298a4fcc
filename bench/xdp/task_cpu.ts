/**
 * Precise CPU time of processes for the probe, from the scheduler rather than
 * the tick: the first field of /proc/PID/task/TID/schedstat is the thread's
 * sum_exec_runtime in nanoseconds. On this kernel (tick-based accounting,
 * no CONFIG_IRQ_TIME_ACCOUNTING) that includes the softirq work a thread runs
 * on its way out of a system call, e.g. the veth receive path a sendmmsg
 * triggers; softirq work deferred to ksoftirqd is ksoftirqd's.
 *
 * The machine here is shared with other jobs, so /proc/stat's machine-wide
 * busy time counts their work too; the sum over our own processes (plus
 * ksoftirqd) does not.
 *
 * @module
 */

/** CPU nanoseconds of all threads of `pid` (threads that already exited are not counted); NaN when gone. */
export function processCpuNs(pid: number): number {
  let sum = 0;
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    return NaN;
  }
  return sum;
}

/** PIDs of the per-CPU softirq threads (ksoftirqd/N). */
export function ksoftirqdPids(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/comm`).startsWith("ksoftirqd/")) out.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU nanoseconds of several processes together. */
export function sumCpuNs(pids: number[]): number {
  return pids.reduce((s, p) => s + processCpuNs(p), 0);
}

/**
 * CPU nanoseconds of every task on the machine (all processes' threads and
 * kernel threads), for telling whether other jobs ran during a measurement.
 * Tasks that end between two samples are missing from the second one, so a
 * difference can only under-state what others used.
 */
export function allTasksCpuNs(): number {
  let sum = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const n = processCpuNs(Number(e.name));
    if (Number.isFinite(n)) sum += n;
  }
  return sum;
}
