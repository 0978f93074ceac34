// Random control flow: compiled regions, chained links and budget splits must agree with the
// one-instruction-at-a-time trace path on every register, the PC, instret and cycles.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { enc } from './cpu-asm.js';
import { machine, reg, setReg } from './cpu-helpers.js';

type Item = { kind: 'alu'; w: number } | { kind: 'br'; op: 'beq' | 'bne' | 'blt' | 'bgeu'; a: number; b: number; skip: number }
  | { kind: 'call' } | { kind: 'mem'; store: boolean; r: number; off: number };

const reg16 = fc.integer({ min: 1, max: 7 });
const itemArb: fc.Arbitrary<Item> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('add', 'sub', 'xor', 'mul', 'sltu', 'srl', 'divu', 'addw') as fc.Arbitrary<'add'>, reg16, reg16, reg16)
    .map(([m, d, a, b]) => ({ kind: 'alu' as const, w: (enc[m] as (d: number, a: number, b: number) => number)(d, a, b) })) },
  { weight: 2, arbitrary: fc.tuple(reg16, reg16, fc.integer({ min: -64, max: 63 })).map(([d, a, i]) => ({ kind: 'alu' as const, w: enc.addi(d, a, i) })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('beq', 'bne', 'blt', 'bgeu') as fc.Arbitrary<'beq'>, reg16, reg16, fc.integer({ min: 1, max: 6 }))
    .map(([op, a, b, skip]) => ({ kind: 'br' as const, op, a, b, skip })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'call' as const }) },
  { weight: 2, arbitrary: fc.tuple(fc.boolean(), reg16, fc.integer({ min: 0, max: 31 })).map(([store, r, off]) => ({ kind: 'mem' as const, store, r, off: off * 8 })) },
);

/** Program: x8 = loop counter, x9 = data pointer; body = items; loop back; then ebreak. A leaf
 *  function at the end (x10 += x1 via ra) is the call target. */
function assemble(items: Item[], iterations: number) {
  return (a: import('./cpu-asm.js').Asm) => {
    a.emit(enc.addi(8, 0, iterations));
    a.label('top');
    items.forEach((it, i) => {
      a.label(`i${i}`);
      if (it.kind === 'alu') a.emit(it.w);
      else if (it.kind === 'br') {
        const target = `i${Math.min(items.length, i + it.skip)}`;
        a.ref(target, (o) => (enc[it.op] as (a: number, b: number, o: number) => number)(it.a, it.b, o));
      } else if (it.kind === 'call') a.ref('fn', (o) => enc.jal(1, o));
      else if (it.store) a.emit(enc.sd(it.r, 9, it.off));
      else a.emit(enc.ld(it.r, 9, it.off));
    });
    a.label(`i${items.length}`);
    a.emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
    a.label('fn').emit(enc.add(10, 10, 1), enc.xor(11, 11, 10), enc.jalr(0, 1, 0));
  };
}

describe('random control flow', () => {
  it('regions and chaining agree with single-stepping under arbitrary budget splits', () => {
    fc.assert(fc.property(
      fc.array(itemArb, { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 8, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
      (items, iters, init, chunks) => {
        const build = assemble(items, iters);
        const fast = machine(build), slow = machine(build);
        for (const m of [fast, slow]) {
          for (let r = 1; r < 8; r++) setReg(m.cpu, r, init[r]!);
          setReg(m.cpu, 9, BigInt(0x8000_0000 + 0x10000));
          m.cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
        }
        slow.cpu.setTrace(() => {});
        for (const n of [...chunks, 1e7]) {
          const rf = fast.cpu.run(n), rs = slow.cpu.run(n);
          expect(rf).toBe(rs);
          expect(fast.cpu.instret).toBe(slow.cpu.instret);
          expect(fast.cpu.pc).toBe(slow.cpu.pc);
          expect(fast.cpu.cycles).toBe(slow.cpu.cycles);
          for (let r = 1; r < 12; r++) expect(reg(fast.cpu, r)).toBe(reg(slow.cpu, r));
          if (rf === 'stopped') break;
        }
        expect(fast.mem.readBytes(0x8000_0000 + 0x10000, 256)).toEqual(slow.mem.readBytes(0x8000_0000 + 0x10000, 256));
      }), { numRuns: Number(process.env.FC_RUNS ?? 200) });
  });
});
