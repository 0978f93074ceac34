// Region shapes the block cache forms since regions follow calls (blockcache.ts formRegion): a
// region of several blocks none of which leads to another (the code after a call whose callee is
// on a page the exec soft-TLB does not map yet, ending in a jump off the region) compiles and
// runs like the same code with regions on one page.
import { describe, expect, it } from 'vitest';
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
});
