import { describe, expect, it } from 'vitest';
import { enc } from './cpu-asm.js';
import { machine, reg, setReg, BASE } from './cpu-helpers.js';
import { Cpu, CSR, PhysMemory, ISA_VARIANTS } from '../src/index.js';
import type { Asm } from './cpu-asm.js';

const INT = 1n << 63n;
interface Trap { cause: number; isInterrupt: boolean; tval: number; epc: number; level: number; instret: number }

function catchTraps(cpu: Cpu, level: 0 | 1 = 0): Trap[] {
  const traps: Trap[] = [];
  cpu.setTrapHandler(level, (c, cause, isInterrupt, tval, epc) => {
    traps.push({ cause, isInterrupt, tval, epc, level: c.level, instret: c.instret });
    c.stop('trap');
  });
  return traps;
}

/** Machine running `build`'s code at `level`. */
function at(level: number, build: (a: Asm) => void, variant?: string) {
  const m = machine(build, variant ? { variant } : {});
  m.cpu.level = level;
  return m;
}

const csrr = (rd: number, csr: number) => enc.csrrs(rd, csr, 0);
const csrw = (csr: number, rs: number) => enc.csrrw(0, csr, rs);

describe('CSR access rule', () => {
  const cases: Array<[string, number, number, number | null]> = [
    // [what, level, insn, expected cause or null = allowed]
    ['PL3 reads sstatus', 3, csrr(1, CSR.sstatus), 2],
    ['PL3 reads mstatus', 3, csrr(1, CSR.mstatus), 2],
    ['PL2 reads sstatus', 2, csrr(1, CSR.sstatus), null],
    ['PL2 reads p1status', 2, csrr(1, CSR.p1status), 22],
    ['PL2 writes mstatus', 2, csrw(CSR.mstatus, 1), 22],
    ['PL2 reads mhartid', 2, csrr(1, CSR.mhartid), 22],
    ['PL1 reads p1status', 1, csrr(1, CSR.p1status), null],
    ['PL1 reads sepc', 1, csrr(1, CSR.sepc), null],
    ['PL1 reads mstatus', 1, csrr(1, CSR.mstatus), 2],
    ['PL0 reads everything', 0, csrr(1, CSR.p1gatp), null],
    ['PL0 writes mhartid (read-only)', 0, csrw(CSR.mhartid, 1), 2],
    ['PL0 csrrs mhartid with x0 (no write)', 0, enc.csrrs(1, CSR.mhartid, 0), null],
    ['PL0 writes cycle (read-only)', 0, csrw(CSR.cycle, 1), 2],
    ['unknown PL1-range CSR at PL2', 2, csrr(1, 0x6ff), 2],
    ['unknown CSR at PL0', 0, csrr(1, 0x7c0), 2],
    ['rv32-only cycleh at PL0', 0, csrr(1, 0xc80), 2],
    ['PL2 sret is allowed', 2, enc.sret(), null],
    ['PL2 hret', 2, enc.hret(), 22],
    ['PL2 mret', 2, enc.mret(), 22],
    ['PL3 sret', 3, enc.sret(), 2],
    ['PL3 hret', 3, enc.hret(), 2],
    ['PL1 mret', 1, enc.mret(), 2],
    ['PL3 wfi', 3, enc.wfi(), 2],
    ['PL3 sfence.vma', 3, enc.sfencevma(), 2],
  ];
  for (const variant of ISA_VARIANTS) {
    it.each(cases)(`${variant}: %s`, (_what, level, insn, cause) => {
      const { cpu } = at(level, (a) => a.emit(insn, enc.ebreak()), variant);
      cpu.writeCsr(CSR.sepc, BASE + 4);
      cpu.writeCsr(CSR.sstatus, 1 << 8); // sret returns to PL2
      const traps = catchTraps(cpu);
      cpu.run(10);
      const silent = variant === 'legacy-silent' && cause === 22;
      if (cause === null || silent) {
        expect(traps[0]?.cause).toBe(3); // reached the ebreak
        expect(traps[0]!.epc).toBe(BASE + 4);
      } else {
        expect(traps[0]).toMatchObject({ cause, tval: insn, epc: BASE, instret: 0 });
      }
    });
  }
});

