/**
 * Services and dests as the API shows them: their config-file keys, their
 * key, and the run-time numbers the director reports for that key (zeros
 * for a key it has no numbers for yet, e.g. a service added a moment ago).
 *
 * @module
 */

import { type Config, configToObject, type ServiceConfig } from "../config/mod.ts";
import {
  destKey,
  type DestRuntime,
  type DestView,
  type RatesView,
  serviceKey,
  type ServiceRuntime,
  type ServiceView,
  type StatsView,
} from "./model.ts";

/** Counters of something that has not counted anything. */
export function zeroStats(): StatsView {
  return { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
}

/** Rates of something that has not seen traffic. */
export function zeroRates(): RatesView {
  return { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
}

/**
 * The view of a dest: `dest` is the config form (configToObject's), `key`
 * its key within the service (the normalised port).
 */
export function destView(dest: Record<string, unknown>, key: string, runtime: DestRuntime | undefined): DestView {
  return {
    ...dest,
    key,
    active_conns: runtime?.active_conns ?? 0,
    inact_conns: runtime?.inact_conns ?? 0,
    persist_conns: runtime?.persist_conns ?? 0,
    stats: { ...(runtime?.stats ?? zeroStats()) },
    rates: { ...(runtime?.rates ?? zeroRates()) },
  };
}

/**
 * The view of a service: `obj` is its config form (configToObject's, with
 * dests), `service` the same service normalised (for the keys).
 */
export function serviceView(
  service: ServiceConfig,
  obj: Record<string, unknown>,
  runtime: ServiceRuntime | undefined,
): ServiceView {
  const { dests, ...keys } = obj;
  return {
    ...keys,
    key: serviceKey(service),
    stats: { ...(runtime?.stats ?? zeroStats()) },
    rates: { ...(runtime?.rates ?? zeroRates()) },
    dests: (dests as Record<string, unknown>[]).map((d, j) => {
      const key = destKey(service.dests[j]);
      return destView(d, key, runtime?.dests.get(key));
    }),
  };
}

/** Every service of `config`, in config order, with the numbers in `runtime`. */
export function serviceViews(config: Config, runtime: Map<string, ServiceRuntime>): ServiceView[] {
  const objs = configToObject(config).services as Record<string, unknown>[];
  return config.services.map((s, i) => serviceView(s, objs[i], runtime.get(serviceKey(s))));
}
