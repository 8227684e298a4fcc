/**
 * The socket the director's tunnelled packets arrive on.
 *
 * IPIP: a raw IPv4 socket for protocol 4 receives a copy of every IPIP
 * packet delivered to this host, outer header included. When no kernel
 * handler for protocol 4 exists (no ipip module), a raw socket that took the
 * packet also keeps the kernel from answering with ICMP protocol
 * unreachable.
 *
 * GUE: a UDP socket bound to the tunnel port (all local addresses) receives
 * the UDP payloads: GUE header + inner packet.
 *
 * @module
 */
import {
  AF_INET,
  bind,
  close,
  IPPROTO_IPIP,
  LibcError,
  setsockoptInt,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_RAW,
  socket,
  SOL_SOCKET,
} from "../sys/libc.ts";

/** Which encapsulation the director uses (ipvsadm `--tun-type`). */
export type TunType = "ipip" | "gue";

// Room for a burst while the worker is writing the previous batch out.
const RCVBUF_BYTES = 4 << 20;

/** Opens the receiving socket; throws naming the tunnel type/port and the reason. */
export function openTunnelSocket(type: TunType, port?: number): number {
  const what = type === "ipip" ? "a raw IPIP socket" : `a UDP socket on port ${port}`;
  const fd = type === "ipip"
    ? socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_IPIP)
    : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw LibcError.fromErrno(`Cannot open ${what}`);
  try {
    if (type === "gue") {
      if (port === undefined) throw new Error(`Cannot open ${what}: no port`);
      // struct sockaddr_in: family (host order), port (network order), INADDR_ANY.
      const sa = new Uint8Array(16);
      const dv = new DataView(sa.buffer);
      dv.setUint16(0, AF_INET, true);
      dv.setUint16(2, port);
      if (bind(fd, sa) < 0) throw LibcError.fromErrno(`Cannot bind ${what}`);
    }
    // FORCE ignores net.core.rmem_max (we run as root); fall back if refused.
    if (setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES) < 0) {
      setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF_BYTES);
    }
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}
