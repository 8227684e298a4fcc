/**
 * Why a list of edits cannot be applied, in the terms of the request: the
 * op that failed and, for each problem, its path in the batch
 * (`ops[2].service.port`), or, for a single-resource route, in that
 * route's body (`port`).
 *
 * @module
 */

import type { ProblemItem } from "./problems.ts";

const TITLES = { 404: "Not Found", 409: "Conflict", 422: "Invalid Edit" } as const;

/** A rejected edit; nothing was changed. */
export class EditError extends Error {
  /** 404 a service or dest that does not exist, 409 one that already exists, 422 a value the schema refuses. */
  readonly status: 404 | 409 | 422;
  readonly title: string;
  /** Each problem, pathed in the request (empty for 404 and 409 of one named thing). */
  readonly errors: ProblemItem[];

  constructor(status: 404 | 409 | 422, detail: string, errors: ProblemItem[] = []) {
    super(detail);
    this.name = "EditError";
    this.status = status;
    this.title = TITLES[status];
    this.errors = errors;
  }

  /** The detail of a problem document: the message. */
  get detail(): string {
    return this.message;
  }
}

/**
 * The error for `ops[index]`: `detail` names the op and the first problem
 * (or `reason`, for a problem with no path).
 */
export function opError(
  status: 404 | 409 | 422,
  index: number,
  name: string,
  errors: ProblemItem[],
  reason?: string,
): EditError {
  const first = errors[0];
  const why = reason ??
    ((first.path ? `${first.path}: ${first.message}` : first.message) +
      (errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""));
  return new EditError(status, `ops[${index}] (${name}): ${why}`, errors);
}

/** `ops[0].service.` and its kind at the start of a path, or anywhere in a message. */
const OP0 = /ops\[0\](?:\.(?:service|dest|set|timeouts)(?![\w-]))?(?:\.|: )?/g;

/**
 * The error of a one-op batch as a single-resource route reports it: paths
 * and messages relative to the route's body (`port`, not
 * `ops[0].service.port`), the detail without the op's name.
 */
export function singleOpError(e: EditError): EditError {
  const strip = (text: string) => text.replace(/^ops\[0\] \(\w+\): /, "").replace(OP0, "");
  return new EditError(
    e.status,
    strip(e.message),
    e.errors.map((i) => ({ path: strip(i.path), message: strip(i.message) })),
  );
}
