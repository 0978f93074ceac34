// A machine, a domain table and domains with memory, for driving an IOMMU as a device would.
import { DomainTable, MachineMemory, type Domain } from '@tachyxx/hypervisor';
import { Iommu, type IommuOptions } from '../src/index.js';

export const PAGE = 4096;
/** Guest RAM starts at GPA 2 GiB (GUEST_RAM_BASE). */
export const RAM_GPA = 0x8000_0000;
export const RID_A = 0x0008; // 00:01.0
export const RID_B = 0x0010; // 00:02.0

export function machineWith(opts: { memoryMiB?: number; superpages?: boolean; domains?: number; domainMiB?: number } = {}) {
  const machine = new MachineMemory({ memoryMiB: opts.memoryMiB ?? 64 });
  const table = new DomainTable<unknown>({ machine, superpages: opts.superpages ?? false });
  const doms: Domain<unknown>[] = [];
  for (let i = 0; i < (opts.domains ?? 2); i++) {
    const d = table.create({ name: `d${i + 1}`, memoryMiB: opts.domainMiB ?? 4 });
    if (typeof d === 'number') throw new Error(`domain create failed: ${d}`);
    doms.push(d);
  }
  return { machine, table, doms };
}

export function iommuOn(env: ReturnType<typeof machineWith>, o: Partial<IommuOptions> = {}): Iommu {
  return new Iommu({ variant: 'shared-stage2', machine: env.machine, domains: env.table, ...o });
}

/** The machine address of guest-physical `gpa` in `d` (through its P2M), or -1. */
export function maOf(d: Domain<unknown>, gpa: number): number {
  const mfn = d.p2m!.lookup(Math.floor(gpa / PAGE));
  return mfn < 0 ? -1 : mfn * PAGE + (gpa % PAGE);
}

/** Every machine frame `d`'s P2M maps. */
export function framesOf(d: Domain<unknown>): Set<number> {
  const s = new Set<number>();
  const p = d.p2m!;
  for (let g = 0; g <= p.maxMappedGfn; g++) { const m = p.lookup(g); if (m >= 0) s.add(m); }
  return s;
}

export const cost = () => ({ cycles: 0 });
