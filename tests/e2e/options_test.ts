/**
 * End to end: run-time options applied by a SIGHUP reload. A client holds
 * one keep-alive connection; its real server is removed from the service
 * (its next request is dropped, the connection kept, as IPVS does with
 * expire_nodest_conn off); a second reload turns expire_nodest_conn on and
 * the client's retransmission of that request ends the connection.
 */
import { ok } from "node:assert/strict";
import { VIP } from "../../src/lab/mod.ts";
import { configYaml, counter, type Director, withDirector } from "./director.ts";

const HERE = new URL("./", import.meta.url).pathname;

const E2E = { sanitizeOps: false, sanitizeResources: false };

/** Polls the status listing (bounded) until `pass` holds; returns the last listing. */
async function statusUntil(d: Director, pass: (st: string) => boolean, what: string, ms = 10000): Promise<string> {
  const t0 = Date.now();
  let st = "";
  while (Date.now() - t0 < ms) {
    st = await d.status();
    if (pass(st)) return st;
  }
  throw new Error(`${what} not seen within ${ms / 1000} s:\n${st}`);
}

async function reload(d: Director, yaml: string, note: RegExp): Promise<void> {
  await Deno.writeTextFile(d.configFile, yaml);
  d.lvsd.kill("SIGHUP");
  await d.lvsd.waitFor(note, 10000);
}

Deno.test({
  name: "e2e SIGHUP: a removed server's connection is kept but dropped; expire_nodest_conn set by reload ends it",
  ...E2E,
  fn: () =>
    withDirector({ weights: [1, 1, 1], scheduler: "rr" }, async (d) => {
      const go = `/tmp/lvsd-nodest-${d.lab.prefix}`;
      const held = d.lab.spawn(d.lab.ns.client, ["python3", `${HERE}keepalive_client.py`, VIP, go]);
      try {
        const first = (await held.waitFor(/^first (rs\d)$/m, 10000)).match(/first (rs\d)/)![1];
        const daddr = `10.20.0.1${first.slice(2)}`;
        const without = configYaml({ weights: [1, 1, 1], scheduler: "rr" })
          .split("\n")
          .filter((line) => !line.includes(`address: ${daddr}, port: 80,`))
          .join("\n");
        await reload(d, without, /lvsd: reloaded .*TCP 10\.10\.0\.100:80: changed/);
        const held80 = new RegExp(`TCP \\S+\\s+ESTABLISHED .* ${daddr.replaceAll(".", "\\.")}:80`);
        await Deno.writeTextFile(go, ""); // the second request, on the removed server's connection
        const dropped = await statusUntil(
          d,
          (st) => counter(st, "dest_unavailable") >= 1,
          "a dest_unavailable drop",
        );
        ok(held80.test(dropped), `the connection is kept:\n${dropped}`);

        await reload(
          d,
          `options: { expire_nodest_conn: true }\n${without}`,
          /lvsd: reloaded .*options: expire_nodest_conn true \(was false\)/,
        );
        // The client retransmits its request; that packet ends the connection.
        const ended = await statusUntil(d, (st) => !held80.test(st), "the connection ended");
        ok(counter(ended, "dest_unavailable") >= 2, ended);
        ok(!/second rs/.test(held.stdout), `no answer can come from a removed server: ${held.stdout}`);
      } finally {
        held.kill("SIGKILL");
        await Deno.remove(go).catch(() => {});
      }
    }),
});
