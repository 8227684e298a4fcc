/**
 * The OpenAPI 3.1 document of the admin API, generated from the route
 * descriptions (route.ts) and the zod schemas (schemas.ts) the routes name,
 * so that it says what the code does: the tests check that every
 * registered route is in it and every response parses with the schema it
 * names.
 *
 * @module
 */

import { z } from "zod";
import { BEARER_CHALLENGE } from "./auth.ts";
import { PROBLEM_CONTENT_TYPE, problemTitle } from "./problems.ts";
import type { RouteSpec } from "./route.ts";
import { apiSchemas, componentDescriptions, Problem } from "./schemas.ts";

const ref = (schema: z.ZodType) => {
  const id = apiSchemas.get(schema)?.id;
  if (!id) throw new Error("Cannot build the OpenAPI document: a route names a schema that has no component name");
  return { $ref: `#/components/schemas/${id}` };
};

/** Path parameters, by name. */
const PARAMS: Record<string, string> = {
  service: "A service key proto:vip:port, e.g. tcp:10.10.0.100:80 (a group: its first address and port)",
  dest: "A dest key address:port within the service, e.g. 10.20.0.11:80",
  role: "A sync daemon role: master or backup",
};

/** Why each problem status is returned, for the document's response descriptions. */
const PROBLEM_WHY: Record<number, string> = {
  400: "Malformed request: body not JSON, wrong content type, bad query parameter or If-Match",
  401: "Missing or wrong bearer token",
  404: "No such service or dest",
  409: "The service or dest already exists, or overlaps a service group",
  412: "If-Match does not name the running config generation",
  413: "The request body is too large",
  422: "The request is well-formed but its content is not valid (each problem in errors, with its path), " +
    "or the director refused the resulting config",
  500: "The server failed; the daemon's log says why",
  501: "Not available in this build or configuration",
};

/** The problem statuses a route can return. */
export function problemStatuses(route: RouteSpec): number[] {
  const all = new Set(route.problems);
  if (route.auth !== false) all.add(401);
  if (route.body) [400, 413, 422].forEach((s) => all.add(s));
  if (route.changes) all.add(422);
  all.add(500);
  return [...all].sort((a, b) => a - b);
}

function components(): Record<string, unknown> {
  const out = z.toJSONSchema(apiSchemas, {
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
  }) as { schemas: Record<string, Record<string, unknown>> };
  // Each schema is a component, not a document: no $schema or $id of its own.
  return Object.fromEntries(
    Object.entries(out.schemas).map(([id, s]) => {
      const { $schema: _, $id: _id, id: _name, ...rest } = s;
      return [id, { description: componentDescriptions[id], ...rest }];
    }),
  );
}

function operation(route: RouteSpec): Record<string, unknown> {
  const parameters = [
    ...[...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      description: PARAMS[name] ?? name,
      schema: { type: "string" },
    })),
    ...Object.entries(route.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    })),
    ...Object.entries(route.headers ?? {}).map(([name, description]) => ({
      name,
      in: "header",
      required: false,
      description,
      schema: { type: "string" },
    })),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers
        ? {
          headers: Object.fromEntries(
            Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }]),
          ),
        }
        : {}),
      ...(r.schema || r.contentType
        ? {
          content: { [r.contentType ?? "application/json"]: { schema: r.schema ? ref(r.schema) : { type: "string" } } },
        }
        : {}),
    };
  }
  for (const status of problemStatuses(route)) {
    responses[String(status)] = {
      description: `${problemTitle(status)}: ${PROBLEM_WHY[status] ?? ""}`,
      ...(status === 401
        ? { headers: { "WWW-Authenticate": { description: BEARER_CHALLENGE, schema: { type: "string" } } } }
        : {}),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ref(Problem) } },
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.auth === false ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
        requestBody: {
          required: route.body.required,
          content: { "application/json": { schema: ref(route.body.schema) } },
        },
      }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document describing `routes`. */
export function openApiDocument(routes: readonly RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method] = operation(route);
  }
  return {
    openapi: "3.1.1",
    info: {
      title: "lvsd admin API",
      version: "1",
      description:
        "Administration of lvsd, a userspace Linux Virtual Server director: services, dests, stats, connections. " +
        "Errors are RFC 9457 problem documents.",
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The token in the admin token file" } },
      schemas: components(),
    },
  };
}
