/**
 * A domain's P2M: its stage-2 page table in machine memory, in the Tachyxx "Sv48x32" format
 * (docs/mmu.md section 4): a 128 KiB root (32 contiguous frames, 128 KiB aligned, 16384 PTEs,
 * GPA bits 52:39), then three levels of 512 PTEs (bits 38:30, 29:21, 20:12). Every table frame
 * is owned by DOMID_XEN (counted against the host, not the guest) and freed by `teardown`.
 *
 * Leaves carry V|R/W/X|A|D (A and D preset, so the walker never has to write the P2M, and the
 * `fault` A/D mode never faults on it). 2 MiB leaves are used by `map(..., order 9)` when the
 * `superpages` option is on and both frame numbers are 2 MiB aligned; unmapping one 4 KiB page
 * inside a 2 MiB leaf first splits the leaf into a level-0 table ("shatters" it).
 *
 * Interior tables are kept until teardown (as Xen on Arm does), so changing a mapping never
 * changes a pointer PTE that a page-walk cache may hold: a per-GPA flush is always enough.
 */
import { DOMID_XEN } from '@tachyxx/abi';
import { makeP1gatp, makePte, P1GATP_MODE_SV48X32, PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X, S2_ROOT_EXTRA_BITS, S2_ROOT_PAGES } from '@tachyxx/mmu';
import { M2P_INVALID } from './m2p.js';
import { PAGE_SIZE, type MachineMemory } from './machine-memory.js';

/** Stage-2 permissions of a mapping (the PTE's R/W/X bits). */
export const P2M_R = PTE_R;
export const P2M_W = PTE_W;
export const P2M_X = PTE_X;
export const P2M_RW = PTE_R | PTE_W;
export const P2M_RWX = PTE_R | PTE_W | PTE_X;
/**
 * A software bit of the leaf (PTE RSW bit 8, ignored by the walker): the page is a grant mapping
 * of another domain's frame (Xen's p2m_grant_map_rw / _ro type). Such leaves never touch the
 * M2P (the frame's M2P entry stays its owner's), and guest access accepts them although the
 * domain does not own the frame. OR it into `map`'s perms.
 */
export const P2M_FOREIGN = 1 << 8;
/** Superpage order of a 2 MiB leaf. */
export const P2M_SUPERPAGE_ORDER = 9;
/** GFNs are below 2^41 (53-bit GPAs). */
export const P2M_MAX_GFN = 2 ** 41;
/** `lookup` result for an unmapped GFN. */
export const P2M_INVALID_MFN = -1;

export interface P2mOptions {
  /** Map 2 MiB leaves for aligned order-9 mappings (fewer walk references). Default false. */
  readonly superpages?: boolean;
  /** NUMA node for the table frames. */
  readonly node?: number;
  /**
   * A mirror of another P2M kept by a different agent (the IOMMU's private I/O page tables,
   * @tachyxx/iommu): it never touches the M2P and never calls the machine's map / unmap hooks
   * (its owner invalidates its own caches). Default false.
   */
  readonly mirror?: boolean;
}

const LEVEL_SHIFT = [0, 9, 18, 27] as const; // GFN bit offset of each level's index
/** 2 ** LEVEL_SHIFT[level]: GFNs one entry of each level covers (a table, not `2 **` per walk: that is a pow() call). */
const LEVEL_PAGES = [1, 2 ** 9, 2 ** 18, 2 ** 27] as const;

export class P2m {
  /** First mfn of the root table (32 frames). */
  readonly rootMfn: number;
  readonly superpages: boolean;
  /** See P2mOptions.mirror. */
  readonly mirror: boolean;
  /** Mapped 4 KiB pages (a 2 MiB leaf counts 512). */
  mappedPages = 0;
  /** Highest GFN ever mapped, or -1 (Xen's max_mapped_gfn; XENMEM_maximum_gpfn). */
  maxMappedGfn = -1;
  private readonly tables: number[] = [];
  private readonly i32: Int32Array;
  private readonly node: number | undefined;
  private destroyed = false;
  /** Table frames allocated for this P2M, root included. */
  get tableFrames(): number { return this.destroyed ? 0 : S2_ROOT_PAGES + this.tables.length; }

  /**
   * Allocates an empty P2M. Returns null when no 128 KiB aligned block is free for the root.
   * `vmid` tags the flush notifications (`machine.onUnmap`).
   */
  static create(machine: MachineMemory, vmid: number, opts: P2mOptions = {}): P2m | null {
    const root = machine.allocExtent(DOMID_XEN, S2_ROOT_EXTRA_BITS, { node: opts.node });
    return root < 0 ? null : new P2m(machine, vmid, root, opts);
  }

