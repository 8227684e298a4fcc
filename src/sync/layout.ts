/**
 * Sizes, option types, the SyncConn shape and the drop reasons of the IPVS
 * sync protocol version 1; the byte layout is drawn in wire.ts.
 */
import type { SyncProto } from "./states.ts";

/** SYNC_PROTO_VER. */
export const SYNC_PROTO_VER = 1;
/** sizeof(struct ip_vs_sync_mesg). */
export const MESG_HEADER_SIZE = 8;
/** sizeof(struct ip_vs_sync_mesg_v0): the smallest datagram the kernel looks at. */
export const MESG_V0_HEADER_SIZE = 4;
/** sizeof(struct ip_vs_sync_v4). */
export const SYNC_V4_SIZE = 36;
/** sizeof(struct ip_vs_sync_v6). */
export const SYNC_V6_SIZE = 72;
/** STYPE_F_INET6: bit 0 of an entry's type. */
export const STYPE_F_INET6 = 1;
/** ver_size: version in the top 4 bits (SVER_SHIFT), size in the low 12 (SVER_MASK). */
export const SVER_SHIFT = 12;
export const SVER_MASK = 0x0fff;

export const IPVS_OPT_SEQ_DATA = 1;
export const IPVS_OPT_PE_DATA = 2;
export const IPVS_OPT_PE_NAME = 3;
/** Type bit marking an option that may be skipped when unknown (IPVS_OPT_F_PARAM = 1 << (IPVS_OPT_PARAM - 1)). */
export const IPVS_OPT_F_PARAM = 0x40;
/** sizeof(struct ip_vs_sync_conn_options): in_seq + out_seq, three u32 each. */
export const SEQ_DATA_SIZE = 24;
/** IP_VS_PEDATA_MAXLEN, IP_VS_PENAME_MAXLEN. */
export const PE_DATA_MAXLEN = 255;
export const PE_NAME_MAXLEN = 16;

/** The largest size field value; also what the kernel caps sync_maxlen to (65535 - IP/UDP headers). */
export const MAX_DATAGRAM = 0xffff;
/** nr_conns is one byte. */
export const MAX_CONNS_PER_MESSAGE = 255;

/** One direction's sequence adjustment (struct ip_vs_seq). */
export interface SyncSeq {
  initSeq: number;
  delta: number;
  previousDelta: number;
}

/**
 * A connection or persistence template as a sync entry carries it (IPv4).
 * `flags` are kernel IP_VS_CONN_F_* bits (the template bit among them);
 * `state` is the IPVS state number (states.ts).
 */
export interface SyncConn {
  proto: SyncProto;
  state: number;
  flags: number;
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  daddr: string;
  dport: number;
  fwmark: number;
  /** Seconds until it expires; 0 lets the receiver use its default for the state. */
  timeout: number;
  /**
   * IPVS_OPT_SEQ_DATA. encodeMessage requires it exactly when flags has
   * IP_VS_CONN_F_SEQ_MASK bits (the kernel sends it on that condition);
   * decodeMessage returns it whenever the entry carried the option.
   */
  seq?: { in: SyncSeq; out: SyncSeq };
}

/**
 * Why a datagram or an entry was dropped. The first group spoils the whole
 * datagram (it is counted once and yields no connection at all); the second
 * skips one entry, which is counted, and the others are still used.
 */
export const DATAGRAM_DROP_REASONS = [
  /** Fewer than 4 bytes, or a header that claims version 1 in fewer than 8. */
  "short_header",
  /** The header's size is not the datagram's length. */
  "size_mismatch",
  /** syncid differs from ours (and ours is not 0, which takes any). */
  "wrong_syncid",
  /** A version 0 message (first byte non-zero). */
  "version0",
  /** First byte 0 but version is not 1, or spare is not 0. */
  "unknown_version",
  /** An entry's fixed part or its size runs past the datagram. */
  "truncated_entry",
  /** An entry's format version (top 4 bits of ver_size) is not 0. */
  "entry_version",
  /** An entry's type is neither IPv4 (0) nor IPv6 (bit 0). */
  "entry_type",
  /** An entry's size is smaller than its fixed part (36 or 72 bytes). */
  "entry_size",
  /** An option TLV is cut short, has length 0, runs past the entry, or a known option has a wrong length or comes twice. */
  "bad_option",
  /** Padding between entries (or after the last) is not zero. */
  "bad_padding",
  /** nr_conns entries do not end where the datagram ends (bytes left over, or the datagram ends early). */
  "nr_conns_mismatch",
] as const;

export const ENTRY_DROP_REASONS = [
  /** A well-formed IPv6 entry: lvsd's data path is IPv4 only. */
  "ipv6_unsupported",
  /** A protocol lvsd does not forward (only TCP and UDP). */
  "unknown_protocol",
  /** A state number outside the protocol's table (or 0/1 for a template). */
  "invalid_state",
  /** An unknown option type without IPVS_OPT_F_PARAM. */
  "unknown_option",
  /** Persistence-engine data (IPVS_OPT_PE_DATA): lvsd has no persistence engines. */
  "pe_unsupported",
] as const;

export type DatagramDropReason = typeof DATAGRAM_DROP_REASONS[number];
export type EntryDropReason = typeof ENTRY_DROP_REASONS[number];
export type DropReason = DatagramDropReason | EntryDropReason;
export const DROP_REASONS: readonly DropReason[] = [...DATAGRAM_DROP_REASONS, ...ENTRY_DROP_REASONS];

/** Counts per reason; a reason that did not occur is absent. */
export type SyncDrops = Partial<Record<DropReason, number>>;
