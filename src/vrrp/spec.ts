/**
 * A `vrrp_instances:` entry of the config file, checked: keepalived's
 * vrrp_instance keywords with its defaults and its rules, each refusal a
 * clear message with the key's path. The config schema (src/config/schema.ts)
 * runs {@link validateVrrpInstances}; the cross checks that need the rest of
 * the config (interfaces, services) are {@link vrrpConfigIssues}.
 *
 * Durations are seconds in the file (as keepalived's) and milliseconds here.
 *
 * @module
 */
import { parseIpv4 as parseIpv4OrNull } from "../config/members.ts";

/** One virtual_ipaddress entry: an address, its prefix (informational) and the device it is answered on. */
export interface VrrpAddressSpec {
  address: string;
  prefix: number;
  /** The device named with `dev`, or null for the instance's interface. */
  dev: string | null;
}

/** A track_script entry (keepalived's vrrp_script, inline). */
export interface VrrpTrackScriptSpec {
  /** Run with sh -c; exit 0 = success. */
  script: string;
  intervalMs: number;
  timeoutMs: number;
  /** 0: a failure puts the instance in FAULT; else added to the priority (>0 on success, <0 on failure). */
  weight: number;
  /** Failures in a row before the script counts as failed. */
  fall: number;
  /** Successes in a row before it counts as succeeding again. */
  rise: number;
}

/** One VRRP instance as lvsd runs it. */
export interface VrrpInstanceSpec {
  name: string;
  interface: string;
  state: "MASTER" | "BACKUP";
  virtualRouterId: number;
  priority: number;
  advertIntervalMs: number;
  nopreempt: boolean;
  preemptDelayMs: number;
  virtualIpaddress: VrrpAddressSpec[];
  trackInterface: string[];
  trackScript: VrrpTrackScriptSpec[];
  unicastSrcIp: string | null;
  unicastPeer: string[];
  notifyMaster: string | null;
  notifyBackup: string | null;
  notifyFault: string | null;
  version: 2 | 3;
  authPass: string | null;
  garpMasterDelayMs: number;
  garpMasterRepeat: number;
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
}

/** A problem with the path of the key it is about (relative to `vrrp_instances`). */
export interface VrrpIssue {
  path: (string | number)[];
  message: string;
}

/** The most addresses all instances together may list (wasm layout VRRP_MAX_ADDRS). */
export const VRRP_MAX_ADDRESSES = 23;
/** The most instances (wasm layout VRRP_MAX_INSTANCES). */
export const VRRP_MAX_INSTANCES = 32;

const KEYS = [
  "name",
  "interface",
  "state",
  "virtual_router_id",
  "priority",
  "advert_int",
  "nopreempt",
  "preempt_delay",
  "virtual_ipaddress",
  "track_interface",
  "track_script",
  "unicast_src_ip",
  "unicast_peer",
  "notify_master",
  "notify_backup",
  "notify_fault",
  "version",
  "auth_type",
  "auth_pass",
  "garp_master_delay",
  "garp_master_repeat",
  "garp_master_refresh",
  "garp_master_refresh_repeat",
];
const SCRIPT_KEYS = ["script", "interval", "timeout", "weight", "fall", "rise"];

function isIfname(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && new TextEncoder().encode(v).length <= 15 && !/[/:\s]/.test(v) &&
    v !== "." && v !== "..";
}

/** "a.b.c.d[/len] [dev ifname]" as keepalived writes a virtual_ipaddress line. */
export function parseVirtualAddress(text: string): VrrpAddressSpec | string {
  const parts = text.trim().split(/\s+/);
  const [addr, len] = parts[0].split("/");
  const n = parseIpv4OrNull(addr);
  if (n === null) return `"${text}" is not an IPv4 address (want "10.10.0.100" or "10.20.0.1/24 dev int0")`;
  if ((n >>> 28) === 14 || (n >>> 24) === 127 || n === 0 || n === 0xffffffff) {
    return `${addr} cannot be a virtual address (multicast, loopback, 0.0.0.0 or broadcast)`;
  }
  let prefix = 32;
  if (len !== undefined) {
    if (!/^\d{1,2}$/.test(len) || Number(len) > 32) return `"/${len}" in "${text}" is not a prefix length 0..32`;
    prefix = Number(len);
  }
  let dev: string | null = null;
  const rest = parts.slice(1);
  if (rest.length === 2 && rest[0] === "dev") {
    if (!isIfname(rest[1])) return `"${rest[1]}" in "${text}" is not an interface name`;
    dev = rest[1];
  } else if (rest.length) {
    return `"${rest.join(" ")}" in "${text}" is not understood (only "dev <interface>" may follow the address)`;
  }
  return { address: addr, prefix, dev };
}

