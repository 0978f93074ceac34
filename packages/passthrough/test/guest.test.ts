// The C driver guests/edupt as a domU with edu passed through: same console output under irq-remap
// posted and forwarded, different hypervisor cost (stats).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EDU, ptHost } from './helpers.js';

const EDUPT = readFileSync(join(import.meta.dirname, '../../../guests/build/edupt.elf'));

function run(irq: string, iommu = 'shared-stage2') {
  const t = ptHost({ irq, iommu });
  const d = t.host.createDomain({ name: 'edu', image: EDUPT, memoryMiB: 8, paused: true });
  expect(t.pt.assignableAdd(EDU).rc).toBe(0);
  expect(t.pt.assign(d.domid, EDU).rc).toBe(0);
  t.host.unpauseDomain(d);
  t.host.run({ untilNs: t.host.clock.now + 200_000_000 });
  const stat = (p: string) => t.host.stats.lookup(p)?.dump() as number;
  return { t, d, out: t.out.get('edu') ?? '', stat };
}

describe('edupt (C driver) on a passed-through edu', () => {
  it('finds the device, takes MSI-X as event-channel upcalls, DMAs through the IOMMU; posted and forwarded print the same, cost differently', () => {
    const posted = run('posted');
    expect(posted.out).toMatch(/edupt: edu at 0000:01:00\.0, BAR0 at guest 23000000/);
    expect(posted.out).toMatch(/MSI-X entry 0 -> pirq 16 -> event channel \d+/);
    expect(posted.out).toMatch(/10! = 3628800, irq status 1/);
    expect(posted.out).toMatch(/DMA 2048 bytes to the device and back through the IOMMU: identical/);
    expect(posted.out).toMatch(/BAR0 write refused: still at 23000000, size 1024 KiB/);
    expect(posted.out).toMatch(/3 interrupts, done/);
    expect(posted.d.shutdownCode).toBe(0);
    const forwarded = run('forwarded');
    expect(forwarded.out).toBe(posted.out);
    // The cost: forwarded traps every MSI to PL1 (trap + inject), posted never does.
    expect(posted.stat('host.irq-remap.pciess0.interrupts')).toBe(3);
    expect(forwarded.stat('host.irq-remap.pciess0.interrupts')).toBe(3);
    expect(posted.stat('host.irq-remap.pciess0.hypervisorCycles')).toBe(0);
    expect(forwarded.stat('host.irq-remap.pciess0.hypervisorCycles')).toBe(3 * (1356 + 71));
    expect(posted.stat('host.iommu.pciess0.translations')).toBeGreaterThan(0);
    expect(posted.stat('host.passthrough.devices.mapPirqs')).toBe(1);
  });

  it('private I/O tables: the same output', () => {
    const shared = run('posted');
    const priv = run('posted', 'private');
    expect(priv.out).toBe(shared.out);
    expect(priv.out).toMatch(/through the IOMMU: identical/);
    expect(priv.stat('host.iommu.pciess0.p2mSyncs')).toBeGreaterThan(0);
  });
});
