// The hypercall path's CPU pieces: a CsrTrapHandler (tval / epc from the level's CSRs, nothing
// boxed per trap) sees what a TrapHandler is passed; takeInterrupt's early reject (no pending interrupt enabled in its target level's ie) against the
// full priority scan it short-cuts: for random delegation, enable, pending and status state at
// every level, the same interrupt (or none) is taken, at the same level, with the same pc.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CSR, Cpu, PhysMemory } from '../src/index.js';
import { enc } from './cpu-asm.js';
import { machine } from './cpu-helpers.js';
import { takeInterrupt } from '../src/cpu/priv.js';
import { SST_SIE, ST_IE } from '../src/cpu/csr.js';

const BASE = 0x8000_0000;
const PRIORITY = [11, 3, 7, 10, 2, 6, 9, 1, 5];
const IRQ_BITS = 0xeee;

/** The architectural choice (the scan takeInterrupt made before its early reject): highest priority, lowest target level wins; takeable if below it or at it with IE. */
function reference(c: Cpu): { code: number; target: number } | null {
  const p = c.ipSoft | c.ipLines | (c.stip ? 1 << 5 : 0);
  let best = -1, bestT = 4;
  for (const code of PRIORITY) {
    const bit = 1 << code;
    if ((p & bit) === 0) continue;
    const t = (c.mideleg & bit) === 0 ? 0 : (c.p1ideleg & bit) === 0 ? 1 : 2;
    if (t >= bestT) continue;
    const ie = t === 0 ? c.mie : t === 1 ? c.p1ie : c.sie;
    if ((ie & bit) === 0) continue;
    const gie = t === 0 ? (c.mstatus & ST_IE) !== 0 : t === 1 ? (c.p1status & ST_IE) !== 0 : (c.sstatus & SST_SIE) !== 0;
    if (c.lvl > t || (c.lvl === t && gie)) { best = code; bestT = t; }
  }
  return best < 0 ? null : { code: best, target: bestT };
}

describe('takeInterrupt', () => {
  it('takes exactly what the full priority scan takes (property)', () => {
    const mask = fc.integer({ min: 0, max: IRQ_BITS }).map((m) => m & IRQ_BITS);
    fc.assert(fc.property(
      fc.record({ mideleg: mask, p1ideleg: mask, mie: mask, p1ie: mask, sie: mask, soft: mask, lines: mask, stip: fc.boolean(),
        level: fc.integer({ min: 0, max: 3 }), mIe: fc.boolean(), p1Ie: fc.boolean(), sIe: fc.boolean() }),
      (s) => {
        const c = new Cpu(new PhysMemory({ base: BASE, size: 1 << 16 }));
        c.level = s.level as 0 | 1 | 2 | 3;
        c.mideleg = s.mideleg; c.p1ideleg = s.p1ideleg & s.mideleg; c.mie = s.mie; c.p1ie = s.p1ie; c.sie = s.sie;
        c.ipSoft = s.soft; c.ipLines = s.lines; c.stip = s.stip;
        c.mstatus = s.mIe ? ST_IE : 0; c.p1status = s.p1Ie ? ST_IE : 0; c.sstatus = s.sIe ? SST_SIE : 0;
        const want = reference(c);
        const took = takeInterrupt(c);
        expect(took).toBe(want !== null);
        if (want !== null) {
          expect(c.level).toBe(want.target);
          const causeCsr = want.target === 0 ? 0x342 : want.target === 1 ? CSR.p1cause : 0x142;
          expect(c.readCsrLo(causeCsr)).toBe(want.code);
          expect(c.readCsrHi(causeCsr)).toBe(-2147483648);
        } else expect(c.level).toBe(s.level);
      },
    ), { numRuns: 3000 });
  });
});

describe('setCsrTrapHandler', () => {
  it('the handler reads from mepc / mtval what a TrapHandler gets as epc / tval, and replaces it (and back)', () => {
    // at PL2 without delegation: ecall (cause 9, tval 0) then an illegal instruction (cause 2, tval = its bits)
    const { cpu } = machine((a) => a.emit(enc.addi(1, 0, 1), enc.ecall(), 0xffffffff | 0, enc.ebreak()));
    cpu.level = 2;
    const seen: string[] = [];
    const plain: string[] = [];
    cpu.setTrapHandler(0, (c, cause, isInt, tval, epc) => { plain.push(`${cause} ${isInt} ${tval} ${epc}`); c.completeEmulated(0); });
    cpu.setCsrTrapHandler(0, (c, cause, isInt) => {
      seen.push(`${cause} ${isInt} ${c.readCsr(0x343)} ${c.readCsr(0x341)}`);
      if (cause === 2) cpu.setTrapHandler(0, (c2, cause2, isInt2, tval, epc) => { plain.push(`${cause2} ${isInt2} ${tval} ${epc}`); c2.stop('end'); });
      c.completeEmulated(0);
    });
    cpu.run(10);
    expect(seen).toEqual([`9 false 0 ${BASE + 4}`, `2 false ${0xffffffff} ${BASE + 8}`]);
    expect(plain).toEqual([`3 false 0 ${BASE + 12}`]); // setTrapHandler replaced the CSR handler
  });
});

describe('a run that ends at a linked system instruction', () => {
  // loop: x1 += 1; x2 += 3; ecall (PL0 emulates it); a CSR read; branch back, 2000 times. The run
  // loop executes the ecall / csrr straight after the region when nothing else is due: the same
  // instret, cycles, registers, traps and soft-TLB fetch accounting as executing every
  // instruction on its own (the traced path, which never chains), in whole runs and in slices.
  const prog = (a: import('./cpu-asm.js').Asm) => {
    a.emit(enc.addi(5, 0, 2000));
    a.label('top');
    a.emit(enc.addi(1, 1, 1), enc.addi(2, 2, 3), enc.ecall(), 0x00002373 | (0xc00 << 20) /* csrrs x6, cycle, x0 */, enc.addi(5, 5, -1));
    a.ref('top', (off) => enc.bne(5, 0, off));
    a.emit(enc.ebreak());
  };
  function go(traced: boolean, slice: number) {
    const { cpu } = machine(prog);
    cpu.level = 1;
    cpu.writeCsr(CSR.mcounteren, 7); // the csrr of cycle retires at PL1
    let traps = 0;
    cpu.setCsrTrapHandler(0, (c, cause) => {
      traps++;
      if (cause === 3) { c.stop('end'); return; }
      c.completeEmulated(0);
    });
    if (traced) cpu.setTrace(() => {});
    let r;
    do r = cpu.run(slice); while (r === 'budget');
    return { r, instret: cpu.instret, cycles: cpu.cycles, pc: cpu.pc, x1: cpu.getReg(1), x2: cpu.getReg(2), x6: cpu.getReg(6), traps, exceptions: Array.from(cpu.stats.exceptions), tlbMisses: cpu.stats.tlbMisses };
  }
  it('gives what executing instruction by instruction gives', () => {
    // (the traced path translates every fetch: its soft-TLB misses are its own)
    const { tlbMisses: _t, ...want } = go(true, Infinity);
    expect(want.x1).toBe(2000);
    expect(want.traps).toBe(2001);
    const whole = go(false, Infinity);
    for (const slice of [Infinity, 7, 1000]) {
      const { tlbMisses, ...got } = go(false, slice);
      expect(got).toEqual(want);
      expect(tlbMisses).toBe(whole.tlbMisses);
    }
  });
});
