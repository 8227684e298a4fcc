/**
 * Checks that this host can run a config: privileges, interfaces, VIPs not
 * owned by the kernel, and nft for the kernel guard. Everything the checks
 * read goes through {@link HostReaders}, so tests run without root.
 *
 * @module
 */

import type { Config } from "./schema.ts";
import { serviceAddresses } from "./members.ts";

/** What the host checks read from the system. */
export interface HostReaders {
  /** Reads a text file (used for /proc/self/status). */
  readTextFile(path: string): Promise<string>;
  /** Whether a path exists (used for /sys/class/net/NAME). */
  exists(path: string): Promise<boolean>;
  /** Whether a path is an executable regular file. */
  isExecutable(path: string): Promise<boolean>;
  /** Runs a program and returns its stdout; rejects on failure. */
  run(program: string, args: string[]): Promise<string>;
  /** The PATH environment variable ("" when unset). */
  pathEnv(): string;
}

/** CAP_NET_ADMIN and CAP_NET_RAW bit numbers (linux/capability.h). */
const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/** Where sbin tools live when PATH (e.g. a non-root user's) lacks them. */
const SBIN_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/** Readers backed by the real system. */
export const systemReaders: HostReaders = {
  readTextFile: (path) => Deno.readTextFile(path),
  async exists(path) {
    try {
      await Deno.lstat(path);
      return true;
    } catch {
      return false;
    }
  },
  async isExecutable(path) {
    try {
      const st = await Deno.stat(path);
      return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  },
  async run(program, args) {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    if (!out.success) {
      throw new Error(
        `${program} ${args.join(" ")}: ${dec.decode(out.stderr).trim() || `exit ${out.code}`}`,
      );
    }
    return dec.decode(out.stdout);
  },
  pathEnv: () => Deno.env.get("PATH") ?? "",
};

/**
 * Finds `name` on PATH, then in the sbin directories.
 * @returns the absolute path, or null when not found.
 */
export async function findExecutable(
  name: string,
  readers: HostReaders = systemReaders,
): Promise<string | null> {
  const dirs = [...readers.pathEnv().split(":").filter((d) => d), ...SBIN_DIRS];
  for (const dir of dirs) {
    const path = `${dir.replace(/\/$/, "")}/${name}`;
    if (await readers.isExecutable(path)) return path;
  }
  return null;
}

/**
 * Whether the process holds capability `bit`, from the CapEff line of
 * /proc/self/status (a 64-bit hex mask).
 */
export function hasCapability(procStatus: string, bit: number): boolean {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(procStatus);
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(bit)) & 1n) === 1n;
}

/** One IPv4 address of the host, from `ip -j addr`. */
interface HostAddress {
  ifname: string;
  address: string;
}

function parseIpAddrJson(json: string): HostAddress[] {
  const out: HostAddress[] = [];
  for (const link of JSON.parse(json) as Array<Record<string, unknown>>) {
    const infos = Array.isArray(link.addr_info) ? link.addr_info : [];
    for (const a of infos as Array<Record<string, unknown>>) {
      if (a.family === "inet" && typeof a.local === "string") {
        out.push({ ifname: String(link.ifname), address: a.local });
      }
    }
  }
  return out;
}

/**
 * Checks that this host (in this network namespace) can run `config`.
 *
 * @returns one message per problem; empty means OK.
 */
export async function checkHost(
  config: Config,
  readers: HostReaders = systemReaders,
): Promise<string[]> {
  const [caps, ifaces, vips, nft, status] = await Promise.all([
    checkCapabilities(config, readers),
    checkInterfaces(config, readers),
    checkVips(config, readers),
    checkNft(config, readers),
    checkStatusFile(config, readers),
  ]);
  return [...caps, ...ifaces, ...vips, ...nft, ...status];
}

/** The status file's directory must exist (lvsd writes a temp file there and renames it). */
async function checkStatusFile(config: Config, readers: HostReaders): Promise<string[]> {
  if (!config.statusFile) return [];
  const dir = config.statusFile.includes("/")
    ? config.statusFile.slice(0, config.statusFile.lastIndexOf("/")) || "/"
    : ".";
  return (await readers.exists(dir)) ? [] : [`status_file "${config.statusFile}": directory "${dir}" does not exist`];
}

async function checkCapabilities(
  config: Config,
  readers: HostReaders,
): Promise<string[]> {
  let status: string;
  try {
    status = await readers.readTextFile("/proc/self/status");
  } catch (e) {
    return [`cannot read /proc/self/status to check capabilities: ${msg(e)}`];
  }
  const out: string[] = [];
  // Packet sockets need CAP_NET_RAW.
  if (!hasCapability(status, CAP_NET_RAW)) {
    out.push("lvsd needs CAP_NET_RAW (run as root)");
  }
  // Loading nftables rules needs CAP_NET_ADMIN.
  if (
    config.kernelGuard === "nftables" && !hasCapability(status, CAP_NET_ADMIN)
  ) {
    out.push(
      "kernel_guard: nftables needs CAP_NET_ADMIN (run as root, or set kernel_guard: off)",
    );
  }
  return out;
}

async function checkInterfaces(
  config: Config,
  readers: HostReaders,
): Promise<string[]> {
  const missing = await Promise.all(
    config.interfaces.map(async ({ name }) =>
      (await readers.exists(`/sys/class/net/${name}`)) ? null : `interface "${name}" does not exist`
    ),
  );
  return missing.filter((m): m is string => m !== null);
}

/**
 * A VIP that the kernel also owns would be answered twice (and the kernel
 * would RST connections it does not know), so it must not be assigned.
 */
export async function checkVips(
  config: Config,
  readers: HostReaders = systemReaders,
): Promise<string[]> {
  const serviceVips = new Set(config.services.flatMap(serviceAddresses));
  // VRRP's addresses (the servers' gateway too) are lvsd's to answer as well.
  const vips = new Set([
    ...serviceVips,
    ...config.vrrpInstances.flatMap((i) => i.virtualIpaddress.map((a) => a.address)),
  ]);
  if (vips.size === 0) return [];
  let addrs: HostAddress[];
  try {
    const ip = (await findExecutable("ip", readers)) ?? "ip";
    addrs = parseIpAddrJson(await readers.run(ip, ["-j", "addr"]));
  } catch (e) {
    return [`cannot list this host's addresses (ip -j addr): ${msg(e)}`];
  }
  const out: string[] = [];
  // Each host address against the VIP set: a group may have thousands.
  const seen = new Set<string>();
  for (const owner of addrs) {
    const vip = owner.address;
    if (vips.has(vip) && !seen.has(vip)) {
      seen.add(vip);
      out.push(
        serviceVips.has(vip)
          ? `VIP ${vip} is an address of this host (interface ${owner.ifname}); ` +
            "lvsd answers for VIPs itself, remove it from the kernel"
          : `virtual_ipaddress ${vip} is an address of this host (interface ${owner.ifname}); ` +
            "lvsd answers for it while its VRRP instance is MASTER, remove it from the kernel",
      );
    }
  }
  return out;
}

async function checkNft(
  config: Config,
  readers: HostReaders,
): Promise<string[]> {
  if (config.kernelGuard !== "nftables") return [];
  if (await findExecutable("nft", readers)) return [];
  return [
    "kernel_guard: nftables needs the nft program, not found on PATH or in /usr/sbin " +
    "(install nftables, or set kernel_guard: off)",
  ];
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
