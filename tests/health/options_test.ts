/** Check options: keepalived's defaults per kind, and validation that names the option and the reason. */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { normaliseCheck, timing, validateCheck } from "../../src/health/options.ts";
import type { CheckSpec } from "../../src/health/types.ts";

Deno.test("options: keepalived's defaults, per kind", () => {
  const base = {
    delayLoopMs: 60_000,
    connectTimeoutMs: 5_000,
    retry: 1,
    delayBeforeRetryMs: 1_000,
    warmupMs: 60_000,
    alpha: false,
    inhibitOnFailure: false,
  };
  deepStrictEqual(timing({ kind: "tcp" }), base);
  deepStrictEqual(timing({ kind: "udp" }), base);
  deepStrictEqual(timing({ kind: "http" }), { ...base, delayBeforeRetryMs: 3_000 });
  deepStrictEqual(timing({ kind: "https" }), { ...base, delayBeforeRetryMs: 3_000 });
  deepStrictEqual(timing({ kind: "dns" }), { ...base, retry: 3, delayBeforeRetryMs: 60_000 });
  deepStrictEqual(timing({ kind: "misc", misc_path: ["/bin/true"] }), { ...base, retry: 0 });
});

Deno.test("options: warmup and DNS's delay_before_retry follow delay_loop; explicit values win", () => {
  const t = timing({ kind: "dns", delay_loop: 10 });
  strictEqual(t.warmupMs, 10_000);
  strictEqual(t.delayBeforeRetryMs, 10_000);
  const u = timing({
    kind: "http",
    delay_loop: 2.5,
    connect_timeout: 0.25,
    retry: 0,
    delay_before_retry: 0,
    warmup: 0,
    alpha: true,
    inhibit_on_failure: true,
  });
  deepStrictEqual(u, {
    delayLoopMs: 2_500,
    connectTimeoutMs: 250,
    retry: 0,
    delayBeforeRetryMs: 0,
    warmupMs: 0,
    alpha: true,
    inhibitOnFailure: true,
  });
});

Deno.test("options: valid checks of every kind have no issues", () => {
  const good: CheckSpec[] = [
    { kind: "tcp", connect_timeout: 3, retry: 2, delay_before_retry: 1, delay_loop: 6, warmup: 0, alpha: true },
    {
      kind: "http",
      path: "/health?full=1",
      status_code: "200-299,301 302",
      digest: "9b2cf535f27731c974343645a3985328",
      regex: "OK|GREEN",
      regex_no_match: false,
      virtualhost: "www.example.test",
    },
    { kind: "https", enable_sni: true, sni_name: "www.example.test", inhibit_on_failure: true },
    { kind: "udp", payload: "01 02 ff", require_reply: "01 xx", min_reply_length: 2, max_reply_length: 512 },
    { kind: "udp", payload_text: "PING", reply_regex: "^PONG" },
    { kind: "dns", type: "AAAA", name: "www.example.test.", require_answer: true },
    { kind: "misc", misc_path: ["/usr/local/bin/check", "--fast"], misc_timeout: 3, misc_dynamic: true },
  ];
  for (const spec of good) deepStrictEqual(validateCheck(spec), [], JSON.stringify(spec));
});

