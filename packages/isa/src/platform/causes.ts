// Names of Tachyxx trap causes (docs/isa.md 2.4), for messages and stats keys.
const EXCEPTIONS: Record<number, string> = {
  0: 'instruction_address_misaligned', 1: 'instruction_access_fault', 2: 'illegal_instruction',
  3: 'breakpoint', 4: 'load_address_misaligned', 5: 'load_access_fault',
  6: 'store_address_misaligned', 7: 'store_access_fault', 8: 'ecall_from_pl3',
  9: 'ecall_from_pl2', 10: 'ecall_from_pl1', 11: 'ecall_from_pl0', 12: 'instruction_page_fault',
  13: 'load_page_fault', 15: 'store_page_fault', 20: 'instruction_guest_page_fault',
  21: 'load_guest_page_fault', 22: 'virtual_instruction', 23: 'store_guest_page_fault',
};
const INTERRUPTS: Record<number, string> = {
  1: 'pl2_software_interrupt', 2: 'pl1_software_interrupt', 3: 'pl0_software_interrupt',
  5: 'pl2_timer_interrupt', 6: 'pl1_timer_interrupt', 7: 'pl0_timer_interrupt',
  9: 'pl2_external_interrupt', 10: 'pl1_external_interrupt', 11: 'pl0_external_interrupt',
};

export function causeName(code: number, isInterrupt = false): string {
  return (isInterrupt ? INTERRUPTS[code] : EXCEPTIONS[code]) ?? `${isInterrupt ? 'interrupt' : 'exception'}_${code}`;
}

/** Exception causes the firmware delegates straight to PL2 (PL3 faults a kernel handles). */
export const PL2_DELEGATED_EXCEPTIONS = [0, 2, 3, 6, 8, 12, 13, 15];
/** Interrupts delegated to PL2: its software, timer and external interrupts. */
export const PL2_DELEGATED_INTERRUPTS = [1, 5, 9];
export const bits = (codes: number[]) => codes.reduce((m, c) => m | (2 ** c), 0);

/** What a platform's PL0 firmware (and PL1, when present) route where: docs/isa.md 2.4. */
export interface TrapRouting {
  /** Causes PL0 hands to PL1 (medeleg / mideleg). */
  toPl1Exceptions: number[];
  toPl1Interrupts: number[];
  /** Of those, causes PL1 hands straight on to PL2 (p1edeleg / p1ideleg). */
  toPl2Exceptions: number[];
  toPl2Interrupts: number[];
}

/**
 * Programs the delegation registers of both levels and lets PL2/PL3 read cycle/time/instret
 * (mcounteren, p1counteren), as the bare firmware and the hypervisor both do at boot.
 */
export function setTrapRouting(cpu: { writeCsr(n: number, v: number, hi?: number): void }, r: TrapRouting): void {
  cpu.writeCsr(0x302, bits(r.toPl1Exceptions), 0); // medeleg
  cpu.writeCsr(0x303, bits(r.toPl1Interrupts), 0); // mideleg
  cpu.writeCsr(0x602, bits(r.toPl2Exceptions), 0); // p1edeleg
  cpu.writeCsr(0x603, bits(r.toPl2Interrupts), 0); // p1ideleg
  cpu.writeCsr(0x306, 7, 0); // mcounteren: CY, TM, IR
  cpu.writeCsr(0x606, 7, 0); // p1counteren
}
