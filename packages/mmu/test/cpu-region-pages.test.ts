// Regions across virtual pages (@tachyxx/isa CpuOptions.maxRegionPages) with Sv48 translation on:
// a region compiled over pages A and B guards every edge into B with the exec soft-TLB, so a remap
// of B (PTE store + sfence.vma, by the guest or by the host between run() calls), a satp switch to
// an address space mapping B elsewhere, and an unmap of B are seen exactly as with one-page
// regions: the new code runs, the instruction page fault is taken at B's first PC with the same
// cause / tval / epc, and instret, cycles, registers, memory and the MMU's statistics are equal.
// (Without translation: packages/isa/test/cpu-region-pages.test.ts.)
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CSR, Cpu, DEFAULT_TLB_ENTRIES, PhysMemory, engineAreaBytes, type CpuOptions } from '@tachyxx/isa';
import { Mmu, makeSatp, PTE_G, PTE_R, PTE_W, PTE_X } from '../src/index.js';
import { AD, bump, PtBuilder, RAM_BASE } from './helpers.js';
import { Asm, e } from './rv-asm.js';

const MiB = 1024 * 1024;
const PAGE = 4096;


// ---- the machine ----
/** Code pages A, B (the loop crosses A -> B) and C (the entry), from a base VA. */
interface Va { A: number; B: number; C: number }
const va = (base: number): Va => ({ A: base, B: base + PAGE, C: base + 2 * PAGE });
/** Low VAs, and pages A / B on either side of 4 GiB (the PC's high half changes on the way). */
const LOW = va(0x4000_0000), AT4G = va(0xffff_f000);
const VA_DATA = 0x5000_0000;
const PA_A = RAM_BASE + 2 * MiB, PA_B1 = PA_A + PAGE, PA_C = PA_A + 2 * PAGE;
const PA_B2 = RAM_BASE + 3 * MiB; // B's other physical page (different code)
const PA_DATA = RAM_BASE + 4 * MiB;
const N = 300;
/** B's two versions: the loop adds K1 to x11 on B, fB adds K2 to x12 (and to the data word). */
const V1 = { k1: 1, k2: 3 }, V2 = { k1: 100, k2: 300 };
/** Registers the test sets per scenario: x23 = store x21 to the PTE at x20, x26 = skip sfence.vma, x24 = switch satp to x25, x27 = sfence.vma B's page only. */
type Scenario = 'guest-remap' | 'guest-remap-page' | 'host-remap' | 'satp' | 'unmap' | 'no-fence';

/**
 * C (entry): call fB on B (B's translation enters the exec soft-TLB), jump to main on A.
 * main (A): phase 1 = call L (x8 = N); ecall (a7 = 0: the host may act); the scenario's PTE
 * store / satp write / sfence.vma; phase 2 = call L again; ecall a7 = 1 (done).
 * L: a loop from the end of A into B (fall-through at the page end), calling fB on B with x5 as
 * the link register, branching back to A.
 */
function code(v: Va): { a: Asm; b: (v: typeof V1) => number[] } {
  const { A: VA_A, B: VA_B } = v;
  const a = new Asm(VA_A);
  a.label('main');
  a.li(8, N).ref('L', (o) => e.jal(1, o));
  a.li(17, 0).emit(e.ecall());
  a.ref('nostore', (o) => e.beq(23, 0, o)).emit(e.sd(21, 20, 0)).label('nostore');
  a.ref('nosatp', (o) => e.beq(24, 0, o)).emit(e.csrw(CSR.satp, 25)).label('nosatp');
  a.ref('nofence', (o) => e.bne(26, 0, o));
  a.ref('fenceall', (o) => e.beq(27, 0, o)).emit(e.sfence(28, 0)).ref('nofence', (o) => e.jal(0, o));
  a.label('fenceall').emit(e.sfence()).label('nofence');
  a.li(8, N).ref('L', (o) => e.jal(1, o));
  a.li(17, 1).emit(e.ecall());
  if (a.here > VA_B - 16) throw new Error('main overlaps L');
  a.padTo(VA_B - 16);
  a.label('L').emit(e.addi(8, 8, -1), e.addi(10, 10, 1), e.add(14, 14, 10), e.ld(15, 9, 8)); // A
  const aWords = a.finish();
  const b = (k: typeof V1): number[] => {
    const bb = new Asm(VA_B);
    bb.emit(e.addi(11, 11, k.k1)).ref('fB', (o) => e.jal(5, o)); // B + 0, + 4
    bb.emit(e.bne(8, 0, VA_A + aWords.length * 4 - 16 - (VA_B + 8))); // B + 8: back to L on A
    bb.emit(e.jalr(0, 1, 0)); // return to main
    bb.padTo(VA_B + 0x100);
    bb.label('fB').emit(e.addi(12, 12, k.k2), e.ld(13, 9, 0), e.add(13, 13, 12), e.sd(13, 9, 0), e.jalr(0, 5, 0));
    return bb.finish();
  };
  return { a, b };
}

