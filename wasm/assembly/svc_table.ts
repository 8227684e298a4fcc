// The service records of a table copy and their two hashes: which service
// a packet to (proto, vaddr, vport) is for, and whether an address is a VIP
// at all (ARP, ICMP echo, the in direction).
//
// A service group (several VIPs and ports sharing one service id) has one
// record per (VIP, port member), all pointing to the same dests and id
// (layout.ts, "service records"). A port range member is one record
// VPORT..VPORT_END, not one per port, so the lookup cannot hash the
// packet's port alone: records for one port are hashed under their port,
// range and any-port (vport 0) records under port 0, and a lookup tries the
// exact port first, then the port-0 chain for a range holding the port,
// then the VIP's any-port record — the more specific member wins.
import {
  SVC,
  SVC_COPY,
  SVC_HASH,
  SVC_HASH_COPY,
  SVC_HASH_SLOTS,
  SVC_PROTO,
  SVC_SIZE,
  SVC_VADDR,
  SVC_VPORT,
  SVC_VPORT_END,
  VIP_HASH,
  VIP_HASH_COPY,
  VIP_HASH_SLOTS,
} from "./layout";
import { hashKey } from "./conn/key";

function vipSlot(copy: u32, i: u32): u32 {
  return VIP_HASH + copy * VIP_HASH_COPY + ((i & (VIP_HASH_SLOTS - 1)) << 2);
}

/** Whether `addr` (wire order) is a VIP of any service record in copy `copy`. */
export function isVip(copy: u32, addr: u32): bool {
  let i = hashKey(addr, addr, 0, 0, 0);
  for (let n: u32 = 0; n < VIP_HASH_SLOTS; n++, i++) {
    const v = load<u32>(vipSlot(copy, i));
    if (v == addr) return true;
    if (v == 0) return false;
  }
  return false;
}

function vipInsert(copy: u32, addr: u32): void {
  let i = hashKey(addr, addr, 0, 0, 0);
  while (true) {
    const p = vipSlot(copy, i++);
    const v = load<u32>(p);
    if (v == addr) return;
    if (v == 0) {
      store<u32>(p, addr);
      return;
    }
  }
}

function record(copy: u32, idx: u32): u32 {
  return SVC + copy * SVC_COPY + idx * SVC_SIZE;
}

function hashSlot(copy: u32, i: u32): u32 {
  return SVC_HASH + copy * SVC_HASH_COPY + ((i & (SVC_HASH_SLOTS - 1)) << 1);
}

/**
 * Fills table copy `copy`'s service hash and VIP set from its first `n`
 * records (linear probing over SVC_HASH_SLOTS u16 entries, value = record
 * index + 1; twice as many slots as records, so a free one always exists).
 * The supervisor calls it while publishing, so the hash function lives only
 * here.
 */
export function svcHashBuild(copy: u32, n: u32): void {
  memory.fill(SVC_HASH + copy * SVC_HASH_COPY, 0, SVC_HASH_COPY);
  memory.fill(VIP_HASH + copy * VIP_HASH_COPY, 0, VIP_HASH_COPY);
  for (let idx: u32 = 0; idx < n; idx++) {
    const s = record(copy, idx);
    const vaddr = load<u32>(s + SVC_VADDR);
    // Range records wait under port 0, beside the VIP's any-port record.
    const key: u32 = load<u16>(s + SVC_VPORT_END) != 0 ? 0 : <u32> load<u16>(s + SVC_VPORT);
    let i = hashKey(<u32> load<u8>(s + SVC_PROTO), vaddr, key, 0, 0);
    while (load<u16>(hashSlot(copy, i)) != 0) i++;
    store<u16>(hashSlot(copy, i), <u16> (idx + 1));
    vipInsert(copy, vaddr);
  }
}

/**
 * The service record for (proto, vaddr, vport) (wire order) in table copy
 * `copy`, or 0: the record for exactly that port, else a port range that
 * holds it, else the VIP's any-port (port 0) record.
 */
export function svcLookup(copy: u32, proto: u32, vaddr: u32, vport: u32): u32 {
  let i = hashKey(proto, vaddr, vport, 0, 0);
  for (let n: u32 = 0; n < SVC_HASH_SLOTS; n++, i++) {
    const e = <u32> load<u16>(hashSlot(copy, i));
    if (e == 0) break;
    const s = record(copy, e - 1);
    if (
      load<u32>(s + SVC_VADDR) == vaddr && load<u16>(s + SVC_VPORT) == <u16> vport &&
      load<u16>(s + SVC_VPORT_END) == 0 && load<u8>(s + SVC_PROTO) == <u8> proto
    ) return s;
  }
  // Port 0 was the exact key: its any-port record, if any, was found above.
  if (vport == 0) return 0;
  const port = bswap<u16>(<u16> vport);
  let any: u32 = 0;
  i = hashKey(proto, vaddr, 0, 0, 0);
  for (let n: u32 = 0; n < SVC_HASH_SLOTS; n++, i++) {
    const e = <u32> load<u16>(hashSlot(copy, i));
    if (e == 0) break;
    const s = record(copy, e - 1);
    if (load<u32>(s + SVC_VADDR) != vaddr || load<u8>(s + SVC_PROTO) != <u8> proto) continue;
    const end = load<u16>(s + SVC_VPORT_END);
    const from = load<u16>(s + SVC_VPORT);
    if (end == 0) {
      if (from == 0) any = s;
    } else if (bswap<u16>(from) <= port && port <= bswap<u16>(end)) return s;
  }
  return any;
}
