// Page-table entry and translation-register formats (RISC-V Sv48 PTEs; satp as RISC-V Sv48;
// p1gatp as RISC-V hgatp with a 53-bit "Sv48x32" stage 2). All values are handled as 32-bit
// halves (lo = bits 31:0, hi = bits 63:32) or as exact doubles below 2^53: never BigInt.

/** PTE bits 0-7 (the low byte of `lo`). */
export const PTE_V = 1 << 0;
export const PTE_R = 1 << 1;
export const PTE_W = 1 << 2;
export const PTE_X = 1 << 3;
export const PTE_U = 1 << 4;
export const PTE_G = 1 << 5;
export const PTE_A = 1 << 6;
export const PTE_D = 1 << 7;
/** PTE bits 53:10 hold the PPN (44 bits); bits 63:54 are reserved and must be zero (else a page fault). */
export const PTE_PPN_SHIFT = 10;

/** `satp.MODE` values the MMU accepts (WARL: any other mode leaves satp unchanged). */
export const SATP_MODE_BARE = 0;
export const SATP_MODE_SV48 = 9;
/** `p1gatp.MODE` values: 0 = stage 2 off (GPA = MA), 9 = Sv48x32 (53-bit GPA, 128 KiB root). */
export const P1GATP_MODE_BARE = 0;
export const P1GATP_MODE_SV48X32 = 9;

/** Width of the ASID in satp (bits 59:44) and of the VMID in p1gatp (bits 57:44). */
export const ASID_BITS = 16;
export const VMID_BITS = 14;
/** The stage-2 root table spans 2^5 = 32 pages (128 KiB, 16384 PTEs) and must be 128 KiB aligned. */
export const S2_ROOT_EXTRA_BITS = 5;
export const S2_ROOT_PAGES = 1 << S2_ROOT_EXTRA_BITS;

/** Page sizes by leaf level: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB. */
export const PAGE_SIZES = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;
export const TWO32 = 4294967296;
export const TWO53 = 2 ** 53;

/** Assembles a PTE's halves from a physical page number (< 2^44) and flag bits. */
export function makePte(ppn: number, flags: number): { lo: number; hi: number } {
  if (!Number.isInteger(ppn) || ppn < 0 || ppn >= 2 ** 44) throw new RangeError(`PPN ${ppn} does not fit 44 bits`);
  const lo = ((ppn % 4194304) * 1024 + (flags & 0x3ff)) >>> 0;
  const hi = Math.floor(ppn / 4194304);
  return { lo: lo | 0, hi: hi | 0 };
}

/** The PPN field of a PTE (exact, < 2^44). */
export function ptePpn(lo: number, hi: number): number {
  return (hi & 0x3fffff) * 4194304 + (lo >>> 10);
}

/** satp halves for `MODE | ASID | PPN` (RISC-V Sv48 layout: MODE 63:60, ASID 59:44, PPN 43:0). */
export function makeSatp(mode: number, asid: number, ppn: number): { lo: number; hi: number } {
  return { lo: (ppn % TWO32) | 0, hi: ((mode & 15) * 2 ** 28 + (asid & 0xffff) * 4096 + Math.floor(ppn / TWO32)) | 0 };
}

/** p1gatp halves for `MODE | VMID | PPN` (MODE 63:60, VMID 57:44, PPN 43:0; PPN bits 4:0 read as zero). */
export function makeP1gatp(mode: number, vmid: number, ppn: number): { lo: number; hi: number } {
  return { lo: (ppn % TWO32) | 0, hi: ((mode & 15) * 2 ** 28 + (vmid & 0x3fff) * 4096 + Math.floor(ppn / TWO32)) | 0 };
}