interface Rig { cpu: Cpu; mmu: Mmu; mem: PhysMemory; s1: PtBuilder; v: Va }

function rig(opts: CpuOptions, scenario: Scenario, v: Va): Rig {
  const { A: VA_A, B: VA_B, C: VA_C } = v;
  const engine = opts.engine ?? 'js';
  const mem = new PhysMemory({ base: RAM_BASE, size: 16 * MiB, engineArea: engine === 'wasm' ? engineAreaBytes(DEFAULT_TLB_ENTRIES) : 0 });
  const mmu = new Mmu(mem);
  const cpu = new Cpu(mem, { ...opts, mmu });
  const { a, b } = code(v);
  a.words.forEach((w, i) => mem.writeU32(PA_A + 4 * i, w));
  b(V1).forEach((w, i) => mem.writeU32(PA_B1 + 4 * i, w));
  b(V2).forEach((w, i) => mem.writeU32(PA_B2 + 4 * i, w));
  const c = new Asm(VA_C);
  c.li(9, VA_DATA);
  c.emit(e.jal(5, VA_B + 0x100 - c.here)); // call fB
  c.emit(e.jal(0, VA_A - c.here)); // to main
  c.words.forEach((w, i) => mem.writeU32(PA_C + 4 * i, w));
  // two address spaces: root 1 maps B -> PA_B1, root 2 maps B -> PA_B2; both map the tables
  // themselves (identity, RW) so that the guest can store PTEs
  const tables = (lo: number) => {
    const s = new PtBuilder(mem, 1, bump(RAM_BASE + lo * MiB, RAM_BASE + (lo + 1) * MiB));
    for (let p = RAM_BASE + MiB; p < RAM_BASE + 2 * MiB; p += PAGE) s.map(p, p, 0, PTE_R | PTE_W | AD | PTE_G);
    s.map(VA_A, PA_A, 0, PTE_R | PTE_X | AD);
    s.map(VA_C, PA_C, 0, PTE_R | PTE_X | AD);
    s.map(VA_DATA, PA_DATA, 0, PTE_R | PTE_W | AD);
    return s;
  };
  const s1 = tables(1), s2 = tables(5);
  s1.map(VA_B, PA_B1, 0, PTE_R | PTE_X | AD);
  s2.map(VA_B, PA_B2, 0, PTE_R | PTE_X | AD);
  const pteB = s1.pteAddr(VA_B, 0);
  const set = (r: number, v: number): void => cpu.setRegNumber(r, v);
  set(20, pteB);
  const pte2 = { lo: mem.readU32(s2.pteAddr(VA_B, 0)), hi: mem.readU32(s2.pteAddr(VA_B, 0) + 4) };
  if (scenario !== 'unmap') cpu.setReg(21, pte2.lo, pte2.hi); // B -> PA_B2 in root 1 (same flags); unmap: 0
  set(23, scenario === 'guest-remap' || scenario === 'guest-remap-page' || scenario === 'unmap' || scenario === 'no-fence' ? 1 : 0);
  set(24, scenario === 'satp' ? 1 : 0);
  const satp2 = makeSatp(9, 2, s2.root / PAGE);
  cpu.setReg(25, satp2.lo, satp2.hi);
  set(26, scenario === 'no-fence' || scenario === 'satp' ? 1 : 0);
  set(27, scenario === 'guest-remap-page' ? 1 : 0);
  set(28, VA_B);
  const satp1 = makeSatp(9, 1, s1.root / PAGE);
  cpu.writeCsr(CSR.satp, satp1.lo, satp1.hi);
  cpu.level = 2;
  cpu.pc = VA_C;
  cpu.setTrapHandler(0, (cc, cause) => {
    if (cause === 9 && cc.getReg(17) === 0) { cc.completeEmulated(0); cc.stop('phase'); return; }
    if (cause === 9 && cc.getReg(17) === 1) { cc.completeEmulated(0); cc.stop('done'); return; }
    cc.stop(`cause ${cause} tval 0x${cc.readCsr(CSR.mtval).toString(16)} epc 0x${cc.readCsr(CSR.mepc).toString(16)}`);
  });
  return { cpu, mmu, mem, s1, v };
}

