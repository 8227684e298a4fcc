/**
 * Prepares this machine for `deno task demo|test|bench|lab`; idempotent and
 * quick when everything is already there.
 *
 * 1. Must run as root (network namespaces, raw sockets).
 * 2. Installs the Debian packages in {@link DEBIAN_PACKAGES} that are missing,
 *    with a temporary policy-rc.d that keeps nginx, haproxy and prometheus from
 *    starting (the benchmarks start their own copies inside lab namespaces;
 *    only prometheus's promtool is used, by the tests). If one of
 *    them runs in the root namespace afterwards because of the install anyway,
 *    exactly those new processes are stopped.
 * 3. Builds the WebAssembly module (tools/build_wasm.ts; it skips the build
 *    when nothing changed).
 * 4. Caches every module a process inside a namespace imports: there is no
 *    route to the package registry in there, and deno would stall on it.
 *
 *     deno run -A tools/setup.ts [--quiet]
 *
 * @module
 */

/** The Debian packages lvsd's lab, tests and benchmarks need, with the command each provides. */
export const DEBIAN_PACKAGES = [
  { pkg: "nftables", cmd: "nft" },
  { pkg: "tcpdump", cmd: "tcpdump" },
  { pkg: "wrk", cmd: "wrk" },
  { pkg: "ethtool", cmd: "ethtool" },
  { pkg: "nginx", cmd: "nginx" },
  { pkg: "haproxy", cmd: "haproxy" },
  { pkg: "iproute2", cmd: "ip" },
  { pkg: "curl", cmd: "curl" },
  // Certificates for the admin API's HTTPS tests.
  { pkg: "openssl", cmd: "openssl" },
  { pkg: "python3", cmd: "python3" },
  // promtool validates GET /metrics output in the tests (src/api/metrics_test.ts).
  { pkg: "prometheus", cmd: "promtool" },
  // The VRRP interop test runs keepalived (VRRP only) as lvsd's peer (tests/vrrp/keepalived_interop_test.ts).
  { pkg: "keepalived", cmd: "keepalived" },
] as const;

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
const POLICY_RC_D = "/usr/sbin/policy-rc.d";
const DAEMONS = ["nginx", "haproxy", "prometheus", "keepalived"];

const quiet = Deno.args.includes("--quiet");
function info(msg: string) {
  if (!quiet) console.log(`lvsd setup: ${msg}`);
}

function onPath(cmd: string): boolean {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), ...SBIN_DIRS];
  return dirs.some((d) => {
    if (!d) return false;
    try {
      const st = Deno.statSync(`${d}/${cmd}`);
      return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<void> {
  const { code } = await new Deno.Command(cmd, {
    args,
    env,
    cwd: ROOT,
    stdin: "null",
    stdout: quiet ? "null" : "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${code}`);
  }
}

/** PIDs of processes named as one of {@link DAEMONS} in our (the root) network namespace. */
function daemonPids(): Map<number, string> {
  const out = new Map<number, string>();
  let ourNet = "";
  try {
    ourNet = Deno.readLinkSync("/proc/self/ns/net");
  } catch { /* no /proc? then nothing to compare */ }
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const comm = Deno.readTextFileSync(`/proc/${e.name}/comm`).trim();
      if (!DAEMONS.includes(comm)) continue;
      if (Deno.readLinkSync(`/proc/${e.name}/ns/net`) !== ourNet) continue;
      out.set(Number(e.name), comm);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

async function stopNewDaemons(before: Map<number, string>) {
  const now = daemonPids();
  const fresh = [...now].filter(([pid]) => !before.has(pid));
  if (fresh.length === 0) return;
  const names = [...new Set(fresh.map(([, n]) => n))];
  const beforeNames = new Set(before.values());
  const units = names.filter((n) => !beforeNames.has(n));
  if (units.length && onPath("systemctl") && exists("/run/systemd/system")) {
    info(`stopping ${units.join(", ")} (started by the install)`);
    try {
      await run("systemctl", ["stop", ...units]);
    } catch (e) {
      console.error(
        `lvsd setup: warning: ${e instanceof Error ? e.message : e}`,
      );
    }
  }
  for (const [pid, name] of fresh) {
    if (!daemonPids().has(pid)) continue;
    info(`stopping ${name} pid ${pid} (started by the install)`);
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* gone */ }
  }
}

async function ensurePackages() {
  const missing = DEBIAN_PACKAGES.filter((p) => !onPath(p.cmd)).map((p) => p.pkg);
  if (missing.length === 0) return;
  if (!onPath("apt-get")) {
    throw new Error(
      `missing ${missing.join(", ")} and apt-get is not available: install them by hand`,
    );
  }
  console.log(`lvsd setup: installing Debian packages: ${missing.join(" ")}`);
  const before = daemonPids();
  const madePolicy = !exists(POLICY_RC_D);
  if (madePolicy) {
    // invoke-rc.d asks policy-rc.d; 101 means "action forbidden": packages
    // install without starting their services.
    Deno.writeTextFileSync(POLICY_RC_D, "#!/bin/sh\nexit 101\n", {
      mode: 0o755,
    });
  }
  try {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await run("apt-get", ["update"], env);
    await run("apt-get", [
      "install",
      "-y",
      "--no-install-recommends",
      ...missing,
    ], env);
  } finally {
    if (madePolicy) {
      try {
        Deno.removeSync(POLICY_RC_D);
      } catch { /* already gone */ }
    }
    await stopNewDaemons(before);
  }
  const still = DEBIAN_PACKAGES.filter((p) => !onPath(p.cmd));
  if (still.length) {
    throw new Error(
      `still missing after install: ${still.map((p) => p.cmd).join(", ")}`,
    );
  }
}

function walk(dir: string, re: RegExp, out: string[]) {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${ROOT}${dir}`)];
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) {
      walk(rel, re, out);
    } else if (e.isFile && re.test(e.name)) out.push(rel);
  }
}

/**
 * Every module a process inside a lab namespace may import: the program, the
 * lab's real server and client, the benchmark, every test and every worker.
 */
export function modulesToCache(): string[] {
  const files = [
    "src/main.ts",
    "src/lab/real_server.ts",
    "src/lab/http_client.ts",
    "bench/main.ts",
  ].filter((f) => exists(`${ROOT}${f}`));
  for (const dir of ["tests", "src"]) walk(dir, /_test\.ts$/, files);
  // Worker entry points are loaded with `new Worker(url)` at run time, which
  // `deno cache src/main.ts` cannot see: cache every module under workers/.
  walk("workers", /\.ts$/, files);
  return files;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  if (Deno.uid() !== 0) {
    console.error(
      "lvsd setup: must run as root: the lab builds network namespaces and " +
        "lvsd opens raw sockets (try: sudo deno task ...)",
    );
    return 1;
  }
  const deno = Deno.execPath();
  try {
    await ensurePackages();
    if (exists(`${ROOT}tools/build_wasm.ts`)) {
      await run(deno, ["run", "-A", "tools/build_wasm.ts"]);
    } else {
      console.error(
        "lvsd setup: warning: tools/build_wasm.ts does not exist yet; skipping the WASM build",
      );
    }
    const modules = modulesToCache();
    await run(deno, ["cache", "--quiet", ...modules], {
      DENO_NO_UPDATE_CHECK: "1",
    });
    info(
      `ready (${modules.length} modules cached, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return 0;
  } catch (e) {
    console.error(`lvsd setup: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
