/**
 * A TUN device over Deno FFI: `/dev/net/tun` opened and attached to a new
 * layer-3 interface with `TUNSETIFF` (IFF_TUN | IFF_NO_PI), so every write()
 * on the fd is one raw IP packet that the kernel receives as if it had
 * arrived on that interface. Used by `lvsd decap` to hand decapsulated
 * packets to the local stack on hosts without the ipip module.
 *
 * The device is not persistent: it exists as long as the fd is open, and
 * closing the fd (or the process dying, however it dies) deletes it with
 * its addresses and routes. Nothing is left behind to clean up.
 *
 * @module
 */

import {
  addressOf,
  close,
  EBUSY,
  EINVAL,
  errno,
  ioctl,
  LibcError,
  O_CLOEXEC,
  O_RDWR,
  open,
  pointerAt,
  writev,
} from "./libc.ts";

/** `TUNSETIFF` = _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
/** A layer-3 device: packets start at the IP header. */
const IFF_TUN = 0x0001;
/** No 4-byte packet-information prefix in front of each packet. */
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;

/** Checks an interface name the way the kernel will (1..15 bytes, no '/', no whitespace, not "." or ".."). */
export function checkDeviceName(name: string): string | null {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0 || bytes >= IFNAMSIZ) return `a name has 1 to ${IFNAMSIZ - 1} bytes`;
  if (/[\s/:]/.test(name) || name === "." || name === "..") return `it may not contain '/', ':' or whitespace`;
  return null;
}

/** An open TUN device. Writes are the hot path: no allocation per packet. */
export class TunDevice {
  /** The interface name. */
  readonly name: string;
  #fd: number;

  private constructor(name: string, fd: number) {
    this.name = name;
    this.#fd = fd;
  }

  /**
   * Creates interface `name` (down, no addresses). Throws naming the device:
   * EBUSY when another process holds a TUN device of that name, EINVAL when
   * an interface of that name exists and is not a TUN device, EPERM without
   * CAP_NET_ADMIN.
   */
  static open(name: string): TunDevice {
    const bad = checkDeviceName(name);
    if (bad) throw new Error(`Cannot create TUN device "${name}": ${bad}`);
    const fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) throw LibcError.fromErrno(`Cannot create TUN device "${name}": cannot open /dev/net/tun`);
    const req = new Uint8Array(IFREQ_SIZE);
    req.set(new TextEncoder().encode(name));
    new DataView(req.buffer).setUint16(IFNAMSIZ, IFF_TUN | IFF_NO_PI, true);
    if (ioctl(fd, TUNSETIFF, req) < 0) {
      const code = errno();
      close(fd);
      const hint = code === EBUSY
        ? " (another process holds a TUN device of that name)"
        : code === EINVAL
        ? " (an interface of that name exists and is not a TUN device)"
        : "";
      throw new LibcError(`Cannot create TUN device "${name}"${hint}`, code);
    }
    return new TunDevice(name, fd);
  }

  /** The file descriptor (-1 once closed); another thread of this process may write to it. */
  get fd(): number {
    return this.#fd;
  }

  /** Closes the fd, which deletes the device. */
  close(): void {
    if (this.#fd < 0) return;
    close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * Writes packets to a TUN fd from absolute addresses (e.g. inside a receive
 * buffer), one write per packet (a TUN fd takes one packet per write; there
 * is no batched write). Never allocates.
 */
export class TunWriter {
  #fd: number;
  // One struct iovec { void *iov_base; size_t iov_len; }, rewritten per
  // packet as 32-bit halves so no BigInt is made.
  #iov = new Uint32Array(4);
  #iovPtr: Deno.PointerObject;

  /** @param fd a TUN fd opened with IFF_TUN | IFF_NO_PI */
  constructor(fd: number) {
    this.#fd = fd;
    this.#iovPtr = pointerAt(addressOf(new Uint8Array(this.#iov.buffer)));
  }

  /** Writes the `length` bytes at `address` as one packet: bytes written, or -1 with errno set. */
  write(address: number, length: number): number {
    const iov = this.#iov;
    iov[0] = address >>> 0;
    iov[1] = Math.floor(address / 0x1_0000_0000);
    iov[2] = length;
    iov[3] = 0;
    return writev(this.#fd, this.#iovPtr, 1);
  }
}
