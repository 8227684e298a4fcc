/**
 * Golden sync datagrams, written byte by byte from the kernel's struct
 * layout (net/netfilter/ipvs/ip_vs_sync.c: struct ip_vs_sync_mesg, struct
 * ip_vs_sync_v4 / ip_vs_sync_v6, IPVS_OPT_*; flag values from
 * include/uapi/linux/ip_vs.h, state numbers from include/net/ip_vs.h), not
 * from lvsd's encoder: the tests check that the encoder produces exactly
 * these bytes and the decoder reads them back.
 *
 * Each line is hex bytes, then `//` and the field. Multi-byte fields are
 * big-endian.
 */
import type { SyncConn } from "../../src/sync/wire.ts";

/** Bytes of an annotated hex listing (everything after `//` on a line is a comment). */
export function bytes(listing: string): Uint8Array {
  const digits = listing
    .split("\n")
    .map((l) => l.replace(/\/\/.*$/, ""))
    .join("")
    .replace(/\s+/g, "");
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex listing: ${digits}`);
  return new Uint8Array(digits.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** IP_VS_CONN_F_SYNC, which the backup adds to every entry it installs. */
const SYNC = 0x20;

// ── one TCP connection (DR), syncid 1 ──

export const TCP_DR_BYTES = bytes(`
  00          // reserved: 0 (a v0 receiver reads nr_conns 0)
  01          // syncid 1
  00 2c       // size: 44 = 8 header + 36 entry
  01          // nr_conns 1
  01          // version 1
  00 00       // spare
  00          // type 0: IPv4
  06          // protocol 6: TCP
  00 24       // ver 0 (top 4 bits), size 36
  00 00 00 83 // flags: IP_VS_CONN_F_DROUTE 0x3 | IP_VS_CONN_F_NOOUTPUT 0x80
  00 01       // state 1: IP_VS_TCP_S_ESTABLISHED
  9c 40       // cport 40000
  00 50       // vport 80
  00 50       // dport 80
  00 00 00 00 // fwmark 0
  00 00 03 84 // timeout 900 s
  c0 00 02 0a // caddr 192.0.2.10
  0a 0a 00 64 // vaddr 10.10.0.100
  0a 14 00 0b // daddr 10.20.0.11
`);

/** What the master sends for TCP_DR_BYTES. */
export const TCP_DR: SyncConn = {
  proto: "tcp",
  state: 1,
  flags: 0x83,
  caddr: "192.0.2.10",
  cport: 40000,
  vaddr: "10.10.0.100",
  vport: 80,
  daddr: "10.20.0.11",
  dport: 80,
  fwmark: 0,
  timeout: 900,
};

// ── one UDP connection (NAT), syncid 200 ──

export const UDP_NAT_BYTES = bytes(`
  00          // reserved
  c8          // syncid 200
  00 2c       // size 44
  01          // nr_conns 1
  01          // version 1
  00 00       // spare
  00          // type 0: IPv4
  11          // protocol 17: UDP
  00 24       // ver 0, size 36
  00 00 01 00 // flags: IP_VS_CONN_F_MASQ 0 | IP_VS_CONN_F_INACTIVE 0x100
  00 00       // state 0: IP_VS_UDP_S_NORMAL
  cf 08       // cport 53000
  00 35       // vport 53
  00 35       // dport 53
  00 00 00 00 // fwmark 0
  00 00 01 2c // timeout 300 s
  c6 33 64 07 // caddr 198.51.100.7
  0a 0a 00 35 // vaddr 10.10.0.53
  0a 14 00 15 // daddr 10.20.0.21
`);

export const UDP_NAT: SyncConn = {
  proto: "udp",
  state: 0,
  flags: 0x100,
  caddr: "198.51.100.7",
  cport: 53000,
  vaddr: "10.10.0.53",
  vport: 53,
  daddr: "10.20.0.21",
  dport: 53,
  fwmark: 0,
  timeout: 300,
};

// ── a persistence template (tunnel), syncid 0 ──

export const TEMPLATE_BYTES = bytes(`
  00          // reserved
  00          // syncid 0
  00 2c       // size 44
  01          // nr_conns 1
  01          // version 1
  00 00       // spare
  00          // type 0: IPv4
  06          // protocol 6: TCP
  00 24       // ver 0, size 36
  00 00 10 02 // flags: IP_VS_CONN_F_TEMPLATE 0x1000 | IP_VS_CONN_F_TUNNEL 0x2
  00 01       // state 1: IP_VS_CTPL_S_ASSURED
  00 00       // cport 0: a template matches every client port
  01 bb       // vport 443
  01 bb       // dport 443
  00 00 00 00 // fwmark 0
  00 00 01 68 // timeout 360 s (the persistence timeout)
  cb 00 71 00 // caddr 203.0.113.0 (client address & persistence netmask)
  0a 0a 00 65 // vaddr 10.10.0.101
  0a 14 00 0c // daddr 10.20.0.12
`);

export const TEMPLATE: SyncConn = {
  proto: "tcp",
  state: 1,
  flags: 0x1002,
  caddr: "203.0.113.0",
  cport: 0,
  vaddr: "10.10.0.101",
  vport: 443,
  daddr: "10.20.0.12",
  dport: 443,
  fwmark: 0,
  timeout: 360,
};

// ── a NAT connection with sequence adjustments (IPVS_OPT_SEQ_DATA) ──

export const SEQ_BYTES = bytes(`
  00          // reserved
  01          // syncid 1
  00 46       // size 70 = 8 + 62 (no padding after the last entry)
  01          // nr_conns 1
  01          // version 1
  00 00       // spare
  00          // type 0: IPv4
  06          // protocol 6: TCP
  00 3e       // ver 0, size 62 = 36 + 2 option header + 24 option data
  00 00 06 00 // flags: MASQ 0 | IP_VS_CONN_F_OUT_SEQ 0x200 | IP_VS_CONN_F_IN_SEQ 0x400
  00 05       // state 5: IP_VS_TCP_S_TIME_WAIT
  c3 50       // cport 50000
  00 15       // vport 21
  00 15       // dport 21
  00 00 00 00 // fwmark 0
  00 00 00 78 // timeout 120 s
  c0 00 02 14 // caddr 192.0.2.20
  0a 0a 00 15 // vaddr 10.10.0.21
  0a 14 00 1f // daddr 10.20.0.31
  01          // option type 1: IPVS_OPT_SEQ_DATA
  18          // option length 24
  11 22 33 44 // in_seq.init_seq
  00 00 00 06 // in_seq.delta 6
  00 00 00 02 // in_seq.previous_delta 2
  a0 b0 c0 d0 // out_seq.init_seq
  ff ff ff fa // out_seq.delta (-6 as u32)
  00 00 00 00 // out_seq.previous_delta 0
`);

export const SEQ: SyncConn = {
  proto: "tcp",
  state: 5,
  flags: 0x600,
  caddr: "192.0.2.20",
  cport: 50000,
  vaddr: "10.10.0.21",
  vport: 21,
  daddr: "10.20.0.31",
  dport: 21,
  fwmark: 0,
  timeout: 120,
  seq: {
    in: { initSeq: 0x11223344, delta: 6, previousDelta: 2 },
    out: { initSeq: 0xa0b0c0d0, delta: 0xfffffffa, previousDelta: 0 },
  },
};

// ── several entries: padding after a 62-byte entry, then a connection and its template ──

export const SEVERAL_BYTES = bytes(`
  00          // reserved
  01          // syncid 1
  00 90       // size 144 = 8 + 62 + 2 padding + 36 + 36
  03          // nr_conns 3
  01          // version 1
  00 00       // spare
  // entry 1 (offset 8): the SEQ connection above, 62 bytes
  00 06 00 3e 00 00 06 00 00 05 c3 50 00 15 00 15
  00 00 00 00 00 00 00 78 c0 00 02 14 0a 0a 00 15
  0a 14 00 1f 01 18 11 22 33 44 00 00 00 06 00 00
  00 02 a0 b0 c0 d0 ff ff ff fa 00 00 00 00
  00 00       // padding: entry 2 starts 4-aligned at offset 72
  // entry 2 (offset 72): a connection controlled by the template after it
  00          // type 0: IPv4
  06          // protocol TCP
  00 24       // ver 0, size 36
  00 00 00 02 // flags: IP_VS_CONN_F_TUNNEL
  00 04       // state 4: IP_VS_TCP_S_FIN_WAIT
  d4 31       // cport 54321
  01 bb       // vport 443
  01 bb       // dport 443
  00 00 00 00 // fwmark 0
  00 00 00 78 // timeout 120 s
  cb 00 71 2a // caddr 203.0.113.42
  0a 0a 00 65 // vaddr 10.10.0.101
  0a 14 00 0c // daddr 10.20.0.12
  // entry 3 (offset 108): its template, sent right after it as ip_vs_sync_conn does
  00 06 00 24 00 00 10 02 00 01 00 00 01 bb 01 bb
  00 00 00 00 00 00 01 68 cb 00 71 00 0a 0a 00 65
  0a 14 00 0c
`);

export const CONTROLLED: SyncConn = {
  proto: "tcp",
  state: 4,
  flags: 0x2,
  caddr: "203.0.113.42",
  cport: 54321,
  vaddr: "10.10.0.101",
  vport: 443,
  daddr: "10.20.0.12",
  dport: 443,
  fwmark: 0,
  timeout: 120,
};

export const SEVERAL: SyncConn[] = [SEQ, CONTROLLED, TEMPLATE];

// ── an IPv6 entry (parsed, counted, not returned) before an IPv4 one ──

export const IPV6_BYTES = bytes(`
  00          // reserved
  01          // syncid 1
  00 74       // size 116 = 8 + 72 + 36
  02          // nr_conns 2
  01          // version 1
  00 00       // spare
  01          // type 1: STYPE_F_INET6
  06          // protocol TCP
  00 48       // ver 0, size 72
  00 00 00 00 // flags: MASQ
  00 01       // state ESTABLISHED
  9c 41       // cport 40001
  00 50       // vport 80
  00 50       // dport 80
  00 00 00 00 // fwmark 0
  00 00 03 84 // timeout 900
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10 // caddr 2001:db8::10
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 01 00 // vaddr 2001:db8::100
  20 01 0d b8 00 00 00 00 00 00 00 00 00 02 00 0b // daddr 2001:db8::2:b
  // entry 2 (offset 80): TCP_DR's entry
  00 06 00 24 00 00 00 83 00 01 9c 40 00 50 00 50
  00 00 00 00 00 00 03 84 c0 00 02 0a 0a 0a 00 64
  0a 14 00 0b
`);

// ── persistence-engine options (a SIP template): skipped, lvsd has no engines ──

export const PE_BYTES = bytes(`
  00          // reserved
  01          // syncid 1
  00 38       // size 56 = 8 + 47 + 1 byte of trailing padding
  01          // nr_conns 1
  01          // version 1
  00 00       // spare
  00 11 00 2f // type IPv4, protocol UDP, ver 0, size 47 = 36 + 6 + 5
  00 00 10 00 // flags: TEMPLATE
  00 00       // state NONE
  00 00 13 c4 13 c4 // cport 0, vport 5060, dport 5060
  00 00 00 00 // fwmark
  00 00 00 b4 // timeout 180
  c0 00 02 1e 0a 0a 00 66 0a 14 00 0d // caddr, vaddr, daddr
  02 04 61 62 63 64 // option IPVS_OPT_PE_DATA, 4 bytes "abcd" (a Call-ID)
  03 03 73 69 70    // option IPVS_OPT_PE_NAME, 3 bytes "sip"
  00                // padding to 4 bytes (a receiver allows it after the last entry)
`);

/** The flags the backup installs for a sent entry (BACKUP_MASK plus SYNC). */
export function received(c: SyncConn): SyncConn {
  return { ...c, flags: ((c.flags & 0x1f87) | SYNC) >>> 0 };
}
