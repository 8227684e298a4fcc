/**
 * AF_XDP implementation of {@link PacketIo}: one XSK per data-plane
 * interface per device queue this worker serves, all sharing the worker's
 * UMEM, a region of the shared WebAssembly.Memory (CTRL_UMEM_BASE in
 * wasm/assembly/layout.ts). Frames are never copied in userspace on the way
 * in: receive() points each rx mmsghdr's iovec at the UMEM chunk the kernel
 * wrote the frame into, and the WASM rewrites it there. send() turns the tx
 * entries back into XSK descriptors: a frame still inside a UMEM chunk is
 * sent from it; one the WASM built elsewhere (a segment) is copied into a
 * free chunk first.
 *
 * What the WASM sees is what AF_PACKET gives it, minus what AF_XDP has not:
 * a zeroed 10-byte virtio_net_hdr written into the chunk's headroom in
 * front of the frame (no GSO, no checksum offload state: see the README's
 * checksum note), msg_len, sll_ifindex, sll_pkttype PACKET_HOST (the XDP
 * program redirects only frames to our MAC, or ARP requests), no auxdata
 * (VLAN-tagged frames are never redirected: they stay with the kernel).
 *
 * Chunks: the worker owns all of its UMEM. A chunk is on a fill ring, in
 * the kernel, in an rx entry the WASM is working on, on a tx ring, or free.
 * A received chunk goes back to the free list at the next receive() unless
 * it was put on a tx ring; a sent one comes back through a completion ring.
 * Rings are moved in batches through typed arrays made once; nothing is
 * allocated per frame or per call. The kernel is woken only when a ring
 * says so (need_wakeup: on veth every transmit needs a sendto), and an idle
 * worker blocks in poll().
 *
 * @module
 */

import type { IoRegion, PacketIo } from "./packet_io.ts";
import { addressOf, EINTR, errno, LibcError, pointerAt, poll, POLLIN, POLLNVAL } from "../src/sys/libc.ts";
import { xskMapDelete, xskMapSet } from "../src/sys/bpf.ts";
import { XDP_COPY, XDP_PACKET_HEADROOM, XDP_RING_NEED_WAKEUP, XDP_USE_NEED_WAKEUP, XskSocket } from "../src/sys/xsk.ts";
import { MAX_POLL_MS, MMSGHDR_SIZE, VNET_HDR_SIZE } from "./af_packet.ts";

const EAGAIN = 11;
/** Ring sizes: deep enough for a worker stalled by a busy machine (bench/xdp/README.md, fact 10; bench bulk runs dropped more with 2048). */
const RX_RING = 4096;
const TX_RING = 2048;
const FILL_RING = 4096;
const COMPLETION_RING = 4096;
/** Kicks of a tx ring that stays busy (EAGAIN) before the rest waits for the next call. */
const KICK_RETRIES = 4;

/** An interface and the device queues this worker serves on it. */
export interface AfXdpInterface {
  name: string;
  ifindex: number;
  /** Queues whose frames this worker receives (one XSK each); the first also sends. */
  queues: number[];
  /** The interface's XSKMAP (queue → socket), where each socket is put once bound. */
  xskMapFd: number;
}

/** What {@link AfXdpIo} needs. */
export interface AfXdpOptions {
  memory: WebAssembly.Memory;
  region: IoRegion;
  /** This worker's UMEM: offset (page aligned in the process), chunk count and size. */
  umemOffset: number;
  chunks: number;
  chunkSize: number;
  /** Empty for a worker that has no queue (more workers than queues): it only sleeps. */
  interfaces: AfXdpInterface[];
}

/** Batched AF_XDP I/O for one worker; see the module comment. */
export class AfXdpIo implements PacketIo {
  readonly kind = "af_xdp";
  /** Kernels before 6.2 matter only to AF_PACKET: nothing outgoing ever reaches an XSK. */
  readonly ignoresOutgoing = true;

