/**
 * The option scanner follows libpopt's poptGetNextOpt (popt/src/popt.c),
 * and the compatibility table has one rule per option for every command.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type PoptEvent, PoptScanner } from "../../src/lvsadm/popt.ts";
import {
  CHECKED_OPTIONS,
  COMMANDS,
  COMMANDS_V_OPTIONS,
  OPTION_TABLE,
  optionProblem,
} from "../../src/lvsadm/options.ts";

/** Every event of `argv` as text, and the leftovers. */
function scan(argv: string[]): { events: string[]; leftovers: string[] } {
  const s = new PoptScanner(argv, OPTION_TABLE);
  const events: string[] = [];
  for (;;) {
    const e: PoptEvent = s.next();
    if (e.type === "end") break;
    if (e.type === "error") {
      events.push(`error ${e.error} @${e.bad}`);
      break;
    }
    events.push(e.arg === null ? e.def.long : `${e.def.long}=${e.arg}`);
  }
  return { events, leftovers: s.leftovers };
}

Deno.test("popt: clusters, values in the cluster or the next word, '=' forms", () => {
  deepStrictEqual(scan(["-Ln"]).events, ["list", "numeric"]);
  deepStrictEqual(scan(["-At10.0.0.1:80"]).events, ["add-service", "tcp-service=10.0.0.1:80"]);
  deepStrictEqual(scan(["-t=1.2.3.4:80"]).events, ["tcp-service=1.2.3.4:80"]);
  deepStrictEqual(scan(["--scheduler=rr", "-s", "wrr"]).events, ["scheduler=rr", "scheduler=wrr"]);
  // A required value is the next word even when it looks like an option.
  deepStrictEqual(scan(["-t", "-L"]).events, ["tcp-service=-L"]);
  deepStrictEqual(scan(["--tcp-service="]).events, ["tcp-service="]);
});

Deno.test("popt: an optional value only from a next word that does not start with '-'", () => {
  deepStrictEqual(scan(["-p"]).events, ["persistent"]);
  deepStrictEqual(scan(["-p", "-M", "m"]).events, ["persistent", "netmask=m"]);
  deepStrictEqual(scan(["-p", "300"]).events, ["persistent=300"]);
  deepStrictEqual(scan(["-p300"]).events, ["persistent=300"]);
  deepStrictEqual(scan(["--persistent", "x"]).events, ["persistent=x"]);
  deepStrictEqual(scan(["-p", ""]).events, ["persistent="]);
});

Deno.test("popt: leftovers anywhere, '-' alone is one, '--' ends the options", () => {
  deepStrictEqual(scan(["a", "-L", "-", "b"]), { events: ["list"], leftovers: ["a", "-", "b"] });
  deepStrictEqual(scan(["-L", "--", "-n", "--list"]), { events: ["list"], leftovers: ["-n", "--list"] });
});

Deno.test("popt: errors name the word poptBadOption returns", () => {
  deepStrictEqual(scan(["-L", "--bogus"]).events, ["list", "error unknown option @--bogus"]);
  deepStrictEqual(scan(["-Lq"]).events, ["list", "error unknown option @-Lq"]);
  deepStrictEqual(scan(["-L", "-t"]).events, ["list", "error missing argument @-t"]);
  deepStrictEqual(scan(["--list=1"]).events, ["error option does not take an argument @--list=1"]);
  deepStrictEqual(scan(["-L=1"]).events, ["error option does not take an argument @-L=1"]);
  // Long names match exactly (no abbreviations) and need two dashes.
  deepStrictEqual(scan(["--lis"]).events, ["error unknown option @--lis"]);
  deepStrictEqual(scan(["-list"]).events, ["list", "ipip", "scheduler=t"]);
});

Deno.test("popt: --list finds -L, the first of ipvsadm's two 'list' entries", () => {
  const s = new PoptScanner(["--list"], OPTION_TABLE);
  const e = s.next();
  ok(e.type === "option");
  strictEqual(e.def.short, "L");
});

Deno.test("options: every command has one rule per checked option, in the rules' alphabet", () => {
  for (const cmd of COMMANDS) {
    const row = COMMANDS_V_OPTIONS[cmd];
    strictEqual(row.length, CHECKED_OPTIONS.length, cmd);
    ok(/^[+x1.]+$/.test(row), cmd);
  }
  // Spot checks against ipvsadm.c commands_v_options: LIST takes -n, -c/svc/--timeout/--daemon one of;
  // ADDSRV needs svc and -r; SAVE takes only -n (and lvsd's --save-thresholds).
  strictEqual(COMMANDS_V_OPTIONS.list.slice(0, 3), ".11");
  strictEqual(COMMANDS_V_OPTIONS["add-server"][CHECKED_OPTIONS.indexOf("real-server")], "+");
  strictEqual(COMMANDS_V_OPTIONS.save.replace(/x/g, ""), "..");
});

Deno.test("options: optionProblem walks the table in option order", () => {
  strictEqual(optionProblem("list", new Set(["numeric"])), null);
  strictEqual(
    optionProblem("add-service", new Set(["weight", "numeric"])),
    "Illegal 'numeric' option with the 'add-service' command",
  );
  strictEqual(
    optionProblem("list", new Set(["daemon", "connection"])),
    "The option 'daemon' conflicts with the 'connection' option in the 'list' command",
  );
});
