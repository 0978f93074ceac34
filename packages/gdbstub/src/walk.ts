// Debugger address translation: a side-effect-free walk of a vCPU's stage 1 (satp, Sv48) and
// stage 2 (p1gatp, Sv48x32) page tables, as the CPU would translate (docs/mmu.md), but without
// the TLBs, without A/D updates, without permission checks (a debugger reads what is mapped) and
// without charging cycles or touching any statistics. Values are int32 halves or exact numbers
// below 2^53, never BigInt.
import type { PhysMemory } from '@tachyxx/isa';
import { Stage2Walk, walkStage2 } from '@tachyxx/mmu';

const TWO32 = 4294967296;
const SHIFT_POW = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8;

/** The translation registers of the vCPU whose view the debugger takes. */
export interface TranslationRegs {
  satpLo: number; satpHi: number;
  p1gatpLo: number; p1gatpHi: number;
  /** Privilege level: below 2 nothing is translated (PL0 / PL1 see machine addresses). */
  level: number;
}

/** Reads a PTE at machine address `ma` as [lo, hi], or undefined when it is not RAM. */
function pte(mem: PhysMemory, ma: number): [number, number] | undefined {
  const off = ma - mem.base;
  if (off < 0 || off + 8 > mem.size || off % 8 !== 0) return undefined;
  return [mem.i32[off >>> 2]!, mem.i32[(off >>> 2) + 1]!];
}

/** Stage 2: guest-physical -> machine address; -1 when not mapped. The MMU's own walker, no page-walk cache. */
export function stage2(mem: PhysMemory, regs: TranslationRegs, gpa: number): number {
  if ((regs.p1gatpHi >>> 28) !== 9) return gpa; // Bare: GPA = MA
  if (gpa < 0 || gpa >= 2 ** 53) return -1;
  const root = ((regs.p1gatpHi & 0xfff) * TWO32 + ((regs.p1gatpLo & ~31) >>> 0)) * 4096;
  const page = walkStage2(mem, root, gpa, null, 0, s2walk);
  return page < 0 ? -1 : page + (gpa % SHIFT_POW[s2walk.level]!);
}
const s2walk = new Stage2Walk();

/**
 * Stage 1: virtual (signed-number form, like cpu.pc) -> guest-physical; -1 when not mapped.
 * Identity when the level is below 2 or satp is Bare.
 */
export function stage1(mem: PhysMemory, regs: TranslationRegs, va: number): number {
  if (regs.level < 2 || (regs.satpHi >>> 28) !== 9) return va;
  if (va < -(2 ** 47) || va >= 2 ** 47) return -1; // not canonical for Sv48
  // Stage-1 tables sit in guest-physical memory: every PTE address goes through stage 2.
  const key = va < 0 ? va + 2 ** 48 : va;
  let table = ((regs.satpHi & 0xfff) * TWO32 + (regs.satpLo >>> 0)) * 4096;
  for (let l = 3; l >= 0; l--) {
    const vpn = Math.floor(key / SHIFT_POW[l]!);
    const ma = stage2(mem, regs, table + (vpn % 512) * 8);
    if (ma < 0) return -1;
    const e = pte(mem, ma);
    if (e === undefined) return -1;
    const [lo, hi] = e;
    if ((lo & PTE_V) === 0 || (lo & (PTE_R | PTE_W)) === PTE_W || (hi >>> 22) !== 0) return -1;
    const ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
    if ((lo & (PTE_R | PTE_X)) === 0) { if (l === 0) return -1; table = ppn * 4096; continue; }
    if (l > 0 && ppn % 2 ** (9 * l) !== 0) return -1; // misaligned superpage
    return ppn * 4096 + (key % SHIFT_POW[l]!);
  }
  return -1;
}

/**
 * Host offset (index into mem's buffer) of address `addr`: `virt` goes through stage 1 and
 * stage 2, else `addr` is guest-physical (stage 2 only). -1 when not mapped or not RAM.
 */
export function debugOffset(mem: PhysMemory, regs: TranslationRegs, addr: number, virt: boolean): number {
  const gpa = virt ? stage1(mem, regs, addr) : addr;
  if (gpa < 0) return -1;
  const ma = stage2(mem, regs, gpa);
  if (ma < 0) return -1;
  const off = ma - mem.base;
  return off >= 0 && off < mem.size ? off : -1;
}

/**
 * Read `len` bytes at `addr` page by page; stops at the first unmapped byte (the result is then
 * shorter, as gdb's 'm' reply may be).
 */
export function debugRead(mem: PhysMemory, regs: TranslationRegs, addr: number, len: number, virt: boolean): Uint8Array {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const off = debugOffset(mem, regs, a, virt);
    if (off < 0) break;
    const inPage = 4096 - (((a % 4096) + 4096) % 4096);
    const n = Math.min(inPage, len - done, mem.size - off);
    out.set(mem.u8.subarray(off, off + n), done);
    done += n;
  }
  return out.subarray(0, done);
}

/**
 * Write bytes at `addr` (all pages must be mapped: nothing is written otherwise). Compiled code
 * over the written bytes is dropped and LR reservations cleared (PhysMemory.notifyWrite).
 * Returns false when some page is not mapped.
 */
export function debugWrite(mem: PhysMemory, regs: TranslationRegs, addr: number, data: Uint8Array, virt: boolean): boolean {
  const pieces: [number, number, number][] = [];
  let done = 0;
  while (done < data.length) {
    const a = addr + done;
    const off = debugOffset(mem, regs, a, virt);
    if (off < 0) return false;
    const inPage = 4096 - (((a % 4096) + 4096) % 4096);
    const n = Math.min(inPage, data.length - done, mem.size - off);
    pieces.push([off, done, n]);
    done += n;
  }
  for (const [off, from, n] of pieces) {
    mem.u8.set(data.subarray(from, from + n), off);
    mem.notifyWrite(off, n);
  }
  return true;
}
