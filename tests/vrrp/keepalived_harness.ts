/**
 * keepalived (Debian's package) as a VRRP peer in tests: VRRP only, no
 * fork, console log, its config, pid files and log in a temp dir, started
 * with \`ip netns exec\` inside a namespace the test made (never the root
 * namespace). Killed by the pids it wrote.
 */
import { requireRoot, sh } from "../../src/sys/netns_testing.ts";

export class Keepalived {
  #proc: Deno.ChildProcess;
  #dir: string;
  /** `ns`: the full namespace name; `dev`: where keepalived puts the VIP while MASTER. */
  constructor(readonly ns: string, dir: string, conf: string, readonly vip: string, readonly dev = "eth0") {
    this.#dir = dir;
    Deno.writeTextFileSync(`${dir}/keepalived.conf`, conf);
    const log = Deno.openSync(`${dir}/keepalived.log`, { write: true, create: true, append: true });
    this.#proc = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        "keepalived",
        "--vrrp",
        "-n",
        "-l",
        "-D",
        "-G",
        "-f",
        `${dir}/keepalived.conf`,
        "-p",
        `${dir}/keepalived.pid`,
        "-r",
        `${dir}/vrrp.pid`,
      ],
      stdout: log.writable ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) log.writeSync(c);
    };
    void Promise.all([pump(this.#proc.stdout), pump(this.#proc.stderr)]).finally(() => log.close());
  }
  /** Whether keepalived holds the VIP (it adds it to its kernel while MASTER). */
  async holds(): Promise<boolean> {
    return (await sh("ip", "-n", this.ns, "-4", "addr", "show", "dev", this.dev)).includes(`inet ${this.vip}/`);
  }
  log(): string {
    try {
      return Deno.readTextFileSync(`${this.#dir}/keepalived.log`);
    } catch {
      return "";
    }
  }
  #pids(): number[] {
    const pids = [this.#proc.pid];
    try {
      pids.push(Number(Deno.readTextFileSync(`${this.#dir}/vrrp.pid`).trim()));
    } catch { /* not written yet */ }
    return pids.filter((p) => p > 0);
  }
  /** SIGKILL of keepalived's parent and its VRRP child (by the pids it wrote). */
  async kill(): Promise<number> {
    for (const p of this.#pids().reverse()) {
      try {
        Deno.kill(p, "SIGKILL");
      } catch { /* gone */ }
    }
    await this.#proc.status;
    return Date.now();
  }
  async stop(): Promise<void> {
    try {
      this.#proc.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => void this.kill(), 5000);
    await this.#proc.status;
    clearTimeout(t);
    // A SIGKILLed parent leaves its VRRP child: end it by the pid it wrote.
    for (const p of this.#pids().slice(1)) {
      try {
        Deno.kill(p, "SIGKILL");
      } catch { /* gone */ }
    }
  }
}

/** Fails with the reason when keepalived cannot run here. */
export function checkKeepalived(): void {
  requireRoot("keepalived interop in namespaces");
  const r = new Deno.Command("sh", { args: ["-c", "command -v keepalived"] }).outputSync();
  if (!r.success) {
    throw new Error("keepalived is not installed: run \`deno task setup\` (it installs the Debian package)");
  }
}
