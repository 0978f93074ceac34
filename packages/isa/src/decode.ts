// Allocation-free decoder for the Tachyxx unprivileged ISA (RV64I + M + A + Zicsr + Zifencei)
// plus the Tachyxx privileged instructions (ecall, ebreak, sret, hret, mret, wfi, sfence.vma).
// `decode` maps a 32-bit instruction word to an `Op` number; the field extractors pull operands.
// Anything outside the set (including reserved encodings such as RV64 shifts with bad shamt bits)
// decodes to Op.ILLEGAL.

/** Operation numbers. A plain object (not a `const enum`) so it works under isolatedModules. */
export const Op = {
  ILLEGAL: 0,
  LUI: 1, AUIPC: 2, JAL: 3, JALR: 4,
  BEQ: 5, BNE: 6, BLT: 7, BGE: 8, BLTU: 9, BGEU: 10,
  LB: 11, LH: 12, LW: 13, LD: 14, LBU: 15, LHU: 16, LWU: 17,
  SB: 18, SH: 19, SW: 20, SD: 21,
  ADDI: 22, SLTI: 23, SLTIU: 24, XORI: 25, ORI: 26, ANDI: 27, SLLI: 28, SRLI: 29, SRAI: 30,
  ADD: 31, SUB: 32, SLL: 33, SLT: 34, SLTU: 35, XOR: 36, SRL: 37, SRA: 38, OR: 39, AND: 40,
  ADDIW: 41, SLLIW: 42, SRLIW: 43, SRAIW: 44,
  ADDW: 45, SUBW: 46, SLLW: 47, SRLW: 48, SRAW: 49,
  MUL: 50, MULH: 51, MULHSU: 52, MULHU: 53, DIV: 54, DIVU: 55, REM: 56, REMU: 57,
  MULW: 58, DIVW: 59, DIVUW: 60, REMW: 61, REMUW: 62,
  LR_W: 63, SC_W: 64, AMOSWAP_W: 65, AMOADD_W: 66, AMOXOR_W: 67, AMOAND_W: 68, AMOOR_W: 69,
  AMOMIN_W: 70, AMOMAX_W: 71, AMOMINU_W: 72, AMOMAXU_W: 73,
  LR_D: 74, SC_D: 75, AMOSWAP_D: 76, AMOADD_D: 77, AMOXOR_D: 78, AMOAND_D: 79, AMOOR_D: 80,
  AMOMIN_D: 81, AMOMAX_D: 82, AMOMINU_D: 83, AMOMAXU_D: 84,
  FENCE: 85, FENCE_I: 86,
  ECALL: 87, EBREAK: 88, SRET: 89, HRET: 90, MRET: 91, WFI: 92, SFENCE_VMA: 93,
  CSRRW: 94, CSRRS: 95, CSRRC: 96, CSRRWI: 97, CSRRSI: 98, CSRRCI: 99,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Number of distinct Op values (ops are 0 .. OP_COUNT-1). */
export const OP_COUNT = 100;

const NAMES: readonly string[] = [
  'illegal',
  'lui', 'auipc', 'jal', 'jalr',
  'beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu',
  'lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu',
  'sb', 'sh', 'sw', 'sd',
  'addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'slli', 'srli', 'srai',
  'add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and',
  'addiw', 'slliw', 'srliw', 'sraiw',
  'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu',
  'mulw', 'divw', 'divuw', 'remw', 'remuw',
  'lr.w', 'sc.w', 'amoswap.w', 'amoadd.w', 'amoxor.w', 'amoand.w', 'amoor.w',
  'amomin.w', 'amomax.w', 'amominu.w', 'amomaxu.w',
  'lr.d', 'sc.d', 'amoswap.d', 'amoadd.d', 'amoxor.d', 'amoand.d', 'amoor.d',
  'amomin.d', 'amomax.d', 'amominu.d', 'amomaxu.d',
  'fence', 'fence.i',
  'ecall', 'ebreak', 'sret', 'hret', 'mret', 'wfi', 'sfence.vma',
  'csrrw', 'csrrs', 'csrrc', 'csrrwi', 'csrrsi', 'csrrci',
];

/** Base mnemonic of an op ('addi', 'lr.w', 'amoadd.d', 'csrrw', ...). */
export function opName(op: Op | number): string {
  return NAMES[op] ?? 'illegal';
}

// ---- field extractors (all return plain numbers; immediates are sign-extended int32) ----
export function rd(i: number): number { return (i >>> 7) & 31; }
export function rs1(i: number): number { return (i >>> 15) & 31; }
export function rs2(i: number): number { return (i >>> 20) & 31; }
export function funct3(i: number): number { return (i >>> 12) & 7; }
export function funct7(i: number): number { return i >>> 25; }
/** I-type immediate, sign-extended (-2048..2047). */
export function immI(i: number): number { return i >> 20; }
/** S-type immediate, sign-extended. */
export function immS(i: number): number { return ((i >> 25) << 5) | ((i >>> 7) & 31); }
/** B-type immediate (branch offset, even), sign-extended. */
export function immB(i: number): number {
  return ((i >> 31) << 12) | (((i >>> 7) & 1) << 11) | (((i >>> 25) & 63) << 5) | (((i >>> 8) & 15) << 1);
}
/** U-type immediate: the instruction's upper 20 bits in place, as a sign-extended 32-bit value. */
export function immU(i: number): number { return i & 0xfffff000 | 0; }
/** J-type immediate (jump offset, even), sign-extended. */
export function immJ(i: number): number {
  return ((i >> 31) << 20) | (i & 0xff000) | (((i >>> 20) & 1) << 11) | (((i >>> 21) & 0x3ff) << 1);
}
/** CSR number (12 bits, unsigned). */
export function csrNum(i: number): number { return i >>> 20; }
/** Shift amount (6 bits for RV64 shifts; the *W forms use only 5, which decode() enforces). */
export function shamt(i: number): number { return (i >>> 20) & 63; }
/** aq/rl bits of an AMO: bit 1 = aq, bit 0 = rl. */
export function aqrl(i: number): number { return (i >>> 25) & 3; }
/** The 5-bit zero-extended immediate of csrr*i (the rs1 field). */
export function zimm(i: number): number { return (i >>> 15) & 31; }

const LOADS: readonly number[] = [Op.LB, Op.LH, Op.LW, Op.LD, Op.LBU, Op.LHU, Op.LWU, Op.ILLEGAL];
const STORES: readonly number[] = [Op.SB, Op.SH, Op.SW, Op.SD, 0, 0, 0, 0];
const BRANCHES: readonly number[] = [Op.BEQ, Op.BNE, 0, 0, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU];
const OPS_RR: readonly number[] = [Op.ADD, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.OR, Op.AND];
const OPS_M: readonly number[] = [Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU, Op.REM, Op.REMU];
const OPS_MW: readonly number[] = [Op.MULW, 0, 0, 0, Op.DIVW, Op.DIVUW, Op.REMW, Op.REMUW];
const OPS_CSR: readonly number[] = [0, Op.CSRRW, Op.CSRRS, Op.CSRRC, 0, Op.CSRRWI, Op.CSRRSI, Op.CSRRCI];
// AMO funct5 -> op offset from LR (w) or LR_D (d); -1 = reserved
const AMO_OFS: readonly number[] = (() => {
  const t = new Array<number>(32).fill(-1);
  t[0x02] = 0; // lr
  t[0x03] = 1; // sc
  t[0x01] = 2; // amoswap
  t[0x00] = 3; // amoadd
  t[0x04] = 4; // amoxor
  t[0x0c] = 5; // amoand
  t[0x08] = 6; // amoor
  t[0x10] = 7; // amomin
  t[0x14] = 8; // amomax
  t[0x18] = 9; // amominu
  t[0x1c] = 10; // amomaxu
  return t;
})();

/** Decode one 32-bit instruction word. Never allocates; returns Op.ILLEGAL for unknown words. */
export function decode(insn: number): Op {
  insn = insn | 0;
  const f3 = (insn >>> 12) & 7;
  const f7 = insn >>> 25;
  switch (insn & 0x7f) {
    case 0x37: return Op.LUI;
    case 0x17: return Op.AUIPC;
    case 0x6f: return Op.JAL;
    case 0x67: return f3 === 0 ? Op.JALR : Op.ILLEGAL;
    case 0x63: return (BRANCHES[f3] || Op.ILLEGAL) as Op;
    case 0x03: return LOADS[f3] as Op;
    case 0x23: return (STORES[f3] || Op.ILLEGAL) as Op;
    case 0x13:
      switch (f3) {
        case 0: return Op.ADDI;
        case 2: return Op.SLTI;
        case 3: return Op.SLTIU;
        case 4: return Op.XORI;
        case 6: return Op.ORI;
        case 7: return Op.ANDI;
        case 1: return (insn >>> 26) === 0 ? Op.SLLI : Op.ILLEGAL;
        default: { // 5
          const f6 = insn >>> 26;
          return f6 === 0 ? Op.SRLI : f6 === 0x10 ? Op.SRAI : Op.ILLEGAL;
        }
      }
    case 0x1b:
      switch (f3) {
        case 0: return Op.ADDIW;
        case 1: return f7 === 0 ? Op.SLLIW : Op.ILLEGAL;
        case 5: return f7 === 0 ? Op.SRLIW : f7 === 0x20 ? Op.SRAIW : Op.ILLEGAL;
        default: return Op.ILLEGAL;
      }
    case 0x33:
      if (f7 === 0) return OPS_RR[f3] as Op;
      if (f7 === 1) return OPS_M[f3] as Op;
      if (f7 === 0x20) return f3 === 0 ? Op.SUB : f3 === 5 ? Op.SRA : Op.ILLEGAL;
      return Op.ILLEGAL;
    case 0x3b:
      if (f7 === 0) return f3 === 0 ? Op.ADDW : f3 === 1 ? Op.SLLW : f3 === 5 ? Op.SRLW : Op.ILLEGAL;
      if (f7 === 1) return (OPS_MW[f3] || Op.ILLEGAL) as Op;
      if (f7 === 0x20) return f3 === 0 ? Op.SUBW : f3 === 5 ? Op.SRAW : Op.ILLEGAL;
      return Op.ILLEGAL;
    case 0x2f: {
      if (f3 !== 2 && f3 !== 3) return Op.ILLEGAL;
      const ofs = AMO_OFS[insn >>> 27]!;
      if (ofs < 0) return Op.ILLEGAL;
      if (ofs === 0 && ((insn >>> 20) & 31) !== 0) return Op.ILLEGAL; // lr with rs2 != 0
      return ((f3 === 2 ? Op.LR_W : Op.LR_D) + ofs) as Op;
    }
    case 0x0f:
      // fence: fm/pred/succ/rs1/rd are hints; every funct3=0 encoding (incl. fence.tso, pause)
      // is an ordinary fence. fence.i ignores its imm/rs1/rd fields (reserved for future use).
      return f3 === 0 ? Op.FENCE : f3 === 1 ? Op.FENCE_I : Op.ILLEGAL;
    case 0x73:
      if (f3 === 0) {
        switch (insn) {
          case 0x00000073: return Op.ECALL;
          case 0x00100073: return Op.EBREAK;
          case 0x10200073: return Op.SRET;
          case 0x20200073: return Op.HRET;
          case 0x30200073: return Op.MRET;
          case 0x10500073: return Op.WFI;
          default:
            return (insn & 0xfe007fff) === 0x12000073 ? Op.SFENCE_VMA : Op.ILLEGAL;
        }
      }
      return (OPS_CSR[f3] || Op.ILLEGAL) as Op;
    default:
      return Op.ILLEGAL;
  }
}

/** Instruction format of an op, for disassemblers and assemblers. */
export type Format = 'R' | 'I' | 'S' | 'B' | 'U' | 'J' | 'SHIFT' | 'LOAD' | 'AMO' | 'LR' | 'CSR' | 'CSRI' | 'FENCE' | 'NONE' | 'SFENCE';

/** The operand format of an op. */
export function opFormat(op: Op | number): Format {
  if (op === Op.LUI || op === Op.AUIPC) return 'U';
  if (op === Op.JAL) return 'J';
  if (op === Op.JALR) return 'LOAD';
  if (op >= Op.BEQ && op <= Op.BGEU) return 'B';
  if (op >= Op.LB && op <= Op.LWU) return 'LOAD';
  if (op >= Op.SB && op <= Op.SD) return 'S';
  if (op === Op.SLLI || op === Op.SRLI || op === Op.SRAI || (op >= Op.SLLIW && op <= Op.SRAIW)) return 'SHIFT';
  if ((op >= Op.ADDI && op <= Op.ANDI) || op === Op.ADDIW) return 'I';
  if ((op >= Op.ADD && op <= Op.AND) || (op >= Op.ADDW && op <= Op.REMUW)) return 'R';
  if (op === Op.LR_W || op === Op.LR_D) return 'LR';
  if (op >= Op.SC_W && op <= Op.AMOMAXU_D) return 'AMO';
  if (op === Op.FENCE || op === Op.FENCE_I) return 'FENCE';
  if (op === Op.SFENCE_VMA) return 'SFENCE';
  if (op >= Op.CSRRW && op <= Op.CSRRC) return 'CSR';
  if (op >= Op.CSRRWI && op <= Op.CSRRCI) return 'CSRI';
  return 'NONE';
}
