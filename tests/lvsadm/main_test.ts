/**
 * lvsadm end to end against a fake admin API on 127.0.0.1: the HTTP
 * requests each command makes (method, path, body, bearer token), what it
 * hands the formatter, and the exit codes and messages of failures.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { lvsadmMain, runLvsadm } from "../../src/lvsadm/main.ts";
import { CONNECTION_PAGE } from "../../src/lvsadm/commands.ts";
import {
  type Answer,
  connection,
  fakeResolver,
  type FmtCall,
  type Recorded,
  recordingFormatter,
  type Run,
  SERVICE,
  STATUS,
  testIo,
  withFakeApi,
} from "./helpers.ts";

/** Answers the read routes with canned JSON and every change with 200/201. */
function defaultRoute(r: Recorded): Answer {
  if (r.method === "GET" && r.path === "/v1/status") return { status: 200, body: STATUS };
  if (r.method === "GET" && r.path === "/v1/services") return { status: 200, body: [SERVICE] };
  if (r.method === "GET" && r.path === "/v1/services/tcp:10.0.0.1:80") return { status: 200, body: SERVICE };
  if (r.method === "GET" && r.path === "/v1/timeouts") {
    return { status: 200, body: { tcp: 900, tcpfin: 120, udp: 300 } };
  }
  if (r.method === "POST" && r.path === "/v1/stats/zero") return { status: 204 };
  if (r.method === "GET" && r.path === "/v1/sync") return { status: 200, body: { daemons: [] } };
  if (r.method === "POST") return { status: 201, body: {} };
  return { status: 200, body: { changes: [], generation: 4 } };
}

async function run(
  url: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string; calls?: FmtCall[] } = {},
): Promise<Run> {
  const out = { stdout: "", stderr: "" };
  const env = { LVSADM_SERVER: url, LVSADM_TOKEN: "tok", ...opts.env };
  const code = await runLvsadm(args, testIo(out, env, opts.stdin), {
    resolver: fakeResolver,
    fmt: recordingFormatter(opts.calls ?? []),
  });
  return { code, ...out };
}

const strip = (r: Recorded) => ({ method: r.method, path: r.path, body: r.body });

Deno.test("main: each change is its route, with the bearer token, and prints nothing", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const cases: [string[], { method: string; path: string; body: unknown }][] = [
      [["-A", "-t", "10.0.0.1:80", "-s", "rr"], {
        method: "POST",
        path: "/v1/services",
        body: {
          proto: "tcp",
          vip: "10.0.0.1",
          port: 80,
          scheduler: "rr",
          persistence: null,
          ops: false,
          sched_flags: [],
        },
      }],
      [["-E", "-t", "10.0.0.1:80", "-p", "600"], {
        method: "PATCH",
        path: "/v1/services/tcp:10.0.0.1:80",
        body: {
          scheduler: "wlc",
          persistence: { timeout: 600, netmask: "255.255.255.255" },
          ops: false,
          sched_flags: [],
        },
      }],
      [["-D", "-t", "10.0.0.1:80"], { method: "DELETE", path: "/v1/services/tcp:10.0.0.1:80", body: undefined }],
      [["-C"], { method: "DELETE", path: "/v1/services", body: undefined }],
      [["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.11", "-m", "-w", "2"], {
        method: "POST",
        path: "/v1/services/tcp:10.0.0.1:80/dests",
        body: { address: "10.20.0.11", forward: "masq", weight: 2, u_threshold: 0, l_threshold: 0 },
      }],
      [["-e", "-t", "10.0.0.1:80", "-r", "10.20.0.11", "-w", "0"], {
        method: "PATCH",
        path: "/v1/services/tcp:10.0.0.1:80/dests/10.20.0.11:80",
        body: { forward: "route", weight: 0, u_threshold: 0, l_threshold: 0 },
      }],
      [["-d", "-t", "10.0.0.1:80", "-r", "10.20.0.11"], {
        method: "DELETE",
        path: "/v1/services/tcp:10.0.0.1:80/dests/10.20.0.11:80",
        body: undefined,
      }],
      [["--set", "600", "0", "0"], { method: "PUT", path: "/v1/timeouts", body: { tcp: 600, tcpfin: 0, udp: 0 } }],
      [["-Z"], { method: "POST", path: "/v1/stats/zero", body: undefined }],
      [["-Z", "-t", "10.0.0.1:80"], {
        method: "POST",
        path: "/v1/stats/zero",
        body: { service: "tcp:10.0.0.1:80" },
      }],
    ];
    for (const [args, want] of cases) {
      reqs.length = 0;
      const r = await run(url, args);
      strictEqual(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      strictEqual(r.stdout, "");
      strictEqual(r.stderr, "");
      deepStrictEqual(reqs.map(strip), [want], args.join(" "));
      strictEqual(reqs[0].auth, "Bearer tok");
    }
  });
});

