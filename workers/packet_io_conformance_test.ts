/**
 * The PacketIo conformance suite (packet_io_conformance.ts) for both
 * implementations, each in a namespace of its own with a veth pair.
 */
import { ok, strictEqual } from "node:assert/strict";
import { requireRoot, sh, withNamespaces } from "../src/sys/netns_testing.ts";

async function conformance(kind: "af_packet" | "af_xdp"): Promise<void> {
  requireRoot("network namespaces, AF_PACKET/AF_XDP sockets");
  await withNamespaces(1, async ([ns]) => {
    await sh("ip", "-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb");
    await sh("ip", "-n", ns, "addr", "add", "10.99.0.1/24", "dev", "va");
    await sh("ip", "-n", ns, "link", "set", "va", "up");
    await sh("ip", "-n", ns, "link", "set", "vb", "up");
    const out = await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        "-A",
        "--v8-flags=--expose-gc,--trace-gc",
        new URL("./packet_io_conformance.ts", import.meta.url).pathname,
        kind,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    const stdout = new TextDecoder().decode(out.stdout);
    strictEqual(out.code, 0, `conformance ${kind} failed:\n${stderr}`);
    const r = JSON.parse(stderr.trim().split("\n").at(-1)!);
    strictEqual(r.kind, kind);
    strictEqual(r.idle, 0);
    ok(r.idleMs >= 60 && r.idleMs < 1000, `an idle receive(80 ms) took ${r.idleMs} ms`);
    strictEqual(r.received, 40, JSON.stringify(r));
    ok(r.shapeOk, "rx entries: msg_len, zeroed virtio header, sll_ifindex, frame bytes");
    ok(r.seqs, "every frame once");
    strictEqual(r.sent, 40);
    strictEqual(r.reflected, 40);
    strictEqual(r.segmentSent, 1);
    strictEqual(r.segmentBack, 1);
    ok(r.loopFrames >= 3000 * 32 * 0.99, `the loop moved ${r.loopFrames} frames`);
    ok(/closed/.test(r.receiveAfterClose), r.receiveAfterClose);
    // No collection between the 2nd and 3rd gc() (reason "testing").
    const gcLines = stdout.split("\n").filter((s) => /\d+ ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark)/.test(s));
    const brackets = gcLines.flatMap((s, i) => (/testing/.test(s) ? [i] : []));
    strictEqual(brackets.length, 3, gcLines.join("\n"));
    const during = gcLines.slice(brackets[1] + 1, brackets[2]);
    strictEqual(during.length, 0, `GC during the loop (${r.loopFrames} frames):\n${during.slice(0, 5).join("\n")}`);
    console.log(`${kind}: ${r.loopFrames} frames reflected in ${r.loopMs} ms with no GC`);
  });
}

Deno.test({ name: "PacketIo conformance: af_packet", sanitizeResources: false, fn: () => conformance("af_packet") });
Deno.test({ name: "PacketIo conformance: af_xdp", sanitizeResources: false, fn: () => conformance("af_xdp") });
