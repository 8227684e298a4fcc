/**
 * The IPVS connection-sync protocol, version 1: what a master director
 * multicasts (UDP, default group 224.0.0.81 port 8848) so that its backups
 * hold the same connections. The layout is the kernel's
 * (net/netfilter/ipvs/ip_vs_sync.c: struct ip_vs_sync_mesg, struct
 * ip_vs_sync_v4, struct ip_vs_sync_v6, the IPVS_OPT_* options; written by
 * ip_vs_sync_conn, read by ip_vs_process_message and ip_vs_proc_sync_conn),
 * so lvsd interoperates with a kernel IPVS director in either role.
 *
 * Every multi-byte field is big-endian (network order). Offsets on the right.
 * Sizes, option types, SyncConn and the drop reasons: layout.ts; encoding:
 * encode.ts; decoding and what is dropped: decode.ts; states and flags:
 * states.ts. This module re-exports layout, encode and decode.
 *
 * Message header (8 bytes)
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  reserved = 0 |    syncid     |   size: bytes in the datagram |  0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   nr_conns    |  version = 1  |           spare = 0           |  4
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  entry 1                                                      |  8
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  0..3 zero bytes, so that the next entry starts 4-aligned     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~  entry 2 ... entry nr_conns (the kernel pads only between     ~
 *  |  entries: the datagram ends where the last entry ends)        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * IPv4 entry (type 0): 36 bytes, then its options
 *
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     type      |   protocol    |ver = 0|  size: entry + options|  0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 flags (IP_VS_CONN_F_*, 32 bits)               |  4
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |             state             |             cport             |  8
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |             vport             |             dport             | 12
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                            fwmark                             | 16
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |            timeout: seconds left (0 = receiver's default)     | 20
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     caddr: client address                     | 24
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     vaddr: virtual address                    | 28
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  daddr: real server address                   | 32
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~  options (TLVs) until `size` bytes from the entry's start     ~ 36
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *  type:     bit 0 set = IPv6 (STYPE_F_INET6); any other non-zero type is
 *            refused.
 *  ver/size: one 16-bit word; the top 4 bits are the entry format version
 *            (0; anything else is refused), the low 12 bits the entry's
 *            length in bytes including its options but not the padding.
 *  flags:    the master sends its flag word minus HASHED; the backup keeps
 *            IP_VS_CONN_F_BACKUP_MASK of it and adds SYNC (states.ts).
 *  state:    IPVS state number (TCP 0..10, UDP 0, template 0/1: states.ts).
 *  ports:    as on the wire of the connection (cport of a template is 0).
 *
 * IPv6 entry (type 1): the same first 24 bytes, then 16-byte caddr (24),
 * vaddr (40) and daddr (56): 72 bytes, then its options.
 *
 * Option (TLV) following the fixed part of an entry
 *
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     type      |  len: 1..255  |  len bytes of data ...        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   bit 0x40 of the type byte (IPVS_OPT_F_PARAM) marks an option a
 *   receiver may skip when it does not know the type (the type is read
 *   with that bit masked off, so 0x41 is still SEQ_DATA); an unknown type
 *   without it makes the receiver skip the whole entry. len 0, or data
 *   running past the entry's size, spoils the datagram.
 *
 *  1 IPVS_OPT_SEQ_DATA, len 24: the NAT sequence adjustments, sent when
 *    the flags have IP_VS_CONN_F_SEQ_MASK bits, at most once per entry:
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  type = 1     |   len = 24    |   in_seq.init_seq (bytes 0-1) |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  in_seq.init_seq (bytes 2-3)  |   in_seq.delta ...            |
 *  ~  in_seq {init_seq, delta, previous_delta},                    ~
 *  ~  out_seq {init_seq, delta, previous_delta}: six u32, unaligned ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    (an IPv4 entry with it is 36 + 2 + 24 = 62 bytes: 2 bytes of
 *    padding follow when another entry does)
 *  2 IPVS_OPT_PE_DATA, len ≤ 255: persistence-engine data (e.g. SIP Call-ID)
 *  3 IPVS_OPT_PE_NAME, len ≤ 16: the engine's name (e.g. "sip"), no NUL
 *
 * Version 0 (the original format, still chosen by
 * net.ipv4.vs.sync_version=0) has a 4-byte header whose FIRST byte is
 * nr_conns, then syncid and size, and 24/48-byte IPv4 entries without
 * timeout. A v0 master makes a message only to put a connection in it, so
 * its first byte is not 0 (short of 256 entries wrapping the byte);
 * version 1 puts 0 there so that an old receiver reads "no connections". The kernel
 * takes a datagram as version 1 only when reserved == 0, version == 1 and
 * spare == 0, and hands anything else to its v0 parser (ip_vs_process_message).
 * lvsd speaks only version 1: first byte non-zero → dropped as `version0`;
 * first byte 0 but another version or spare → `unknown_version`.
 */
export * from "./layout.ts";
export { decodeMessage } from "./decode.ts";
export type { DecodeOptions, DecodeResult } from "./decode.ts";
export { encodeMessage } from "./encode.ts";
export type { SyncMessage } from "./encode.ts";
