// A tiny RV64IMA + Zicsr assembler for CPU tests: each function returns one instruction word.
// Registers are numbers (x0..x31). Labels: use Asm, which resolves branch/jump offsets.

const R = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm: number, rs1: number, f3: number, rd: number, op: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (imm: number, rs2: number, rs1: number, f3: number, op: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
const B = (imm: number, rs2: number, rs1: number, f3: number): number =>
  ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12)
    | (((imm >> 1) & 15) << 8) | (((imm >> 11) & 1) << 7) | 0x63) >>> 0;
const J = (imm: number, rd: number): number =>
  ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20)
    | (((imm >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0;

export const enc = {
  lui: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0,
  auipc: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x17) >>> 0,
  jal: (rd: number, off: number) => J(off, rd),
  jalr: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x67),
  beq: (a: number, b: number, off: number) => B(off, b, a, 0),
  bne: (a: number, b: number, off: number) => B(off, b, a, 1),
  blt: (a: number, b: number, off: number) => B(off, b, a, 4),
  bge: (a: number, b: number, off: number) => B(off, b, a, 5),
  bltu: (a: number, b: number, off: number) => B(off, b, a, 6),
  bgeu: (a: number, b: number, off: number) => B(off, b, a, 7),
  lb: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 3),
  lh: (rd: number, rs1: number, imm: number) => I(imm, rs1, 1, rd, 3),
  lw: (rd: number, rs1: number, imm: number) => I(imm, rs1, 2, rd, 3),
  ld: (rd: number, rs1: number, imm: number) => I(imm, rs1, 3, rd, 3),
  lbu: (rd: number, rs1: number, imm: number) => I(imm, rs1, 4, rd, 3),
  lhu: (rd: number, rs1: number, imm: number) => I(imm, rs1, 5, rd, 3),
  lwu: (rd: number, rs1: number, imm: number) => I(imm, rs1, 6, rd, 3),
  sb: (rs2: number, rs1: number, imm: number) => S(imm, rs2, rs1, 0, 0x23),
  sh: (rs2: number, rs1: number, imm: number) => S(imm, rs2, rs1, 1, 0x23),
  sw: (rs2: number, rs1: number, imm: number) => S(imm, rs2, rs1, 2, 0x23),
  sd: (rs2: number, rs1: number, imm: number) => S(imm, rs2, rs1, 3, 0x23),
  addi: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x13),
  slti: (rd: number, rs1: number, imm: number) => I(imm, rs1, 2, rd, 0x13),
  sltiu: (rd: number, rs1: number, imm: number) => I(imm, rs1, 3, rd, 0x13),
  xori: (rd: number, rs1: number, imm: number) => I(imm, rs1, 4, rd, 0x13),
  ori: (rd: number, rs1: number, imm: number) => I(imm, rs1, 6, rd, 0x13),
  andi: (rd: number, rs1: number, imm: number) => I(imm, rs1, 7, rd, 0x13),
  slli: (rd: number, rs1: number, sh: number) => I(sh, rs1, 1, rd, 0x13),
  srli: (rd: number, rs1: number, sh: number) => I(sh, rs1, 5, rd, 0x13),
  srai: (rd: number, rs1: number, sh: number) => I(0x400 | sh, rs1, 5, rd, 0x13),
  addiw: (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x1b),
  slliw: (rd: number, rs1: number, sh: number) => I(sh, rs1, 1, rd, 0x1b),
  srliw: (rd: number, rs1: number, sh: number) => I(sh, rs1, 5, rd, 0x1b),
  sraiw: (rd: number, rs1: number, sh: number) => I(0x400 | sh, rs1, 5, rd, 0x1b),
  add: (rd: number, a: number, b: number) => R(0, b, a, 0, rd, 0x33),
  sub: (rd: number, a: number, b: number) => R(0x20, b, a, 0, rd, 0x33),
  sll: (rd: number, a: number, b: number) => R(0, b, a, 1, rd, 0x33),
  slt: (rd: number, a: number, b: number) => R(0, b, a, 2, rd, 0x33),
  sltu: (rd: number, a: number, b: number) => R(0, b, a, 3, rd, 0x33),
  xor: (rd: number, a: number, b: number) => R(0, b, a, 4, rd, 0x33),
  srl: (rd: number, a: number, b: number) => R(0, b, a, 5, rd, 0x33),
  sra: (rd: number, a: number, b: number) => R(0x20, b, a, 5, rd, 0x33),
  or: (rd: number, a: number, b: number) => R(0, b, a, 6, rd, 0x33),
  and: (rd: number, a: number, b: number) => R(0, b, a, 7, rd, 0x33),
  addw: (rd: number, a: number, b: number) => R(0, b, a, 0, rd, 0x3b),
  subw: (rd: number, a: number, b: number) => R(0x20, b, a, 0, rd, 0x3b),
  sllw: (rd: number, a: number, b: number) => R(0, b, a, 1, rd, 0x3b),
  srlw: (rd: number, a: number, b: number) => R(0, b, a, 5, rd, 0x3b),
  sraw: (rd: number, a: number, b: number) => R(0x20, b, a, 5, rd, 0x3b),
  mul: (rd: number, a: number, b: number) => R(1, b, a, 0, rd, 0x33),
  mulh: (rd: number, a: number, b: number) => R(1, b, a, 1, rd, 0x33),
  mulhsu: (rd: number, a: number, b: number) => R(1, b, a, 2, rd, 0x33),
  mulhu: (rd: number, a: number, b: number) => R(1, b, a, 3, rd, 0x33),
  div: (rd: number, a: number, b: number) => R(1, b, a, 4, rd, 0x33),
  divu: (rd: number, a: number, b: number) => R(1, b, a, 5, rd, 0x33),
  rem: (rd: number, a: number, b: number) => R(1, b, a, 6, rd, 0x33),
  remu: (rd: number, a: number, b: number) => R(1, b, a, 7, rd, 0x33),
  mulw: (rd: number, a: number, b: number) => R(1, b, a, 0, rd, 0x3b),
  divw: (rd: number, a: number, b: number) => R(1, b, a, 4, rd, 0x3b),
  divuw: (rd: number, a: number, b: number) => R(1, b, a, 5, rd, 0x3b),
  remw: (rd: number, a: number, b: number) => R(1, b, a, 6, rd, 0x3b),
  remuw: (rd: number, a: number, b: number) => R(1, b, a, 7, rd, 0x3b),
  // atomics: f5 codes
  amo: (f5: number, d: boolean, rd: number, rs1: number, rs2: number, aqrl = 0) =>
    R((f5 << 2) | aqrl, rs2, rs1, d ? 3 : 2, rd, 0x2f),
  lrw: (rd: number, rs1: number) => R(0x02 << 2, 0, rs1, 2, rd, 0x2f),
  lrd: (rd: number, rs1: number) => R(0x02 << 2, 0, rs1, 3, rd, 0x2f),
  scw: (rd: number, rs1: number, rs2: number) => R(0x03 << 2, rs2, rs1, 2, rd, 0x2f),
  scd: (rd: number, rs1: number, rs2: number) => R(0x03 << 2, rs2, rs1, 3, rd, 0x2f),
  fence: () => 0x0ff0000f,
  fencei: () => 0x0000100f,
  ecall: () => 0x00000073,
  ebreak: () => 0x00100073,
  sret: () => 0x10200073,
  hret: () => 0x20200073,
  mret: () => 0x30200073,
  wfi: () => 0x10500073,
  sfencevma: () => 0x12000073,
  csrrw: (rd: number, csr: number, rs1: number) => I(csr, rs1, 1, rd, 0x73) >>> 0,
  csrrs: (rd: number, csr: number, rs1: number) => I(csr, rs1, 2, rd, 0x73) >>> 0,
  csrrc: (rd: number, csr: number, rs1: number) => I(csr, rs1, 3, rd, 0x73) >>> 0,
  csrrwi: (rd: number, csr: number, z: number) => I(csr, z, 5, rd, 0x73) >>> 0,
  csrrsi: (rd: number, csr: number, z: number) => I(csr, z, 6, rd, 0x73) >>> 0,
  csrrci: (rd: number, csr: number, z: number) => I(csr, z, 7, rd, 0x73) >>> 0,
};

