/**
 * Turning a new config into the next service table without disturbing what
 * runs: services and dests that stay keep their stable ids (their counters,
 * scheduler state and ActiveConn/InActConn live at those ids, and live
 * connections refer to their dest by id), their resolved next hop, and
 * their place in the IPVS list order. New ones get ids no live connection
 * still refers to, so a removed dest's connections (which IPVS keeps
 * forwarding, expire_nodest_conn=0) never share counters with a newcomer.
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
}

/**
 * A service's identity across reloads: proto and its members ("vip:port",
 * or a group's canonical member set, however the file writes it).
 */
const serviceKey = (s: ServiceConfig | TableService) => `${s.proto} ${memberKey(s)}`;
const destKey = (d: { addr: string; port: number }) => `${d.addr}:${d.port}`;

/** The TableService for a configured service, keeping ids and next hops from `prev`. */
function tableService(s: ServiceConfig, id: number, prev: TableService | undefined, newDestId: () => number) {
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
      id: was ? was.id : newDestId(),
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
  let nextSvc = 0;
  const newSvcId = () => {
    while (nextSvc < ids.maxServices && usedSvc.has(nextSvc)) nextSvc++;
    if (nextSvc >= ids.maxServices) throw new Error(`Cannot add a service: at most ${ids.maxServices}`);
    usedSvc.add(nextSvc);
    return nextSvc;
  };
  let nextDest = ids.nextDestId;
  const newDestId = () => {
    for (let n = 0; n < ids.maxDests; n++, nextDest++) {
      const id = nextDest % ids.maxDests;
      if (usedDest.has(id) || ids.destInUse(id)) continue;
      usedDest.add(id);
      nextDest = id + 1;
      ids.nextDestId = nextDest;
      return id;
    }
    throw new Error(`Cannot add a dest: all ${ids.maxDests} dest ids are taken (by dests or their live connections)`);
  };
  return config.services.map((s) => {
    const p = prevByKey.get(serviceKey(s));
    return tableService(s, p ? p.id : newSvcId(), p, newDestId);
  });
}
