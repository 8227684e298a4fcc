/**
 * The lab: one LVS cluster in network namespaces on this box.
 *
 * ```
 *  ${p}-cli            ${p}-dir (director)              ${p}-lan         ${p}-rs1..3
 *  eth0 10.10.0.2 ──── ext0 10.10.0.1                    br0 ─┬─ dir ─── int0 (director)
 *  default via .1      int0 10.20.0.1 ───────────────────────┘├─ rs1 ─── eth0 10.20.0.11
 *                      ip_forward=0 (lvsd forwards)           ├─ rs2 ─── eth0 10.20.0.12
 *  VIP 10.10.0.100: on the client subnet, assigned nowhere    └─ rs3 ─── eth0 10.20.0.13
 *  (lvsd answers ARP for it)                                  rs default via 10.20.0.1
 *
 *  directReturn() (DR / tunnel): cli lan0 10.20.0.2 ── br0, and the chosen
 *  servers route 10.10.0.0/24 via 10.20.0.2 (replies bypass the director)
 * ```
 *
 * With `ha: true`, two directors share both LANs (for VRRP and sync):
 *
 * ```
 *  ${p}-cli eth0 10.10.0.2 ── xcli ─ brx ─┬─ xdir  ── ${p}-dir  ext0 10.10.0.5, int0 10.20.0.5
 *                          (in ${p}-lan)  └─ xdir2 ── ${p}-dir2 ext0 10.10.0.6, int0 10.20.0.6
 *  ${p}-rs1..3 ── rs1..3 ─ br0 ─┬─ dir  ── int0 of ${p}-dir
 *                               └─ dir2 ── int0 of ${p}-dir2
 *  Floating, on no kernel: the VIP, 10.10.0.1 and the servers' gateway
 *  10.20.0.1 (VRRP moves them, or holdGateway() puts them on one kernel).
 * ```
 *
 * Veth ends are created directly inside their namespaces, so no interface
 * ever appears in the root namespace and names cannot collide between runs.
 * Every lab still up is removed on SIGINT/SIGTERM, on exit and on an uncaught
 * error; a state file in {@link LAB_STATE_DIR} lets another process
 * (`cli.ts down`) remove a lab whose owner is gone.
 *
 * @module
 */
import type { HttpClientResult } from "./http_client.ts";
import type { DownloadResult } from "./download_client.ts";

/** The virtual service address (on the client subnet, assigned nowhere). */
export const VIP = "10.10.0.100";
/** Address of the client. */
export const CLIENT_ADDR = "10.10.0.2";
/** Director's address on the client side (`ext0`); the client's gateway. */
export const DIRECTOR_EXT_ADDR = "10.10.0.1";
/** Director's address on the real-server side (`int0`); the servers' gateway. */
export const DIRECTOR_INT_ADDR = "10.20.0.1";
/** Real server addresses, rs1..rs3. */
export const REAL_SERVER_ADDRS: readonly string[] = [
  "10.20.0.11",
  "10.20.0.12",
  "10.20.0.13",
];
/**
 * The client's address on the servers' LAN once {@link Lab.directReturn}
 * has linked it there: the stand-in for the router through which DR and
 * tunnel real servers answer clients without the director.
 */
export const CLIENT_LAN_ADDR = "10.20.0.2";
/**
 * The HA lab's two directors' own addresses on the client LAN (`ext0`) and
 * on the servers' LAN (`int0`). There, {@link DIRECTOR_EXT_ADDR} and
 * {@link DIRECTOR_INT_ADDR} float: no kernel holds them unless a test puts
 * them on one ({@link Lab.holdGateway}), VRRP moves them otherwise.
 */
export const HA_DIRECTOR_EXT_ADDRS: readonly string[] = ["10.10.0.5", "10.10.0.6"];
/** See {@link HA_DIRECTOR_EXT_ADDRS}. */
export const HA_DIRECTOR_INT_ADDRS: readonly string[] = ["10.20.0.5", "10.20.0.6"];
/** Where state files of labs that are up live, one `${prefix}.json` each. */
export const LAB_STATE_DIR = "/run/lvsd-lab";
/** Every lab prefix matches this. */
export const LAB_PREFIX_RE = /^lvsd[0-9a-z]{5}$/;

/** Options of {@link Lab.up}. */
export interface LabOptions {
  /** Namespace prefix; default `lvsd` + 5 random base36 characters. */
  prefix?: string;
  /** Number of real servers (only 3 for now). */
  servers?: 3;
  /**
   * `true` (default) keeps the kernel's default offloads on the lab veths
   * (lvsd then sees GSO frames and CHECKSUM_PARTIAL packets); `false` turns
   * tso, gso, gro and tx checksumming off on every lab interface with ethtool,
   * so that every frame is at most one MTU and fully checksummed.
   */
  offloads?: boolean;
  /**
   * Two directors (HA): `${p}-dir` and `${p}-dir2`, both on the servers' LAN
   * (br0) and on a client LAN (bridge brx in `${p}-lan`) with the client,
   * each with its own addresses ({@link HA_DIRECTOR_EXT_ADDRS},
   * {@link HA_DIRECTOR_INT_ADDRS}); the VIP and the servers' gateway
   * 10.20.0.1 are assigned to no kernel. Default false (one director wired
   * straight to the client).
   */
  ha?: boolean;
  /** @internal Testing only: fail right after this build stage. */
  failAfter?: "namespaces" | "links" | "addresses";
}

/** Options of {@link Lab.exec}. */
export interface ExecOptions {
  /** Throw when the exit code is not 0 (default false). */
  check?: boolean;
  /** Text written to the command's stdin. */
  stdin?: string;
  /** Kill the command (SIGKILL) after this long; default 60000. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory (default: the current one). */
  cwd?: string;
}

