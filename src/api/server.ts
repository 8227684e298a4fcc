/**
 * Serving the admin API: Deno.serve on the configured address, HTTPS when
 * a certificate and key are configured.
 *
 * @module
 */

/** A listening admin server. */
export interface AdminServer {
  /** e.g. `http://127.0.0.1:9470`. */
  url: string;
  /** Stops listening and waits for requests in flight. */
  close(): Promise<void>;
}

/** Starts serving `handler`; throws naming the address when it cannot listen. */
export async function serveAdmin(
  handler: (req: Request) => Response | Promise<Response>,
  listen: { host: string; port: number },
  tls: { cert: string; key: string } | null,
): Promise<AdminServer> {
  let certs: { cert: string; key: string } | undefined;
  if (tls) {
    const read = async (what: string, path: string) => {
      try {
        return await Deno.readTextFile(path);
      } catch (e) {
        throw new Error(`admin.tls.${what} "${path}": ${(e as Error).message}`);
      }
    };
    certs = { cert: await read("cert", tls.cert), key: await read("key", tls.key) };
  }
  const where = `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const abort = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: listen.host,
      port: listen.port,
      signal: abort.signal,
      onListen: () => {},
      ...certs,
    }, handler);
  } catch (e) {
    const why = e instanceof Deno.errors.AddrInUse ? "the address is in use" : (e as Error).message;
    throw new Error(`cannot listen for the admin API on ${where}: ${why}`);
  }
  // Port 0 asks the kernel for one: report the one it gave.
  const port = (server.addr as Deno.NetAddr).port;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return {
    url: `${tls ? "https" : "http"}://${host}:${port}`,
    async close() {
      abort.abort();
      await server.finished;
    },
  };
}
