// UDP header (RFC 768). Offsets from the UDP header.
//  0 sport 2 dport 4 length 6 checksum (0 = none)
export const UDP_SPORT: u32 = 0;
export const UDP_DPORT: u32 = 2;
export const UDP_LEN: u32 = 4;
export const UDP_CHECK: u32 = 6;
export const UDP_HLEN: u32 = 8;
