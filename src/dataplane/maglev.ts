/**
 * The Maglev lookup table of the `mh` scheduler, built as ip_vs_mh.c builds
 * it (Maglev, NSDI'16, section 3.4, with the kernel's weights), so that lvsd
 * and a kernel director pick the same dest for the same client.
 *
 * - Each dest (in IPVS list order, newest first) gets a permutation of the
 *   M table positions: offset = h1 % M, skip = h2 % (M - 1) + 1, where
 *   h1/h2 hash ntohl(daddr) + ntohs(dport) with the kernel's two fixed
 *   hsiphash keys (generate_hash_secret()).
 * - Weights: turns = (last_weight / gcd) >> rshift, at least 1 for a
 *   non-zero weight; rshift trims weights whose ratio needs more than
 *   IP_VS_MH_TAB_BITS bits. Round after round, each dest with turns > 0
 *   takes its next `turns` free preferred positions, until all M are taken.
 *   last_weight is the dest's last non-zero weight (ip_vs_ctl.c keeps it),
 *   so draining a dest with weight 0 keeps the table as it was; a dest added
 *   with weight 0 takes no position.
 * - The data plane (wasm/assembly/sched/mh.ts) looks up
 *   hsiphash(ntohl(saddr) [+ ntohs(sport)], key1) % M.
 *
 * hsiphash is reproduced exactly as a 64-bit kernel computes it: SipHash-1-3
 * with 64-bit key words, the u32 message in little-endian byte order, the
 * result truncated to 32 bits (lib/siphash.c; a 32-bit kernel uses
 * HalfSipHash-1-3 instead and so builds other tables).
 *
 * @module
 */

/** ip_vs_mh.c primes[]: the sizes CONFIG_IP_VS_MH_TAB_INDEX 8..17 select. */
export const MH_TABLE_SIZES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** CONFIG_IP_VS_MH_TAB_INDEX 12 (the default). */
export const MH_DEFAULT_TABLE_SIZE = 4093;

/** generate_hash_secret(): both words of hash1's key, and of hash2's. */
export const MH_KEY1 = 2654435761n;
export const MH_KEY2 = 2654446892n;

const M64 = (1n << 64n) - 1n;

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & M64;
}

/**
 * SipHash-c-d of `msg` with key words k0, k1 (the reference algorithm:
 * c compression rounds per 8-byte word, d finalisation rounds), as a u64.
 */
export function sipHash(c: number, d: number, k0: bigint, k1: bigint, msg: Uint8Array): bigint {
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const whole = msg.length - (msg.length % 8);
  for (let i = 0; i < whole; i += 8) {
    let m = 0n;
    for (let j = 7; j >= 0; j--) m = (m << 8n) | BigInt(msg[i + j]);
    v3 ^= m;
    for (let r = 0; r < c; r++) round();
    v0 ^= m;
  }
  let b = BigInt(msg.length & 0xff) << 56n;
  for (let j = msg.length - 1; j >= whole; j--) b |= BigInt(msg[j]) << BigInt((j - whole) * 8);
  v3 ^= b;
  for (let r = 0; r < c; r++) round();
  v0 ^= b;
  v2 ^= 0xffn;
  for (let r = 0; r < d; r++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** hsiphash(&v, sizeof(u32), {key, key}) on a 64-bit kernel. */
export function hsiphash32(v: number, key: bigint): number {
  const msg = new Uint8Array(4);
  new DataView(msg.buffer).setUint32(0, v >>> 0, true);
  return Number(sipHash(1, 3, key, key, msg) & 0xffffffffn);
}

/** ip_vs_mh_hashkey(): addr and port in host order, u32 arithmetic. */
export function mhHashKey(addr: number, port: number, key: bigint, offset = 0): number {
  return hsiphash32((offset + port + addr) >>> 0, key);
}

/** Host-order u32 of a dotted quad. */
export function ipv4Number(addr: string): number {
  const p = addr.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new Error(`Cannot hash address "${addr}": not an IPv4 address`);
  }
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** A dest as the table builder sees it, in IPVS list order. */
export interface MaglevDest {
  addr: string;
  port: number;
  /** The dest's last non-zero weight (its weight when added, if never changed). */
  lastWeight: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** fls(): position of the highest set bit, 1-based; 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** IP_VS_MH_TAB_BITS for a table size: CONFIG_IP_VS_MH_TAB_INDEX / 2. */
export function maglevTabBits(size: number): number {
  const i = MH_TABLE_SIZES.indexOf(size);
  if (i < 0) {
    throw new Error(`Cannot build a Maglev table of ${size} entries: the sizes are ${MH_TABLE_SIZES.join(", ")}`);
  }
  return Math.floor((i + 8) / 2);
}

/**
 * The lookup table for `dests` (IPVS list order): entry = list position + 1,
 * 0 when no dest has a non-zero last weight (the kernel leaves the table
 * empty then).
 */
export function buildMaglevTable(dests: readonly MaglevDest[], size = MH_DEFAULT_TABLE_SIZE): Uint16Array {
  const bits = maglevTabBits(size);
  if (dests.length > size) {
    throw new Error(
      `Cannot build a Maglev table of ${size} entries for ${dests.length} dests: more dests than entries`,
    );
  }
  const table = new Uint16Array(size);
  // ip_vs_mh_gcd_weight() and ip_vs_mh_shift_weight().
  let g = 0;
  let max = 0;
  for (const d of dests) {
    if (d.lastWeight > 0) g = g > 0 ? gcd(d.lastWeight, g) : d.lastWeight;
    max = Math.max(max, d.lastWeight);
  }
  if (g < 1) return table;
  const rshift = Math.max(0, fls(Math.floor(max / g)) - bits);
  // ip_vs_mh_permutate().
  const perm = new Array<number>(dests.length);
  const skip = new Array<number>(dests.length);
  const turns = dests.map((d, i) => {
    const addr = ipv4Number(d.addr);
    perm[i] = mhHashKey(addr, d.port, MH_KEY1) % size;
    skip[i] = (mhHashKey(addr, d.port, MH_KEY2) % (size - 1)) + 1;
    return (Math.floor(d.lastWeight / g) >> rshift) || (d.lastWeight !== 0 ? 1 : 0);
  });
  // ip_vs_mh_populate(): each dest in turn takes `turns` positions, each
  // the next free one along its own permutation.
  const taken = new Uint8Array(size);
  let n = 0;
  let dt = 0;
  for (;;) {
    for (let i = 0; i < dests.length;) {
      if (turns[i] < 1) {
        i++;
        continue;
      }
      while (taken[perm[i]]) {
        perm[i] += skip[i];
        if (perm[i] >= size) perm[i] -= size;
      }
      taken[perm[i]] = 1;
      table[perm[i]] = i + 1;
      if (++n === size) return table;
      if (++dt >= turns[i]) {
        dt = 0;
        i++;
      }
    }
  }
}

/** The table entry a client hashes to (ip_vs_mh_get without the availability check). */
export function maglevIndex(saddr: string, sport: number, size: number, withPort: boolean): number {
  return mhHashKey(ipv4Number(saddr), withPort ? sport : 0, MH_KEY1) % size;
}
