/**
 * The parts of an HTTP/1.x response HTTP_GET reads: the status code, where
 * the body starts, and Content-Length. Parsed as keepalived's lib/html.c
 * does: the code is the three digits between the first two spaces of the
 * status line (extract_status_code), the body starts after the first blank
 * line (extract_html), and Content-Length, when present, bounds the body.
 *
 * @module
 */

/** A response head. */
export interface ResponseHead {
  /** 100..599, or 0 when the status line has no three-digit code. */
  status: number;
  /** Byte offset of the body in the buffer the head was parsed from. */
  bodyStart: number;
  /** Content-Length, when the header is present and a plain decimal. */
  contentLength?: number;
}

const CRLFCRLF = [13, 10, 13, 10];

/** The head of the response in `buf`, or null while the blank line has not arrived. */
export function parseHead(buf: Uint8Array): ResponseHead | null {
  let end = -1;
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const text = new TextDecoder("latin1").decode(buf.subarray(0, end));
  const [statusLine, ...headers] = text.split("\r\n");
  const m = /^\S+ (\d{3}) /.exec(statusLine + " ");
  const code = m ? Number(m[1]) : 0;
  let contentLength: number | undefined;
  for (const h of headers) {
    const cl = /^content-length:[ \t]*(\d+)[ \t]*$/i.exec(h);
    if (cl) contentLength = Number(cl[1]);
  }
  return { status: code >= 100 && code <= 599 ? code : 0, bodyStart: end + CRLFCRLF.length, contentLength };
}

/** The GET request HTTP_GET sends (keepalived's request_template, HTTP/1.0, no Connection header). */
export function buildRequest(path: string, host: string): Uint8Array {
  return new TextEncoder().encode(
    `GET ${path} HTTP/1.0\r\nUser-Agent: lvsd-healthcheck\r\nHost: ${host}\r\n\r\n`,
  );
}

/** The Host header for a dest with no virtualhost: `addr:port`, an IPv6 address in brackets (RFC 2732). */
export function defaultHost(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