describe('legacy-silent', () => {
  it('PL2 reads the real PL0/PL1 register and its writes are dropped', () => {
    for (const variant of ISA_VARIANTS) {
      const { cpu } = at(2, (a) => a.emit(csrr(1, CSR.mscratch), enc.addi(2, 0, 77), csrw(CSR.mscratch, 2), csrr(3, CSR.p1scratch), enc.ebreak()), variant);
      cpu.writeCsr(CSR.mscratch, 1234);
      cpu.writeCsr(CSR.p1scratch, 99);
      const traps = catchTraps(cpu);
      cpu.run(10);
      if (variant === 'legacy-silent') {
        expect(traps[0]!.cause).toBe(3);
        expect(reg(cpu, 1)).toBe(1234n);
        expect(cpu.readCsr(CSR.mscratch)).toBe(1234);
        expect(reg(cpu, 3)).toBe(99n);
      } else {
        expect(traps[0]).toMatchObject({ cause: 22, epc: BASE });
      }
    }
  });
  it('hret/mret at PL2 are no-ops and wfi under TW does not stall', () => {
    const { cpu } = at(2, (a) => a.emit(enc.hret(), enc.mret(), enc.wfi(), enc.addi(1, 0, 5), enc.ebreak()), 'legacy-silent');
    cpu.writeCsr(CSR.mstatus, 1 << 21);
    const traps = catchTraps(cpu);
    expect(cpu.run(10)).toBe('stopped');
    expect(traps[0]!.cause).toBe(3);
    expect(reg(cpu, 1)).toBe(5n);
    expect(cpu.instret).toBe(4);
  });
  it('an unknown variant is an error naming the known ones', () => {
    expect(() => new Cpu(new PhysMemory(BASE, 4096), { variant: 'vt-x' })).toThrow(/tachy-v1, legacy-silent/);
  });
});

describe('counters', () => {
  it('cycle/time/instret follow the counter-enable chain', () => {
    const tryRead = (level: number, m: number, p1: number, s: number, csr: number) => {
      const { cpu } = at(level, (a) => a.emit(enc.addi(5, 0, 1), csrr(1, csr), enc.ebreak()));
      cpu.writeCsr(CSR.mcounteren, m); cpu.writeCsr(CSR.p1counteren, p1); cpu.writeCsr(CSR.scounteren, s);
      const traps = catchTraps(cpu);
      cpu.run(10);
      return { cause: traps[0]!.cause, value: reg(cpu, 1) };
    };
    expect(tryRead(3, 7, 7, 7, CSR.instret)).toEqual({ cause: 3, value: 1n });
    expect(tryRead(3, 7, 7, 3, CSR.instret).cause).toBe(2);
    expect(tryRead(2, 7, 7, 0, CSR.instret).cause).toBe(3);
    expect(tryRead(2, 7, 5, 7, CSR.time).cause).toBe(22);
    expect(tryRead(2, 6, 7, 7, CSR.cycle).cause).toBe(22);
    expect(tryRead(1, 6, 0, 0, CSR.cycle).cause).toBe(2);
    expect(tryRead(1, 1, 0, 0, CSR.cycle).cause).toBe(3);
    expect(tryRead(0, 0, 0, 0, CSR.cycle).cause).toBe(3);
  });
  it('time counts ns from cycles at freqHz; PL2 sees time + p1timedelta', () => {
    const { cpu } = at(2, (a) => a.emit(enc.addi(5, 0, 1), enc.addi(5, 0, 1), csrr(1, CSR.time), csrr(2, CSR.cycle), enc.ebreak()));
    cpu.writeCsr(CSR.mcounteren, 7); cpu.writeCsr(CSR.p1counteren, 7);
    cpu.writeCsr(CSR.p1timedelta, 1_000_000);
    catchTraps(cpu);
    cpu.run(10);
    expect(reg(cpu, 1)).toBe(1_000_002n); // two 1-cycle addi (1 GHz: 1 ns each), read before the csrr retires
    expect(reg(cpu, 2)).toBe(4n); // + the 2-cycle csrr of time
  });
});