  #o: AfXdpOptions;
  #xsks: XskSocket[] = [];
  /** Per socket: its interface index, XSKMAP and queue (to take it out again). */
  #xskIfindex: Int32Array;
  #xskMap: Int32Array;
  #xskQueue: Int32Array;
  /** Per interface (by position): the socket that sends on it. */
  #txXsk: Int32Array;
  #txIfindex: Int32Array;
  /** Producer indexes we have written but not yet published (tx), and fill producers. */
  #txProd: Uint32Array;
  #u8: Uint8Array;
  #view: DataView;
  #memAddr: number;
  #umemLen: number;
  #shift: number;
  /** Offsets of each rx entry's mmsghdr, iovec and sockaddr_ll; each tx entry's iovec and sockaddr_ll. */
  #rxHdr: Int32Array;
  #rxIov: Int32Array;
  #rxName: Int32Array;
  #txIov: Int32Array;
  #txName: Int32Array;
  #batch: number;
  #txBatch: number;
  #free: Uint32Array;
  #freeTop = 0;
  #inFlight: Uint8Array;
  #held: Int32Array;
  #heldN = 0;
  #heldMark: Uint8Array;
  #fillTarget: number;
  #pollBuf: ArrayBuffer;
  #pollPtr: Deno.PointerObject;
  #revents: Int16Array;
  #next = 0;
  #closed = false;
  #txDropped = 0;
  #txErrors = 0;
  #rxErrors = 0;

