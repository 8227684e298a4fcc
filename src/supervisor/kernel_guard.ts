/**
 * Keeping the director's own kernel silent for what lvsd handles.
 *
 * lvsd reads frames with AF_PACKET, which is a tap: the kernel still gets
 * every frame. If it owned a VIP it would answer a SYN with a RST (killing
 * the connection lvsd is balancing) or a UDP datagram with ICMP port
 * unreachable; with forwarding on it would forward the real servers'
 * un-NATed replies. lvsd therefore (1) never puts VIPs on the kernel (it
 * answers ARP and ICMP echo for them itself; a VIP that is a host address
 * is a config error) and (2) installs an nftables table `netdev lvsd` with
 * an ingress hook on each data-plane interface that drops frames to VIPs and
 * NAT replies from dests that are not addressed to the director itself. The
 * ingress hook runs after the packet taps (lvsd's AF_PACKET sockets have the
 * frame by then) and before the IP layer, so the kernel spends nothing more
 * on a frame lvsd handles. The table is removed on stop, and a stale one
 * from a killed lvsd is replaced at start.
 */

import { formatIpv4, parseIpv4 } from "../config/members.ts";

/** What the guard drops. */
export interface GuardSpec {
  /** Data-plane interfaces (one ingress chain each). */
  interfaces: string[];
  vips: string[];
  /** NAT dests whose replies lvsd rewrites: proto, address, port (0: any port, a port-0 service). */
  dests: { proto: "tcp" | "udp"; addr: string; port: number }[];
}

const TABLE = "lvsd";

async function nft(args: string[], stdin?: string): Promise<{ ok: boolean; err: string }> {
  const cmd = new Deno.Command("nft", { args, stdin: stdin ? "piped" : "null", stdout: "null", stderr: "piped" });
  const p = cmd.spawn();
  if (stdin) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
}

/**
 * Set elements for `addrs`: runs of consecutive addresses become one range
 * ("a-b"), so a service group of thousands of VIPs is a few elements, and
 * no two elements overlap (nft refuses overlapping intervals).
 */
function addressSet(addrs: string[]): string[] {
  const nums = [...new Set(addrs.map((a) => parseIpv4(a)!))].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < nums.length;) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    out.push(i === j ? formatIpv4(nums[i]) : `${formatIpv4(nums[i])}-${formatIpv4(nums[j])}`);
    i = j + 1;
  }
  return out;
}

/** The nft script for a spec (exported for tests). */
export function guardScript(spec: GuardSpec): string {
  const rules: string[] = [];
  if (spec.vips.length) {
    rules.push(`ip daddr { ${addressSet(spec.vips).join(", ")} } counter drop comment "to a VIP: lvsd answers"`);
  }
  for (const proto of ["tcp", "udp"] as const) {
    const ds = spec.dests.filter((d) => d.proto === proto && d.port !== 0);
    const anyPort = [...new Set(spec.dests.filter((d) => d.proto === proto && d.port === 0).map((d) => d.addr))];
    if (anyPort.length) {
      rules.push(
        `fib daddr type != local ip saddr { ${
          anyPort.join(", ")
        } } meta l4proto ${proto} counter drop comment "NAT replies (any port): lvsd rewrites"`,
      );
    }
    if (ds.length) {
      rules.push(
        `fib daddr type != local ip saddr . ${proto} sport { ${
          ds.map((d) => `${d.addr} . ${d.port}`).join(", ")
        } } counter drop comment "NAT replies: lvsd rewrites"`,
      );
    }
  }
  const lines = [`table netdev ${TABLE} {`];
  spec.interfaces.forEach((dev, i) => {
    lines.push(
      `  chain in${i} {`,
      `    type filter hook ingress device ${JSON.stringify(dev)} priority -500; policy accept;`,
    );
    for (const r of rules) lines.push(`    ${r}`);
    lines.push("  }");
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Installs (or replaces) the guard table. */
export async function installGuard(spec: GuardSpec): Promise<void> {
  await nft(["delete", "table", "netdev", TABLE]); // a stale table from a killed lvsd
  const r = await nft(["-f", "-"], guardScript(spec));
  if (!r.ok) throw new Error(`Cannot install the nftables kernel guard: ${r.err}`);
}

/** Removes the guard table (idempotent). */
export async function removeGuard(): Promise<void> {
  await nft(["delete", "table", "netdev", TABLE]);
}
