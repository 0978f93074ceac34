// Property: on random page tables (both stages, every kind of bad PTE), translate() — with its TLB,
// page-walk caches and nested TLB in any configuration — agrees with a plain reference walk.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Access, type PhysMemory } from '@tachyxx/isa';
import { Mmu, makeP1gatp, makeSatp, PTE_V } from '../src/index.js';
import { bump, newMem, PtBuilder, RAM_BASE, vaParts } from './helpers.js';

const MiB = 1024 * 1024;
const GUEST = 0x8000_0000;
const DELTA = 4 * MiB;

/** The reference: the spec of docs/mmu.md, step by step, straight from memory. Fault mode for A/D. */
function reference(mem: PhysMemory, s1Root: number | null, s2Root: number | null, va: number, acc: Access, level: number, sum: boolean, mxr: boolean) {
  const PF = [13, 15, 12][acc]!, GPF = [21, 23, 20][acc]!, AF = [5, 7, 1][acc]!;
  let faultGpa = -1;
  const read = (ma: number): [number, number] | null =>
    mem.contains(ma, 8) ? [mem.readU32(ma), mem.readU32(ma + 4)] : null;
  const bits = (lo: number, b: number) => (lo & b) !== 0;
  // stage 2: returns MA, or -cause
  const stage2 = (gpa: number, need: Access): number => {
    if (s2Root === null) return gpa;
    if (gpa >= 2 ** 53) { faultGpa = gpa; return -GPF; }
    let table = s2Root;
    for (let l = 3; l >= 0; l--) {
      const vpn = Math.floor(gpa / 2 ** (12 + 9 * l));
      const pte = read(table + (l === 3 ? vpn : vpn % 512) * 8);
      if (pte === null) return -AF;
      const [lo, hi] = pte;
      const ppn = (hi % 2 ** 22) * 2 ** 22 + Math.floor(lo / 1024);
      if (!bits(lo, 1) || (bits(lo, 4) && !bits(lo, 2)) || hi >= 2 ** 22) { faultGpa = gpa; return -GPF; }
      if (!bits(lo, 2) && !bits(lo, 8)) {
        if (l === 0) { faultGpa = gpa; return -GPF; }
        table = ppn * 4096;
        continue;
      }
      const ok = need === Access.READ ? bits(lo, 2) : need === Access.WRITE ? bits(lo, 4) : bits(lo, 8);
      if (ppn % 2 ** (9 * l) !== 0 || !ok || !bits(lo, 64) || (need === Access.WRITE && !bits(lo, 128))) { faultGpa = gpa; return -GPF; }
      if (ppn >= 2 ** 41) return -AF;
      return ppn * 4096 + (gpa % 2 ** (12 + 9 * l));
    }
    throw new Error('unreachable');
  };
  let gpa = va;
  if (s1Root !== null) {
    let table = s1Root;
    let found = false;
    for (let l = 3; l >= 0 && !found; l--) {
      const pteGpa = table + (Math.floor(va / 2 ** (12 + 9 * l)) % 512) * 8;
      const ma = stage2(pteGpa, Access.READ);
      if (ma < 0) return { r: ma, faultGpa };
      const pte = read(ma);
      if (pte === null) return { r: -AF, faultGpa };
      const [lo, hi] = pte;
      const ppn = (hi % 2 ** 22) * 2 ** 22 + Math.floor(lo / 1024);
      if (!bits(lo, 1) || (bits(lo, 4) && !bits(lo, 2)) || hi >= 2 ** 22) return { r: -PF, faultGpa };
      if (!bits(lo, 2) && !bits(lo, 8)) {
        if (l === 0) return { r: -PF, faultGpa };
        table = ppn * 4096;
        continue;
      }
      const u = bits(lo, 16);
      let ok = acc === Access.READ ? bits(lo, 2) || (mxr && bits(lo, 8)) : acc === Access.WRITE ? bits(lo, 4) : bits(lo, 8);
      if (level === 3 && !u) ok = false;
      if (level === 2 && u && (!sum || acc === Access.EXEC)) ok = false;
      if (ppn % 2 ** (9 * l) !== 0 || !ok || !bits(lo, 64) || (acc === Access.WRITE && !bits(lo, 128))) return { r: -PF, faultGpa };
      gpa = ppn * 4096 + (va % 2 ** (12 + 9 * l));
      found = true;
    }
  }
  const ma = stage2(gpa, acc);
  if (ma < 0) return { r: ma, faultGpa };
  return { r: mem.contains(ma) ? ma - RAM_BASE : -AF, faultGpa };
}