  private constructor(private readonly machine: MachineMemory, readonly vmid: number, rootMfn: number, opts: P2mOptions) {
    this.rootMfn = rootMfn;
    this.superpages = opts.superpages ?? false;
    this.mirror = opts.mirror ?? false;
    this.node = opts.node;
    this.i32 = machine.mem.i32;
    if (!machine.scrubOnFree) this.i32.fill(0, machine.offsetOf(rootMfn) / 4, (machine.offsetOf(rootMfn) + S2_ROOT_PAGES * PAGE_SIZE) / 4);
  }

  /** The `p1gatp` value (lo/hi halves) that makes the CPU walk this table under `vmid`. */
  p1gatp(vmid = this.vmid): { lo: number; hi: number } {
    return makeP1gatp(P1GATP_MODE_SV48X32, vmid, this.rootMfn);
  }

  /**
   * Maps 2^order pages at `gfn` to the frames at `mfn` with `perms` (P2M_R/W/X). Order 0 maps
   * one 4 KiB page; order 9 with `superpages` and both aligned writes one 2 MiB leaf; any other
   * order maps page by page. An existing mapping of the range is replaced (the caller flushes).
   * Returns false when a table frame cannot be allocated or an argument is out of range
   * (nothing is mapped then for the page that failed; earlier pages stay mapped).
   */
  map(gfn: number, mfn: number, perms: number, order = 0): boolean {
    if (this.destroyed) throw new Error('P2M used after teardown');
    const n = 2 ** order;
    if (!Number.isInteger(gfn) || gfn < 0 || gfn + n > P2M_MAX_GFN || !Number.isInteger(mfn) || mfn < 0 || mfn + n > 2 ** 44) return false;
    if ((perms & P2M_RWX) === 0 || (perms & (PTE_W | PTE_R)) === PTE_W || (perms & ~(P2M_RWX | P2M_FOREIGN)) !== 0) throw new RangeError(`bad P2M permissions ${perms}`);
    if ((perms & P2M_FOREIGN) !== 0 && order !== 0) throw new RangeError('foreign (grant) mappings are single pages');
    if (order === P2M_SUPERPAGE_ORDER && this.superpages && gfn % 512 === 0 && mfn % 512 === 0) {
      return this.setLeaf(gfn, mfn, perms, 1);
    }
    for (let i = 0; i < n; i++) if (!this.setLeaf(gfn + i, mfn + i, perms, 0)) return false;
    return true;
  }

  /**
   * Removes the mapping of `gfn` (one 4 KiB page; a 2 MiB leaf around it is split first).
   * Returns the mfn it mapped, or P2M_INVALID_MFN. Notifies the flush hooks.
   */
  unmap(gfn: number): number {
    if (this.destroyed || !Number.isInteger(gfn) || gfn < 0 || gfn >= P2M_MAX_GFN) return P2M_INVALID_MFN;
    let off = this.rootOffset(gfn);
    for (let level = 3; level >= 0; level--) {
      const lo = this.i32[off / 4]!, hi = this.i32[(off / 4) + 1]!;
      if ((lo & PTE_V) === 0) return P2M_INVALID_MFN;
      if ((lo & (PTE_R | PTE_W | PTE_X)) !== 0) {
        if (level > 0) {
          if (!this.shatter(off, level)) return P2M_INVALID_MFN;
          level++; // walk into the new table
          continue;
        }
        const mfn = ppnOf(lo, hi);
        this.i32[off / 4] = 0;
        this.i32[(off / 4) + 1] = 0;
        this.mappedPages--;
        if (this.mirror) return mfn;
        if ((lo & P2M_FOREIGN) === 0 && this.machine.m2p.get(mfn) === gfn) this.machine.m2p.set(mfn, M2P_INVALID);
        this.machine.notifyUnmap(this.vmid, gfn * PAGE_SIZE, PAGE_SIZE);
        return mfn;
      }
      off = this.machine.offsetOf(ppnOf(lo, hi)) + indexAt(gfn, level - 1) * 8;
    }
    return P2M_INVALID_MFN;
  }

  /** The mfn `gfn` maps to, or P2M_INVALID_MFN. */
  lookup(gfn: number): number {
    const off = this.leafOffset(gfn);
    if (off < 0) return P2M_INVALID_MFN;
    const lo = this.i32[off / 4]!, hi = this.i32[(off / 4) + 1]!;
    return ppnOf(lo, hi) + (gfn % LEVEL_PAGES[this.lastLevel as 0 | 1 | 2 | 3]);
  }

