// The shared memory map. One WebAssembly.Memory is imported by every
// worker's instance of this module and by the supervisor's; the regions
// below sit at explicit offsets above the module's static data because a
// second instantiate rewrites static data and module globals are per
// instance (see DESIGN.md, "Shared memory"). The TypeScript side reads these
// constants from the instance's exports (index.ts re-exports them), so they
// are written once, here.
//
//  0x000000 ┌──────────────────────────────┐
//           │ AssemblyScript static data   │ constants only
//  LAYOUT_BASE (1 MiB)
//           ├──────────────────────────────┤
//  CTRL     │ control block (4 KiB)        │ generation, sizes, timeouts,
//           │                              │ options, one-packet records,
//           │                              │ interface slots
//  SVC      ├──────────────────────────────┤
//           │ svc records [2 copies][4096] │ double buffered: the supervisor
//  SVC_HASH │ svc hash  [2 copies][8192]   │ writes the inactive copy, then
//  VIP_HASH │ VIP set   [2 copies][8192]   │
//  DEST     │ dests     [2 copies][4096]   │ flips CTRL_GEN atomically
//  DSTATE   ├──────────────────────────────┤
//           │ dest state [4096]            │ ActiveConn/InActConn by dest id,
//  SCHED    │ sched state [256]            │ scheduler cursors by service id
//  STATS    ├──────────────────────────────┤ (shared, atomic, stable ids)
//           │ stats [16 workers]           │ per-worker counters, plain
//           │   global[64] svc[256] dest[4096]│ stores (no shared lines)
//  (end of fixed part = FIXED_END)
//  CTRL_CONN_BASE ──────────────────────────┤
//           │ conn table [cap] 64 B        │ open addressing on the in-key
//  CTRL_RIDX_BASE ──────────────────────────┤
//           │ reverse index [2*cap] u64    │ out-key -> (conn, incarnation)
//  CTRL_SYNC_AUX_BASE ──────────────────────┤
//           │ sync aux [cap] 8 B           │ per conn slot: in_pkts, old_state
//  CTRL_SYNC_RING_BASE ─────────────────────┤
//           │ sync rings, one per worker:  │ single producer (the worker),
//           │  head, tail, [RING_SLOTS] u64│ one consumer (the sync master)
//  CTRL_IO_BASE ────────────────────────────┤
//           │ I/O region, one per worker:  │
//           │  rx mmsghdr/iovec/sockaddr_ll/cmsg [BATCH]
//           │  tx mmsghdr/iovec/sockaddr_ll [TX_MAX]
//           │  frame slots [BATCH] x SLOT_SIZE
//           │  segment slots [SEG_SLOTS] x SEG_SIZE
//  CTRL_UMEM_BASE ──────────────────────────┤ (packet_io af_xdp/auto only; page aligned)
//           │ AF_XDP UMEM, one per worker: │ chunks the kernel receives into
//           │  [UMEM_CHUNKS] x UMEM_CHUNK  │ and sends from; rx iovecs point
//           │  (CTRL_UMEM_STRIDE apart)    │ at them, so no copy in userspace
//           └──────────────────────────────┘
// All addresses and ports in tables are stored in wire (network) byte order,
// exactly as loaded from a frame, so the packet path never swaps bytes.

export const LAYOUT_VERSION: u32 = 1;
export const LAYOUT_MAGIC: u32 = 0x6c767364; // "lvsd"
export const LAYOUT_BASE: u32 = 0x100000;

// Stable service ids: scheduler state, locality tables and counters are
// sized by it. A service group (several VIPs and ports, one service) has one
// id but a table record per (VIP, port member), so records per table copy
// (SVC_RECORDS) are counted apart; the config refuses more
// (MAX_TABLE_RECORDS in src/config/members.ts, checked equal by a test).
export const MAX_SERVICES: u32 = 256;
export const SVC_RECORDS: u32 = 4096;
export const MAX_DESTS: u32 = 4096;
export const MAX_WORKERS: u32 = 16;
export const MAX_IFACES: u32 = 8;
// Twice the records: linear probing stays short at half load.
export const SVC_HASH_SLOTS: u32 = 8192;

