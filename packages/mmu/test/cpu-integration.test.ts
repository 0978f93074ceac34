// End to end: the CPU (@tachyxx/isa) running hand-assembled code with this MMU attached.
// Stage-1 Sv48 turned on by PL2 code, a PL3 task in its own address space, page faults delegated
// to PL2, stage 2 with a PL1 TypeScript handler fixing guest-page faults (p1tval2), the same VA
// in two address spaces, sfence.vma, and the TLB statistics the CPU reports.
import { describe, expect, it } from 'vitest';
import { CSR, Cpu, createVcpuContext, type PhysMemory } from '@tachyxx/isa';
import { Mmu, makeP1gatp, makeSatp, PTE_G, PTE_R, PTE_U, PTE_W, PTE_X, type MmuOptions } from '../src/index.js';
import { AD, bump, newMem, PtBuilder, RAM_BASE, RWX } from './helpers.js';
import { Asm, e } from './rv-asm.js';

const MiB = 1024 * 1024;

const satpOf = (asid: number, root: number) => { const s = makeSatp(9, asid, root / 4096); return (BigInt(s.hi >>> 0) << 32n) | BigInt(s.lo >>> 0); };
// registers
const T0 = 5, T1 = 6, S0 = 8, S1 = 9, A0 = 10, A1 = 11, A2 = 12, A7 = 17, S2 = 18, S3 = 19, S4 = 20, S5 = 21, S6 = 22, RA = 1;
/** Kernel trap handlers live at RAM_BASE + TRAP_OFF (same page as the kernel code). */
const TRAP_OFF = 0x800;
const DELEG_TO_PL2 = (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15);

/**
 * A machine with `mmu` attached, PL2 at RAM_BASE. ecall from PL2 is a tiny firmware call:
 * a7 = 0 records a0 and resumes, a7 = 1 stops. PL3 page faults and syscalls go to PL2.
 */
function rig(opts: MmuOptions = {}) {
  const mem = newMem(16);
  const mmu = new Mmu(mem, opts);
  const cpu = new Cpu(mem, { mmu });
  const out: number[] = [];
  cpu.setTrapHandler(0, (c, cause) => {
    if (cause !== 9) { c.stop(`unexpected trap ${cause} tval ${c.readCsr(CSR.mtval).toString(16)} epc ${c.readCsr(CSR.mepc).toString(16)}`); return; }
    if (c.getReg(A7) === 1) { c.stop('done'); return; }
    out.push(c.getReg(A0));
    c.completeEmulated(0);
  });
  cpu.writeCsr(CSR.medeleg, DELEG_TO_PL2);
  cpu.writeCsr(CSR.p1edeleg, DELEG_TO_PL2);
  cpu.level = 2;
  cpu.pc = RAM_BASE;
  return { mem, mmu, cpu, out };
}

/** Stage-1 tables in [RAM_BASE + 1 MiB, + 2 MiB), kernel code/tables identity-mapped (global). */
function kernelTables(mem: PhysMemory) {
  const s1 = new PtBuilder(mem, 1, bump(RAM_BASE + MiB, RAM_BASE + 2 * MiB));
  for (let a = 0; a < 64 * 1024; a += 4096) s1.map(RAM_BASE + a, RAM_BASE + a, 0, RWX | AD | PTE_G);
  for (let a = MiB; a < 2 * MiB; a += 4096) s1.map(RAM_BASE + a, RAM_BASE + a, 0, PTE_R | PTE_W | AD | PTE_G);
  return s1;
}

const USER_CODE = 0x1000_0000;
const USER_DATA = 0x1001_0000;

