// ICMP (RFC 792). Offsets from the ICMP header.
//  0 type 1 code 2 checksum 4 rest (echo: id, seq)
export const ICMP_TYPE: u32 = 0;
export const ICMP_CODE: u32 = 1;
export const ICMP_CHECK: u32 = 2;
export const ICMP_HLEN: u32 = 8;
export const ICMP_ECHO_REPLY: u8 = 0;
export const ICMP_ECHO_REQUEST: u8 = 8;