/**
 * The MMU's statistics, every counter, except that each VMID's modelled-TLB hits are one number:
 * how a hit was served (translate() after a soft-TLB miss: tlbHits, or the CPU's soft-TLB:
 * softTlbHits) depends on the engine's use of its soft-TLB (chained links, hub lookups, region
 * guards), not on the modelled TLB: engines js and wasm split them differently already with
 * one-page regions (under soft-TLB slot conflicts: 3 / 2394 and 1198 / 1199 of 2397).
 */
function mmuStats(mmu: Mmu): string {
  const d = mmu.stats.dump() as Record<string, unknown>;
  for (const [k, v] of Object.entries(d)) {
    if (!k.startsWith('vmid')) continue;
    const g = v as Record<string, number>;
    const { tlbHits, softTlbHits, ...rest } = g;
    d[k] = { modelledTlbHits: tlbHits! + softTlbHits!, ...rest };
  }
  return JSON.stringify(d);
}

function snapshot(r: Rig, reason: string) {
  r.cpu.syncMmuStats();
  return {
    reason, stopReason: r.cpu.stopReason, instret: r.cpu.instret, cycles: r.cpu.cycles, pc: r.cpu.pc, level: r.cpu.level,
    regs: Array.from({ length: 32 }, (_, i) => [r.cpu.getRegLo(i), r.cpu.getRegHi(i)]),
    data: [r.mem.readU32(PA_DATA), r.mem.readU32(PA_DATA + 4)],
    mmu: mmuStats(r.mmu),
  };
}

/** Runs a scenario to its end: after phase 1 the host remaps B itself in 'host-remap'. */
function play(opts: CpuOptions, scenario: Scenario, chunk: number, v: Va = LOW) {
  const r = rig(opts, scenario, v);
  const shots: ReturnType<typeof snapshot>[] = [];
  for (let guard = 0; guard < 100000; guard++) {
    const why = r.cpu.run(chunk);
    if (why === 'budget') continue;
    shots.push(snapshot(r, why));
    if (r.cpu.stopReason === 'phase') {
      if (scenario === 'host-remap') r.s1.map(v.B, PA_B2, 0, PTE_R | PTE_X | AD); // the guest's sfence.vma follows
      continue;
    }
    break;
  }
  return { r, shots };
}

const CONFIGS = [
  { name: 'js/1', opts: { engine: 'js', maxRegionPages: 1 } },
  { name: 'js/default', opts: { engine: 'js', regionReformHeat: 32 } }, // (formed again across pages soon: these runs are short)
  { name: 'wasm0/1', opts: { engine: 'wasm', wasmTierUp: 0, maxRegionPages: 1 } },
  { name: 'wasm0/default', opts: { engine: 'wasm', wasmTierUp: 0 } },
  { name: 'wasm50/1', opts: { engine: 'wasm', wasmTierUp: 50, maxRegionPages: 1 } },
  { name: 'wasm50/default', opts: { engine: 'wasm', wasmTierUp: 50 } },
];

/** Every config's run() results (state, memory, MMU statistics) equal the reference's (js, one-page regions). */
function expectSame(runs: { shots: unknown[] }[], what: unknown): void {
  for (let i = 1; i < runs.length; i++) expect([CONFIGS[i]!.name, what, runs[i]!.shots]).toEqual([CONFIGS[i]!.name, what, runs[0]!.shots]);
}

