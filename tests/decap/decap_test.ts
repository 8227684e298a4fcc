/**
 * `lvsd decap` on a real server in network namespaces (see harness.ts):
 * tunnelled TCP from a client the director's side plays reaches a real TCP
 * server on the VIP, whose answers leave by the real server's normal route,
 * from the VIP, never back into the tunnel; malformed tunnel packets are
 * counted by reason and never written to the TUN device; stopping removes
 * the device and its VIP and restores the sysctls (checked by the harness
 * after every test).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { sh } from "../../src/sys/netns_testing.ts";
import { CLIENT, type Counters, DEVICE, GUE_PORT, type RealServer, RS_ADDR, VIP, withRealServer } from "./harness.ts";

const NS = { sanitizeOps: false, sanitizeResources: false };

interface Segment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  data: string;
}

async function exchange(t: RealServer, kind: "ipip" | "gue" | "gue1"): Promise<void> {
  const out = JSON.parse(await t.peer(["exchange", kind, RS_ADDR, String(GUE_PORT), VIP, CLIENT, "d0"])) as {
    synack: Segment | null;
    reply?: Segment | null;
  };
  ok(out.synack, `${kind}: no SYN-ACK from ${VIP}:80 to ${CLIENT} left the real server`);
  strictEqual(out.synack.src, VIP, "the SYN-ACK comes from the VIP");
  strictEqual(out.synack.dst, CLIENT, "straight to the client");
  ok(out.reply, `${kind}: the server's data segment never came`);
  strictEqual(out.reply.data, "pong:ping", "the server read the client's data and answered it");
  strictEqual(out.reply.src, VIP);
}

const ZERO = { not_ipv4_inner: 0, bad_gue_header: 0, not_for_vip: 0, truncated: 0, write_error: 0 };

function reasons(c: Counters): Counters {
  const { not_ipv4_inner, bad_gue_header, not_for_vip, truncated, write_error } = c;
  return { not_ipv4_inner, bad_gue_header, not_for_vip, truncated, write_error };
}

Deno.test({
  name: "decap (IPIP): a TCP exchange to the VIP; replies leave by the normal route from the VIP; no ARP for the VIP",
  ...NS,
  fn: () =>
    withRealServer({ tunType: "ipip" }, async (t) => {
      await exchange(t, "ipip");
      // SYN + ACK-with-data: both decapsulated and written; nothing dropped.
      const c = await t.counters((c) => c.received >= 2);
      strictEqual(c.received, 2, JSON.stringify(c));
      strictEqual(c.decapsulated, 2, JSON.stringify(c));
      deepStrictEqual(reasons(c), ZERO);
      // Exactly those went into the TUN device, and no reply went out of it
      // (the server's segments took the default route, seen on d0 above).
      deepStrictEqual(await t.tunStats(), { rx: 2, tx: 0 });
      const dev = JSON.parse(await sh("ip", "-n", t.rs, "-j", "addr", "show", "dev", DEVICE));
      deepStrictEqual(
        dev[0].addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`),
        [`${VIP}/32`],
      );
      strictEqual(
        (await sh("ip", "netns", "exec", t.rs, "sysctl", "-n", `net.ipv4.conf.${DEVICE}.rp_filter`)).trim(),
        "0",
      );
      // The VIP is local on rs, yet rs does not answer ARP for it on its LAN.
      await sh("ip", "-n", t.dir, "route", "add", `${VIP}/32`, "dev", "d0");
      await sh(
        "ip",
        "netns",
        "exec",
        t.dir,
        "python3",
        "-c",
        `import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("${VIP}", 9))`,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const neigh = await sh("ip", "-n", t.dir, "neigh", "show", VIP);
      ok(!/lladdr/.test(neigh), `rs answered ARP for the VIP: ${neigh}`);
    }),
});

Deno.test({
  name: "decap (GUE): TCP exchanges through GUE variant 0 (as IPVS sends it) and variant 1",
  ...NS,
  fn: () =>
    withRealServer({ tunType: "gue" }, async (t) => {
      await exchange(t, "gue");
      await exchange(t, "gue1");
      const c = await t.counters((c) => c.received >= 4);
      strictEqual(c.received, 4, JSON.stringify(c));
      strictEqual(c.decapsulated, 4, JSON.stringify(c));
      deepStrictEqual(reasons(c), ZERO);
      deepStrictEqual(await t.tunStats(), { rx: 4, tx: 0 });
    }),
});

Deno.test({
  name: "decap (IPIP): malformed packets are counted per reason and nothing is written to the device",
  ...NS,
  fn: () =>
    withRealServer({ tunType: "ipip" }, async (t) => {
      const bad = ["inner_ipv6", "wrong_vip", "inner_short", "inner_total_too_long", "inner_bad_ihl", "wrong_vip"];
      await t.peer(["send", "ipip", RS_ADDR, "0", VIP, CLIENT, ...bad]);
      const c = await t.counters((c) => c.received >= bad.length);
      strictEqual(c.received, 6, JSON.stringify(c));
      strictEqual(c.decapsulated, 0, JSON.stringify(c));
      deepStrictEqual(reasons(c), { ...ZERO, not_ipv4_inner: 1, not_for_vip: 2, truncated: 3 });
      deepStrictEqual(await t.tunStats(), { rx: 0, tx: 0 });
      // The same path does write a good one (so the zero above means something).
      await t.peer(["send", "ipip", RS_ADDR, "0", VIP, CLIENT, "good"]);
      const after = await t.counters((c) => c.received >= 7);
      strictEqual(after.decapsulated, 1, JSON.stringify(after));
      strictEqual((await t.tunStats()).rx, 1);
    }),
});

Deno.test({
  name: "decap (GUE): bad GUE headers, non-IPv4 inners, wrong VIP and truncation are counted per reason",
  ...NS,
  fn: () =>
    withRealServer({ tunType: "gue" }, async (t) => {
      const bad = [
        "gue_version2",
        "gue_control",
        "gue_unknown_flag",
        "gue_remcsum",
        "gue_proto_ipv6",
        "gue1_ipv6",
        "inner_ipv6",
        "wrong_vip",
        "gue_short",
        "gue_hlen_past_end",
        "inner_total_too_long",
      ];
      await t.peer(["send", "gue", RS_ADDR, String(GUE_PORT), VIP, CLIENT, ...bad]);
      const c = await t.counters((c) => c.received >= bad.length);
      strictEqual(c.received, 11, JSON.stringify(c));
      strictEqual(c.decapsulated, 0, JSON.stringify(c));
      deepStrictEqual(reasons(c), { ...ZERO, bad_gue_header: 4, not_ipv4_inner: 3, not_for_vip: 1, truncated: 3 });
      deepStrictEqual(await t.tunStats(), { rx: 0, tx: 0 });
      // A P flag with no private flags set is a good header.
      await t.peer(["send", "gue", RS_ADDR, String(GUE_PORT), VIP, CLIENT, "gue_priv_zero", "gue1_good", "good"]);
      const after = await t.counters((c) => c.received >= 14);
      strictEqual(after.decapsulated, 3, JSON.stringify(after));
      strictEqual((await t.tunStats()).rx, 3);
    }),
});

Deno.test({
  name: "decap: the device deleted under it: the next packet ends it with exit 1, a message, and a clean teardown",
  ...NS,
  fn: () =>
    withRealServer({ tunType: "ipip", expectExit: 1 }, async (t) => {
      await sh("ip", "-n", t.rs, "link", "del", DEVICE);
      await t.peer(["send", "ipip", RS_ADDR, "0", VIP, CLIENT, "good"]);
      const st = await Promise.race([t.decap.status, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      ok(st, "decap kept running with its device gone");
      strictEqual(st.code, 1);
      ok(t.decap.stderr.includes(`Cannot write to TUN device "${DEVICE}": it no longer exists`), t.decap.stderr);
      ok(/received=1 decapsulated=0 .*write_error=1 \(last write error EBADFD\)/.test(t.decap.stdout), t.decap.stdout);
    }),
});
