import { describe, expect, it } from 'vitest';
import {
  Op, decode, opName, rd, rs1, rs2, immI, immS, immB, immU, immJ, csrNum, shamt, aqrl,
} from '../src/decode.js';

// Encodings produced by `llvm-mc -triple=riscv64 -mattr=+m,+a -show-encoding` (clang 14).
const FIXTURES: Array<[string, number]> = [
  ['lui a0, 0x12345', 0x12345537],
  ['auipc t0, 0xfffff', 0xfffff297],
  ['jal ra, -2048', 0x801ff0ef],
  ['jalr ra, -4(a1)', 0xffc580e7],
  ['beq a0, a1, -4096', 0x80b50063],
  ['bne a0, a1, 4094', 0x7eb51fe3],
  ['blt s0, s1, 8', 0x00944463],
  ['bge s0, s1, -8', 0xfe945ce3],
  ['bltu t1, t2, 16', 0x00736863],
  ['bgeu t1, t2, 2', 0x00737163],
  ['lb a0, -1(a1)', 0xfff58503],
  ['lh a0, 2047(a1)', 0x7ff59503],
  ['lw a0, -2048(a1)', 0x8005a503],
  ['ld a0, 8(sp)', 0x00813503],
  ['lbu a0, 0(a1)', 0x0005c503],
  ['lhu a0, 2(a1)', 0x0025d503],
  ['lwu a0, 4(a1)', 0x0045e503],
  ['sb a0, -1(a1)', 0xfea58fa3],
  ['sh a0, 2047(a1)', 0x7ea59fa3],
  ['sw a0, -2048(a1)', 0x80a5a023],
  ['sd ra, 8(sp)', 0x00113423],
  ['addi a0, a0, -1', 0xfff50513],
  ['slti a0, a1, 5', 0x0055a513],
  ['sltiu a0, a1, -1', 0xfff5b513],
  ['xori a0, a1, 0x7ff', 0x7ff5c513],
  ['ori a0, a1, -2048', 0x8005e513],
  ['andi a0, a1, 255', 0x0ff5f513],
  ['slli a0, a1, 63', 0x03f59513],
  ['srli a0, a1, 32', 0x0205d513],
  ['srai a0, a1, 1', 0x4015d513],
  ['add a0, a1, a2', 0x00c58533],
  ['sub a0, a1, a2', 0x40c58533],
  ['sll a0, a1, a2', 0x00c59533],
  ['slt a0, a1, a2', 0x00c5a533],
  ['sltu a0, a1, a2', 0x00c5b533],
  ['xor a0, a1, a2', 0x00c5c533],
  ['srl a0, a1, a2', 0x00c5d533],
  ['sra a0, a1, a2', 0x40c5d533],
  ['or a0, a1, a2', 0x00c5e533],
  ['and a0, a1, a2', 0x00c5f533],
  ['addiw a0, a1, -7', 0xff95851b],
  ['slliw a0, a1, 31', 0x01f5951b],
  ['srliw a0, a1, 31', 0x01f5d51b],
  ['sraiw a0, a1, 31', 0x41f5d51b],
  ['addw a0, a1, a2', 0x00c5853b],
  ['subw a0, a1, a2', 0x40c5853b],
  ['sllw a0, a1, a2', 0x00c5953b],
  ['srlw a0, a1, a2', 0x00c5d53b],
  ['sraw a0, a1, a2', 0x40c5d53b],
  ['mul a0, a1, a2', 0x02c58533],
  ['mulh a0, a1, a2', 0x02c59533],
  ['mulhsu a0, a1, a2', 0x02c5a533],
  ['mulhu a0, a1, a2', 0x02c5b533],
  ['div a0, a1, a2', 0x02c5c533],
  ['divu a0, a1, a2', 0x02c5d533],
  ['rem a0, a1, a2', 0x02c5e533],
  ['remu a0, a1, a2', 0x02c5f533],
  ['mulw a0, a1, a2', 0x02c5853b],
  ['divw a0, a1, a2', 0x02c5c53b],
  ['divuw a0, a1, a2', 0x02c5d53b],
  ['remw a0, a1, a2', 0x02c5e53b],
  ['remuw a0, a1, a2', 0x02c5f53b],
  ['lr.w a0, (a1)', 0x1005a52f],
  ['sc.w a0, a2, (a1)', 0x18c5a52f],
  ['amoswap.w a0, a2, (a1)', 0x08c5a52f],
  ['amoadd.w a0, a2, (a1)', 0x00c5a52f],
  ['amoxor.w a0, a2, (a1)', 0x20c5a52f],
  ['amoand.w a0, a2, (a1)', 0x60c5a52f],
  ['amoor.w a0, a2, (a1)', 0x40c5a52f],
  ['amomin.w a0, a2, (a1)', 0x80c5a52f],
  ['amomax.w a0, a2, (a1)', 0xa0c5a52f],
  ['amominu.w a0, a2, (a1)', 0xc0c5a52f],
  ['amomaxu.w a0, a2, (a1)', 0xe0c5a52f],
  ['lr.d.aqrl a0, (a1)', 0x1605b52f],
  ['sc.d.rl a0, a2, (a1)', 0x1ac5b52f],
  ['amoswap.d.aq a0, a2, (a1)', 0x0cc5b52f],
  ['amoadd.d a0, a2, (a1)', 0x00c5b52f],
  ['amoxor.d a0, a2, (a1)', 0x20c5b52f],
  ['amoand.d a0, a2, (a1)', 0x60c5b52f],
  ['amoor.d a0, a2, (a1)', 0x40c5b52f],
  ['amomin.d a0, a2, (a1)', 0x80c5b52f],
  ['amomax.d a0, a2, (a1)', 0xa0c5b52f],
  ['amominu.d a0, a2, (a1)', 0xc0c5b52f],
  ['amomaxu.d a0, a2, (a1)', 0xe0c5b52f],
  ['fence', 0x0ff0000f],
  ['fence rw, w', 0x0310000f],
  ['fence', 0x8330000f],
  ['fence.i', 0x0000100f],
  ['ecall', 0x00000073],
  ['ebreak', 0x00100073],
  ['sret', 0x10200073],
  ['mret', 0x30200073],
  ['wfi', 0x10500073],
  ['sfence.vma', 0x12000073],
  ['sfence.vma a0, a1', 0x12b50073],
  ['csrrw a0, sstatus, a1', 0x10059573],
  ['csrrs a0, 0xc00, zero', 0xc0002573],
  ['csrrc a0, mstatus, a1', 0x3005b573],
  ['csrrwi a0, 0x600, 31', 0x600fd573],
  ['csrrsi a0, 0x7ff, 1', 0x7ff0e573],
  ['csrrci a0, 0xfff, 0', 0xfff07573],
  ['hret', 0x20200073],
];