describe('trap routing and entry', () => {
  it('ecall cause depends on the level (8..11) and targets PL0 without delegation', () => {
    for (const level of [3, 2, 1, 0]) {
      const { cpu } = at(level, (a) => a.emit(enc.ecall()));
      const traps = catchTraps(cpu);
      cpu.run(5);
      expect(traps[0]).toMatchObject({ cause: 11 - level, level: 0, tval: 0, epc: BASE, instret: 0 });
      expect((cpu.readCsr(CSR.mstatus) >> 11) & 3).toBe(level);
    }
  });

  it('with medeleg and p1edeleg a PL3 trap goes straight to PL2 stvec', () => {
    const { cpu, mem } = at(3, (a) => a.emit(enc.addi(1, 0, 1), enc.ecall()));
    mem.writeU32(BASE + 0x400, enc.addi(0, 0, 0));
    cpu.writeCsr(CSR.medeleg, 1 << 8); cpu.writeCsr(CSR.p1edeleg, 1 << 8);
    cpu.writeCsr(CSR.stvec, BASE + 0x400);
    cpu.writeCsr(CSR.sstatus, 0x2 | 0x100); // SIE = 1, SPP = 1 (to see them change)
    const t0 = catchTraps(cpu, 0), t1 = catchTraps(cpu, 1);
    cpu.run(2); // addi, ecall (traps, does not retire), the nop at stvec
    expect(cpu.level).toBe(2);
    expect(cpu.pc).toBe(BASE + 0x404);
    expect(cpu.readCsr(CSR.scause)).toBe(8);
    expect(cpu.readCsr(CSR.sepc)).toBe(BASE + 4);
    expect(cpu.readCsr(CSR.stval)).toBe(0);
    const ss = cpu.readCsr(CSR.sstatus);
    expect(ss & 0x2).toBe(0); // SIE cleared
    expect(ss & 0x20).toBe(0x20); // SPIE = old SIE
    expect(ss & 0x100).toBe(0); // SPP = PL3
    expect(cpu.readCsrHi(CSR.sstatus)).toBe(2); // UXL
    expect(t0).toEqual([]); expect(t1).toEqual([]);
  });

  it('with medeleg only, a PL3 trap goes to PL1; a PL1 trap never goes to PL2', () => {
    const { cpu } = at(3, (a) => a.emit(enc.ecall()));
    cpu.writeCsr(CSR.medeleg, 1 << 8);
    const t1 = catchTraps(cpu, 1);
    cpu.run(1);
    expect(t1[0]).toMatchObject({ cause: 8, level: 1, epc: BASE });
    expect((cpu.readCsr(CSR.p1status) >> 11) & 3).toBe(3);
    expect(cpu.readCsr(CSR.p1cause)).toBe(8);

    const m2 = at(1, (a) => a.emit(csrr(1, CSR.mstatus)));
    m2.cpu.writeCsr(CSR.medeleg, 1 << 2); m2.cpu.writeCsr(CSR.p1edeleg, 1 << 2);
    const u1 = catchTraps(m2.cpu, 1);
    m2.cpu.run(1);
    expect(u1[0]).toMatchObject({ cause: 2, level: 1 });
    expect((m2.cpu.readCsr(CSR.p1status) >> 11) & 3).toBe(1);
  });

  it('a PL2 trap delegated by medeleg only goes to PL1, by both to PL2 (SPP = 1)', () => {
    const m1 = at(2, (a) => a.emit(enc.ebreak()));
    m1.cpu.writeCsr(CSR.medeleg, 1 << 3);
    const t1 = catchTraps(m1.cpu, 1);
    m1.cpu.run(1);
    expect(t1[0]).toMatchObject({ cause: 3, level: 1 });
    expect((m1.cpu.readCsr(CSR.p1status) >> 11) & 3).toBe(2);

    const { cpu, mem } = at(2, (a) => a.emit(enc.ebreak()));
    mem.writeU32(BASE + 0x100, enc.addi(0, 0, 0));
    cpu.writeCsr(CSR.medeleg, 1 << 3); cpu.writeCsr(CSR.p1edeleg, 1 << 3);
    cpu.writeCsr(CSR.stvec, BASE + 0x100);
    cpu.run(1);
    expect(cpu.level).toBe(2);
    expect(cpu.pc).toBe(BASE + 0x104);
    expect(cpu.readCsr(CSR.sstatus) & 0x100).toBe(0x100);
    expect(cpu.readCsr(CSR.scause)).toBe(3);
  });

  it('sret / hret / mret restore level, enable and PC', () => {
    // PL0 code: mret to PL1 at 0x100; PL1: hret to PL3 at 0x200; PL3: ecall delegated to PL2 at 0x300; PL2: sret
    const { cpu, mem } = at(0, (a) => a.emit(enc.mret()));
    mem.writeU32(BASE + 0x100, enc.hret());
    mem.writeU32(BASE + 0x200, enc.ecall());
    mem.writeU32(BASE + 0x300, enc.sret());
    cpu.writeCsr(CSR.mepc, BASE + 0x100);
    cpu.writeCsr(CSR.mstatus, (1 << 11) | (1 << 7)); // PPL = 1, PIE = 1
    cpu.writeCsr(CSR.p1epc, BASE + 0x200);
    cpu.writeCsr(CSR.p1status, (3 << 11)); // PPL = 3, PIE = 0
    cpu.writeCsr(CSR.medeleg, 1 << 8); cpu.writeCsr(CSR.p1edeleg, 1 << 8);
    cpu.writeCsr(CSR.stvec, BASE + 0x300);
    cpu.run(1);
    expect(cpu.level).toBe(1);
    expect(cpu.pc).toBe(BASE + 0x100);
    expect(cpu.readCsr(CSR.mstatus)).toBe((1 << 3) | (1 << 7) | (3 << 11)); // IE = PIE, PIE = 1, PPL = 3
    cpu.run(1);
    expect(cpu.level).toBe(3);
    expect(cpu.pc).toBe(BASE + 0x200);
    expect(cpu.readCsr(CSR.p1status) & (1 << 3)).toBe(0);
    cpu.run(1); // ecall traps to PL2 (no retire), then sret retires
    expect(cpu.level).toBe(3);
    expect(cpu.pc).toBe(BASE + 0x200); // sepc = the ecall (the kernel did not advance it)
    expect(cpu.instret).toBe(3);
  });

  it('epc is WARL 4-byte aligned and tvec mode bit 1 reads 0', () => {
    const { cpu } = at(0, () => {});
    cpu.writeCsr(CSR.sepc, BASE + 7);
    expect(cpu.readCsr(CSR.sepc)).toBe(BASE + 4);
    cpu.writeCsr(CSR.mtvec, BASE + 3);
    expect(cpu.readCsr(CSR.mtvec)).toBe(BASE + 1);
  });

  it('satp ignores writes with an unsupported MODE', () => {
    const { cpu } = at(0, () => {});
    cpu.writeCsr(CSR.satp, 0x1234, 0);
    cpu.writeCsr(CSR.satp, 0x5678, 9 << 28); // Sv48
    expect(cpu.readCsr(CSR.satp)).toBe(0x1234);
  });

  it('mhartid is the configured hart id', () => {
    const cpu = new Cpu(new PhysMemory(BASE, 4096), { hartId: 3 });
    expect(cpu.readCsr(CSR.mhartid)).toBe(3);
  });
});

