/**
 * The lvsd config file: loading, validation, defaults, host checks.
 *
 * ```ts
 * const config = await loadConfig("/etc/lvsd.yaml"); // throws ConfigError
 * const problems = await checkHost(config);          // [] when OK
 * ```
 *
 * @module
 */

export {
  type AdminConfig,
  type Config,
  DEFAULT_ADMIN_LISTEN,
  DEFAULT_CONN_TABLE_SIZE,
  DEFAULT_PERSISTENCE_TIMEOUT,
  DEFAULT_SCHEDULER,
  DEFAULT_STATE_FILE,
  DEFAULT_TIMEOUTS,
  DEFAULT_TOKEN_FILE,
  type DestConfig,
  type Forward,
  type InterfaceConfig,
  type OptionsConfig,
  parseIpv4,
  type PersistenceConfig,
  PLANNED_FORWARDS,
  PLANNED_PROTOS,
  PLANNED_SCHEDULERS,
  type PortRange,
  type Proto,
  SCHED_FLAGS,
  type SchedFlag,
  type Scheduler,
  type ServiceConfig,
  type ServiceGroup,
  SUPPORTED_FORWARDS,
  SUPPORTED_PROTOS,
  SUPPORTED_SCHEDULERS,
  type Timeouts,
} from "./schema.ts";
export {
  ConfigError,
  configFromObject,
  type ConfigIssue,
  configToObject,
  configToYaml,
  loadConfig,
  parseConfig,
} from "./load.ts";
export { MAX_TABLE_RECORDS, memberKey, multiPort, serviceAddresses, serviceLabel, servicePorts } from "./members.ts";
export { checkHost, checkVips, findExecutable, hasCapability, type HostReaders, systemReaders } from "./host_checks.ts";
