/**
 * Changing commands as the admin API's edit operations: -A -E -D -C -a -e
 * -d --set each become one {@link EditOp} (a restore file becomes a list of
 * them, sent as one batch), and each operation has its single-resource
 * route.
 *
 * What ipvsadm sends, lvsadm sends (ipvsadm.c process_options, libipvs
 * ipvs_nl_fill_service_attr / ipvs_nl_fill_dest_attr): every setting of a
 * service or dest, defaults included, so -E and -e replace what they do not
 * name. A -g/-i dest takes the service port whatever -r says (ipvsadm sets
 * dest.port = svc.port for them), except in a group of several ports, which
 * like an IPVS fwmark service has none to force.
 *
 * @module
 */

import type { EditOp } from "../api/model.ts";
import type { Command, DestSettings, ServiceSettings } from "./args.ts";
import { defaultDestPort, serviceKeyOf, serviceMembers, type ServiceSpec } from "./address.ts";

/** -A's service in the config's form (the body of POST /v1/services). */
export function serviceConfig(service: ServiceSpec, settings: ServiceSettings): Record<string, unknown> {
  return {
    proto: service.proto,
    ...serviceMembers(service),
    ...serviceSet(settings),
  };
}

/** -E's settings: all of ipvsadm's, and --mh-table-size when given. */
function serviceSet(settings: ServiceSettings): Record<string, unknown> {
  return {
    scheduler: settings.scheduler,
    persistence: settings.persistence && { ...settings.persistence },
    ops: settings.ops,
    sched_flags: [...settings.schedFlags],
    ...(settings.mhTableSize !== null ? { mh_table_size: settings.mhTableSize } : {}),
  };
}

/** Whether the dest port is the service port whatever was given (-g, -i). */
function portForced(service: ServiceSpec, dest: DestSettings): boolean {
  return dest.forward !== "masq" && service.ports === null;
}

/** The dest settings -a and -e send, in the config's form. */
function destSet(dest: DestSettings): Record<string, unknown> {
  return {
    forward: dest.forward,
    ...(dest.forward === "tunnel" ? { tun_type: dest.tunType } : {}),
    ...(dest.forward === "tunnel" && dest.tunType === "gue" ? { tun_port: dest.tunPort } : {}),
    weight: dest.weight,
    u_threshold: dest.uThreshold,
    l_threshold: dest.lThreshold,
  };
}

/**
 * -a's dest in the config's form (the body of POST .../dests). A port that
 * is forced or not given is left out: the daemon fills in the service's
 * (0 for a group of several ports), as ipvsadm copies the service port.
 */
export function destConfig(service: ServiceSpec, dest: DestSettings): Record<string, unknown> {
  const port = portForced(service, dest) ? null : dest.port;
  return { address: dest.address, ...(port !== null ? { port } : {}), ...destSet(dest) };
}

/** The key of the dest -e or -d names: `address:port`, the port as ipvsadm works it out. */
export function destKeyOf(
  service: ServiceSpec,
  dest: { address: string; port: number | null; forward?: DestSettings["forward"] },
): string {
  const forced = dest.forward !== undefined && dest.forward !== "masq" && service.ports === null;
  const port = forced || dest.port === null ? defaultDestPort(service) : dest.port;
  return `${dest.address}:${port}`;
}

/** The edit operation of a changing command; null for the others. */
export function editOpOf(cmd: Command): EditOp | null {
  switch (cmd.kind) {
    case "add-service":
      return { op: "add_service", service: serviceConfig(cmd.service, cmd.settings) };
    case "edit-service":
      return { op: "edit_service", service: serviceKeyOf(cmd.service), set: serviceSet(cmd.settings) };
    case "delete-service":
      return { op: "delete_service", service: serviceKeyOf(cmd.service) };
    case "flush":
      return { op: "clear" };
    case "add-server":
      return { op: "add_dest", service: serviceKeyOf(cmd.service), dest: destConfig(cmd.service, cmd.dest) };
    case "edit-server":
      return {
        op: "edit_dest",
        service: serviceKeyOf(cmd.service),
        dest: destKeyOf(cmd.service, cmd.dest),
        set: destSet(cmd.dest),
      };
    case "delete-server":
      return { op: "delete_dest", service: serviceKeyOf(cmd.service), dest: destKeyOf(cmd.service, cmd.dest) };
    case "set":
      return { op: "set_timeouts", timeouts: { ...cmd.timeouts } };
    default:
      return null;
  }
}

/** One HTTP request of the admin API. */
export interface ApiRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
}

/**
 * The single-resource route of an edit operation. Keys go into the path
 * as they are: they hold only letters, digits, dots and colons, all legal
 * in a path segment (RFC 3986 section 3.3).
 */
export function requestOf(op: EditOp): ApiRequest {
  switch (op.op) {
    case "add_service":
      return { method: "POST", path: "/v1/services", body: op.service };
    case "edit_service":
      return { method: "PATCH", path: `/v1/services/${op.service}`, body: op.set };
    case "delete_service":
      return { method: "DELETE", path: `/v1/services/${op.service}` };
    case "clear":
      return { method: "DELETE", path: "/v1/services" };
    case "add_dest":
      return { method: "POST", path: `/v1/services/${op.service}/dests`, body: op.dest };
    case "edit_dest":
      return { method: "PATCH", path: `/v1/services/${op.service}/dests/${op.dest}`, body: op.set };
    case "delete_dest":
      return { method: "DELETE", path: `/v1/services/${op.service}/dests/${op.dest}` };
    case "set_timeouts":
      return { method: "PUT", path: "/v1/timeouts", body: op.timeouts };
  }
}