describe('TypeScript trap handlers', () => {
  it('completeEmulated retires the trapped instruction once and resumes after it', () => {
    const { cpu } = at(2, (a) => a.emit(enc.addi(10, 0, 5), enc.ecall(), enc.addi(11, 10, 1), enc.ebreak()));
    const seen: number[] = [];
    cpu.setTrapHandler(0, (c, cause) => {
      seen.push(cause);
      if (cause === 9) { c.setRegNumber(10, c.getReg(10) * 2); c.completeEmulated(0); } else c.stop('done');
    });
    expect(cpu.run(100)).toBe('stopped');
    expect(cpu.stopReason).toBe('done');
    expect(seen).toEqual([9, 3]);
    expect(reg(cpu, 11)).toBe(11n);
    expect(cpu.instret).toBe(3);
    expect(cpu.level).toBe(0);
  });

  it('injectTrap reflects a trap into PL2 like a hardware trap from the original level', () => {
    const { cpu, mem } = at(2, (a) => a.emit(enc.addi(1, 0, 1), csrr(5, CSR.mstatus)));
    mem.writeU32(BASE + 0x500, enc.ebreak());
    cpu.writeCsr(CSR.stvec, BASE + 0x500);
    cpu.writeCsr(CSR.sstatus, 0x2);
    cpu.setTrapHandler(0, (c, cause, isInt, tval, epc) => {
      if (cause === 22) c.injectTrap(2, cause, tval, epc);
      else c.stop('ebreak');
    });
    cpu.run(100);
    expect(cpu.readCsr(CSR.scause)).toBe(22);
    expect(cpu.readCsr(CSR.stval)).toBe(csrr(5, CSR.mstatus));
    expect(cpu.readCsr(CSR.sepc)).toBe(BASE + 4);
    const ss = cpu.readCsr(CSR.sstatus);
    expect(ss & 0x100).toBe(0x100); // SPP: came from PL2
    expect(ss & 0x22).toBe(0x20); // SIE -> SPIE
    expect(cpu.instret).toBe(1);
    expect(cpu.readCsr(CSR.mcause)).toBe(3); // then the ebreak at stvec went to PL0
  });

  it('without a handler the CPU jumps to the level\'s tvec', () => {
    const { cpu, mem } = at(2, (a) => a.emit(enc.ecall()));
    mem.writeU32(BASE + 0x600, enc.addi(7, 0, 42));
    cpu.writeCsr(CSR.mtvec, BASE + 0x600);
    cpu.run(1);
    expect(cpu.level).toBe(0);
    expect(reg(cpu, 7)).toBe(42n);
  });

  it('a trap storm with no progress ends the run as trap-loop, not a hang', () => {
    const { cpu } = at(2, (a) => a.emit(enc.ecall()));
    cpu.writeCsr(CSR.mtvec, 0x10); // outside RAM: every fetch faults
    expect(cpu.run(1000)).toBe('trap-loop');
  });
});

