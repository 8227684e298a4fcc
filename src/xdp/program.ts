/**
 * lvsd's own XDP program, assembled here (no compiler): it redirects to the
 * interface's AF_XDP sockets only the frames lvsd handles and passes every
 * other frame to the kernel, so the director's own SSH, admin API, ARP for
 * its host addresses, VRRP and routing keep working. AF_XDP cannot give a
 * frame back to the kernel's stack, so this choice is final.
 *
 * The rule (one lookup or two per IPv4 frame in {@link ADDR_MAP}, which the
 * supervisor keeps equal to the published table):
 *
 * ```
 * ARP request whose target address is a VIP            → redirect (lvsd answers)
 * IPv4 to our MAC, daddr a VIP                          → redirect (the in direction)
 * IPv4 to our MAC, daddr a local address of the host    → pass
 * IPv4 to our MAC, saddr a NAT dest                     → redirect (a NAT reply: dest → client)
 * anything else (other EtherTypes, VLAN tags, short or
 *   garbled frames, broadcasts, other MACs)             → pass
 * ```
 *
 * A NAT reply carries daddr = the client, saddr = the real server, so it is
 * matched on its source; "not a local address" keeps the director's own
 * conversations with its real servers (health checks, SSH from a server)
 * with the kernel, as the nftables guard's `fib daddr type != local` does.
 * Frames too short for the header a rule reads are passed: what lvsd
 * receives it counts (drops by reason); what it never sees, the kernel
 * handles as it would without lvsd.
 *
 * @module
 */

import { asm, BPF_FUNC_REDIRECT_MAP, type Insn, XDP_MD, XDP_PASS } from "../sys/bpf.ts";

/** Bits of an {@link ADDR_MAP} value. */
export const ADDR_VIP = 1;
/** A NAT (masq) dest: frames from it to a non-local address are replies lvsd rewrites. */
export const ADDR_DEST = 2;
/** An address of the director itself: frames to it stay with the kernel. */
export const ADDR_LOCAL = 4;

/** Name of the address map (u32 wire-order IPv4 address → u32 ADDR_* bits). */
export const ADDR_MAP = "lvsd_addrs";

const BPF_FUNC_MAP_LOOKUP_ELEM = 1;

/** Instructions with symbolic jump targets, resolved by {@link assemble}. */
type Item = Insn | { label: string } | { jump: Insn; to: string };

const ins = {
  mov64Reg: (dst: number, src: number): Insn => ({ code: 0xbf, dst, src, off: 0, imm: 0 }),
  add64Imm: (dst: number, imm: number): Insn => ({ code: 0x07, dst, src: 0, off: 0, imm }),
  ldxh: (dst: number, src: number, off: number): Insn => ({ code: 0x69, dst, src, off, imm: 0 }),
  stxw: (dst: number, off: number, src: number): Insn => ({ code: 0x63, dst, src, off, imm: 0 }),
};
const jgtReg = (dst: number, src: number, to: string): Item => ({ jump: { code: 0x2d, dst, src, off: 0, imm: 0 }, to });
const jeqImm = (dst: number, imm: number, to: string): Item => ({ jump: { code: 0x15, dst, src: 0, off: 0, imm }, to });
const jneImm = (dst: number, imm: number, to: string): Item => ({ jump: { code: 0x55, dst, src: 0, off: 0, imm }, to });
/** 32-bit compare (BPF_JMP32): the immediate is not sign-extended against a u32 load. */
const jne32Imm = (dst: number, imm: number, to: string): Item => ({
  jump: { code: 0x56, dst, src: 0, off: 0, imm },
  to,
});
const jsetImm = (dst: number, imm: number, to: string): Item => ({
  jump: { code: 0x45, dst, src: 0, off: 0, imm },
  to,
});
const ja = (to: string): Item => ({ jump: { code: 0x05, dst: 0, src: 0, off: 0, imm: 0 }, to });

