/**
 * lvsadm -R: files as real ipvsadm -S writes them restore as one batch;
 * bad lines and features lvsd lacks reject the whole file, each named by
 * line number and text, and nothing is sent; lvsd's refusal of operation N
 * is reported on N's line.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { lineWords, parseRestore, restore } from "../../src/lvsadm/restore.ts";
import { LvsdError } from "../../src/lvsadm/client.ts";
import type { ApiRequest } from "../../src/lvsadm/edit_ops.ts";
import { fakeResolver } from "./helpers.ts";

/**
 * What ipvsadm 1.29 -S -n prints (ipvsadm.c print_service_entry, FMT_RULE:
 * "-A %s -s %s" then " -p %u", " -M %s", " -o", " -b flags"; dests
 * "-a %s -r %s %s -w %d"), with a 1.30 GUE dest (print_tunnel_rule).
 */
const SAVED_N = `-A -t 10.0.0.1:80 -s wlc -p 300 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 2
-a -t 10.0.0.1:80 -r 192.168.10.1:80 -m -w 1
-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 192.168.10.3:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-a -u 10.0.0.1:53 -r 192.168.10.4:53 -i -w 0 --tun-type ipip
`;

/** ipvsadm -S without -n writes names (addrport_to_anyname). */
const SAVED_NAMES = `-A -t www:http -s rr
-a -t www:http -r db:http -m -w 1
`;

Deno.test("restore: words are split as config_stream_read does, 'ipvsadm' dropped", () => {
  deepStrictEqual(lineWords("ipvsadm -A\t-t  10.0.0.1:80 \r"), ["-A", "-t", "10.0.0.1:80"]);
  deepStrictEqual(lineWords("lvsadm -C"), ["-C"]);
  deepStrictEqual(lineWords("   "), []);
});

Deno.test("restore: a file as ipvsadm -S -n writes it becomes one op per line, in order", async () => {
  const r = await parseRestore(SAVED_N, fakeResolver);
  deepStrictEqual(r.problems, []);
  deepStrictEqual(r.ops.map((o) => o.line), [1, 2, 3, 4, 5, 6]);
  deepStrictEqual(r.ops.map((o) => o.op), [
    {
      op: "add_service",
      service: {
        proto: "tcp",
        vip: "10.0.0.1",
        port: 80,
        scheduler: "wlc",
        persistence: { timeout: 300, netmask: "255.255.255.0" },
        ops: false,
        sched_flags: [],
      },
    },
    {
      op: "add_dest",
      service: "tcp:10.0.0.1:80",
      dest: { address: "192.168.10.2", forward: "route", weight: 2, u_threshold: 0, l_threshold: 0 },
    },
    {
      op: "add_dest",
      service: "tcp:10.0.0.1:80",
      dest: { address: "192.168.10.1", port: 80, forward: "masq", weight: 1, u_threshold: 0, l_threshold: 0 },
    },
    {
      op: "add_service",
      service: {
        proto: "udp",
        vip: "10.0.0.1",
        port: 53,
        scheduler: "sh",
        persistence: null,
        ops: true,
        sched_flags: ["sh-fallback", "sh-port"],
      },
    },
    {
      op: "add_dest",
      service: "udp:10.0.0.1:53",
      dest: {
        address: "192.168.10.3",
        forward: "tunnel",
        tun_type: "gue",
        tun_port: 6080,
        weight: 1,
        u_threshold: 0,
        l_threshold: 0,
      },
    },
    {
      op: "add_dest",
      service: "udp:10.0.0.1:53",
      dest: { address: "192.168.10.4", forward: "tunnel", tun_type: "ipip", weight: 0, u_threshold: 0, l_threshold: 0 },
    },
  ]);
});

