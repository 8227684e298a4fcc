/**
 * HTTP_GET's `status_code`: single codes and `min-max` ranges within
 * 100..599, separated by commas or spaces (keepalived takes them as
 * separate words: check_http.c status_code_handler); no list means
 * 200-299 (HTTP_DEFAULT_STATUS_CODE_MIN/MAX).
 *
 * @module
 */

/** The codes a status_code list accepts, and the list as written back for logs. */
export interface StatusCodes {
  has(code: number): boolean;
  /** Normalised text, e.g. "200-299,301". */
  readonly text: string;
}

/** keepalived's HTTP_STATUS_CODE_MIN / _MAX. */
const MIN = 100;
const MAX = 599;

/** The default when status_code is not given. */
export const DEFAULT_STATUS_CODES = "200-299";

/**
 * Parses a status_code list.
 *
 * @throws {Error} `Cannot parse status_code "…": …` naming the bad item.
 */
export function parseStatusCodes(text: string = DEFAULT_STATUS_CODES): StatusCodes {
  const items = text.split(/[\s,]+/).filter((s) => s !== "");
  if (items.length === 0) throw new Error(`Cannot parse status_code ${JSON.stringify(text)}: no codes`);
  const ok = new Uint8Array(MAX + 1);
  const parts: string[] = [];
  for (const item of items) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(item);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo < MIN || hi > MAX || lo > hi) {
      throw new Error(
        `Cannot parse status_code ${JSON.stringify(text)}: ${
          JSON.stringify(item)
        } is not a code or range in ${MIN}-${MAX}`,
      );
    }
    for (let c = lo; c <= hi; c++) ok[c] = 1;
    parts.push(lo === hi ? `${lo}` : `${lo}-${hi}`);
  }
  return {
    has: (code) => Number.isInteger(code) && code >= MIN && code <= MAX && ok[code] === 1,
    text: parts.join(","),
  };
}
