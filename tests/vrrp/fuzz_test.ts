/**
 * decodeAdvert and decodeAdvertPacket on seeded random input: random bytes,
 * and valid adverts with bytes flipped, cut or appended. They must never
 * throw, must name a known reason when they refuse, and whatever they
 * accept must be what an encoder would have sent (re-encoding it gives the
 * same bytes).
 */
import { deepStrictEqual, fail, ok } from "node:assert/strict";
import {
  type AdvertExpect,
  decodeAdvert,
  decodeAdvertPacket,
  DROP_REASONS,
  encodeAdvert,
  VRRP_MULTICAST_GROUP,
} from "../../src/vrrp/packet.ts";
import { encodeIpv4Packet, formatIpv4, IPPROTO_VRRP } from "../../src/vrrp/ipv4.ts";
import { prng as rng } from "../helpers/prng.ts";

const SEED = 0x5eed_0112;
const ROUNDS = 20_000;
const KNOWN = new Set<string>(DROP_REASONS);

function checkResult(r: ReturnType<typeof decodeAdvert>, bytes: Uint8Array, src: number, dst: number, e: AdvertExpect) {
  if (!r.ok) {
    ok(KNOWN.has(r.reason), `unknown reason ${r.reason}`);
    return;
  }
  const a = r.advert;
  // The reserved bits of v3 and a password the receiver did not check are
  // not carried in the advert, so only compare when they are the encoder's.
  if (a.version === 3 && (bytes[4] & 0xf0) !== 0) return;
  if (a.version === 2 && a.authType === 1 && e.password === undefined) return;
  if (a.version === 2 && a.authType === 0 && bytes.subarray(bytes.length - 8).some((b) => b !== 0)) return;
  const again = encodeAdvert(
    { ...a, password: a.authType === 1 ? e.password : undefined },
    { src: formatIpv4(src), dst: formatIpv4(dst), checksumAsV2: e.checksumAsV2 },
  );
  deepStrictEqual(Array.from(again), Array.from(bytes));
}

Deno.test(`decodeAdvert never throws on ${ROUNDS} seeded inputs (seed ${SEED.toString(16)})`, () => {
  const rand = rng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const G = 0xe0000012;
  let accepted = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const version: 2 | 3 = rand() < 0.5 ? 2 : 3;
    const expects: AdvertExpect[] = [
      {},
      { version, vrid: 1 + int(3) },
      { version: 2, password: "pw", intervalCs: 100 },
      { version: 3, addresses: ["10.0.0.1"], intervalCs: 100 },
      { unicast: rand() < 0.5, checksumAsV2: true },
    ];
    const expect = expects[int(expects.length)];
    const src = (int(256) << 24 | int(65536)) >>> 0;
    const dst = rand() < 0.7 ? G : (10 << 24 | int(65536)) >>> 0;
    let bytes: Uint8Array;
    if (rand() < 0.3) {
      bytes = Uint8Array.from({ length: int(80) }, () => int(256));
    } else {
      const count = int(4);
      const v = expect.version ?? version;
      bytes = encodeAdvert(
        {
          version: v,
          vrid: 1 + int(3),
          priority: int(256),
          intervalCs: v === 2 ? 100 * (1 + int(3)) : 1 + int(200),
          addresses: Array.from({ length: count }, (_, k) => `10.0.0.${k + 1}`),
          password: v === 2 && rand() < 0.5 ? "pw" : undefined,
        },
        { src: formatIpv4(src), dst: formatIpv4(dst), checksumAsV2: expect.checksumAsV2 },
      );
      const mutation = int(5);
      if (mutation === 1) bytes[int(bytes.length)] ^= 1 << int(8);
      if (mutation === 2) bytes = bytes.subarray(0, int(bytes.length));
      if (mutation === 3) bytes = Uint8Array.from([...bytes, ...Array.from({ length: 1 + int(8) }, () => int(256))]);
    }
    const ttl = rand() < 0.8 ? 255 : int(256);
    let r;
    try {
      r = decodeAdvert(src, dst, ttl, bytes, expect);
    } catch (e) {
      fail(`round ${i} threw ${e} on ${Array.from(bytes).join(",")}`);
    }
    if (r.ok) accepted++;
    checkResult(r, bytes, src, dst, expect);
  }
  // The mix must exercise both outcomes, or the test proves little.
  ok(accepted > ROUNDS / 10, `only ${accepted} accepted`);
  ok(accepted < ROUNDS * 0.9, `${accepted} accepted`);
});

Deno.test("decodeAdvertPacket never throws on seeded IP packets, whole or damaged", () => {
  const rand = rng(SEED + 1);
  const int = (n: number) => Math.floor(rand() * n);
  const good = encodeIpv4Packet({
    src: "10.0.0.1",
    dst: VRRP_MULTICAST_GROUP,
    protocol: IPPROTO_VRRP,
    ttl: 255,
    payload: encodeAdvert(
      { version: 3, vrid: 5, priority: 100, intervalCs: 100, addresses: ["10.0.0.100"] },
      { src: "10.0.0.1", dst: VRRP_MULTICAST_GROUP },
    ),
  });
  let accepted = 0;
  for (let i = 0; i < ROUNDS; i++) {
    let p: Uint8Array;
    if (rand() < 0.2) {
      p = Uint8Array.from({ length: int(80) }, () => int(256));
      if (p.length > 0 && rand() < 0.5) p[0] = 0x40 | int(16); // version 4 with any IHL
    } else {
      p = good.slice();
      for (let k = int(3); k > 0; k--) p[int(p.length)] = int(256);
      if (rand() < 0.2) p = p.subarray(0, int(p.length + 1));
    }
    let r;
    try {
      r = decodeAdvertPacket(p, { vrid: 5 });
    } catch (e) {
      fail(`round ${i} threw ${e} on ${Array.from(p).join(",")}`);
    }
    if (r.ok) accepted++;
    else ok(KNOWN.has(r.reason), `unknown reason ${r.reason}`);
  }
  ok(accepted > 0);
});