/** What a finished command did. */
export interface ExecResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link Lab.spawn}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory (default: the current one). */
  cwd?: string;
  /** Copy every output line to our stderr, prefixed with this. */
  echo?: string;
  /**
   * Let the process outlive this one: stdout and stderr go to this log file
   * instead of pipes, the process gets its own session (setsid), and it does
   * not keep this process alive. `cli.ts up` uses it.
   */
  logFile?: string;
}

/** A process recorded in a lab state file. */
export interface RecordedProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused PID from ours. */
  starttime: string;
  ns: string;
  argv: string[];
}

/** The content of `/run/lvsd-lab/${prefix}.json`. */
export interface LabState {
  prefix: string;
  namespaces: string[];
  /** The process that made the lab, or null once it left it running on purpose. */
  owner: { pid: number; starttime: string } | null;
  processes: RecordedProcess[];
  created: string;
}

const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/** Full path of a command, searching PATH and the sbin directories. */
export function which(cmd: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), ...SBIN_DIRS];
  for (const d of dirs) {
    if (!d) continue;
    try {
      const p = `${d}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

const IP = which("ip") ?? "/usr/sbin/ip";

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when gone. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function isZombieOrGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
  } catch {
    return true;
  }
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tryKill(pid: number, signal: Deno.Signal) {
  try {
    Deno.kill(pid, signal);
  } catch { /* already gone */ }
}

function ipSync(args: string[]): { code: number; stdout: string } {
  const out = new Deno.Command(IP, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** Names of all network namespaces on the box. */
export function listNamespaces(): string[] {
  const { stdout } = ipSync(["netns", "list"]);
  return stdout.split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
}

/** PIDs of the processes in a namespace (not ours). */
function namespacePids(ns: string): number[] {
  const { code, stdout } = ipSync(["netns", "pids", ns]);
  if (code !== 0) return [];
  return stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== Deno.pid);
}

/**
 * Removes a lab synchronously: ends the recorded processes (only when their
 * start time still matches, so a reused PID is never hit), then anything left
 * inside the lab's namespaces, then the namespaces and the state file.
 * Used on exit paths where nothing asynchronous can run, and by `cli.ts down`.
 */
export function removeLabSync(
  prefix: string,
  namespaces: readonly string[],
  processes: readonly RecordedProcess[],
  graceMs = 1500,
): void {
  const victims = processes.filter((p) => procStartTime(p.pid) === p.starttime)
    .map((p) => p.pid);
  const existing = new Set(listNamespaces());
  const ours = namespaces.filter((n) => existing.has(n) && n.startsWith(`${prefix}-`));
  for (const ns of ours) victims.push(...namespacePids(ns));
  const pids = [...new Set(victims)];
  for (const pid of pids) tryKill(pid, "SIGTERM");
  const until = performance.now() + graceMs;
  while (
    pids.some((p) => !isZombieOrGone(p)) && performance.now() < until
  ) sleepSync(20);
  for (const pid of pids) if (!isZombieOrGone(pid)) tryKill(pid, "SIGKILL");
  for (const ns of ours) {
    for (const pid of namespacePids(ns)) tryKill(pid, "SIGKILL");
    ipSync(["netns", "del", ns]);
  }
  for (
    const f of [
      `${prefix}.json`,
      ...namespaces.filter((n) => n.startsWith(`${prefix}-`)).flatMap((n) => [`${n}.log`, `${n}-decap.log`]),
    ]
  ) {
    try {
      Deno.removeSync(`${LAB_STATE_DIR}/${f}`);
    } catch { /* not there */ }
  }
}

/** Reads every lab state file. */
export function readLabStates(): LabState[] {
  const out: LabState[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(LAB_STATE_DIR)];
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    try {
      const s = JSON.parse(
        Deno.readTextFileSync(`${LAB_STATE_DIR}/${e.name}`),
      ) as LabState;
      if (LAB_PREFIX_RE.test(s.prefix)) out.push(s);
    } catch { /* half-written or foreign: ignore */ }
  }
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

function randomPrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(5));
  return "lvsd" +
    [...bytes].map((b) => "0123456789abcdefghijklmnopqrstuvwxyz"[b % 36])
      .join("");
}

function findLine(text: string, pattern: string | RegExp): string | undefined {
  const m = typeof pattern === "string"
    ? (text.includes(pattern) ? { index: text.indexOf(pattern) } : null)
    : pattern.exec(text);
  if (!m) return undefined;
  const start = text.lastIndexOf("\n", m.index) + 1;
  const end = text.indexOf("\n", m.index);
  return text.slice(start, end < 0 ? undefined : end);
}

const MAX_KEPT = 4 << 20;

/**
 * A process running in a lab namespace. It is killed (by PID) when the lab
 * goes down if it is still running.
 */
export class LabProcess {
  /** Namespace it runs in. */
  readonly ns: string;
  /** What it runs. */
  readonly argv: readonly string[];
  /** Its PID (`ip netns exec` execs in place, so this is the program itself). */
  readonly pid: number;
  /** Its start time, for telling our PID from a reused one. */
  readonly starttime: string;
  /** Resolves when it exits. */
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #out = "";
  #err = "";
  #exited = false;
  #readers: Promise<void>;
  #logFile?: string;
  #waiters = new Set<() => void>();

  /** @internal use {@link Lab.spawn}. */
  constructor(
    ns: string,
    argv: string[],
    child: Deno.ChildProcess,
    opts: SpawnOptions,
  ) {
    this.ns = ns;
    this.argv = argv;
    this.#child = child;
    this.pid = child.pid;
    this.starttime = procStartTime(child.pid) ?? "";
    this.#logFile = opts.logFile;
    this.status = child.status.then((s) => {
      this.#exited = true;
      this.#wake();
      return s;
    });
    if (opts.logFile) {
      child.unref();
      this.#readers = Promise.resolve();
    } else {
      this.#readers = Promise.all([
        this.#pump(child.stdout, (t) => this.#out = keep(this.#out + t), opts),
        this.#pump(child.stderr, (t) => this.#err = keep(this.#err + t), opts),
      ]).then(() => {});
    }
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    add: (text: string) => void,
    opts: SpawnOptions,
  ) {
    const dec = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of stream) {
        const text = dec.decode(chunk, { stream: true });
        add(text);
        if (opts.echo !== undefined) {
          const lines = (partial + text).split("\n");
          partial = lines.pop()!;
          for (const l of lines) console.error(`${opts.echo}${l}`);
        }
        this.#wake();
      }
    } catch { /* killed */ }
    if (opts.echo !== undefined && partial) {
      console.error(`${opts.echo}${partial}`);
    }
  }

  #wake() {
    for (const w of [...this.#waiters]) w();
  }

  /** Everything it printed on stdout so far (the log file when detached). */
  get stdout(): string {
    if (this.#logFile) {
      try {
        return Deno.readTextFileSync(this.#logFile);
      } catch {
        return "";
      }
    }
    return this.#out;
  }

  /** Everything it printed on stderr so far (empty when detached). */
  get stderr(): string {
    return this.#err;
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Resolves with the first stdout line matching `pattern`; rejects when the
   * process exits first or after `timeoutMs`, quoting its output.
   */
  waitFor(pattern: string | RegExp, timeoutMs = 10000): Promise<string> {
    return new Promise((resolve, reject) => {
      let poll: ReturnType<typeof setInterval> | undefined;
      const done = () => {
        this.#waiters.delete(check);
        clearTimeout(timer);
        clearInterval(poll);
      };
      const check = () => {
        const line = findLine(this.stdout, pattern);
        if (line !== undefined) {
          done();
          resolve(line);
        } else if (this.#exited) {
          done();
          reject(this.#failure(`exited before printing ${pattern}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          this.#failure(`did not print ${pattern} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      if (this.#logFile) poll = setInterval(check, 50);
      check();
    });
  }

  #failure(what: string): Error {
    const tail = (s: string) => s.trim().split("\n").slice(-15).join("\n");
    return new Error(
      `Process ${this.pid} (${this.argv.join(" ")}) in ${this.ns} ${what}\n` +
        `--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`,
    );
  }

  /** Sends a signal (default SIGTERM) if it is still running. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch { /* just exited */ }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with its exit status. */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), graceMs));
    const first = await Promise.race([this.status, late]);
    clearTimeout(timer);
    if (first === "late") this.kill("SIGKILL");
    const status = await this.status;
    await this.#readers;
    return status;
  }

  /** Waits for it to exit and returns its exit status and all its output. */
  async output(): Promise<ExecResult> {
    const s = await this.status;
    await this.#readers;
    return {
      code: s.code,
      signal: s.signal,
      stdout: this.stdout,
      stderr: this.stderr,
    };
  }
}

