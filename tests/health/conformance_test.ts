/**
 * The checker conformance suite: every kind runs the same scenarios against
 * real servers on 127.0.0.1 — healthy → up; stopped (closed port) → down;
 * back on the same port → up; accepts but never answers → down within
 * connect_timeout plus a small slack; answers wrongly (HTTP 500, NXDOMAIN,
 * …) → down; aborted mid-check → returns at once. Deno's test sanitizers
 * stay on, so a socket, timer or process left behind fails the test.
 */

import { ok, strictEqual } from "node:assert/strict";
import { runCheck } from "../../src/health/checkers.ts";
import type { CheckKind, CheckResult, CheckSpec } from "../../src/health/types.ts";
import { dnsResponder } from "./dns_responder.ts";
import { acceptingTcp, hangingTcp, httpServer, synDroppingTcp, type TestServer, udpServer } from "./servers.ts";
import { selfSignedCert } from "./tls_cert.ts";

/** What the suite needs from each kind. */
interface Driver {
  kind: CheckKind;
  /** A healthy server on `port` (0 = any free port). */
  healthy(port?: number): Promise<TestServer>;
  /** A server that takes the probe and never answers. */
  hanging(): Promise<TestServer>;
  /** Servers that answer, but not as the check demands. */
  failing: Record<string, () => Promise<TestServer>>;
  /** The check, with `timeout` seconds for the probe. */
  spec(timeout: number): CheckSpec;
}

const tls = await selfSignedCert();

/** MISC has no server: its "server" is a file saying how the script behaves. */
const miscMode = await Deno.makeTempFile({ prefix: "lvsd-health-misc-" });
const MISC_SCRIPT = 'case "$(cat "$1")" in up) exit 0;; hang) exec sleep 30;; *) exit 1;; esac';
function miscServer(mode: string, onClose = "down"): Promise<TestServer> {
  Deno.writeTextFileSync(miscMode, mode);
  return Promise.resolve({
    port: 9,
    close: () => Deno.writeTextFile(miscMode, onClose),
  });
}

const drivers: Driver[] = [
  {
    kind: "tcp",
    healthy: (port) => Promise.resolve(acceptingTcp(port)),
    hanging: synDroppingTcp,
    failing: {},
    spec: (t) => ({ kind: "tcp", connect_timeout: t }),
  },
  {
    kind: "http",
    healthy: (port) => Promise.resolve(httpServer(() => new Response("ok"), { port })),
    hanging: () => Promise.resolve(hangingTcp()),
    failing: {
      "answers 500": () => Promise.resolve(httpServer(() => new Response("boom", { status: 500 }))),
      "closes without a byte": () => Promise.resolve(acceptingTcp()),
    },
    spec: (t) => ({ kind: "http", connect_timeout: t }),
  },
  {
    kind: "https",
    healthy: (port) => Promise.resolve(httpServer(() => new Response("ok"), { port, ...tls })),
    hanging: () => Promise.resolve(hangingTcp()),
    failing: {
      "answers 500": () => Promise.resolve(httpServer(() => new Response("boom", { status: 500 }), tls)),
      "speaks plain HTTP": () => Promise.resolve(httpServer(() => new Response("ok"))),
    },
    spec: (t) => ({ kind: "https", connect_timeout: t }),
  },
  {
    kind: "udp",
    healthy: (port) => udpServer((m) => m, port),
    hanging: () => udpServer(() => null),
    failing: {
      "replies with the wrong bytes": () => udpServer(() => new TextEncoder().encode("NOPE")),
    },
    spec: (t) => ({ kind: "udp", connect_timeout: t, payload_text: "PING", require_reply: "50 49 4e 47" }),
  },
  {
    kind: "dns",
    healthy: (port) => dnsResponder("answer", port),
    hanging: () => dnsResponder("silent"),
    failing: {
      "answers NXDOMAIN": () => dnsResponder("nxdomain"),
      "answers SERVFAIL": () => dnsResponder("servfail"),
    },
    spec: (t) => ({ kind: "dns", connect_timeout: t, type: "A", name: "www.example.test" }),
  },
  {
    kind: "misc",
    healthy: () => miscServer("up"),
    hanging: () => miscServer("hang"),
    failing: {},
    spec: (t) => ({ kind: "misc", misc_path: ["/bin/sh", "-c", MISC_SCRIPT, "sh", miscMode], misc_timeout: t }),
  },
];

const TIMEOUT = 0.5;
/** Allowed beyond the timeout: scheduling, a process's SIGTERM, a loaded 2-core box. */
const SLACK_MS = 400;
const never = new AbortController().signal;

async function probe(d: Driver, port: number, timeout = TIMEOUT, signal = never): Promise<CheckResult> {
  return await runCheck(d.spec(timeout), { address: "127.0.0.1", port }, signal);
}

for (const d of drivers) {
  Deno.test(`${d.kind}: a healthy server is up`, async () => {
    const srv = await d.healthy();
    try {
      const r = await probe(d, srv.port);
      strictEqual(r.up, true, r.detail);
    } finally {
      await srv.close();
    }
  });

  Deno.test(`${d.kind}: a server that stops is down, and up again when it comes back on the same port`, async () => {
    const first = await d.healthy();
    const port = first.port;
    strictEqual((await probe(d, port)).up, true);
    await first.close();
    const gone = await probe(d, port);
    strictEqual(gone.up, false, `after stop: ${gone.detail}`);
    const back = await d.healthy(port);
    try {
      const r = await probe(d, port);
      strictEqual(r.up, true, `after restart: ${r.detail}`);
    } finally {
      await back.close();
    }
  });

  Deno.test(`${d.kind}: a server that hangs is down within the timeout, nothing left open`, async () => {
    const srv = await d.hanging();
    try {
      const t0 = performance.now();
      const r = await probe(d, srv.port);
      const took = performance.now() - t0;
      strictEqual(r.up, false);
      ok(/timed out after 0\.5 s/.test(r.detail), r.detail);
      ok(took >= TIMEOUT * 1000 - 20, `gave up early: ${took} ms`);
      ok(took <= TIMEOUT * 1000 + SLACK_MS, `took ${took} ms`);
    } finally {
      await srv.close();
    }
  });

  Deno.test(`${d.kind}: an abort ends a hanging check at once, nothing left open`, async () => {
    const srv = await d.hanging();
    try {
      const ac = new AbortController();
      const t0 = performance.now();
      setTimeout(() => ac.abort(), 50);
      const r = await probe(d, srv.port, 10, ac.signal);
      const took = performance.now() - t0;
      strictEqual(r.up, false);
      ok(/aborted/.test(r.detail), r.detail);
      ok(took < 50 + SLACK_MS, `took ${took} ms`);
    } finally {
      await srv.close();
    }
  });

  for (const [how, start] of Object.entries(d.failing)) {
    Deno.test(`${d.kind}: a server that ${how} is down`, async () => {
      const srv = await start();
      try {
        const r = await probe(d, srv.port);
        strictEqual(r.up, false, r.detail);
      } finally {
        await srv.close();
      }
    });
  }
}

Deno.test("conformance: every check kind has a driver", () => {
  const kinds = drivers.map((d) => d.kind).sort();
  strictEqual(kinds.join(","), ["dns", "http", "https", "misc", "tcp", "udp"].join(","));
});

// The mode file outlives the tests above only until the module's last test.
Deno.test("conformance: clean up", async () => {
  await Deno.remove(miscMode);
});
