/**
 * print_largenum (ipvsadm.c): every K/M/G/T boundary, with and without
 * --exact. Expected strings are worked out from its printf formats:
 * `%9llu` below 100 million; `%8lluK` of i/1000 below 1e9; `%8lluM` of
 * i/1e6 below 1e11; `%8lluG` of i/1e9 below 1e14; `%8lluT` of i/1e12
 * above; --exact: `%*llu` with width 9, or digits + 1 past 8 digits.
 */
import { strictEqual, throws } from "node:assert/strict";
import { largenum } from "../../src/lvsadm/format/mod.ts";

const scaled = (n: number | bigint) => largenum(n, false, "test");
const exact = (n: number | bigint) => largenum(n, true, "test");

Deno.test("print_largenum: %9llu up to 99,999,999", () => {
  strictEqual(scaled(0), "        0");
  strictEqual(scaled(7207174), "  7207174");
  strictEqual(scaled(99_999_999), " 99999999");
});

Deno.test("print_largenum: K from 100 million (quotient truncated, %8llu then K)", () => {
  strictEqual(scaled(100_000_000), "  100000K");
  strictEqual(scaled(100_000_999), "  100000K");
  strictEqual(scaled(999_999_999), "  999999K");
});

Deno.test("print_largenum: M from 1e9 to below 1e11", () => {
  strictEqual(scaled(1_000_000_000), "    1000M");
  strictEqual(scaled(99_999_999_999), "   99999M");
});

Deno.test("print_largenum: G from 1e11 to below 1e14", () => {
  strictEqual(scaled(100_000_000_000), "     100G");
  strictEqual(scaled(99_999_999_999_999), "   99999G");
});

Deno.test("print_largenum: T from 1e14 up to 2^64-1 (18446744T fills the 8 columns)", () => {
  strictEqual(scaled(100_000_000_000_000), "     100T");
  strictEqual(scaled((1n << 64n) - 1n), "18446744T");
});

Deno.test("print_largenum --exact: 9 wide up to 8 digits, then one space and all digits", () => {
  strictEqual(exact(0), "        0");
  strictEqual(exact(99_999_999), " 99999999");
  strictEqual(exact(100_000_000), " 100000000");
  strictEqual(exact(999_999_999), " 999999999");
  strictEqual(exact(1_000_000_000), " 1000000000");
  strictEqual(exact(100_000_000_000_000), " 100000000000000");
  strictEqual(exact((1n << 64n) - 1n), " 18446744073709551615");
});

Deno.test("published capture: dpvs#386 shows 125426K and 13034M for counters of that size", () => {
  // https://github.com/iqiyi/dpvs/issues/386 (--stats of a fork with the same
  // print_largenum): InPkts "125426K", InBytes "13034M".
  strictEqual(scaled(125_426_321).trim(), "125426K");
  strictEqual(scaled(13_034_765_432).trim(), "13034M");
});

Deno.test("print_largenum: a fractional rate is rounded; a negative or missing value is an error naming it", () => {
  strictEqual(scaled(2.5), "        3");
  throws(
    () => largenum(-1, false, "service tcp:10.0.0.1:80 stats.conns"),
    /service tcp:10\.0\.0\.1:80 stats\.conns: .*-1/,
  );
  throws(
    () => largenum(undefined as unknown as number, false, "x.cps"),
    /x\.cps: expected a non-negative number, got undefined/,
  );
  throws(() => largenum(1n << 64n, false, "x"), /not an unsigned 64-bit number/);
});
