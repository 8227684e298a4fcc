/**
 * lvsadm: lvsd's ipvsadm-compatible command line (`lvsd adm ...`, or the
 * binary under the name `lvsadm`).
 *
 * Exit codes, as ipvsadm's (ipvsadm.c):
 * - 0: done;
 * - 1: a listing (-L, -S) failed (ipvsadm's list functions exit(1)), or a
 *   command lvsd does not support yet (the sync daemon);
 * - 2: bad arguments (ipvsadm's fail()), and lvsd not reachable, the token
 *   unreadable or refused (ipvsadm exits 2 when it cannot open IPVS);
 * - 255: lvsd refused a change (ipvsadm returns -1 from main), or a usage
 *   error found by popt ("Try `lvsadm -h'...", "-q: unknown option").
 *
 * @module
 */

import { parseArgs } from "./args.ts";
import { clientSettings, LvsdClient, LvsdError } from "./client.ts";
import { type Formatter, runCommand } from "./commands.ts";
import * as format from "./format/mod.ts";
import { restore } from "./restore.ts";
import { type Resolver, systemResolver } from "./resolver.ts";
import { usageText, versionText } from "./usage.ts";

/** Where lvsadm reads and writes. */
export interface LvsadmIo {
  stdin: ReadableStream<Uint8Array>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: (k: string) => string | undefined;
}

/** What tests replace: the HTTP fetch, name lookups, the output formatter. */
export interface LvsadmDeps {
  fetch?: typeof fetch;
  resolver?: Resolver;
  fmt?: Formatter;
}

/** Runs lvsadm with `args` (without the program name); resolves with the exit code. Never throws. */
export async function lvsadmMain(args: string[], io: LvsadmIo): Promise<number> {
  return await runLvsadm(args, io, {});
}

/** {@link lvsadmMain} with replaceable parts. */
export async function runLvsadm(args: string[], io: LvsadmIo, deps: LvsadmDeps): Promise<number> {
  let client: LvsdClient | null = null;
  let changing = true;
  try {
    const resolver = deps.resolver ?? systemResolver();
    const parsed = await parseArgs(args, resolver);
    if (!parsed.ok) {
      io.stderr(`${parsed.message}\n`);
      return parsed.code;
    }
    const cmd = parsed.command;
    if (cmd.kind === "help") {
      io.stdout(usageText());
      return 0;
    }
    if (cmd.kind === "version") {
      io.stdout(versionText());
      return 0;
    }
    for (const w of parsed.warnings) io.stderr(`${w}\n`);
    changing = cmd.kind !== "list" && cmd.kind !== "save";
    client = new LvsdClient(clientSettings(parsed.client, io.env), deps.fetch);
    if (cmd.kind === "restore") {
      const input = await new Response(io.stdin).text();
      return await restore(input, { api: client, resolver, stderr: io.stderr });
    }
    await runCommand(cmd, { api: client, fmt: deps.fmt ?? format, stdout: io.stdout });
    return 0;
  } catch (e) {
    if (e instanceof LvsdError) {
      io.stderr(`${e.message}\n`);
      if (e.kind !== "api") return 2;
      return changing ? 255 : 1;
    }
    io.stderr(`lvsadm: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}
