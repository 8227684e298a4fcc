// IPv4 header (RFC 791 §3.1). Offsets from the IP header.
//  0 ver/ihl 1 tos 2 total length 4 id 6 flags/frag 8 ttl 9 proto
//  10 checksum 12 saddr 16 daddr 20 options...
export const IP_VER_IHL: u32 = 0;
export const IP_TOT_LEN: u32 = 2;
export const IP_FRAG: u32 = 6;
export const IP_TTL: u32 = 8;
export const IP_PROTO: u32 = 9;
export const IP_CHECK: u32 = 10;
export const IP_SADDR: u32 = 12;
export const IP_DADDR: u32 = 16;
export const IP_MIN_HLEN: u32 = 20;
export const IPPROTO_ICMP: u8 = 1;
export const IPPROTO_TCP: u8 = 6;
export const IPPROTO_UDP: u8 = 17;
// MF flag and fragment offset bits, as loaded little-endian from wire order.
export const IP_FRAG_MASK: u16 = 0xff3f; // 0x3fff in wire order
