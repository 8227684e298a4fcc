/**
 * Opens connections one after another at a fixed pace for the e2e sync
 * measurement (node: built-ins only): each sends one HTTP request once
 * connected and prints its local port and the time the request was written
 * (ms, the machine's clock): the request is the client's third packet, the
 * one the kernel's sync rule (sync_threshold 3) syncs at. Bounded by
 * --count and a 5 s timeout per connection.
 *
 *     sync_client.ts --host 10.10.0.100 --count 100 --interval-ms 50
 */
import * as net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { host: { type: "string" }, count: { type: "string" }, "interval-ms": { type: "string" } },
});
const count = Number(values.count);
const interval = Number(values["interval-ms"]);
const results: { port: number; t: number; ok: boolean }[] = [];
await Promise.all(Array.from({ length: count }, (_, i) =>
  new Promise<void>((resolve) => {
    setTimeout(() => {
      const s = net.connect({ host: values.host!, port: 80 }, () => {
        const t = performance.timeOrigin + performance.now();
        s.write(`GET / HTTP/1.0\r\nHost: ${values.host}\r\n\r\n`);
        results.push({ port: s.localPort!, t, ok: true });
      });
      s.setTimeout(5000, () => s.destroy());
      s.on("data", () => {});
      s.on("error", () => {});
      s.on("close", () => resolve());
    }, i * interval);
  })));
console.log(JSON.stringify(results));
