// The CPU's one shared state object keeps a stable shape (issue 9 §4): every field exists from the
// constructor on, in one order, and no module adds one later (V8 hidden classes stay the same, so
// generated code and the run loop see monomorphic field access).
import { describe, expect, it } from 'vitest';
import { enc } from './cpu-asm.js';
import { machine, BASE } from './cpu-helpers.js';
import { BareTranslator, createVcpuContext, CSR, Cpu, PhysMemory } from '../src/index.js';

describe('CpuState shape', () => {
  it('no field is added after construction, whatever the modules do', () => {
    const { cpu, mem } = machine((a) => a.emit(
      enc.addi(1, 0, 100), enc.addi(1, 1, -1), enc.sd(1, 2, 0), enc.ld(3, 2, 0), enc.bne(1, 0, -12),
      enc.csrrs(4, CSR.sscratch, 0), enc.wfi(), enc.ebreak(),
    ));
    const keys = Object.keys(cpu);
    cpu.setReg(2, BASE + 0x8000, 0);
    cpu.setTrapHandler(0, (c) => c.stop('trap'));
    cpu.setDebugHooks({ breakpoint: () => false, watch: () => false });
    cpu.setBreakpoints([BASE + 4]);
    cpu.setWatchpoints([{ addr: BASE + 0x8000, len: 8, read: true, write: true }]);
    cpu.run(1000);
    cpu.debugStep();
    const ctx = createVcpuContext();
    cpu.level = 2;
    cpu.saveContext(ctx);
    cpu.loadContext(ctx);
    cpu.writeCsr(CSR.stimecmp, 10);
    cpu.advanceIdle(100);
    cpu.run(10);
    cpu.flushCode();
    cpu.flushTlb();
    mem.writeBytes(BASE, new Uint8Array(4));
    expect(Object.keys(cpu)).toEqual(keys);
    // and two harts, with different options, have the same fields in the same order
    const other = new Cpu(new PhysMemory(BASE, 8192), { variant: 'legacy-silent', translator: new BareTranslator(new PhysMemory(BASE, 8192)), tlbEntries: 64 });
    expect(Object.keys(other)).toEqual(keys);
  });
});
