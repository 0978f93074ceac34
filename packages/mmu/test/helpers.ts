// Test helpers: a page-table builder over a PhysMemory, address splitting, a recording invalidator.
import { PhysMemory } from '@tachyxx/isa';
import { makePte, PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X, S2_ROOT_PAGES, type SoftTlbInvalidator } from '../src/index.js';

export const RAM_BASE = 0x8000_0000;
export const TWO32 = 4294967296;
export const RWX = PTE_R | PTE_W | PTE_X;
export const AD = PTE_A | PTE_D;

/** (lo, hi) int32 halves of a 64-bit VA given as a 48-bit number (sign-extended from bit 47). */
export function vaParts(va: number): [number, number] {
  let hi = Math.floor(va / TWO32);
  if (va >= 2 ** 47) hi = (hi | 0xffff0000) | 0;
  return [(va % TWO32) | 0, hi | 0];
}

/**
 * Builds one stage's tables. Table pages come from `alloc` (addresses in the table's own space:
 * GPA for stage 1, MA for stage 2) and are written at `toMa(address)`.
 */
export class PtBuilder {
  readonly root: number;
  constructor(
    private readonly mem: PhysMemory,
    readonly stage: 1 | 2,
    private readonly alloc: (pages: number) => number,
    private readonly toMa: (addr: number) => number = (a) => a,
  ) {
    this.root = alloc(stage === 2 ? S2_ROOT_PAGES : 1);
  }

  private index(addr: number, level: number): number {
    const vpn = Math.floor(addr / 2 ** (12 + 9 * level));
    return level === 3 && this.stage === 2 ? vpn : vpn & 511;
  }

  private read(addr: number): { lo: number; hi: number } {
    const ma = this.toMa(addr);
    return { lo: this.mem.readU32(ma) | 0, hi: this.mem.readU32(ma + 4) | 0 };
  }

  /** Address (table space) of the PTE for `addr` at `level`, creating intermediate tables. */
  pteAddr(addr: number, level: number): number {
    let table = this.root;
    for (let l = 3; l > level; l--) {
      const pa = table + this.index(addr, l) * 8;
      let { lo, hi } = this.read(pa);
      if ((lo & PTE_V) === 0) {
        const t = this.alloc(1);
        ({ lo, hi } = makePte(t / 4096, PTE_V));
        this.writePte(pa, lo, hi);
      }
      if ((lo & (PTE_R | PTE_X)) !== 0) throw new Error(`a leaf already maps ${addr.toString(16)} at level ${l}`);
      table = ((hi & 0x3fffff) * 4194304 + (lo >>> 10)) * 4096;
    }
    return table + this.index(addr, level) * 8;
  }

  writePte(addr: number, lo: number, hi: number): void {
    const ma = this.toMa(addr);
    this.mem.writeU32(ma, lo >>> 0);
    this.mem.writeU32(ma + 4, hi >>> 0);
  }

  /** Maps the page of size level (0 4K, 1 2M, 2 1G, 3 512G) at `addr` to `target` with `flags` (V added). */
  map(addr: number, target: number, level: number, flags: number): number {
    const pa = this.pteAddr(addr, level);
    const { lo, hi } = makePte(Math.floor(target / 4096), flags | PTE_V);
    this.writePte(pa, lo, hi);
    return pa;
  }

  /** Reads back the PTE at `addr`'s leaf of `level` (low 32 bits). */
  pteLo(addr: number, level: number): number {
    return this.read(this.pteAddr(addr, level)).lo;
  }
}

/** A bump allocator of pages in [start, end). */
export function bump(start: number, end: number): (pages: number) => number {
  let next = start;
  return (pages) => {
    const align = pages * 4096;
    next = Math.ceil(next / align) * align;
    const a = next;
    next += pages * 4096;
    if (next > end) throw new Error('page-table arena exhausted');
    return a;
  };
}

export class RecordingInvalidator implements SoftTlbInvalidator {
  /** Invalidated pages as 48-bit VAs (the inverse of vaParts). */
  pages: number[] = [];
  all = 0;
  invalidatePage(lo: number, hi: number): void {
    this.pages.push((hi & 0xffff) * TWO32 + (lo >>> 0));
  }
  invalidateAll(): void {
    this.all++;
  }
}

export function newMem(mib = 16): PhysMemory {
  return new PhysMemory({ base: RAM_BASE, size: mib * 1024 * 1024 });
}
