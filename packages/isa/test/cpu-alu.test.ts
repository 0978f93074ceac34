import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { enc } from './cpu-asm.js';
import { machine, reg, setReg, BASE } from './cpu-helpers.js';
import { refStep } from './cpu-ref.js';

const INTERESTING = [0n, 1n, 2n, 3n, 7n, 31n, 32n, 63n, 64n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 0x100000000n,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen, 0x123456789abcdef0n,
  0x1fffffffffffffn, 0x20000000000000n, 0xffe0000000000000n, 0xffdfffffffffffffn, 0x8000000000000001n];

const rType = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'addw', 'subw', 'sllw', 'srlw',
  'sraw', 'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'mulw', 'divw', 'divuw', 'remw', 'remuw'] as const;
const iType = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw'] as const;
const shType = [['slli', 63], ['srli', 63], ['srai', 63], ['slliw', 31], ['srliw', 31], ['sraiw', 31]] as const;

const regArb = fc.integer({ min: 0, max: 8 }); // x0..x8: collisions are likely
const insnArb = fc.oneof(
  fc.tuple(fc.constantFrom(...rType), regArb, regArb, regArb).map(([m, d, a, b]) => (enc[m] as (d: number, a: number, b: number) => number)(d, a, b)),
  fc.tuple(fc.constantFrom(...iType), regArb, regArb, fc.integer({ min: -2048, max: 2047 })).map(([m, d, a, i]) => (enc[m] as (d: number, a: number, b: number) => number)(d, a, i)),
  fc.tuple(fc.constantFrom(...shType), regArb, regArb, fc.nat()).map(([[m, max], d, a, sh]) => (enc[m] as (d: number, a: number, b: number) => number)(d, a, sh % (max + 1))),
  fc.tuple(regArb, fc.integer({ min: 0, max: 0xfffff })).map(([d, i]) => enc.lui(d, i)),
  fc.tuple(regArb, fc.integer({ min: 0, max: 0xfffff })).map(([d, i]) => enc.auipc(d, i)),
);
const valArb = fc.oneof(fc.constantFrom(...INTERESTING), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 53n), max: 1n << 53n }).map((v) => BigInt.asUintN(64, v)));

function runBoth(prog: number[], init: bigint[], traced: boolean): { jit: bigint[]; ref: bigint[] } {
  const { cpu } = machine((a) => { a.emit(...prog, enc.ebreak()); });
  for (let i = 1; i < 9; i++) setReg(cpu, i, init[i]!);
  if (traced) cpu.setTrace(() => {});
  const r = cpu.run(prog.length);
  expect(r).toBe('budget');
  expect(cpu.instret).toBe(prog.length);
  expect(cpu.pc).toBe(BASE + 4 * prog.length);
  const ref = [0n, ...init.slice(1)];
  prog.forEach((w, k) => { expect(refStep(ref, w, BigInt(BASE + 4 * k))).toBe(true); });
  return { jit: Array.from({ length: 9 }, (_, i) => reg(cpu, i)), ref };
}

describe('RV64IM in the JIT matches a BigInt reference', () => {
  it('for random ALU/M sequences (compiled blocks)', () => {
    fc.assert(fc.property(fc.array(insnArb, { minLength: 1, maxLength: 40 }), fc.array(valArb, { minLength: 9, maxLength: 9 }),
      (prog, init) => {
        const { jit, ref } = runBoth(prog, init, false);
        expect(jit).toEqual(ref);
      }), { numRuns: Number(process.env.FC_RUNS ?? 400) });
  });

  it('for random ALU/M sequences (single-step trace path)', () => {
    fc.assert(fc.property(fc.array(insnArb, { minLength: 1, maxLength: 12 }), fc.array(valArb, { minLength: 9, maxLength: 9 }),
      (prog, init) => {
        const { jit, ref } = runBoth(prog, init, true);
        expect(jit).toEqual(ref);
      }), { numRuns: 150 });
  });

  it('for every R-type op over all pairs of interesting values', () => {
    for (const m of rType) {
      const prog: number[] = [];
      // x1 = a, x2 = b -> x3 = op; compare each pair separately to keep blocks simple
      prog.push((enc[m] as (d: number, a: number, b: number) => number)(3, 1, 2));
      for (const a of INTERESTING) for (const b of INTERESTING) {
        const init = [0n, a, b, 0n, 0n, 0n, 0n, 0n, 0n];
        const { jit, ref } = runBoth(prog, init, false);
        expect(jit[3], `${m} ${a.toString(16)} ${b.toString(16)}`).toBe(ref[3]);
      }
    }
  });
});

