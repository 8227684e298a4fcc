import assert from "node:assert/strict";
import { loadOrCreateToken } from "./token.ts";

Deno.test("token: created once with mode 0600 in a new directory, then read back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/run/lvsd/admin.token`;
    const logs: string[] = [];
    const t1 = await loadOrCreateToken(path, (l) => logs.push(l));
    assert.match(t1, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await loadOrCreateToken(path, (l) => logs.push(l)), t1);
    assert.equal(logs.length, 1);
    assert.notEqual(await loadOrCreateToken(`${dir}/other.token`, () => {}), t1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("token: an operator's file is used; loose modes tightened; short or spaced tokens refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t`;
    await Deno.writeTextFile(path, "  a-long-enough-operator-token\n", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    const logs: string[] = [];
    assert.equal(await loadOrCreateToken(path, (l) => logs.push(l)), "a-long-enough-operator-token");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.match(logs[0], /readable by others \(mode 644\); set to 0600/);
    await Deno.writeTextFile(path, "short");
    await assert.rejects(loadOrCreateToken(path, () => {}), /holds 5 characters; at least 16/);
    await Deno.writeTextFile(path, "two tokens-with-space-inside");
    await assert.rejects(loadOrCreateToken(path, () => {}), /one token/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
