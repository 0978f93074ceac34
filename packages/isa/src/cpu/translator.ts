// Address translation seam. The CPU's software TLB asks a Translator on a miss; the Translator
// returns the host offset (index into PhysMemory.buffer) of the virtual address, or a fault.
// This release has the bare translator (identity, RAM-bounds-checked). The mmu package plugs in
// stage-1/stage-2 translation later.

import type { PhysMemory } from './memory.js';

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
   */
  translate(vaLo: number, vaHi: number, access: Access, level: number): number;
  faultGpaLo?: number;
  faultGpaHi?: number;
}

const FAULT_CAUSE = [5, 7, 1] as const;

/** Identity translation: physical = virtual; anything outside RAM is an access fault. */
export class BareTranslator implements Translator {
  constructor(private readonly mem: PhysMemory) {}

  translate(vaLo: number, vaHi: number, access: Access, _level: number): number {
    if (vaHi < 0 || vaHi >= 0x200000) return -FAULT_CAUSE[access];
    const pa = vaHi * 4294967296 + (vaLo >>> 0);
    const off = pa - this.mem.base;
    if (off < 0 || off >= this.mem.size) return -FAULT_CAUSE[access];
    return off;
  }
}
