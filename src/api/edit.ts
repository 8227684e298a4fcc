/**
 * Edits of the running configuration ({@link EditOp}, model.ts), applied in
 * order to a copy of its config-file form and validated by the config
 * file's own schema: the result is a new normalised {@link Config}, or an
 * {@link EditError} naming the op and the path of each problem in the
 * request. Pure: nothing is changed, the caller applies the result.
 *
 * Each op is checked as it is applied, against the service it touches
 * alone (so a problem is pathed in that op, and a batch of many ops costs
 * each op the size of what it touches); the whole result is validated
 * once more at the end, for what only the whole config shows (service
 * groups overlapping, table limits), and those problems are traced back to
 * the op that wrote the thing they are about.
 *
 * @module
 */

import { type Config, ConfigError, configFromObject, configToObject, type ServiceConfig } from "../config/mod.ts";
import { checkOpShape } from "./edit_ops.ts";
import { EditError, opError } from "./edit_error.ts";
import { normaliseDestKey, normaliseServiceKey, noSuchDest, noSuchService } from "./keys.ts";
import { destKey, type EditOp, serviceKey } from "./model.ts";
import { formatPath, parsePath, type Path } from "./paths.ts";
import type { ProblemItem } from "./problems.ts";

export { EditError, singleOpError } from "./edit_error.ts";

type Obj = Record<string, unknown>;

/** Where a service or dest was last written: `ops[op]` at `at` (e.g. ["service", "dests", 2], ["set"]). */
interface Origin {
  op: number;
  at: Path;
  /** For `set` origins: the keys that op set. */
  keys?: string[];
}

interface WorkDest {
  key: string;
  obj: Obj;
  origin: Origin | null;
}

interface WorkService {
  key: string;
  /** Config-form keys, without dests. */
  obj: Obj;
  dests: WorkDest[];
  origin: Origin | null;
  /** The last op that changed the service or its dests. */
  touched: number | null;
}

interface Work {
  root: Obj;
  services: WorkService[];
  /** The last op that added or grew a service: blamed for whole-config limits. */
  lastGrowth: number | null;
}

/**
 * Applies `ops` in order to `config` and returns the new config.
 *
 * @throws {EditError} 404 for a service or dest that does not exist, 409
 *   for one that already exists (or overlaps a service group), 422 for an
 *   op of the wrong shape or a value the config schema refuses.
 */
export function applyOps(config: Config, ops: readonly EditOp[]): Config {
  const root = configToObject(config);
  const work: Work = {
    root,
    services: config.services.map((s, i) => fromObject(s, (root.services as Obj[])[i], null)),
    lastGrowth: null,
  };
  ops.forEach((raw, i) => {
    const shape = checkOpShape(raw, i);
    const name = typeof (raw as Obj)?.op === "string" ? String((raw as Obj).op) : "?";
    if ("problems" in shape) throw opError(422, i, name, shape.problems);
    apply(work, shape.op, i);
  });
  return finish(work, ops);
}

function fromObject(s: ServiceConfig, obj: Obj, origin: Origin | null): WorkService {
  const { dests, ...rest } = obj;
  return {
    key: serviceKey(s),
    obj: rest,
    dests: (dests as Obj[]).map((d, j) => ({
      key: destKey(s.dests[j]),
      obj: d,
      origin: origin && { op: origin.op, at: [...origin.at, "dests", j] },
    })),
    origin,
    touched: origin?.op ?? null,
  };
}

function apply(work: Work, op: EditOp, i: number): void {
  switch (op.op) {
    case "add_service":
      return addService(work, op.service, i);
    case "edit_service":
      return editService(work, op.service, op.set, i);
    case "delete_service": {
      const s = findService(work, op.service, i, op.op);
      work.services.splice(work.services.indexOf(s), 1);
      return;
    }
    case "clear":
      work.services = [];
      return;
    case "add_dest":
      return addDest(work, op.service, op.dest, i);
    case "edit_dest":
      return editDest(work, op, i);
    case "delete_dest": {
      const s = findService(work, op.service, i, op.op);
      const d = findDest(s, op.dest, i, op.op);
      s.dests.splice(s.dests.indexOf(d), 1);
      s.touched = i;
      return;
    }
    case "set_timeouts": {
      const timeouts = { ...(work.root.timeouts as Obj) };
      // ipvsadm(8), --set: a 0 leaves that timeout as it is.
      for (const [k, v] of Object.entries(op.timeouts)) if (v) timeouts[k] = v;
      work.root = { ...work.root, timeouts };
      return;
    }
  }
}

