import { describe, expect, it } from 'vitest';
import { Access } from '@tachyxx/isa';
import { Mmu, makeSatp, PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_W, PTE_X, type MmuOptions } from '../src/index.js';
import { AD, bump, newMem, PtBuilder, RAM_BASE, RWX, vaParts } from './helpers.js';

const MiB = 1024 * 1024;
const SUM = 1 << 18;
const MXR = 1 << 19;

function setup(opts: MmuOptions = {}, asid = 1) {
  const mem = newMem(16);
  const mmu = new Mmu(mem, { pageWalkCache: false, nestedTlb: false, ...opts });
  const s1 = new PtBuilder(mem, 1, bump(RAM_BASE, RAM_BASE + MiB));
  const satp = makeSatp(9, asid, s1.root / 4096);
  expect(mmu.writeSatp(satp.lo, satp.hi)).toBe(true);
  const tr = (va: number, acc: Access = Access.READ, level = 2) => {
    const [lo, hi] = vaParts(va);
    return mmu.translate(lo, hi, acc, level);
  };
  return { mem, mmu, s1, tr };
}

describe('stage 1 (Sv48)', () => {
  it('maps a 4 KiB page to its host offset and counts one walk of 4 references', () => {
    const { mmu, s1, tr } = setup();
    s1.map(0x4000_1000, RAM_BASE + 4 * MiB, 0, RWX | AD);
    expect(tr(0x4000_1234)).toBe(4 * MiB + 0x234);
    expect(tr(0x4000_1ff8, Access.WRITE)).toBe(4 * MiB + 0xff8);
    expect(tr(0x4000_1000, Access.EXEC)).toBe(4 * MiB);
    const s = mmu.stats.forVmid(0);
    expect(s.walks.value).toBe(1);
    expect(s.walkRefs.value).toBe(4);
    expect(s.tlbMisses.value).toBe(1);
    expect(s.tlbHits.value).toBe(2);
    expect(mmu.lastCycles).toBe(0);
  });

  it('charges tlbMiss + walkRef per reference on a walk', () => {
    const { mmu, s1, tr } = setup({ costs: { tlbMiss: 7, walkRef: 11 } });
    s1.map(0x1000, RAM_BASE + 4 * MiB, 0, RWX | AD);
    tr(0x1000);
    expect(mmu.lastCycles).toBe(7 + 4 * 11);
    expect(mmu.stats.forVmid(0).walkCycles.value).toBe(51);
  });

  it('maps 2 MiB and 1 GiB superpages with 3 and 2 references, and a 512 GiB page with 1', () => {
    const { mmu, s1, tr } = setup();
    s1.map(0x4020_0000, RAM_BASE + 2 * MiB, 1, PTE_R | AD);
    s1.map(0x8000_0000, RAM_BASE, 2, PTE_R | AD);
    s1.map(0x80_0000_0000, 0, 3, PTE_R | AD); // 512 GiB leaf: must be 512 GiB aligned, so PA 0 (not RAM)
    expect(tr(0x4020_0000 + 0x12345)).toBe(2 * MiB + 0x12345);
    expect(mmu.stats.forVmid(0).walkRefs.value).toBe(3);
    expect(tr(0x8000_0000 + 0x54321)).toBe(0x54321);
    expect(mmu.stats.forVmid(0).walkRefs.value).toBe(5);
    expect(tr(0x80_0000_0000 + 0x777)).toBe(-5); // translated to PA 0x777, which is not RAM
    expect(mmu.stats.forVmid(0).walkRefs.value).toBe(6);
    // one TLB entry covers the whole superpage
    expect(tr(0x4020_0000 + 0x1f_f000)).toBe(2 * MiB + 0x1f_f000);
    expect(mmu.stats.forVmid(0).walks.value).toBe(3);
  });

  it('raises a page fault for a misaligned superpage', () => {
    const { mmu, s1, tr } = setup();
    s1.map(0x4020_0000, RAM_BASE + 4096, 1, PTE_R | PTE_W | AD);
    s1.map(0x4000_0000 * 4, RAM_BASE + 2 * MiB, 2, PTE_R | AD); // 1 GiB leaf, 2 MiB aligned only
    expect(tr(0x4020_0000)).toBe(-13);
    expect(tr(0x4020_0000, Access.WRITE)).toBe(-15);
    expect(tr(0x1_0000_0000, Access.READ)).toBe(-13);
    expect(mmu.stats.forVmid(0).faults[13]!.value).toBe(2);
  });

  it('raises a page fault for a non-canonical VA without walking', () => {
    const { mmu, tr } = setup();
    expect(mmu.translate(0, 0x8000, Access.READ, 2)).toBe(-13); // bit 47 set, bits 63:48 clear
    expect(mmu.translate(0, 0x0001_0000, Access.WRITE, 2)).toBe(-15);
    expect(mmu.translate(0x1000, 0x7fff_ffff, Access.EXEC, 3)).toBe(-12);
    expect(mmu.stats.forVmid(0).walks.value).toBe(0);
    expect(tr(0x1000)).toBe(-13); // canonical but unmapped: walked
    expect(mmu.stats.forVmid(0).walks.value).toBe(1);
  });

  it('translates a canonical high-half VA (sign-extended from bit 47)', () => {
    const { s1, mmu } = setup();
    const va = 0xffff_8000_0000_0000 - 2 ** 64 + 2 ** 48; // the 48-bit form of 0xffff800000000000
    s1.map(va + 0x3000, RAM_BASE + 5 * MiB, 0, PTE_R | PTE_W | AD);
    expect(mmu.translate(0x3010, 0xffff8000 | 0, Access.READ, 2)).toBe(5 * MiB + 0x10);
  });

  it('raises page faults for V=0, W without R, reserved bits and a level-0 pointer', () => {
    const { s1, tr, mem } = setup();
    s1.map(0x1000, RAM_BASE + 4 * MiB, 0, PTE_W | AD); // W without R: reserved
    expect(tr(0x1000)).toBe(-13);
    const pa = s1.map(0x2000, RAM_BASE + 4 * MiB, 0, PTE_R | AD);
    mem.writeU32(pa + 4, 1 << 22); // bit 54
    expect(tr(0x2000)).toBe(-13);
    s1.map(0x3000, RAM_BASE + 4 * MiB, 0, 0); // V only: a pointer at level 0
    expect(tr(0x3000)).toBe(-13);
    expect(tr(0x4000, Access.WRITE)).toBe(-15); // nothing there
  });

  it('raises an access fault for a page table or a page outside RAM', () => {
    const { s1, tr, mmu } = setup();
    s1.map(0x1000, 0x1000_0000, 0, RWX | AD); // MA below RAM
    expect(tr(0x1000, Access.EXEC)).toBe(-1);
    const satp = makeSatp(9, 1, 0x40_0000); // root at 0x4_0000_0000: not RAM
    mmu.writeSatp(satp.lo, satp.hi);
    expect(tr(0x1000, Access.WRITE)).toBe(-7);
    expect(mmu.stats.forVmid(0).faults[7]!.value).toBe(1);
  });

  it('rejects an unsupported satp mode (WARL) and runs bare with mode 0', () => {
    const { mmu } = setup();
    const before = [mmu.satpLo, mmu.satpHi];
    expect(mmu.writeSatp(0, 8 << 28)).toBe(false);
    expect([mmu.satpLo, mmu.satpHi]).toEqual(before);
    expect(mmu.writeSatp(0, 0)).toBe(true);
    expect(mmu.translate(RAM_BASE + 0x40, 0, Access.READ, 2)).toBe(0x40);
    expect(mmu.translate(0x40, 0, Access.READ, 2)).toBe(-5);
    expect(mmu.stats.bareTranslations.value).toBe(2);
  });

  it('does not translate at PL0 and PL1', () => {
    const { mmu } = setup();
    expect(mmu.translate(RAM_BASE + 8, 0, Access.WRITE, 1)).toBe(8);
    expect(mmu.translate(RAM_BASE + 8, 0, Access.EXEC, 0)).toBe(8);
    expect(mmu.translate(0, 0x200000, Access.READ, 0)).toBe(-5);
  });
});

