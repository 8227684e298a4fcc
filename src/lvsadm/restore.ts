/**
 * `lvsadm -R`: a file of ipvsadm command lines on stdin, applied as ONE
 * change (POST /v1/batch), so that it takes effect whole or not at all.
 *
 * Lines are read as ipvsadm reads them (config_stream.c
 * config_stream_read): words split on blanks, no quoting, a word
 * "ipvsadm" dropped wherever it stands (lines may start with it; lvsadm
 * also drops "lvsadm"), empty lines skipped. A line that starts with "#"
 * (blanks before it allowed) is a comment, as ipvsadm-restore filters
 * them (grep -v '^#') before
 * ipvsadm -R sees the file; a "#" later in a line is a word like any other
 * (config_stream.c means to drop it, but its check never fires), so
 * ipvsadm calls it an unexpected argument, and so does lvsadm.
 *
 * Each line goes through the same parser as the command line and must be
 * a change: -A -E -D -C -a -e -d --set. Unlike ipvsadm, which runs the
 * lines one by one and stops at the first that fails (the ones before it
 * stay applied), lvsadm checks every line first: if any is bad it sends
 * nothing and names each bad line by number and text; if lvsd refuses
 * the batch, the operation it names is reported with its line. Like
 * ipvsadm -R, and unlike ipvsadm-restore, nothing is cleared first: start
 * the file with -C for that.
 *
 * @module
 */

import type { EditOp } from "../api/model.ts";
import { parseArgs, TRY_HELP } from "./args.ts";
import { editOpOf } from "./edit_ops.ts";
import { LvsdError, problemMessage } from "./client.ts";
import type { RunContext } from "./commands.ts";
import type { Resolver } from "./resolver.ts";

/** One change of a restore file. */
export interface RestoreOp {
  /** 1-based line number. */
  line: number;
  /** The line as written (trimmed). */
  text: string;
  op: EditOp;
}

/** A line that cannot be restored. */
export interface RestoreProblem {
  line: number;
  text: string;
  message: string;
  /** The exit code the line alone would have given. */
  code: number;
}

/** The words of one line as config_stream_read splits them, without "ipvsadm"/"lvsadm". */
export function lineWords(line: string): string[] {
  return line.split(/[ \t\r\n]+/).filter((w) => w !== "" && w !== "ipvsadm" && w !== "lvsadm");
}

/** The option each non-changing command is known by, for messages. */
const NOT_A_CHANGE: Record<string, string> = {
  list: "-L",
  save: "-S",
  zero: "-Z",
  restore: "-R",
  help: "-h",
  version: "-v",
};

/** Every line of `input` parsed: the changes in order, and the lines that are not. */
export async function parseRestore(
  input: string,
  resolver: Resolver,
): Promise<{ ops: RestoreOp[]; problems: RestoreProblem[]; warnings: string[] }> {
  const ops: RestoreOp[] = [];
  const problems: RestoreProblem[] = [];
  const warnings: string[] = [];
  const lines = input.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    const line = i + 1;
    if (text.startsWith("#")) continue;
    const words = lineWords(text);
    if (words.length === 0) continue;
    const bad = (message: string, code = 2) => problems.push({ line, text, message: message.trim(), code });
    const parsed = await parseArgs(words, resolver);
    if (!parsed.ok) {
      if (parsed.message === TRY_HELP) {
        bad("no command: a restore line starts with -A, -E, -D, -C, -a, -e, -d or --set", parsed.code);
      } else bad(parsed.message, parsed.code);
      continue;
    }
    const c = parsed.client;
    const flag = c.server !== undefined
      ? "server"
      : c.tokenFile !== undefined
      ? "token-file"
      : c.caCert !== undefined
      ? "cacert"
      : null;
    if (flag !== null) {
      bad(`--${flag} cannot be given in a restore file (give it to lvsadm -R)`);
      continue;
    }
    const op = editOpOf(parsed.command);
    if (op === null) {
      const name = NOT_A_CHANGE[parsed.command.kind] ?? parsed.command.kind;
      bad(`${name} cannot be part of a restore: a restore line is a change (-A, -E, -D, -C, -a, -e, -d or --set)`);
      continue;
    }
    for (const w of parsed.warnings) warnings.push(`line ${line}: ${w}`);
    ops.push({ line, text, op });
  }
  return { ops, problems, warnings };
}

/** `line 3 ("-A -t 10.0.0.1:80"): reason`. */
function lineMessage(line: number, text: string, message: string): string {
  return `line ${line} (${JSON.stringify(text)}): ${message}`;
}

/** The batch index a problem path or detail names (`ops[2]...`), or null. */
function opIndex(text: string): number | null {
  const m = /ops\[(\d+)\]/.exec(text);
  return m ? Number(m[1]) : null;
}

/** lvsd's refusal of the batch, each problem on the line it came from. */
function batchFailure(e: LvsdError, ops: RestoreOp[]): string[] {
  const problem = e.problem ?? {};
  const at = (i: number | null) => (i !== null && i < ops.length ? ops[i] : null);
  const out: string[] = [];
  for (const item of problem.errors ?? []) {
    const op = at(opIndex(item.path ?? ""));
    if (op === null) continue;
    const where = (item.path ?? "").replace(/^ops\[\d+\]\.?/, "");
    out.push(lineMessage(op.line, op.text, where ? `${where}: ${item.message}` : item.message));
  }
  if (out.length > 0) return out;
  const op = at(opIndex(problem.detail ?? ""));
  const detail = problemMessage(problem, e.message);
  return [op ? lineMessage(op.line, op.text, detail.replace(/^ops\[\d+\]:?\s*/, "")) : detail];
}

/**
 * Restores `input`; returns the exit code: 0, the first bad line's code
 * (2 for a bad value, 255 for a popt error), or 255 when lvsd refuses the
 * batch (ipvsadm's code for a refused change). Failures to reach lvsd are
 * thrown (LvsdError).
 */
export async function restore(
  input: string,
  ctx: Pick<RunContext, "api"> & { resolver: Resolver; stderr: (s: string) => void },
): Promise<number> {
  const { ops, problems, warnings } = await parseRestore(input, ctx.resolver);
  for (const w of warnings) ctx.stderr(`${w}\n`);
  if (problems.length > 0) {
    for (const p of problems) ctx.stderr(`${lineMessage(p.line, p.text, p.message)}\n`);
    ctx.stderr(`nothing restored: ${problems.length} bad line${problems.length === 1 ? "" : "s"}\n`);
    return problems[0].code;
  }
  if (ops.length === 0) return 0;
  try {
    await ctx.api.request({ method: "POST", path: "/v1/batch", body: { ops: ops.map((o) => o.op) } });
  } catch (e) {
    if (!(e instanceof LvsdError) || e.kind !== "api") throw e;
    for (const line of batchFailure(e, ops)) ctx.stderr(`${line}\n`);
    ctx.stderr("nothing restored: lvsd refused the change\n");
    return 255;
  }
  return 0;
}
