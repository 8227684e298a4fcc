/**
 * The data plane's VRRP-held address set (wasm/assembly/layout.ts, "VRRP-held
 * addresses"; read by wasm/assembly/held.ts): which addresses VRRP manages,
 * by instance, and which instances are MASTER now.
 *
 * The list is written once, before the workers start; a state change is one
 * atomic store of the MASTER bitmask, so a takeover never waits for a table
 * rebuild. With no list (no `vrrp_instances`) every VIP is held, exactly as
 * lvsd behaves without VRRP.
 *
 * @module
 */
import { parseIpv4 } from "./ipv4.ts";

/** The part of SharedState this needs (kept narrow so tests can pass a fixture's state). */
export interface HeldMemory {
  readonly memory: WebAssembly.Memory;
  readonly layout: { [name: string]: number };
}

/** One managed address and the index of the instance that holds it. */
export interface ManagedAddress {
  addr: string;
  instance: number;
}

/** Writes and flips the held set in shared memory. */
export class HeldAddresses {
  #u32: Uint32Array;
  #u8: Uint8Array;
  #l: { [name: string]: number };

  constructor(state: HeldMemory) {
    this.#u32 = new Uint32Array(state.memory.buffer);
    this.#u8 = new Uint8Array(state.memory.buffer);
    this.#l = state.layout;
  }

  /** The most addresses the list holds. */
  get maxAddresses(): number {
    return this.#l.VRRP_MAX_ADDRS;
  }

  /** The most instances. */
  get maxInstances(): number {
    return this.#l.VRRP_MAX_INSTANCES;
  }

  /**
   * Publishes the managed addresses with every instance not MASTER (nothing
   * held). Throws, changing nothing, when the list does not fit or an
   * address appears twice.
   */
  setAddresses(list: readonly ManagedAddress[]): void {
    const l = this.#l;
    if (list.length > l.VRRP_MAX_ADDRS) {
      throw new RangeError(
        `Cannot manage ${list.length} addresses with VRRP: lvsd holds at most ${l.VRRP_MAX_ADDRS} virtual_ipaddress entries`,
      );
    }
    const seen = new Set<number>();
    const wire = list.map(({ addr, instance }) => {
      if (!Number.isInteger(instance) || instance < 0 || instance >= l.VRRP_MAX_INSTANCES) {
        throw new RangeError(`Cannot manage ${addr}: instance index ${instance} is not 0..${l.VRRP_MAX_INSTANCES - 1}`);
      }
      const n = parseIpv4(addr);
      if (seen.has(n)) throw new RangeError(`Cannot manage ${addr} twice: it is in two virtual_ipaddress entries`);
      seen.add(n);
      // Wire order as a little-endian u32 load sees it.
      return ((n & 0xff) << 24 | (n >>> 8 & 0xff) << 16 | (n >>> 16 & 0xff) << 8 | n >>> 24) >>> 0;
    });
    const c = l.CTRL;
    Atomics.store(this.#u32, (c + l.CTRL_VRRP_COUNT) >> 2, 0);
    Atomics.store(this.#u32, (c + l.CTRL_VRRP_HELD) >> 2, 0);
    wire.forEach((w, i) => {
      this.#u32[(c + l.CTRL_VRRP_ADDRS + 4 * i) >> 2] = w;
      this.#u8[c + l.CTRL_VRRP_INST + i] = list[i].instance;
    });
    Atomics.store(this.#u32, (c + l.CTRL_VRRP_COUNT) >> 2, list.length);
  }

  /** Marks instance `instance` MASTER (its addresses held) or not, in one atomic store. */
  setHeld(instance: number, held: boolean): void {
    const l = this.#l;
    const i = (l.CTRL + l.CTRL_VRRP_HELD) >> 2;
    const bit = 1 << instance;
    if (held) Atomics.or(this.#u32, i, bit);
    else Atomics.and(this.#u32, i, ~bit);
  }

  /** Whether instance `instance` is marked MASTER. */
  isHeld(instance: number): boolean {
    const l = this.#l;
    return ((Atomics.load(this.#u32, (l.CTRL + l.CTRL_VRRP_HELD) >> 2) >>> instance) & 1) === 1;
  }

  /** How many addresses are managed (0: no VRRP, every VIP held). */
  get count(): number {
    const l = this.#l;
    return Atomics.load(this.#u32, (l.CTRL + l.CTRL_VRRP_COUNT) >> 2);
  }
}