  /**
   * lookup(gfn), but P2M_INVALID_MFN also when the leaf is foreign (a grant mapping): the frame
   * of the domain's own memory at `gfn` — one walk where lookup + isForeign take two.
   */
  lookupOwn(gfn: number): number {
    const off = this.leafOffset(gfn);
    if (off < 0) return P2M_INVALID_MFN;
    const lo = this.i32[off / 4]!, hi = this.i32[(off / 4) + 1]!;
    if ((lo & P2M_FOREIGN) !== 0) return P2M_INVALID_MFN;
    return ppnOf(lo, hi) + (gfn % LEVEL_PAGES[this.lastLevel as 0 | 1 | 2 | 3]);
  }

  /** The R/W/X bits of `gfn`'s mapping, or 0 when unmapped. */
  permsOf(gfn: number): number {
    const off = this.leafOffset(gfn);
    return off < 0 ? 0 : this.i32[off / 4]! & P2M_RWX;
  }

  /** True when `gfn` is mapped by a foreign (grant) leaf (P2M_FOREIGN). */
  isForeign(gfn: number): boolean {
    const off = this.leafOffset(gfn);
    return off >= 0 && (this.i32[off / 4]! & P2M_FOREIGN) !== 0;
  }

  /**
   * Calls `fn` for every leaf in ascending GFN order: `pages` is 1 (4 KiB) or 512 (2 MiB leaf);
   * `perms` the R/W/X bits plus P2M_FOREIGN. Walks the tables (not every GFN): a mirror of this
   * P2M (the IOMMU's private I/O tables) is built from it.
   */
  forEachMapping(fn: (gfn: number, mfn: number, perms: number, pages: number) => void): void {
    if (this.destroyed) return;
    const visit = (tableOff: number, level: number, gfnBase: number, entries: number): void => {
      for (let i = 0; i < entries; i++) {
        const off = tableOff + i * 8;
        const lo = this.i32[off / 4]!;
        if ((lo & PTE_V) === 0) continue;
        const hi = this.i32[(off / 4) + 1]!;
        const gfn = gfnBase + i * 2 ** LEVEL_SHIFT[level as 0 | 1 | 2 | 3];
        if ((lo & P2M_RWX) !== 0) fn(gfn, ppnOf(lo, hi), lo & (P2M_RWX | P2M_FOREIGN), 2 ** (9 * level));
        else if (level > 0) visit(this.machine.offsetOf(ppnOf(lo, hi)), level - 1, gfn, 512);
      }
    };
    visit(this.machine.offsetOf(this.rootMfn), 3, 0, S2_ROOT_PAGES * 512);
  }

