/**
 * lvsd: a userspace Linux Virtual Server director.
 *
 * This one module is both the program's entry and the workers' entry: the
 * supervisor starts each data-plane worker from this same URL with a name
 * "lvsd-dataplane-N", and `lvsd decap` its receive worker with the name
 * "lvsd-decap". That keeps the program a single entry point, so a bundle or
 * a `deno compile` binary carries everything it needs.
 *
 * Subcommands are routed on the first argument (`lvsd decap ...`); without
 * one, the arguments are the director's flags.
 */
import { disableInspectorSignal } from "./sys/inspector_signal.ts";
import { parseArgs } from "node:util";

import { VERSION } from "./version.ts";

const USAGE = `lvsd ${VERSION}: a userspace Linux Virtual Server director

Usage: lvsd [--config FILE] [--status-file FILE] [--workers N] [--packet-io KIND] [--state-file FILE]
            [--admin-listen HOST:PORT|off] [--token-file FILE]
       lvsd --check-config FILE     validate a config file and exit
       lvsd --version
       lvsd adm ARGS...             lvsadm: ipvsadm's commands against the admin API
                                    (also run as "lvsadm" through a link of that name)
       lvsd decap --vip ADDR ...    on a real server: receive tunnel-mode
                                    (IPIP/GUE) packets; see lvsd decap --help

  --config FILE       YAML config (default /etc/lvsd/lvsd.yaml)
  --status-file FILE  write the service/connection listing there every second
  --workers N         data-plane workers (overrides the config; default: cores)
  --packet-io KIND    auto | af_xdp | af_packet (overrides packet_io; README,
                      "Packet I/O: AF_XDP")
  --state-file FILE   where the running services are kept across restarts
                      (overrides state_file; default /var/lib/lvsd/state.yaml)
  --admin-listen A    admin API address (overrides admin.listen; default
                      127.0.0.1:9470; "off" for none)
  --token-file FILE   admin API token file (overrides admin.token_file; default
                      /run/lvsd/admin.token, created when missing)

Signals: SIGINT/SIGTERM stop cleanly; SIGHUP reloads the config file; SIGUSR2 prints the listing
(SIGUSR1 is ignored: in Deno it would open a debugger port).
Exit codes: 0 ok, 1 runtime error, 2 bad config or usage.`;

/** This Worker's name, or undefined on the main thread. */
function workerName(): string | undefined {
  const g = globalThis as { name?: unknown; WorkerGlobalScope?: unknown };
  return typeof g.WorkerGlobalScope !== "undefined" && typeof g.name === "string" ? g.name : undefined;
}

/**
 * The name the program was started under (argv[0]): a link named lvsadm to
 * the compiled lvsd runs lvsadm. Deno.execPath() cannot tell, it resolves
 * the link; /proc/self/cmdline keeps argv[0] as it was typed.
 */
function invokedAs(): string {
  try {
    return Deno.readTextFileSync("/proc/self/cmdline").split("\0")[0];
  } catch {
    return "";
  }
}

/** Runs `run` on the worker's first message, then closes the worker. */
function onFirstMessage(run: (data: unknown, post: (m: unknown) => void) => void): void {
  const self = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(m: unknown): void;
    close(): void;
  };
  self.onmessage = (e: MessageEvent) => {
    self.onmessage = null;
    run(e.data, (m) => self.postMessage(m));
    self.close();
  };
}

async function workerMain(name: string): Promise<void> {
  if (name.startsWith("lvsd-dataplane-")) {
    const { runWorker } = await import("../workers/dataplane_worker.ts");
    onFirstMessage((data, post) => runWorker(data as Parameters<typeof runWorker>[0], post));
  } else if (name === "lvsd-decap") {
    const { runDecapWorker } = await import("./decap/worker.ts");
    onFirstMessage((data, post) => runDecapWorker(data as Parameters<typeof runDecapWorker>[0], post));
  }
}

async function main(): Promise<number> {
  disableInspectorSignal();
  if (Deno.args[0] === "adm" || /(^|\/)lvsadm$/.test(invokedAs())) {
    const { lvsadmMain } = await import("./lvsadm/main.ts");
    const args = Deno.args[0] === "adm" ? Deno.args.slice(1) : Deno.args;
    return await lvsadmMain(args, {
      stdin: Deno.stdin.readable,
      stdout: (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)),
      stderr: (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
      env: (k) => Deno.env.get(k),
    });
  }
  if (Deno.args[0] === "decap") {
    const { decapMain } = await import("./decap/cli.ts");
    return await decapMain(Deno.args.slice(1), new URL(import.meta.url));
  }
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        "check-config": { type: "string" },
        "status-file": { type: "string" },
        workers: { type: "string" },
        "packet-io": { type: "string" },
        "state-file": { type: "string" },
        "admin-listen": { type: "string" },
        "token-file": { type: "string" },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`lvsd: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.version) {
    console.log(`lvsd ${VERSION}`);
    return 0;
  }
  const { runDirector } = await import("./director.ts");
  return await runDirector(args, new URL(import.meta.url));
}

const worker = workerName();
if (worker !== undefined) {
  await workerMain(worker);
} else if (import.meta.main) {
  Deno.exit(await main());
}
