// The soft-TLB's dynamic size (softmmu.ts tlbSlot / flushTlb): it grows while refills keep
// evicting live entries and no modelled TLB stands behind it, shrinks at flushes of a little-used
// soft-TLB, and its size never changes what the guest sees: instret, cycles, registers and memory
// are those of a soft-TLB fixed at the initial size, on both engines.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type Access, BareTranslator, CSR, TLB_INITIAL_ENTRIES, type Cpu, type CpuEngine, type PhysMemory, type SoftTlbInvalidator, type TranslationControl } from '../src/index.js';
import { Asm, enc } from './cpu-asm.js';
import { BASE, machine, reg } from './cpu-helpers.js';

const PAGES = 12288; // pages swept per pass: more than 4 x TLB_INITIAL_ENTRIES
const DATA = BASE + 0x10_0000;
const X_PAGE = 9000; // the data page that becomes code after the soft-TLB grew

/**
 * Five passes over PAGES pages (a load, an add, a store per page), then code written into data
 * page X_PAGE through the write soft-TLB, run, rewritten and run again: the second store must find
 * no write entry for the now-code page (markCode evicts it at the grown size) and invalidate.
 */
function program(a: Asm): void {
  a.emit(enc.auipc(5, 0x100)); // x5 = DATA
  a.emit(enc.addi(7, 0, 5), enc.lui(12, 1));
  a.label('pass').emit(enc.addi(8, 5, 0), enc.lui(9, PAGES >> 12));
  a.label('page').emit(enc.ld(11, 8, 8), enc.add(10, 10, 11), enc.addi(11, 11, 7), enc.sd(11, 8, 8), enc.add(8, 8, 12), enc.addi(9, 9, -1));
  a.ref('page', (o) => enc.bne(9, 0, o));
  a.emit(enc.addi(7, 7, -1)).ref('pass', (o) => enc.bne(7, 0, o));
  a.emit(enc.lui(13, X_PAGE), enc.add(13, 13, 5)); // x13 = page X
  a.li(15, enc.addi(14, 14, 1)).emit(enc.sw(15, 13, 0));
  a.li(15, enc.jalr(0, 1, 0)).emit(enc.sw(15, 13, 4));
  a.emit(enc.jalr(1, 13, 0)); // x14 += 1
  a.li(15, enc.addi(14, 14, 100)).emit(enc.sw(15, 13, 0));
  a.emit(enc.jalr(1, 13, 0)); // x14 += 100 (not 1 again)
  a.emit(enc.ebreak());
}

interface Outcome { instret: number; cycles: number; regs: bigint[]; sum: number }

/**
 * An MMU that translates as the bare translator in every mode (so results do not depend on the
 * mode) but, as @tachyxx/mmu's tagged policy, drops the soft-TLB when satp / p1gatp change.
 */
class IdentityMmu implements TranslationControl {
  satpLo = 0; satpHi = 0; p1gatpLo = 0; p1gatpHi = 0; lastCycles = 0; softHits = 0;
  private inv: SoftTlbInvalidator | null = null;
  private readonly bare: BareTranslator;
  constructor(mem: PhysMemory) { this.bare = new BareTranslator(mem); }
  translate(lo: number, hi: number, access: Access, level: number): number { return this.bare.translate(lo, hi, access, level); }
  writeSatp(lo: number, hi: number): boolean {
    const changed = lo !== this.satpLo || hi !== this.satpHi;
    this.satpLo = lo | 0; this.satpHi = hi | 0;
    if (changed) this.inv?.invalidateAll();
    return true;
  }
  writeP1gatp(lo: number, hi: number): boolean { this.p1gatpLo = lo | 0; this.p1gatpHi = hi | 0; return true; }
  writeSstatus(): void {}
  sfenceVma(): void { this.inv?.invalidateAll(); }
  addSoftTlbHits(n: number): void { this.softHits += n; }
  setInvalidator(inv: SoftTlbInvalidator | null): void { this.inv = inv; }
}

