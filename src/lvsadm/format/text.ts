/**
 * The two printf conversions ipvsadm's listings are made of, for strings
 * and unsigned numbers: `%-Ns` (left-aligned) and `%Ns` (right-aligned).
 * Like printf, both pad to at least N and never cut.
 *
 * @module
 */

/** `%-Ns`: `s` padded on the right to `width`. */
export function left(s: string | number | bigint, width: number): string {
  return String(s).padEnd(width);
}

/** `%Ns`: `s` padded on the left to `width`. */
export function right(s: string | number | bigint, width: number): string {
  return String(s).padStart(width);
}

/**
 * A string cut to `max` characters, as ipvsadm cuts its fixed buffers
 * (`svc_name[33] = '\0'`, `dname[28] = '\0'`, `snprintf(buf, 60, ...)`).
 */
export function cut(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}
