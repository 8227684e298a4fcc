/**
 * The health checkers' vocabulary: what a check returns, what it is pointed
 * at, and the options of each kind, named as keepalived names them
 * (`acassen/keepalived: doc/man/man5/keepalived.conf.5.in`, the
 * `*_CHECK`/`HTTP_GET` blocks), with times in seconds as keepalived takes
 * them (fractions allowed).
 *
 * Defaults (applied by options.ts, cited there from keepalived's source) are
 * given on each field. The options that steer the monitor rather than one
 * probe (delay_loop, retry, delay_before_retry, warmup, alpha) sit on every
 * kind because keepalived takes them inside every checker block.
 *
 * @module
 */

/** The outcome of one probe. */
export interface CheckResult {
  /** The dest answered as the check demands. */
  up: boolean;
  /**
   * MISC_CHECK with misc_dynamic only: the weight the script asked for
   * (exit status − 2, 0..253). Absent = the dest's configured weight.
   */
  weight?: number;
  /** Why, for logs and the API: `connected`, `HTTP status 500 not in 200-299`, … */
  detail: string;
}

/** Where a probe goes: a dest's address and port (or keepalived's connect_ip/connect_port). */
export interface CheckTarget {
  address: string;
  port: number;
}

/** A checker: one probe, never throws, closes everything it opened on every path (abort included). */
export type CheckFn<O> = (target: CheckTarget, opts: O, signal: AbortSignal) => Promise<CheckResult>;

/** The kinds of checks, and the keepalived block each one mirrors. */
export const CHECK_KINDS = {
  tcp: "TCP_CHECK",
  http: "HTTP_GET",
  https: "SSL_GET",
  udp: "UDP_CHECK",
  dns: "DNS_CHECK",
  misc: "MISC_CHECK",
} as const;
/** `tcp`, `http`, `https`, `udp`, `dns`, `misc`. */
export type CheckKind = keyof typeof CHECK_KINDS;

/**
 * Options every kind takes (keepalived's checker-common and virtual-server
 * keywords). The monitor applies them; the probe only reads connect_timeout.
 */
export interface CommonOptions {
  /** Seconds between checks. Default 60 (KEEPALIVED_DEFAULT_DELAY). */
  delay_loop?: number;
  /** Seconds a probe may take, connect to verdict. Default 5. Not used by MISC (see misc_timeout). */
  connect_timeout?: number;
  /**
   * Failed probes retried before a dest that is up is declared down (so
   * retry + 1 consecutive failures). Default 1; DNS 3; MISC 0.
   */
  retry?: number;
  /** Seconds before each retry. Default 1; HTTP/HTTPS 3; DNS delay_loop. */
  delay_before_retry?: number;
  /** The first probe waits a random time in [0, warmup] seconds. Default delay_loop. */
  warmup?: number;
  /** Start down until the first success. Default false (start up). */
  alpha?: boolean;
  /** Weight 0 instead of removal when down. Default false. The monitor only carries it; the director acts on it. */
  inhibit_on_failure?: boolean;
}

/** TCP_CHECK: a connect, then close. */
export type TcpOptions = CommonOptions;

/** HTTP_GET / SSL_GET: one GET on a new connection, `HTTP/1.0` as keepalived's default http_protocol. */
export interface HttpOptions extends CommonOptions {
  /** url { path }. Default "/". */
  path?: string;
  /** url { status_code }: codes and ranges, "200-299,301" or "200-299 301". Default "200-299". */
  status_code?: string;
  /** url { digest }: MD5 of the body, 32 hex digits (what keepalived's genhash prints). */
  digest?: string;
  /** url { regex }: a JavaScript RegExp source the body must match. */
  regex?: string;
  /** url { regex_no_match }: up when the body does NOT match regex. Default false. */
  regex_no_match?: boolean;
  /** virtualhost: the Host header. Default the dest as `addr:port` (keepalived's request_template). */
  virtualhost?: string;
  /** SSL_GET enable_sni: send SNI (sni_name, else virtualhost). Default false. */
  enable_sni?: boolean;
  /** SSL_GET sni_name. */
  sni_name?: string;
}

/** UDP_CHECK: send a datagram, wait for a reply. */
export interface UdpOptions extends CommonOptions {
  /** payload: hex bytes, spaces allowed ("01 02 ff"). Default 32 bytes of "lvsd check - …". */
  payload?: string;
  /** lvsd: the payload as UTF-8 text instead of hex. */
  payload_text?: string;
  /** require_reply: hex the reply must start with; `x` is a wildcard nibble. Any reply when absent. */
  require_reply?: string;
  /** lvsd: a JavaScript RegExp source the reply (as latin1 text) must match. */
  reply_regex?: string;
  /** min_reply_length. Default 0. */
  min_reply_length?: number;
  /** max_reply_length. Default 65535 (keepalived: 255; see options.ts). */
  max_reply_length?: number;
}

/** DNS record types DNS_CHECK knows (check_dns.c DNS_TYPE[]), with their QTYPE. */
export const DNS_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  RRSIG: 46,
  DNSKEY: 48,
} as const;
/** A DNS_CHECK `type`. */
export type DnsType = keyof typeof DNS_TYPES;

/** DNS_CHECK: one query over UDP. */
export interface DnsOptions extends CommonOptions {
  /** type. Default SOA. */
  type?: DnsType;
  /** name. Default "." (the root). */
  name?: string;
  /** lvsd: also demand ANCOUNT > 0 (keepalived takes any NOERROR reply). Default false. */
  require_answer?: boolean;
}

/** MISC_CHECK: run a program. */
export interface MiscOptions extends CommonOptions {
  /** misc_path: the program and its arguments (argv, no shell). */
  misc_path: string[];
  /** misc_timeout: seconds before the program is killed. Default delay_loop. */
  misc_timeout?: number;
  /** misc_dynamic: exit 2..255 = up with weight exit − 2. Default false (only exit 0 is up). */
  misc_dynamic?: boolean;
}

/** A check as configured: a kind and its options. */
export type CheckSpec =
  | ({ kind: "tcp" } & TcpOptions)
  | ({ kind: "http" } & HttpOptions)
  | ({ kind: "https" } & HttpOptions)
  | ({ kind: "udp" } & UdpOptions)
  | ({ kind: "dns" } & DnsOptions)
  | ({ kind: "misc" } & MiscOptions);
