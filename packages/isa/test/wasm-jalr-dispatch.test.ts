// Engine wasm: an indirect jump (jalr) to a block of its own region continues inside the region
// function (wasmgen.ts goToDynamic) instead of exiting to the hub; a target on another page at the
// same page offset, or not at a block start, still exits. Same instret / cycles / registers as the
// JS engine under any budget split.
import { describe, expect, it } from 'vitest';
import type { Cpu } from '../src/index.js';
import { enc, type Asm } from './cpu-asm.js';
import { BASE, machine, reg } from './cpu-helpers.js';

const ITERS = 3000;

/**
 * loopA (offset 16): x7 += 3, x5--, done when 0; x5 % 4 != 0: jalr back to loopA (in the region);
 * else jalr to loopB at the same offset on the next page (x7 += 2, jal back to loopA).
 */
function program(a: Asm): void {
  a.li(5, ITERS); // 0, 4 (lui, addiw)
  a.emit(enc.auipc(6, 0), enc.addi(6, 6, 8)); // 8, 12: x6 = loopA
  a.label('loopA').emit(enc.addi(7, 7, 3), enc.addi(5, 5, -1)); // 16, 20
  a.label('test').ref('done', (o) => enc.beq(5, 0, o)); // 24
  a.emit(enc.andi(9, 5, 3)).ref('even', (o) => enc.beq(9, 0, o)); // 28, 32
  a.emit(enc.jalr(1, 6, 0)); // 36: to loopA
  a.label('even').emit(enc.lui(8, 1), enc.add(10, 6, 8), enc.jalr(1, 10, 0)); // 40..48: to loopB
  a.label('done').emit(enc.ebreak()); // 52
  while (a.here < BASE + 4096 + 16) a.emit(enc.addi(0, 0, 0));
  a.emit(enc.addi(7, 7, 2)).ref('loopA', (o) => enc.jal(0, o)); // loopB
}

function run(engine: 'js' | 'wasm', chunks: number[]): Cpu {
  // regions on one page: the transitions counted below are those of the page-local dispatch
  // (cpu-region-pages.test.ts covers regions across pages)
  const { cpu } = machine(program, { engine, maxRegionPages: 1, ...(engine === 'wasm' ? { wasmTierUp: 0 } : {}) });
  cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
  for (const n of [...chunks, 1e7]) if (cpu.run(n) === 'stopped') break;
  return cpu;
}

describe('wasm engine: jalr into its own region', () => {
  it('stays in the region for a target block of its page, exits for the same offset on another page; same results as js', () => {
    let x5 = ITERS, x7 = 0;
    for (;;) { x7 += 3; x5--; if (x5 === 0) break; if ((x5 & 3) === 0) x7 += 2; }
    const expected = BigInt(x7);
    for (const chunks of [[], [1, 2, 3, 5, 8, 13], [7, 7, 7, 7, 7, 7, 7, 7, 7, 7], [1000, 1, 999, 17]]) {
      const js = run('js', chunks), wa = run('wasm', chunks);
      expect(reg(js, 7)).toBe(expected);
      for (const r of [1, 5, 6, 7, 9, 10]) expect(reg(wa, r)).toBe(reg(js, r));
      expect(wa.instret).toBe(js.instret);
      expect(wa.cycles).toBe(js.cycles);
      expect(wa.pc).toBe(js.pc);
    }
    // per four passes of loopA: three jalr from loopA to loopA, which stay inside the region
    // function in wasm, one to loopB on the other page and loopB's jal back (region transitions:
    // chained links or lookups), so about 5/4 ITERS transitions in js and ITERS / 2 in wasm
    const js = run('js', []), wa = run('wasm', []);
    const trans = (c: Cpu): number => c.stats.chainHits + c.stats.hubLookups + c.stats.exitsLookup;
    expect(trans(js)).toBeGreaterThanOrEqual(1.2 * ITERS);
    expect(trans(wa)).toBeLessThan(0.55 * ITERS);
    expect(trans(wa)).toBeGreaterThanOrEqual(0.45 * ITERS);
  });
});
