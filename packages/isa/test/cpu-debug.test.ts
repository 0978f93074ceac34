// Debugger support in the CPU (the gdb stub's engine side): breakpoints that split compiled
// regions, watchpoints through the slow path (stop after the access), debugStep, and a run with
// the hooks but no breakpoints behaving exactly like a plain run.
import { describe, it, expect } from 'vitest';
import { enc } from './cpu-asm.js';
import { BASE, machine } from './cpu-helpers.js';

const DATA = BASE + 0x1000;
/** x7 counts 1..100, each value stored to DATA and loaded back into x8; then ebreak (PL0 stops). */
function loop() {
  const m = machine((a) => {
    a.li(5, DATA).emit(enc.addi(6, 0, 100));
    a.label('loop').emit(enc.addi(7, 7, 1), enc.sd(7, 5, 0), enc.ld(8, 5, 0), enc.addi(6, 6, -1));
    a.ref('loop', (off) => enc.bne(6, 0, off));
    a.emit(enc.ebreak());
  });
  m.cpu.setTrapHandler(0, (c) => c.stop('end'));
  return { ...m, sdPc: m.asm.addr('loop') + 4, ldPc: m.asm.addr('loop') + 8 };
}

describe('cpu debugger support', () => {
  it('a breakpoint inside a compiled loop stops before that instruction every iteration; resuming passes it once', () => {
    const { cpu, ldPc } = loop();
    cpu.setDebugHooks({ breakpoint: () => true, watch: () => true });
    cpu.setBreakpoints([ldPc]);
    for (let i = 1; i <= 3; i++) {
      expect(cpu.run(1e6)).toBe('debug');
      expect(cpu.debugEvent).toBe('break');
      expect(cpu.pc).toBe(ldPc);
      expect(cpu.getReg(7)).toBe(i);
      cpu.debugSkipBreakpoint();
    }
    cpu.setBreakpoints([]);
    expect(cpu.run(1e6)).toBe('stopped');
    expect(cpu.getReg(7)).toBe(100);
  });

  it('write and read watchpoints stop after the access; instret and registers end as in a plain run', () => {
    const plain = loop();
    expect(plain.cpu.run(1e6)).toBe('stopped');
    const { cpu, sdPc, ldPc } = loop();
    cpu.setDebugHooks({ breakpoint: () => true, watch: () => true });
    cpu.setWatchpoints([{ addr: DATA, len: 8, read: false, write: true }]);
    expect(cpu.run(1e6)).toBe('debug');
    expect([cpu.debugEvent, cpu.debugAccess, cpu.debugAddr, cpu.pc]).toEqual(['watch', 'w', DATA, ldPc]);
    expect(cpu.getReg(7)).toBe(1);
    cpu.setWatchpoints([{ addr: DATA + 4, len: 1, read: true, write: false }]);
    expect(cpu.run(1e6)).toBe('debug');
    expect([cpu.debugEvent, cpu.debugAccess, cpu.pc, cpu.getReg(8)]).toEqual(['watch', 'r', ldPc + 4, 1]);
    let hits = 2;
    while (cpu.run(1e6) === 'debug') hits++;
    expect(hits).toBe(101); // one write hit, then a read hit per iteration
    expect(cpu.instret).toBe(plain.cpu.instret);
    expect(cpu.getReg(8)).toBe(100);
    void sdPc;
  });

  it('debugStep executes exactly one instruction; over ecall it returns after the PL0 handler emulated it', () => {
    const m = machine((a) => { a.emit(enc.addi(1, 0, 5), enc.ecall(), enc.addi(2, 0, 6)); });
    m.cpu.setTrapHandler(0, (c) => c.completeEmulated(0));
    expect(m.cpu.debugStep()).toBe('debug');
    expect([m.cpu.pc, m.cpu.getReg(1), m.cpu.instret]).toEqual([BASE + 4, 5, 1]);
    expect(m.cpu.debugStep()).toBe('debug');
    expect([m.cpu.pc, m.cpu.level]).toEqual([BASE + 8, 2]);
    expect(m.cpu.debugStep()).toBe('debug');
    expect(m.cpu.getReg(2)).toBe(6);
  });

  it('the trap hook stops at the PL2 handler entry (catch-traps)', () => {
    const m = machine((a) => { a.emit(enc.ecall()); a.label('h').emit(enc.ebreak()); });
    const { cpu } = m;
    // ecall from PL3 (cause 8) delegated to PL2, whose vector is label h
    cpu.writeCsr(0x302, 1 << 8); cpu.writeCsr(0x602, 1 << 8); cpu.writeCsr(0x105, m.asm.addr('h'));
    cpu.level = 3;
    cpu.setDebugHooks({ breakpoint: () => true, watch: () => true, trap: () => true });
    expect(cpu.run(10)).toBe('debug');
    expect([cpu.debugEvent, cpu.pc, cpu.level]).toEqual(['trap', m.asm.addr('h'), 2]);
  });

  it('hooks without breakpoints: same instret, cycles and TLB statistics as a plain run', () => {
    const a = loop(), b = loop();
    b.cpu.setDebugHooks({ breakpoint: () => true, watch: () => true });
    expect(a.cpu.run(1e6)).toBe('stopped');
    expect(b.cpu.run(1e6)).toBe('stopped');
    expect(b.cpu.engineStats()).toEqual(a.cpu.engineStats());
  });
});
