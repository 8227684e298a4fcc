/**
 * keepalived's `lvs_sync_daemon INTERFACE VRRP_INSTANCE ...`: one sync
 * daemon whose role follows a VRRP instance. While the instance is MASTER
 * this director forwards, so it runs the master daemon (sending what its
 * workers queue); in BACKUP, FAULT or INIT it runs the backup daemon, so
 * that it already holds the connections when it takes the VIPs over. A
 * transition stops the old role before the new one starts (a director never
 * sends and installs from the same group at once for the same instance).
 *
 * @module
 */
import type { SyncDaemonConfig, SyncFollowConfig, SyncRole } from "./config.ts";

/** What the follower needs from the supervisor. */
export interface SyncRoles {
  startSync(role: SyncRole, cfg: SyncDaemonConfig): Promise<void>;
  stopSync(role: SyncRole): boolean;
}

/** The role for a VRRP state (keepalived: master daemon while MASTER, backup daemon otherwise). */
export function roleForState(state: string): SyncRole {
  return state.toLowerCase() === "master" ? "master" : "backup";
}

/** Switches the sync daemon's role with a VRRP instance's state. */
export class VrrpSyncFollower {
  #roles: SyncRoles;
  #log: (line: string) => void;
  #follow: SyncFollowConfig | null = null;
  #role: SyncRole | null = null;
  #serial: Promise<void> = Promise.resolve();

  constructor(roles: SyncRoles, log: (line: string) => void) {
    this.#roles = roles;
    this.#log = log;
  }

  /** The role running now because of the instance (null: none). */
  get role(): SyncRole | null {
    return this.#role;
  }

  /**
   * Sets (or clears, with undefined) what to follow, given the named
   * instance's current state; at start and after every applied change.
   * A changed config restarts the daemon with it. `explicit` are the roles
   * the config now names itself (sync_daemon.master/backup): a reload that
   * replaced lvs_sync_daemon by them has already started them, so the role
   * this follower ran is left to them, not stopped.
   */
  configure(
    follow: SyncFollowConfig | undefined,
    state: string | null,
    explicit: Partial<Record<SyncRole, unknown>> = {},
  ): Promise<void> {
    const next = follow ?? null;
    if (JSON.stringify(next) === JSON.stringify(this.#follow)) return this.#serial;
    return this.#queue(async () => {
      if (this.#role && !explicit[this.#role]) this.#roles.stopSync(this.#role);
      this.#role = null;
      this.#follow = next;
      if (next && state === null) {
        this.#log(`lvsd: lvs_sync_daemon: VRRP instance ${next.vrrpInstance} is not running: no sync daemon`);
      }
      if (next && state !== null) await this.#switch(roleForState(state));
    });
  }

  /** A state change of some VRRP instance (VrrpService.onStateChange). */
  onStateChange(instance: string, state: string): Promise<void> {
    return this.#queue(async () => {
      if (!this.#follow || instance !== this.#follow.vrrpInstance) return;
      const role = roleForState(state);
      if (role !== this.#role) await this.#switch(role);
    });
  }

  /** Waits for a switch under way; the daemons themselves stop with the supervisor. */
  async close(): Promise<void> {
    await this.#serial;
    this.#follow = null;
  }

  async #switch(role: SyncRole): Promise<void> {
    const f = this.#follow!;
    if (this.#role) this.#roles.stopSync(this.#role);
    this.#role = null;
    const { vrrpInstance: _, ...cfg } = f;
    try {
      await this.#roles.startSync(role, cfg);
      this.#role = role;
      this.#log(`lvsd: lvs_sync_daemon: ${role} (VRRP instance ${f.vrrpInstance})`);
    } catch (e) {
      this.#log(`lvsd: lvs_sync_daemon: cannot start the ${role} sync daemon: ${(e as Error).message}`);
    }
  }

  #queue(fn: () => Promise<void>): Promise<void> {
    const run = this.#serial.then(fn);
    this.#serial = run.catch(() => {});
    return run;
  }
}
