/**
 * Error responses of the admin API as RFC 9457 problem details
 * (`application/problem+json`): every failure names the thing and the
 * reason in `detail`, and validation failures list each problem with its
 * path in `errors`.
 *
 * @module
 */

/** One validation problem: where in the request, and why. */
export interface ProblemItem {
  /** Path in the request body or the query parameter, e.g. `ops[2].service.port`, `limit`; "" = the whole body. */
  path: string;
  message: string;
}

/** The body of an error response (RFC 9457 section 3.1 members, plus `errors`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: ProblemItem[];
}

/** RFC 9457 section 3: the media type of a problem document. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/**
 * Problem types by status. RFC 9457 section 3.1.1 lets `type` be any URI;
 * URNs say "this is lvsd's own problem type" without promising a page.
 */
const TYPES: Record<number, { slug: string; title: string }> = {
  400: { slug: "bad-request", title: "Bad Request" },
  401: { slug: "unauthorized", title: "Unauthorized" },
  404: { slug: "not-found", title: "Not Found" },
  405: { slug: "method-not-allowed", title: "Method Not Allowed" },
  409: { slug: "conflict", title: "Conflict" },
  412: { slug: "precondition-failed", title: "Precondition Failed" },
  413: { slug: "content-too-large", title: "Content Too Large" },
  422: { slug: "invalid", title: "Unprocessable Content" },
  500: { slug: "internal", title: "Internal Server Error" },
  501: { slug: "not-implemented", title: "Not Implemented" },
};

/** The `type` URI for problems of `status`. */
export function problemType(status: number): string {
  return `urn:lvsd:problem:${TYPES[status]?.slug ?? `http-${status}`}`;
}

/** The usual title for problems of `status`. */
export function problemTitle(status: number): string {
  return TYPES[status]?.title ?? `HTTP ${status}`;
}

/**
 * A request that fails for a reason the client can fix (or must know).
 * Thrown by route handlers; the app's error handler turns it into a
 * problem response.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly errors?: ProblemItem[];
  /** Extra response headers (e.g. WWW-Authenticate, Allow). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    detail: string,
    options: { title?: string; errors?: ProblemItem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.title = options.title ?? problemTitle(status);
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** The problem document of `e`. */
export function problemOf(
  e: { status: number; title: string; message: string; errors?: readonly ProblemItem[] },
): Problem {
  return {
    type: problemType(e.status),
    title: e.title,
    status: e.status,
    detail: e.message,
    ...(e.errors?.length ? { errors: e.errors.map((i) => ({ path: i.path, message: i.message })) } : {}),
  };
}

/** A problem response. */
export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
  });
}
