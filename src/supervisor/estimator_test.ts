/**
 * The expected values below are worked out by hand from the kernel's formula
 * (net/netfilter/ipvs/ip_vs_est.c, ip_vs_chain_estimation() and
 * ip_vs_read_estimator(), unchanged from estimation_timer() before 6.2):
 *
 *   rate = delta << 9 (counts) | delta << 4 (bytes)
 *   avg += (rate - avg) >> 2              (flooring shift)
 *   read = (avg + 0x1FF) >> 10 (counts) | (avg + 0xF) >> 5 (bytes)
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import type { StatsView } from "../api/model.ts";
import { RateEstimator } from "./estimator.ts";

function stats(conns: number, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0): StatsView {
  return { conns, inpkts, outpkts, inbytes, outbytes };
}

Deno.test("a step to 100 conn/s converges as the kernel's estimator does", () => {
  const est = new RateEstimator();
  // 200 new connections per 2 s sample: rate = 200 << 9 = 102400 (100/s scaled by 2^10).
  // avg: 0 + 102400>>2 = 25600; + (76800>>2) = 44800; + (57600>>2) = 59200;
  //      + (43200>>2) = 70000; + (32400>>2) = 78100.
  // read: (25600+511)>>10 = 25; (44800+511)>>10 = 44 (43.75 rounds up);
  //       59711>>10 = 58 (57.81); 70511>>10 = 68 (68.36); 78611>>10 = 76 (76.27).
  const expected = [25, 44, 58, 68, 76];
  const expectedScaled = [25600n, 44800n, 59200n, 70000n, 78100n];
  for (let i = 0; i < expected.length; i++) {
    est.sample("svc:1", stats(200 * (i + 1)));
    strictEqual(est.rates("svc:1").cps, expected[i], `sample ${i + 1}`);
    strictEqual(est.scaled("svc:1")?.cps, expectedScaled[i], `scaled, sample ${i + 1}`);
  }
  // It settles where (rate - avg) >> 2 becomes 0: avg in [rate - 3, rate].
  for (let i = expected.length; i < 60; i++) est.sample("svc:1", stats(200 * (i + 1)));
  const settled = est.scaled("svc:1")!.cps;
  strictEqual(settled >= 102397n && settled <= 102400n, true, `settled at ${settled}`);
  strictEqual(est.rates("svc:1").cps, 100);
});

Deno.test("packets and bytes use their own scales (2^10 and 2^5) in each direction", () => {
  const est = new RateEstimator();
  // Per 2 s: 3000 packets in, 1000 out, 2,000,000 bytes in, 500,000 out.
  // inbytes: rate = 2e6 << 4 = 32e6; avg 8e6, 14e6, 18.5e6, 21.875e6;
  //   read (avg + 15) >> 5 = 250000, 437500, 578125, 683594 (683593.75 rounds up).
  // outbytes: rate = 5e5 << 4 = 8e6; avg 2e6, 3.5e6, 4.625e6, 5.46875e6;
  //   read 62500, 109375, 144531 (144531.25 rounds down), 170898 (170898.4375).
  // inpkts: rate = 3000 << 9 = 1536000; avg 384000, 672000, 888000, 1050000;
  //   read (avg + 511) >> 10 = 375, 656 (656.25), 867 (867.19), 1025 (1025.39).
  // outpkts: rate = 1000 << 9 = 512000; avg 128000, 224000, 296000, 350000;
  //   read 125, 219 (218.75), 289 (289.06), 342 (341.80).
  const want = [
    { cps: 0, inpps: 375, outpps: 125, inbps: 250000, outbps: 62500 },
    { cps: 0, inpps: 656, outpps: 219, inbps: 437500, outbps: 109375 },
    { cps: 0, inpps: 867, outpps: 289, inbps: 578125, outbps: 144531 },
    { cps: 0, inpps: 1025, outpps: 342, inbps: 683594, outbps: 170898 },
  ];
  for (let i = 0; i < want.length; i++) {
    const n = i + 1;
    est.sample("dest:1", stats(0, 3000 * n, 1000 * n, 2_000_000 * n, 500_000 * n));
    deepStrictEqual(est.rates("dest:1"), want[i], `sample ${n}`);
  }
});

Deno.test("readout rounds half down and above half up, as ip_vs_read_estimator's + 0x1FF / + 0xF", () => {
  const est = new RateEstimator();
  // 4 conns in 2 s: avg = (4 << 9) >> 2 = 512 = exactly 0.5/s -> (512 + 511) >> 10 = 0.
  // 5 conns: avg = 640 = 0.625/s -> 1151 >> 10 = 1. Bytes: 4 B -> avg 16 = 0.5 B/s -> 31 >> 5 = 0;
  // 5 B -> avg 20 = 0.625 -> 35 >> 5 = 1.
  est.sample("a", stats(4, 4, 0, 4, 0));
  est.sample("b", stats(5, 5, 0, 5, 0));
  deepStrictEqual(est.rates("a"), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
  deepStrictEqual(est.rates("b"), { cps: 1, inpps: 1, outpps: 0, inbps: 1, outbps: 0 });
});

Deno.test("rates decay by a quarter per sample when traffic stops", () => {
  const est = new RateEstimator();
  for (let n = 1; n <= 4; n++) est.sample("svc:1", stats(200 * n)); // avg 70000 (68/s)
  // No new connections: rate 0, avg += (0 - avg) >> 2 (floors: the decrement rounds up).
  // 70000 - 17500 = 52500 -> 51; 52500 - 13125 = 39375 -> 38; 39375 - 9844 = 29531 -> 29.
  const want = [51, 38, 29];
  for (const w of want) {
    est.sample("svc:1", stats(800));
    strictEqual(est.rates("svc:1").cps, w);
  }
  strictEqual(est.scaled("svc:1")?.cps, 29531n);
});

Deno.test("reset zeroes the rates and keeps the counters as the new starting point (ip_vs_zero_estimator)", () => {
  const est = new RateEstimator();
  for (let n = 1; n <= 10; n++) est.sample("svc:1", stats(200 * n, 0, 0, 2_000_000 * n));
  strictEqual(est.rates("svc:1").cps > 80, true);
  est.reset("svc:1");
  deepStrictEqual(est.rates("svc:1"), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
  // The next sample counts only the interval's traffic (last = the counters at the
  // last estimation, the kernel's kstats), not everything since the start:
  // 200 conns -> avg 25600 -> 25/s; 2e6 bytes -> avg 8e6 -> 250000 B/s.
  est.sample("svc:1", stats(2200, 0, 0, 22_000_000));
  const r = est.rates("svc:1");
  strictEqual(r.cps, 25);
  strictEqual(r.inbps, 250000);
});

Deno.test("reset with counters registers a service or dest whose counters did not start at 0", () => {
  const est = new RateEstimator();
  // A dest slot that already holds 1,000,000 connections: without the reset its first
  // sample would count all of them as one interval's (a spike of 128000/s).
  est.reset("dest:9", stats(1_000_000, 5_000_000, 4_000_000, 9e9, 8e9));
  strictEqual(est.size, 1);
  est.sample("dest:9", stats(1_000_200, 5_000_000, 4_000_000, 9e9, 8e9));
  strictEqual(est.rates("dest:9").cps, 25);
  strictEqual(est.rates("dest:9").inbps, 0);
  // Resetting an unknown id without counters does nothing.
  est.reset("dest:10");
  strictEqual(est.size, 1);
});

Deno.test("a dest added later starts from zero counters, its service's estimate is unaffected", () => {
  const est = new RateEstimator();
  for (let n = 1; n <= 3; n++) est.sample("svc:1", stats(200 * n));
  strictEqual(est.rates("svc:1").cps, 58);
  deepStrictEqual(est.rates("dest:7"), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
  strictEqual(est.scaled("dest:7"), undefined);
  // dest:7 is created between samples 3 and 4 and takes 40 of the service's conns in
  // its first interval. The kernel zeroes a new dest's counters and estimator together,
  // so the first estimation counts from 0: avg = (40 << 9) >> 2 = 5120 -> 5/s.
  est.sample("svc:1", stats(800));
  est.sample("dest:7", stats(40));
  strictEqual(est.rates("dest:7").cps, 5);
  strictEqual(est.rates("svc:1").cps, 68);
  // Next interval it takes 100: rate 51200, avg 5120 + (46080 >> 2) = 16640 -> 16.25 -> 16.
  est.sample("dest:7", stats(140));
  strictEqual(est.scaled("dest:7")?.cps, 16640n);
  strictEqual(est.rates("dest:7").cps, 16);
});

Deno.test("forget drops the estimator; the id then starts over", () => {
  const est = new RateEstimator();
  est.sample("dest:3", stats(400));
  est.sample("dest:4", stats(400));
  est.forget("dest:3");
  strictEqual(est.size, 1);
  deepStrictEqual(est.rates("dest:3"), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
  strictEqual(est.rates("dest:4").cps, 50); // (400 << 9) >> 2 = 51200 -> 50
  est.sample("dest:3", stats(20));
  strictEqual(est.scaled("dest:3")?.cps, 2560n); // (20 << 9) >> 2, from last = 0
});

Deno.test("big byte counters: exact 64-bit fixed-point arithmetic up to 2^53", () => {
  const est = new RateEstimator();
  const max = Number.MAX_SAFE_INTEGER; // 2^53 - 1
  // Sample 1: delta 2^53 - 1 bytes: rate = (2^53 - 1) << 4 = 2^57 - 16, avg = 2^55 - 4,
  //   read (2^55 - 4 + 15) >> 5 = 2^50.
  est.sample("svc:big", stats(0, 0, 0, max, 0));
  strictEqual(est.scaled("svc:big")?.inbps, 2n ** 55n - 4n);
  strictEqual(est.rates("svc:big").inbps, 2 ** 50);
  // Sample 2: 3 more bytes (counter 2^53 + 2): rate 48,
  //   avg = 2^55 - 4 + ((48 - 2^55 + 4) >> 2) = 2^55 - 4 + 13 - 2^53 = 3 * 2^53 + 9
  //   (a double cannot hold it: it would be 3 * 2^53 + 8), read (3 * 2^53 + 24) >> 5 = 3 * 2^48.
  est.sample("svc:big", stats(0, 0, 0, 2 ** 53 + 2, 0));
  strictEqual(est.scaled("svc:big")?.inbps, 3n * 2n ** 53n + 9n);
  strictEqual(est.rates("svc:big").inbps, 3 * 2 ** 48);
  // Sample 3: no bytes: avg += (0 - avg) >> 2 = -(3 * 2^51 + 3) (floor of -(3 * 2^51 + 2.25)),
  //   avg = 9 * 2^51 + 6, read (9 * 2^51 + 21) >> 5 = 9 * 2^46.
  est.sample("svc:big", stats(0, 0, 0, 2 ** 53 + 2, 0));
  strictEqual(est.scaled("svc:big")?.inbps, 9n * 2n ** 51n + 6n);
  strictEqual(est.rates("svc:big").inbps, 9 * 2 ** 46);
});

Deno.test("big counters with a 10 Gb/s-class rate near 2^53 keep exact deltas", () => {
  const est = new RateEstimator();
  const start = 2 ** 53 - 2 * 2_500_000_000; // 2.5 GB/s = 20 Gb/s for 2 samples
  est.reset("dest:big", stats(0, 0, 0, 0, start));
  est.sample("dest:big", stats(0, 0, 0, 0, start + 2_500_000_000 * 2));
  // delta 5e9 over 2 s: rate = 5e9 << 4 = 8e10, avg 2e10, read 2e10 >> 5 = 625,000,000 B/s.
  strictEqual(est.rates("dest:big").outbps, 625_000_000);
});

Deno.test("a counter that goes backwards counts as no traffic for that sample", () => {
  const est = new RateEstimator();
  est.sample("dest:5", stats(1000));
  const before = est.scaled("dest:5")!.cps; // (1000 << 9) >> 2 = 128000
  strictEqual(before, 128000n);
  est.sample("dest:5", stats(10)); // restarted: rate 0, avg 128000 - 32000 = 96000
  strictEqual(est.scaled("dest:5")?.cps, 96000n);
  est.sample("dest:5", stats(210)); // counting resumes from 10: delta 200
  strictEqual(est.scaled("dest:5")?.cps, 96000n + ((102400n - 96000n) >> 2n));
});

Deno.test("counters that are not non-negative integers are refused, naming the id and counter", () => {
  const est = new RateEstimator();
  throws(() => est.sample("svc:2", stats(-1)), /svc:2 counter conns must be a non-negative integer, got -1/);
  throws(() => est.sample("svc:2", stats(0, 1.5)), /svc:2 counter inpkts .* got 1\.5/);
  throws(() => est.sample("svc:2", stats(0, 0, 0, NaN)), /svc:2 counter inbytes .* got NaN/);
  throws(() => est.reset("svc:2", stats(0, 0, 0, 0, Infinity)), /svc:2 counter outbytes .* got Infinity/);
  strictEqual(est.size, 0, "a refused sample changes nothing");
});
