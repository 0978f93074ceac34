// The CPU's variant strategy (issue 9 §1): a SensitiveInstructionPolicy decides what a sensitive
// instruction at PL2 does; the isa plugins bind one per variant; it is consulted on that path only.
import { describe, expect, it } from 'vitest';
import { buildContainer, parseHostConfig, PluginRegistry, resolve } from '@tachyxx/core';
import { enc } from './cpu-asm.js';
import { machine, reg, BASE } from './cpu-helpers.js';
import {
  CSR, ISA_CPU_FACTORY, ISA_PLUGINS, PhysMemory, SILENT_SENSITIVE, TRAP_SENSITIVE, sensitivePolicyOf,
  type SensitiveAction, type SensitiveInstructionPolicy, type SensitiveKind,
} from '../src/index.js';

/** A policy that records every question and answers per kind. */
function recording(answers: Record<SensitiveKind, SensitiveAction>): SensitiveInstructionPolicy & { asked: SensitiveKind[] } {
  const asked: SensitiveKind[] = [];
  return { name: 'recording', asked, onSensitive: (k) => { asked.push(k); return answers[k]; } };
}

describe('SensitiveInstructionPolicy', () => {
  it('each variant implies its policy; sensitivePolicy overrides it', () => {
    expect(sensitivePolicyOf('tachy-v1')).toBe(TRAP_SENSITIVE);
    expect(sensitivePolicyOf('legacy-silent')).toBe(SILENT_SENSITIVE);
    const p = recording({ wfi: 'trap', xret: 'trap', csr: 'trap' });
    expect(machine((a) => a.emit(enc.ebreak()), { variant: 'legacy-silent', sensitivePolicy: p }).cpu.sensitive).toBe(p);
  });

  it('is asked once per sensitive instruction at PL2, with its kind, and its answer is obeyed per kind', () => {
    // hret (xret, silent: no-op), csrr mscratch (csr, silent: reads), wfi under TW (wfi, trap: cause 22)
    const p = recording({ wfi: 'trap', xret: 'silent', csr: 'silent' });
    const { cpu } = machine((a) => a.emit(enc.hret(), enc.csrrs(1, CSR.mscratch, 0), enc.wfi(), enc.ebreak()), { sensitivePolicy: p });
    cpu.level = 2;
    cpu.writeCsr(CSR.mscratch, 4321);
    cpu.writeCsr(CSR.mstatus, 1 << 21); // TW
    const traps: number[][] = [];
    cpu.setTrapHandler(0, (c, cause, _i, _t, epc) => { traps.push([cause, epc]); c.stop('trap'); });
    expect(cpu.run(10)).toBe('stopped');
    expect(p.asked).toEqual(['xret', 'csr', 'wfi']);
    expect(reg(cpu, 1)).toBe(4321n);
    expect(traps).toEqual([[22, BASE + 8]]);
  });

  it('is never asked off the sensitive path (allowed CSR accesses in a loop, ecall, a PL3 illegal instruction)', () => {
    const p = recording({ wfi: 'silent', xret: 'silent', csr: 'silent' });
    // a loop of 1000 iterations reading sscratch (allowed at PL2), then ecall
    const { cpu } = machine((a) => a.emit(
      enc.addi(5, 0, 1000), enc.csrrs(1, CSR.sscratch, 0), enc.addi(5, 5, -1), enc.bne(5, 0, -8), enc.ecall(),
    ), { sensitivePolicy: p });
    cpu.level = 2;
    const causes: number[] = [];
    cpu.setTrapHandler(0, (c, cause) => { causes.push(cause); c.stop('trap'); });
    expect(cpu.run(100000)).toBe('stopped');
    expect(causes).toEqual([9]); // ecall from PL2 (cause 11 - level)
    expect(cpu.instret).toBe(3001);
    // at PL3 a PL1 CSR is an illegal instruction (cause 2), not a question for the policy
    const u = machine((a) => a.emit(enc.csrrs(1, CSR.mscratch, 0), enc.hret()), { sensitivePolicy: p }).cpu;
    u.level = 3;
    u.setTrapHandler(0, (c, cause) => { causes.push(cause); c.stop('trap'); });
    u.run(10);
    expect(causes).toEqual([9, 2]);
    expect(p.asked).toEqual([]);
  });

  it('the isa plugins bind the policy of their variant', () => {
    const registry = new PluginRegistry([...ISA_PLUGINS]);
    for (const [variant, policy] of [['tachy-v1', TRAP_SENSITIVE], ['legacy-silent', SILENT_SENSITIVE]] as const) {
      const host = buildContainer(parseHostConfig(`components: { isa: ${variant} }`, registry), registry);
      const cpu = resolve(host, ISA_CPU_FACTORY).create(new PhysMemory(BASE, 4096), 0);
      expect([cpu.variant, cpu.sensitive]).toEqual([variant, policy]);
    }
  });
});
