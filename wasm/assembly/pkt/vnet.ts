// struct virtio_net_hdr (10 bytes, little-endian), in front of every frame
// on a PACKET_VNET_HDR socket. It carries GSO and checksum-offload state, so
// a 64 KiB TCP super-frame from veth can be rewritten and sent on whole,
// and a frame whose L4 checksum the sender left for the device is marked so.
//  0 flags 1 gso_type 2 hdr_len 4 gso_size 6 csum_start 8 csum_offset
export const VNET_FLAGS: u32 = 0;
export const VNET_GSO_TYPE: u32 = 1;
export const VNET_CSUM_START: u32 = 6;
export const VNET_CSUM_OFFSET: u32 = 8;
export const VNET_F_NEEDS_CSUM: u8 = 1;
export const VNET_F_DATA_VALID: u8 = 2;
export const VNET_GSO_NONE: u8 = 0;
export const VNET_GSO_TCPV4: u8 = 1;
export const VNET_GSO_UDP_L4: u8 = 5;
export const VNET_GSO_ECN: u8 = 0x80;
export const VNET_GSO_SIZE: u32 = 4; // u16, host order
