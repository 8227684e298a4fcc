/**
 * `deno task lab up|down|status`: a lab that outlives the command, for poking
 * at by hand.
 *
 * - `up [--offloads off] [--no-servers] [--forward masq|route|tunnel] [--ha] [--json]`:
 *   builds a lab, starts the three real servers (logs in
 *   /run/lvsd-lab/<ns>.log), prints the names and leaves everything running.
 *   `--forward route` sets the real servers up for direct routing (VIP on
 *   lo, arp_ignore/arp_announce, replies to the client not through the
 *   director), `--forward tunnel` the same with `lvsd decap` (IPIP) instead
 *   of the VIP on lo; the printed config line names the matching config.
 * - `down [prefix] [--force]`: removes one lab, or every lab recorded in
 *   /run/lvsd-lab: kills its recorded processes by PID (only if their start
 *   time still matches) and whatever else runs in its namespaces, deletes the
 *   namespaces. Without a prefix, labs whose owner process is still running
 *   (a test or demo in progress) and namespaces that look like labs but have
 *   no state file are left alone unless `--force`.
 * - `status`: lists the labs, their namespaces and processes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  CLIENT_LAN_ADDR,
  Lab,
  LAB_PREFIX_RE,
  LAB_STATE_DIR,
  type LabState,
  listNamespaces,
  procStartTime,
  readLabStates,
  removeLabSync,
} from "./lab.ts";

const USAGE = `usage: cli.ts up [--offloads off] [--no-servers] [--forward masq|route|tunnel] [--ha] [--json]
       cli.ts down [prefix] [--force]
       cli.ts status`;

function ownerAlive(s: LabState): boolean {
  return s.owner !== null &&
    procStartTime(s.owner.pid) === s.owner.starttime;
}

function labPrefixOf(ns: string): string | undefined {
  const p = ns.split("-")[0];
  return LAB_PREFIX_RE.test(p) && ns.length > p.length ? p : undefined;
}

/** Lab-looking namespaces that no state file accounts for, by prefix. */
function orphans(states: LabState[]): Map<string, string[]> {
  const known = new Set(states.map((s) => s.prefix));
  const out = new Map<string, string[]>();
  for (const ns of listNamespaces()) {
    const p = labPrefixOf(ns);
    if (p && !known.has(p)) out.set(p, [...(out.get(p) ?? []), ns]);
  }
  return out;
}

async function up(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      offloads: { type: "string", default: "on" },
      "no-servers": { type: "boolean" },
      forward: { type: "string", default: "masq" },
      json: { type: "boolean" },
      ha: { type: "boolean" },
    },
  });
  if (values.offloads !== "on" && values.offloads !== "off") {
    console.error(`Cannot parse --offloads "${values.offloads}": want on|off`);
    return 2;
  }
  const forward = values.forward;
  if (forward !== "masq" && forward !== "route" && forward !== "tunnel") {
    console.error(`Cannot parse --forward "${forward}": want masq, route or tunnel`);
    return 2;
  }
  const t0 = performance.now();
  const lab = await Lab.up({ offloads: values.offloads === "on", ha: values.ha ?? false });
  try {
    if (!values["no-servers"]) await lab.startRealServers({ detach: true });
    const all = lab.serverNames.map((_, i) => i);
    if (forward !== "masq") await lab.directReturn(all, { vipOnLo: forward === "route" });
    if (forward === "tunnel") await lab.startDecap(all, { detach: true });
  } catch (e) {
    await lab.down();
    throw e;
  }
  lab.detach();
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  const procs = lab.processes;
  if (values.json) {
    console.log(JSON.stringify({
      prefix: lab.prefix,
      ns: lab.ns,
      addr: lab.addr,
      ifname: lab.ifname,
      pids: Object.fromEntries(procs.map((p) => [p.ns, p.pid])),
    }));
    return 0;
  }
  const p = lab.prefix;
  const rows = [
    `lvsd lab up: ${p} (${secs} s, offloads ${values.offloads})`,
    `  client    ${lab.ns.client}  eth0 ${lab.addr.client}/24, default via ${lab.addr.directorExt}`,
    ...(lab.ha
      ? [
        ...lab.ns.directors.map((ns, i) =>
          `  director  ${ns}  ext0 ${lab.addr.directorsExt[i]}/24  int0 ${lab.addr.directorsInt[i]}/24  (ip_forward=0)`
        ),
        `  floating  ${lab.addr.directorExt} and ${lab.addr.directorInt} (servers' gateway): on no kernel (VRRP)`,
        `  lan       ${lab.ns.lan}  bridges br0 (ports dir dir2 ${lab.serverNames.join(" ")}), brx (xcli xdir xdir2)`,
      ]
      : [
        `  director  ${lab.ns.director}  ext0 ${lab.addr.directorExt}/24  int0 ${lab.addr.directorInt}/24  (ip_forward=0)`,
        `  lan       ${lab.ns.lan}  bridge br0, ports dir ${lab.serverNames.join(" ")}`,
      ]),
    ...lab.serverNames.map((rs, i) => {
      const proc = procs.find((x) => x.ns === lab.ns.servers[i]);
      return `  ${rs.padEnd(8)}  ${lab.ns.servers[i]}  eth0 ${
        lab.addr.servers[i]
      }/24, default via ${lab.addr.directorInt}` +
        (proc ? `  http :80 udp :7 pid ${proc.pid} (log ${LAB_STATE_DIR}/${proc.ns}.log)` : "");
    }),
    `  VIP       ${lab.addr.vip} (assigned nowhere: lvsd answers ARP for it)`,
    ...(forward === "masq" ? [] : [
      `  ${
        (forward === "route" ? "DR" : "tunnel").padEnd(8)
      }  real servers answer the client directly (client lan0 ${CLIENT_LAN_ADDR}); ${
        forward === "route" ? "VIP on lo, arp_ignore=1, arp_announce=2" : "lvsd decap (IPIP) holds the VIP on lvsd-tun0"
      }`,
      `            use forward: ${forward} for every dest (port 80 / 7, as the service)`,
    ]),
    `  try:      ip netns exec ${lab.ns.director} ${lab.deno} run -A src/main.ts --config config/demo.yaml`,
    `            ip netns exec ${lab.ns.client} curl -s http://${lab.addr.vip}/`,
    `  remove:   deno task lab down ${p}`,
  ];
  console.log(rows.join("\n"));
  return 0;
}

