/**
 * One route of the admin API, described once: the app registers its
 * handler, the OpenAPI document is generated from its description, and
 * the tests hold real responses to the schemas it names.
 *
 * @module
 */

import type { SyncDaemonStatus } from "../sync/daemon.ts";
import type { Context } from "hono";
import type { z } from "zod";
import type { Committed } from "./commit.ts";
import type { EditOp } from "./model.ts";
import type { AdminBackend, DataplaneView, HealthView, ServiceView, StatusView, VrrpView } from "./model.ts";
import type { Config } from "../config/mod.ts";

/** An HTTP method, as OpenAPI writes it. */
export type Method = "get" | "post" | "put" | "patch" | "delete";

/** A response a route documents. */
export interface ResponseSpec {
  description: string;
  /** The body's schema; none for a response without a body. */
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
  /** Response headers, by name: their description. */
  headers?: Record<string, string>;
}

/** Renders the Prometheus text exposition of the director's numbers. */
export type MetricsRenderer = (
  input: {
    status: StatusView;
    services: ServiceView[];
    dataplane: DataplaneView;
    health?: HealthView;
    vrrp?: VrrpView;
    sync?: SyncDaemonStatus[];
  },
) => string;

/** What a route handler works with besides the request. */
export interface ApiContext {
  backend: AdminBackend;
  /** Applies `ops` as one change; `single`: report errors relative to the route's body. */
  edit(ops: EditOp[], single?: boolean): Promise<Committed>;
  /** Replaces the whole config (`build` sees the running one), If-Match checked first when given. */
  change(build: (current: Config) => Config, ifMatch?: string): Promise<Committed>;
  renderMetrics?: MetricsRenderer;
  /** The OpenAPI document of this app. */
  openapi(): unknown;
}

/** One route. */
export interface RouteSpec {
  method: Method;
  /** OpenAPI path template, e.g. `/v1/services/{service}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** false: no Authorization needed (only /health). */
  auth?: false;
  /** The request body, when the route takes one. */
  body?: { schema: z.ZodType; required: boolean; description?: string };
  /** Query parameters, by name: their description (all optional strings). */
  query?: Readonly<Record<string, string>>;
  /** Request headers the route reads, by name: their description. */
  headers?: Record<string, string>;
  /** Successful responses by status. */
  responses: Record<number, ResponseSpec>;
  /** The route changes the config: the director may refuse the result (422). */
  changes?: true;
  /** Problem statuses the route returns besides 401, 500, with a body 400, 413 and 422, and when it changes the config 422. */
  problems: number[];
  handle(c: Context, api: ApiContext): Response | Promise<Response>;
}

/** `/v1/services/{service}` → `/v1/services/:service` (Hono's form). */
export function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}
