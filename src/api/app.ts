/**
 * The admin API as a Hono app: every route of routes_*.ts behind bearer
 * auth (except /health), errors as RFC 9457 problems, config changes
 * serialised through one lock. In-process only: the daemon serves it
 * (Deno.serve, TLS) and gives it the token and the director.
 *
 * ```ts
 * const app = createApp(director, { token, renderMetrics });
 * Deno.serve({ hostname: "127.0.0.1", port: 9470 }, app.fetch);
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { ConfigError } from "../config/mod.ts";
import { bearerAuth } from "./auth.ts";
import { Committer } from "./commit.ts";
import type { Mutex } from "./mutex.ts";
import { applyOps, EditError, singleOpError } from "./edit.ts";
import type { AdminBackend } from "./model.ts";
import { openApiDocument } from "./openapi.ts";
import { ApiError, problemOf, problemResponse, problemTitle } from "./problems.ts";
import { type ApiContext, honoPath, type MetricsRenderer, type RouteSpec } from "./route.ts";
import { configRoutes } from "./routes_config.ts";
import { destRoutes } from "./routes_dests.ts";
import { metaRoutes } from "./routes_meta.ts";
import { syncRoutes } from "./routes_sync.ts";
import { serviceRoutes } from "./routes_services.ts";
import { statsRoutes } from "./routes_stats.ts";

/** Every route of the API, in the order the document lists them. */
export const ROUTES: readonly RouteSpec[] = [
  ...metaRoutes,
  ...configRoutes,
  ...serviceRoutes,
  ...destRoutes,
  ...statsRoutes,
  ...syncRoutes,
];

/** Request bodies larger than this are refused (413): a whole config of the largest size fits many times. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The bearer token every route but /health requires. */
  token: string;
  /** Renders GET /metrics; without it, /metrics answers 501. */
  renderMetrics?: MetricsRenderer;
  /**
   * The lock every change of the director takes; pass the one the daemon's
   * SIGHUP reload takes too (default: the app's own).
   */
  lock?: Mutex;
  /** Where failures the client cannot fix are logged (default console.error). */
  log?: (message: string, error: unknown) => void;
}

/** The admin API over `backend`. */
export function createApp(backend: AdminBackend, opts: AppOptions): Hono {
  const committer = new Committer(backend, opts.lock);
  let doc: unknown;
  const api: ApiContext = {
    backend,
    edit: (ops, single = false) =>
      committer.change((current) => {
        try {
          return applyOps(current, ops);
        } catch (e) {
          throw e instanceof EditError && single ? singleOpError(e) : e;
        }
      }),
    change: (build, ifMatch) => committer.change(build, ifMatch),
    renderMetrics: opts.renderMetrics,
    openapi: () => (doc ??= openApiDocument(ROUTES)),
  };
  const log = opts.log ?? ((message, error) => console.error(message, error));

  const app = new Hono();
  app.use(bearerAuth(opts.token, ["/health"]));
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) =>
      problemResponse(
        problemOf({
          status: 405,
          title: problemTitle(405),
          message: `${c.req.method} is not allowed on ${c.req.path} (allowed: ${methods.join(", ")})`,
        }),
        { allow: methods.join(", ") },
      ),
  }));
  app.use(bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    },
  }));
  for (const route of ROUTES) {
    app.on(route.method.toUpperCase(), honoPath(route.path), (c) => route.handle(c, api));
  }
  app.notFound((c) =>
    problemResponse(problemOf({ status: 404, title: problemTitle(404), message: `no route ${c.req.path}` }))
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) return problemResponse(problemOf(err), err.headers);
    if (err instanceof EditError) return problemResponse(problemOf(err));
    if (err instanceof ConfigError) {
      const errors = err.issues.map((i) => ({ path: i.path, message: i.message }));
      return problemResponse(problemOf({ status: 422, title: "Invalid Config", message: err.message, errors }));
    }
    if (err instanceof HTTPException && err.status < 500) {
      return problemResponse(
        problemOf({
          status: err.status,
          title: problemTitle(err.status),
          message: err.message || problemTitle(err.status),
        }),
      );
    }
    log(`admin API: ${c.req.method} ${c.req.path} failed:`, err);
    return problemResponse(problemOf({
      status: 500,
      title: problemTitle(500),
      message: "the request failed inside lvsd; the daemon's log has the details",
    }));
  });
  return app;
}