function baseMnemonic(src: string): string {
  return src.split(' ')[0]!.replace(/\.(aqrl|aq|rl)$/, '');
}

describe('decode', () => {
  it.each(FIXTURES)('decodes %s to its mnemonic', (src, word) => {
    expect(opName(decode(word))).toBe(baseMnemonic(src));
  });

  it('extracts register fields', () => {
    const add = 0x00c58533; // add a0, a1, a2
    expect([rd(add), rs1(add), rs2(add)]).toEqual([10, 11, 12]);
  });

  it('extracts sign-extended immediates', () => {
    expect(immU(0x12345537)).toBe(0x12345000);
    expect(immU(0xfffff297)).toBe(-4096);
    expect(immJ(0x801ff0ef)).toBe(-2048);
    expect(immI(0xffc580e7)).toBe(-4); // jalr ra, -4(a1)
    expect(immI(0x7ff59503)).toBe(2047); // lh a0, 2047(a1)
    expect(immI(0x8005a503)).toBe(-2048);
    const fix = new Map(FIXTURES);
    expect(immB(fix.get('beq a0, a1, -4096')!)).toBe(-4096);
    expect(immB(fix.get('bne a0, a1, 4094')!)).toBe(4094);
    expect(immB(fix.get('bgeu t1, t2, 2')!)).toBe(2);
    expect(immB(fix.get('bge s0, s1, -8')!)).toBe(-8);
    expect(immS(fix.get('sb a0, -1(a1)')!)).toBe(-1);
    expect(immS(fix.get('sh a0, 2047(a1)')!)).toBe(2047);
    expect(immS(fix.get('sw a0, -2048(a1)')!)).toBe(-2048);
    expect(immS(fix.get('sd ra, 8(sp)')!)).toBe(8);
    expect(shamt(fix.get('slli a0, a1, 63')!)).toBe(63);
    expect(shamt(fix.get('srai a0, a1, 1')!)).toBe(1);
    expect(csrNum(fix.get('csrrci a0, 0xfff, 0')!)).toBe(0xfff);
    expect(csrNum(fix.get('csrrw a0, sstatus, a1')!)).toBe(0x100);
    expect(aqrl(fix.get('lr.d.aqrl a0, (a1)')!)).toBe(3);
    expect(aqrl(fix.get('sc.d.rl a0, a2, (a1)')!)).toBe(1);
    expect(aqrl(fix.get('amoswap.d.aq a0, a2, (a1)')!)).toBe(2);
  });

  it('rejects reserved and unknown encodings', () => {
    const bad = [
      0x00000000, 0xffffffff,
      0x4000_1513 | (1 << 25), // slli with funct6 != 0
      0x0205_9513 | (1 << 30), // slli with bit 30
      0x0205_d51b, // srliw with shamt[5] = 1
      0x0205_951b, // slliw with shamt[5] = 1
      0x4205_d51b, // sraiw with shamt[5] = 1
      0x02c5_8533 | (1 << 27), // add with bad funct7
      0x0000_2063, // branch funct3 2
      0x0000_7003, // load funct3 7
      0x0000_4023, // store funct3 4
      0x0000_1067, // jalr funct3 1
      0x1005_a52f | (1 << 20), // lr.w with rs2 != 0
      0x0005_452f, // amo funct3 4
      0x2800_252f, // amo funct5 0x05
      0x0000_4073, // csr funct3 4
      0x0020_0073, // uret-like unknown system
      0x7b20_0073, // dret
      0x1050_0073 | (1 << 7), // wfi with rd != 0
      0x1200_0073 | (1 << 7), // sfence.vma with rd != 0
      0x0000_2053, // F extension
      0x0000_0001, // compressed-looking
    ];
    for (const w of bad) expect(opName(decode(w)), w.toString(16)).toBe('illegal');
    expect(decode(0x0000_0000)).toBe(Op.ILLEGAL);
  });

  it('accepts fence hints and fence.tso as fence', () => {
    expect(decode(0x8330000f)).toBe(Op.FENCE); // fence.tso
    expect(decode(0x0100000f)).toBe(Op.FENCE); // pause
  });
});