function findService(work: Work, key: string, i: number, name: string): WorkService {
  const want = normaliseServiceKey(key);
  const s = work.services.find((s) => s.key === want);
  if (!s) throw opError(404, i, name, [], noSuchService(key));
  return s;
}

function findDest(s: WorkService, key: string, i: number, name: string): WorkDest {
  const want = normaliseDestKey(key);
  const d = s.dests.find((d) => d.key === want);
  if (!d) throw opError(404, i, name, [], noSuchDest(key, s.key));
  return d;
}

/** One service validated alone: normalised, or its problems pathed from the service. */
function checkService(svc: Obj): { service: ServiceConfig; obj: Obj } | { issues: { path: Path; message: string }[] } {
  try {
    const c = configFromObject({ interfaces: [{ name: "lo" }], services: [svc] }, "the edited service");
    return { service: c.services[0], obj: (configToObject(c).services as Obj[])[0] };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return {
      issues: e.issues.map((iss) => {
        const p = parsePath(iss.path) ?? [];
        // A problem of the service has its path under services[0]; one of the whole config (a table limit) has none.
        return { path: p[0] === "services" && p[1] === 0 ? p.slice(2) : [], message: iss.message };
      }),
    };
  }
}

function addService(work: Work, svc: Obj, i: number): void {
  const r = checkService(svc);
  if ("issues" in r) {
    throw opError(
      422,
      i,
      "add_service",
      r.issues.map((iss) => ({
        path: formatPath(["ops", i, "service", ...iss.path]),
        message: iss.message.replaceAll("services[0].", `ops[${i}].service.`),
      })),
    );
  }
  const key = serviceKey(r.service);
  if (work.services.some((s) => s.key === key)) {
    throw opError(409, i, "add_service", [{ path: `ops[${i}].service`, message: `service ${key} already exists` }]);
  }
  work.services.push(fromObject(r.service, r.obj, { op: i, at: ["service"] }));
  work.lastGrowth = i;
}

/**
 * A problem found after `set` was applied: pathed at the set key that
 * caused it, or at `set` itself naming the config key when the request did
 * not set that key (e.g. a scheduler change that leaves an sh-only flag).
 */
function setProblem(i: number, keys: readonly string[], path: Path, message: string, whose: string): ProblemItem {
  if (typeof path[0] === "string" && keys.includes(path[0])) {
    return { path: formatPath(["ops", i, "set", ...path]), message };
  }
  return {
    path: formatPath(["ops", i, "set"]),
    message: path.length ? `${whose} ${formatPath(path)}: ${message}` : message,
  };
}

function editService(work: Work, key: string, set: Obj, i: number): void {
  const s = findService(work, key, i, "edit_service");
  const obj: Obj = { ...s.obj, ...set };
  // mh_table_size is a property of mh tables: another scheduler leaves it behind unless it is set too.
  if (set.scheduler !== undefined && set.scheduler !== "mh" && !("mh_table_size" in set)) delete obj.mh_table_size;
  const keys = Object.keys(set);
  const r = checkService({ ...obj, dests: s.dests.map((d) => d.obj) });
  if ("issues" in r) {
    throw opError(
      422,
      i,
      "edit_service",
      r.issues.map((iss) => setProblem(i, keys, iss.path, iss.message, "the service's")),
    );
  }
  const { dests: _, ...rest } = r.obj;
  s.obj = rest;
  s.origin = { op: i, at: ["set"], keys };
  s.touched = i;
  if (set.scheduler !== undefined || set.mh_table_size !== undefined) work.lastGrowth = i;
}

function addDest(work: Work, key: string, dest: Obj, i: number): void {
  const s = findService(work, key, i, "add_dest");
  // Checked with the service's keys but none of its other dests: the duplicate test below needs only keys.
  const r = checkService({ ...s.obj, dests: [dest] });
  if ("issues" in r) {
    throw opError(
      422,
      i,
      "add_dest",
      r.issues.map((iss) =>
        iss.path[0] === "dests" && iss.path[1] === 0
          ? { path: formatPath(["ops", i, "dest", ...iss.path.slice(2)]), message: iss.message }
          : {
            path: `ops[${i}].dest`,
            message: iss.path.length ? `${formatPath(iss.path)}: ${iss.message}` : iss.message,
          }
      ),
    );
  }
  const dkey = destKey(r.service.dests[0]);
  if (s.dests.some((d) => d.key === dkey)) {
    throw opError(409, i, "add_dest", [{
      path: `ops[${i}].dest`,
      message: `dest ${dkey} already exists in service ${s.key}`,
    }]);
  }
  s.dests.push({ key: dkey, obj: (r.obj.dests as Obj[])[0], origin: { op: i, at: ["dest"] } });
  s.touched = i;
  work.lastGrowth = i;
}

