/**
 * lvsadm's option table and ipvsadm's table of which option goes with
 * which command.
 *
 * The options are ipvsadm 1.29's popt table (ipvsadm.c parse_options), the
 * tunnel options of ipvsadm 1.30 (lvs-devel, "ipvsadm: allow tunneling with
 * gue encapsulation", <20190526150106.18622-3-hengqing.hu@gmail.com>), and
 * lvsd's own: --mh-table-size (the mh lookup table, a kernel build option
 * in IPVS), --save-thresholds (-S writes -x/-y), --health (-L adds a column
 * with each dest's health check state), and the client options
 * --server, --token-file, --cacert (how to reach the daemon; legal with any
 * command, so they are not in the compatibility table).
 *
 * @module
 */

import type { OptionDef } from "./popt.ts";

/** Every option lvsadm knows, as popt sees them (ipvsadm.c options_table order). */
export const OPTION_TABLE: readonly OptionDef[] = [
  { long: "add-service", short: "A", kind: "none" },
  { long: "edit-service", short: "E", kind: "none" },
  { long: "delete-service", short: "D", kind: "none" },
  { long: "clear", short: "C", kind: "none" },
  { long: "list", short: "L", kind: "none" },
  // ipvsadm lists "list" twice (for -L and -l); --list finds the first.
  { long: "list", short: "l", kind: "none" },
  { long: "zero", short: "Z", kind: "none" },
  { long: "add-server", short: "a", kind: "none" },
  { long: "edit-server", short: "e", kind: "none" },
  { long: "delete-server", short: "d", kind: "none" },
  { long: "set", kind: "none" },
  { long: "help", short: "h", kind: "none" },
  { long: "version", short: "v", kind: "none" },
  { long: "restore", short: "R", kind: "none" },
  { long: "save", short: "S", kind: "none" },
  { long: "start-daemon", kind: "string" },
  { long: "stop-daemon", kind: "string" },
  { long: "tcp-service", short: "t", kind: "string" },
  { long: "udp-service", short: "u", kind: "string" },
  { long: "sctp-service", kind: "string" },
  { long: "fwmark-service", short: "f", kind: "string" },
  { long: "scheduler", short: "s", kind: "string" },
  // POPT_ARG_STRING|POPT_ARGFLAG_OPTIONAL: "-p" alone is the default timeout.
  { long: "persistent", short: "p", kind: "optional" },
  { long: "netmask", short: "M", kind: "string" },
  { long: "real-server", short: "r", kind: "string" },
  { long: "masquerading", short: "m", kind: "none" },
  { long: "ipip", short: "i", kind: "none" },
  { long: "gatewaying", short: "g", kind: "none" },
  { long: "weight", short: "w", kind: "string" },
  { long: "u-threshold", short: "x", kind: "string" },
  { long: "l-threshold", short: "y", kind: "string" },
  { long: "numeric", short: "n", kind: "none" },
  { long: "connection", short: "c", kind: "none" },
  { long: "mcast-interface", kind: "string" },
  { long: "syncid", kind: "string" },
  { long: "timeout", kind: "none" },
  { long: "daemon", kind: "none" },
  { long: "stats", kind: "none" },
  { long: "rate", kind: "none" },
  { long: "thresholds", kind: "none" },
  { long: "persistent-conn", kind: "none" },
  { long: "nosort", kind: "none" },
  { long: "sort", kind: "none" },
  { long: "exact", short: "X", kind: "none" },
  { long: "ipv6", short: "6", kind: "none" },
  { long: "ops", short: "o", kind: "none" },
  { long: "pe", kind: "string" },
  { long: "sched-flags", short: "b", kind: "string" },
  { long: "mcast-group", kind: "string" },
  { long: "mcast-port", kind: "string" },
  { long: "mcast-ttl", kind: "string" },
  { long: "sync-maxlen", kind: "string" },
  { long: "tun-info", kind: "none" },
  { long: "tun-type", kind: "string" },
  { long: "tun-port", kind: "string" },
  { long: "tun-nocsum", kind: "none" },
  { long: "tun-csum", kind: "none" },
  { long: "tun-remcsum", kind: "none" },
  { long: "mh-table-size", kind: "string" },
  { long: "save-thresholds", kind: "none" },
  { long: "health", kind: "none" },
  { long: "server", kind: "string" },
  { long: "token-file", kind: "string" },
  { long: "cacert", kind: "string" },
];