function down(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { force: { type: "boolean" } },
  });
  const states = readLabStates();
  const lost = orphans(states);
  const force = values.force ?? false;
  if (positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const targets: { prefix: string; namespaces: string[]; state?: LabState }[] = [];
  if (positionals.length === 1) {
    const prefix = positionals[0];
    if (!LAB_PREFIX_RE.test(prefix)) {
      console.error(
        `Cannot remove lab "${prefix}": not a lab prefix (lvsd + 5 of [0-9a-z])`,
      );
      return 2;
    }
    const state = states.find((s) => s.prefix === prefix);
    const present = listNamespaces().filter((n) => labPrefixOf(n) === prefix);
    if (!state && present.length === 0) {
      console.log(`lvsd lab: no lab ${prefix}`);
      return 0;
    }
    if (state && ownerAlive(state)) {
      console.log(
        `lvsd lab: note: ${prefix} belongs to running process ${state.owner!.pid}; removing it anyway`,
      );
    }
    targets.push({
      prefix,
      namespaces: [...new Set([...(state?.namespaces ?? []), ...present])],
      state,
    });
  } else {
    for (const s of states) {
      if (ownerAlive(s) && !force) {
        console.log(
          `lvsd lab: skipping ${s.prefix}: process ${
            s.owner!.pid
          } is using it (down ${s.prefix} or --force to remove it)`,
        );
        continue;
      }
      targets.push({ prefix: s.prefix, namespaces: s.namespaces, state: s });
    }
    for (const [prefix, namespaces] of lost) {
      if (force) targets.push({ prefix, namespaces });
      else {
        console.log(
          `lvsd lab: skipping ${prefix}: namespaces ${
            namespaces.join(" ")
          } have no state file (down ${prefix} or --force to remove them)`,
        );
      }
    }
  }
  if (targets.length === 0) {
    console.log("lvsd lab: nothing to remove");
    return 0;
  }
  for (const t of targets) {
    const t0 = performance.now();
    removeLabSync(t.prefix, t.namespaces, t.state?.processes ?? []);
    const left = listNamespaces().filter((n) => labPrefixOf(n) === t.prefix);
    const secs = ((performance.now() - t0) / 1000).toFixed(2);
    if (left.length) {
      console.error(
        `lvsd lab: ${t.prefix}: could not remove ${left.join(" ")}`,
      );
      return 1;
    }
    console.log(`lvsd lab down: ${t.prefix} (${secs} s)`);
  }
  return 0;
}

function status(): number {
  const states = readLabStates();
  const present = new Set(listNamespaces());
  if (states.length === 0) console.log("lvsd lab: no labs recorded");
  for (const s of states) {
    const owner = s.owner === null
      ? "detached (cli up)"
      : ownerAlive(s)
      ? `owned by running process ${s.owner.pid}`
      : `owner ${s.owner.pid} is gone`;
    console.log(`${s.prefix}  created ${s.created}  ${owner}`);
    const missing = s.namespaces.filter((n) => !present.has(n));
    console.log(
      `  namespaces: ${s.namespaces.length - missing.length}/${s.namespaces.length} present` +
        (missing.length ? ` (missing: ${missing.join(" ")})` : ""),
    );
    for (const p of s.processes) {
      const alive = procStartTime(p.pid) === p.starttime;
      console.log(
        `  pid ${p.pid} ${alive ? "running" : "gone"} in ${p.ns}: ${
          p.argv.map((a) => a.replace(/^.*\/(src\/lab\/)/, "$1")).join(" ")
        }`,
      );
    }
  }
  for (const [prefix, namespaces] of orphans(states)) {
    console.log(`${prefix}  no state file: ${namespaces.join(" ")}`);
  }
  return 0;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = Deno.args;
  if ((cmd === "up" || cmd === "down") && Deno.uid() !== 0) {
    console.error(`lvsd lab: ${cmd} needs root (network namespaces)`);
    return 1;
  }
  try {
    switch (cmd) {
      case "up":
        return await up(rest);
      case "down":
        return down(rest);
      case "status":
        return status();
      default:
        console.error(USAGE);
        return 2;
    }
  } catch (e) {
    console.error(`lvsd lab: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
