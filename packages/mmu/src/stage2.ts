// The stage-2 ("Sv48x32", docs/mmu.md section 4) table walk, shared by every agent that walks a
// domain's P2M: the CPU's MMU (Mmu, on a TLB / nested-TLB miss) and the PCIe subsystem's IOMMU
// (@tachyxx/iommu, on an IOTLB miss: the book's chapter 9, "the IOMMU translates device
// addresses with the same page tables as the CPU's MMU"). One PTE format, one walker: callers
// add their own permission, A/D and fault policy on top of the leaf it returns.
// Allocation-free: results go into a caller-owned Stage2Walk.
import type { PhysMemory } from '@tachyxx/isa';
import type { AssocCache } from './cache.js';
import { F_GLOBAL } from './cache.js';
import { PTE_R, PTE_V, PTE_W, PTE_X } from './pte.js';

/** walkStage2 result: a page-table reference fell outside RAM (an access fault for the CPU). */
export const S2_WALK_NOT_RAM = -1;
/** walkStage2 result: no valid leaf (invalid or reserved PTE, misaligned superpage): a guest-page fault. */
export const S2_WALK_INVALID = -2;

const SHIFT_POW = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;

/** What walkStage2 found besides the leaf's page address (reused by every walk). */
export class Stage2Walk {
  /** Leaf level: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB. */
  level = 0;
  /** The leaf PTE's low half (bits 7:0 are V/R/W/X/U/G/A/D; bit 8 the P2M's foreign mark). */
  pteLo = 0;
  /** Machine address of the leaf PTE (for an A/D update). */
  pteMa = 0;
  /** PTE reads this walk made. */
  refs = 0;
  /** Page-walk cache outcome: 0 = no cache, 1 = hit (the walk started below the root), 2 = miss. */
  pwc = 0;
}

/**
 * Walks the stage-2 table whose 128 KiB root is at machine address `root` for guest-physical
 * address `gpa` (< 2^53). `pwc` (or null) caches non-leaf PTEs, tagged by `tag` (the VMID / GSCID):
 * the walk starts at the deepest cached table and fills the cache on the way down.
 * Returns the machine address of the leaf's page base (exact; may exceed RAM: the caller checks),
 * or S2_WALK_NOT_RAM / S2_WALK_INVALID. Does not check permissions or A/D bits (the caller's
 * policy); `out` holds the leaf level and PTE.
 */
export function walkStage2(mem: PhysMemory, root: number, gpa: number, pwc: AssocCache | null, tag: number, out: Stage2Walk): number {
  out.refs = 0;
  let table = root;
  let start = 3;
  if (pwc !== null) {
    for (let l = 1; l <= 3; l++) {
      const i = pwc.find(l, Math.floor(gpa / SHIFT_POW[l]!), tag, 0, 0);
      if (i >= 0) { pwc.touch(i); table = pwc.a[i]!; start = l - 1; break; }
    }
    out.pwc = start < 3 ? 1 : 2;
  } else out.pwc = 0;
  const i32 = mem.i32;
  const base = mem.base;
  const size = mem.size;
  for (let l = start; l >= 0; l--) {
    const vpn = Math.floor(gpa / SHIFT_POW[l]!);
    const idx = l === 3 ? vpn : vpn & 511; // the root indexes GPA bits 52:39 (16384 PTEs)
    const pteMa = table + idx * 8;
    const off = pteMa - base;
    if (off < 0 || off + 8 > size) return S2_WALK_NOT_RAM;
    const lo = i32[off >>> 2]!;
    const hi = i32[(off >>> 2) + 1]!;
    out.refs++;
    if ((lo & PTE_V) === 0 || (lo & (PTE_R | PTE_W)) === PTE_W || (hi >>> 22) !== 0) return S2_WALK_INVALID;
    const ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
    if ((lo & (PTE_R | PTE_X)) === 0) {
      if (l === 0) return S2_WALK_INVALID;
      table = ppn * 4096;
      if (pwc !== null) {
        const i = pwc.insert(l, vpn, tag, 0, F_GLOBAL);
        pwc.a[i] = table;
      }
      continue;
    }
    if (l > 0 && ppn % (2 ** (9 * l)) !== 0) return S2_WALK_INVALID; // misaligned superpage
    out.level = l;
    out.pteLo = lo;
    out.pteMa = pteMa;
    return ppn * 4096;
  }
  throw new Error('unreachable: stage-2 walk fell through');
}
