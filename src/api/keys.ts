/**
 * Service and dest keys as clients write them in URLs and edit ops:
 * normalised before they are looked up (a proto in capitals or a port with
 * leading zeros still names the service), and explained when they cannot
 * name anything.
 *
 * @module
 */

const SERVICE_KEY = /^([A-Za-z]+):(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;
const DEST_KEY = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** `TCP:10.10.0.100:080` → `tcp:10.10.0.100:80`; text that is no service key comes back as it is. */
export function normaliseServiceKey(text: string): string {
  const m = SERVICE_KEY.exec(text);
  return m ? `${m[1].toLowerCase()}:${m[2]}:${Number(m[3])}` : text;
}

/** `10.20.0.11:080` → `10.20.0.11:80`; text that is no dest key comes back as it is. */
export function normaliseDestKey(text: string): string {
  const m = DEST_KEY.exec(text);
  return m ? `${m[1]}:${Number(m[2])}` : text;
}

/** `service "x" does not exist`, with the key's form when `x` does not have it. */
export function noSuchService(text: string): string {
  const hint = SERVICE_KEY.test(text) ? "" : " (a service key is proto:vip:port, e.g. tcp:10.10.0.100:80)";
  return `service ${JSON.stringify(text)} does not exist${hint}`;
}

/** `dest "x" does not exist in service "s"`, with the key's form when `x` does not have it. */
export function noSuchDest(text: string, service: string): string {
  const hint = DEST_KEY.test(text) ? "" : " (a dest key is address:port, e.g. 10.20.0.11:80)";
  return `dest ${JSON.stringify(text)} does not exist in service ${service}${hint}`;
}
