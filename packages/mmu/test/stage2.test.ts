import { describe, expect, it } from 'vitest';
import { Access } from '@tachyxx/isa';
import { Mmu, makeP1gatp, makeSatp, PTE_A, PTE_D, PTE_R, PTE_W, PTE_X, type MmuOptions } from '../src/index.js';
import { AD, bump, newMem, PtBuilder, RAM_BASE, RWX, vaParts } from './helpers.js';

const MiB = 1024 * 1024;
const GUEST = 0x8000_0000; // guest-physical RAM base
const DELTA = 4 * MiB; // guest RAM GPA g lives at MA g + DELTA

/** A domain: guest RAM [GUEST, GUEST + 4 MiB) at MA + 4 MiB, mapped by 4 KiB (or 2 MiB) stage-2 leaves. */
function setup2d(opts: MmuOptions = {}, s2Level = 0, vmid = 1) {
  const mem = newMem(16);
  const mmu = new Mmu(mem, { pageWalkCache: false, nestedTlb: false, ...opts });
  const s2 = new PtBuilder(mem, 2, bump(RAM_BASE, RAM_BASE + 2 * MiB));
  const step = s2Level === 0 ? 4096 : 2 * MiB;
  for (let g = 0; g < 4 * MiB; g += step) s2.map(GUEST + g, RAM_BASE + DELTA + g, s2Level, RWX | AD);
  const s1 = new PtBuilder(mem, 1, bump(GUEST, GUEST + MiB), (gpa) => gpa + DELTA);
  const g = makeP1gatp(9, vmid, s2.root / 4096);
  expect(mmu.writeP1gatp(g.lo, g.hi)).toBe(true);
  const satp = makeSatp(9, 1, s1.root / 4096);
  expect(mmu.writeSatp(satp.lo, satp.hi)).toBe(true);
  const tr = (va: number, acc: Access = Access.READ, level = 2) => {
    const [lo, hi] = vaParts(va);
    return mmu.translate(lo, hi, acc, level);
  };
  const gpaOf = () => mmu.faultGpaHi * 4294967296 + (mmu.faultGpaLo >>> 0);
  return { mem, mmu, s1, s2, tr, gpaOf, stats: mmu.stats.forVmid(vmid) };
}

/** MA host offset of guest-physical `gpa` in setup2d. */
const hostOf = (gpa: number) => gpa - GUEST + DELTA;