function assemble(items: Item[]): Insn[] {
  const at = new Map<string, number>();
  let pc = 0;
  for (const it of items) {
    if ("label" in it) at.set(it.label, pc);
    else pc++;
  }
  const out: Insn[] = [];
  for (const it of items) {
    if ("label" in it) continue;
    if ("jump" in it) {
      const target = at.get(it.to);
      if (target === undefined) throw new Error(`XDP program: no label "${it.to}"`);
      out.push({ ...it.jump, off: target - out.length - 1 });
    } else out.push(it);
  }
  return out;
}

/**
 * Looks up the u32 at packet offset `off` (r7 = data) in the address map;
 * leaves the value's bits in r5, or jumps to `miss`.
 */
function lookup(mapFd: number, off: number, miss: string): Item[] {
  return [
    { code: 0x61, dst: 5, src: 7, off, imm: 0 }, // r5 = *(u32 *)(data + off)
    ins.stxw(10, -4, 5), // key on the stack
    ins.mov64Reg(2, 10),
    ins.add64Imm(2, -4),
    ...asm.ldMapFd(1, mapFd),
    ...asm.call(BPF_FUNC_MAP_LOOKUP_ELEM),
    jeqImm(0, 0, miss),
    { code: 0x61, dst: 5, src: 0, off: 0, imm: 0 }, // r5 = *(u32 *)value
  ];
}

/**
 * The program for one interface: `mac` is the interface's address (IPv4
 * frames to another MAC are not lvsd's), `addrMapFd` the shared address
 * map, `xskMapFd` the interface's XSKMAP (rx queue → socket; a queue with
 * no socket passes the frame).
 */
export function lvsdXdpProgram(mac: Uint8Array, addrMapFd: number, xskMapFd: number): Insn[] {
  const m = new DataView(mac.buffer, mac.byteOffset, 6);
  const macLo = m.getInt32(0, true);
  const macHi = m.getUint16(4, true);
  return assemble([
    ins.mov64Reg(6, 1), // r6 = ctx
    { code: 0x61, dst: 7, src: 6, off: XDP_MD.data, imm: 0 }, // r7 = data
    { code: 0x61, dst: 8, src: 6, off: XDP_MD.dataEnd, imm: 0 }, // r8 = data_end
    // Ethernet + the IPv4 header's first 20 bytes (34): shorter frames pass.
    ins.mov64Reg(4, 7),
    ins.add64Imm(4, 34),
    jgtReg(4, 8, "pass"),
    ins.ldxh(5, 7, 12), // EtherType, read little-endian
    jeqImm(5, 0x0008, "ipv4"),
    jneImm(5, 0x0608, "pass"),
    // ARP (28 bytes after Ethernet): requests for a VIP.
    ins.mov64Reg(4, 7),
    ins.add64Imm(4, 42),
    jgtReg(4, 8, "pass"),
    ins.ldxh(5, 7, 20), // oper
    jneImm(5, 0x0100, "pass"), // 1 = request
    ...lookup(addrMapFd, 38, "pass"), // target protocol address
    jsetImm(5, ADDR_VIP, "redirect"),
    ja("pass"),
    { label: "ipv4" },
    { code: 0x61, dst: 5, src: 7, off: 0, imm: 0 },
    jne32Imm(5, macLo, "pass"),
    ins.ldxh(5, 7, 4),
    jneImm(5, macHi, "pass"),
    ...lookup(addrMapFd, 30, "source"), // daddr
    jsetImm(5, ADDR_VIP, "redirect"),
    jsetImm(5, ADDR_LOCAL, "pass"),
    { label: "source" },
    ...lookup(addrMapFd, 26, "pass"), // saddr
    jsetImm(5, ADDR_DEST, "redirect"),
    { label: "pass" },
    ...asm.mov64Imm(0, XDP_PASS),
    ...asm.exit(),
    { label: "redirect" },
    { code: 0x61, dst: 2, src: 6, off: XDP_MD.rxQueueIndex, imm: 0 },
    ...asm.ldMapFd(1, xskMapFd),
    ...asm.mov64Imm(3, XDP_PASS), // no socket on this queue: the kernel has it
    ...asm.call(BPF_FUNC_REDIRECT_MAP),
    ...asm.exit(),
  ]);
}
