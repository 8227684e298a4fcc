/**
 * The VRRP codec on golden packets and on every receive check.
 *
 * The golden bytes were not produced by src/vrrp: each checksum is worked
 * out below as the RFC 1071 sum of 16-bit words (and was cross-checked with
 * a separate Python implementation), and tcpdump 4.x (print-vrrp.c, which
 * verifies v2 over the message and v3 with nextproto4_cksum, i.e. the IPv4
 * pseudo-header) decoded all of them with no "bad vrrp cksum". The last
 * test repeats that tcpdump check on what encodeAdvert produces, when
 * tcpdump is installed.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  type AdvertExpect,
  decodeAdvert,
  decodeAdvertPacket,
  DROP_REASONS,
  type DropReason,
  encodeAdvert,
  VRRP_MULTICAST_GROUP,
} from "../../src/vrrp/packet.ts";
import { encodeIpv4Packet, internetChecksum, IPPROTO_VRRP } from "../../src/vrrp/ipv4.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(i * 2, i * 2 + 2), 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const G = VRRP_MULTICAST_GROUP;

// v3, 10.0.0.1 -> 224.0.0.18, VRID 51, priority 100, 1 address, 100 cs, VIP 10.0.0.100.
//   message:        3133 6401 0064 [csum] 0a00 0064
//   pseudo-header:  0a00 0001 e000 0012 0070 000c   (src, dst, 0 + proto 112, length 12)
//   sum of words:   0a00+0001+e000+0012+0070+000c + 3133+6401+0064+0000+0a00+0064 = 0x18a8b
//   fold:           0x8a8b + 0x1 = 0x8a8c;  checksum = ~0x8a8c = 0x7573
const V3_ONE = hex("3133 6401 0064 7573 0a000064");

// v3, 192.168.1.2 -> 224.0.0.18, VRID 7, priority 200, 3 addresses, 50 cs.
//   message:        3107 c803 0032 [csum] c0a8 010a c0a8 010b 0a14 1e28
//   pseudo-header:  c0a8 0102 e000 0012 0070 0014   (length 20)
//   sum = 0x4471d; fold 0x471d + 0x4 = 0x4721; checksum = ~0x4721 = 0xb8de
const V3_THREE = hex("3107 c803 0032 b8de c0a8010a c0a8010b 0a141e28");

// v2, VRID 51, priority 150, Auth Type 1, 1 s, VIP 10.0.0.100, password "secret".
//   message only:   2133 9601 0101 [csum] 0a00 0064 7365 6372 6574 0000
//   sum = 0x1fee4; fold 0xfee4 + 0x1 = 0xfee5; checksum = ~0xfee5 = 0x011a
const V2_PASS = hex("2133 9601 0101 011a 0a000064 7365637265740000");

// The V3_ONE advert sent unicast to 10.0.0.2: the pseudo-header carries the peer.
//   pseudo-header:  0a00 0001 0a00 0002 0070 000c; sum = 0xb47b; checksum = ~0xb47b = 0x4b84
const V3_UNICAST = hex("3133 6401 0064 4b84 0a000064");

// The whole IPv4 packet around V3_ONE (TOS 0xc0, TTL 255, protocol 112, id 0),
// header checksum 0xd09a worked out the same way.
const V3_ONE_PACKET = hex("45c0 0020 0000 0000 ff70 d09a 0a000001 e0000012 3133 6401 0064 7573 0a000064");

Deno.test("v3 golden, one address: encode gives the hand-made bytes, decode gives the fields", () => {
  const fields = { version: 3 as const, vrid: 51, priority: 100, intervalCs: 100, addresses: ["10.0.0.100"] };
  strictEqual(toHex(encodeAdvert(fields, { src: "10.0.0.1", dst: G })), toHex(V3_ONE));
  deepStrictEqual(decodeAdvert("10.0.0.1", G, 255, V3_ONE, { vrid: 51, intervalCs: 100 }), {
    ok: true,
    advert: { version: 3, vrid: 51, priority: 100, intervalCs: 100, addresses: ["10.0.0.100"], authType: 0 },
    notes: [],
  });
});

Deno.test("v3 golden, three addresses", () => {
  const addresses = ["192.168.1.10", "192.168.1.11", "10.20.30.40"];
  const fields = { version: 3 as const, vrid: 7, priority: 200, intervalCs: 50, addresses };
  strictEqual(toHex(encodeAdvert(fields, { src: "192.168.1.2", dst: G })), toHex(V3_THREE));
  const r = decodeAdvert("192.168.1.2", G, 255, V3_THREE, { vrid: 7, addresses: [...addresses].reverse() });
  ok(r.ok);
  deepStrictEqual(r.advert.addresses, addresses);
  strictEqual(r.advert.intervalCs, 50);
  strictEqual(r.advert.priority, 200);
  deepStrictEqual(r.notes, []); // the same set in another order is no mismatch
});

Deno.test("v3 checksum covers the pseudo-header: the same message to another destination fails", () => {
  strictEqual(decodeAdvert("10.0.0.1", "10.0.0.2", 255, V3_ONE).ok, false);
  strictEqual(decodeAdvert("10.0.0.9", G, 255, V3_ONE).ok, false);
  const fields = { version: 3 as const, vrid: 51, priority: 100, intervalCs: 100, addresses: ["10.0.0.100"] };
  strictEqual(toHex(encodeAdvert(fields, { src: "10.0.0.1", dst: "10.0.0.2" })), toHex(V3_UNICAST));
  ok(decodeAdvert("10.0.0.1", "10.0.0.2", 255, V3_UNICAST, { unicast: true }).ok);
});

Deno.test("v3 checksumAsV2 (keepalived v3_checksum_as_v2) sums the message alone", () => {
  const fields = { version: 3 as const, vrid: 51, priority: 100, intervalCs: 100, addresses: ["10.0.0.100"] };
  const msg = encodeAdvert(fields, { src: "10.0.0.1", dst: G, checksumAsV2: true });
  strictEqual(internetChecksum(msg), 0);
  strictEqual(toHex(msg.subarray(6, 8)), "6003"); // ~(3133+6401+0064+0a00+0064) = ~0x9ffc
  ok(decodeAdvert("10.0.0.1", G, 255, msg, { checksumAsV2: true }).ok);
  strictEqual(decodeAdvert("10.0.0.1", G, 255, msg).ok, false);
});

Deno.test("v2 golden with auth_type PASS", () => {
  const fields = {
    version: 2 as const,
    vrid: 51,
    priority: 150,
    intervalCs: 100,
    addresses: ["10.0.0.100"],
    password: "secret",
  };
  strictEqual(toHex(encodeAdvert(fields, { src: "10.0.0.1", dst: G })), toHex(V2_PASS));
  deepStrictEqual(decodeAdvert("10.0.0.1", G, 255, V2_PASS, { version: 2, password: "secret", intervalCs: 100 }), {
    ok: true,
    advert: { version: 2, vrid: 51, priority: 150, intervalCs: 100, addresses: ["10.0.0.100"], authType: 1 },
    notes: [],
  });
  // v2's checksum does not depend on the IP addresses.
  ok(decodeAdvert("10.9.9.9", "10.8.8.8", 255, V2_PASS, { version: 2, password: "secret" }).ok);
});

Deno.test("v2 password: only the first 8 bytes count, as keepalived", () => {
  const long = encodeAdvert(
    { version: 2, vrid: 1, priority: 100, intervalCs: 100, addresses: [], password: "12345678-ignored" },
    { src: "10.0.0.1", dst: G },
  );
  strictEqual(toHex(long.subarray(8)), toHex(new TextEncoder().encode("12345678")));
  ok(decodeAdvert("10.0.0.1", G, 255, long, { version: 2, password: "12345678" }).ok);
  ok(decodeAdvert("10.0.0.1", G, 255, long, { version: 2, password: "12345678-other" }).ok);
});

Deno.test("whole IPv4 packet: encodeIpv4Packet and decodeAdvertPacket", () => {
  const pkt = encodeIpv4Packet({
    src: "10.0.0.1",
    dst: G,
    protocol: IPPROTO_VRRP,
    ttl: 255,
    tos: 0xc0,
    payload: V3_ONE,
  });
  strictEqual(toHex(pkt), toHex(V3_ONE_PACKET));
  const r = decodeAdvertPacket(V3_ONE_PACKET, { vrid: 51 });
  ok(r.ok);
  strictEqual(r.src, "10.0.0.1");
  strictEqual(r.dst, G);
  strictEqual(r.ttl, 255);
  // Ethernet padding after the IP total length is not part of the packet.
  const padded = new Uint8Array(46);
  padded.set(V3_ONE_PACKET);
  ok(decodeAdvertPacket(padded).ok);
});

Deno.test("encodeAdvert refuses what does not fit, naming the field", () => {
  const base = { version: 3 as const, vrid: 1, priority: 100, intervalCs: 100, addresses: ["10.0.0.1"] };
  const ip = { src: "10.0.0.1", dst: G };
  throws(() => encodeAdvert({ ...base, vrid: 0 }, ip), /vrid 0/);
  throws(() => encodeAdvert({ ...base, priority: 256 }, ip), /priority 256/);
  throws(() => encodeAdvert({ ...base, intervalCs: 4096 }, ip), /interval \(centiseconds\) 4096/);
  throws(() => encodeAdvert({ ...base, addresses: ["10.0.0.256"] }, ip), /not an IPv4 address/);
  throws(() => encodeAdvert({ ...base, password: "x" }, ip), /no authentication/);
  throws(() => encodeAdvert({ ...base, version: 2, intervalCs: 150 }, ip), /whole number of seconds/);
  throws(() => encodeAdvert({ ...base, version: 2, intervalCs: 25600 }, ip), /interval \(seconds\) 256/);
});

// ---------------------------------------------------------------------------
// Every drop reason, each from a packet that passes every other check.

function v3(patch: (b: Uint8Array) => void = () => {}, fix = true, dst = G): Uint8Array {
  const b = encodeAdvert(
    { version: 3, vrid: 51, priority: 100, intervalCs: 100, addresses: ["10.0.0.100"] },
    { src: "10.0.0.1", dst },
  );
  patch(b);
  if (fix) refix(b, 3, "10.0.0.1", dst);
  return b;
}

// password null: Auth Type 0.
function v2(patch: (b: Uint8Array) => void = () => {}, password: string | null = "secret"): Uint8Array {
  const b = encodeAdvert(
    {
      version: 2,
      vrid: 51,
      priority: 100,
      intervalCs: 100,
      addresses: ["10.0.0.100"],
      password: password ?? undefined,
    },
    { src: "10.0.0.1", dst: G },
  );
  patch(b);
  refix(b, 2, "10.0.0.1", G);
  return b;
}

// Recomputes the checksum after a patch, so that only the patched rule fails.
function refix(b: Uint8Array, version: number, src: string, dst: string): void {
  b[6] = b[7] = 0;
  let sum: number;
  if (version === 2) {
    sum = internetChecksum(b);
  } else {
    const p = new Uint8Array(12 + b.length);
    p.set(src.split(".").map(Number), 0);
    p.set(dst.split(".").map(Number), 4);
    p[9] = 112;
    p[10] = b.length >> 8;
    p[11] = b.length & 255;
    p.set(b, 12);
    sum = internetChecksum(p);
  }
  b[6] = sum >> 8;
  b[7] = sum & 255;
}

function reason(r: ReturnType<typeof decodeAdvert>): DropReason | "ok" {
  return r.ok ? "ok" : r.reason;
}

const V2_EXPECT: AdvertExpect = { version: 2, vrid: 51, password: "secret", intervalCs: 100 };

const CASES: { name: DropReason; run: () => DropReason | "ok" }[] = [
  {
    name: "notIpv4",
    run: () => {
      const p = V3_ONE_PACKET.slice();
      p[0] = 0x65;
      return reason(decodeAdvertPacket(p));
    },
  },
  {
    name: "badIpHeader",
    run: () => reason(decodeAdvertPacket(V3_ONE_PACKET.subarray(0, 30))), // total length 32 > 30 bytes
  },
  {
    name: "badIpChecksum",
    run: () => {
      const p = V3_ONE_PACKET.slice();
      p[11] ^= 1;
      return reason(decodeAdvertPacket(p));
    },
  },
  {
    name: "notVrrp",
    run: () =>
      reason(
        decodeAdvertPacket(encodeIpv4Packet({ src: "10.0.0.1", dst: G, protocol: 51, ttl: 255, payload: V3_ONE })),
      ),
  },
  { name: "truncated", run: () => reason(decodeAdvert("10.0.0.1", G, 255, V3_ONE.subarray(0, 7))) },
  { name: "badTtl", run: () => reason(decodeAdvert("10.0.0.1", G, 254, V3_ONE)) },
  { name: "badVersion", run: () => reason(decodeAdvert("10.0.0.1", G, 255, V3_ONE, { version: 2 })) },
  { name: "badType", run: () => reason(decodeAdvert("10.0.0.1", G, 255, v3((b) => b[0] = 0x32))) },
  { name: "badLength", run: () => reason(decodeAdvert("10.0.0.1", G, 255, v3((b) => b[3] = 2))) },
  {
    name: "badChecksum",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, v3((b) => b[7] ^= 0x10, false))),
  },
  { name: "unknownVrid", run: () => reason(decodeAdvert("10.0.0.1", G, 255, V3_ONE, { vrid: 52 })) },
  {
    name: "wrongDestination",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, V3_ONE, { unicast: true })),
  },
  {
    name: "badAuthType",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, v2((b) => b[4] = 2), V2_EXPECT)),
  },
  {
    name: "authTypeMismatch",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, v2(() => {}, null), V2_EXPECT)),
  },
  {
    name: "authFailure",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, v2(() => {}, "secreT"), V2_EXPECT)),
  },
  { name: "badInterval", run: () => reason(decodeAdvert("10.0.0.1", G, 255, v3((b) => b[5] = 0))) },
  {
    name: "intervalMismatch",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, v2((b) => b[5] = 2), V2_EXPECT)),
  },
  {
    name: "localIsOwner",
    run: () => reason(decodeAdvert("10.0.0.1", G, 255, V3_ONE, { localIsOwner: true })),
  },
  {
    name: "addressListMismatch",
    run: () =>
      reason(
        decodeAdvert("10.0.0.1", G, 255, v2(), { ...V2_EXPECT, addresses: ["10.0.0.101"] }),
      ),
  },
];

Deno.test("every drop reason has a case, and each case is refused for exactly that reason", () => {
  deepStrictEqual(CASES.map((c) => c.name), [...DROP_REASONS]);
  for (const c of CASES) strictEqual(c.run(), c.name, c.name);
});

Deno.test("the unpatched bases of the drop cases pass", () => {
  strictEqual(reason(decodeAdvert("10.0.0.1", G, 255, v3(), { vrid: 51, intervalCs: 100 })), "ok");
  strictEqual(reason(decodeAdvert("10.0.0.1", G, 255, v2(), V2_EXPECT)), "ok");
  strictEqual(reason(decodeAdvertPacket(V3_ONE_PACKET)), "ok");
});

Deno.test("unicast: the TTL is not checked (keepalived), multicast arriving there is refused", () => {
  const uni = v3(() => {}, true, "10.0.0.2");
  strictEqual(reason(decodeAdvert("10.0.0.1", "10.0.0.2", 64, uni, { unicast: true })), "ok");
  strictEqual(reason(decodeAdvert("10.0.0.1", "10.0.0.2", 64, uni, { unicast: false })), "badTtl");
  strictEqual(reason(decodeAdvert("10.0.0.1", "10.0.0.2", 255, uni, { unicast: false })), "wrongDestination");
});

Deno.test("v3 notes instead of drops: interval and address-list mismatches (RFC 5798 §7.1: log only)", () => {
  const r = decodeAdvert("10.0.0.1", G, 255, V3_ONE, { intervalCs: 200, addresses: ["10.0.0.1"] });
  ok(r.ok);
  deepStrictEqual(r.notes, ["intervalMismatch", "addressListMismatch"]);
});

Deno.test("v2 address mismatch from the owner (priority 255) is kept, with a note (RFC 3768 §7.1)", () => {
  const r = decodeAdvert("10.0.0.1", G, 255, v2((b) => b[2] = 255), { ...V2_EXPECT, addresses: ["10.0.0.101"] });
  ok(r.ok);
  deepStrictEqual(r.notes, ["addressListMismatch"]);
});

Deno.test("reserved bits of the v3 interval field are ignored on receipt (RFC 5798 §5.2.6)", () => {
  const r = decodeAdvert("10.0.0.1", G, 255, v3((b) => b[4] |= 0xf0));
  ok(r.ok);
  strictEqual(r.advert.intervalCs, 100);
});

Deno.test("encoded adverts decode to what was encoded (many field values)", () => {
  for (const version of [2, 3] as const) {
    for (const count of [0, 1, 2, 17]) {
      for (const priority of [0, 1, 100, 254, 255]) {
        const addresses = Array.from({ length: count }, (_, i) => `10.${i}.${255 - i}.${(i * 37) % 256}`);
        const intervalCs = version === 3 ? 4095 : 25500;
        const password = version === 2 ? "pw" : undefined;
        const b = encodeAdvert(
          { version, vrid: 200, priority, intervalCs, addresses, password },
          { src: "172.16.0.1", dst: G },
        );
        const r = decodeAdvert("172.16.0.1", G, 255, b, { version, password, addresses, intervalCs });
        deepStrictEqual(r, {
          ok: true,
          advert: { version, vrid: 200, priority, intervalCs, addresses, authType: version === 2 ? 1 : 0 },
          notes: [],
        });
      }
    }
  }
});

async function hasTcpdump(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("tcpdump", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "tcpdump (an independent decoder) reads what encodeAdvert builds, checksums included",
  ignore: !(await hasTcpdump()),
  fn: async () => {
    const adverts = [
      encodeIpv4Packet({
        src: "10.0.0.1",
        dst: G,
        protocol: IPPROTO_VRRP,
        ttl: 255,
        payload: encodeAdvert(
          { version: 3, vrid: 9, priority: 123, intervalCs: 75, addresses: ["10.1.1.1", "10.1.1.2"] },
          { src: "10.0.0.1", dst: G },
        ),
      }),
      encodeIpv4Packet({
        src: "10.0.0.1",
        dst: "10.0.0.7",
        protocol: IPPROTO_VRRP,
        ttl: 255,
        payload: encodeAdvert(
          { version: 3, vrid: 9, priority: 1, intervalCs: 4095, addresses: ["10.1.1.1"] },
          { src: "10.0.0.1", dst: "10.0.0.7" },
        ),
      }),
      encodeIpv4Packet({
        src: "10.0.0.1",
        dst: G,
        protocol: IPPROTO_VRRP,
        ttl: 255,
        payload: encodeAdvert(
          { version: 2, vrid: 9, priority: 254, intervalCs: 300, addresses: ["10.1.1.1"], password: "pass" },
          { src: "10.0.0.1", dst: G },
        ),
      }),
    ];
    // pcap, LINKTYPE_RAW (101): each record is a bare IPv4 packet.
    const parts: number[] = [];
    const u32 = (n: number) => parts.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255);
    const u16 = (n: number) => parts.push(n & 255, n >> 8);
    u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(65535), u32(101);
    for (const a of adverts) {
      u32(0), u32(0), u32(a.length), u32(a.length);
      parts.push(...a);
    }
    const file = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(file, Uint8Array.from(parts));
      const out = await new Deno.Command("tcpdump", {
        args: ["-nn", "-vv", "-r", file],
        stdout: "piped",
        stderr: "null",
      })
        .output();
      const text = new TextDecoder().decode(out.stdout);
      ok(!text.includes("bad vrrp cksum"), text);
      ok(
        text.includes("VRRPv3, Advertisement, vrid 9, prio 123, intvl 75cs, length 16, addrs(2): 10.1.1.1,10.1.1.2"),
        text,
      );
      ok(text.includes("10.0.0.1 > 10.0.0.7: VRRPv3, Advertisement, vrid 9, prio 1, intvl 4095cs"), text);
      ok(
        text.includes(
          'VRRPv2, Advertisement, vrid 9, prio 254, authtype simple, intvl 3s, length 20, addrs: 10.1.1.1 auth "pass',
        ),
        text,
      );
    } finally {
      await Deno.remove(file);
    }
  },
});