describe('interrupts', () => {
  function timerGuest(delegate: boolean) {
    const m = at(2, (a) => {
      a.label('loop').emit(enc.addi(10, 10, 1)).ref('loop', (o) => enc.jal(0, o));
    });
    const { cpu, mem } = m;
    mem.writeU32(BASE + 0x700, enc.ebreak());
    if (delegate) { cpu.writeCsr(CSR.mideleg, 1 << 5); cpu.writeCsr(CSR.p1ideleg, 1 << 5); cpu.writeCsr(CSR.sie, 1 << 5); }
    else cpu.writeCsr(CSR.mie, 1 << 5);
    cpu.writeCsr(CSR.stvec, BASE + 0x700);
    cpu.writeCsr(CSR.sstatus, 0x2);
    cpu.writeCsr(CSR.stimecmp, 1000);
    return m;
  }

  it('the PL2 timer fires when time reaches stimecmp, delegated straight to PL2', () => {
    const { cpu } = timerGuest(true);
    const traps = catchTraps(cpu);
    cpu.run(1e6);
    expect(cpu.readCsr(CSR.scause)).toBe(-(2 ** 63) + 5); // interrupt bit + 5 (as a signed number)
    expect(BigInt.asUintN(64, BigInt(cpu.readCsrHi(CSR.scause)) << 32n) | BigInt(cpu.readCsrLo(CSR.scause))).toBe(INT | 5n);
    expect(cpu.timeNs()).toBeGreaterThanOrEqual(1000);
    expect(cpu.timeNs()).toBeLessThan(1100);
    expect(traps[0]).toMatchObject({ cause: 3 }); // the handler's ebreak reached PL0
    const sepc = cpu.readCsr(CSR.sepc);
    expect([BASE, BASE + 4]).toContain(sepc); // the next unexecuted instruction of the loop
    expect(cpu.readCsr(CSR.sip) & 0x20).toBe(0x20);
    expect(cpu.stats.interrupts[5]).toBe(1);
  });

  it('STIP clears when stimecmp is rewritten, and p1timedelta shifts the deadline', () => {
    const { cpu } = timerGuest(true);
    cpu.writeCsr(CSR.sstatus, 0);
    cpu.run(2000);
    expect(cpu.readCsr(CSR.sip) & 0x20).toBe(0x20);
    cpu.writeCsr(CSR.stimecmp, 10_000);
    expect(cpu.readCsr(CSR.sip) & 0x20).toBe(0);
    cpu.writeCsr(CSR.p1timedelta, 9_000); // time seen by PL2 is now ~11000 >= 10000
    expect(cpu.readCsr(CSR.sip) & 0x20).toBe(0x20);
  });

  it('a PL2 interrupt without delegation goes to PL0 if mie enables it', () => {
    const { cpu } = timerGuest(false);
    const traps = catchTraps(cpu);
    cpu.run(1e6);
    expect(traps[0]).toMatchObject({ cause: 5, isInterrupt: true, level: 0 });
  });

  it('is not taken while running at a more privileged level than its target, nor with IE clear at the target level', () => {
    const { cpu } = timerGuest(true);
    cpu.level = 1;
    cpu.run(5000);
    expect(cpu.level).toBe(1);
    expect(cpu.stats.interrupts[5]).toBe(0);
    const m2 = timerGuest(true);
    m2.cpu.writeCsr(CSR.sstatus, 0);
    m2.cpu.run(5000);
    expect(m2.cpu.stats.interrupts[5]).toBe(0);
    m2.cpu.level = 3; // at a less privileged level the global enable does not matter
    m2.cpu.run(0);
    expect(m2.cpu.stats.interrupts[5]).toBe(1);
    expect(m2.cpu.level).toBe(2);
  });

  it('priority: more privileged target first; within a level external, software, timer', () => {
    const { cpu } = at(3, (a) => a.emit(enc.addi(0, 0, 0)));
    cpu.writeCsr(CSR.mideleg, 0x666); cpu.writeCsr(CSR.p1ideleg, 0x222);
    cpu.writeCsr(CSR.sie, 0x222); cpu.writeCsr(CSR.p1ie, 0x666); cpu.writeCsr(CSR.mie, 0xeee);
    cpu.writeCsr(CSR.stimecmp, 0);
    cpu.writeCsr(CSR.sip, 2);
    cpu.setExternalInterrupt(2, true);
    cpu.setInterruptPending(6, true); // PL1 timer
    const order: string[] = [];
    const rec = (c: Cpu, cause: number, isInt: boolean) => { order.push(`${c.level}:${cause}`); c.returnFromTrap(c.level as 0 | 1); };
    cpu.setTrapHandler(1, (c, cause, isInt) => { rec(c, cause, isInt); c.setInterruptPending(6, false); });
    // PL2 handler is real code: sret back after clearing the source
    const p = BASE + 0x800;
    cpu.mem.writeU32(p, enc.ebreak());
    cpu.writeCsr(CSR.stvec, p);
    cpu.setTrapHandler(0, (c, cause, isInt) => {
      // the PL2 handler executed ebreak: record the PL2 interrupt it was entered for, clear it, sret
      order.push(`2:${c.readCsrLo(CSR.scause)}`);
      const code = c.readCsrLo(CSR.scause);
      if (code === 9) c.setExternalInterrupt(2, false);
      if (code === 1) c.writeCsr(CSR.sip, 0);
      if (code === 5) c.writeCsr(CSR.stimecmp, -1, -1);
      c.writeCsr(CSR.sstatus, c.readCsr(CSR.sstatus) & ~0x100); // SPP = PL3
      c.returnFromTrap(0);
      c.pc = c.readCsr(CSR.sepc); c.level = 3;
    });
    cpu.run(1); // interrupts are taken before the one instruction retires
    expect(order).toEqual(['1:6', '2:9', '2:1', '2:5']);
    expect(cpu.instret).toBe(1);
  });

  it('vectored tvec sends interrupts to BASE + 4 * code', () => {
    const { cpu } = timerGuest(true);
    cpu.writeCsr(CSR.stvec, BASE + 0x700 - 20 + 1);
    catchTraps(cpu);
    cpu.run(1e6);
    expect(cpu.readCsr(CSR.sepc) >= BASE).toBe(true);
    expect(cpu.readCsr(CSR.mepc)).toBe(BASE + 0x700); // ebreak at BASE + 0x6ec + 4*5
  });
});

