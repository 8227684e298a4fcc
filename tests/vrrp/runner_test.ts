/**
 * VrrpRunner with a fake host (no sockets): what it does with the state
 * machine's actions — held bit, adverts on the wire format, gratuitous ARPs
 * per address on the address's own device, notify hooks — and keepalived's
 * tracking: the instance's link or a track_interface down = FAULT, a
 * track_script with weight 0 = FAULT, with a weight = priority change.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type AdvertTransport, type RunnerHost, VrrpRunner } from "../../src/vrrp/runner.ts";
import { validateVrrpInstances } from "../../src/vrrp/spec.ts";
import { decodeAdvertPacket, encodeAdvert } from "../../src/vrrp/packet.ts";
import { encodeIpv4Packet, IPPROTO_VRRP } from "../../src/vrrp/ipv4.ts";
import { formatMac } from "../../src/vrrp/arp.ts";

const MACS: Record<string, string> = { ext0: "02:00:00:00:0e:01", int0: "02:00:00:00:01:01" };

class FakeHost implements RunnerHost {
  held = { bits: new Map<number, boolean>(), setHeld: (i: number, h: boolean) => void this.held.bits.set(i, h) };
  logs: string[] = [];
  log = (l: string) => void this.logs.push(l);
  sent: { packet: Uint8Array; dst: string }[] = [];
  frames: { dev: string; frame: Uint8Array }[] = [];
  links = new Map<string, boolean>([["ext0", true], ["int0", true]]);
  scriptCode = 0;
  commands: string[] = [];
  #inbox: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  closed = false;
  openAdverts(): AdvertTransport {
    return {
      receive: async (buf) => {
        while (!this.closed && this.#inbox.length === 0) {
          await new Promise<void>((r) => {
            this.#wake = r;
            setTimeout(r, 50);
          });
        }
        if (this.closed) return -1;
        const p = this.#inbox.shift()!;
        buf.set(p);
        return p.length;
      },
      send: (packet, dst) => void this.sent.push({ packet, dst }),
      close: () => {
        this.closed = true;
        this.#wake?.();
      },
    };
  }
  openFrames(dev: string) {
    return { send: (frame: Uint8Array) => void this.frames.push({ dev, frame }), close: () => {} };
  }
  mac(dev: string) {
    return Uint8Array.from(MACS[dev].split(":"), (h) => parseInt(h, 16));
  }
  primaryIp() {
    return Promise.resolve("10.10.0.5");
  }
  linkUp(dev: string) {
    return Promise.resolve(this.links.get(dev) ?? false);
  }
  run(cmd: string) {
    this.commands.push(cmd);
    return Promise.resolve(cmd.startsWith("check") ? this.scriptCode : 0);
  }
  inject(priority: number, src = "10.10.0.6", dst = "224.0.0.18") {
    const payload = encodeAdvert({
      version: 3,
      vrid: 51,
      priority,
      intervalCs: 5,
      addresses: ["10.10.0.100", "10.20.0.1"],
    }, { src, dst });
    this.#inbox.push(encodeIpv4Packet({ src, dst, protocol: IPPROTO_VRRP, ttl: 255, payload }));
    this.#wake?.();
  }
  injectRaw(p: Uint8Array) {
    this.#inbox.push(p);
    this.#wake?.();
  }
}

function spec(extra: Record<string, unknown> = {}) {
  const { instances, issues } = validateVrrpInstances([{
    name: "VI_1",
    interface: "ext0",
    virtual_router_id: 51,
    priority: 150,
    advert_int: 0.05,
    virtual_ipaddress: ["10.10.0.100/24", "10.20.0.1/24 dev int0"],
    garp_master_delay: 0,
    garp_master_repeat: 2,
    notify_master: "notify M",
    notify_backup: "notify B",
    notify_fault: "notify F",
    ...extra,
  }]);
  assertEquals(issues, []);
  return instances[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

Deno.test("vrrp runner: becomes MASTER alone: held bit set, adverts decode, GARPs per address on its device, notify_master", async () => {
  const host = new FakeHost();
  const r = new VrrpRunner(spec(), 3, host);
  const states: string[] = [];
  r.onStateChange = (_, s) => void states.push(s);
  await r.start();
  try {
    assertEquals(r.state, "backup");
    assertEquals(host.held.bits.get(3), false);
    await until(() => r.state === "master", 1000, "MASTER");
    assertEquals(host.held.bits.get(3), true);
    assertEquals(states, ["backup", "master"]);
    const adv = decodeAdvertPacket(host.sent[0].packet, { vrid: 51 });
    assert(adv.ok);
    if (adv.ok) {
      assertEquals([adv.src, adv.dst, adv.ttl, adv.advert.priority, adv.advert.intervalCs], [
        "10.10.0.5",
        "224.0.0.18",
        255,
        150,
        5,
      ]);
      assertEquals(adv.advert.addresses, ["10.10.0.100", "10.20.0.1"]);
    }
    assertEquals(host.sent[0].packet[1], 0xc0, "TOS internetwork control");
    // garp_master_repeat 2: two rounds, each address on its own device with that device's MAC.
    assertEquals(host.frames.map((f) => f.dev), ["ext0", "int0", "ext0", "int0"]);
    assertEquals(formatMac(host.frames[1].frame.subarray(6, 12)), MACS.int0);
    assertEquals(Array.from(host.frames[1].frame.subarray(28, 32)), [10, 20, 0, 1]);
    await until(() => host.commands.includes("notify M"), 500, "notify_master");
    // A better master: BACKUP at once, held cleared, notify_backup.
    host.inject(200);
    await until(() => r.state === "backup", 500, "BACKUP after a higher priority");
    assertEquals(host.held.bits.get(3), false);
    await until(() => host.commands.includes("notify B"), 500, "notify_backup");
  } finally {
    await r.stop();
  }
  assertEquals(host.closed, true);
});

Deno.test("vrrp runner: bad adverts are dropped and counted by reason, not fed to the state machine", async () => {
  const host = new FakeHost();
  const r = new VrrpRunner(spec(), 0, host);
  await r.start();
  try {
    host.inject(200);
    await until(() => r.counts.received === 1, 500, "one accepted");
    const good = (() => {
      const payload = encodeAdvert({ version: 3, vrid: 51, priority: 200, intervalCs: 5, addresses: ["10.10.0.100"] }, {
        src: "10.10.0.6",
        dst: "224.0.0.18",
      });
      return encodeIpv4Packet({ src: "10.10.0.6", dst: "224.0.0.18", protocol: IPPROTO_VRRP, ttl: 64, payload });
    })();
    host.injectRaw(good); // TTL 64
    const otherVrid = good.slice();
    host.injectRaw(otherVrid.subarray(0, 24)); // truncated
    await until(() => r.drops.badTtl === 1 && r.drops.truncated + r.drops.badIpHeader === 1, 500, "drops");
    assertEquals(r.counts.received, 1);
  } finally {
    await r.stop();
  }
});

Deno.test("vrrp runner: track_interface down = FAULT (addresses released, priority 0 sent), up = BACKUP again", async () => {
  const host = new FakeHost();
  const r = new VrrpRunner(spec({ track_interface: ["int0"] }), 1, host);
  await r.start();
  try {
    await until(() => r.state === "master", 1000, "MASTER");
    host.links.set("int0", false);
    await until(() => r.state === "fault", 2000, "FAULT");
    assertEquals(host.held.bits.get(1), false);
    const last = decodeAdvertPacket(host.sent.at(-1)!.packet, {});
    assert(last.ok && last.advert.priority === 0, "a master going to FAULT resigns with priority 0");
    await until(() => host.commands.includes("notify F"), 500, "notify_fault");
    host.links.set("int0", true);
    await until(() => r.state !== "fault", 2000, "leaves FAULT");
    await until(() => r.state === "master", 2000, "MASTER again (nobody else)");
  } finally {
    await r.stop();
  }
});

Deno.test("vrrp runner: an interface down at start starts in FAULT", async () => {
  const host = new FakeHost();
  host.links.set("ext0", false);
  const r = new VrrpRunner(spec(), 0, host);
  await r.start();
  try {
    assertEquals(r.state, "fault");
    await sleep(300);
    assertEquals(r.state, "fault");
    assertEquals(host.held.bits.get(0) ?? false, false);
  } finally {
    await r.stop();
  }
});

Deno.test("vrrp runner: track_script weight changes the advertised priority; weight 0 failing = FAULT", async () => {
  const host = new FakeHost();
  host.scriptCode = 1;
  const r = new VrrpRunner(
    spec({ track_script: [{ script: "check a", interval: 0.1, weight: -60, fall: 2 }] }),
    0,
    host,
  );
  await r.start();
  try {
    await until(() => r.state === "master", 1000, "MASTER");
    // The script failed twice (fall 2): priority 150 - 60.
    await until(
      () => {
        const a = decodeAdvertPacket(host.sent.at(-1)!.packet, {});
        return a.ok && a.advert.priority === 90;
      },
      2000,
      "priority 90 advertised",
    );
    host.scriptCode = 0;
    await until(
      () => {
        const a = decodeAdvertPacket(host.sent.at(-1)!.packet, {});
        return a.ok && a.advert.priority === 150;
      },
      2000,
      "priority back to 150",
    );
  } finally {
    await r.stop();
  }
  const host2 = new FakeHost();
  host2.scriptCode = 0;
  const r2 = new VrrpRunner(spec({ track_script: [{ script: "check b", interval: 0.1, weight: 0 }] }), 0, host2);
  await r2.start();
  try {
    await until(() => r2.state === "master", 1000, "MASTER");
    host2.scriptCode = 3;
    await until(() => r2.state === "fault", 2000, "FAULT on script failure");
    host2.scriptCode = 0;
    await until(() => r2.state === "master", 2000, "back");
  } finally {
    await r2.stop();
  }
});

Deno.test("vrrp runner: unicast peers: adverts go to each peer; one from an address not in unicast_peer is dropped (unknownPeer)", async () => {
  const host = new FakeHost();
  const r = new VrrpRunner(spec({ unicast_src_ip: "10.10.0.5", unicast_peer: ["10.10.0.6", "10.10.0.7"] }), 0, host);
  await r.start();
  try {
    host.inject(200, "10.10.0.9", "10.10.0.5");
    await until(() => r.drops.unknownPeer === 1, 500, "unknownPeer");
    host.inject(200, "10.10.0.6", "10.10.0.5");
    await until(() => r.counts.received === 1, 500, "the peer's advert accepted");
    assertEquals(r.state, "backup");
    // Resign the peer: we take over and advertise to both peers.
    host.inject(0, "10.10.0.6", "10.10.0.5");
    await until(() => r.state === "master", 1000, "MASTER");
    await until(() => host.sent.length >= 2, 500, "adverts");
    assertEquals(host.sent.slice(0, 2).map((x) => x.dst), ["10.10.0.6", "10.10.0.7"]);
  } finally {
    await r.stop();
  }
});

Deno.test("vrrp runner: adverts of a sibling instance (same interface, other VRID) are not counted as drops; a stranger's are", async () => {
  const host = new FakeHost();
  const r = new VrrpRunner(spec(), 0, host, new Set([52]));
  await r.start();
  try {
    const advert = (vrid: number) => {
      const payload = encodeAdvert({ version: 3, vrid, priority: 100, intervalCs: 5, addresses: ["10.10.0.101"] }, {
        src: "10.10.0.6",
        dst: "224.0.0.18",
      });
      return encodeIpv4Packet({ src: "10.10.0.6", dst: "224.0.0.18", protocol: IPPROTO_VRRP, ttl: 255, payload });
    };
    host.injectRaw(advert(52));
    host.injectRaw(advert(53));
    await until(() => r.drops.unknownVrid === 1, 500, "the stranger's advert counted");
    await sleep(50);
    assertEquals(r.drops.unknownVrid, 1);
  } finally {
    await r.stop();
  }
});
