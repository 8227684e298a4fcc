/**
 * Test harness for VRRP on real sockets: a speaker child process (lvsd's
 * VRRP runner without a data plane) inside a namespace, read as JSON events,
 * and a veth link between two namespaces.
 */
import { sh } from "../../src/sys/netns_testing.ts";

const DENO = Deno.execPath();
const CHILD = new URL("./speaker_child.ts", import.meta.url).pathname;

export interface Ev {
  t: number;
  ev: string;
  state?: string;
  line?: string;
  snapshot?: { counts: { received: number; sent: number; garps: number }; drops: Record<string, number> }[];
}

export class Speaker {
  events: Ev[] = [];
  #proc: Deno.ChildProcess;
  #done: Promise<void>;
  constructor(ns: string, instances: unknown[]) {
    const proc = new Deno.Command("ip", {
      args: ["netns", "exec", ns, DENO, "run", "-A", "--no-check", CHILD, JSON.stringify(instances)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#proc = proc;
    this.#done = (async () => {
      let buf = "";
      for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          try {
            this.events.push(JSON.parse(line));
          } catch {
            this.events.push({ t: Date.now(), ev: "text", line });
          }
        }
      }
    })();
  }
  /** CPU time (user + system) the speaker used so far, ms (from /proc; 10 ms ticks). */
  cpuMs(): number {
    const stat = Deno.readTextFileSync(`/proc/${this.#proc.pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat(5) are the 12th and 13th after the command name.
    return (Number(f[11]) + Number(f[12])) * 10;
  }
  get state(): string | undefined {
    return this.events.filter((e) => e.ev === "state").at(-1)?.state;
  }
  /** When the speaker last entered `state` (epoch ms). */
  enteredAt(state: string): number | undefined {
    return this.events.filter((e) => e.ev === "state" && e.state === state).at(-1)?.t;
  }
  async waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) {
        throw new Error(
          `timed out after ${ms} ms waiting for ${what}; events: ${JSON.stringify(this.events.slice(-8))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  signal(sig: Deno.Signal): void {
    try {
      this.#proc.kill(sig);
    } catch { /* gone */ }
  }
  async end(): Promise<void> {
    this.signal("SIGTERM");
    const t = setTimeout(() => this.signal("SIGKILL"), 5000);
    await this.#proc.status;
    clearTimeout(t);
    await this.#done;
  }
  async kill(): Promise<number> {
    // The `ip netns exec` wrapper execs deno, so this is deno's pid.
    this.signal("SIGKILL");
    await this.#proc.status;
    await this.#done;
    return Date.now();
  }
}

/** Two namespaces joined by a veth pair: r1 10.0.0.1 (eth0), r2 10.0.0.2 (eth0). */
export async function link(ns: string[]): Promise<void> {
  await sh("ip", "link", "add", "v0", "netns", ns[0], "type", "veth", "peer", "name", "v1", "netns", ns[1]);
  for (const [i, n] of ns.entries()) {
    await sh("ip", "-n", n, "link", "set", `v${i}`, "name", "eth0");
    await sh("ip", "-n", n, "addr", "add", `10.0.0.${i + 1}/24`, "dev", "eth0");
    await sh("ip", "-n", n, "link", "set", "eth0", "up");
  }
}
