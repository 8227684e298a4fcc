/**
 * Bearer-token authentication of the admin API (RFC 6750 section 2.1).
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./problems.ts";

/** RFC 6750 section 3: the challenge a 401 carries. */
export const BEARER_CHALLENGE = 'Bearer realm="lvsd"';

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * Whether `presented` is `token`. Compares SHA-256 digests with
 * timingSafeEqual: the digests always have the same length, so neither the
 * token's bytes nor its length leak through the time a wrong guess takes.
 */
export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

/**
 * Why an Authorization header does not grant access, or null when it
 * carries `token`.
 */
export function authFailure(header: string | undefined, token: string): string | null {
  if (header === undefined || header === "") return "missing Authorization header (expected: Bearer <token>)";
  // RFC 7235 section 2.1: the scheme is case-insensitive; RFC 6750 section 2.1: one space, then the token.
  const m = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S+) *$/.exec(header);
  if (!m || m[1].toLowerCase() !== "bearer") {
    const scheme = /^\S+/.exec(header)?.[0] ?? "";
    return `Authorization scheme "${scheme.slice(0, 20)}" is not Bearer (expected: Bearer <token>)`;
  }
  return tokenMatches(m[2], token) ? null : "the bearer token is not the admin token";
}

/**
 * Middleware that lets a request through only with `Authorization: Bearer
 * <token>`; the paths in `open` (exact) need none.
 */
export function bearerAuth(token: string, open: readonly string[]): MiddlewareHandler {
  if (token === "") throw new Error("Cannot start the admin API: the admin token is empty");
  return async (c, next) => {
    if (open.includes(c.req.path)) return await next();
    const why = authFailure(c.req.header("authorization"), token);
    if (why !== null) {
      throw new ApiError(401, why, { headers: { "www-authenticate": BEARER_CHALLENGE } });
    }
    await next();
  };
}
