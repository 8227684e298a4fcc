/**
 * zod's issues as problem items: one per problem, pathed in the request,
 * worded as the config file's errors are ("missing (required)", "unknown
 * key", "expected a string, got 5").
 *
 * @module
 */

import type { z } from "zod";
import { formatPath, type Path } from "./paths.ts";
import type { ProblemItem } from "./problems.ts";

const KINDS: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "an object",
  record: "an object",
  array: "a list",
};

/** A short description of a JSON value for "got ..." messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return String(v);
}

/** Error map for parsing request envelopes: the messages this API words itself. */
export function requestMessage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code === "invalid_type") {
    if (iss.input === undefined) return "missing (required)";
    return `expected ${KINDS[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
  }
  if (iss.code === "invalid_value" && iss.values) {
    return `${describeValue(iss.input)} is not one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  if ((iss.code === "too_small" || iss.code === "too_big") && typeof iss.input === "number") {
    const c = iss as { minimum?: number | bigint; maximum?: number | bigint };
    return iss.code === "too_small" ? `${iss.input} is below ${c.minimum}` : `${iss.input} is above ${c.maximum}`;
  }
  return undefined;
}

/**
 * zod issues → problem items, each path prefixed with `prefix`; one item
 * per unknown key, listing the keys `known` says the object at that path
 * takes.
 */
export function zodProblems(
  issues: readonly z.core.$ZodIssue[],
  prefix: Path = [],
  known: (path: Path) => readonly string[] = () => [],
): ProblemItem[] {
  const out: ProblemItem[] = [];
  for (const iss of issues) {
    const at = [...prefix, ...(iss.path as Path)];
    if (iss.code === "unrecognized_keys") {
      const valid = known(iss.path as Path);
      const message = valid.length > 0 ? `unknown key (valid: ${valid.join(", ")})` : "unknown key";
      for (const key of iss.keys) out.push({ path: formatPath([...at, key]), message });
    } else out.push({ path: formatPath(at), message: iss.message });
  }
  return out;
}
