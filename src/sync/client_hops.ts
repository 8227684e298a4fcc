/**
 * The client-side next hop of a synced connection, which the message does
 * not carry: a backup has never seen the client's frames, yet after a
 * takeover the first packet of a flow may be a real server's reply (a
 * download under way). Resolved as the supervisor resolves dests: the
 * kernel's routing table (longest prefix) gives the interface and the
 * gateway or on-link address, the neighbour table its MAC. Both tables are
 * read in bulk and cached (a second), so installing thousands of
 * connections a second costs no `ip` call each. A next hop with no MAC yet
 * is asked for (the kernel resolves it), and connections installed
 * meanwhile get it later through {@link ClientHops.takeResolved}.
 */
import { parseIpv4 } from "../config/members.ts";
import { neighbourTable, resolveNeighbour, routeTable, type TableRoute } from "../sys/netdev.ts";
import type { ClientHop } from "./install.ts";

interface Prefix {
  net: number;
  mask: number;
  bits: number;
  route: TableRoute;
}

/** Where a client is reached: a data-plane interface slot, the next hop address, its MAC when known. */
export interface HopAnswer {
  slot: number;
  dev: string;
  hop: string;
  hopInfo: ClientHop | null;
}

/** How long the cached tables are used before they are read again while next hops are awaited. */
const REFRESH_MS = 1000;
/** ... and otherwise (two `ip` calls each time: an idle backup need not pay them every second). */
export const IDLE_REFRESH_MS = 30_000;
/** How long after a failed resolution a next hop is asked for again (a cut link, a client gone). */
const RETRY_MS = 2_000;

/** Resolves client next hops from cached kernel tables. */
export class ClientHops {
  #ifaces: readonly string[];
  #prefixes: Prefix[] = [];
  #neigh = new Map<string, Uint8Array>();
  #readAt = -Infinity;
  #asking = new Set<string>();
  /** When a hop was last asked for in vain: asked again only after RETRY_MS (each ask polls `ip` for 3 s). */
  #failedAt = new Map<string, number>();
  #log: (line: string) => void;
  /** Next hops resolved since the last takeResolved(), keyed "dev|hop". */
  #resolved = new Map<string, ClientHop>();

  /** `ifaces`: data-plane interface names by slot. */
  constructor(ifaces: readonly string[], log: (line: string) => void = () => {}) {
    this.#ifaces = ifaces;
    this.#log = log;
  }

  /** Reads the routing and neighbour tables again when the cached ones are older than `maxAgeMs`. */
  async refresh(maxAgeMs = REFRESH_MS, now = performance.now()): Promise<void> {
    if (now - this.#readAt < maxAgeMs) return;
    this.#readAt = now;
    const [routes, neigh] = await Promise.all([routeTable(), neighbourTable()]);
    this.#prefixes = routes.map((route) => {
      const [a, len] = route.dst === "default" ? ["0.0.0.0", "0"] : route.dst.split("/");
      const bits = len === undefined ? 32 : Number(len);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      return { net: (parseIpv4(a) ?? 0) & mask, mask, bits, route };
    }).sort((x, y) => y.bits - x.bits);
    for (const [k, mac] of neigh) {
      if (!this.#neigh.has(k)) this.#resolved.set(k, this.#hopOf(k, mac));
    }
    this.#neigh = neigh;
  }

  #hopOf(key: string, mac: Uint8Array): ClientHop {
    return { slot: this.#ifaces.indexOf(key.split("|")[0]), mac };
  }

  /**
   * The next hop towards `caddr` from the cached tables, or null when no
   * route leaves through a data-plane interface. `hopInfo` is null while
   * the MAC is unknown; the kernel is then asked to resolve it.
   */
  lookup(caddr: string): HopAnswer | null {
    const a = parseIpv4(caddr);
    if (a === null) return null;
    const p = this.#prefixes.find((p) => ((a & p.mask) >>> 0) === p.net);
    if (!p) return null;
    const slot = this.#ifaces.indexOf(p.route.dev);
    if (slot < 0) return null;
    const hop = p.route.gateway ?? caddr;
    const key = `${p.route.dev}|${hop}`;
    const mac = this.#neigh.get(key);
    if (!mac) this.#ask(p.route.dev, hop);
    return { slot, dev: p.route.dev, hop, hopInfo: mac ? { slot, mac } : null };
  }

  /**
   * Asks again for next hops that connections are still waiting for ("dev|hop"
   * keys): a link that was down (a backup's client side before a takeover)
   * may be up now, and after a takeover nothing else would ask.
   */
  retry(keys: Iterable<string>): void {
    for (const key of keys) {
      if (this.#neigh.has(key)) continue;
      const i = key.indexOf("|");
      this.#ask(key.slice(0, i), key.slice(i + 1));
    }
  }

  /** Makes the kernel resolve a next hop (once at a time per hop); found ones come out of takeResolved(). */
  #ask(dev: string, hop: string): void {
    const key = `${dev}|${hop}`;
    if (this.#asking.has(key) || performance.now() - (this.#failedAt.get(key) ?? -Infinity) < RETRY_MS) return;
    this.#asking.add(key);
    resolveNeighbour(hop, dev, 3000).then((mac) => {
      if (mac) {
        this.#failedAt.delete(key);
        this.#neigh.set(key, mac);
        this.#resolved.set(key, this.#hopOf(key, mac));
      } else {
        this.#failedAt.set(key, performance.now());
      }
    }).catch((e) => this.#log(`lvsd: sync: cannot resolve client next hop ${hop} on "${dev}": ${e.message}`))
      .finally(() => this.#asking.delete(key));
  }

  /** Next hops that got a MAC since the last call, keyed "dev|hop". */
  takeResolved(): Map<string, ClientHop> {
    const r = this.#resolved;
    this.#resolved = new Map();
    return r;
  }
}