function editDest(work: Work, op: Extract<EditOp, { op: "edit_dest" }>, i: number): void {
  const s = findService(work, op.service, i, op.op);
  const d = findDest(s, op.dest, i, op.op);
  const set = op.set;
  const obj: Obj = { ...d.obj, ...set };
  // Tunnel settings belong to forward tunnel (and tun_port to gue): a dest
  // moved to masq or route, or to ipip, drops them unless they are set too
  // (then the schema says why they do not apply).
  const forward = obj.forward;
  if (forward !== "tunnel" && !("tun_type" in set)) delete obj.tun_type;
  if ((forward !== "tunnel" || (obj.tun_type ?? "ipip") !== "gue") && !("tun_port" in set)) delete obj.tun_port;
  const keys = Object.keys(set);
  const r = checkService({ ...s.obj, dests: [obj] });
  if ("issues" in r) {
    throw opError(
      422,
      i,
      op.op,
      r.issues.map((iss) =>
        iss.path[0] === "dests" && iss.path[1] === 0
          ? setProblem(i, keys, iss.path.slice(2), iss.message, "the dest's")
          : setProblem(i, [], iss.path, iss.message, "the service's")
      ),
    );
  }
  d.obj = (r.obj.dests as Obj[])[0];
  d.origin = { op: i, at: ["set"], keys };
  s.touched = i;
}

/** The whole result validated once more; problems only the whole config shows, traced to their ops. */
function finish(work: Work, ops: readonly EditOp[]): Config {
  const doc = {
    ...work.root,
    services: work.services.map((s) => ({ ...s.obj, dests: s.dests.map((d) => d.obj) })),
  };
  try {
    return configFromObject(doc, "the edited config");
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const traced = e.issues.map((iss) => trace(work, parsePath(iss.path) ?? [], iss.message));
    const status = traced.every((t) => t.conflict) ? 409 : 422;
    const first = traced[0];
    const name = first.op === null ? "?" : String((ops[first.op] as Obj).op);
    const items = traced.map((t) => t.item);
    if (first.op === null) throw new EditError(status, `the edited config is not valid: ${items[0].message}`, items);
    throw opError(status, first.op, name, items);
  }
}

/**
 * A whole-config problem as a problem of the op that wrote what it is
 * about: the op that added or last set the service or dest, pathed within
 * it; else the last op that touched the service; else the last that grew
 * the config.
 */
function trace(work: Work, path: Path, message: string): { item: ProblemItem; op: number | null; conflict: boolean } {
  const whole = (op: number | null, msg: string) => ({
    item: { path: op === null ? "" : `ops[${op}]`, message: msg },
    op,
  });
  const s = path[0] === "services" && typeof path[1] === "number" ? work.services[path[1]] : undefined;
  if (!s) return { ...whole(work.lastGrowth, `${formatPath(path) || "config"}: ${message}`), conflict: false };
  // overlaps.ts: "duplicate of services[j] (...)" / "overlaps services[j] (...)", on the later service.
  const conflict = path.length === 2 && /^(duplicate of|overlaps) services\[\d+\]/.test(message);
  const msg = message.replace(/services\[(\d+)\]/g, (m, j) => {
    const other = work.services[Number(j)];
    return other ? `service ${other.key}` : m;
  });
  const rest = path.slice(2);
  const dest = rest[0] === "dests" && typeof rest[1] === "number" ? s.dests[rest[1]] : undefined;
  const [origin, within, whose] = dest?.origin
    ? [dest.origin, rest.slice(2), "the dest's"]
    : [s.origin, rest, "the service's"];
  if (origin && (s.touched === null || s.touched <= origin.op)) {
    const item = origin.at[origin.at.length - 1] === "set"
      ? setProblem(origin.op, origin.keys ?? [], within, msg, whose)
      : { path: formatPath(["ops", origin.op, ...origin.at, ...within]), message: msg };
    return { item, op: origin.op, conflict };
  }
  const where = rest.length ? ` ${formatPath(rest)}` : "";
  return { ...whole(s.touched ?? work.lastGrowth, `service ${s.key}${where}: ${msg}`), conflict };
}