describe('CPU + MMU: stage 1', () => {
  it('PL2 code turns on Sv48; a PL3 task in its own address space; its page faults go to PL2 with stval', () => {
    const { mem, mmu, cpu, out } = rig();
    const s1 = kernelTables(mem);
    s1.map(USER_CODE, RAM_BASE + 2 * MiB, 0, PTE_R | PTE_X | PTE_U | AD);
    s1.map(USER_DATA, RAM_BASE + 2 * MiB + 4096, 0, PTE_R | PTE_W | PTE_U | AD);
    s1.map(USER_DATA + 4096, RAM_BASE + 2 * MiB + 8192, 0, PTE_R | PTE_U | AD); // read-only
    s1.map(USER_DATA + 8192, RAM_BASE + 2 * MiB + 12288, 0, PTE_R | PTE_W | AD); // kernel-only
    mem.writeU64(RAM_BASE + 2 * MiB + 4096, 41);
    const k = new Asm();
    k.li(T0, satpOf(1, s1.root)).emit(e.csrw(CSR.satp, T0), e.sfence())
      .li(T0, RAM_BASE + TRAP_OFF).emit(e.csrw(CSR.stvec, T0))
      .li(T0, USER_CODE).emit(e.csrw(CSR.sepc, T0), e.sret());
    k.place(mem, RAM_BASE);
    // trap handler: report scause and stval; stop after a syscall, else skip the faulting instruction
    const h = new Asm();
    h.emit(e.csrr(A0, CSR.scause), e.addi(A7, 0, 0), e.ecall(), e.csrr(A0, CSR.stval), e.ecall())
      .emit(e.csrr(T0, CSR.scause), e.addi(T1, 0, 8)).ref('skip', (o) => e.bne(T0, T1, o)).emit(e.addi(A7, 0, 1), e.ecall())
      .label('skip').emit(e.csrr(T0, CSR.sepc), e.addi(T0, T0, 4), e.csrw(CSR.sepc, T0), e.sret());
    h.place(mem, RAM_BASE + TRAP_OFF);
    const u = new Asm();
    u.li(A0, USER_DATA).emit(e.ld(A1, A0, 0), e.addi(A1, A1, 1), e.sd(A1, A0, 0), e.ld(A2, A0, 0))
      .li(S0, 0x2000_0000).emit(e.ld(S1, S0, 0)) // unmapped: load page fault 13
      .li(S2, USER_DATA + 4096).emit(e.sd(A1, S2, 0)) // read-only: store page fault 15
      .li(S3, USER_DATA + 8192).emit(e.ld(S1, S3, 0)) // not a U page: load page fault 13
      .emit(e.ecall()); // syscall: cause 8
    u.place(mem, RAM_BASE + 2 * MiB);
    expect(cpu.run(10_000)).toBe('stopped');
    expect(cpu.stopReason).toBe('done');
    expect(out).toEqual([13, 0x2000_0000, 15, USER_DATA + 4096, 13, USER_DATA + 8192, 8, 0]);
    expect(mem.readU64(RAM_BASE + 2 * MiB + 4096)).toBe(42);
    expect(cpu.getReg(A2)).toBe(42);
    expect(cpu.readCsrLo(CSR.satp)).toBe(makeSatp(9, 1, s1.root / 4096).lo);
    expect(cpu.readCsrHi(CSR.satp)).toBe(makeSatp(9, 1, s1.root / 4096).hi);
    const st = mmu.stats.forVmid(0);
    expect(st.faults[13]!.value).toBe(2);
    expect(st.faults[15]!.value).toBe(1);
    // MMU cycles reach the CPU: every walk cost 5 + refs * 20
    expect(cpu.cycles).toBeGreaterThan(st.walkCycles.value);
    expect(st.walkCycles.value).toBe(st.walks.value * 5 + st.walkRefs.value * 20);
  });

  it('hits + misses = lookups exactly: one fetch per executed block plus one per load/store', () => {
    const { mem, mmu, cpu } = rig({ pageWalkCache: false, nestedTlb: false });
    const s1 = kernelTables(mem);
    s1.map(USER_CODE, RAM_BASE + 2 * MiB, 0, PTE_R | PTE_X | PTE_U | AD);
    s1.map(USER_DATA, RAM_BASE + 2 * MiB + 4096, 0, PTE_R | PTE_W | PTE_U | AD);
    const u = new Asm();
    // block 0: li a0 (lui+addiw? no: lui only), li a1, li a2, then the loop body (ld, add, sd, addi, bne)
    u.li(A0, USER_DATA).li(A1, 0).li(A2, 100).label('loop')
      .emit(e.ld(T0, A0, 0), e.add(A1, A1, T0), e.sd(A1, A0, 8), e.addi(A2, A2, -1)).ref('loop', (o) => e.bne(A2, 0, o))
      .emit(e.ecall());
    u.place(mem, RAM_BASE + 2 * MiB);
    mem.writeU64(RAM_BASE + 2 * MiB + 4096, 3);
    let stopped = false;
    cpu.setTrapHandler(0, (c, cause) => { expect(cause).toBe(8); stopped = true; c.stop('syscall'); });
    cpu.writeCsr(CSR.medeleg, 0); // the syscall comes to the TS firmware
    const sv = makeSatp(9, 1, s1.root / 4096);
    cpu.writeCsr(CSR.satp, sv.lo, sv.hi);
    cpu.level = 3;
    cpu.pc = USER_CODE;
    const st = mmu.stats.forVmid(0);
    const missesBefore = cpu.stats.tlbMisses;
    expect(cpu.run(100_000)).toBe('stopped');
    expect(stopped).toBe(true);
    cpu.syncMmuStats();
    expect(cpu.getReg(A1)).toBe(300);
    // blocks: the entry block (3 li + body) once, the loop block 99 times, the ecall once
    const lookups = (1 + 2) + 99 * (1 + 2) + 1;
    expect(st.tlbHits.value + st.softTlbHits.value + st.tlbMisses.value).toBe(lookups);
    expect(st.tlbLookups.value).toBe(lookups);
    // translate() calls: code miss, data miss (ld), data hit (first sd fills the write soft-TLB)
    expect(cpu.stats.tlbMisses - missesBefore).toBe(3);
    expect(st.tlbMisses.value).toBe(2);
    expect(st.tlbHits.value).toBe(1);
    expect(st.softTlbHits.value).toBe(lookups - 3);
    expect(st.walkRefs.value).toBe(8); // two cold stage-1 walks
  });

  it('sfence.vma: a remapped page is stale until sfence.vma va; code too', () => {
    const { mem, mmu, cpu, out } = rig();
    const s1 = kernelTables(mem);
    const pa1 = RAM_BASE + 2 * MiB, pa2 = pa1 + 4096, code1 = pa1 + 8192, code2 = pa1 + 12288;
    const DVA = 0x4000_0000, CVA = 0x5000_0000;
    s1.map(DVA, pa1, 0, PTE_R | PTE_W | AD);
    s1.map(CVA, code1, 0, PTE_R | PTE_X | AD);
    mem.writeU64(pa1, 11); mem.writeU64(pa2, 22);
    const pteAddr = s1.pteAddr(DVA, 0), cpteAddr = s1.pteAddr(CVA, 0);
    const newPte = BigInt(mem.readU32(pteAddr)) + BigInt(1 << 10); // PPN + 1: pa2
    const newCpte = BigInt(mem.readU32(cpteAddr)) + BigInt(1 << 10); // code1 -> code2
    const sub = (v: number) => new Asm().li(A0, v).emit(e.jalr(0, RA, 0));
    sub(111).place(mem, code1); sub(222).place(mem, code2);
    const k = new Asm();
    k.li(T0, satpOf(1, s1.root)).emit(e.csrw(CSR.satp, T0), e.sfence())
      .li(S0, DVA).li(S1, pteAddr).li(S2, newPte).li(S3, CVA).li(S4, cpteAddr).li(S5, newCpte)
      .emit(e.ld(A0, S0, 0), e.ecall()) // 11
      .emit(e.sd(S2, S1, 0), e.ld(A0, S0, 0), e.ecall()) // PTE changed, TLB still has the old page: 11
      .emit(e.sfence(S0, 0), e.ld(A0, S0, 0), e.ecall()) // 22
      .emit(e.jalr(RA, S3, 0), e.ecall()) // 111
      .emit(e.sd(S5, S4, 0), e.jalr(RA, S3, 0), e.ecall()) // still 111 (stale)
      .emit(e.sfence(S3, 0), e.jalr(RA, S3, 0), e.ecall()) // 222
      .emit(e.addi(A7, 0, 1), e.ecall());
    k.place(mem, RAM_BASE);
    expect(cpu.run(10_000)).toBe('stopped');
    expect(cpu.stopReason).toBe('done');
    expect(out).toEqual([11, 11, 22, 111, 111, 222]);
    const st = mmu.stats.forVmid(0);
    expect(st.flushes.vmid.value).toBe(1);
    expect(st.flushes.page.value).toBe(2);
  });

  for (const tagged of [true, false]) {
    it(`the same VA in two address spaces runs different code (${tagged ? 'tagged' : 'untagged'} TLB)`, () => {
      const { mem, mmu, cpu, out } = rig({ tagged, pageWalkCache: false, nestedTlb: false });
      const kernelRoot = kernelTables(mem);
      const alloc = bump(RAM_BASE + 3 * MiB, RAM_BASE + 4 * MiB);
      const as = [1, 2].map((asid) => {
        const t = new PtBuilder(mem, 1, alloc);
        for (let a = 0; a < 64 * 1024; a += 4096) t.map(RAM_BASE + a, RAM_BASE + a, 0, RWX | AD | PTE_G);
        const code = RAM_BASE + 2 * MiB + asid * 4096;
        t.map(USER_CODE, code, 0, PTE_R | PTE_X | PTE_U | AD);
        new Asm().li(A0, 100 * asid).emit(e.ecall()).place(mem, code);
        return satpOf(asid, t.root);
      });
      void kernelRoot;
      // kernel: s5 = current satp, s6 = satp1 ^ satp2; on every syscall: report a0, switch, sret
      const k = new Asm();
      k.li(S5, as[1]!).li(T0, as[0]! ^ as[1]!).emit(e.add(S6, T0, 0))
        .li(T0, RAM_BASE + TRAP_OFF).emit(e.csrw(CSR.stvec, T0))
        .label('switch').emit(e.xor(S5, S5, S6), e.csrw(CSR.satp, S5))
        .li(T0, USER_CODE).emit(e.csrw(CSR.sepc, T0), e.sret());
      k.place(mem, RAM_BASE);
      // trap handler: report the syscall (a0), then jump back to 'switch'
      new Asm().emit(e.ecall()).li(T0, RAM_BASE + k.offset('switch')).emit(e.jalr(0, T0, 0)).place(mem, RAM_BASE + TRAP_OFF);
      const st = mmu.stats.forVmid(0);
      const misses: number[] = [];
      cpu.setTrapHandler(0, (c, cause) => {
        expect(cause).toBe(9);
        out.push(c.getReg(A0));
        c.syncMmuStats();
        misses.push(st.tlbMisses.value);
        if (out.length === 10) c.stop('done'); else c.completeEmulated(0);
      });
      expect(cpu.run(100_000)).toBe('stopped');
      expect(out).toEqual([100, 200, 100, 200, 100, 200, 100, 200, 100, 200]);
      const perRound = misses.slice(3).map((m, i) => m - misses[i + 2]!);
      // tagged: both address spaces and the global kernel page stay cached: no misses per switch.
      // untagged: every satp write flushes: the kernel page and the user page miss again.
      expect(perRound).toEqual(new Array(7).fill(tagged ? 0 : 2));
      expect(st.flushes.switch.value).toBe(tagged ? 0 : 10);
      expect(st.tlbLookups.value).toBe(st.tlbHits.value + st.softTlbHits.value + st.tlbMisses.value);
    });
  }
});