describe('stage-1 permissions', () => {
  // The rule, written from the spec (docs/mmu.md 3): U pages are reachable from PL2 only for
  // loads/stores with SUM and never executable there; PL3 reaches only U pages; loads need R, or X
  // with MXR; stores need W; fetches need X.
  function expected(perm: number, acc: Access, level: number, sum: boolean, mxr: boolean): boolean {
    const u = (perm & PTE_U) !== 0;
    if (level === 3 && !u) return false;
    if (level === 2 && u && (acc === Access.EXEC || !sum)) return false;
    if (acc === Access.READ) return (perm & PTE_R) !== 0 || (mxr && (perm & PTE_X) !== 0);
    if (acc === Access.WRITE) return (perm & PTE_W) !== 0;
    return (perm & PTE_X) !== 0;
  }
  const perms = [PTE_R, PTE_R | PTE_W, PTE_X, PTE_R | PTE_X, PTE_R | PTE_W | PTE_X];
  const cases: [number, Access, number, boolean, boolean][] = [];
  for (const base of perms) for (const u of [0, PTE_U]) for (const acc of [Access.READ, Access.WRITE, Access.EXEC])
    for (const level of [2, 3]) for (const sum of [false, true]) for (const mxr of [false, true]) cases.push([base | u, acc, level, sum, mxr]);

  it(`checks R/W/X/U x access x PL2/PL3 x SUM x MXR (${cases.length} cases), on a walk and on a TLB hit`, () => {
    const { mmu, s1, tr } = setup();
    let page = 0;
    for (const [perm, acc, level, sum, mxr] of cases) {
      const va = 0x10_0000 + page++ * 4096;
      s1.map(va, RAM_BASE + 4 * MiB, 0, perm | AD);
      mmu.writeSstatus((sum ? SUM : 0) | (mxr ? MXR : 0));
      const want = expected(perm, acc, level, sum, mxr) ? 4 * MiB : -[13, 15, 12][acc]!;
      expect(tr(va, acc, level), `perm ${perm} acc ${acc} PL${level} sum ${sum} mxr ${mxr} (walk)`).toBe(want);
      // now with an entry cached by a permitted access, when there is one
      for (const warm of [Access.READ, Access.WRITE, Access.EXEC]) {
        for (const wl of [2, 3]) {
          if (tr(va, warm, wl) >= 0) {
            expect(tr(va, acc, level), `perm ${perm} acc ${acc} PL${level} sum ${sum} mxr ${mxr} (hit after ${warm}@PL${wl})`).toBe(want);
          }
        }
      }
    }
  });

  it('invalidates the soft-TLB when SUM or MXR changes', () => {
    const { mmu } = setup();
    let all = 0;
    mmu.setInvalidator({ invalidatePage() {}, invalidateAll() { all++; } });
    mmu.writeSstatus(SUM);
    mmu.writeSstatus(SUM | 2); // SIE only: no change to SUM/MXR
    mmu.writeSstatus(SUM | MXR);
    expect(all).toBe(2);
  });
});