// ── control block ──
export const CTRL: u32 = LAYOUT_BASE;
export const CTRL_SIZE: u32 = 4096;
export const CTRL_MAGIC: u32 = 0; // u32
export const CTRL_VERSION: u32 = 4; // u32
export const CTRL_GEN: u32 = 8; // u32, active table copy = gen & 1
export const CTRL_CONN_CAP: u32 = 12; // u32, power of two
export const CTRL_CONN_BASE: u32 = 16; // u32
export const CTRL_RIDX_BASE: u32 = 20; // u32
export const CTRL_IO_BASE: u32 = 24; // u32
export const CTRL_WORKERS: u32 = 28; // u32
export const CTRL_MEM_ADDR: u32 = 32; // u64, process address of byte 0
export const CTRL_NSVC: u32 = 40; // u32 [2], service records per copy
// u32: every module instance (worker or supervisor) takes a number from
// here once, so that per-instance PRNGs (twos) start from different seeds.
export const CTRL_INSTANCE_SEQ: u32 = 48;
export const CTRL_TIMEOUTS: u32 = 64; // u32 [16] seconds: tcp states 0..10, [15] udp
export const CTRL_WORKER_CMD: u32 = 128; // u32 [16] per worker: 0 run, 1 stop, 2 crash (fault injection), 3 closed (set by the worker)
export const CTRL_OPTIONS: u32 = 192; // u32 OPT_* bits: run-time options (IPVS sysctls), written by the supervisor
// ── connection sync (IPVS sync protocol), CTRL + 256 .. CTRL + 383 ──
// SYNC_MASTER set: workers queue the connections the kernel's sync rule
// picks (sync.ts) on their ring for the supervisor's sync master.
export const CTRL_SYNC_STATE: u32 = 256; // u32 SYNC_* bits, written by the supervisor
export const CTRL_SYNC_THRESHOLD: u32 = 260; // u32 net.ipv4.vs.sync_threshold[0] (default 3)
export const CTRL_SYNC_PERIOD: u32 = 264; // u32 net.ipv4.vs.sync_threshold[1] = sync_period (default 50)
export const CTRL_SYNC_AUX_BASE: u32 = 268; // u32 offset of the per-slot sync array
export const CTRL_SYNC_RING_BASE: u32 = 272; // u32 offset of worker 0's sync ring
// u8[6]: the client-side next-hop MAC for the next sync_install call (the
// supervisor resolves it; a backup has never seen the client's frames).
export const CTRL_SYNC_CMAC: u32 = 280;
export const SYNC_MASTER: u32 = 1;
// AF_XDP (issue 6; CTRL + 512 .. 639): where worker UMEMs start (u32
// offset, 0 = none reserved) and how far apart they are (u32 bytes).
export const CTRL_UMEM_BASE: u32 = 512;
export const CTRL_UMEM_STRIDE: u32 = 516;
export const UMEM_CHUNK: u32 = 2048;
export const UMEM_CHUNKS: u32 = 16384;
// One record per worker (CONN_SIZE each) for a one-packet (-o) connection:
// it lives for one datagram and is never in the table (IPVS does not hash
// IP_VS_CONN_F_ONE_PACKET connections), so nothing else ever reads it.
export const CTRL_OPS_CONN: u32 = 1024; // [MAX_WORKERS] x CONN_SIZE, up to 2048
export const CTRL_IFACES: u32 = 2304; // [MAX_IFACES] x IFACE_SIZE
export const IFACE_SIZE: u32 = 32;
export const IFACE_INDEX: u32 = 0; // i32 kernel ifindex (0 = unused slot)
export const IFACE_MAC: u32 = 4; // u8[6]
export const IFACE_MTU: u32 = 12; // u32
export const IFACE_ADDR: u32 = 16; // u32 wire order: the director's IPv4 address there (tunnel source)

