/**
 * A tunnel-mode real server in network namespaces, for the `lvsd decap`
 * tests:
 *
 * ```
 *  ns "dir" (director + client's router)          ns "rs" (real server)
 *  d0 10.77.0.1/24 ─────────── veth ──────────── eth0 10.77.0.2/24
 *  tunnel_peer.py sends IPIP/GUE to 10.77.0.2      default via 10.77.0.1
 *  and captures on d0 what rs sends back           lvsd decap --vip 10.0.0.100
 *                                                  TCP server on 10.0.0.100:80
 * ```
 *
 * The client 192.0.2.7 exists nowhere: tunnel_peer.py plays it. rs starts
 * with net.ipv4.conf.all.rp_filter=1 (strict, as many distributions ship),
 * which decap must cope with and restore.
 */
import { ok, strictEqual } from "node:assert/strict";
import { requireRoot, sh, withNamespaces } from "../../src/sys/netns_testing.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}src/main.ts`;
const PEER = new URL("./tunnel_peer.py", import.meta.url).pathname;

/** The VIP the real server serves. */
export const VIP = "10.0.0.100";
/** The client address tunnel_peer.py plays. */
export const CLIENT = "192.0.2.7";
/** The director's address. */
export const DIR_ADDR = "10.77.0.1";
/** The real server's address. */
export const RS_ADDR = "10.77.0.2";
/** The GUE port used by the tests. */
export const GUE_PORT = 6080;
/** The TUN device name used by the tests. */
export const DEVICE = "lvsd-tun0";

/** A process started in a namespace, its output collected. */
export class NsProcess {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #out = "";
  #err = "";
  #readers: Promise<void>;