Deno.test("restore: names as ipvsadm -S writes them are looked up", async () => {
  const r = await parseRestore(SAVED_NAMES, fakeResolver);
  deepStrictEqual(r.problems, []);
  deepStrictEqual(r.ops[1].op, {
    op: "add_dest",
    service: "tcp:10.0.0.9:80",
    dest: { address: "10.20.0.7", port: 80, forward: "masq", weight: 1, u_threshold: 0, l_threshold: 0 },
  });
});

Deno.test("restore: blank lines, '#' comment lines and a leading 'ipvsadm' are skipped; line numbers are the file's", async () => {
  const text = "# saved by ipvsadm-save\n\nipvsadm -C\n  # indented comment\n   \n-A -t 10.0.0.1:80\n";
  const r = await parseRestore(text, fakeResolver);
  deepStrictEqual(r.problems, []);
  deepStrictEqual(r.ops.map((o) => [o.line, o.text, o.op.op]), [[3, "ipvsadm -C", "clear"], [
    6,
    "-A -t 10.0.0.1:80",
    "add_service",
  ]]);
});

Deno.test("restore: bad lines and features lvsd lacks are each named by line and text", async () => {
  const text = [
    "-A -t 10.0.0.1:80 -s rr", // 1 ok
    "-A -f 1 -s rr", // 2 fwmark
    "-A -t 10.0.0.2:80 --pe sip -p", // 3 pe
    "-A --sctp-service 10.0.0.3:80", // 4 sctp
    "-A -t [2001:db8::1]:80", // 5 IPv6
    "-A -t 10.0.0.4:80 # web", // 6 a trailing comment is an argument to ipvsadm
    "-L -n", // 7 not a change
    "10.0.0.1", // 8 no command
    "-a -t 10.0.0.1:80 -r 10.20.0.1 -w 70000", // 9 bad weight
    "--server http://x:1 -C", // 10 client option
    "-R", // 11
    "-A -t 10.0.0.1:80 -q", // 12 popt error
  ].join("\n");
  const r = await parseRestore(text, fakeResolver);
  deepStrictEqual(r.problems.map((p) => [p.line, p.text, p.message, p.code]), [
    [
      2,
      "-A -f 1 -s rr",
      "fwmark services (-f) are not supported by lvsd; a service group does their job: -t 10.0.0.1-10.0.0.5,10.1.0.0/28:80,8000-8099",
      2,
    ],
    [3, "-A -t 10.0.0.2:80 --pe sip -p", "persistence engines (--pe sip) are not supported by lvsd", 2],
    [
      4,
      "-A --sctp-service 10.0.0.3:80",
      "SCTP services (--sctp-service) are not supported by lvsd: it has -t (TCP) and -u (UDP)",
      2,
    ],
    [
      5,
      "-A -t [2001:db8::1]:80",
      "IPv6 virtual services are not supported by lvsd ([2001:db8::1]:80): it is IPv4 only",
      2,
    ],
    [6, "-A -t 10.0.0.4:80 # web", "unexpected argument #", 2],
    [
      7,
      "-L -n",
      "-L cannot be part of a restore: a restore line is a change (-A, -E, -D, -C, -a, -e, -d or --set)",
      2,
    ],
    [8, "10.0.0.1", "no command: a restore line starts with -A, -E, -D, -C, -a, -e, -d or --set", 255],
    [9, "-a -t 10.0.0.1:80 -r 10.20.0.1 -w 70000", "illegal weight specified", 2],
    [10, "--server http://x:1 -C", "--server cannot be given in a restore file (give it to lvsadm -R)", 2],
    [
      11,
      "-R",
      "-R cannot be part of a restore: a restore line is a change (-A, -E, -D, -C, -a, -e, -d or --set)",
      2,
    ],
    [12, "-A -t 10.0.0.1:80 -q", "-q: unknown option", 255],
  ]);
  deepStrictEqual(r.ops.map((o) => o.line), [1]);
});

