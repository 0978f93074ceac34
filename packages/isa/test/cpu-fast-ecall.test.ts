// The PL1 hypercall fast path (Cpu.setFastEcall, FastEcallHandler): an ecall from PL2 that a
// TypeScript handler completes without the architectural trap to PL1 and back leaves the hart
// exactly as the trap path does (PL1 CsrTrapHandler + completeEmulated(1) / restartTrapped(1)):
// registers, pc, level, every CSR, instret, cycles (the same floating-point sums), exception and
// interrupt counts, the trap-storm count, the LR reservation, and what happens next - interrupts
// raised by the call and taken right after it, a timer firing at any point, continuations, stops
// - whole, in slices, traced, single-stepped, and with the fast path declining some calls.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CSR, type Cpu } from '../src/index.js';
import { enc, type Asm } from './cpu-asm.js';
import { BASE, machine } from './cpu-helpers.js';

const A0 = 10, A1 = 11, A7 = 17, T0 = 5, T1 = 6, T2 = 7, T3 = 28, T4 = 29, T5 = 30, T6 = 31, S0 = 8, S1 = 9, S2 = 18, S3 = 19;
const SIE = 1 << 1; // sstatus.SIE
const SEI = 9, STI = 5; // PL2 external / timer interrupt codes

/**
 * The guest (PL2): `n` rounds of: lr.d (a reservation the ecall drops), hypercall 40 (a0 = a0 * 3
 * + 7, after a1 continuations), sc.d (fails), every 16th round hypercall 41 (raises the PL2
 * external interrupt line: the guest's handler takes it right after the call and lowers it with
 * hypercall 43), hypercall 42 (stops the run every 37th round); then ebreak. Its trap handler also
 * takes a timer interrupt (disarms it: stimecmp = -1).
 */
function guest(n: number) {
  return (a: Asm) => {
    a.li(S0, n);
    a.emit(enc.addi(S1, 0, 0), enc.addi(S3, 0, 0));
    a.li(S2, BASE + 0x8000); // a data word for lr / sc
    a.label('top');
    a.emit(enc.andi(A1, S0, 3), enc.addi(A0, S0, 0), enc.addi(A7, 0, 40), enc.lrd(T0, S2), enc.ecall(), enc.scd(T1, S2, S1),
      enc.add(S1, S1, A0), enc.add(S1, S1, T1), enc.andi(T2, S0, 15));
    a.ref('skip', (off) => enc.bne(T2, 0, off));
    a.emit(enc.addi(A7, 0, 41), enc.ecall());
    a.label('skip');
    a.emit(enc.addi(A0, S0, 0), enc.addi(A7, 0, 42), enc.ecall(), enc.addi(S0, S0, -1));
    a.ref('top', (off) => enc.bne(S0, 0, off));
    a.emit(enc.ebreak());
    // the PL2 trap handler (uses t3..t6 only, but for the external interrupt, which arrives right
    // after hypercall 41, before anything reads a0 / a7 again)
    a.label('irq');
    a.emit(enc.csrrs(T3, CSR.scause, 0), enc.addi(S3, S3, 1), enc.andi(T5, T3, 0xff), enc.addi(T6, 0, STI));
    a.ref('ext', (off) => enc.bne(T5, T6, off));
    a.emit(enc.addi(T4, 0, -1), enc.csrrw(0, CSR.stimecmp, T4));
    a.ref('out', (off) => enc.jal(0, off));
    a.label('ext');
    a.emit(enc.addi(A7, 0, 43), enc.ecall());
    a.label('out');
    a.emit(enc.sret());
  };
}

interface Run { log: string[]; fastCalls: number; slowEcalls: number; reasons: string[]; states: Record<string, unknown>[]; state: Record<string, unknown> }

/**
 * Runs the guest to its ebreak with the hypercalls served by the PL1 trap handler (`fast` false)
 * or by the fast path (declining the calls `declines` picks). `mode`: run(slice) in a loop,
 * traced, or debugStep (with interrupts).
 */
