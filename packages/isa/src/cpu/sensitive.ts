// The CPU's variant strategy (issue 9 §1, "one rule for variants"): what a control-sensitive
// instruction does when a guest kernel executes it at PL2 but it needs PL0/PL1 (docs/isa.md 2.6).
// The CPU defines the interface; the isa plugins (plugin.ts) bind one policy per variant, as the
// mmu plugins bind a TlbTagPolicy. The policy is consulted only on that rare path (a system
// instruction, which already executes one at a time in priv.execSystem), never per instruction
// and never by generated code.

import type { IsaVariant } from './state.js';

/** The sensitive instructions at PL2 a policy decides about. */
export type SensitiveKind =
  /** wfi while mstatus.TW or p1status.TW is set (a timed-out wait belongs to PL0/PL1). */
  | 'wfi'
  /** hret or mret (returning from a level above PL2). */
  | 'xret'
  /** A CSR access that needs PL0 or PL1 (includes writes to read-only CSRs at that level). */
  | 'csr';

/**
 * 'trap': trap precisely with cause 22 (virtual instruction) to the level above, which can
 * emulate it (trap-and-emulate works: Popek-Goldberg). 'silent': fail silently (pre-VT x86 popf /
 * sgdt behaviour): wfi / hret / mret retire as no-ops, a CSR read returns the higher level's
 * register and a CSR write is dropped.
 */
export type SensitiveAction = 'trap' | 'silent';

export interface SensitiveInstructionPolicy {
  readonly name: string;
  /** What the instruction of `kind` at PL2 does. Called on that path only. */
  onSensitive(kind: SensitiveKind): SensitiveAction;
}

/** Tachyxx v1: every control-sensitive instruction at PL2 traps (cause 22). */
export const TRAP_SENSITIVE: SensitiveInstructionPolicy = Object.freeze({
  name: 'trap',
  onSensitive: (): SensitiveAction => 'trap',
});

/** legacy-silent: the sensitive instructions at PL2 fail silently (not virtualizable by trap-and-emulate). */
export const SILENT_SENSITIVE: SensitiveInstructionPolicy = Object.freeze({
  name: 'silent',
  onSensitive: (): SensitiveAction => 'silent',
});

/** The policy a variant implies (used when CpuOptions.sensitivePolicy is not given). */
export function sensitivePolicyOf(variant: IsaVariant): SensitiveInstructionPolicy {
  return variant === 'legacy-silent' ? SILENT_SENSITIVE : TRAP_SENSITIVE;
}
