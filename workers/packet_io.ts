/**
 * PacketIo: how a data-plane worker moves frames between the kernel and the
 * WASM memory. One interface, one file per implementation (af_packet.ts,
 * memory_io.ts), all batch oriented: a call moves many frames, never one.
 *
 * The frames themselves never pass through JS. Each worker owns an I/O region
 * in the shared WebAssembly.Memory (see wasm/assembly/layout.ts) holding
 * `struct mmsghdr` arrays for receive and transmit; the WASM module writes
 * both (iovecs point at the worker's frame slots, msg_name at a
 * `sockaddr_ll`, msg_control at a PACKET_AUXDATA buffer). A PacketIo only
 * hands those arrays to the kernel.
 */
export interface PacketIo {
  /** Implementation name, e.g. "af_packet". */
  readonly kind: string;
  /**
   * Waits at most `timeoutMs` for frames, then receives up to `max` frames
   * into the rx mmsghdr array starting at entry `first`. Returns how many
   * entries were filled (0 on timeout). Each filled entry has its msg_len,
   * msg_namelen and msg_controllen set by the kernel.
   */
  receive(first: number, max: number, timeoutMs: number): number;
  /** Sends the first `count` entries of the tx mmsghdr array; returns how many were sent. */
  send(count: number): number;
  /** Closes every socket; safe to call twice. */
  close(): void;
}

/** Where a worker's mmsghdr arrays sit in the shared memory (byte offsets). */
export interface IoRegion {
  /** Offset of the rx `struct mmsghdr[batch]` array. */
  rxHdrs: number;
  /** Offset of the tx `struct mmsghdr[txBatch]` array. */
  txHdrs: number;
  /** Entries in the rx array. */
  batch: number;
  /** Entries in the tx array (default: batch); more when the WASM may cut frames into segments. */
  txBatch?: number;
}