describe('regions across pages with Sv48 translation', () => {
  const sum = (n: number, k: number): number => n * k;
  for (const [where, v] of [['', LOW], [' (A and B on either side of 4 GiB)', AT4G]] as const) for (const scenario of ['guest-remap', 'guest-remap-page', 'host-remap', 'satp'] as const) {
    it(`${scenario}${where}: the loop entered on page A runs B's new code after the change; same state and MMU stats as one-page regions`, () => {
      for (const chunk of [1e7, 997]) {
        const runs = CONFIGS.map((cf) => play(cf.opts, scenario, chunk, v));
        const ref = runs[0]!.shots;
        expect(ref.map((s) => s.stopReason)).toEqual(['phase', 'done']);
        const last = ref[1]!;
        // phase 1 ran V1's B, phase 2 V2's: the change was seen
        expect(last.regs[11]![0]).toBe(sum(N, V1.k1) + sum(N, V2.k1));
        expect(last.regs[12]![0]).toBe(N * V1.k2 + 1 * V1.k2 + N * V2.k2); // (+ C's warm-up call of fB)
        expectSame(runs, chunk);
      }
    });
  }

  for (const [where, v] of [['', LOW], [' (A and B on either side of 4 GiB)', AT4G]] as const) it(`unmap${where}: the instruction page fault is taken at B's first PC with the same cause / tval / epc / instret as one-page regions`, () => {
    for (const chunk of [1e7, 997]) {
      const runs = CONFIGS.map((cf) => play(cf.opts, 'unmap', chunk, v));
      const ref = runs[0]!.shots;
      expect(ref.map((s) => s.stopReason)).toEqual(['phase', `cause 12 tval 0x${v.B.toString(16)} epc 0x${v.B.toString(16)}`]);
      // phase 2's first pass through L ran A's part (x10 counts it) and stopped at B
      expect(ref[1]!.regs[10]![0]).toBe(N + 1);
      expectSame(runs, chunk);
    }
  });

  it('no sfence.vma after the PTE store: whatever B the modelled TLB still gives, exactly as with one-page regions', () => {
    const runs = CONFIGS.map((cf) => play(cf.opts, 'no-fence', 1e7));
    expectSame(runs, 'no-fence');
  });

  it('the default forms regions across A and B here (fewer region transitions than one-page regions)', () => {
    const t = (c: Cpu): number => c.stats.chainHits + c.stats.exitsLookup + c.stats.hubLookups;
    const one = play(CONFIGS[0]!.opts, 'guest-remap', 1e7).r.cpu, def = play(CONFIGS[1]!.opts, 'guest-remap', 1e7).r.cpu;
    // (wasm: with tier-up, where regions are formed again across pages; a region compiled to wasm at once stays on its page)
    const wOne = play(CONFIGS[4]!.opts, 'guest-remap', 1e7).r.cpu, wDef = play(CONFIGS[5]!.opts, 'guest-remap', 1e7).r.cpu;
    // one-page regions: A -> B (fall-through), B -> fB... per iteration at least 2 transitions
    expect(t(one)).toBeGreaterThan(2 * 2 * N);
    expect(t(def) * 3).toBeLessThan(t(one));
    expect(t(wDef) * 3).toBeLessThan(t(wOne));
  });
});

