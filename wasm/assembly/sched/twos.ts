// Power of two choices, as ip_vs_twos.c (ip_vs_twos_schedule): two dests
// are drawn at random, each with probability by weight, and the less
// loaded of the two (overhead/weight, overhead = ActiveConn*256 +
// InActConn) gets the connection; on a tie the first draw keeps it.
//
// The draws follow the kernel exactly: total = sum of the usable weights,
// r = random % (total + 1), then walking the list in order r -= weight
// until r <= 0. (So r = 0 lands on the first usable dest, which is drawn
// with weight + 1 out of total + 1: the kernel's slight bias, kept.) The
// comparison is weight2 * overhead1 > weight1 * overhead2 in 32-bit ints,
// as in the kernel.
//
// The kernel draws from prandom_u32(); here each module instance (one per
// worker, module globals being per instance) has its own xorshift64*
// generator, seeded on first use from a number every instance takes from
// the shared control block, mixed with the clock. Nothing is shared per
// pick, and two workers never replay the same sequence.
import { CTRL, CTRL_INSTANCE_SEQ, DEST_SIZE } from "../layout";
import { blocked, connOverhead, weightOf } from "./scheduler";

let rngState: u64 = 0;

/** splitmix64's finaliser: spreads a small counter over all 64 bits. */
function mix64(z: u64): u64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Next 32 random bits of this instance's generator. */
function random32(now: u64): u32 {
  let x = rngState;
  if (x == 0) {
    const seq = <u64> atomic.add<u32>(CTRL + CTRL_INSTANCE_SEQ, 1) + 1;
    x = mix64(seq * 0x9e3779b97f4a7c15 ^ now);
    if (x == 0) x = 0x9e3779b97f4a7c15; // the one state xorshift cannot leave
  }
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rngState = x;
  return <u32> ((x * 0x2545f4914f6cdd1d) >> 32);
}

export function twosSchedule(dests: u32, n: u32, now: u64): u32 {
  let total: i32 = 0;
  let choice1: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d)) continue;
    const w = weightOf(d);
    if (w > 0) {
      total += w;
      choice1 = d;
    }
  }
  if (choice1 == 0) return 0;
  total += 1; // draws are in [0, total]
  let r1 = <i32> (random32(now) % <u32> total);
  let r2 = <i32> (random32(now) % <u32> total);
  let choice2: u32 = 0;
  let weight1: i32 = -1;
  let weight2: i32 = -1;
  let overhead1: i32 = 0;
  let overhead2: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = dests + i * DEST_SIZE;
    if (blocked(d)) continue;
    const w = weightOf(d);
    if (w <= 0) continue;
    r1 -= w;
    r2 -= w;
    if (r1 <= 0 && weight1 == -1) {
      choice1 = d;
      weight1 = w;
      overhead1 = connOverhead(d);
    }
    if (r2 <= 0 && weight2 == -1) {
      choice2 = d;
      weight2 = w;
      overhead2 = connOverhead(d);
    }
    if (weight1 != -1 && weight2 != -1) break;
  }
  if (choice2 != 0 && weight2 * overhead1 > weight1 * overhead2) choice1 = choice2;
  return choice1;
}