describe('wfi', () => {
  function wfiGuest(opts: { idle?: 'return' | 'advance'; timer?: number; tw?: number } = {}) {
    const m = machine((a) => a.emit(enc.wfi(), enc.addi(1, 0, 1), enc.ebreak()), { idle: opts.idle });
    m.cpu.level = 2;
    m.cpu.writeCsr(CSR.sie, 1 << 5);
    m.cpu.writeCsr(CSR.mideleg, 1 << 5); m.cpu.writeCsr(CSR.p1ideleg, 1 << 5);
    if (opts.timer !== undefined) m.cpu.writeCsr(CSR.stimecmp, opts.timer);
    if (opts.tw) m.cpu.writeCsr(opts.tw, 1 << 21);
    return m;
  }
  it('stalls until the timer: run returns idle with the wake time; after advanceIdle it continues', () => {
    const { cpu } = wfiGuest({ timer: 50_000 });
    const traps = catchTraps(cpu);
    expect(cpu.run(100)).toBe('idle');
    expect(cpu.instret).toBe(1);
    expect(cpu.isWaiting).toBe(true);
    expect(cpu.nextWakeNs()).toBe(50_000);
    expect(cpu.run(100)).toBe('idle');
    cpu.idleUntil(cpu.nextWakeNs());
    expect(cpu.run(100)).toBe('stopped'); // SIE = 0: no trap, execution continues after wfi
    expect(traps[0]!.cause).toBe(3);
    expect(reg(cpu, 1)).toBe(1n);
    expect(cpu.timeNs()).toBeGreaterThanOrEqual(50_000);
  });
  it("with idle: 'advance' the CPU moves time itself", () => {
    const { cpu } = wfiGuest({ timer: 50_000, idle: 'advance' });
    catchTraps(cpu);
    expect(cpu.run(100)).toBe('stopped');
    expect(cpu.timeNs()).toBe(50_000 + 1 + 2 + 20); // idle until 50000, addi, ebreak + trap entry
  });
  it('a wfi nothing can wake is a deadlock', () => {
    const { cpu } = wfiGuest();
    expect(cpu.run(100)).toBe('deadlock');
    const m2 = wfiGuest({ timer: 10 });
    m2.cpu.writeCsr(CSR.sie, 0); // timer armed but not enabled anywhere
    expect(m2.cpu.run(100)).toBe('deadlock');
  });
  it('with platformInterrupts a wfi with no timer is idle with nextWakeNs = Infinity', () => {
    const m = machine((a) => a.emit(enc.wfi(), enc.ebreak()), { platformInterrupts: true });
    m.cpu.writeCsr(CSR.mie, 1 << 11);
    expect(m.cpu.run(10)).toBe('idle');
    expect(m.cpu.nextWakeNs()).toBe(Infinity);
    m.cpu.setExternalInterrupt(0, true);
    const traps = catchTraps(m.cpu);
    expect(m.cpu.run(10)).toBe('stopped');
    expect(traps[0]).toMatchObject({ cause: 11, isInterrupt: true, epc: BASE + 4 }); // PL0 IE irrelevant: PL2 < PL0
  });
  it('TW makes wfi at PL2 trap with cause 22 to the level that set it', () => {
    for (const [tw, level] of [[CSR.mstatus, 0], [CSR.p1status, 1]] as const) {
      const { cpu } = wfiGuest({ tw });
      cpu.writeCsr(CSR.medeleg, 1 << 22); // would send cause 22 to PL1 by delegation
      const traps = [...catchTraps(cpu, 0), ...catchTraps(cpu, 1)];
      const t0 = catchTraps(cpu, 0), t1 = catchTraps(cpu, 1);
      cpu.run(10);
      const t = level === 0 ? t0 : t1;
      expect(t[0]).toMatchObject({ cause: 22, level, epc: BASE, tval: enc.wfi() });
      void traps;
    }
  });
});

