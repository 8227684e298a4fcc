/**
 * Reading sync datagrams (the backup's side), following the kernel's
 * ip_vs_process_message and ip_vs_proc_sync_conn check for check, with
 * lvsd's own answer to what a broken datagram yields.
 *
 * The kernel sorts its errors in two kinds. Framing errors (an entry cut
 * short, a size smaller than the entry, an unknown entry type or version,
 * a bad option TLV) make it stop reading: "Dropping buffer", the entries it
 * already installed from that datagram stay. Entry errors (a protocol it
 * does not know, a state out of range, an unknown mandatory option, a
 * persistence engine it lacks, IPv6 without IPv6 support) skip that entry
 * only and reading goes on at the next one.
 *
 * lvsd keeps the second kind as is (counted per entry, the other entries
 * used) but makes the first all-or-nothing: the whole datagram is checked
 * before any entry from it is returned, and a framing error anywhere drops
 * it entirely, counted once. A datagram whose framing is broken comes from
 * a sender that does not speak this protocol (or was damaged past the UDP
 * checksum), so nothing in it is trusted, and the result does not depend on
 * where in the datagram the damage sits. lvsd also checks two things the
 * kernel leaves alone: that the nr_conns entries end where the datagram
 * ends (allowing zero padding to the next 4-byte boundary after the last
 * one), and that padding bytes are zero, as every kernel master writes them.
 */
import { ipv4Text } from "./addr_cache.ts";
import {
  type DatagramDropReason,
  type EntryDropReason,
  IPVS_OPT_F_PARAM,
  IPVS_OPT_PE_DATA,
  IPVS_OPT_PE_NAME,
  IPVS_OPT_SEQ_DATA,
  MESG_HEADER_SIZE,
  MESG_V0_HEADER_SIZE,
  PE_DATA_MAXLEN,
  PE_NAME_MAXLEN,
  SEQ_DATA_SIZE,
  STYPE_F_INET6,
  SVER_MASK,
  SVER_SHIFT,
  SYNC_PROTO_VER,
  SYNC_V4_SIZE,
  SYNC_V6_SIZE,
  type SyncConn,
  type SyncDrops,
  type SyncSeq,
} from "./layout.ts";
import { flagsOnReceive, isTemplate, protoName, validState } from "./states.ts";

/** The receiving daemon's setting. */
export interface DecodeOptions {
  /** Our --syncid, 0..255; 0 accepts every syncid (ip_vs_process_message). */
  syncid: number;
}

export interface DecodeResult {
  /** Valid IPv4 entries, in datagram order, with flags as the backup installs them (states.ts flagsOnReceive). */
  conns: SyncConn[];
  /** What was dropped, per reason (wire.ts DATAGRAM_DROP_REASONS / ENTRY_DROP_REASONS). */
  drops: SyncDrops;
}

const align4 = (n: number) => (n + 3) & ~3;

function dropped(reason: DatagramDropReason): DecodeResult {
  return { conns: [], drops: { [reason]: 1 } };
}

function seqAt(v: DataView, p: number): SyncSeq {
  return { initSeq: v.getUint32(p), delta: v.getUint32(p + 4), previousDelta: v.getUint32(p + 8) };
}

/** What an entry's options held; `skip` when one makes the receiver skip the entry. */
interface Options {
  seq?: { in: SyncSeq; out: SyncSeq };
  peData: boolean;
  skip?: EntryDropReason;
}

/**
 * Walks the option TLVs in [p, end) as ip_vs_proc_sync_conn does. Returns
 * the options, or a framing error. An unknown type without
 * IPVS_OPT_F_PARAM ends the walk (the kernel leaves the entry there).
 */