function go(n: number, fast: boolean, opts: { slice?: number; traced?: boolean; step?: boolean; timerNs?: number; declines?: (nr: number, a0: number) => boolean } = {}): Run {
  const { cpu, asm } = machine(guest(n), { memSize: 1 << 16 });
  cpu.level = 2;
  cpu.writeCsr(CSR.stvec, asm.addr('irq'));
  cpu.writeCsr(CSR.medeleg, (1 << 9) | (1 << 3)); // ecall from PL2 and ebreak to PL1
  cpu.writeCsr(CSR.mideleg, (1 << SEI) | (1 << STI));
  cpu.writeCsr(CSR.p1ideleg, (1 << SEI) | (1 << STI)); // ... and the PL2 interrupts to PL2
  cpu.writeCsr(CSR.sie, (1 << SEI) | (1 << STI));
  cpu.writeCsr(CSR.sstatus, SIE);
  cpu.writeCsr(CSR.p1status, 1 << 3); // p1status.IE set: it goes to PIE and back on every trap
  cpu.writeCsr(CSR.stimecmp, opts.timerNs ?? -1);
  // leftovers of an earlier trap to PL1: the first ecall's trap entry overwrites them
  cpu.writeCsr(CSR.p1tval, 0x1234); cpu.writeCsr(CSR.p1cause, 7); cpu.writeCsr(CSR.p1epc, 0x4000);
  const log: string[] = [];
  let fastCalls = 0, slowEcalls = 0, ended = false;
  /** One hypercall: a0's new value, or 'again' (continuation: a1 - 1 written back). */
  const serve = (c: Cpu, nr: number, a0: number, a1: number): number | 'again' => {
    log.push(`${nr} ${a0} ${a1} @${c.instret} ${c.cycles}`);
    c.cycles += 5; // the handler's own cost
    switch (nr) {
      case 40:
        if (a1 > 0) { c.setReg(A1, a1 - 1, 0); return 'again'; }
        return a0 * 3 + 7;
      case 41: c.setInterruptPending(SEI, true); return 0;
      case 42: if (a0 % 37 === 0) c.stop('event'); return a0;
      case 43: c.setInterruptPending(SEI, false); return a0;
      default: throw new Error(`hypercall ${nr}`);
    }
  };
  cpu.setCsrTrapHandler(1, (c, cause) => {
    if (cause === 3) { ended = true; c.stop('end'); return; }
    if (cause !== 9) throw new Error(`cause ${cause} at ${c.readCsr(CSR.p1epc)}`);
    slowEcalls++;
    const r = serve(c, c.getReg(A7), c.getReg(A0), c.getReg(A1));
    if (r === 'again') c.restartTrapped(1);
    else { c.setRegNumber(A0, r); c.completeEmulated(1); }
  });
  if (fast) {
    cpu.setFastEcall((c) => {
      const nr = c.getReg(A7), a0 = c.getReg(A0);
      if (opts.declines?.(nr, a0)) return false;
      fastCalls++;
      c.fastEcallEntry();
      const r = serve(c, nr, a0, c.getReg(A1));
      if (r !== 'again') c.setRegNumber(A0, r);
      c.fastEcallReturn(r !== 'again');
      return true;
    }, [40, 41, 42, 43, 63]); // (63: never called)
  }
  if (opts.traced) cpu.setTrace(() => {});
  const reasons: string[] = [];
  const snap = () => {
    const csrs: Record<string, number> = {};
    for (const [name, num] of Object.entries(CSR)) csrs[name] = cpu.readCsr(num);
    return {
      x: Array.from(cpu.x), pc: cpu.pc, level: cpu.level, instret: cpu.instret, cycles: cpu.cycles, csrs,
      exceptions: Array.from(cpu.stats.exceptions), interrupts: Array.from(cpu.stats.interrupts),
      trapsWithoutRetire: cpu.trapsWithoutRetire, resValid: cpu.resValid, irqs: cpu.getReg(S3), sum: cpu.getReg(S1),
    };
  };
  // the whole state wherever the run stops (a slice's end, a stop, a step), the last one before the ebreak's trap
  const states: ReturnType<typeof snap>[] = [];
  for (let i = 0; !ended; i++) {
    if (i > 200_000) throw new Error(`no end: ${reasons.slice(-5).join(',')} pc ${cpu.pc.toString(16)} level ${cpu.level} log ${log.slice(-3).join('|')}`);
    if (opts.step) cpu.debugStep(true);
    else {
      const r = cpu.run(opts.slice ?? Infinity);
      if (r !== 'budget') reasons.push(r === 'stopped' ? cpu.stopReason : r);
    }
    states.push(snap());
  }
  return { log, fastCalls, slowEcalls, reasons, states, state: states[states.length - 1]! };
}

