/**
 * Host and service names in lvsadm arguments, looked up as ipvsadm does
 * (ipvsadm.c host_to_addr with gethostbyname, service_to_port with
 * getservbyname): `-t www:http` works. Only IPv4 answers count, as
 * host_to_addr takes only AF_INET.
 *
 * @module
 */

/** Name lookups (injected in tests, so that no test queries DNS). */
export interface Resolver {
  /** The IPv4 address of host `name`, or null. */
  host(name: string): Promise<string | null>;
  /** The port of service `name` for `proto` ("tcp" | "udp"), or null. */
  service(name: string, proto: string): Promise<number | null>;
}

/** A /etc/services style table: `name port/proto [aliases...] [# comment]`. */
export function parseServices(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split("\n")) {
    const words = raw.replace(/#.*/, "").trim().split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(words[1] ?? "");
    if (!m) continue;
    for (const name of [words[0], ...words.slice(2)]) {
      const key = `${name}/${m[2]}`;
      // getservbyname returns the first entry that matches.
      if (!out.has(key)) out.set(key, Number(m[1]));
    }
  }
  return out;
}

/** A /etc/hosts style table: the first IPv4 address of each name. */
export function parseHosts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const words = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(words[0] ?? "")) continue;
    for (const name of words.slice(1)) {
      if (!out.has(name.toLowerCase())) out.set(name.toLowerCase(), words[0]);
    }
  }
  return out;
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/**
 * The system's names: /etc/hosts first, then DNS A records (nsswitch's usual
 * "files dns"); /etc/services for ports.
 */
export function systemResolver(): Resolver {
  let services: Promise<Map<string, number>> | null = null;
  let hosts: Promise<Map<string, string>> | null = null;
  return {
    async host(name) {
      hosts ??= readOr("/etc/hosts").then(parseHosts);
      const known = (await hosts).get(name.toLowerCase());
      if (known) return known;
      try {
        const answers = await Deno.resolveDns(name, "A");
        return answers[0] ?? null;
      } catch {
        return null;
      }
    },
    async service(name, proto) {
      services ??= readOr("/etc/services").then(parseServices);
      return (await services).get(`${name}/${proto}`) ?? null;
    },
  };
}
