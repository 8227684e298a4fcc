/**
 * Holding a real response to the OpenAPI document: the route it answered
 * must document its status, and the body must parse with the schema the
 * document was generated from.
 *
 * @module
 */

import { ROUTES } from "../../src/api/app.ts";
import { problemStatuses } from "../../src/api/openapi.ts";
import type { RouteSpec } from "../../src/api/route.ts";
import { Problem } from "../../src/api/schemas.ts";
import type { Reply } from "./harness.ts";

/** The route a method and URL path reach, if any (path parameters match one segment, as Hono's do). */
export function routeOf(method: string, path: string): RouteSpec | undefined {
  const m = method.toLowerCase();
  return ROUTES.find((r) =>
    r.method === m && new RegExp(`^${r.path.replace(/\{\w+\}/g, "[^/]+")}$`).test(path.split("?")[0])
  );
}

/**
 * Problems with `res` as the answer to `method path`: "" when it keeps the
 * contract. A problem response must be a problem document with a detail;
 * a response of a route must be documented by it.
 */
export function contractViolation(method: string, path: string, res: Reply): string {
  const type = res.headers.get("content-type") ?? "";
  if (res.status >= 400) {
    if (!type.startsWith("application/problem+json")) return `${res.status} with content type ${type}`;
  }
  // A HEAD answer has the GET answer's headers and no body (RFC 9110 section 9.3.2).
  if (method === "HEAD") return res.text === "" ? "" : "HEAD answered with a body";
  if (res.status >= 400) {
    const p = Problem.safeParse(res.body);
    if (!p.success) return `${res.status} body is not a problem: ${p.error.message}`;
    if (p.data.status !== res.status) return `problem status ${p.data.status} in a ${res.status} response`;
  }
  const route = routeOf(method, path);
  if (!route) return "";
  if (res.status >= 400) {
    return problemStatuses(route).includes(res.status)
      ? ""
      : `${method} ${route.path} answered ${res.status}, which its document does not list`;
  }
  const spec = route.responses[res.status];
  if (!spec) return `${method} ${route.path} answered ${res.status}, which its document does not list`;
  if (!spec.schema && !spec.contentType) return res.text === "" ? "" : `${res.status} should have no body`;
  const want = spec.contentType ?? "application/json";
  if (!type.startsWith(want.split(";")[0])) return `${res.status} content type ${type}, documented ${want}`;
  if (!spec.schema) return "";
  const parsed = spec.schema.safeParse(res.body);
  return parsed.success
    ? ""
    : `${method} ${route.path} ${res.status} body does not match its schema: ${parsed.error.message}`;
}
