// vCPU context save / restore (the hypervisor's world switch): Cpu.saveContext / loadContext.
import { describe, expect, it } from 'vitest';
import { Asm, enc } from './cpu-asm.js';
import { BASE } from './cpu-helpers.js';
import { Cpu, CSR, PhysMemory, createVcpuContext, type VcpuContext } from '../src/index.js';

const PROG_A = BASE;
const PROG_B = BASE + 0x1000;
const DATA_B = BASE + 0x8000;

/** Memory with program A (sums, xors: no memory traffic) and program B (mul chain through memory). */
function programs(): PhysMemory {
  const mem = new PhysMemory(BASE, 1 << 20);
  const a = new Asm(PROG_A);
  a.label('loop').emit(enc.add(5, 5, 6), enc.addi(6, 6, 1), enc.xor(7, 7, 5), enc.slli(11, 7, 3), enc.or(12, 12, 11))
    .ref('loop', (o) => enc.jal(0, o));
  mem.writeBytes(PROG_A, a.finish());
  const b = new Asm(PROG_B);
  b.label('loop').emit(enc.mul(5, 5, 5), enc.addi(5, 5, 3), enc.sd(5, 10, 0), enc.ld(8, 10, 0), enc.add(9, 9, 8),
    enc.addi(10, 10, 8), enc.andi(13, 10, 0x3f8)).ref('skip', (o) => enc.bne(13, 0, o))
    .emit(enc.addi(10, 10, -0x400)).label('skip').ref('loop', (o) => enc.jal(0, o));
  mem.writeBytes(PROG_B, b.finish());
  return mem;
}

function initA(ctx: VcpuContext): void {
  ctx.pcLo = PROG_A | 0; ctx.pcHi = 0; ctx.level = 2;
  ctx.x[2 * 6] = 1; ctx.x[2 * 7] = 0x1234;
  ctx.stimecmpLo = 0; ctx.stimecmpHi = 0; // already due: STIP pending while A is loaded
  ctx.sscratchLo = 0xaaaa; ctx.sepcLo = 0x1000;
}
function initB(ctx: VcpuContext): void {
  ctx.pcLo = PROG_B | 0; ctx.pcHi = 0; ctx.level = 2;
  ctx.x[2 * 5] = 7; ctx.x[2 * 10] = DATA_B | 0;
  ctx.stimecmpLo = -1; ctx.stimecmpHi = 0x7fffffff; // never
  ctx.sscratchLo = 0xbbbb; ctx.sepcLo = 0x2000; ctx.sie = 0x222; ctx.sstatus = 1 << 18;
}

/** The state a context reaches running alone for n instructions on a fresh CPU. */
function reference(init: (c: VcpuContext) => void, n: number): VcpuContext {
  const cpu = new Cpu(programs());
  const ctx = createVcpuContext();
  init(ctx);
  cpu.loadContext(ctx);
  expect(cpu.run(n)).toBe('budget');
  cpu.saveContext(ctx);
  return ctx;
}

