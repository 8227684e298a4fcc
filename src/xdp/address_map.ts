/**
 * The XDP program's address map (lvsd_addrs): which IPv4 addresses are VIPs,
 * NAT dests and the director's own. The supervisor syncs it with every table
 * it publishes (start, reload, health changes), changing only the entries
 * that differ, so a frame never sees the map half empty.
 *
 * @module
 */

import { BPF_MAP_TYPE_HASH, createMap, mapDelete, mapUpdate } from "../sys/bpf.ts";
import { close } from "../sys/libc.ts";
import { parseIpv4 } from "../config/members.ts";
import { ADDR_DEST, ADDR_LOCAL, ADDR_MAP, ADDR_VIP } from "./program.ts";

/** Entries the map holds: every VIP record, every dest and host addresses to spare. */
export const ADDR_MAP_ENTRIES = 16384;

/** What the map should say. */
export interface AddressSets {
  vips: string[];
  /** NAT (masq) dests: their replies to non-local addresses are redirected. */
  dests: string[];
  /** The director's own addresses. */
  locals: string[];
}

/** The map and what it holds now. */
export class AddressMap {
  /** The map's fd (for the program). */
  readonly fd: number;
  #now = new Map<number, number>();

  constructor() {
    this.fd = createMap(BPF_MAP_TYPE_HASH, 4, 4, ADDR_MAP_ENTRIES, ADDR_MAP);
  }

  /** Makes the map say `sets`: adds and changes first, then removes. */
  sync(sets: AddressSets): void {
    const want = new Map<number, number>();
    const add = (list: string[], bit: number, what: string) => {
      for (const a of list) {
        const n = parseIpv4(a);
        if (n === null) throw new Error(`Cannot put ${what} "${a}" in the XDP address map: not an IPv4 address`);
        want.set(n, (want.get(n) ?? 0) | bit);
      }
    };
    add(sets.vips, ADDR_VIP, "VIP");
    add(sets.dests, ADDR_DEST, "dest");
    add(sets.locals, ADDR_LOCAL, "local address");
    if (want.size > ADDR_MAP_ENTRIES) {
      throw new Error(`Cannot fill the XDP address map: ${want.size} addresses, it holds ${ADDR_MAP_ENTRIES}`);
    }
    for (const [addr, bits] of want) {
      if (this.#now.get(addr) !== bits) mapUpdate(this.fd, key(addr), u32(bits));
    }
    for (const addr of this.#now.keys()) if (!want.has(addr)) mapDelete(this.fd, key(addr));
    this.#now = want;
  }

  /** How many addresses the map holds. */
  get size(): number {
    return this.#now.size;
  }

  close(): void {
    close(this.fd);
  }
}

/** The key: the address in wire order, as the program loads it from the frame. */
function key(addr: number): Uint8Array {
  return new Uint8Array([addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff]);
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}