describe('regions across pages: exec soft-TLB slot conflicts with translation on', () => {
  it('pages 0 / 32 and 1 / 33 share soft-TLB slots (32 entries): same state and the same MMU statistics (translations, modelled-TLB hits) as one-page regions', () => {
    const BASE_VA = 0x4000_0000, PA = RAM_BASE + 2 * MiB;
    const a = new Asm(BASE_VA);
    a.li(8, 300).li(9, VA_DATA);
    a.label('top').ref('f1', (o) => e.jal(1, o)).emit(e.addi(10, 10, 1)).ref('f32', (o) => e.jal(1, o)).emit(e.addi(8, 8, -1));
    a.ref('top', (o) => e.bne(8, 0, o)).li(17, 1).emit(e.ecall());
    a.padTo(BASE_VA + PAGE + 32).label('f1').emit(e.addi(11, 11, 2), e.jalr(0, 1, 0));
    a.padTo(BASE_VA + 33 * PAGE - 8).label('f32').emit(e.addi(12, 12, 3), e.ld(13, 9, 0)); // page 32 (slot of page 0)
    a.emit(e.add(13, 13, 12), e.sd(13, 9, 0), e.jalr(0, 1, 0)); // page 33 (slot of page 1)
    const words = a.finish();
    const run = (opts: CpuOptions, chunk: number) => {
      const engine = opts.engine ?? 'js';
      const mem = new PhysMemory({ base: RAM_BASE, size: 16 * MiB, engineArea: engine === 'wasm' ? engineAreaBytes(32) : 0 });
      const mmu = new Mmu(mem);
      const cpu = new Cpu(mem, { ...opts, mmu, tlbEntries: 32 });
      words.forEach((w, i) => mem.writeU32(PA + 4 * i, w));
      const s = new PtBuilder(mem, 1, bump(RAM_BASE + MiB, RAM_BASE + 2 * MiB));
      for (const pg of [0, 1, 32, 33]) s.map(BASE_VA + pg * PAGE, PA + pg * PAGE, 0, PTE_R | PTE_X | AD);
      s.map(VA_DATA, PA_DATA, 0, PTE_R | PTE_W | AD);
      const satp = makeSatp(9, 1, s.root / PAGE);
      cpu.writeCsr(CSR.satp, satp.lo, satp.hi);
      cpu.level = 2;
      cpu.pc = BASE_VA;
      cpu.setTrapHandler(0, (cc, cause) => { cc.stop(cause === 9 ? 'done' : `cause ${cause} tval 0x${cc.readCsr(CSR.mtval).toString(16)}`); });
      const shots: unknown[] = [];
      for (let i = 0; i < 100000; i++) {
        const why = cpu.run(chunk);
        if (why !== 'budget') { shots.push({ why, stop: cpu.stopReason }); break; }
      }
      const r = { cpu, mmu, mem, s1: s, v: LOW };
      shots.push(snapshot(r, 'end'));
      expect(cpu.engineStats().tlbEntries).toBe(32);
      return { shots, cpu };
    };
    for (const chunk of [1e7, 29]) {
      const runs = CONFIGS.map((cf) => run(cf.opts, chunk));
      const ref = runs[0]!.shots as ReturnType<typeof snapshot>[];
      expect((ref[0] as unknown as { stop: string }).stop).toBe('done');
      expect(ref[1]!.regs[12]![0]).toBe(900);
      expectSame(runs, chunk);
    }
  });
});

