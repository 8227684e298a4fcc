/**
 * HTTP_GET and SSL_GET: one GET on a new connection, the whole exchange
 * within connect_timeout. Up when the status is in status_code and, when
 * given, the body's MD5 equals digest and the body matches regex (or not,
 * with regex_no_match): the order of keepalived's http_handle_response
 * (check_http.c), which also fails a response with no data at all.
 *
 * Only what the verdict needs is read: the head, plus the body when digest
 * or regex asks for it, and never more than {@link MAX_BODY} bytes of body
 * (keepalived streams the whole body through MD5/PCRE; lvsd bounds the
 * memory a misbehaving dest can make it hold).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type ByteStream, openTcp } from "./byte_stream.ts";
import { Deadline } from "./deadline.ts";
import { buildRequest, defaultHost, parseHead, type ResponseHead } from "./http_response.ts";
import { connectTimeoutMs } from "./options.ts";
import { parseStatusCodes, type StatusCodes } from "./status_codes.ts";
import { openTls } from "./tls_stream.ts";
import type { CheckResult, CheckTarget, HttpOptions } from "./types.ts";

/** Most bytes of response head read before giving up. */
export const MAX_HEAD = 64 * 1024;
/** Most bytes of body read for digest or regex. */
export const MAX_BODY = 1024 * 1024;

/** HTTP_GET over plain TCP; never throws. */
export function checkHttp(target: CheckTarget, opts: HttpOptions, signal: AbortSignal): Promise<CheckResult> {
  return run(target, opts, signal, (s) => openTcp(target, s));
}

/** SSL_GET: HTTP_GET over TLS, certificate not verified (keepalived); never throws. */
export function checkHttps(target: CheckTarget, opts: HttpOptions, signal: AbortSignal): Promise<CheckResult> {
  const sni = opts.enable_sni ? (opts.sni_name ?? opts.virtualhost) : undefined;
  return run(target, opts, signal, (s) => openTls(target, sni, s));
}

async function run(
  target: CheckTarget,
  opts: HttpOptions,
  signal: AbortSignal,
  open: (signal: AbortSignal) => Promise<ByteStream>,
): Promise<CheckResult> {
  let codes: StatusCodes;
  let regex: RegExp | undefined;
  try {
    codes = parseStatusCodes(opts.status_code);
    regex = opts.regex === undefined ? undefined : new RegExp(opts.regex);
  } catch (e) {
    return { up: false, detail: `invalid option: ${(e as Error).message}` };
  }
  using deadline = new Deadline(signal, connectTimeoutMs(opts));
  let stream: ByteStream | undefined;
  let step = "connect";
  try {
    stream = await deadline.race(open(deadline.signal), (s) => void s.close());
    step = "request";
    const host = opts.virtualhost ?? defaultHost(target.address, target.port);
    await deadline.race(stream.write(buildRequest(opts.path ?? "/", host)));
    step = "response";
    const needBody = opts.digest !== undefined || regex !== undefined;
    const res = await readResponse(stream, needBody, deadline);
    if (typeof res === "string") return { up: false, detail: res };
    return verdict(res.head, res.body, codes, opts, regex);
  } catch (e) {
    return { up: false, detail: deadline.explain(e, step) };
  } finally {
    await stream?.close();
  }
}

/** Reads the head (and the body when asked); a string is why the response is unusable. */
async function readResponse(
  stream: ByteStream,
  needBody: boolean,
  deadline: Deadline,
): Promise<{ head: ResponseHead; body: Uint8Array } | string> {
  let buf = new Uint8Array(0);
  let head: ResponseHead | null = null;
  const append = (chunk: Uint8Array) => {
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
  };
  while (true) {
    const chunk = await deadline.race(stream.read());
    if (chunk === null) break;
    append(chunk);
    if (!head) {
      head = parseHead(buf);
      if (!head) {
        if (buf.length > MAX_HEAD) return `response head larger than ${MAX_HEAD} bytes`;
        continue;
      }
    }
    if (!needBody) break;
    const bodyLen = buf.length - head.bodyStart;
    if (bodyLen > MAX_BODY || (head.contentLength ?? 0) > MAX_BODY) return `body larger than ${MAX_BODY} bytes`;
    if (head.contentLength !== undefined && bodyLen >= head.contentLength) break;
  }
  if (buf.length === 0) return "no data received";
  if (!head) return "connection closed before the end of the response head";
  let body = buf.subarray(head.bodyStart);
  if (head.contentLength !== undefined && body.length > head.contentLength) body = body.subarray(0, head.contentLength);
  return { head, body };
}

function verdict(
  head: ResponseHead,
  body: Uint8Array,
  codes: StatusCodes,
  opts: HttpOptions,
  regex: RegExp | undefined,
): CheckResult {
  if (!codes.has(head.status)) {
    return { up: false, detail: `HTTP status ${head.status || "missing"} not in ${codes.text}` };
  }
  if (opts.digest !== undefined) {
    const got = createHash("md5").update(body).digest("hex");
    if (got !== opts.digest.toLowerCase()) {
      return { up: false, detail: `HTTP status ${head.status}, body MD5 ${got} is not ${opts.digest.toLowerCase()}` };
    }
  }
  if (regex) {
    const matched = regex.test(new TextDecoder().decode(body));
    if (matched === (opts.regex_no_match ?? false)) {
      const how = opts.regex_no_match ? "matches" : "does not match";
      return { up: false, detail: `HTTP status ${head.status}, body ${how} /${regex.source}/` };
    }
  }
  return { up: true, detail: `HTTP status ${head.status}` };
}
