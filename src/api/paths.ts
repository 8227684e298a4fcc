/**
 * Paths into a JSON document as problem documents print them
 * (`ops[2].service.dests[0].port`), and back: the config validator reports
 * paths as text, and the edit layer re-roots them at the op that caused
 * them.
 *
 * @module
 */

/** A path as a list: keys and list indexes. */
export type Path = (string | number)[];

/** `["ops", 2, "service", "port"]` → `ops[2].service.port` (the same form as config errors). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(p))) out += out ? `.${String(p)}` : String(p);
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/**
 * The inverse of {@link formatPath} (and of the config loader's paths,
 * written the same way); null for text that is not such a path.
 */
export function parsePath(text: string): Path | null {
  const out: Path = [];
  const token = /^(?:\.?([A-Za-z_][\w-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/;
  let rest = text;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (!m || (out.length === 0 && rest.startsWith("."))) return null;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]) as string);
    rest = rest.slice(m[0].length);
  }
  return out;
}
