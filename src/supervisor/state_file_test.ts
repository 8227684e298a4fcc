import assert from "node:assert/strict";
import { parseConfig } from "../config/mod.ts";
import { prepareState, restoreState, tableDigest, writeState } from "./state_file.ts";

const FILE = `interfaces: [{name: eth1}]
services:
  - { proto: tcp, vip: 10.0.0.1, port: 80, dests: [{address: 10.1.0.1}, {address: 10.1.0.2}] }
`;

Deno.test("state file: a change made at run time is restored while the config file's table is unchanged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = parseConfig(FILE, "f");
    const running = structuredClone(file);
    running.services[0].dests[1].weight = 0; // drained through the API
    running.timeouts.tcp = 1234;
    const path = `${dir}/sub/state.yaml`; // the directory is created
    await writeState(path, running, await tableDigest(file));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const r = await restoreState(path, file);
    assert.equal(r.kind, "restored");
    if (r.kind === "restored") {
      assert.deepEqual(r.config, running);
    }
    // A comment or another key in the config file does not count as a change.
    const commented = parseConfig(FILE.replace("interfaces", "# x\nworkers: 2\ninterfaces"), "f");
    assert.equal((await restoreState(path, commented)).kind, "restored");
    // The file's service table changed: the file wins.
    const edited = parseConfig(FILE.replace("10.1.0.2", "10.1.0.3"), "f");
    assert.equal((await restoreState(path, edited)).kind, "config-changed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state file: missing, garbage and invalid files are reported, never half-applied", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = parseConfig(FILE, "f");
    assert.equal((await restoreState(`${dir}/none.yaml`, file)).kind, "none");
    await Deno.writeTextFile(`${dir}/bad.yaml`, "{{{");
    assert.equal((await restoreState(`${dir}/bad.yaml`, file)).kind, "invalid");
    await Deno.writeTextFile(
      `${dir}/invalid.yaml`,
      `config_digest: ${await tableDigest(file)}\nservices: [{proto: tcp, vip: 10.0.0.1, port: 99999}]\n`,
    );
    const r = await restoreState(`${dir}/invalid.yaml`, file);
    assert.equal(r.kind, "invalid");
    if (r.kind === "invalid") assert.match(r.reason, /services\[0\]\.port: 99999 is out of range/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state file: a prepared write changes nothing until committed, and discard leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = parseConfig(FILE, "f");
    const path = `${dir}/state.yaml`;
    await writeState(path, file, await tableDigest(file));
    const before = await Deno.readTextFile(path);
    const changed = structuredClone(file);
    changed.services = [];
    const p = await prepareState(path, changed, await tableDigest(file));
    assert.equal(await Deno.readTextFile(path), before);
    await p.discard();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.yaml"]);
    const q = await prepareState(path, changed, await tableDigest(file));
    await q.commit();
    const r = await restoreState(path, file);
    assert.equal(r.kind === "restored" && r.config.services.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state file: a sync daemon started at run time comes back; one stopped stays stopped over the file's block", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const withBackup = parseConfig(FILE + "sync_daemon: { backup: { interface: eth1, id: 4 } }\n", "f");
    const digest = await tableDigest(withBackup);
    // lvsadm --start-daemon master: both run now.
    const both = structuredClone(withBackup);
    both.syncDaemon.master = { ...withBackup.syncDaemon.backup!, syncid: 9, peer: "10.9.0.2" };
    const path = `${dir}/state.yaml`;
    await writeState(path, both, digest);
    const r = await restoreState(path, withBackup);
    assert.equal(r.kind, "restored");
    if (r.kind === "restored") assert.deepEqual(r.config.syncDaemon, both.syncDaemon);
    // lvsadm --stop-daemon backup and master: the file's backup block must not come back.
    const none = structuredClone(withBackup);
    none.syncDaemon = { master: null, backup: null, syncThreshold: [3, 10] };
    await writeState(path, none, digest);
    const r2 = await restoreState(path, withBackup);
    assert.equal(r2.kind, "restored");
    // The rule (sync_threshold) is kept too.
    if (r2.kind === "restored") {
      assert.deepEqual(r2.config.syncDaemon, { master: null, backup: null, syncThreshold: [3, 10] });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
