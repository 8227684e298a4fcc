/**
 * The director's VRRP instances: publishes the held-address list, runs one
 * {@link VrrpRunner} per `vrrp_instances` entry on real sockets, and tells
 * listeners of every state change (the hook for the sync daemon's role, as
 * keepalived's lvs_sync_daemon: master while MASTER, backup otherwise).
 *
 * @module
 */
import { FrameSender, RawIpSocket } from "../sys/raw_socket.ts";
import { interfaceMac } from "../sys/netdev.ts";
import { HeldAddresses, type HeldMemory, type ManagedAddress } from "./held_addresses.ts";
import { IPPROTO_VRRP } from "./ipv4.ts";
import { VRRP_MULTICAST_GROUP, VRRP_TTL } from "./packet.ts";
import { type RunnerHost, VrrpRunner } from "./runner.ts";
import type { VrrpInstanceSpec } from "./spec.ts";
import type { VrrpState } from "./state_machine.ts";
import type { VrrpView } from "../api/model.ts";

/** Every address of every instance with its instance's index (its bit in the held mask). */
export function managedAddresses(instances: readonly VrrpInstanceSpec[]): ManagedAddress[] {
  return instances.flatMap((s, instance) => s.virtualIpaddress.map((a) => ({ addr: a.address, instance })));
}

/** Service VIPs no instance lists: every director holds them, which is a split brain by configuration. */
export function unlistedVips(instances: readonly VrrpInstanceSpec[], vips: readonly string[]): string[] {
  const listed = new Set(instances.flatMap((s) => s.virtualIpaddress.map((a) => a.address)));
  return [...new Set(vips)].filter((v) => !listed.has(v));
}

async function primaryIp(ifname: string): Promise<string> {
  const out = await new Deno.Command("ip", { args: ["-4", "-j", "addr", "show", "dev", ifname], stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`Cannot read the addresses of "${ifname}": ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { addr_info?: { local: string }[] }[];
  const a = info[0]?.addr_info?.[0]?.local;
  if (!a) throw new Error(`"${ifname}" has no IPv4 address to send VRRP adverts from (set unicast_src_ip or add one)`);
  return a;
}

async function linkUp(ifname: string): Promise<boolean> {
  try {
    const s = (await Deno.readTextFile(`/sys/class/net/${ifname}/operstate`)).trim();
    // "unknown": drivers that do not report it (dummy, tun) are up when administratively up.
    return s === "up" || s === "unknown";
  } catch {
    return false;
  }
}

async function runCommand(command: string, timeoutMs: number): Promise<number> {
  const p = new Deno.Command("sh", { args: ["-c", command], stdin: "null", stdout: "null", stderr: "null" }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      try {
        p.kill("SIGKILL");
      } catch { /* already gone */ }
      resolve(-1);
    }, timeoutMs);
  });
  try {
    return await Promise.race([p.status.then((s) => s.code), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The real host: sockets over FFI, /sys link state, sh -c. */
export function realHost(held: HeldAddresses | null, log: (line: string) => void): RunnerHost {
  return {
    held,
    log,
    openAdverts: (spec) =>
      new RawIpSocket({
        ifname: spec.interface,
        protocol: IPPROTO_VRRP,
        group: spec.unicastPeer.length ? undefined : VRRP_MULTICAST_GROUP,
        ttl: VRRP_TTL,
      }),
    openFrames: (ifname) => new FrameSender(ifname),
    mac: (() => {
      const cache = new Map<string, Uint8Array>();
      return (ifname: string) => {
        let m = cache.get(ifname);
        if (!m) cache.set(ifname, m = interfaceMac(ifname));
        return m;
      };
    })(),
    primaryIp,
    linkUp,
    run: runCommand,
  };
}

/** All instances of a director. */
export class VrrpService {
  readonly runners: VrrpRunner[];
  #listeners: ((instance: string, state: VrrpState) => void)[] = [];

  /**
   * `state`: the data plane's shared memory (null: no data plane, e.g. a
   * test of the protocol alone). The held list must already be published
   * (see {@link publishHeldAddresses}) so that no worker answers for an
   * address before its instance is MASTER.
   */
  constructor(
    state: HeldMemory | null,
    instances: readonly VrrpInstanceSpec[],
    log: (line: string) => void = console.log,
    host?: RunnerHost,
  ) {
    const h = host ?? realHost(state ? new HeldAddresses(state) : null, log);
    this.runners = instances.map((spec, i) => {
      const siblings = new Set(
        instances.filter((o, j) => j !== i && o.interface === spec.interface).map((o) => o.virtualRouterId),
      );
      const r = new VrrpRunner(spec, i, h, siblings);
      r.onStateChange = (name, st) => {
        for (const l of this.#listeners) l(name, st);
      };
      return r;
    });
  }

  /**
   * Adds a listener for state changes: `onStateChange((instance, state) => ...)`.
   * The supervisor uses it to switch the sync daemon's role.
   */
  onStateChange(listener: (instance: string, state: VrrpState) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts every instance; if one fails the others are stopped and the error thrown. */
  async start(): Promise<void> {
    try {
      for (const r of this.runners) await r.start();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Stops every instance (masters resign with priority 0 so a backup takes over at once). */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  /** Per-instance status. */
  snapshot() {
    return this.runners.map((r) => r.snapshot());
  }

  /** GET /v1/vrrp. */
  view(): VrrpView {
    return {
      instances: this.runners.map((r) => {
        const s = r.snapshot();
        return {
          name: s.name,
          interface: s.interface,
          vrid: s.vrid,
          version: r.spec.version,
          state: s.state as VrrpView["instances"][number]["state"],
          priority: s.priority ?? r.spec.priority,
          master_ip: s.masterIp ?? null,
          master_adver_interval_ms: s.masterAdverIntervalMs ?? r.spec.advertIntervalMs,
          faults: s.faults ?? [],
          master_since_ms: s.masterSinceEpochMs,
          adverts_sent: s.counts.sent,
          adverts_received: s.counts.received,
          garps_sent: s.counts.garps,
          drops: s.drops,
        };
      }),
    };
  }
}

/**
 * The connection-sync role for a VRRP state, as keepalived's
 * `lvs_sync_daemon <if> <instance>` switches it: the master daemon while the
 * instance is MASTER, the backup daemon in every other state (BACKUP, FAULT,
 * and INIT before the first election and after a stop).
 */
export function syncRoleFor(state: VrrpState): "master" | "backup" {
  return state === "master" ? "master" : "backup";
}

/** Publishes the held-address list (nothing held) before the workers start. */
export function publishHeldAddresses(state: HeldMemory, instances: readonly VrrpInstanceSpec[]): void {
  if (instances.length) new HeldAddresses(state).setAddresses(managedAddresses(instances));
}
