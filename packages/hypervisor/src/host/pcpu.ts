// A physical CPU of the host, and the small helpers the host's parts share.
import type { Counter, StatGroup } from '@tachyxx/core';
import type { Cpu } from '@tachyxx/isa';
import type { Mmu } from '@tachyxx/mmu';
import type { Vcpu } from './vcpu.js';

export interface Pcpu {
  id: number;
  cpu: Cpu;
  mmu: Mmu;
  current: Vcpu | null;
  /** schedule() requested (a SCHEDULE_SOFTIRQ). */
  reschedule: boolean;
  /** `host.cpu<id>` in the stats tree. */
  stats: StatGroup;
  /** Traps into PL1 by cause (+64 for interrupts), created on first use under `host.cpu<id>.traps`. */
  trapCounters: (Counter | undefined)[];
  traps: number;
}

export const TWO32 = 4294967296;
/** Guest registers the hypervisor reads and writes (RISC-V ABI numbers). */
export const REG = { sp: 2, a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15, a7: 17 } as const;

/** A 64-bit value as unsigned hex (negative numbers are two's complement, as the register holds them). */
export const hex64 = (n: number): string => {
  if (n >= 0) return `0x${n.toString(16)}`;
  const lo = (n % TWO32 + TWO32) % TWO32, hi = (Math.floor(n / TWO32) + TWO32) % TWO32;
  return `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
};

export function setU64(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, n >>> 0, true);
  dv.setUint32(off + 4, Math.floor(n / TWO32) >>> 0, true);
}
