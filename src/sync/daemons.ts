/**
 * The sync daemon roles a director runs, as the supervisor manages them:
 * started and stopped at run time (lvsadm, the API, a VRRP state change)
 * or by a reload's change of the sync_daemon block. The daemons themselves
 * come from a factory (daemon.ts in the director; fakes in tests).
 */
import type { SyncDaemonConfig, SyncDaemonsConfig, SyncRole } from "./config.ts";
import type { SyncBackupStats, SyncDaemonStatus, SyncMasterStats } from "./daemon.ts";

/** A running daemon as the roles see it. */
export interface SyncDaemonHandle {
  readonly config: SyncDaemonConfig & { maxlen: number };
  readonly stats: SyncMasterStats | SyncBackupStats;
  stop(): void;
}

/** Starts a daemon of a role; throws when the interface or socket cannot be used. */
export type SyncDaemonFactory = (role: SyncRole, cfg: SyncDaemonConfig) => Promise<SyncDaemonHandle>;

/** Whether a running daemon's config (maxlen resolved) is what `cfg` asks for. */
export function sameSyncConfig(running: SyncDaemonConfig, cfg: SyncDaemonConfig): boolean {
  return running.mcastInterface === cfg.mcastInterface && running.syncid === cfg.syncid &&
    (cfg.maxlen === null || running.maxlen === cfg.maxlen) && running.group === cfg.group &&
    running.port === cfg.port && running.ttl === cfg.ttl && running.peer === cfg.peer;
}

/** The master and backup roles of one director. */
export class SyncDaemons {
  #factory: SyncDaemonFactory;
  #log: (line: string) => void;
  #running: Record<SyncRole, SyncDaemonHandle | null> = { master: null, backup: null };
  #serial: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(factory: SyncDaemonFactory, log: (line: string) => void = () => {}) {
    this.#factory = factory;
    this.#log = log;
  }

  /**
   * Starts `role` with `cfg`; one running with another config is replaced,
   * with the same config it is left alone. Starts run one at a time (a
   * reload and a VRRP transition may ask together: two would both open
   * sockets and one would be lost, still running). Throws, leaving the role
   * as it was, when the new one cannot start.
   */
  start(role: SyncRole, cfg: SyncDaemonConfig): Promise<void> {
    const run = this.#serial.then(() => this.#start(role, cfg));
    this.#serial = run.catch(() => {});
    return run;
  }

  async #start(role: SyncRole, cfg: SyncDaemonConfig): Promise<void> {
    if (this.#closed) throw new Error("the director is stopping");
    const running = this.#running[role];
    if (running && sameSyncConfig(running.config, cfg)) return;
    if (role === "master") {
      // One master owns the workers' rings (stopping one turns queueing
      // off): the old one goes first, and comes back if the new one fails.
      running?.stop();
      this.#running.master = null;
      try {
        this.#running.master = await this.#factory(role, cfg);
      } catch (e) {
        if (running) this.#running.master = await this.#factory(role, running.config).catch(() => null);
        throw e;
      }
    } else {
      // Backups share the port (SO_REUSEADDR): the new one listens before the old one goes.
      const next = await this.#factory(role, cfg);
      running?.stop();
      this.#running.backup = next;
    }
    this.#log(`lvsd: ${role} sync daemon started (mcast=${cfg.mcastInterface}, syncid=${cfg.syncid})`);
  }

  /** Stops `role`; false when it was not running. */
  stop(role: SyncRole): boolean {
    const d = this.#running[role];
    if (!d) return false;
    d.stop();
    this.#running[role] = null;
    this.#log(`lvsd: ${role} sync daemon stopped`);
    return true;
  }

  /** The roles running now, master first, with their counters. */
  status(): SyncDaemonStatus[] {
    return (["master", "backup"] as const).flatMap((role) => {
      const d = this.#running[role];
      return d ? [{ role, config: d.config, stats: d.stats }] : [];
    });
  }

  /**
   * A reload's change of the sync_daemon block: a role whose block changed
   * is started (or restarted) or stopped; one whose block did not change is
   * left as it runs, so a role started or stopped at run time (VRRP) is not
   * undone by an unrelated edit. Throws when a role cannot start (the
   * caller refuses the change); adds a note per role changed.
   */
  async applyChange(
    before: Pick<SyncDaemonsConfig, "master" | "backup">,
    after: Pick<SyncDaemonsConfig, "master" | "backup">,
    notes: string[],
  ): Promise<void> {
    for (const role of ["master", "backup"] as const) {
      const cfg = after[role];
      if (JSON.stringify(before[role]) === JSON.stringify(cfg)) continue;
      if (cfg) {
        await this.start(role, cfg);
        notes.push(`${role} sync daemon: started`);
      } else if (this.stop(role)) {
        notes.push(`${role} sync daemon: stopped`);
      }
    }
  }

  /** Waits for a start under way, then stops both roles; later starts are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#serial;
    this.stop("master");
    this.stop("backup");
  }
}
