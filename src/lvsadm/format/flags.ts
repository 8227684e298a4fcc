/**
 * Scheduler flags (-b) as ipvsadm prints them: print_sched_flags in
 * ipvsadm.c 1.31. The kernel keeps three bits (IP_VS_SVC_F_SCHED1..3,
 * uapi ip_vs.h) and ipvsadm names them by the scheduler: sh-fallback and
 * sh-port for sh, mh-fallback and mh-port for mh (1.30+), flag-1..3 for the
 * others; names are joined by commas in bit order.
 *
 * lvsd's config takes any of those names (flag-1 is the same bit as
 * sh-fallback), so a name is turned into its bit and back. One deviation:
 * 1.31 prints nothing for the third bit under sh or mh (an empty "()" and
 * "-b " that -R cannot read back); it is printed as flag-3 here, as
 * ipvsadm 1.29 printed it under sh.
 *
 * @module
 */

/** Each flag name's bit: 1 = SCHED1, 2 = SCHED2, 3 = SCHED3. */
const BITS: Record<string, number> = {
  "flag-1": 1,
  "sh-fallback": 1,
  "mh-fallback": 1,
  "flag-2": 2,
  "sh-port": 2,
  "mh-port": 2,
  "flag-3": 3,
};

/** The flags of a service as ipvsadm names them, e.g. "sh-fallback,sh-port"; "" when none is set. */
export function schedFlagsText(scheduler: string, flags: readonly string[], where: string): string {
  const bits = new Set<number>();
  for (const f of flags) {
    const bit = BITS[f];
    if (bit === undefined) throw new TypeError(`${where}: unknown scheduler flag ${JSON.stringify(f)}`);
    bits.add(bit);
  }
  const names = scheduler === "sh" || scheduler === "mh"
    ? [`${scheduler}-fallback`, `${scheduler}-port`, "flag-3"]
    : ["flag-1", "flag-2", "flag-3"];
  return [1, 2, 3].filter((b) => bits.has(b)).map((b) => names[b - 1]).join(",");
}
