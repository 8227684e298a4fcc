// Hashing of connection keys. A connection is found by its in-key
// (proto, caddr, cport, vaddr, vport) from the client side and by its
// out-key (proto, daddr, dport, caddr, cport) from the real server side.

// @ts-ignore: decorator

function mix(h: u32): u32 {
  // murmur3 finalizer: cheap and spreads low-entropy addresses well.
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

// @ts-ignore: decorator

export function hashKey(proto: u32, a1: u32, p1: u32, a2: u32, p2: u32): u32 {
  // Each word gets its own round: XORing the second address with the
  // ports before mixing made keys collide whenever both stepped together
  // (one client to many VIPs of a service group, ports counting up).
  let h = mix(a1 ^ 0x9e3779b9);
  h = mix(h ^ a2);
  h = mix(h ^ ((p1 << 16) | p2));
  return mix(h ^ proto);
}