  constructor(ns: string, argv: string[]) {
    this.#child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...argv],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.status = this.#child.status;
    const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
      const dec = new TextDecoder();
      for await (const chunk of s) add(dec.decode(chunk, { stream: true }));
    };
    this.#readers = Promise.all([
      pump(this.#child.stdout, (t) => this.#out += t),
      pump(this.#child.stderr, (t) => this.#err += t),
    ]).then(() => {});
  }

  get stdout(): string {
    return this.#out;
  }

  get stderr(): string {
    return this.#err;
  }

  /** Waits (polling, bounded) until stdout has a match for `re`, counting from `from` characters in. */
  async waitFor(re: RegExp, timeoutMs = 20000, from = 0): Promise<RegExpMatchArray> {
    let exited = false;
    this.status.then(() => exited = true);
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const m = this.#out.slice(from).match(re);
      if (m) return m;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `${re} not seen (${
            exited ? "process exited" : `${timeoutMs} ms`
          }):\n--- stdout\n${this.#out}\n--- stderr\n${this.#err}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Sends a signal if it still runs. */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch { /* exited */ }
  }

  /** SIGTERM, SIGKILL after `graceMs`; the exit status once the output is read. */
  async stop(graceMs = 5000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), graceMs));
    if (await Promise.race([this.status, late]) === "late") this.kill("SIGKILL");
    clearTimeout(timer);
    const st = await this.status;
    await this.#readers;
    return st;
  }
}

/** Counters from one `received=N decapsulated=N ...` line. */
export type Counters = Record<string, number>;

/** The counters of the last counters line in `text` (after `from`), or null. */
export function lastCounters(text: string, from = 0): Counters | null {
  const lines = text.slice(from).split("\n").filter((l) => /\breceived=\d+ decapsulated=\d+/.test(l));
  const line = lines.at(-1);
  if (!line) return null;
  return Object.fromEntries([...line.matchAll(/\b([a-z_0-9]+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

/** What a test body gets. */
export interface RealServer {
  dir: string;
  rs: string;
  decap: NsProcess;
  /** Runs tunnel_peer.py in "dir"; its stdout. */
  peer(args: string[]): Promise<string>;
  /** Asks decap for its counters (SIGUSR2) until `until` holds for them (bounded); the last ones seen. */
  counters(until: (c: Counters) => boolean): Promise<Counters>;
  /** The TUN device's packet counts: rx = packets decap wrote, tx = packets the kernel routed into it. */
  tunStats(): Promise<{ rx: number; tx: number }>;
}

/** Options of {@link withRealServer}. */
export interface RealServerOptions {
  tunType: "ipip" | "gue";
  /** Checks after decap stopped; default: exit 0, device and VIP gone, sysctls restored. */
  expectExit?: number;
}

async function sysctl(ns: string, key: string): Promise<string> {
  return (await sh("ip", "netns", "exec", ns, "sysctl", "-n", key)).trim();
}

/**
 * Builds the namespaces, starts `lvsd decap` and a TCP server in rs, runs
 * `body`, stops decap and checks the teardown; always removes everything.
 */
export async function withRealServer(
  opts: RealServerOptions,
  body: (t: RealServer) => Promise<void>,
): Promise<void> {
  requireRoot("lvsd decap in network namespaces");
  await withNamespaces(2, async ([dir, rs]) => {
    await sh("ip", "link", "add", "d0", "netns", dir, "type", "veth", "peer", "name", "eth0", "netns", rs);
    await sh("ip", "-n", dir, "addr", "add", `${DIR_ADDR}/24`, "dev", "d0");
    await sh("ip", "-n", dir, "link", "set", "d0", "up");
    await sh("ip", "-n", rs, "addr", "add", `${RS_ADDR}/24`, "dev", "eth0");
    await sh("ip", "-n", rs, "link", "set", "eth0", "up");
    await sh("ip", "-n", rs, "route", "add", "default", "via", DIR_ADDR);
    await sh("ip", "netns", "exec", rs, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1");

    const gue = opts.tunType === "gue" ? ["--tun-type", "gue", "--tun-port", String(GUE_PORT)] : [];
    const decap = new NsProcess(rs, [
      Deno.execPath(),
      "run",
      "-A",
      "--cached-only",
      MAIN,
      "decap",
      "--vip",
      VIP,
      ...gue,
    ]);
    // Answers each connection's first data with "pong:" + that data.
    const server = new NsProcess(rs, [
      "python3",
      "-c",
      `import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${VIP}", 80)); s.listen(16); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.settimeout(5)
    try: c.sendall(b"pong:" + c.recv(100))
    except OSError: pass`,
    ]);
    try {
      await decap.waitFor(/lvsd decap: ready/);
      await server.waitFor(/listening/, 10000);
      let asked = 0;
      await body({
        dir,
        rs,
        decap,
        async peer(args) {
          const out = await new Deno.Command("ip", {
            args: ["netns", "exec", dir, "python3", PEER, ...args],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const text = new TextDecoder().decode(out.stdout);
          if (!out.success) {
            throw new Error(`tunnel_peer.py ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
          }
          return text;
        },
        async counters(until) {
          let last: Counters | null = null;
          for (let i = 0; i < 40; i++) {
            const from = decap.stdout.length;
            decap.kill("SIGUSR2");
            await decap.waitFor(/received=\d+ decapsulated=\d+.*\n/, 3000, from);
            last = lastCounters(decap.stdout, from);
            if (last && until(last)) return last;
            asked++;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error(`counters never reached the expected values after ${asked} asks: ${JSON.stringify(last)}`);
        },
        async tunStats() {
          const j = JSON.parse(await sh("ip", "-n", rs, "-s", "-j", "link", "show", "dev", DEVICE));
          return { rx: j[0].stats64.rx.packets, tx: j[0].stats64.tx.packets };
        },
      });
      const st = await decap.stop();
      strictEqual(st.code, opts.expectExit ?? 0, `decap exit code\n${decap.stdout}\n${decap.stderr}`);
      // Teardown: the device (and with it the VIP) is gone, the sysctls are back.
      const links = await sh("ip", "-n", rs, "-o", "link");
      ok(!links.includes(DEVICE), `${DEVICE} still exists:\n${links}`);
      const addrs = await sh("ip", "-n", rs, "-o", "addr");
      ok(!addrs.includes(VIP), `VIP still assigned:\n${addrs}`);
      strictEqual(await sysctl(rs, "net.ipv4.conf.all.rp_filter"), "1");
      strictEqual(await sysctl(rs, "net.ipv4.conf.all.arp_ignore"), "0");
      strictEqual(await sysctl(rs, "net.ipv4.conf.all.arp_announce"), "0");
      ok(/lvsd decap: received=\d+/.test(decap.stdout), `no counters at exit:\n${decap.stdout}`);
    } catch (e) {
      console.error(`decap stdout:\n${decap.stdout}\ndecap stderr:\n${decap.stderr}`);
      throw e;
    } finally {
      await decap.stop(2000);
      await server.stop(1000);
    }
  });
}
