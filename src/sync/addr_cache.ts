/**
 * Dotted-quad ⇄ number conversions for the sync paths, memoised: a sync
 * stream names few distinct VIPs and real servers and, per client, the same
 * address many times, and the regex parser (config/members.ts) costs more
 * than the rest of an entry. Bounded: the maps are dropped when full.
 */
import { formatIpv4, parseIpv4 } from "../config/members.ts";

const MAX = 65536;
const parsed = new Map<string, number | null>();
const formatted = new Map<number, string>();

/** parseIpv4, memoised (null for what is not a dotted quad). */
export function ipv4Number(s: string): number | null {
  let n = parsed.get(s);
  if (n === undefined) {
    if (parsed.size >= MAX) parsed.clear();
    n = parseIpv4(s);
    parsed.set(s, n);
  }
  return n;
}

/** formatIpv4, memoised. */
export function ipv4Text(n: number): string {
  let s = formatted.get(n);
  if (s === undefined) {
    if (formatted.size >= MAX) formatted.clear();
    s = formatIpv4(n);
    formatted.set(n, s);
  }
  return s;
}
