/**
 * UDP_CHECK: send `payload` to the dest and wait, within connect_timeout,
 * for a reply; the first datagram back decides (keepalived's
 * udp_check_thread reads one). Up when its length is within
 * min/max_reply_length, it starts with require_reply (hex, `x` wildcard
 * nibbles, compared over the shorter of the two as check_udp_reply does) and
 * matches reply_regex (lvsd).
 *
 * lvsd always requires a reply: keepalived without require_reply counts
 * silence as success and relies on ICMP port-unreachable to fail, which a
 * Deno socket cannot see (udp_socket.ts). Without a payload, 32 bytes of
 * "lvsd check - " are sent (keepalived sends 32 bytes of "keepalived check - ").
 *
 * @module
 */

import { Deadline } from "./deadline.ts";
import { type HexPattern, matchesHexPrefix, parseHex, toHex } from "./hex.ts";
import { connectTimeoutMs } from "./options.ts";
import { openUdp, type UdpExchange } from "./udp_socket.ts";
import type { CheckResult, CheckTarget, UdpOptions } from "./types.ts";

/** keepalived's UDP_BUFSIZE: the default payload's length. */
const DEFAULT_PAYLOAD_LEN = 32;

/** Sends the payload and judges the first reply; never throws. */
export async function checkUdp(target: CheckTarget, opts: UdpOptions, signal: AbortSignal): Promise<CheckResult> {
  let payload: Uint8Array;
  let expect: HexPattern | undefined;
  let regex: RegExp | undefined;
  try {
    payload = opts.payload !== undefined
      ? parseHex(opts.payload).bytes
      : opts.payload_text !== undefined
      ? new TextEncoder().encode(opts.payload_text)
      : defaultPayload();
    expect = opts.require_reply === undefined ? undefined : parseHex(opts.require_reply, true);
    regex = opts.reply_regex === undefined ? undefined : new RegExp(opts.reply_regex);
  } catch (e) {
    return { up: false, detail: `invalid option: ${(e as Error).message}` };
  }
  using deadline = new Deadline(signal, connectTimeoutMs(opts));
  let sock: UdpExchange | undefined;
  let step = "connect";
  try {
    sock = await deadline.race(openUdp(target, deadline.signal), (s) => void s.close());
    step = "send";
    await deadline.race(sock.send(payload));
    step = "reply";
    const reply = await deadline.race(sock.receive());
    return judge(reply, opts, expect, regex);
  } catch (e) {
    return { up: false, detail: deadline.explain(e, step) };
  } finally {
    await sock?.close();
  }
}

function judge(
  reply: Uint8Array,
  opts: UdpOptions,
  expect: HexPattern | undefined,
  regex: RegExp | undefined,
): CheckResult {
  const min = opts.min_reply_length ?? 0;
  const max = opts.max_reply_length ?? 65535;
  if (reply.length < min || reply.length > max) {
    return { up: false, detail: `reply of ${reply.length} bytes is outside ${min}..${max}` };
  }
  if (expect && !matchesHexPrefix(reply, expect)) {
    return { up: false, detail: `reply ${toHex(reply.subarray(0, 32))} does not start with ${opts.require_reply}` };
  }
  if (regex && !regex.test(new TextDecoder("latin1").decode(reply))) {
    return { up: false, detail: `reply does not match /${regex.source}/` };
  }
  return { up: true, detail: `reply of ${reply.length} bytes` };
}

function defaultPayload(): Uint8Array {
  const unit = new TextEncoder().encode("lvsd check - ");
  const out = new Uint8Array(DEFAULT_PAYLOAD_LEN);
  for (let i = 0; i < out.length; i++) out[i] = unit[i % unit.length];
  return out;
}
