/**
 * Routes of run-time numbers: counters, rates, zeroing them, and the
 * connection table.
 *
 * @module
 */

import { requestMessage, zodProblems } from "./issues.ts";
import { serviceIndex } from "./lookup.ts";
import { ConnectionQueryError, serviceKey } from "./model.ts";
import { ApiError } from "./problems.ts";
import { connectionQuery, readJson } from "./requests.ts";
import type { RouteSpec } from "./route.ts";
import { ConnectionPage, connectionQueryParams, RatesReport, StatsReport, ZeroRequest } from "./schemas.ts";
import { serviceViews } from "./views.ts";

export const statsRoutes: RouteSpec[] = [
  {
    method: "get",
    path: "/v1/stats",
    operationId: "getStats",
    summary: "Counters of the data plane, every service and every dest (ipvsadm -L --stats)",
    responses: { 200: { description: "The counters", schema: StatsReport } },
    problems: [],
    handle: (c, api) => {
      const services = serviceViews(api.backend.running?.() ?? api.backend.config(), api.backend.runtime()).map((
        s,
      ) => ({
        key: s.key,
        stats: s.stats,
        dests: s.dests.map((d) => ({ key: d.key, stats: d.stats })),
      }));
      return c.json({ dataplane: api.backend.dataplane(), services });
    },
  },
  {
    method: "get",
    path: "/v1/rates",
    operationId: "getRates",
    summary: "Rates of every service and every dest (ipvsadm -L --rate)",
    responses: { 200: { description: "The rates", schema: RatesReport } },
    problems: [],
    handle: (c, api) => {
      const services = serviceViews(api.backend.running?.() ?? api.backend.config(), api.backend.runtime()).map((
        s,
      ) => ({
        key: s.key,
        rates: s.rates,
        dests: s.dests.map((d) => ({ key: d.key, rates: d.rates })),
      }));
      return c.json({ services });
    },
  },
  {
    method: "post",
    path: "/v1/stats/zero",
    operationId: "zeroStats",
    summary: "Zero the counters and rates of one service or of everything (ipvsadm -Z)",
    body: { schema: ZeroRequest, required: false },
    responses: { 204: { description: "Zeroed" } },
    problems: [404, 422],
    handle: async (c, api) => {
      const body = await readJson(c, true);
      const parsed = ZeroRequest.safeParse(body ?? {}, { error: requestMessage });
      if (!parsed.success) {
        const errors = zodProblems(parsed.error.issues, [], () => ["service"]);
        throw new ApiError(422, `the body is not {"service": key}: ${errors[0].path || "body"}: ${errors[0].message}`, {
          errors,
        });
      }
      const key = parsed.data.service;
      if (key === undefined) api.backend.zero();
      else {
        const config = api.backend.config();
        api.backend.zero(serviceKey(config.services[serviceIndex(config, key)]));
      }
      return c.body(null, 204);
    },
  },
  {
    method: "get",
    path: "/v1/connections",
    operationId: "listConnections",
    summary: "Connections and persistence templates, filtered and paged (ipvsadm -L -c)",
    query: connectionQueryParams,
    responses: { 200: { description: "A page of connections", schema: ConnectionPage } },
    problems: [400, 404],
    handle: (c, api) => {
      try {
        return c.json(api.backend.connections(connectionQuery(c.req.url)));
      } catch (e) {
        if (!(e instanceof ConnectionQueryError)) throw e;
        // A filter naming a service that does not exist is 404; a cursor or limit the director refuses, 400.
        throw new ApiError(e.param === "service" ? 404 : 400, e.message, {
          errors: [{ path: e.param, message: e.message }],
        });
      }
    },
  },
];
