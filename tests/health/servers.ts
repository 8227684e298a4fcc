/**
 * Real servers on 127.0.0.1 for the checker conformance suite: healthy,
 * failing, hanging (accepts, never answers) and gone (a closed port), each
 * closed by its `close()` so the test sanitizers see nothing left open.
 */

import dgram from "node:dgram";
import { Buffer } from "node:buffer";

/** A running test server. */
export interface TestServer {
  port: number;
  close(): Promise<void>;
}

/** A port where nothing listens (bound once, then released). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A TCP listener that accepts and then holds every connection without a byte (a hung application). */
export function hangingTcp(port = 0): TestServer {
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  const held: Deno.Conn[] = [];
  const loop = (async () => {
    try {
      for await (const c of l) held.push(c);
    } catch {
      // listener closed
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    async close() {
      l.close();
      await loop;
      for (const c of held) {
        try {
          c.close();
        } catch { /* peer closed it */ }
      }
    },
  };
}

/** A TCP listener that accepts and closes (TCP_CHECK's healthy server). */
export function acceptingTcp(port = 0): TestServer {
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  const loop = (async () => {
    try {
      for await (const c of l) c.close();
    } catch {
      // listener closed
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    async close() {
      l.close();
      await loop;
    },
  };
}

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});

/**
 * A listener whose accept queue is full, so the kernel drops new SYNs and a
 * connect hangs until the client gives up: a TCP server that "hangs" below
 * the application. listen(fd, 0) allows one queued connection
 * (sk_acceptq_is_full: queued > backlog); one filler connection fills it.
 */
export async function synDroppingTcp(): Promise<TestServer> {
  const fd = libc.symbols.socket(2, /* AF_INET */ 1, /* SOCK_STREAM */ 0);
  if (fd < 0) throw new Error("socket() failed");
  const sa = new Uint8Array(16);
  sa[0] = 2; // sin_family AF_INET (little-endian u16)
  sa.set([127, 0, 0, 1], 4);
  if (libc.symbols.bind(fd, sa, 16) !== 0 || libc.symbols.listen(fd, 0) !== 0) {
    libc.symbols.close(fd);
    throw new Error("bind/listen failed");
  }
  const len = new Uint32Array([16]);
  libc.symbols.getsockname(fd, sa, new Uint8Array(len.buffer));
  const port = (sa[2] << 8) | sa[3];
  const fillers: Deno.Conn[] = [];
  for (let i = 0; i < 2; i++) {
    // The first fills the queue; the second may hang, so it is not awaited for long.
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 200);
    try {
      fillers.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal }));
    } catch {
      // the queue is full: this is the state we want
    } finally {
      clearTimeout(t);
    }
  }
  return {
    port,
    close() {
      for (const c of fillers) c.close();
      libc.symbols.close(fd);
      return Promise.resolve();
    },
  };
}

/** An HTTP server (Deno.serve) answering with `handler`. */
export function httpServer(
  handler: (req: Request) => Response | Promise<Response>,
  opts: { port?: number; cert?: string; key?: string } = {},
): TestServer {
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: opts.port ?? 0, cert: opts.cert, key: opts.key, onListen() {} },
    handler,
  );
  return { port: srv.addr.port, close: () => srv.shutdown() };
}

/**
 * A UDP server (node:dgram: Deno.listenDatagram needs --unstable-net) that
 * answers each datagram with what `reply` returns: one datagram, several in
 * order, or null to stay silent.
 */
export async function udpServer(
  reply: (msg: Uint8Array) => Uint8Array | Uint8Array[] | null,
  port = 0,
): Promise<TestServer> {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg: Uint8Array, rinfo: { port: number; address: string }) => {
    const r = reply(new Uint8Array(msg));
    for (const d of r === null ? [] : Array.isArray(r) ? r : [r]) sock.send(Buffer.from(d), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, "127.0.0.1", () => resolve());
  });
  return {
    port: sock.address().port,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