function keep(s: string): string {
  return s.length > MAX_KEPT ? s.slice(s.length - MAX_KEPT) : s;
}

const live = new Set<Lab>();
let signalsInstalled = false;
let dying = false;
let interruptedBy: "SIGINT" | "SIGTERM" | null = null;

/**
 * The signal (SIGINT or SIGTERM) that is tearing the labs down, or null. Lets
 * a program tell "interrupted" from a real failure when its processes vanish.
 */
export function labInterrupted(): "SIGINT" | "SIGTERM" | null {
  return interruptedBy;
}

function onSignal(signal: "SIGINT" | "SIGTERM") {
  const code = signal === "SIGINT" ? 130 : 143;
  if (dying) {
    // Second signal: stop waiting, remove synchronously, go.
    for (const lab of [...live]) lab.downSync();
    Deno.exit(code);
  }
  dying = true;
  interruptedBy = signal;
  const labs = [...live];
  console.error(
    `lvsd lab: ${signal}: removing ${labs.map((l) => l.prefix).join(", ")}`,
  );
  const timeout = sleep(10000);
  Promise.race([Promise.allSettled(labs.map((l) => l.down())), timeout])
    .finally(() => {
      for (const lab of [...live]) lab.downSync();
      Deno.exit(code);
    });
}
const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");

function installSignals() {
  if (signalsInstalled || live.size === 0) return;
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGTERM", onSigterm);
  signalsInstalled = true;
}

function removeSignals() {
  if (!signalsInstalled || live.size > 0) return;
  Deno.removeSignalListener("SIGINT", onSigint);
  Deno.removeSignalListener("SIGTERM", onSigterm);
  signalsInstalled = false;
}

function removeAllSync() {
  for (const lab of [...live]) lab.downSync();
}
// `unload` covers a normal end and Deno.exit(); an uncaught error or
// rejection ends the process without `unload`, so those are covered too.
globalThis.addEventListener("unload", removeAllSync);
globalThis.addEventListener("error", removeAllSync);
globalThis.addEventListener("unhandledrejection", removeAllSync);

function resolveHere(rel: string): string {
  return decodeURIComponent(new URL(rel, import.meta.url).pathname);
}

/** Path of `real_server.ts`. */
export const REAL_SERVER_PATH: string = resolveHere("./real_server.ts");
/** Path of `http_client.ts`. */
export const HTTP_CLIENT_PATH: string = resolveHere("./http_client.ts");
/** The lab's many-long-downloads client (download_client.ts). */
export const DOWNLOAD_CLIENT_PATH: string = resolveHere("./download_client.ts");
/** lvsd's entry point (for `lvsd decap` on tunnel real servers). */
export const LVSD_MAIN_PATH: string = resolveHere("../main.ts");

/** Options of {@link Lab.startRealServers}. */
export interface RealServerOptions {
  httpPort?: number;
  udpPort?: number;
  /** Per-server time to print `ready` (default 15000 ms). */
  timeoutMs?: number;
  /** Let them outlive this process, logging to `/run/lvsd-lab/${ns}.log`. */
  detach?: boolean;
}

/**
 * A lab of network namespaces: a client, a director and three real servers
 * on a bridge. Make one with {@link Lab.up}; always {@link Lab.down} it.
 */