const flags = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 255 }).map((f) => f | PTE_V) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const vaIdx = fc.record({ l3: fc.constantFrom(0, 1, 511), l2: fc.integer({ min: 0, max: 1 }), l1: fc.integer({ min: 0, max: 2 }), l0: fc.integer({ min: 0, max: 3 }) });
const toVa = (v: { l3: number; l2: number; l1: number; l0: number }) => v.l3 * 2 ** 39 + v.l2 * 2 ** 30 + v.l1 * 2 ** 21 + v.l0 * 4096;
const s1Map = fc.record({
  va: vaIdx,
  level: fc.integer({ min: 0, max: 2 }),
  flags,
  target: fc.oneof(
    fc.integer({ min: 0, max: 1023 }).map((p) => GUEST + p * 4096),
    fc.constantFrom(GUEST, GUEST + 2 * MiB, 0x9000_0000, 2 ** 52, 0),
  ),
});
const s2Region = fc.record({
  kind: fc.constantFrom('leaf2M', 'pages', 'none', 'misaligned'),
  flags,
  pageFlags: fc.array(flags, { minLength: 8, maxLength: 8 }),
});
const query = fc.record({
  va: vaIdx,
  gpaPage: fc.integer({ min: 0, max: 1023 }),
  off: fc.integer({ min: 0, max: 4095 }),
  acc: fc.constantFrom(Access.READ, Access.WRITE, Access.EXEC),
  level: fc.constantFrom(2, 3),
  sum: fc.boolean(),
  mxr: fc.boolean(),
});
const universe = fc.record({
  s1on: fc.boolean(),
  s2on: fc.boolean(),
  s1Maps: fc.array(s1Map, { maxLength: 24 }),
  s2Regions: fc.array(s2Region, { minLength: 2, maxLength: 2 }),
  tagged: fc.boolean(),
  pageWalkCache: fc.boolean(),
  nestedTlb: fc.boolean(),
  entries: fc.constantFrom(1, 2, 4, 64),
  queries: fc.array(query, { minLength: 1, maxLength: 40 }),
});

describe('translate() against a reference walk', () => {
  it('agrees on random page tables, every TLB configuration and random accesses', () => {
    fc.assert(
      fc.property(universe, (u) => {
        const mem = newMem(16);
        const mmu = new Mmu(mem, {
          adMode: 'fault', tagged: u.tagged, pageWalkCache: u.pageWalkCache, nestedTlb: u.nestedTlb,
          entries: u.entries, ways: Math.min(2, u.entries), pwcEntries: 4, nestedTlbEntries: 4,
        });
        let s2Root: number | null = null;
        if (u.s2on) {
          const s2 = new PtBuilder(mem, 2, bump(RAM_BASE, RAM_BASE + 2 * MiB));
          s2Root = s2.root;
          // GPA [GUEST, GUEST + 4 MiB): two 2 MiB regions, the first 8 pages of a 'pages' region mapped
          u.s2Regions.forEach((r, i) => {
            const g = GUEST + i * 2 * MiB;
            if (r.kind === 'leaf2M') s2.map(g, g + DELTA, 1, r.flags);
            else if (r.kind === 'misaligned') s2.map(g, g + DELTA + 4096, 1, r.flags);
            else if (r.kind === 'pages') r.pageFlags.forEach((f, p) => s2.map(g + p * 4096, g + DELTA + p * 4096, 0, f));
          });
          // the stage-1 tables' pages (GUEST + 1 MiB ...) are always mapped readable
          for (let p = 0; p < 16; p++) {
            try { s2.map(GUEST + MiB + p * 4096, GUEST + MiB + DELTA + p * 4096, 0, 0xff); } catch { /* under a 2 MiB leaf */ }
          }
          const g = makeP1gatp(9, 1, s2.root / 4096);
          mmu.writeP1gatp(g.lo, g.hi);
        }
        let s1Root: number | null = null;
        if (u.s1on) {
          const s1 = new PtBuilder(mem, 1, bump(GUEST + MiB, GUEST + MiB + 16 * 4096), (g) => g + (u.s2on ? DELTA : 0));
          s1Root = s1.root;
          for (const m of u.s1Maps) {
            try { s1.map(toVa(m.va), m.target, m.level, m.flags); } catch { /* a superpage leaf is in the way */ }
          }
          const satp = makeSatp(9, 1, s1.root / 4096);
          mmu.writeSatp(satp.lo, satp.hi);
        }
        for (const q of u.queries) {
          const va = u.s1on ? toVa(q.va) + q.off : GUEST + q.gpaPage * 4096 + q.off;
          mmu.writeSstatus((q.sum ? 1 << 18 : 0) | (q.mxr ? 1 << 19 : 0));
          const want = reference(mem, s1Root, s2Root, va, q.acc, q.level, q.sum, q.mxr);
          const [lo, hi] = vaParts(va);
          const got = mmu.translate(lo, hi, q.acc, q.level);
          expect(got, `va ${va.toString(16)} acc ${q.acc} PL${q.level}`).toBe(want.r);
          if (got <= -20) expect(mmu.faultGpaHi * 2 ** 32 + (mmu.faultGpaLo >>> 0)).toBe(want.faultGpa);
        }
      }),
      { numRuns: 400, seed: 20250101 },
    );
  });
});