Deno.test("options: each bad option is reported with its path and why", () => {
  const cases: [unknown, string, RegExp][] = [
    [null, "hc", /must be an object with a kind/],
    [{ kind: "icmp" }, "hc.kind", /"icmp" is not a check kind \(one of tcp, http, https, udp, dns, misc\)/],
    [
      { kind: "tcp", conect_timeout: 3 },
      "hc.conect_timeout",
      /unknown option for a tcp check \(known: .*connect_timeout/,
    ],
    [{ kind: "tcp", path: "/" }, "hc.path", /unknown option for a tcp check/],
    [{ kind: "tcp", delay_loop: 0 }, "hc.delay_loop", /0 must be > 0/],
    [{ kind: "tcp", connect_timeout: "5s" }, "hc.connect_timeout", /"5s" is not a number of seconds/],
    [{ kind: "tcp", warmup: -1 }, "hc.warmup", /-1 must be >= 0/],
    [{ kind: "tcp", delay_loop: 3e6 }, "hc.delay_loop", /longer than 2000000 s/],
    [{ kind: "tcp", retry: 1.5 }, "hc.retry", /1\.5 is not an integer in 0\.\.1000000/],
    [{ kind: "tcp", alpha: "yes" }, "hc.alpha", /"yes" is not true or false/],
    [{ kind: "http", path: "health" }, "hc.path", /must start with \//],
    [{ kind: "http", path: "/a b" }, "hc.path", /no spaces or control characters/],
    [{ kind: "http", status_code: "200-199" }, "hc.status_code", /"200-199" is not a code or range in 100-599/],
    [{ kind: "http", status_code: "700" }, "hc.status_code", /"700" is not a code or range/],
    [{ kind: "http", digest: "abc" }, "hc.digest", /not an MD5 digest \(32 hex digits\)/],
    [{ kind: "http", regex: "(" }, "hc.regex", /is not a valid regular expression/],
    [{ kind: "http", regex_no_match: true }, "hc.regex_no_match", /needs regex/],
    [{ kind: "http", virtualhost: "a\r\nX-Evil: 1" }, "hc.virtualhost", /no spaces or control characters/],
    [{ kind: "udp", payload: "0g" }, "hc.payload", /Cannot parse hex "0g": "g" at 1 is not a hex digit/],
    [{ kind: "udp", payload: "0x" }, "hc.payload", /"x" at 1 is not a hex digit$/],
    [{ kind: "udp", payload: "01", payload_text: "a" }, "hc.payload_text", /not both/],
    [{ kind: "udp", require_reply: "" }, "hc.require_reply", /no bytes/],
    [
      { kind: "udp", min_reply_length: 9, max_reply_length: 3 },
      "hc.min_reply_length",
      /9 is more than max_reply_length 3/,
    ],
    [{ kind: "udp", max_reply_length: 70000 }, "hc.max_reply_length", /not an integer in 0\.\.65535/],
    [{ kind: "dns", type: "PTR" }, "hc.type", /"PTR" is not a DNS_CHECK type \(one of A, NS, CNAME/],
    [{ kind: "dns", name: "a..b" }, "hc.name", /Cannot parse DNS name "a\.\.b": it has an empty label/],
    [{ kind: "dns", name: "x".repeat(64) }, "hc.name", /longer than 63 bytes/],
    [{ kind: "misc" }, "hc.misc_path", /non-empty list of strings/],
    [{ kind: "misc", misc_path: "/bin/check" }, "hc.misc_path", /non-empty list of strings/],
    [{ kind: "misc", misc_path: [""] }, "hc.misc_path", /non-empty list of strings/],
    [{ kind: "misc", misc_path: ["/bin/true"], misc_timeout: 0 }, "hc.misc_timeout", /0 must be > 0/],
  ];
  for (const [value, path, message] of cases) {
    const issues = validateCheck(value, "hc");
    strictEqual(issues.length, 1, `${JSON.stringify(value)}: ${JSON.stringify(issues)}`);
    strictEqual(issues[0].path, path);
    ok(message.test(issues[0].message), `${JSON.stringify(value)}: ${issues[0].message}`);
  }
});

Deno.test("options: normaliseCheck upper-cases the DNS type and throws naming every issue", () => {
  deepStrictEqual(normaliseCheck({ kind: "dns", type: "aaaa" }), { kind: "dns", type: "AAAA" });
  throws(
    () => normaliseCheck({ kind: "tcp", retry: -1, delay_loop: 0 }),
    /Cannot use health check: delay_loop: 0 must be > 0; retry: -1 is not an integer/,
  );
});