export const AMO = { add: 0x00, swap: 0x01, xor: 0x04, or: 0x08, and: 0x0c, min: 0x10, max: 0x14, minu: 0x18, maxu: 0x1c } as const;

/** Load a 64-bit constant (given as BigInt) into rd: lui/addi/slli sequence (up to 8 words). */
export function li(rd: number, value: bigint): number[] {
  const v = BigInt.asIntN(64, value);
  if (v >= -2048n && v < 2048n) return [enc.addi(rd, 0, Number(v))];
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const lo = Number(BigInt.asIntN(12, v));
    const hi = Number(BigInt.asIntN(32, v - BigInt(lo))) >> 12;
    const out = [enc.lui(rd, hi)];
    if (lo !== 0) out.push(enc.addiw(rd, rd, lo));
    return out;
  }
  // generic: build the upper part recursively, then shift in 12 bits at a time
  const lo = Number(BigInt.asIntN(12, v));
  const rest = (v - BigInt(lo)) >> 12n;
  // find shift so that rest fits better: keep it simple, shift by 12
  const out = li(rd, rest);
  out.push(enc.slli(rd, rd, 12));
  if (lo !== 0) out.push(enc.addi(rd, rd, lo));
  return out;
}

/** Assembler with labels for branches / jumps. */
export class Asm {
  readonly words: number[] = [];
  private labels = new Map<string, number>();
  private fixups: { at: number; label: string; make: (off: number) => number }[] = [];
  constructor(readonly base = 0x8000_0000) {}
  get here(): number { return this.base + 4 * this.words.length; }
  emit(...w: number[]): this { this.words.push(...w); return this; }
  label(name: string): this { this.labels.set(name, this.words.length); return this; }
  ref(label: string, make: (off: number) => number): this {
    this.fixups.push({ at: this.words.length, label, make });
    this.words.push(0);
    return this;
  }
  li(rd: number, v: bigint | number): this { return this.emit(...li(rd, BigInt(v))); }
  addr(label: string): number {
    const i = this.labels.get(label);
    if (i === undefined) throw new Error(`no label ${label}`);
    return this.base + 4 * i;
  }
  finish(): Uint8Array {
    for (const f of this.fixups) {
      const t = this.labels.get(f.label);
      if (t === undefined) throw new Error(`no label ${f.label}`);
      this.words[f.at] = f.make(4 * (t - f.at)) >>> 0;
    }
    const out = new Uint8Array(this.words.length * 4);
    const dv = new DataView(out.buffer);
    this.words.forEach((w, i) => dv.setUint32(4 * i, w >>> 0, true));
    return out;
  }
}