Deno.test("main: -L reads status and services and hands them to formatList", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const calls: FmtCall[] = [];
    const r = await run(url, ["-L", "-n", "--stats"], { calls });
    strictEqual(r.code, 0, r.stderr);
    deepStrictEqual(reqs.map((q) => `${q.method} ${q.path}`).sort(), ["GET /v1/services", "GET /v1/status"]);
    strictEqual(r.stdout, "IP Virtual Server version 1.2.1 (size=4096)\nLIST\n");
    deepStrictEqual(calls.map((c) => c.fn), ["formatList"]);
    const [status, services, opts] = calls[0].args;
    deepStrictEqual(status, STATUS);
    deepStrictEqual(services, [SERVICE]);
    deepStrictEqual(opts, {
      numeric: true,
      exact: false,
      stats: true,
      rate: false,
      thresholds: false,
      persistentConn: false,
      sort: true,
    });
  });
});

Deno.test("main: without -n the listing's addresses and ports are looked up as names", async () => {
  await withFakeApi(defaultRoute, async (url) => {
    const calls: FmtCall[] = [];
    strictEqual((await run(url, [], { calls })).code, 0);
    deepStrictEqual(calls.map((c) => c.fn), ["resolveNames", "formatList"]);
    deepStrictEqual(calls[0].args, [["10.0.0.1", "10.20.0.11"], [{ port: 80, proto: "tcp" }]]);
  });
});

Deno.test("main: -L -t lists one service, without the version header (ipvsadm list_service)", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const calls: FmtCall[] = [];
    const r = await run(url, ["-L", "-n", "-t", "10.0.0.1:80"], { calls });
    strictEqual(r.code, 0, r.stderr);
    ok(reqs.some((q) => q.path === "/v1/services/tcp:10.0.0.1:80"));
    ok(!reqs.some((q) => q.path === "/v1/services"));
    strictEqual(r.stdout, "ONE\n");
    deepStrictEqual(calls.map((c) => c.fn), ["formatService"]);
    deepStrictEqual(calls[0].args[0], SERVICE);
  });
});

Deno.test("main: -L -c follows next_cursor to the end", async () => {
  const pages: Record<string, { items: number[]; next: string | null }> = {
    "": { items: [1, 2], next: "c1" },
    "c1": { items: [3], next: "c2" },
    "c2": { items: [4, 5], next: null },
  };
  const route = (r: Recorded): Answer => {
    if (r.path !== "/v1/connections") return defaultRoute(r);
    const q = new URLSearchParams(r.query);
    const p = pages[q.get("cursor") ?? ""];
    return { status: 200, body: { total: 5, items: p.items.map(connection), next_cursor: p.next } };
  };
  await withFakeApi(route, async (url, reqs) => {
    const calls: FmtCall[] = [];
    const r = await run(url, ["-L", "-c", "-n", "--persistent-conn"], { calls });
    strictEqual(r.code, 0, r.stderr);
    deepStrictEqual(reqs.map((q) => q.query), [
      `?limit=${CONNECTION_PAGE}`,
      `?limit=${CONNECTION_PAGE}&cursor=c1`,
      `?limit=${CONNECTION_PAGE}&cursor=c2`,
    ]);
    strictEqual(r.stdout, "CONNS 5\n");
    deepStrictEqual((calls[0].args[0] as { client_port: number }[]).map((c) => c.client_port), [
      40001,
      40002,
      40003,
      40004,
      40005,
    ]);
    deepStrictEqual(calls[0].args[1], { persistentConn: true });
  });
});

Deno.test("main: --timeout, --daemon, -S", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const t = await run(url, ["-L", "--timeout"]);
    deepStrictEqual([t.code, t.stdout], [0, "TIMEOUTS 900 120 300\n"]);
    reqs.length = 0;
    // No sync daemon running: nothing to show, as ipvsadm with none running.
    const d = await run(url, ["-L", "--daemon"]);
    deepStrictEqual([d.code, d.stdout, reqs.map((r) => r.path)], [0, "", ["/v1/sync"]]);
    const calls: FmtCall[] = [];
    const s = await run(url, ["-S", "-n", "--save-thresholds"], { calls });
    deepStrictEqual([s.code, s.stdout], [0, "SAVE\n"]);
    deepStrictEqual(calls.map((c) => c.fn), ["formatSave"]);
    deepStrictEqual(calls[0].args[1], { numeric: true, thresholds: true });
  });
});

