/**
 * Loading the data-plane WASM module and reading its memory layout.
 *
 * The module is embedded (wasm/build/lvsd_wasm.ts, generated) so the
 * program never reads it from disk at run time. The layout constants come
 * from the module's exported globals: wasm/assembly/layout.ts is the only
 * place they are written.
 */
import { WASM_BASE64 } from "../../wasm/build/lvsd_wasm.ts";

/** The data-plane module's exports, as the TypeScript side uses them. */
export interface DataplaneExports {
  io_init(worker: number): void;
  process(worker: number, n: number, now: number): number;
  process_from(worker: number, first: number, n: number, now: number): number;
  frames_done(): number;
  expire_sweep(first: number, count: number, now: number): number;
  svc_hash_build(copy: number, n: number): void;
  conn_lookup_in(proto: number, caddr: number, cport: number, vaddr: number, vport: number, now: number): number;
  conn_lookup_out(proto: number, daddr: number, dport: number, caddr: number, cport: number, now: number): number;
  sched_pick(copy: number, svcIndex: number, saddr: number, sport: number, daddr: number, now: number): number;
  sync_install(
    proto: number,
    template: number,
    inactive: number,
    state: number,
    caddr: number,
    cport: number,
    vaddr: number,
    vport: number,
    daddr: number,
    dport: number,
    timeout: number,
    ciface: number,
    cvlan: number,
    now: number,
  ): number;
  drop_reason_names(): number;
  tcp_state_names(): number;
  sched_names(): number;
  heap_base(): number;
  [name: string]: unknown;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled module (compiled once per isolate). */
export function dataplaneModule(): WebAssembly.Module {
  if (!compiled) {
    const bin = atob(WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

/** Instantiates the module on a shared memory. */
export function instantiate(memory: WebAssembly.Memory, module = dataplaneModule()): DataplaneExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`lvsd data plane aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as DataplaneExports;
}

/** Reads an exported layout constant (an immutable global). */
export function constant(exports: DataplaneExports, name: string): number {
  const g = exports[name];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`data plane module has no constant ${name}`);
  return Number(g.value);
}

/** Reads a static AssemblyScript string (UTF-16, byte length at ptr-4). */
export function staticString(memory: WebAssembly.Memory, ptr: number): string {
  const view = new DataView(memory.buffer);
  const bytes = view.getUint32(ptr - 4, true);
  let s = "";
  for (let i = 0; i < bytes; i += 2) s += String.fromCharCode(view.getUint16(ptr + i, true));
  return s;
}
