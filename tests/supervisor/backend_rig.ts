/**
 * The real DirectorBackend over a stand-in Supervisor: a real SharedState
 * and planServices, and a reload that runs one at a time and takes a little
 * while, as the real one does (it waits for ARP and for nft).
 */
import { SharedState } from "../../src/dataplane/shared_state.ts";
import { Baselines } from "../../src/supervisor/baselines.ts";
import { DirectorBackend } from "../../src/supervisor/admin_backend.ts";
import type { Supervisor } from "../../src/supervisor/supervisor.ts";
import { type Config, configFromObject, type HostReaders } from "../../src/config/mod.ts";
import { planServices } from "../../src/supervisor/reconfigure.ts";
import type { TableService } from "../../src/dataplane/tables.ts";
import { tableDigest } from "../../src/supervisor/state_file.ts";

export function cfg(services: unknown[]): Config {
  return configFromObject({ interfaces: [{ name: "eth0" }], services }, "t");
}

/** Host readers whose `ip -j addr` lists `addrs` on eth0. */
export function hostWith(addrs: string[]): HostReaders {
  return {
    readTextFile: () => Promise.resolve("CapEff:\t000001ffffffffff\n"),
    exists: () => Promise.resolve(true),
    isExecutable: () => Promise.resolve(true),
    run: () =>
      Promise.resolve(JSON.stringify([{
        ifname: "eth0",
        addr_info: addrs.map((local) => ({ family: "inet", local, prefixlen: 24 })),
      }])),
    pathEnv: () => "/usr/sbin",
  };
}

export class StandInSupervisor {
  state = new SharedState({ connCapacity: 1024, workers: 1 });
  services: TableService[] = [];
  baselines = new Baselines();
  onFreshId: Supervisor["onFreshId"] = null;
  config: Config;
  reloadDelayMs = 20;
  #serial: Promise<unknown> = Promise.resolve();
  constructor(config: Config) {
    this.config = config;
    this.services = this.#plan(config);
  }
  #plan(config: Config): TableService[] {
    return planServices(this.services, config, {
      maxServices: this.state.layout.MAX_SERVICES,
      maxDests: this.state.layout.MAX_DESTS,
      destInUse: () => false,
      nextDestId: 0,
    });
  }
  restarts(): number[] {
    return [0];
  }
  syncStatus(): [] {
    return [];
  }
  reload(config: Config): Promise<string[]> {
    const run = this.#serial.then(async () => {
      await new Promise((r) => setTimeout(r, this.reloadDelayMs));
      this.services = this.#plan(config);
      this.config = config;
      return ["reloaded"];
    });
    this.#serial = run.catch(() => {});
    return run;
  }
}

export async function director(config: Config, stateFile: string | null, hostAddrs: string[] = []) {
  const sup = new StandInSupervisor(config);
  const backend = new DirectorBackend(sup as unknown as Supervisor, {
    configFile: "/etc/lvsd/lvsd.yaml",
    stateFile,
    configDigest: await tableDigest(config),
    log: () => {},
    hostReaders: hostWith(hostAddrs),
  });
  return { sup, backend };
}
