/**
 * Turning a new config into the next service table without disturbing what
 * runs: services and dests that stay keep their stable ids (their counters,
 * scheduler state and ActiveConn/InActConn live at those ids, and live
 * connections refer to their dest by id), their resolved next hop, and
 * their place in the IPVS list order. New ones get ids no live connection
 * still refers to, so a removed dest's connections (kept until they expire,
 * their packets dropped, with expire_nodest_conn off) never share counters
 * with a newcomer. A dest added back to the service it left while such
 * connections remain gets its old id back, as IPVS takes a dest back from
 * its trash: the connections then carry on.
 */
import { type Config, memberKey, type ServiceConfig } from "../config/mod.ts";
import type { TableDest, TableService } from "../dataplane/tables.ts";

/** Limits of the shared layout. */
export interface IdSpace {
  maxServices: number;
  maxDests: number;
  /** True while connections (or templates) still count against a dest id. */
  destInUse(id: number): boolean;
  /**
   * Where to look for new dest ids first (one past the last one handed
   * out): ids are reused only after wrapping, so a new dest does not
   * inherit a removed one's counters while there is room.
   */
  nextDestId: number;
  /** The same for service ids (optional: 0). */
  nextSvcId?: number;
  /**
   * Called for every id handed out fresh (not kept, not taken back from the
   * trash), before anything is published under it: the caller zeroes the
   * counters an earlier holder of the id left (IPVS gives a new service or
   * dest zeroed stats).
   */
  fresh?: (kind: "service" | "dest", id: number) => void;
  /**
   * Ids of dests that left their service, by service and dest (the
   * kernel's dest trash); kept across calls by the caller. An entry lasts
   * while connections still count against its id.
   */
  trash?: Map<string, number>;
}

/**
 * A service's identity across reloads: proto and its members ("vip:port",
 * or a group's canonical member set, however the file writes it).
 */
const serviceKey = (s: ServiceConfig | TableService) => `${s.proto} ${memberKey(s)}`;
const destKey = (d: { addr: string; port: number }) => `${d.addr}:${d.port}`;
const trashKey = (s: ServiceConfig | TableService, d: { addr: string; port: number }) =>
  `${serviceKey(s)} ${destKey(d)}`;

/** The TableService for a configured service, keeping ids and next hops from `prev`. */
function tableService(
  s: ServiceConfig,
  id: number,
  prev: TableService | undefined,
  newDestId: (key: string) => number,
) {
  const old = new Map((prev?.dests ?? []).map((d) => [destKey(d), d]));
  // Dests that stay keep their relative order (IPVS does not move a dest
  // that is edited); new ones are added after them, i.e. at the list head.
  const staying = (prev?.dests ?? []).filter((d) =>
    s.dests.some((c) => destKey({ addr: c.address, port: c.port }) === destKey(d))
  );
  const added = s.dests.filter((c) => !old.has(destKey({ addr: c.address, port: c.port })));
  const dests: TableDest[] = [];
  for (
    const c of [
      ...staying.map((d) => s.dests.find((x) => destKey({ addr: x.address, port: x.port }) === destKey(d))!),
      ...added,
    ]
  ) {
    const was = old.get(destKey({ addr: c.address, port: c.port }));
    dests.push({
      id: was ? was.id : newDestId(trashKey(s, { addr: c.address, port: c.port })),
      addr: c.address,
      port: c.port,
      weight: c.weight,
      forward: c.forward,
      tunType: c.tunType,
      tunPort: c.tunPort,
      uThreshold: c.uThreshold,
      lThreshold: c.lThreshold,
      // A dest whose address stays keeps its next hop; the supervisor
      // resolves the others before they take connections.
      ifaceSlot: was?.ifaceSlot ?? 0,
      mac: was?.mac ?? null,
    });
  }
  return {
    id,
    proto: s.proto,
    vip: s.vip,
    port: s.port,
    group: s.group,
    scheduler: s.scheduler,
    persistence: s.persistence,
    ops: s.ops,
    schedFlags: s.schedFlags,
    mhTableSize: s.mhTableSize,
    dests,
  } satisfies TableService;
}

/**
 * The service table for `config`, reusing ids from `prev`. Throws (and
 * changes nothing) when the layout has no room.
 */
export function planServices(prev: readonly TableService[], config: Config, ids: IdSpace): TableService[] {
  const prevByKey = new Map(prev.map((s) => [serviceKey(s), s]));
  const usedSvc = new Set<number>();
  for (const s of config.services) {
    const p = prevByKey.get(serviceKey(s));
    if (p) usedSvc.add(p.id);
  }
  const usedDest = new Set<number>();
  for (const s of config.services) {
    const p = prevByKey.get(serviceKey(s));
    for (const d of p?.dests ?? []) {
      if (s.dests.some((c) => c.address === d.addr && c.port === d.port)) usedDest.add(d.id);
    }
  }
  // New service ids continue after the last one handed out and skip every
  // id the previous table used: a service removed in this very change may
  // still have connections (and counters) under its id (review).
  for (const p of prev) usedSvc.add(p.id);
  let nextSvc = ids.nextSvcId ?? 0;
  const newSvcId = () => {
    for (let n = 0; n < ids.maxServices; n++, nextSvc++) {
      const id = nextSvc % ids.maxServices;
      if (usedSvc.has(id)) continue;
      usedSvc.add(id);
      nextSvc = id + 1;
      ids.nextSvcId = nextSvc;
      ids.fresh?.("service", id);
      return id;
    }
    throw new Error(`Cannot add a service: at most ${ids.maxServices}`);
  };
  // Trashed ids whose connections are all gone are free for anyone now.
  const trash = new Map(ids.trash ?? []);
  for (const [key, id] of trash) if (!ids.destInUse(id)) trash.delete(key);
  for (const p of prev) {
    const s = config.services.find((c) => serviceKey(c) === serviceKey(p));
    for (const d of p.dests) {
      const stays = s?.dests.some((c) => c.address === d.addr && c.port === d.port);
      if (!stays && ids.destInUse(d.id)) trash.set(trashKey(p, d), d.id);
    }
  }
  let nextDest = ids.nextDestId;
  const newDestId = (key: string) => {
    const old = trash.get(key);
    if (old !== undefined && !usedDest.has(old)) {
      trash.delete(key);
      usedDest.add(old);
      return old;
    }
    for (let n = 0; n < ids.maxDests; n++, nextDest++) {
      const id = nextDest % ids.maxDests;
      if (usedDest.has(id) || ids.destInUse(id)) continue;
      usedDest.add(id);
      nextDest = id + 1;
      ids.nextDestId = nextDest;
      ids.fresh?.("dest", id);
      return id;
    }
    throw new Error(`Cannot add a dest: all ${ids.maxDests} dest ids are taken (by dests or their live connections)`);
  };
  const next = config.services.map((s) => {
    const p = prevByKey.get(serviceKey(s));
    return tableService(s, p ? p.id : newSvcId(), p, newDestId);
  });
  if (ids.trash) {
    ids.trash.clear();
    for (const [key, id] of trash) ids.trash.set(key, id);
  }
  return next;
}
