// A tiny RV64 assembler for the MMU tests that run hand-assembled code on the CPU (the instructions
// they use): encoders, `li` for any 64-bit constant, and a label-fixing Asm for code at a virtual
// address, written into memory wherever the page tables put it.
import type { PhysMemory } from '@tachyxx/isa';

const R = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm: number, rs1: number, f3: number, rd: number, op: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (imm: number, rs2: number, rs1: number, f3: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const B = (imm: number, rs2: number, rs1: number, f3: number): number =>
  ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12)
    | (((imm >> 1) & 15) << 8) | (((imm >> 11) & 1) << 7) | 0x63) >>> 0;
const J = (imm: number, rd: number): number =>
  ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) | (((imm >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0;

export const e = {
  lui: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0,
  addi: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x13),
  addiw: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x1b),
  slli: (rd: number, rs1: number, sh: number) => I(sh, rs1, 1, rd, 0x13),
  xor: (rd: number, a: number, b: number) => R(0, b, a, 4, rd, 0x33),
  add: (rd: number, a: number, b: number) => R(0, b, a, 0, rd, 0x33),
  ld: (rd: number, rs1: number, imm: number) => I(imm, rs1, 3, rd, 3),
  sd: (rs2: number, rs1: number, imm: number) => S(imm, rs2, rs1, 3),
  jal: (rd: number, off: number) => J(off, rd),
  jalr: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x67),
  beq: (a: number, b: number, off: number) => B(off, b, a, 0),
  bne: (a: number, b: number, off: number) => B(off, b, a, 1),
  csrw: (csr: number, rs1: number) => I(csr, rs1, 1, 0, 0x73),
  csrr: (rd: number, csr: number) => I(csr, 0, 2, rd, 0x73),
  ecall: () => 0x00000073,
  sret: () => 0x10200073,
  sfence: (rs1 = 0, rs2 = 0) => R(0x09, rs2, rs1, 0, 0, 0x73),
  nop: () => I(0, 0, 0, 0, 0x13),
};

/** The instructions that put the 64-bit `value` into register rd. */
export function li(rd: number, value: bigint): number[] {
  const v = BigInt.asIntN(64, value);
  if (v >= -2048n && v < 2048n) return [e.addi(rd, 0, Number(v))];
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const lo = Number(BigInt.asIntN(12, v));
    const hi = Number(BigInt.asIntN(32, v - BigInt(lo))) >> 12;
    return lo !== 0 ? [e.lui(rd, hi), e.addiw(rd, rd, lo)] : [e.lui(rd, hi)];
  }
  const lo = Number(BigInt.asIntN(12, v));
  const out = li(rd, (v - BigInt(lo)) >> 12n);
  out.push(e.slli(rd, rd, 12));
  if (lo !== 0) out.push(e.addi(rd, rd, lo));
  return out;
}

/** Code at virtual address `va` with labels; `finish` resolves them, `place` also writes the code at a machine address. */
export class Asm {
  readonly words: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; label: string; make: (off: number) => number }[] = [];
  constructor(readonly va = 0) {}
  get here(): number { return this.va + 4 * this.words.length; }
  emit(...w: number[]): this { this.words.push(...w); return this; }
  li(rd: number, v: number | bigint): this { return this.emit(...li(rd, BigInt(v))); }
  label(name: string): this { this.labels.set(name, this.words.length); return this; }
  ref(label: string, make: (off: number) => number): this { this.fixups.push({ at: this.words.length, label, make }); this.words.push(0); return this; }
  padTo(va: number): this { while (this.here < va) this.emit(e.nop()); return this; }
  offset(label: string): number { return 4 * this.labels.get(label)!; }
  addr(label: string): number { return this.va + this.offset(label); }
  finish(): number[] {
    for (const f of this.fixups) this.words[f.at] = f.make(4 * (this.labels.get(f.label)! - f.at)) >>> 0;
    return this.words;
  }
  /** Writes the code at machine address `ma`. */
  place(mem: PhysMemory, ma: number): void {
    this.finish().forEach((w, i) => mem.writeU32(ma + 4 * i, w >>> 0));
  }
}
