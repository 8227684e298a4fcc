/**
 * lvsadm's HTTP client for lvsd's admin API.
 *
 * Where lvsd is: `--server URL`, else $LVSADM_SERVER, else
 * http://127.0.0.1:9470 (the API's default listen address). The bearer
 * token: the file of `--token-file F`, else $LVSADM_TOKEN (the token
 * itself), else the file $LVSADM_TOKEN_FILE, else /run/lvsd/admin.token
 * (written by lvsd, readable by root). For https, `--cacert FILE` or
 * $LVSADM_CACERT names the CA to trust (else the system's roots).
 *
 * Failures are {@link LvsdError}s with one-line messages: a problem
 * document's detail (and its per-item errors), or why lvsd could not be
 * reached, naming the address.
 *
 * @module
 */

import type { ApiRequest } from "./edit_ops.ts";
import type { ClientOptions } from "./args.ts";

/** The API's default address (the daemon listens on 127.0.0.1:9470 unless told otherwise). */
export const DEFAULT_SERVER = "http://127.0.0.1:9470";
/** Where lvsd writes its admin token. */
export const DEFAULT_TOKEN_FILE = "/run/lvsd/admin.token";
/** How long one request may take before lvsadm gives up. */
const REQUEST_TIMEOUT_MS = 60_000;

/** An RFC 9457 problem document as the API sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/**
 * Why a request failed: lvsd not reachable, lvsadm not set up to talk to
 * it (token, CA, URL), the token refused, or the API refused the request.
 */
export type LvsdErrorKind = "unreachable" | "setup" | "auth" | "api";

export class LvsdError extends Error {
  constructor(
    readonly kind: LvsdErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly problem: Problem | null = null,
  ) {
    super(message);
    this.name = "LvsdError";
  }
}

/** One line for a problem document: its detail, then the items it lists that the detail does not already say. */
export function problemMessage(p: Problem, fallback: string): string {
  const detail = typeof p.detail === "string" && p.detail !== "" ? p.detail : fallback;
  const items = (Array.isArray(p.errors) ? p.errors : [])
    .map((e) => (e.path ? `${e.path}: ${e.message}` : String(e.message)))
    .filter((text) => !detail.includes(text));
  return items.length === 0 ? detail : `${detail}: ${items.join("; ")}`;
}

/** The parts of the environment lvsadm reads. */
export type Env = (name: string) => string | undefined;

/** Where lvsd is and how to authenticate, from the flags and the environment. */
export interface ClientSettings {
  server: string;
  /** The token itself ($LVSADM_TOKEN), or null to read `tokenFile`. */
  token: string | null;
  tokenFile: string;
  caCertFile: string | null;
}

/** The settings of `flags` and `env`, flags first. */
export function clientSettings(flags: ClientOptions, env: Env): ClientSettings {
  const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);
  const envToken = nonEmpty(env("LVSADM_TOKEN"));
  return {
    server: flags.server ?? nonEmpty(env("LVSADM_SERVER")) ?? DEFAULT_SERVER,
    token: flags.tokenFile === undefined ? envToken ?? null : null,
    tokenFile: flags.tokenFile ?? nonEmpty(env("LVSADM_TOKEN_FILE")) ?? DEFAULT_TOKEN_FILE,
    caCertFile: flags.caCert ?? nonEmpty(env("LVSADM_CACERT")) ?? null,
  };
}