function runOn(engine: CpuEngine, tlbEntries?: number, satpMode = -1): { cpu: Cpu; out: Outcome } {
  const { cpu, mem } = machine(program, { engine, memSize: 64 << 20, ...(tlbEntries === undefined ? {} : { tlbEntries }) });
  if (satpMode >= 0) {
    cpu.attachMmu(new IdentityMmu(mem));
    cpu.writeCsr(CSR.satp, 0, satpMode << 28);
  }
  cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
  expect(cpu.run(1e7)).toBe('stopped');
  let sum = 0;
  for (let p = 0; p < PAGES; p += 97) sum = (sum + mem.readU32(DATA + p * 4096 + 8)) | 0;
  return { cpu, out: { instret: cpu.instret, cycles: cpu.cycles, regs: Array.from({ length: 32 }, (_, i) => reg(cpu, i)), sum } };
}

describe('soft-TLB dynamic size', () => {
  it('grows under eviction pressure to fit the working set; the guest sees what a fixed-size soft-TLB gives, on both engines', () => {
    const fixed = runOn('js', TLB_INITIAL_ENTRIES);
    expect(fixed.cpu.engineStats().tlbResizes).toBe(0);
    expect(fixed.cpu.engineStats().tlbEntries).toBe(TLB_INITIAL_ENTRIES);
    expect(fixed.out.regs[14]).toBe(101n);
    expect(fixed.out.regs[10]).not.toBe(0n);
    for (const engine of ['js', 'wasm'] as CpuEngine[]) {
      const grown = runOn(engine);
      expect(grown.out).toEqual(fixed.out);
      const s = grown.cpu.engineStats();
      // 2048 -> 4096 -> 8192 -> 16384: the first size that holds PAGES pages (and the code page)
      expect(s.tlbEntries).toBe(16384);
      expect(s.tlbResizes).toBe(3);
      // at the initial size every pass refills every page (read and write entry); grown, the
      // passes after the last resize hit (each resize drops every entry: passes 1-3 refill)
      expect(fixed.cpu.engineStats().tlbRefills).toBeGreaterThanOrEqual(5 * 2 * PAGES);
      expect(s.tlbRefills).toBeLessThan(3 * 2 * PAGES);
    }
  });

  it('a flush after little use halves it, down to the initial size and no further', () => {
    const { cpu } = runOn('js');
    expect(cpu.engineStats().tlbEntries).toBe(16384);
    const n0 = cpu.engineStats().tlbResizes;
    const sizes: number[] = [];
    for (let k = 0; k < 5; k++) { cpu.flushTlb(); sizes.push(cpu.engineStats().tlbEntries); }
    // the first flush closes the interval since the last resize, which filled ~2 x 12288 entries of 16384
    expect(sizes).toEqual([16384, 8192, 4096, 2048, 2048]);
    expect(cpu.engineStats().tlbResizes).toBe(n0 + 3);
  });

  it('with an MMU: grows while both stages are Bare; with translation on it stays at (and returns to) the initial size', () => {
    const bare = runOn('js', undefined, 0);
    expect(bare.cpu.engineStats().tlbEntries).toBe(16384);
    const fixed = runOn('js', TLB_INITIAL_ENTRIES, 9);
    for (const engine of ['js', 'wasm'] as CpuEngine[]) {
      const on = runOn(engine, undefined, 9); // Sv48: a modelled TLB stands behind the soft-TLB
      expect(on.cpu.engineStats().tlbEntries).toBe(TLB_INITIAL_ENTRIES);
      expect(on.cpu.engineStats().tlbResizes).toBe(0);
      expect(on.cpu.engineStats().tlbRefills).toBe(fixed.cpu.engineStats().tlbRefills);
      expect(on.out).toEqual(fixed.out);
      expect(on.out).toEqual(bare.out);
    }
    // translation turned on after growth: the satp write's flush takes the soft-TLB back
    bare.cpu.writeCsr(CSR.satp, 0, 9 << 28);
    expect(bare.cpu.engineStats().tlbEntries).toBe(TLB_INITIAL_ENTRIES);
  });

  it('a tlbEntries of the initial size or below never grows', () => {
    for (const te of [TLB_INITIAL_ENTRIES, 64]) {
      const { cpu, out } = runOn('js', te);
      expect(cpu.engineStats().tlbEntries).toBe(te);
      expect(cpu.engineStats().tlbResizes).toBe(0);
      expect(out.regs[14]).toBe(101n);
    }
  });

  it('random loads, stores and sfence.vma over thousands of pages: the same guest-visible run at every soft-TLB size, on both engines (property)', () => {
    type Op = { k: 'ld' | 'sd' | 'lw' | 'sb'; page: number; off: number } | { k: 'fence' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 400, arbitrary: fc.record({ k: fc.constantFrom('ld' as const, 'sd' as const, 'lw' as const, 'sb' as const), page: fc.integer({ min: 0, max: 4095 }), off: fc.integer({ min: 0, max: 511 }) }) },
      { weight: 1, arbitrary: fc.constant({ k: 'fence' as const }) }, // (then a flush every iteration)
    );
    const DATA2 = BASE + 0x10_0000;
    const build = (ops: Op[], iters: number, fenceMask: number) => (a: Asm): void => {
      a.emit(enc.auipc(5, 0x100)); // x5 = DATA2
      a.li(7, iters);
      a.label('loop');
      if (fenceMask >= 0) a.emit(enc.andi(13, 7, fenceMask)).ref('nofence', (o) => enc.bne(13, 0, o)).emit(enc.sfencevma()).label('nofence');
      for (const o of ops) {
        if (o.k === 'fence') { a.emit(enc.sfencevma()); continue; }
        a.li(8, o.page * 4096).emit(enc.add(8, 8, 5)); // x8 = page base
        const off = o.k === 'ld' || o.k === 'sd' ? (o.off * 8) & 2047 : o.k === 'lw' ? (o.off * 4) & 2047 : o.off;
        if (o.k === 'ld') a.emit(enc.ld(9, 8, off), enc.add(10, 10, 9));
        else if (o.k === 'lw') a.emit(enc.lw(9, 8, off), enc.xor(10, 10, 9));
        else if (o.k === 'sd') a.emit(enc.addi(10, 10, 13), enc.sd(10, 8, off));
        else a.emit(enc.sb(10, 8, off));
      }
      // the next iteration's pages are 5 pages further: thousands of distinct pages in all
      a.emit(enc.lui(12, 5), enc.add(5, 5, 12));
      a.emit(enc.addi(7, 7, -1)).ref('loop', (o) => enc.bne(7, 0, o)).emit(enc.ebreak());
    };
    let grown = 0;
    fc.assert(fc.property(fc.array(op, { minLength: 30, maxLength: 80 }), fc.integer({ min: 100, max: 400 }), fc.integer({ min: 50, max: 5000 }),
      fc.constantFrom(-1, -1, 15, 63), // sfence.vma every 16 / 64 iterations, or only where an op says
      (ops, iters, chunk, fenceMask) => {
        const outcomes: unknown[] = [];
        for (const [engine, te] of [['js', TLB_INITIAL_ENTRIES], ['js', undefined], ['wasm', undefined]] as const) {
          const { cpu, mem } = machine(build(ops, iters, fenceMask), { engine, memSize: 32 << 20, ...(te === undefined ? {} : { tlbEntries: te }) });
          cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
          let r: string = 'budget';
          for (let done = 0; done < 1e6 && r !== 'stopped'; done += chunk) r = cpu.run(chunk);
          expect(r).toBe('stopped');
          let sum = 0;
          for (let a = 0; a < (4096 + 5 * 400) * 4096; a += 60) sum = (sum * 31 + mem.readU32(DATA2 + a)) | 0;
          outcomes.push({ instret: cpu.instret, cycles: cpu.cycles, x10: reg(cpu, 10), sum });
          if (te === undefined && cpu.engineStats().tlbResizes > 0) grown++;
        }
        expect(outcomes[1]).toEqual(outcomes[0]);
        expect(outcomes[2]).toEqual(outcomes[0]);
      }), {
      numRuns: Number(process.env.FC_RUNS ?? 15),
      // one run that surely grows (no sfence.vma, 80 pages per iteration, 400 iterations), so the
      // check below never depends on the random draws
      examples: [[Array.from({ length: 80 }, (_, i) => ({ k: 'ld' as const, page: i * 51, off: i })), 400, 5000, -1]],
    });
    expect(grown).toBeGreaterThan(0); // (the sizes did change in at least the example run)
  });
});