describe('vCPU context', () => {
  it('round-trips every field through save and load', () => {
    const cpu = new Cpu(programs());
    const ctx = createVcpuContext();
    for (let i = 2; i < 64; i++) ctx.x[i] = (i * 0x9e3779b1) | 0;
    Object.assign(ctx, {
      pcLo: (BASE + 0x40) | 0, pcHi: 0, level: 3, sstatus: (1 << 1) | (1 << 5) | (1 << 8) | (1 << 18) | (1 << 19),
      sie: 0x222, scounteren: 5, stvecLo: (BASE + 0x101) | 0, stvecHi: 0, sscratchLo: -5, sscratchHi: -6,
      sepcLo: 0x1234568, sepcHi: 7, scauseLo: 13, scauseHi: 0, stvalLo: 0xdead000, stvalHi: 0x10,
      stimecmpLo: 12345, stimecmpHi: 1, satpLo: 0x777, satpHi: 0x1234, ssip: true,
      p1timedeltaLo: 1000, p1timedeltaHi: 0, p1gatpLo: 0x40, p1gatpHi: 0x5000, seip: true, seipSoft: false,
    });
    cpu.loadContext(ctx);
    expect(cpu.level).toBe(3);
    expect(cpu.pc).toBe(BASE + 0x40);
    expect(cpu.readCsr(CSR.sscratch)).toBe(-6 * 2 ** 32 + (-5 >>> 0));
    expect(cpu.readCsr(CSR.sip) & 0x202).toBe(0x202);
    const back = createVcpuContext();
    cpu.saveContext(back);
    expect(back).toEqual(ctx);
    // loading another context and then this one again restores it exactly
    const other = createVcpuContext();
    cpu.loadContext(other);
    expect(cpu.level).toBe(2);
    expect(cpu.readCsr(CSR.sip) & 0x202).toBe(0);
    cpu.loadContext(ctx);
    cpu.saveContext(back);
    expect(back).toEqual(ctx);
  });

  it('applies WARL rules on load (satp with an unsupported mode and no MMU reads 0)', () => {
    const cpu = new Cpu(programs());
    const ctx = createVcpuContext();
    ctx.satpHi = 9 << 28; ctx.sepcLo = 0x1003; ctx.sstatus = -1;
    cpu.loadContext(ctx);
    expect(cpu.readCsr(CSR.satp)).toBe(0);
    expect(cpu.readCsr(CSR.sepc)).toBe(0x1000);
    expect(cpu.readCsrLo(CSR.sstatus)).toBe((1 << 1) | (1 << 5) | (1 << 8) | (1 << 18) | (1 << 19));
    expect(() => cpu.loadContext({ ...ctx, level: 1 })).toThrow(RangeError);
  });

  it('two contexts alternating on one CPU run independently and exactly (budget slices of every size)', () => {
    const cpu = new Cpu(programs(), { costs: { worldSwitch: 1000 } });
    const a = createVcpuContext(), b = createVcpuContext();
    initA(a); initB(b);
    const slices = [1, 7, 13, 100, 2, 64, 65, 3, 511, 1, 1, 250, 9, 31, 400, 5];
    let doneA = 0, doneB = 0, switches = 0;
    for (let i = 0; i < 40; i++) {
      const n = slices[i % slices.length]!;
      const ctx = i % 2 === 0 ? a : b;
      const cycles0 = cpu.cycles;
      cpu.loadContext(ctx);
      switches++;
      expect(cpu.cycles - cycles0).toBe(1000);
      // STIP follows the loaded context's stimecmp; sscratch is per vCPU
      expect((cpu.readCsr(CSR.sip) >> 5) & 1).toBe(ctx === a ? 1 : 0);
      expect(cpu.readCsrLo(CSR.sscratch)).toBe(ctx === a ? 0xaaaa : 0xbbbb);
      const before = cpu.instret;
      expect(cpu.run(n)).toBe('budget');
      expect(cpu.instret - before).toBe(n);
      cpu.saveContext(ctx);
      if (ctx === a) doneA += n; else doneB += n;
    }
    expect(cpu.instret).toBe(doneA + doneB);
    expect(switches).toBe(40);
    const refA = reference(initA, doneA), refB = reference(initB, doneB);
    expect(a).toEqual(refA);
    expect(b).toEqual(refB);
    expect(a.x[2 * 6]).not.toBe(b.x[2 * 6]);
  });

  it('switches vCPUs from a PL1 trap handler: pc and level go through p1epc / p1status.PPL', () => {
    // Each program: count in x20, then yield (ecall, delegated to PL1). The handler resumes the
    // caller after the ecall, saves it and loads the other vCPU.
    const mem = new PhysMemory(BASE, 1 << 20);
    for (const [base, step] of [[PROG_A, 1], [PROG_B, 100]] as const) {
      const p = new Asm(base);
      p.label('loop').emit(enc.addi(20, 20, step), enc.ecall()).ref('loop', (o) => enc.jal(0, o));
      mem.writeBytes(base, p.finish());
    }
    const cpu = new Cpu(mem);
    cpu.writeCsr(CSR.medeleg, 1 << 9);
    const ctxs = [createVcpuContext(), createVcpuContext()];
    ctxs[0]!.pcLo = PROG_A | 0; ctxs[1]!.pcLo = PROG_B | 0; ctxs[1]!.level = 2;
    let cur = 0, yields = 0;
    cpu.setTrapHandler(1, (c, cause) => {
      expect(cause).toBe(9);
      expect(c.level).toBe(1);
      c.writeCsr(CSR.p1epc, c.readCsr(CSR.p1epc) + 4); // the ecall completes
      c.saveContext(ctxs[cur]!);
      expect(ctxs[cur]!.level).toBe(2);
      cur ^= 1;
      c.loadContext(ctxs[cur]!);
      yields++;
      c.returnFromTrap(1);
    });
    cpu.loadContext(ctxs[0]!);
    expect(cpu.run(300)).toBe('budget');
    cpu.saveContext(ctxs[cur]!);
    // 300 retired = per vCPU: addi (retired), ecall (trapped: not retired), jal (retired)
    const a = ctxs[0]!.x[40]!, b = ctxs[1]!.x[40]! / 100;
    // every addi is followed by a yield (unless the budget ended between the two)
    expect(yields === a + b || yields === a + b - 1).toBe(true);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
    expect(a + b).toBeGreaterThan(140);
    expect(cpu.level).toBe(2);
  });

  it('setInterruptPending(9) raises the loaded vCPU\'s virtual external interrupt and is saved with it', () => {
    const cpu = new Cpu(programs());
    const a = createVcpuContext(), b = createVcpuContext();
    initA(a); initB(b);
    cpu.loadContext(a);
    cpu.setInterruptPending(9, true);
    cpu.saveContext(a);
    expect(a.seip).toBe(true);
    cpu.loadContext(b);
    expect(cpu.readCsr(CSR.sip) & (1 << 9)).toBe(0);
    // b takes the interrupt when its line is raised and SEIE/SIE are on (delegated to PL2)
    cpu.writeCsr(CSR.mideleg, 0x222); cpu.writeCsr(CSR.p1ideleg, 0x222);
    cpu.writeCsr(CSR.sstatus, 2); cpu.writeCsr(CSR.stvec, PROG_A);
    cpu.setInterruptPending(9, true);
    cpu.run(1);
    expect(cpu.readCsrHi(CSR.scause)).toBe(-2147483648);
    expect(cpu.readCsrLo(CSR.scause)).toBe(9);
    cpu.loadContext(a);
    expect(cpu.readCsr(CSR.sip) & (1 << 9)).toBe(1 << 9);
    cpu.setInterruptPending(9, false);
    cpu.saveContext(a);
    expect(a.seip).toBe(false);
  });
});
