// UDP has one IPVS state, NORMAL (ip_vs_proto_udp.c), timeout 300 s by
// default. UDP connections are never "active": they stay in InActConn.
export const UDP_S_NORMAL: u8 = 0;
export const UDP_DEFAULT_TIMEOUT: u32 = 300;
