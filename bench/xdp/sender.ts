/**
 * The probe's traffic: small UDP datagrams with sendmmsg(2), either as fast as
 * one thread can (`--pps 0`) or paced to a fixed rate (`--pps N`: batches of
 * `--burst` on an absolute schedule, sleeping with nanosleep in between, so
 * the average rate is exact even though one sleep overshoots).
 *
 *     deno run -A bench/xdp/sender.ts --dst A.B.C.D [--port 9] [--size 64]
 *       [--seconds 5 (≤60)] [--pps 0] [--burst 16] [--flows 4]
 *
 * Prints one JSON line at the end: `{sent, errors, seconds, pps}`. The
 * foundation's bench/udpflood.ts has no pacing; this one adds it and keeps
 * the same datagram.
 *
 * @module
 */

const AF_INET = 2;
const SOCK_DGRAM = 2;
const MMSG = 64;

function parse(argv: string[]) {
  const a: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, "")] = argv[i + 1];
  const o = {
    dst: a.dst ?? "",
    port: Number(a.port ?? 9),
    size: Number(a.size ?? 64),
    seconds: Number(a.seconds ?? 5),
    pps: Number(a.pps ?? 0),
    burst: Number(a.burst ?? 16),
    flows: Number(a.flows ?? 4),
  };
  if (
    !/^\d+\.\d+\.\d+\.\d+$/.test(o.dst) || !(o.seconds > 0 && o.seconds <= 60) || !(o.size >= 1 && o.size <= 1400) ||
    !(o.pps >= 0) || !(o.burst >= 1 && o.burst <= 64) || !(o.flows >= 1 && o.flows <= 64)
  ) {
    throw new Error(`Cannot run the sender: bad arguments ${JSON.stringify(a)}`);
  }
  return o;
}

function main() {
  const o = parse(Deno.args);
  const libc = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
    nanosleep: { parameters: ["buffer", "pointer"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  });
  const errnoView = new Deno.UnsafePointerView(libc.symbols.__errno_location()!);
  const errnos: Record<number, number> = {};
  const sa = new Uint8Array(16);
  const sv = new DataView(sa.buffer);
  sv.setUint16(0, AF_INET, true);
  sv.setUint16(2, o.port, false);
  o.dst.split(".").forEach((x, i) => sa[4 + i] = Number(x));
  const fds: number[] = [];
  try {
    for (let i = 0; i < o.flows; i++) {
      const fd = libc.symbols.socket(AF_INET, SOCK_DGRAM, 0);
      if (fd < 0) throw new Error("Cannot open a UDP socket");
      fds.push(fd);
      if (libc.symbols.connect(fd, sa, 16) !== 0) throw new Error(`Cannot connect a UDP socket to ${o.dst}:${o.port}`);
    }
    // The kernel follows the addresses in `vec` to `iov` and `payload`, so
    // both must never move: a typed array of 64 bytes or less made with
    // `new Uint8Array(n)` lives in V8's heap and moves at the next scavenge
    // (the kernel then read a stale iovec and failed with EMSGSIZE after a
    // few seconds); one over an explicit ArrayBuffer is allocated outside
    // the heap and stays put.
    const payload = new Uint8Array(new ArrayBuffer(o.size)).fill(0x61);
    const iov = new Uint8Array(new ArrayBuffer(16));
    const iv = new DataView(iov.buffer);
    iv.setBigUint64(0, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(payload))), true);
    iv.setBigUint64(8, BigInt(o.size), true);
    const iovAddr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(iov)));
    const vec = new Uint8Array(64 * MMSG);
    const vv = new DataView(vec.buffer);
    for (let i = 0; i < 64; i++) {
      vv.setBigUint64(i * MMSG + 16, iovAddr, true);
      vv.setBigUint64(i * MMSG + 24, 1n, true);
    }
    const ts = new BigInt64Array(2);
    const tsBytes = new Uint8Array(ts.buffer);
    const burst = o.pps > 0 ? o.burst : 64;
    const gapMs = o.pps > 0 ? (burst / o.pps) * 1000 : 0;
    let sent = 0;
    let errors = 0;
    let f = 0;
    const t0 = performance.now();
    const until = t0 + o.seconds * 1000;
    let next = t0;
    let now = t0;
    while (now < until) {
      const r = libc.symbols.sendmmsg(fds[f], vec, burst, 0);
      if (r > 0) sent += r;
      else {
        errors++;
        const e = errnoView.getInt32();
        errnos[e] = (errnos[e] ?? 0) + 1;
      }
      f = f + 1 === fds.length ? 0 : f + 1;
      now = performance.now();
      if (gapMs > 0) {
        next += gapMs;
        const wait = next - now;
        if (wait > 0.02) {
          ts[0] = 0n;
          ts[1] = BigInt(Math.floor(wait * 1e6));
          libc.symbols.nanosleep(tsBytes, null);
          now = performance.now();
        }
      }
    }
    // Both stay referenced until the last sendmmsg.
    void payload.length, iov.length;
    const seconds = (now - t0) / 1000;
    console.log(JSON.stringify({ sent, errors, errnos, seconds, pps: sent / seconds }));
  } finally {
    for (const fd of fds) libc.symbols.close(fd);
    libc.close();
  }
}

if (import.meta.main) main();
