/**
 * Routes of virtual services: list, add (ipvsadm -A), clear (-C), show,
 * edit (-E), delete (-D).
 *
 * @module
 */

import { findServiceView } from "./lookup.ts";
import { type EditOp, serviceKey } from "./model.ts";
import { readJson } from "./requests.ts";
import type { RouteSpec } from "./route.ts";
import { ChangeResult, ServiceInput, ServiceList, ServiceSet, ServiceView } from "./schemas.ts";
import { serviceViews } from "./views.ts";

export const serviceRoutes: RouteSpec[] = [
  {
    method: "get",
    path: "/v1/services",
    operationId: "listServices",
    summary: "Every service with its dests and numbers (ipvsadm -L)",
    responses: { 200: { description: "The services, in the order they were added", schema: ServiceList } },
    problems: [],
    handle: (c, api) => c.json(serviceViews(api.backend.running?.() ?? api.backend.config(), api.backend.runtime())),
  },
  {
    method: "post",
    path: "/v1/services",
    operationId: "addService",
    changes: true,
    summary: "Add a service, with its dests if it lists any (ipvsadm -A)",
    body: { schema: ServiceInput, required: true },
    responses: {
      201: { description: "Added", schema: ServiceView, headers: { Location: "The new service's URL" } },
    },
    problems: [409, 422],
    handle: async (c, api) => {
      const service = await readJson(c);
      const done = await api.edit([{ op: "add_service", service } as EditOp], true);
      // The service added is the last of the new config.
      const key = serviceKey(done.config.services[done.config.services.length - 1]);
      const view = findServiceView(api.backend, key, done.config);
      return c.json(view, 201, { location: `/v1/services/${encodeURIComponent(key)}` });
    },
  },
  {
    method: "delete",
    path: "/v1/services",
    operationId: "clearServices",
    changes: true,
    summary: "Delete every service (ipvsadm -C)",
    responses: { 200: { description: "Cleared", schema: ChangeResult } },
    problems: [],
    handle: async (c, api) => {
      const done = await api.edit([{ op: "clear" }], true);
      return c.json({ changes: done.changes, generation: done.generation });
    },
  },
  {
    method: "get",
    path: "/v1/services/{service}",
    operationId: "getService",
    summary: "One service with its dests and numbers",
    responses: { 200: { description: "The service", schema: ServiceView } },
    problems: [404],
    handle: (c, api) => c.json(findServiceView(api.backend, c.req.param("service") ?? "")),
  },
  {
    method: "patch",
    path: "/v1/services/{service}",
    operationId: "editService",
    changes: true,
    summary: "Change a service's settings (ipvsadm -E); its dests stay",
    body: { schema: ServiceSet, required: true },
    responses: { 200: { description: "The service now", schema: ServiceView } },
    problems: [404, 422],
    handle: async (c, api) => {
      const service = c.req.param("service") ?? "";
      const set = await readJson(c);
      const done = await api.edit([{ op: "edit_service", service, set } as EditOp], true);
      return c.json(findServiceView(api.backend, service, done.config));
    },
  },
  {
    method: "delete",
    path: "/v1/services/{service}",
    operationId: "deleteService",
    changes: true,
    summary: "Delete a service and its dests (ipvsadm -D)",
    responses: { 200: { description: "Deleted", schema: ChangeResult } },
    problems: [404],
    handle: async (c, api) => {
      const done = await api.edit([{ op: "delete_service", service: c.req.param("service") ?? "" }], true);
      return c.json({ changes: done.changes, generation: done.generation });
    },
  },
];
