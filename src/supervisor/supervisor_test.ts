import { deepStrictEqual } from "node:assert/strict";
import { optionChanges } from "./supervisor.ts";

const KERNEL = { connReuseMode: 1, expireNodestConn: false, expireQuiescentTemplate: false, sloppyTcp: false };

Deno.test("reload notes name each changed option by its sysctl name, with the old value", () => {
  deepStrictEqual(optionChanges(KERNEL, { ...KERNEL }), []);
  deepStrictEqual(
    optionChanges(KERNEL, { ...KERNEL, connReuseMode: 2, sloppyTcp: true }),
    ["conn_reuse_mode 2 (was 1)", "sloppy_tcp true (was false)"],
  );
  deepStrictEqual(
    optionChanges({ ...KERNEL, expireNodestConn: true }, { ...KERNEL, expireQuiescentTemplate: true }),
    ["expire_nodest_conn false (was true)", "expire_quiescent_template true (was false)"],
  );
});