export const TIMEOUT_UDP_SLOT: u32 = 15;

// ── VRRP-held addresses (CTRL + 384 .. 511) ──
// The addresses of VRRP instances' virtual_ipaddress lists and which
// instances are master now. Not double-buffered with the tables: a takeover
// is one atomic store to CTRL_VRRP_HELD, never a table rebuild. With
// CTRL_VRRP_COUNT 0 (no VRRP) every VIP is held, as before VRRP existed.
// A listed address is answered (ARP, ICMP echo) and, if it is a VIP,
// forwarded only while its instance's bit is set; a listed address that is
// no VIP (the real servers' NAT gateway) is answered the same way. The list
// is written once before the workers start (count last).
export const CTRL_VRRP_COUNT: u32 = 384; // u32 listed addresses, 0..VRRP_MAX_ADDRS
export const CTRL_VRRP_HELD: u32 = 388; // u32 bit i = instance i is MASTER
export const CTRL_VRRP_ADDRS: u32 = 392; // u32 [VRRP_MAX_ADDRS] wire order
export const CTRL_VRRP_INST: u32 = 484; // u8 [VRRP_MAX_ADDRS] instance index of each address
export const VRRP_MAX_ADDRS: u32 = 23;
export const VRRP_MAX_INSTANCES: u32 = 32;

// CTRL_OPTIONS bits.
// net.ipv4.vs.expire_quiescent_template: a persistence template whose dest
// has weight 0 is dropped when next used, and the client is scheduled anew.
export const OPT_EXPIRE_QUIESCENT_TEMPLATE: u32 = 1;
// net.ipv4.vs.expire_nodest_conn: a packet of a connection whose dest left
// its service ends the connection (and is then handled as one without a
// connection) instead of being dropped; a SYN on a connection whose dest
// has weight 0 also ends it and is scheduled anew (ip_vs_in_hook).
export const OPT_EXPIRE_NODEST_CONN: u32 = 2;
// net.ipv4.vs.sloppy_tcp: any TCP segment without RST may start a
// connection, not only a SYN (tcp_conn_schedule).
export const OPT_SLOPPY_TCP: u32 = 4;
// net.ipv4.vs.conn_reuse_mode (0..3) in bits 8..9: non-zero reschedules a
// SYN that finds a connection in TIME_WAIT or CLOSE; bit value 2 also one
// in FIN_WAIT seen in one direction only (direct routing, tunnel).
export const OPT_CONN_REUSE_SHIFT: u32 = 8;
export const OPT_CONN_REUSE_MASK: u32 = 3;
export const CONN_REUSE_FIN_WAIT: u32 = 2;

