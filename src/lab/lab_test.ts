import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert";
import { createHash } from "node:crypto";
import { Lab, LAB_STATE_DIR, listNamespaces, REAL_SERVER_ADDRS, VIP } from "./lab.ts";
import { patternBytes } from "./real_server.ts";

function requireRoot() {
  if (Deno.uid() !== 0) {
    throw new Error(
      "lab_test needs root: it builds network namespaces (run the tests as root)",
    );
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("Lab builds the topology, runs real servers and removes everything", async (t) => {
  requireRoot();
  const lab = await Lab.up();
  const p = lab.prefix;
  let procs: { pid: number }[] = [];
  try {
    await t.step("namespaces and state file", () => {
      assertMatch(p, /^lvsd[0-9a-z]{5}$/);
      const present = listNamespaces();
      for (const ns of lab.namespaces) assert(present.includes(ns), ns);
      assertEquals(lab.namespaces.length, 6);
      assert(exists(`${LAB_STATE_DIR}/${p}.json`));
    });

    await t.step(
      "addresses, routes, no VIP, director does not forward",
      async () => {
        const addrs = async (ns: string) =>
          (await lab.exec(ns, ["ip", "-4", "-o", "addr"], { check: true }))
            .stdout;
        assertMatch(await addrs(lab.ns.client), /eth0\s+inet 10\.10\.0\.2\/24/);
        const dir = await addrs(lab.ns.director);
        assertMatch(dir, /ext0\s+inet 10\.10\.0\.1\/24/);
        assertMatch(dir, /int0\s+inet 10\.20\.0\.1\/24/);
        for (const [i, ns] of lab.ns.servers.entries()) {
          assertMatch(
            await addrs(ns),
            new RegExp(
              `eth0\\s+inet ${REAL_SERVER_ADDRS[i].replaceAll(".", "\\.")}/24`,
            ),
          );
          const route = await lab.exec(ns, ["ip", "route", "show", "default"]);
          assertMatch(route.stdout, /default via 10\.20\.0\.1 dev eth0/);
        }
        const route = await lab.exec("cli", ["ip", "route", "show", "default"]);
        assertMatch(route.stdout, /default via 10\.10\.0\.1 dev eth0/);
        for (const ns of lab.namespaces) {
          assert(!(await addrs(ns)).includes(VIP), `VIP assigned in ${ns}`);
        }
        const fwd = await lab.exec("dir", [
          "cat",
          "/proc/sys/net/ipv4/ip_forward",
        ]);
        assertEquals(fwd.stdout.trim(), "0");
      },
    );

    await t.step(
      "real servers answer HTTP in their own namespace",
      async () => {
        procs = await lab.startRealServers();
        assertEquals(procs.length, 3);
        for (const [i, ns] of lab.ns.servers.entries()) {
          const name = lab.serverNames[i];
          const r = await lab.runHttpClient(
            ["--url", "http://127.0.0.1/", "--count", "3"],
            { ns },
          );
          assertEquals(r.byBody, { [name]: 3 }, JSON.stringify(r));
          const c = await lab.runHttpClient(
            ["--url", "http://127.0.0.1/", "--count", "2", "--close"],
            { ns },
          );
          assertEquals(c.byBody, { [name]: 2 }, JSON.stringify(c));
        }
      },
    );

    await t.step("deterministic bodies", async () => {
      const sha = createHash("sha256").update(patternBytes(1 << 20)).digest(
        "hex",
      );
      const r = await lab.runHttpClient(
        ["--url", "http://127.0.0.1/1m", "--count", "2", "--close"],
        { ns: lab.ns.servers[0] },
      );
      assertEquals(r.byBody, { [`sha256:${sha}`]: 2 }, JSON.stringify(r));
      const n = 3 * 65536 + 1234;
      const shaN = createHash("sha256").update(patternBytes(n)).digest("hex");
      const s = await lab.runHttpClient(
        ["--url", `http://127.0.0.1/size/${n}`, "--count", "1"],
        { ns: lab.ns.servers[1] },
      );
      assertEquals(s.byBody, { [`sha256:${shaN}`]: 1 }, JSON.stringify(s));
    });

    await t.step("UDP echo", async () => {
      for (const [i, ns] of lab.ns.servers.entries()) {
        const r = await lab.runHttpClient(
          ["--udp", "127.0.0.1:7", "--count", "5"],
          { ns },
        );
        assertEquals(r.byBody, { [lab.serverNames[i]]: 5 }, JSON.stringify(r));
      }
    });

    await t.step(
      "the director reaches every real server over the bridge",
      async () => {
        for (const [i, addr] of REAL_SERVER_ADDRS.entries()) {
          const r = await lab.runHttpClient(
            ["--url", `http://${addr}/`, "--count", "2", "--close"],
            { ns: "dir" },
          );
          assertEquals(
            r.byBody,
            { [lab.serverNames[i]]: 2 },
            JSON.stringify(r),
          );
          const u = await lab.runHttpClient(
            ["--udp", `${addr}:7`, "--count", "3", "--reuse-socket"],
            { ns: "dir" },
          );
          assertEquals(
            u.byBody,
            { [lab.serverNames[i]]: 3 },
            JSON.stringify(u),
          );
        }
      },
    );

    await t.step("the client reaches the director", async () => {
      const srv = lab.spawn("dir", [
        lab.deno,
        "run",
        "--no-config",
        "--cached-only",
        "-A",
        new URL("./real_server.ts", import.meta.url).pathname,
        "--name",
        "director",
        "--http-port",
        "8080",
        "--udp-port",
        "7007",
      ]);
      await srv.waitFor(/^ready$/m, 15000);
      const r = await lab.runHttpClient([
        "--url",
        "http://10.10.0.1:8080/whoami",
        "--count",
        "1",
        "--close",
      ]);
      assertEquals(r.ok, 1, JSON.stringify(r));
      assertMatch(Object.keys(r.byBody)[0], /"remote":"10\.10\.0\.2:\d+"/);
      const st = await srv.stop();
      assertEquals(st.signal, "SIGTERM");
    });

    await t.step("offloads can be turned off and on", async () => {
      const tso = async () =>
        (await lab.exec("dir", ["ethtool", "-k", "ext0"], { check: true }))
          .stdout.match(/tcp-segmentation-offload: (\w+)/)?.[1];
      assertEquals(await tso(), "on");
      await lab.setOffloads(false);
      assertEquals(await tso(), "off");
      await lab.setOffloads(true);
      assertEquals(await tso(), "on");
    });
  } finally {
    await lab.down();
  }
  assertEquals(listNamespaces().filter((n) => n.startsWith(`${p}-`)), []);
  assert(!exists(`${LAB_STATE_DIR}/${p}.json`), "state file left behind");
  for (const { pid } of procs) {
    assert(!exists(`/proc/${pid}`), `real server ${pid} still running`);
  }
});

Deno.test("Lab.up removes what it made when it fails", async () => {
  requireRoot();
  for (const stage of ["namespaces", "links", "addresses"] as const) {
    const prefix = "lvsd" + crypto.randomUUID().replace(/-/g, "").slice(0, 5);
    let err: unknown;
    try {
      const lab = await Lab.up({ prefix, failAfter: stage });
      await lab.down();
    } catch (e) {
      err = e;
    }
    assert(err instanceof Error && err.message.includes(stage), String(err));
    assertEquals(
      listNamespaces().filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
    assert(
      !exists(`${LAB_STATE_DIR}/${prefix}.json`),
      "state file left behind",
    );
  }
});

Deno.test("Lab.up refuses a prefix in use and leaves that lab alone", async () => {
  requireRoot();
  const taken = await Lab.up();
  try {
    let err: unknown;
    try {
      await Lab.up({ prefix: taken.prefix });
    } catch (e) {
      err = e;
    }
    assert(err instanceof Error && /in use/.test(err.message), String(err));
    const present = listNamespaces();
    for (const ns of taken.namespaces) assert(present.includes(ns), ns);
    assert(exists(`${LAB_STATE_DIR}/${taken.prefix}.json`));
  } finally {
    await taken.down();
  }
  assertEquals(
    listNamespaces().filter((n) => n.startsWith(`${taken.prefix}-`)),
    [],
  );
});

Deno.test("lab cli: an unknown --forward is refused with its name, before anything is built", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./cli.ts", import.meta.url).pathname, "up", "--forward", "nat"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (out.code !== 2 || !err.includes('Cannot parse --forward "nat": want masq, route or tunnel')) {
    throw new Error(`exit ${out.code}: ${err}`);
  }
});

Deno.test("Lab downloads: many paced downloads held mid-transfer, all complete with the pattern's sha256", async () => {
  requireRoot();
  const lab = await Lab.up();
  try {
    await lab.startRealServers();
    // No director in this lab: download straight from rs1 (the client routes
    // 10.20.0.0/24 nowhere, so run the client in rs2's namespace).
    const t0 = performance.now();
    const { ports, done } = await lab.startDownloads({
      count: 20,
      bytes: 256 * 1024,
      rate: 128 * 1024,
      host: REAL_SERVER_ADDRS[0],
      ns: lab.ns.servers[1],
    });
    const startedMs = performance.now() - t0;
    assertEquals(ports.length, 20);
    assertEquals(new Set(ports).size, 20);
    const r = await done;
    assertEquals(r.ok, 20, JSON.stringify(r));
    assertEquals(r.failed, 0);
    assertEquals(r.bytes, 20 * 256 * 1024);
    // Paced: 256 KiB at 128 KiB/s takes about 2 s, and all were mid-transfer when started.
    assert(r.ms >= 1800, `downloads took ${r.ms} ms: not paced`);
    assert(startedMs < r.ms, `started after ${startedMs} ms`);
  } finally {
    await lab.down();
  }
});