  /** Opens, binds and registers every socket; throws a {@link LibcError} naming the interface and queue. */
  constructor(o: AfXdpOptions) {
    this.#o = o;
    const { memory, region } = o;
    this.#u8 = new Uint8Array(memory.buffer);
    this.#view = new DataView(memory.buffer);
    this.#memAddr = addressOf(this.#u8);
    this.#umemLen = o.chunks * o.chunkSize;
    this.#shift = Math.log2(o.chunkSize);
    if (!Number.isInteger(this.#shift) || o.chunkSize < 2048) {
      throw new RangeError(`Cannot open AF_XDP sockets: chunk size ${o.chunkSize} is not a power of two ≥ 2048`);
    }
    if (o.umemOffset < 0 || o.umemOffset + this.#umemLen > this.#u8.byteLength) {
      throw new RangeError(`Cannot open AF_XDP sockets: the UMEM at ${o.umemOffset} does not fit in the memory`);
    }
    this.#batch = region.batch;
    this.#txBatch = region.txBatch ?? region.batch;
    // Where the WASM's io_init pointed each entry (process addresses).
    const at = (p: number) => Number(this.#view.getBigUint64(p, true)) - this.#memAddr;
    this.#rxHdr = new Int32Array(this.#batch);
    this.#rxIov = new Int32Array(this.#batch);
    this.#rxName = new Int32Array(this.#batch);
    for (let i = 0; i < this.#batch; i++) {
      const h = region.rxHdrs + i * MMSGHDR_SIZE;
      this.#rxHdr[i] = h;
      this.#rxName[i] = at(h);
      this.#rxIov[i] = at(h + 16);
    }
    this.#txIov = new Int32Array(this.#txBatch);
    this.#txName = new Int32Array(this.#txBatch);
    for (let i = 0; i < this.#txBatch; i++) {
      const h = region.txHdrs + i * MMSGHDR_SIZE;
      this.#txName[i] = at(h);
      this.#txIov[i] = at(h + 16);
    }
    const n = o.interfaces.reduce((k, i) => k + i.queues.length, 0);
    this.#xskIfindex = new Int32Array(n);
    this.#xskMap = new Int32Array(n);
    this.#xskQueue = new Int32Array(n);
    this.#txXsk = new Int32Array(o.interfaces.length);
    this.#txIfindex = new Int32Array(o.interfaces.length);
    this.#txProd = new Uint32Array(n);
    this.#free = new Uint32Array(o.chunks);
    this.#inFlight = new Uint8Array(o.chunks);
    this.#held = new Int32Array(this.#batch);
    this.#heldMark = new Uint8Array(o.chunks);
    this.#fillTarget = n === 0 ? 0 : Math.min(FILL_RING, Math.floor(o.chunks / (2 * n)));
    for (let c = o.chunks - 1; c >= 0; c--) this.#free[this.#freeTop++] = c;
    this.#pollBuf = new ArrayBuffer(8 * Math.max(1, n));
    this.#pollPtr = pointerAt(addressOf(new Uint8Array(this.#pollBuf)));
    this.#revents = new Int16Array(this.#pollBuf);

    try {
      let owner: XskSocket | undefined;
      o.interfaces.forEach((iface, pos) => {
        this.#txIfindex[pos] = iface.ifindex;
        this.#txXsk[pos] = this.#xsks.length;
        for (const queue of iface.queues) {
          const xsk = openRetrying({
            ifname: iface.name,
            ifindex: iface.ifindex,
            queue,
            umem: owner ? undefined : { memory, offset: o.umemOffset, chunks: o.chunks, chunkSize: o.chunkSize },
            shareWith: owner,
            rxSize: RX_RING,
            txSize: TX_RING,
            fillSize: FILL_RING,
            completionSize: COMPLETION_RING,
            bindFlags: XDP_COPY | XDP_USE_NEED_WAKEUP,
            txBudget: TX_RING,
          });
          owner ??= xsk;
          const k = this.#xsks.length;
          this.#xsks.push(xsk);
          this.#xskIfindex[k] = iface.ifindex;
          this.#xskMap[k] = iface.xskMapFd;
          this.#xskQueue[k] = queue;
          this.#txProd[k] = xsk.tx!.producer[0];
          new Int32Array(this.#pollBuf)[k * 2] = xsk.fd;
          this.#revents[k * 4 + 2] = POLLIN;
        }
      });
      // Stock the fill rings before any socket is in a map: the first
      // frame redirected finds a chunk.
      this.#refill();
      for (let k = 0; k < this.#xsks.length; k++) xskMapSet(this.#xskMap[k], this.#xskQueue[k], this.#xsks[k].fd);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Socket fds, for a supervisor to close if this worker dies (with {@link mappings}). */
  get fds(): number[] {
    return this.#closed ? [] : this.#xsks.map((x) => x.fd);
  }

  /** The ring mappings ([address, length]) that keep the sockets alive; see XskRing.mapping. */
  get mappings(): [number, number][] {
    if (this.#closed) return [];
    return this.#xsks.flatMap((x) =>
      [x.rx, x.tx, x.fill, x.completion].filter((r) => r !== null).map((r) => r.mapping)
    );
  }

  /** (interface XSKMAP fd, queue) of every socket, so a supervisor can take a dead worker's out of the maps. */
  get slots(): [number, number][] {
    return this.#xsks.map((_, k) => [this.#xskMap[k], this.#xskQueue[k]]);
  }

  /** Sockets opened (interfaces × queues served). */
  get sockets(): number {
    return this.#xsks.length;
  }

  get txDropped(): number {
    return this.#txDropped;
  }

  get txErrors(): number {
    return this.#txErrors;
  }

  get rxErrors(): number {
    return this.#rxErrors;
  }

  /** Frames the kernel could not give this worker (rx ring full, no fill chunk): XDP_STATISTICS, summed. */
  get rxDropped(): number {
    let n = 0;
    for (const x of this.#xsks) {
      const s = x.stats();
      n += s.rxDropped + s.rxRingFull;
    }
    return n;
  }

  receive(first: number, max: number, timeoutMs: number): number {
    if (this.#closed) throw new Error("Cannot receive: the AF_XDP sockets are closed");
    if (first < 0 || max < 0 || first + max > this.#batch) {
      throw new RangeError(`Cannot receive ${max} frames at entry ${first}: the batch has ${this.#batch} entries`);
    }
    // The previous batch is done with: what was not sent is free again.
    for (let i = 0; i < this.#heldN; i++) {
      const c = this.#held[i];
      this.#heldMark[c] = 0;
      if (this.#inFlight[c] === 0) this.#free[this.#freeTop++] = c;
    }
    this.#heldN = 0;
    this.#complete();
    this.#flushStale();
    this.#refill();
    if (max === 0 || this.#xsks.length === 0) {
      if (max > 0 && timeoutMs > 0) poll(this.#pollPtr, 0, timeoutMs < MAX_POLL_MS ? timeoutMs : MAX_POLL_MS);
      return 0;
    }
    const got = this.#drain(first, max);
    if (got > 0 || timeoutMs <= 0) return got;
    const ready = poll(this.#pollPtr, this.#xsks.length, timeoutMs < MAX_POLL_MS ? timeoutMs : MAX_POLL_MS);
    if (ready < 0) {
      const e = errno();
      if (e !== EINTR) throw new LibcError("Cannot poll AF_XDP sockets", e);
      return 0;
    }
    if (ready === 0) return 0;
    for (let k = 0; k < this.#xsks.length; k++) {
      if (this.#revents[k * 4 + 3] & POLLNVAL) {
        throw new LibcError(`Cannot poll the AF_XDP socket of "${this.#xsks[k].name}"`, 9);
      }
    }
    return this.#drain(first, max);
  }

  send(count: number): number {
    if (this.#closed) throw new Error("Cannot send: the AF_XDP sockets are closed");
    if (count < 0 || count > this.#txBatch) {
      throw new RangeError(`Cannot send ${count} frames: the tx array has ${this.#txBatch} entries`);
    }
    const v = this.#view;
    const u8 = this.#u8;
    const base = this.#o.umemOffset;
    const shift = this.#shift;
    let queued = 0;
    for (let t = 0; t < count; t++) {
      const iov = this.#txIov[t];
      const start = v.getUint32(iov, true) + v.getUint32(iov + 4, true) * 4294967296 - this.#memAddr;
      const len = v.getUint32(iov + 8, true);
      const ifindex = v.getInt32(this.#txName[t] + 4, true);
      let k = -1;
      for (let p = 0; p < this.#txIfindex.length; p++) {
        if (this.#txIfindex[p] === ifindex) {
          k = this.#txXsk[p];
          break;
        }
      }
      // AF_XDP has no offloads: a frame asking for a checksum or
      // segmentation cannot be sent as it is (none is made from AF_XDP input).
      if (k < 0 || len <= VNET_HDR_SIZE || u8[start] !== 0 || u8[start + 1] !== 0) {
        this.#txErrors++;
        continue;
      }
      const frame = start + VNET_HDR_SIZE;
      const flen = len - VNET_HDR_SIZE;
      let addr = frame - base;
      let chunk = addr >> shift;
      if (
        addr < 0 || addr + flen > this.#umemLen || ((addr + flen - 1) >> shift) !== chunk ||
        this.#inFlight[chunk] !== 0
      ) {
        // Built outside the UMEM (or a chunk already on its way): copy.
        if (flen > this.#o.chunkSize - XDP_PACKET_HEADROOM) {
          this.#txErrors++;
          continue;
        }
        if (this.#freeTop === 0) this.#complete();
        if (this.#freeTop === 0) {
          this.#txDropped++;
          continue;
        }
        chunk = this.#free[--this.#freeTop];
        addr = (chunk << shift) + XDP_PACKET_HEADROOM;
        // Its rx chunk, if it had one, stays held and is freed at the next receive.
        u8.copyWithin(base + addr, frame, frame + flen);
      }
      const tx = this.#xsks[k].tx!;
      let prod = this.#txProd[k];
      if (prod - Atomics.load(tx.consumer, 0) >= tx.size) {
        this.#publish(k);
        this.#kick(k);
        this.#complete();
        if (prod - Atomics.load(tx.consumer, 0) >= tx.size) {
          // Still full: give the chunk back unless an rx entry holds it.
          if (!this.#isHeld(chunk)) this.#free[this.#freeTop++] = chunk;
          this.#txDropped++;
          continue;
        }
      }
      const e = (prod & tx.mask) * 4;
      tx.entries[e] = addr;
      tx.entries[e + 1] = 0;
      tx.entries[e + 2] = flen;
      tx.entries[e + 3] = 0;
      this.#txProd[k] = ++prod;
      this.#inFlight[chunk] = 1;
      queued++;
    }
    for (let k = 0; k < this.#xsks.length; k++) {
      if (this.#txProd[k] !== this.#xsks[k].tx!.producer[0]) {
        this.#publish(k);
        this.#kick(k);
      }
    }
    this.#complete();
    return queued;
  }

  /** Takes the sockets out of their maps, unmaps and closes them; safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#xsks.forEach((x, k) => {
      try {
        xskMapDelete(this.#xskMap[k], this.#xskQueue[k]);
      } catch { /* the map may be gone already (supervisor stopped) */ }
      x.close();
    });
  }

  #isHeld(chunk: number): boolean {
    return this.#heldMark[chunk] !== 0;
  }

  #publish(k: number): void {
    Atomics.store(this.#xsks[k].tx!.producer, 0, this.#txProd[k]);
  }

  /** sendto when the tx ring asks for it (on veth: always); EAGAIN is retried after reaping completions. */
  #kick(k: number): void {
    const x = this.#xsks[k];
    if ((Atomics.load(x.tx!.flags, 0) & XDP_RING_NEED_WAKEUP) === 0) return;
    for (let r = 0; r < KICK_RETRIES; r++) {
      const e = x.kick();
      if (e === 0) return;
      if (e !== EAGAIN && e !== 105 /* ENOBUFS */ && e !== 16 /* EBUSY */ && e !== EINTR) {
        this.#txErrors++;
        return;
      }
      this.#complete();
      if (Atomics.load(x.tx!.consumer, 0) === this.#txProd[k]) return;
    }
  }

  /** Frames left on a tx ring by a kick that ran out of budget go out now. */
  #flushStale(): void {
    for (let k = 0; k < this.#xsks.length; k++) {
      const tx = this.#xsks[k].tx!;
      if (Atomics.load(tx.consumer, 0) !== this.#txProd[k]) this.#kick(k);
    }
  }

  /** Completed transmissions: their chunks are free again. */
  #complete(): void {
    const shift = this.#shift;
    for (const x of this.#xsks) {
      const c = x.completion!;
      let cons = c.consumer[0];
      const prod = Atomics.load(c.producer, 0);
      if (cons === prod) continue;
      for (; cons !== prod; cons = (cons + 1) >>> 0) {
        const chunk = c.entries[(cons & c.mask) * 2] >>> shift;
        if (this.#inFlight[chunk] === 0) continue; // never ours twice
        this.#inFlight[chunk] = 0;
        if (!this.#isHeld(chunk)) this.#free[this.#freeTop++] = chunk;
      }
      Atomics.store(c.consumer, 0, prod);
    }
  }

  /** Tops every fill ring up to its share of the free chunks. */
  #refill(): void {
    const shift = this.#shift;
    for (const x of this.#xsks) {
      const f = x.fill!;
      let prod = f.producer[0];
      const outstanding = prod - Atomics.load(f.consumer, 0);
      let want = this.#fillTarget - outstanding;
      if (want <= 0) continue;
      if (want > this.#freeTop) want = this.#freeTop;
      for (let i = 0; i < want; i++) {
        const e = (prod & f.mask) * 2;
        f.entries[e] = this.#free[--this.#freeTop] << shift;
        f.entries[e + 1] = 0;
        prod = (prod + 1) >>> 0;
      }
      Atomics.store(f.producer, 0, prod);
      if (Atomics.load(f.flags, 0) & XDP_RING_NEED_WAKEUP) x.wakeRx();
    }
  }

  /** Moves up to `max` received descriptors into rx entries `first`..., rotating over the sockets. */
  #drain(first: number, max: number): number {
    const v = this.#view;
    const u8 = this.#u8;
    const base = this.#o.umemOffset;
    const shift = this.#shift;
    const n = this.#xsks.length;
    let got = 0;
    for (let j = 0; j < n && got < max; j++) {
      let k = this.#next + j;
      if (k >= n) k -= n;
      const rx = this.#xsks[k].rx!;
      let cons = rx.consumer[0];
      const prod = Atomics.load(rx.producer, 0);
      const ifindex = this.#xskIfindex[k];
      while (cons !== prod && got < max) {
        const e = (cons & rx.mask) * 4;
        const addr = rx.entries[e];
        const len = rx.entries[e + 2];
        cons = (cons + 1) >>> 0;
        const i = first + got;
        const vnet = base + addr - VNET_HDR_SIZE;
        u8.fill(0, vnet, vnet + VNET_HDR_SIZE);
        const p = this.#memAddr + vnet;
        const iov = this.#rxIov[i];
        v.setUint32(iov, p >>> 0, true);
        v.setUint32(iov + 4, Math.floor(p / 4294967296), true);
        const h = this.#rxHdr[i];
        v.setUint32(h + 40, 0, true); // msg_controllen: no auxdata (no VLAN)
        v.setUint32(h + 44, 0, true);
        v.setUint32(h + 48, 0, true); // msg_flags
        v.setUint32(h + 56, len + VNET_HDR_SIZE, true); // msg_len
        const nm = this.#rxName[i];
        v.setInt32(nm + 4, ifindex, true);
        u8[nm + 10] = 0; // PACKET_HOST
        this.#held[this.#heldN++] = addr >> shift;
        this.#heldMark[addr >> shift] = 1;
        got++;
      }
      Atomics.store(rx.consumer, 0, cons);
    }
    this.#next = this.#next + 1 >= n ? 0 : this.#next + 1;
    return got;
  }
}

/** Waits for a queue a closed socket still holds, this long at most. */
const BIND_BUSY_MS = 3000;

/**
 * XskSocket.open, retried while bind says EBUSY: the kernel releases a
 * closed socket's hold on its queue a moment later (deferred), so a worker
 * that replaces a dead one, or the sockets after the supervisor's probe,
 * may find the queue still taken.
 */
function openRetrying(o: Parameters<typeof XskSocket.open>[0]): XskSocket {
  const until = Date.now() + BIND_BUSY_MS;
  while (true) {
    try {
      return XskSocket.open(o);
    } catch (e) {
      if (!(e instanceof LibcError) || e.code !== "EBUSY" || Date.now() > until) throw e;
      poll(SLEEP_PTR, 0, 10);
    }
  }
}

const SLEEP_PTR = pointerAt(addressOf(new Uint8Array(new ArrayBuffer(8))));
