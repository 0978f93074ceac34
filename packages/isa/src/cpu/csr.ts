// CSR numbers and bit layouts of the Tachyxx privileged architecture (docs/isa.md section 2).

export const CSR = {
  // PL2 (kernel) bank: RISC-V S-mode numbers
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106,
  sscratch: 0x140, sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144,
  stimecmp: 0x14d, satp: 0x180,
  // PL1 (hypervisor) bank
  p1status: 0x600, p1edeleg: 0x602, p1ideleg: 0x603, p1ie: 0x604, p1tvec: 0x605,
  p1counteren: 0x606, p1timedelta: 0x60a, p1scratch: 0x640, p1epc: 0x641, p1cause: 0x642,
  p1tval: 0x643, p1ip: 0x644, p1tval2: 0x64b, p1gatp: 0x680,
  // PL0 (firmware) bank
  mstatus: 0x300, medeleg: 0x302, mideleg: 0x303, mie: 0x304, mtvec: 0x305, mcounteren: 0x306,
  mscratch: 0x340, mepc: 0x341, mcause: 0x342, mtval: 0x343, mip: 0x344,
  mhartid: 0xf14,
  // unprivileged counters
  cycle: 0xc00, time: 0xc01, instret: 0xc02,
} as const;

/** Every CSR number this CPU implements (others raise illegal instruction at every level). */
export const CSR_NUMBERS: ReadonlySet<number> = new Set(Object.values(CSR));

/** Name of a CSR number, or undefined. */
export function csrName(n: number): string | undefined {
  for (const [k, v] of Object.entries(CSR)) if (v === n) return k;
  return undefined;
}

// mstatus / p1status layout
export const ST_IE = 1 << 3;
export const ST_PIE = 1 << 7;
export const ST_PPL_SHIFT = 11;
export const ST_PPL = 3 << 11;
export const ST_TW = 1 << 21;
export const ST_WMASK = ST_IE | ST_PIE | ST_PPL | ST_TW;

// sstatus layout (RISC-V)
export const SST_SIE = 1 << 1;
export const SST_SPIE = 1 << 5;
export const SST_SPP = 1 << 8;
export const SST_SUM = 1 << 18;
export const SST_MXR = 1 << 19;
export const SST_WMASK = SST_SIE | SST_SPIE | SST_SPP | SST_SUM | SST_MXR;
/** sstatus.UXL (bits 33:32) reads 2: the high word of sstatus. */
export const SST_HI = 2;

/** Interrupt codes (cause values with the interrupt flag). */
export const IRQ = {
  PL2_SOFT: 1, PL1_SOFT: 2, PL0_SOFT: 3,
  PL2_TIMER: 5, PL1_TIMER: 6, PL0_TIMER: 7,
  PL2_EXT: 9, PL1_EXT: 10, PL0_EXT: 11,
} as const;

/** Interrupt bits that exist (1,2,3,5,6,7,9,10,11). */
export const IRQ_ALL = 0xeee;
/** Bits visible/enabled per level: PL0 sees all, PL1 its own and PL2's, PL2 its own. */
export const IRQ_VISIBLE = [0xeee, 0x666, 0x222] as const;
/** mideleg may delegate PL1 and PL2 interrupts; p1ideleg only PL2 interrupts. */
export const MIDELEG_MASK = 0x666;
export const P1IDELEG_MASK = 0x222;
/** Exceptions that may be delegated (every defined cause). */
export const EDELEG_MASK = 0xf0bfff; // 0-13, 15, 20-23
/** Software-writable pending bits through mip / p1ip / sip. */
export const IP_WRITABLE = [0x60e, 0x206, 0x002] as const;
/** Order in which simultaneously takeable interrupts of one target level are taken. */
export const IRQ_PRIORITY = [11, 3, 7, 10, 2, 6, 9, 1, 5] as const;

/** Exception causes. */
export const CAUSE = {
  MISALIGNED_FETCH: 0, FETCH_ACCESS: 1, ILLEGAL: 2, BREAKPOINT: 3, MISALIGNED_LOAD: 4,
  LOAD_ACCESS: 5, MISALIGNED_STORE: 6, STORE_ACCESS: 7,
  ECALL_PL3: 8, ECALL_PL2: 9, ECALL_PL1: 10, ECALL_PL0: 11,
  FETCH_PAGE: 12, LOAD_PAGE: 13, STORE_PAGE: 15,
  FETCH_GUEST_PAGE: 20, LOAD_GUEST_PAGE: 21, VIRTUAL_INSTRUCTION: 22, STORE_GUEST_PAGE: 23,
} as const;
