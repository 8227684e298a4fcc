import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import type { StatsView } from "../api/model.ts";
import { Baselines } from "./baselines.ts";

function stats(conns: number, inpkts: number, outpkts: number, inbytes: number, outbytes: number): StatsView {
  return { conns, inpkts, outpkts, inbytes, outbytes };
}

Deno.test("counters never zeroed read as their raw values", () => {
  const b = new Baselines();
  deepStrictEqual(b.read("svc:1", stats(5, 10, 8, 1500, 1200)), stats(5, 10, 8, 1500, 1200));
  deepStrictEqual(b.readFlat("dataplane:drops", { no_conn: 3 }), { no_conn: 3 });
  strictEqual(b.size, 0, "reading records nothing");
});

Deno.test("zero makes the current values the zero point; later reads show what came after", () => {
  const b = new Baselines();
  const raw = stats(100, 1000, 900, 150_000, 120_000);
  b.zero("svc:1", raw);
  deepStrictEqual(b.read("svc:1", raw), stats(0, 0, 0, 0, 0));
  deepStrictEqual(b.read("svc:1", stats(103, 1010, 905, 151_500, 120_600)), stats(3, 10, 5, 1500, 600));
  // The raw input is not modified (it may be a view the caller reuses).
  deepStrictEqual(raw, stats(100, 1000, 900, 150_000, 120_000));
  // Zeroing again moves the zero point.
  b.zero("svc:1", stats(103, 1010, 905, 151_500, 120_600));
  deepStrictEqual(b.read("svc:1", stats(104, 1010, 905, 151_500, 120_660)), stats(1, 0, 0, 0, 60));
});

Deno.test("ids are independent: zeroing a service leaves its dests and other services alone", () => {
  const b = new Baselines();
  b.zero("svc:1", stats(10, 10, 10, 10, 10));
  deepStrictEqual(b.read("svc:2", stats(10, 10, 10, 10, 10)), stats(10, 10, 10, 10, 10));
  deepStrictEqual(b.read("dest:1", stats(7, 7, 7, 7, 7)), stats(7, 7, 7, 7, 7));
  deepStrictEqual(b.read("svc:1", stats(11, 12, 13, 14, 15)), stats(1, 2, 3, 4, 5));
});

Deno.test("a counter below its zero point was restarted: the raw value is shown, never a negative", () => {
  const b = new Baselines();
  b.zero("dest:4", stats(500, 500, 500, 500, 500));
  // The slot was reused and started again from 0; only conns and inbytes went below.
  deepStrictEqual(b.read("dest:4", stats(20, 600, 500, 30, 501)), stats(20, 100, 0, 30, 1));
  // From then on those two count from 0, the others from their zero point.
  deepStrictEqual(b.read("dest:4", stats(25, 610, 500, 40, 501)), stats(25, 110, 0, 40, 1));
});

Deno.test("flat counters: zeroFlat/readFlat per name, new names count from 0", () => {
  const b = new Baselines();
  b.zeroFlat("dataplane:counters", { rx_frames: 1000, tx_frames: 990, conns: 40 });
  b.zeroFlat("dataplane:drops", { no_conn: 5 });
  deepStrictEqual(
    b.readFlat("dataplane:counters", { rx_frames: 1010, tx_frames: 999, conns: 41 }),
    { rx_frames: 10, tx_frames: 9, conns: 1 },
  );
  // A reason first seen after the zero counts from 0; one missing from raw is left out.
  deepStrictEqual(b.readFlat("dataplane:drops", { no_conn: 7, truncated: 2 }), { no_conn: 2, truncated: 2 });
  deepStrictEqual(b.readFlat("dataplane:drops", {}), {});
  // Flat and five-counter baselines of one id do not mix.
  deepStrictEqual(b.read("dataplane:drops", stats(1, 1, 1, 1, 1)), stats(1, 1, 1, 1, 1));
});

Deno.test("a flat counter below its zero point reads as restarted, not negative", () => {
  const b = new Baselines();
  b.zeroFlat("dp", { rx_frames: 100 });
  deepStrictEqual(b.readFlat("dp", { rx_frames: 4 }), { rx_frames: 4 });
  deepStrictEqual(b.readFlat("dp", { rx_frames: 9 }), { rx_frames: 9 });
});

Deno.test("forget drops both kinds of zero point of an id", () => {
  const b = new Baselines();
  b.zero("svc:9", stats(5, 5, 5, 5, 5));
  b.zeroFlat("svc:9", { x: 5 });
  b.zero("svc:8", stats(1, 1, 1, 1, 1));
  strictEqual(b.size, 2);
  b.forget("svc:9");
  strictEqual(b.size, 1);
  deepStrictEqual(b.read("svc:9", stats(6, 6, 6, 6, 6)), stats(6, 6, 6, 6, 6));
  deepStrictEqual(b.readFlat("svc:9", { x: 6 }), { x: 6 });
  deepStrictEqual(b.read("svc:8", stats(2, 2, 2, 2, 2)), stats(1, 1, 1, 1, 1));
});

Deno.test("values that are not finite non-negative numbers are refused, naming the id and counter", () => {
  const b = new Baselines();
  throws(
    () => b.zero("svc:1", stats(1, -2, 0, 0, 0)),
    /svc:1 counter inpkts must be a finite non-negative number, got -2/,
  );
  throws(() => b.read("svc:1", stats(1, 0, 0, NaN, 0)), /svc:1 counter inbytes .* got NaN/);
  throws(() => b.zeroFlat("dp", { rx_frames: Infinity }), /dp counter rx_frames .* got Infinity/);
  throws(() => b.readFlat("dp", { tx_frames: -1 }), /dp counter tx_frames .* got -1/);
  strictEqual(b.size, 0, "a refused zero records nothing");
});
