// A deliberately simple BigInt reference for RV64IM ALU instructions (tests only).
import { Op, decode, rd, rs1, rs2, immI, immU, shamt } from '../src/decode.js';

const M64 = (1n << 64n) - 1n;
const u = (v: bigint): bigint => BigInt.asUintN(64, v);
const s = (v: bigint): bigint => BigInt.asIntN(64, v);
const sx32 = (v: bigint): bigint => u(BigInt.asIntN(32, v));

/** Execute one ALU/M instruction on unsigned 64-bit regs; returns false if not an ALU op. */
export function refStep(x: bigint[], insn: number, pc: bigint): boolean {
  const op = decode(insn);
  const a = x[rs1(insn)]!, b = x[rs2(insn)]!;
  const imm = u(BigInt(immI(insn)));
  const sh = BigInt(shamt(insn));
  let r: bigint;
  switch (op) {
    case Op.LUI: r = u(BigInt(immU(insn))); break;
    case Op.AUIPC: r = u(pc + BigInt(immU(insn))); break;
    case Op.ADDI: r = u(a + imm); break;
    case Op.SLTI: r = s(a) < s(imm) ? 1n : 0n; break;
    case Op.SLTIU: r = a < imm ? 1n : 0n; break;
    case Op.XORI: r = a ^ imm; break;
    case Op.ORI: r = a | imm; break;
    case Op.ANDI: r = a & imm; break;
    case Op.SLLI: r = u(a << sh); break;
    case Op.SRLI: r = a >> sh; break;
    case Op.SRAI: r = u(s(a) >> sh); break;
    case Op.ADD: r = u(a + b); break;
    case Op.SUB: r = u(a - b); break;
    case Op.SLL: r = u(a << (b & 63n)); break;
    case Op.SLT: r = s(a) < s(b) ? 1n : 0n; break;
    case Op.SLTU: r = a < b ? 1n : 0n; break;
    case Op.XOR: r = a ^ b; break;
    case Op.SRL: r = a >> (b & 63n); break;
    case Op.SRA: r = u(s(a) >> (b & 63n)); break;
    case Op.OR: r = a | b; break;
    case Op.AND: r = a & b; break;
    case Op.ADDIW: r = sx32(a + imm); break;
    case Op.SLLIW: r = sx32(a << sh); break;
    case Op.SRLIW: r = sx32((a & 0xffffffffn) >> sh); break;
    case Op.SRAIW: r = sx32(BigInt.asIntN(32, a) >> sh); break;
    case Op.ADDW: r = sx32(a + b); break;
    case Op.SUBW: r = sx32(a - b); break;
    case Op.SLLW: r = sx32(a << (b & 31n)); break;
    case Op.SRLW: r = sx32((a & 0xffffffffn) >> (b & 31n)); break;
    case Op.SRAW: r = sx32(BigInt.asIntN(32, a) >> (b & 31n)); break;
    case Op.MUL: r = u(a * b); break;
    case Op.MULH: r = u((s(a) * s(b)) >> 64n); break;
    case Op.MULHSU: r = u((s(a) * b) >> 64n); break;
    case Op.MULHU: r = (a * b) >> 64n; break;
    case Op.DIV: r = b === 0n ? M64 : (s(a) === -(1n << 63n) && s(b) === -1n) ? a : u(s(a) / s(b)); break;
    case Op.DIVU: r = b === 0n ? M64 : a / b; break;
    case Op.REM: r = b === 0n ? a : (s(a) === -(1n << 63n) && s(b) === -1n) ? 0n : u(s(a) % s(b)); break;
    case Op.REMU: r = b === 0n ? a : a % b; break;
    case Op.MULW: r = sx32(a * b); break;
    case Op.DIVW: {
      const A = BigInt.asIntN(32, a), B = BigInt.asIntN(32, b);
      r = B === 0n ? M64 : (A === -(1n << 31n) && B === -1n) ? sx32(A) : sx32(A / B); break;
    }
    case Op.DIVUW: {
      const A = a & 0xffffffffn, B = b & 0xffffffffn;
      r = B === 0n ? M64 : sx32(A / B); break;
    }
    case Op.REMW: {
      const A = BigInt.asIntN(32, a), B = BigInt.asIntN(32, b);
      r = B === 0n ? sx32(A) : (A === -(1n << 31n) && B === -1n) ? 0n : sx32(A % B); break;
    }
    case Op.REMUW: {
      const A = a & 0xffffffffn, B = b & 0xffffffffn;
      r = B === 0n ? sx32(A) : sx32(A % B); break;
    }
    default: return false;
  }
  if (rd(insn) !== 0) x[rd(insn)] = r;
  return true;
}