describe('two-stage translation', () => {
  it('a cold 2D walk costs exactly 24 references: 20 stage-2 and 4 stage-1', () => {
    const { s1, tr, stats, mmu } = setup2d();
    s1.map(0x4000_0000, GUEST + 2 * MiB, 0, RWX | AD);
    expect(tr(0x4000_0123)).toBe(hostOf(GUEST + 2 * MiB + 0x123));
    expect(stats.walkRefs.value).toBe(24);
    expect(stats.walkRefsS1.value).toBe(4);
    expect(stats.walkRefsS2.value).toBe(20);
    expect(stats.refsPerWalk.counts[24]).toBe(1);
    expect(mmu.lastCycles).toBe(5 + 24 * 20);
  });

  it('stage-2 2 MiB leaves make a cold 2D walk (4+1)*(3+1)-1 = 19 references', () => {
    const { s1, tr, stats } = setup2d({}, 1);
    s1.map(0x4000_0000, GUEST + 2 * MiB, 0, RWX | AD);
    expect(tr(0x4000_0000)).toBe(hostOf(GUEST + 2 * MiB));
    expect(stats.walkRefs.value).toBe(19);
  });

  it('stage 1 off, stage 2 on: 4 references, the VA is the GPA', () => {
    const { tr, stats, mmu } = setup2d();
    mmu.writeSatp(0, 0);
    expect(tr(GUEST + 0x1238, Access.WRITE)).toBe(hostOf(GUEST + 0x1238));
    expect(stats.walkRefs.value).toBe(4);
    expect(mmu.translate(0, 0x200000, Access.READ, 2)).toBe(-21); // GPA beyond 53 bits
  });

  it('page-walk cache and nested TLB cut the references of later walks', () => {
    // A page next to a cold one (same tables), and the same page again after sfence.vma.
    const run = (pageWalkCache: boolean, nestedTlb: boolean) => {
      const { s1, tr, stats, mmu } = setup2d({ pageWalkCache, nestedTlb });
      s1.map(0x4000_0000, GUEST + 2 * MiB, 0, RWX | AD);
      s1.map(0x4000_1000, GUEST + 2 * MiB + 4096, 0, RWX | AD);
      const out: number[] = [];
      for (const va of [0x4000_0000, 0x4000_1000]) {
        const before = stats.walkRefs.value;
        expect(tr(va)).toBeGreaterThanOrEqual(0);
        out.push(stats.walkRefs.value - before);
      }
      mmu.sfenceVma(0x4000_1000, 0, 0, false, true);
      const before = stats.walkRefs.value;
      tr(0x4000_1000);
      out.push(stats.walkRefs.value - before);
      return out;
    };
    // Cold: 24 without walk caches. With the page-walk cache the walk's own stage-2 walks of the
    // four stage-1 table pages (all in one 2 MiB GPA region) share upper levels: 4+1, then 1+1
    // three times, then 2 for the data GPA (another 2 MiB region of the same 1 GiB) = 13.
    expect(run(false, false)).toEqual([24, 24, 24]);
    expect(run(true, false)).toEqual([13, 3, 3]);
    expect(run(false, true)).toEqual([24, 8, 4]);
    expect(run(true, true)).toEqual([13, 2, 1]);
  });

  it('reports a stage-2 fault on the final GPA with its cause and the GPA', () => {
    const { s1, s2, tr, gpaOf, stats } = setup2d();
    s1.map(0x1000, 0x9000_0000, 0, RWX | AD); // GPA not in the P2M
    expect(tr(0x1abc)).toBe(-21);
    expect(gpaOf()).toBe(0x9000_0abc);
    expect(tr(0x1abc, Access.WRITE)).toBe(-23);
    expect(tr(0x1abc, Access.EXEC)).toBe(-20);
    s2.map(0x9000_0000, RAM_BASE + 0x10000, 0, PTE_R | AD); // read-only, no execute
    expect(tr(0x1abc)).toBe(0x10abc);
    expect(tr(0x1abc, Access.WRITE)).toBe(-23);
    expect(tr(0x1abc, Access.EXEC)).toBe(-20);
    expect(gpaOf()).toBe(0x9000_0abc);
    expect([stats.faults[20]!.value, stats.faults[21]!.value, stats.faults[23]!.value]).toEqual([2, 1, 2]);
  });

  it('a stage-2 fault while reading a stage-1 PTE takes the cause of the access and the PTE\'s GPA', () => {
    const { s1, tr, gpaOf, mem } = setup2d();
    s1.map(0x4000_0000, GUEST + 2 * MiB, 0, RWX | AD);
    // point the level-2 PTE (for VA 0x4000_0000) at a table outside the P2M
    const l2 = s1.pteAddr(0x4000_0000, 2);
    mem.writeU32(l2 + DELTA, ((0xa000_0000 / 4096) * 1024 + 1) >>> 0);
    mem.writeU32(l2 + DELTA + 4, Math.floor((0xa000_0000 / 4096) / 4194304));
    const l1Index = (0x4000_0000 / 2 ** 21) & 511;
    for (const [acc, cause] of [[Access.READ, 21], [Access.WRITE, 23], [Access.EXEC, 20]] as const) {
      expect(tr(0x4000_0000, acc)).toBe(-cause);
      expect(gpaOf()).toBe(0xa000_0000 + l1Index * 8);
    }
  });

  it('raises a guest-page fault for a misaligned stage-2 superpage and an access fault for an MA outside RAM', () => {
    const { s1, s2, tr } = setup2d();
    s2.map(0x1_0000_0000, RAM_BASE + 4096, 1, RWX | AD);
    s2.map(0x1_0020_0000, 0x2_0000_0000, 1, RWX | AD);
    s1.map(0x1000, 0x1_0000_0000, 0, RWX | AD);
    s1.map(0x2000, 0x1_0020_0000, 0, RWX | AD);
    expect(tr(0x1000)).toBe(-21);
    expect(tr(0x2000, Access.WRITE)).toBe(-7);
  });

  it('uses all 53 GPA bits: the 128 KiB root indexes GPA bits 52:39', () => {
    const { s1, s2, tr, gpaOf } = setup2d();
    const high = 2 ** 52 + 2 ** 45 + 0x5000;
    s2.map(high, RAM_BASE + 0x20000, 0, RWX | AD);
    s1.map(0x3000, high, 0, RWX | AD);
    expect(tr(0x3008)).toBe(0x20008);
    s1.map(0x4000, high + 4096, 0, RWX | AD);
    expect(tr(0x4008)).toBe(-21);
    expect(gpaOf()).toBe(high + 4096 + 8);
  });

  it('an unreachable stage-2 root is an access fault', () => {
    const { mmu, tr, s1 } = setup2d();
    s1.map(0x1000, GUEST, 0, RWX | AD);
    const g = makeP1gatp(9, 1, 0x100_0000);
    mmu.writeP1gatp(g.lo, g.hi);
    expect(tr(0x1000)).toBe(-5);
  });

  it('forces the stage-2 root PPN to 128 KiB alignment and rejects unknown modes', () => {
    const { mmu } = setup2d();
    expect(mmu.writeP1gatp(0x12345, (9 << 28) | (5 << 12))).toBe(true);
    expect(mmu.p1gatpLo).toBe(0x12340);
    expect(mmu.currentVmid).toBe(5);
    expect(mmu.writeP1gatp(0, 8 << 28)).toBe(false);
    expect(mmu.currentVmid).toBe(5);
  });

  it('hardware A/D under stage 2: the stage-1 PTE write needs stage-2 W on the table page', () => {
    const { s1, s2, tr, gpaOf, stats } = setup2d();
    s1.map(0x5000, GUEST + 2 * MiB, 0, PTE_R | PTE_W); // A clear
    const leafGpa = s1.pteAddr(0x5000, 0);
    const page = Math.floor(leafGpa / 4096) * 4096;
    expect(tr(0x5000)).toBeGreaterThanOrEqual(0);
    expect(s1.pteLo(0x5000, 0) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(stats.walkRefs.value).toBe(28); // 24 + the PTE's GPA translated again for the write
    s2.map(page, page + DELTA, 0, PTE_R | AD); // the table page becomes read-only in stage 2
    s1.map(0x6000, GUEST + 2 * MiB, 0, PTE_R | PTE_W);
    expect(tr(0x6000)).toBe(-21);
    expect(gpaOf()).toBe(s1.pteAddr(0x6000, 0));
  });

  it('hardware A/D sets A and D in stage-2 leaves too; fault mode raises guest-page faults', () => {
    const hw = setup2d({ adMode: 'hardware' });
    hw.s2.map(0x9000_0000, RAM_BASE + 0x10000, 0, PTE_R | PTE_W);
    hw.s1.map(0x1000, 0x9000_0000, 0, RWX | AD);
    expect(hw.tr(0x1000, Access.WRITE)).toBe(0x10000);
    expect(hw.s2.pteLo(0x9000_0000, 0) & AD).toBe(AD);
    const f = setup2d({ adMode: 'fault' });
    f.s2.map(0x9000_0000, RAM_BASE + 0x10000, 0, PTE_R | PTE_W | PTE_A);
    f.s1.map(0x1000, 0x9000_0000, 0, RWX | AD);
    expect(f.tr(0x1000)).toBe(0x10000);
    expect(f.tr(0x1000, Access.WRITE)).toBe(-23);
  });

  it('PL1 turns stage 2 off for a domain (mode 0): GPA = MA, with the VMID still tagging entries', () => {
    const mem = newMem(16);
    const mmu = new Mmu(mem);
    const s1 = new PtBuilder(mem, 1, bump(RAM_BASE, RAM_BASE + MiB));
    const g = makeP1gatp(0, 3, 0);
    mmu.writeP1gatp(g.lo, g.hi);
    const satp = makeSatp(9, 0, s1.root / 4096);
    mmu.writeSatp(satp.lo, satp.hi);
    s1.map(0x1000, RAM_BASE + 4 * MiB, 0, PTE_R | PTE_X | AD);
    expect(mmu.translate(0x1000, 0, Access.EXEC, 2)).toBe(4 * MiB);
    expect(mmu.stats.forVmid(3).walkRefs.value).toBe(4);
    expect(mmu.translate(RAM_BASE, 0, Access.READ, 1)).toBe(0); // PL1 itself is untranslated
  });
});
