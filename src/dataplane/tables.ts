/**
 * Building and publishing the service and dest tables.
 *
 * The tables are double buffered in the shared memory: the supervisor
 * writes the copy no worker reads, waits until no worker is still inside a
 * batch that reads it, then flips CTRL_GEN with one atomic store. Workers
 * pick up the new copy at their next batch, so a change never stalls or
 * tears the packet path and existing connections keep their dests (they
 * hold their own daddr/dport/MACs).
 */
import type { SharedState } from "./shared_state.ts";
import { SchedTables } from "./sched_tables.ts";
import { multiPort, serviceAddresses, type ServiceGroup, serviceLabel, servicePorts } from "../config/members.ts";

/** A dest as the data plane needs it, in the order it was added. */
export interface TableDest {
  /** Stable id (0..MAX_DESTS-1): counters and ActiveConn/InActConn live there. */
  id: number;
  addr: string;
  port: number;
  weight: number;
  /** Interface slot towards the dest. */
  ifaceSlot: number;
  /** Next-hop MAC; null while unresolved (the dest takes no new connections). */
  mac: Uint8Array | null;
  vlan?: number;
  /** ipvsadm -m / -g / -i; masq when absent. */
  forward?: "masq" | "route" | "tunnel";
  /** --tun-type (tunnel only); ipip when absent. */
  tunType?: "ipip" | "gue";
  /** --tun-port (gue). */
  tunPort?: number;
  /** -x / -y connection thresholds (0 = none). */
  uThreshold?: number;
  lThreshold?: number;
}

/** A virtual service as the data plane needs it. */
export interface TableService {
  /** Stable id (0..MAX_SERVICES-1). */
  id: number;
  proto: "tcp" | "udp";
  /** vaddr; for a service group, its first address. */
  vip: string;
  /** vport (0 = any port); for a service group, its first port. */
  port: number;
  /**
   * A service group's members (vips and port ranges), absent or null for
   * one vip:port. Its dests then have port 0 when it has several ports.
   */
  group?: ServiceGroup | null;
  /** A scheduler name the module knows (SCHED_NAMES). */
  scheduler: string;
  /** In the order they were added; IPVS lists (and iterates) newest first. */
  dests: TableDest[];
  /** -p timeout (s) and -M netmask; absent = not persistent. */
  persistence?: { timeout: number; netmask: string } | null;
  /** -o: one-packet scheduling (UDP). */
  ops?: boolean;
  /** -b flags: sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3. */
  schedFlags?: string[];
  /** mh: Maglev lookup table size (one of the kernel's primes); 4093 when absent. */
  mhTableSize?: number;
}

const PROTO = { tcp: 6, udp: 17 } as const;
const FORWARD = { masq: 0, tunnel: 2, route: 3 } as const;
const TUN_TYPE = { ipip: 0, gue: 1 } as const;
/** -b flag -> SVC_FLAGS bit (IP_VS_SVC_F_SCHED1..3; sh/mh names alias them as ipvsadm does). */
const SCHED_FLAG_BITS: Record<string, number> = {
  "flag-1": 0x0008,
  "sh-fallback": 0x0008,
  "mh-fallback": 0x0008,
  "flag-2": 0x0010,
  "sh-port": 0x0010,
  "mh-port": 0x0010,
  "flag-3": 0x0020,
};

/** Wire-order IPv4 bytes of a dotted quad. */
export function ipv4Bytes(addr: string): Uint8Array {
  const parts = addr.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`Cannot use address "${addr}": not an IPv4 address`);
  }
  return new Uint8Array(parts);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** mw and di of ip_vs_wrr_init_svc()/ip_vs_wrr_dest_changed(). */
export function wrrMarks(weights: number[]): { mw: number; di: number } {
  let g = 0;
  for (const w of weights) if (w > 0) g = g > 0 ? gcd(w, g) : w;
  const di = g || 1;
  return { mw: Math.max(0, ...weights) - (di - 1), di };
}

/**
 * The (VIP, port member) pairs a service is found under, its first member
 * first: one for an ordinary service.
 */
function groupMembers(svc: TableService): { vip: string; from: number; to: number }[] {
  const ports = servicePorts(svc);
  return serviceAddresses(svc).flatMap((vip) => ports.map((p) => ({ vip, from: p.from, to: p.to })));
}

