/**
 * Building sync datagrams (the master's side), as the kernel's
 * ip_vs_sync_conn fills its sync_buff: entries go into the current message
 * while they fit, each preceded by the zero bytes that align it to 4; one
 * that would take the message past maxlen starts the next message. No
 * padding follows the last entry, and an empty message is never sent.
 */
import { ipv4Number } from "./addr_cache.ts";
import {
  IPVS_OPT_SEQ_DATA,
  MAX_CONNS_PER_MESSAGE,
  MAX_DATAGRAM,
  MESG_HEADER_SIZE,
  SEQ_DATA_SIZE,
  SVER_MASK,
  SYNC_PROTO_VER,
  SYNC_V4_SIZE,
  type SyncConn,
  type SyncSeq,
} from "./layout.ts";
import { IP_VS_CONN_F_HASHED, IP_VS_CONN_F_SEQ_MASK, PROTO_NUMBERS } from "./states.ts";

/** What one call sends: the syncid (0..255) stamped on every datagram and the entries in order. */
export interface SyncMessage {
  syncid: number;
  conns: readonly SyncConn[];
}

/** Bytes an entry takes, without padding: the fixed part plus the SEQ_DATA option when present. */
function entrySize(c: SyncConn): number {
  return SYNC_V4_SIZE + (c.seq ? 2 + SEQ_DATA_SIZE : 0);
}

function checkInt(where: string, v: unknown, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${where}: ${JSON.stringify(v)} is not an integer in 0..${max}`);
  }
  return v;
}

function checkAddr(where: string, v: unknown): number {
  const n = typeof v === "string" ? ipv4Number(v) : null;
  if (n === null) throw new RangeError(`${where}: ${JSON.stringify(v)} is not a dotted-quad IPv4 address`);
  return n;
}

function checkSeq(where: string, s: SyncSeq | undefined): SyncSeq {
  if (!s || typeof s !== "object") throw new RangeError(`${where}: missing`);
  checkInt(`${where}.initSeq`, s.initSeq, 0xffffffff);
  checkInt(`${where}.delta`, s.delta, 0xffffffff);
  checkInt(`${where}.previousDelta`, s.previousDelta, 0xffffffff);
  return s;
}

/** Writes entry `c` at `off`; `where` names it in errors. Returns the bytes written. */
function writeEntry(v: DataView, off: number, c: SyncConn, where: string): number {
  const proto = PROTO_NUMBERS[c.proto];
  if (proto === undefined) throw new RangeError(`${where}.proto: ${JSON.stringify(c.proto)} is not tcp or udp`);
  const flags = checkInt(`${where}.flags`, c.flags, 0xffffffff);
  const seqFlags = (flags & IP_VS_CONN_F_SEQ_MASK) !== 0;
  if (seqFlags !== (c.seq !== undefined)) {
    // The kernel sends IPVS_OPT_SEQ_DATA exactly when these flags are set;
    // a mismatch would give the backup adjustments it never applies (or none).
    throw new RangeError(
      seqFlags
        ? `${where}.seq: missing, but flags has IP_VS_CONN_F_SEQ_MASK bits (IPVS_OPT_SEQ_DATA goes with them)`
        : `${where}.seq: given, but flags has no IP_VS_CONN_F_SEQ_MASK bit`,
    );
  }
  const size = entrySize(c);
  v.setUint8(off, 0); // type: IPv4
  v.setUint8(off + 1, proto);
  v.setUint16(off + 2, size & SVER_MASK); // entry version 0 in the top bits
  v.setUint32(off + 4, (flags & ~IP_VS_CONN_F_HASHED) >>> 0);
  v.setUint16(off + 8, checkInt(`${where}.state`, c.state, 0xffff));
  v.setUint16(off + 10, checkInt(`${where}.cport`, c.cport, 0xffff));
  v.setUint16(off + 12, checkInt(`${where}.vport`, c.vport, 0xffff));
  v.setUint16(off + 14, checkInt(`${where}.dport`, c.dport, 0xffff));
  v.setUint32(off + 16, checkInt(`${where}.fwmark`, c.fwmark, 0xffffffff));
  v.setUint32(off + 20, checkInt(`${where}.timeout`, c.timeout, 0xffffffff));
  v.setUint32(off + 24, checkAddr(`${where}.caddr`, c.caddr));
  v.setUint32(off + 28, checkAddr(`${where}.vaddr`, c.vaddr));
  v.setUint32(off + 32, checkAddr(`${where}.daddr`, c.daddr));
  if (c.seq) {
    let p = off + SYNC_V4_SIZE;
    v.setUint8(p++, IPVS_OPT_SEQ_DATA);
    v.setUint8(p++, SEQ_DATA_SIZE);
    for (const [name, s] of [["in", c.seq.in], ["out", c.seq.out]] as const) {
      checkSeq(`${where}.seq.${name}`, s);
      v.setUint32(p, s.initSeq);
      v.setUint32(p + 4, s.delta);
      v.setUint32(p + 8, s.previousDelta);
      p += 12;
    }
  }
  return size;
}

/**
 * Encodes the connections into as few datagrams as the kernel would use,
 * none longer than `maxlen` bytes (the UDP payload: --sync-maxlen, by
 * default 1500 - 20 - 8 = 1472) and none with more than 255 entries
 * (nr_conns is one byte). Throws a RangeError naming the field for a value
 * that does not fit its wire field, an address that is not dotted-quad
 * IPv4, a syncid outside 0..255, or a maxlen outside what one entry plus
 * the header needs..65535.
 */
export function encodeMessage(msg: SyncMessage, maxlen: number): Uint8Array[] {
  checkInt("syncid", msg.syncid, 255);
  checkInt("maxlen", maxlen, MAX_DATAGRAM);
  const out: Uint8Array[] = [];
  let buf: Uint8Array | null = null;
  let view: DataView | null = null;
  let head = 0;
  let count = 0;
  const finish = () => {
    if (!buf || !view) return;
    view.setUint16(2, head);
    view.setUint8(4, count);
    out.push(buf.slice(0, head));
    buf = view = null;
  };
  for (let i = 0; i < msg.conns.length; i++) {
    const c = msg.conns[i];
    const where = `conns[${i}]`;
    if (!c || typeof c !== "object") throw new RangeError(`${where}: not a connection object`);
    const len = entrySize(c);
    if (MESG_HEADER_SIZE + len > maxlen) {
      throw new RangeError(
        `maxlen: ${maxlen} bytes cannot hold ${where} (${len}-byte entry after the ${MESG_HEADER_SIZE}-byte header)`,
      );
    }
    let pad = (4 - head) & 3;
    if (buf && (head + pad + len > maxlen || count === MAX_CONNS_PER_MESSAGE)) finish();
    if (!buf) {
      buf = new Uint8Array(maxlen);
      view = new DataView(buf.buffer);
      view.setUint8(0, 0); // reserved: what makes a version 0 receiver ignore it
      view.setUint8(1, msg.syncid);
      view.setUint8(5, SYNC_PROTO_VER);
      view.setUint16(6, 0); // spare
      head = MESG_HEADER_SIZE;
      count = 0;
      pad = 0;
    }
    head += pad; // the buffer is zero-filled: padding is already 0
    head += writeEntry(view!, head, c, where);
    count++;
  }
  finish();
  return out;
}
