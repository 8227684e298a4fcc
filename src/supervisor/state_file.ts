/**
 * The state file: the running service table (services, timeouts, options)
 * kept across restarts, as `ipvsadm-save` / `ipvsadm-restore` keep it across
 * reboots, but written by lvsd itself after every applied change.
 *
 * Which wins at start, the config file or the state file? The state file
 * records a digest of the config file's own service table when it was
 * written. If the config file's table is still the same, nothing new was
 * asked for there and the state file (the config plus every change made
 * since through the API) is restored. If the config file's table changed
 * (someone edited it), the newer intent is the file's: it is used, and the
 * state file is rewritten from it. Comments and other keys in the config
 * file do not count, so editing them does not throw API changes away.
 *
 * Writes are atomic: a temp file in the same directory, fsync, rename, then
 * fsync of the directory, so a crash leaves the old or the new file, never
 * a torn one.
 *
 * @module
 */

import { parse, stringify } from "yaml";
import { type Config, ConfigError, configFromObject, configToObject } from "../config/mod.ts";
import { syncDaemonsToObject } from "../config/load.ts";

/** The part of a config the state file keeps (what the admin API and SIGHUP change). */
export const KEPT_KEYS = ["timeouts", "options", "services", "sync_daemon"] as const;
const KEPT = KEPT_KEYS;

/** The digest of a config's service table (timeouts, options, services), normalised. */
export async function tableDigest(config: Config): Promise<string> {
  const obj = configToObject(config);
  const table = Object.fromEntries(KEPT.map((k) => [k, obj[k]]));
  const bytes = new TextEncoder().encode(JSON.stringify(table));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return "sha256:" + [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const HEADER = `# lvsd state file: the running services, timeouts and options, rewritten by lvsd
# after every change made through the admin API (lvsadm) or a reload. Restored at
# start unless the config file's services changed since (config_digest).
# Edit the config file, not this one.
`;

let tempSeq = 0;

/**
 * Writes the running table of `config` to `path` atomically, tagged with
 * the digest of the config file it started from. Returns a function that
 * makes the written file current (the rename) and one that discards it, so
 * that the disk is prepared (and a full disk found) before a change is
 * applied, and the file renamed only once it is.
 */
export async function prepareState(
  path: string,
  config: Config,
  configDigest: string,
): Promise<{ commit(): Promise<void>; discard(): Promise<void> }> {
  const obj = configToObject(config);
  const doc: Record<string, unknown> = {
    config_digest: configDigest,
    saved_at: new Date().toISOString(),
  };
  for (const k of KEPT) doc[k] = obj[k];
  // Always written: a daemon stopped since start must stay stopped after a
  // restart, whatever the config file's block says.
  doc.sync_daemon = syncDaemonsToObject(config);
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  await Deno.mkdir(dir, { recursive: true });
  // Unique per write: two prepared writes must never share (and steal) a temp file.
  const tmp = `${path}.tmp-${Deno.pid}-${++tempSeq}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    await file.write(new TextEncoder().encode(HEADER + stringify(doc, { lineWidth: 0 })));
    await file.sync();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  return {
    async commit() {
      await Deno.rename(tmp, path);
      await syncDir(dir);
    },
    async discard() {
      await Deno.remove(tmp).catch(() => {});
    },
  };
}

/** Writes the state file now (prepare + commit). */
export async function writeState(path: string, config: Config, configDigest: string): Promise<void> {
  await (await prepareState(path, config, configDigest)).commit();
}

/** fsync of a directory, so the rename itself is on disk. */
async function syncDir(dir: string): Promise<void> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(dir, { read: true });
    await f.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    f?.close();
  }
}

/** What {@link restoreState} decided. */
export type Restored =
  | { kind: "none" }
  | { kind: "restored"; config: Config }
  | { kind: "config-changed" }
  | { kind: "invalid"; reason: string };

/**
 * Reads the state file and, when it belongs to `fileConfig` (same digest),
 * returns `fileConfig` with the kept table replaced by the saved one. A state
 * file that does not parse or validate is reported, never half-applied.
 */
export async function restoreState(path: string, fileConfig: Config): Promise<Restored> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "none" };
    return { kind: "invalid", reason: (e as Error).message };
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return { kind: "invalid", reason: (e as Error).message };
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return { kind: "invalid", reason: "not a mapping" };
  }
  const saved = doc as Record<string, unknown>;
  if (saved.config_digest !== await tableDigest(fileConfig)) return { kind: "config-changed" };
  const merged = configToObject(fileConfig);
  for (const k of KEPT) if (k in saved) merged[k] = saved[k];
  try {
    return { kind: "restored", config: configFromObject(merged, path) };
  } catch (e) {
    return { kind: "invalid", reason: e instanceof ConfigError ? e.message : (e as Error).message };
  }
}
