/**
 * The admin HTTP API: a Hono app over a running director
 * ({@link AdminBackend}), its data model, the edit operations it applies
 * and its OpenAPI document.
 *
 * ```ts
 * const app = createApp(director, { token, renderMetrics });
 * Deno.serve({ hostname: "127.0.0.1", port: 9470 }, app.fetch);
 * ```
 *
 * @module
 */

export { type AppOptions, createApp, MAX_BODY_BYTES, ROUTES } from "./app.ts";
export { BEARER_CHALLENGE, tokenMatches } from "./auth.ts";
export { applyOps, EditError, singleOpError } from "./edit.ts";
export * from "./model.ts";
export { openApiDocument } from "./openapi.ts";
export { type Problem, PROBLEM_CONTENT_TYPE, type ProblemItem } from "./problems.ts";
export type { MetricsRenderer } from "./route.ts";
export { METRICS_CONTENT_TYPE } from "./routes_meta.ts";
export * as schemas from "./schemas.ts";
export { destView, serviceView, serviceViews, zeroRates, zeroStats } from "./views.ts";