// ── service records (per copy) ──
// One record per service, first, in the order the supervisor publishes
// them (so record i of a copy is service i); then one more per further
// member of each service group: a copy of its service's record with the
// member's VADDR and VPORT..VPORT_END, the same SVC_ID and dests.
export const SVC: u32 = CTRL + CTRL_SIZE;
export const SVC_SIZE: u32 = 64;
export const SVC_COPY: u32 = SVC_RECORDS * SVC_SIZE;
export const SVC_PROTO: u32 = 0; // u8 (6 tcp, 17 udp)
export const SVC_SCHED: u32 = 1; // u8 scheduler id
export const SVC_FLAGS: u32 = 2; // u16
export const SVC_VADDR: u32 = 4; // u32 wire order
export const SVC_VPORT: u32 = 8; // u16 wire order
export const SVC_ID: u32 = 10; // u16 stable id (stats, sched state)
export const SVC_DEST_FIRST: u32 = 12; // u16 index into this copy's dests
export const SVC_DEST_COUNT: u32 = 14; // u16
export const SVC_WRR_MW: u32 = 16; // i32 max weight - (gcd - 1)
export const SVC_WRR_DI: u32 = 20; // i32 gcd of weights
// Scheduler lookup table of this copy (mh): offset into SCHED_TBL of this
// copy, in u16 entries (dest position + 1, 0 = none), and its length.
export const SVC_TBL_OFF: u32 = 24; // u32
export const SVC_TBL_LEN: u32 = 28; // u32
export const SVC_PTIMEOUT: u32 = 32; // u32 persistence timeout, seconds (0 = not persistent)
export const SVC_PMASK: u32 = 36; // u32 wire order persistence netmask (-M)
// u16 wire order: a port range member VPORT..VPORT_END of a service group
// (0 = the one port VPORT). Range records are hashed under port 0, with
// any-port records; an exact port wins over a range, a range over port 0.
export const SVC_VPORT_END: u32 = 44;
// u32 wire order: the vaddr persistence templates of a service group are
// keyed with, the same for all its members so that a client keeps its real
// server across them (an IPVS fwmark service keys them by its mark). 0 for
// an ordinary service: the packet's vaddr.
export const SVC_TADDR: u32 = 48;

// SVC_FLAGS bits (IP_VS_SVC_F_* values where IPVS has one).
export const SVC_F_PERSISTENT: u16 = 0x0001;
export const SVC_F_ONEPACKET: u16 = 0x0004; // -o (UDP one-packet scheduling)
export const SVC_F_SCHED1: u16 = 0x0008; // sh-fallback / mh-fallback
export const SVC_F_SCHED2: u16 = 0x0010; // sh-port / mh-port
export const SVC_F_SCHED3: u16 = 0x0020;

export const SVC_HASH: u32 = SVC + 2 * SVC_COPY;
export const SVC_HASH_COPY: u32 = SVC_HASH_SLOTS * 2; // u16 slots: record index + 1

// ── dests (per copy), ordered as IPVS lists them: newest first ──
// VIP set (per copy): open addressing over VIP_HASH_SLOTS u32 entries
// holding wire-order addresses (0 = empty; 0.0.0.0 is never a VIP). Built
// with the service hash; every IPv4 frame asks it "is this for a VIP?".
export const VIP_HASH_SLOTS: u32 = 8192; // twice SVC_RECORDS: every record may have its own VIP
export const VIP_HASH: u32 = SVC_HASH + 2 * SVC_HASH_COPY;
export const VIP_HASH_COPY: u32 = VIP_HASH_SLOTS * 4;

export const DEST: u32 = VIP_HASH + 2 * VIP_HASH_COPY;
export const DEST_SIZE: u32 = 48;
export const DEST_COPY: u32 = MAX_DESTS * DEST_SIZE;
export const DEST_ADDR: u32 = 0; // u32 wire order
export const DEST_PORT: u32 = 4; // u16 wire order
export const DEST_ID: u32 = 6; // u16 stable id
export const DEST_WEIGHT: u32 = 8; // i32
export const DEST_FWD: u32 = 12; // u8 IP_VS_CONN_F_* forwarding method
export const DEST_FLAGS: u32 = 13; // u8 DEST_F_*
export const DEST_IFACE: u32 = 14; // u8 iface slot towards the dest
export const DEST_MAC: u32 = 16; // u8[6] next-hop MAC
export const DEST_VLAN: u32 = 22; // u16 802.1Q TCI to send with (0 none)
export const DEST_TUN_TYPE: u32 = 32; // u8 TUN_* below
export const DEST_TUN_FLAGS: u32 = 33; // u8 (GUE: none defined yet)
export const DEST_TUN_PORT: u32 = 34; // u16 wire order, GUE UDP port

export const DEST_F_AVAILABLE: u8 = 1; // next hop resolved