/** Publishes table generations into a SharedState. */
export class TablePublisher {
  #state: SharedState;
  #published = new Map<number, { sched: string; dests: string; ids: number[] }>();
  #sched: SchedTables;

  constructor(state: SharedState) {
    this.#state = state;
    this.#sched = new SchedTables(state);
  }

  /** Writes `services` into the inactive copy and makes it active. */
  async publish(services: TableService[]): Promise<void> {
    const s = this.#state;
    const l = s.layout;
    const v = s.view;
    if (services.length > l.MAX_SERVICES) {
      throw new Error(`Cannot publish ${services.length} services: at most ${l.MAX_SERVICES}`);
    }
    const members = services.map((svc) => groupMembers(svc));
    const records = members.reduce((n, m) => n + m.length, 0);
    if (records > l.SVC_RECORDS) {
      throw new Error(
        `Cannot publish ${records} service records (one per VIP and port member): at most ${l.SVC_RECORDS}`,
      );
    }
    const gen = Atomics.load(new Uint32Array(s.memory.buffer), (l.CTRL + l.CTRL_GEN) >> 2);
    const copy = (gen + 1) & 1;
    await this.#waitForReaders(copy);

    const svcBase = l.SVC + copy * l.SVC_COPY;
    const destBase = l.DEST + copy * l.DEST_COPY;
    s.u8.fill(0, svcBase, svcBase + l.SVC_COPY);
    this.#sched.begin(copy);
    // Everything that touches memory the workers read now (dest state by
    // id, scheduler cursors, locality tables) waits here until the whole
    // copy is written, so a publish that fails part way changes nothing.
    const effects: (() => void)[] = [];
    let di = 0;
    services.forEach((svc, idx) => {
      const p = svcBase + idx * l.SVC_SIZE;
      const vip = ipv4Bytes(svc.vip);
      v.setUint8(p + l.SVC_PROTO, PROTO[svc.proto]);
      const schedId = s.schedulers.indexOf(svc.scheduler);
      if (schedId <= 0) {
        throw new Error(`Cannot publish service ${serviceLabel(svc)}: unknown scheduler "${svc.scheduler}"`);
      }
      if (multiPort(svc) && svc.dests.some((d) => d.port !== 0)) {
        throw new Error(
          `Cannot publish service ${serviceLabel(svc)}: its dests take the port each client asked for, so have port 0`,
        );
      }
      v.setUint8(p + l.SVC_SCHED, schedId);
      let flags = 0;
      for (const f of svc.schedFlags ?? []) flags |= SCHED_FLAG_BITS[f] ?? 0;
      if (svc.persistence) {
        flags |= l.SVC_F_PERSISTENT;
        v.setUint32(p + l.SVC_PTIMEOUT, svc.persistence.timeout, true);
        s.u8.set(ipv4Bytes(svc.persistence.netmask), p + l.SVC_PMASK);
      }
      if (svc.ops) flags |= l.SVC_F_ONEPACKET;
      v.setUint16(p + l.SVC_FLAGS, flags, true);
      s.u8.set(vip, p + l.SVC_VADDR);
      v.setUint16(p + l.SVC_VPORT, svc.port, false);
      v.setUint16(p + l.SVC_ID, svc.id, true);
      if (svc.group) {
        // The group's template key (persist.ts): its mark, id + 1 as an
        // address in 0.0.0.0/8, which is never a VIP (as IPVS writes a
        // fwmark there).
        v.setUint32(p + l.SVC_TADDR, svc.id + 1, false);
      }
      v.setUint16(p + l.SVC_DEST_FIRST, di, true);
      v.setUint16(p + l.SVC_DEST_COUNT, svc.dests.length, true);
      const marks = wrrMarks(svc.dests.map((d) => d.weight));
      v.setInt32(p + l.SVC_WRR_MW, marks.mw, true);
      v.setInt32(p + l.SVC_WRR_DI, marks.di, true);
      // IPVS adds each new dest at the head of the list: newest first.
      for (const d of [...svc.dests].reverse()) {
        if (di >= l.MAX_DESTS) throw new Error(`Cannot publish more than ${l.MAX_DESTS} dests`);
        const q = destBase + di * l.DEST_SIZE;
        s.u8.fill(0, q, q + l.DEST_SIZE);
        s.u8.set(ipv4Bytes(d.addr), q + l.DEST_ADDR);
        v.setUint16(q + l.DEST_PORT, d.port, false);
        v.setUint16(q + l.DEST_ID, d.id, true);
        v.setInt32(q + l.DEST_WEIGHT, d.weight, true);
        v.setUint8(q + l.DEST_FWD, FORWARD[d.forward ?? "masq"]);
        v.setUint8(q + l.DEST_TUN_TYPE, TUN_TYPE[d.tunType ?? "ipip"]);
        v.setUint16(q + l.DEST_TUN_PORT, d.tunPort ?? 0, false);
        effects.push(() => {
          this.#setThresholds(d);
          this.#setPresent(d);
        });
        v.setUint8(q + l.DEST_FLAGS, d.mac ? l.DEST_F_AVAILABLE : 0);
        v.setUint8(q + l.DEST_IFACE, d.ifaceSlot);
        if (d.mac) {
          s.u8.set(d.mac.subarray(0, 6), q + l.DEST_MAC);
          // Live connections read their dest's next hop from DSTATE (by
          // stable id), so a changed MAC reaches them too.
          let mac = 0n;
          for (let b = 5; b >= 0; b--) mac = (mac << 8n) | BigInt(d.mac[b]);
          effects.push(() =>
            Atomics.store(
              new BigUint64Array(s.memory.buffer),
              (l.DSTATE + d.id * l.DSTATE_SIZE + l.DSTATE_MAC) >> 3,
              mac,
            )
          );
        }
        v.setUint16(q + l.DEST_VLAN, d.vlan ?? 0, true);
        di++;
      }
      this.#sched.write(svc, p);
      effects.push(() => {
        this.#sched.locality(svc);
        this.#resetSchedulerIfChanged(svc, marks);
      });
    });
    // Every member of a group gets a record of its own: a copy of the
    // service's (same id, dests, scheduler fields) with its VIP and ports.
    let r = services.length;
    members.forEach((list, idx) => {
      const first = svcBase + idx * l.SVC_SIZE;
      list.forEach((m, i) => {
        const p = i === 0 ? first : svcBase + r++ * l.SVC_SIZE;
        if (p !== first) s.u8.copyWithin(p, first, first + l.SVC_SIZE);
        s.u8.set(ipv4Bytes(m.vip), p + l.SVC_VADDR);
        v.setUint16(p + l.SVC_VPORT, m.from, false);
        v.setUint16(p + l.SVC_VPORT_END, m.to === m.from ? 0 : m.to, false);
      });
    });
    s.exports.svc_hash_build(copy, records);
    for (const apply of effects) apply();
    v.setUint32(l.CTRL + l.CTRL_NSVC + copy * 4, records, true);
    Atomics.store(new Uint32Array(s.memory.buffer), (l.CTRL + l.CTRL_GEN) >> 2, gen + 1);
    const published = new Set(services.flatMap((svc) => svc.dests.map((d) => d.id)));
    // After the flip: until then a worker on the old copy may still pick
    // the dest for a new connection, which must not be dropped at once.
    for (const id of this.#knownDests) if (!published.has(id)) this.#markRemoved(id);
    this.#knownDests = published;
    this.#sched.commit();
  }

  /**
   * Mirrors the weight of a dest being published into its state line and
   * takes back a DEST_REMOVED mark: the dest is in a service again (or its
   * id went to a new dest). Connections know only their dest id, and what
   * expire_nodest_conn does depends on both.
   */
  #setPresent(d: TableDest): void {
    const l = this.#state.layout;
    const at = (l.DSTATE + d.id * l.DSTATE_SIZE) >> 2;
    Atomics.store(new Int32Array(this.#state.memory.buffer), at + (l.DSTATE_WEIGHT >> 2), d.weight);
    Atomics.and(new Uint32Array(this.#state.memory.buffer), at + (l.DSTATE_FLAGS >> 2), ~l.DEST_REMOVED);
  }

  /**
   * Marks dest `id` as gone from its service (IPVS clears the dest's
   * IP_VS_DEST_F_AVAILABLE when it unlinks it): packets of its remaining
   * connections are dropped, or end them with expire_nodest_conn.
   */
  #markRemoved(id: number): void {
    const l = this.#state.layout;
    const at = (l.DSTATE + id * l.DSTATE_SIZE + l.DSTATE_FLAGS) >> 2;
    Atomics.or(new Uint32Array(this.#state.memory.buffer), at, l.DEST_REMOVED);
  }

  /**
   * Mirrors a dest's -x/-y thresholds into its state line, where the data
   * plane reads them when connections are bound and unbound (a connection
   * knows only its dest id). As __ip_vs_update_dest does, OVERLOAD is
   * cleared when the upper threshold is removed (0) or raised; lowering it
   * or changing only the lower one leaves the mark to the next connection
   * that is bound or unbound.
   */
  #setThresholds(d: TableDest): void {
    const l = this.#state.layout;
    const cells = new Uint32Array(this.#state.memory.buffer);
    const at = (l.DSTATE + d.id * l.DSTATE_SIZE) >> 2;
    const u = d.uThreshold ?? 0;
    const was = Atomics.load(cells, at + (l.DSTATE_UTHRESH >> 2));
    // New values first: a worker binding meanwhile must not set the mark
    // again by the old, lower threshold.
    Atomics.store(cells, at + (l.DSTATE_UTHRESH >> 2), u);
    Atomics.store(cells, at + (l.DSTATE_LTHRESH >> 2), d.lThreshold ?? 0);
    // A dest id this publisher has not published before is a new dest (an
    // id is reused only once no connection counts against it): whatever
    // mark its previous holder left does not apply.
    const fresh = !this.#knownDests.has(d.id);
    if (fresh || u === 0 || u > was) Atomics.and(cells, at + (l.DSTATE_FLAGS >> 2), ~l.DEST_OVERLOAD);
  }

  /** Dest ids of the last publish (see #setThresholds). */
  #knownDests = new Set<number>();

  /**
   * Keeps each service's scheduler cursor meaningful across a change of its
   * dests, as the kernel does under its sched lock:
   * - wrr (ip_vs_wrr_dest_changed): back to the list head, cw re-fitted;
   * - rr (the cursor is a pointer to a dest): stays on the same dest at its
   *   new position; if that dest was removed, ip_vs_rr_del_dest moves it to
   *   the entry before it (the nearest earlier dest still listed, or the head).
   * Positions are in IPVS list order (newest first).
   */
  #resetSchedulerIfChanged(svc: TableService, marks: { mw: number; di: number }): void {
    const key = svc.dests.map((d) => `${d.id}:${d.weight}:${d.mac ? 1 : 0}`).join(",");
    const ids = [...svc.dests].reverse().map((d) => d.id);
    const prev = this.#published.get(svc.id);
    this.#published.set(svc.id, { sched: svc.scheduler, dests: key, ids });
    if (prev && prev.dests === key && prev.sched === svc.scheduler) return;
    const s = this.#state;
    const l = s.layout;
    const at = l.SCHED + svc.id * l.SCHED_SIZE;
    const cells = new BigUint64Array(s.memory.buffer);
    const old = Atomics.load(cells, at >> 3);
    let next = 0n;
    if (prev && prev.sched === svc.scheduler && svc.scheduler === "wrr") {
      const cw = Number(old >> 32n) | 0;
      const fitted = cw > marks.mw || cw === 0
        ? marks.mw
        : marks.di > 1
        ? Math.floor(cw / marks.di) * marks.di + 1
        : cw;
      next = BigInt(fitted >>> 0) << 32n;
    } else if (prev && prev.sched === svc.scheduler && svc.scheduler === "rr") {
      let moved = -1; // the head
      for (let pos = Number(old & 0xffffffffn) - 1; pos >= 0 && moved < 0; pos--) moved = ids.indexOf(prev.ids[pos]);
      next = BigInt(moved + 1);
    }
    Atomics.store(cells, at >> 3, next);
  }

  /** Waits (bounded) until no worker is inside a batch reading copy `copy`. */
  async #waitForReaders(copy: number): Promise<void> {
    const s = this.#state;
    const l = s.layout;
    const u32 = new Uint32Array(s.memory.buffer);
    const deadline = Date.now() + 1000;
    for (;;) {
      let busy = false;
      for (let w = 0; w < s.workers; w++) {
        const g = Atomics.load(u32, (s.statsBase(w) + l.G_IN_BATCH * 8) >> 2);
        if ((g & 0x80000000) !== 0 && (g & 1) === copy) busy = true;
      }
      if (!busy) return;
      if (Date.now() > deadline) throw new Error("Cannot publish tables: a worker stays inside one batch for over 1 s");
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
