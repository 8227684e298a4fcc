/**
 * The gratuitous ARP frame and the virtual router MAC, on hand-made bytes
 * (layout: RFC 826 over Ethernet; sender = target = VIP as keepalived's
 * send_gratuitous_arp_immediate), plus tcpdump's reading of the frame when
 * tcpdump is installed.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { formatMac, GARP_FRAME_BYTES, gratuitousArp, parseMac, virtualRouterMac } from "../../src/vrrp/arp.ts";

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// dst broadcast | src 02:00:00:00:00:01 | 0806 |
// htype 0001 ptype 0800 hlen 06 plen 04 op 0001 |
// SHA 020000000001 SPA 0a000064 THA ffffffffffff TPA 0a000064
const GARP_10_0_0_100 = "ffffffffffff" + "020000000001" + "0806" +
  "0001" + "0800" + "06" + "04" + "0001" +
  "020000000001" + "0a000064" + "ffffffffffff" + "0a000064";

Deno.test("gratuitous ARP for a VIP: broadcast request, SPA = TPA = VIP, SHA = our MAC", () => {
  const f = gratuitousArp("10.0.0.100", "02:00:00:00:00:01");
  strictEqual(f.length, GARP_FRAME_BYTES);
  strictEqual(toHex(f), GARP_10_0_0_100);
  deepStrictEqual(gratuitousArp("10.0.0.100", parseMac("02-00-00-00-00-01")), f);
});

Deno.test("virtual router MAC is 00-00-5E-00-01-{VRID}", () => {
  strictEqual(formatMac(virtualRouterMac(1)), "00:00:5e:00:01:01");
  strictEqual(formatMac(virtualRouterMac(51)), "00:00:5e:00:01:33");
  strictEqual(formatMac(virtualRouterMac(255)), "00:00:5e:00:01:ff");
  throws(() => virtualRouterMac(0), /VRID 0/);
  throws(() => virtualRouterMac(256), /VRID 256/);
});

Deno.test("bad MAC or VIP text is refused, naming it", () => {
  throws(() => parseMac("02:00:00:00:00"), /"02:00:00:00:00"/);
  throws(() => gratuitousArp("10.0.0.300", "02:00:00:00:00:01"), /"10.0.0.300"/);
  throws(() => gratuitousArp("10.0.0.1", new Uint8Array(5)), /5 bytes/);
});

async function hasTcpdump(): Promise<boolean> {
  try {
    return (await new Deno.Command("tcpdump", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "tcpdump reads the frame as an ARP announcement of the VIP",
  ignore: !(await hasTcpdump()),
  fn: async () => {
    const f = gratuitousArp("192.168.7.9", "02:aa:bb:cc:dd:ee");
    const head = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    const rec = [0, 0, 0, 0, 0, 0, 0, 0, f.length, 0, 0, 0, f.length, 0, 0, 0];
    const file = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(file, Uint8Array.from([...head, ...rec, ...f]));
      const out = await new Deno.Command("tcpdump", {
        args: ["-nn", "-e", "-r", file],
        stdout: "piped",
        stderr: "null",
      })
        .output();
      const text = new TextDecoder().decode(out.stdout);
      ok(text.includes("02:aa:bb:cc:dd:ee > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)"), text);
      ok(text.includes("Request who-has 192.168.7.9 (ff:ff:ff:ff:ff:ff) tell 192.168.7.9"), text);
    } finally {
      await Deno.remove(file);
    }
  },
});
