/**
 * The lab: an LVS cluster in network namespaces (client, director, three real
 * servers on a bridge), its real servers and load client, for tests, the demo
 * and the benchmarks.
 *
 * ```ts
 * const lab = await Lab.up();            // root only; always lab.down()
 * try {
 *   await lab.startRealServers();        // HTTP :80 and UDP echo :7 on rs1..rs3
 *   lab.spawn(lab.ns.director, [lab.deno, "run", "-A", "src/main.ts", ...]);
 *   const r = await lab.runHttpClient(["--url", `http://${VIP}/`, "--count", "60", "--close"]);
 *   // r.byBody → { rs1: 10, rs2: 20, rs3: 30 }
 * } finally {
 *   await lab.down();
 * }
 * ```
 *
 * @module
 */
export {
  CLIENT_ADDR,
  DIRECTOR_EXT_ADDR,
  DIRECTOR_INT_ADDR,
  DOWNLOAD_CLIENT_PATH,
  type ExecOptions,
  type ExecResult,
  HTTP_CLIENT_PATH,
  Lab,
  LAB_PREFIX_RE,
  LAB_STATE_DIR,
  labInterrupted,
  type LabOptions,
  LabProcess,
  type LabState,
  listNamespaces,
  REAL_SERVER_ADDRS,
  REAL_SERVER_PATH,
  type RealServerOptions,
  type RecordedProcess,
  type SpawnOptions,
  VIP,
} from "./lab.ts";
export { httpClientArgs, type HttpClientOptions, type HttpClientResult } from "./http_client.ts";
export type { DownloadResult } from "./download_client.ts";
export { MAX_BODY, patternByte, patternBytes } from "./real_server.ts";
