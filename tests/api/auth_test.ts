/**
 * Bearer auth: every route but /health needs the admin token; each way of
 * not having it is a 401 problem with the Bearer challenge.
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { authFailure, BEARER_CHALLENGE, tokenMatches } from "../../src/api/auth.ts";
import { createApp, ROUTES } from "../../src/api/app.ts";
import { FakeBackend, TOKEN } from "./fake_backend.ts";
import { harness, type Reply } from "./harness.ts";

function isAuthProblem(r: Reply, why: RegExp): void {
  strictEqual(r.status, 401, r.text);
  strictEqual(r.headers.get("www-authenticate"), BEARER_CHALLENGE);
  ok(r.headers.get("content-type")?.startsWith("application/problem+json"));
  const body = r.body as { status: number; type: string; detail: string };
  strictEqual(body.status, 401);
  strictEqual(body.type, "urn:lvsd:problem:unauthorized");
  ok(why.test(body.detail), body.detail);
  ok(!body.detail.includes(TOKEN), "the detail must not echo the token");
}

Deno.test("tokenMatches compares the whole token, whatever the lengths", () => {
  ok(tokenMatches(TOKEN, TOKEN));
  ok(!tokenMatches(TOKEN + "x", TOKEN));
  ok(!tokenMatches(TOKEN.slice(0, -1), TOKEN));
  ok(!tokenMatches("", TOKEN));
  ok(!tokenMatches(TOKEN.toUpperCase(), TOKEN));
});

Deno.test("authFailure: missing, wrong scheme, wrong token; the scheme is case-insensitive", () => {
  ok(authFailure(undefined, TOKEN)?.includes("missing"));
  ok(authFailure(`Basic ${btoa("a:b")}`, TOKEN)?.includes('"Basic" is not Bearer'));
  ok(authFailure("Bearer", TOKEN) !== null);
  ok(authFailure(`Bearer ${TOKEN} extra`, TOKEN) !== null);
  strictEqual(authFailure(`bearer ${TOKEN}`, TOKEN), null);
  strictEqual(authFailure(`Bearer ${TOKEN}`, TOKEN), null);
});

Deno.test("an empty token is refused when the app is made", () => {
  throws(() => createApp(new FakeBackend(), { token: "" }), /token is empty/);
});

Deno.test("every route but /health answers 401 without the token, and each failure says why", async () => {
  const h = harness();
  for (const route of ROUTES) {
    const path = route.path.replace("{service}", "tcp:10.10.0.100:80").replace("{dest}", "10.20.0.11:80");
    const method = route.method.toUpperCase();
    const r = await h.raw(path, { method });
    if (route.auth === false) {
      strictEqual(r.status, 200, `${method} ${path}`);
      continue;
    }
    isAuthProblem(r, /missing Authorization/);
    isAuthProblem(
      await h.raw(path, { method, headers: { authorization: `Basic ${btoa(`x:${TOKEN}`)}` } }),
      /not Bearer/,
    );
    isAuthProblem(
      await h.raw(path, { method, headers: { authorization: "Bearer wrong-token" } }),
      /not the admin token/,
    );
    // Same length as the real token, one character off.
    const near = TOKEN.slice(0, -1) + (TOKEN.endsWith("x") ? "y" : "x");
    isAuthProblem(await h.raw(path, { method, headers: { authorization: `Bearer ${near}` } }), /not the admin token/);
    isAuthProblem(
      await h.raw(path, { method, headers: { authorization: `Bearer ${TOKEN}${TOKEN}` } }),
      /not the admin/,
    );
  }
  // Nothing was changed by the refused requests.
  strictEqual(h.backend.generation, 0);
  deepStrictEqual(h.backend.applied, []);
  deepStrictEqual(h.backend.zeroed, []);
});

Deno.test("unknown paths need the token too (no probing for routes without it)", async () => {
  const h = harness();
  isAuthProblem(await h.raw("/v2/whatever"), /missing/);
  strictEqual((await h.req("GET", "/v2/whatever")).status, 404);
});