describe('division and multiplication corners', () => {
  const cases: Array<[keyof typeof enc, bigint, bigint, bigint]> = [
    ['div', 7n, 0n, 0xffffffffffffffffn],
    ['divu', 7n, 0n, 0xffffffffffffffffn],
    ['rem', 7n, 0n, 7n],
    ['remu', 0x8000000000000000n, 0n, 0x8000000000000000n],
    ['div', 0x8000000000000000n, 0xffffffffffffffffn, 0x8000000000000000n],
    ['rem', 0x8000000000000000n, 0xffffffffffffffffn, 0n],
    ['div', BigInt.asUintN(64, -7n), 2n, BigInt.asUintN(64, -3n)],
    ['rem', BigInt.asUintN(64, -7n), 2n, BigInt.asUintN(64, -1n)],
    ['divw', 0x80000000n, 0xffffffffn, 0xffffffff80000000n],
    ['remw', 0x80000000n, 0xffffffffn, 0n],
    ['divw', 5n, 0n, 0xffffffffffffffffn],
    ['divuw', 5n, 0n, 0xffffffffffffffffn],
    ['remw', 0xfffffffbn, 0n, 0xfffffffffffffffbn],
    ['remuw', 0x80000005n, 0n, 0xffffffff80000005n],
    ['mulh', BigInt.asUintN(64, -1n), BigInt.asUintN(64, -1n), 0n],
    ['mulhu', BigInt.asUintN(64, -1n), BigInt.asUintN(64, -1n), 0xfffffffffffffffen],
    ['mulhsu', BigInt.asUintN(64, -1n), BigInt.asUintN(64, -1n), 0xffffffffffffffffn],
    ['mulh', 0x8000000000000000n, 0x8000000000000000n, 0x4000000000000000n],
    ['mulw', 0x7fffffffn, 2n, 0xfffffffffffffffen],
    ['divu', 0xfffffffffffffffen, 3n, 0x5555555555555554n],
    ['remu', 0xfffffffffffffffen, 0x100000001n, 0xfffffffffffffffen % 0x100000001n],
  ];
  it.each(cases)('%s(%s, %s)', (m, a, b, want) => {
    const { cpu } = machine((as) => { as.emit((enc[m] as (d: number, a: number, b: number) => number)(3, 1, 2)); });
    setReg(cpu, 1, a); setReg(cpu, 2, b);
    cpu.run(1);
    expect(reg(cpu, 3)).toBe(want);
  });
});

describe('x0', () => {
  it('reads 0 and ignores writes (ALU, load, jal)', () => {
    const { cpu } = machine((a) => {
      a.emit(enc.addi(0, 0, 5), enc.lui(0, 0x12345), enc.add(1, 0, 0), enc.addi(2, 0, -1), enc.ld(0, 0, 0));
    });
    setReg(cpu, 1, 99n);
    cpu.run(4);
    expect(reg(cpu, 0)).toBe(0n);
    expect(reg(cpu, 1)).toBe(0n);
    expect(reg(cpu, 2)).toBe(0xffffffffffffffffn);
    expect(cpu.getRegLo(0)).toBe(0);
  });
});

describe('64-bit division helpers', () => {
  it('match BigInt for dividends and divisors of every magnitude', async () => {
    const { divu64, remu64, div64, rem64, HI } = await import('../src/cpu/int64.js');
    const split = (v: bigint): [number, number] => [Number(v & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0];
    const join = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    const mag = fc.integer({ min: 0, max: 64 }).chain((bits) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }));
    fc.assert(fc.property(mag, mag, (a, b) => {
      const [al, ah] = split(a), [bl, bh] = split(b);
      const q = b === 0n ? (1n << 64n) - 1n : a / b, r = b === 0n ? a : a % b;
      expect(join(divu64(al, ah, bl, bh), HI[0]!)).toBe(q);
      expect(join(remu64(al, ah, bl, bh), HI[0]!)).toBe(r);
      const sa = BigInt.asIntN(64, a), sb = BigInt.asIntN(64, b);
      const sq = sb === 0n ? -1n : (sa === -(1n << 63n) && sb === -1n) ? sa : sa / sb;
      const sr = sb === 0n ? sa : (sa === -(1n << 63n) && sb === -1n) ? 0n : sa % sb;
      expect(join(div64(al, ah, bl, bh), HI[0]!)).toBe(BigInt.asUintN(64, sq));
      expect(join(rem64(al, ah, bl, bh), HI[0]!)).toBe(BigInt.asUintN(64, sr));
    }), { numRuns: Number(process.env.FC_RUNS ?? 3000) });
  });
});
