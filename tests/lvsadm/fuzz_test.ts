/**
 * Random argument lists (seeded, so a failure repeats): lvsadm never
 * throws, always ends with one of its exit codes, and a failure always
 * says something on stderr.
 */
import { ok } from "node:assert/strict";
import { parseArgs } from "../../src/lvsadm/args.ts";
import { runLvsadm } from "../../src/lvsadm/main.ts";
import { OPTION_TABLE } from "../../src/lvsadm/options.ts";
import { connection, fakeResolver, recordingFormatter, SERVICE, STATUS, testIo } from "./helpers.ts";
import { prng } from "../helpers/prng.ts";

const VALUES = [
  "10.0.0.1:80",
  "10.0.0.1",
  "10.20.0.11:8080",
  "www:http",
  "db",
  "10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099",
  "[::1]:80",
  "2001:db8::1",
  "0",
  "1",
  "360",
  "65536",
  "-1",
  "+5",
  "rr",
  "sh",
  "mh",
  "sh-port",
  "mh-fallback,flag-2",
  "255.255.255.0",
  "gue",
  "ipip",
  "gre",
  "master",
  "backup",
  "",
  "-",
  "--",
  "=",
  "#",
  "ipvsadm",
  "\u00e9\u0000",
];

function word(rand: () => number): string {
  const r = rand();
  if (r < 0.45) {
    const def = OPTION_TABLE[Math.floor(rand() * OPTION_TABLE.length)];
    if (def.short && rand() < 0.5) {
      // A short option, sometimes clustered with another or with a value.
      const other = OPTION_TABLE[Math.floor(rand() * OPTION_TABLE.length)].short ?? "";
      return `-${def.short}${rand() < 0.2 ? other : ""}${rand() < 0.1 ? "=" : ""}`;
    }
    return rand() < 0.15 ? `--${def.long}=${VALUES[Math.floor(rand() * VALUES.length)]}` : `--${def.long}`;
  }
  if (r < 0.85) return VALUES[Math.floor(rand() * VALUES.length)];
  // Random printable junk.
  const len = Math.floor(rand() * 8);
  let s = rand() < 0.5 ? "-" : "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(33 + Math.floor(rand() * 94));
  return s;
}

const COMMANDS = ["-A", "-E", "-D", "-C", "-a", "-e", "-d", "-L", "-l", "-Z", "-S", "-R", "--set", "-Ln", "-At"];

/** Most lists start with a command, so that the parse gets past the first option. */
function argv(rand: () => number): string[] {
  const n = Math.floor(rand() * 9);
  const words = Array.from({ length: n }, () => word(rand));
  if (rand() < 0.6) words.unshift(COMMANDS[Math.floor(rand() * COMMANDS.length)]);
  return words;
}

Deno.test("fuzz: the parser answers every list with a command or a message and an exit code", async () => {
  const rand = prng(20261125);
  let accepted = 0;
  for (let i = 0; i < 4000; i++) {
    const a = argv(rand);
    const r = await parseArgs(a, fakeResolver);
    if (r.ok) {
      accepted++;
      continue;
    }
    ok([1, 2, 255].includes(r.code), `${JSON.stringify(a)}: exit ${r.code}`);
    ok(r.message.trim().length > 0, `${JSON.stringify(a)}: empty message`);
  }
  // The generator reaches both outcomes (else it tests nothing).
  ok(accepted > 50 && accepted < 4000, `accepted ${accepted}`);
});

/** A fetch that never leaves the process: canned answers, sometimes a problem, sometimes garbage. */
function fakeFetch(rand: () => number): typeof fetch {
  return (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const r = rand();
    const json = (status: number, body: unknown) =>
      Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }));
    if (r < 0.1) return Promise.reject(new TypeError("fetch failed"));
    if (r < 0.2) return json(422, { status: 422, detail: "refused", errors: [{ path: "ops[0].x", message: "bad" }] });
    if (r < 0.25) return Promise.resolve(new Response("<html>", { status: 502 }));
    if (r < 0.3) return Promise.resolve(new Response("not json", { status: 200 }));
    switch (url.pathname) {
      case "/v1/status":
        return json(200, STATUS);
      case "/v1/services":
        return json(200, [SERVICE]);
      case "/v1/connections":
        return json(200, { total: 1, items: [connection(1)], next_cursor: null });
      case "/v1/timeouts":
        return json(200, { tcp: 900, tcpfin: 120, udp: 300 });
      default:
        return json(200, {});
    }
  };
}

Deno.test("fuzz: lvsadm as a whole never throws and always exits 0, 1, 2 or 255", async () => {
  const rand = prng(7);
  const codes = new Map<number, number>();
  for (let i = 0; i < 1500; i++) {
    const a = argv(rand);
    const stdin = Array.from({ length: Math.floor(rand() * 4) }, () => argv(rand).join(" ")).join("\n");
    const out = { stdout: "", stderr: "" };
    let code: number;
    try {
      code = await runLvsadm(a, testIo(out, { LVSADM_TOKEN: "t" }, stdin), {
        resolver: fakeResolver,
        fmt: recordingFormatter([]),
        fetch: fakeFetch(rand),
      });
    } catch (e) {
      throw new Error(`${JSON.stringify(a)} threw: ${e}`);
    }
    ok([0, 1, 2, 255].includes(code), `${JSON.stringify(a)}: exit ${code}`);
    if (code !== 0) ok(out.stderr.trim().length > 0, `${JSON.stringify(a)}: exit ${code} without a message`);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  for (const c of [0, 2, 255]) ok((codes.get(c) ?? 0) > 0, `exit ${c} never seen: ${JSON.stringify([...codes])}`);
});