/** The server URL without a trailing slash; a setup error when it is not http(s). */
function baseUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new LvsdError("setup", `invalid server URL "${server}" (expected http://host:port or https://host:port)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LvsdError("setup", `invalid server URL "${server}": the scheme must be http or https`);
  }
  return url.href.replace(/\/+$/, "");
}

async function readSetupFile(path: string, what: string, hint: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied (you must be root)"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new LvsdError("setup", `cannot read ${what} ${path}: ${why}${hint}`);
  }
}

/**
 * The short reason of a fetch failure: Deno's TypeError says "fetch failed"
 * and keeps the cause ("error sending request for url (...): client error
 * (Connect): tcp connect error: Connection refused (os error 111)").
 */
function connectReason(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : "";
  const msg = cause || (e instanceof Error ? e.message : String(e));
  if (/connection refused/i.test(msg)) return "connection refused (is lvsd running?)";
  const parts = msg.split(": ").filter((p) => p !== "");
  const last = parts[parts.length - 1] ?? msg;
  // rustls' certificate errors: UnknownIssuer, NotValidForName, Expired, ...
  if (/certificate|UnknownIssuer|NotValidForName|Expired|BadSignature/i.test(msg)) {
    return `its TLS certificate is not trusted (${last}): give the CA that signed it with --cacert or LVSADM_CACERT`;
  }
  return `${last} (is lvsd running?)`;
}

/** Talks to one lvsd. */
export class LvsdClient {
  readonly base: string;
  readonly #settings: ClientSettings;
  readonly #fetch: typeof fetch;
  #token: Promise<string> | null = null;
  #http: Promise<Deno.HttpClient | undefined> | null = null;

  /** Throws a setup {@link LvsdError} for a server URL that is not http(s). */
  constructor(settings: ClientSettings, fetchFn: typeof fetch = fetch) {
    this.base = baseUrl(settings.server);
    this.#settings = settings;
    this.#fetch = fetchFn;
  }

  #loadToken(): Promise<string> {
    const s = this.#settings;
    if (s.token !== null) return Promise.resolve(s.token);
    return readSetupFile(
      s.tokenFile,
      "the admin token",
      " (lvsd writes it when it starts; or give --token-file FILE or LVSADM_TOKEN)",
    ).then((text) => {
      const token = text.trim();
      if (token === "") throw new LvsdError("setup", `the admin token file ${s.tokenFile} is empty`);
      return token;
    });
  }

  #loadHttpClient(): Promise<Deno.HttpClient | undefined> {
    const file = this.#settings.caCertFile;
    if (file === null) return Promise.resolve(undefined);
    return readSetupFile(file, "the CA certificate", " (--cacert / LVSADM_CACERT)").then((pem) => {
      try {
        return Deno.createHttpClient({ caCerts: [pem] });
      } catch (e) {
        throw new LvsdError("setup", `cannot use the CA certificate ${file}: ${e instanceof Error ? e.message : e}`);
      }
    });
  }

  /**
   * Sends `req`; resolves with the parsed JSON answer (null for an empty
   * one), or throws an {@link LvsdError}.
   */
  async request<T>(req: ApiRequest): Promise<T | null> {
    this.#token ??= this.#loadToken();
    this.#http ??= this.#loadHttpClient();
    const [token, client] = await Promise.all([this.#token, this.#http]);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
    if (req.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.#fetch(`${this.base}${req.path}`, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        ...(client ? { client } : {}),
      } as RequestInit);
    } catch (e) {
      if (e instanceof DOMException && e.name === "TimeoutError") {
        throw new LvsdError("unreachable", `lvsd at ${this.base} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
      }
      throw new LvsdError("unreachable", `cannot reach lvsd at ${this.base}: ${connectReason(e)}`);
    }
    const text = await res.text();
    let body: unknown = null;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        if (res.ok) throw new LvsdError("api", `lvsd at ${this.base} answered ${req.method} ${req.path} with no JSON`);
      }
    }
    if (res.ok) return body as T | null;
    const problem = body !== null && typeof body === "object" ? body as Problem : {};
    const message = problemMessage(problem, `${req.method} ${req.path}: HTTP ${res.status} ${res.statusText}`.trim());
    if (res.status === 401) {
      throw new LvsdError(
        "auth",
        `lvsd refused the admin token: ${message} (check --token-file or LVSADM_TOKEN)`,
        401,
        problem,
      );
    }
    throw new LvsdError("api", message, res.status, problem);
  }

  /** Releases the https client, if one was made. */
  async close(): Promise<void> {
    const client = await this.#http?.catch(() => undefined);
    client?.close();
  }
}