describe('accessed and dirty bits', () => {
  it('hardware mode sets A on a load and D on a store, re-walking a clean cached entry', () => {
    const { mmu, s1, tr } = setup({ adMode: 'hardware' });
    s1.map(0x5000, RAM_BASE + 4 * MiB, 0, PTE_R | PTE_W);
    expect(tr(0x5008)).toBe(4 * MiB + 8);
    expect(s1.pteLo(0x5000, 0) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(tr(0x5008)).toBe(4 * MiB + 8); // hit
    expect(tr(0x5010, Access.WRITE)).toBe(4 * MiB + 0x10); // D clear in the entry: a miss and a walk
    expect(s1.pteLo(0x5000, 0) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    const s = mmu.stats.forVmid(0);
    expect([s.walks.value, s.tlbHits.value, s.tlbMisses.value, s.adUpdates.value]).toEqual([2, 1, 2, 2]);
    expect(tr(0x5018, Access.WRITE)).toBe(4 * MiB + 0x18);
    expect(s.walks.value).toBe(2);
  });

  it('hardware mode leaves A/D alone when the access faults', () => {
    const { s1, tr } = setup({ adMode: 'hardware' });
    s1.map(0x5000, RAM_BASE + 4 * MiB, 0, PTE_R);
    expect(tr(0x5000, Access.WRITE)).toBe(-15);
    expect(s1.pteLo(0x5000, 0) & (PTE_A | PTE_D)).toBe(0);
  });

  it('fault mode raises a page fault for A=0, and for a store with D=0', () => {
    const { mmu, s1, tr } = setup({ adMode: 'fault' });
    s1.map(0x5000, RAM_BASE + 4 * MiB, 0, PTE_R | PTE_W);
    s1.map(0x6000, RAM_BASE + 4 * MiB, 0, PTE_R | PTE_W | PTE_A);
    expect(tr(0x5000)).toBe(-13);
    expect(tr(0x6000)).toBe(4 * MiB);
    expect(tr(0x6000, Access.WRITE)).toBe(-15);
    expect(s1.pteLo(0x5000, 0) & (PTE_A | PTE_D)).toBe(0);
    expect(mmu.stats.forVmid(0).adUpdates.value).toBe(0);
  });
});

describe('global mappings', () => {
  it('a G page is shared by every ASID of the VMID and survives sfence.vma with an ASID', () => {
    const { mmu, s1, tr } = setup({}, 1);
    s1.map(0x7000, RAM_BASE + 4 * MiB, 0, PTE_R | PTE_G | AD);
    tr(0x7000);
    const satp2 = makeSatp(9, 2, s1.root / 4096);
    mmu.writeSatp(satp2.lo, satp2.hi);
    expect(tr(0x7000)).toBe(4 * MiB);
    mmu.sfenceVma(0, 0, 2, true, false);
    expect(tr(0x7000)).toBe(4 * MiB);
    expect(mmu.stats.forVmid(0).walks.value).toBe(1);
    mmu.sfenceVma(0, 0, 0, true, true);
    tr(0x7000);
    expect(mmu.stats.forVmid(0).walks.value).toBe(2);
  });
});