export class Lab {
  /** The namespace prefix, `lvsd` + 5 base36 characters. */
  readonly prefix: string;
  /** Namespace names by role. */
  readonly ns: {
    readonly client: string;
    readonly director: string;
    /** Every director: [director] or, in an HA lab, [director, `${p}-dir2`]. */
    readonly directors: readonly string[];
    readonly lan: string;
    readonly servers: readonly string[];
  };
  /** Every namespace of the lab. */
  readonly namespaces: readonly string[];
  /** Addresses by role. */
  readonly addr = {
    vip: VIP,
    client: CLIENT_ADDR,
    directorExt: DIRECTOR_EXT_ADDR,
    directorInt: DIRECTOR_INT_ADDR,
    servers: REAL_SERVER_ADDRS,
    /** Each director's own address on the client side (HA: its own; else the gateway). */
    directorsExt: [DIRECTOR_EXT_ADDR] as readonly string[],
    /** Each director's own address on the servers' side (HA: its own; else the gateway). */
    directorsInt: [DIRECTOR_INT_ADDR] as readonly string[],
  };
  /** Interface names by role (each inside its own namespace). */
  readonly ifname = {
    /** The client's interface (in `ns.client`). */
    client: "eth0",
    /** The director's client-side interface (in `ns.director`). */
    directorExt: "ext0",
    /** The director's server-side interface (in `ns.director`). */
    directorInt: "int0",
    /** Each real server's interface (in `ns.servers[i]`). */
    server: "eth0",
    /** The bridge (in `ns.lan`); its ports are named `dir`, `rs1`.. `rs3` (HA: and `dir2`). */
    bridge: "br0",
    /** HA only: the client LAN's bridge (in `ns.lan`), ports `xcli`, `xdir`, `xdir2`. */
    clientBridge: "brx",
  } as const;
  /** Real server names, rs1..rs3 (also their bridge port names). */
  readonly serverNames: readonly string[];
  /** The deno binary every namespaced process is started with. */
  readonly deno: string = Deno.execPath();

  #procs = new Set<LabProcess>();
  #execs = new Set<Deno.ChildProcess>();
  #onDown: (() => void | Promise<void>)[] = [];
  #down = false;
  #downing?: Promise<void>;

  /** Whether this is a two-director (HA) lab. */
  readonly ha: boolean;

  private constructor(prefix: string, servers: number, ha: boolean) {
    this.prefix = prefix;
    this.ha = ha;
    this.serverNames = Array.from({ length: servers }, (_, i) => `rs${i + 1}`);
    const directors = ha ? [`${prefix}-dir`, `${prefix}-dir2`] : [`${prefix}-dir`];
    this.ns = {
      client: `${prefix}-cli`,
      director: directors[0],
      directors,
      lan: `${prefix}-lan`,
      servers: this.serverNames.map((n) => `${prefix}-${n}`),
    };
    if (ha) this.addr = { ...this.addr, directorsExt: HA_DIRECTOR_EXT_ADDRS, directorsInt: HA_DIRECTOR_INT_ADDRS };
    this.namespaces = [
      this.ns.client,
      ...directors,
      this.ns.lan,
      ...this.ns.servers,
    ];
  }

  /**
   * Builds a lab. On any failure it removes what it made and rethrows.
   * Must run as root.
   */
  static async up(opts: LabOptions = {}): Promise<Lab> {
    if (Deno.uid() !== 0) {
      throw new Error(
        "Cannot build the lab: network namespaces need root (run as root)",
      );
    }
    const servers = opts.servers ?? 3;
    if (servers !== 3) {
      throw new Error(
        `Cannot build the lab: servers must be 3, not ${servers}`,
      );
    }
    const existing = listNamespaces();
    let prefix = opts.prefix ?? randomPrefix();
    if (opts.prefix === undefined) {
      while (existing.some((n) => n.startsWith(`${prefix}-`))) {
        prefix = randomPrefix();
      }
    } else if (!LAB_PREFIX_RE.test(prefix)) {
      throw new Error(
        `Cannot build the lab: prefix "${prefix}" must be lvsd + 5 of [0-9a-z]`,
      );
    } else if (existing.some((n) => n.startsWith(`${prefix}-`))) {
      throw new Error(`Cannot build the lab: prefix "${prefix}" is in use`);
    }
    const lab = new Lab(prefix, servers, opts.ha ?? false);
    live.add(lab);
    installSignals();
    try {
      lab.#writeState();
      await lab.#build(opts.offloads ?? true, opts.failAfter);
    } catch (e) {
      await lab.down();
      throw e;
    }
    return lab;
  }

