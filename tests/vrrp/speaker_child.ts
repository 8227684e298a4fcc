/**
 * Test helper process: runs VRRP instances (no data plane) from a JSON
 * `vrrp_instances` list in argv[0] and prints one JSON line per event
 * ({t: epoch ms, ev: "state", instance, state} or {ev: "log", line}).
 * SIGTERM stops the instances (a master resigns) and exits 0. Run it inside
 * a network namespace with the deno binary's path.
 */
import { VrrpService } from "../../src/vrrp/service.ts";
import { validateVrrpInstances } from "../../src/vrrp/spec.ts";

const { instances, issues } = validateVrrpInstances(JSON.parse(Deno.args[0]));
if (issues.length) {
  console.log(JSON.stringify({ ev: "error", issues }));
  Deno.exit(2);
}
const out = (o: Record<string, unknown>) => console.log(JSON.stringify({ t: Date.now(), ...o }));
const svc = new VrrpService(null, instances, (line) => out({ ev: "log", line }));
svc.onStateChange((instance, state) => out({ ev: "state", instance, state }));
const done = new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", () => resolve()));
await svc.start();
out({ ev: "started" });
Deno.addSignalListener("SIGUSR2", () => out({ ev: "snapshot", snapshot: svc.snapshot() }));
await done;
await svc.stop();
out({ ev: "stopped", snapshot: svc.snapshot() });
Deno.exit(0);
