// Masquerading (IP_VS_CONN_F_MASQ): the destination is rewritten on the way
// in (vaddr:vport -> daddr:dport) and the source on the way out
// (daddr:dport -> vaddr:vport). Checksums are updated incrementally
// (RFC 1624); a frame whose L4 checksum is still partial (the sender left it
// to the device, virtio NEEDS_CSUM) only has its pseudo-header sum updated,
// because the device sums the ports itself.
import { update16, update32, updatePartial32 } from "../csum";
import { IP_CHECK } from "../pkt/ipv4";
import { IPPROTO_UDP } from "../pkt/ipv4";

/**
 * Rewrites the 32-bit address at `ap` and the port at `pp` (both inside the
 * packet) to `addr`/`port`, fixing the IP checksum at ip+10 and the L4
 * checksum at `cp`.
 */
export function rewrite(
  ip: u32,
  ap: u32,
  pp: u32,
  cp: u32,
  proto: u32,
  addr: u32,
  port: u32,
  partial: bool,
): void {
  const oldAddr = load<u32>(ap);
  const oldPort = <u32> load<u16>(pp);
  store<u32>(ap, addr);
  store<u16>(pp, <u16> port);
  store<u16>(ip + IP_CHECK, <u16> update32(<u32> load<u16>(ip + IP_CHECK), oldAddr, addr));
  const check = <u32> load<u16>(cp);
  if (partial) {
    store<u16>(cp, <u16> updatePartial32(check, oldAddr, addr));
    return;
  }
  // RFC 768: a UDP checksum of 0 means "none" and stays 0.
  if (proto == IPPROTO_UDP && check == 0) return;
  let c = update32(check, oldAddr, addr);
  c = update16(c, oldPort, port);
  // A computed UDP checksum of 0 is sent as all ones (RFC 768).
  if (proto == IPPROTO_UDP && c == 0) c = 0xffff;
  store<u16>(cp, <u16> c);
}
