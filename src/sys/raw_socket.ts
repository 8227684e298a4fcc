/**
 * The two sockets VRRP needs, over Deno FFI: a raw IPv4 socket for one IP
 * protocol (112) bound to an interface, and an AF_PACKET socket to send
 * gratuitous ARP frames. Neither is on the packet path (about one advert a
 * second), so convenience (a promise per receive) is fine here; what
 * matters is that a receive never spins: it blocks on a pool thread (a
 * non-blocking FFI call) for at most the socket's receive timeout.
 *
 * The raw socket sends with IP_HDRINCL (the caller builds the IPv4 header,
 * so the source is the instance's primary address and the TTL 255 whatever
 * the route says) and receives whole IPv4 packets, header included.
 *
 * @module
 */
import {
  AF_INET,
  AF_PACKET,
  close,
  LibcError,
  setsockopt,
  setsockoptInt,
  SOCK_CLOEXEC,
  SOCK_RAW,
  socket,
  SOL_SOCKET,
} from "./libc.ts";
import { interfaceIndex } from "./netdev.ts";

const lib = Deno.dlopen("libc.so.6", {
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  // Blocking on a pool thread: the JS thread keeps running.
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "pointer", "pointer"],
    result: "isize",
    nonblocking: true,
  },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
});

const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_HDRINCL = 3;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const SO_BINDTODEVICE = 25;
const SO_RCVTIMEO = 20;
const SHUT_RDWR = 2;
const ETH_P_ARP = 0x0806;

function ipBytes(addr: string): number[] {
  return addr.split(".").map(Number);
}

/** `struct ip_mreqn` { imr_multiaddr, imr_address, imr_ifindex }. */
function mreqn(group: string, ifindex: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set(ipBytes(group), 0);
  new DataView(b.buffer).setInt32(8, ifindex, true);
  return b;
}

function sockaddrIn(addr: string): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint16(0, AF_INET, true);
  b.set(ipBytes(addr), 4);
  return b;
}

function check(r: number, what: string, fd: number): void {
  if (r >= 0) return;
  const e = LibcError.fromErrno(what);
  close(fd);
  throw e;
}

/** Settings of a raw IP socket. */
export interface RawIpOptions {
  /** The interface the socket is bound to (SO_BINDTODEVICE) and joins the group on. */
  ifname: string;
  /** The IP protocol number (112 for VRRP). */
  protocol: number;
  /** A multicast group to join on `ifname` (224.0.0.18), or none (unicast peers only). */
  group?: string;
  /** TTL of packets the kernel would build (unused with IP_HDRINCL; set for completeness). */
  ttl: number;
  /** How long one receive blocks at most, ms (so a closed socket's reader notices). */
  receiveTimeoutMs?: number;
}

/** A raw IPv4 socket for one protocol on one interface. */
export class RawIpSocket {
  readonly fd: number;
  readonly ifindex: number;
  #closed = false;

  /** Opens, binds to the interface, joins the group; throws a LibcError naming the step. */
  constructor(o: RawIpOptions) {
    this.ifindex = interfaceIndex(o.ifname);
    const fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, o.protocol);
    if (fd < 0) throw LibcError.fromErrno(`Cannot open a raw IP socket for protocol ${o.protocol}`);
    const name = new TextEncoder().encode(o.ifname + "\0");
    check(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name), `Cannot bind the raw socket to "${o.ifname}"`, fd);
    check(setsockoptInt(fd, IPPROTO_IP, IP_HDRINCL, 1), "Cannot set IP_HDRINCL", fd);
    check(setsockoptInt(fd, IPPROTO_IP, IP_TTL, o.ttl), "Cannot set IP_TTL", fd);
    check(setsockoptInt(fd, IPPROTO_IP, IP_MULTICAST_TTL, o.ttl), "Cannot set IP_MULTICAST_TTL", fd);
    check(setsockoptInt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0), "Cannot turn IP_MULTICAST_LOOP off", fd);
    check(
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, mreqn("0.0.0.0", this.ifindex)),
      `Cannot send multicast on "${o.ifname}"`,
      fd,
    );
    if (o.group) {
      check(
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn(o.group, this.ifindex)),
        `Cannot join ${o.group} on "${o.ifname}"`,
        fd,
      );
    }
    const tv = new Uint8Array(16);
    const ms = o.receiveTimeoutMs ?? 250;
    new DataView(tv.buffer).setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
    new DataView(tv.buffer).setBigInt64(8, BigInt((ms % 1000) * 1000), true);
    check(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv), "Cannot set SO_RCVTIMEO", fd);
    this.fd = fd;
  }

  /**
   * One packet into `buf`: its length, or 0 when the receive timed out (or
   * was interrupted), or -1 once the socket is closed. Throws on other errors.
   */
  async receive(buf: Uint8Array): Promise<number> {
    if (this.#closed) return -1;
    const n = Number(await lib.symbols.recvfrom(this.fd, buf, BigInt(buf.length), 0, null, null));
    if (this.#closed) return -1;
    // A failure reads as a timeout: errno belongs to the pool thread the
    // call ran on and cannot be read here. The caller paces its retries.
    return n >= 0 ? n : 0;
  }

  /** Sends a whole IPv4 packet (header included) to `dst`; throws a LibcError on failure. */
  send(packet: Uint8Array, dst: string): void {
    const to = sockaddrIn(dst);
    const r = Number(lib.symbols.sendto(this.fd, packet, BigInt(packet.length), 0, to, to.length));
    if (r < 0) throw LibcError.fromErrno(`Cannot send a VRRP advert to ${dst}`);
  }

  /** Closes the socket; a pending receive returns -1. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    lib.symbols.shutdown(this.fd, SHUT_RDWR);
    close(this.fd);
  }
}

/** An AF_PACKET socket that sends whole Ethernet frames (gratuitous ARP) on one interface. */
export class FrameSender {
  readonly fd: number;
  readonly ifindex: number;
  readonly ifname: string;

  constructor(ifname: string) {
    this.ifname = ifname;
    this.ifindex = interfaceIndex(ifname);
    // Protocol 0: send only, nothing is queued for reading.
    const fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) throw LibcError.fromErrno(`Cannot open an AF_PACKET socket on "${ifname}"`);
    this.fd = fd;
  }

  /** Sends `frame` (Ethernet header included) out of the interface; throws a LibcError on failure. */
  send(frame: Uint8Array): void {
    // struct sockaddr_ll: family, protocol (BE), ifindex, hatype, pkttype, halen, addr[8].
    const sll = new Uint8Array(20);
    const v = new DataView(sll.buffer);
    v.setUint16(0, AF_PACKET, true);
    v.setUint16(2, ETH_P_ARP, false);
    v.setInt32(4, this.ifindex, true);
    sll[11] = 6;
    sll.set(frame.subarray(0, 6), 12);
    const r = Number(lib.symbols.sendto(this.fd, frame, BigInt(frame.length), 0, sll, sll.length));
    if (r < 0) throw LibcError.fromErrno(`Cannot send a frame on "${this.ifname}"`);
  }

  /** Closes the socket. */
  close(): void {
    close(this.fd);
  }
}