/**
 * Checks the `vrrp_instances` list; returns the instances and the issues
 * (the instances are meaningful only without issues).
 */
export function validateVrrpInstances(input: unknown): { instances: VrrpInstanceSpec[]; issues: VrrpIssue[] } {
  const issues: VrrpIssue[] = [];
  const instances: VrrpInstanceSpec[] = [];
  if (input === undefined || input === null) return { instances, issues };
  if (!Array.isArray(input)) return { instances, issues: [{ path: [], message: "must be a list of instances" }] };
  input.forEach((raw, i) => {
    const issue = (key: string | (string | number)[], message: string) =>
      issues.push({ path: [i, ...(Array.isArray(key) ? key : [key])], message });
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      issue([], "must be a mapping (an instance with keepalived's vrrp_instance keywords)");
      return;
    }
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!KEYS.includes(k)) {
        const hint = k === "authentication"
          ? " (write auth_type and auth_pass directly in the instance)"
          : k === "virtual_ipaddress_excluded" || k === "use_vmac" || k === "track_process" || k === "track_file"
          ? " (not supported yet)"
          : ` (known: ${KEYS.join(", ")})`;
        issue(k, `unknown key${hint}`);
      }
    }
    const int = (k: string, min: number, max: number, dflt?: number): number => {
      const v = o[k];
      if (v === undefined) {
        if (dflt === undefined) issue(k, "is required");
        return dflt ?? min;
      }
      if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
        issue(k, `${JSON.stringify(v)} is not an integer ${min}..${max}`);
        return dflt ?? min;
      }
      return v as number;
    };
    const seconds = (k: string, max: number, dflt: number): number => {
      const v = o[k];
      if (v === undefined) return dflt * 1000;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > max) {
        issue(k, `${JSON.stringify(v)} is not a number of seconds 0..${max}`);
        return dflt * 1000;
      }
      return Math.round(v * 1000);
    };
    const bool = (k: string): boolean => {
      const v = o[k];
      if (v === undefined) return false;
      if (typeof v !== "boolean") issue(k, `${JSON.stringify(v)} is not true or false`);
      return v === true;
    };
    const cmd = (k: string): string | null => {
      const v = o[k];
      if (v === undefined || v === null) return null;
      if (typeof v !== "string" || v.trim() === "") {
        issue(k, "must be a command (run with sh -c)");
        return null;
      }
      return v;
    };
    const addrList = (k: string): string[] => {
      const v = o[k];
      if (v === undefined) return [];
      if (!Array.isArray(v)) {
        issue(k, "must be a list of IPv4 addresses");
        return [];
      }
      return v.filter((a, j) => {
        const ok = typeof a === "string" && parseIpv4OrNull(a) !== null;
        if (!ok) issue([k, j], `${JSON.stringify(a)} is not an IPv4 address`);
        return ok;
      }) as string[];
    };

    const name = typeof o.name === "string" && o.name.trim() !== "" ? o.name : `#${i + 1}`;
    if (o.name === undefined) issue("name", "is required (keepalived's vrrp_instance name, used in logs and hooks)");
    else if (name !== o.name) issue("name", "must be a non-empty string");
    if (!isIfname(o.interface)) {
      issue(
        "interface",
        o.interface === undefined ? "is required" : `${JSON.stringify(o.interface)} is not an interface name`,
      );
    }
    const version = o.version === undefined ? 3 : o.version;
    if (version !== 2 && version !== 3) issue("version", `${JSON.stringify(version)} is not 2 or 3`);
    const v: 2 | 3 = version === 2 ? 2 : 3;
    let state: "MASTER" | "BACKUP" = "BACKUP";
    if (o.state !== undefined) {
      const s = typeof o.state === "string" ? o.state.toUpperCase() : "";
      if (s !== "MASTER" && s !== "BACKUP") issue("state", `${JSON.stringify(o.state)} is not MASTER or BACKUP`);
      else state = s;
    }
    const vrid = int("virtual_router_id", 1, 255);
    const priority = int("priority", 1, 255, 100);
    let advertIntervalMs = 1000;
    if (o.advert_int !== undefined) {
      const a = o.advert_int;
      const cs = typeof a === "number" ? Math.round(a * 100) : NaN;
      if (v === 2) {
        if (!Number.isInteger(a) || (a as number) < 1 || (a as number) > 255) {
          issue("advert_int", `${JSON.stringify(a)} is not a whole number of seconds 1..255 (VRRP version 2)`);
        } else advertIntervalMs = (a as number) * 1000;
      } else if (!Number.isFinite(cs) || Math.abs(cs - (a as number) * 100) > 1e-6 || cs < 1 || cs > 4095) {
        issue(
          "advert_int",
          `${JSON.stringify(a)} is not a number of seconds 0.01..40.95 in hundredths (VRRP version 3)`,
        );
      } else advertIntervalMs = cs * 10;
    }
    const nopreempt = bool("nopreempt");
    const preemptDelayMs = seconds("preempt_delay", 1000, 0);
    if (nopreempt && state === "MASTER") {
      issue("nopreempt", "needs state BACKUP (keepalived's rule: a router configured MASTER always preempts)");
    }
    if (nopreempt && priority === 255) issue("nopreempt", "does not apply to the address owner (priority 255)");
    if (preemptDelayMs > 0 && state === "MASTER") issue("preempt_delay", "needs state BACKUP (keepalived's rule)");
    if (preemptDelayMs > 0 && nopreempt) issue("preempt_delay", "has no meaning with nopreempt");

    const vips: VrrpAddressSpec[] = [];
    if (!Array.isArray(o.virtual_ipaddress) || o.virtual_ipaddress.length === 0) {
      issue("virtual_ipaddress", "is required: a list of the addresses this instance holds while MASTER");
    } else {
      o.virtual_ipaddress.forEach((a, j) => {
        const r = typeof a === "string" ? parseVirtualAddress(a) : `${JSON.stringify(a)} is not an address line`;
        if (typeof r === "string") issue(["virtual_ipaddress", j], r);
        else if (vips.some((x) => x.address === r.address)) {
          issue(["virtual_ipaddress", j], `${r.address} is listed twice`);
        } else vips.push(r);
      });
      if (vips.length > 255) issue("virtual_ipaddress", "more than 255 addresses do not fit an advert");
    }
    const trackInterface: string[] = [];
    if (o.track_interface !== undefined) {
      if (!Array.isArray(o.track_interface)) issue("track_interface", "must be a list of interface names");
      else {
        o.track_interface.forEach((t, j) => {
          if (!isIfname(t)) issue(["track_interface", j], `${JSON.stringify(t)} is not an interface name`);
          else trackInterface.push(t);
        });
      }
    }
    const trackScript: VrrpTrackScriptSpec[] = [];
    if (o.track_script !== undefined) {
      if (!Array.isArray(o.track_script)) issue("track_script", "must be a list of scripts");
      else {
        o.track_script.forEach((t, j) => {
          const p = (k: string, m: string) => issue(["track_script", j, k], m);
          if (typeof t !== "object" || t === null) {
            issue(["track_script", j], "must be a mapping with script, interval, weight, fall, rise");
            return;
          }
          const s = t as Record<string, unknown>;
          for (const k of Object.keys(s)) {
            if (!SCRIPT_KEYS.includes(k)) p(k, `unknown key (known: ${SCRIPT_KEYS.join(", ")})`);
          }
          if (typeof s.script !== "string" || s.script.trim() === "") {
            p("script", "is required (a command run with sh -c)");
          }
          const num = (k: string, min: number, max: number, dflt: number, integer: boolean) => {
            const x = s[k] ?? dflt;
            if (typeof x !== "number" || (integer && !Number.isInteger(x)) || x < min || x > max) {
              p(k, `${JSON.stringify(x)} is not ${integer ? "an integer" : "a number"} ${min}..${max}`);
              return dflt;
            }
            return x;
          };
          const interval = num("interval", 0.1, 3600, 1, false);
          trackScript.push({
            script: String(s.script ?? ""),
            intervalMs: Math.round(interval * 1000),
            timeoutMs: Math.round(num("timeout", 0.1, 3600, interval, false) * 1000),
            weight: num("weight", -253, 253, 0, true),
            fall: num("fall", 1, 1000, 1, true),
            rise: num("rise", 1, 1000, 1, true),
          });
        });
      }
    }
    const unicastPeer = addrList("unicast_peer");
    let unicastSrcIp: string | null = null;
    if (o.unicast_src_ip !== undefined) {
      if (typeof o.unicast_src_ip !== "string" || parseIpv4OrNull(o.unicast_src_ip) === null) {
        issue("unicast_src_ip", `${JSON.stringify(o.unicast_src_ip)} is not an IPv4 address`);
      } else if (unicastPeer.length === 0) {
        issue("unicast_src_ip", "applies only with unicast_peer (without peers adverts go to 224.0.0.18)");
      } else unicastSrcIp = o.unicast_src_ip;
    }
    if (new Set(unicastPeer).size !== unicastPeer.length) issue("unicast_peer", "lists an address twice");
    if (unicastSrcIp && unicastPeer.includes(unicastSrcIp)) {
      issue("unicast_peer", `lists ${unicastSrcIp}, our own unicast_src_ip`);
    }
    let authPass: string | null = null;
    if (o.auth_type !== undefined || o.auth_pass !== undefined) {
      if (v !== 2) {
        issue(
          o.auth_type !== undefined ? "auth_type" : "auth_pass",
          "needs version 2 (RFC 5798, VRRP version 3, has no authentication; auth_type PASS is offered for keepalived interop with version 2 only)",
        );
      } else if (o.auth_type === "AH") {
        issue("auth_type", "AH is not supported (RFC 3768 removed it; only PASS is offered, for keepalived interop)");
      } else if (o.auth_type !== "PASS") {
        issue("auth_type", `${JSON.stringify(o.auth_type)} is not PASS`);
      } else if (typeof o.auth_pass !== "string" || o.auth_pass.length === 0) {
        issue("auth_pass", "is required with auth_type PASS");
      } else if (new TextEncoder().encode(o.auth_pass).length > 8) {
        issue("auth_pass", "is longer than 8 bytes (the advert carries 8; keepalived would cut it)");
      } else authPass = o.auth_pass;
    }
    instances.push({
      name,
      interface: String(o.interface ?? ""),
      state,
      virtualRouterId: vrid,
      priority,
      advertIntervalMs,
      nopreempt,
      preemptDelayMs,
      virtualIpaddress: vips,
      trackInterface,
      trackScript,
      unicastSrcIp,
      unicastPeer,
      notifyMaster: cmd("notify_master"),
      notifyBackup: cmd("notify_backup"),
      notifyFault: cmd("notify_fault"),
      version: v,
      authPass,
      garpMasterDelayMs: seconds("garp_master_delay", 86400, 5),
      garpMasterRepeat: int("garp_master_repeat", 1, 1000, 5),
      garpMasterRefreshMs: seconds("garp_master_refresh", 86400, 0),
      garpMasterRefreshRepeat: int("garp_master_refresh_repeat", 1, 1000, 1),
    });
  });
  // Across instances.
  if (instances.length > VRRP_MAX_INSTANCES) {
    issues.push({
      path: [],
      message: `${instances.length} instances are more than the ${VRRP_MAX_INSTANCES} lvsd runs`,
    });
  }
  const names = new Map<string, number>();
  const vrids = new Map<string, number>();
  const owners = new Map<string, number>();
  let total = 0;
  instances.forEach((s, i) => {
    if (names.has(s.name)) {
      issues.push({ path: [i, "name"], message: `"${s.name}" is the name of instance ${names.get(s.name)! + 1} too` });
    }
    names.set(s.name, i);
    const key = `${s.interface}/${s.version}/${s.virtualRouterId}`;
    if (vrids.has(key)) {
      issues.push({
        path: [i, "virtual_router_id"],
        message: `VRID ${s.virtualRouterId} on "${s.interface}" is used by instance ${vrids.get(key)! + 1} too`,
      });
    }
    vrids.set(key, i);
    for (const a of s.virtualIpaddress) {
      total++;
      if (owners.has(a.address) && owners.get(a.address) !== i) {
        issues.push({
          path: [i, "virtual_ipaddress"],
          message: `${a.address} is held by instance "${instances[owners.get(a.address)!].name}" too`,
        });
      }
      owners.set(a.address, i);
    }
  });
  if (total > VRRP_MAX_ADDRESSES) {
    issues.push({
      path: [],
      message: `${total} virtual_ipaddress entries in all are more than the ${VRRP_MAX_ADDRESSES} lvsd holds`,
    });
  }
  return { instances, issues };
}

