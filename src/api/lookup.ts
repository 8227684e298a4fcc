/**
 * Finding the service or dest a URL names in a config, or a 404 naming it.
 *
 * @module
 */

import { type Config, configToObject } from "../config/mod.ts";
import { normaliseDestKey, normaliseServiceKey, noSuchDest, noSuchService } from "./keys.ts";
import { type AdminBackend, destKey, type DestView, serviceKey, type ServiceView } from "./model.ts";
import { ApiError } from "./problems.ts";
import { serviceView } from "./views.ts";

/** The index of the service with `key` in `config`. @throws {ApiError} 404 */
export function serviceIndex(config: Config, key: string): number {
  const want = normaliseServiceKey(key);
  const i = config.services.findIndex((s) => serviceKey(s) === want);
  if (i < 0) throw new ApiError(404, noSuchService(key));
  return i;
}

/** The view of the service with `key`, as `backend` runs it now. @throws {ApiError} 404 */
export function findServiceView(backend: AdminBackend, key: string, config = backend.config()): ServiceView {
  const i = serviceIndex(config, key);
  const s = config.services[i];
  const obj = (configToObject(config).services as Record<string, unknown>[])[i];
  return serviceView(s, obj, backend.runtime().get(serviceKey(s)));
}

/** The view of dest `key` of the service `service`. @throws {ApiError} 404 */
export function findDestView(backend: AdminBackend, service: string, key: string, config = backend.config()): DestView {
  const view = findServiceView(backend, service, config);
  const want = normaliseDestKey(key);
  const dest = view.dests.find((d) => d.key === want);
  if (!dest) throw new ApiError(404, noSuchDest(key, view.key));
  return dest;
}

/** The key of the dest `config` lists last in service `service` (the one just added). */
export function lastDestKey(config: Config, service: string): string {
  const s = config.services[serviceIndex(config, service)];
  return destKey(s.dests[s.dests.length - 1]);
}