Deno.test("main: -R sends stdin as one batch", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const stdin = "-C\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.20.0.11:80 -m -w 1\n";
    const r = await run(url, ["-R"], { stdin });
    strictEqual(r.code, 0, r.stderr);
    strictEqual(reqs.length, 1);
    strictEqual(reqs[0].path, "/v1/batch");
    deepStrictEqual((reqs[0].body as { ops: { op: string }[] }).ops.map((o) => o.op), [
      "clear",
      "add_service",
      "add_dest",
    ]);
  });
});

Deno.test("main: a refused change exits 255 with ipvsadm's text where libipvs has one, else the problem's detail; a failed listing exits 1", async () => {
  const route = (r: Recorded): Answer => {
    if (r.method === "POST" && r.path === "/v1/services") {
      return {
        status: 409,
        body: {
          type: "urn:lvsd:problem:conflict",
          title: "Conflict",
          status: 409,
          detail: "service tcp:10.0.0.1:80 exists",
        },
      };
    }
    if (r.path === "/v1/services/tcp:10.0.0.9:80") {
      return { status: 404, body: { status: 404, title: "Not Found", detail: "no service tcp:10.0.0.9:80" } };
    }
    if (r.method === "PATCH") {
      return {
        status: 422,
        body: {
          status: 422,
          detail: "invalid service",
          errors: [{ path: "scheduler", message: 'unknown scheduler "rrr"' }],
        },
      };
    }
    return defaultRoute(r);
  };
  await withFakeApi(route, async (url) => {
    const a = await run(url, ["-A", "-t", "10.0.0.1:80"]);
    // libipvs.c ipvs_strerror(): { ipvs_add_service, EEXIST, "Service already exists" }.
    deepStrictEqual([a.code, a.stderr], [255, "Service already exists\n"]);
    const l = await run(url, ["-L", "-t", "10.0.0.9:80"]);
    // { ipvs_get_service, ESRCH, "No such service" }; list_service exits 1.
    deepStrictEqual([l.code, l.stderr, l.stdout], [1, "No such service\n", ""]);
    const e = await run(url, ["-E", "-t", "10.0.0.1:80", "-s", "rrr"]);
    deepStrictEqual([e.code, e.stderr], [255, 'invalid service: scheduler: unknown scheduler "rrr"\n']);
  });
});

Deno.test("main: a refused token exits 2 and says where the token comes from", async () => {
  const route = (): Answer => ({
    status: 401,
    body: { status: 401, title: "Unauthorized", detail: "the bearer token is not the admin token" },
  });
  await withFakeApi(route, async (url) => {
    const r = await run(url, ["-C"]);
    strictEqual(r.code, 2);
    strictEqual(
      r.stderr,
      "lvsd refused the admin token: the bearer token is not the admin token (check --token-file or LVSADM_TOKEN)\n",
    );
  });
});

Deno.test("main: lvsd not running: exit 2 naming the address", async () => {
  // A port that was free a moment ago: nothing listens there.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await run(`http://127.0.0.1:${port}`, ["-L"]);
  strictEqual(r.code, 2);
  strictEqual(r.stderr, `cannot reach lvsd at http://127.0.0.1:${port}: connection refused (is lvsd running?)\n`);
});

Deno.test("main: the token from --token-file, LVSADM_TOKEN_FILE; a missing file exits 2 naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lvsadm-" });
  try {
    await Deno.writeTextFile(`${dir}/a.token`, "from-flag\n");
    await Deno.writeTextFile(`${dir}/b.token`, "from-env-file");
    await withFakeApi(defaultRoute, async (url, reqs) => {
      // --token-file wins over LVSADM_TOKEN.
      strictEqual((await run(url, ["-C", "--token-file", `${dir}/a.token`])).code, 0);
      strictEqual(reqs.at(-1)?.auth, "Bearer from-flag");
      const viaEnv = await run(url, ["-C"], { env: { LVSADM_TOKEN: "", LVSADM_TOKEN_FILE: `${dir}/b.token` } });
      strictEqual(viaEnv.code, 0, viaEnv.stderr);
      strictEqual(reqs.at(-1)?.auth, "Bearer from-env-file");
      const n = reqs.length;
      const missing = await run(url, ["-C"], { env: { LVSADM_TOKEN: "", LVSADM_TOKEN_FILE: `${dir}/none` } });
      strictEqual(missing.code, 2);
      strictEqual(
        missing.stderr,
        `cannot read the admin token ${dir}/none: no such file ` +
          "(lvsd writes it when it starts; or give --token-file FILE or LVSADM_TOKEN)\n",
      );
      strictEqual(reqs.length, n, "no request without a token");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main: --server wins over LVSADM_SERVER; a bad URL exits 2", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const r = await run("http://127.0.0.1:1", ["--server", url, "-C"]);
    strictEqual(r.code, 0, r.stderr);
    strictEqual(reqs.length, 1);
  });
  const bad = await run("ftp://x", ["-C"]);
  deepStrictEqual([bad.code, bad.stderr], [2, 'invalid server URL "ftp://x": the scheme must be http or https\n']);
});

