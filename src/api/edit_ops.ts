/**
 * The shape check of one edit operation: a known `op`, the keys that op
 * takes and no others, key strings where keys go, objects where config-form
 * objects go. The values inside a service, a dest or a `set` are left to
 * the config schema (their messages name ranges and valid choices), so
 * the envelope schemas here are derived from the documented ones
 * (schemas.ts) by key name: one list of keys, two strictnesses.
 *
 * @module
 */

import { z } from "zod";
import type { EditOp } from "./model.ts";
import { describeValue, requestMessage, zodProblems } from "./issues.ts";
import type { Path } from "./paths.ts";
import type { ProblemItem } from "./problems.ts";
import { DestInput, DestSet, editOpSchemas, ServiceInput, ServiceSet } from "./schemas.ts";

/** The op names, in the order the document lists them. */
export const OP_NAMES = Object.keys(editOpSchemas) as EditOp["op"][];

const configObject = (what: string) =>
  z.record(z.string(), z.unknown(), {
    error: (iss) =>
      iss.input === undefined ? "missing (required)" : `expected ${what} (an object), got ${describeValue(iss.input)}`,
  });

/** A strict object with the keys of `schema`, any values. */
function keysOf(schema: z.ZodObject): z.ZodObject {
  return z.strictObject(Object.fromEntries(Object.keys(schema.shape).map((k) => [k, z.unknown().optional()])), {
    error: (iss) =>
      iss.code !== "invalid_type"
        ? undefined
        : iss.input === undefined
        ? "missing (required)"
        : `expected an object, got ${describeValue(iss.input)}`,
  });
}

/** The envelope schema of one op: its documented schema with config-form values loosened. */
function envelope(schema: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, value] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    if (value === ServiceInput) shape[key] = configObject("a service");
    else if (value === DestInput) shape[key] = configObject("a dest");
    else if (value === ServiceSet || value === DestSet) shape[key] = keysOf(value as z.ZodObject);
    else shape[key] = value;
  }
  return z.strictObject(shape);
}

const envelopes = Object.fromEntries(
  Object.entries(editOpSchemas).map(([name, schema]) => [name, envelope(schema as z.ZodObject)]),
) as Record<EditOp["op"], z.ZodObject>;

/** The keys valid at `path` within an op, for "unknown key" messages. */
function knownKeys(op: EditOp["op"], path: Path): string[] {
  const shape = (editOpSchemas[op] as z.ZodObject).shape as Record<string, z.ZodType>;
  if (path.length === 0) return Object.keys(shape);
  const inner = shape[String(path[0])];
  return path.length === 1 && inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** The op at `ops[index]` when its shape is right, else the problems with it (paths from `ops[index]`). */
export function checkOpShape(raw: unknown, index: number): { op: EditOp } | { problems: ProblemItem[] } {
  const at: Path = ["ops", index];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { problems: [{ path: `ops[${index}]`, message: needOp(raw) }] };
  }
  const name = (raw as Record<string, unknown>).op;
  if (typeof name !== "string" || !Object.hasOwn(envelopes, name)) {
    const message = name === undefined
      ? `missing (required): one of ${OP_NAMES.join(", ")}`
      : `unknown op ${describeValue(name)} (valid: ${OP_NAMES.join(", ")})`;
    return { problems: [{ path: `ops[${index}].op`, message }] };
  }
  const op = name as EditOp["op"];
  const result = envelopes[op].safeParse(raw, { error: requestMessage });
  // The op as sent, not zod's copy: a record copied by assignment turns an
  // own "__proto__" key (JSON.parse makes those) into a prototype, and the
  // config schema would then never see the key to refuse it.
  if (result.success) return { op: raw as EditOp };
  return { problems: zodProblems(result.error.issues, at, (p) => knownKeys(op, p)) };
}

function needOp(raw: unknown): string {
  return `expected an edit operation (an object with "op"), got ${describeValue(raw)}`;
}
