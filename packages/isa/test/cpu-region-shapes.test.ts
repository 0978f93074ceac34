// Region shapes the block cache forms since regions follow calls (blockcache.ts formRegion): a
// region of several blocks none of which leads to another (the code after a call whose callee is
// on a page the exec soft-TLB does not map yet, ending in a jump off the region) compiles and
// runs like the same code with regions on one page.
import { describe, expect, it } from 'vitest';
import { CSR } from '../src/index.js';
import { enc } from './cpu-asm.js';
import { BASE, machine, reg } from './cpu-helpers.js';

describe('region shapes', () => {
  it('a call whose callee page is not mapped yet, then a block that only jumps away: same run at every maxRegionPages, both engines', () => {
    const outcomes: unknown[] = [];
    for (const engine of ['js', 'wasm'] as const) {
      for (const maxRegionPages of [1, 8]) {
        const { cpu } = machine((a) => {
          a.emit(enc.addi(7, 7, 1)).ref('far', (o) => enc.jal(1, o)); // entry block: a call to page 1
          a.emit(enc.addi(8, 8, 1)).ref('other', (o) => enc.jal(0, o)); // after the call: off to page 2
          while (a.here < BASE + 4096) a.emit(enc.addi(0, 0, 0));
          a.label('far').emit(enc.addi(9, 9, 1), enc.jalr(0, 1, 0));
          while (a.here < BASE + 8192) a.emit(enc.addi(0, 0, 0));
          a.label('other').emit(enc.addi(10, 10, 1), enc.ebreak());
        }, { engine, maxRegionPages });
        cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
        expect(cpu.run(1000)).toBe('stopped');
        outcomes.push({ regs: [7, 8, 9, 10].map((r) => reg(cpu, r)), instret: cpu.instret, cycles: cpu.cycles, pc: cpu.pc });
      }
    }
    expect(outcomes[0]).toMatchObject({ regs: [1n, 1n, 1n, 1n], instret: 7 });
    for (const o of outcomes) expect(o).toEqual(outcomes[0]);
  });

  it('rdtime runs inside regions (a block of its own): the same values, counts and trap as single-stepping, both engines, regions on one page or several', () => {
    // x6 += time each pass (PL2: time + p1timedelta), read in a function on the next page (with
    // regions on one page the wasm hub chains caller and callee: the time must count the cycles of
    // the regions it ran before in the same call); with p1counteren.TM clear the first rdtime traps
    const rdtime = enc.csrrs(5, CSR.time, 0);
    const prog = (a: Parameters<Parameters<typeof machine>[0]>[0]): void => {
      a.li(7, 300);
      a.label('loop').emit(enc.addi(8, 8, 3)).ref('far', (o) => enc.jal(1, o)).emit(enc.add(6, 6, 5));
      a.emit(enc.addi(7, 7, -1)).ref('loop', (o) => enc.bne(7, 0, o)).emit(enc.ebreak());
      while (a.here < BASE + 4096) a.emit(enc.addi(0, 0, 0));
      a.label('far').emit(enc.mul(9, 8, 8), rdtime, enc.jalr(0, 1, 0));
    };
    for (const maxRegionPages of [1, 8]) {
      const outcomes: unknown[] = [];
      for (const engine of ['js', 'wasm'] as const) {
        for (const mode of ['regions', 'step'] as const) {
          for (const enabled of [true, false]) {
            const { cpu } = machine(prog, { engine, maxRegionPages });
            cpu.level = 2;
            cpu.writeCsr(CSR.mcounteren, 7); cpu.writeCsr(CSR.p1counteren, enabled ? 7 : 5);
            cpu.writeCsr(CSR.p1timedelta, 123_456_789);
            const traps: { cause: number; tval: number; epc: number; instret: number }[] = [];
            cpu.setTrapHandler(0, (c, cause, _i, tval, epc) => { traps.push({ cause, tval, epc, instret: c.instret }); c.stop('trap'); });
            if (mode === 'step') cpu.setTrace(() => {});
            for (const chunk of [1, 5, 13, 1000, 1e6]) if (cpu.run(chunk) === 'stopped') break;
            outcomes.push({ enabled, traps, instret: cpu.instret, cycles: cpu.cycles, regs: [5, 6, 7, 8, 9].map((r) => reg(cpu, r)) });
          }
        }
      }
      // enabled: 300 passes then the ebreak; disabled: cause 22 at the first rdtime, tval = the instruction
      expect(outcomes[0]).toMatchObject({ enabled: true, traps: [{ cause: 3 }] });
      expect((outcomes[0] as { regs: bigint[] }).regs[2]).toBe(0n);
      expect(outcomes[1]).toMatchObject({ enabled: false, traps: [{ cause: 22, tval: rdtime >>> 0, epc: BASE + 4096 + 4 }] });
      for (let i = 0; i < outcomes.length; i += 2) {
        expect(outcomes[i]).toEqual(outcomes[0]);
        expect(outcomes[i + 1]).toEqual(outcomes[1]);
      }
    }
  });

  it('an auipc + jalr call is followed into a small leaf callee, not into one with a loop (same results either way)', () => {
    const N = 2000;
    // main loop at BASE calls F (at BASE + 0x800) through auipc + jalr, as clang emits calls
    const prog = (leaf: boolean) => (a: Parameters<Parameters<typeof machine>[0]>[0]): void => {
      const F = BASE + 0x800;
      a.li(7, N);
      a.label('loop');
      const off = F - a.here, hi = (off + 0x800) >> 12, lo = off - (hi << 12);
      a.emit(enc.auipc(1, hi), enc.jalr(1, 1, lo), enc.addi(7, 7, -1)).ref('loop', (o) => enc.bne(7, 0, o)).emit(enc.ebreak());
      while (a.here < F) a.emit(enc.addi(0, 0, 0));
      if (leaf) a.emit(enc.addi(8, 8, 1), enc.jalr(0, 1, 0)); // a leaf: taken into the caller's region
      else { // a loop inside: left as a region of its own
        a.emit(enc.addi(9, 0, 3)).label('in').emit(enc.addi(8, 8, 1), enc.addi(9, 9, -1)).ref('in', (o) => enc.bne(9, 0, o)).emit(enc.jalr(0, 1, 0));
      }
    };
    for (const leaf of [true, false]) {
      const per: number[] = [];
      let ref: unknown;
      for (const engine of ['js', 'wasm'] as const) {
        const { cpu } = machine(prog(leaf), { engine, regionReformHeat: 32, ...(engine === 'wasm' ? { wasmTierUp: 32 } : {}) });
        cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
        expect(cpu.run(1e6)).toBe('stopped');
        const out = { x8: reg(cpu, 8), instret: cpu.instret, cycles: cpu.cycles };
        if (ref === undefined) ref = out; else expect(out).toEqual(ref);
        expect(out.x8).toBe(BigInt(leaf ? N : 3 * N));
        per.push((cpu.stats.chainHits + cpu.stats.exitsLookup + cpu.stats.hubLookups) / N);
      }
      // a leaf call and its return stay inside the region; a call into a loop leaves it both ways
      for (const p of per) if (leaf) expect(p).toBeLessThan(0.1); else expect(p).toBeGreaterThan(1.5);
    }
  });

  it('a guest rewriting a callee on another page thousands of times (a flood of region invalidations): the same results, and the per-page lists of page-spanning regions stay bounded', () => {
    const N = 3000;
    // loop on page 0: call f (page 1, a small leaf: taken into the loop's region, which then spans
    // both pages), then rewrite f's first instruction (addi x8, x8, k with k = 1 or 2 by turns)
    const prog = (a: Parameters<Parameters<typeof machine>[0]>[0]): void => {
      const F = BASE + 4096;
      a.li(7, N).li(5, F);
      a.label('loop').ref('f', (o) => enc.jal(1, o));
      a.emit(enc.andi(9, 7, 1), enc.addi(9, 9, 1), enc.slli(9, 9, 20), enc.lui(10, 0x40)); // x9 = k << 20
      a.emit(enc.addi(10, 10, 0x413), enc.or(10, 10, 9), enc.sw(10, 5, 0)); // x10 = addi x8, x8, k (0x40413 | k << 20)
      a.emit(enc.addi(7, 7, -1)).ref('loop', (o) => enc.bne(7, 0, o)).emit(enc.ebreak());
      while (a.here < F) a.emit(enc.addi(0, 0, 0));
      a.label('f').emit(enc.addi(8, 8, 1), enc.jalr(0, 1, 0));
    };
    let ref: unknown;
    for (const [engine, maxRegionPages] of [['js', 1], ['js', 8], ['wasm', 8]] as const) {
      const { cpu } = machine(prog, { engine, maxRegionPages, regionReformHeat: 32, ...(engine === 'wasm' ? { wasmTierUp: 32 } : {}) });
      cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
      expect(cpu.run(1e7)).toBe('stopped');
      const out = { x8: reg(cpu, 8), instret: cpu.instret, cycles: cpu.cycles };
      if (ref === undefined) ref = out; else expect(out).toEqual(ref);
      expect(cpu.engineStats().blockInvalidations).toBeGreaterThan(N / 2);
      // dead entries are dropped once a list passes 256 (blockcache.ts compile): 256 + one region's 64 at most
      for (const l of cpu.spanBlocks) if (l !== undefined) expect(l.length).toBeLessThanOrEqual(256 + 64);
      if (maxRegionPages > 1) { // regions did span both pages again and again
        const st = cpu.engineStats();
        expect(st.regionReforms + st.wasmTierUps).toBeGreaterThan(N / 5);
        expect(Array.from(cpu.spanBlocks, (l) => l?.length ?? 0).some((n) => n > 0)).toBe(true);
      }
    }
    // f runs before each rewrite: first with its original +1, then +2 / +1 as the previous pass wrote
    let x8 = 0;
    for (let x7 = N, k = 1; x7 > 0; x7--) { x8 += k; k = (x7 & 1) + 1; }
    expect((ref as { x8: bigint }).x8).toBe(BigInt(x8));
  });
});