// Forwarding methods: IP_VS_CONN_F_FWD_MASK values.
export const FWD_MASQ: u8 = 0;
export const FWD_LOCALNODE: u8 = 1; // not supported
export const FWD_TUNNEL: u8 = 2;
export const FWD_ROUTE: u8 = 3;
// Tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*).
export const TUN_IPIP: u8 = 0;
export const TUN_GUE: u8 = 1;

// ── dest state by stable dest id (shared, atomic) ──
// One 64-byte line per dest: the counters of two dests that different
// workers update never share a cache line.
export const DSTATE: u32 = DEST + 2 * DEST_COPY;
export const DSTATE_SIZE: u32 = 64;
export const DSTATE_ACTIVE: u32 = 0; // i32 ActiveConn
export const DSTATE_INACT: u32 = 4; // i32 InActConn
export const DSTATE_FLAGS: u32 = 8; // u32 DEST_OVERLOAD (thresholds), DEST_REMOVED
export const DSTATE_PERSIST: u32 = 12; // i32 PersistConn: templates bound to the dest
// u64: next-hop MAC in the low 48 bits (wire order). Connections read it per
// packet from here, not from their own record, so a next hop that changes
// MAC (a replaced server, a failed-over gateway) is followed at once.
export const DSTATE_MAC: u32 = 16;
// The dest's current -x/-y thresholds (u32, 0 = none), mirrored here by the
// supervisor when it publishes: a connection that ends knows only its dest
// id, and the OVERLOAD hysteresis of ip_vs_unbind_dest needs both.
export const DSTATE_UTHRESH: u32 = 32;
export const DSTATE_LTHRESH: u32 = 36;
// i32: the dest's weight as last published. A connection knows only its
// dest id, and expire_nodest_conn asks whether that dest is quiescent.
export const DSTATE_WEIGHT: u32 = 40;
// DSTATE_FLAGS bit: the dest left its service (IPVS clears
// IP_VS_DEST_F_AVAILABLE when it unlinks a dest). Set by the supervisor for
// an id it published before and not in the latest table, cleared when the
// id is published again (the dest came back, or the id went to a new one).
export const DEST_REMOVED: u32 = 2;

// ── scheduler lookup tables (per copy; mh): u16 entries ──
// Written by the supervisor with the copy they belong to, read by workers.
export const SCHED_TBL_ENTRIES: u32 = 1048576; // per copy

// ── scheduler state by stable service id (shared, CAS) ──
export const SCHED_TBL: u32 = DSTATE + MAX_DESTS * DSTATE_SIZE;
export const SCHED_TBL_COPY: u32 = SCHED_TBL_ENTRIES * 2;
export const SCHED: u32 = SCHED_TBL + 2 * SCHED_TBL_COPY;
export const SCHED_SIZE: u32 = 16;

// ── locality tables (lblc, lblcr) by stable service id (shared, CAS) ──
// LOCALITY_SLOTS entries of LOCALITY_ENTRY bytes per service; the entry
// format belongs to sched/lblc.ts and sched/lblcr.ts.
export const LOCALITY_SLOTS: u32 = 1024;
export const LOCALITY_ENTRY: u32 = 32;
export const LOCALITY: u32 = SCHED + MAX_SERVICES * SCHED_SIZE;
export const LOCALITY_SIZE: u32 = LOCALITY_SLOTS * LOCALITY_ENTRY;

// ── per-worker statistics ──
export const STATS: u32 = LOCALITY + MAX_SERVICES * LOCALITY_SIZE;
export const STAT_GLOBALS: u32 = 64; // u64 counters, see stats.ts
export const STAT_SVC_SIZE: u32 = 40; // conns, inpkts, outpkts, inbytes, outbytes (u64)
export const STAT_DEST_SIZE: u32 = 40;
export const STATS_SVC: u32 = STAT_GLOBALS * 8;
export const STATS_DEST: u32 = STATS_SVC + MAX_SERVICES * STAT_SVC_SIZE;
export const STATS_STRIDE: u32 = STATS_DEST + MAX_DESTS * STAT_DEST_SIZE;
export const FIXED_END: u32 = STATS + MAX_WORKERS * STATS_STRIDE;

