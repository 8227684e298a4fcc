/**
 * The few libc calls lvsd needs, over Deno FFI (glibc, x86_64 Linux).
 *
 * Wrappers mirror C: they return the raw result (-1 on failure) and leave
 * errno to {@link errno}, so hot loops pay nothing for error handling they
 * do not hit. Setup code turns a failure into a {@link LibcError} with
 * `LibcError.fromErrno("Cannot bind ...")`.
 *
 * Hot-path rule (recvmmsg, sendmmsg, poll run once per batch): their address
 * parameters are FFI "pointer"s, and callers pass pointer objects they made
 * once with {@link pointerAt}. Measured on Deno 2.9.6: a "usize" parameter
 * given a computed number (`base + i * 64`) boxes a HeapNumber on every call
 * (~16 bytes, steady scavenges), and was ~400 ns slower per call than
 * "pointer"; a precomputed pointer object allocates nothing.
 *
 * Each worker is its own thread with its own instance of this module, so the
 * thread-local errno address below is looked up once per thread, and errno
 * reads never allocate.
 *
 * @module
 */

const lib = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  close: { parameters: ["i32"], result: "i32" },
  // open(2) is variadic; the mode argument is passed and ignored without O_CREAT.
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  // ssize_t, but every caller writes one packet (< 2^31 bytes): an i32
  // result comes back as a small number, never a BigInt.
  writev: { parameters: ["i32", "pointer", "i32"], result: "i32" },
  recvmmsg: {
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
  },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  poll: { parameters: ["pointer", "u32", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  clock_gettime: { parameters: ["i32", "pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  // glibc >= 2.32; without them errors say "errno 19" instead of "ENODEV".
  strerrorname_np: { parameters: ["i32"], result: "pointer", optional: true },
  strerrordesc_np: { parameters: ["i32"], result: "pointer", optional: true },
});

const errnoView = new Deno.UnsafePointerView(
  lib.symbols.__errno_location()!,
);

// Address families, socket types and flags (x86_64 Linux values).
/** `AF_INET` */
export const AF_INET = 2;
/** `AF_PACKET` */
export const AF_PACKET = 17;
/** `SOCK_DGRAM` */
export const SOCK_DGRAM = 2;
/** `SOCK_RAW` */
export const SOCK_RAW = 3;
/** `SOCK_CLOEXEC`: or it into the socket type so child processes do not inherit the fd. */
export const SOCK_CLOEXEC = 0o2000000;
/** `IPPROTO_IPIP`: IPv4 in IPv4 (RFC 2003). */
export const IPPROTO_IPIP = 4;
/** `O_RDWR` */
export const O_RDWR = 0o2;
/** `O_CLOEXEC`: child processes do not inherit the fd. */
export const O_CLOEXEC = 0o2000000;
/** `SOL_SOCKET` */
export const SOL_SOCKET = 1;
/** `SO_SNDBUF` */
export const SO_SNDBUF = 7;
/** `SO_RCVBUF` */
export const SO_RCVBUF = 8;
/** `SO_SNDBUFFORCE` (needs CAP_NET_ADMIN; ignores net.core.wmem_max) */
export const SO_SNDBUFFORCE = 32;
/** `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN; ignores net.core.rmem_max) */
export const SO_RCVBUFFORCE = 33;
/** `MSG_DONTWAIT` */
export const MSG_DONTWAIT = 0x40;
/** `MSG_TRUNC`: in msg_flags, the frame was longer than the iovec. */
export const MSG_TRUNC = 0x20;
/** `MSG_CTRUNC`: in msg_flags, the control data did not fit msg_controllen. */
export const MSG_CTRUNC = 0x08;
/** `POLLIN` */
export const POLLIN = 0x1;
/** `POLLOUT` */
export const POLLOUT = 0x4;
/** `POLLERR` */
export const POLLERR = 0x8;
/** `POLLHUP` */
export const POLLHUP = 0x10;
/** `POLLNVAL` */
export const POLLNVAL = 0x20;
/** `SIOCGIFMTU` ioctl */
export const SIOCGIFMTU = 0x8921;
/** `SIOCGIFHWADDR` ioctl */
export const SIOCGIFHWADDR = 0x8927;

// Errno values the callers branch on.
/** `EINTR` */
export const EINTR = 4;
/** `EBADF` */
export const EBADF = 9;
/** `EAGAIN` (= EWOULDBLOCK) */
export const EAGAIN = 11;
/** `ENOMEM` */
export const ENOMEM = 12;
/** `EFAULT` */
export const EFAULT = 14;
/** `EBUSY` */
export const EBUSY = 16;
/** `EINVAL` */
export const EINVAL = 22;
/** `EBADFD`: e.g. a write to a TUN fd whose device was deleted. */
export const EBADFD = 77;
/** `ENOTSOCK` */
export const ENOTSOCK = 88;
/** `ENETDOWN` */
export const ENETDOWN = 100;
/** `ENOBUFS` */
export const ENOBUFS = 105;

/** The calling thread's errno. Never allocates. */
export function errno(): number {
  return errnoView.getInt32();
}

/** The symbolic name of an errno value, e.g. "ENODEV". */
export function errnoName(code: number): string {
  const fn = lib.symbols.strerrorname_np;
  const p = fn ? fn(code) : null;
  return p ? Deno.UnsafePointerView.getCString(p) : `errno ${code}`;
}

/** The C library's description of an errno value, e.g. "No such device". */
export function errnoMessage(code: number): string {
  const fn = lib.symbols.strerrordesc_np;
  const p = fn ? fn(code) : null;
  return p ? Deno.UnsafePointerView.getCString(p) : "Unknown error";
}

/**
 * A failed libc call. The message reads
 * `Cannot bind AF_PACKET socket to "eth0": ENODEV (No such device)`.
 */
export class LibcError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** Its symbolic name, e.g. "ENODEV". */
  readonly code: string;

  /**
   * @param what what was being done, e.g. `Cannot open AF_PACKET socket on "eth0"`
   * @param code the errno value
   */
  constructor(what: string, code: number) {
    const name = errnoName(code);
    super(`${what}: ${name} (${errnoMessage(code)})`);
    this.name = "LibcError";
    this.errno = code;
    this.code = name;
  }

  /** A LibcError for the calling thread's current errno. */
  static fromErrno(what: string): LibcError {
    return new LibcError(what, errno());
  }
}

/**
 * The address of a buffer's first byte, e.g. the base of a shared
 * `WebAssembly.Memory` (`new Uint8Array(memory.buffer)`): shared memories
 * never move, so compute it once. User-space addresses fit in 2^53.
 */
export function addressOf(view: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
}

/** A pointer object for an absolute address; make these once, outside loops. */
export function pointerAt(address: number): Deno.PointerObject {
  const p = Deno.UnsafePointer.create(BigInt(address));
  if (p === null) throw new RangeError("Cannot make a pointer to address 0");
  return p;
}

/** `socket(2)`: a file descriptor, or -1. */
export function socket(domain: number, type: number, protocol: number): number {
  return lib.symbols.socket(domain, type, protocol);
}

/** `bind(2)` with the sockaddr bytes in `addr`: 0, or -1. */
export function bind(fd: number, addr: Uint8Array): number {
  return lib.symbols.bind(fd, addr, addr.byteLength);
}

/** `setsockopt(2)` with the option bytes in `value`: 0, or -1. */
export function setsockopt(
  fd: number,
  level: number,
  name: number,
  value: Uint8Array,
): number {
  return lib.symbols.setsockopt(fd, level, name, value, value.byteLength);
}

// Setup-path scratch for int options; never shared across a yield.
const intOpt = new Int32Array(2);
const intOptBytes = new Uint8Array(intOpt.buffer);

/** `setsockopt(2)` with an int value: 0, or -1. */
export function setsockoptInt(
  fd: number,
  level: number,
  name: number,
  value: number,
): number {
  intOpt[0] = value;
  return lib.symbols.setsockopt(fd, level, name, intOptBytes.subarray(0, 4), 4);
}

/** `getsockopt(2)` of an int option: its value, or null with errno set. */
export function getsockoptInt(
  fd: number,
  level: number,
  name: number,
): number | null {
  intOpt[0] = 0;
  intOpt[1] = 4; // socklen_t in/out
  const r = lib.symbols.getsockopt(
    fd,
    level,
    name,
    intOptBytes.subarray(0, 4),
    intOptBytes.subarray(4, 8),
  );
  return r < 0 ? null : intOpt[0];
}

const statsOpt = new Uint32Array(3); // tp_packets, tp_drops, socklen_t
const statsOptBytes = new Uint8Array(statsOpt.buffer);

/**
 * `getsockopt(SOL_PACKET, PACKET_STATISTICS)`: frames received and frames
 * the kernel dropped (socket buffer full) since the last call (the kernel
 * resets them on read), or null with errno set.
 */
export function packetStatistics(fd: number): { packets: number; drops: number } | null {
  statsOpt[0] = 0;
  statsOpt[1] = 0;
  statsOpt[2] = 8;
  const r = lib.symbols.getsockopt(fd, 263, 6, statsOptBytes.subarray(0, 8), statsOptBytes.subarray(8, 12));
  return r < 0 ? null : { packets: statsOpt[0], drops: statsOpt[1] };
}

/** `open(2)` of an existing file (no O_CREAT): a file descriptor, or -1. */
export function open(path: string, flags: number): number {
  return lib.symbols.open(new TextEncoder().encode(path + "\0"), flags, 0);
}

/**
 * `writev(2)` of `iovcnt` `struct iovec` (16 bytes each) at `iov`: bytes
 * written, or -1. Hot path: `iov` is a pointer made once with
 * {@link pointerAt}; the caller rewrites the iovecs in place.
 */
export function writev(fd: number, iov: Deno.PointerObject, iovcnt: number): number {
  return lib.symbols.writev(fd, iov, iovcnt);
}

/** `close(2)`: 0, or -1. */
export function close(fd: number): number {
  return lib.symbols.close(fd);
}

/**
 * `recvmmsg(2)` without a timeout: messages received, or -1. Hot path:
 * `msgvec` must be a pointer made once with {@link pointerAt}.
 */
export function recvmmsg(
  fd: number,
  msgvec: Deno.PointerObject,
  vlen: number,
  flags: number,
): number {
  return lib.symbols.recvmmsg(fd, msgvec, vlen, flags, null);
}

/** `sendmmsg(2)`: messages sent, or -1. Hot path, as {@link recvmmsg}. */
export function sendmmsg(
  fd: number,
  msgvec: Deno.PointerObject,
  vlen: number,
  flags: number,
): number {
  return lib.symbols.sendmmsg(fd, msgvec, vlen, flags);
}

/**
 * `poll(2)` over `nfds` `struct pollfd` (8 bytes each) at `fds`: ready
 * count, 0 on timeout, or -1. Blocks the calling thread. With `nfds` 0 it
 * just sleeps `timeoutMs`.
 */
export function poll(
  fds: Deno.PointerObject,
  nfds: number,
  timeoutMs: number,
): number {
  return lib.symbols.poll(fds, nfds, timeoutMs);
}

/** `if_nametoindex(3)`: the interface index, or 0 with errno set. */
export function ifNameToIndex(name: string): number {
  return lib.symbols.if_nametoindex(new TextEncoder().encode(name + "\0"));
}

/** `ioctl(2)` with a pointer argument (e.g. a `struct ifreq`): >= 0, or -1. */
export function ioctl(fd: number, request: number, arg: Uint8Array): number {
  return lib.symbols.ioctl(fd, BigInt(request), arg);
}

/** `getpid(2)` */
export function getpid(): number {
  return lib.symbols.getpid();
}

/**
 * CLOCK_MONOTONIC_COARSE: a vDSO read (no syscall), resolution of a jiffy,
 * and, like IPVS's jiffies, it does not jump when the wall clock is set.
 */
export const CLOCK_MONOTONIC_COARSE = 6;

/**
 * clock_gettime into a `struct timespec` at `ts` (hot path: the pointer is
 * made once by the caller, and the call returns a small integer, so nothing
 * is allocated, unlike Date.now(), which boxes a double).
 */
export function clockGettime(clock: number, ts: Deno.PointerObject): number {
  return lib.symbols.clock_gettime(clock, ts);
}

/** SIGUSR1's number on Linux. */
export const SIGUSR1 = 10;

/**
 * Sets a signal's disposition to "ignore" (signal(2) with SIG_IGN); throws
 * if the kernel refuses.
 */
export function ignoreSignal(signo: number): void {
  const r = lib.symbols.signal(signo, Deno.UnsafePointer.create(1n));
  // SIG_ERR is (void *) -1.
  if (r !== null && Deno.UnsafePointer.value(r) === 0xffffffffffffffffn) {
    throw new Error(`Cannot ignore signal ${signo}: ${errnoMessage(errno())}`);
  }
}
