/**
 * BPF_PROG_TEST_RUN fixtures for lvsd's XDP program. A redirect only reports
 * XDP_REDIRECT when the XSKMAP holds a bound socket, so the fixtures run in
 * a child process inside a test namespace with a veth and one AF_XDP socket
 * (`deno run program_test.ts fixtures` there; under `deno run`, Deno.test
 * does nothing).
 */
import assert from "node:assert/strict";
import { createXskMap, loadXdpProgram, testRunXdp, XDP_PASS, XDP_REDIRECT, xskMapSet } from "../sys/bpf.ts";
import { pageAlignedOffset, XDP_COPY, XDP_USE_NEED_WAKEUP, XskSocket } from "../sys/xsk.ts";
import { interfaceIndex, interfaceMac } from "../sys/netdev.ts";
import { close } from "../sys/libc.ts";
import { requireRoot, sh, withNamespaces } from "../sys/netns_testing.ts";
import { lvsdXdpProgram } from "./program.ts";
import { AddressMap } from "./address_map.ts";

const VIP = [10, 10, 0, 100];
const DEST = [10, 20, 0, 11];
const LOCAL = [10, 10, 0, 1];
const CLIENT = [10, 10, 0, 2];
const OTHER = [192, 0, 2, 9];

function ether(dst: Uint8Array | number[], type: number, payload: number[]): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set([2, 0, 0, 0, 0, 1], 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

function ipv4(saddr: number[], daddr: number[], proto = 6): number[] {
  const h = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, proto, 0, 0, ...saddr, ...daddr];
  return [...h, ...new Array(20).fill(0)]; // and a zeroed TCP header
}

function arp(oper: number, spa: number[], tpa: number[]): number[] {
  return [0, 1, 8, 0, 6, 4, 0, oper, 2, 0, 0, 0, 0, 1, ...spa, 0, 0, 0, 0, 0, 0, ...tpa];
}

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** In the namespace: the fixtures through the real program; prints {name: verdict}. */
function fixtures(dev: string): Record<string, number> {
  const ifindex = interfaceIndex(dev);
  const mac = interfaceMac(dev);
  const memory = new WebAssembly.Memory({ initial: 80, maximum: 80, shared: true });
  const offset = pageAlignedOffset(memory, 4096);
  const xsk = XskSocket.open({
    ifname: dev,
    ifindex,
    queue: 0,
    umem: { memory, offset, chunks: 512, chunkSize: 2048 },
    rxSize: 256,
    txSize: 256,
    fillSize: 512,
    completionSize: 256,
    bindFlags: XDP_COPY | XDP_USE_NEED_WAKEUP,
  });
  const xskMap = createXskMap(4, "t_lvsd_xsks");
  const addrs = new AddressMap();
  try {
    xskMapSet(xskMap, 0, xsk.fd);
    addrs.sync({ vips: ["10.10.0.100"], dests: ["10.20.0.11"], locals: ["10.10.0.1"] });
    const prog = loadXdpProgram(lvsdXdpProgram(mac, addrs.fd, xskMap), "t_lvsd");
    const run = (f: Uint8Array) => testRunXdp(prog, f).verdict;
    const other = [2, 9, 9, 9, 9, 9];
    const out = {
      vip: run(ether(mac, 0x0800, ipv4(CLIENT, VIP))),
      vipUdp: run(ether(mac, 0x0800, ipv4(CLIENT, VIP, 17))),
      natReply: run(ether(mac, 0x0800, ipv4(DEST, CLIENT))),
      destToLocal: run(ether(mac, 0x0800, ipv4(DEST, LOCAL))),
      toLocal: run(ether(mac, 0x0800, ipv4(CLIENT, LOCAL))),
      other: run(ether(mac, 0x0800, ipv4(CLIENT, OTHER))),
      vipOtherMac: run(ether(other, 0x0800, ipv4(CLIENT, VIP))),
      arpVip: run(ether(BROADCAST, 0x0806, arp(1, CLIENT, VIP))),
      arpHost: run(ether(BROADCAST, 0x0806, arp(1, CLIENT, LOCAL))),
      arpReplyVip: run(ether(mac, 0x0806, arp(2, CLIENT, VIP))),
      ipv6: run(ether(mac, 0x86dd, new Array(40).fill(0))),
      vlan: run(ether(mac, 0x8100, [0, 5, 8, 0, ...ipv4(CLIENT, VIP)])),
      truncatedIp: run(ether(mac, 0x0800, ipv4(CLIENT, VIP).slice(0, 19))),
      truncatedArp: run(ether(BROADCAST, 0x0806, arp(1, CLIENT, VIP).slice(0, 27))),
      runt: run(new Uint8Array(14)),
      garbage: run(new Uint8Array(60).fill(0xa5)),
      // After a publish that drops the VIP, its frames go to the kernel.
      vipRemoved:
        (addrs.sync({ vips: [], dests: ["10.20.0.11"], locals: ["10.10.0.1"] }),
          run(ether(mac, 0x0800, ipv4(CLIENT, VIP)))),
    };
    close(prog);
    return out;
  } finally {
    addrs.close();
    close(xskMap);
    xsk.close();
  }
}

if (import.meta.main && Deno.args[0] === "fixtures") {
  console.log(JSON.stringify(fixtures(Deno.args[1])));
}

Deno.test("lvsd's XDP program redirects what lvsd owns and passes the rest (BPF_PROG_TEST_RUN)", async () => {
  requireRoot("network namespaces, AF_XDP");
  await withNamespaces(1, async ([ns]) => {
    await sh("ip", "-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb");
    await sh("ip", "-n", ns, "link", "set", "va", "up");
    await sh("ip", "-n", ns, "link", "set", "vb", "up");
    const out = await new Deno.Command("ip", {
      args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", import.meta.filename!, "fixtures", "va"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) throw new Error(`fixtures failed:\n${new TextDecoder().decode(out.stderr)}`);
    const v = JSON.parse(text.trim().split("\n").at(-1)!);
    const R = XDP_REDIRECT, P = XDP_PASS;
    assert.deepEqual(v, {
      vip: R,
      vipUdp: R,
      natReply: R,
      destToLocal: P,
      toLocal: P,
      other: P,
      vipOtherMac: P,
      arpVip: R,
      arpHost: P,
      arpReplyVip: P,
      ipv6: P,
      vlan: P,
      truncatedIp: P,
      truncatedArp: P,
      runt: P,
      garbage: P,
      vipRemoved: P,
    });
  });
});