  /** Frees every table frame (not the guest's frames). Notifies a whole-VMID flush. */
  teardown(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const mfn of this.tables) this.machine.free(mfn, 1, DOMID_XEN);
    this.machine.free(this.rootMfn, S2_ROOT_PAGES, DOMID_XEN);
    this.tables.length = 0;
    this.mappedPages = 0;
    if (!this.mirror) this.machine.notifyUnmap(this.vmid, 0, 2 ** 53);
  }

  get isDestroyed(): boolean { return this.destroyed; }

  // -- internals ----------------------------------------------------------------------------

  private lastLevel = 0;

  /** Buffer offset of the leaf PTE that maps `gfn`, or -1; sets `lastLevel`. */
  private leafOffset(gfn: number): number {
    if (this.destroyed || !(gfn >= 0 && gfn < P2M_MAX_GFN)) return -1;
    let off = this.rootOffset(gfn);
    for (let level = 3; level >= 0; level--) {
      const lo = this.i32[off / 4]!;
      if ((lo & PTE_V) === 0) return -1;
      if ((lo & P2M_RWX) !== 0) { this.lastLevel = level; return off; }
      if (level === 0) return -1;
      off = this.machine.offsetOf(ppnOf(lo, this.i32[(off / 4) + 1]!)) + indexAt(gfn, level - 1) * 8;
    }
    return -1;
  }

  private rootOffset(gfn: number): number {
    return this.machine.offsetOf(this.rootMfn) + Math.floor(gfn / LEVEL_PAGES[3]) * 8;
  }

  /** Writes a leaf for `gfn` at `leafLevel` (0 = 4 KiB, 1 = 2 MiB), creating tables on the way. */
  private setLeaf(gfn: number, mfn: number, perms: number, leafLevel: number): boolean {
    let off = this.rootOffset(gfn);
    for (let level = 3; level > leafLevel; level--) {
      let lo = this.i32[off / 4]!, hi = this.i32[(off / 4) + 1]!;
      if ((lo & PTE_V) === 0) {
        const t = this.newTable();
        if (t < 0) return false;
        ({ lo, hi } = makePte(t, PTE_V));
        this.writePte(off, lo, hi);
      } else if ((lo & P2M_RWX) !== 0) {
        // A bigger leaf covers this range: split it so that the new leaf can go below.
        if (!this.shatter(off, level)) return false;
        lo = this.i32[off / 4]!; hi = this.i32[(off / 4) + 1]!;
      }
      off = this.machine.offsetOf(ppnOf(lo, hi)) + indexAt(gfn, level - 1) * 8;
    }
    const old = this.i32[off / 4]!;
    const pages = 2 ** (9 * leafLevel);
    const mirror = this.mirror;
    if ((old & PTE_V) !== 0) {
      if (mirror) this.mappedPages -= (old & P2M_RWX) === 0 ? this.countTable(ppnOf(old, this.i32[(off / 4) + 1]!), gfn, false) : pages;
      else if ((old & P2M_RWX) === 0) {
        // Mapping a 2 MiB leaf over a level-0 table: the table stays allocated (freed at teardown).
        this.mappedPages -= this.countTable(ppnOf(old, this.i32[(off / 4) + 1]!), gfn);
      } else {
        this.mappedPages -= pages;
        const oldMfn = ppnOf(old, this.i32[(off / 4) + 1]!);
        if ((old & P2M_FOREIGN) === 0) {
          for (let i = 0; i < pages; i++) if (this.machine.m2p.get(oldMfn + i) === gfn + i) this.machine.m2p.set(oldMfn + i, M2P_INVALID);
        }
      }
      if (!mirror) this.machine.notifyUnmap(this.vmid, gfn * PAGE_SIZE, pages * PAGE_SIZE);
    }
    const pte = makePte(mfn, PTE_V | (perms & (P2M_RWX | P2M_FOREIGN)) | PTE_A | PTE_D);
    this.writePte(off, pte.lo, pte.hi);
    this.mappedPages += pages;
    if (gfn + pages - 1 > this.maxMappedGfn) this.maxMappedGfn = gfn + pages - 1;
    if (mirror) return true;
    if ((perms & P2M_FOREIGN) === 0) for (let i = 0; i < pages; i++) this.machine.m2p.set(mfn + i, gfn + i);
    this.machine.notifyMap(this.vmid, gfn, mfn, perms & (P2M_RWX | P2M_FOREIGN), pages);
    return true;
  }

  /** Replaces the leaf PTE at `off` (at `level` >= 1) by a table of 512 smaller leaves. */
  private shatter(off: number, level: number): boolean {
    const lo = this.i32[off / 4]!, hi = this.i32[(off / 4) + 1]!;
    const t = this.newTable();
    if (t < 0) return false;
    const base = ppnOf(lo, hi), step = 2 ** (9 * (level - 1)), flags = lo & 0x3ff;
    const toff = this.machine.offsetOf(t);
    for (let i = 0; i < 512; i++) {
      const p = makePte(base + i * step, flags);
      this.writePte(toff + i * 8, p.lo, p.hi);
    }
    const ptr = makePte(t, PTE_V);
    this.writePte(off, ptr.lo, ptr.hi);
    return true;
  }

  /** Counts (and, with `m2p`, forgets in the M2P) the valid leaves of a level-0 table mapping from `gfn`. */
  private countTable(mfn: number, gfn: number, m2p = true): number {
    const toff = this.machine.offsetOf(mfn) / 4;
    let n = 0;
    for (let i = 0; i < 512; i++) {
      const lo = this.i32[toff + 2 * i]!;
      if ((lo & PTE_V) === 0) continue;
      n++;
      if (!m2p) continue;
      const m = ppnOf(lo, this.i32[toff + 2 * i + 1]!);
      if (this.machine.m2p.get(m) === gfn + i) this.machine.m2p.set(m, M2P_INVALID);
    }
    return n;
  }

  private newTable(): number {
    const mfn = this.machine.allocExtent(DOMID_XEN, 0, { node: this.node });
    if (mfn < 0) return mfn;
    this.tables.push(mfn);
    if (!this.machine.scrubOnFree) this.i32.fill(0, this.machine.offsetOf(mfn) / 4, (this.machine.offsetOf(mfn) + PAGE_SIZE) / 4);
    return mfn; // otherwise frames come zeroed from the allocator (scrubbed on free)
  }

  private writePte(off: number, lo: number, hi: number): void {
    this.i32[off / 4] = lo;
    this.i32[(off / 4) + 1] = hi;
  }
}

function ppnOf(lo: number, hi: number): number { return (hi & 0x3fffff) * 4194304 + (lo >>> 10); }
function indexAt(gfn: number, level: number): number {
  return level === 0 ? gfn & 511 : Math.floor(gfn / LEVEL_PAGES[level as 1 | 2 | 3]) % 512;
}
