// Internet checksum helpers (RFC 1071) and incremental updates (RFC 1624).
// Values are handled as they sit in memory: a u16/u32 loaded little-endian
// from wire-order bytes. One's-complement sums are byte-order independent
// as long as every term is loaded the same way, so nothing here swaps.

// @ts-ignore: decorator

export function fold(sum: u64): u32 {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return <u32> ((sum & 0xffff) + (sum >> 16)) & 0xffff;
}

/** Sum of `len` bytes at `p` as 16-bit words (odd tail padded with 0). */
export function sumBytes(p: u32, len: u32, acc: u64): u64 {
  let i: u32 = 0;
  while (i + 8 <= len) {
    const v = load<u64>(p + i);
    acc += (v & 0xffffffff) + (v >> 32);
    i += 8;
  }
  while (i + 2 <= len) {
    acc += <u64> load<u16>(p + i);
    i += 2;
  }
  if (i < len) acc += <u64> load<u8>(p + i);
  return acc;
}

/** Checksum (complemented) of `len` bytes at `p`. */
export function checksum(p: u32, len: u32): u32 {
  return ~fold(sumBytes(p, len, 0)) & 0xffff;
}

/** TCP/UDP pseudo-header sum for IPv4 (addresses and proto as in memory). */
// @ts-ignore: decorator

export function pseudoSum(saddr: u32, daddr: u32, proto: u32, l4len: u32): u64 {
  return <u64> (saddr & 0xffff) + <u64> (saddr >> 16) + <u64> (daddr & 0xffff) +
    <u64> (daddr >> 16) + <u64> (bswap<u16>(<u16> proto)) + <u64> (bswap<u16>(<u16> l4len));
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 32-bit field change, on a
 * complemented checksum field (the normal case).
 */
// @ts-ignore: decorator

export function update32(check: u32, from: u32, to: u32): u32 {
  const sum: u64 = <u64> (~check & 0xffff) + <u64> (~from & 0xffff) + <u64> ((~from) >>> 16) +
    <u64> (to & 0xffff) + <u64> (to >>> 16);
  return ~fold(sum) & 0xffff;
}

// @ts-ignore: decorator

export function update16(check: u32, from: u32, to: u32): u32 {
  const sum: u64 = <u64> (~check & 0xffff) + <u64> (~from & 0xffff) + <u64> (to & 0xffff);
  return ~fold(sum) & 0xffff;
}

/**
 * A CHECKSUM_PARTIAL field (virtio NEEDS_CSUM) holds the plain, not
 * complemented, pseudo-header sum; the device finishes it. Updating it is the
 * complemented update applied to the complement (as the kernel's
 * inet_proto_csum_replace4 does for pseudo-header fields).
 */
// @ts-ignore: decorator

export function updatePartial32(field: u32, from: u32, to: u32): u32 {
  return ~update32(~field & 0xffff, from, to) & 0xffff;
}

// @ts-ignore: decorator

export function updatePartial16(field: u32, from: u32, to: u32): u32 {
  return ~update16(~field & 0xffff, from, to) & 0xffff;
}
