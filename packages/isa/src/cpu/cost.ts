// The cycle cost model: how many simulated cycles each instruction class and event costs.
// Defaults model a simple in-order core at 1 GHz. Every value must be a non-negative integer.

export interface CostModel {
  /** ALU, lui/auipc, fence, not-taken branch: cycles per instruction. */
  base: number;
  /** mul, mulh*, mulw. */
  mul: number;
  /** div*, rem* (64- and 32-bit). */
  div: number;
  /** Any load that hits (aligned). */
  load: number;
  /** Any store (aligned). */
  store: number;
  /** Extra cycles for a misaligned load/store. */
  misaligned: number;
  /** Extra cycles when a conditional branch is taken. */
  branchTaken: number;
  /** jal / jalr. */
  jump: number;
  /** lr, sc and every AMO. */
  atomic: number;
  /** A CSR instruction. */
  csr: number;
  /** ecall, ebreak, wfi, sfence.vma (the instruction itself; the trap entry is extra). */
  system: number;
  /** sret / hret / mret. */
  trapReturn: number;
  /** fence.i (drops all compiled code). */
  fenceI: number;
  /** Entering a trap (exception or interrupt) at any level. */
  trapEntry: number;
  /**
   * Cpu.loadContext: a vCPU world switch (saving/restoring the guest's PL2 bank and PL1 per-vCPU
   * state). Default 8799: Xen-ARM "VM switch", Dall et al., ISCA 2016 (references.md).
   */
  worldSwitch: number;
}

export const DEFAULT_COST_MODEL: Readonly<CostModel> = Object.freeze({
  base: 1,
  mul: 3,
  div: 20,
  load: 2,
  store: 1,
  misaligned: 4,
  branchTaken: 1,
  jump: 2,
  atomic: 4,
  csr: 2,
  system: 2,
  trapReturn: 4,
  fenceI: 20,
  trapEntry: 20,
  worldSwitch: 8799,
});

export function makeCostModel(overrides: Partial<CostModel> = {}): CostModel {
  const m: CostModel = { ...DEFAULT_COST_MODEL, ...overrides };
  for (const [k, v] of Object.entries(m)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`cost model ${k} must be a non-negative integer, got ${v}`);
  }
  return m;
}
