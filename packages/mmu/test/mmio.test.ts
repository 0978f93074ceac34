// MMIO through the MMU: a domain reaches a device's registers at PL2 only where its stage 2 maps
// the device's machine addresses (the hypervisor maps BARs into the domain's stage 2); an
// unmapped device GPA is a guest-page fault to PL1 as for RAM; PL1 reaches devices directly.
import { describe, expect, it } from 'vitest';
import { Access, CSR, Cpu, MMIO_ACCESS, MmioBus, type MmioHandler, type MmioValue } from '@tachyxx/isa';
import { Mmu, makeP1gatp, PTE_R, PTE_W } from '../src/index.js';
import { AD, bump, newMem, PtBuilder, RAM_BASE, RWX } from './helpers.js';

const MiB = 1024 * 1024;
const GUEST = 0x8000_0000;
const DELTA = 4 * MiB;
const DEV_MA = 0x3000_0000; // the device's BAR in machine address space
const DEV_GPA = 0x1000_0000; // where the hypervisor maps it in the domain

class Regs implements MmioHandler {
  readonly r = new Int32Array(8);
  readonly log: string[] = [];
  read(o: number, size: number, out: MmioValue): void {
    this.log.push(`r${size}@${o}`);
    out.lo = this.r[o >> 2]!;
    if (size === 8) out.hi = this.r[(o >> 2) + 1]!;
    else if (size < 4) out.lo = (out.lo >>> ((o & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }
  write(o: number, size: number, lo: number, hi: number): void {
    this.log.push(`w${size}@${o}`);
    if (size >= 4) this.r[o >> 2] = lo;
    if (size === 8) this.r[(o >> 2) + 1] = hi;
  }
}

function setup() {
  const mem = newMem(16);
  const bus = new MmioBus();
  const dev = new Regs();
  bus.add(DEV_MA, 32, dev, 'regs');
  mem.mmio = bus;
  const mmu = new Mmu(mem, { pageWalkCache: false, nestedTlb: false });
  const s2 = new PtBuilder(mem, 2, bump(RAM_BASE, RAM_BASE + 2 * MiB));
  for (let g = 0; g < 64 * 1024; g += 4096) s2.map(GUEST + g, GUEST + g + DELTA, 0, RWX | AD);
  s2.map(DEV_GPA, DEV_MA, 0, PTE_R | PTE_W | AD);
  const g = makeP1gatp(9, 5, s2.root / 4096);
  return { mem, bus, dev, mmu, s2, g };
}

// a few RV64 encodings
const I = (imm: number, rs1: number, f3: number, rd: number, op: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (imm: number, rs2: number, rs1: number, f3: number) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const lui = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x13);
const ECALL = 0x73;

describe('MMIO through stage 2', () => {
  it('the MMU resolves a device GPA mapped in stage 2 to MMIO_ACCESS with the machine address', () => {
    const { mmu, g } = setup();
    expect(mmu.writeP1gatp(g.lo, g.hi)).toBe(true);
    expect(mmu.translate(DEV_GPA + 8, 0, Access.READ, 2)).toBe(MMIO_ACCESS);
    expect(mmu.mmioAddr).toBe(DEV_MA + 8);
    expect(mmu.translate(DEV_GPA + 16, 0, Access.WRITE, 2)).toBe(MMIO_ACCESS); // TLB hit
    expect(mmu.mmioAddr).toBe(DEV_MA + 16);
    expect(mmu.translate(DEV_GPA, 0, Access.EXEC, 2)).toBe(-20); // the BAR mapping is R/W only
    expect(mmu.translate(DEV_GPA + 4096, 0, Access.READ, 2)).toBe(-21); // not mapped: guest-page fault
    expect(mmu.translate(DEV_MA, 0, Access.READ, 1)).toBe(MMIO_ACCESS); // PL1: machine addresses
  });

  it('PL2 code loads and stores device registers through its stage 2; an unmapped device GPA is a guest-page fault at PL1', () => {
    const { mem, dev, mmu, g } = setup();
    const cpu = new Cpu(mem, { mmu });
    // sd 8 bytes, sw, ld back, lw; then a load from the next (unmapped) page; ecall
    const code = [
      lui(5, DEV_GPA >>> 12), addi(6, 0, 0x5a5), S(0, 6, 5, 3), S(12, 6, 5, 2),
      I(0, 5, 3, 10, 3), I(12, 5, 2, 11, 3), I(4, 5, 4, 12, 3), // ld a0, lw a1, lbu a2
      lui(7, (DEV_GPA + 4096) >>> 12), I(0, 7, 2, 13, 3), ECALL,
    ];
    code.forEach((w, i) => mem.writeU32(GUEST + DELTA + 4 * i, w));
    cpu.writeCsr(CSR.p1gatp, g.lo, g.hi);
    cpu.writeCsr(CSR.medeleg, 1 << 21); // load guest-page faults to the hypervisor (PL1)
    const faults: { cause: number; gpa: number }[] = [];
    cpu.setTrapHandler(1, (c, cause) => {
      faults.push({ cause, gpa: c.readCsr(CSR.p1tval2) });
      c.setReg(13, 77, 0);
      c.returnFromTrap(1);
      c.setPcParts((c.pc + 4) | 0, 0); // skip the load (the hypervisor emulated it)
    });
    let done = false;
    cpu.setTrapHandler(0, (c, cause) => { expect(cause).toBe(9); done = true; c.stop('ecall'); });
    cpu.level = 2;
    cpu.pc = GUEST;
    cpu.run(100);
    expect(done).toBe(true);
    expect(dev.log).toEqual(['w8@0', 'w4@12', 'r8@0', 'r4@12', 'r1@4']);
    expect(cpu.getReg(10)).toBe(0x5a5);
    expect(cpu.getReg(11)).toBe(0x5a5);
    expect(cpu.getReg(12)).toBe(0);
    expect(faults).toEqual([{ cause: 21, gpa: DEV_GPA + 4096 }]);
    expect(cpu.getReg(13)).toBe(77);
  });
});
