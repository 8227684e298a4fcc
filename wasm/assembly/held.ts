// Which addresses this director holds now under VRRP (layout.ts, "VRRP-held
// addresses"). Read per packet only for frames to a VIP, ARP requests and
// ICMP, and only while VRRP is configured (CTRL_VRRP_COUNT > 0): without
// VRRP the packet path pays one load.
import { CTRL, CTRL_VRRP_ADDRS, CTRL_VRRP_COUNT, CTRL_VRRP_HELD, CTRL_VRRP_INST } from "./layout";

/** `addr` (wire order) is in no instance's virtual_ipaddress list. */
export const VRRP_UNLISTED: i32 = 0;
/** Listed, and its instance is MASTER: ours to answer and forward. */
export const VRRP_HELD: i32 = 1;
/** Listed, and its instance is not MASTER: another director's. */
export const VRRP_NOT_HELD: i32 = 2;

/** Whether VRRP manages `addr` and if so whether we hold it now. */
export function vrrpHold(addr: u32): i32 {
  const n = load<u32>(CTRL + CTRL_VRRP_COUNT);
  if (n == 0) return VRRP_UNLISTED;
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(CTRL + CTRL_VRRP_ADDRS + (i << 2)) != addr) continue;
    const inst = <u32> load<u8>(CTRL + CTRL_VRRP_INST + i);
    const mask = atomic.load<u32>(CTRL + CTRL_VRRP_HELD);
    return (mask >> inst) & 1 ? VRRP_HELD : VRRP_NOT_HELD;
  }
  return VRRP_UNLISTED;
}
