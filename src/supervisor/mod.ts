export { resolveWorkers, Supervisor, type SupervisorOptions } from "./supervisor.ts";
export { destConns, rawCounters, statsId, totals } from "./counters.ts";
export { guardScript, installGuard, removeGuard } from "./kernel_guard.ts";
export { ESTIMATION_INTERVAL_MS, RateEstimator } from "./estimator.ts";
export { Baselines } from "./baselines.ts";
