// ARP for IPv4 over Ethernet (RFC 826). Offsets from the ARP header.
//  0 htype(2) 2 ptype(2) 4 hlen(1) 5 plen(1) 6 oper(2)
//  8 sha(6) 14 spa(4) 18 tha(6) 24 tpa(4)        = 28 bytes
export const ARP_LEN: u32 = 28;
export const ARP_HTYPE: u32 = 0;
export const ARP_PTYPE: u32 = 2;
export const ARP_HLEN: u32 = 4;
export const ARP_PLEN: u32 = 5;
export const ARP_OPER: u32 = 6;
export const ARP_SHA: u32 = 8;
export const ARP_SPA: u32 = 14;
export const ARP_THA: u32 = 18;
export const ARP_TPA: u32 = 24;
export const ARP_REQUEST: u16 = 0x0100; // 1, wire order
export const ARP_REPLY: u16 = 0x0200; // 2, wire order
