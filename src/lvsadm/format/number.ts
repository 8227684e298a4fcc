/**
 * Counters and rates as ipvsadm prints them: `print_largenum` in ipvsadm.c
 * (1.29 and 1.31 alike).
 *
 * - Without --exact a value below 100 million is `%9llu`; larger ones are
 *   divided by 1000 until they fit and printed `%8llu` with K (< 1e9),
 *   M (< 1e11), G (< 1e14) or T after it, the quotient truncated.
 * - With --exact the value is printed whole, right-aligned to 9 columns,
 *   or with one leading space when it has more than 8 digits
 *   (`printf("%*llu", len <= 8 ? 9 : len + 1, i)`).
 *
 * @module
 */

import { right } from "./text.ts";

/**
 * A counter or rate as an unsigned 64-bit integer. Counters are integers;
 * a fractional rate is rounded to nearest, as the kernel rounds its
 * estimator when it reports one (`(e->cps + 0x1FF) >> 10`, ip_vs_est.c).
 */
export function u64(value: number | bigint, what: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`${what}: ${value} is not an unsigned 64-bit number`);
    return value;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what}: expected a non-negative number, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return BigInt(Math.round(value));
}

/** print_largenum without --exact: `%9llu`, or K/M/G/T with `%8llu`. */
export function scaled(n: bigint): string {
  if (n < 100_000_000n) return right(n, 9);
  if (n < 1_000_000_000n) return right(n / 1000n, 8) + "K";
  if (n < 100_000_000_000n) return right(n / 1_000_000n, 8) + "M";
  if (n < 100_000_000_000_000n) return right(n / 1_000_000_000n, 8) + "G";
  return right(n / 1_000_000_000_000n, 8) + "T";
}

/** print_largenum with --exact: the whole number, 9 wide or one space before it. */
export function exact(n: bigint): string {
  const digits = n.toString();
  return right(digits, digits.length <= 8 ? 9 : digits.length + 1);
}

/** print_largenum: one counter column (it carries its own leading space). */
export function largenum(value: number | bigint, isExact: boolean, what: string): string {
  const n = u64(value, what);
  return isExact ? exact(n) : scaled(n);
}
