/**
 * The probe's three network namespaces, made with a unique prefix and always
 * deleted:
 *
 * ```
 *  sender ns                  forwarder ns                     sink ns
 *  xs0 10.77.1.1/24 ──veth── xf0 10.77.1.2/24   xf1 10.77.2.2/24 ──veth── xk0 10.77.2.1/24
 *  route 10.77.2.0/24         ip_forward=0                      nftables ingress on xk0:
 *    via 10.77.1.2            nftables ingress on xf0:          counts frames to 10.77.2.1
 *  neigh 10.77.1.2 static       drops 10.77.2.1 (lvsd's         with our MAC, drops all
 *                               kernel guard, AF_PACKET case)
 * ```
 *
 * The sender's neighbour entry is static because under XDP every frame of
 * xf0, ARP included, goes to the AF_XDP socket: nobody would answer ARP.
 * The forwarder's kernel never forwards (ip_forward=0); under AF_PACKET the
 * ingress drop on xf0 keeps it from even routing the frame it has already
 * handed to the packet socket, as lvsd's nftables kernel guard does.
 *
 * @module
 */

/** Addresses and names in the lab. */
export const LAB = {
  senderIp: "10.77.1.1",
  fwdInIp: "10.77.1.2",
  fwdOutIp: "10.77.2.2",
  sinkIp: "10.77.2.1",
  senderIf: "xs0",
  fwdIn: "xf0",
  fwdOut: "xf1",
  sinkIf: "xk0",
} as const;

/** The namespaces of one probe run. */
export interface ProbeLab {
  sender: string;
  fwd: string;
  sink: string;
  /** MAC of the sink's interface (the forwarder's next hop). */
  sinkMac: string;
}

/** Runs a command; stdout, or an error naming it with its stderr. */
export async function run(cmd: string[], stdin?: string): Promise<string> {
  const p = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  if (!out.success) {
    throw new Error(`Cannot run "${cmd.join(" ")}": ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** `ip netns exec NS cmd...` */
export function inNs(ns: string, cmd: string[], stdin?: string): Promise<string> {
  return run(["ip", "netns", "exec", ns, ...cmd], stdin);
}

async function macOf(ns: string, dev: string): Promise<string> {
  const j = JSON.parse(await run(["ip", "-n", ns, "-j", "link", "show", "dev", dev])) as { address: string }[];
  return j[0].address;
}

/** Builds the lab, runs `body`, and deletes the namespaces whatever happens. */
export async function withProbeLab<T>(body: (lab: ProbeLab) => Promise<T>): Promise<T> {
  const prefix = `lvsdx${crypto.randomUUID().slice(0, 6)}`;
  const made: string[] = [];
  const lab = { sender: `${prefix}s`, fwd: `${prefix}f`, sink: `${prefix}k`, sinkMac: "" };
  try {
    for (const ns of [lab.sender, lab.fwd, lab.sink]) {
      await run(["ip", "netns", "add", ns]);
      made.push(ns);
      await inNs(ns, [
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        "net.ipv4.ip_forward=0",
      ]);
      await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    const L = LAB;
    await run([
      "ip",
      "-n",
      lab.sender,
      "link",
      "add",
      L.senderIf,
      "type",
      "veth",
      "peer",
      "name",
      L.fwdIn,
      "netns",
      lab.fwd,
    ]);
    await run([
      "ip",
      "-n",
      lab.fwd,
      "link",
      "add",
      L.fwdOut,
      "type",
      "veth",
      "peer",
      "name",
      L.sinkIf,
      "netns",
      lab.sink,
    ]);
    await run(["ip", "-n", lab.sender, "addr", "add", `${L.senderIp}/24`, "dev", L.senderIf]);
    await run(["ip", "-n", lab.fwd, "addr", "add", `${L.fwdInIp}/24`, "dev", L.fwdIn]);
    await run(["ip", "-n", lab.fwd, "addr", "add", `${L.fwdOutIp}/24`, "dev", L.fwdOut]);
    await run(["ip", "-n", lab.sink, "addr", "add", `${L.sinkIp}/24`, "dev", L.sinkIf]);
    for (const [ns, dev] of [[lab.sender, L.senderIf], [lab.fwd, L.fwdIn], [lab.fwd, L.fwdOut], [lab.sink, L.sinkIf]]) {
      await run(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    const fwdInMac = await macOf(lab.fwd, L.fwdIn);
    lab.sinkMac = await macOf(lab.sink, L.sinkIf);
    await run(["ip", "-n", lab.sender, "route", "add", "10.77.2.0/24", "via", L.fwdInIp]);
    await run([
      "ip",
      "-n",
      lab.sender,
      "neigh",
      "replace",
      L.fwdInIp,
      "lladdr",
      fwdInMac,
      "nud",
      "permanent",
      "dev",
      L.senderIf,
    ]);
    await inNs(
      lab.fwd,
      ["nft", "-f", "-"],
      [
        "table netdev probe {",
        "  chain guard {",
        `    type filter hook ingress device ${L.fwdIn} priority -500; policy accept;`,
        `    ip daddr ${L.sinkIp} counter drop`,
        "  }",
        "}",
      ].join("\n") + "\n",
    );
    await inNs(
      lab.sink,
      ["nft", "-f", "-"],
      [
        "table netdev probe {",
        "  counter forwarded {}",
        "  counter stray {}",
        "  chain in {",
        `    type filter hook ingress device ${L.sinkIf} priority -500; policy accept;`,
        `    ether daddr ${lab.sinkMac} ip daddr ${L.sinkIp} ip ttl 63 counter name forwarded drop`,
        "    counter name stray drop",
        "  }",
        "}",
      ].join("\n") + "\n",
    );
    return await body(lab);
  } finally {
    for (const ns of made) await new Deno.Command("ip", { args: ["netns", "del", ns] }).output();
  }
}

/** Frames counted at the sink: forwarded as expected (`fwd`), anything else (`other`). */
export async function sinkCounters(lab: ProbeLab): Promise<{ fwd: number; other: number }> {
  const j = JSON.parse(await inNs(lab.sink, ["nft", "-j", "list", "counters", "table", "netdev", "probe"])) as {
    nftables: { counter?: { name: string; packets: number } }[];
  };
  const out = { fwd: 0, other: 0 };
  for (const e of j.nftables) {
    if (e.counter?.name === "forwarded") out.fwd = e.counter.packets;
    if (e.counter?.name === "stray") out.other = e.counter.packets;
  }
  return out;
}

/** The XDP attachment of the forwarder's in interface, or null when none is there. */
export async function xdpAttached(lab: ProbeLab): Promise<unknown> {
  const j = JSON.parse(await run(["ip", "-n", lab.fwd, "-j", "-d", "link", "show", "dev", LAB.fwdIn])) as {
    xdp?: unknown;
  }[];
  return j[0].xdp ?? null;
}