describe('exact instruction accounting', () => {
  it('run(n) stops after exactly n retired instructions in loops, across blocks and self-loops', () => {
    const build = (a: Asm) => {
      a.li(5, 1000);
      a.label('outer').emit(enc.addi(6, 0, 7));
      a.label('inner').emit(enc.addi(10, 10, 1), enc.addi(6, 6, -1)).ref('inner', (o) => enc.bne(6, 0, o));
      a.emit(enc.addi(5, 5, -1)).ref('outer', (o) => enc.bne(5, 0, o)).emit(enc.ebreak());
    };
    const ref = machine(build);
    ref.cpu.setTrace(() => {});
    const { cpu } = machine(build);
    let total = 0;
    for (const n of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 1, 1, 1, 377, 610, 987]) {
      expect(cpu.run(n)).toBe('budget');
      total += n;
      expect(cpu.instret).toBe(total);
      ref.cpu.run(n);
      expect(cpu.pc).toBe(ref.cpu.pc);
      for (let r = 1; r < 11; r++) expect(reg(cpu, r)).toBe(reg(ref.cpu, r));
      expect(cpu.cycles).toBe(ref.cpu.cycles);
    }
  });

  it('instret is exact at a fault in the middle of a block and the cycle count matches single-stepping', () => {
    const build = (a: Asm) => a.emit(enc.addi(1, 0, 1), enc.mul(2, 1, 1), enc.addi(3, 0, 3), enc.ld(4, 0, 0), enc.addi(5, 0, 5));
    const a1 = machine(build), a2 = machine(build);
    const t1 = catchTraps(a1.cpu), t2 = catchTraps(a2.cpu);
    a2.cpu.setTrace(() => {});
    a1.cpu.run(100); a2.cpu.run(100);
    expect(t1[0]).toMatchObject({ cause: 5, instret: 3, epc: BASE + 12 });
    expect(t2[0]).toEqual(t1[0]);
    expect(a1.cpu.cycles).toBe(a2.cpu.cycles);
    expect(reg(a1.cpu, 5)).toBe(0n);
  });

  it('the trace hook sees every instruction with pc, bits and level', () => {
    const { cpu } = at(2, (a) => a.emit(enc.addi(1, 0, 1), enc.addi(2, 0, 2), enc.ecall()));
    cpu.setTrapHandler(0, (c) => c.completeEmulated(0));
    const seen: Array<[number, number, number]> = [];
    cpu.setTrace((pc, insn, level) => seen.push([pc, insn, level]));
    cpu.run(3);
    expect(seen).toEqual([[BASE, enc.addi(1, 0, 1), 2], [BASE + 4, enc.addi(2, 0, 2), 2], [BASE + 8, enc.ecall(), 2]]);
    expect(cpu.instret).toBe(3);
  });

  it('a long self-loop still takes a timer interrupt on time', () => {
    const { cpu } = at(2, (a) => a.label('l').emit(enc.addi(10, 10, 1)).ref('l', (o) => enc.jal(0, o)));
    cpu.writeCsr(CSR.mie, 1 << 5);
    cpu.writeCsr(CSR.stimecmp, 100_000);
    const traps = catchTraps(cpu);
    cpu.run(1e9);
    expect(traps[0]).toMatchObject({ cause: 5, isInterrupt: true });
    expect(cpu.instret).toBeLessThan(100_000);
    expect(cpu.timeNs()).toBeGreaterThanOrEqual(100_000);
    expect(cpu.timeNs()).toBeLessThan(100_000 + 64 * 4 + 20);
  });
});

