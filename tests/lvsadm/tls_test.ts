/**
 * lvsadm over https: --cacert (or LVSADM_CACERT) names the CA that signed
 * lvsd's certificate; without it the system's roots do not know a private
 * CA and lvsadm says it cannot reach lvsd. The server is the daemon's own
 * admin listener (serveAdmin with admin.tls). The certificates are made with
 * openssl (installed by tools/setup.ts) for each run: a CA and a server
 * certificate for 127.0.0.1.
 */
import { strictEqual } from "node:assert/strict";
import { runLvsadm } from "../../src/lvsadm/main.ts";
import { serveAdmin } from "../../src/api/server.ts";
import { fakeResolver, recordingFormatter, testIo } from "./helpers.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** A CA, and a server certificate for 127.0.0.1 signed by it (rustls refuses a CA as the server's own). */
async function makeCerts(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=lvsadm test CA",
  ]);
  await openssl(dir, ["req", ...ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "srv.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "srv.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
}

Deno.test({
  name: "tls: https with --cacert / LVSADM_CACERT works; without the CA lvsadm cannot reach lvsd (exit 2)",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "lvsadm-tls-" });
    await makeCerts(dir);
    let seen = 0;
    const server = await serveAdmin(
      () => {
        seen++;
        return new Response(JSON.stringify({ changes: [], generation: 1 }), {
          headers: { "content-type": "application/json" },
        });
      },
      { host: "127.0.0.1", port: 0 },
      { cert: `${dir}/srv.pem`, key: `${dir}/srv.key` },
    );
    try {
      const url = server.url;
      strictEqual(url.startsWith("https://127.0.0.1:"), true, url);
      const run = async (args: string[], env: Record<string, string>) => {
        const out = { stdout: "", stderr: "" };
        const code = await runLvsadm(args, testIo(out, { LVSADM_SERVER: url, LVSADM_TOKEN: "t", ...env }), {
          resolver: fakeResolver,
          fmt: recordingFormatter([]),
        });
        return { code, ...out };
      };
      const flag = await run(["-C", "--cacert", `${dir}/ca.pem`], {});
      strictEqual(flag.code, 0, flag.stderr);
      const env = await run(["-C"], { LVSADM_CACERT: `${dir}/ca.pem` });
      strictEqual(env.code, 0, env.stderr);
      strictEqual(seen, 2);
      const none = await run(["-C"], {});
      strictEqual(none.code, 2);
      strictEqual(
        none.stderr,
        `cannot reach lvsd at ${url}: its TLS certificate is not trusted (UnknownIssuer): ` +
          "give the CA that signed it with --cacert or LVSADM_CACERT\n",
      );
      const missing = await run(["-C", "--cacert", `${dir}/nope.pem`], {});
      strictEqual(missing.code, 2);
      strictEqual(
        missing.stderr,
        `cannot read the CA certificate ${dir}/nope.pem: no such file (--cacert / LVSADM_CACERT)\n`,
      );
      strictEqual(seen, 2);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
