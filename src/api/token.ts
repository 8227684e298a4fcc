/**
 * The admin API's bearer token: read from its file, or created there (32
 * random bytes, base64url, mode 0600 in a 0700 directory) when the file does
 * not exist, so that a fresh install is protected without any set-up and
 * `lvsadm` run as root finds the token where the daemon put it.
 *
 * @module
 */

/** The shortest token accepted from a file an operator wrote. */
const MIN_TOKEN_LENGTH = 16;

/** Reads the token at `path`, creating the file with a random token if there is none. */
export async function loadOrCreateToken(path: string, log: (line: string) => void = console.log): Promise<string> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text.length < MIN_TOKEN_LENGTH) {
      throw new Error(
        `admin token file "${path}" holds ${text.length} characters; at least ${MIN_TOKEN_LENGTH} needed`,
      );
    }
    if (/\s/.test(text)) throw new Error(`admin token file "${path}" must hold one token (no whitespace inside)`);
    const mode = (await Deno.stat(path)).mode ?? 0;
    if (mode & 0o077) {
      // Like ssh with a private key: a token others can read is no secret.
      await Deno.chmod(path, 0o600);
      log(`lvsd: admin token file "${path}" was readable by others (mode ${(mode & 0o777).toString(8)}); set to 0600`);
    }
    return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  // createNew: if another process created it meanwhile, fail rather than overwrite its token.
  await Deno.writeTextFile(path, token + "\n", { createNew: true, mode: 0o600 });
  log(`lvsd: created admin token file "${path}" (mode 0600)`);
  return token;
}
