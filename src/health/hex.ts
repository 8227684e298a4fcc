/**
 * keepalived's hex strings (lib/parser.c read_hex_str), used by UDP_CHECK's
 * `payload` and `require_reply`: hex digits two per byte, spaces or tabs
 * between bytes, a lone digit before a space is one byte ("1 02" = 01 02),
 * and, where a mask is allowed, `x` as a wildcard nibble.
 *
 * @module
 */

/** Bytes parsed from a hex string, with the wildcard nibbles. */
export interface HexPattern {
  bytes: Uint8Array;
  /** Bit set = that bit is a wildcard (keepalived's reply_mask); all zero when none. */
  mask: Uint8Array;
}

/**
 * Parses `text` as keepalived does; `wildcards` allows `x`/`X` nibbles.
 *
 * @throws {Error} `Cannot parse hex "…": …` on a bad digit or an empty string.
 */
export function parseHex(text: string, wildcards = false): HexPattern {
  const bytes: number[] = [];
  const mask: number[] = [];
  let i = 0;
  const nibble = (): [number, number] => {
    const c = text[i++];
    const v = parseInt(c, 16);
    if (/^[0-9a-fA-F]$/.test(c)) return [v, 0];
    if (wildcards && (c === "x" || c === "X")) return [0, 0xf];
    const why = wildcards ? "a hex digit or x" : "a hex digit";
    throw new Error(`Cannot parse hex ${JSON.stringify(text)}: ${JSON.stringify(c)} at ${i - 1} is not ${why}`);
  };
  while (true) {
    while (text[i] === " " || text[i] === "\t") i++;
    if (i >= text.length) break;
    let [v, m] = nibble();
    if (i < text.length && text[i] !== " " && text[i] !== "\t") {
      const [v2, m2] = nibble();
      v = (v << 4) | v2;
      m = (m << 4) | m2;
    }
    bytes.push(v);
    mask.push(m);
  }
  if (bytes.length === 0) throw new Error(`Cannot parse hex ${JSON.stringify(text)}: no bytes`);
  return { bytes: Uint8Array.from(bytes), mask: Uint8Array.from(mask) };
}

/**
 * keepalived's check_udp_reply comparison: the first min(reply, pattern)
 * bytes must match outside the wildcard bits; a reply shorter than the
 * pattern is compared over its own length only (check_udp.c).
 */
export function matchesHexPrefix(reply: Uint8Array, pattern: HexPattern): boolean {
  const n = Math.min(reply.length, pattern.bytes.length);
  for (let i = 0; i < n; i++) {
    if ((reply[i] ^ pattern.bytes[i]) & ~pattern.mask[i] & 0xff) return false;
  }
  return true;
}

/** Bytes as lower-case hex with no separators. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
