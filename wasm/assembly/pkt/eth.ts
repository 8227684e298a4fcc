// Ethernet II (IEEE 802.3) header accessors. Offsets from the frame start.
//  0      6      12     14
//  | dst  | src  | type | payload...      (802.1Q: type 0x8100, TCI, type)
export const ETH_HLEN: u32 = 14;
export const ETH_DST: u32 = 0;
export const ETH_SRC: u32 = 6;
export const ETH_TYPE: u32 = 12;
// EtherTypes as loaded little-endian from wire order.
export const ETHERTYPE_IPV4: u16 = 0x0008; // 0x0800
export const ETHERTYPE_ARP: u16 = 0x0608; // 0x0806
export const ETHERTYPE_VLAN: u16 = 0x0081; // 0x8100

// @ts-ignore: decorator

export function copyMac(dst: u32, src: u32): void {
  store<u32>(dst, load<u32>(src));
  store<u16>(dst + 4, load<u16>(src + 4));
}

// @ts-ignore: decorator

export function swapMacs(f: u32): void {
  const a = load<u32>(f);
  const b = load<u16>(f + 4);
  store<u32>(f, load<u32>(f + 6));
  store<u16>(f + 4, load<u16>(f + 10));
  store<u32>(f + 6, a);
  store<u16>(f + 10, b);
}
