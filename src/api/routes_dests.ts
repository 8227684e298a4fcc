/**
 * Routes of a service's dests (real servers): list, add (ipvsadm -a), show,
 * edit (-e), delete (-d).
 *
 * @module
 */

import { findDestView, findServiceView, lastDestKey } from "./lookup.ts";
import type { EditOp } from "./model.ts";
import { readJson } from "./requests.ts";
import type { RouteSpec } from "./route.ts";
import { ChangeResult, DestInput, DestList, DestSet, DestView } from "./schemas.ts";

export const destRoutes: RouteSpec[] = [
  {
    method: "get",
    path: "/v1/services/{service}/dests",
    operationId: "listDests",
    summary: "A service's dests with their numbers",
    responses: { 200: { description: "The dests, in the order they were added", schema: DestList } },
    problems: [404],
    handle: (c, api) => c.json(findServiceView(api.backend, c.req.param("service") ?? "").dests),
  },
  {
    method: "post",
    path: "/v1/services/{service}/dests",
    operationId: "addDest",
    changes: true,
    summary: "Add a dest to a service (ipvsadm -a)",
    body: { schema: DestInput, required: true },
    responses: { 201: { description: "Added", schema: DestView, headers: { Location: "The new dest's URL" } } },
    problems: [404, 409, 422],
    handle: async (c, api) => {
      const service = c.req.param("service") ?? "";
      const dest = await readJson(c);
      const done = await api.edit([{ op: "add_dest", service, dest } as EditOp], true);
      const key = lastDestKey(done.config, service);
      const view = findDestView(api.backend, service, key, done.config);
      const url = `/v1/services/${encodeURIComponent(service)}/dests/${encodeURIComponent(key)}`;
      return c.json(view, 201, { location: url });
    },
  },
  {
    method: "get",
    path: "/v1/services/{service}/dests/{dest}",
    operationId: "getDest",
    summary: "One dest with its numbers",
    responses: { 200: { description: "The dest", schema: DestView } },
    problems: [404],
    handle: (c, api) => c.json(findDestView(api.backend, c.req.param("service") ?? "", c.req.param("dest") ?? "")),
  },
  {
    method: "patch",
    path: "/v1/services/{service}/dests/{dest}",
    operationId: "editDest",
    changes: true,
    summary: "Change a dest's settings (ipvsadm -e), e.g. weight 0 to drain it",
    body: { schema: DestSet, required: true },
    responses: { 200: { description: "The dest now", schema: DestView } },
    problems: [404, 422],
    handle: async (c, api) => {
      const service = c.req.param("service") ?? "";
      const dest = c.req.param("dest") ?? "";
      const set = await readJson(c);
      const done = await api.edit([{ op: "edit_dest", service, dest, set } as EditOp], true);
      return c.json(findDestView(api.backend, service, dest, done.config));
    },
  },
  {
    method: "delete",
    path: "/v1/services/{service}/dests/{dest}",
    operationId: "deleteDest",
    changes: true,
    summary: "Remove a dest from its service (ipvsadm -d)",
    responses: { 200: { description: "Deleted", schema: ChangeResult } },
    problems: [404],
    handle: async (c, api) => {
      const op: EditOp = { op: "delete_dest", service: c.req.param("service") ?? "", dest: c.req.param("dest") ?? "" };
      const done = await api.edit([op], true);
      return c.json({ changes: done.changes, generation: done.generation });
    },
  },
];