describe('registers from TypeScript', () => {
  it('getReg is exact below 2^53 and setReg/setRegNumber round-trip', () => {
    const { cpu } = at(2, () => {});
    cpu.setRegNumber(5, -(2 ** 53) + 1);
    expect(cpu.getReg(5)).toBe(-(2 ** 53) + 1);
    cpu.setRegNumber(6, 2 ** 52 + 7);
    expect(cpu.getReg(6)).toBe(2 ** 52 + 7);
    cpu.setReg(7, -1, 0x7fffffff);
    expect(reg(cpu, 7)).toBe(0x7fffffffffffffffn);
    cpu.setRegNumber(0, 5);
    expect(cpu.getReg(0)).toBe(0);
    setReg(cpu, 8, 0xffffffffffffffffn);
    expect(cpu.getReg(8)).toBe(-1);
    expect(cpu.getRegU(8)).toBe(2 ** 64);
  });
});

describe('illegal instructions', () => {
  it.each([0x00000000, 0xffffffff, 0x02000053 /* fadd.s */, 0x0000_2063 /* bad branch */])('0x%s raises cause 2 with tval = the bits', (w) => {
    const { cpu, mem } = at(2, (a) => a.emit(enc.addi(1, 0, 1)));
    mem.writeU32(BASE + 4, w);
    const traps = catchTraps(cpu);
    cpu.run(10);
    expect(traps[0]).toMatchObject({ cause: 2, tval: w >>> 0, epc: BASE + 4, instret: 1 });
    expect(cpu.readCsrHi(CSR.mtval)).toBe(0);
  });
});

describe('pluggable translation', () => {
  it('uses the translator on TLB misses, caches pages until flushTlb, and reports its faults', async () => {
    const { Access } = await import('../src/index.js');
    const VA = 0x4000_0000;
    let target = 0x10000; // host offset the VA page maps to
    let calls = 0;
    const translator = {
      faultGpaLo: 0, faultGpaHi: 0,
      translate(lo: number, hi: number, access: number, _level: number): number {
        calls++;
        const va = hi * 2 ** 32 + (lo >>> 0);
        if (va >= VA && va < VA + 4096) return target + (va - VA);
        if (va >= VA + 4096 && va < VA + 8192) { this.faultGpaLo = 0x1234; this.faultGpaHi = 0; return access === Access.WRITE ? -23 : -21; }
        if (va >= VA + 8192 && va < VA + 12288) return -13;
        return va >= BASE && va < BASE + (1 << 20) ? va - BASE : -(access === Access.READ ? 5 : access === Access.WRITE ? 7 : 1);
      },
    };
    const { cpu, mem } = machine((a) => {
      a.li(1, VA).li(6, VA + 4096).emit(enc.ld(2, 1, 8), enc.ld(3, 1, 16), enc.ld(7, 1, 8), enc.sfencevma(), enc.ld(4, 1, 8), enc.lw(5, 6, 0));
    }, { translator });
    mem.writeU64(BASE + 0x10008, 11); mem.writeU64(BASE + 0x10010, 22);
    mem.writeU64(BASE + 0x20008, 33);
    const traps = catchTraps(cpu);
    // step; just before the sfence.vma executes, remap the page (the TLB still holds the old one)
    let steps = 0;
    while (cpu.readCsr(CSR.mcause) === 0 && steps < 50 && traps.length === 0) {
      if (mem.readU32(cpu.pc) === enc.ld(7, 1, 8)) target = 0x20000;
      cpu.run(1); steps++;
    }
    expect(reg(cpu, 2)).toBe(11n);
    expect(reg(cpu, 3)).toBe(22n);
    expect(reg(cpu, 7)).toBe(11n); // remapped, but the TLB still holds the old page
    expect(reg(cpu, 4)).toBe(33n); // new mapping after the flush
    expect(traps[0]).toMatchObject({ cause: 21, tval: VA + 4096 });
    expect(cpu.readCsr(CSR.p1tval2)).toBe(0x1234);
    expect(calls).toBeGreaterThan(0);
    expect(cpu.stats.tlbFlushes).toBe(1);
  });
});