describe('CPU + MMU: stage 2', () => {
  const GUEST = RAM_BASE; // guest-physical RAM base
  const DELTA = 4 * MiB; // guest RAM GPA g lives at MA g + DELTA
  it('a PL1 TypeScript handler receives guest-page faults (20/21/23) with p1tval2 and fixes the P2M', () => {
    const { mem, mmu, cpu, out } = rig({ pageWalkCache: false, nestedTlb: false });
    const HOLE = GUEST + 3 * MiB, RO = HOLE + 4096, XHOLE = HOLE + 8192;
    const s2 = new PtBuilder(mem, 2, bump(RAM_BASE, RAM_BASE + 2 * MiB));
    for (let g = 0; g < 4 * MiB; g += 4096) {
      if (g === 3 * MiB || g === 3 * MiB + 8192) continue; // holes
      s2.map(GUEST + g, GUEST + g + DELTA, 0, (g === 3 * MiB + 4096 ? PTE_R : RWX) | AD);
    }
    const s1 = new PtBuilder(mem, 1, bump(GUEST + MiB, GUEST + 2 * MiB), (gpa) => gpa + DELTA);
    for (let a = 0; a < 64 * 1024; a += 4096) s1.map(GUEST + a, GUEST + a, 0, RWX | AD);
    const DVA = 0x4000_0000, HVA = DVA + 4096, RVA = DVA + 8192, XVA = 0x4001_0000;
    s1.map(DVA, GUEST + 2 * MiB, 0, PTE_R | PTE_W | AD);
    s1.map(HVA, HOLE, 0, PTE_R | PTE_W | AD);
    s1.map(RVA, RO, 0, PTE_R | PTE_W | AD);
    s1.map(XVA, XHOLE, 0, PTE_R | PTE_X | AD);
    const k = new Asm();
    k.li(T0, satpOf(1, s1.root)).emit(e.csrw(CSR.satp, T0), e.sfence())
      .li(S0, DVA).li(T1, 42).emit(e.sd(T1, S0, 0), e.ld(A0, S0, 0), e.ecall()) // 42
      .li(S1, HVA).emit(e.ld(A0, S1, 8), e.ecall()) // 21, then 77
      .li(S2, RVA).emit(e.sd(T1, S2, 0), e.ld(A0, S2, 0), e.ecall()) // 23, then 42
      .li(S3, XVA).emit(e.jalr(RA, S3, 0), e.ecall()) // 20, then 99
      .emit(e.addi(A7, 0, 1), e.ecall());
    k.place(mem, GUEST + DELTA);
    const fixed = new Asm().li(A0, 99).emit(e.jalr(0, RA, 0));
    // the hypervisor: stage 2 on (VMID 3), guest-page faults come to PL1
    const vmid = 3;
    const g = makeP1gatp(9, vmid, s2.root / 4096);
    cpu.writeCsr(CSR.p1gatp, g.lo, g.hi);
    expect(cpu.readCsrLo(CSR.p1gatp)).toBe(g.lo);
    cpu.writeCsr(CSR.medeleg, DELEG_TO_PL2 | (1 << 20) | (1 << 21) | (1 << 23));
    const faults: { cause: number; tval: number; gpa: number; level: number }[] = [];
    cpu.setTrapHandler(1, (c, cause, _isInt, tval) => {
      const gpa = c.readCsr(CSR.p1tval2);
      faults.push({ cause, tval, gpa, level: c.level });
      const page = gpa - (gpa % 4096);
      if (cause === 21) { mem.writeU64(RAM_BASE + 7 * MiB + 8, 77); s2.map(page, RAM_BASE + 7 * MiB, 0, RWX | AD); }
      else if (cause === 23) s2.map(page, page + DELTA, 0, RWX | AD);
      else { fixed.place(mem, RAM_BASE + 7 * MiB + 4096); s2.map(page, RAM_BASE + 7 * MiB + 4096, 0, RWX | AD); }
      mmu.flushGpa(vmid, page);
      c.returnFromTrap(1); // retry the access
    });
    expect(cpu.run(10_000)).toBe('stopped');
    expect(cpu.stopReason).toBe('done');
    expect(out).toEqual([42, 77, 42, 99]);
    expect(faults).toEqual([
      { cause: 21, tval: HVA + 8, gpa: HOLE + 8, level: 1 },
      { cause: 23, tval: RVA, gpa: RO, level: 1 },
      { cause: 20, tval: XVA, gpa: XHOLE, level: 1 },
    ]);
    const st = mmu.stats.forVmid(vmid);
    // one stage-2-only walk (the kernel's first fetch), then 2D walks of (4+1)*(4+1)-1 = 24
    // references each (no walk caches, 4 KiB leaves; a fault at the stage-2 leaf also costs 24)
    expect(st.refsPerWalk.counts[4]).toBe(1);
    expect(st.refsPerWalk.counts[24]).toBe(st.walks.value - 1);
    // 2D walks: the kernel page twice (fetching the sfence.vma, then again after it flushed the
    // VMID), the data page, and each faulting access twice (the fault, the retry) = 9
    expect(st.walks.value).toBe(10);
    expect(st.walkRefs.value).toBe(4 + 24 * 9);
    expect(st.faults[20]!.value + st.faults[21]!.value + st.faults[23]!.value).toBe(3);
  });

  it('loadContext switches VMIDs through the MMU hooks: the same GPA maps to each domain\'s memory', () => {
    const { mem, mmu, cpu } = rig();
    const doms = [1, 2].map((vmid) => {
      const s2 = new PtBuilder(mem, 2, bump(RAM_BASE + vmid * 2 * MiB, RAM_BASE + (vmid * 2 + 1) * MiB));
      const ram = RAM_BASE + 8 * MiB + vmid * MiB;
      for (let g = 0; g < 64 * 1024; g += 4096) s2.map(GUEST + g, ram + g, 0, RWX | AD);
      new Asm().li(A0, GUEST + 0x1000).emit(e.ld(A0, A0, 0), e.ecall()).place(mem, ram);
      mem.writeU64(ram + 0x1000, 1000 * vmid);
      const ctx = createVcpuContext();
      const p = makeP1gatp(9, vmid, s2.root / 4096);
      ctx.p1gatpLo = p.lo; ctx.p1gatpHi = p.hi; ctx.pcLo = GUEST | 0;
      return ctx;
    });
    const seen: number[] = [];
    cpu.setTrapHandler(0, (c) => { seen.push(c.getReg(A0)); c.returnFromTrap(0); c.stop('ecall'); });
    for (const i of [0, 1, 0, 1]) {
      cpu.loadContext(doms[i]!);
      expect(mmu.currentVmid).toBe(i + 1);
      cpu.run(100);
    }
    expect(seen).toEqual([1000, 2000, 1000, 2000]);
    // tagged by VMID: the second visit of each domain hits
    expect(mmu.stats.forVmid(1).tlbMisses.value).toBe(2);
    expect(mmu.stats.forVmid(2).tlbMisses.value).toBe(2);
  });
});
