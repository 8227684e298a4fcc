/**
 * CPU accounting for the benchmark: machine-wide busy time from /proc/stat
 * and one process's (all threads') time from /proc/<pid>/stat.
 *
 * @module
 */

/** Clock ticks per second of /proc times (USER_HZ; 100 on every Linux ABI). */
export const CLK_TCK = 100;

/** A /proc/stat sample: busy and total jiffies over all CPUs. */
export interface CpuSample {
  busy: number;
  total: number;
  at: number;
}

/** Reads the aggregate `cpu` line of /proc/stat. */
export function machineCpu(): CpuSample {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  // guest time is already included in user.
  const busy = user + nice + system + irq + softirq + (steal ?? 0);
  return { busy, total: busy + idle + (iowait ?? 0), at: performance.now() };
}

/** Busy CPU between two samples: seconds of CPU and machine utilisation. */
export function cpuDelta(
  a: CpuSample,
  b: CpuSample,
): { cpuSeconds: number; busyFraction: number } {
  const busy = b.busy - a.busy;
  const total = b.total - a.total;
  return {
    cpuSeconds: busy / CLK_TCK,
    busyFraction: total > 0 ? busy / total : 0,
  };
}

/** utime+stime of a process (all its threads), in seconds; undefined when gone. */
export function processCpu(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the comm.
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Number of CPUs the machine has (lines cpuN in /proc/stat). */
export function cpuCount(): number {
  return Deno.readTextFileSync("/proc/stat").split("\n").filter((l) => /^cpu\d+ /.test(l)).length;
}

/** Children PIDs of a process (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim()
      .split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
