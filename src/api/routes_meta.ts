/**
 * Routes about the API and the daemon itself: health, metrics, the
 * OpenAPI document, status.
 *
 * @module
 */

import { ApiError } from "./problems.ts";
import type { RouteSpec } from "./route.ts";
import { Health, HealthView, OpenApiDocument, StatusView, VrrpView } from "./schemas.ts";
import { serviceViews } from "./views.ts";

/** Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export const metaRoutes: RouteSpec[] = [
  {
    method: "get",
    path: "/health",
    operationId: "health",
    summary: "Whether the API answers (no authorization needed)",
    auth: false,
    responses: { 200: { description: "The API answers", schema: Health } },
    problems: [],
    handle: (c) => c.json({ status: "ok" }),
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics (text exposition format 0.0.4)",
    responses: { 200: { description: "The metrics", contentType: METRICS_CONTENT_TYPE } },
    problems: [501],
    handle: (c, api) => {
      if (!api.renderMetrics) throw new ApiError(501, "this lvsd has no metrics renderer configured");
      const { backend } = api;
      const text = api.renderMetrics({
        status: backend.status(),
        services: serviceViews(backend.running?.() ?? backend.config(), backend.runtime()),
        dataplane: backend.dataplane(),
        health: backend.health?.(),
        vrrp: backend.vrrp?.(),
        sync: backend.sync?.(),
      });
      return c.body(text, 200, { "content-type": METRICS_CONTENT_TYPE });
    },
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document",
    responses: { 200: { description: "The OpenAPI document", schema: OpenApiDocument } },
    problems: [],
    handle: (c, api) => c.json(api.openapi()),
  },
  {
    method: "get",
    path: "/v1/status",
    operationId: "getStatus",
    summary: "The director's state: version, uptime, workers, connections, config generation",
    responses: { 200: { description: "The status", schema: StatusView } },
    problems: [],
    handle: (c, api) => c.json(api.backend.status()),
  },
  {
    method: "get",
    path: "/v1/health",
    operationId: "getHealth",
    summary: "Health checks: each checked dest's state and each service's quorum",
    responses: { 200: { description: "The health states", schema: HealthView } },
    problems: [],
    handle: (c, api) => c.json(api.backend.health?.() ?? { services: [] }),
  },
  {
    method: "get",
    path: "/v1/vrrp",
    operationId: "getVrrp",
    summary: "VIP failover: each VRRP instance's state, priority, master and per-reason advert drops",
    responses: { 200: { description: "The VRRP instances", schema: VrrpView } },
    problems: [],
    handle: (c, api) => c.json(api.backend.vrrp?.() ?? { instances: [] }),
  },
];
