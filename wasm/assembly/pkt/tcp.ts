// TCP header (RFC 9293 §3.1). Offsets from the TCP header.
//  0 sport 2 dport 4 seq 8 ack 12 data offset/flags 16 window 18 checksum
export const TCP_SPORT: u32 = 0;
export const TCP_DPORT: u32 = 2;
export const TCP_DOFF: u32 = 12;
export const TCP_FLAGS: u32 = 13;
export const TCP_CHECK: u32 = 16;
export const TCP_MIN_HLEN: u32 = 20;
export const TH_FIN: u8 = 0x01;
export const TH_SYN: u8 = 0x02;
export const TH_RST: u8 = 0x04;
export const TH_ACK: u8 = 0x10;