function readOptions(v: DataView, p: number, end: number): Options | "bad_option" {
  const o: Options = { peData: false };
  let peName = false;
  while (p < end) {
    if (p + 2 > end) return "bad_option";
    const type = v.getUint8(p);
    const len = v.getUint8(p + 1);
    p += 2;
    if (len === 0 || p + len > end) return "bad_option";
    switch (type & ~IPVS_OPT_F_PARAM) {
      case IPVS_OPT_SEQ_DATA:
        if (len !== SEQ_DATA_SIZE || o.seq) return "bad_option";
        o.seq = { in: seqAt(v, p), out: seqAt(v, p + 12) };
        break;
      case IPVS_OPT_PE_DATA:
        if (len > PE_DATA_MAXLEN || o.peData) return "bad_option";
        o.peData = true;
        break;
      case IPVS_OPT_PE_NAME:
        if (len > PE_NAME_MAXLEN || peName) return "bad_option";
        peName = true;
        break;
      default:
        if (!(type & IPVS_OPT_F_PARAM)) return { ...o, skip: "unknown_option" };
    }
    p += len;
  }
  return o;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Decodes one received datagram. Never throws on any bytes; throws a
 * RangeError only for a syncid option outside 0..255.
 */
export function decodeMessage(bytes: Uint8Array, opts: DecodeOptions): DecodeResult {
  if (!Number.isInteger(opts.syncid) || opts.syncid < 0 || opts.syncid > 255) {
    throw new RangeError(`syncid: ${opts.syncid} is not an integer in 0..255`);
  }
  const n = bytes.length;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Header checks in ip_vs_process_message's order.
  if (n < MESG_V0_HEADER_SIZE) return dropped("short_header");
  if (v.getUint16(2) !== n) return dropped("size_mismatch");
  if (opts.syncid !== 0 && v.getUint8(1) !== opts.syncid) return dropped("wrong_syncid");
  if (v.getUint8(0) !== 0) return dropped("version0");
  if (n < MESG_HEADER_SIZE) return dropped("short_header");
  if (v.getInt8(5) !== SYNC_PROTO_VER || v.getUint16(6) !== 0) return dropped("unknown_version");

  const nrConns = v.getUint8(4);
  const conns: SyncConn[] = [];
  const drops: SyncDrops = {};
  let off = MESG_HEADER_SIZE; // where the next entry starts
  let end = MESG_HEADER_SIZE; // where the previous entry ended (before its padding)
  for (let i = 0; i < nrConns; i++) {
    if (!allZero(bytes, end, Math.min(off, n))) return dropped("bad_padding");
    if (off >= n) return dropped("nr_conns_mismatch");
    if (off + SYNC_V4_SIZE > n) return dropped("truncated_entry");
    const verSize = v.getUint16(off + 2);
    const size = verSize & SVER_MASK;
    if (off + size > n) return dropped("truncated_entry");
    if (verSize >> SVER_SHIFT) return dropped("entry_version");
    const type = v.getUint8(off);
    const ipv6 = (type & STYPE_F_INET6) !== 0;
    if (!ipv6 && type !== 0) return dropped("entry_type");
    const fixed = ipv6 ? SYNC_V6_SIZE : SYNC_V4_SIZE;
    if (size < fixed) return dropped("entry_size");
    const o = readOptions(v, off + fixed, off + size);
    if (o === "bad_option") return dropped(o);

    const skip = entryProblem(v, off, ipv6, o);
    if (skip) drops[skip] = (drops[skip] ?? 0) + 1;
    else conns.push(entryConn(v, off, o));
    end = off + size;
    off += align4(size);
  }
  // After the last entry: at most its padding, all zero.
  if (n > Math.max(off, end)) return dropped("nr_conns_mismatch");
  if (!allZero(bytes, end, n)) return dropped("bad_padding");
  return { conns, drops };
}

/** Why a well-framed entry is skipped, in ip_vs_proc_sync_conn's order; null when it is used. */
function entryProblem(v: DataView, off: number, ipv6: boolean, o: Options): EntryDropReason | null {
  if (ipv6) return "ipv6_unsupported";
  if (o.skip) return o.skip;
  const proto = protoName(v.getUint8(off + 1));
  // The kernel checks the protocol of connections only; lvsd cannot hold a
  // template of a protocol it does not forward either.
  if (!proto) return "unknown_protocol";
  const template = isTemplate(v.getUint32(off + 4));
  // The kernel only logs a template state out of range; lvsd refuses it
  // with the rest, so every entry it returns is one a kernel master writes.
  if (!validState(proto, v.getUint16(off + 8), template)) return "invalid_state";
  if (o.peData) return "pe_unsupported";
  return null;
}

function entryConn(v: DataView, off: number, o: Options): SyncConn {
  const c: SyncConn = {
    proto: protoName(v.getUint8(off + 1))!,
    state: v.getUint16(off + 8),
    flags: flagsOnReceive(v.getUint32(off + 4)),
    caddr: ipv4Text(v.getUint32(off + 24)),
    cport: v.getUint16(off + 10),
    vaddr: ipv4Text(v.getUint32(off + 28)),
    vport: v.getUint16(off + 12),
    daddr: ipv4Text(v.getUint32(off + 32)),
    dport: v.getUint16(off + 14),
    fwmark: v.getUint32(off + 16),
    timeout: v.getUint32(off + 20),
  };
  if (o.seq) c.seq = o.seq;
  return c;
}
