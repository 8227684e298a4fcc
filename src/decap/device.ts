/**
 * Making the local stack take decapsulated packets to a VIP and answer
 * from the VIP, as a real server in LVS tunnel mode must:
 *
 * - the VIP, as a /32, goes on the TUN device, so a packet to it is local
 *   (replies leave by the normal route, source = VIP, straight to the client);
 * - reverse-path filtering: a decapsulated packet "arrives" on the TUN device
 *   while the route back to its client goes out of another interface, which
 *   strict filtering (rp_filter=1) drops. The device gets rp_filter=0; the
 *   kernel uses the larger of `all` and the device's value, so `all` is
 *   lowered from 1 (strict) to 2 (loose: a route back exists somewhere);
 * - ARP: Linux answers ARP on any interface for an address on any other
 *   (arp_ignore=0), so with the VIP on the TUN device this host would claim
 *   the VIP on its LAN, and with arp_announce=0 it may use the VIP as the
 *   sender of its own ARP requests. `all.arp_ignore` is raised to 1 (answer
 *   only for addresses on the receiving interface) and `all.arp_announce`
 *   to 2 (always the best local address), as LVS-TUN/DR real servers have
 *   always been set up;
 * - IPv6 is turned off on the device, so the kernel queues no router
 *   solicitations on a device nobody reads.
 *
 * The device's own settings and addresses disappear with it. The `all`
 * settings are put back at exit, each only if it still has the value set
 * here (someone changing it since wins).
 *
 * @module
 */

/** One sysctl changed, to put back. */
interface Change {
  path: string;
  before: string;
  after: string;
}

/** The sysctls this process changed, to restore in reverse order. */
export class SysctlChanges {
  #changes: Change[] = [];
  #log: (line: string) => void;

  /** @param log where each change is reported */
  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** Sets `net/...` (a path under /proc/sys) to `value` if it is not already; `why` goes in the log line. */
  async set(key: string[], value: number, why: string): Promise<void> {
    await this.#change(key, (cur) => cur === value ? null : value, why);
  }

  /** Raises a numeric sysctl to at least `min`. */
  async raise(key: string[], min: number, why: string): Promise<void> {
    await this.#change(key, (cur) => cur >= min ? null : min, why);
  }

  /** Lowers `key` from exactly `from` to `to` (other values are left alone). */
  async lower(key: string[], from: number, to: number, why: string): Promise<void> {
    await this.#change(key, (cur) => cur === from ? to : null, why);
  }

  async #change(key: string[], next: (cur: number) => number | null, why: string): Promise<void> {
    const path = `/proc/sys/${key.join("/")}`;
    const name = key.join(".");
    let before: string;
    try {
      before = (await Deno.readTextFile(path)).trim();
    } catch (e) {
      throw new Error(`Cannot read sysctl ${name}: ${(e as Error).message}`);
    }
    const value = next(Number(before));
    if (value === null) return;
    try {
      await Deno.writeTextFile(path, `${value}\n`);
    } catch (e) {
      throw new Error(`Cannot set sysctl ${name} to ${value}: ${(e as Error).message}`);
    }
    // Only the `all` settings outlive the device; those are worth restoring.
    if (!key.includes("all")) return;
    this.#changes.push({ path, before, after: String(value) });
    this.#log(`${name} ${before} -> ${value} (${why}; restored at exit)`);
  }

  /** Puts back every change still in place; never throws (reports instead). */
  async restore(): Promise<void> {
    for (const c of this.#changes.reverse()) {
      const name = c.path.slice("/proc/sys/".length).replaceAll("/", ".");
      try {
        const now = (await Deno.readTextFile(c.path)).trim();
        if (now !== c.after) {
          this.#log(`${name} is ${now}, changed since: left alone`);
          continue;
        }
        await Deno.writeTextFile(c.path, `${c.before}\n`);
        this.#log(`${name} ${c.after} -> ${c.before} (restored)`);
      } catch (e) {
        this.#log(`Cannot restore sysctl ${name} to ${c.before}: ${(e as Error).message}`);
      }
    }
    this.#changes = [];
  }
}

/** Runs `ip ARGS`; throws with ip's own message. */
async function ip(args: string[], what: string): Promise<void> {
  let out;
  try {
    out = await new Deno.Command("ip", { args, stdin: "null", stdout: "null", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`${what}: cannot run ip: ${(e as Error).message}`);
  }
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${what}: ${msg || `ip exited with ${out.code}`}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Configures the (already created) TUN device `device` for `vips` and the
 * host-wide sysctls it needs; the changes to `all` are recorded in `sysctls`.
 */
export async function configureDevice(device: string, vips: readonly string[], sysctls: SysctlChanges): Promise<void> {
  if (await exists(`/proc/sys/net/ipv6/conf/${device}`)) {
    await sysctls.set(["net", "ipv6", "conf", device, "disable_ipv6"], 1, "no IPv6 on the TUN device");
  }
  await sysctls.set(["net", "ipv4", "conf", device, "rp_filter"], 0, "no reverse-path filter on the TUN device");
  await sysctls.lower(
    ["net", "ipv4", "conf", "all", "rp_filter"],
    1,
    2,
    "strict reverse-path filtering would drop every decapsulated packet",
  );
  await sysctls.raise(
    ["net", "ipv4", "conf", "all", "arp_ignore"],
    1,
    "do not answer ARP for the VIPs on other interfaces",
  );
  await sysctls.raise(
    ["net", "ipv4", "conf", "all", "arp_announce"],
    2,
    "never use a VIP as the sender of an ARP request",
  );
  await ip(["link", "set", "dev", device, "up"], `Cannot bring TUN device "${device}" up`);
  for (const vip of vips) {
    await ip(["addr", "add", `${vip}/32`, "dev", device], `Cannot add VIP ${vip} to "${device}"`);
  }
}