// ── connection table ──
export const CONN_SIZE: u32 = 64;
export const CONN_SLOT: u32 = 0; // u32 SLOT_* below
export const CONN_PROTO: u32 = 4; // u8
export const CONN_CIFACE: u32 = 5; // u8 iface slot the client came in on
export const CONN_CVLAN: u32 = 6; // u16 client's 802.1Q TCI (0 none)
// INC and SF form one u64 (INC low, SF high) so that a state change is a
// single CAS that fails if the record was reused meanwhile.
export const CONN_INC: u32 = 8; // u32 incarnation, bumped when a slot is claimed
export const CONN_SF: u32 = 12; // u32 tcp state | flags << 8
export const CONN_CADDR: u32 = 16;
export const CONN_VADDR: u32 = 20;
export const CONN_DADDR: u32 = 24;
export const CONN_CPORT: u32 = 28;
export const CONN_VPORT: u32 = 30;
export const CONN_DPORT: u32 = 32;
export const CONN_DEST_ID: u32 = 34; // u16
export const CONN_SVC_ID: u32 = 36; // u16
export const CONN_DEST_IFACE: u32 = 38; // u8
export const CONN_FWD: u32 = 39; // u8 FWD_* of the dest when the connection was made
export const CONN_EXPIRES: u32 = 40; // u64 ms of the data plane's monotonic clock
export const CONN_CMAC: u32 = 48; // u8[6] client-side next hop (the last source MAC seen from the client)
export const CONN_TUN_TYPE: u32 = 54; // u8 TUN_* of a tunnel connection
export const CONN_CONTROL: u32 = 56; // u32 persistence: template record index + 1 controlling this one (0 none)
export const CONN_DVLAN: u32 = 60; // u16 802.1Q TCI towards the dest (0 none)
export const CONN_TUN_PORT: u32 = 62; // u16 wire order, GUE port of a tunnel connection

// Persistence templates (CONN_F_TEMPLATE) are records of the same table,
// keyed (proto | CONN_PROTO_TEMPLATE, caddr & netmask, cport 0, vaddr,
// vport or 0 for a port-0 service), so no connection's key can match one;
// they are never in the reverse index. They are never transmitted with, so
// they reuse the client-side fields:
export const CONN_PROTO_TEMPLATE: u32 = 0x80;
export const CONN_T_TIMEOUT: u32 = 48; // u32 s: expiry on each use (persistence timeout; 60 once postponed)
// The state byte of a template (CONN_SF bits 0..7): T_VALID, or T_INVALID
// once ip_vs_check_template found its dest gone (never found again, kept
// until it expires). CONN_SF bits 16..31 count the connections it controls
// (n_control), moved with the same CAS as the incarnation and DEAD flag, so
// a template that controls anything can never be reclaimed.
export const T_VALID: u32 = 0;
export const T_INVALID: u32 = 1;
export const CONN_T_CONTROL_SHIFT: u32 = 16;
export const CONN_T_CONTROL_MAX: u32 = 0xffff;

export const SLOT_EMPTY: u32 = 0;
export const SLOT_BUSY: u32 = 1;
export const SLOT_LIVE: u32 = 2;
export const SLOT_DEAD: u32 = 3;

export const CONN_F_INACTIVE: u32 = 1; // IP_VS_CONN_F_INACTIVE: counted in InActConn
export const CONN_F_TEMPLATE: u32 = 0x02; // IP_VS_CONN_F_TEMPLATE: a persistence template
export const CONN_F_ONE_PACKET: u32 = 0x04; // IP_VS_CONN_F_ONE_PACKET: -o, never kept
export const CONN_F_NOOUTPUT: u32 = 0x08; // DR/TUN: replies bypass the director (INPUT-ONLY states)
export const CONN_F_DEAD: u32 = 0x80; // being reclaimed: its counters are already taken back
// Slots probed per lookup/insert; none free in the window = table full. With
// linear probing and random hashes, 32 slots keep drops negligible up to
// about 60% occupancy: size conn_table_size at about twice the connections
// expected (README). IPVS's size= is a bucket count, not such a cap.
export const PROBE: u32 = 32;