/** A fake API that records requests and throws `fail` for the batch. */
function fakeApi(fail?: LvsdError) {
  const sent: ApiRequest[] = [];
  return {
    sent,
    api: {
      request: <T>(req: ApiRequest): Promise<T | null> => {
        sent.push(req);
        return fail ? Promise.reject(fail) : Promise.resolve({ changes: [], generation: 2 } as T);
      },
    },
  };
}

Deno.test("restore: a good file is sent as ONE POST /v1/batch", async () => {
  const { sent, api } = fakeApi();
  let err = "";
  const code = await restore(SAVED_N, { api, resolver: fakeResolver, stderr: (s) => void (err += s) });
  strictEqual(code, 0, err);
  strictEqual(sent.length, 1);
  strictEqual(sent[0].method, "POST");
  strictEqual(sent[0].path, "/v1/batch");
  strictEqual((sent[0].body as { ops: unknown[] }).ops.length, 6);
  strictEqual(err, "");
});

Deno.test("restore: one bad line sends nothing and exits with its code", async () => {
  const { sent, api } = fakeApi();
  let err = "";
  const code = await restore("-C\n-A -f 3\n", { api, resolver: fakeResolver, stderr: (s) => void (err += s) });
  strictEqual(code, 2);
  strictEqual(sent.length, 0);
  ok(err.startsWith('line 2 ("-A -f 3"): fwmark services (-f) are not supported by lvsd'), err);
  ok(err.endsWith("nothing restored: 1 bad line\n"), err);
});

Deno.test("restore: an empty file sends nothing", async () => {
  const { sent, api } = fakeApi();
  strictEqual(await restore("\n# nothing\n", { api, resolver: fakeResolver, stderr: () => {} }), 0);
  strictEqual(sent.length, 0);
});

Deno.test("restore: lvsd's refusal of ops[N] is reported on N's line, exit 255", async () => {
  const refusal = new LvsdError("api", "invalid batch", 422, {
    status: 422,
    detail: "invalid batch",
    errors: [{ path: "ops[2].dest.port", message: "8080 differs from the service port 80" }],
  });
  const { api } = fakeApi(refusal);
  let err = "";
  const code = await restore(SAVED_N, { api, resolver: fakeResolver, stderr: (s) => void (err += s) });
  strictEqual(code, 255);
  strictEqual(
    err,
    'line 3 ("-a -t 10.0.0.1:80 -r 192.168.10.1:80 -m -w 1"): dest.port: 8080 differs from the service port 80\n' +
      "nothing restored: lvsd refused the change\n",
  );
});

Deno.test("restore: a refusal named only in the detail also finds its line", async () => {
  const refusal = new LvsdError("api", "x", 409, {
    status: 409,
    detail: "ops[1]: dest 192.168.10.2:80 already exists in tcp:10.0.0.1:80",
  });
  const { api } = fakeApi(refusal);
  let err = "";
  strictEqual(await restore(SAVED_N, { api, resolver: fakeResolver, stderr: (s) => void (err += s) }), 255);
  ok(
    err.startsWith(
      'line 2 ("-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 2"): dest 192.168.10.2:80 already exists in tcp:10.0.0.1:80\n',
    ),
    err,
  );
});

Deno.test("restore: lvsd not reachable is not a line's fault (thrown to the caller)", async () => {
  const { api } = fakeApi(new LvsdError("unreachable", "cannot reach lvsd"));
  let thrown: unknown = null;
  try {
    await restore(SAVED_N, { api, resolver: fakeResolver, stderr: () => {} });
  } catch (e) {
    thrown = e;
  }
  ok(thrown instanceof LvsdError && thrown.kind === "unreachable");
});

Deno.test("restore: a warning names its line", async () => {
  const r = await parseRestore("-C\n-A -t 10.0.0.1:80 -M 255.255.0.0\n", fakeResolver);
  deepStrictEqual(r.warnings, ["line 2: -M 255.255.0.0 has no effect without -p: the service is not persistent"]);
});
