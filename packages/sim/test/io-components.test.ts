// iommu and irq-remap are known to the registry (a host config may pick them) but not defaults:
// a host that does not name them is built as before.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPONENTS, hostConfigWithDefaults, registry } from '../src/index.js';

describe('I/O components in the sim registry', () => {
  it('are selectable, with their variants, but opt-in', () => {
    const reg = registry();
    expect(reg.variants('iommu')).toEqual(['none', 'private', 'shared-stage2']);
    expect(reg.variants('irq-remap')).toEqual(['forwarded', 'none', 'posted']);
    expect(DEFAULT_COMPONENTS['iommu']).toBeUndefined();
    expect(DEFAULT_COMPONENTS['irq-remap']).toBeUndefined();
    expect(hostConfigWithDefaults({}).components['iommu']).toBeUndefined();
    const c = hostConfigWithDefaults({ components: { evtchn: 'fifo', iommu: { variant: 'private', iotlbEntries: 256 }, 'irq-remap': 'posted' } });
    expect(c.components['iommu']).toMatchObject({ variant: 'private', iotlbEntries: 256, 'unsafe-passthrough': false });
    expect(c.costs['iommu.walkRef']).toBe(100);
    expect(c.costs['irq-remap.irqTrap']).toBe(1356);
  });
});
