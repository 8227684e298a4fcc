/**
 * Reading requests: JSON bodies (the right content type, well-formed,
 * present when required) and the query of `GET /v1/connections`. Every
 * failure is a 400 problem saying what was wrong with which part.
 *
 * @module
 */

import type { Context } from "hono";
import { parseIpv4 } from "../config/mod.ts";
import { normaliseServiceKey } from "./keys.ts";
import type { ConnectionQuery } from "./model.ts";
import { ApiError, type ProblemItem } from "./problems.ts";
import { connectionQueryParams } from "./schemas.ts";

/** RFC 6839 section 3.1: application/json or any `+json` type, parameters allowed. */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;.*)?$/i;

/**
 * The request's JSON body; `undefined` when there is none and `optional`.
 *
 * @throws {ApiError} 400 for a body that is missing, not declared JSON, or not well-formed.
 */
export async function readJson(c: Context, optional = false): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (optional) return undefined;
    throw new ApiError(400, "the request has no body (expected JSON, Content-Type: application/json)");
  }
  const type = c.req.header("content-type");
  if (!type || !JSON_TYPE.test(type)) {
    const got = type ? `content type ${JSON.stringify(type.slice(0, 60))}` : "no Content-Type";
    throw new ApiError(400, `the request body has ${got} (expected application/json)`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The body when it is a JSON object; else a 422 saying what it is instead. */
export function asObject(body: unknown, what: string): Record<string, unknown> {
  if (body !== null && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  const got = Array.isArray(body) ? "a list" : body === null ? "null" : typeof body;
  throw new ApiError(422, `the request body must be ${what} (a JSON object), not ${got}`, {
    errors: [{ path: "", message: `expected an object, got ${got}` }],
  });
}

const LIMIT_MAX = 10000;
const DOTTED = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** One query parameter's check: its value normalised, or why it is wrong. */
const checks: Record<keyof ConnectionQuery, (v: string) => string | number | { error: string }> = {
  service: (v) =>
    /^[A-Za-z]+:\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(v)
      ? normaliseServiceKey(v)
      : { error: `${JSON.stringify(v)} is not a service key (proto:vip:port, e.g. tcp:10.10.0.100:80)` },
  client: (v) => DOTTED.test(v) && parseIpv4(v) !== null ? v : { error: `${JSON.stringify(v)} is not an IPv4 address` },
  dest: (v) => {
    const [addr, port, more] = v.split(":");
    const okPort = port === undefined || (/^\d{1,5}$/.test(port) && Number(port) <= 65535);
    return DOTTED.test(addr) && parseIpv4(addr) !== null && okPort && more === undefined
      ? (port === undefined ? addr : `${addr}:${Number(port)}`)
      : { error: `${JSON.stringify(v)} is not an IPv4 address or address:port` };
  },
  state: (v) => /^[A-Za-z_]{1,32}$/.test(v) ? v : { error: `${JSON.stringify(v)} is not a connection state name` },
  limit: (v) => {
    const n = /^\d{1,6}$/.test(v) ? Number(v) : NaN;
    return n >= 1 && n <= LIMIT_MAX ? n : { error: `${JSON.stringify(v)} is not an integer 1..${LIMIT_MAX}` };
  },
  cursor: (v) => v.length <= 512 ? v : { error: "is longer than 512 characters (not a cursor this API gave)" },
};

/**
 * The filters of `GET /v1/connections` from its query string, limit
 * defaulting to 100.
 *
 * @throws {ApiError} 400 naming each unknown, repeated, empty or malformed parameter.
 */
export function connectionQuery(url: string): ConnectionQuery {
  const params = new URL(url).searchParams;
  const out: Record<string, string | number> = { limit: 100 };
  const errors: ProblemItem[] = [];
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (!Object.hasOwn(checks, name)) {
      const valid = Object.keys(connectionQueryParams).join(", ");
      errors.push({ path: name, message: `unknown query parameter (valid: ${valid})` });
      continue;
    }
    if (seen.has(name)) {
      errors.push({ path: name, message: "given more than once" });
      continue;
    }
    seen.add(name);
    if (value === "") {
      errors.push({ path: name, message: "is empty (leave the parameter out to not filter by it)" });
      continue;
    }
    const r = checks[name as keyof ConnectionQuery](value);
    if (typeof r === "object") errors.push({ path: name, message: r.error });
    else out[name] = r;
  }
  if (errors.length > 0) {
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new ApiError(400, `query parameter ${first.path}: ${first.message}${more}`, { errors });
  }
  return out as ConnectionQuery;
}
