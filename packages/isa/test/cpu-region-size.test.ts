// Region size: a page of memory-heavy blocks that one region would hold (512 instructions, 64
// blocks) is cut into regions of at most MAX_REGION_SOURCE characters of generated source, so V8
// can optimize each; the cut changes no architectural or simulated count.
import { describe, expect, it } from 'vitest';
import { enc } from './cpu-asm.js';
import { machine, reg, setReg } from './cpu-helpers.js';
import { MAX_REGION_SOURCE } from '../src/cpu/blockcache.js';

/** 60 blocks of 7 loads / stores and a never-taken forward branch, looped `iters` times, then ebreak. */
function program(iters: number) {
  return (a: import('./cpu-asm.js').Asm) => {
    a.emit(enc.addi(8, 0, iters));
    a.label('top');
    for (let b = 0; b < 60; b++) {
      for (let k = 0; k < 7; k++) a.emit(k % 2 ? enc.ld(1 + (k % 7), 9, 8 * ((b + k) % 32)) : enc.sd(1 + (k % 7), 9, 8 * ((b * 3 + k) % 32)));
      a.ref(`b${b + 1}`, (o) => enc.bne(0, 0, o));
      a.label(`b${b + 1}`);
    }
    a.emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
  };
}

describe('region size', () => {
  it(`cuts a region at ${MAX_REGION_SOURCE} characters of source; the same instret, cycles, registers and memory as single-stepping`, () => {
    const bodies: number[] = [];
    const F = globalThis.Function;
    globalThis.Function = new Proxy(F, { construct(t, args) { bodies.push(String(args[args.length - 1]).length); return Reflect.construct(t, args) as object; } });
    try {
      const fast = machine(program(20)), slow = machine(program(20));
      for (const m of [fast, slow]) {
        for (let r = 1; r < 8; r++) setReg(m.cpu, r, BigInt(r * 0x1234567));
        setReg(m.cpu, 9, BigInt(0x8000_0000 + 0x10000));
        m.cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
      }
      slow.cpu.setTrace(() => {});
      expect(fast.cpu.run(1e7)).toBe('stopped');
      expect(slow.cpu.run(1e7)).toBe('stopped');
      expect(fast.cpu.instret).toBe(slow.cpu.instret);
      expect(fast.cpu.cycles).toBe(slow.cpu.cycles);
      expect(fast.cpu.pc).toBe(slow.cpu.pc);
      for (let r = 1; r < 10; r++) expect(reg(fast.cpu, r)).toBe(reg(slow.cpu, r));
      expect(fast.mem.readBytes(0x8000_0000 + 0x10000, 256)).toEqual(slow.mem.readBytes(0x8000_0000 + 0x10000, 256));
    } finally {
      globalThis.Function = F;
    }
    // the js engine builds one function per region (the wasm engine builds none here)
    if (machine(() => {}).cpu.engineStats().engine === 'js') {
      const regions = bodies.filter((n) => n > 1000);
      expect(regions.length).toBeGreaterThan(1); // one region would have held the whole loop body
      const wrapper = 'return function blk(cpu,budget,st){\n};'.length;
      for (const n of regions) expect(n).toBeLessThanOrEqual(MAX_REGION_SOURCE + wrapper);
    }
  });
});
