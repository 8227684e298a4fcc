/**
 * A listener on the sync group for the e2e measurement, run in the backup
 * director's namespace next to lvsd's backup (node: built-ins only): joins
 * the group on an interface and prints, for each sync datagram, its arrival
 * time (ms, the machine's clock, shared by every namespace) and the client
 * ports of its entries, one JSON line each. Bounded by --ms.
 *
 *     sync_probe.ts --addr 10.20.0.6 --group 224.0.0.81 --port 8848 --ms 10000
 */
import dgram from "node:dgram";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { addr: { type: "string" }, group: { type: "string" }, port: { type: "string" }, ms: { type: "string" } },
});
const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
sock.on("message", (m: Uint8Array) => {
  const t = performance.timeOrigin + performance.now();
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const ports: number[] = [];
  if (m.length >= 8 && m[0] === 0 && m[5] === 1) {
    let p = 8;
    for (let i = 0; i < m[4] && p + 12 <= m.length; i++) {
      // Templates (flag 0x1000) carry cport 0; connections their client port.
      ports.push(v.getUint16(p + 10));
      p += ((v.getUint16(p + 2) & 0x0fff) + 3) & ~3;
    }
  }
  console.log(JSON.stringify({ t, ports }));
});
sock.bind(Number(values.port), () => {
  sock.addMembership(values.group!, values.addr!);
  console.log("listening");
});
setTimeout(() => {
  sock.close();
  Deno.exit(0);
}, Number(values.ms));