  async #build(offloads: boolean, failAfter?: LabOptions["failAfter"]) {
    const fault = (stage: LabOptions["failAfter"]) => {
      if (stage === failAfter) {
        throw new Error(
          `Cannot build lab ${this.prefix}: failing after ${stage} as asked`,
        );
      }
    };
    const { client, director, lan, servers } = this.ns;
    await this.#ip(null, this.namespaces.map((n) => `netns add ${n}`));
    fault("namespaces");
    if (this.ha) return this.#buildHa(offloads, fault);
    await this.#ip(null, [
      `link add eth0 netns ${client} type veth peer name ext0 netns ${director}`,
      `link add int0 netns ${director} type veth peer name dir netns ${lan}`,
      ...this.serverNames.map((rs, i) => `link add eth0 netns ${servers[i]} type veth peer name ${rs} netns ${lan}`),
    ]);
    fault("links");
    const sysctl = which("sysctl") ?? "/usr/sbin/sysctl";
    await Promise.all([
      this.#ip(client, [
        "link set lo up",
        `addr add ${CLIENT_ADDR}/24 dev eth0`,
        "link set eth0 up",
        `route add default via ${DIRECTOR_EXT_ADDR}`,
      ]),
      this.#ip(director, [
        "link set lo up",
        `addr add ${DIRECTOR_EXT_ADDR}/24 dev ext0`,
        `addr add ${DIRECTOR_INT_ADDR}/24 dev int0`,
        "link set ext0 up",
        "link set int0 up",
      ]).then(() =>
        // The director's kernel must not forward: lvsd does.
        this.exec(director, [sysctl, "-qw", "net.ipv4.ip_forward=0"], {
          check: true,
        })
      ),
      this.#ip(lan, [
        "link set lo up",
        "link add br0 type bridge stp_state 0 forward_delay 0",
        "link set dir master br0",
        ...this.serverNames.map((rs) => `link set ${rs} master br0`),
        "link set br0 up",
        "link set dir up",
        ...this.serverNames.map((rs) => `link set ${rs} up`),
      ]),
      ...this.#serverAddresses(),
    ]);
    fault("addresses");
    if (!offloads) await this.setOffloads(false);
  }

  /** Every real server's address and default route (via the servers' gateway), one promise each. */
  #serverAddresses(): Promise<void>[] {
    return this.ns.servers.map((ns, i) =>
      this.#ip(ns, [
        "link set lo up",
        `addr add ${REAL_SERVER_ADDRS[i]}/24 dev eth0`,
        "link set eth0 up",
        `route add default via ${DIRECTOR_INT_ADDR}`,
      ])
    );
  }

  /** The rest of {@link #build} for an HA lab (namespaces exist). */
  async #buildHa(offloads: boolean, fault: (stage: LabOptions["failAfter"]) => void) {
    const { client, directors, lan, servers } = this.ns;
    await this.#ip(null, [
      `link add eth0 netns ${client} type veth peer name xcli netns ${lan}`,
      ...directors.flatMap((d, i) => {
        const port = i === 0 ? "dir" : `dir${i + 1}`;
        return [
          `link add ext0 netns ${d} type veth peer name x${port} netns ${lan}`,
          `link add int0 netns ${d} type veth peer name ${port} netns ${lan}`,
        ];
      }),
      ...this.serverNames.map((rs, i) => `link add eth0 netns ${servers[i]} type veth peer name ${rs} netns ${lan}`),
    ]);
    fault("links");
    const sysctl = which("sysctl") ?? "/usr/sbin/sysctl";
    const ports = directors.map((_, i) => i === 0 ? "dir" : `dir${i + 1}`);
    await Promise.all([
      this.#ip(client, [
        "link set lo up",
        `addr add ${CLIENT_ADDR}/24 dev eth0`,
        "link set eth0 up",
        `route add default via ${DIRECTOR_EXT_ADDR}`,
      ]),
      ...directors.map((d, i) =>
        this.#ip(d, [
          "link set lo up",
          `addr add ${HA_DIRECTOR_EXT_ADDRS[i]}/24 dev ext0`,
          `addr add ${HA_DIRECTOR_INT_ADDRS[i]}/24 dev int0`,
          "link set ext0 up",
          "link set int0 up",
        ]).then(() => this.exec(d, [sysctl, "-qw", "net.ipv4.ip_forward=0"], { check: true }))
      ),
      this.#ip(lan, [
        "link set lo up",
        "link add br0 type bridge stp_state 0 forward_delay 0",
        "link add brx type bridge stp_state 0 forward_delay 0",
        "link set xcli master brx",
        ...ports.flatMap((p) => [`link set x${p} master brx`, `link set ${p} master br0`]),
        ...this.serverNames.map((rs) => `link set ${rs} master br0`),
        "link set br0 up",
        "link set brx up",
        "link set xcli up",
        ...ports.flatMap((p) => [`link set x${p} up`, `link set ${p} up`]),
        ...this.serverNames.map((rs) => `link set ${rs} up`),
      ]),
      ...this.#serverAddresses(),
    ]);
    fault("addresses");
    if (!offloads) await this.setOffloads(false);
  }

  #gatewayHolder: number | null = null;

  /**
   * HA lab, tests without VRRP: puts the floating gateways
   * ({@link DIRECTOR_EXT_ADDR} on ext0, {@link DIRECTOR_INT_ADDR} on int0)
   * on director `i`'s kernel (null: on none), takes them off the other, and
   * flushes the client's and servers' neighbour entries for them, so that
   * the servers' replies go to director `i` from now on.
   */
  async holdGateway(i: number | null): Promise<void> {
    if (!this.ha) throw new Error(`Cannot move the gateway: lab ${this.prefix} has one director`);
    if (i !== null && !(i >= 0 && i < this.ns.directors.length)) {
      throw new Error(`Cannot move the gateway: no director ${i} (0..${this.ns.directors.length - 1})`);
    }
    const was = this.#gatewayHolder;
    if (was === i) return;
    if (was !== null) {
      await this.#ip(this.ns.directors[was], [
        `addr del ${DIRECTOR_EXT_ADDR}/24 dev ext0`,
        `addr del ${DIRECTOR_INT_ADDR}/24 dev int0`,
      ]);
    }
    this.#gatewayHolder = null;
    if (i !== null) {
      await this.#ip(this.ns.directors[i], [
        `addr add ${DIRECTOR_EXT_ADDR}/24 dev ext0`,
        `addr add ${DIRECTOR_INT_ADDR}/24 dev int0`,
      ]);
      this.#gatewayHolder = i;
    }
    await Promise.all([
      this.#run(null, IP, ["-n", this.ns.client, "neigh", "flush", "to", DIRECTOR_EXT_ADDR], {}),
      ...this.ns.servers.map((ns) => this.#run(null, IP, ["-n", ns, "neigh", "flush", "to", DIRECTOR_INT_ADDR], {})),
    ]);
  }

  /**
   * HA lab: sets director `i`'s port on the client LAN (brx) up or down. A
   * director whose port is down hears nothing from the client (e.g. a
   * backup without VRRP, which would otherwise answer ARP for the VIP too).
   */
  async setClientLink(i: number, up: boolean): Promise<void> {
    if (!this.ha) throw new Error(`Cannot change a client link: lab ${this.prefix} has one director`);
    if (!(i >= 0 && i < this.ns.directors.length)) {
      throw new Error(`Cannot change a client link: no director ${i} (0..${this.ns.directors.length - 1})`);
    }
    await this.#ip(this.ns.lan, [`link set x${i === 0 ? "dir" : `dir${i + 1}`} ${up ? "up" : "down"}`]);
  }

  #clientOnLan = false;

  /**
   * Makes real servers (indexes into rs1..) answer clients directly, as in
   * LVS-DR and LVS-TUN: the client gets a second link on the servers' LAN
   * (lan0, {@link CLIENT_LAN_ADDR}) standing in for the site's router, and
   * each chosen server routes the client subnet through it instead of
   * through the director. With `vipOnLo` (DR) the server also holds the VIP
   * on lo with arp_ignore=1 and arp_announce=2, the classic setup: it
   * accepts packets for the VIP but never answers ARP for it, so only the
   * director does. Tunnel servers get the VIP from `lvsd decap` instead.
   */
  async directReturn(servers: readonly number[], opts: { vipOnLo: boolean }): Promise<void> {
    const { client, lan } = this.ns;
    const sysctl = which("sysctl") ?? "/usr/sbin/sysctl";
    if (!this.#clientOnLan) {
      this.#clientOnLan = true;
      await this.#ip(null, [`link add lan0 netns ${client} type veth peer name cli netns ${lan}`]);
      await this.#ip(lan, ["link set cli master br0", "link set cli up"]);
      await this.#ip(client, [`addr add ${CLIENT_LAN_ADDR}/24 dev lan0`, "link set lan0 up"]);
      // Replies from the VIP arrive on lan0 while the route to the VIP is
      // eth0: strict reverse-path filtering would drop them.
      for (const key of ["all", "lan0", "default"]) {
        await this.exec(client, [sysctl, "-qw", `net.ipv4.conf.${key}.rp_filter=0`], { check: true });
      }
    }
    for (const i of servers) {
      const ns = this.ns.servers[i];
      await this.#ip(ns, [`route replace ${CLIENT_ADDR.replace(/\.\d+$/, ".0")}/24 via ${CLIENT_LAN_ADDR}`]);
      if (opts.vipOnLo) {
        await this.#ip(ns, [`addr add ${VIP}/32 dev lo`]);
        for (const kv of ["all.arp_ignore=1", "all.arp_announce=2", "eth0.arp_ignore=1", "eth0.arp_announce=2"]) {
          await this.exec(ns, [sysctl, "-qw", `net.ipv4.conf.${kv}`], { check: true });
        }
      }
    }
  }

  /**
   * Undoes {@link directReturn} on these servers (the client keeps its lan0
   * link): they route the client through the director again, drop the VIP
   * from lo and answer ARP normally; a decap helper started for them stops.
   */
  async restoreReturn(servers: readonly number[]): Promise<void> {
    const sysctl = which("sysctl") ?? "/usr/sbin/sysctl";
    for (const i of servers) {
      const ns = this.ns.servers[i];
      await this.#run(null, IP, ["-n", ns, "route", "del", `${CLIENT_ADDR.replace(/\.\d+$/, ".0")}/24`], {});
      await this.#run(null, IP, ["-n", ns, "addr", "del", `${VIP}/32`, "dev", "lo"], {});
      for (const kv of ["all.arp_ignore=0", "all.arp_announce=0", "eth0.arp_ignore=0", "eth0.arp_announce=0"]) {
        await this.exec(ns, [sysctl, "-qw", `net.ipv4.conf.${kv}`], { check: true });
      }
      const decap = this.#decaps.get(i);
      if (decap) {
        this.#decaps.delete(i);
        await decap.stop(3000);
      }
    }
  }

  #decaps = new Map<number, LabProcess>();

  /**
   * Starts `lvsd decap` for the VIP in these servers' namespaces (tunnel
   * real servers on a kernel without ipip) and waits until each is ready.
   */
  async startDecap(
    servers: readonly number[],
    opts: { tunType?: "ipip" | "gue"; tunPort?: number; detach?: boolean } = {},
  ) {
    const procs = servers.map((i) => {
      const args = [this.deno, "run", "-A", "--cached-only", LVSD_MAIN_PATH, "decap", "--vip", VIP];
      if (opts.tunType) args.push("--tun-type", opts.tunType);
      if (opts.tunPort) args.push("--tun-port", String(opts.tunPort));
      const ns = this.ns.servers[i];
      const p = this.spawn(ns, args, opts.detach ? { logFile: `${LAB_STATE_DIR}/${ns}-decap.log` } : {});
      this.#decaps.set(i, p);
      return p;
    });
    await Promise.all(procs.map((p) => p.waitFor(/lvsd decap: ready/, 15000)));
  }

  /** Every (namespace, interface) of the lab. */
  get interfaces(): readonly { ns: string; ifname: string }[] {
    if (this.ha) {
      const ports = this.ns.directors.map((_, i) => i === 0 ? "dir" : `dir${i + 1}`);
      return [
        { ns: this.ns.client, ifname: "eth0" },
        { ns: this.ns.lan, ifname: "xcli" },
        ...(this.#clientOnLan ? [{ ns: this.ns.client, ifname: "lan0" }, { ns: this.ns.lan, ifname: "cli" }] : []),
        ...this.ns.directors.flatMap((ns) => [{ ns, ifname: "ext0" }, { ns, ifname: "int0" }]),
        { ns: this.ns.lan, ifname: "br0" },
        { ns: this.ns.lan, ifname: "brx" },
        ...ports.flatMap((p) => [{ ns: this.ns.lan, ifname: p }, { ns: this.ns.lan, ifname: `x${p}` }]),
        ...this.serverNames.map((rs) => ({ ns: this.ns.lan, ifname: rs })),
        ...this.ns.servers.map((ns) => ({ ns, ifname: "eth0" })),
      ];
    }
    return [
      ...(this.#clientOnLan ? [{ ns: this.ns.client, ifname: "lan0" }, { ns: this.ns.lan, ifname: "cli" }] : []),
      { ns: this.ns.client, ifname: "eth0" },
      { ns: this.ns.director, ifname: "ext0" },
      { ns: this.ns.director, ifname: "int0" },
      { ns: this.ns.lan, ifname: "br0" },
      { ns: this.ns.lan, ifname: "dir" },
      ...this.serverNames.map((rs) => ({ ns: this.ns.lan, ifname: rs })),
      ...this.ns.servers.map((ns) => ({ ns, ifname: "eth0" })),
    ];
  }

  /**
   * Turns tso, gso, gro and tx checksumming on or off on every lab interface
   * (ethtool -K).
   */
  async setOffloads(on: boolean): Promise<void> {
    const ethtool = which("ethtool");
    if (!ethtool) {
      throw new Error("Cannot change offloads: ethtool is not installed");
    }
    const v = on ? "on" : "off";
    await Promise.all(this.interfaces.map(({ ns, ifname }) =>
      this.exec(ns, [
        ethtool,
        "-K",
        ifname,
        "tso",
        v,
        "gso",
        v,
        "gro",
        v,
        "tx",
        v,
      ], { check: true })
    ));
  }

  /** Full namespace name for a full name or a role suffix (`cli`, `rs2`...). */
  nsName(ns: string): string {
    const full = ns.startsWith(`${this.prefix}-`) ? ns : `${this.prefix}-${ns}`;
    if (!this.namespaces.includes(full)) {
      throw new Error(
        `Cannot use namespace "${ns}": not part of lab ${this.prefix}`,
      );
    }
    return full;
  }

  /** The MAC address of an interface in a lab namespace. */
  async mac(ns: string, ifname: string): Promise<string> {
    const r = await this.#run(null, IP, [
      "-n",
      this.nsName(ns),
      "-j",
      "link",
      "show",
      "dev",
      ifname,
    ], { check: true });
    return JSON.parse(r.stdout)[0].address;
  }

  /**
   * Runs a command to completion in a lab namespace (`ns`: a full name or a
   * role suffix like `dir`, `rs1`).
   */
  exec(
    ns: string,
    argv: string[],
    opts: ExecOptions = {},
  ): Promise<ExecResult> {
    return this.#run(this.nsName(ns), argv[0], argv.slice(1), opts);
  }

  async #run(
    ns: string | null,
    cmd: string,
    args: string[],
    opts: ExecOptions,
  ): Promise<ExecResult> {
    if (this.#down) {
      throw new Error(`Cannot run ${cmd}: lab ${this.prefix} is down`);
    }
    const child = new Deno.Command(ns ? IP : cmd, {
      args: ns ? ["netns", "exec", ns, cmd, ...args] : args,
      stdin: opts.stdin !== undefined ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", ...opts.env },
      cwd: opts.cwd,
    }).spawn();
    this.#execs.add(child);
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, opts.timeoutMs ?? 60000);
    try {
      if (opts.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(opts.stdin));
        await w.close();
      }
      const out = await child.output();
      const res: ExecResult = {
        code: out.code,
        signal: out.signal,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
      if (opts.check && out.code !== 0) {
        throw new Error(
          `Cannot run "${[cmd, ...args].join(" ")}"${ns ? ` in ${ns}` : ""}: ` +
            `exit ${out.code}${out.signal ? ` (${out.signal})` : ""}: ${(res.stderr || res.stdout).trim()}`,
        );
      }
      return res;
    } finally {
      clearTimeout(timer);
      this.#execs.delete(child);
    }
  }

  /** Runs `ip -batch` in a lab namespace (or, for creating things, the root one). */
  async #ip(ns: string | null, lines: string[]): Promise<void> {
    const args = ns ? ["-n", ns, "-batch", "-"] : ["-batch", "-"];
    const r = await this.#run(null, IP, args, {
      stdin: lines.join("\n") + "\n",
    });
    if (r.code !== 0) {
      throw new Error(
        `Cannot build lab ${this.prefix}: ip ${args.join(" ")} failed: ${r.stderr.trim()}\n  ${lines.join("\n  ")}`,
      );
    }
  }

  /**
   * Starts a long-running process in a lab namespace. It is tracked (and
   * recorded in the state file) and killed by PID when the lab goes down.
   */
  spawn(ns: string, argv: string[], opts: SpawnOptions = {}): LabProcess {
    if (this.#down) {
      throw new Error(`Cannot start ${argv[0]}: lab ${this.prefix} is down`);
    }
    const full = this.nsName(ns);
    let args = ["netns", "exec", full, ...argv];
    if (opts.logFile) {
      // setsid execs in place (we are not a group leader), then sh execs the
      // program with its output in the log: the PID stays the program's.
      args = [
        "netns",
        "exec",
        full,
        which("setsid") ?? "setsid",
        "sh",
        "-c",
        'exec "$@" >>"$0" 2>&1',
        opts.logFile,
        ...argv,
      ];
    }
    const child = new Deno.Command(IP, {
      args,
      stdin: "null",
      stdout: opts.logFile ? "null" : "piped",
      stderr: opts.logFile ? "null" : "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", ...opts.env },
      cwd: opts.cwd,
    }).spawn();
    const proc = new LabProcess(full, argv, child, opts);
    this.#procs.add(proc);
    proc.status.then(() => {
      if (!this.#down) {
        this.#procs.delete(proc);
        this.#writeState();
      }
    });
    this.#writeState();
    return proc;
  }

  /** Processes started with {@link spawn} that are still tracked. */
  get processes(): readonly LabProcess[] {
    return [...this.#procs];
  }

  /**
   * Starts `real_server.ts` in every real-server namespace and waits until
   * each prints `ready`.
   */
  async startRealServers(opts: RealServerOptions = {}): Promise<LabProcess[]> {
    const procs = this.serverNames.map((name, i) => {
      const ns = this.ns.servers[i];
      return this.spawn(ns, [
        this.deno,
        "run",
        "--no-config",
        "--cached-only",
        "-A",
        REAL_SERVER_PATH,
        "--name",
        name,
        "--http-port",
        String(opts.httpPort ?? 80),
        "--udp-port",
        String(opts.udpPort ?? 7),
      ], opts.detach ? { logFile: `${LAB_STATE_DIR}/${ns}.log` } : {});
    });
    await Promise.all(
      procs.map((p) => p.waitFor(/^ready$/m, opts.timeoutMs ?? 15000)),
    );
    return procs;
  }

  /**
   * Runs `http_client.ts` in a lab namespace (default: the client) and returns
   * its parsed result. `args` are its command-line flags.
   */
  async runHttpClient(
    args: string[],
    opts: { ns?: string; timeoutMs?: number } = {},
  ): Promise<HttpClientResult> {
    const r = await this.exec(opts.ns ?? this.ns.client, [
      this.deno,
      "run",
      "--no-config",
      "--cached-only",
      "-A",
      HTTP_CLIENT_PATH,
      ...args,
    ], { timeoutMs: opts.timeoutMs ?? 120000 });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(
        `http_client ${args.join(" ")} printed no result (exit ${r.code}):\n${r.stdout}\n${r.stderr}`,
      );
    }
  }

  /**
   * Starts `count` long downloads from the client (download_client.ts), all
   * at once, each its own connection, and waits until every one has its
   * response headers: they are then all mid-transfer. `done` resolves with
   * the client's result when the last one ends (bounded by `timeoutMs`).
   */
  async startDownloads(opts: {
    count: number;
    /** Body bytes per download (default 1 MiB). */
    bytes?: number;
    /** Bytes per second per download (default 64 KiB/s). */
    rate?: number;
    host?: string;
    /** Namespace to run the client in (default the client's). */
    ns?: string;
    timeoutMs?: number;
  }): Promise<{ ports: number[]; done: Promise<DownloadResult> }> {
    const timeoutMs = opts.timeoutMs ?? 120000;
    const path = `/slow/${opts.bytes ?? 1048576}/${opts.rate ?? 65536}`;
    const proc = this.spawn(opts.ns ?? this.ns.client, [
      this.deno,
      "run",
      "--no-config",
      "--cached-only",
      "-A",
      DOWNLOAD_CLIENT_PATH,
      "--host",
      opts.host ?? VIP,
      "--path",
      path,
      "--count",
      String(opts.count),
      "--timeout-ms",
      String(timeoutMs),
    ]);
    const started = await proc.waitFor(/^started \d+ ports ([\d,]+)$/m, Math.min(timeoutMs, 60000));
    const ports = /^started \d+ ports ([\d,]+)$/m.exec(started)![1].split(",").map(Number);
    const done = proc.output().then((r) => {
      const line = r.stdout.trim().split("\n").pop() ?? "";
      try {
        return JSON.parse(line) as DownloadResult;
      } catch {
        throw new Error(`download_client printed no result (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
    });
    return { ports, done };
  }

  /** Runs `fn` when the lab goes down, before the namespaces are removed. */
  onDown(fn: () => void | Promise<void>): void {
    this.#onDown.push(fn);
  }

  /**
   * Leaves the lab running after this process exits (for `cli.ts up`): it is
   * no longer removed on exit or signals, only by `cli.ts down`.
   */
  detach(): void {
    live.delete(this);
    removeSignals();
    this.#writeState(null);
  }

  /** Whether {@link down} has been called. */
  get isDown(): boolean {
    return this.#down;
  }

  /**
   * Removes the lab: runs the onDown hooks, stops tracked processes (SIGTERM,
   * then SIGKILL after 2 s), kills whatever else runs in its namespaces,
   * deletes the namespaces and the state file. Safe to call twice.
   */
  down(): Promise<void> {
    this.#downing ??= this.#doDown();
    return this.#downing;
  }

  async #doDown() {
    for (const fn of this.#onDown.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`lvsd lab ${this.prefix}: onDown hook failed: ${e}`);
      }
    }
    this.#down = true;
    for (const c of this.#execs) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
    }
    const procs = [...this.#procs];
    await Promise.all(procs.map((p) => p.stop(2000)));
    // Anything else in our namespaces (e.g. started with exec and orphaned).
    removeLabSync(this.prefix, this.namespaces, [], 500);
    this.#procs.clear();
    live.delete(this);
    removeSignals();
  }

  /** Synchronous removal for exit paths where nothing async can run. */
  downSync(): void {
    if (this.#down && !live.has(this)) return;
    this.#down = true;
    const recorded = [...this.#procs].map((p) => this.#record(p));
    removeLabSync(this.prefix, this.namespaces, recorded, 1000);
    live.delete(this);
  }

  #record(p: LabProcess): RecordedProcess {
    return { pid: p.pid, starttime: p.starttime, ns: p.ns, argv: [...p.argv] };
  }

  #writeState(owner: LabState["owner"] | undefined = undefined) {
    if (this.#down) return;
    const state: LabState = {
      prefix: this.prefix,
      namespaces: [...this.namespaces],
      owner: owner === null || !live.has(this) ? null : { pid: Deno.pid, starttime: procStartTime(Deno.pid) ?? "" },
      processes: [...this.#procs].map((p) => this.#record(p)),
      created: this.#created,
    };
    Deno.mkdirSync(LAB_STATE_DIR, { recursive: true });
    const path = `${LAB_STATE_DIR}/${this.prefix}.json`;
    Deno.writeTextFileSync(
      `${path}.tmp`,
      JSON.stringify(state, null, 2) + "\n",
    );
    Deno.renameSync(`${path}.tmp`, path);
  }

  #created = new Date().toISOString();
}