Deno.test("main: argument errors, -h and -v make no request", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const e = await run(url, ["-nL"]);
    deepStrictEqual([e.code, e.stderr], [255, "Try `lvsadm -h' or 'lvsadm --help' for more information.\n"]);
    const h = await run(url, ["-h"]);
    strictEqual(h.code, 0);
    ok(h.stdout.includes("lvsadm -A|E virtual-service"), h.stdout);
    const v = await run(url, ["--version"]);
    ok(v.code === 0 && v.stdout.startsWith("lvsadm v"), v.stdout);
    const w = await run(url, ["-A", "-t", "10.0.0.1:80", "-M", "255.255.255.0"]);
    strictEqual(w.code, 0);
    strictEqual(w.stderr, "-M 255.255.255.0 has no effect without -p: the service is not persistent\n");
    strictEqual(reqs.length, 1, "only the -A");
  });
});

Deno.test("main: lvsadmMain (the real formatter and resolver) runs a numeric command", async () => {
  await withFakeApi(defaultRoute, async (url, reqs) => {
    const out = { stdout: "", stderr: "" };
    const code = await lvsadmMain(
      ["-a", "-t", "10.0.0.1:80", "-r", "10.20.0.12"],
      testIo(out, { LVSADM_SERVER: url, LVSADM_TOKEN: "t" }),
    );
    strictEqual(code, 0, out.stderr);
    deepStrictEqual(reqs.map(strip), [{
      method: "POST",
      path: "/v1/services/tcp:10.0.0.1:80/dests",
      body: { address: "10.20.0.12", forward: "route", weight: 1, u_threshold: 0, l_threshold: 0 },
    }]);
  });
});

Deno.test("main: --start-daemon / --stop-daemon are their routes; -L --daemon prints ipvsadm's lines; libipvs's errors", async () => {
  const daemon = (role: string, id: number) => ({
    role,
    interface: "int0",
    id,
    maxlen: 1472,
    group: "224.0.0.81",
    port: 8848,
    ttl: 1,
    unicast_peer: null,
    stats: { datagrams: 0, bytes: 0, conns: 0 },
  });
  const route = (r: Recorded): Answer => {
    if (r.method === "GET" && r.path === "/v1/sync") {
      return { status: 200, body: { daemons: [daemon("master", 1), daemon("backup", 2)] } };
    }
    if (r.method === "PUT" && r.path === "/v1/sync/backup") {
      return { status: 409, body: { status: 409, detail: "the backup sync daemon is already running" } };
    }
    if (r.method === "DELETE" && r.path === "/v1/sync/master") {
      return { status: 404, body: { status: 404, detail: "no master sync daemon is running" } };
    }
    return defaultRoute(r);
  };
  await withFakeApi(route, async (url, reqs) => {
    const l = await run(url, ["-L", "--daemon"]);
    // The format of ipvsadm's list_daemon with a kernel that returns the multicast settings.
    deepStrictEqual([l.code, l.stdout], [
      0,
      "master sync daemon (mcast=int0, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n" +
      "backup sync daemon (mcast=int0, syncid=2, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n",
    ]);
    reqs.length = 0;
    const a = await run(url, ["--start-daemon", "master", "--mcast-interface", "int0", "--syncid", "5"]);
    deepStrictEqual([a.code, a.stderr], [0, ""]);
    deepStrictEqual(strip(reqs[0]), {
      method: "PUT",
      path: "/v1/sync/master",
      body: { interface: "int0", id: 5, group: "224.0.0.81", port: 8848, ttl: 1 },
    });
    const b = await run(url, ["--start-daemon", "backup", "--mcast-interface", "int0"]);
    // libipvs.c ipvs_strerror(): { ipvs_start_daemon, EEXIST, "Daemon has already run" }.
    deepStrictEqual([b.code, b.stderr], [255, "Daemon has already run\n"]);
    const s = await run(url, ["--stop-daemon", "master"]);
    // { ipvs_stop_daemon, ESRCH, "No daemon is running" }.
    deepStrictEqual([s.code, s.stderr], [255, "No daemon is running\n"]);
    reqs.length = 0;
    const ok = await run(url, ["--stop-daemon", "backup"]);
    deepStrictEqual([ok.code, strip(reqs[0])], [0, { method: "DELETE", path: "/v1/sync/backup", body: undefined }]);
  });
});