/** Options that say how to reach lvsd: legal anywhere, with any command. */
export const CLIENT_OPTIONS: ReadonlySet<string> = new Set(["server", "token-file", "cacert"]);

/** ipvsadm's commands, in the order of its CMD_* numbers (cmdnames[]). */
export const COMMANDS = [
  "add-service",
  "edit-service",
  "delete-service",
  "flush",
  "list",
  "add-server",
  "delete-server",
  "edit-server",
  "set",
  "start-daemon",
  "stop-daemon",
  "restore",
  "save",
  "zero",
] as const;
export type CommandName = (typeof COMMANDS)[number];

/**
 * The options the compatibility table checks, in the order of ipvsadm's
 * OPT_* bits (optnames[]; 1.30 added the tun-* ones), then lvsd's.
 */
export const CHECKED_OPTIONS = [
  "numeric",
  "connection",
  "service-address",
  "scheduler",
  "persistent",
  "netmask",
  "real-server",
  "forwarding-method",
  "weight",
  "u-threshold",
  "l-threshold",
  "mcast-interface",
  "timeout",
  "daemon",
  "stats",
  "rate",
  "thresholds",
  "persistent-conn",
  "nosort",
  "syncid",
  "exact",
  "ops",
  "pe",
  "sched-flags",
  "mcast-group",
  "mcast-port",
  "mcast-ttl",
  "sync-maxlen",
  "tun-info",
  "tun-type",
  "tun-port",
  "tun-nocsum",
  "tun-csum",
  "tun-remcsum",
  "mh-table-size",
  "save-thresholds",
  "health",
] as const;
export type CheckedOption = (typeof CHECKED_OPTIONS)[number];

/**
 * ipvsadm.c commands_v_options (with 1.30's tunnel columns), one string per
 * command, one character per option of {@link CHECKED_OPTIONS}:
 * "+" compulsory, "x" illegal, "1" at most one of the "1" options, "."
 * optional (ipvsadm writes a space). The last three columns are lvsd's:
 * --mh-table-size goes with -A/-E, --save-thresholds with -S, --health with -L.
 *
 * ```
 *             n c svc s p M r fwd w x y mc tot dmn st rt thr pc srt sid ex ops pe b grp port ttl size tinf type tprt nocs csum remc | mh sthr hl
 * ```
 */
export const COMMANDS_V_OPTIONS: Readonly<Record<CommandName, string>> = {
  "add-service": "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx.xx",
  "edit-service": "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx.xx",
  "delete-service": "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "flush": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "list": ".11xxxxxxxxx11.......xxxxxxx.xxxxxxx.",
  "add-server": "xx+xxx+....xxxxxxxxxxxxxxxxxx.....xxx",
  "delete-server": "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "edit-server": "xx+xxx+....xxxxxxxxxxxxxxxxxx.....xxx",
  "set": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "start-daemon": "xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxxxxx",
  "stop-daemon": "xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxx",
  "restore": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "save": ".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.x",
  "zero": "xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
};

/**
 * ipvsadm.c generic_opt_check: the first problem of `given` with `command`,
 * walking the options in table order, or null.
 */
export function optionProblem(command: CommandName, given: ReadonlySet<CheckedOption>): string | null {
  const row = COMMANDS_V_OPTIONS[command];
  let exclusive: CheckedOption | null = null;
  for (let j = 0; j < CHECKED_OPTIONS.length; j++) {
    const opt = CHECKED_OPTIONS[j];
    const rule = row[j];
    if (!given.has(opt)) {
      if (rule === "+") return `You need to supply the '${opt}' option for the '${command}' command`;
      continue;
    }
    if (rule === "x") return `Illegal '${opt}' option with the '${command}' command`;
    if (rule === "1") {
      if (exclusive === null) exclusive = opt;
      else return `The option '${opt}' conflicts with the '${exclusive}' option in the '${command}' command`;
    }
  }
  return null;
}
