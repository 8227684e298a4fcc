/**
 * A bounded UDP flood for the benchmark: small datagrams, sent as fast as one
 * thread can with sendmmsg(2) (through Deno FFI on libc), from `--flows`
 * sockets with different source ports (so a scheduler spreads them).
 *
 *     deno run --no-config -A bench/udpflood.ts --dst 10.10.0.100 --port 7 \
 *       --size 64 --seconds 3 --flows 12 --max 6000000
 *
 * Stops after `--seconds` or `--max` datagrams, whichever comes first, and
 * prints one JSON line: `{sent, errors, seconds, flows, size}`.
 * Imports nothing, so it runs inside a namespace without network access.
 *
 * @module
 */

const AF_INET = 2;
const SOCK_DGRAM = 2;
const BATCH = 64;
/** sizeof(struct mmsghdr) on 64-bit Linux: msghdr (56) + msg_len, padded. */
const MMSG = 64;

interface Args {
  dst: string;
  port: number;
  size: number;
  seconds: number;
  flows: number;
  max: number;
}

function parse(argv: string[]): Args {
  const a: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    a[argv[i].replace(/^--/, "")] = argv[i + 1];
  }
  const out = {
    dst: a.dst ?? "",
    port: Number(a.port ?? 7),
    size: Number(a.size ?? 64),
    seconds: Number(a.seconds ?? 3),
    flows: Number(a.flows ?? 12),
    max: Number(a.max ?? 6_000_000),
  };
  if (
    !/^\d+\.\d+\.\d+\.\d+$/.test(out.dst) || !(out.seconds > 0) ||
    out.seconds > 30 || !(out.size >= 1 && out.size <= 1400) ||
    !(out.flows >= 1 && out.flows <= 256) || !(out.max >= 1)
  ) {
    console.error(
      "usage: udpflood.ts --dst A.B.C.D [--port 7] [--size 64] [--seconds 3 (≤30)] [--flows 12] [--max N]",
    );
    Deno.exit(2);
  }
  return out;
}

function main() {
  const args = parse(Deno.args);
  const libc = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    sendmmsg: {
      parameters: ["i32", "buffer", "u32", "i32"],
      result: "i32",
    },
    close: { parameters: ["i32"], result: "i32" },
  });
  const sa = new Uint8Array(new ArrayBuffer(16));
  const sv = new DataView(sa.buffer);
  sv.setUint16(0, AF_INET, true);
  sv.setUint16(2, args.port, false);
  args.dst.split(".").forEach((o, i) => sa[4 + i] = Number(o));

  const fds: number[] = [];
  try {
    for (let i = 0; i < args.flows; i++) {
      const fd = libc.symbols.socket(AF_INET, SOCK_DGRAM, 0);
      if (fd < 0) throw new Error("socket() failed");
      fds.push(fd);
      if (libc.symbols.connect(fd, sa, 16) !== 0) {
        throw new Error(`connect() to ${args.dst}:${args.port} failed`);
      }
    }
    // One payload and one iovec shared by all BATCH messages. Both are
    // made on an ArrayBuffer: a small `new Uint8Array(n)` (≤ 64 bytes) may
    // live in V8's heap and move at a garbage collection, leaving the
    // address the kernel follows stale.
    const payload = new Uint8Array(new ArrayBuffer(args.size)).fill(0x61);
    const iov = new Uint8Array(new ArrayBuffer(16));
    const iv = new DataView(iov.buffer);
    iv.setBigUint64(
      0,
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(payload))),
      true,
    );
    iv.setBigUint64(8, BigInt(args.size), true);
    const iovAddr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(iov)));
    const vec = new Uint8Array(BATCH * MMSG);
    const vv = new DataView(vec.buffer);
    for (let i = 0; i < BATCH; i++) {
      vv.setBigUint64(i * MMSG + 16, iovAddr, true); // msg_iov
      vv.setBigUint64(i * MMSG + 24, 1n, true); // msg_iovlen
    }
    let sent = 0;
    let errors = 0;
    let f = 0;
    const t0 = performance.now();
    const until = t0 + args.seconds * 1000;
    let now = t0;
    while (sent < args.max && now < until) {
      const n = Math.min(BATCH, args.max - sent);
      const r = libc.symbols.sendmmsg(fds[f], vec, n, 0);
      if (r > 0) sent += r;
      else errors++;
      f = (f + 1) % fds.length;
      now = performance.now();
    }
    // Keep the buffers the kernel read alive until here.
    void payload.length;
    console.log(JSON.stringify({
      sent,
      errors,
      seconds: (now - t0) / 1000,
      flows: args.flows,
      size: args.size,
    }));
  } finally {
    for (const fd of fds) libc.symbols.close(fd);
    libc.close();
  }
}

if (import.meta.main) main();
