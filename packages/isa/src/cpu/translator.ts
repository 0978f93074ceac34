// Address translation seam. The CPU's software TLB asks a Translator on a miss; the Translator
// returns the host offset (index into PhysMemory.buffer) of the virtual address, or a fault.
// The bare translator (identity, RAM-bounds-checked) is the default; `@tachyxx/mmu` provides
// stage-1/stage-2 translation through TranslationControl (Cpu.attachMmu).

import type { PhysMemory } from './memory.js';
import { MMIO_ACCESS } from './mmio.js';

/** Kind of access being translated. */
export const Access = { READ: 0, WRITE: 1, EXEC: 2 } as const;
export type Access = (typeof Access)[keyof typeof Access];

export interface Translator {
  /**
   * Translate the virtual address (vaLo, vaHi) for `access` at privilege `level` (0-3).
   * Returns the host offset of that byte (>= 0), or a negative number `-cause` on a fault
   * (cause 1/5/7 access fault, 12/13/15 page fault, 20/21/23 guest-page fault).
   * The mapping must hold for the whole 4 KiB page containing the address (the TLB caches pages).
   * For guest-page faults, set `faultGpaLo/Hi` to the guest-physical address (p1tval2).
   * A machine address outside RAM that `mem.isMmio` accepts: return MMIO_ACCESS and leave the
   * machine address in `mmioAddr` (the CPU then goes to the MMIO bus, never to its soft-TLB).
   */
  translate(vaLo: number, vaHi: number, access: Access, level: number): number;
  faultGpaLo?: number;
  faultGpaHi?: number;
  mmioAddr?: number;
}

/**
 * Implemented by the CPU: drop host-side soft-TLB entries (the MMU calls it when a modelled TLB
 * entry of the current context goes away, and on every change of satp, p1gatp, SUM or MXR).
 * Structurally the same as `@tachyxx/mmu`'s SoftTlbInvalidator.
 */
export interface SoftTlbInvalidator {
  /** Drop the entries (every level, every access kind) of the 4 KiB page holding (vaLo, vaHi). */
  invalidatePage(vaLo: number, vaHi: number): void;
  /** Drop every entry. */
  invalidateAll(): void;
}

/**
 * What the CPU needs from a translating MMU (implemented by `@tachyxx/mmu`'s `Mmu`; isa does not
 * depend on that package). Attach one with `cpu.attachMmu(mmu)`: the CPU then routes satp /
 * p1gatp / sstatus writes and sfence.vma here, adds `lastCycles` after every translate() call and
 * reports the accesses its soft-TLB served with `addSoftTlbHits`.
 */
export interface TranslationControl extends Translator {
  /** satp / p1gatp as last accepted (legalized) by writeSatp / writeP1gatp, as int32 halves. */
  readonly satpLo: number;
  readonly satpHi: number;
  readonly p1gatpLo: number;
  readonly p1gatpHi: number;
  /** Cycles charged by the last translate() call. */
  readonly lastCycles: number;
  /** A write of satp; false = unsupported MODE (WARL: the CSR keeps its old value). */
  writeSatp(lo: number, hi: number): boolean;
  /** A write of p1gatp; false = unsupported MODE (WARL). */
  writeP1gatp(lo: number, hi: number): boolean;
  /** sstatus changed (SUM bit 18, MXR bit 19). */
  writeSstatus(sstatus: number): void;
  /** sfence.vma: rs1Zero / rs2Zero say the operand register was x0. */
  sfenceVma(vaLo: number, vaHi: number, asid: number, rs1Zero: boolean, rs2Zero: boolean): void;
  /** `n` accesses at PL2/PL3 with translation on were served by the CPU's soft-TLB. */
  addSoftTlbHits(n: number): void;
  setInvalidator(inv: SoftTlbInvalidator | null): void;
}

const FAULT_CAUSE = [5, 7, 1] as const;

/** Identity translation: physical = virtual; anything outside RAM is an access fault. */
export class BareTranslator implements Translator {
  mmioAddr = 0;
  constructor(private readonly mem: PhysMemory) {}

  translate(vaLo: number, vaHi: number, access: Access, _level: number): number {
    if (vaHi < 0 || vaHi >= 0x200000) return -FAULT_CAUSE[access];
    const pa = vaHi * 4294967296 + (vaLo >>> 0);
    const off = pa - this.mem.base;
    if (off < 0 || off >= this.mem.size) {
      if (access !== Access.EXEC && this.mem.isMmio(pa)) { this.mmioAddr = pa; return MMIO_ACCESS; }
      return -FAULT_CAUSE[access];
    }
    return off;
  }
}