/** The device each address of `s` is answered on. */
export function addressDevice(s: VrrpInstanceSpec, a: VrrpAddressSpec): string {
  return a.dev ?? s.interface;
}

/**
 * Checks that need the rest of the config: every address is answered on a
 * data-plane interface (lvsd answers ARP only where it reads frames).
 */
export function vrrpConfigIssues(instances: readonly VrrpInstanceSpec[], interfaces: readonly string[]): VrrpIssue[] {
  const issues: VrrpIssue[] = [];
  instances.forEach((s, i) => {
    s.virtualIpaddress.forEach((a, j) => {
      const dev = addressDevice(s, a);
      if (!interfaces.includes(dev)) {
        issues.push({
          path: [i, "virtual_ipaddress", j],
          message: `${a.address} would be answered on "${dev}", which is not a data-plane interface (interfaces: ${
            interfaces.join(", ")
          })`,
        });
      }
    });
  });
  return issues;
}

/** The instance back in the config file's form (for GET /v1/config and the state file). */
export function vrrpInstanceToObject(s: VrrpInstanceSpec): Record<string, unknown> {
  const o: Record<string, unknown> = {
    name: s.name,
    interface: s.interface,
    state: s.state,
    virtual_router_id: s.virtualRouterId,
    priority: s.priority,
    advert_int: s.advertIntervalMs / 1000,
    nopreempt: s.nopreempt,
    preempt_delay: s.preemptDelayMs / 1000,
    virtual_ipaddress: s.virtualIpaddress.map((a) => `${a.address}/${a.prefix}${a.dev ? ` dev ${a.dev}` : ""}`),
    track_interface: [...s.trackInterface],
    track_script: s.trackScript.map((t) => ({
      script: t.script,
      interval: t.intervalMs / 1000,
      timeout: t.timeoutMs / 1000,
      weight: t.weight,
      fall: t.fall,
      rise: t.rise,
    })),
    unicast_peer: [...s.unicastPeer],
    version: s.version,
    garp_master_delay: s.garpMasterDelayMs / 1000,
    garp_master_repeat: s.garpMasterRepeat,
    garp_master_refresh: s.garpMasterRefreshMs / 1000,
    garp_master_refresh_repeat: s.garpMasterRefreshRepeat,
  };
  if (s.unicastSrcIp) o.unicast_src_ip = s.unicastSrcIp;
  if (s.notifyMaster) o.notify_master = s.notifyMaster;
  if (s.notifyBackup) o.notify_backup = s.notifyBackup;
  if (s.notifyFault) o.notify_fault = s.notifyFault;
  if (s.authPass !== null) Object.assign(o, { auth_type: "PASS", auth_pass: s.authPass });
  return o;
}