// ── connection sync ──
// A parallel array to the connection table (the 64-byte record is full):
// what the kernel keeps in struct ip_vs_conn for its sync rule. Zeroed when
// a slot is claimed.
export const SYNC_AUX_SIZE: u32 = 8;
export const AUX_IN_PKTS: u32 = 0; // u32 client packets seen while master (cp->in_pkts)
export const AUX_OLD_STATE: u32 = 4; // u8 state at the last sync (cp->old_state)
// Per worker: head (producer count) and tail (consumer count) on their own
// cache lines, then RING_SLOTS u64 entries (record index + 1) | inc << 32.
// The consumer re-checks the incarnation: a slot reused since is skipped.
export const SYNC_RING_SLOTS: u32 = 8192;
export const SYNC_RING_HEAD: u32 = 0; // u32
export const SYNC_RING_TAIL: u32 = 64; // u32
export const SYNC_RING_ENTRIES: u32 = 128;
export const SYNC_RING_STRIDE: u32 = SYNC_RING_ENTRIES + SYNC_RING_SLOTS * 8;

// ── per-worker I/O region ──
export const BATCH: u32 = 64;
// A GSO frame for a tunnel dest is cut into segments (xmit/segment.ts) in
// a per-worker segment area, so one batch may send more than it received:
// the tx arrays hold TX_MAX entries.
export const SEG_SLOTS: u32 = 256;
export const SEG_SIZE: u32 = 9472; // headroom + vnet + Ethernet + tunnel + a 9000-byte jumbo packet
export const TX_MAX: u32 = BATCH + SEG_SLOTS;
export const MMSGHDR_SIZE: u32 = 64;
export const IOVEC_SIZE: u32 = 16;
export const NAME_SIZE: u32 = 32; // sockaddr_ll is 20
export const CMSG_SIZE: u32 = 64;
export const IO_RX_HDRS: u32 = 0;
export const IO_RX_IOV: u32 = IO_RX_HDRS + BATCH * MMSGHDR_SIZE;
export const IO_RX_NAME: u32 = IO_RX_IOV + BATCH * IOVEC_SIZE;
export const IO_RX_CMSG: u32 = IO_RX_NAME + BATCH * NAME_SIZE;
export const IO_TX_HDRS: u32 = IO_RX_CMSG + BATCH * CMSG_SIZE;
export const IO_TX_IOV: u32 = IO_TX_HDRS + TX_MAX * MMSGHDR_SIZE;
export const IO_TX_NAME: u32 = IO_TX_IOV + TX_MAX * IOVEC_SIZE;
export const IO_CLOCK: u32 = IO_TX_NAME + TX_MAX * NAME_SIZE; // struct timespec, written by the worker
// Frame slots start on the next page after the descriptor arrays.
export const IO_SLOTS: u32 = (IO_CLOCK + 16 + 4095) & ~4095;
// A slot holds [headroom][virtio_net_hdr 10][frame ≤ 64 KiB + 14]: GSO
// frames from veth arrive whole. The headroom lets an 802.1Q tag be put
// back in front of the frame without moving the payload.
export const SLOT_HEADROOM: u32 = 64;
export const SLOT_SIZE: u32 = 67584;
export const IO_SEGS: u32 = IO_SLOTS + BATCH * SLOT_SIZE;
export const IO_STRIDE: u32 = IO_SEGS + SEG_SLOTS * SEG_SIZE;
export const VNET_HDR_LEN: u32 = 10;