describe('the PL1 hypercall fast path (setFastEcall)', () => {
  it('leaves the hart exactly as the trap to the PL1 handler does: calls, continuations, interrupts they raise, stops', () => {
    const slow = go(200, false, { timerNs: 20_000 });
    const fast = go(200, true, { timerNs: 20_000 });
    expect(fast.slowEcalls).toBe(0);
    expect(fast.fastCalls).toBe(slow.slowEcalls);
    expect(slow.slowEcalls).toBeGreaterThan(200 + 200 + 12); // 40 (with continuations), 42, 41, 43
    expect(fast.log).toEqual(slow.log);
    expect(fast.reasons).toEqual(slow.reasons);
    expect(slow.reasons.filter((r) => r === 'event').length).toBe(5); // rounds 185, 148, 111, 74, 37
    expect(fast.states).toEqual(slow.states);
    expect(slow.state.irqs).toBe(12 + 1); // 12 external interrupts (rounds 192..16) and the timer
    expect((slow.state.exceptions as number[])[9]).toBe(slow.slowEcalls);
  });

  it('is the same in slices, traced, single-stepped and when it declines some calls (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 40_000 }), fc.constantFrom(1, 3, 7, 50, Infinity),
      fc.constantFrom('run', 'traced', 'step'), fc.integer({ min: 0, max: 3 }),
      (n, timerNs, slice, mode, decline) => {
        const o = { slice, traced: mode === 'traced', step: mode === 'step', timerNs };
        const slow = go(n, false, o);
        const fast = go(n, true, { ...o, declines: (nr, a0) => decline > 0 && (nr + a0) % (decline + 1) === 0 });
        expect(fast.log).toEqual(slow.log);
        expect(fast.reasons).toEqual(slow.reasons);
        expect(fast.states).toEqual(slow.states);
        expect(fast.fastCalls + fast.slowEcalls).toBe(slow.slowEcalls);
        if (decline === 0) expect(fast.slowEcalls).toBe(0);
      },
    ), { numRuns: 60 });
  });

  it('is asked only for an ecall from PL2 that traps to PL1 with one of its numbers in a7', () => {
    // ecall from PL2 with p1edeleg set (to PL2 itself): never asked
    const { cpu } = machine((a) => a.emit(enc.ecall(), enc.ebreak()), { memSize: 1 << 16 });
    let asked = 0;
    cpu.setFastEcall(() => { asked++; return false; }, [0]);
    cpu.writeCsr(CSR.medeleg, (1 << 9) | (1 << 8));
    cpu.writeCsr(CSR.p1edeleg, 1 << 9);
    cpu.level = 2;
    cpu.debugStep(); // the ecall: exactly its trap
    expect(asked).toBe(0);
    expect(cpu.level).toBe(2); // delegated to PL2 itself
    expect(cpu.readCsr(CSR.scause)).toBe(9);
    // from PL2 to PL0 (medeleg clear): not asked either
    const m2 = machine((a) => a.emit(enc.ecall()), { memSize: 1 << 16 });
    m2.cpu.setFastEcall(() => { asked++; return false; }, [0]);
    m2.cpu.level = 2;
    m2.cpu.debugStep();
    expect(asked).toBe(0);
    expect(m2.cpu.level).toBe(0);
    // to PL1: asked; declined, the trap is taken as always
    const m3 = machine((a) => a.emit(enc.ecall(), enc.ecall(), enc.ecall(), enc.ecall()), { memSize: 1 << 16 });
    m3.cpu.setFastEcall(() => { asked++; return false; }, [0, 33]);
    m3.cpu.writeCsr(CSR.medeleg, 1 << 9);
    m3.cpu.setCsrTrapHandler(1, (c) => c.completeEmulated(1));
    m3.cpu.level = 2;
    m3.cpu.debugStep();
    expect(asked).toBe(1);
    expect(m3.cpu.level).toBe(2); // the PL1 handler completed it
    expect(m3.cpu.readCsr(CSR.p1cause)).toBe(9);
    expect(m3.cpu.readCsr(CSR.p1epc)).toBe(BASE + 4);
    // a7 = 33 (asked), 34, 33 + 2^32 (not one of its numbers: the trap, without asking)
    m3.cpu.setReg(17, 33, 0); m3.cpu.debugStep();
    m3.cpu.setReg(17, 34, 0); m3.cpu.debugStep();
    m3.cpu.setReg(17, 33, 1); m3.cpu.debugStep();
    expect(asked).toBe(2);
    expect(m3.cpu.instret).toBe(4);
    expect(() => m3.cpu.setFastEcall(() => true, [64])).toThrow(/call number 64 is not 0..63/);
  });
});
