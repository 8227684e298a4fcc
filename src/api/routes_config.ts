/**
 * Routes that read or change the configuration as a whole: the config
 * document, batches of edits, timeouts.
 *
 * @module
 */

import { configFromObject, configToObject } from "../config/mod.ts";
import { etagOf } from "./commit.ts";
import type { EditOp } from "./model.ts";
import { asObject, readJson } from "./requests.ts";
import type { RouteSpec } from "./route.ts";
import { Batch, ChangeResult, ConfigDocument, ConfigInput, Timeouts, TimeoutsSet } from "./schemas.ts";
import { ApiError } from "./problems.ts";

const etagHeader = { ETag: 'The config generation, quoted (e.g. "7"): send it as If-Match to change only that one' };

export const configRoutes: RouteSpec[] = [
  {
    method: "get",
    path: "/v1/config",
    operationId: "getConfig",
    summary: "The running config in config-file form, every default filled in",
    responses: { 200: { description: "The config", schema: ConfigDocument, headers: etagHeader } },
    problems: [],
    handle: (c, api) => {
      const generation = api.backend.status().generation;
      return c.json(configToObject(api.backend.config()), 200, { etag: etagOf(generation) });
    },
  },
  {
    method: "put",
    path: "/v1/config",
    operationId: "putConfig",
    changes: true,
    summary: "Replace the whole config atomically (validated as the config file is)",
    headers: { "If-Match": "Apply only if the running config is this generation (its ETag); 412 otherwise" },
    body: { schema: ConfigInput, required: true },
    responses: { 200: { description: "Applied", schema: ChangeResult, headers: etagHeader } },
    problems: [412, 422],
    handle: async (c, api) => {
      const body = asObject(await readJson(c), "a config");
      // Validated before the lock is taken: a config that cannot load never waits for one.
      const next = configFromObject(body, "the request body");
      const done = await api.change(() => next, c.req.header("if-match"));
      return c.json({ changes: done.changes, generation: done.generation }, 200, { etag: etagOf(done.generation) });
    },
  },
  {
    method: "post",
    path: "/v1/batch",
    operationId: "batch",
    changes: true,
    summary: "Apply edits in order as one change; the first that fails rejects all and names its index",
    body: { schema: Batch, required: true },
    responses: { 200: { description: "Applied", schema: ChangeResult } },
    problems: [404, 409, 422],
    handle: async (c, api) => {
      const body = asObject(await readJson(c), "a batch");
      const extra = Object.keys(body).filter((k) => k !== "ops");
      if (!Array.isArray(body.ops) || extra.length > 0) {
        const errors = [
          ...(Array.isArray(body.ops)
            ? []
            : [{ path: "ops", message: "missing or not a list (expected a list of edit operations)" }]),
          ...extra.map((k) => ({ path: k, message: "unknown key (valid: ops)" })),
        ];
        throw new ApiError(422, `the batch is not {"ops": [...]}: ${errors[0].path}: ${errors[0].message}`, { errors });
      }
      const done = await api.edit(body.ops as EditOp[]);
      return c.json({ changes: done.changes, generation: done.generation });
    },
  },
  {
    method: "get",
    path: "/v1/timeouts",
    operationId: "getTimeouts",
    summary: "Idle timeouts in seconds (ipvsadm -L --timeout)",
    responses: { 200: { description: "The timeouts", schema: Timeouts } },
    problems: [],
    handle: (c, api) => c.json({ ...api.backend.config().timeouts }),
  },
  {
    method: "put",
    path: "/v1/timeouts",
    operationId: "putTimeouts",
    changes: true,
    summary: "Change idle timeouts (ipvsadm --set; 0 or absent keeps a value)",
    body: { schema: TimeoutsSet, required: true },
    responses: { 200: { description: "The timeouts now", schema: Timeouts } },
    problems: [422],
    handle: async (c, api) => {
      const timeouts = await readJson(c);
      const done = await api.edit([{ op: "set_timeouts", timeouts } as EditOp], true);
      return c.json({ ...done.config.timeouts });
    },
  },
];
