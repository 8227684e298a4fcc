/**
 * An in-memory PacketIo for tests and benchmarks: "receives" copies of
 * template frames that sit in the shared memory (copyWithin, no allocation)
 * and "sends" by counting. It fills the same mmsghdr fields the kernel
 * would (msg_len, sll_ifindex), so the WASM sees what it sees in production.
 */
import type { IoRegion, PacketIo } from "./packet_io.ts";

/** A template frame already placed in the shared memory. */
export interface TemplateFrame {
  /** Offset of [virtio_net_hdr][frame] in the memory. */
  offset: number;
  /** Bytes including the 10-byte virtio header. */
  length: number;
  ifindex: number;
}

/** Options for a MemoryIo. */
export interface MemoryIoOptions {
  memory: WebAssembly.Memory;
  region: IoRegion;
  /** Offset of the first slot's data (slot + headroom) and the slot stride. */
  slotData: number;
  slotSize: number;
  /** sockaddr_ll array offset and stride (rx names). */
  names: number;
  nameSize: number;
  templates: TemplateFrame[];
}

/** See the module doc. */
export class MemoryIo implements PacketIo {
  readonly kind = "memory";
  sent = 0;
  received = 0;
  #o: MemoryIoOptions;
  #u8: Uint8Array;
  #view: DataView;
  #next = 0;

  constructor(o: MemoryIoOptions) {
    this.#o = o;
    this.#u8 = new Uint8Array(o.memory.buffer);
    this.#view = new DataView(o.memory.buffer);
  }

  receive(first: number, max: number, _timeoutMs: number): number {
    const o = this.#o;
    const n = Math.min(max, o.region.batch - first);
    for (let i = 0; i < n; i++) {
      const t = o.templates[this.#next];
      this.#next = (this.#next + 1) % o.templates.length;
      const slot = first + i;
      this.#u8.copyWithin(o.slotData + slot * o.slotSize, t.offset, t.offset + t.length);
      this.#view.setUint32(o.region.rxHdrs + slot * 64 + 56, t.length, true);
      this.#view.setInt32(o.names + slot * o.nameSize + 4, t.ifindex, true);
    }
    this.received += n;
    return n;
  }

  send(count: number): number {
    this.sent += count;
    return count;
  }

  close(): void {}
}
