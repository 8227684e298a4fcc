/**
 * Test helpers for code that needs real network namespaces (root only):
 * running `ip` and friends, and namespaces with a unique prefix that are
 * always deleted. Test-only module.
 */

/** Fails, with a message saying why, when not root (tests do not skip silently). */
export function requireRoot(what: string): void {
  if (Deno.uid() !== 0) throw new Error(`This test needs root (${what}): run it as root`);
}

/** Runs a command; its stdout, or an error with its stderr. */
export async function sh(...cmd: string[]): Promise<string> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/**
 * Makes `count` namespaces named with a unique `lvsdt…` prefix (loopback up,
 * IPv6 off so no router solicitations or MLD reports appear on test links),
 * runs `body`, and always deletes them.
 */
export async function withNamespaces(count: number, body: (names: string[]) => Promise<void>): Promise<void> {
  const prefix = `lvsdt${crypto.randomUUID().slice(0, 8)}`;
  const names: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const ns = `${prefix}${i}`;
      await sh("ip", "netns", "add", ns);
      names.push(ns);
      await sh(
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-q",
        "-w",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
      );
      await sh("ip", "-n", ns, "link", "set", "lo", "up");
    }
    await body(names);
  } finally {
    for (const ns of names) await new Deno.Command("ip", { args: ["netns", "del", ns] }).output();
  }
}