describe('regions across pages: random remap schedules (property)', () => {
  // Pages A (main, and the head of the loop L at its end) and B (L's tail and its callee fB) are
  // remapped by the host between phases to one of several physical copies (A: 2, B: 3) whose code
  // differs in the constants it adds; after each change the guest runs sfence.vma (all, or the
  // two pages) and the next phase runs L again. Every phase must run the copies mapped for it.
  const VA = 0x4000_0000, VB = VA + PAGE, VC = VA + 2 * PAGE, NP = 100;
  const A_INC = [1, 2], B_K1 = [1, 100, 10_000], B_K2 = [3, 300, 30_000];
  const PA_AV = [RAM_BASE + 2 * MiB, RAM_BASE + 2 * MiB + 0x10000], PA_BV = [RAM_BASE + 3 * MiB, RAM_BASE + 3 * MiB + 0x10000, RAM_BASE + 3 * MiB + 0x20000];
  const PA_CC = RAM_BASE + 5 * MiB;
  const pageA = (inc: number): number[] => {
    const a = new Asm(VA);
    a.label('phase').li(8, NP).ref('L', (o) => e.jal(1, o));
    a.li(17, 0).emit(e.ecall());
    a.ref('all', (o) => e.beq(27, 0, o)).emit(e.sfence(28, 0), e.sfence(29, 0)).ref('phase', (o) => e.jal(0, o));
    a.label('all').emit(e.sfence()).ref('phase', (o) => e.jal(0, o));
    a.padTo(VB - 8).label('L').emit(e.addi(8, 8, -1), e.addi(10, 10, inc));
    if (a.here !== VB) throw new Error('L must end page A');
    return a.finish();
  };
  const pageB = (k1: number, k2: number): number[] => {
    const b = new Asm(VB);
    b.li(16, k1).emit(e.add(11, 11, 16)).ref('fB', (o) => e.jal(5, o));
    b.emit(e.bne(8, 0, VB - 8 - b.here), e.jalr(0, 1, 0));
    b.padTo(VB + 0x200).label('fB').li(16, k2).emit(e.add(12, 12, 16), e.ld(13, 9, 0), e.add(13, 13, 12), e.sd(13, 9, 0), e.jalr(0, 5, 0));
    return b.finish();
  };
  const fB = VB + 0x200;

  type Phase = { a: number; b: number; pageFence: boolean };
  function play(opts: CpuOptions, first: Phase, phases: Phase[], chunk: number) {
    const engine = opts.engine ?? 'js';
    const mem = new PhysMemory({ base: RAM_BASE, size: 16 * MiB, engineArea: engine === 'wasm' ? engineAreaBytes(DEFAULT_TLB_ENTRIES) : 0 });
    const mmu = new Mmu(mem);
    const cpu = new Cpu(mem, { ...opts, mmu });
    A_INC.forEach((inc, i) => pageA(inc).forEach((w, k) => mem.writeU32(PA_AV[i]! + 4 * k, w)));
    B_K1.forEach((k1, i) => pageB(k1, B_K2[i]!).forEach((w, k) => mem.writeU32(PA_BV[i]! + 4 * k, w)));
    const c = new Asm(VC);
    c.li(9, VA_DATA).li(28, VA).li(29, VB);
    c.emit(e.jal(5, fB - c.here)); // fB (B into the exec soft-TLB)
    c.emit(e.jal(0, VA - c.here)); // main
    c.finish().forEach((w, k) => mem.writeU32(PA_CC + 4 * k, w));
    const s1 = new PtBuilder(mem, 1, bump(RAM_BASE + MiB, RAM_BASE + 2 * MiB));
    s1.map(VC, PA_CC, 0, PTE_R | PTE_X | AD);
    s1.map(VA_DATA, PA_DATA, 0, PTE_R | PTE_W | AD);
    const mapAB = (ph: Phase): void => { s1.map(VA, PA_AV[ph.a]!, 0, PTE_R | PTE_X | AD); s1.map(VB, PA_BV[ph.b]!, 0, PTE_R | PTE_X | AD); };
    mapAB(first);
    const satp = makeSatp(9, 1, s1.root / PAGE);
    cpu.writeCsr(CSR.satp, satp.lo, satp.hi);
    cpu.level = 2;
    cpu.pc = VC;
    let next = 0;
    cpu.setTrapHandler(0, (cc, cause) => {
      if (cause !== 9) { cc.stop(`cause ${cause} tval 0x${cc.readCsr(CSR.mtval).toString(16)}`); return; }
      cc.completeEmulated(0);
      if (next === phases.length) { cc.stop('done'); return; }
      const ph = phases[next++]!;
      mapAB(ph); // the guest's sfence.vma follows
      cc.setRegNumber(27, ph.pageFence ? 1 : 0);
    });
    let why = 'budget';
    for (let i = 0; i < 20_000 && why === 'budget'; i++) why = cpu.run(chunk);
    cpu.syncMmuStats();
    return { why, stop: cpu.stopReason, instret: cpu.instret, cycles: cpu.cycles, x: [10, 11, 12].map((r) => cpu.getReg(r)), mmu: mmuStats(mmu) };
  }

  it('every phase runs the copies of A and B mapped for it; same state and MMU statistics as one-page regions', () => {
    const phase = fc.record({ a: fc.integer({ min: 0, max: 1 }), b: fc.integer({ min: 0, max: 2 }), pageFence: fc.boolean() });
    let changedA = 0, changedB = 0;
    fc.assert(fc.property(phase, fc.array(phase, { minLength: 2, maxLength: 6 }), fc.constantFrom(1e7, 997, 61), (first, phases, chunk) => {
      const runs = CONFIGS.map((cf) => play(cf.opts, first, phases, chunk));
      const all = [first, ...phases];
      const want = [
        all.reduce((s, ph) => s + NP * A_INC[ph.a]!, 0),
        all.reduce((s, ph) => s + NP * B_K1[ph.b]!, 0),
        B_K2[first.b]! + all.reduce((s, ph) => s + NP * B_K2[ph.b]!, 0), // (+ C's call of fB)
      ];
      expect([runs[0]!.stop, runs[0]!.x]).toEqual(['done', want]);
      for (let i = 1; i < runs.length; i++) expect([CONFIGS[i]!.name, runs[i]]).toEqual([CONFIGS[i]!.name, runs[0]]);
      for (let i = 1; i < all.length; i++) { if (all[i]!.a !== all[i - 1]!.a) changedA++; if (all[i]!.b !== all[i - 1]!.b) changedB++; }
    }), { numRuns: Number(process.env.FC_RUNS ?? 12), seed: Number(process.env.FC_SEED ?? 0x5eed12) });
    expect([changedA > 0, changedB > 0]).toEqual([true, true]);
  });
});
