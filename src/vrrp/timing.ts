/**
 * The VRRP timer formulas, in milliseconds.
 *
 * - v3 (RFC 5798 §6.1): Skew_Time = ((256 − Priority) × Master_Adver_Interval)
 *   / 256, Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time, with
 *   Master_Adver_Interval the master's advertised interval as a backup
 *   learnt it (its own Advertisement_Interval until then).
 * - v2 (RFC 3768 §6.1): Skew_Time = (256 − Priority) / 256 seconds, whatever
 *   the interval; Master_Down_Interval = 3 × Advertisement_Interval +
 *   Skew_Time, with the configured interval (v2 has nothing to learn: a
 *   different interval is dropped).
 *
 * Every result is exact in floating point: intervals are whole milliseconds
 * and the division is by 256, a power of two. keepalived computes the same
 * values in microseconds (vrrp.h VRRP_TIMER_SKEW, VRRP_MS_DOWN_TIMER).
 *
 * @module
 */

/** Skew_Time in ms for `priority`, given Master_Adver_Interval (v3) in ms. */
export function skewTimeMs(version: 2 | 3, priority: number, masterAdverIntervalMs: number): number {
  return version === 3 ? ((256 - priority) * masterAdverIntervalMs) / 256 : ((256 - priority) * 1000) / 256;
}

/** Master_Down_Interval in ms (see the module doc for which interval each version uses). */
export function masterDownIntervalMs(version: 2 | 3, priority: number, masterAdverIntervalMs: number): number {
  return 3 * masterAdverIntervalMs + skewTimeMs(version, priority, masterAdverIntervalMs);
}

/**
 * The smallest skew (priority 255's): keepalived's VRRP_TIMER_SKEW_MIN. A
 * non-owner configured `state MASTER` waits one interval plus this before
 * taking over, to hear any master already there (vrrp_scheduler.c
 * vrrp_init_state).
 */
export function minSkewMs(version: 2 | 3, masterAdverIntervalMs: number): number {
  return skewTimeMs(version, 255, masterAdverIntervalMs);
}
